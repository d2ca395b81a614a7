//! The admins' daily digest: once a day, one email per admin who manages apps listing the
//! access report's findings that opened or changed since they were last mailed (those that
//! cannot wait are mailed at once, `alerts`). A company is in the digest index only while it
//! has such a finding, so the daily run reads only those companies.

use chrono::{DateTime, Utc};
use prov_core::company::Company;
use prov_core::error::Result;
use prov_core::keys::{ALERTS_DUE, FINDINGS, company_key, company_partition};
use prov_core::store::{Item, ItemStore, PageRequest, StoreError, WriteOp, query_all};
use serde_json::Value;

use super::findings::{ALERTED, Finding, fingerprint};
use crate::alerts;
use crate::connections::Apps;

/// Companies one run mails at most (the rest are due still, for the next run).
const PER_RUN: usize = 200;

/// Sends every digest that is due; answers how many companies' admins were mailed.
pub async fn send_due(apps: &Apps) -> Result<usize> {
    let now = apps.services.clock.now();
    let cutoff = now.format("%Y%m%dT%H%M%S%.6fZ").to_string();
    let page = apps
        .services
        .store
        .query_index(ALERTS_DUE, PageRequest::first(PER_RUN as u32))
        .await?;
    let mut sent = 0;
    for item in &page.items {
        let due = item.index.as_ref().map(|i| i.sk.as_str()).unwrap_or_default();
        if due.split('#').next().unwrap_or_default() > cutoff.as_str() {
            break; // the index is in time order
        }
        let company_id = item.key.pk.trim_start_matches("COMPANY#").to_owned();
        match send(apps, &company_id, item, now).await {
            Ok(true) => sent += 1,
            Ok(false) => {}
            Err(e) => {
                tracing::error!(error = %e, company_id, "a digest was not sent; the next run tries again")
            }
        }
    }
    Ok(sent)
}

/// One company's digest: the findings not mailed in their current state, one email per
/// recipient, written with the removal of the company from the index; then each finding is
/// marked mailed. `false` when there was nothing to mail.
async fn send(apps: &Apps, company_id: &str, due: &Item, now: DateTime<Utc>) -> Result<bool> {
    let store = apps.services.store.as_ref();
    let mut news: Vec<(Item, Finding)> = Vec::new();
    for item in query_all(store, &company_partition(company_id), FINDINGS).await? {
        let finding: Finding = item.record()?;
        let mailed = item.data.get(ALERTED).and_then(Value::as_str);
        if !finding.kind.alerts_at_once() && mailed != Some(fingerprint(&finding).as_str()) {
            news.push((item, finding));
        }
    }
    let done = WriteOp::Delete {
        key: due.key.clone(),
        expected_version: Some(due.version),
    };
    if news.is_empty() {
        return match store.transact(vec![done]).await {
            Ok(()) | Err(StoreError::TransactionCancelled { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        };
    }
    news.sort_by(|(_, a), (_, b)| (a.kind, &a.app, &a.id).cmp(&(b.kind, &b.app, &b.id)));
    let company: Option<Company> = match store.get(&company_key(company_id)).await? {
        Some(item) => Some(item.record()?),
        None => None,
    };
    let name = company.map(|c| c.name).unwrap_or_default();
    let lines: Vec<String> = news
        .iter()
        .map(|(_, f)| {
            let app = apps
                .services
                .catalog
                .get(&f.app)
                .map(|a| a.name)
                .unwrap_or("An app");
            format!("- {app}: {}\n  What to do: {}", f.summary, f.action)
        })
        .collect();
    let subject = match news.len() {
        1 => format!("{name}: 1 new finding in the access report"),
        n => format!("{name}: {n} new findings in the access report"),
    };
    let text = format!(
        "Since the last digest, the syncs found:\n\n{}\n\nThe access report: {}\n",
        lines.join("\n"),
        alerts::console_link(apps, "/access_report")
    );
    let recipients = alerts::recipients(apps, company_id).await?;
    let (mut ops, queued) = alerts::emails(apps, &recipients, &subject, &text)?;
    ops.push(done);
    match store.transact(ops).await {
        Ok(()) => {}
        // Another run sent it (or a finding made it due again meanwhile): nothing twice.
        Err(StoreError::TransactionCancelled { .. }) => return Ok(false),
        Err(e) => return Err(e.into()),
    }
    alerts::send(apps, &queued).await;
    // Marked after the email is written: a crash between mails them again tomorrow (twice,
    // never not at all). A finding changed meanwhile is due again.
    let mut again = false;
    for (item, finding) in news {
        again |= !mark(store, item, &fingerprint(&finding)).await?;
    }
    if again {
        alerts::digest_due(apps, company_id).await?;
    }
    tracing::info!(company_id, at = %now, "digest of findings sent");
    Ok(true)
}

/// Marks a finding mailed in the state `print`, read again when a sync wrote it meanwhile.
/// `false` when it changed since (then it is due again).
async fn mark(store: &dyn ItemStore, item: Item, print: &str) -> Result<bool> {
    let key = item.key.clone();
    let mut current = Some(item);
    for _ in 0..3 {
        // Resolved meanwhile: nothing is due.
        let Some(mut item) = current.take() else {
            return Ok(true);
        };
        if fingerprint(&item.record::<Finding>()?) != print {
            return Ok(false);
        }
        let version = item.version;
        item.data.insert(ALERTED.to_owned(), Value::from(print));
        match store.replace(item, version).await {
            Ok(_) => return Ok(true),
            Err(StoreError::ConditionFailed) => current = store.get(&key).await?,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(false)
}
