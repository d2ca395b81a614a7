//! Alerts: emails to the admins who manage apps (the primary admin and the admins with
//! `manage_apps`) about what needs them. At once, in the transaction of the change that
//! causes them: access not removed, a connection to reconnect (findings of those kinds), an
//! offboarding that needs attention. Once a day, a digest of the access report's other new
//! or changed findings (`reconcile::digest`). Each finding is mailed once until it changes.
//! Emails go through the mail queue: written with the change, sent after it, and sent by a
//! later drain if the mail service is down.

use chrono::{DateTime, Duration, NaiveTime, Utc};
use prov_core::company::{Permission, User};
use prov_core::error::Result;
use prov_core::keys::{ALERTS_DUE, USERS, alert_digest_key, company_partition};
use prov_core::mail::{Email, MailQueue, QueuedMail};
use prov_core::store::{Item, StoreError, WriteOp, query_all};
use serde_json::json;

use crate::connections::Apps;

/// When the daily digest goes out: 15:00 UTC (08:00 in California).
const DIGEST_AT: NaiveTime = NaiveTime::from_hms_opt(15, 0, 0).expect("a time of day");

/// The admins an alert goes to: the primary admin and every admin with `manage_apps`.
pub(crate) async fn recipients(apps: &Apps, company_id: &str) -> Result<Vec<User>> {
    let mut out = Vec::new();
    for item in query_all(
        apps.services.store.as_ref(),
        &company_partition(company_id),
        USERS,
    )
    .await?
    {
        let user: User = item.record()?;
        if user.has(Permission::ManageApps) {
            out.push(user);
        }
    }
    Ok(out)
}

/// The queued emails of one alert, one per recipient: the writes for the transaction of the
/// change, and what to send once it is committed. `text` follows the greeting.
pub(crate) fn emails(
    apps: &Apps,
    recipients: &[User],
    subject: &str,
    text: &str,
) -> Result<(Vec<WriteOp>, Vec<QueuedMail>)> {
    let mut ops = Vec::with_capacity(recipients.len());
    let mut queued = Vec::with_capacity(recipients.len());
    for user in recipients {
        let email = Email {
            to: user.email.clone(),
            subject: subject.to_owned(),
            text: format!("Hi {},\n\n{text}", user.first_name),
        };
        let (op, mail) = MailQueue::enqueue(email, apps.services.clock.as_ref())?;
        ops.push(op);
        queued.push(mail);
    }
    Ok((ops, queued))
}

/// Sends what a committed change queued; what fails stays queued for the next drain.
pub(crate) async fn send(apps: &Apps, queued: &[QueuedMail]) {
    for mail in queued {
        if let Err(e) =
            MailQueue::deliver(apps.services.store.as_ref(), apps.services.mailer.as_ref(), mail).await
        {
            tracing::warn!(error = %e, "an alert was not sent yet; it stays queued");
        }
    }
}

/// Where the admins read what an alert is about, in the console.
pub(crate) fn console_link(apps: &Apps, path: &str) -> String {
    format!("{}/console{path}", apps.services.settings.public_base_url)
}

/// The next digest time after `now`.
fn next_digest(now: DateTime<Utc>) -> DateTime<Utc> {
    let today = now.date_naive().and_time(DIGEST_AT).and_utc();
    if today > now {
        today
    } else {
        today + Duration::days(1)
    }
}

/// The company's record that a digest is due, in the index by its time.
pub(crate) fn digest_item(company_id: &str, due: DateTime<Utc>) -> Result<Item> {
    Ok(
        Item::from_record(alert_digest_key(company_id), &json!({"due_at": due}))?.with_index(
            ALERTS_DUE,
            format!("{}#{company_id}", due.format("%Y%m%dT%H%M%S%.6fZ")),
        ),
    )
}

/// Makes sure the company's next digest is due (a finding for it opened or changed): a
/// digest already due keeps its time.
pub(crate) async fn digest_due(apps: &Apps, company_id: &str) -> Result<()> {
    let due = next_digest(apps.services.clock.now());
    match apps.services.store.create(digest_item(company_id, due)?).await {
        Ok(_) | Err(StoreError::ConditionFailed) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_goes_out_at_the_next_fifteen_hundred_utc() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        assert_eq!(
            next_digest(at("2026-03-01T12:00:00Z")),
            at("2026-03-01T15:00:00Z")
        );
        assert_eq!(
            next_digest(at("2026-03-01T15:00:00Z")),
            at("2026-03-02T15:00:00Z")
        );
        assert_eq!(
            next_digest(at("2026-03-01T23:59:00Z")),
            at("2026-03-02T15:00:00Z")
        );
    }
}
