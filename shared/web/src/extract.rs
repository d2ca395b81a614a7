//! Extractors that refuse bad requests in the one error shape.

use std::cell::RefCell;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, RawPathParams, Request};
use axum::http::header;
use axum::http::request::Parts;
use prov_core::audit::Actor;
use prov_core::auth::{Principal, authenticate};
use prov_core::{Category, Error, Services};
use serde::de::{DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
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
        let duplicate = RefCell::new(None);
        match strict_json(&bytes, &duplicate) {
            Ok(Value::Object(map)) => Ok(JsonObject(map)),
            Ok(_) => Err(ApiError::refused(
                "body",
                Category::InvalidAttributeValue,
                "The body must be a JSON object.",
            )),
            Err(_) if duplicate.borrow().is_some() => {
                let key = duplicate.take().unwrap_or_default();
                Err(ApiError::refused(
                    &key,
                    Category::InvalidAttributeValue,
                    format!("`{key}` is given more than once; send each attribute once."),
                ))
            }
            Err(e) => Err(ApiError::refused(
                "body",
                Category::InvalidRequest,
                format!("The body is not valid JSON: {e}."),
            )),
        }
    }
}

/// `bytes` as a JSON value, refusing an object that names a key twice (a plain parse keeps
/// the last one silently, so two readers of the same body could disagree); `duplicate` gets
/// the dotted path of the first such key (`user.email`, `company.addresses[1].zip`).
fn strict_json(bytes: &[u8], duplicate: &RefCell<Option<String>>) -> serde_json::Result<Value> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = Strict {
        path: String::new(),
        duplicate,
    }
    .deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(value)
}

/// Builds a `Value` as `serde_json` does, minus duplicate keys (see `strict_json`).
struct Strict<'a> {
    path: String,
    duplicate: &'a RefCell<Option<String>>,
}

impl Strict<'_> {
    fn at(&self, path: String) -> Self {
        Strict {
            path,
            duplicate: self.duplicate,
        }
    }
}

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self.at(format!("{}[{}]", self.path, items.len())))? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = prov_core::validate::join(&self.path, &key);
            if object.contains_key(&key) {
                *self.duplicate.borrow_mut() = Some(path);
                return Err(serde::de::Error::custom("a key is given twice"));
            }
            let value = map.next_value_seed(self.at(path))?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
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

/// Path parameters. A malformed one (invalid percent-encoding, or a control character such
/// as `%00` once decoded: no id holds one, and the store refuses NUL in keys) is a 404: no
/// such resource.
#[derive(Debug, Clone)]
pub struct PathParam<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for PathParam<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let no_such = || ApiError::refused("path", Category::NotFound, "No such resource.");
        let raw = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| no_such())?;
        if raw.iter().any(|(_, value)| value.chars().any(char::is_control)) {
            return Err(no_such());
        }
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| PathParam(v))
            .map_err(|_| no_such())
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

        /// Sends one request; answers its status and its body as JSON (`null` if it is not).
        fn answer_json(request: Request<Body>) -> (StatusCode, serde_json::Value) {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("a runtime");
            runtime.block_on(async {
                let response = router().oneshot(request).await.expect("infallible");
                let status = response.status();
                let bytes = response.into_body().collect().await.expect("a body").to_bytes();
                (status, serde_json::from_slice(&bytes).unwrap_or_default())
            })
        }

        fn post_body(body: &str) -> (StatusCode, serde_json::Value) {
            answer_json(
                Request::post("/body")
                    .header("content-type", "application/json")
                    .body(Body::from(body.to_owned()))
                    .unwrap(),
            )
        }

        /// Issue 25: a key given twice was read as its last value; now the body is refused
        /// with the key's path, in the one error shape.
        #[test]
        fn a_key_given_twice_is_refused_naming_it() {
            for (body, key) in [
                (r#"{"a": 1, "a": 2}"#, "a"),
                (r#"{"a": 1, "a": 1}"#, "a"),
                (
                    r#"{"user": {"email": "a@x.com", "email": "b@x.com"}}"#,
                    "user.email",
                ),
                (
                    r#"{"company": {"addresses": [{"zip": "1"}, {"zip": "1", "city": "x", "zip": "2"}]}}"#,
                    "company.addresses[1].zip",
                ),
                (
                    r#"{"matches": [[{"a": 1}], [{"b": 2, "b": 3}]]}"#,
                    "matches[1][0].b",
                ),
            ] {
                let (status, answer) = post_body(body);
                assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
                let error = &answer["errors"][0];
                assert_eq!(error["error_key"], key, "{body}: {answer}");
                assert_eq!(error["category"], "invalid_attribute_value", "{body}: {answer}");
            }
            // The same key in different objects is fine.
            let (status, answer) = post_body(r#"{"a": {"a": 1}, "b": [{"a": 1}, {"a": 2}]}"#);
            assert_eq!(status, StatusCode::OK, "{answer}");
        }

        /// Issue 25: `%00` in a path id reached the store, which refused the key: a 500.
        #[test]
        fn a_control_character_in_a_path_id_is_a_404_in_the_one_shape() {
            for segment in [
                "%00", "a%00b", "%0A", "x%0D%0Ay", "%1B", "%7F", "%C2%85", "%C2%9F",
            ] {
                let (status, answer) = answer_json(
                    Request::get(format!("/items/{segment}"))
                        .body(Body::empty())
                        .unwrap(),
                );
                assert_eq!(status, StatusCode::NOT_FOUND, "{segment}: {answer}");
                assert_eq!(
                    answer["errors"][0]["category"], "not_found",
                    "{segment}: {answer}"
                );
            }
            for fine in ["plain", "a%20b", "%C3%A9t%C3%A9", "com_0123"] {
                let (status, _) = answer_json(
                    Request::get(format!("/items/{fine}"))
                        .body(Body::empty())
                        .unwrap(),
                );
                assert_eq!(status, StatusCode::OK, "{fine}");
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(300))]

            /// Without duplicate keys, the strict reading is serde_json's own.
            #[test]
            fn a_body_without_duplicate_keys_reads_as_serde_json_reads_it(body in bodies()) {
                let duplicate = std::cell::RefCell::new(None);
                let strict = super::super::strict_json(&body, &duplicate).ok();
                let plain = serde_json::from_slice::<serde_json::Value>(&body).ok();
                // (Raw bytes may name a key twice by chance; the tests above cover those.)
                if duplicate.borrow().is_none() {
                    prop_assert_eq!(strict, plain);
                }
            }

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
