//! The outer layers every function's router gets.

use std::any::Any;
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, Method};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use prov_core::Category;
use tower_http::catch_panic::CatchPanicLayer;
use tracing::Instrument;

use crate::error::{ApiError, InternalFailure, internal_body};

/// The largest request body accepted (API Gateway allows far more; nothing here needs it).
pub const MAX_BODY_BYTES: usize = 64 * 1024;
pub const REQUEST_ID: &str = "x-request-id";

/// The id of the current request, in the request's extensions and the `x-request-id`
/// header of every answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

/// Adds what every router needs: the error shape for unknown routes and methods, the body
/// size limit, panic safety, request ids and a log line per request.
pub fn finish(router: Router) -> Router {
    router
        .fallback(|| async {
            ApiError::refused("path", Category::NotFound, "No such route.").into_response()
        })
        .method_not_allowed_fallback(|| async {
            ApiError::refused(
                "method",
                Category::MethodNotAllowed,
                "This route does not take that method.",
            )
            .into_response()
        })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(CatchPanicLayer::custom(on_panic))
        .layer(middleware::from_fn(request_context))
}

fn on_panic(_: Box<dyn Any + Send + 'static>) -> Response {
    let mut response = axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
    response
        .extensions_mut()
        .insert(InternalFailure("handler panicked".into()));
    response
}

/// A caller's request id is kept when it is a plain token (for correlation across
/// systems); anything else is replaced, so log lines never carry caller-made text.
fn acceptable(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

async fn request_context(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable(v))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "(no route)".to_owned());
    let span = tracing::info_span!("request", request_id = %id, %method, route);
    let started = Instant::now();

    let mut response = next.run(req).instrument(span.clone()).await;

    if let Some(InternalFailure(why)) = response.extensions_mut().remove::<InternalFailure>() {
        span.in_scope(|| tracing::error!(error = %why, "request failed"));
        response = internal_body(&id);
    }
    let status = response.status().as_u16();
    span.in_scope(|| {
        if method != Method::OPTIONS {
            tracing::info!(
                status,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "answered"
            );
        }
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    async fn send(router: &Router, req: Request<Body>) -> (StatusCode, String, serde_json::Value) {
        let res = router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let id = res.headers()[REQUEST_ID].to_str().unwrap().to_owned();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            id,
            serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
        )
    }

    fn app() -> Router {
        finish(
            Router::new()
                .route(
                    "/boom",
                    get(|| async { ApiError(prov_core::Error::Internal("db password=hunter2".into())) }),
                )
                .route(
                    "/panic",
                    get(|| async { panic!("secret detail") as &'static str }),
                ),
        )
    }

    #[tokio::test]
    async fn internal_errors_show_only_the_request_id() {
        let req = Request::get("/boom")
            .header(REQUEST_ID, "abc-123")
            .body(Body::empty())
            .unwrap();
        let (status, id, body) = send(&app(), req).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(id, "abc-123");
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("abc-123"));
        assert!(!body.to_string().contains("hunter2"));
        assert_eq!(body["errors"][0]["category"], "internal_error");
    }

    #[tokio::test]
    async fn panics_become_internal_errors() {
        let (status, id, body) = send(&app(), Request::get("/panic").body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(body["errors"][0]["message"].as_str().unwrap().contains(&id));
        assert!(!body.to_string().contains("secret detail"));
    }

    #[tokio::test]
    async fn unknown_routes_and_methods_answer_in_the_error_shape() {
        let (status, _, body) = send(&app(), Request::get("/nope").body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["errors"][0]["category"], "not_found");
        let (status, _, body) = send(&app(), Request::post("/boom").body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(body["errors"][0]["category"], "method_not_allowed");
    }

    #[tokio::test]
    async fn a_forged_request_id_is_replaced() {
        let req = Request::get("/boom")
            .header(REQUEST_ID, "x\" injected=1")
            .body(Body::empty())
            .unwrap();
        let (_, id, _) = send(&app(), req).await;
        assert!(acceptable(&id));
        assert_ne!(id, "x\" injected=1");
    }
}
