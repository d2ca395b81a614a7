//! What a caller is told when a vendor asks for time.

use prov_core::catalog::App;
use prov_core::error::Error;

/// The vendor's "slow down", said to the caller with the vendor's wait (`Retry-After`).
pub(crate) fn rate_limited(app: &App, wait: Option<std::time::Duration>) -> Error {
    let when = match wait {
        Some(w) if w.as_secs() >= 1 => {
            format!("in {} seconds", w.as_secs() + u64::from(w.subsec_nanos() > 0))
        }
        Some(_) => "in a second".to_owned(),
        None => "in a minute".to_owned(),
    };
    Error::rate_limited(
        "app",
        format!("{} is rate limiting us; try again {when}.", app.name),
        wait,
    )
}
