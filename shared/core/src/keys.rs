//! The main table's key layout, in one place. Every item has a partition key (`pk`) and a
//! sort key (`sk`); a few carry the one secondary index (`ipk`, `isk`). Ids in keys are our
//! own (UUIDv7, hashes), never a vendor's raw text, except app slugs.
//!
//! | item | pk | sk | index |
//! |---|---|---|---|
//! | partner | `PARTNER#<partner>` | `PARTNER` | |
//! | partner's webhook endpoint | `PARTNER#<partner>` | `HOOK#<endpoint>` | |
//! | its signing secret (encrypted) | `PARTNER#<partner>` | `HOOKSECRET#<endpoint>` | |
//! | what the partner's endpoints listen for | `PARTNER#<partner>` | `HOOKS` | `WEBHOOKS_DUE` until every company knows |
//! | token (partner or admin) | `TOKEN#<first 16 chars>` | `TOKEN` | |
//! | company | `COMPANY#<company>` | `COMPANY` | `PARTNER#<partner>#COMPANIES` |
//! | admin (user) | `COMPANY#<company>` | `USER#<user>` | |
//! | email owner (unique across the service) | `EMAIL#<email key>` | `EMAIL` | |
//! | claim (by the hash of its id) | `CLAIM#<hash>` | `CLAIM` | |
//! | first password's reveal link (by the hash of its id) | `FIRSTPW#<hash>` | `FIRSTPW` | |
//! | idempotency record | `IDEMPOTENCY#<partner>#<hash of the key>` | `IDEMPOTENCY` | |
//! | team member | `COMPANY#<company>` | `TM#<team member>` | |
//! | team member's email lock | `COMPANY#<company>` | `TMEMAIL#<email key>` | |
//! | connection | `COMPANY#<company>` | `CONNECTION#<app>` | `CONNECTIONS` by company and app |
//! | connection's credentials (encrypted) | `COMPANY#<company>` | `CREDENTIALS#<app>` | |
//! | app account | `COMPANY#<company>` | `ACCT#<app>#<account>` | |
//! | account link (one per person per app) | `COMPANY#<company>` | `TMACCT#<team member>#<app>` | |
//! | creation in flight | `COMPANY#<company>` | `INTENT#<app>#<team member>` | |
//! | last sync (before sync jobs: read once, to know an app was synced) | `COMPANY#<company>` | `SYNC#<app>` | |
//! | sync job (one per app) | `COMPANY#<company>` | `SYNCJOB#<app>` | |
//! | vendor ids a sync job has seen, a page each | `COMPANY#<company>` | `SYNCSEEN#<app>#<job>#<page>` | |
//! | access report finding | `COMPANY#<company>` | `FINDING#<app>#<kind>#<subject>` | |
//! | the admins' daily digest of findings, when one is due | `COMPANY#<company>` | `ALERTDIGEST` | `ALERTS_DUE` by time |
//! | webhook event in the outbox | `COMPANY#<company>` | `HOOKEVENT#<event>` | `WEBHOOKS_DUE` by time |
//! | webhook delivery to one endpoint | `HOOKDLV#<endpoint>` | `DLV#<delivery>` | `WEBHOOKS_DUE` by next attempt |
//! | onboarding task | `COMPANY#<company>` | `ONBOARDING#<team member>` | |
//! | dismissal (its steps as planned inline) | `COMPANY#<company>` | `DISMISSAL#<team member>` | `DISMISSALS` by next run |
//! | a dismissal's step, once a run has claimed it (each plan's own) | `COMPANY#<company>` | `DISMISSALSTEP#<team member>#<plan>#<app>#<account>` | |
//! | circuit breaker | `COMPANY#<company>` | `BREAKER#<app>` | |
//! | OAuth refresh lease (one refresh at a time per connection) | `COMPANY#<company>` | `REFRESH#<app>` | |
//! | vendor rate budget (shared by every instance) | `COMPANY#<company>` | `BUDGET#<app>` | |
//! | pending OAuth authorization | `OAUTHSTATE#<hash of state>` | `STATE` | |
//! | local timer (embedded scheduler) | `TIMER#<name>` | `TIMER` | `TIMERS` by due time |
//! | queued email | `MAILQ` | `<time>#<id>` | |
//! | queued job (embedded queue), its dead letters | `JOBQ`, `JOBDLQ` | `<id>` | |
//! | scheduled reconciliation's progress | `RECONCILE` | `RECONCILE` | |
//! | a one-off migration's progress | `MIGRATION#<name>` | `MIGRATION` | |
//! | console session / sign-in link | `CONSOLE#SESSION#<lookup>`, `CONSOLE#LINK#<hash>` | `SESSION`, `LINK` | |
//!
//! The audit table: pk `AUDIT#<company>` (a partner's own events: `AUDIT#PARTNER#<partner>`),
//! sk `<time>#<event>`.

use crate::secret::hash_secret;
use crate::store::Key;
use crate::values;

/// The sort-key prefixes of a company's admins, team members, connections, account links,
/// onboarding tasks and dismissals.
pub const USERS: &str = "USER#";
pub const TEAM_MEMBERS: &str = "TM#";
pub const CONNECTIONS: &str = "CONNECTION#";
pub const LINKS: &str = "TMACCT#";
pub const ONBOARDING: &str = "ONBOARDING#";
pub const DISMISSAL: &str = "DISMISSAL#";

/// The sort-key prefixes of a company's dismissals and sync jobs.
pub const DISMISSALS: &str = "DISMISSAL#";
pub const SYNC_JOBS: &str = "SYNCJOB#";

/// The secondary index's partitions: dismissals by next run time, local timers by due time.
pub const DISMISSALS_INDEX: &str = "DISMISSALS";
pub const TIMERS_INDEX: &str = "TIMERS";

/// The mail queue's partition (sorted by the time an email was queued).
pub const MAIL_QUEUE: &str = "MAILQ";

/// The embedded job queue's partitions (messages in the order sent, and those given up on).
pub const JOBS_QUEUE: &str = "JOBQ";
pub const JOBS_DEAD_LETTERS: &str = "JOBDLQ";

/// The index partition of every company's connections (the scheduled reconciliation's list).
pub const CONNECTIONS_INDEX: &str = "CONNECTIONS";

/// The sort-key prefix of a company's access report findings.
pub const FINDINGS: &str = "FINDING#";

/// The index partition of companies whose admins' daily digest of findings is due.
pub const ALERTS_DUE: &str = "ALERTS_DUE";

/// The sort-key prefix of a partner's webhook endpoints.
pub const WEBHOOK_ENDPOINTS: &str = "HOOK#";
/// The sort-key prefix of an endpoint's deliveries.
pub const WEBHOOK_DELIVERIES: &str = "DLV#";
/// The index partition of webhook work whose time has come: outbox events, deliveries to
/// attempt, partners whose companies must learn what their endpoints listen for.
pub const WEBHOOKS_DUE: &str = "WEBHOOKS_DUE";

/// The partition holding everything of one company.
pub fn company_partition(company_id: &str) -> String {
    format!("COMPANY#{company_id}")
}

pub fn partner_key(partner_id: &str) -> Key {
    Key::new(format!("PARTNER#{partner_id}"), "PARTNER")
}

/// A token's lookup key: its first characters (the rest is compared hashed).
pub fn token_key(lookup: &str) -> Key {
    Key::new(format!("TOKEN#{lookup}"), "TOKEN")
}

pub fn company_key(company_id: &str) -> Key {
    Key::new(company_partition(company_id), "COMPANY")
}

/// The index of a partner's companies.
pub fn partner_companies_index(partner_id: &str) -> String {
    format!("PARTNER#{partner_id}#COMPANIES")
}

/// One of a partner's webhook endpoints.
pub fn webhook_endpoint_key(partner_id: &str, endpoint_id: &str) -> Key {
    Key::new(
        format!("PARTNER#{partner_id}"),
        format!("{WEBHOOK_ENDPOINTS}{endpoint_id}"),
    )
}

/// An endpoint's signing secret, encrypted (the envelope secret store's item).
pub fn webhook_secret_key(partner_id: &str, endpoint_id: &str) -> Key {
    Key::new(
        format!("PARTNER#{partner_id}"),
        format!("HOOKSECRET#{endpoint_id}"),
    )
}

/// The event types a partner's endpoints listen for, together.
pub fn partner_webhooks_key(partner_id: &str) -> Key {
    Key::new(format!("PARTNER#{partner_id}"), "HOOKS")
}

/// An event in a company's outbox, written with the change that causes it.
pub fn webhook_event_key(company_id: &str, event_id: &str) -> Key {
    Key::new(company_partition(company_id), format!("HOOKEVENT#{event_id}"))
}

/// The partition of one endpoint's deliveries.
pub fn webhook_deliveries_partition(endpoint_id: &str) -> String {
    format!("HOOKDLV#{endpoint_id}")
}

/// One delivery of an event to one endpoint.
pub fn webhook_delivery_key(endpoint_id: &str, delivery_id: &str) -> Key {
    Key::new(
        webhook_deliveries_partition(endpoint_id),
        format!("{WEBHOOK_DELIVERIES}{delivery_id}"),
    )
}

pub fn user_key(company_id: &str, user_id: &str) -> Key {
    Key::new(company_partition(company_id), format!("USER#{user_id}"))
}

/// Who owns an email address: its key makes admin emails unique across the service.
pub fn email_owner_key(email: &str) -> Key {
    Key::new(format!("EMAIL#{}", values::email_key(email)), "EMAIL")
}

/// Claims are stored under the hash of their id: the id in the link is a bearer secret.
pub fn claim_key(claim_id: &str) -> Key {
    Key::new(format!("CLAIM#{}", hash_secret(claim_id)), "CLAIM")
}

/// A first password's reveal link, under the hash of its id (the id is a bearer secret,
/// and the key its password is sealed with comes from it).
pub fn first_password_key(link_id: &str) -> Key {
    Key::new(format!("FIRSTPW#{}", hash_secret(link_id)), "FIRSTPW")
}

/// An `Idempotency-Key` of a partner, stored hashed.
pub fn idempotency_key(partner_id: &str, header: &str) -> Key {
    Key::new(
        format!("IDEMPOTENCY#{partner_id}#{}", hash_secret(header)),
        "IDEMPOTENCY",
    )
}

pub fn team_member_key(company_id: &str, id: &str) -> Key {
    Key::new(company_partition(company_id), format!("TM#{id}"))
}

/// Holds a team member's email within the company: one person per email.
pub fn team_email_key(company_id: &str, email: &str) -> Key {
    Key::new(
        company_partition(company_id),
        format!("TMEMAIL#{}", values::email_key(email)),
    )
}

pub fn connection_key(company_id: &str, app: &str) -> Key {
    Key::new(company_partition(company_id), format!("CONNECTION#{app}"))
}

/// A connection's credentials, encrypted (the envelope secret store's item).
pub fn credentials_key(company_id: &str, app: &str) -> Key {
    Key::new(company_partition(company_id), format!("CREDENTIALS#{app}"))
}

pub fn account_key(company_id: &str, app: &str, id: &str) -> Key {
    Key::new(company_partition(company_id), format!("ACCT#{app}#{id}"))
}

/// The sort-key prefix of an app's accounts.
pub fn accounts_prefix(app: &str) -> String {
    format!("ACCT#{app}#")
}

pub fn link_key(company_id: &str, team_member_id: &str, app: &str) -> Key {
    Key::new(
        company_partition(company_id),
        format!("TMACCT#{team_member_id}#{app}"),
    )
}

/// The sort-key prefix of a team member's account links.
pub fn links_prefix(team_member_id: &str) -> String {
    format!("TMACCT#{team_member_id}#")
}

pub fn intent_key(company_id: &str, app: &str, team_member_id: &str) -> Key {
    Key::new(
        company_partition(company_id),
        format!("INTENT#{app}#{team_member_id}"),
    )
}

pub fn sync_key(company_id: &str, app: &str) -> Key {
    Key::new(company_partition(company_id), format!("SYNC#{app}"))
}

/// An app's sync job: one per company and app (a second request joins it).
pub fn sync_job_key(company_id: &str, app: &str) -> Key {
    Key::new(company_partition(company_id), format!("SYNCJOB#{app}"))
}

/// The sort-key prefix of the vendor ids one sync job has seen.
pub fn sync_seen_prefix(app: &str, job_id: &str) -> String {
    format!("SYNCSEEN#{app}#{job_id}#")
}

/// One page of vendor ids a sync job has seen (pages numbered in order).
pub fn sync_seen_key(company_id: &str, app: &str, job_id: &str, page: u64) -> Key {
    Key::new(
        company_partition(company_id),
        format!("{}{page:010}", sync_seen_prefix(app, job_id)),
    )
}

/// The sort-key prefix of one app's findings.
pub fn findings_prefix(app: &str) -> String {
    format!("{FINDINGS}{app}#")
}

/// A finding of the access report: one per app, kind and subject (an account, or the app).
pub fn finding_key(company_id: &str, app: &str, kind: &str, subject: &str) -> Key {
    Key::new(
        company_partition(company_id),
        format!("{}{kind}#{subject}", findings_prefix(app)),
    )
}

/// A company's daily digest of findings, present while one is due.
pub fn alert_digest_key(company_id: &str) -> Key {
    Key::new(company_partition(company_id), "ALERTDIGEST")
}

/// A message of the embedded job queue.
pub fn queued_job_key(id: &str) -> Key {
    Key::new(JOBS_QUEUE, id)
}

/// A connection's place in the `CONNECTIONS` index.
pub fn connections_index_sk(company_id: &str, app: &str) -> String {
    format!("{company_id}#{app}")
}

/// Where a one-off migration of the table records how far it has come.
pub fn migration_key(name: &str) -> Key {
    Key::new(format!("MIGRATION#{name}"), "MIGRATION")
}

/// Where the scheduled reconciliation records how far it has come.
pub fn reconcile_key() -> Key {
    Key::new("RECONCILE", "RECONCILE")
}

pub fn onboarding_key(company_id: &str, team_member_id: &str) -> Key {
    Key::new(
        company_partition(company_id),
        format!("{ONBOARDING}{team_member_id}"),
    )
}

pub fn dismissal_key(company_id: &str, team_member_id: &str) -> Key {
    Key::new(
        company_partition(company_id),
        format!("{DISMISSAL}{team_member_id}"),
    )
}

/// The sort-key prefix of the step items of one plan of a dismissal (not under `DISMISSAL#`:
/// the company-wide reads of dismissals read their records only).
pub fn dismissal_steps_prefix(team_member_id: &str, plan: u32) -> String {
    format!("DISMISSALSTEP#{team_member_id}#{plan}#")
}

/// One step of a dismissal's plan, in its own item: a claim or a result writes it alone.
pub fn dismissal_step_key(
    company_id: &str,
    team_member_id: &str,
    plan: u32,
    app: &str,
    account_id: &str,
) -> Key {
    Key::new(
        company_partition(company_id),
        format!(
            "{}{app}#{account_id}",
            dismissal_steps_prefix(team_member_id, plan)
        ),
    )
}

pub fn breaker_key(company_id: &str, app: &str) -> Key {
    Key::new(company_partition(company_id), format!("BREAKER#{app}"))
}

/// Held by the one instance refreshing a connection's OAuth tokens (the others wait for
/// what it stores).
pub fn refresh_lease_key(company_id: &str, app: &str) -> Key {
    Key::new(company_partition(company_id), format!("REFRESH#{app}"))
}

/// The pace every instance keeps with one app of one company (the vendor's published limit,
/// and what its last rate-limit answer taught).
pub fn vendor_budget_key(company_id: &str, app: &str) -> Key {
    Key::new(company_partition(company_id), format!("BUDGET#{app}"))
}

/// A pending OAuth authorization, under the hash of its `state`.
pub fn oauth_state_key(state: &str) -> Key {
    Key::new(format!("OAUTHSTATE#{}", hash_secret(state)), "STATE")
}

pub fn timer_key(name: &str) -> Key {
    Key::new(format!("TIMER#{name}"), "TIMER")
}

/// A console session, by the lookup part of its id (the rest is compared hashed).
pub fn console_session_key(lookup: &str) -> Key {
    Key::new(format!("CONSOLE#SESSION#{lookup}"), "SESSION")
}

/// A one-time console sign-in link, under the hash of its secret.
pub fn console_link_key(secret: &str) -> Key {
    Key::new(format!("CONSOLE#LINK#{}", hash_secret(secret)), "LINK")
}

/// The audit table's partition of a company.
pub fn audit_partition(company_id: &str) -> String {
    format!("AUDIT#{company_id}")
}

/// The audit table's partition of a partner's own events (its tokens), apart from its
/// companies' (company ids never start with `PARTNER#`).
pub fn partner_audit_partition(partner_id: &str) -> String {
    format!("AUDIT#PARTNER#{partner_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_companys_items_share_its_partition_and_never_collide() {
        let company = company_key("c1");
        let sks = [
            company.sk.clone(),
            user_key("c1", "u").sk,
            team_member_key("c1", "u").sk,
            team_email_key("c1", "a@b.c").sk,
            connection_key("c1", "u").sk,
            credentials_key("c1", "u").sk,
            account_key("c1", "u", "u").sk,
            link_key("c1", "u", "u").sk,
            intent_key("c1", "u", "u").sk,
            sync_key("c1", "u").sk,
            sync_job_key("c1", "u").sk,
            sync_seen_key("c1", "u", "j", 1).sk,
            finding_key("c1", "u", "k", "s").sk,
            webhook_event_key("c1", "e").sk,
            alert_digest_key("c1").sk,
            onboarding_key("c1", "u").sk,
            dismissal_key("c1", "u").sk,
            dismissal_step_key("c1", "u", 1, "a", "x").sk,
            breaker_key("c1", "u").sk,
            refresh_lease_key("c1", "u").sk,
            vendor_budget_key("c1", "u").sk,
        ];
        let mut distinct = sks.to_vec();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), sks.len());
        for key in [
            user_key("c1", "u"),
            account_key("c1", "a", "x"),
            credentials_key("c1", "a"),
            dismissal_key("c1", "t"),
        ] {
            assert_eq!(key.pk, company.pk);
        }
        assert!(
            account_key("c1", "slack", "x")
                .sk
                .starts_with(&accounts_prefix("slack"))
        );
        assert!(link_key("c1", "t", "slack").sk.starts_with(&links_prefix("t")));
        // A dismissal's steps are not read with the company's dismissals, and one plan's
        // steps not with another's.
        let step = dismissal_step_key("c1", "t", 1, "slack", "x").sk;
        assert!(!step.starts_with(DISMISSALS));
        assert!(step.starts_with(&dismissal_steps_prefix("t", 1)));
        assert!(
            !dismissal_step_key("c1", "t", 10, "slack", "x")
                .sk
                .starts_with(&dismissal_steps_prefix("t", 1))
        );
        // A partner's endpoints, their secrets and what they listen for never collide.
        let hooks = [
            webhook_endpoint_key("p", "e"),
            webhook_secret_key("p", "e"),
            partner_webhooks_key("p"),
            partner_key("p"),
        ];
        assert!(hooks.iter().all(|k| k.pk == partner_key("p").pk));
        assert!(!partner_webhooks_key("p").sk.starts_with(WEBHOOK_ENDPOINTS));
        assert!(!webhook_secret_key("p", "e").sk.starts_with(WEBHOOK_ENDPOINTS));
        // Secrets in keys are hashed.
        assert!(!claim_key("secret-claim").pk.contains("secret-claim"));
        assert!(!first_password_key("secret-link").pk.contains("secret-link"));
        assert!(!oauth_state_key("secret-state").pk.contains("secret-state"));
    }
}
