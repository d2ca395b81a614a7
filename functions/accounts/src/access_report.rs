//! The access report: what the syncs found that needs an admin, most urgent first.

use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use prov_core::access::{Need, authorize};
use prov_processes::Apps;
use prov_processes::reconcile;
use prov_web::{Ctx, PathParam};
use utoipa::OpenApi;

use crate::common::Answer;

pub(crate) const ROUTES: &[(&str, &str)] = &[("GET", "/v1/companies/{company_id}/access_report")];

pub(crate) fn routes() -> Router<Apps> {
    Router::new().route("/v1/companies/{company_id}/access_report", get(access_report))
}

#[derive(OpenApi)]
#[openapi(paths(access_report))]
pub(crate) struct Doc;

/// The access report: every open finding ("access not removed" first), each with what to
/// do about it and when it was first and last seen. Findings come from the syncs (scheduled
/// and requested) and resolve themselves when a later sync no longer sees the problem.
#[utoipa::path(
    get,
    path = "/v1/companies/{company_id}/access_report",
    tag = "app accounts",
    security(("token" = [])),
    params(("company_id" = String, Path, description = "The company's id.")),
    responses(
        (status = 200, description = "The open findings.", body = prov_processes::reconcile::AccessReport),
        (status = 403, response = prov_web::openapi::Forbidden),
    )
)]
async fn access_report(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam(company_id): PathParam<String>,
) -> Answer {
    let access = authorize(&apps.services, &actor.principal, &company_id, Need::ManageApps).await?;
    Ok(Json(reconcile::access_report(&apps, &access).await?).into_response())
}
