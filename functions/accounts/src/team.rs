//! Team members: list, add, read, change.

use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use prov_core::access::{Need, authorize};
use prov_core::listing::ListQuery;
use prov_core::team::{self, NewTeamMember, TeamMemberChange};
use prov_processes::Apps;
use prov_web::{Ctx, JsonBody, PathParam, QueryParams};
use utoipa::OpenApi;

use crate::common::{Answer, created};

pub(crate) const ROUTES: &[(&str, &str)] = &[
    ("GET", "/v1/companies/{company_id}/team_members"),
    ("POST", "/v1/companies/{company_id}/team_members"),
    ("GET", "/v1/companies/{company_id}/team_members/{team_member_id}"),
    (
        "PATCH",
        "/v1/companies/{company_id}/team_members/{team_member_id}",
    ),
];

pub(crate) fn routes() -> Router<Apps> {
    Router::new()
        .route(
            "/v1/companies/{company_id}/team_members",
            get(list_team).post(create_team_member),
        )
        .route(
            "/v1/companies/{company_id}/team_members/{team_member_id}",
            get(get_team_member).patch(update_team_member),
        )
}

#[derive(OpenApi)]
#[openapi(paths(list_team, create_team_member, get_team_member, update_team_member))]
pub(crate) struct Doc;

/// The company's team members, in the order added.
#[utoipa::path(
    get,
    path = "/v1/companies/{company_id}/team_members",
    tag = "accounts",
    security(("token" = [])),
    params(
        ("company_id" = String, Path, description = "The company's id."),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Page size, 1 to 100 (default 25)."),
        ("cursor" = Option<String>, Query, description = "The `next_cursor` of the previous page."),
    ),
    responses(
        (status = 200, description = "A page of team members.", body = prov_core::listing::Listing<prov_core::team::TeamMemberView>),
        (status = 422, response = prov_web::openapi::Unprocessable),
    )
)]
async fn list_team(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam(company_id): PathParam<String>,
    QueryParams(query): QueryParams<ListQuery>,
) -> Answer {
    let svc = &apps.services;
    let access = authorize(svc, &actor.principal, &company_id, Need::Read).await?;
    Ok(Json(team::list(svc, &access, &query).await?).into_response())
}

/// Adds a team member.
#[utoipa::path(
    post,
    path = "/v1/companies/{company_id}/team_members",
    tag = "accounts",
    security(("token" = [])),
    params(
        ("company_id" = String, Path, description = "The company's id."),
    ),
    request_body = NewTeamMember,
    responses(
        (status = 201, description = "The team member.", body = prov_core::team::TeamMemberView),
        (status = 409, response = prov_web::openapi::Conflict),
    )
)]
async fn create_team_member(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam(company_id): PathParam<String>,
    JsonBody(body): JsonBody<NewTeamMember>,
) -> Answer {
    let svc = &apps.services;
    let access = authorize(svc, &actor.principal, &company_id, Need::ManageTeam).await?;
    let new = body.parse()?;
    Ok(created(team::TeamMemberView::from(
        team::create(svc, &actor, &access, &new).await?,
    )))
}

/// A team member.
#[utoipa::path(
    get,
    path = "/v1/companies/{company_id}/team_members/{team_member_id}",
    tag = "accounts",
    security(("token" = [])),
    params(
        ("company_id" = String, Path, description = "The company's id."),
        ("team_member_id" = String, Path, description = "The team member's id."),
    ),
    responses(
        (status = 200, description = "The team member.", body = prov_core::team::TeamMemberView),
    )
)]
async fn get_team_member(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam((company_id, team_member_id)): PathParam<(String, String)>,
) -> Answer {
    let svc = &apps.services;
    let access = authorize(svc, &actor.principal, &company_id, Need::Read).await?;
    Ok(Json(team::TeamMemberView::from(
        team::get(svc, &access, &team_member_id).await?,
    ))
    .into_response())
}

/// Changes a team member.
#[utoipa::path(
    patch,
    path = "/v1/companies/{company_id}/team_members/{team_member_id}",
    tag = "accounts",
    security(("token" = [])),
    params(
        ("company_id" = String, Path, description = "The company's id."),
        ("team_member_id" = String, Path, description = "The team member's id."),
    ),
    request_body = TeamMemberChange,
    responses(
        (status = 200, description = "The team member, as changed.", body = prov_core::team::TeamMemberView),
        (status = 409, response = prov_web::openapi::Conflict),
    )
)]
async fn update_team_member(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam((company_id, team_member_id)): PathParam<(String, String)>,
    JsonBody(body): JsonBody<TeamMemberChange>,
) -> Answer {
    let svc = &apps.services;
    authorize(svc, &actor.principal, &company_id, Need::ManageTeam).await?;
    let member = team::update(svc, &actor, &company_id, &team_member_id, &body).await?;
    Ok(Json(team::TeamMemberView::from(member)).into_response())
}
