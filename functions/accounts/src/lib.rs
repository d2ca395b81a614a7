//! The accounts function: team members, admins and permissions, the app directory, app
//! accounts (sync, matching, create, suspend, delete, unmatch, remove all), the onboarding
//! checklist and the audit log.
//!
//! Handlers only translate HTTP: each authorizes the caller for the company with the `Need`
//! of its route, then calls one use case of `prov-core`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use axum::{Json, Router};
use prov_connectors::accounts::{self, AccountQuery, Action};
use prov_connectors::connections::Apps;
use prov_connectors::{dismissal, onboarding};
use prov_core::access::{Need, authorize};
use prov_core::listing::ListQuery;
use prov_core::{admins, audit, catalog, team};
use prov_web::{ApiError, Caller, Ctx, JsonObject, PathParam, QueryParams};
use serde_json::json;

mod openapi;

pub use openapi::openapi;

/// Routes this function serves, as `(method, path)`; the SAM template maps the same set.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/openapi.json"),
    ("GET", "/v1/companies/{company_id}/team_members"),
    ("POST", "/v1/companies/{company_id}/team_members"),
    ("GET", "/v1/companies/{company_id}/team_members/{team_member_id}"),
    (
        "PATCH",
        "/v1/companies/{company_id}/team_members/{team_member_id}",
    ),
    ("GET", "/v1/companies/{company_id}/admins"),
    ("POST", "/v1/companies/{company_id}/admins"),
    ("PATCH", "/v1/companies/{company_id}/admins/{admin_id}"),
    ("GET", "/v1/apps"),
    ("GET", "/v1/apps/{app}"),
    ("GET", "/v1/companies/{company_id}/apps"),
    ("GET", "/v1/companies/{company_id}/events"),
    ("POST", "/v1/companies/{company_id}/apps/{app}/sync"),
    ("GET", "/v1/companies/{company_id}/apps/{app}/accounts"),
    ("POST", "/v1/companies/{company_id}/apps/{app}/accounts"),
    ("POST", "/v1/companies/{company_id}/apps/{app}/matches"),
    ("GET", "/v1/companies/{company_id}/apps/{app}/domains"),
    ("GET", "/v1/companies/{company_id}/apps/{app}/groups"),
    (
        "POST",
        "/v1/companies/{company_id}/apps/{app}/groups/{group_id}/members",
    ),
    (
        "POST",
        "/v1/companies/{company_id}/apps/{app}/accounts/{account_id}/suspend",
    ),
    (
        "POST",
        "/v1/companies/{company_id}/apps/{app}/accounts/{account_id}/reactivate",
    ),
    (
        "POST",
        "/v1/companies/{company_id}/apps/{app}/accounts/{account_id}/delete",
    ),
    (
        "POST",
        "/v1/companies/{company_id}/apps/{app}/accounts/{account_id}/unmatch",
    ),
    (
        "GET",
        "/v1/companies/{company_id}/team_members/{team_member_id}/apps",
    ),
    (
        "POST",
        "/v1/companies/{company_id}/team_members/{team_member_id}/apps/remove_all",
    ),
    (
        "GET",
        "/v1/companies/{company_id}/team_members/{team_member_id}/onboarding",
    ),
    (
        "POST",
        "/v1/companies/{company_id}/team_members/{team_member_id}/onboarding",
    ),
    (
        "PUT",
        "/v1/companies/{company_id}/team_members/{team_member_id}/dismissal",
    ),
    (
        "DELETE",
        "/v1/companies/{company_id}/team_members/{team_member_id}/dismissal",
    ),
    (
        "POST",
        "/v1/companies/{company_id}/team_members/{team_member_id}/rehire",
    ),
    (
        "GET",
        "/v1/companies/{company_id}/team_members/{team_member_id}/offboarding",
    ),
    (
        "POST",
        "/v1/companies/{company_id}/team_members/{team_member_id}/offboarding",
    ),
];

/// The function's HTTP surface, ready to serve.
pub fn router(apps: Apps) -> Router {
    prov_web::finish(routes(apps))
}

/// The routes alone, for mounting beside other functions' routes (the devserver).
pub fn routes(apps: Apps) -> Router {
    Router::new()
        .route(
            "/v1/companies/{company_id}/team_members",
            get(list_team).post(create_team_member),
        )
        .route(
            "/v1/companies/{company_id}/team_members/{team_member_id}",
            get(get_team_member).patch(update_team_member),
        )
        .route(
            "/v1/companies/{company_id}/admins",
            get(list_admins).post(invite_admin),
        )
        .route(
            "/v1/companies/{company_id}/admins/{admin_id}",
            patch(set_permissions),
        )
        .route("/openapi.json", get(openapi_json))
        .route("/v1/apps", get(list_apps))
        .route("/v1/apps/{app}", get(get_app))
        .route("/v1/companies/{company_id}/apps", get(company_apps))
        .route("/v1/companies/{company_id}/events", get(list_events))
        .route("/v1/companies/{company_id}/apps/{app}/sync", post(sync))
        .route(
            "/v1/companies/{company_id}/apps/{app}/accounts",
            get(list_accounts).post(create_account),
        )
        .route("/v1/companies/{company_id}/apps/{app}/matches", post(matches))
        .route("/v1/companies/{company_id}/apps/{app}/domains", get(domains))
        .route("/v1/companies/{company_id}/apps/{app}/groups", get(groups))
        .route(
            "/v1/companies/{company_id}/apps/{app}/groups/{group_id}/members",
            post(add_to_group),
        )
        .route(
            "/v1/companies/{company_id}/apps/{app}/accounts/{account_id}/suspend",
            post(suspend),
        )
        .route(
            "/v1/companies/{company_id}/apps/{app}/accounts/{account_id}/reactivate",
            post(reactivate),
        )
        .route(
            "/v1/companies/{company_id}/apps/{app}/accounts/{account_id}/delete",
            post(delete),
        )
        .route(
            "/v1/companies/{company_id}/apps/{app}/accounts/{account_id}/unmatch",
            post(unmatch),
        )
        .route(
            "/v1/companies/{company_id}/team_members/{team_member_id}/apps",
            get(member_apps),
        )
        .route(
            "/v1/companies/{company_id}/team_members/{team_member_id}/apps/remove_all",
            post(remove_all),
        )
        .route(
            "/v1/companies/{company_id}/team_members/{team_member_id}/onboarding",
            get(onboarding).post(run_onboarding),
        )
        .route(
            "/v1/companies/{company_id}/team_members/{team_member_id}/dismissal",
            put(dismiss).delete(cancel_dismissal),
        )
        .route(
            "/v1/companies/{company_id}/team_members/{team_member_id}/rehire",
            post(rehire),
        )
        .route(
            "/v1/companies/{company_id}/team_members/{team_member_id}/offboarding",
            get(offboarding).post(update_offboarding),
        )
        .with_state(apps)
}

type Answer = Result<Response, ApiError>;

fn created<T: serde::Serialize>(value: T) -> Response {
    (StatusCode::CREATED, Json(value)).into_response()
}

/// The company's team members, in the order added.
#[utoipa::path(
    get,
    path = "/v1/companies/{company_id}/team_members",
    tag = "accounts",
    security(("token" = [])),
    params(
        ("company_id" = String, Path, description = "The company's id."),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Page size, 1 to 100 (default 25)."),
        ("cursor" = Option<String>, Query, description = "The `next_cursor` of the previous page."),
    ),
    responses(
        (status = 200, description = "A page of team members.", body = prov_core::listing::Listing<prov_core::team::TeamMemberView>),
        (status = 422, response = prov_web::openapi::Unprocessable),
    )
)]
async fn list_team(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam(company_id): PathParam<String>,
    QueryParams(query): QueryParams<ListQuery>,
) -> Answer {
    let svc = &apps.services;
    authorize(svc, &actor.principal, &company_id, Need::Read).await?;
    Ok(Json(team::list(svc, &company_id, &query).await?).into_response())
}

/// Adds a team member.
#[utoipa::path(
    post,
    path = "/v1/companies/{company_id}/team_members",
    tag = "accounts",
    security(("token" = [])),
    params(
        ("company_id" = String, Path, description = "The company's id."),
    ),
    request_body = openapi::NewTeamMember,
    responses(
        (status = 201, description = "The team member.", body = prov_core::team::TeamMemberView),
        (status = 409, response = prov_web::openapi::Conflict),
    )
)]
async fn create_team_member(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam(company_id): PathParam<String>,
    JsonObject(body): JsonObject,
) -> Answer {
    let svc = &apps.services;
    let access = authorize(svc, &actor.principal, &company_id, Need::ManageTeam).await?;
    Ok(created(team::TeamMemberView::from(
        team::create(svc, &actor, &access, &body).await?,
    )))
}

/// A team member.
#[utoipa::path(
    get,
    path = "/v1/companies/{company_id}/team_members/{team_member_id}",
    tag = "accounts",
    security(("token" = [])),
    params(
        ("company_id" = String, Path, description = "The company's id."),
        ("team_member_id" = String, Path, description = "The team member's id."),
    ),
    responses(
        (status = 200, description = "The team member.", body = prov_core::team::TeamMemberView),
    )
)]
async fn get_team_member(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam((company_id, team_member_id)): PathParam<(String, String)>,
) -> Answer {
    let svc = &apps.services;
    authorize(svc, &actor.principal, &company_id, Need::Read).await?;
    Ok(Json(team::TeamMemberView::from(
        team::get(svc, &company_id, &team_member_id).await?,
    ))
    .into_response())
}

/// Changes a team member.
#[utoipa::path(
    patch,
    path = "/v1/companies/{company_id}/team_members/{team_member_id}",
    tag = "accounts",
    security(("token" = [])),
    params(
        ("company_id" = String, Path, description = "The company's id."),
        ("team_member_id" = String, Path, description = "The team member's id."),
    ),
    request_body = openapi::TeamMemberChange,
    responses(
        (status = 200, description = "The team member, as changed.", body = prov_core::team::TeamMemberView),
        (status = 409, response = prov_web::openapi::Conflict),
    )
)]
async fn update_team_member(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam((company_id, team_member_id)): PathParam<(String, String)>,
    JsonObject(body): JsonObject,
) -> Answer {
    let svc = &apps.services;
    authorize(svc, &actor.principal, &company_id, Need::ManageTeam).await?;
    let member = team::update(svc, &actor, &company_id, &team_member_id, &body).await?;
    Ok(Json(team::TeamMemberView::from(member)).into_response())
}

/// The company's admins with their effective permissions.
#[utoipa::path(
    get,
    path = "/v1/companies/{company_id}/admins",
    tag = "accounts",
    security(("token" = [])),
    params(
        ("company_id" = String, Path, description = "The company's id."),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Page size, 1 to 100 (default 25)."),
        ("cursor" = Option<String>, Query, description = "The `next_cursor` of the previous page."),
    ),
    responses(
        (status = 200, description = "A page of admins.", body = prov_core::listing::Listing<prov_core::admins::AdminView>),
        (status = 422, response = prov_web::openapi::Unprocessable),
    )
)]
async fn list_admins(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam(company_id): PathParam<String>,
    QueryParams(query): QueryParams<ListQuery>,
) -> Answer {
    let svc = &apps.services;
    authorize(svc, &actor.principal, &company_id, Need::Read).await?;
    Ok(Json(admins::list(svc, &company_id, &query).await?).into_response())
}

/// Invites a non-employee admin (the owning partner or the primary admin).
#[utoipa::path(
    post,
    path = "/v1/companies/{company_id}/admins",
    tag = "accounts",
    security(("token" = [])),
    params(
        ("company_id" = String, Path, description = "The company's id."),
    ),
    request_body = openapi::AdminInvite,
    responses(
        (status = 201, description = "The invited admin.", body = prov_core::admins::AdminView),
        (status = 403, response = prov_web::openapi::Forbidden),
        (status = 409, response = prov_web::openapi::Conflict),
    )
)]
async fn invite_admin(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam(company_id): PathParam<String>,
    JsonObject(body): JsonObject,
) -> Answer {
    let svc = &apps.services;
    let access = authorize(svc, &actor.principal, &company_id, Need::ManageAdmins).await?;
    Ok(created(admins::invite(svc, &actor, &access, &body).await?))
}

/// Grants or revokes an admin's permissions (the owning partner or the primary admin).
#[utoipa::path(
    patch,
    path = "/v1/companies/{company_id}/admins/{admin_id}",
    tag = "accounts",
    security(("token" = [])),
    params(
        ("company_id" = String, Path, description = "The company's id."),
        ("admin_id" = String, Path, description = "The admin's id."),
    ),
    request_body = openapi::PermissionsChange,
    responses(
        (status = 200, description = "The admin, as changed.", body = prov_core::admins::AdminView),
        (status = 403, response = prov_web::openapi::Forbidden),
        (status = 409, response = prov_web::openapi::Conflict),
    )
)]
async fn set_permissions(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam((company_id, admin_id)): PathParam<(String, String)>,
    JsonObject(body): JsonObject,
) -> Answer {
    let svc = &apps.services;
    let access = authorize(svc, &actor.principal, &company_id, Need::ManageAdmins).await?;
    Ok(Json(admins::set_permissions(svc, &actor, &access, &admin_id, &body).await?).into_response())
}

/// The catalog is the same for everyone with a token.
/// The app directory.
#[utoipa::path(
    get,
    path = "/v1/apps",
    tag = "apps",
    security(("token" = [])),
    responses(
        (status = 200, description = "Every app.", body = openapi::Items<prov_core::catalog::App>),
    )
)]
async fn list_apps(State(apps): State<Apps>, Caller(_): Caller) -> Answer {
    let items: Vec<_> = catalog::directory(apps.services.settings.sandbox).collect();
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
    let found = catalog::get(&app, apps.services.settings.sandbox)?;
    let spec = prov_connectors::registry::spec(&app);
    let hosts: Vec<&str> = spec.map(|s| s.hosts.to_vec()).unwrap_or_default();
    let environments: Vec<&str> = spec
        .and_then(|s| s.oauth)
        .filter(|o| !o.environments.is_empty())
        .map(|o| o.environment_names())
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

/// The OpenAPI document of the whole API (public).
/// This document (OpenAPI 3.1), public.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "meta",
    responses(
        (status = 200, description = "The OpenAPI document.", content_type = "application/json", body = Object),
    )
)]
async fn openapi_json() -> Response {
    openapi::document_response()
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
        (status = 200, description = "The company's apps.", body = prov_core::catalog::CompanyApps),
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
    Ok(Json(catalog::company_apps(svc, &access.company).await?).into_response())
}

/// The audit log, newest first.
#[utoipa::path(
    get,
    path = "/v1/companies/{company_id}/events",
    tag = "accounts",
    security(("token" = [])),
    params(
        ("company_id" = String, Path, description = "The company's id."),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Page size, 1 to 100 (default 25)."),
        ("cursor" = Option<String>, Query, description = "The `next_cursor` of the previous page."),
    ),
    responses(
        (status = 200, description = "A page of events.", body = prov_core::listing::Listing<prov_core::audit::AuditEvent>),
        (status = 422, response = prov_web::openapi::Unprocessable),
    )
)]
async fn list_events(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam(company_id): PathParam<String>,
    QueryParams(query): QueryParams<ListQuery>,
) -> Answer {
    let svc = &apps.services;
    authorize(svc, &actor.principal, &company_id, Need::Read).await?;
    Ok(Json(audit::list(svc, &company_id, &query).await?).into_response())
}

/// Pulls every vendor account, records changes and auto-matches.
#[utoipa::path(
    post,
    path = "/v1/companies/{company_id}/apps/{app}/sync",
    tag = "app accounts",
    security(("token" = [])),
    params(
        ("company_id" = String, Path, description = "The company's id."),
        ("app" = String, Path, description = "The app's slug (`GET /v1/apps`)."),
    ),
    responses(
        (status = 200, description = "Counts of what the sync found.", body = prov_connectors::accounts::SyncReport),
        (status = 409, response = prov_web::openapi::Conflict),
        prov_web::openapi::CompanyAppRoute,
    )
)]
async fn sync(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam((company_id, app)): PathParam<(String, String)>,
) -> Answer {
    let access = authorize(&apps.services, &actor.principal, &company_id, Need::ManageApps).await?;
    Ok(Json(accounts::sync(&apps, &actor, &access, &app).await?).into_response())
}

/// The app's accounts, with suggestions and allowed actions.
#[utoipa::path(
    get,
    path = "/v1/companies/{company_id}/apps/{app}/accounts",
    tag = "app accounts",
    security(("token" = [])),
    params(
        ("company_id" = String, Path, description = "The company's id."),
        ("app" = String, Path, description = "The app's slug (`GET /v1/apps`)."),
        ("status" = Option<String>, Query, description = "Only accounts in this status: `invite_sent`, `connected`, `suspended` or `deleted`."),
        ("match" = Option<String>, Query, description = "Only accounts in this match state: `matched`, `unmatched` or `do_not_match`."),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Page size, 1 to 100 (default 25)."),
        ("cursor" = Option<String>, Query, description = "The `next_cursor` of the previous page."),
    ),
    responses(
        (status = 200, description = "A page of accounts, and counts over all of them.", body = prov_connectors::accounts::AccountListing),
        (status = 403, response = prov_web::openapi::Forbidden),
        (status = 422, response = prov_web::openapi::Unprocessable),
    )
)]
async fn list_accounts(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam((company_id, app)): PathParam<(String, String)>,
    QueryParams(query): QueryParams<AccountQuery>,
) -> Answer {
    authorize(&apps.services, &actor.principal, &company_id, Need::ManageApps).await?;
    Ok(Json(accounts::list_accounts(&apps, &company_id, &app, &query).await?).into_response())
}

/// Creates an account for a team member (the vendor invites them).
#[utoipa::path(
    post,
    path = "/v1/companies/{company_id}/apps/{app}/accounts",
    tag = "app accounts",
    security(("token" = [])),
    params(
        ("company_id" = String, Path, description = "The company's id."),
        ("app" = String, Path, description = "The app's slug (`GET /v1/apps`)."),
    ),
    request_body = openapi::NewAccount,
    responses(
        (status = 201, description = "The account.", body = prov_connectors::accounts::AccountView),
        (status = 409, response = prov_web::openapi::Conflict),
        prov_web::openapi::CompanyAppRoute,
    )
)]
async fn create_account(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam((company_id, app)): PathParam<(String, String)>,
    JsonObject(body): JsonObject,
) -> Answer {
    let access = authorize(&apps.services, &actor.principal, &company_id, Need::ManageApps).await?;
    let mut v = prov_core::validate::Validator::new();
    let root = prov_core::validate::Obj::root(&body);
    v.only(&root, &["team_member_id", "work_email"]);
    let team_member_id = v.text(
        &root,
        "team_member_id",
        true,
        prov_core::validate::Text { max_chars: 64 },
    );
    // A new mailbox at this address (apps that create work emails).
    let work_email = v.text(
        &root,
        "work_email",
        false,
        prov_core::validate::Text { max_chars: 254 },
    );
    let team_member_id = v.finish(team_member_id)?;
    Ok(created(
        accounts::create_account(
            &apps,
            &actor,
            &access,
            &app,
            &team_member_id,
            work_email.as_deref(),
        )
        .await?,
    ))
}

/// The domains a work email can be created on.
#[utoipa::path(
    get,
    path = "/v1/companies/{company_id}/apps/{app}/domains",
    tag = "app accounts",
    security(("token" = [])),
    params(
        ("company_id" = String, Path, description = "The company's id."),
        ("app" = String, Path, description = "The app's slug (`GET /v1/apps`)."),
    ),
    responses(
        (status = 200, description = "The domains.", body = openapi::Items<String>),
        prov_web::openapi::CompanyAppRoute,
    )
)]
async fn domains(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam((company_id, app)): PathParam<(String, String)>,
) -> Answer {
    authorize(&apps.services, &actor.principal, &company_id, Need::ManageApps).await?;
    let items = accounts::work_email_domains(&apps, &company_id, &app).await?;
    Ok(Json(json!({ "items": items })).into_response())
}

/// The app's groups.
#[utoipa::path(
    get,
    path = "/v1/companies/{company_id}/apps/{app}/groups",
    tag = "app accounts",
    security(("token" = [])),
    params(
        ("company_id" = String, Path, description = "The company's id."),
        ("app" = String, Path, description = "The app's slug (`GET /v1/apps`)."),
    ),
    responses(
        (status = 200, description = "The groups.", body = openapi::Items<prov_connectors::model::VendorGroup>),
        prov_web::openapi::CompanyAppRoute,
    )
)]
async fn groups(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam((company_id, app)): PathParam<(String, String)>,
) -> Answer {
    authorize(&apps.services, &actor.principal, &company_id, Need::ManageApps).await?;
    let items = accounts::groups(&apps, &company_id, &app).await?;
    Ok(Json(json!({ "items": items })).into_response())
}

/// Puts an account in a group (already a member is fine).
#[utoipa::path(
    post,
    path = "/v1/companies/{company_id}/apps/{app}/groups/{group_id}/members",
    tag = "app accounts",
    security(("token" = [])),
    params(
        ("company_id" = String, Path, description = "The company's id."),
        ("app" = String, Path, description = "The app's slug (`GET /v1/apps`)."),
        ("group_id" = String, Path, description = "The group's id at the vendor (`GET …/groups`)."),
    ),
    request_body = openapi::GroupMember,
    responses(
        (status = 200, description = "The account.", body = prov_connectors::accounts::AccountView),
        (status = 409, response = prov_web::openapi::Conflict),
        prov_web::openapi::CompanyAppRoute,
    )
)]
async fn add_to_group(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam((company_id, app, group_id)): PathParam<(String, String, String)>,
    JsonObject(body): JsonObject,
) -> Answer {
    let access = authorize(&apps.services, &actor.principal, &company_id, Need::ManageApps).await?;
    let mut v = prov_core::validate::Validator::new();
    let root = prov_core::validate::Obj::root(&body);
    v.only(&root, &["account_id"]);
    let account_id = v.text(
        &root,
        "account_id",
        true,
        prov_core::validate::Text { max_chars: 64 },
    );
    let account_id = v.finish(account_id)?;
    let view = accounts::add_to_group(&apps, &actor, &access, &app, &group_id, &account_id).await?;
    Ok(Json(view).into_response())
}

/// Matches several accounts at once; each item answers on its own.
#[utoipa::path(
    post,
    path = "/v1/companies/{company_id}/apps/{app}/matches",
    tag = "app accounts",
    security(("token" = [])),
    params(
        ("company_id" = String, Path, description = "The company's id."),
        ("app" = String, Path, description = "The app's slug (`GET /v1/apps`)."),
    ),
    request_body = openapi::Matches,
    responses(
        (status = 200, description = "Each item's result.", body = openapi::MatchResults),
        (status = 403, response = prov_web::openapi::Forbidden),
    )
)]
async fn matches(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam((company_id, app)): PathParam<(String, String)>,
    JsonObject(body): JsonObject,
) -> Answer {
    let access = authorize(&apps.services, &actor.principal, &company_id, Need::ManageApps).await?;
    let results = accounts::submit_matches(&apps, &actor, &access, &app, &body).await?;
    Ok(Json(json!({ "results": results })).into_response())
}

type AccountPath = PathParam<(String, String, String)>;

/// One account action's handler, documented: the four differ only in path and action.
macro_rules! account_action_route {
    ($(#[doc = $doc:literal])* $name:ident, $path:literal, $action:expr) => {
        $(#[doc = $doc])*
        #[utoipa::path(
            post,
            path = $path,
            tag = "app accounts",
            security(("token" = [])),
            params(
                ("company_id" = String, Path, description = "The company's id."),
                ("app" = String, Path, description = "The app's slug (`GET /v1/apps`)."),
                ("account_id" = String, Path, description = "The account's id (`acc_…`)."),
                ("dry_run" = Option<bool>, Query, description = "`true`: answer what would be done (an `ActionPlan`), doing nothing."),
            ),
            responses(
                (status = 200, description = "The account, or with `dry_run=true` what would be done to it.", body = ActionAnswer),
                (status = 409, response = prov_web::openapi::Conflict),
                prov_web::openapi::CompanyAppRoute,
            )
        )]
        async fn $name(
            State(apps): State<Apps>,
            Ctx(actor): Ctx,
            PathParam(ids): AccountPath,
            QueryParams(query): QueryParams<DryRun>,
        ) -> Answer {
            account_action(apps, actor, ids, $action, query).await
        }
    };
}

account_action_route!(
    /// Suspends the account at the vendor (where the app can).
    suspend,
    "/v1/companies/{company_id}/apps/{app}/accounts/{account_id}/suspend",
    Action::Suspend
);
account_action_route!(
    /// Reactivates a suspended account.
    reactivate,
    "/v1/companies/{company_id}/apps/{app}/accounts/{account_id}/reactivate",
    Action::Reactivate
);
account_action_route!(
    /// Removes the account at the vendor (see the app's `remove_means`).
    delete,
    "/v1/companies/{company_id}/apps/{app}/accounts/{account_id}/delete",
    Action::Delete
);
account_action_route!(
    /// Unlinks the account from its team member; the vendor account is left alone.
    unmatch,
    "/v1/companies/{company_id}/apps/{app}/accounts/{account_id}/unmatch",
    Action::Unmatch
);

/// What an account action answers: the account after it, or (dry run) what it would do.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(untagged)]
enum ActionAnswer {
    Done(accounts::AccountView),
    Planned(accounts::ActionPlan),
}

async fn account_action(
    apps: Apps,
    actor: prov_core::audit::Actor,
    (company_id, app, account_id): (String, String, String),
    action: Action,
    query: DryRun,
) -> Answer {
    let access = authorize(&apps.services, &actor.principal, &company_id, Need::ManageApps).await?;
    let answer = if query.dry_run.unwrap_or(false) {
        ActionAnswer::Planned(accounts::plan_action(&apps, &access, &app, &account_id, action).await?)
    } else {
        ActionAnswer::Done(accounts::act(&apps, &actor, &access, &app, &account_id, action).await?)
    };
    Ok(Json(answer).into_response())
}

/// The person's apps: each account with status and actions.
#[utoipa::path(
    get,
    path = "/v1/companies/{company_id}/team_members/{team_member_id}/apps",
    tag = "app accounts",
    security(("token" = [])),
    params(
        ("company_id" = String, Path, description = "The company's id."),
        ("team_member_id" = String, Path, description = "The team member's id."),
    ),
    responses(
        (status = 200, description = "One entry per app.", body = openapi::Items<prov_connectors::accounts::MemberApp>),
        (status = 403, response = prov_web::openapi::Forbidden),
    )
)]
async fn member_apps(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam((company_id, team_member_id)): PathParam<(String, String)>,
) -> Answer {
    authorize(&apps.services, &actor.principal, &company_id, Need::ManageApps).await?;
    let items = accounts::member_apps(&apps, &company_id, &team_member_id).await?;
    Ok(Json(json!({ "items": items })).into_response())
}

/// `?dry_run=true` answers exactly what would be done, doing nothing.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct DryRun {
    dry_run: Option<bool>,
}

/// Removes every managed account of the person; `dry_run=true` answers what would be removed.
#[utoipa::path(
    post,
    path = "/v1/companies/{company_id}/team_members/{team_member_id}/apps/remove_all",
    tag = "app accounts",
    security(("token" = [])),
    params(
        ("company_id" = String, Path, description = "The company's id."),
        ("team_member_id" = String, Path, description = "The team member's id."),
        ("dry_run" = Option<bool>, Query, description = "`true`: answer what would be done, doing nothing."),
    ),
    responses(
        (status = 200, description = "What would be (or was) done per account.", body = prov_connectors::accounts::RemoveAll),
        (status = 409, response = prov_web::openapi::Conflict),
        prov_web::openapi::CompanyAppRoute,
    )
)]
async fn remove_all(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam((company_id, team_member_id)): PathParam<(String, String)>,
    QueryParams(query): QueryParams<DryRun>,
) -> Answer {
    let access = authorize(&apps.services, &actor.principal, &company_id, Need::ManageApps).await?;
    let dry_run = query.dry_run.unwrap_or(false);
    Ok(Json(accounts::remove_all(&apps, &actor, &access, &team_member_id, dry_run).await?).into_response())
}

/// The "Create app accounts" task.
#[utoipa::path(
    get,
    path = "/v1/companies/{company_id}/team_members/{team_member_id}/onboarding",
    tag = "checklists",
    security(("token" = [])),
    params(
        ("company_id" = String, Path, description = "The company's id."),
        ("team_member_id" = String, Path, description = "The team member's id."),
    ),
    responses(
        (status = 200, description = "The task.", body = prov_connectors::onboarding::OnboardingView),
        (status = 403, response = prov_web::openapi::Forbidden),
    )
)]
async fn onboarding(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam((company_id, team_member_id)): PathParam<(String, String)>,
) -> Answer {
    let access = authorize(&apps.services, &actor.principal, &company_id, Need::ManageApps).await?;
    Ok(Json(onboarding::view(&apps, &access, &team_member_id).await?).into_response())
}

/// Creates the new hire's accounts in the chosen apps.
#[utoipa::path(
    post,
    path = "/v1/companies/{company_id}/team_members/{team_member_id}/onboarding",
    tag = "checklists",
    security(("token" = [])),
    params(
        ("company_id" = String, Path, description = "The company's id."),
        ("team_member_id" = String, Path, description = "The team member's id."),
    ),
    request_body = openapi::OnboardingRun,
    responses(
        (status = 200, description = "The task, with per-app progress.", body = prov_connectors::onboarding::OnboardingView),
        (status = 403, response = prov_web::openapi::Forbidden),
        (status = 409, response = prov_web::openapi::Conflict),
    )
)]
async fn run_onboarding(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam((company_id, team_member_id)): PathParam<(String, String)>,
    JsonObject(body): JsonObject,
) -> Answer {
    let access = authorize(&apps.services, &actor.principal, &company_id, Need::ManageApps).await?;
    Ok(Json(onboarding::run(&apps, &actor, &access, &team_member_id, &body).await?).into_response())
}

/// Dismisses (or moves the last day); `?dry_run=true` answers what would happen and when.
/// Dismisses the person (or moves the last day); `dry_run=true` answers what would happen, saving nothing.
#[utoipa::path(
    put,
    path = "/v1/companies/{company_id}/team_members/{team_member_id}/dismissal",
    tag = "checklists",
    security(("token" = [])),
    params(
        ("company_id" = String, Path, description = "The company's id."),
        ("team_member_id" = String, Path, description = "The team member's id."),
        ("dry_run" = Option<bool>, Query, description = "`true`: answer what would be done, doing nothing."),
    ),
    request_body = openapi::DismissalRequest,
    responses(
        (status = 200, description = "The Remove app access task.", body = prov_connectors::dismissal::OffboardingView),
        (status = 409, response = prov_web::openapi::Conflict),
    )
)]
async fn dismiss(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam((company_id, team_member_id)): PathParam<(String, String)>,
    QueryParams(query): QueryParams<DryRun>,
    JsonObject(body): JsonObject,
) -> Answer {
    let access = authorize(&apps.services, &actor.principal, &company_id, Need::ManageTeam).await?;
    let dry_run = query.dry_run.unwrap_or(false);
    Ok(
        Json(dismissal::dismiss(&apps, &actor, &access, &team_member_id, &body, dry_run).await?)
            .into_response(),
    )
}

/// Cancels a scheduled dismissal.
#[utoipa::path(
    delete,
    path = "/v1/companies/{company_id}/team_members/{team_member_id}/dismissal",
    tag = "checklists",
    security(("token" = [])),
    params(
        ("company_id" = String, Path, description = "The company's id."),
        ("team_member_id" = String, Path, description = "The team member's id."),
    ),
    responses(
        (status = 200, description = "The Remove app access task, cancelled.", body = prov_connectors::dismissal::OffboardingView),
        (status = 409, response = prov_web::openapi::Conflict),
        (status = 422, response = prov_web::openapi::Unprocessable),
    )
)]
async fn cancel_dismissal(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam((company_id, team_member_id)): PathParam<(String, String)>,
) -> Answer {
    let access = authorize(&apps.services, &actor.principal, &company_id, Need::ManageTeam).await?;
    Ok(Json(dismissal::cancel(&apps, &actor, &access, &team_member_id).await?).into_response())
}

/// Rehires the person: cancels what is still to come.
#[utoipa::path(
    post,
    path = "/v1/companies/{company_id}/team_members/{team_member_id}/rehire",
    tag = "checklists",
    security(("token" = [])),
    params(
        ("company_id" = String, Path, description = "The company's id."),
        ("team_member_id" = String, Path, description = "The team member's id."),
    ),
    responses(
        (status = 200, description = "The team member.", body = prov_core::team::TeamMemberView),
        (status = 409, response = prov_web::openapi::Conflict),
        (status = 422, response = prov_web::openapi::Unprocessable),
    )
)]
async fn rehire(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam((company_id, team_member_id)): PathParam<(String, String)>,
) -> Answer {
    let access = authorize(&apps.services, &actor.principal, &company_id, Need::ManageTeam).await?;
    Ok(Json(dismissal::rehire(&apps, &actor, &access, &team_member_id).await?).into_response())
}

/// The "Remove app access" task.
#[utoipa::path(
    get,
    path = "/v1/companies/{company_id}/team_members/{team_member_id}/offboarding",
    tag = "checklists",
    security(("token" = [])),
    params(
        ("company_id" = String, Path, description = "The company's id."),
        ("team_member_id" = String, Path, description = "The team member's id."),
    ),
    responses(
        (status = 200, description = "The task.", body = prov_connectors::dismissal::OffboardingView),
        (status = 403, response = prov_web::openapi::Forbidden),
    )
)]
async fn offboarding(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam((company_id, team_member_id)): PathParam<(String, String)>,
) -> Answer {
    let access = authorize(&apps.services, &actor.principal, &company_id, Need::ManageApps).await?;
    Ok(Json(dismissal::offboarding(&apps, &access, &team_member_id).await?).into_response())
}

/// Changes removal choices, confirms what the safeguard paused, or retries failures.
#[utoipa::path(
    post,
    path = "/v1/companies/{company_id}/team_members/{team_member_id}/offboarding",
    tag = "checklists",
    security(("token" = [])),
    params(
        ("company_id" = String, Path, description = "The company's id."),
        ("team_member_id" = String, Path, description = "The team member's id."),
    ),
    request_body = openapi::OffboardingChange,
    responses(
        (status = 200, description = "The task.", body = prov_connectors::dismissal::OffboardingView),
        (status = 403, response = prov_web::openapi::Forbidden),
        (status = 409, response = prov_web::openapi::Conflict),
    )
)]
async fn update_offboarding(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam((company_id, team_member_id)): PathParam<(String, String)>,
    JsonObject(body): JsonObject,
) -> Answer {
    let access = authorize(&apps.services, &actor.principal, &company_id, Need::ManageApps).await?;
    Ok(
        Json(dismissal::update_offboarding(&apps, &actor, &access, &team_member_id, &body).await?)
            .into_response(),
    )
}
