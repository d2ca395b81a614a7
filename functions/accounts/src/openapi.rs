//! This function's part of the OpenAPI document (its operations, from the `#[utoipa::path]`
//! of each handler, and the bodies they accept), and the whole document, which this function
//! serves at `GET /openapi.json`.
//!
//! The handlers read bodies by hand (`JsonObject`, then the use case's `Validator`), so the
//! request schemas below are descriptions of what that validation accepts, kept beside the
//! handlers; unknown attributes are refused (`additionalProperties: false`), `null` is taken
//! as absent where an attribute is optional, strings are trimmed and must not be blank.
#![allow(dead_code)] // the structs are described, never built

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use prov_core::catalog;
use prov_core::provisioning::Permission;
use prov_core::team::{Kind, OfferStatus};
use prov_web::openapi::Boolish;
use serde::Deserialize;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{OpenApi, PartialSchema, ToSchema};

/// `POST …/team_members`.
#[derive(ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTeamMember {
    #[schema(min_length = 1, max_length = 100)]
    first_name: String,
    #[schema(min_length = 1, max_length = 100)]
    last_name: String,
    /// Unique within the company; without one, no app account can be created.
    #[schema(format = Email, min_length = 3, max_length = 254)]
    email: Option<String>,
    kind: Kind,
    /// ISO 3166-1 alpha-2, any case (default `US`).
    #[schema(pattern = r"^[A-Za-z]{2}$")]
    work_country: Option<String>,
    #[schema(format = Date)]
    start_date: Option<String>,
    /// Default `none`.
    offer_status: Option<OfferStatus>,
}

/// `PATCH …/team_members/{team_member_id}`: at least one attribute; `null` clears `email`
/// or `start_date` (the others cannot be cleared). Employment attributes change through
/// the dismissal and rehire routes.
#[derive(ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
#[schema(min_properties = 1)]
pub struct TeamMemberChange {
    #[schema(required = false, min_length = 1, max_length = 100)]
    first_name: String,
    #[schema(required = false, min_length = 1, max_length = 100)]
    last_name: String,
    #[schema(format = Email, min_length = 3, max_length = 254)]
    email: Option<String>,
    #[schema(required = false)]
    kind: Kind,
    #[schema(required = false, pattern = r"^[A-Za-z]{2}$")]
    work_country: String,
    #[schema(format = Date)]
    start_date: Option<String>,
    #[schema(required = false)]
    offer_status: OfferStatus,
}

/// `POST …/admins`: a non-employee admin, who claims access by an emailed link.
#[derive(ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminInvite {
    #[schema(min_length = 1, max_length = 100)]
    first_name: String,
    #[schema(min_length = 1, max_length = 100)]
    last_name: String,
    /// Unique across the service without regard to case.
    #[schema(format = Email, min_length = 3, max_length = 254)]
    email: String,
    #[schema(max_items = 10)]
    permissions: Option<Vec<Permission>>,
}

/// `PATCH …/admins/{admin_id}`: the admin's permissions (an empty list revokes them all).
#[derive(ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PermissionsChange {
    #[schema(max_items = 10)]
    permissions: Vec<Permission>,
}

/// `POST …/apps/{app}/accounts`.
#[derive(ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    #[schema(min_length = 1, max_length = 64)]
    team_member_id: String,
    /// Apps that create mailboxes (Google Workspace, Microsoft 365): the new work address,
    /// on one of the tenant's domains (`GET …/domains`).
    #[schema(min_length = 1, max_length = 254)]
    work_email: Option<String>,
}

/// `POST …/groups/{group_id}/members`.
#[derive(ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupMember {
    #[schema(min_length = 1, max_length = 64)]
    account_id: String,
}

/// `POST …/apps/{app}/matches`.
#[derive(ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Matches {
    #[schema(max_items = 100)]
    matches: Vec<MatchRequest>,
}

/// Either `team_member_id` (match the account to the person) or `do_not_match: true`.
#[derive(ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchRequest {
    #[schema(min_length = 1, max_length = 64)]
    account_id: String,
    #[schema(min_length = 1, max_length = 64)]
    team_member_id: Option<String>,
    do_not_match: Option<Boolish>,
}

/// `POST …/onboarding`: the connected apps to create the new hire's accounts in.
#[derive(ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnboardingRun {
    #[schema(max_items = 50)]
    apps: Vec<String>,
}

/// Per app (its slug, from the app directory): `suspend` (where the app can) or `delete`
/// (the default).
#[derive(Deserialize)]
pub struct RemovalChoices(std::collections::BTreeMap<String, String>);

impl PartialSchema for RemovalChoices {
    fn schema() -> RefOr<Schema> {
        let slugs: Vec<&str> = catalog::directory(true).map(|a| a.slug).collect();
        ObjectBuilder::new()
            .description(Some(
                "Per app (its slug): `suspend` (where the app can) or `delete` (the default).",
            ))
            .property_names(Some(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(slugs)),
            ))
            .additional_properties(Some(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(["suspend", "delete"])),
            ))
            .into()
    }
}

impl ToSchema for RemovalChoices {}

/// `PUT …/dismissal`.
#[derive(ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DismissalRequest {
    /// Access ends at 00:00 America/Los_Angeles the day after.
    #[schema(format = Date)]
    last_day: String,
    removal: Option<RemovalChoices>,
    /// Two-step offboarding: suspend at dismissal, delete this many days later.
    #[schema(minimum = 1, maximum = 90)]
    two_step_days: Option<u32>,
}

/// `POST …/offboarding`: change choices before the task runs, confirm what the safeguard
/// paused, retry failures.
#[derive(ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OffboardingChange {
    removal: Option<RemovalChoices>,
    confirm: Option<Boolish>,
    retry: Option<Boolish>,
}

/// `{"items": [...]}`, for the lists that are never paged.
#[derive(ToSchema)]
pub struct Items<T> {
    items: Vec<T>,
}

/// `POST …/apps/{app}/matches`: each item's own result.
#[derive(ToSchema)]
pub struct MatchResults {
    results: Vec<prov_connectors::accounts::MatchResult>,
}

#[derive(OpenApi)]
#[openapi(paths(
    crate::list_team,
    crate::create_team_member,
    crate::get_team_member,
    crate::update_team_member,
    crate::list_admins,
    crate::invite_admin,
    crate::set_permissions,
    crate::list_apps,
    crate::get_app,
    crate::company_apps,
    crate::list_events,
    crate::sync,
    crate::list_accounts,
    crate::create_account,
    crate::matches,
    crate::domains,
    crate::groups,
    crate::add_to_group,
    crate::suspend,
    crate::reactivate,
    crate::delete,
    crate::unmatch,
    crate::member_apps,
    crate::remove_all,
    crate::onboarding,
    crate::run_onboarding,
    crate::dismiss,
    crate::cancel_dismissal,
    crate::rehire,
    crate::offboarding,
    crate::update_offboarding,
    crate::openapi_json,
))]
struct Doc;

/// This function's operations.
pub fn openapi() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}

/// `GET /openapi.json`: the whole API's document. It is generated from every function's
/// operations by the end-to-end tests, which link them all, and committed
/// (`docs/openapi.json`); this function serves the committed copy, so it links no other
/// function.
pub(crate) fn document_response() -> Response {
    const DOCUMENT: &str = include_str!("../../../docs/openapi.json");
    let mut response = ([(header::CONTENT_TYPE, "application/json")], DOCUMENT).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}
