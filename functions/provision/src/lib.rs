//! The provision function: `POST /v1/provision` (the partner contract), the account claim
//! (`GET/POST /claim_account/{claim_id}` for people, `POST /v1/claims/{claim_id}` for
//! programs, `POST /v1/companies/{company_id}/claims` for a new link) and reading companies.
//!
//! `router` builds the whole HTTP surface from injected services; `main.rs` runs it in
//! Lambda and the devserver mounts it locally, so both run exactly this code.

mod claim_page;
mod openapi;

pub use openapi::openapi;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use prov_core::listing::ListQuery;
use prov_core::provisioning::{self, Provisioned};
use prov_core::{Error, Services};
use prov_web::{ApiError, Caller, Ctx, JsonObject, PathParam, QueryParams, ReqId};
use secrecy::ExposeSecret;
use serde::Serialize;

/// Routes this function serves, as `(method, path)`; the SAM template maps the same set.
pub const ROUTES: &[(&str, &str)] = &[
    ("POST", "/v1/provision"),
    ("GET", "/claim_account/{claim_id}"),
    ("POST", "/claim_account/{claim_id}"),
    ("POST", "/v1/claims/{claim_id}"),
    ("GET", "/v1/companies"),
    ("GET", "/v1/companies/{company_id}"),
    ("PATCH", "/v1/companies/{company_id}"),
    ("POST", "/v1/companies/{company_id}/claims"),
];

/// The function's HTTP surface, ready to serve.
pub fn router(services: Services) -> Router {
    prov_web::finish(routes(services))
}

/// The routes alone, for mounting beside other functions' routes (the devserver).
pub fn routes(services: Services) -> Router {
    Router::new()
        .route("/v1/provision", post(provision))
        .route(
            "/claim_account/{claim_id}",
            get(claim_page::open).post(claim_page::confirm),
        )
        .route("/v1/claims/{claim_id}", post(confirm_claim))
        .route("/v1/companies", get(list_companies))
        .route(
            "/v1/companies/{company_id}",
            get(get_company).patch(update_company),
        )
        .route("/v1/companies/{company_id}/claims", post(new_claim_link))
        .with_state(services)
}

/// Provisions a company with its primary payroll admin; answers the account claim link.
#[utoipa::path(
    post,
    path = "/v1/provision",
    tag = "provision",
    security(("token" = [])),
    params(
        ("Idempotency-Key" = Option<String>, Header, nullable = false, min_length = 1, max_length = 255, pattern = r"^[\x21-\x7e]+$",
            description = "1 to 255 visible ASCII characters; the same key and body within 24 hours replays the first answer (per partner)."),
    ),
    request_body = openapi::ProvisionBody,
    responses(
        (status = 200, description = "The company was created (or the answer is replayed, with `Idempotent-Replayed: true`).",
            body = prov_core::provisioning::ProvisionResponse,
            headers(("Idempotent-Replayed" = String, description = "`true` on a replayed answer."))),
        (status = 400, response = prov_web::openapi::InvalidRequest),
        (status = 401, response = prov_web::openapi::InvalidToken),
        (status = 403, response = prov_web::openapi::Forbidden),
        (status = 413, response = prov_web::openapi::PayloadTooLarge),
        (status = 415, response = prov_web::openapi::UnsupportedMediaType),
        (status = 422, response = prov_web::openapi::Unprocessable),
    )
)]
async fn provision(
    State(svc): State<Services>,
    Ctx(actor): Ctx,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    let key = match headers.get("idempotency-key") {
        Some(v) => Some(v.to_str().map_err(|_| {
            ApiError(Error::invalid(
                "Idempotency-Key",
                "`Idempotency-Key` must be 1 to 255 visible ASCII characters.",
            ))
        })?),
        None => None,
    };
    let answer = match provisioning::provision(&svc, &actor, &body, key).await? {
        Provisioned::Created(r) => Json(r).into_response(),
        Provisioned::Replayed(r) => {
            let mut response = Json(r).into_response();
            response
                .headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            response
        }
    };
    Ok(no_store(answer))
}

/// Answers carrying secrets (claim links, tokens) must not be cached anywhere.
pub(crate) fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[derive(Serialize, utoipa::ToSchema)]
struct ClaimAnswer {
    company_id: String,
    user_id: String,
    /// Use as `Authorization: Token <token>`. Shown once; only its hash is kept.
    token: String,
}

/// Confirms the email of an account claim and answers the company's admin token, once.
#[utoipa::path(
    post,
    path = "/v1/claims/{claim_id}",
    tag = "provision",
    params(("claim_id" = String, Path, description = "The id in the account claim link.")),
    request_body = openapi::ClaimBody,
    responses(
        (status = 201, description = "Claimed: the admin token, shown once.", body = ClaimAnswer),
        (status = 400, response = prov_web::openapi::InvalidRequest),
        (status = 404, response = prov_web::openapi::NotFound),
        (status = 410, response = prov_web::openapi::Gone),
        (status = 413, response = prov_web::openapi::PayloadTooLarge),
        (status = 415, response = prov_web::openapi::UnsupportedMediaType),
        (status = 422, response = prov_web::openapi::Unprocessable),
    )
)]
async fn confirm_claim(
    State(svc): State<Services>,
    ReqId(request_id): ReqId,
    PathParam(claim_id): PathParam<String>,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    let granted = provisioning::confirm_claim(&svc, &request_id, &claim_id, &body).await?;
    let answer = ClaimAnswer {
        company_id: granted.company_id,
        user_id: granted.user_id,
        token: granted.token.expose_secret().to_owned(),
    };
    Ok(no_store((StatusCode::CREATED, Json(answer)).into_response()))
}

/// A partner's companies (oldest first), or an admin's own company.
#[utoipa::path(
    get,
    path = "/v1/companies",
    tag = "provision",
    security(("token" = [])),
    params(("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Page size, 1 to 100 (default 25)."),
        ("cursor" = Option<String>, Query, description = "The `next_cursor` of the previous page."),),
    responses(
        (status = 200, description = "A page of companies.", body = prov_core::listing::Listing<prov_core::provisioning::Company>),
        (status = 401, response = prov_web::openapi::InvalidToken),
        (status = 422, response = prov_web::openapi::Unprocessable),
    )
)]
async fn list_companies(
    State(svc): State<Services>,
    Caller(principal): Caller,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Response, ApiError> {
    let listing = provisioning::list_companies(&svc, &principal, query).await?;
    Ok(Json(listing).into_response())
}

/// Changes the company's plan (the owning partner only).
#[utoipa::path(
    patch,
    path = "/v1/companies/{company_id}",
    tag = "provision",
    security(("token" = [])),
    params(("company_id" = String, Path, description = "The company's id.")),
    request_body = openapi::CompanyChange,
    responses(
        (status = 200, description = "The company, as changed.", body = prov_core::provisioning::Company),
        (status = 400, response = prov_web::openapi::InvalidRequest),
        (status = 401, response = prov_web::openapi::InvalidToken),
        (status = 403, response = prov_web::openapi::Forbidden),
        (status = 404, response = prov_web::openapi::NotFound),
        (status = 409, response = prov_web::openapi::Conflict),
        (status = 413, response = prov_web::openapi::PayloadTooLarge),
        (status = 415, response = prov_web::openapi::UnsupportedMediaType),
        (status = 422, response = prov_web::openapi::Unprocessable),
    )
)]
async fn update_company(
    State(svc): State<Services>,
    Ctx(actor): Ctx,
    PathParam(company_id): PathParam<String>,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    let company = provisioning::update_company(&svc, &actor, &company_id, &body).await?;
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
        (status = 200, description = "The company.", body = prov_core::provisioning::Company),
        (status = 401, response = prov_web::openapi::InvalidToken),
        (status = 404, response = prov_web::openapi::NotFound),
    )
)]
async fn get_company(
    State(svc): State<Services>,
    Caller(principal): Caller,
    PathParam(company_id): PathParam<String>,
) -> Result<Response, ApiError> {
    let company = provisioning::get_company(&svc, &principal, &company_id).await?;
    Ok(Json(company).into_response())
}

/// Sends an admin who has not claimed their access a new claim link (the first was lost,
/// expired, or locked after wrong email addresses), and answers it.
#[utoipa::path(
    post,
    path = "/v1/companies/{company_id}/claims",
    tag = "provision",
    security(("token" = [])),
    params(("company_id" = String, Path, description = "The company's id.")),
    request_body = openapi::NewClaimBody,
    responses(
        (status = 201, description = "A new claim link, also emailed to the admin.", body = prov_core::provisioning::ProvisionResponse),
        (status = 400, response = prov_web::openapi::InvalidRequest),
        (status = 401, response = prov_web::openapi::InvalidToken),
        (status = 403, response = prov_web::openapi::Forbidden),
        (status = 404, response = prov_web::openapi::NotFound),
        (status = 413, response = prov_web::openapi::PayloadTooLarge),
        (status = 415, response = prov_web::openapi::UnsupportedMediaType),
        (status = 422, response = prov_web::openapi::Unprocessable),
    )
)]
async fn new_claim_link(
    State(svc): State<Services>,
    Ctx(actor): Ctx,
    PathParam(company_id): PathParam<String>,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    let link = provisioning::new_claim_link(&svc, &actor, &company_id, &body).await?;
    Ok(no_store((StatusCode::CREATED, Json(link)).into_response()))
}
