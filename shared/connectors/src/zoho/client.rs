//! The Zoho connector's requests: each product's base URL, the organization every Desk and
//! Books call names (found once), sending, and each product's errors.

use reqwest::header::{HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::sync::OnceCell;
use url::Url;

use super::products::{
    Defaults, Organization, Product, books_error, books_org, crm_org, crm_reported_error, desk_error,
    desk_org, rate_limited, transient,
};
use crate::error::ConnectorError;
use crate::http::{Session, VendorRequest, VendorResponse};

pub struct ZohoConnector {
    pub(super) session: Session,
    pub(super) product: Product,
    /// `https://desk.zoho.{…}/api/v1/`, `https://www.zohoapis.{…}/books/v3/` or
    /// `…/crm/v7/`.
    base: Url,
    /// The organization: Desk's `orgId` or Books' `organization_id` (the id every call
    /// names; CRM's token names its own) and its name.
    org: OnceCell<Organization>,
    pub(super) defaults: OnceCell<Defaults>,
}

impl ZohoConnector {
    /// A connector for `product` at its API's `base` URL, telling Zoho's "slow down" answers.
    pub(super) fn at(session: Session, product: Product, base: Url) -> Self {
        let mut session = session;
        session.rate_limit_signal = Some(rate_limited);
        Self {
            session,
            product,
            base,
            org: OnceCell::new(),
            defaults: OnceCell::new(),
        }
    }

    pub(super) fn url(&self, segments: &[&str], query: &[(&str, String)]) -> Url {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .expect("an https URL")
            .pop_if_empty()
            .extend(segments);
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in query {
                pairs.append_pair(k, v);
            }
        }
        url
    }

    /// A 404 (or "does not exist") says an account is gone only when it answers the
    /// account's own resource; from anything else (the organization, a listing, a default,
    /// an action's sub-resource) it names what Zoho did not find.
    pub(super) fn lookup_error(&self, error: ConnectorError, what: &str) -> ConnectorError {
        match error {
            ConnectorError::NotFound => {
                ConnectorError::Invalid(format!("{} found no {what} (not found)", self.product.name()))
            }
            other => other,
        }
    }

    pub(super) fn error(&self, response: &VendorResponse) -> ConnectorError {
        match self.product {
            Product::Desk => desk_error(response),
            Product::Books => books_error(response),
            Product::Crm => crm_reported_error(response)
                .unwrap_or_else(|| transient(Product::Crm, response.status, &response.text())),
        }
    }

    /// A request in the connection's organization: Desk's `orgId` header, Books'
    /// `organization_id` parameter (first in the query).
    pub(super) async fn request(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, String)],
    ) -> Result<VendorRequest, ConnectorError> {
        match self.product {
            Product::Desk => {
                let org = self.org().await?;
                let value = HeaderValue::from_str(org).map_err(|_| {
                    ConnectorError::Invalid("Zoho Desk sent an unusable organization id".into())
                })?;
                Ok(VendorRequest::new(method, self.url(segments, query))
                    .header(HeaderName::from_static("orgid"), value))
            }
            Product::Books => {
                let mut all = vec![("organization_id", self.org().await?.to_owned())];
                all.extend(query.iter().cloned());
                Ok(VendorRequest::new(method, self.url(segments, &all)))
            }
            Product::Crm => Ok(VendorRequest::new(method, self.url(segments, query))),
        }
    }

    /// Sends and returns the answer's JSON, or the product's error. A 204 (Desk's and CRM's
    /// "nothing") is `null`. Books' `code` other than 0 is an error even with HTTP 200; so
    /// are CRM's per-record errors.
    pub(super) async fn call(&self, request: VendorRequest) -> Result<Value, ConnectorError> {
        let response = self.session.send(request).await?;
        if !response.status.is_success() {
            return Err(self.error(&response));
        }
        if response.status == StatusCode::NO_CONTENT || response.body.is_empty() {
            return Ok(Value::Null);
        }
        let body: Value = response.json()?;
        match self.product {
            Product::Books if body.get("code").and_then(Value::as_i64).unwrap_or(0) != 0 => {
                Err(books_error(&response))
            }
            Product::Crm => match crm_reported_error(&response) {
                Some(e) => Err(e),
                None => Ok(body),
            },
            _ => Ok(body),
        }
    }

    /// The id of the organization this connection manages (Desk, Books), found once.
    pub(super) async fn org(&self) -> Result<&str, ConnectorError> {
        self.organization().await.map(|o| o.id.as_str())
    }

    /// The organization this connection manages, found once: Desk's default organization
    /// (`GET /api/v1/organizations`, https://desk.zoho.com/DeskAPIDocument#Organizations),
    /// Books' default one (`GET /books/v3/organizations`,
    /// https://www.zoho.com/books/api/v3/organizations/), CRM's own (`GET /crm/v7/org`,
    /// https://www.zoho.com/crm/developer/docs/api/v7/get-org-data.html).
    pub(super) async fn organization(&self) -> Result<&Organization, ConnectorError> {
        self.org
            .get_or_try_init(|| async {
                if self.product == Product::Crm {
                    let request = VendorRequest::get(self.url(&["org"], &[]));
                    return crm_org(&self.call(request).await?);
                }
                let url = self.url(&["organizations"], &[]);
                let response = self.session.send(VendorRequest::get(url)).await?;
                if !response.status.is_success() {
                    return Err(self.lookup_error(
                        self.error(&response),
                        "organization for the connection (check its data center)",
                    ));
                }
                let body: Value = if response.status == StatusCode::NO_CONTENT {
                    Value::Null
                } else {
                    response.json()?
                };
                match self.product {
                    Product::Desk => desk_org(&body),
                    Product::Books => {
                        if body.get("code").and_then(Value::as_i64).unwrap_or(0) != 0 {
                            return Err(self.lookup_error(
                                books_error(&response),
                                "organization for the connection (check its data center)",
                            ));
                        }
                        books_org(&body)
                    }
                    Product::Crm => Err(ConnectorError::Unsupported("organizations")),
                }
            })
            .await
    }
}
