//! The accounts function: team members, admins and permissions, the app directory, app
//! accounts (sync, matching, create, suspend, delete, unmatch, remove all), the onboarding
//! checklist, dismissal and offboarding, the audit log, the page that reveals a new account's
//! first password to its person, partners' webhook endpoints, and the OpenAPI document.
//!
//! Each feature's module owns its routes and its part of the OpenAPI document (the request
//! bodies are types of the use cases, each describing its own schema); this file only puts
//! them together. Handlers only translate HTTP: each authorizes the caller for the company
//! with the `Need` of its route, then calls one use case of `prov-core` or `prov-processes`.

mod access_report;
mod admins;
mod app_accounts;
mod apps;
mod common;
mod dismissal;
mod document;
mod events;
mod first_password;
mod onboarding;
mod team;
mod webhooks;

use axum::Router;
use prov_core::catalog::Catalog;
use prov_processes::Apps;
use utoipa::OpenApi;

/// Routes this function serves, as `(method, path)`; the SAM template maps the same set.
pub const ROUTES: &[(&str, &str)] = prov_web::join_routes!(
    document::ROUTES,
    team::ROUTES,
    admins::ROUTES,
    apps::ROUTES,
    events::ROUTES,
    app_accounts::ROUTES,
    access_report::ROUTES,
    first_password::ROUTES,
    onboarding::ROUTES,
    dismissal::ROUTES,
    webhooks::ROUTES,
);

/// The function's HTTP surface, ready to serve.
pub fn router(apps: Apps) -> Router {
    prov_web::finish(routes(apps))
}

/// The routes alone, for mounting beside other functions' routes (the devserver).
pub fn routes(apps: Apps) -> Router {
    Router::new()
        .merge(document::routes())
        .merge(team::routes())
        .merge(admins::routes())
        .merge(apps::routes())
        .merge(events::routes())
        .merge(app_accounts::routes())
        .merge(access_report::routes())
        .merge(first_password::routes())
        .merge(onboarding::routes())
        .merge(dismissal::routes())
        .merge(webhooks::routes())
        .with_state(apps)
}

/// This function's part of the OpenAPI document: its operations and the bodies they read.
pub fn openapi(catalog: &Catalog) -> utoipa::openapi::OpenApi {
    let mut doc = document::Doc::openapi();
    for part in [
        team::Doc::openapi(),
        admins::Doc::openapi(),
        apps::Doc::openapi(),
        events::Doc::openapi(),
        app_accounts::Doc::openapi(),
        access_report::Doc::openapi(),
        first_password::Doc::openapi(),
        onboarding::Doc::openapi(),
        dismissal::Doc::openapi(),
        webhooks::Doc::openapi(),
    ] {
        doc.merge(part);
    }
    let components = doc.components.get_or_insert_with(Default::default);
    components.schemas.insert(
        "RemovalChoices".into(),
        prov_processes::dismissal::RemovalChoices::schema_for(catalog),
    );
    doc
}
