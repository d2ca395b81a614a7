//! This function's part of the OpenAPI document: its operations (from the `#[utoipa::path]`
//! of each handler) and the bodies they accept.
//!
//! The handlers read bodies by hand (`JsonObject`, then the use case's `Validator`), so the
//! request schemas below are descriptions of what that validation accepts; unknown
//! attributes are refused, `null` is taken as absent for optional attributes.
#![allow(dead_code)] // the structs are described, never built

use std::collections::BTreeMap;

use serde::Deserialize;
use utoipa::{OpenApi, ToSchema};

/// API-key connect: exactly the app's credential fields (`credential_fields` of
/// `GET /v1/apps/{app}`), each required: a string, an https URL for `url` fields, one of
/// the options for `choice` fields. Secret fields go to the secret store only.
#[derive(ToSchema, Deserialize)]
pub struct ApiKeyCredentials(BTreeMap<String, String>);

/// OAuth connect.
#[derive(ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthStart {
    /// Where the admin's browser goes back to, under one of the configured return origins.
    #[schema(min_length = 1, max_length = 320)]
    return_url: Option<String>,
    /// A vendor test environment the app lists (`environments` of `GET /v1/apps/{app}`).
    #[schema(min_length = 1, max_length = 320)]
    environment: Option<String>,
    /// Apps where one sign-in reaches several organizations (GitHub organization, Asana
    /// workspace gid, DocuSign account id): the one to manage. Refused by other apps.
    #[schema(min_length = 1, max_length = 200)]
    organization: Option<String>,
}

#[derive(OpenApi)]
#[openapi(paths(
    crate::status,
    crate::connect,
    crate::disconnect,
    crate::start_oauth,
    crate::callback,
))]
struct Doc;

/// This function's operations.
pub fn openapi() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}
