//! `POST /v1/provision`: the partner contract. Creates a company with its primary payroll
//! admin and answers the account claim link.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use prov_core::provisioning::{self, Provisioned};
use prov_core::{Error, Services};
use prov_web::openapi::Boolish;
use prov_web::{ApiError, Ctx, JsonObject};
use serde::Deserialize;
use utoipa::{OpenApi, ToSchema};

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
            body = prov_core::provisioning::ProvisionResponse,
            headers(("Idempotent-Replayed" = String, description = "`true` on a replayed answer."))),
        (status = 403, response = prov_web::openapi::Forbidden),
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

// The handler reads the body by hand (`JsonObject`, then the use case's `Validator`), so the
// request schemas below describe what that validation accepts: unknown attributes are
// refused (`additionalProperties: false`), `null` is taken as absent for optional
// attributes, strings are trimmed and must not be blank.

/// `POST /v1/provision`: the company, its primary payroll admin, and the welcome email.
#[derive(ToSchema, Deserialize)]
#[allow(dead_code)] // described, never built: the use case reads the body
#[serde(deny_unknown_fields)]
pub struct ProvisionBody {
    user: NewUser,
    company: NewCompany,
}

/// The company's primary payroll admin.
#[derive(ToSchema, Deserialize)]
#[allow(dead_code)] // described, never built: the use case reads the body
#[serde(deny_unknown_fields)]
pub struct NewUser {
    #[schema(min_length = 1, max_length = 100)]
    first_name: String,
    #[schema(min_length = 1, max_length = 100)]
    last_name: String,
    /// Unique across the service without regard to case.
    #[schema(format = Email, min_length = 3, max_length = 254)]
    email: String,
    /// A 10-digit US number; spaces, `-`, `.`, `(`, `)` and a leading `+1` or `1` allowed.
    #[schema(min_length = 10, max_length = 320, pattern = r"^[0-9 ().+-]+$")]
    phone: Option<String>,
}

#[derive(ToSchema, Deserialize)]
#[allow(dead_code)] // described, never built: the use case reads the body
#[serde(deny_unknown_fields)]
pub struct NewCompany {
    #[schema(min_length = 1, max_length = 200)]
    name: String,
    #[schema(min_length = 1, max_length = 200)]
    trade_name: Option<String>,
    /// 9 digits; `12-3456789` accepted.
    #[schema(pattern = r"^([0-9]{9}|[0-9]{2}-[0-9]{7})$")]
    ein: Option<String>,
    #[schema(minimum = 0, maximum = 10_000_000)]
    number_employees: Option<u32>,
    /// US state codes (or `DC`), any case; repeats count once.
    #[schema(max_items = 102, pattern = r"^[A-Za-z]{2}$")]
    states: Option<Vec<String>>,
    /// At most one primary.
    #[schema(max_items = 100)]
    addresses: Option<Vec<NewAddress>>,
}

#[derive(ToSchema, Deserialize)]
#[allow(dead_code)] // described, never built: the use case reads the body
#[serde(deny_unknown_fields)]
pub struct NewAddress {
    #[schema(min_length = 1, max_length = 200)]
    street_1: String,
    #[schema(min_length = 1, max_length = 200)]
    street_2: Option<String>,
    #[schema(min_length = 1, max_length = 100)]
    city: String,
    /// A US state code (or `DC`), any case.
    #[schema(pattern = r"^[A-Za-z]{2}$")]
    state: String,
    /// `80202` or `80202-1234`.
    #[schema(pattern = r"^[0-9]{5}(-[0-9]{4})?$")]
    zip: String,
    /// A 10-digit US number; spaces, `-`, `.`, `(`, `)` and a leading `+1` or `1` allowed.
    #[schema(min_length = 10, max_length = 320, pattern = r"^[0-9 ().+-]+$")]
    phone: String,
    is_primary: Option<Boolish>,
}
