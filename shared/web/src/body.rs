//! The request body of a route as its type: `JsonBody<T>` reads a JSON object by the rules
//! of [`JsonObject`] and hands it on as an [`Unparsed<T>`]. The handler (or the use case)
//! parses it once the caller is authorized, so a body's problems never answer before a
//! 401, 403 or 404 would (see `prov_core::body`).

use axum::extract::{FromRequest, Request};
use prov_core::body::Unparsed;

use crate::error::ApiError;
use crate::extract::JsonObject;

/// A JSON object body to be read as a `T` (a `prov_core::body::Body`).
pub struct JsonBody<T>(pub Unparsed<T>);

impl<T, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let JsonObject(object) = JsonObject::from_request(req, state).await?;
        Ok(JsonBody(Unparsed::new(object)))
    }
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::post;
    use http_body_util::BodyExt;
    use prov_core::validate::{Obj, Text, Validator};
    use serde_json::{Value, json};
    use tower::ServiceExt;

    use super::*;

    /// `{"name": …, "nickname"?: …}`
    struct Greeting {
        name: String,
        nickname: Option<String>,
    }

    impl prov_core::body::Body for Greeting {
        fn parse(v: &mut Validator, obj: &Obj<'_>, (): ()) -> Option<Self> {
            v.only(obj, &["name", "nickname"]);
            let name = v.text(obj, "name", true, Text::NAME);
            let nickname = v.text(obj, "nickname", false, Text::NAME);
            Some(Greeting {
                name: name?,
                nickname,
            })
        }
    }

    /// A route that parses its body after "authorization": the token `let-me-in`.
    fn router() -> Router {
        let greet = |headers: axum::http::HeaderMap, JsonBody(body): JsonBody<Greeting>| async move {
            if headers.get("authorization").is_none_or(|t| t != "let-me-in") {
                return Err(ApiError(prov_core::Error::not_found("greeting")));
            }
            let greeting = body.parse()?;
            Ok(format!(
                "hello {}{}",
                greeting.name,
                greeting.nickname.map(|n| format!(" ({n})")).unwrap_or_default()
            ))
        };
        crate::finish(Router::new().route("/greet", post(greet)))
    }

    async fn send(token: &str, body: &str) -> (StatusCode, String) {
        let request = Request::post("/greet")
            .header("content-type", "application/json")
            .header("authorization", token)
            .body(Body::from(body.to_owned()))
            .unwrap();
        let response = router().oneshot(request).await.expect("infallible");
        let status = response.status();
        let bytes = response.into_body().collect().await.expect("a body").to_bytes();
        (status, String::from_utf8(bytes.to_vec()).expect("UTF-8"))
    }

    fn error_keys(text: &str) -> Vec<String> {
        let body: Value = serde_json::from_str(text).expect("the error shape");
        body["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .inspect(|e| assert_eq!(e["category"], "invalid_attribute_value"))
            .map(|e| e["error_key"].as_str().expect("a key").to_owned())
            .collect()
    }

    #[tokio::test]
    async fn a_body_is_parsed_into_its_type() {
        let (status, text) = send("let-me-in", r#"{"name": " Ada ", "nickname": null}"#).await;
        assert_eq!((status, text.as_str()), (StatusCode::OK, "hello Ada"));
        let (_, text) = send("let-me-in", r#"{"name": "Ada", "nickname": "Countess"}"#).await;
        assert_eq!(text, "hello Ada (Countess)");
    }

    #[tokio::test]
    async fn every_problem_is_answered_together_in_the_one_shape() {
        let (status, text) = send(
            "let-me-in",
            &json!({"name": 3, "nickname": "", "age": 36}).to_string(),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{text}");
        assert_eq!(error_keys(&text), ["age", "name", "nickname"]);
    }

    #[tokio::test]
    async fn authorization_answers_before_the_body_is_read() {
        let (status, _) = send("guess", r#"{"age": 36}"#).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        // What cannot be read as a JSON object is refused by the extractor, as before.
        let (status, _) = send("let-me-in", "[1]").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let (status, _) = send("let-me-in", "{").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
}
