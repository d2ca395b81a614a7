//! How a delivery is signed, in the manner of Stripe's and Slack's request signatures: an
//! HMAC-SHA256, keyed with the endpoint's secret, over the delivery's Unix time, a `.` and
//! the raw body, sent as `Webhook-Signature: t=<unix time>,v1=<hex>`. The time is signed
//! with the body so a delivery cannot be replayed later under a new time; a receiver refuses
//! one older than a few minutes (Stripe's libraries and Slack's guide both use 5 minutes,
//! https://docs.stripe.com/webhooks/signature and
//! https://api.slack.com/authentication/verifying-requests-from-slack) and compares the
//! signature in constant time. `verify` is that recipe (the README gives it in prose).

use aws_lc_rs::hmac;

/// The header a delivery's signature travels in.
pub const SIGNATURE_HEADER: &str = "Webhook-Signature";
/// How old a delivery's time may be when it is checked (and how far in the future).
pub const TOLERANCE_SECONDS: i64 = 300;

fn key(secret: &str) -> hmac::Key {
    hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes())
}

fn signed_payload(timestamp: i64, body: &str) -> Vec<u8> {
    let mut payload = Vec::with_capacity(body.len() + 24);
    payload.extend_from_slice(timestamp.to_string().as_bytes());
    payload.push(b'.');
    payload.extend_from_slice(body.as_bytes());
    payload
}

/// The `Webhook-Signature` header of `body` sent at `timestamp` (Unix seconds).
pub fn header(secret: &str, timestamp: i64, body: &str) -> String {
    let tag = hmac::sign(&key(secret), &signed_payload(timestamp, body));
    format!("t={timestamp},v1={}", hex::encode(tag.as_ref()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the header is not `t=<unix time>,v1=<hex>`")]
    Malformed,
    #[error("the delivery's time is outside the tolerance")]
    Stale,
    #[error("no signature matches the body")]
    Mismatch,
}

/// Checks a delivery as a receiver should: the header's time within `TOLERANCE_SECONDS` of
/// `now` (Unix seconds), and one of its `v1` signatures that of `t.body` under `secret`,
/// compared in constant time. Other schemes in the header are ignored.
pub fn verify(secret: &str, header: &str, body: &str, now: i64) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => signatures.push(hex::decode(v).map_err(|_| SignatureError::Malformed)?),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if (now - timestamp).abs() > TOLERANCE_SECONDS {
        return Err(SignatureError::Stale);
    }
    let key = key(secret);
    let payload = signed_payload(timestamp, body);
    // `hmac::verify` compares in constant time.
    if signatures
        .iter()
        .any(|sig| hmac::verify(&key, &payload, sig).is_ok())
    {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_0123456789abcdef";
    const BODY: &str = r#"{"id":"evt_1","type":"account.created"}"#;

    #[test]
    fn a_signature_verifies_only_its_body_time_and_secret() {
        let now = 1_770_000_000;
        let h = header(SECRET, now, BODY);
        assert!(h.starts_with(&format!("t={now},v1=")));
        assert_eq!(verify(SECRET, &h, BODY, now), Ok(()));
        assert_eq!(verify(SECRET, &h, BODY, now + TOLERANCE_SECONDS), Ok(()));
        assert_eq!(
            verify(SECRET, &h, &BODY.replace("created", "removed"), now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify("whsec_other", &h, BODY, now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(SECRET, &h, BODY, now + TOLERANCE_SECONDS + 1),
            Err(SignatureError::Stale)
        );
        // A new time on an old signature does not verify.
        let replayed = h.replacen(&now.to_string(), &(now + 600).to_string(), 1);
        assert_eq!(
            verify(SECRET, &replayed, BODY, now + 600),
            Err(SignatureError::Mismatch)
        );
        for bad in [
            "",
            "v1=00",
            "t=x,v1=00",
            &format!("t={now}"),
            &format!("t={now},v1=zz"),
        ] {
            assert_eq!(
                verify(SECRET, bad, BODY, now),
                Err(SignatureError::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_signature_is_hmac_sha256_over_time_dot_body() {
        // RFC 4231, test case 2: key "Jefe", data "what do ya want for nothing?".
        let tag = hmac::sign(&key("Jefe"), b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(tag.as_ref()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // The signed payload is the time, a dot and the body.
        assert_eq!(signed_payload(1700, "{}"), b"1700.{}");
    }
}
