//! What every function's part of the OpenAPI document shares: the one error shape, one
//! named response per refusal status, and the token scheme.
//!
//! Each function describes its own routes with `#[utoipa::path]` on its handlers and
//! refers to these responses by type, e.g. `(status = 404, response = NotFound)`;
//! [`common`] holds their definitions, which the document's builder merges in once.

use prov_core::ErrorDetail;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi, ToSchema};

/// The name of the token scheme in the document's `securitySchemes`.
pub const TOKEN: &str = "token";

/// The one error shape: every refusal of every route.
#[derive(ToSchema)]
#[schema(as = ApiError)]
#[allow(dead_code)] // described, never built: `ApiError` serializes the same shape
pub struct ApiErrorBody {
    /// One entry per problem found (a request with several bad attributes gets them all).
    #[schema(min_items = 1)]
    errors: Vec<ErrorDetail>,
}

/// The JSON error response for `status`, described by `description`.
fn error_response(description: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ApiError")))
                .build(),
        )
        .build()
        .into()
}

macro_rules! error_responses {
    ($($name:ident => $description:literal;)*) => {
        $(
            #[doc = $description]
            pub struct $name;

            impl<'r> utoipa::ToResponse<'r> for $name {
                fn response() -> (&'r str, RefOr<Response>) {
                    (stringify!($name), error_response($description))
                }
            }
        )*
    };
}

error_responses! {
    InvalidRequest => "`invalid_request`: the body could not be read (empty, not JSON).";
    InvalidToken => "`invalid_token`: no token, or not a valid one (`WWW-Authenticate: Token`).";
    Forbidden => "`forbidden`: the caller sees the company but may not do this (or the company's plan does not include the app).";
    NotFound => "`not_found`: no such resource, or one the caller may not see (existence is never revealed).";
    Conflict => "`conflict`: the resource is in a state that does not allow this, or changed meanwhile.";
    Gone => "`gone`: the one-time link was used or has expired.";
    PayloadTooLarge => "`payload_too_large`: the body is over 64 KiB.";
    UnsupportedMediaType => "`unsupported_media_type`: the body is not sent as `application/json`.";
    Unprocessable => "`invalid_attribute_value` (an attribute, a query parameter or a header is not valid; unknown attributes are refused), `duplicate_operation` or `not_eligible`.";
    RateLimited => "`rate_limited`: the vendor app is rate limiting us (`Retry-After`).";
    InternalError => "`internal_error`: the message carries the request id, never internals.";
    ServiceUnavailable => "`service_unavailable`: busy, or the vendor app could not be reached; retry (`Retry-After`).";
}

/// The token scheme: `Authorization: Token <token>`; `Bearer` is accepted as well.
struct TokenScheme;

impl Modify for TokenScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            TOKEN,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A partner's token (from an operator) or a company admin's token (from \
                         claiming the account), sent as `Authorization: Token <token>`; the \
                         scheme `Bearer` is accepted too.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The shared components: the error schema, the error responses and the token scheme.
#[derive(OpenApi)]
#[openapi(
    components(
        schemas(ApiErrorBody, ErrorDetail, prov_core::Category),
        responses(
            InvalidRequest,
            InvalidToken,
            Forbidden,
            NotFound,
            Conflict,
            Gone,
            PayloadTooLarge,
            UnsupportedMediaType,
            Unprocessable,
            RateLimited,
            InternalError,
            ServiceUnavailable
        )
    ),
    modifiers(&TokenScheme)
)]
struct Common;

/// The shared components, to merge into a function's document.
pub fn common() -> utoipa::openapi::OpenApi {
    Common::openapi()
}

/// A boolean that is also accepted as the string `"true"` or `"false"`.
#[derive(ToSchema, serde::Deserialize)]
#[serde(untagged)]
#[allow(dead_code)] // described, never built: bodies are read by hand (`Validator::boolish`)
pub enum Boolish {
    Bool(bool),
    Text(BoolText),
}

#[derive(ToSchema, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum BoolText {
    True,
    False,
}
