//! The registry as a whole: every vendor's catalog entry says what its connector can do.

use std::sync::Arc;

use prov_connectors::egress::EgressPolicy;
use prov_connectors::http::{HttpConfig, StaticAuth, VendorHttp};
use prov_connectors::registry::{self, Tenant};
use prov_core::catalog::{ConnectionType, FieldKind};
use secrecy::SecretString;

/// Tenant details a connection of `slug` could have: each non-secret credential field with a
/// value of its kind (an https URL on the app's first host, a choice's first option), plus
/// what a vendor tells at connect for the apps whose connector needs it.
fn sample_tenant(slug: &str) -> Tenant {
    let spec = registry::spec(slug).unwrap();
    let host = spec.hosts[0].replace("*.", "acme.");
    let mut tenant = Tenant::new();
    for field in spec.app.credential_fields.iter().filter(|f| !f.secret) {
        let value = match field.kind {
            FieldKind::Url => format!("https://{host}/scim/v2/"),
            FieldKind::Choice { options } => options[0].to_owned(),
            FieldKind::Text => match field.name {
                "account_uuid" => "7b1e3a1c-2f49-4a7e-9c7d-3f2b8c9a1d20".into(),
                "team_id" => "9012345".into(),
                "username" => "admin-user".into(),
                "account" => "acme".into(),
                _ => "acme".into(),
            },
        };
        tenant.insert(field.name.to_owned(), value);
    }
    if slug == "salesforce" {
        tenant.insert("instance_url".into(), "https://acme.my.salesforce.com".into());
    }
    tenant
}

#[test]
fn every_catalog_entry_says_what_its_connector_can_do() {
    let http = Arc::new(VendorHttp::new(EgressPolicy::production(), HttpConfig::default()));
    let auth = Arc::new(StaticAuth::bearer(&SecretString::from("token")));
    let mut checked = Vec::new();
    for spec in registry::all() {
        let app = spec.app;
        let tenant = sample_tenant(app.slug);
        let connector = spec
            .connector(http.clone(), "com_1", &tenant, auth.clone())
            .unwrap_or_else(|e| panic!("{}: {e} (tenant {tenant:?})", app.slug));
        let can = connector.capabilities();
        let says = app.capabilities;
        assert_eq!(
            (can.create, can.suspend, can.delete),
            (says.create, says.suspend, says.delete),
            "{}: the catalog and the connector disagree on create, suspend, delete",
            app.slug
        );
        // What can be suspended can be reactivated.
        assert_eq!(can.reactivate, can.suspend, "{}", app.slug);
        // A suspend the catalog offers is explained.
        assert_eq!(app.suspend_means.is_some(), says.suspend, "{}", app.slug);
        assert_eq!(
            app.connection_type == ConnectionType::Oauth,
            spec.oauth.is_some(),
            "{}",
            app.slug
        );
        checked.push(app.slug);
    }
    assert_eq!(
        checked.len(),
        21,
        "the 19 vendors and the 2 sandbox apps: {checked:?}"
    );
}
