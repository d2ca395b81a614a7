//! The audit log.

use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use prov_core::access::{Need, authorize};
use prov_core::audit;
use prov_core::listing::ListQuery;
use prov_processes::Apps;
use prov_web::{Ctx, PathParam, QueryParams};
use utoipa::OpenApi;

use crate::common::Answer;

pub(crate) const ROUTES: &[(&str, &str)] = &[("GET", "/v1/companies/{company_id}/events")];

pub(crate) fn routes() -> Router<Apps> {
    Router::new().route("/v1/companies/{company_id}/events", get(list_events))
}

#[derive(OpenApi)]
#[openapi(paths(list_events))]
pub(crate) struct Doc;

/// The audit log, newest first.
#[utoipa::path(
    get,
    path = "/v1/companies/{company_id}/events",
    tag = "accounts",
    security(("token" = [])),
    params(
        ("company_id" = String, Path, description = "The company's id."),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Page size, 1 to 100 (default 25)."),
        ("cursor" = Option<String>, Query, description = "The `next_cursor` of the previous page."),
    ),
    responses(
        (status = 200, description = "A page of events.", body = prov_core::listing::Listing<prov_core::audit::AuditEvent>),
        (status = 422, response = prov_web::openapi::Unprocessable),
    )
)]
async fn list_events(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam(company_id): PathParam<String>,
    QueryParams(query): QueryParams<ListQuery>,
) -> Answer {
    let svc = &apps.services;
    let access = authorize(svc, &actor.principal, &company_id, Need::Read).await?;
    Ok(Json(audit::list(svc, &access, &query).await?).into_response())
}
