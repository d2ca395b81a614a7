//! How each vendor's token endpoint says that a grant (a refresh token, a code, our client)
//! is refused for good, or only refused for now: one table, read by every token request.
//! A refusal for good is `Unauthorized` (the connection needs an admin to connect again);
//! "for now" is `RateLimited` or `Transient`. What the table does not know is a refused
//! request (`Invalid`), never a connection marked broken on a guess.

use serde_json::Value;

use crate::error::{ConnectorError, brief};

/// What an answer in a shape means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Means {
    /// The grant or our client is refused until an admin connects again.
    Refused,
    /// Too many token requests: later.
    RateLimited,
    /// The vendor's trouble: later.
    Transient,
}

/// One way a vendor words a token endpoint's answer: `field` of the JSON body holds one of
/// `values` (compared without case).
struct Shape {
    /// The app (its slug) that answers this way; `None`: every vendor (RFC 6749).
    app: Option<&'static str>,
    field: &'static str,
    values: &'static [&'static str],
    means: Means,
}

const SHAPES: &[Shape] = &[
    // RFC 6749 §5.2, spoken by Asana, Box, DocuSign, Dropbox, Google, HubSpot (v3),
    // Microsoft, Salesforce and Dynatrace's SSO: the grant is invalid, expired or revoked,
    // or our client is not (or no longer) accepted.
    Shape {
        app: None,
        field: "error",
        values: &["invalid_grant", "invalid_client", "unauthorized_client"],
        means: Means::Refused,
    },
    // RFC 6749 §4.1.2.1's codes for the server's own trouble.
    Shape {
        app: None,
        field: "error",
        values: &["temporarily_unavailable", "server_error"],
        means: Means::Transient,
    },
    // HubSpot's own shape (the v1 endpoint, and kept beside `error` on v3):
    // `{"status": "BAD_REFRESH_TOKEN", "message": "missing or invalid refresh token"}`
    // (https://developers.hubspot.com/changelog/new-oauth-v3-api-endpoints-and-standardized-error-responses).
    Shape {
        app: Some("hubspot"),
        field: "status",
        values: &["BAD_REFRESH_TOKEN", "BAD_AUTH_CODE", "BAD_CLIENT_ID"],
        means: Means::Refused,
    },
    // GitHub, with HTTP 200: a used or expired refresh token of a GitHub App, our client, a
    // code (https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/refreshing-user-access-tokens,
    // https://docs.github.com/en/apps/oauth-apps/maintaining-oauth-apps/troubleshooting-oauth-app-access-token-request-errors).
    Shape {
        app: Some("github"),
        field: "error",
        values: &[
            "bad_refresh_token",
            "incorrect_client_credentials",
            "bad_verification_code",
        ],
        means: Means::Refused,
    },
    // Slack's `oauth.v2.access`, with HTTP 200 and `ok: false`
    // (https://docs.slack.dev/reference/methods/oauth.v2.access).
    Shape {
        app: Some("slack"),
        field: "error",
        values: &[
            "invalid_refresh_token",
            "invalid_code",
            "code_already_used",
            "invalid_client_id",
            "bad_client_secret",
            "token_revoked",
            "token_expired",
            "invalid_grant_type",
        ],
        means: Means::Refused,
    },
    Shape {
        app: Some("slack"),
        field: "error",
        values: &["ratelimited"],
        means: Means::RateLimited,
    },
    // Microsoft identity platform: a person must sign in again (multi-factor or
    // conditional access, AADSTS50076/50079; consent, AADSTS65001). Expired, revoked and
    // inactive refresh tokens (AADSTS70008, 700082, 50173) are `invalid_grant` above
    // (https://learn.microsoft.com/entra/identity-platform/reference-error-codes).
    Shape {
        app: Some("microsoft_365"),
        field: "error",
        values: &["interaction_required", "consent_required", "login_required"],
        means: Means::Refused,
    },
    // Zoho Accounts, with HTTP 200: a refresh token or grant code it does not know, our
    // client; and its throttle on minting (ten tokens per refresh token in ten minutes):
    // "Access Denied" (https://www.zoho.com/crm/developer/docs/api/v8/token-validity.html).
    Shape {
        app: Some("zoho"),
        field: "error",
        values: &["invalid_code", "invalid_client", "invalid_client_secret"],
        means: Means::Refused,
    },
    Shape {
        app: Some("zoho"),
        field: "error",
        values: &["Access Denied"],
        means: Means::RateLimited,
    },
];

/// What `app`'s token endpoint meant by `body` when it sent no tokens: `None` when the
/// answer is in none of the shapes the table knows.
pub fn read(app: &str, body: &[u8]) -> Option<ConnectorError> {
    let said: Value = serde_json::from_slice(body).ok()?;
    let text = |field: &str| said.get(field).and_then(Value::as_str);
    let shape = SHAPES.iter().find(|shape| {
        shape.app.is_none_or(|a| a == app)
            && text(shape.field).is_some_and(|v| {
                shape
                    .values
                    .iter()
                    .any(|known| known.eq_ignore_ascii_case(v.trim()))
            })
    })?;
    let code = text(shape.field).unwrap_or_default();
    let why = match ["error_description", "message"]
        .iter()
        .find_map(|field| text(field))
    {
        Some(description) if description != code => format!("{code}: {}", brief(description)),
        _ => brief(code),
    };
    Some(match shape.means {
        Means::Refused => ConnectorError::Unauthorized(why),
        Means::RateLimited => ConnectorError::RateLimited { retry_after: None },
        Means::Transient => ConnectorError::Transient(format!("the token endpoint: {why}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vendors_own_words_count_for_that_vendor_only() {
        let github = br#"{"error": "bad_refresh_token"}"#;
        assert!(matches!(
            read("github", github),
            Some(ConnectorError::Unauthorized(_))
        ));
        assert_eq!(read("box", github), None);
        let standard = br#"{"error": "invalid_grant", "error_description": "gone"}"#;
        assert_eq!(
            read("box", standard),
            Some(ConnectorError::Unauthorized("invalid_grant: gone".into()))
        );
        assert_eq!(read("box", br#"{"error": "invalid_scope"}"#), None);
        assert_eq!(read("box", b"<html>bad gateway</html>"), None);
        assert_eq!(read("box", br#"{"error": 7}"#), None);
    }
}
