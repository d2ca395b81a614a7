//! The connect function: app connections. API-key connect (verified with the vendor before
//! anything is saved), OAuth start and callback, status and disconnect.
//!
//! Its one feature's module owns the routes and their part of the OpenAPI document (the
//! request bodies are types of the use cases, each describing its own schema); this file
//! only puts them together.

mod connection;

use axum::Router;
use prov_core::catalog::Catalog;
use prov_processes::Apps;
use utoipa::OpenApi;

/// Routes this function serves, as `(method, path)`; the SAM template maps the same set.
pub const ROUTES: &[(&str, &str)] = connection::ROUTES;

/// The function's HTTP surface, ready to serve.
pub fn router(apps: Apps) -> Router {
    prov_web::finish(routes(apps))
}

/// The routes alone, for mounting beside other functions' routes (the devserver).
pub fn routes(apps: Apps) -> Router {
    connection::routes().with_state(apps)
}

/// This function's part of the OpenAPI document: its operations and the bodies they read.
pub fn openapi(catalog: &Catalog) -> utoipa::openapi::OpenApi {
    let mut doc = connection::Doc::openapi();
    let components = doc.components.get_or_insert_with(Default::default);
    components.schemas.insert(
        "ApiKeyCredentials".into(),
        prov_processes::connections::ApiKeyCredentials::schema_for(catalog),
    );
    doc
}
