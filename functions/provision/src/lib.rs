//! The provision function: `POST /v1/provision` (the partner contract), the account claim
//! (`GET/POST /claim_account/{claim_id}` for people, `POST /v1/claims/{claim_id}` for
//! programs) and reading companies.
//!
//! `router` builds the whole HTTP surface from injected services; `main.rs` runs it in
//! Lambda and the devserver mounts it locally, so both run exactly this code.

mod claim_page;

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
        .with_state(services)
}

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

#[derive(Serialize)]
struct ClaimAnswer {
    company_id: String,
    user_id: String,
    /// Use as `Authorization: Token <token>`. Shown once; only its hash is kept.
    token: String,
}

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

async fn list_companies(
    State(svc): State<Services>,
    Caller(principal): Caller,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Response, ApiError> {
    let listing = provisioning::list_companies(&svc, &principal, query).await?;
    Ok(Json(listing).into_response())
}

async fn update_company(
    State(svc): State<Services>,
    Ctx(actor): Ctx,
    PathParam(company_id): PathParam<String>,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    let company = provisioning::update_company(&svc, &actor, &company_id, &body).await?;
    Ok(Json(company).into_response())
}

async fn get_company(
    State(svc): State<Services>,
    Caller(principal): Caller,
    PathParam(company_id): PathParam<String>,
) -> Result<Response, ApiError> {
    let company = provisioning::get_company(&svc, &principal, &company_id).await?;
    Ok(Json(company).into_response())
}
