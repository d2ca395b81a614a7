//! Partner webhook events of account changes, written with the account record's own write
//! (one transaction), only for the events the company's partner listens for.

use chrono::{DateTime, Utc};
use prov_core::audit::new_event_id;
use prov_core::error::Result;
use prov_core::keys::account_key;
use prov_core::store::{Item, StoreError, WriteOp};
use prov_core::webhooks::{self, EventType, Listening, Pending};
use serde_json::{Value, json};

use super::records::{AppAccount, put};
use super::views::status_name;
use crate::connections::Apps;

/// What an account event says about the account.
pub(super) fn account_data(account: &AppAccount, team_member_id: Option<&str>) -> Value {
    json!({
        "account": {
            "id": account.id,
            "app": account.app,
            "team_member_id": team_member_id.or(account.team_member_id()),
            "email": account.email,
            "status": status_name(account.status).0,
        }
    })
}

/// The outbox write of an account event (`None`: nobody listens for it), under `id`, or a
/// new id when `None`.
pub(super) fn account_event(
    listening: &Listening,
    company_id: &str,
    kind: EventType,
    id: Option<&str>,
    account: &AppAccount,
    team_member_id: Option<&str>,
    at: DateTime<Utc>,
) -> Result<Option<(WriteOp, Pending)>> {
    let id = id.map_or_else(new_event_id, str::to_owned);
    webhooks::outbox(
        listening,
        company_id,
        kind,
        &id,
        at,
        account_data(account, team_member_id),
    )
}

/// Writes an account record at the version read (`None`: it must not exist yet) with the
/// events its change causes, in one transaction when there are any; answers the record's new
/// version. A lost condition on the record is `ConditionFailed`, as for a plain write.
pub(super) async fn write_with(
    apps: &Apps,
    company_id: &str,
    account: &AppAccount,
    version: Option<u64>,
    events: Vec<WriteOp>,
) -> std::result::Result<u64, StoreError> {
    let item = Item::from_record(account_key(company_id, &account.app, &account.id), account)?;
    if events.is_empty() {
        return match version {
            Some(v) => apps.services.store.replace(item, v).await,
            None => apps.services.store.create(item).await,
        };
    }
    let mut ops = vec![put(item, version)];
    ops.extend(events);
    match apps.services.store.transact(ops).await {
        // A transaction answers no version: the record's is one more (1 when created).
        Ok(()) => Ok(version.map_or(1, |v| v + 1)),
        Err(StoreError::TransactionCancelled { failed }) if failed.contains(&0) => {
            Err(StoreError::ConditionFailed)
        }
        Err(e) => Err(e),
    }
}

/// The writes and pending events of one account change (`kind` `None`: it causes none).
pub(super) fn change_events(
    listening: &Listening,
    company_id: &str,
    kind: Option<EventType>,
    account: &AppAccount,
    at: DateTime<Utc>,
) -> Result<(Vec<WriteOp>, Vec<Pending>)> {
    let event = match kind {
        Some(kind) => account_event(listening, company_id, kind, None, account, None, at)?,
        None => None,
    };
    Ok(event.map(|(op, p)| (vec![op], vec![p])).unwrap_or_default())
}
