//! The provision function: `POST /v1/provision` (the partner contract), the account claim
//! (`GET/POST /claim_account/{claim_id}` for people, `POST /v1/claims/{claim_id}` for
//! programs, `POST /v1/companies/{company_id}/claims` for a new link), reading companies, and
//! the caller's own API tokens (list, rotate).
//!
//! Each feature's module owns its routes and its part of the OpenAPI document (the request
//! bodies are types of the use cases, each describing its own schema); this file only puts
//! them together. `router` builds the whole HTTP surface from injected services; `main.rs`
//! runs it in Lambda and the devserver mounts it locally, so both run exactly this code.

mod claim;
mod companies;
mod provisioning;
mod tokens;

use axum::Router;
use prov_core::Services;
use utoipa::OpenApi;

/// Routes this function serves, as `(method, path)`; the SAM template maps the same set.
pub const ROUTES: &[(&str, &str)] = prov_web::join_routes!(
    provisioning::ROUTES,
    claim::ROUTES,
    companies::ROUTES,
    tokens::ROUTES
);

/// The function's HTTP surface, ready to serve.
pub fn router(services: Services) -> Router {
    prov_web::finish(routes(services))
}

/// The routes alone, for mounting beside other functions' routes (the devserver).
pub fn routes(services: Services) -> Router {
    Router::new()
        .merge(provisioning::routes())
        .merge(claim::routes())
        .merge(companies::routes())
        .merge(tokens::routes())
        .with_state(services)
}

/// This function's part of the OpenAPI document: its operations and the bodies they read.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = provisioning::Doc::openapi();
    doc.merge(claim::Doc::openapi());
    doc.merge(companies::Doc::openapi());
    doc.merge(tokens::Doc::openapi());
    doc
}
