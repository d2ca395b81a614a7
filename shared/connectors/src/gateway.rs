//! The vendor port's adapter (`prov_core::connector::Vendors`): each connection's connector
//! built from its app's spec, and the vendor's half of connecting (pasted credentials
//! checked and proven, the OAuth authorize URL, the code exchange, OAuth credentials that
//! refresh themselves).

use std::sync::Arc;

use async_trait::async_trait;
use chrono::Duration;
use prov_core::clock::Clock;
use prov_core::connector::{
    Authorization, CodeGrant, ConnectOptions, Connector, ConnectorError, Credentials, ENVIRONMENT,
    ProvenCredentials, Secrets, Tenant, TokenKeeper, TokenSet, VendorTenant, Vendors,
};
use reqwest::header::HeaderName;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;

use crate::http::{Authenticator, StaticAuth, VendorHttp};
use crate::oauth::{self, OAuthClientConfig, OAuthClients};
use crate::registry::{self, AppSpec};

/// Refresh an access token this long before it expires.
const REFRESH_MARGIN_SECONDS: i64 = 120;

/// The vendors, reached through one guarded HTTP client with our OAuth registrations.
pub struct Gateway {
    http: Arc<VendorHttp>,
    oauth_clients: Arc<OAuthClients>,
    clock: Arc<dyn Clock>,
}

impl Gateway {
    pub fn new(http: Arc<VendorHttp>, oauth_clients: Arc<OAuthClients>, clock: Arc<dyn Clock>) -> Self {
        Self {
            http,
            oauth_clients,
            clock,
        }
    }

    /// The guarded HTTP client every connector shares (its throttles and minted tokens).
    pub fn http(&self) -> &Arc<VendorHttp> {
        &self.http
    }

    async fn client(&self, app: &str) -> Result<OAuthClientConfig, ConnectorError> {
        self.oauth_clients
            .get(app)
            .await
            .map_err(ConnectorError::Transient)?
            .ok_or(ConnectorError::Unauthorized("OAuth is not configured".into()))
    }
}

fn spec(app: &str) -> Result<&'static AppSpec, ConnectorError> {
    registry::spec(app).ok_or(ConnectorError::Unsupported("connecting this app"))
}

#[async_trait]
impl Vendors for Gateway {
    fn connect_options(&self, app: &str) -> Option<ConnectOptions> {
        let spec = registry::spec(app)?;
        Some(ConnectOptions {
            hosts: spec.hosts,
            environments: spec.oauth.map(|o| o.environment_names()).unwrap_or_default(),
            organization_field: spec.oauth.and_then(|o| o.organization_field),
        })
    }

    async fn connect_api_key(
        &self,
        company_id: &str,
        app: &str,
        tenant: &Tenant,
        secrets: Secrets,
    ) -> Result<ProvenCredentials, ConnectorError> {
        let spec = spec(app)?;
        for (name, value) in &secrets {
            (spec.check)(tenant, name, value.expose_secret())?;
        }
        let secrets = spec
            .exchanged(self.http.clone(), company_id, tenant, secrets)
            .await?;
        let auth = spec.api_key_authenticator(self.http.clone(), company_id, tenant, &secrets)?;
        let connector = spec.connector(self.http.clone(), company_id, tenant, auth)?;
        connector.verify().await?;
        let tenant = connector.tenant().await?;
        Ok(ProvenCredentials { secrets, tenant })
    }

    async fn oauth_registered(&self, app: &str) -> Result<bool, String> {
        Ok(self.oauth_clients.get(app).await?.is_some())
    }

    async fn authorize(
        &self,
        app: &str,
        redirect: &str,
        environment: Option<&str>,
    ) -> Result<Authorization, ConnectorError> {
        let client = self.client(app).await?;
        oauth::authorize(&self.http, spec(app)?, &client, redirect, environment)
    }

    async fn exchange_code(
        &self,
        company_id: &str,
        app: &str,
        grant: CodeGrant<'_>,
    ) -> Result<TokenSet, ConnectorError> {
        let client = self.client(app).await?;
        oauth::exchange_code(
            self.http.clone(),
            spec(app)?,
            company_id,
            &client,
            grant,
            self.clock.now(),
        )
        .await
    }

    async fn verify_tokens(
        &self,
        company_id: &str,
        app: &str,
        tenant: &Tenant,
        access_token: &SecretString,
    ) -> Result<VendorTenant, ConnectorError> {
        let connector = spec(app)?.connector(
            self.http.clone(),
            company_id,
            tenant,
            Arc::new(StaticAuth::bearer(access_token)),
        )?;
        connector.verify().await?;
        connector.tenant().await
    }

    fn connector(
        &self,
        company_id: &str,
        app: &str,
        tenant: &Tenant,
        credentials: Credentials,
        keeper: Arc<dyn TokenKeeper>,
    ) -> Result<Box<dyn Connector>, ConnectorError> {
        let spec = spec(app)?;
        let auth: Arc<dyn Authenticator> = match credentials {
            Credentials::ApiKey(fields) => {
                spec.api_key_authenticator(self.http.clone(), company_id, tenant, &fields)?
            }
            Credentials::Oauth {
                access_token,
                refresh_token,
                expires_at,
            } => Arc::new(OAuthAuthenticator {
                http: self.http.clone(),
                oauth_clients: self.oauth_clients.clone(),
                clock: self.clock.clone(),
                spec,
                company_id: company_id.to_owned(),
                environment: tenant.get(ENVIRONMENT).cloned(),
                keeper,
                tokens: Mutex::new(Tokens {
                    access_token,
                    refresh_token,
                    expires_at,
                }),
            }),
        };
        spec.connector(self.http.clone(), company_id, tenant, auth)
    }
}

struct Tokens {
    access_token: SecretString,
    refresh_token: Option<SecretString>,
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// OAuth credentials of a connection: refreshed shortly before they expire and once after a
/// 401; what a refresh brings (a rotated refresh token included) is kept by the keeper
/// before it is used. A refused refresh is told to the keeper.
struct OAuthAuthenticator {
    http: Arc<VendorHttp>,
    oauth_clients: Arc<OAuthClients>,
    clock: Arc<dyn Clock>,
    spec: &'static AppSpec,
    company_id: String,
    environment: Option<String>,
    keeper: Arc<dyn TokenKeeper>,
    tokens: Mutex<Tokens>,
}

impl OAuthAuthenticator {
    async fn refresh_locked(&self, tokens: &mut Tokens) -> Result<bool, ConnectorError> {
        let Some(refresh_token) = tokens.refresh_token.clone() else {
            return Ok(false);
        };
        let client = self
            .oauth_clients
            .get(self.spec.slug())
            .await
            .map_err(ConnectorError::Transient)?
            .ok_or(ConnectorError::Unauthorized("OAuth is not configured".into()))?;
        let fresh = match oauth::refresh(
            self.http.clone(),
            self.spec,
            &self.company_id,
            &client,
            &refresh_token,
            self.environment.as_deref(),
            self.clock.now(),
        )
        .await
        {
            Ok(fresh) => fresh,
            Err(ConnectorError::Unauthorized(why)) => {
                self.keeper.refused(&why).await;
                return Err(ConnectorError::Unauthorized(why));
            }
            Err(e) => return Err(e),
        };
        let kept = TokenSet {
            access_token: fresh.access_token,
            // Vendors that do not rotate send no new refresh token: keep the old one.
            refresh_token: fresh.refresh_token.or(Some(refresh_token)),
            expires_at: fresh.expires_at,
            scope: fresh.scope,
            tenant: fresh.tenant,
        };
        self.keeper.save(&kept).await?;
        *tokens = Tokens {
            access_token: kept.access_token,
            refresh_token: kept.refresh_token,
            expires_at: kept.expires_at,
        };
        Ok(true)
    }
}

#[async_trait]
impl Authenticator for OAuthAuthenticator {
    async fn header(&self) -> Result<Option<(HeaderName, SecretString)>, ConnectorError> {
        let mut tokens = self.tokens.lock().await;
        let expiring = tokens
            .expires_at
            .is_some_and(|at| at - Duration::seconds(REFRESH_MARGIN_SECONDS) <= self.clock.now());
        if expiring {
            self.refresh_locked(&mut tokens).await?;
        }
        Ok(Some((
            reqwest::header::AUTHORIZATION,
            SecretString::from(format!("Bearer {}", tokens.access_token.expose_secret())),
        )))
    }

    async fn refresh(&self) -> Result<bool, ConnectorError> {
        let mut tokens = self.tokens.lock().await;
        self.refresh_locked(&mut tokens).await
    }
}
