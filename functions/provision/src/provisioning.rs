//! `POST /v1/provision`: the partner contract. Creates a company with its primary payroll
//! admin and answers the account claim link.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use prov_core::provisioning::{self, ProvisionBody, Provisioned};
use prov_core::{Error, Services};
use prov_web::{ApiError, Ctx, JsonBody};
use utoipa::OpenApi;

pub(crate) const ROUTES: &[(&str, &str)] = &[("POST", "/v1/provision")];

pub(crate) fn routes() -> Router<Services> {
    Router::new().route("/v1/provision", post(provision))
}

#[derive(OpenApi)]
#[openapi(paths(provision))]
pub(crate) struct Doc;

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
    request_body = ProvisionBody,
    responses(
        (status = 200, description = "The company was created (or the answer is replayed, with `Idempotent-Replayed: true`).",
            body = prov_core::claims::ProvisionResponse,
            headers(("Idempotent-Replayed" = String, description = "`true` on a replayed answer."))),
        (status = 403, response = prov_web::openapi::Forbidden),
    )
)]
async fn provision(
    State(svc): State<Services>,
    Ctx(actor): Ctx,
    headers: HeaderMap,
    JsonBody(body): JsonBody<ProvisionBody>,
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
