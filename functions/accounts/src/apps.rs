//! The app directory (the same for everyone with a token) and a company's apps: connected,
//! available and unavailable.

use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use prov_core::access::{Need, authorize};
use prov_core::catalog;
use prov_processes::Apps;
use prov_web::{Caller, Ctx, PathParam};
use serde_json::json;
use utoipa::OpenApi;

use crate::common::{Answer, Items};

pub(crate) const ROUTES: &[(&str, &str)] = &[
    ("GET", "/v1/apps"),
    ("GET", "/v1/apps/{app}"),
    ("GET", "/v1/companies/{company_id}/apps"),
];

pub(crate) fn routes() -> Router<Apps> {
    Router::new()
        .route("/v1/apps", get(list_apps))
        .route("/v1/apps/{app}", get(get_app))
        .route("/v1/companies/{company_id}/apps", get(company_apps))
}

#[derive(OpenApi)]
#[openapi(paths(list_apps, get_app, company_apps))]
pub(crate) struct Doc;

/// The catalog is the same for everyone with a token.
/// The app directory.
#[utoipa::path(
    get,
    path = "/v1/apps",
    tag = "apps",
    security(("token" = [])),
    responses(
        (status = 200, description = "Every app.", body = Items<prov_core::catalog::App>),
    )
)]
async fn list_apps(State(apps): State<Apps>, Caller(_): Caller) -> Answer {
    let items: Vec<_> = apps.services.catalog.directory().collect();
    Ok(Json(json!({ "items": items })).into_response())
}

/// One app of the directory, with what its connector needs.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct AppDetail {
    #[serde(flatten)]
    app: &'static catalog::App,
    /// The hosts the app's connector calls, so a security review can allow-list them.
    hosts: Vec<&'static str>,
    /// The vendor test environments an OAuth connection may choose (`environment` at start).
    environments: Vec<&'static str>,
    /// Whether the app can be connected here.
    connectable: bool,
}

/// One app of the directory, with the hosts its connector calls.
#[utoipa::path(
    get,
    path = "/v1/apps/{app}",
    tag = "apps",
    security(("token" = [])),
    params(
        ("app" = String, Path, description = "The app's slug (`GET /v1/apps`)."),
    ),
    responses(
        (status = 200, description = "The app.", body = AppDetail),
    )
)]
async fn get_app(State(apps): State<Apps>, Caller(_): Caller, PathParam(app): PathParam<String>) -> Answer {
    let found = apps.services.catalog.get(&app)?;
    let options = apps.vendors.connect_options(&app);
    let hosts: Vec<&str> = options.as_ref().map(|o| o.hosts.to_vec()).unwrap_or_default();
    // Only apps with test environments list them (production alone goes without saying).
    let environments: Vec<&str> = options
        .map(|o| o.environments)
        .filter(|e| e.len() > 1)
        .unwrap_or_default();
    let connectable = !hosts.is_empty();
    Ok(Json(AppDetail {
        app: found,
        hosts,
        environments,
        connectable,
    })
    .into_response())
}

/// The company's connected, available and unavailable apps.
#[utoipa::path(
    get,
    path = "/v1/companies/{company_id}/apps",
    tag = "apps",
    security(("token" = [])),
    params(
        ("company_id" = String, Path, description = "The company's id."),
    ),
    responses(
        (status = 200, description = "The company's apps.", body = prov_core::company_apps::CompanyApps),
        (status = 403, response = prov_web::openapi::Forbidden),
    )
)]
async fn company_apps(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam(company_id): PathParam<String>,
) -> Answer {
    let svc = &apps.services;
    let access = authorize(svc, &actor.principal, &company_id, Need::ManageApps).await?;
    Ok(Json(prov_core::company_apps::company_apps(svc, &access).await?).into_response())
}
