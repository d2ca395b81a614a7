//! Admins and their permissions: list, invite a non-employee admin, grant or revoke, remove.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, patch};
use axum::{Json, Router};
use prov_core::access::{Need, authorize};
use prov_core::admins::{self, AdminInvite, PermissionsChange};
use prov_core::listing::ListQuery;
use prov_processes::Apps;
use prov_web::{Ctx, JsonBody, PathParam, QueryParams};
use utoipa::OpenApi;

use crate::common::{Answer, created};

pub(crate) const ROUTES: &[(&str, &str)] = &[
    ("GET", "/v1/companies/{company_id}/admins"),
    ("POST", "/v1/companies/{company_id}/admins"),
    ("PATCH", "/v1/companies/{company_id}/admins/{admin_id}"),
    ("DELETE", "/v1/companies/{company_id}/admins/{admin_id}"),
];

pub(crate) fn routes() -> Router<Apps> {
    Router::new()
        .route(
            "/v1/companies/{company_id}/admins",
            get(list_admins).post(invite_admin),
        )
        .route(
            "/v1/companies/{company_id}/admins/{admin_id}",
            patch(set_permissions).delete(remove_admin),
        )
}

#[derive(OpenApi)]
#[openapi(paths(list_admins, invite_admin, set_permissions, remove_admin))]
pub(crate) struct Doc;

/// The company's admins with their effective permissions.
#[utoipa::path(
    get,
    path = "/v1/companies/{company_id}/admins",
    tag = "accounts",
    security(("token" = [])),
    params(
        ("company_id" = String, Path, description = "The company's id."),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Page size, 1 to 100 (default 25)."),
        ("cursor" = Option<String>, Query, description = "The `next_cursor` of the previous page."),
    ),
    responses(
        (status = 200, description = "A page of admins.", body = prov_core::listing::Listing<prov_core::admins::AdminView>),
        (status = 422, response = prov_web::openapi::Unprocessable),
    )
)]
async fn list_admins(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam(company_id): PathParam<String>,
    QueryParams(query): QueryParams<ListQuery>,
) -> Answer {
    let svc = &apps.services;
    let access = authorize(svc, &actor.principal, &company_id, Need::Read).await?;
    Ok(Json(admins::list(svc, &access, &query).await?).into_response())
}

/// Invites a non-employee admin (the owning partner or the primary admin).
#[utoipa::path(
    post,
    path = "/v1/companies/{company_id}/admins",
    tag = "accounts",
    security(("token" = [])),
    params(
        ("company_id" = String, Path, description = "The company's id."),
    ),
    request_body = AdminInvite,
    responses(
        (status = 201, description = "The invited admin.", body = prov_core::admins::AdminView),
        (status = 403, response = prov_web::openapi::Forbidden),
        (status = 409, response = prov_web::openapi::Conflict),
    )
)]
async fn invite_admin(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam(company_id): PathParam<String>,
    JsonBody(body): JsonBody<AdminInvite>,
) -> Answer {
    let svc = &apps.services;
    let access = authorize(svc, &actor.principal, &company_id, Need::ManageAdmins).await?;
    let invite = body.parse()?;
    Ok(created(admins::invite(svc, &actor, &access, &invite).await?))
}

/// Grants or revokes an admin's permissions (the owning partner or the primary admin).
#[utoipa::path(
    patch,
    path = "/v1/companies/{company_id}/admins/{admin_id}",
    tag = "accounts",
    security(("token" = [])),
    params(
        ("company_id" = String, Path, description = "The company's id."),
        ("admin_id" = String, Path, description = "The admin's id."),
    ),
    request_body = PermissionsChange,
    responses(
        (status = 200, description = "The admin, as changed.", body = prov_core::admins::AdminView),
        (status = 403, response = prov_web::openapi::Forbidden),
        (status = 409, response = prov_web::openapi::Conflict),
    )
)]
async fn set_permissions(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam((company_id, admin_id)): PathParam<(String, String)>,
    JsonBody(body): JsonBody<PermissionsChange>,
) -> Answer {
    let svc = &apps.services;
    let access = authorize(svc, &actor.principal, &company_id, Need::ManageAdmins).await?;
    let change = body.parse()?;
    Ok(Json(admins::set_permissions(svc, &actor, &access, &admin_id, &change).await?).into_response())
}

/// Removes an admin (the owning partner or the primary admin; the primary admin cannot be
/// removed): their API token and console sessions stop working at once, and they are told
/// by email.
#[utoipa::path(
    delete,
    path = "/v1/companies/{company_id}/admins/{admin_id}",
    tag = "accounts",
    security(("token" = [])),
    params(
        ("company_id" = String, Path, description = "The company's id."),
        ("admin_id" = String, Path, description = "The admin's id."),
    ),
    responses(
        (status = 204, description = "Removed."),
        (status = 403, response = prov_web::openapi::Forbidden),
        (status = 409, response = prov_web::openapi::Conflict),
        (status = 422, response = prov_web::openapi::Unprocessable),
    )
)]
async fn remove_admin(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam((company_id, admin_id)): PathParam<(String, String)>,
) -> Answer {
    let svc = &apps.services;
    let access = authorize(svc, &actor.principal, &company_id, Need::ManageAdmins).await?;
    admins::remove(svc, &actor, &access, &admin_id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
