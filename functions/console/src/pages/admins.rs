//! Roles and permissions (the primary admin's): the company's admins, inviting one, and
//! granting or revoking "Manage apps" (the admin is told by email).

use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use maud::html;
use prov_core::access::Need;
use prov_core::admins::{self, AdminInvite, AdminView, PermissionsChange};
use prov_core::body::Unparsed;
use prov_core::company::{Permission, Role};
use prov_core::listing::ListQuery;
use prov_core::{Error, ErrorDetail};
use prov_processes::Apps;
use prov_web::PathParam;
use serde_json::{Map, Value, json};

use crate::answer::{Page, see_other};
use crate::form::{Fields, checked};
use crate::session::Admin;
use crate::view::{self, Field, badge, csrf_field, field, problems};

pub(crate) const ROUTES: &[(&str, &str)] = &[
    ("GET", "/console/admins"),
    ("POST", "/console/admins"),
    ("POST", "/console/admins/{admin_id}/permissions"),
];

pub(crate) fn routes() -> Router<Apps> {
    Router::new()
        .route("/console/admins", get(admins_page).post(invite))
        .route("/console/admins/{admin_id}/permissions", post(set_permissions))
}

#[derive(serde::Deserialize, Default)]
struct AdminsQuery {
    done: Option<String>,
    /// The admin a `done` is about.
    admin: Option<String>,
}

async fn every_admin(apps: &Apps, admin: &Admin) -> Result<Vec<AdminView>, Error> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let query = ListQuery {
            limit: Some("100".into()),
            cursor: cursor.take(),
        };
        let page = admins::list(&apps.services, &admin.access, &query).await?;
        out.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(out),
        }
    }
}

async fn admins_page(State(apps): State<Apps>, admin: Admin, Query(q): Query<AdminsQuery>) -> Page {
    render(&apps, &admin, &q, &[], &Fields::new()).await
}

async fn render(apps: &Apps, admin: &Admin, q: &AdminsQuery, refused: &[ErrorDetail], kept: &Fields) -> Page {
    admin.access_for(apps, Need::ManageAdmins).await?;
    let listed = every_admin(apps, admin).await?;
    let named = |id: Option<&str>| {
        listed
            .iter()
            .find(|a| Some(a.id.as_str()) == id)
            .map(|a| format!("{} {}", a.first_name, a.last_name))
            .unwrap_or_default()
    };
    let done = match q.done.as_deref() {
        Some("invited") => Some(format!(
            "{} was invited: they get an email to set up their access.",
            named(q.admin.as_deref())
        )),
        Some("granted") => Some(format!(
            "{} can now manage apps; they were told by email.",
            named(q.admin.as_deref())
        )),
        Some("revoked") => Some(format!(
            "{} can no longer manage apps; they were told by email.",
            named(q.admin.as_deref())
        )),
        _ => None,
    };
    let fields = [
        Field {
            name: "first_name",
            label: "First name",
            kind: "text",
            value: kept.get("first_name").map(String::as_str),
            required: true,
            autocomplete: "off",
        },
        Field {
            name: "last_name",
            label: "Last name",
            kind: "text",
            value: kept.get("last_name").map(String::as_str),
            required: true,
            autocomplete: "off",
        },
        Field {
            name: "email",
            label: "Email",
            kind: "email",
            value: kept.get("email").map(String::as_str),
            required: true,
            autocomplete: "off",
        },
    ];
    let first_problem = fields
        .iter()
        .position(|f| refused.iter().any(|d| d.error_key == f.name));
    let other: Vec<ErrorDetail> = refused
        .iter()
        .filter(|d| !fields.iter().any(|f| f.name == d.error_key))
        .cloned()
        .collect();
    let body = html! {
        @if let Some(text) = &done { p.notice role="status" { (text) } }
        p { "Admins who may manage apps can connect apps and create, suspend, delete and match accounts here. You, the primary admin, hold every permission." }
        div.table-wrap { table.cards-on-phone {
            thead { tr { th scope="col" { "Name" } th scope="col" { "Email" } th scope="col" { "Role" } th scope="col" { "Manage apps" } th scope="col" { "Actions" } } }
            tbody {
                @for a in &listed {
                    @let name = format!("{} {}", a.first_name, a.last_name);
                    @let manages = a.permissions.contains(&Permission::ManageApps);
                    tr {
                        td data-label="Name" { (name) @if !a.claimed { " " (badge("Invited")) } }
                        td data-label="Email" { (a.email) }
                        td data-label="Role" { @if a.role == Role::PrimaryAdmin { "Primary admin" } @else { "Admin" } }
                        td data-label="Manage apps" { @if manages { "Yes" } @else { "No" } }
                        td data-label="Actions" {
                            @if a.role != Role::PrimaryAdmin {
                                form.inline method="post" action={ "/console/admins/" (a.id) "/permissions" } {
                                    (csrf_field(admin))
                                    input type="hidden" name="manage_apps" value=(if manages { "false" } else { "true" });
                                    button type="submit" class="secondary" aria-label={ (if manages { "Revoke Manage apps from " } else { "Grant Manage apps to " }) (name) } {
                                        @if manages { "Revoke Manage apps" } @else { "Grant Manage apps" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        } }
        h2 id="invite" { "Invite an admin" }
        form method="post" action="/console/admins" novalidate {
            (csrf_field(admin))
            (problems(&other))
            @for (i, f) in fields.iter().enumerate() { (field(f, refused, first_problem == Some(i))) }
            label.check for="manage_apps" {
                input id="manage_apps" name="manage_apps" type="checkbox" value="true" checked[kept.get("manage_apps").is_some_and(|v| v == "true")];
                "Can manage apps"
            }
            p { button type="submit" { "Invite admin" } }
        }
    };
    let status = if refused.is_empty() {
        StatusCode::OK
    } else {
        refused
            .first()
            .and_then(|d| StatusCode::from_u16(d.category.status()).ok())
            .unwrap_or(StatusCode::UNPROCESSABLE_ENTITY)
    };
    Ok(view::send(
        status,
        view::page(admin, "/console/admins", "Roles and permissions", body),
    ))
}

fn permissions_of(fields: &Fields) -> Value {
    if fields.get("manage_apps").is_some_and(|v| v == "true") {
        json!(["manage_apps"])
    } else {
        json!([])
    }
}

async fn invite(State(apps): State<Apps>, admin: Admin, form: Result<Form<Fields>, FormRejection>) -> Page {
    let fields = checked(&admin, form)?;
    let access = admin.access_for(&apps, Need::ManageAdmins).await?;
    let mut body: Map<String, Value> = ["first_name", "last_name", "email"]
        .into_iter()
        .filter_map(|k| Some((k.to_owned(), json!(fields.get(k)?.trim()))))
        .collect();
    body.insert("permissions".into(), permissions_of(&fields));
    let invited = match Unparsed::<AdminInvite>::new(body).parse() {
        Ok(invite) => admins::invite(&apps.services, &admin.actor, &access, &invite).await,
        Err(e) => Err(e),
    };
    match invited {
        Ok(view) => Ok(see_other(&format!(
            "/console/admins?done=invited&admin={}",
            view.id
        ))),
        Err(Error::Refused(details)) => {
            render(&apps, &admin, &AdminsQuery::default(), &details, &fields).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn set_permissions(
    State(apps): State<Apps>,
    admin: Admin,
    PathParam(admin_id): PathParam<String>,
    form: Result<Form<Fields>, FormRejection>,
) -> Page {
    let fields = checked(&admin, form)?;
    let access = admin.access_for(&apps, Need::ManageAdmins).await?;
    let permissions = permissions_of(&fields);
    let granted = permissions != json!([]);
    let change =
        Unparsed::<PermissionsChange>::new(Map::from_iter([("permissions".to_owned(), permissions)]))
            .parse()?;
    admins::set_permissions(&apps.services, &admin.actor, &access, &admin_id, &change).await?;
    Ok(see_other(&format!(
        "/console/admins?done={}&admin={admin_id}",
        if granted { "granted" } else { "revoked" }
    )))
}
