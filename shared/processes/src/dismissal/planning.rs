//! Planning: which of the person's matched accounts a dismissal removes, and how.

use std::collections::BTreeMap;

use prov_core::error::Result;
use serde::Serialize;

use super::records::{MAX_ATTEMPTS, Removal, Step, StepState};
use crate::accounts::{self};
use crate::connections::Apps;

/// One account the dismissal will act on (or acted on).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PlannedRemoval {
    pub app: String,
    pub app_name: String,
    pub account_id: String,
    pub email: Option<String>,
    pub action: Removal,
    /// What the action really does in this app.
    pub means: String,
    /// `pending`, `claimed`, `done`, `failed`, `skipped`, `paused`.
    pub state: &'static str,
    pub detail: Option<String>,
}

/// The person's live, matched accounts, with what the dismissal will do to each.
pub(super) async fn plan(
    apps: &Apps,
    company_id: &str,
    team_member_id: &str,
    choices: &BTreeMap<String, Removal>,
    two_step: bool,
) -> Result<Vec<Step>> {
    let mut steps = Vec::new();
    for app_view in accounts::apps_of_member(apps, company_id, team_member_id).await? {
        let Some(account) = app_view.account else { continue };
        if !account.present || account.status == "deleted" || account.matching_team_member().is_none() {
            continue;
        }
        let app = apps.services.catalog.get(app_view.app)?;
        let wanted = choices.get(app_view.app).copied().unwrap_or(if two_step {
            Removal::Suspend
        } else {
            Removal::Delete
        });
        // Suspend only where the app can; elsewhere access ends by removal.
        let removal = if wanted == Removal::Suspend && !app.capabilities.suspend {
            Removal::Delete
        } else {
            wanted
        };
        let mut attempts = 0;
        let state = if !app_view.connected {
            StepState::Skipped {
                reason: format!(
                    "{} is not connected: remove the account in the app itself.",
                    app.name
                ),
            }
        } else if let (false, Some(former)) = (account.tenant_connected, &account.tenant) {
            // An account of a tenant the app is no longer connected to: nothing here can
            // remove it, and no retry will.
            attempts = MAX_ATTEMPTS;
            let who = account.email.as_deref().unwrap_or(&account.id);
            StepState::Failed {
                reason: accounts::remove_yourself(app, who, former, None),
            }
        } else {
            StepState::Pending
        };
        steps.push(Step {
            app: app_view.app.to_owned(),
            account_id: account.id,
            email: account.email,
            removal,
            state,
            attempts,
            event: None,
            not_before: None,
            item_version: None,
        });
    }
    Ok(steps)
}

pub(super) fn describe(apps: &Apps, steps: &[Step]) -> Vec<PlannedRemoval> {
    steps
        .iter()
        .map(|s| {
            let app = apps.services.catalog.get(&s.app).ok();
            let (state, detail) = match &s.state {
                StepState::Pending => ("pending", None),
                StepState::Claimed { .. } => ("claimed", None),
                StepState::Done { verified, .. } => {
                    ("done", verified.map(|v| format!("verified: {}", v.as_str())))
                }
                StepState::Failed { reason } => ("failed", Some(reason.clone())),
                StepState::Skipped { reason } => ("skipped", Some(reason.clone())),
                StepState::Paused { reason } => ("paused", Some(reason.clone())),
            };
            PlannedRemoval {
                app: s.app.clone(),
                app_name: app.map(|a| a.name.to_owned()).unwrap_or_default(),
                account_id: s.account_id.clone(),
                email: s.email.clone(),
                action: s.removal,
                means: app
                    .map(|a| match s.removal {
                        Removal::Delete => a.remove_means.to_owned(),
                        Removal::Suspend => a.suspend_means.unwrap_or("Suspends the account.").to_owned(),
                    })
                    .unwrap_or_default(),
                state,
                detail,
            }
        })
        .collect()
}
