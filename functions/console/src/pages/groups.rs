//! Google Workspace groups: the app's groups, and putting a person's account in one.

use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use maud::html;
use prov_core::{Error, ErrorDetail};
use prov_processes::Apps;
use prov_processes::accounts::{self, AccountQuery, AccountView};
use prov_web::PathParam;

use crate::answer::{Page, see_other};
use crate::form::{Fields, checked};
use crate::pages::accounts::{account_name, whole_team};
use crate::session::Admin;
use crate::view::{self, csrf_field, problems};

pub(crate) const ROUTES: &[(&str, &str)] = &[
    ("GET", "/console/apps/{app}/groups"),
    ("POST", "/console/apps/{app}/groups/{group_id}/members"),
];

pub(crate) fn routes() -> Router<Apps> {
    Router::new()
        .route("/console/apps/{app}/groups", get(groups_page))
        .route("/console/apps/{app}/groups/{group_id}/members", post(add_member))
}

#[derive(serde::Deserialize, Default)]
struct GroupsQuery {
    /// The group an account was just added to.
    added: Option<String>,
}

async fn groups_page(
    State(apps): State<Apps>,
    admin: Admin,
    PathParam(slug): PathParam<String>,
    Query(q): Query<GroupsQuery>,
) -> Page {
    render(&apps, &admin, &slug, q.added.as_deref(), None).await
}

/// The accounts that can join a group: matched to a team member, still in the app.
async fn member_accounts(apps: &Apps, admin: &Admin, slug: &str) -> Result<Vec<AccountView>, Error> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let query = AccountQuery {
            status: None,
            matching: Some("matched".into()),
            limit: Some("100".into()),
            cursor: cursor.take(),
        };
        let page = accounts::list_accounts(apps, &admin.access, slug, &query).await?;
        out.extend(
            page.items
                .into_iter()
                .filter(|a| a.managed && a.present && a.status != "deleted"),
        );
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(out),
        }
    }
}

/// The groups; a refusal of adding to `refused.0` is shown at that group's form.
async fn render(
    apps: &Apps,
    admin: &Admin,
    slug: &str,
    added: Option<&str>,
    refused: Option<(&str, &[ErrorDetail])>,
) -> Page {
    let app = *apps.services.catalog.get(slug)?;
    let groups = accounts::groups(apps, &admin.access, slug).await?;
    let members = member_accounts(apps, admin, slug).await?;
    let team = whole_team(apps, &admin.access).await?;
    let person = |a: &AccountView| {
        a.matching_team_member()
            .and_then(|id| team.iter().find(|m| m.id == id))
            .map(|m| m.full_name())
            .unwrap_or_else(|| account_name(a))
    };
    let added_name = added
        .and_then(|id| groups.iter().find(|g| g.id == id))
        .map(|g| g.name.clone());
    let body = html! {
        @if let Some(name) = &added_name { p.notice role="status" { "Added to " (name) "." } }
        p { "Put a team member's " (app.name) " account in one of your " (app.name) " groups. " a href={ "/console/apps/" (slug) "/accounts" } { "Back to the accounts" } }
        @if groups.is_empty() { p.muted { (app.name) " has no groups yet." } }
        @for g in &groups {
            section.group aria-labelledby={ "group-" (g.id) } {
                h2 id={ "group-" (g.id) } { (g.name) }
                @if let Some(email) = &g.email { p.muted { (email) } }
                @if members.is_empty() {
                    p.muted { "No team member has a matched " (app.name) " account yet." }
                } @else {
                    @let field = format!("account-{}", g.id);
                    form method="post" action={ "/console/apps/" (slug) "/groups/" (g.id) "/members" } {
                        (csrf_field(admin))
                        @if let Some((_, details)) = refused.filter(|(id, _)| *id == g.id) { (problems(details)) }
                        label for=(field) { "Team member to add to " (g.name) }
                        select id=(field) name="account_id" required {
                            option value="" { "Select a team member" }
                            @for a in &members {
                                option value=(a.id) { (person(a)) @if let Some(e) = &a.email { " · " (e) } }
                            }
                        }
                        p { button type="submit" class="secondary" { "Add to group" } }
                    }
                }
            }
        }
    };
    let status = refused
        .and_then(|(_, d)| d.first())
        .and_then(|d| StatusCode::from_u16(d.category.status()).ok())
        .unwrap_or(StatusCode::OK);
    Ok(view::send(
        status,
        view::page(admin, "/console/apps", &format!("{} groups", app.name), body),
    ))
}

async fn add_member(
    State(apps): State<Apps>,
    admin: Admin,
    PathParam((slug, group_id)): PathParam<(String, String)>,
    form: Result<Form<Fields>, FormRejection>,
) -> Page {
    let fields = checked(&admin, form)?;
    let account_id = fields.get("account_id").map(|v| v.trim()).unwrap_or_default();
    let result = if account_id.is_empty() {
        Err(Error::invalid("account_id", "Choose the team member to add."))
    } else {
        accounts::add_to_group(&apps, &admin.actor, &admin.access, &slug, &group_id, account_id).await
    };
    match result {
        Ok(_) => Ok(see_other(&format!(
            "/console/apps/{slug}/groups?added={}",
            url::form_urlencoded::byte_serialize(group_id.as_bytes()).collect::<String>()
        ))),
        Err(Error::Refused(details)) => render(&apps, &admin, &slug, None, Some((&group_id, &details))).await,
        Err(e) => Err(e.into()),
    }
}
