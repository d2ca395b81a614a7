//! This function's part of the OpenAPI document: its operations (from the `#[utoipa::path]`
//! of each handler) and the bodies they accept.
//!
//! The handlers read bodies by hand (`JsonObject`, then the use case's `Validator`), so the
//! request schemas below are descriptions of what that validation accepts, kept beside the
//! handlers; unknown attributes are refused (`additionalProperties: false`), `null` is taken
//! as absent for optional attributes, strings are trimmed and must not be blank.
#![allow(dead_code)] // the structs are described, never built

use prov_web::openapi::Boolish;
use serde::Deserialize;
use utoipa::{OpenApi, ToSchema};

/// `POST /v1/provision`: the company, its primary payroll admin, and the welcome email.
#[derive(ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvisionBody {
    user: NewUser,
    company: NewCompany,
}

/// The company's primary payroll admin.
#[derive(ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    #[schema(min_length = 1, max_length = 100)]
    first_name: String,
    #[schema(min_length = 1, max_length = 100)]
    last_name: String,
    /// Unique across the service without regard to case.
    #[schema(format = Email, min_length = 3, max_length = 254)]
    email: String,
    /// A 10-digit US number; spaces, `-`, `.`, `(`, `)` and a leading `+1` or `1` allowed.
    #[schema(min_length = 10, max_length = 320, pattern = r"^[0-9 ().+-]+$")]
    phone: Option<String>,
}

#[derive(ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCompany {
    #[schema(min_length = 1, max_length = 200)]
    name: String,
    #[schema(min_length = 1, max_length = 200)]
    trade_name: Option<String>,
    /// 9 digits; `12-3456789` accepted.
    #[schema(pattern = r"^([0-9]{9}|[0-9]{2}-[0-9]{7})$")]
    ein: Option<String>,
    #[schema(minimum = 0, maximum = 10_000_000)]
    number_employees: Option<u32>,
    /// US state codes (or `DC`), any case; repeats count once.
    #[schema(max_items = 102, pattern = r"^[A-Za-z]{2}$")]
    states: Option<Vec<String>>,
    /// At most one primary.
    #[schema(max_items = 100)]
    addresses: Option<Vec<NewAddress>>,
}

#[derive(ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAddress {
    #[schema(min_length = 1, max_length = 200)]
    street_1: String,
    #[schema(min_length = 1, max_length = 200)]
    street_2: Option<String>,
    #[schema(min_length = 1, max_length = 100)]
    city: String,
    /// A US state code (or `DC`), any case.
    #[schema(pattern = r"^[A-Za-z]{2}$")]
    state: String,
    /// `80202` or `80202-1234`.
    #[schema(pattern = r"^[0-9]{5}(-[0-9]{4})?$")]
    zip: String,
    /// A 10-digit US number; spaces, `-`, `.`, `(`, `)` and a leading `+1` or `1` allowed.
    #[schema(min_length = 10, max_length = 320, pattern = r"^[0-9 ().+-]+$")]
    phone: String,
    is_primary: Option<Boolish>,
}

/// `POST /v1/claims/{claim_id}`: the email the account was created for.
#[derive(ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimBody {
    #[schema(format = Email, min_length = 3, max_length = 254)]
    email: String,
}

/// `POST /v1/companies/{company_id}/claims`: the admin to send a new claim link.
#[derive(ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewClaimBody {
    /// The admin's user id (`GET /v1/companies/{company_id}/admins`), not yet claimed.
    #[schema(min_length = 1, max_length = 64)]
    user_id: String,
}

/// The claim page's form.
#[derive(ToSchema, Deserialize)]
pub struct ClaimForm {
    email: String,
}

/// `PATCH /v1/companies/{company_id}`: what a partner may change.
#[derive(ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompanyChange {
    plan: prov_core::provisioning::Plan,
}

#[derive(OpenApi)]
#[openapi(paths(
    crate::provision,
    crate::claim_page::open,
    crate::claim_page::confirm,
    crate::confirm_claim,
    crate::list_companies,
    crate::get_company,
    crate::update_company,
    crate::new_claim_link,
))]
struct Doc;

/// This function's operations.
pub fn openapi() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}
