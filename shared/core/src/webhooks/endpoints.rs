//! A partner's webhook endpoints: registered with a URL the egress rules allow and the
//! events they want, each with a signing secret shown once at registration and kept
//! encrypted (the secret store, as connection credentials are); listed; deleted.
//!
//! What the partner's endpoints listen for together is kept on the partner (`HOOKS`) and
//! copied onto each of its companies' records (and their open dismissals'), so a change
//! knows from the record it reads anyway whether to write an event: companies whose
//! partner listens for nothing pay nothing. The copy is made by the worker after every
//! registration or deletion (`propagate`), twice, the second pass a minute later for
//! companies the partner's index showed late; a company provisioned meanwhile reads the
//! partner's record itself (its provisioning checks that record in its transaction).

use chrono::{DateTime, Duration, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::audit::{self, Actor, ActorRef};
use crate::auth::Principal;
use crate::body::{Body, Unparsed};
use crate::error::{Error, Result};
use crate::keys::{
    DISMISSALS, WEBHOOK_ENDPOINTS, WEBHOOKS_DUE, company_key, company_partition, partner_companies_index,
    partner_key, partner_webhooks_key, webhook_endpoint_key,
};
use crate::secret::{new_ordered_id, random_hex};
use crate::store::{Cursor, Item, ItemStore, Key, PageRequest, StoreError, WriteOp};
use crate::validate::{Obj, Text, Validator};

use super::events::{EventType, Listening, WebhookMessage, due_at};
use super::sender::Hooks;

/// Endpoints a partner may have.
pub const MAX_ENDPOINTS: usize = 10;
/// Longest endpoint URL.
const MAX_URL_CHARS: usize = 2048;
/// Companies whose records one propagation message updates.
const PROPAGATION_PAGE: u32 = 100;
/// When the second pass of a propagation looks again (the partner's index of companies may
/// show a company a little after it was made).
const SECOND_PASS_SECONDS: i64 = 60;

/// `POST /v1/webhook_endpoints`.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEndpoint {
    /// Where deliveries are POSTed: https, on a public address.
    #[schema(min_length = 1, max_length = 2048)]
    pub url: String,
    /// The events to deliver (at least one).
    #[schema(min_items = 1, max_items = 9)]
    pub events: Vec<EventType>,
}

impl Body for NewEndpoint {
    fn parse(v: &mut Validator, root: &Obj<'_>, (): ()) -> Option<Self> {
        v.only(root, &["url", "events"]);
        let url = v.text(
            root,
            "url",
            true,
            Text {
                max_chars: MAX_URL_CHARS,
            },
        );
        let mut events = Vec::new();
        match v.array(root, "events", EventType::ALL.len()) {
            None if !root.has("events") || root.is_null("events") => {
                v.error("events", "`events` is required.");
            }
            None => {}
            Some([]) => v.error("events", "`events` needs at least one event."),
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    match item.as_str().and_then(EventType::parse) {
                        Some(kind) => events.push(kind),
                        None => v.error(
                            format!("events[{i}]"),
                            format!(
                                "`events[{i}]` must be one of: {}.",
                                EventType::ALL.map(EventType::as_str).join(", ")
                            ),
                        ),
                    }
                }
            }
        }
        events.sort();
        events.dedup();
        Some(NewEndpoint { url: url?, events })
    }
}

/// An endpoint as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredEndpoint {
    pub(crate) id: String,
    pub(crate) partner_id: String,
    pub(crate) url: String,
    pub(crate) events: Vec<EventType>,
    pub(crate) created_at: DateTime<Utc>,
}

impl StoredEndpoint {
    /// The name its signing secret is kept under.
    pub(crate) fn secret_name(&self) -> String {
        secret_name(&self.partner_id, &self.id)
    }

    fn view(self) -> WebhookEndpoint {
        WebhookEndpoint {
            id: self.id,
            url: self.url,
            events: self.events,
            created_at: self.created_at,
        }
    }
}

/// The signing secret's name in the secret store.
pub(crate) fn secret_name(partner_id: &str, endpoint_id: &str) -> String {
    format!("webhooks/{partner_id}/{endpoint_id}")
}

/// An endpoint as the API shows it (never with its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WebhookEndpoint {
    /// `whe_…`
    pub id: String,
    pub url: String,
    pub events: Vec<EventType>,
    pub created_at: DateTime<Utc>,
}

/// A new endpoint and its signing secret, shown this once.
pub struct Registered {
    pub endpoint: WebhookEndpoint,
    pub secret: SecretString,
}

/// What a partner's endpoints listen for together (`PARTNER#<partner>`, `HOOKS`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct PartnerListening {
    events: Vec<EventType>,
    /// One more at every change of `events`.
    generation: u64,
    /// The generation every company of the partner has been told.
    propagated: u64,
    changed_at: Option<DateTime<Utc>>,
}

impl PartnerListening {
    fn item(&self, partner_id: &str) -> Result<Item> {
        let item = Item::from_record(partner_webhooks_key(partner_id), self)?;
        // In the sweep's index until every company knows (a lost message is found there).
        Ok(match self.changed_at {
            Some(at) if self.propagated < self.generation => {
                item.with_index(WEBHOOKS_DUE, due_at(at, &format!("P#{partner_id}")))
            }
            _ => item,
        })
    }
}

/// What a partner's endpoints listen for, with the version of its record (`None`: the
/// record does not exist, nobody listens).
pub async fn partner_listening(store: &dyn ItemStore, partner_id: &str) -> Result<(Listening, Option<u64>)> {
    Ok(match store.get(&partner_webhooks_key(partner_id)).await? {
        Some(item) => {
            let record: PartnerListening = item.record()?;
            (Listening::new(record.events), Some(item.version))
        }
        None => (Listening::default(), None),
    })
}

/// The check a transaction makes that the partner's endpoints listen for what the caller
/// believes (`version`, from `partner_listening`; `None`: nobody listens). A provisioning or
/// a claim that lost a race with a registration then reads again.
pub fn partner_listening_check(partner_id: &str, version: Option<u64>) -> WriteOp {
    WriteOp::Check {
        key: partner_webhooks_key(partner_id),
        expect: match version {
            Some(v) => crate::store::Expect::Version(v),
            None => crate::store::Expect::Absent,
        },
    }
}

fn partner_of(actor: &Actor) -> Result<&str> {
    match &actor.principal {
        Principal::Partner { partner_id } => Ok(partner_id),
        Principal::Admin { .. } => Err(Error::forbidden(
            "authorization",
            "Only a partner token can manage webhook endpoints.",
        )),
    }
}

/// Every endpoint of a partner, oldest first.
pub(crate) async fn stored_endpoints(
    store: &dyn ItemStore,
    partner_id: &str,
) -> Result<Vec<(u64, StoredEndpoint)>> {
    let page = store
        .query(
            &partner_key(partner_id).pk,
            WEBHOOK_ENDPOINTS,
            PageRequest::first(MAX_ENDPOINTS as u32 * 2),
        )
        .await?;
    page.items
        .iter()
        .map(|item| Ok((item.version, item.record()?)))
        .collect()
}

/// One endpoint of the calling partner (any other: not found).
pub(crate) async fn endpoint_of(
    store: &dyn ItemStore,
    partner_id: &str,
    endpoint_id: &str,
) -> Result<(u64, StoredEndpoint)> {
    let not_found = || Error::not_found("webhook_endpoint");
    if endpoint_id.is_empty() || endpoint_id.len() > 64 {
        return Err(not_found());
    }
    let item = store
        .get(&webhook_endpoint_key(partner_id, endpoint_id))
        .await?
        .ok_or_else(not_found)?;
    Ok((item.version, item.record()?))
}

/// The partner's record of what its endpoints listen for, rewritten for `endpoints` (as
/// they will be), at the version read.
async fn listening_op(
    store: &dyn ItemStore,
    partner_id: &str,
    endpoints: &[&StoredEndpoint],
    now: DateTime<Utc>,
) -> Result<WriteOp> {
    let existing = store.get(&partner_webhooks_key(partner_id)).await?;
    let mut record: PartnerListening = match &existing {
        Some(item) => item.record()?,
        None => PartnerListening::default(),
    };
    record.events = Listening::new(endpoints.iter().flat_map(|e| e.events.clone()).collect())
        .events()
        .to_vec();
    record.generation += 1;
    record.changed_at = Some(now);
    let item = record.item(partner_id)?;
    Ok(match existing {
        Some(old) => WriteOp::Replace {
            item,
            expected_version: old.version,
        },
        None => WriteOp::Create(item),
    })
}

/// Registers an endpoint of the calling partner; answers it with its signing secret, which
/// is shown this once.
pub async fn register(hooks: &Hooks<'_>, actor: &Actor, body: &Unparsed<NewEndpoint>) -> Result<Registered> {
    let partner_id = partner_of(actor)?;
    let body = body.parse()?;
    if let Err(why) = hooks.sender.check(&body.url) {
        return Err(Error::invalid("url", format!("`url` cannot be used: {why}.")));
    }
    let svc = hooks.svc;
    let store = svc.store.as_ref();
    let now = svc.clock.now();
    let endpoint = StoredEndpoint {
        id: new_ordered_id("whe"),
        partner_id: partner_id.to_owned(),
        url: body.url.clone(),
        events: body.events.clone(),
        created_at: now,
    };
    let secret = SecretString::from(format!("whsec_{}", random_hex(32)));
    hooks.secrets.put(&endpoint.secret_name(), &secret).await?;
    let written = async {
        for _ in 0..3 {
            let existing = stored_endpoints(store, partner_id).await?;
            if existing.len() >= MAX_ENDPOINTS {
                return Err(Error::invalid(
                    "url",
                    format!("A partner has at most {MAX_ENDPOINTS} webhook endpoints; delete one first."),
                ));
            }
            let mut all: Vec<&StoredEndpoint> = existing.iter().map(|(_, e)| e).collect();
            all.push(&endpoint);
            let ops = vec![
                WriteOp::Create(Item::from_record(
                    webhook_endpoint_key(partner_id, &endpoint.id),
                    &endpoint,
                )?),
                listening_op(store, partner_id, &all, now).await?,
            ];
            match store.transact(ops).await {
                Ok(()) => return Ok(()),
                // Another change of the partner's endpoints landed first: read again.
                Err(StoreError::TransactionCancelled { .. } | StoreError::Contention(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Busy("the partner's endpoints kept changing".into()))
    }
    .await;
    if let Err(e) = written {
        if let Err(cleanup) = hooks.secrets.delete(&endpoint.secret_name()).await {
            tracing::warn!(error = %cleanup, "an unused webhook secret was not deleted");
        }
        return Err(e);
    }
    propagate_soon(hooks, partner_id).await;
    audit::record_partner(
        svc.audit.as_ref(),
        svc.clock.as_ref(),
        partner_id,
        ActorRef::from(&actor.principal),
        &actor.request_id,
        "webhook_endpoint.created",
        Some(format!(
            "{} {} for {}",
            endpoint.id,
            endpoint.url,
            endpoint
                .events
                .iter()
                .map(|e| e.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    )
    .await;
    Ok(Registered {
        endpoint: endpoint.view(),
        secret,
    })
}

/// The calling partner's endpoints, oldest first.
pub async fn list(hooks: &Hooks<'_>, actor: &Actor) -> Result<Vec<WebhookEndpoint>> {
    let partner_id = partner_of(actor)?;
    Ok(stored_endpoints(hooks.svc.store.as_ref(), partner_id)
        .await?
        .into_iter()
        .map(|(_, e)| e.view())
        .collect())
}

/// Deletes one of the calling partner's endpoints and its secret: nothing more is delivered
/// to it (its pending deliveries end as failed).
pub async fn delete(hooks: &Hooks<'_>, actor: &Actor, endpoint_id: &str) -> Result<()> {
    let partner_id = partner_of(actor)?;
    let svc = hooks.svc;
    let store = svc.store.as_ref();
    let mut deleted = None;
    for _ in 0..3 {
        let (version, endpoint) = endpoint_of(store, partner_id, endpoint_id).await?;
        let existing = stored_endpoints(store, partner_id).await?;
        let others: Vec<&StoredEndpoint> = existing
            .iter()
            .map(|(_, e)| e)
            .filter(|e| e.id != endpoint_id)
            .collect();
        let ops = vec![
            WriteOp::Delete {
                key: webhook_endpoint_key(partner_id, endpoint_id),
                expected_version: Some(version),
            },
            listening_op(store, partner_id, &others, svc.clock.now()).await?,
        ];
        match store.transact(ops).await {
            Ok(()) => {
                deleted = Some(endpoint);
                break;
            }
            Err(StoreError::TransactionCancelled { .. } | StoreError::Contention(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    let endpoint = deleted.ok_or_else(|| Error::Busy("the partner's endpoints kept changing".into()))?;
    if let Err(e) = hooks.secrets.delete(&endpoint.secret_name()).await {
        tracing::warn!(error = %e, "a deleted endpoint's secret was not deleted");
    }
    propagate_soon(hooks, partner_id).await;
    audit::record_partner(
        svc.audit.as_ref(),
        svc.clock.as_ref(),
        partner_id,
        ActorRef::from(&actor.principal),
        &actor.request_id,
        "webhook_endpoint.deleted",
        Some(format!("{} {}", endpoint.id, endpoint.url)),
    )
    .await;
    Ok(())
}

/// Hands the partner's companies' update to the worker (the sweep does, if this is lost).
async fn propagate_soon(hooks: &Hooks<'_>, partner_id: &str) {
    let generation = match hooks.svc.store.get(&partner_webhooks_key(partner_id)).await {
        Ok(Some(item)) => item
            .record::<PartnerListening>()
            .map(|r| r.generation)
            .unwrap_or_default(),
        _ => return,
    };
    let message = WebhookMessage::WebhookListening {
        partner_id: partner_id.to_owned(),
        cursor: None,
        pass: 1,
        generation,
    };
    if let Err(e) = message.send(hooks.svc.queue.as_ref(), Duration::zero()).await {
        tracing::warn!(error = %e, "the companies' update was not handed to the worker; the sweep will");
    }
}

/// The message that updates a partner's companies, for the sweep (a partner whose record
/// is still in the index).
pub(crate) fn propagation_message(item: &Item) -> Option<WebhookMessage> {
    let partner_id = item.key.pk.strip_prefix("PARTNER#")?;
    let record: PartnerListening = item.record().ok()?;
    Some(WebhookMessage::WebhookListening {
        partner_id: partner_id.to_owned(),
        cursor: None,
        pass: 1,
        generation: record.generation,
    })
}

/// One page of a partner's companies learns what its endpoints listen for now (with their
/// open dismissals); the next page, then the second pass, follow as messages; after the
/// second pass the partner's record notes that `generation` is everywhere.
pub(crate) async fn propagate(
    hooks: &Hooks<'_>,
    partner_id: &str,
    cursor: Option<String>,
    pass: u8,
    generation: u64,
) -> Result<()> {
    let svc = hooks.svc;
    let store = svc.store.as_ref();
    let (listening, _) = partner_listening(store, partner_id).await?;
    let page = store
        .query_index(
            &partner_companies_index(partner_id),
            PageRequest::first(PROPAGATION_PAGE).after(cursor.map(Cursor::from_client)),
        )
        .await?;
    for item in &page.items {
        let company_id = item.key.pk.strip_prefix("COMPANY#").unwrap_or_default();
        tell(store, &company_key(company_id), &listening).await?;
        tell_dismissals(store, company_id, &listening).await?;
    }
    let next = match (page.next, pass) {
        (Some(next), _) => Some((
            WebhookMessage::WebhookListening {
                partner_id: partner_id.to_owned(),
                cursor: Some(next.as_str().to_owned()),
                pass,
                generation,
            },
            Duration::zero(),
        )),
        (None, 1) => Some((
            WebhookMessage::WebhookListening {
                partner_id: partner_id.to_owned(),
                cursor: None,
                pass: 2,
                generation,
            },
            Duration::seconds(SECOND_PASS_SECONDS),
        )),
        (None, _) => None,
    };
    match next {
        Some((message, delay)) => message.send(svc.queue.as_ref(), delay).await,
        None => mark_propagated(store, partner_id, generation).await,
    }
}

/// Notes that every company knows `generation` (unless a newer one came meanwhile: its own
/// propagation notes it).
async fn mark_propagated(store: &dyn ItemStore, partner_id: &str, generation: u64) -> Result<()> {
    let Some(item) = store.get(&partner_webhooks_key(partner_id)).await? else {
        return Ok(());
    };
    let mut record: PartnerListening = item.record()?;
    if record.generation != generation || record.propagated >= generation {
        return Ok(());
    }
    record.propagated = generation;
    match store.replace(record.item(partner_id)?, item.version).await {
        Ok(_) | Err(StoreError::ConditionFailed) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Writes `listening` onto the record at `key` (read again when another write landed).
async fn tell(store: &dyn ItemStore, key: &Key, listening: &Listening) -> Result<()> {
    for _ in 0..5 {
        let Some(mut item) = store.get(key).await? else {
            return Ok(());
        };
        if Listening::of_item(&item) == *listening {
            return Ok(());
        }
        let version = item.version;
        listening.put_on(&mut item);
        match store.replace(item, version).await {
            Ok(_) => return Ok(()),
            Err(StoreError::ConditionFailed) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::Busy(format!("{}/{} kept changing", key.pk, key.sk)))
}

/// The company's dismissals still to run carry what the partner listens for (their removals
/// and completion are written by the worker, which reads the dismissal, not the company).
async fn tell_dismissals(store: &dyn ItemStore, company_id: &str, listening: &Listening) -> Result<()> {
    let mut cursor = None;
    loop {
        let page = store
            .query(
                &company_partition(company_id),
                DISMISSALS,
                PageRequest::first(100).after(cursor),
            )
            .await?;
        for item in &page.items {
            let over = matches!(
                item.data.get("state").and_then(Value::as_str),
                Some("done" | "cancelled")
            );
            if !over && Listening::of_item(item) != *listening {
                tell(store, &item.key, listening).await?;
            }
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(body: Value) -> Result<NewEndpoint> {
        let Value::Object(map) = body else { unreachable!() };
        Unparsed::<NewEndpoint>::new(map).parse()
    }

    #[test]
    fn a_registration_names_known_events_and_a_url() {
        let ok = parse(json!({"url": "https://hooks.example.com/x", "events": ["account.created", "company.claimed", "account.created"]}))
            .unwrap();
        assert_eq!(ok.events, [EventType::CompanyClaimed, EventType::AccountCreated]);
        let keys =
            |e: Error| -> Vec<String> { e.details().unwrap().iter().map(|d| d.error_key.clone()).collect() };
        assert_eq!(
            keys(parse(json!({"url": "https://x.example"})).unwrap_err()),
            ["events"]
        );
        assert_eq!(
            keys(parse(json!({"url": "https://x.example", "events": []})).unwrap_err()),
            ["events"]
        );
        assert_eq!(
            keys(parse(json!({"events": ["account.created", "account.deleted"]})).unwrap_err()),
            ["url", "events[1]"]
        );
        assert_eq!(
            keys(
                parse(json!({"url": "https://x.example", "events": ["company.claimed"], "secret": "x"}))
                    .unwrap_err()
            ),
            ["secret"]
        );
    }
}
