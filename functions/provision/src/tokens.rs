//! The caller's own API tokens: what they can see of them, and rotating the one they call
//! with (partners and company admins alike).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use prov_core::tokens::{self, TokenRotation, TokenView};
use prov_core::{Error, Services};
use prov_web::{ApiError, Ctx, JsonBody, presented_token};
use secrecy::ExposeSecret;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

pub(crate) const ROUTES: &[(&str, &str)] = &[("GET", "/v1/tokens"), ("POST", "/v1/tokens/rotate")];

pub(crate) fn routes() -> Router<Services> {
    Router::new()
        .route("/v1/tokens", get(list_tokens))
        .route("/v1/tokens/rotate", post(rotate_token))
}

#[derive(OpenApi)]
#[openapi(paths(list_tokens, rotate_token))]
pub(crate) struct Doc;

/// The token the request carries (the extractor already checked it).
fn presented(headers: &HeaderMap) -> Result<&str, ApiError> {
    presented_token(headers).ok_or_else(|| ApiError(Error::unauthorized()))
}

/// The caller's API tokens, the one this request uses first: when each was made and last
/// used, and when a rotated one stops working. Never a token.
#[utoipa::path(
    get,
    path = "/v1/tokens",
    tag = "provision",
    security(("token" = [])),
    responses(
        (status = 200, description = "The caller's tokens.", body = TokenList),
    )
)]
async fn list_tokens(
    State(svc): State<Services>,
    Ctx(actor): Ctx,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let items = tokens::list(&svc, &actor.principal, presented(&headers)?).await?;
    Ok(Json(TokenList { items }).into_response())
}

/// Rotates the token this request uses: answers a new token, shown once. The old token stops
/// working at once; a partner may keep it working up to 24 hours (`overlap_hours`) while its
/// systems switch.
#[utoipa::path(
    post,
    path = "/v1/tokens/rotate",
    tag = "provision",
    security(("token" = [])),
    request_body = TokenRotation,
    responses(
        (status = 201, description = "The new token, shown once.", body = RotatedToken),
        (status = 409, response = prov_web::openapi::Conflict),
    )
)]
async fn rotate_token(
    State(svc): State<Services>,
    Ctx(actor): Ctx,
    headers: HeaderMap,
    JsonBody(body): JsonBody<TokenRotation>,
) -> Result<Response, ApiError> {
    let rotation = body.parse()?;
    let rotated = tokens::rotate(&svc, &actor, presented(&headers)?, &rotation).await?;
    let answer = RotatedToken {
        token: rotated.token.expose_secret().to_owned(),
        created: rotated.created,
        retired: rotated.retired,
    };
    let mut response = (StatusCode::CREATED, Json(answer)).into_response();
    prov_web::html::protect(&mut response);
    Ok(response)
}

/// The caller's tokens (never paged: a caller has one or two).
#[derive(Serialize, ToSchema)]
pub struct TokenList {
    items: Vec<TokenView>,
}

/// A rotation's answer.
#[derive(Serialize, ToSchema)]
pub struct RotatedToken {
    /// Use as `Authorization: Token <token>`. Shown once; only its hash is kept.
    token: String,
    /// The new token.
    created: TokenView,
    /// The token this request used: gone (`expires_at` now) or working until `expires_at`.
    retired: TokenView,
}
