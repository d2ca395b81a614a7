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
use prov_core::{Error, admins, audit, catalog, team};
use prov_web::{ApiError, Caller, Ctx, JsonObject, PathParam, QueryParams};
use serde_json::json;

/// Routes this function serves, as `(method, path)`; the SAM template maps the same set.
pub const ROUTES: &[(&str, &str)] = &[
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
            "/v1/companies/{company_id}/apps/{app}/accounts/{account_id}/{action}",
            post(account_action),
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
async fn list_apps(State(apps): State<Apps>, Caller(_): Caller) -> Answer {
    let items: Vec<_> = catalog::directory(apps.services.settings.sandbox).collect();
    Ok(Json(json!({ "items": items })).into_response())
}

async fn get_app(State(apps): State<Apps>, Caller(_): Caller, PathParam(app): PathParam<String>) -> Answer {
    let found = catalog::get(&app, apps.services.settings.sandbox)?;
    // The hosts the app's connector calls, so a security review can allow-list them.
    let spec = prov_connectors::registry::spec(&app);
    let hosts: Vec<&str> = spec.map(|s| s.hosts.to_vec()).unwrap_or_default();
    // The vendor test environments an OAuth connection may choose (`environment` at start).
    let environments: Vec<&str> = spec
        .and_then(|s| s.oauth)
        .filter(|o| !o.environments.is_empty())
        .map(|o| o.environment_names())
        .unwrap_or_default();
    let mut body = serde_json::to_value(found).map_err(|e| ApiError(Error::Internal(e.to_string())))?;
    body["hosts"] = json!(hosts);
    body["environments"] = json!(environments);
    body["connectable"] = json!(!hosts.is_empty());
    Ok(Json(body).into_response())
}

async fn company_apps(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam(company_id): PathParam<String>,
) -> Answer {
    let svc = &apps.services;
    let access = authorize(svc, &actor.principal, &company_id, Need::ManageApps).await?;
    Ok(Json(catalog::company_apps(svc, &access.company).await?).into_response())
}

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

async fn sync(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam((company_id, app)): PathParam<(String, String)>,
) -> Answer {
    let access = authorize(&apps.services, &actor.principal, &company_id, Need::ManageApps).await?;
    Ok(Json(accounts::sync(&apps, &actor, &access, &app).await?).into_response())
}

async fn list_accounts(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam((company_id, app)): PathParam<(String, String)>,
    QueryParams(query): QueryParams<AccountQuery>,
) -> Answer {
    authorize(&apps.services, &actor.principal, &company_id, Need::ManageApps).await?;
    Ok(Json(accounts::list_accounts(&apps, &company_id, &app, &query).await?).into_response())
}

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

async fn domains(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam((company_id, app)): PathParam<(String, String)>,
) -> Answer {
    authorize(&apps.services, &actor.principal, &company_id, Need::ManageApps).await?;
    let items = accounts::work_email_domains(&apps, &company_id, &app).await?;
    Ok(Json(json!({ "items": items })).into_response())
}

async fn groups(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam((company_id, app)): PathParam<(String, String)>,
) -> Answer {
    authorize(&apps.services, &actor.principal, &company_id, Need::ManageApps).await?;
    let items = accounts::groups(&apps, &company_id, &app).await?;
    Ok(Json(json!({ "items": items })).into_response())
}

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

async fn account_action(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam((company_id, app, account_id, action)): PathParam<(String, String, String, String)>,
) -> Answer {
    let action = match action.as_str() {
        "suspend" => Action::Suspend,
        "reactivate" => Action::Reactivate,
        "delete" => Action::Delete,
        "unmatch" => Action::Unmatch,
        _ => return Err(ApiError(Error::not_found("action"))),
    };
    let access = authorize(&apps.services, &actor.principal, &company_id, Need::ManageApps).await?;
    Ok(Json(accounts::act(&apps, &actor, &access, &app, &account_id, action).await?).into_response())
}

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

async fn onboarding(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam((company_id, team_member_id)): PathParam<(String, String)>,
) -> Answer {
    let access = authorize(&apps.services, &actor.principal, &company_id, Need::ManageApps).await?;
    Ok(Json(onboarding::view(&apps, &access, &team_member_id).await?).into_response())
}

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

async fn cancel_dismissal(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam((company_id, team_member_id)): PathParam<(String, String)>,
) -> Answer {
    let access = authorize(&apps.services, &actor.principal, &company_id, Need::ManageTeam).await?;
    Ok(Json(dismissal::cancel(&apps, &actor, &access, &team_member_id).await?).into_response())
}

async fn rehire(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam((company_id, team_member_id)): PathParam<(String, String)>,
) -> Answer {
    let access = authorize(&apps.services, &actor.principal, &company_id, Need::ManageTeam).await?;
    Ok(Json(dismissal::rehire(&apps, &actor, &access, &team_member_id).await?).into_response())
}

async fn offboarding(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam((company_id, team_member_id)): PathParam<(String, String)>,
) -> Answer {
    let access = authorize(&apps.services, &actor.principal, &company_id, Need::ManageApps).await?;
    Ok(Json(dismissal::offboarding(&apps, &access, &team_member_id).await?).into_response())
}

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
