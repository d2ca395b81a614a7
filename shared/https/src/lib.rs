//! The one HTTPS stack of every function: vendor calls (through `prov-connectors`' guarded
//! client) and AWS calls (through [`AwsHttpClient`]) both use reqwest with [`tls_config`].
//!
//! Why not the SDK's own HTTPS client: it reads and parses the system's root certificates
//! (a 200 KB PEM bundle, base64-decoded in constant time, plus a walk of `/etc/ssl/certs`)
//! when a function starts, which was most of a function's start-up time (see
//! `infra/bench/ANALYSIS.md`), and it is a second HTTP stack in every binary beside reqwest.
//! The roots here are Mozilla's, compiled in as trust anchors (`webpki-roots`): nothing to
//! read or parse at start. They change only with a rebuild, which a deployment is anyway.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;

/// TLS for every outbound call: rustls with aws-lc, its safe default protocol versions
/// (TLS 1.2 and 1.3) and cipher suites, and Mozilla's root certificates compiled in.
pub fn tls_config() -> rustls::ClientConfig {
    static CONFIG: LazyLock<rustls::ClientConfig> = LazyLock::new(|| {
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("aws-lc supports the default protocol versions")
            .with_root_certificates(roots())
            .with_no_client_auth()
    });
    CONFIG.clone()
}

/// Mozilla's roots as trust anchors: borrowed from the binary, nothing parsed.
fn roots() -> rustls::RootCertStore {
    rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned())
}

/// The SDK's own default connect timeout; used when its settings name none.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_millis(3100);

/// The AWS SDK's HTTP client, on reqwest with [`tls_config`]. Redirects are not followed (the
/// SDK reads them as answers), bodies are in memory (every API we call sends and receives
/// small JSON documents), and failures are classified the way the SDK's retry strategy
/// expects: timeouts as timeouts, failed connections and broken exchanges as I/O errors
/// (both retried by the standard mode), anything else as other.
#[derive(Debug, Default, Clone)]
pub struct AwsHttpClient {
    /// One reqwest client (so one connection pool) per connect timeout the SDK asks for;
    /// in practice one.
    clients: Arc<Mutex<HashMap<Duration, reqwest::Client>>>,
}

impl AwsHttpClient {
    pub fn shared() -> SharedHttpClient {
        SharedHttpClient::new(Self::default())
    }

    fn client(&self, connect_timeout: Duration) -> reqwest::Client {
        self.clients
            .lock()
            .expect("clients lock")
            .entry(connect_timeout)
            .or_insert_with(|| {
                reqwest::Client::builder()
                    .tls_backend_preconfigured(tls_config())
                    .connect_timeout(connect_timeout)
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .expect("the AWS HTTP client builds")
            })
            .clone()
    }
}

impl HttpClient for AwsHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(AwsConnector {
            client: self.client(settings.connect_timeout().unwrap_or(DEFAULT_CONNECT_TIMEOUT)),
            read_timeout: settings.read_timeout(),
        })
    }
}

#[derive(Debug)]
struct AwsConnector {
    client: reqwest::Client,
    /// Applied to the whole exchange (reqwest has no separate read timeout per request).
    read_timeout: Option<Duration>,
}

impl HttpConnector for AwsConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = self.client.clone();
        let read_timeout = self.read_timeout;
        HttpConnectorFuture::new(async move {
            let request = to_reqwest(request, read_timeout)?;
            let response = client.execute(request).await.map_err(classify)?;
            let mut answer = http::Response::builder().status(response.status());
            if let Some(headers) = answer.headers_mut() {
                headers.extend(response.headers().clone());
            }
            let body = response.bytes().await.map_err(classify)?;
            let answer = answer
                .body(SdkBody::from(body))
                .map_err(|e| ConnectorError::other(e.into(), None))?;
            HttpResponse::try_from(answer).map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

fn to_reqwest(
    request: HttpRequest,
    read_timeout: Option<Duration>,
) -> Result<reqwest::Request, ConnectorError> {
    let request = request
        .try_into_http1x()
        .map_err(|e| ConnectorError::user(e.into()))?;
    let (parts, body) = request.into_parts();
    let bytes = body
        .bytes()
        .ok_or_else(|| ConnectorError::user("a streaming request body (not supported here)".into()))?
        .to_vec();
    let mut request = reqwest::Request::try_from(http::Request::from_parts(parts, bytes))
        .map_err(|e| ConnectorError::user(e.into()))?;
    *request.timeout_mut() = read_timeout;
    Ok(request)
}

fn classify(error: reqwest::Error) -> ConnectorError {
    if error.is_timeout() {
        ConnectorError::timeout(error.into())
    } else if error.is_connect() || error.is_request() || error.is_body() {
        ConnectorError::io(error.into())
    } else {
        ConnectorError::other(error.into(), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_roots_include_the_ones_aws_endpoints_chain_to() {
        let roots = roots();
        assert!(roots.len() > 100, "only {} roots", roots.len());
        let names: Vec<&[u8]> = roots.roots.iter().map(|anchor| anchor.subject.as_ref()).collect();
        for root in [
            "Amazon Root CA 1",
            "Amazon Root CA 2",
            "Amazon Root CA 3",
            "Amazon Root CA 4",
        ] {
            assert!(
                names
                    .iter()
                    .any(|subject| subject.windows(root.len()).any(|w| w == root.as_bytes())),
                "{root} is missing"
            );
        }
    }
}
