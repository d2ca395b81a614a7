//! What a fake vendor calls the tenant (directory) a token opens.

/// The id a fake vendor gives the tenant a token opens: derived from the tenant's key, never
/// the key itself (an API-key fake's tenant is keyed by its token).
pub fn tenant_id(tenant: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(tenant.as_bytes())[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The name a fake vendor gives that tenant.
pub fn tenant_name(tenant: &str) -> String {
    format!("Sandbox tenant {}", tenant_id(tenant))
}
