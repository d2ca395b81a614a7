//! An app's accounts: sync, the accounts page with its filters, Match accounts, and each
//! account action behind a confirmation that shows what it will really do.

use std::collections::{BTreeMap, HashSet};

use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use maud::{Markup, html};
use prov_core::access::Access;
use prov_core::body::Unparsed;
use prov_core::catalog::App;
use prov_core::listing::ListQuery;
use prov_core::team::{self, EmploymentStatus, Subject, TeamMember, eligibility};
use prov_core::{Error, ErrorDetail};
use prov_processes::accounts::{self, AccountQuery, AccountView, Action, JobState, Matching, SyncJobView};
use prov_processes::connections::Apps;
use prov_web::PathParam;
use serde_json::{Map, Value, json};

use crate::answer::{Page, ok, see_other};
use crate::form::{Fields, back_to, checked};
use crate::session::Admin;
use crate::view::{
    self, RemovedAll, badge, button_form, csrf_field, done_text, notice, problems, removed_all_notice,
};

pub(crate) const ROUTES: &[(&str, &str)] = &[
    ("POST", "/console/apps/{app}/sync"),
    ("GET", "/console/apps/{app}/accounts"),
    ("POST", "/console/apps/{app}/matches"),
    ("GET", "/console/apps/{app}/accounts/{account_id}/{action}"),
    ("POST", "/console/apps/{app}/accounts/{account_id}/{action}"),
];

pub(crate) fn routes() -> Router<Apps> {
    Router::new()
        .route("/console/apps/{app}/sync", post(sync))
        .route("/console/apps/{app}/accounts", get(accounts_page))
        .route("/console/apps/{app}/matches", post(matches))
        .route(
            "/console/apps/{app}/accounts/{account_id}/{action}",
            get(action_form).post(action),
        )
}

async fn sync(
    State(apps): State<Apps>,
    admin: Admin,
    PathParam(slug): PathParam<String>,
    form: Result<Form<Fields>, FormRejection>,
) -> Page {
    checked(&admin, form)?;
    match accounts::start_sync(&apps, &admin.actor, &admin.access, &slug).await {
        Ok(_) => Ok(see_other(&format!("/console/apps/{slug}/accounts#sync-progress"))),
        // Not connected (or the app refused): said on the accounts page, in its frame.
        Err(Error::Refused(details)) => {
            render(
                &apps,
                &admin,
                &slug,
                &AccountsQuery::default(),
                &Refused::Page(details),
                None,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// The app's sync job: its progress while it runs (the block reloads itself every second
/// until the job is over), then what it found.
fn sync_progress(app: &str, job: Option<&SyncJobView>) -> Markup {
    let Some(job) = job else {
        return html! { div #sync-progress {} };
    };
    let c = &job.changes;
    html! {
        @match job.state {
            JobState::Queued | JobState::Running => {
                div #sync-progress role="status" hx-get="" hx-select="#sync-progress" hx-trigger="every 1s" hx-swap="outerHTML" {
                    p.notice {
                        "Syncing accounts from " (app) ": " (job.pages_read) " pages read, "
                        (job.accounts_seen) " accounts so far (" (c.created) " new, " (c.updated) " changed). "
                        a href="" { "Reload" } " to see them."
                    }
                    progress aria-label="Sync in progress" {}
                }
            }
            JobState::Succeeded => {
                div #sync-progress role="status" {
                    p.notice { "Synced " (c.total) " accounts from " (app) "; " (c.auto_matched) " matched automatically." }
                }
            }
            JobState::Failed => {
                div #sync-progress role="status" {
                    p.warning { "The last sync of " (app) " did not finish: " (job.errors.last().map(String::as_str).unwrap_or("")) }
                }
            }
        }
    }
}

/// Every team member of the company (the match choices), in the order added.
pub(crate) async fn whole_team(apps: &Apps, access: &Access) -> Result<Vec<TeamMember>, Error> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let query = ListQuery {
            limit: Some("100".into()),
            cursor: cursor.take(),
        };
        let page = team::list(&apps.services, access, &query).await?;
        out.extend(page.items.into_iter().map(|v| v.member));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(out),
        }
    }
}

pub(crate) fn account_name(a: &AccountView) -> String {
    match (&a.first_name, &a.last_name, &a.display_name) {
        (Some(f), Some(l), _) => format!("{f} {l}"),
        (_, _, Some(d)) => d.clone(),
        (Some(f), None, _) => f.clone(),
        _ => a.email.clone().unwrap_or_else(|| a.id.clone()),
    }
}

fn action_label(action: &str) -> &'static str {
    match action {
        "suspend" => "Suspend",
        "reactivate" => "Reactivate",
        "delete" => "Delete",
        "unmatch" => "Unmatch",
        _ => "",
    }
}

/// Links to the confirmation page of each action the account allows.
pub(crate) fn action_links(slug: &str, app_name: &str, a: &AccountView, back: &str) -> Markup {
    html! {
        @for action in a.allowed_actions.iter().filter(|x| !action_label(x).is_empty()) {
            a.button.(if *action == "delete" { "danger" } else { "secondary" }) href={ "/console/apps/" (slug) "/accounts/" (a.id) "/" (action) "?back=" (back) }
                aria-label={ (action_label(action)) " " (account_name(a)) "'s " (app_name) " account" } { (action_label(action)) }
            " "
        }
    }
}

#[derive(serde::Deserialize, Default)]
struct AccountsQuery {
    status: Option<String>,
    #[serde(rename = "match")]
    matching: Option<String>,
    cursor: Option<String>,
    done: Option<String>,
    matched: Option<u32>,
    /// The team member whose account was just created (`done=created`).
    member: Option<String>,
}

async fn accounts_page(
    State(apps): State<Apps>,
    admin: Admin,
    PathParam(slug): PathParam<String>,
    Query(q): Query<AccountsQuery>,
    Query(removed): Query<RemovedAll>,
) -> Page {
    let removed = (q.done.as_deref() == Some("removed_all")).then_some(removed);
    render(&apps, &admin, &slug, &q, &Refused::Nothing, removed.as_ref()).await
}

/// What a form on the accounts page had refused, shown where it belongs.
enum Refused {
    Nothing,
    /// About the page as a whole (a sync).
    Page(Vec<ErrorDetail>),
    /// About the Match accounts form (`match.<account>` for one row), with what was chosen.
    Matches(Vec<ErrorDetail>, Fields),
}

fn account_row(
    slug: &str,
    app_name: &str,
    a: &AccountView,
    back: &str,
    name_of: &dyn Fn(&str) -> String,
) -> Markup {
    html! {
        tr {
            td data-label="Account" { (account_name(a)) @if let Some(e) = &a.email { br; span.muted { (e) } } }
            td data-label="Status" {
                (badge(a.status_label))
                @if !a.present { " " span.muted { "(gone from the app)" } }
                @if !a.tenant_connected { " " (badge("Tenant no longer connected")) @if let Some(t) = &a.tenant { br; span.muted { "in " (t) } } }
            }
            td data-label="Team member" {
                @match &a.matching {
                    Matching::Matched { team_member_id, .. } => a href={ "/console/team/" (team_member_id) } { (name_of(team_member_id)) },
                    Matching::Unmatched => span.muted { "Unmatched" },
                    Matching::DoNotMatch => span { "Do not match" },
                }
            }
            td data-label="Actions" {
                (action_links(slug, app_name, a, back))
                @if let (true, Some(member)) = (a.managed && a.present && a.status != "deleted", a.matching_team_member()) {
                    a.button.danger href={ "/console/team/" (member) "/remove_all?back=" (back) }
                        aria-label={ "Remove all accounts of " (name_of(member)) } { "Remove all accounts" }
                }
            }
        }
    }
}

/// The accounts of `slug` matched to a team member (every page of them).
async fn matched_people(apps: &Apps, access: &Access, slug: &str) -> Result<HashSet<String>, Error> {
    let mut out = HashSet::new();
    let mut cursor = None;
    loop {
        let query = AccountQuery {
            status: None,
            matching: Some("matched".into()),
            limit: Some("100".into()),
            cursor: cursor.take(),
        };
        let page = accounts::list_accounts(apps, access, slug, &query).await?;
        for a in &page.items {
            if a.present
                && a.status != "deleted"
                && let Some(member) = a.matching_team_member()
            {
                out.insert(member.to_owned());
            }
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(out),
        }
    }
}

/// Why no account can be created here for `member`, when none can.
fn cannot_create(app: &App, member: &TeamMember) -> Option<String> {
    if let Err(e) = eligibility(Subject::TeamMember(member)) {
        return e.details().and_then(|d| d.first()).map(|d| d.message.clone());
    }
    if member.email.is_none() && !app.capabilities.work_email {
        return Some("No email on their profile: add one to create accounts.".to_owned());
    }
    None
}

/// The seed's "Create account" per team member: everyone not dismissed who has no account
/// here, with the button, or why it is missing.
fn without_account(app: &App, team: &[TeamMember], have: &HashSet<String>, back: &str) -> Markup {
    let missing: Vec<&TeamMember> = team
        .iter()
        .filter(|m| m.employment_status != EmploymentStatus::Dismissed && !have.contains(&m.id))
        .collect();
    html! {
        h2 { "Team members without an account" }
        @if missing.is_empty() { p.muted { "Everyone on the team has an account in " (app.name) "." } }
        @else {
            div.table-wrap { table.cards-on-phone {
                thead { tr { th scope="col" { "Team member" } th scope="col" { "Email" } th scope="col" { "Actions" } } }
                tbody {
                    @for m in missing {
                        tr {
                            td data-label="Team member" { a href={ "/console/team/" (m.id) } { (m.full_name()) } }
                            td data-label="Email" { (m.email.as_deref().unwrap_or("—")) }
                            td data-label="Actions" {
                                @match cannot_create(app, m) {
                                    Some(why) => {
                                        span.muted { (why) }
                                        @if m.email.is_none() { " " a href={ "/console/team/" (m.id) } { "Open their profile" } }
                                    }
                                    None => a.button href={ "/console/team/" (m.id) "/apps/" (app.slug) "/create?back=" (back) }
                                        aria-label={ "Create account for " (m.full_name()) " in " (app.name) } { "Create account" },
                                }
                            }
                        }
                    }
                }
            } }
        }
    }
}

fn accounts_table(
    slug: &str,
    app_name: &str,
    rows: &[&AccountView],
    back: &str,
    name_of: &dyn Fn(&str) -> String,
) -> Markup {
    html! {
        div.table-wrap { table.cards-on-phone {
            thead { tr { th scope="col" { "Account" } th scope="col" { "Status" } th scope="col" { "Team member" } th scope="col" { "Actions" } } }
            tbody { @for a in rows { (account_row(slug, app_name, a, back, name_of)) } }
        } }
    }
}

async fn render(
    apps: &Apps,
    admin: &Admin,
    slug: &str,
    q: &AccountsQuery,
    refused: &Refused,
    removed: Option<&RemovedAll>,
) -> Page {
    let app = *apps.services.catalog.get(slug)?;
    let query = AccountQuery {
        status: q.status.clone().filter(|s| !s.is_empty()),
        matching: q.matching.clone().filter(|s| !s.is_empty()),
        limit: Some("100".into()),
        cursor: q.cursor.clone(),
    };
    let listing = accounts::list_accounts(apps, &admin.access, slug, &query).await?;
    let connected = accounts::reach(apps, admin.company_id(), slug).await?.connected;
    let creates_here =
        connected && app.capabilities.create && app.allowed_on(admin.access.company().plan).is_ok();
    let have = matched_people(apps, &admin.access, slug).await?;
    let team = whole_team(apps, &admin.access).await?;
    let name_of = |id: &str| {
        team.iter()
            .find(|m| m.id == id)
            .map(|m| m.full_name())
            .unwrap_or_else(|| id.to_owned())
    };
    // Match accounts lists the accounts still to decide: "Do not match" ones leave it.
    let to_match: Vec<&AccountView> = listing
        .items
        .iter()
        .filter(|a| a.present && a.status != "deleted" && a.matching == Matching::Unmatched)
        .collect();
    // Only people an account can be matched to: on the team, served by provisioning, and
    // without an account here already.
    let eligible: Vec<&TeamMember> = team
        .iter()
        .filter(|m| {
            m.employment_status != EmploymentStatus::Dismissed
                && eligibility(Subject::TeamMember(m)).is_ok()
                && !have.contains(&m.id)
        })
        .collect();
    let kept = match refused {
        Refused::Matches(_, fields) => Some(fields),
        _ => None,
    };
    // The summary counts the accounts the app has now in the connected tenant: the main
    // table lists exactly those; former accounts and another tenant's are listed apart.
    let live = |a: &AccountView| a.present && a.status != "deleted";
    let current: Vec<&AccountView> = listing
        .items
        .iter()
        .filter(|a| live(a) && a.tenant_connected)
        .collect();
    let former: Vec<&AccountView> = listing.items.iter().filter(|a| !live(a)).collect();
    let elsewhere: Vec<&AccountView> = listing
        .items
        .iter()
        .filter(|a| live(a) && !a.tenant_connected)
        .collect();
    let job = accounts::sync_status(apps, &admin.access, slug).await.ok();
    let back = format!("/console/apps/{slug}/accounts");
    let s = &listing.summary;
    let (page_problems, match_problems) = match refused {
        Refused::Nothing => (&[][..], &[][..]),
        Refused::Page(d) => (d.as_slice(), &[][..]),
        Refused::Matches(d, _) => (&[][..], d.as_slice()),
    };
    let body = html! {
        @if let (Some("created"), Some(member)) = (q.done.as_deref(), &q.member) {
            @if let Some(a) = listing.items.iter().find(|a| a.matching_team_member() == Some(member.as_str()) && live(a)) {
                p.notice role="status" {
                    "Account created in " (app.name) " for " (name_of(member)) ": " (a.status_label) "."
                    @if a.status == "invite_sent" { " " (app.name) " emailed them an invitation; it shows \"Invite Sent\" until they accept." }
                }
            }
        }
        @if let Some(removed) = removed { (removed_all_notice(&apps.services.catalog, removed)) }
        (notice(done_text(q.done.as_deref())))
        (problems(page_problems))
        (sync_progress(app.name, job.as_ref()))
        @if let Some(n) = q.matched { p.notice role="status" { (n) " matches saved." } }
        p id="summary" { (s.present) " accounts in " (app.name) ": " (s.matched) " matched, " (s.unmatched) " unmatched, " (s.do_not_match) " do not match; " (s.invite_sent) " Invite Sent; " (s.seats) " seats." }
        @if s.tenant_not_connected > 0 {
            p.warning role="note" {
                (s.tenant_not_connected) " accounts belong to a " (app.tenant) " no longer connected: they are not managed from here. Remove them in that " (app.tenant) " yourself."
            }
        }
        div.actions {
            @if connected {
                (button_form(admin, &format!("/console/apps/{slug}/sync"), "Sync accounts", "secondary"))
            } @else {
                p.warning { (app.name) " is not connected: its accounts are not managed from here. " a href={ "/console/apps/" (slug) } { "Connect " (app.name) } }
            }
            a.button.secondary href={ "/console/apps/" (slug) } { "About " (app.name) }
        }
        form method="get" action=(back) {
            fieldset {
                legend { "Filter" }
                label for="status" { "Status" }
                select id="status" name="status" {
                    option value="" { "Any" }
                    @for (v, l) in [("invite_sent", "Invite Sent"), ("connected", "Connected"), ("suspended", "Suspended"), ("deleted", "Deleted")] {
                        option value=(v) selected[q.status.as_deref() == Some(v)] { (l) }
                    }
                }
                label for="match" { "Match" }
                select id="match" name="match" {
                    option value="" { "Any" }
                    @for (v, l) in [("matched", "Matched"), ("unmatched", "Unmatched"), ("do_not_match", "Do not match")] {
                        option value=(v) selected[q.matching.as_deref() == Some(v)] { (l) }
                    }
                }
                p { button type="submit" class="secondary" { "Filter" } }
            }
        }
        @if !to_match.is_empty() {
            h2 id="match-accounts" { "Match accounts" }
            p { "Choose the team member each account belongs to, or \"Do not match\" for bots and shared accounts. Save them all at once." }
            form method="post" action={ "/console/apps/" (slug) "/matches" } {
                (csrf_field(admin))
                @let general: Vec<ErrorDetail> = match_problems.iter().filter(|d| d.error_key == "matches").cloned().collect();
                @if !general.is_empty() {
                    div id="matches-problem" { (problems(&general)) }
                } @else if !match_problems.is_empty() {
                    div.problems role="alert" { p { "Some matches were not saved: see the accounts marked below." } }
                }
                div.table-wrap { table.cards-on-phone {
                    thead { tr { th scope="col" { "Account in " (app.name) } th scope="col" { "Team member" } } }
                    tbody {
                        @for a in &to_match {
                            @let field = format!("match.{}", a.id);
                            tr {
                                td data-label={ "Account in " (app.name) } {
                                    label for=(field) { (account_name(a)) }
                                    @if let Some(e) = &a.email { span.muted { (e) } }
                                }
                                td data-label="Team member" {
                                    @let row_problem = match_problems.iter().find(|d| d.error_key == field);
                                    @let suggested: Vec<_> = a.suggestions.iter().filter(|s| eligible.iter().any(|m| m.id == s.team_member_id)).collect();
                                    // After a refusal the choice made stays; otherwise the best suggestion is
                                    // chosen already, so one press of "Save matches" finishes.
                                    @let chosen = match kept {
                                        Some(fields) => fields.get(&field).cloned().unwrap_or_default(),
                                        None => suggested.first().map(|s| s.team_member_id.clone()).unwrap_or_default(),
                                    };
                                    @if let Some(d) = row_problem {
                                        p.field-problem id={ (field) "-problem" } { (d.message) }
                                    }
                                    select id=(field) name=(field)
                                        aria-invalid=[row_problem.map(|_| "true")]
                                        aria-describedby=[row_problem.map(|_| format!("{field}-problem")).or_else(|| match_problems.iter().any(|d| d.error_key == "matches").then(|| "matches-problem".to_owned()))] {
                                        option value="" { "Select an option" }
                                        @for sug in &suggested {
                                            option value=(sug.team_member_id) selected[chosen == sug.team_member_id] { (name_of(&sug.team_member_id)) " (suggested: " (sug.reason) ")" }
                                        }
                                        @for m in eligible.iter().filter(|m| !suggested.iter().any(|s| s.team_member_id == m.id)) {
                                            option value=(m.id) selected[chosen == m.id] { (m.full_name()) @if let Some(e) = &m.email { " · " (e) } }
                                        }
                                        option value="do_not_match" selected[chosen == "do_not_match"] { "Do not match" }
                                    }
                                }
                            }
                        }
                    }
                } }
                p { button type="submit" { "Save matches" } }
            }
        }
        h2 { "Accounts" }
        @if current.is_empty() { p.muted { "No accounts" @if connected { ". Sync to read them from " (app.name) } "." } }
        @else { (accounts_table(slug, app.name, &current, &back, &name_of)) }
        @if creates_here { (without_account(&app, &team, &have, &back)) }
        @if !elsewhere.is_empty() {
            h2 { "In a " (app.tenant) " no longer connected" }
            (accounts_table(slug, app.name, &elsewhere, &back, &name_of))
        }
        @if !former.is_empty() {
            h2 { "Deleted or gone from " (app.name) }
            p.muted { "Accounts " (app.name) " no longer has, kept for the record; they are not counted above." }
            (accounts_table(slug, app.name, &former, &back, &name_of))
        }
        @if let Some(next) = &listing.next_cursor {
            p { a href={ (back) "?cursor=" (next) } { "More accounts" } }
        }
    };
    let status = match refused {
        Refused::Nothing => StatusCode::OK,
        Refused::Page(d) | Refused::Matches(d, _) => d
            .first()
            .and_then(|d| StatusCode::from_u16(d.category.status()).ok())
            .unwrap_or(StatusCode::UNPROCESSABLE_ENTITY),
    };
    Ok(view::send(
        status,
        view::page(admin, "/console/apps", &format!("{} accounts", app.name), body),
    ))
}

async fn matches(
    State(apps): State<Apps>,
    admin: Admin,
    PathParam(slug): PathParam<String>,
    form: Result<Form<Fields>, FormRejection>,
) -> Page {
    let fields = checked(&admin, form)?;
    let mut chosen: BTreeMap<&str, &str> = BTreeMap::new();
    for (name, value) in &fields {
        if let Some(account_id) = name.strip_prefix("match.")
            && !value.is_empty()
        {
            chosen.insert(account_id, value);
        }
    }
    if chosen.is_empty() {
        let nothing = vec![ErrorDetail::new(
            "matches",
            prov_core::Category::InvalidAttributeValue,
            "Choose a team member (or \"Do not match\") for at least one account, then save.",
        )];
        return render(
            &apps,
            &admin,
            &slug,
            &AccountsQuery::default(),
            &Refused::Matches(nothing, fields.clone()),
            None,
        )
        .await;
    }
    let items: Vec<Value> = chosen
        .iter()
        .map(|(account_id, value)| {
            if *value == "do_not_match" {
                json!({"account_id": account_id, "do_not_match": true})
            } else {
                json!({"account_id": account_id, "team_member_id": value})
            }
        })
        .collect();
    let body = Unparsed::new(Map::from_iter([("matches".to_owned(), Value::Array(items))]));
    let results = accounts::submit_matches(&apps, &admin.actor, &admin.access, &slug, &body).await?;
    let saved = results.iter().filter(|r| r.error.is_none()).count();
    // Each refusal goes to its account's row, naming the person chosen (never an id).
    let team = whole_team(&apps, &admin.access).await?;
    let refused: Vec<ErrorDetail> = results
        .iter()
        .filter_map(|r| {
            let e = r.error.as_ref()?;
            let chosen = chosen.get(r.account_id.as_str()).copied().unwrap_or_default();
            let person = team
                .iter()
                .find(|m| m.id == chosen)
                .map_or_else(|| "this account".to_owned(), |m| m.full_name());
            let message = view::plain(&e.message).replace("This team member", &person);
            Some(ErrorDetail::new(
                format!("match.{}", r.account_id),
                e.category,
                format!("Not saved for {person}: {message}"),
            ))
        })
        .collect();
    if refused.is_empty() {
        return Ok(see_other(&format!(
            "/console/apps/{slug}/accounts?matched={saved}"
        )));
    }
    let q = AccountsQuery {
        matched: Some(saved as u32),
        ..AccountsQuery::default()
    };
    render(
        &apps,
        &admin,
        &slug,
        &q,
        &Refused::Matches(refused, fields.clone()),
        None,
    )
    .await
}

fn parse_action(action: &str) -> Result<Action, Error> {
    Ok(match action {
        "suspend" => Action::Suspend,
        "reactivate" => Action::Reactivate,
        "delete" => Action::Delete,
        "unmatch" => Action::Unmatch,
        _ => return Err(Error::not_found("action")),
    })
}

#[derive(serde::Deserialize, Default)]
struct BackQuery {
    back: Option<String>,
}

async fn action_form(
    State(apps): State<Apps>,
    admin: Admin,
    PathParam((slug, account_id, action)): PathParam<(String, String, String)>,
    Query(q): Query<BackQuery>,
) -> Page {
    let parsed = parse_action(&action)?;
    let app = *apps.services.catalog.get(&slug)?;
    let (_, account) = accounts::load(&apps, admin.company_id(), &slug, &account_id).await?;
    let reach = accounts::reach(&apps, admin.company_id(), &slug).await?;
    let view_ = AccountView::of(&app, account, &reach);
    let back = back_to(
        &Fields::from_iter([("back".to_owned(), q.back.unwrap_or_default())]),
        format!("/console/apps/{slug}/accounts"),
    );
    // The API's dry run: what will happen, or why it cannot.
    let plan = match accounts::plan_action(&apps, &admin.access, &slug, &account_id, parsed).await {
        Ok(plan) => Ok(plan.means),
        Err(Error::Refused(details)) => {
            Err(details.into_iter().next().map(|d| d.message).unwrap_or_default())
        }
        Err(e) => return Err(e.into()),
    };
    let title = format!(
        "{} {}'s {} account?",
        action_label(&action),
        account_name(&view_),
        app.name
    );
    ok(view::page(
        &admin,
        "/console/apps",
        &title,
        html! {
            p { "Account: " (account_name(&view_)) @if let Some(e) = &view_.email { " (" (e) ")" } " · " (badge(view_.status_label)) }
            @if let Ok(means) = &plan {
                div.warning role="note" { p { strong { "What " (action_label(&action)) " does in " (app.name) ": " } (means) } }
                form method="post" action={ "/console/apps/" (slug) "/accounts/" (account_id) "/" (action) } {
                    (csrf_field(&admin))
                    input type="hidden" name="back" value=(back);
                    div.actions {
                        button type="submit" class=(if parsed == Action::Delete { "danger" } else { "" }) { (action_label(&action)) }
                        a.button.secondary href=(back) { "Cancel" }
                    }
                }
            } @else {
                p.warning { (action_label(&action)) " is not possible for this account now"
                    @if let Err(why) = &plan { @if !why.is_empty() { ": " (why.trim_end_matches('.')) } } "." }
                p { a href=(back) { "Back" } }
            }
        },
    ))
}

async fn action(
    State(apps): State<Apps>,
    admin: Admin,
    PathParam((slug, account_id, action)): PathParam<(String, String, String)>,
    form: Result<Form<Fields>, FormRejection>,
) -> Page {
    let fields = checked(&admin, form)?;
    let parsed = parse_action(&action)?;
    accounts::act(&apps, &admin.actor, &admin.access, &slug, &account_id, parsed).await?;
    let done = match parsed {
        Action::Suspend => "suspended",
        Action::Reactivate => "reactivated",
        Action::Delete => "deleted",
        Action::Unmatch => "unmatched",
    };
    let back = back_to(&fields, format!("/console/apps/{slug}/accounts"));
    Ok(see_other(&format!("{back}?done={done}")))
}
