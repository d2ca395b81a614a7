//! "401 → refresh", per OAuth app: the shared authenticator refreshes after a 401 through
//! `oauth::refresh` (tested end to end on the sandbox apps); here each app's refresh request
//! is checked against its vendor's token endpoint: host, path, grant, the refresh token, and
//! where the vendor wants our client's credentials (form body or HTTP Basic).

use base64::Engine as _;
use prov_connectors::ConnectorError;
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

/// Issue 24: each vendor's documented way of refusing a refresh token is read as refused
/// credentials (the connection needs an admin again), whatever its status or shape; a
/// vendor's "not now" is not. One row per vendor, with its source.
#[tokio::test]
async fn every_vendors_refusal_of_a_refresh_is_recognised() {
    let rows: &[(&str, u16, serde_json::Value)] = &[
        // https://developers.asana.com/docs/oauth (RFC 6749 errors)
        (
            "asana",
            400,
            json!({"error": "invalid_grant", "error_description": "The refresh token is invalid or expired."}),
        ),
        // https://developer.box.com/guides/authentication/tokens/refresh
        (
            "box",
            400,
            json!({"error": "invalid_grant", "error_description": "Refresh token has expired"}),
        ),
        // https://developers.docusign.com/platform/auth/reference/obtain-access-token/
        ("docusign", 400, json!({"error": "invalid_grant"})),
        // https://developers.dropbox.com/oauth-guide
        (
            "dropbox",
            400,
            json!({"error": "invalid_grant", "error_description": "refresh token is invalid or revoked"}),
        ),
        // https://developers.google.com/identity/protocols/oauth2#expiration
        (
            "google_workspace",
            400,
            json!({"error": "invalid_grant", "error_description": "Token has been expired or revoked."}),
        ),
        // HubSpot's own shape, from before v3's RFC fields and kept beside them
        // (https://developers.hubspot.com/changelog/new-oauth-v3-api-endpoints-and-standardized-error-responses)
        (
            "hubspot",
            400,
            json!({"status": "BAD_REFRESH_TOKEN", "message": "missing or invalid refresh token", "correlationId": "c0ffee"}),
        ),
        (
            "hubspot",
            400,
            json!({"error": "invalid_grant", "error_description": "refresh token is invalid, expired or revoked", "status": "BAD_REFRESH_TOKEN", "message": "refresh token is invalid, expired or revoked"}),
        ),
        // https://learn.microsoft.com/entra/identity-platform/reference-error-codes
        (
            "microsoft_365",
            400,
            json!({"error": "invalid_grant", "error_description": "AADSTS700082: The refresh token has expired due to inactivity.", "error_codes": [700082]}),
        ),
        (
            "microsoft_365",
            400,
            json!({"error": "interaction_required", "error_description": "AADSTS50076: Due to a configuration change made by your administrator, you must use multi-factor authentication.", "error_codes": [50076]}),
        ),
        // https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_flow_errors.htm
        (
            "salesforce",
            400,
            json!({"error": "invalid_grant", "error_description": "expired access/refresh token"}),
        ),
        // https://docs.slack.dev/reference/methods/oauth.v2.access (always HTTP 200)
        (
            "slack",
            200,
            json!({"ok": false, "error": "invalid_refresh_token"}),
        ),
    ];
    let mut vendors = std::collections::BTreeSet::new();
    for (app, status, body) in rows {
        let refused = refusal_of(app, *status, body.clone()).await;
        assert!(
            matches!(&refused, ConnectorError::Unauthorized(_)),
            "{app} {body}: {refused:?}"
        );
        vendors.insert(*app);
    }
    // Every OAuth app with refresh tokens has a row (GitHub's is below, in a 200).
    for spec in prov_connectors::registry::VENDORS {
        if spec.oauth.is_some() && spec.slug() != "github" {
            assert!(vendors.contains(spec.slug()), "{} has no row", spec.slug());
        }
    }
    // A rate limit on the token endpoint is not a refusal.
    assert_eq!(
        refusal_of("slack", 200, json!({"ok": false, "error": "ratelimited"})).await,
        ConnectorError::RateLimited { retry_after: None }
    );
}

/// A refresh of `app` (production) answered `status` with `body`: the error it became.
async fn refusal_of(app: &str, status: u16, body: serde_json::Value) -> ConnectorError {
    let spec = registry::spec(app).unwrap();
    let token_url = url::Url::parse(spec.oauth.unwrap().token_url).unwrap();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(token_url.path()))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .expect(1)
        .mount(&server)
        .await;
    let (http, _) = vendor_http(&server, &[token_url.host_str().unwrap()]);
    oauth::refresh(
        http,
        spec,
        "com_1",
        &client(),
        &SecretString::from("old-refresh"),
        None,
        chrono::Utc::now(),
    )
    .await
    .err()
    .unwrap_or_else(|| panic!("{app}: the refusal was taken for tokens"))
}

/// GitHub App user tokens: a used or expired refresh token is `bad_refresh_token` in an
/// HTTP 200 (https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/refreshing-user-access-tokens).
/// It was a 422 with the connection left connected.
#[tokio::test]
async fn githubs_bad_refresh_token_in_a_200_is_a_refusal() {
    let refused = refusal_of(
        "github",
        200,
        json!({"error": "bad_refresh_token", "error_description": "The refresh token passed is incorrect or expired.",
               "error_uri": "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors"}),
    )
    .await;
    assert_eq!(
        refused,
        ConnectorError::Unauthorized(
            "bad_refresh_token: The refresh token passed is incorrect or expired.".into()
        )
    );
}

/// Zoho's grants (pasted Self Client credentials): an unknown refresh token is refused in
/// an HTTP 200; too many tokens minted from one refresh token ("Access Denied", also a 200)
/// is only "not now" (https://www.zoho.com/crm/developer/docs/api/v8/token-validity.html).
#[tokio::test]
async fn zohos_refusal_and_its_minting_limit_are_told_apart() {
    use prov_connectors::oauth::request_grant;
    for (body, refused) in [
        (json!({"error": "invalid_code"}), true),
        (
            json!({"error": "Access Denied", "error_description": "You have made too many requests continuously. Please try again after some time.", "status": "failure"}),
            false,
        ),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/oauth/v2/token"))
            .respond_with(ResponseTemplate::new(200).set_body_json(body.clone()))
            .mount(&server)
            .await;
        let (http, _) = vendor_http(&server, &["accounts.zoho.com"]);
        let session = registry::spec("zoho").unwrap().session(
            http,
            "com_1",
            std::sync::Arc::new(prov_connectors::http::NoAuth),
        );
        let form = vec![("grant_type".to_owned(), SecretString::from("refresh_token"))];
        let token_url = url::Url::parse("https://accounts.zoho.com/oauth/v2/token").unwrap();
        let error = request_grant(&session, &token_url, &form, true)
            .await
            .err()
            .unwrap();
        if refused {
            assert!(matches!(error, ConnectorError::Unauthorized(_)), "{error:?}");
        } else {
            assert_eq!(error, ConnectorError::RateLimited { retry_after: None });
        }
    }
}
