//! The onboarding checklist's "Create app accounts" task for a new hire: it can start once
//! the offer was accepted (when one was sent), lists the connected and available apps, and
//! creates the accounts the admin picks, with per-app progress.

use chrono::{DateTime, Utc};
use prov_core::access::Access;
use prov_core::audit::{self, Actor, Target};
use prov_core::body::{Body, Unparsed};
use prov_core::connections::{ConnectionState, summaries};
use prov_core::error::{Category, Error, ErrorDetail, Result};
use prov_core::store::Item;
use prov_core::team::{self, EmploymentStatus, OfferStatus, Subject, TeamMember, eligibility};
use prov_core::validate::{Obj, Validator};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::accounts::create_account;
use crate::connections::Apps;
use prov_core::keys::onboarding_key;
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemState {
    Pending,
    Created,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TaskItem {
    pub app: String,
    pub state: ItemState,
    pub account_id: Option<String>,
    pub error: Option<ErrorDetail>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct TaskRecord {
    items: Vec<TaskItem>,
    started_at: DateTime<Utc>,
    completed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TaskApp {
    pub app: &'static str,
    pub name: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct OnboardingView {
    pub team_member_id: String,
    pub task: &'static str,
    pub title: &'static str,
    /// `blocked`, `not_started`, `in_progress`, `needs_attention` or `completed`.
    pub status: &'static str,
    pub blocked_reason: Option<String>,
    /// Connected apps the new hire can get an account in.
    pub connected_apps: Vec<TaskApp>,
    /// Apps the company could connect first.
    pub available_apps: Vec<TaskApp>,
    pub items: Vec<TaskItem>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
}

/// Why the task cannot start for this person, if it cannot.
fn blocked(member: &TeamMember) -> Option<String> {
    if member.offer_status == OfferStatus::Sent {
        return Some(format!(
            "{} has not accepted their offer yet; the task starts once they do.",
            member.full_name()
        ));
    }
    if let Err(e) = eligibility(Subject::TeamMember(member)) {
        return e.details().and_then(|d| d.first()).map(|d| d.message.clone());
    }
    if member.email.is_none() {
        return Some(format!("Add an email to {}'s profile first.", member.full_name()));
    }
    if member.employment_status == EmploymentStatus::Dismissed {
        return Some(format!("{} is dismissed.", member.full_name()));
    }
    None
}

async fn load(apps: &Apps, company_id: &str, team_member_id: &str) -> Result<Option<(u64, TaskRecord)>> {
    Ok(
        match apps
            .services
            .store
            .get(&onboarding_key(company_id, team_member_id))
            .await?
        {
            Some(item) => Some((item.version, item.record()?)),
            None => None,
        },
    )
}

pub async fn view(apps: &Apps, access: &Access, team_member_id: &str) -> Result<OnboardingView> {
    let company_id = access.company().id.as_str();
    let member = team::get(&apps.services, access, team_member_id).await?;
    let connected: Vec<String> = summaries(&apps.services, company_id)
        .await?
        .into_iter()
        .filter(|c| c.state == ConnectionState::Connected)
        .map(|c| c.app)
        .collect();
    let mut connected_apps = Vec::new();
    let mut available_apps = Vec::new();
    for app in apps.services.catalog.directory() {
        if !app.capabilities.create {
            continue;
        }
        let entry = TaskApp {
            app: app.slug,
            name: app.name,
        };
        if connected.iter().any(|c| c == app.slug) {
            connected_apps.push(entry);
        } else if app.allowed_on(access.company().plan).is_ok() {
            available_apps.push(entry);
        }
    }
    let record = load(apps, company_id, team_member_id).await?.map(|(_, r)| r);
    let blocked_reason = blocked(&member);
    let status = match (&record, &blocked_reason) {
        (Some(r), _) if r.completed_at.is_some() => "completed",
        (Some(r), _) if r.items.iter().any(|i| i.state == ItemState::Failed) => "needs_attention",
        (Some(_), _) => "in_progress",
        (None, Some(_)) => "blocked",
        (None, None) => "not_started",
    };
    Ok(OnboardingView {
        team_member_id: member.id,
        task: "create_app_accounts",
        title: "Create app accounts",
        status,
        blocked_reason,
        connected_apps,
        available_apps,
        started_at: record.as_ref().map(|r| r.started_at),
        completed_at: record.as_ref().and_then(|r| r.completed_at),
        items: record.map(|r| r.items).unwrap_or_default(),
    })
}

/// `POST …/onboarding`: the connected apps to create the new hire's accounts in (at least
/// one: an empty pick would create nothing, so it is refused rather than completing the task).
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OnboardingRun {
    #[schema(min_items = 1, max_items = 50)]
    pub apps: Vec<String>,
}

/// Read against the task's connected apps; a repeated app counts once.
impl Body<&[TaskApp]> for OnboardingRun {
    fn parse(v: &mut Validator, root: &Obj<'_>, connected: &[TaskApp]) -> Option<Self> {
        v.only(root, &["apps"]);
        if root.get("apps").is_none() {
            v.error("apps", "`apps` is required: the apps to create accounts in.");
        }
        let listed = v.array(root, "apps", 50).unwrap_or_default();
        if listed.is_empty() && root.get("apps").is_some_and(Value::is_array) {
            v.error("apps", "Pick at least one app to create an account in.");
        }
        let mut picked: Vec<String> = Vec::new();
        for (i, value) in listed.iter().enumerate() {
            match value.as_str() {
                Some(slug) if connected.iter().any(|a| a.app == slug) => {
                    if !picked.iter().any(|p| p == slug) {
                        picked.push(slug.to_owned());
                    }
                }
                _ => v.error(
                    format!("apps[{i}]"),
                    format!("`apps[{i}]` must be a connected app that can create accounts."),
                ),
            }
        }
        Some(OnboardingRun { apps: picked })
    }
}

/// Creates accounts in the picked apps (again for those that failed before).
pub async fn run(
    apps: &Apps,
    actor: &Actor,
    access: &Access,
    team_member_id: &str,
    body: &Unparsed<OnboardingRun>,
) -> Result<OnboardingView> {
    let company_id = access.company().id.as_str();
    let member = team::get(&apps.services, access, team_member_id).await?;
    if let Some(why) = blocked(&member) {
        return Err(Error::refused("team_member", Category::NotEligible, why));
    }
    let before = view(apps, access, team_member_id).await?;
    let OnboardingRun { apps: picked } = body.parse_for(before.connected_apps.as_slice())?;

    let now = apps.services.clock.now();
    let (version, mut record) = match load(apps, company_id, team_member_id).await? {
        Some((v, r)) => (Some(v), r),
        None => (
            None,
            TaskRecord {
                items: Vec::new(),
                started_at: now,
                completed_at: None,
            },
        ),
    };
    for slug in &picked {
        match record.items.iter_mut().find(|i| &i.app == slug) {
            Some(item) if item.state == ItemState::Created => {}
            Some(item) => {
                item.state = ItemState::Pending;
                item.error = None;
            }
            None => record.items.push(TaskItem {
                app: slug.clone(),
                state: ItemState::Pending,
                account_id: None,
                error: None,
            }),
        }
    }
    record.completed_at = None;
    let mut version = save(apps, company_id, team_member_id, &record, version).await?;
    for i in 0..record.items.len() {
        if record.items[i].state != ItemState::Pending {
            continue;
        }
        let slug = record.items[i].app.clone();
        match create_account(apps, actor, access, &slug, team_member_id, None).await {
            Ok(account) => {
                record.items[i].state = ItemState::Created;
                record.items[i].account_id = Some(account.id);
            }
            Err(Error::Refused(details)) => {
                record.items[i].state = ItemState::Failed;
                record.items[i].error = details.into_iter().next();
            }
            Err(e) => {
                record.items[i].state = ItemState::Failed;
                save(apps, company_id, team_member_id, &record, Some(version)).await?;
                return Err(e);
            }
        }
        version = save(apps, company_id, team_member_id, &record, Some(version)).await?;
    }
    if record.items.iter().all(|i| i.state == ItemState::Created) {
        record.completed_at = Some(apps.services.clock.now());
        save(apps, company_id, team_member_id, &record, Some(version)).await?;
        audit::succeeded(
            &apps.services,
            actor,
            company_id,
            "onboarding.completed",
            Target::new("team_member", team_member_id),
            Some(format!("accounts in {}", picked.join(", "))),
        )
        .await;
    }
    view(apps, access, team_member_id).await
}

async fn save(
    apps: &Apps,
    company_id: &str,
    team_member_id: &str,
    record: &TaskRecord,
    version: Option<u64>,
) -> Result<u64> {
    let item = Item::from_record(onboarding_key(company_id, team_member_id), record)?;
    let written = match version {
        Some(v) => apps.services.store.replace(item, v).await,
        None => apps.services.store.create(item).await,
    };
    written.map_err(|e| match e {
        prov_core::store::StoreError::ConditionFailed => Error::refused(
            "team_member",
            Category::Conflict,
            "The task is being worked on by another request; read it again.",
        ),
        other => other.into(),
    })
}
