//! The registry: the one list of vendor specs (each vendor's module exports its own `SPEC`),
//! and lookups by slug. Apps without an entry here cannot be connected yet. Adding a vendor
//! means its module, its sandbox fake, its tests and one line in `VENDORS`.

use crate::{
    asana, box_com, clickup, docusign, dropbox, dynatrace, fifteen_five, github, google_workspace, hubspot,
    lastpass, leankit, microsoft_365, okta, salesforce, sandbox, sauce_labs, slack, trello, zoho,
};

pub use crate::spec::{
    ApiKeyAuth, ApiKeyContext, AppSpec, Build, Exchange, OAuthEnvironment, OAuthSpec, PRODUCTION, Secrets,
    Tenant, TokenStyle,
};

/// Every vendor the service can connect, by product order.
pub const VENDORS: &[&AppSpec] = &[
    &fifteen_five::SPEC,
    &asana::SPEC,
    &box_com::SPEC,
    &clickup::SPEC,
    &docusign::SPEC,
    &dropbox::SPEC,
    &dynatrace::SPEC,
    &github::SPEC,
    &google_workspace::SPEC,
    &hubspot::SPEC,
    &microsoft_365::SPEC,
    &lastpass::SPEC,
    &okta::SPEC,
    &salesforce::SPEC,
    &sauce_labs::SPEC,
    &leankit::SPEC,
    &slack::SPEC,
    &trello::SPEC,
    &zoho::SPEC,
];

/// The sandbox apps (served only in sandbox mode).
pub const SANDBOX: &[&AppSpec] = &[&sandbox::SCIM_SPEC, &sandbox::OAUTH_SPEC];

/// Every spec, the sandbox apps' included.
pub fn all() -> impl Iterator<Item = &'static AppSpec> {
    VENDORS.iter().chain(SANDBOX).copied()
}

pub fn spec(slug: &str) -> Option<&'static AppSpec> {
    all().find(|a| a.slug == slug)
}

#[cfg(test)]
mod tests {
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
