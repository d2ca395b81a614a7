//! What every function's part of the OpenAPI document shares: the one error shape, one
//! named response per refusal status, the token scheme, and the builder of the whole
//! document.
//!
//! Each function describes its own routes with `#[utoipa::path]` on its handlers. A route
//! lists only the refusals its own use case can answer, by type, e.g.
//! `(status = 409, response = Conflict)`, or [`CompanyAppRoute`] for the set every route
//! that calls the vendor shares; [`document`] adds the refusals that follow from the kind
//! of route (the token, a resource in the path, a JSON body) to every route of that kind.

use std::collections::BTreeMap;

use prov_core::ErrorDetail;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, InfoBuilder, OpenApiVersion, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{IntoResponses, Modify, OpenApi, ToResponse, ToSchema};

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

/// A reference to the named response `R` of the shared components.
fn refer<R: ToResponse<'static>>() -> RefOr<Response> {
    Ref::from_response_name(R::response().0).into()
}

/// The refusals of a route that acts on the company's app at the vendor: 403 (it needs
/// `manage_apps`, and a plan that includes the app), 422 (the app is not connected or
/// cannot do this, or the vendor refused), 429 (the vendor is rate limiting us) and 503
/// (the vendor could not be reached). Listed in the route's `responses(...)`.
pub struct CompanyAppRoute;

impl IntoResponses for CompanyAppRoute {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        BTreeMap::from([
            ("403".to_owned(), refer::<Forbidden>()),
            ("422".to_owned(), refer::<Unprocessable>()),
            ("429".to_owned(), refer::<RateLimited>()),
            ("503".to_owned(), refer::<ServiceUnavailable>()),
        ])
    }
}

/// The path of the document itself: served from memory, it refuses nothing.
const DOCUMENT_PATH: &str = "/openapi.json";

/// The whole API: the shared components and every function's operations (`parts`), with
/// the refusals that follow from the kind of route added to every route of that kind (a
/// route's own description of a status, such as an HTML page, is kept):
/// - 401 where the route takes the token (its `security`);
/// - 404 where the path names a resource (`{…}`): none, or one the caller may not see;
/// - 400, 413, 415 and 422 where the route reads a JSON body;
/// - 500 (our failure) and 503 (the store is busy) on every route but the document.
pub fn document(parts: impl IntoIterator<Item = utoipa::openapi::OpenApi>) -> utoipa::openapi::OpenApi {
    let mut doc = Common::openapi();
    for part in parts {
        doc.merge(part);
    }
    doc.openapi = OpenApiVersion::Version31;
    for (path, item) in doc.paths.paths.iter_mut() {
        if path == DOCUMENT_PATH {
            continue;
        }
        let operations = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ];
        for operation in operations.into_iter().flatten() {
            add_refusals(path, operation);
        }
    }
    doc.info = InfoBuilder::new()
        .title("App provisioning service")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "Lets a payroll/HR platform's companies manage their team members' accounts in \
             third-party apps, and partners create companies. Every refusal is the one error \
             shape `ApiError`; every answer has an `x-request-id` header.",
        ))
        .build();
    doc
}

/// Adds to `operation` (of `path`) the refusals its kind of route can answer.
fn add_refusals(path: &str, operation: &mut Operation) {
    let mut refusals: Vec<(&str, RefOr<Response>)> = Vec::new();
    if operation.security.is_some() {
        refusals.push(("401", refer::<InvalidToken>()));
    }
    if path.contains('{') {
        refusals.push(("404", refer::<NotFound>()));
    }
    let reads_json = operation
        .request_body
        .as_ref()
        .is_some_and(|body| body.content.contains_key("application/json"));
    if reads_json {
        refusals.push(("400", refer::<InvalidRequest>()));
        refusals.push(("413", refer::<PayloadTooLarge>()));
        refusals.push(("415", refer::<UnsupportedMediaType>()));
        refusals.push(("422", refer::<Unprocessable>()));
    }
    refusals.push(("500", refer::<InternalError>()));
    refusals.push(("503", refer::<ServiceUnavailable>()));
    let responses = &mut operation.responses.responses;
    for (status, response) in refusals {
        responses.entry(status.to_owned()).or_insert(response);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[derive(ToSchema)]
    #[allow(dead_code)]
    struct Change {
        name: String,
    }

    /// A company route with the token, a resource in its path and a JSON body.
    #[utoipa::path(
        patch,
        path = "/v1/things/{thing_id}",
        security(("token" = [])),
        request_body = Change,
        responses(
            (status = 200, description = "The thing."),
            (status = 409, response = Conflict),
        )
    )]
    #[allow(dead_code)]
    fn change_thing() {}

    /// A vendor-calling route without a body.
    #[utoipa::path(
        post,
        path = "/v1/things/{thing_id}/sync",
        security(("token" = [])),
        responses((status = 200, description = "Synced."), CompanyAppRoute)
    )]
    #[allow(dead_code)]
    fn sync_thing() {}

    /// A public page that describes its own 404, and a form body.
    #[utoipa::path(
        post,
        path = "/pages/{page_id}",
        request_body(content = Change, content_type = "application/x-www-form-urlencoded"),
        responses(
            (status = 200, description = "The page.", content_type = "text/html", body = String),
            (status = 404, description = "No such page (a page).", content_type = "text/html", body = String),
        )
    )]
    #[allow(dead_code)]
    fn submit_page() {}

    /// The document itself.
    #[utoipa::path(get, path = "/openapi.json", responses((status = 200, description = "This.")))]
    #[allow(dead_code)]
    fn openapi_json() {}

    #[derive(OpenApi)]
    #[openapi(paths(change_thing, sync_thing, submit_page, openapi_json))]
    struct Part;

    /// Each status of the operation, with the named response it refers to ("" when inline).
    fn responses(doc: &Value, path: &str, method: &str) -> Vec<(String, String)> {
        let responses = doc["paths"][path][method]["responses"].as_object().unwrap();
        responses
            .iter()
            .map(|(status, r)| {
                let name = r["$ref"].as_str().unwrap_or("");
                (
                    status.clone(),
                    name.trim_start_matches("#/components/responses/").to_owned(),
                )
            })
            .collect()
    }

    fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
        expected
            .iter()
            .map(|(s, n)| (s.to_string(), n.to_string()))
            .collect()
    }

    #[test]
    fn refusals_follow_from_the_kind_of_route() {
        let doc = serde_json::to_value(document([Part::openapi()])).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        assert_eq!(
            responses(&doc, "/v1/things/{thing_id}", "patch"),
            pairs(&[
                ("200", ""),
                ("400", "InvalidRequest"),
                ("401", "InvalidToken"),
                ("404", "NotFound"),
                ("409", "Conflict"),
                ("413", "PayloadTooLarge"),
                ("415", "UnsupportedMediaType"),
                ("422", "Unprocessable"),
                ("500", "InternalError"),
                ("503", "ServiceUnavailable"),
            ])
        );
        assert_eq!(
            responses(&doc, "/v1/things/{thing_id}/sync", "post"),
            pairs(&[
                ("200", ""),
                ("401", "InvalidToken"),
                ("403", "Forbidden"),
                ("404", "NotFound"),
                ("422", "Unprocessable"),
                ("429", "RateLimited"),
                ("500", "InternalError"),
                ("503", "ServiceUnavailable"),
            ])
        );
        // Public, a form body: no 401 and no JSON refusals; its own HTML 404 is kept.
        assert_eq!(
            responses(&doc, "/pages/{page_id}", "post"),
            pairs(&[
                ("200", ""),
                ("404", ""),
                ("500", "InternalError"),
                ("503", "ServiceUnavailable")
            ])
        );
        assert_eq!(
            doc["paths"]["/pages/{page_id}"]["post"]["responses"]["404"]["description"],
            "No such page (a page)."
        );
        assert_eq!(responses(&doc, "/openapi.json", "get"), pairs(&[("200", "")]));
        // Every response referred to is defined.
        for name in ["InvalidToken", "NotFound", "RateLimited", "ServiceUnavailable"] {
            assert!(doc["components"]["responses"][name].is_object(), "{name}");
        }
    }
}
