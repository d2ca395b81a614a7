//! AWS SDK clients built on first use.

use std::sync::{Arc, OnceLock};

/// An AWS SDK client: handed in ready (tests), or built the first time it is used (a
/// function's start). Building a client parses its service's endpoint rules (about 0.1 ms
/// each, see `infra/bench/ANALYSIS.md`), which a function instance that never calls that
/// service (SES from an instance that only reads, say) need not pay. DynamoDB, which every
/// request needs, is built at start.
pub struct SdkClient<C> {
    inner: Arc<Inner<C>>,
}

/// How a client is made from the SDK configuration (`aws_sdk_sesv2::Client::new`, say).
type Build<C> = fn(&aws_types::SdkConfig) -> C;

struct Inner<C> {
    client: OnceLock<C>,
    build: Option<(aws_types::SdkConfig, Build<C>)>,
}

impl<C> SdkClient<C> {
    pub fn on_first_use(sdk: &aws_types::SdkConfig, build: Build<C>) -> Self {
        Self {
            inner: Arc::new(Inner {
                client: OnceLock::new(),
                build: Some((sdk.clone(), build)),
            }),
        }
    }

    pub fn get(&self) -> &C {
        self.inner.client.get_or_init(|| {
            let (sdk, build) = self
                .inner
                .build
                .as_ref()
                .expect("a ready client or a way to build one");
            build(sdk)
        })
    }
}

impl<C> From<C> for SdkClient<C> {
    fn from(client: C) -> Self {
        Self {
            inner: Arc::new(Inner {
                client: OnceLock::from(client),
                build: None,
            }),
        }
    }
}

impl<C> Clone for SdkClient<C> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<C> std::fmt::Debug for SdkClient<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = if self.inner.client.get().is_some() {
            "built"
        } else {
            "not built yet"
        };
        f.debug_struct("SdkClient").field("client", &state).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static BUILT: AtomicUsize = AtomicUsize::new(0);

    fn build(sdk: &aws_types::SdkConfig) -> String {
        BUILT.fetch_add(1, Ordering::SeqCst);
        sdk.region().map(|r| r.to_string()).unwrap_or_default()
    }

    #[test]
    fn a_client_is_built_once_on_first_use_and_shared_by_clones() {
        let sdk = aws_types::SdkConfig::builder()
            .region(aws_types::region::Region::new("eu-west-1"))
            .build();
        let lazy = SdkClient::on_first_use(&sdk, build);
        let copy = lazy.clone();
        assert_eq!(BUILT.load(Ordering::SeqCst), 0, "nothing built before use");
        assert_eq!(format!("{lazy:?}"), r#"SdkClient { client: "not built yet" }"#);
        assert_eq!(copy.get(), "eu-west-1");
        assert_eq!(lazy.get(), "eu-west-1");
        assert_eq!(BUILT.load(Ordering::SeqCst), 1, "built once for both");
        let ready = SdkClient::from("given".to_owned());
        assert_eq!(ready.get(), "given");
        assert_eq!(BUILT.load(Ordering::SeqCst), 1);
    }
}
