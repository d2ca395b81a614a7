//! The API-key connect body: the app's credential fields, read against the app in the path.

use prov_core::body::{Body, Boolish};
use prov_core::catalog::{App, Catalog, ConnectionType, FieldKind};
use prov_core::connector::{Secrets, Tenant};
use prov_core::validate::{Obj, Text, Validator};
use secrecy::SecretString;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{
    AdditionalProperties, AnyOfBuilder, ObjectBuilder, Schema, SchemaFormat, Type,
};
use utoipa::{PartialSchema, ToSchema};

use crate::tenancy::SWITCH_TENANT;

/// API-key connect: exactly the app's credential fields (`credential_fields` of
/// `GET /v1/apps/{app}`), each required unless it says otherwise: a string, an https URL for
/// `url` fields, one of the options for `choice` fields. A choice with a `confirmation`
/// takes its confirming field, `true`, with any option but the first. Secret fields go to
/// the secret store only.
///
/// The schema is built from the app directory: one alternative per API-key app (titled
/// with its slug; the `sandbox_*` apps exist on the devserver only); the body is read
/// against the app in the path.
pub struct ApiKeyCredentials {
    /// The fields that are not secret, kept with the connection.
    pub tenant: Tenant,
    /// The secret fields, for the vendor's check and the secret store only.
    pub secrets: Secrets,
    /// Whether the admin confirms a switch to another vendor tenant (`switch_tenant`).
    pub switch_tenant: bool,
}

impl Body<&App> for ApiKeyCredentials {
    fn parse(v: &mut Validator, root: &Obj<'_>, app: &App) -> Option<Self> {
        let mut names: Vec<&str> = app
            .credential_fields
            .iter()
            .flat_map(|f| [Some(f.name), f.confirmation.map(|c| c.field)])
            .flatten()
            .collect();
        names.push(SWITCH_TENANT);
        v.only(root, &names);
        let switch_tenant = v.boolish(root, SWITCH_TENANT).unwrap_or(false);
        let mut tenant = Tenant::new();
        let mut secrets = Secrets::new();
        for field in app.credential_fields {
            let value = match field.kind {
                FieldKind::Choice { options } => v.parsed(root, field.name, field.required, |raw| {
                    if options.contains(&raw) {
                        Ok(raw.to_owned())
                    } else {
                        Err(format!("must be one of {}.", options.join(", ")))
                    }
                }),
                FieldKind::Url => v.parsed(root, field.name, field.required, |raw| {
                    url::Url::parse(raw)
                        .ok()
                        .filter(|u| u.scheme() == "https" && u.host_str().is_some())
                        .map(|_| raw.to_owned())
                        .ok_or_else(|| "must be an https URL.".to_owned())
                }),
                FieldKind::Text => v.text(root, field.name, field.required, Text { max_chars: 4096 }),
            };
            // A choice that cannot be undone (any option but the default) is taken only with
            // its confirmation.
            if let (Some(confirmation), Some(chosen), FieldKind::Choice { options }) =
                (field.confirmation, value.as_deref(), field.kind)
                && options.first() != Some(&chosen)
                && v.boolish(root, confirmation.field) != Some(true)
            {
                v.error(
                    confirmation.field,
                    format!(
                        "{} Confirm it with `{}: true`.",
                        confirmation.warning, confirmation.field
                    ),
                );
            }
            if let Some(value) = value {
                if field.secret {
                    secrets.insert(field.name.to_owned(), SecretString::from(value));
                } else {
                    tenant.insert(field.name.to_owned(), value);
                }
            }
        }
        Some(ApiKeyCredentials {
            tenant,
            secrets,
            switch_tenant,
        })
    }
}

impl PartialSchema for ApiKeyCredentials {
    fn schema() -> RefOr<Schema> {
        Self::schema_for(&Catalog::new(&[]))
    }
}

impl ToSchema for ApiKeyCredentials {}

impl ApiKeyCredentials {
    /// The schema for the apps of `catalog` (the OpenAPI document is built with it).
    pub fn schema_for(catalog: &Catalog) -> RefOr<Schema> {
        let mut any_of = AnyOfBuilder::new().description(Some(
            "The credential fields of the app in the path, and no others; `switch_tenant: true` confirms connecting another vendor tenant than the one connected.",
        ));
        for app in catalog
            .directory()
            .filter(|a| a.connection_type == ConnectionType::ApiKey)
        {
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
                fields = fields.property(field.name, value);
                if field.required {
                    fields = fields.required(field.name);
                }
                if let Some(confirmation) = field.confirmation {
                    fields = fields.property(confirmation.field, Boolish::schema());
                }
            }
            let switch = ObjectBuilder::new().schema_type(Type::Boolean).description(Some(
                "Confirms a switch to another vendor tenant (the former one's accounts are then no longer managed here).",
            ));
            fields = fields.property(SWITCH_TENANT, switch);
            any_of = any_of.item(fields);
        }
        any_of.into()
    }
}
