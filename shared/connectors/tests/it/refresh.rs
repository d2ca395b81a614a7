//! "401 → refresh", per OAuth app: the shared authenticator refreshes after a 401 through
//! `oauth::refresh` (tested end to end on the sandbox apps); here each app's refresh request
//! is checked against its vendor's token endpoint: host, path, grant, the refresh token, and
//! where the vendor wants our client's credentials (form body or HTTP Basic).

use base64::Engine as _;
use prov_connectors::oauth::{self, OAuthClientConfig};
use prov_connectors::registry::{self, PRODUCTION};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::vendor_http;

fn client() -> OAuthClientConfig {
    OAuthClientConfig {
        client_id: "our-client".into(),
        client_secret: SecretString::from("our-secret"),
    }
}

/// Refreshes `app` (in `environment`) against a mock of its token endpoint and answers
/// whether the request went where and how the vendor documents.
async fn refreshes(app: &str, environment: Option<&str>) {
    let spec = registry::spec(app).unwrap();
    let oauth = spec.oauth.unwrap();
    let (_, token_url) = oauth.endpoints(environment).unwrap();
    let token_url = url::Url::parse(token_url).unwrap();
    let server = MockServer::start().await;
    let slack = oauth.style == registry::TokenStyle::SlackUser;
    let answer = if slack {
        json!({"ok": true, "access_token": "new-access", "refresh_token": "new-refresh", "expires_in": 43200, "token_type": "user"})
    } else {
        json!({"access_token": "new-access", "refresh_token": "new-refresh", "expires_in": 3600, "token_type": "Bearer"})
    };
    let given = Mock::given(method("POST"))
        .and(path(token_url.path()))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("refresh_token=old-refresh"));
    let given = if oauth.credentials_in_body || slack {
        given
            .and(body_string_contains("client_id=our-client"))
            .and(body_string_contains("client_secret=our-secret"))
    } else {
        let basic = base64::engine::general_purpose::STANDARD.encode("our-client:our-secret");
        given.and(header("authorization", format!("Basic {basic}").as_str()))
    };
    given
        .respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .expect(1)
        .named(format!("{app} refresh"))
        .mount(&server)
        .await;
    let (http, _) = vendor_http(&server, &[token_url.host_str().unwrap()]);
    let tokens = oauth::refresh(
        http,
        spec,
        "com_1",
        &client(),
        &SecretString::from("old-refresh"),
        environment,
        chrono::Utc::now(),
    )
    .await
    .unwrap_or_else(|e| panic!("{app}: {e:?}"));
    assert_eq!(tokens.access_token.expose_secret(), "new-access", "{app}");
    assert_eq!(
        tokens
            .refresh_token
            .map(|t| t.expose_secret().to_owned())
            .as_deref(),
        Some("new-refresh"),
        "{app}: a rotated refresh token is kept"
    );
}

#[tokio::test]
async fn every_oauth_app_refreshes_at_its_own_token_endpoint_in_its_vendors_shape() {
    let mut checked = Vec::new();
    for spec in registry::all() {
        let Some(oauth) = spec.oauth else { continue };
        // GitHub OAuth-app tokens do not expire and come without a refresh token: a 401
        // there means the token was revoked (the connector says to reconnect).
        if spec.slug() == "github" {
            continue;
        }
        for environment in oauth.environment_names() {
            let environment = (environment != PRODUCTION).then_some(environment);
            refreshes(spec.slug(), environment).await;
            checked.push((spec.slug(), environment));
        }
    }
    // The OAuth apps of the product (and their test environments), none forgotten.
    for app in [
        "asana",
        "box",
        "docusign",
        "dropbox",
        "google_workspace",
        "hubspot",
        "microsoft_365",
        "salesforce",
        "slack",
    ] {
        assert!(checked.iter().any(|(a, _)| *a == app), "{app} not checked");
    }
    assert!(checked.contains(&("salesforce", Some("sandbox"))));
    assert!(checked.contains(&("docusign", Some("demo"))));
}
