//! What a fake vendor calls the tenant (directory) a token opens, and which tenant a token
//! opens: an API key its own, an OAuth token its vendor's.

/// API-key tokens the sandbox's fakes accept start with this; each opens a tenant of its own.
pub const API_TOKEN_PREFIX: &str = "sandbox-";
/// The tenant the sandbox OAuth app's access tokens open.
pub const OAUTH_TENANT: &str = "oauth";

/// The tenant (directory of users) the access tokens of a fake OAuth vendor open, by the
/// product's app slug (`slack`, `dropbox`, `box`, …): each fake vendor keeps its own users,
/// as each real vendor does.
pub fn oauth_tenant(app: &str) -> String {
    format!("oauth:{app}")
}

/// The tenant a fake OAuth vendor's tokens open when the admin picked `other` on its consent
/// page (`decide?…&tenant=other`): another workspace of the same vendor, with its own users.
pub fn oauth_tenant_named(app: &str, other: &str) -> String {
    format!("{}#{other}", oauth_tenant(app))
}

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
