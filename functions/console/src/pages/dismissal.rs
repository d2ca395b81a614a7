//! Dismissal (preview, then confirm), cancelling it, rehiring, and the "Remove app access"
//! task: per-app choices, the safeguard's confirmation, retries.

use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use maud::{Markup, html};
use prov_core::Error;
use prov_core::access::Need;
use prov_core::body::Unparsed;
use prov_core::team;
use prov_processes::Apps;
use prov_processes::dismissal;
use prov_web::PathParam;
use serde_json::{Map, Value, json};

use crate::answer::{Page, ok, see_other};
use crate::form::{DoneQuery, Fields, checked};
use crate::session::Admin;
use crate::view::{self, badge, button_form, csrf_field, done_text, label_of, notice, problems};

pub(crate) const ROUTES: &[(&str, &str)] = &[
    ("GET", "/console/team/{team_member_id}/dismissal"),
    ("POST", "/console/team/{team_member_id}/dismissal"),
    ("GET", "/console/team/{team_member_id}/dismissal/cancel"),
    ("POST", "/console/team/{team_member_id}/dismissal/cancel"),
    ("GET", "/console/team/{team_member_id}/rehire"),
    ("POST", "/console/team/{team_member_id}/rehire"),
    ("GET", "/console/team/{team_member_id}/offboarding"),
    ("POST", "/console/team/{team_member_id}/offboarding"),
];

pub(crate) fn routes() -> Router<Apps> {
    Router::new()
        .route(
            "/console/team/{team_member_id}/dismissal",
            get(dismissal_page).post(dismiss),
        )
        .route(
            "/console/team/{team_member_id}/dismissal/cancel",
            get(cancel_form).post(cancel_dismissal),
        )
        .route(
            "/console/team/{team_member_id}/rehire",
            get(rehire_form).post(rehire),
        )
        .route(
            "/console/team/{team_member_id}/offboarding",
            get(offboarding_page).post(update_offboarding),
        )
}

/// The dismissal form's body for the use case: the last day and per-app choices.
fn dismissal_body(fields: &Fields) -> Map<String, Value> {
    let mut body = Map::new();
    if let Some(day) = fields.get("last_day") {
        body.insert("last_day".into(), json!(day));
    }
    let removal: Map<String, Value> = fields
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("removal.")?.to_owned(), json!(v))))
        .filter(|(_, v)| v != "")
        .collect();
    if !removal.is_empty() {
        body.insert("removal".into(), Value::Object(removal));
    }
    body
}

fn plan_rows(plan: &[dismissal::PlannedRemoval]) -> Markup {
    html! {
        div.table-wrap { table.cards-on-phone {
            thead { tr { th scope="col" { "App" } th scope="col" { "Account" } th scope="col" { "Action" } th scope="col" { "What happens" } th scope="col" { "State" } } }
            tbody {
                @for p in plan {
                    tr {
                        td data-label="App" { (p.app_name) }
                        td data-label="Account" { (p.email.as_deref().unwrap_or("—")) }
                        td data-label="Action" { (match p.action { dismissal::Removal::Suspend => "Suspend", dismissal::Removal::Delete => "Delete" }) }
                        td data-label="What happens" { (p.means) }
                        td data-label="State" { (badge(&label_of(p.state))) @if let Some(d) = &p.detail { br; span.muted { (d) } } }
                    }
                }
            }
        } }
    }
}

async fn dismissal_page(
    State(apps): State<Apps>,
    admin: Admin,
    PathParam(member_id): PathParam<String>,
    Query(fields): Query<Fields>,
) -> Page {
    admin.access_for(&apps, Need::ManageTeam).await?;
    let member = team::get(&apps.services, &admin.access, &member_id).await?;
    let preview = match fields.get("last_day").filter(|d| !d.is_empty()) {
        Some(_) => {
            let body = Unparsed::new(dismissal_body(&fields));
            match dismissal::dismiss(&apps, &admin.actor, &admin.access, &member_id, &body, true).await {
                Ok(view) => Ok(Some(view)),
                Err(Error::Refused(details)) => Err(details),
                Err(e) => return Err(e.into()),
            }
        }
        None => Ok(None),
    };
    let day = fields.get("last_day").cloned().unwrap_or_default();
    let now = apps.services.clock.now();
    let body = html! {
        p { "Dismiss " a href={ "/console/team/" (member_id) } { (member.full_name()) } ". Access to every matched app account ends at 12:00 AM Pacific time the day after the last day; a past last day ends it at once." }
        @if let Err(details) = &preview { (problems(&details.iter().filter(|d| d.error_key != "last_day").cloned().collect::<Vec<_>>())) }
        form method="get" action={ "/console/team/" (member_id) "/dismissal" } novalidate {
            label for="last_day" { "Last day" }
            @let day_problem = preview.as_ref().err().and_then(|d| d.iter().find(|d| d.error_key == "last_day"));
            @if let Some(d) = day_problem {
                p.field-problem id="last_day-problem" { (view::plain_with(&d.message, &[("last_day", "The last day")])) }
            }
            input id="last_day" name="last_day" type="date" required value=(day)
                aria-invalid=[day_problem.map(|_| "true")]
                aria-describedby=[day_problem.map(|_| "last_day-problem")]
                autofocus[day_problem.is_some()];
            p { button type="submit" class="secondary" { "Preview" } }
        }
        @if let Ok(Some(view)) = &preview {
            h2 { "What will happen" }
            @if let Some(at) = view.removes_access_at {
                @if at <= now {
                    p { "The last day has passed: " strong { "app access is removed at once" } " when you confirm." }
                } @else {
                    p { "Access ends " strong { (view::pacific(at)) } "." }
                }
            }
            @let accounts = view.accounts.as_deref().unwrap_or_default();
            @if accounts.is_empty() { p { "No matched app accounts: nothing to remove." } }
            @else { (plan_rows(accounts)) }
            form method="post" action={ "/console/team/" (member_id) "/dismissal" } {
                (csrf_field(&admin))
                input type="hidden" name="last_day" value=(day);
                // Where the app can suspend, the choice is made before saving.
                @let suspendable: Vec<_> = accounts.iter().filter(|p| apps.services.catalog.get(&p.app).is_ok_and(|a| a.capabilities.suspend)).collect();
                @if !suspendable.is_empty() && admin.access.allows(Need::ManageApps) {
                    fieldset {
                        legend { "Suspend or delete" }
                        @for p in &suspendable {
                            @let id = format!("removal-{}", p.app);
                            label for=(id) { (p.app_name) }
                            select id=(id) name={ "removal." (p.app) } {
                                option value="delete" selected[p.action == dismissal::Removal::Delete] { "Delete (" (p.means.trim_end_matches('.')) ")" }
                                option value="suspend" selected[p.action == dismissal::Removal::Suspend] {
                                    "Suspend (" (apps.services.catalog.get(&p.app).ok().and_then(|a| a.suspend_means).unwrap_or("keeps the account and its data").trim_end_matches('.')) ")"
                                }
                            }
                        }
                    }
                }
                div.actions {
                    button type="submit" class="danger" { "Dismiss and remove app access" }
                    a.button.secondary href={ "/console/team/" (member_id) } { "Cancel" }
                }
            }
        }
    };
    let status = if preview.is_err() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(view::send(
        status,
        view::page(&admin, "/console/team", "Dismiss", body),
    ))
}

async fn dismiss(
    State(apps): State<Apps>,
    admin: Admin,
    PathParam(member_id): PathParam<String>,
    form: Result<Form<Fields>, FormRejection>,
) -> Page {
    let fields = checked(&admin, form)?;
    let access = admin.access_for(&apps, Need::ManageTeam).await?;
    let body = Unparsed::new(dismissal_body(&fields));
    dismissal::dismiss(&apps, &admin.actor, &access, &member_id, &body, false).await?;
    Ok(see_other(&format!(
        "/console/team/{member_id}/offboarding?done=dismissed"
    )))
}

/// "Cancel dismissal" asks first.
async fn cancel_form(
    State(apps): State<Apps>,
    admin: Admin,
    PathParam(member_id): PathParam<String>,
) -> Page {
    let member = team::get(&apps.services, &admin.access, &member_id).await?;
    confirm_page(
        &admin,
        &format!("Cancel {}'s dismissal?", member.full_name()),
        html! {
            p { (member.full_name()) " stays on the team" @if let Some(last) = member.last_day { " after " (view::day(last)) } ": no app access will be removed." }
        },
        &format!("/console/team/{member_id}/dismissal/cancel"),
        "Cancel dismissal",
        &format!("/console/team/{member_id}/offboarding"),
    )
}

/// "Rehire" asks first, and says what it does not undo.
async fn rehire_form(
    State(apps): State<Apps>,
    admin: Admin,
    PathParam(member_id): PathParam<String>,
) -> Page {
    let member = team::get(&apps.services, &admin.access, &member_id).await?;
    confirm_page(
        &admin,
        &format!("Rehire {}?", member.full_name()),
        html! {
            p { (member.full_name()) " is back on the team. Whatever removal was still to come is cancelled. Accounts already deleted stay deleted, and suspended ones stay suspended until you reactivate them; create new accounts from their page." }
        },
        &format!("/console/team/{member_id}/rehire"),
        "Rehire",
        &format!("/console/team/{member_id}"),
    )
}

/// A question with one button that posts to `action`, and a way back.
fn confirm_page(admin: &Admin, title: &str, what: Markup, action: &str, label: &str, back: &str) -> Page {
    ok(view::page(
        admin,
        "/console/team",
        title,
        html! {
            (what)
            div.actions {
                (button_form(admin, action, label, ""))
                a.button.secondary href=(back) { "Go back" }
            }
        },
    ))
}

async fn cancel_dismissal(
    State(apps): State<Apps>,
    admin: Admin,
    PathParam(member_id): PathParam<String>,
    form: Result<Form<Fields>, FormRejection>,
) -> Page {
    checked(&admin, form)?;
    let access = admin.access_for(&apps, Need::ManageTeam).await?;
    dismissal::cancel(&apps, &admin.actor, &access, &member_id).await?;
    Ok(see_other(&format!(
        "/console/team/{member_id}/offboarding?done=cancelled"
    )))
}

async fn rehire(
    State(apps): State<Apps>,
    admin: Admin,
    PathParam(member_id): PathParam<String>,
    form: Result<Form<Fields>, FormRejection>,
) -> Page {
    checked(&admin, form)?;
    let access = admin.access_for(&apps, Need::ManageTeam).await?;
    dismissal::rehire(&apps, &admin.actor, &access, &member_id).await?;
    Ok(see_other(&format!("/console/team/{member_id}?done=rehired")))
}

async fn offboarding_page(
    State(apps): State<Apps>,
    admin: Admin,
    PathParam(member_id): PathParam<String>,
    Query(q): Query<DoneQuery>,
) -> Page {
    let member = team::get(&apps.services, &admin.access, &member_id).await?;
    let task = dismissal::offboarding(&apps, &admin.access, &member_id).await?;
    let now = apps.services.clock.now();
    let body = html! {
        (notice(done_text(q.done.as_deref())))
        p { "For " a href={ "/console/team/" (member_id) } { (member.full_name()) } ". Status: " (badge(&label_of(task.status))) }
        @if task.status == "not_dismissed" {
            p { (member.full_name()) " is not dismissed. " a href={ "/console/team/" (member_id) "/dismissal" } { "Dismiss" } " to plan the removal of their app access." }
        }
        @if let Some(day) = task.last_day { p { "Last day: " (view::day(day)) "." } }
        @match (task.status, task.removes_access_at) {
            ("cancelled", _) => p { "The dismissal was cancelled: nothing will be removed." },
            ("completed", _) => p { "App access was removed." },
            ("scheduled", Some(at)) if at > now => p { "Access ends " (view::pacific(at)) "." },
            ("scheduled", Some(_)) => p { "The last day has passed: app access is being removed now." },
            _ => {},
        }
        @if let Some(problem) = &task.problem { p.warning { (problem) } }
        @let accounts = task.accounts.as_deref().unwrap_or_default();
        @if !accounts.is_empty() { (plan_rows(accounts)) }
        @if task.status == "scheduled" {
            @let suspendable: Vec<_> = accounts.iter().filter(|p| apps.services.catalog.get(&p.app).is_ok_and(|a| a.capabilities.suspend)).collect();
            @if !suspendable.is_empty() {
                h2 { "Suspend or delete" }
                form method="post" action={ "/console/team/" (member_id) "/offboarding" } {
                    (csrf_field(&admin))
                    @for p in &suspendable {
                        @let id = format!("removal-{}", p.app);
                        label for=(id) { (p.app_name) }
                        select id=(id) name={ "removal." (p.app) } {
                            option value="delete" selected[p.action == dismissal::Removal::Delete] { "Delete" }
                            option value="suspend" selected[p.action == dismissal::Removal::Suspend] { "Suspend" }
                        }
                    }
                    p { button type="submit" class="secondary" { "Save choices" } }
                }
            }
        }
        @if task.status == "scheduled" {
            p { a.button.secondary href={ "/console/team/" (member_id) "/dismissal/cancel" } { "Cancel dismissal" } }
        }
        @if task.status == "paused" {
            form method="post" action={ "/console/team/" (member_id) "/offboarding" } {
                (csrf_field(&admin))
                input type="hidden" name="confirm" value="true";
                p.warning { "Removals were paused because many accounts of one app would go at once. Confirm to go ahead." }
                button type="submit" class="danger" { "Confirm removals" }
            }
        }
        @if task.status == "needs_attention" {
            form method="post" action={ "/console/team/" (member_id) "/offboarding" } {
                (csrf_field(&admin))
                input type="hidden" name="retry" value="true";
                button type="submit" { "Retry failed removals" }
            }
        }
    };
    ok(view::page(&admin, "/console/team", "Remove app access", body))
}

async fn update_offboarding(
    State(apps): State<Apps>,
    admin: Admin,
    PathParam(member_id): PathParam<String>,
    form: Result<Form<Fields>, FormRejection>,
) -> Page {
    let fields = checked(&admin, form)?;
    let mut body = dismissal_body(&fields);
    body.remove("last_day");
    for flag in ["confirm", "retry"] {
        if fields.get(flag).is_some_and(|v| v == "true") {
            body.insert(flag.into(), json!(true));
        }
    }
    let body = Unparsed::new(body);
    dismissal::update_offboarding(&apps, &admin.actor, &admin.access, &member_id, &body).await?;
    Ok(see_other(&format!(
        "/console/team/{member_id}/offboarding?done=offboarding"
    )))
}
