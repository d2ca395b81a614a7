//! `GET /openapi.json`: the whole API's OpenAPI document. It is generated from every
//! function's operations by a test of the end-to-end crate, which links them all, and
//! committed as `docs/openapi.json`; this function serves the committed copy, so that it
//! links no other function.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prov_processes::Apps;
use utoipa::OpenApi;

pub(crate) const ROUTES: &[(&str, &str)] = &[("GET", "/openapi.json")];

pub(crate) fn routes() -> Router<Apps> {
    Router::new().route("/openapi.json", get(openapi_json))
}

#[derive(OpenApi)]
#[openapi(paths(openapi_json))]
pub(crate) struct Doc;

const DOCUMENT: &str = include_str!("../../../docs/openapi.json");

/// The OpenAPI document of the whole API (public).
/// This document (OpenAPI 3.1), public.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "meta",
    responses(
        (status = 200, description = "The OpenAPI document.", content_type = "application/json", body = Object),
    )
)]
async fn openapi_json() -> Response {
    let mut response = ([(header::CONTENT_TYPE, "application/json")], DOCUMENT).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}
