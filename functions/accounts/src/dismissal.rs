//! Dismissal (schedule, move, cancel), rehire, and the "Remove app access" task that the
//! dismissal starts.

use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use prov_core::access::{Need, authorize};
use prov_processes::Apps;
use prov_processes::dismissal::{self, DismissalRequest, OffboardingChange};
use prov_web::{Ctx, JsonBody, PathParam, QueryParams};
use utoipa::OpenApi;

use crate::common::{Answer, DryRun};

pub(crate) const ROUTES: &[(&str, &str)] = &[
    (
        "PUT",
        "/v1/companies/{company_id}/team_members/{team_member_id}/dismissal",
    ),
    (
        "DELETE",
        "/v1/companies/{company_id}/team_members/{team_member_id}/dismissal",
    ),
    (
        "POST",
        "/v1/companies/{company_id}/team_members/{team_member_id}/rehire",
    ),
    (
        "GET",
        "/v1/companies/{company_id}/team_members/{team_member_id}/offboarding",
    ),
    (
        "POST",
        "/v1/companies/{company_id}/team_members/{team_member_id}/offboarding",
    ),
];

pub(crate) fn routes() -> Router<Apps> {
    Router::new()
        .route(
            "/v1/companies/{company_id}/team_members/{team_member_id}/dismissal",
            put(dismiss).delete(cancel_dismissal),
        )
        .route(
            "/v1/companies/{company_id}/team_members/{team_member_id}/rehire",
            post(rehire),
        )
        .route(
            "/v1/companies/{company_id}/team_members/{team_member_id}/offboarding",
            get(offboarding).post(update_offboarding),
        )
}

#[derive(OpenApi)]
#[openapi(paths(dismiss, cancel_dismissal, rehire, offboarding, update_offboarding))]
pub(crate) struct Doc;

/// Dismisses the person (or moves the last day); `dry_run=true` answers what would happen, saving nothing.
///
/// Any admin may dismiss: every matched account is then removed the default way. Choosing
/// per-app removals (`removal`) needs the primary admin or `manage_apps` (403 otherwise), and
/// only they see the account plan (`accounts` is left out of the answer for other admins).
#[utoipa::path(
    put,
    path = "/v1/companies/{company_id}/team_members/{team_member_id}/dismissal",
    tag = "checklists",
    security(("token" = [])),
    params(
        ("company_id" = String, Path, description = "The company's id."),
        ("team_member_id" = String, Path, description = "The team member's id."),
        ("dry_run" = Option<bool>, Query, description = "`true`: answer what would be done, doing nothing."),
    ),
    request_body = DismissalRequest,
    responses(
        (status = 200, description = "The Remove app access task.", body = prov_processes::dismissal::OffboardingView),
        (status = 403, response = prov_web::openapi::Forbidden),
        (status = 409, response = prov_web::openapi::Conflict),
    )
)]
async fn dismiss(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam((company_id, team_member_id)): PathParam<(String, String)>,
    QueryParams(query): QueryParams<DryRun>,
    JsonBody(body): JsonBody<DismissalRequest>,
) -> Answer {
    let access = authorize(&apps.services, &actor.principal, &company_id, Need::ManageTeam).await?;
    let dry_run = query.dry_run.unwrap_or(false);
    Ok(
        Json(dismissal::dismiss(&apps, &actor, &access, &team_member_id, &body, dry_run).await?)
            .into_response(),
    )
}

/// Cancels a scheduled dismissal.
#[utoipa::path(
    delete,
    path = "/v1/companies/{company_id}/team_members/{team_member_id}/dismissal",
    tag = "checklists",
    security(("token" = [])),
    params(
        ("company_id" = String, Path, description = "The company's id."),
        ("team_member_id" = String, Path, description = "The team member's id."),
    ),
    responses(
        (status = 200, description = "The Remove app access task, cancelled.", body = prov_processes::dismissal::OffboardingView),
        (status = 409, response = prov_web::openapi::Conflict),
        (status = 422, response = prov_web::openapi::Unprocessable),
    )
)]
async fn cancel_dismissal(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam((company_id, team_member_id)): PathParam<(String, String)>,
) -> Answer {
    let access = authorize(&apps.services, &actor.principal, &company_id, Need::ManageTeam).await?;
    Ok(Json(dismissal::cancel(&apps, &actor, &access, &team_member_id).await?).into_response())
}

/// Rehires the person: cancels what is still to come.
#[utoipa::path(
    post,
    path = "/v1/companies/{company_id}/team_members/{team_member_id}/rehire",
    tag = "checklists",
    security(("token" = [])),
    params(
        ("company_id" = String, Path, description = "The company's id."),
        ("team_member_id" = String, Path, description = "The team member's id."),
    ),
    responses(
        (status = 200, description = "The team member.", body = prov_core::team::TeamMemberView),
        (status = 409, response = prov_web::openapi::Conflict),
        (status = 422, response = prov_web::openapi::Unprocessable),
    )
)]
async fn rehire(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam((company_id, team_member_id)): PathParam<(String, String)>,
) -> Answer {
    let access = authorize(&apps.services, &actor.principal, &company_id, Need::ManageTeam).await?;
    Ok(Json(dismissal::rehire(&apps, &actor, &access, &team_member_id).await?).into_response())
}

/// The "Remove app access" task.
#[utoipa::path(
    get,
    path = "/v1/companies/{company_id}/team_members/{team_member_id}/offboarding",
    tag = "checklists",
    security(("token" = [])),
    params(
        ("company_id" = String, Path, description = "The company's id."),
        ("team_member_id" = String, Path, description = "The team member's id."),
    ),
    responses(
        (status = 200, description = "The task.", body = prov_processes::dismissal::OffboardingView),
        (status = 403, response = prov_web::openapi::Forbidden),
    )
)]
async fn offboarding(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam((company_id, team_member_id)): PathParam<(String, String)>,
) -> Answer {
    let access = authorize(&apps.services, &actor.principal, &company_id, Need::ManageApps).await?;
    Ok(Json(dismissal::offboarding(&apps, &access, &team_member_id).await?).into_response())
}

/// Changes removal choices, confirms what the safeguard paused, or retries failures.
#[utoipa::path(
    post,
    path = "/v1/companies/{company_id}/team_members/{team_member_id}/offboarding",
    tag = "checklists",
    security(("token" = [])),
    params(
        ("company_id" = String, Path, description = "The company's id."),
        ("team_member_id" = String, Path, description = "The team member's id."),
    ),
    request_body = OffboardingChange,
    responses(
        (status = 200, description = "The task.", body = prov_processes::dismissal::OffboardingView),
        (status = 403, response = prov_web::openapi::Forbidden),
        (status = 409, response = prov_web::openapi::Conflict),
    )
)]
async fn update_offboarding(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam((company_id, team_member_id)): PathParam<(String, String)>,
    JsonBody(body): JsonBody<OffboardingChange>,
) -> Answer {
    let access = authorize(&apps.services, &actor.principal, &company_id, Need::ManageApps).await?;
    Ok(
        Json(dismissal::update_offboarding(&apps, &actor, &access, &team_member_id, &body).await?)
            .into_response(),
    )
}
