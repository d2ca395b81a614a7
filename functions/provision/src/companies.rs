//! Reading companies, and the partner changing a company's plan.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use prov_core::Services;
use prov_core::companies::{self, CompanyChange};
use prov_core::listing::ListQuery;
use prov_web::{ApiError, Caller, Ctx, JsonBody, PathParam, QueryParams};
use utoipa::OpenApi;

pub(crate) const ROUTES: &[(&str, &str)] = &[
    ("GET", "/v1/companies"),
    ("GET", "/v1/companies/{company_id}"),
    ("PATCH", "/v1/companies/{company_id}"),
];

pub(crate) fn routes() -> Router<Services> {
    Router::new().route("/v1/companies", get(list_companies)).route(
        "/v1/companies/{company_id}",
        get(get_company).patch(update_company),
    )
}

#[derive(OpenApi)]
#[openapi(paths(list_companies, get_company, update_company))]
pub(crate) struct Doc;

/// A partner's companies (oldest first), or an admin's own company.
#[utoipa::path(
    get,
    path = "/v1/companies",
    tag = "provision",
    security(("token" = [])),
    params(("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Page size, 1 to 100 (default 25)."),
        ("cursor" = Option<String>, Query, description = "The `next_cursor` of the previous page."),),
    responses(
        (status = 200, description = "A page of companies.", body = prov_core::listing::Listing<prov_core::company::Company>),
        (status = 422, response = prov_web::openapi::Unprocessable),
    )
)]
async fn list_companies(
    State(svc): State<Services>,
    Caller(principal): Caller,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Response, ApiError> {
    let listing = companies::list_companies(&svc, &principal, query).await?;
    Ok(Json(listing).into_response())
}

/// Changes the company's plan (the owning partner only).
#[utoipa::path(
    patch,
    path = "/v1/companies/{company_id}",
    tag = "provision",
    security(("token" = [])),
    params(("company_id" = String, Path, description = "The company's id.")),
    request_body = CompanyChange,
    responses(
        (status = 200, description = "The company, as changed.", body = prov_core::company::Company),
        (status = 403, response = prov_web::openapi::Forbidden),
        (status = 409, response = prov_web::openapi::Conflict),
    )
)]
async fn update_company(
    State(svc): State<Services>,
    Ctx(actor): Ctx,
    PathParam(company_id): PathParam<String>,
    JsonBody(body): JsonBody<CompanyChange>,
) -> Result<Response, ApiError> {
    let change = body.parse()?;
    let company = companies::update_company(&svc, &actor, &company_id, &change).await?;
    Ok(Json(company).into_response())
}

/// The company.
#[utoipa::path(
    get,
    path = "/v1/companies/{company_id}",
    tag = "provision",
    security(("token" = [])),
    params(("company_id" = String, Path, description = "The company's id.")),
    responses(
        (status = 200, description = "The company.", body = prov_core::company::Company),
    )
)]
async fn get_company(
    State(svc): State<Services>,
    Caller(principal): Caller,
    PathParam(company_id): PathParam<String>,
) -> Result<Response, ApiError> {
    let company = companies::get_company(&svc, &principal, &company_id).await?;
    Ok(Json(company).into_response())
}
