//! The accounts function: team members, admins and permissions, the app directory and the
//! audit log (app accounts and checklists join as they land).
//!
//! Handlers only translate HTTP: each authorizes the caller for the company with the `Need`
//! of its route, then calls one use case of `prov-core`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch};
use axum::{Json, Router};
use prov_core::access::{Need, authorize};
use prov_core::listing::ListQuery;
use prov_core::{Services, admins, audit, catalog, team};
use prov_web::{ApiError, Caller, Ctx, JsonObject, PathParam, QueryParams};
use serde_json::json;

/// Routes this function serves, as `(method, path)`; the SAM template maps the same set.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/v1/companies/{company_id}/team_members"),
    ("POST", "/v1/companies/{company_id}/team_members"),
    ("GET", "/v1/companies/{company_id}/team_members/{team_member_id}"),
    (
        "PATCH",
        "/v1/companies/{company_id}/team_members/{team_member_id}",
    ),
    ("GET", "/v1/companies/{company_id}/admins"),
    ("POST", "/v1/companies/{company_id}/admins"),
    ("PATCH", "/v1/companies/{company_id}/admins/{admin_id}"),
    ("GET", "/v1/apps"),
    ("GET", "/v1/apps/{app}"),
    ("GET", "/v1/companies/{company_id}/apps"),
    ("GET", "/v1/companies/{company_id}/events"),
];

/// The function's HTTP surface, ready to serve.
pub fn router(services: Services) -> Router {
    prov_web::finish(routes(services))
}

/// The routes alone, for mounting beside other functions' routes (the devserver).
pub fn routes(services: Services) -> Router {
    Router::new()
        .route(
            "/v1/companies/{company_id}/team_members",
            get(list_team).post(create_team_member),
        )
        .route(
            "/v1/companies/{company_id}/team_members/{team_member_id}",
            get(get_team_member).patch(update_team_member),
        )
        .route(
            "/v1/companies/{company_id}/admins",
            get(list_admins).post(invite_admin),
        )
        .route(
            "/v1/companies/{company_id}/admins/{admin_id}",
            patch(set_permissions),
        )
        .route("/v1/apps", get(list_apps))
        .route("/v1/apps/{app}", get(get_app))
        .route("/v1/companies/{company_id}/apps", get(company_apps))
        .route("/v1/companies/{company_id}/events", get(list_events))
        .with_state(services)
}

type Answer = Result<Response, ApiError>;

fn created<T: serde::Serialize>(value: T) -> Response {
    (StatusCode::CREATED, Json(value)).into_response()
}

async fn list_team(
    State(svc): State<Services>,
    Ctx(actor): Ctx,
    PathParam(company_id): PathParam<String>,
    QueryParams(query): QueryParams<ListQuery>,
) -> Answer {
    authorize(&svc, &actor.principal, &company_id, Need::Read).await?;
    Ok(Json(team::list(&svc, &company_id, &query).await?).into_response())
}

async fn create_team_member(
    State(svc): State<Services>,
    Ctx(actor): Ctx,
    PathParam(company_id): PathParam<String>,
    JsonObject(body): JsonObject,
) -> Answer {
    let access = authorize(&svc, &actor.principal, &company_id, Need::ManageTeam).await?;
    Ok(created(team::TeamMemberView::from(
        team::create(&svc, &actor, &access, &body).await?,
    )))
}

async fn get_team_member(
    State(svc): State<Services>,
    Ctx(actor): Ctx,
    PathParam((company_id, team_member_id)): PathParam<(String, String)>,
) -> Answer {
    authorize(&svc, &actor.principal, &company_id, Need::Read).await?;
    Ok(Json(team::TeamMemberView::from(
        team::get(&svc, &company_id, &team_member_id).await?,
    ))
    .into_response())
}

async fn update_team_member(
    State(svc): State<Services>,
    Ctx(actor): Ctx,
    PathParam((company_id, team_member_id)): PathParam<(String, String)>,
    JsonObject(body): JsonObject,
) -> Answer {
    authorize(&svc, &actor.principal, &company_id, Need::ManageTeam).await?;
    let member = team::update(&svc, &actor, &company_id, &team_member_id, &body).await?;
    Ok(Json(team::TeamMemberView::from(member)).into_response())
}

async fn list_admins(
    State(svc): State<Services>,
    Ctx(actor): Ctx,
    PathParam(company_id): PathParam<String>,
    QueryParams(query): QueryParams<ListQuery>,
) -> Answer {
    authorize(&svc, &actor.principal, &company_id, Need::Read).await?;
    Ok(Json(admins::list(&svc, &company_id, &query).await?).into_response())
}

async fn invite_admin(
    State(svc): State<Services>,
    Ctx(actor): Ctx,
    PathParam(company_id): PathParam<String>,
    JsonObject(body): JsonObject,
) -> Answer {
    let access = authorize(&svc, &actor.principal, &company_id, Need::ManageAdmins).await?;
    Ok(created(admins::invite(&svc, &actor, &access, &body).await?))
}

async fn set_permissions(
    State(svc): State<Services>,
    Ctx(actor): Ctx,
    PathParam((company_id, admin_id)): PathParam<(String, String)>,
    JsonObject(body): JsonObject,
) -> Answer {
    let access = authorize(&svc, &actor.principal, &company_id, Need::ManageAdmins).await?;
    Ok(Json(admins::set_permissions(&svc, &actor, &access, &admin_id, &body).await?).into_response())
}

/// The catalog is the same for everyone with a token.
async fn list_apps(State(svc): State<Services>, Caller(_): Caller) -> Answer {
    let apps: Vec<_> = catalog::directory(svc.settings.sandbox).collect();
    Ok(Json(json!({ "items": apps })).into_response())
}

async fn get_app(
    State(svc): State<Services>,
    Caller(_): Caller,
    PathParam(app): PathParam<String>,
) -> Answer {
    Ok(Json(catalog::get(&app, svc.settings.sandbox)?).into_response())
}

async fn company_apps(
    State(svc): State<Services>,
    Ctx(actor): Ctx,
    PathParam(company_id): PathParam<String>,
) -> Answer {
    let access = authorize(&svc, &actor.principal, &company_id, Need::ManageApps).await?;
    Ok(Json(catalog::company_apps(&svc, &access.company).await?).into_response())
}

async fn list_events(
    State(svc): State<Services>,
    Ctx(actor): Ctx,
    PathParam(company_id): PathParam<String>,
    QueryParams(query): QueryParams<ListQuery>,
) -> Answer {
    authorize(&svc, &actor.principal, &company_id, Need::Read).await?;
    Ok(Json(audit::list(&svc, &company_id, &query).await?).into_response())
}
