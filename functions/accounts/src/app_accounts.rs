//! App accounts: sync from the vendor, list, create, match, domains and groups, the
//! per-account actions (suspend, reactivate, delete, unmatch), a team member's apps and
//! "remove all".

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use prov_core::access::{Need, authorize};
use prov_processes::Apps;
use prov_processes::accounts::{self, AccountQuery, Action, GroupMember, Matches, NewAccount};
use prov_web::{Ctx, JsonBody, PathParam, QueryParams};
use serde_json::json;
use utoipa::{OpenApi, ToSchema};

use crate::common::{Answer, DryRun, Items, created};

pub(crate) const ROUTES: &[(&str, &str)] = &[
    ("POST", "/v1/companies/{company_id}/apps/{app}/sync"),
    ("GET", "/v1/companies/{company_id}/apps/{app}/sync"),
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
];

pub(crate) fn routes() -> Router<Apps> {
    Router::new()
        .route(
            "/v1/companies/{company_id}/apps/{app}/sync",
            post(sync).get(sync_status),
        )
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
}

#[derive(OpenApi)]
#[openapi(paths(
    sync,
    sync_status,
    list_accounts,
    create_account,
    matches,
    domains,
    groups,
    add_to_group,
    suspend,
    reactivate,
    delete,
    unmatch,
    member_apps,
    remove_all
))]
pub(crate) struct Doc;

/// Starts syncing the app's accounts in the background (or joins the sync already
/// running): the vendor's accounts are read page by page, changes recorded, new accounts
/// matched automatically where name and email agree, vanished ones marked, and the access
/// report's findings for the app settled. Answers at once; follow the job with `GET`.
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
        (status = 202, description = "The sync job: started, or the one already running (joined). `Location` is where to follow it.", body = prov_processes::accounts::SyncJobView,
            headers(("Location" = String, description = "`GET` this to follow the job."))),
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
    let started = accounts::start_sync(&apps, &actor, &access, &app).await?;
    let location = format!("/v1/companies/{company_id}/apps/{app}/sync");
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, location)],
        Json(started.job),
    )
        .into_response())
}

/// The app's sync job: the one running, or the last one (its counts, errors and times).
#[utoipa::path(
    get,
    path = "/v1/companies/{company_id}/apps/{app}/sync",
    tag = "app accounts",
    security(("token" = [])),
    params(
        ("company_id" = String, Path, description = "The company's id."),
        ("app" = String, Path, description = "The app's slug (`GET /v1/apps`)."),
    ),
    responses(
        (status = 200, description = "The current or last sync job (404 before the app's first sync).", body = prov_processes::accounts::SyncJobView),
        (status = 403, response = prov_web::openapi::Forbidden),
    )
)]
async fn sync_status(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam((company_id, app)): PathParam<(String, String)>,
) -> Answer {
    let access = authorize(&apps.services, &actor.principal, &company_id, Need::ManageApps).await?;
    Ok(Json(accounts::sync_status(&apps, &access, &app).await?).into_response())
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
        (status = 200, description = "A page of accounts, and counts over all of them.", body = prov_processes::accounts::AccountListing),
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
    let access = authorize(&apps.services, &actor.principal, &company_id, Need::ManageApps).await?;
    Ok(Json(accounts::list_accounts(&apps, &access, &app, &query).await?).into_response())
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
    request_body = NewAccount,
    responses(
        (status = 201, description = "The account.", body = prov_processes::accounts::AccountView),
        (status = 409, response = prov_web::openapi::Conflict),
        prov_web::openapi::CompanyAppRoute,
    )
)]
async fn create_account(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam((company_id, app)): PathParam<(String, String)>,
    JsonBody(body): JsonBody<NewAccount>,
) -> Answer {
    let access = authorize(&apps.services, &actor.principal, &company_id, Need::ManageApps).await?;
    let new = body.parse()?;
    Ok(created(
        accounts::create_account(
            &apps,
            &actor,
            &access,
            &app,
            &new.team_member_id,
            new.work_email.as_deref(),
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
        (status = 200, description = "The domains.", body = Items<String>),
        prov_web::openapi::CompanyAppRoute,
    )
)]
async fn domains(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam((company_id, app)): PathParam<(String, String)>,
) -> Answer {
    let access = authorize(&apps.services, &actor.principal, &company_id, Need::ManageApps).await?;
    let items = accounts::work_email_domains(&apps, &access, &app).await?;
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
        (status = 200, description = "The groups.", body = Items<prov_core::connector::VendorGroup>),
        prov_web::openapi::CompanyAppRoute,
    )
)]
async fn groups(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam((company_id, app)): PathParam<(String, String)>,
) -> Answer {
    let access = authorize(&apps.services, &actor.principal, &company_id, Need::ManageApps).await?;
    let items = accounts::groups(&apps, &access, &app).await?;
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
    request_body = GroupMember,
    responses(
        (status = 200, description = "The account.", body = prov_processes::accounts::AccountView),
        (status = 409, response = prov_web::openapi::Conflict),
        prov_web::openapi::CompanyAppRoute,
    )
)]
async fn add_to_group(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam((company_id, app, group_id)): PathParam<(String, String, String)>,
    JsonBody(body): JsonBody<GroupMember>,
) -> Answer {
    let access = authorize(&apps.services, &actor.principal, &company_id, Need::ManageApps).await?;
    let member = body.parse()?;
    let view = accounts::add_to_group(&apps, &actor, &access, &app, &group_id, &member.account_id).await?;
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
    request_body = Matches,
    responses(
        (status = 200, description = "Each item's result.", body = MatchResults),
        (status = 403, response = prov_web::openapi::Forbidden),
    )
)]
async fn matches(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam((company_id, app)): PathParam<(String, String)>,
    JsonBody(body): JsonBody<Matches>,
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
        (status = 200, description = "One entry per app.", body = Items<prov_processes::accounts::MemberApp>),
        (status = 403, response = prov_web::openapi::Forbidden),
    )
)]
async fn member_apps(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam((company_id, team_member_id)): PathParam<(String, String)>,
) -> Answer {
    let access = authorize(&apps.services, &actor.principal, &company_id, Need::ManageApps).await?;
    let items = accounts::member_apps(&apps, &access, &team_member_id).await?;
    Ok(Json(json!({ "items": items })).into_response())
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
        (status = 200, description = "What would be (or was) done per account.", body = prov_processes::accounts::RemoveAll),
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

/// `POST …/apps/{app}/matches`: each item's own result.
#[derive(ToSchema)]
#[allow(dead_code)] // described, never built: the handler answers `json!({"results": …})`
pub struct MatchResults {
    results: Vec<prov_processes::accounts::MatchResult>,
}
