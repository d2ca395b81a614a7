//! What the handlers share: the answer type, the dry-run query and the shape of the lists
//! that are never paged.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use prov_web::ApiError;
use utoipa::ToSchema;

pub(crate) type Answer = Result<Response, ApiError>;

pub(crate) fn created<T: serde::Serialize>(value: T) -> Response {
    (StatusCode::CREATED, Json(value)).into_response()
}

/// `?dry_run=true` answers exactly what would be done, doing nothing.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DryRun {
    pub(crate) dry_run: Option<bool>,
}

/// `{"items": [...]}`, for the lists that are never paged.
#[derive(ToSchema)]
#[allow(dead_code)] // described, never built: the handlers answer `json!({"items": …})`
pub(crate) struct Items<T> {
    items: Vec<T>,
}
