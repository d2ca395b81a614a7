//! People: the team list, a team member's page with their apps (create an account, the
//! account actions), and "Remove all accounts".

use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Query, State};
use axum::routing::{get, post};
use maud::{Markup, html};
use prov_core::listing::ListQuery;
use prov_core::team;
use prov_processes::Apps;
use prov_processes::accounts;
use prov_web::PathParam;

use crate::answer::{Page, ok, see_other};
use crate::form::{CursorQuery, DoneQuery, Fields, checked};
use crate::pages::accounts::action_links;
use crate::session::Admin;
use crate::view::{self, badge, button_form, csrf_field, done_text, label_of, notice};

pub(crate) const ROUTES: &[(&str, &str)] = &[
    ("GET", "/console/team"),
    ("GET", "/console/team/{team_member_id}"),
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
            post(create_account),
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
    ok(view::page(
        &admin,
        "/console/team",
        "People",
        html! {
            @if listing.items.is_empty() { p.muted { "No team members yet." } }
            @else {
                div.table-wrap { table {
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Email" } th scope="col" { "Kind" } th scope="col" { "Status" } } }
                    tbody {
                        @for v in &listing.items {
                            tr {
                                td { a href={ "/console/team/" (v.member.id) } { (v.member.full_name()) } }
                                td { (v.member.email.as_deref().unwrap_or("—")) }
                                td { (label_of(&format!("{:?}", v.member.kind).to_lowercase())) }
                                td { (label_of(&format!("{:?}", v.member.employment_status).to_lowercase())) }
                            }
                        }
                    }
                } }
                @if let Some(next) = &listing.next_cursor { p { a href={ "/console/team?cursor=" (next) } { "More people" } } }
            }
        },
    ))
}

async fn member_page(
    State(apps): State<Apps>,
    admin: Admin,
    PathParam(member_id): PathParam<String>,
    Query(q): Query<DoneQuery>,
) -> Page {
    let member = team::get(&apps.services, &admin.access, &member_id).await?;
    let items = accounts::member_apps(&apps, &admin.access, &member_id).await?;
    let back = format!("/console/team/{member_id}");
    let removable = items.iter().any(|i| {
        i.account
            .as_ref()
            .is_some_and(|a| a.present && a.status != "deleted" && a.managed)
    });
    let body = html! {
        (notice(done_text(q.done.as_deref())))
        p { (member.email.as_deref().unwrap_or("No email")) " · " (label_of(&format!("{:?}", member.employment_status).to_lowercase()))
            @if let Some(day) = member.last_day { " · last day " (day) } }
        nav aria-label="Tasks" {
            ul {
                li { a href={ (back) "/onboarding" } { "Create app accounts" } }
                li { a href={ (back) "/offboarding" } { "Remove app access" } }
                li { a href={ (back) "/dismissal" } { "Dismiss" } }
            }
        }
        h2 { "Apps" }
        @if items.is_empty() { p.muted { "No accounts, and no connected apps to create one in." } }
        @else {
            div.table-wrap { table {
                thead { tr { th scope="col" { "App" } th scope="col" { "Account" } th scope="col" { "Status" } th scope="col" { "Actions" } } }
                tbody {
                    @for item in &items {
                        tr {
                            td { a href={ "/console/apps/" (item.app) } { (item.name) } }
                            td { @if let Some(a) = &item.account { (a.email.as_deref().unwrap_or("—")) } @else { span.muted { "No account" } } }
                            td {
                                @if let Some(a) = &item.account { (badge(a.status_label)) }
                                @if !item.connected { " " span.muted { "(not connected)" } }
                            }
                            td {
                                @if let Some(a) = &item.account { (action_links(item.app, a, &back)) }
                                @if item.allowed_actions.contains(&"create") {
                                    form.inline method="post" action={ (back) "/apps/" (item.app) "/create" } {
                                        (csrf_field(&admin))
                                        @if apps.services.catalog.get(item.app).is_ok_and(|a| a.capabilities.work_email) {
                                            @let id = format!("work-email-{}", item.app);
                                            label for=(id) { "Work email in " (item.name) }
                                            input id=(id) name="work_email" type="email" required;
                                        }
                                        button type="submit" aria-label={ "Create account in " (item.name) } { "Create account" }
                                    }
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
        @if member.employment_status == team::EmploymentStatus::Dismissed {
            (button_form(&admin, &format!("{back}/rehire"), "Rehire", "secondary"))
        }
    };
    ok(view::page(&admin, "/console/team", &member.full_name(), body))
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
    accounts::create_account(&apps, &admin.actor, &admin.access, &slug, &member_id, work_email).await?;
    Ok(see_other(&format!("/console/team/{member_id}?done=created")))
}

fn removal_rows(removals: &[accounts::Removal], done: bool) -> Markup {
    html! {
        div.table-wrap { table {
            thead { tr { th scope="col" { "App" } th scope="col" { "Account" } th scope="col" { "What happens" } @if done { th scope="col" { "Result" } } } }
            tbody {
                @for r in removals {
                    tr {
                        td { (r.app_name) }
                        td { (r.email.as_deref().unwrap_or("—")) }
                        td { @if r.action == "skip" { "Skipped: " } (r.means) }
                        @if done {
                            td {
                                (label_of(r.result.unwrap_or("")))
                                @if let Some(e) = &r.error { ": " (e.message) }
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
) -> Page {
    let member = team::get(&apps.services, &admin.access, &member_id).await?;
    let plan = accounts::remove_all(&apps, &admin.actor, &admin.access, &member_id, true).await?;
    let deletes = plan.accounts.iter().filter(|r| r.action == "delete").count();
    ok(view::page(
        &admin,
        "/console/team",
        &format!("Remove all of {}'s accounts?", member.full_name()),
        html! {
            @if plan.accounts.is_empty() { p { "There are no accounts to remove." } }
            @else {
                div.warning role="note" { p { strong { "This will remove " (deletes) " account" @if deletes != 1 { "s" } ":" } } }
                (removal_rows(&plan.accounts, false))
            }
            form method="post" action={ "/console/team/" (member_id) "/remove_all" } {
                (csrf_field(&admin))
                div.actions {
                    @if deletes > 0 { button type="submit" class="danger" { "Remove all accounts" } }
                    a.button.secondary href={ "/console/team/" (member_id) } { "Cancel" }
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
    checked(&admin, form)?;
    let member = team::get(&apps.services, &admin.access, &member_id).await?;
    let report = accounts::remove_all(&apps, &admin.actor, &admin.access, &member_id, false).await?;
    ok(view::page(
        &admin,
        "/console/team",
        &format!("{}'s accounts", member.full_name()),
        html! {
            p.notice role="status" { "Remove all accounts: done." }
            (removal_rows(&report.accounts, true))
            p { a href={ "/console/team/" (member_id) } { "Back to " (member.full_name()) } }
        },
    ))
}
