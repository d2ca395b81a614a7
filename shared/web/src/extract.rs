//! Extractors that refuse bad requests in the one error shape.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::header;
use axum::http::request::Parts;
use prov_core::audit::Actor;
use prov_core::auth::{Principal, authenticate};
use prov_core::{Category, Error, Services};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::layers::{MAX_BODY_BYTES, RequestId};

/// A JSON object body: `Content-Type: application/json`, within the size limit, valid JSON,
/// an object at the top.
#[derive(Debug, Clone)]
pub struct JsonObject(pub Map<String, Value>);

fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !is_json(content_type) {
            return Err(ApiError::refused(
                "content-type",
                Category::UnsupportedMediaType,
                "Send the body as JSON with `Content-Type: application/json`.",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::refused(
                    "body",
                    Category::PayloadTooLarge,
                    format!("The body is larger than {MAX_BODY_BYTES} bytes."),
                )
            } else {
                ApiError::refused("body", Category::InvalidRequest, "The body could not be read.")
            }
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::refused(
                "body",
                Category::InvalidRequest,
                "The body is empty; send a JSON object.",
            ));
        }
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => Ok(JsonObject(map)),
            Ok(_) => Err(ApiError::refused(
                "body",
                Category::InvalidAttributeValue,
                "The body must be a JSON object.",
            )),
            Err(e) => Err(ApiError::refused(
                "body",
                Category::InvalidRequest,
                format!("The body is not valid JSON: {e}."),
            )),
        }
    }
}

/// The authenticated caller, from `Authorization: Token <token>` (or `Bearer <token>`).
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl<S> FromRequestParts<S> for Caller
where
    S: AsRef<Services> + Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let token = presented_token(&parts.headers).ok_or_else(|| ApiError(Error::unauthorized()))?;
        let services = state.as_ref();
        let principal = authenticate(services.store.as_ref(), services.clock.as_ref(), token).await?;
        Ok(Caller(principal))
    }
}

/// The token of `Authorization: Token <token>` (or `Bearer <token>`), as presented (the
/// rotation of a token needs to know which one the caller used).
pub fn presented_token(headers: &axum::http::HeaderMap) -> Option<&str> {
    let header = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = header.trim().split_once(' ')?;
    (scheme.eq_ignore_ascii_case("token") || scheme.eq_ignore_ascii_case("bearer")).then(|| token.trim())
}

/// The request's id (see `RequestId`), for audit records.
#[derive(Debug, Clone)]
pub struct ReqId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ReqId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ReqId(
            parts
                .extensions
                .get::<RequestId>()
                .map_or_else(|| "unknown".to_owned(), |r| r.0.clone()),
        ))
    }
}

/// The authenticated caller with the request id: what use cases take as their `Actor`.
#[derive(Debug, Clone)]
pub struct Ctx(pub Actor);

impl<S> FromRequestParts<S> for Ctx
where
    S: AsRef<Services> + Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Caller(principal) = Caller::from_request_parts(parts, state).await?;
        let Ok(ReqId(request_id)) = ReqId::from_request_parts(parts, state).await;
        Ok(Ctx(Actor {
            principal,
            request_id,
        }))
    }
}

/// Query parameters; unknown or malformed ones are refused with a 422.
#[derive(Debug, Clone)]
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| QueryParams(v))
            .map_err(|e| ApiError::refused("query", Category::InvalidAttributeValue, e.body_text()))
    }
}

/// Path parameters. A malformed one (invalid percent-encoding) is a 404: no such resource.
#[derive(Debug, Clone)]
pub struct PathParam<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for PathParam<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| PathParam(v))
            .map_err(|_| ApiError::refused("path", Category::NotFound, "No such resource."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_content_types() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(is_json("application/merge-patch+json"));
        assert!(!is_json("text/plain"));
        assert!(!is_json(""));
        assert!(!is_json("application/x-www-form-urlencoded"));
    }

    mod parsers {
        use axum::Router;
        use axum::body::Body;
        use axum::http::{Request, StatusCode};
        use axum::routing::{get, post};
        use http_body_util::BodyExt;
        use proptest::prelude::*;
        use tower::ServiceExt;

        use super::super::{JsonObject, PathParam, QueryParams};

        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Page {
            limit: Option<u32>,
            cursor: Option<String>,
        }

        /// The request parsers behind the edge's layers, each handler answering 200.
        fn router() -> Router {
            crate::finish(
                Router::new()
                    .route("/body", post(|JsonObject(_): JsonObject| async { "ok" }))
                    .route(
                        "/items/{id}",
                        get(|PathParam(_): PathParam<String>| async { "ok" }),
                    )
                    .route("/page", get(|QueryParams(_): QueryParams<Page>| async { "ok" })),
            )
        }

        /// Sends one request; answers its status and, for a refusal, whether the body is
        /// the one error shape (`{"errors": [{"error_key", "category", "message"}, ...]}`).
        fn answer(request: Request<Body>) -> (StatusCode, bool) {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("a runtime");
            runtime.block_on(async {
                let response = router().oneshot(request).await.expect("infallible");
                let status = response.status();
                let bytes = response.into_body().collect().await.expect("a body").to_bytes();
                let shaped = serde_json::from_slice::<serde_json::Value>(&bytes)
                    .ok()
                    .and_then(|v| v.get("errors").and_then(|e| e.as_array()).cloned())
                    .is_some_and(|errors| {
                        !errors.is_empty()
                            && errors.iter().all(|e| {
                                ["error_key", "category", "message"]
                                    .iter()
                                    .all(|k| e.get(k).is_some_and(|v| v.is_string()))
                            })
                    });
                (status, shaped)
            })
        }

        fn refused_in_shape((status, shaped): (StatusCode, bool)) -> Result<(), TestCaseError> {
            prop_assert!(status == StatusCode::OK || status.is_client_error(), "{status}");
            prop_assert!(
                status == StatusCode::OK || shaped,
                "{status} not in the error shape"
            );
            Ok(())
        }

        /// Bodies: raw bytes, near-JSON text and JSON values of every kind and depth.
        fn bodies() -> impl Strategy<Value = Vec<u8>> {
            let leaf = prop_oneof![
                Just(serde_json::Value::Null),
                any::<bool>().prop_map(serde_json::Value::from),
                any::<i64>().prop_map(serde_json::Value::from),
                any::<f64>().prop_map(serde_json::Value::from),
                ".{0,20}".prop_map(serde_json::Value::from),
            ];
            let json = leaf
                .prop_recursive(4, 64, 8, |inner| {
                    prop_oneof![
                        prop::collection::vec(inner.clone(), 0..8).prop_map(serde_json::Value::from),
                        prop::collection::btree_map(".{0,10}", inner, 0..8)
                            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
                    ]
                })
                .prop_map(|v| v.to_string().into_bytes());
            let nested = (1usize..3000, prop::bool::ANY).prop_map(|(depth, object)| {
                let (open, close) = if object { ("{\"a\":", "}") } else { ("[", "]") };
                format!("{}1{}", open.repeat(depth), close.repeat(depth)).into_bytes()
            });
            prop_oneof![
                prop::collection::vec(any::<u8>(), 0..512),
                "[ -~\\t\\n{}\\[\\]\":,0-9a-z\\\\]{0,200}".prop_map(String::into_bytes),
                json,
                nested,
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(300))]

            #[test]
            fn any_body_is_parsed_or_refused_in_the_one_shape(
                body in bodies(),
                content_type in prop_oneof![
                    Just("application/json"),
                    Just("application/json; charset=utf-8"),
                    Just("text/plain"),
                    Just(""),
                ],
            ) {
                let mut request = Request::post("/body");
                if !content_type.is_empty() {
                    request = request.header("content-type", content_type);
                }
                refused_in_shape(answer(request.body(Body::from(body)).unwrap()))?;
            }

            #[test]
            fn any_path_segment_and_query_is_parsed_or_refused_in_the_one_shape(
                segment in "[!-~]{1,40}",
                query in "[!-~]{0,60}",
            ) {
                // Only what the HTTP layer itself would let through as a URI.
                if let Ok(request) = Request::get(format!("/items/{segment}")).body(Body::empty()) {
                    refused_in_shape(answer(request))?;
                }
                if let Ok(request) = Request::get(format!("/page?{query}")).body(Body::empty()) {
                    refused_in_shape(answer(request))?;
                }
            }
        }
    }
}
