//! The onboarding checklist's "Create app accounts" task for a new hire: it can start once
//! the offer was accepted (when one was sent), lists the connected and available apps, and
//! creates the accounts the admin picks, with per-app progress.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use prov_core::access::Access;
use prov_core::audit::{self, Actor, Target};
use prov_core::body::{Body, Unparsed};
use prov_core::connections::{ConnectionState, summaries};
use prov_core::error::{Category, Error, ErrorDetail, Result};
use prov_core::store::{Item, query_all};
use prov_core::team::{self, EmploymentStatus, OfferStatus, Subject, TeamMember, eligibility};
use prov_core::validate::{Obj, Validator};
use prov_core::values;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::accounts::create_account;
use crate::connections::Apps;
use prov_core::keys::{ONBOARDING, TEAM_MEMBERS, company_partition, onboarding_key};
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
    /// A mailbox app (Google Workspace, Microsoft 365): it creates the new hire's work
    /// address, which the run names in `work_emails`.
    pub creates_work_email: bool,
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

/// Why the task cannot start for this person, if it cannot. A new hire without an email
/// can still get a work address in a connected mailbox app (`mailbox`), and then the rest.
fn blocked(member: &TeamMember, mailbox: bool) -> Option<String> {
    if member.offer_status == OfferStatus::Sent {
        return Some(format!(
            "{} has not accepted their offer yet; the task starts once they do.",
            member.full_name()
        ));
    }
    if let Err(e) = eligibility(Subject::TeamMember(member)) {
        return e.details().and_then(|d| d.first()).map(|d| d.message.clone());
    }
    if member.email.is_none() && !mailbox {
        return Some(format!(
            "Add an email to {}'s profile first (or connect Google Workspace or Microsoft 365 to create their work email).",
            member.full_name()
        ));
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
            creates_work_email: app.capabilities.work_email,
        };
        if connected.iter().any(|c| c == app.slug) {
            connected_apps.push(entry);
        } else if app.allowed_on(access.company().plan).is_ok() {
            available_apps.push(entry);
        }
    }
    let record = load(apps, company_id, team_member_id).await?.map(|(_, r)| r);
    let blocked_reason = blocked(&member, connected_apps.iter().any(|a| a.creates_work_email));
    let status = status_of(record.as_ref(), blocked_reason.is_some());
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

fn status_of(record: Option<&TaskRecord>, blocked: bool) -> &'static str {
    match record {
        Some(r) if r.completed_at.is_some() => "completed",
        Some(r) if r.items.iter().any(|i| i.state == ItemState::Failed) => "needs_attention",
        Some(_) => "in_progress",
        None if blocked => "blocked",
        None => "not_started",
    }
}

/// How long after being added, or after their start date, someone who never started the
/// task still counts as a new hire (and is listed in People → Onboarding).
pub const NEW_HIRE_DAYS: i64 = 30;

/// One person of People → Onboarding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenTask {
    pub team_member: TeamMember,
    /// As the task's `status`: `blocked`, `not_started`, `in_progress` or `needs_attention`.
    pub status: &'static str,
    pub blocked_reason: Option<String>,
}

/// Whoever has the "Create app accounts" task open: started and not finished, or not
/// started by a new hire (an offer out or accepted, or added or starting within
/// `NEW_HIRE_DAYS`). Dismissed people are not listed. One read of the team, the tasks and
/// the connections, whatever the team's size.
pub async fn open_tasks(apps: &Apps, access: &Access) -> Result<Vec<OpenTask>> {
    let company_id = access.company().id.as_str();
    let partition = company_partition(company_id);
    let mailbox = summaries(&apps.services, company_id).await?.iter().any(|c| {
        c.state == ConnectionState::Connected
            && apps
                .services
                .catalog
                .get(&c.app)
                .is_ok_and(|a| a.capabilities.work_email)
    });
    let mut tasks: BTreeMap<String, TaskRecord> = BTreeMap::new();
    for item in query_all(apps.services.store.as_ref(), &partition, ONBOARDING).await? {
        if let Some(id) = item.key.sk.strip_prefix(ONBOARDING) {
            tasks.insert(id.to_owned(), item.record()?);
        }
    }
    let now = apps.services.clock.now();
    let since = now - Duration::days(NEW_HIRE_DAYS);
    let mut open = Vec::new();
    for item in query_all(apps.services.store.as_ref(), &partition, TEAM_MEMBERS).await? {
        let member: TeamMember = item.record()?;
        if member.employment_status == EmploymentStatus::Dismissed {
            continue;
        }
        let record = tasks.get(&member.id);
        let blocked_reason = blocked(&member, mailbox);
        let status = status_of(record, blocked_reason.is_some());
        let new_hire = member.offer_status != OfferStatus::None
            || member.created_at >= since
            || member.start_date.is_some_and(|d| d >= since.date_naive());
        let listed = match status {
            "completed" => false,
            "in_progress" | "needs_attention" => true,
            _ => new_hire,
        };
        if listed {
            open.push(OpenTask {
                team_member: member,
                status,
                blocked_reason,
            });
        }
    }
    Ok(open)
}

/// `POST …/onboarding`: the connected apps to create the new hire's accounts in (at least
/// one: an empty pick would create nothing, so it is refused rather than completing the task).
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OnboardingRun {
    #[schema(min_items = 1, max_items = 50)]
    pub apps: Vec<String>,
    /// Per picked mailbox app (`creates_work_email`: Google Workspace, Microsoft 365): the
    /// new hire's work address there, on one of its domains (`GET …/apps/{app}/domains`).
    /// Required for those apps; it becomes the new hire's email, which the other apps'
    /// accounts are then made for.
    #[schema(value_type = Option<std::collections::BTreeMap<String, String>>, required = false)]
    pub work_emails: BTreeMap<String, String>,
}

/// Read against the task's connected apps; a repeated app counts once.
impl Body<&[TaskApp]> for OnboardingRun {
    fn parse(v: &mut Validator, root: &Obj<'_>, connected: &[TaskApp]) -> Option<Self> {
        v.only(root, &["apps", "work_emails"]);
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
        let work_emails = read_work_emails(v, root, connected, &picked);
        Some(OnboardingRun {
            apps: picked,
            work_emails,
        })
    }
}

/// `work_emails`: an address for each picked mailbox app, and for nothing else.
fn read_work_emails(
    v: &mut Validator,
    root: &Obj<'_>,
    connected: &[TaskApp],
    picked: &[String],
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let given = v.object(root, "work_emails", false);
    let names: Vec<String> = match root.get("work_emails") {
        Some(Value::Object(map)) => map.keys().cloned().collect(),
        _ => Vec::new(),
    };
    let mailbox = |slug: &str| connected.iter().find(|a| a.app == slug && a.creates_work_email);
    if let Some(given) = &given {
        for slug in &names {
            if !picked.contains(slug) || mailbox(slug).is_none() {
                v.error(
                    format!("work_emails.{slug}"),
                    format!("`work_emails.{slug}` must name a picked app that creates work emails."),
                );
                continue;
            }
            if let Some(email) = v.parsed(given, slug, true, values::email) {
                out.insert(slug.clone(), email);
            }
        }
    }
    for slug in picked {
        if let Some(app) = mailbox(slug)
            && !names.contains(slug)
        {
            v.error(
                format!("work_emails.{slug}"),
                format!(
                    "`work_emails.{slug}` is required: the new hire's work email in {}.",
                    app.name
                ),
            );
        }
    }
    out
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
    let before = view(apps, access, team_member_id).await?;
    if let Some(why) = before.blocked_reason {
        return Err(Error::refused("team_member", Category::NotEligible, why));
    }
    let OnboardingRun {
        apps: picked,
        work_emails,
    } = body.parse_for(before.connected_apps.as_slice())?;

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
    // Mailboxes first: the new work address becomes the person's email, which the other
    // apps' accounts are made for.
    let mut order: Vec<usize> = (0..record.items.len()).collect();
    order.sort_by_key(|&i| !work_emails.contains_key(&record.items[i].app));
    for i in order {
        if record.items[i].state != ItemState::Pending {
            continue;
        }
        let slug = record.items[i].app.clone();
        let work_email = work_emails.get(&slug).map(String::as_str);
        match create_account(apps, actor, access, &slug, team_member_id, work_email).await {
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
