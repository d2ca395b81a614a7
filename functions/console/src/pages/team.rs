//! People: the team list, a team member's page with their apps (create an account, the
//! account actions), and "Remove all accounts".

use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use maud::{Markup, html};
use prov_core::listing::ListQuery;
use prov_core::team;
use prov_core::{Error, ErrorDetail};
use prov_processes::Apps;
use prov_processes::accounts::{self, MemberApp};
use prov_web::PathParam;

use crate::answer::{Page, ok, see_other};
use crate::form::{CursorQuery, DoneQuery, Fields, back_to, checked};
use crate::pages::accounts::action_links;
use crate::session::Admin;
use crate::view::{
    self, RemovedAll, badge, csrf_field, done_text, label_of, member_status, notice, problems,
    removed_all_notice,
};

pub(crate) const ROUTES: &[(&str, &str)] = &[
    ("GET", "/console/team"),
    ("GET", "/console/team/{team_member_id}"),
    ("GET", "/console/team/{team_member_id}/apps/{app}/create"),
    ("POST", "/console/team/{team_member_id}/apps/{app}/create"),
    ("GET", "/console/team/{team_member_id}/remove_all"),
    ("POST", "/console/team/{team_member_id}/remove_all"),
];

pub(crate) fn routes() -> Router<Apps> {
    Router::new()
        .route("/console/team", get(team_page))
        .route("/console/team/{team_member_id}", get(member_page))
        .route(
            "/console/team/{team_member_id}/apps/{app}/create",
            get(create_form).post(create_account),
        )
        .route(
            "/console/team/{team_member_id}/remove_all",
            get(remove_all_form).post(remove_all),
        )
}

async fn team_page(State(apps): State<Apps>, admin: Admin, Query(q): Query<CursorQuery>) -> Page {
    let query = ListQuery {
        limit: Some("50".into()),
        cursor: q.cursor,
    };
    let listing = team::list(&apps.services, &admin.access, &query).await?;
    let now = apps.services.clock.now();
    ok(view::page(
        &admin,
        "/console/team",
        "People",
        html! {
            (crate::pages::people::tabs("/console/team"))
            @if listing.items.is_empty() { p.muted { "No team members yet." } }
            @else {
                div.table-wrap { table.cards-on-phone {
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Email" } th scope="col" { "Kind" } th scope="col" { "Status" } } }
                    tbody {
                        @for v in &listing.items {
                            tr {
                                td data-label="Name" { a href={ "/console/team/" (v.member.id) } { (v.member.full_name()) } }
                                td data-label="Email" { (v.member.email.as_deref().unwrap_or("—")) }
                                td data-label="Kind" { (label_of(&format!("{:?}", v.member.kind).to_lowercase())) }
                                td data-label="Status" { (member_status(&v.member, now)) }
                            }
                        }
                    }
                } }
                @if let Some(next) = &listing.next_cursor { p { a href={ "/console/team?cursor=" (next) } { "More people" } } }
            }
        },
    ))
}

/// The notice after an account was created, from the account as it is now: "Invite Sent"
/// only where the app really is waiting for the person to accept.
fn created_notice(items: &[MemberApp], app: Option<&str>, first_name: &str) -> Markup {
    let Some(item) = app.and_then(|slug| items.iter().find(|i| i.app == slug)) else {
        return html! {};
    };
    let status = item.account.as_ref().map(|a| a.status);
    html! {
        p.notice role="status" {
            @match status {
                Some("invite_sent") => { "Account created in " (item.name) ". " (item.name) " emailed " (first_name) " an invitation; it shows \"Invite Sent\" until they accept." }
                Some(_) => { "Account created in " (item.name) ": " (item.account.as_ref().map(|a| a.status_label).unwrap_or_default()) "." }
                None => { "Account created in " (item.name) "." }
            }
        }
    }
}

/// One app's status on a person's page: the account's, or that the app is no longer
/// connected (its accounts are then not managed here, whatever they were last seen as).
fn app_status(item: &MemberApp) -> Markup {
    html! {
        @if !item.connected {
            (badge("App disconnected"))
            " " a href={ "/console/apps/" (item.app) } aria-label={ "Connect again to " (item.name) } { "Connect again" }
        } @else if let Some(a) = &item.account {
            (badge(a.status_label))
        }
    }
}

async fn member_page(
    State(apps): State<Apps>,
    admin: Admin,
    PathParam(member_id): PathParam<String>,
    Query(q): Query<DoneQuery>,
    Query(removed): Query<RemovedAll>,
) -> Page {
    let member = team::get(&apps.services, &admin.access, &member_id).await?;
    let items = accounts::member_apps(&apps, &admin.access, &member_id).await?;
    let now = apps.services.clock.now();
    let back = format!("/console/team/{member_id}");
    let removable = items.iter().any(|i| {
        i.account
            .as_ref()
            .is_some_and(|a| a.present && a.status != "deleted" && a.managed)
    });
    let leaving =
        member.employment_status == team::EmploymentStatus::Dismissed && !view::access_ended(&member, now);
    let body = html! {
        @if q.done.as_deref() == Some("removed_all") {
            (removed_all_notice(&apps.services.catalog, &removed))
        }
        @if q.done.as_deref() == Some("created") {
            (created_notice(&items, q.app.as_deref(), &member.first_name))
        } @else {
            (notice(done_text(q.done.as_deref())))
        }
        p { (member.email.as_deref().unwrap_or("No email")) " · " strong { (member_status(&member, now)) } }
        nav aria-label="Tasks" {
            ul {
                li { a href={ (back) "/onboarding" } { "Create app accounts" } }
                li { a href={ (back) "/offboarding" } { "Remove app access" } }
                @if member.employment_status != team::EmploymentStatus::Dismissed {
                    li { a href={ (back) "/dismissal" } { "Dismiss" } }
                }
            }
        }
        @if leaving {
            @if let Some(last) = member.last_day {
                p.warning {
                    (member.first_name) " is leaving: their last day is " (view::day(last)) ". Their app access ends " (view::pacific(prov_core::schedule::removal_time(last))) ". "
                    a href={ (back) "/dismissal/cancel" } { "Cancel dismissal" }
                }
            }
        }
        h2 { "Apps" }
        @if let Some(why) = no_accounts_why(&member) { p.warning role="note" { (why) } }
        @if items.is_empty() { p.muted { "No accounts, and no connected apps to create one in." } }
        @else {
            div.table-wrap { table.cards-on-phone {
                thead { tr { th scope="col" { "App" } th scope="col" { "Account" } th scope="col" { "Status" } th scope="col" { "Actions" } } }
                tbody {
                    @for item in &items {
                        tr {
                            td data-label="App" { a href={ "/console/apps/" (item.app) } { (item.name) } }
                            td data-label="Account" { @if let Some(a) = &item.account { (a.email.as_deref().unwrap_or("—")) } @else { span.muted { "No account" } } }
                            td data-label="Status" { (app_status(item)) }
                            td data-label="Actions" {
                                @if let Some(a) = &item.account { (action_links(item.app, item.name, a, &back)) }
                                @if item.allowed_actions.contains(&"create") {
                                    a.button href={ (back) "/apps/" (item.app) "/create" } aria-label={ "Create account in " (item.name) } { "Create account" }
                                }
                            }
                        }
                    }
                }
            } }
        }
        @if removable {
            p { a.button.danger href={ (back) "/remove_all" } { "Remove all accounts" } }
        }
        @if view::access_ended(&member, now) {
            p { a.button.secondary href={ (back) "/rehire" } { "Rehire" } }
        }
    };
    ok(view::page(&admin, "/console/team", &member.full_name(), body))
}

/// Why no app account can be created for `member`, when none can: said where the
/// "Create account" buttons would be.
fn no_accounts_why(member: &team::TeamMember) -> Option<String> {
    if let Err(e) = team::eligibility(team::Subject::TeamMember(member)) {
        return e.details().and_then(|d| d.first()).map(|d| d.message.clone());
    }
    if member.email.is_none() {
        return Some(format!(
            "{} has no email, so no app account can be made for them: add one to their profile in payroll (or create their work email in Google Workspace or Microsoft 365 from \"Create app accounts\").",
            member.full_name()
        ));
    }
    None
}

#[derive(serde::Deserialize, Default)]
struct CreateQuery {
    back: Option<String>,
}

/// "Create account" asks first: the app emails the person an invitation (and a mailbox app
/// needs the new work address).
async fn create_form(
    State(apps): State<Apps>,
    admin: Admin,
    PathParam((member_id, slug)): PathParam<(String, String)>,
    Query(q): Query<CreateQuery>,
) -> Page {
    let fields = Fields::from_iter([("back".to_owned(), q.back.unwrap_or_default())]);
    render_create(&apps, &admin, &member_id, &slug, &fields, &[]).await
}

async fn render_create(
    apps: &Apps,
    admin: &Admin,
    member_id: &str,
    slug: &str,
    kept: &Fields,
    refused: &[ErrorDetail],
) -> Page {
    let member = team::get(&apps.services, &admin.access, member_id).await?;
    let app = *apps.services.catalog.get(slug)?;
    let back = back_to(kept, format!("/console/team/{member_id}"));
    let field_problem = |name: &str| {
        refused
            .iter()
            .filter(|d| d.error_key == name)
            .cloned()
            .collect::<Vec<_>>()
    };
    let work = field_problem("work_email");
    let other: Vec<ErrorDetail> = refused
        .iter()
        .filter(|d| d.error_key != "work_email")
        .cloned()
        .collect();
    let body = html! {
        (problems(&other))
        form method="post" action={ "/console/team/" (member_id) "/apps/" (slug) "/create" } novalidate {
            (csrf_field(admin))
            input type="hidden" name="back" value=(back);
            @if app.capabilities.work_email {
                p { (app.name) " creates a new mailbox for " (member.full_name()) ". Choose its address on one of your " (app.name) " domains; " (member.first_name) "'s current email"
                    @if let Some(e) = &member.email { " (" (e) ")" } " gets the sign-in details." }
                label for="work_email" { "Work email in " (app.name) }
                @if !work.is_empty() {
                    p.field-problem id="work_email-problem" { (view::plain_with(&work[0].message, &[("work_email", "The work email")])) }
                }
                input id="work_email" name="work_email" type="email" required autocomplete="off"
                    value=[kept.get("work_email")]
                    aria-invalid=[(!work.is_empty()).then_some("true")]
                    aria-describedby=[(!work.is_empty()).then_some("work_email-problem")]
                    autofocus[!work.is_empty()];
            } @else {
                p { (app.name) " will email " (member.full_name()) @if let Some(e) = &member.email { " (" (e) ")" } " an invitation to sign in to their new account." }
            }
            div.actions {
                button type="submit" { "Create account" }
                a.button.secondary href=(back) { "Cancel" }
            }
        }
    };
    let status = if refused.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(view::send(
        status,
        view::page(
            admin,
            "/console/team",
            &format!("Create {}'s {} account?", member.full_name(), app.name),
            body,
        ),
    ))
}

async fn create_account(
    State(apps): State<Apps>,
    admin: Admin,
    PathParam((member_id, slug)): PathParam<(String, String)>,
    form: Result<Form<Fields>, FormRejection>,
) -> Page {
    let fields = checked(&admin, form)?;
    let work_email = fields
        .get("work_email")
        .map(|v| v.trim())
        .filter(|v| !v.is_empty());
    let app = apps.services.catalog.get(&slug)?;
    if app.capabilities.work_email && work_email.is_none() {
        let missing = Error::invalid("work_email", format!("Enter the new work email in {}.", app.name));
        return render_create(
            &apps,
            &admin,
            &member_id,
            &slug,
            &fields,
            missing.details().unwrap_or_default(),
        )
        .await;
    }
    match accounts::create_account(&apps, &admin.actor, &admin.access, &slug, &member_id, work_email).await {
        Ok(_) => {
            let back = back_to(&fields, format!("/console/team/{member_id}"));
            Ok(see_other(&format!(
                "{back}?done=created&app={slug}&member={member_id}"
            )))
        }
        Err(Error::Refused(details)) => {
            render_create(&apps, &admin, &member_id, &slug, &fields, &details).await
        }
        Err(e) => Err(e.into()),
    }
}

fn removal_rows(removals: &[accounts::Removal], done: bool) -> Markup {
    html! {
        div.table-wrap { table.cards-on-phone {
            thead { tr { th scope="col" { "App" } th scope="col" { "Account" } th scope="col" { "What happens" } @if done { th scope="col" { "Result" } } } }
            tbody {
                @for r in removals {
                    tr {
                        td data-label="App" { (r.app_name) }
                        td data-label="Account" { (r.email.as_deref().unwrap_or("—")) }
                        td data-label="What happens" { @if r.action == "skip" { "Skipped: " (r.means) } @else { "Delete: " (r.means) } }
                        @if done {
                            td data-label="Result" {
                                (label_of(r.result.unwrap_or("")))
                                @if let Some(e) = &r.error { ": " (view::plain(&e.message)) }
                            }
                        }
                    }
                }
            }
        } }
    }
}

async fn remove_all_form(
    State(apps): State<Apps>,
    admin: Admin,
    PathParam(member_id): PathParam<String>,
    Query(q): Query<CreateQuery>,
) -> Page {
    let member = team::get(&apps.services, &admin.access, &member_id).await?;
    let plan = accounts::remove_all(&apps, &admin.actor, &admin.access, &member_id, true).await?;
    let deletes = plan.accounts.iter().filter(|r| r.action == "delete").count();
    let back = back_to(
        &Fields::from_iter([("back".to_owned(), q.back.unwrap_or_default())]),
        format!("/console/team/{member_id}"),
    );
    ok(view::page(
        &admin,
        "/console/team",
        &format!("Remove all of {}'s accounts?", member.full_name()),
        html! {
            @if plan.accounts.is_empty() { p { "There are no accounts to remove." } }
            @else {
                div.warning role="note" { p { strong { "This will delete " (deletes) " account" @if deletes != 1 { "s" } ", with their data:" } } }
                (removal_rows(&plan.accounts, false))
            }
            form method="post" action={ "/console/team/" (member_id) "/remove_all" } {
                (csrf_field(&admin))
                input type="hidden" name="back" value=(back);
                div.actions {
                    @if deletes > 0 { button type="submit" class="danger" { "Remove all accounts" } }
                    a.button.secondary href=(back) { "Cancel" }
                }
            }
        },
    ))
}

async fn remove_all(
    State(apps): State<Apps>,
    admin: Admin,
    PathParam(member_id): PathParam<String>,
    form: Result<Form<Fields>, FormRejection>,
) -> Page {
    let fields = checked(&admin, form)?;
    let back = back_to(&fields, format!("/console/team/{member_id}"));
    let report = accounts::remove_all(&apps, &admin.actor, &admin.access, &member_id, false).await?;
    // Post, redirect, get: a reload shows the outcome again rather than removing again.
    let apps_with = |result: &str| {
        report
            .accounts
            .iter()
            .filter(|r| r.result == Some(result))
            .map(|r| r.app.as_str())
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("done", "removed_all");
    query.append_pair("member", &member_id);
    for result in ["deleted", "failed", "skipped"] {
        query.append_pair(result, &apps_with(result));
    }
    Ok(see_other(&format!("{back}?{}", query.finish())))
}
