//! The "Create app accounts" task of a new hire: pick the connected apps, follow the
//! progress, and come back later to add apps.

use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use maud::html;
use prov_core::body::Unparsed;
use prov_core::team;
use prov_core::{Error, ErrorDetail};
use prov_processes::Apps;
use prov_processes::accounts;
use prov_processes::onboarding;
use prov_web::PathParam;
use serde_json::{Map, json};

use crate::answer::{Page, see_other};
use crate::form::{DoneQuery, Fields, checked};
use crate::session::Admin;
use crate::view::{self, badge, csrf_field, label_of, problems};

pub(crate) const ROUTES: &[(&str, &str)] = &[
    ("GET", "/console/team/{team_member_id}/onboarding"),
    ("POST", "/console/team/{team_member_id}/onboarding"),
];

pub(crate) fn routes() -> Router<Apps> {
    Router::new().route(
        "/console/team/{team_member_id}/onboarding",
        get(onboarding_page).post(run_onboarding),
    )
}

async fn onboarding_page(
    State(apps): State<Apps>,
    admin: Admin,
    PathParam(member_id): PathParam<String>,
    Query(q): Query<DoneQuery>,
) -> Page {
    render(&apps, &admin, &member_id, &q, &[], &Fields::new()).await
}

/// The task; with `setup` (or after a refusal) its app picker, keeping what was ticked.
async fn render(
    apps: &Apps,
    admin: &Admin,
    member_id: &str,
    q: &DoneQuery,
    refused: &[ErrorDetail],
    kept: &Fields,
) -> Page {
    let member = team::get(&apps.services, &admin.access, member_id).await?;
    let task = onboarding::view(apps, &admin.access, member_id).await?;
    // Apps where the person already has an account are shown, but cannot be picked.
    let has_account: Vec<&str> = accounts::member_apps(apps, &admin.access, member_id)
        .await?
        .into_iter()
        .filter(|i| {
            i.account
                .as_ref()
                .is_some_and(|a| a.present && a.status != "deleted")
        })
        .map(|i| i.app)
        .collect();
    let name_of = |slug: &str| apps.services.catalog.get(slug).map(|a| a.name).unwrap_or("");
    // Problems of one work email go next to its field; the rest above the list.
    let general: Vec<ErrorDetail> = refused
        .iter()
        .filter(|d| !d.error_key.starts_with("work_emails."))
        .cloned()
        .collect();
    let picking = task.blocked_reason.is_none() && (q.setup.is_some() || !refused.is_empty());
    let completed = task.status == "completed";
    let person = format!("/console/team/{member_id}");
    let body = html! {
        @if q.done.as_deref() == Some("onboarding") {
            @if task.status == "completed" {
                p.notice role="status" { "Accounts created. Each app emails " (member.first_name) " an invitation to sign in." }
            } @else {
                div.problems role="alert" { p { "Not every account was created: see each app's state below, then try again." } }
            }
        }
        p { "For " a href=(person) { (member.full_name()) } ". Status: " (badge(&label_of(task.status))) }
        @if let Some(why) = &task.blocked_reason { p.warning { (why) } }
        @if !task.items.is_empty() {
            h2 { "Progress" }
            div.table-wrap { table.cards-on-phone {
                thead { tr { th scope="col" { "App" } th scope="col" { "State" } th scope="col" { "Detail" } } }
                tbody {
                    @for item in &task.items {
                        tr {
                            td data-label="App" { (name_of(&item.app)) }
                            td data-label="State" { (badge(&label_of(&serde_json::to_value(item.state).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()))) }
                            td data-label="Detail" { @if let Some(e) = &item.error { (view::plain(&e.message)) } }
                        }
                    }
                }
            } }
        }
        @if task.blocked_reason.is_none() && !picking {
            p { a.button href={ (person) "/onboarding?setup=1" } { @if completed { "Add apps" } @else { "Start setup" } } }
        }
        @if picking {
            h2 { "Pick apps" }
            @if task.connected_apps.is_empty() {
                p { "No connected app can create accounts yet. " a href="/console/apps" { "Connect an app" } "." }
            } @else {
                form method="post" action={ (person) "/onboarding" } novalidate {
                    (csrf_field(admin))
                    fieldset aria-describedby=[(!general.is_empty()).then_some("apps-problem")] {
                        legend { "Check the box for each app " (member.first_name) " should have an account in" }
                        @if !general.is_empty() {
                            div id="apps-problem" { (problems(&general)) }
                        }
                        @for app in &task.connected_apps {
                            @let id = format!("app-{}", app.app);
                            @if has_account.contains(&app.app) {
                                label.check.disabled for=(id) {
                                    input id=(id) type="checkbox" name={ "app." (app.app) } value="on" disabled;
                                    (app.name) span.muted { " — already has an account" }
                                }
                            } @else {
                                label.check for=(id) {
                                    input id=(id) type="checkbox" name={ "app." (app.app) } value="on" checked[kept.contains_key(&format!("app.{}", app.app))];
                                    (app.name)
                                }
                                @if app.creates_work_email {
                                    @let field = format!("work_email.{}", app.app);
                                    @let key = format!("work_emails.{}", app.app);
                                    @let problem = refused.iter().find(|d| d.error_key == key);
                                    div.indented {
                                        label for=(field) { "New work email in " (app.name) " (needed if ticked)" }
                                        @if let Some(d) = problem {
                                            p.field-problem id={ (field) "-problem" } { (view::plain_with(&d.message, &[(key.as_str(), "The work email")])) }
                                        }
                                        input id=(field) name=(field) type="email" autocomplete="off" value=[kept.get(&field)]
                                            aria-invalid=[problem.map(|_| "true")]
                                            aria-describedby=[problem.map(|_| format!("{field}-problem"))];
                                    }
                                }
                            }
                        }
                    }
                    p.muted { "Each app emails " (member.first_name) " an invitation to sign in to their new account." }
                    div.actions {
                        button type="submit" { "Create accounts" }
                        a.button.secondary href=(person) { "Skip for now" }
                    }
                }
            }
            @if !task.available_apps.is_empty() {
                p.muted { "Also available once connected: " (task.available_apps.iter().map(|a| a.name).collect::<Vec<_>>().join(", ")) "." }
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
        view::page(admin, "/console/team", "Create app accounts", body),
    ))
}

async fn run_onboarding(
    State(apps): State<Apps>,
    admin: Admin,
    PathParam(member_id): PathParam<String>,
    form: Result<Form<Fields>, FormRejection>,
) -> Page {
    let fields = checked(&admin, form)?;
    let mut picked: Vec<&str> = fields.keys().filter_map(|k| k.strip_prefix("app.")).collect();
    picked.sort_unstable();
    // A work email is sent for a ticked mailbox app only (typed and then unticked, it is
    // not wanted).
    let work_emails: Map<String, serde_json::Value> = picked
        .iter()
        .filter_map(|slug| {
            let typed = fields.get(&format!("work_email.{slug}"))?.trim();
            (!typed.is_empty()).then(|| ((*slug).to_owned(), json!(typed)))
        })
        .collect();
    let mut body = Map::from_iter([("apps".to_owned(), json!(picked))]);
    if !work_emails.is_empty() {
        body.insert("work_emails".to_owned(), serde_json::Value::Object(work_emails));
    }
    let body = Unparsed::new(body);
    match onboarding::run(&apps, &admin.actor, &admin.access, &member_id, &body).await {
        Ok(_) => Ok(see_other(&format!(
            "/console/team/{member_id}/onboarding?done=onboarding"
        ))),
        Err(Error::Refused(details)) => {
            render(
                &apps,
                &admin,
                &member_id,
                &DoneQuery::default(),
                &details,
                &fields,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}
