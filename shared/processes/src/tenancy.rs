//! A connection bound to the vendor tenant its credentials reach: new credentials of the
//! same tenant replace the old, another tenant needs the switch confirmed, and a switch leaves
//! the former tenant its accounts.

use prov_core::Services;
use prov_core::audit::{self, ActorRef, Outcome, Target};
use prov_core::catalog::App;
use prov_core::connector::VendorTenant;
use prov_core::error::{Category, Error, Result};
use prov_core::keys::{accounts_prefix, company_partition};
use prov_core::store::{Attempt, Cursor, Item, PageRequest, retry_lost_writes};
use serde_json::{Map, Value, json};

/// The body field confirming a connection may switch to another vendor tenant.
pub const SWITCH_TENANT: &str = "switch_tenant";

/// How new credentials relate to the tenant a connection had.
pub(crate) enum Binding {
    /// No tenant was recorded (a first connection, or one made before tenants were).
    First,
    Same,
    /// Another tenant, confirmed: the connection leaves `former`.
    Switch {
        former: VendorTenant,
    },
}

/// Binds new credentials reaching `reached` to the connection that had `recorded`: the same
/// tenant replaces the credentials; another is refused unless the admin confirms the switch.
pub(crate) fn bind(
    app: &App,
    recorded: Option<VendorTenant>,
    reached: &VendorTenant,
    switch: bool,
) -> Result<Binding> {
    match recorded {
        None => Ok(Binding::First),
        Some(old) if old.id == reached.id => Ok(Binding::Same),
        Some(old) if switch => Ok(Binding::Switch { former: old }),
        Some(old) => Err(Error::invalid(SWITCH_TENANT, switch_refusal(app, &old, reached))),
    }
}

/// Why credentials of another tenant were refused, naming both tenants.
fn switch_refusal(app: &App, old: &VendorTenant, new: &VendorTenant) -> String {
    format!(
        "{name} is connected to the {kind} {old}, and these credentials reach another one, {new}. Nothing was changed. To switch {name} to {new}, connect again with `switch_tenant: true`: the accounts of {old} will then show as belonging to a tenant no longer connected, are never changed from here, and must be removed in {old} directly.",
        name = app.name,
        kind = app.tenant,
    )
}

/// Accounts recorded before their connection knew its tenant were seen in the tenant the
/// connection is leaving: they keep it, so they show (and are refused) as that tenant's. The
/// records are read as plain JSON here (their type lives with the accounts, which depend on
/// this module); only their `tenant` is written.
async fn keep_with_former_tenant(
    svc: &Services,
    company_id: &str,
    slug: &str,
    former: &VendorTenant,
) -> Result<()> {
    let store = &svc.store;
    let (pk, prefix) = (company_partition(company_id), accounts_prefix(slug));
    let mut cursor: Option<Cursor> = None;
    loop {
        let page = store
            .query(&pk, &prefix, PageRequest::first(100).after(cursor))
            .await?;
        for item in &page.items {
            let key = &item.key;
            let written = retry_lost_writes(3, move || async move {
                let Some(current) = store.get(key).await? else {
                    return Ok::<_, Error>(Attempt::Done(()));
                };
                let mut record: Map<String, Value> = current.record()?;
                if record.get("tenant").is_some_and(|t| !t.is_null()) {
                    return Ok(Attempt::Done(()));
                }
                record.insert("tenant".into(), json!(former));
                let next = Item::from_record(key.clone(), &record)?;
                Ok(Attempt::of(
                    store.replace(next, current.version).await.map(|_| ()),
                )?)
            })
            .await?;
            if written.is_none() {
                return Err(Error::refused(
                    "connection",
                    Category::Conflict,
                    "The app's accounts kept changing; retry.",
                ));
            }
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(()),
        }
    }
}

/// Records a binding: a switch leaves the former tenant its accounts and is audited.
pub(crate) async fn settle_binding(
    svc: &Services,
    actor: ActorRef,
    request_id: &str,
    company_id: &str,
    slug: &str,
    binding: &Binding,
    reached: &VendorTenant,
) -> Result<()> {
    let Binding::Switch { former } = binding else {
        return Ok(());
    };
    keep_with_former_tenant(svc, company_id, slug, former).await?;
    audit::record(
        svc,
        audit::Record {
            company_id,
            actor,
            request_id,
            action: "connection.tenant_switched",
            target: Target::new("app", slug),
            result: Outcome::Succeeded,
            detail: Some(format!(
                "from {former} to {reached}; the accounts of {former} are no longer managed here"
            )),
        },
    )
    .await;
    Ok(())
}
