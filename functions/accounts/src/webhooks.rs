//! Partners' webhook endpoints: register (the signing secret shown once), list, delete, and
//! each endpoint's deliveries with every attempt.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get};
use axum::{Json, Router};
use prov_core::listing::ListQuery;
use prov_core::webhooks::{self, NewEndpoint, WebhookEndpoint};
use prov_processes::Apps;
use prov_web::{Ctx, JsonBody, PathParam, QueryParams};
use secrecy::ExposeSecret;
use serde::Serialize;
use serde_json::json;
use utoipa::{OpenApi, ToSchema};

use crate::common::{Answer, Items};

pub(crate) const ROUTES: &[(&str, &str)] = &[
    ("GET", "/v1/webhook_endpoints"),
    ("POST", "/v1/webhook_endpoints"),
    ("DELETE", "/v1/webhook_endpoints/{endpoint_id}"),
    ("GET", "/v1/webhook_endpoints/{endpoint_id}/deliveries"),
];

pub(crate) fn routes() -> Router<Apps> {
    Router::new()
        .route(
            "/v1/webhook_endpoints",
            get(list_endpoints).post(register_endpoint),
        )
        .route("/v1/webhook_endpoints/{endpoint_id}", delete(delete_endpoint))
        .route(
            "/v1/webhook_endpoints/{endpoint_id}/deliveries",
            get(list_deliveries),
        )
}

#[derive(OpenApi)]
#[openapi(paths(register_endpoint, list_endpoints, delete_endpoint, list_deliveries))]
pub(crate) struct Doc;

/// A new endpoint, with its signing secret.
#[derive(Serialize, ToSchema)]
pub struct RegisteredEndpoint {
    #[serde(flatten)]
    endpoint: WebhookEndpoint,
    /// `whsec_…`: the key of every delivery's `Webhook-Signature`. Shown this once; only
    /// kept encrypted.
    secret: String,
}

/// Registers a webhook endpoint of the calling partner for the events it names; answers its
/// signing secret, shown this once. The URL must be https on a public address (plain http to
/// this machine only in the devserver's sandbox mode). Events begin within a minute, for
/// changes from then on. At most 10 endpoints per partner.
#[utoipa::path(
    post,
    path = "/v1/webhook_endpoints",
    tag = "webhooks",
    security(("token" = [])),
    request_body = NewEndpoint,
    responses(
        (status = 201, description = "The endpoint, with its secret (shown once).", body = RegisteredEndpoint),
        (status = 403, response = prov_web::openapi::Forbidden),
    )
)]
async fn register_endpoint(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    JsonBody(body): JsonBody<NewEndpoint>,
) -> Answer {
    let registered = webhooks::register(&apps.hooks(), &actor, &body).await?;
    let answer = RegisteredEndpoint {
        secret: registered.secret.expose_secret().to_owned(),
        endpoint: registered.endpoint,
    };
    let mut response = (StatusCode::CREATED, Json(answer)).into_response();
    prov_web::html::protect(&mut response);
    Ok(response)
}

/// The calling partner's webhook endpoints, oldest first (never their secrets).
#[utoipa::path(
    get,
    path = "/v1/webhook_endpoints",
    tag = "webhooks",
    security(("token" = [])),
    responses(
        (status = 200, description = "The endpoints.", body = Items<WebhookEndpoint>),
        (status = 403, response = prov_web::openapi::Forbidden),
    )
)]
async fn list_endpoints(State(apps): State<Apps>, Ctx(actor): Ctx) -> Answer {
    let items = webhooks::list(&apps.hooks(), &actor).await?;
    Ok(Json(json!({ "items": items })).into_response())
}

/// Deletes an endpoint and its secret: nothing more is delivered to it.
#[utoipa::path(
    delete,
    path = "/v1/webhook_endpoints/{endpoint_id}",
    tag = "webhooks",
    security(("token" = [])),
    params(("endpoint_id" = String, Path, description = "The endpoint's id.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 403, response = prov_web::openapi::Forbidden),
    )
)]
async fn delete_endpoint(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam(endpoint_id): PathParam<String>,
) -> Answer {
    webhooks::delete(&apps.hooks(), &actor, &endpoint_id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// An endpoint's deliveries, newest first: each event as sent, its state, and every attempt
/// with the endpoint's status and the start of its answer.
#[utoipa::path(
    get,
    path = "/v1/webhook_endpoints/{endpoint_id}/deliveries",
    tag = "webhooks",
    security(("token" = [])),
    params(
        ("endpoint_id" = String, Path, description = "The endpoint's id."),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Page size, 1 to 100 (default 25)."),
        ("cursor" = Option<String>, Query, description = "The `next_cursor` of the previous page."),
    ),
    responses(
        (status = 200, description = "A page of deliveries.", body = prov_core::listing::Listing<prov_core::webhooks::Delivery>),
        (status = 403, response = prov_web::openapi::Forbidden),
        (status = 422, response = prov_web::openapi::Unprocessable),
    )
)]
async fn list_deliveries(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam(endpoint_id): PathParam<String>,
    QueryParams(query): QueryParams<ListQuery>,
) -> Answer {
    let page = webhooks::deliveries(&apps.hooks(), &actor, &endpoint_id, &query).await?;
    Ok(Json(page).into_response())
}
