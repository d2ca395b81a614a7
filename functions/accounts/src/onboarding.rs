//! The "Create app accounts" task of a new hire.

use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use prov_core::access::{Need, authorize};
use prov_processes::Apps;
use prov_processes::onboarding;
use prov_web::{Ctx, JsonObject, PathParam};
use serde::Deserialize;
use utoipa::{OpenApi, ToSchema};

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
    JsonObject(body): JsonObject,
) -> Answer {
    let access = authorize(&apps.services, &actor.principal, &company_id, Need::ManageApps).await?;
    Ok(Json(onboarding::run(&apps, &actor, &access, &team_member_id, &body).await?).into_response())
}

// The handlers read bodies by hand (`JsonObject`, then the use case's `Validator`), so the
// request schemas below describe what that validation accepts: unknown attributes are
// refused (`additionalProperties: false`), `null` is taken as absent where an attribute is
// optional, strings are trimmed and must not be blank.

/// `POST …/onboarding`: the connected apps to create the new hire's accounts in.
#[derive(ToSchema, Deserialize)]
#[allow(dead_code)] // described, never built: the use case reads the body
#[serde(deny_unknown_fields)]
pub struct OnboardingRun {
    #[schema(max_items = 50)]
    apps: Vec<String>,
}
