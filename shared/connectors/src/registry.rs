//! The registry: the one list of vendor specs (each vendor's module exports its own `SPEC`),
//! and lookups by slug. Apps without an entry here cannot be connected yet. Adding a vendor
//! means its module, its sandbox fake, its tests and one line in `VENDORS` (ARCHITECTURE.md,
//! "Adding a vendor").

use std::sync::LazyLock;

use prov_core::catalog::{App, Catalog};

pub use crate::spec::{
    ApiKeyAuth, ApiKeyContext, AppSpec, Build, Exchange, OAuthEnvironment, OAuthSpec, PRODUCTION, Secrets,
    Tenant, TokenStyle,
};

/// Every vendor the service can connect, by product order.
pub const VENDORS: &[&AppSpec] = &[
    &crate::fifteen_five::SPEC,
    &crate::asana::SPEC,
    &crate::box_com::SPEC,
    &crate::clickup::SPEC,
    &crate::docusign::SPEC,
    &crate::dropbox::SPEC,
    &crate::dynatrace::SPEC,
    &crate::github::SPEC,
    &crate::google_workspace::SPEC,
    &crate::hubspot::SPEC,
    &crate::microsoft_365::SPEC,
    &crate::lastpass::SPEC,
    &crate::okta::SPEC,
    &crate::salesforce::SPEC,
    &crate::sauce_labs::SPEC,
    &crate::leankit::SPEC,
    &crate::slack::SPEC,
    &crate::trello::SPEC,
    &crate::zoho::SPEC,
];

/// The sandbox apps (served only in sandbox mode).
pub const SANDBOX: &[&AppSpec] = &[&crate::sandbox::SCIM_SPEC, &crate::sandbox::OAUTH_SPEC];

/// Every spec, the sandbox apps' included.
pub fn all() -> impl Iterator<Item = &'static AppSpec> {
    VENDORS.iter().chain(SANDBOX).copied()
}

/// The app directory built from the specs: the 19 apps by name, plus the sandbox apps in
/// sandbox mode.
pub fn catalog(sandbox: bool) -> Catalog {
    static PRODUCT: LazyLock<Vec<&'static App>> = LazyLock::new(|| by_name(VENDORS));
    static WITH_SANDBOX: LazyLock<Vec<&'static App>> = LazyLock::new(|| {
        let mut apps = by_name(VENDORS);
        apps.extend(SANDBOX.iter().map(|s| s.app));
        apps
    });
    Catalog::new(if sandbox { &WITH_SANDBOX } else { &PRODUCT })
}

fn by_name(specs: &[&'static AppSpec]) -> Vec<&'static App> {
    let mut apps: Vec<&'static App> = specs.iter().map(|s| s.app).collect();
    apps.sort_by_key(|a| a.name.to_lowercase());
    apps
}

pub fn spec(slug: &str) -> Option<&'static AppSpec> {
    all().find(|a| a.slug() == slug)
}

#[cfg(test)]
mod tests {
    use prov_core::catalog::ConnectionType;
    use url::Url;

    use super::*;

    fn tenant(url: &str) -> Tenant {
        Tenant::from([("scim_base_url".to_owned(), url.to_owned())])
    }

    #[test]
    fn fifteen_five_checks_its_host_and_token_length() {
        let check = spec("fifteen_five").unwrap().check;
        let good = tenant("https://acme.15five.com/scim/v2/");
        assert!(check(&good, "scim_token", &"t".repeat(30)).is_ok());
        assert!(check(&good, "scim_token", &"t".repeat(32)).is_err());
        for bad in [
            "http://acme.15five.com/scim/v2/",
            "https://15five.evil.com/scim",
            "https://acme.15five.com.evil.com/x",
            "https://user@acme.15five.com/scim",
        ] {
            assert!(
                check(&tenant(bad), "scim_token", &"t".repeat(30)).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn nineteen_apps_with_unique_slugs_in_order() {
        let apps: Vec<_> = catalog(false).directory().collect();
        assert_eq!(apps.len(), 19);
        let slugs: Vec<_> = apps.iter().map(|a| a.slug).collect();
        let mut sorted = slugs.clone();
        sorted.sort_by_key(|s| apps.iter().find(|a| a.slug == *s).unwrap().name.to_lowercase());
        assert_eq!(slugs, sorted, "directory order is by name");
        sorted.dedup();
        assert_eq!(sorted.len(), 19);
        // The sandbox apps only in sandbox mode.
        assert!(catalog(false).find("sandbox_scim").is_none());
        assert!(catalog(true).find("sandbox_scim").is_some());
        assert!(catalog(true).find("sandbox_oauth").is_some());
    }

    #[test]
    fn capabilities_follow_the_product_table() {
        let apps: Vec<_> = catalog(false).directory().collect();
        let suspendable: Vec<_> = apps
            .iter()
            .filter(|a| a.capabilities.suspend)
            .map(|a| a.slug)
            .collect();
        assert_eq!(
            suspendable,
            [
                "fifteen_five",
                "box",
                "dropbox",
                "google_workspace",
                "lastpass",
                "microsoft_365",
                "okta",
                "planview_leankit",
                "sauce_labs",
                "trello",
                "zoho"
            ]
        );
        let groups: Vec<_> = apps
            .iter()
            .filter(|a| a.capabilities.groups)
            .map(|a| a.slug)
            .collect();
        assert_eq!(groups, ["google_workspace"]);
        assert!(
            apps.iter()
                .all(|a| a.capabilities.create && a.capabilities.delete)
        );
        let free: Vec<_> = apps
            .iter()
            .filter(|a| !a.requires_plus_or_premium)
            .map(|a| a.slug)
            .collect();
        assert_eq!(free, ["google_workspace", "microsoft_365"]);
    }

    #[test]
    fn api_key_apps_declare_their_fields_and_oauth_apps_none() {
        for spec in all() {
            let a = spec.app;
            match a.connection_type {
                ConnectionType::ApiKey => {
                    assert!(
                        a.credential_fields.iter().any(|f| f.secret),
                        "{} needs a secret field",
                        a.slug
                    );
                    assert!(spec.api_key_auth.is_some() && spec.oauth.is_none(), "{}", a.slug);
                }
                ConnectionType::Oauth => {
                    assert!(a.credential_fields.is_empty(), "{}", a.slug);
                    assert!(spec.oauth.is_some() && spec.api_key_auth.is_none(), "{}", a.slug);
                }
            }
        }
    }

    #[test]
    fn every_spec_is_a_catalog_app_and_names_valid_hosts() {
        for app in all() {
            app.host_patterns();
            if let Some(oauth) = app.oauth {
                let environments = oauth
                    .environments
                    .iter()
                    .flat_map(|e| [e.authorize_url, e.token_url]);
                for u in [oauth.authorize_url, oauth.token_url]
                    .into_iter()
                    .chain(environments)
                {
                    let host = Url::parse(u).unwrap().host_str().unwrap().to_owned();
                    assert!(app.host_patterns().iter().any(|p| p.matches(&host)), "{u}");
                }
            }
        }
    }
}
