//! The "Create app accounts" task of a new hire.

use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use prov_core::access::{Need, authorize};
use prov_processes::Apps;
use prov_processes::onboarding::{self, OnboardingRun};
use prov_web::{Ctx, JsonBody, PathParam};
use utoipa::OpenApi;

use crate::common::Answer;

pub(crate) const ROUTES: &[(&str, &str)] = &[
    (
        "GET",
        "/v1/companies/{company_id}/team_members/{team_member_id}/onboarding",
    ),
    (
        "POST",
        "/v1/companies/{company_id}/team_members/{team_member_id}/onboarding",
    ),
];

pub(crate) fn routes() -> Router<Apps> {
    Router::new().route(
        "/v1/companies/{company_id}/team_members/{team_member_id}/onboarding",
        get(onboarding).post(run_onboarding),
    )
}

#[derive(OpenApi)]
#[openapi(paths(onboarding, run_onboarding))]
pub(crate) struct Doc;

/// The "Create app accounts" task.
#[utoipa::path(
    get,
    path = "/v1/companies/{company_id}/team_members/{team_member_id}/onboarding",
    tag = "checklists",
    security(("token" = [])),
    params(
        ("company_id" = String, Path, description = "The company's id."),
        ("team_member_id" = String, Path, description = "The team member's id."),
    ),
    responses(
        (status = 200, description = "The task.", body = prov_processes::onboarding::OnboardingView),
        (status = 403, response = prov_web::openapi::Forbidden),
    )
)]
async fn onboarding(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam((company_id, team_member_id)): PathParam<(String, String)>,
) -> Answer {
    let access = authorize(&apps.services, &actor.principal, &company_id, Need::ManageApps).await?;
    Ok(Json(onboarding::view(&apps, &access, &team_member_id).await?).into_response())
}

/// Creates the new hire's accounts in the chosen apps.
#[utoipa::path(
    post,
    path = "/v1/companies/{company_id}/team_members/{team_member_id}/onboarding",
    tag = "checklists",
    security(("token" = [])),
    params(
        ("company_id" = String, Path, description = "The company's id."),
        ("team_member_id" = String, Path, description = "The team member's id."),
    ),
    request_body = OnboardingRun,
    responses(
        (status = 200, description = "The task, with per-app progress.", body = prov_processes::onboarding::OnboardingView),
        (status = 403, response = prov_web::openapi::Forbidden),
        (status = 409, response = prov_web::openapi::Conflict),
    )
)]
async fn run_onboarding(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam((company_id, team_member_id)): PathParam<(String, String)>,
    JsonBody(body): JsonBody<OnboardingRun>,
) -> Answer {
    let access = authorize(&apps.services, &actor.principal, &company_id, Need::ManageApps).await?;
    Ok(Json(onboarding::run(&apps, &actor, &access, &team_member_id, &body).await?).into_response())
}
