//! This function's part of the OpenAPI document: its operations (from the `#[utoipa::path]`
//! of each handler) and the bodies they accept.
//!
//! The handlers read bodies by hand (`JsonObject`, then the use case's `Validator`), so the
//! request schemas below are descriptions of what that validation accepts; unknown
//! attributes are refused, `null` is taken as absent for optional attributes.
#![allow(dead_code)] // the structs are described, never built

use prov_core::catalog::{self, ConnectionType, FieldKind};
use serde::Deserialize;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{
    AdditionalProperties, AnyOfBuilder, ObjectBuilder, Schema, SchemaFormat, Type,
};
use utoipa::{OpenApi, PartialSchema, ToSchema};

/// API-key connect: exactly the app's credential fields (`credential_fields` of
/// `GET /v1/apps/{app}`), each required: a string, an https URL for `url` fields, one of
/// the options for `choice` fields. Secret fields go to the secret store only.
///
/// The schema is built from the app directory: one alternative per API-key app (titled
/// with its slug; the `sandbox_*` apps exist on the devserver only).
pub struct ApiKeyCredentials;

impl PartialSchema for ApiKeyCredentials {
    fn schema() -> RefOr<Schema> {
        let mut any_of = AnyOfBuilder::new().description(Some(
            "The credential fields of the app in the path, and no others.",
        ));
        for app in catalog::directory(true).filter(|a| a.connection_type == ConnectionType::ApiKey) {
            let mut fields = ObjectBuilder::new()
                .title(Some(app.slug))
                .additional_properties(Some(AdditionalProperties::FreeForm(false)));
            for field in app.credential_fields {
                let value = ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some(field.label));
                let value = match field.kind {
                    FieldKind::Text => value.min_length(Some(1)).max_length(Some(4096)),
                    FieldKind::Url => value
                        .format(Some(SchemaFormat::Custom("uri".into())))
                        .pattern(Some("^https://")),
                    FieldKind::Choice { options } => value.enum_values(Some(options.iter().copied())),
                };
                fields = fields.property(field.name, value).required(field.name);
            }
            any_of = any_of.item(fields);
        }
        any_of.into()
    }
}

impl ToSchema for ApiKeyCredentials {}

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
