//! The "Create app accounts" task of a new hire: pick the connected apps, follow the
//! progress.

use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Query, State};
use axum::routing::get;
use maud::html;
use prov_core::body::Unparsed;
use prov_core::team;
use prov_processes::Apps;
use prov_processes::onboarding;
use prov_web::PathParam;
use serde_json::{Map, json};

use crate::answer::{Page, ok, see_other};
use crate::form::{DoneQuery, Fields, checked};
use crate::session::Admin;
use crate::view::{self, badge, csrf_field, done_text, label_of, notice};

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
    let member = team::get(&apps.services, &admin.access, &member_id).await?;
    let task = onboarding::view(&apps, &admin.access, &member_id).await?;
    let name_of = |slug: &str| apps.services.catalog.get(slug).map(|a| a.name).unwrap_or("");
    let body = html! {
        (notice(done_text(q.done.as_deref())))
        p { "For " a href={ "/console/team/" (member_id) } { (member.full_name()) } ". Status: " (badge(&label_of(task.status))) }
        @if let Some(why) = &task.blocked_reason { p.warning { (why) } }
        @if !task.items.is_empty() {
            h2 { "Progress" }
            div.table-wrap { table {
                thead { tr { th scope="col" { "App" } th scope="col" { "State" } th scope="col" { "Detail" } } }
                tbody {
                    @for item in &task.items {
                        tr {
                            td { (name_of(&item.app)) }
                            td { (badge(&label_of(&serde_json::to_value(item.state).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()))) }
                            td { @if let Some(e) = &item.error { (e.message) } }
                        }
                    }
                }
            } }
        }
        @if task.blocked_reason.is_none() && task.status != "completed" && q.setup.is_none() {
            p { a.button href={ "/console/team/" (member_id) "/onboarding?setup=1" } { "Start setup" } }
        }
        @if task.blocked_reason.is_none() && task.status != "completed" && q.setup.is_some() {
            h2 { "Pick apps" }
            @if task.connected_apps.is_empty() {
                p { "No connected app can create accounts yet. " a href="/console/apps" { "Connect an app" } "." }
            } @else {
                form method="post" action={ "/console/team/" (member_id) "/onboarding" } {
                    (csrf_field(&admin))
                    fieldset {
                        legend { "Pick the apps to create accounts in" }
                        @for app in &task.connected_apps {
                            @let id = format!("app-{}", app.app);
                            label.check for=(id) {
                                input id=(id) type="checkbox" name={ "app." (app.app) } value="on";
                                (app.name)
                            }
                        }
                    }
                    p { button type="submit" { "Create accounts" } }
                }
            }
            @if !task.available_apps.is_empty() {
                p.muted { "Also available once connected: " (task.available_apps.iter().map(|a| a.name).collect::<Vec<_>>().join(", ")) "." }
            }
        }
    };
    ok(view::page(&admin, "/console/team", "Create app accounts", body))
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
    let body = Unparsed::new(Map::from_iter([("apps".to_owned(), json!(picked))]));
    onboarding::run(&apps, &admin.actor, &admin.access, &member_id, &body).await?;
    Ok(see_other(&format!(
        "/console/team/{member_id}/onboarding?done=onboarding"
    )))
}
