//! Microsoft Graph v1.0's user provisioning over the sandbox's users, with Graph's answers:
//! `{value, @odata.nextLink}` pages whose link (on `graph.microsoft.com`, which the devserver
//! routes here) carries a `$skiptoken`; `$filter=userPrincipalName eq '…' or mail eq '…'`
//! with OData's doubled quotes; members created enabled at once (Graph has no invitation
//! state for them) on the tenant's one verified domain, with a password meeting the
//! complexity rules; `PATCH` of `accountEnabled` and `usageLocation` (204); `DELETE` (204,
//! then 404 `Request_ResourceNotFound`); the organization with its `countryLetterCode`; the
//! verified and unverified domains; subscribed SKUs (one with an Exchange Online mailbox and
//! free units, one without a mailbox); `assignLicense`, which needs a usage location and a
//! free unit and consumes one (the user's address then becomes its `mail`); and errors as
//! `{error: {code, message, innerError}}`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Path, Query, State as AxState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::directory::User;
use crate::oauth;
use crate::state::{Refusal, State, page_size, tenant};

/// The tenant's verified domain: sandbox users are created on it.
pub const DOMAIN: &str = "sandbox-m365.test";
/// A domain added to the tenant but never verified (creating on it is refused).
const UNVERIFIED_DOMAIN: &str = "unverified.sandbox-m365.test";
const TENANT_ID: &str = "5a4d6b3c-0000-4000-8000-00000000cafe";
const COUNTRY: &str = "US";
const GRAPH: &str = "https://graph.microsoft.com/v1.0";
/// The sandbox's mailbox licence (Microsoft 365 Business Basic-like, Exchange Online Plan 1).
pub const MAILBOX_SKU: &str = "3b555118-0000-4000-8000-0000000000b1";
const MAILBOX_SKU_UNITS: i64 = 25;
/// A licence without a mailbox (only the Exchange "foundation" plan), never chosen.
const NO_MAILBOX_SKU: &str = "a403ebcc-0000-4000-8000-0000000000b2";
/// Graph may answer fewer users than `$top` asks for (server-side paging); the sandbox
/// answers at most this many, so that paging shows with a handful of users.
const MOST_PER_PAGE: usize = 10;

/// What Graph keeps about a sandbox user beyond the shared directory's fields.
#[derive(Default, Clone)]
struct Extra {
    usage_location: Option<String>,
    licensed: bool,
    other_mails: Vec<String>,
}

/// Per tenant, per user id.
#[derive(Default)]
pub(crate) struct Mailboxes {
    extra: HashMap<(String, String), Extra>,
}

type Shared = Arc<Mutex<State>>;

pub(crate) fn router(state: Shared) -> Router {
    Router::new()
        .route("/v1.0/users", get(list).post(create))
        .route("/v1.0/users/{id}", get(read).patch(update).delete(remove))
        .route("/v1.0/users/{id}/assignLicense", post(assign_license))
        .route("/v1.0/organization", get(organization))
        .route("/v1.0/domains", get(domains))
        .route("/v1.0/subscribedSkus", get(subscribed_skus))
        .with_state(state.clone())
        .merge(authorization_server(state))
}

/// The Microsoft identity platform's authorization server at its multi-tenant paths
/// (`login.microsoftonline.com/organizations/oauth2/v2.0/…`), with its token answers.
fn authorization_server(state: Shared) -> Router {
    oauth::server(
        state,
        "microsoft_365",
        [
            "/organizations/oauth2/v2.0/authorize",
            "/organizations/oauth2/v2.0/decide",
            "/organizations/oauth2/v2.0/token",
        ],
        post(microsoft_token),
    )
}

/// The Microsoft identity platform's v2.0 token endpoint: a web app's secret in the form body;
/// answers with `ext_expires_in` and the granted Graph scopes as full URIs, errors with an
/// `AADSTS` description and `error_codes`; refresh tokens rotate.
async fn microsoft_token(
    AxState(oauth::Issuer { state, tenant }): AxState<oauth::Issuer>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let aad_error = |status: StatusCode, error: &str, code: u32, description: &str| {
        let body = json!({
            "error": error, "error_description": format!("AADSTS{code}: {description}"),
            "error_codes": [code], "timestamp": "2025-01-01 00:00:00Z",
            "trace_id": "sandbox", "correlation_id": "sandbox"
        });
        (status, Json(body)).into_response()
    };
    if !oauth::client_in_body(&form) {
        return aad_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7_000_215,
            "Invalid client secret provided.",
        );
    }
    let mut state = state.lock().expect("sandbox lock");
    match oauth::grant(&mut state, &form, &tenant) {
        Ok(mut tokens) => {
            tokens["token_type"] = json!("Bearer");
            tokens["ext_expires_in"] = tokens["expires_in"].clone();
            tokens["scope"] = json!(
                "https://graph.microsoft.com/Directory.Read.All https://graph.microsoft.com/User.ReadWrite.All"
            );
            Json(tokens).into_response()
        }
        Err((_, "invalid_grant")) => aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            70_008,
            "The provided authorization code or refresh token has expired due to inactivity.",
        ),
        Err((status, error)) => aad_error(
            status,
            error,
            70_003,
            "The app requested an unsupported grant type.",
        ),
    }
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({"error": {"code": code, "message": message, "innerError": {
        "date": "2025-01-01T00:00:00", "request-id": "sandbox", "client-request-id": "sandbox"
    }}});
    (status, Json(body)).into_response()
}

fn bad_request(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, "Request_BadRequest", message)
}

fn not_found(id: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
        &format!(
            "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
        ),
    )
}

fn refused(refusal: Refusal) -> Response {
    refusal.answer_as(|status| match status {
        StatusCode::UNAUTHORIZED => error(
            status,
            "InvalidAuthenticationToken",
            "Access token validation failure. Invalid audience.",
        ),
        StatusCode::TOO_MANY_REQUESTS => error(
            status,
            "TooManyRequests",
            "Too many requests. Please try again later.",
        ),
        StatusCode::SERVICE_UNAVAILABLE => {
            let mut response = error(status, "serviceNotAvailable", "Service unavailable.");
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, "1".parse().expect("valid"));
            response
        }
        _ => error(status, "generalException", "injected fault"),
    })
}

fn extra(state: &mut State, tenant: &str, id: &str) -> Extra {
    state
        .part::<Mailboxes>()
        .extra
        .get(&(tenant.to_owned(), id.to_owned()))
        .cloned()
        .unwrap_or_default()
}

fn user_json(state: &mut State, tenant: &str, user: &User) -> Value {
    let extra = extra(state, tenant, &user.id);
    let display = format!("{} {}", user.given, user.family).trim().to_owned();
    json!({
        "id": user.id,
        "userPrincipalName": user.user_name,
        // Exchange gives the mailbox (and so `mail`) once a licence with it is assigned.
        "mail": if extra.licensed { Value::from(user.user_name.clone()) } else { Value::Null },
        "givenName": user.given,
        "surname": user.family,
        "displayName": display,
        "accountEnabled": user.active,
        "usageLocation": extra.usage_location,
        "otherMails": extra.other_mails,
        "assignedLicenses": if extra.licensed {
            json!([{"skuId": MAILBOX_SKU, "disabledPlans": []}])
        } else {
            json!([])
        },
    })
}

/// The users holding the mailbox licence in a tenant (still existing).
fn consumed(state: &mut State, tenant: &str) -> i64 {
    let licensed: Vec<String> = state
        .part::<Mailboxes>()
        .extra
        .iter()
        .filter(|((t, _), e)| t == tenant && e.licensed)
        .map(|((_, id), _)| id.clone())
        .collect();
    licensed
        .iter()
        .filter(|id| state.users.by_id(tenant, id).is_some())
        .count() as i64
}

/// The addresses of `userPrincipalName eq '…'`, `mail eq '…'`, or both joined by `or`, with
/// OData's doubled quotes undone; `None` for anything else.
fn filter_values(filter: &str) -> Option<Vec<String>> {
    let mut rest = filter.trim();
    let mut values = Vec::new();
    loop {
        let (property, after) = rest.split_once(" eq '")?;
        if !matches!(property.trim(), "userPrincipalName" | "mail") {
            return None;
        }
        let mut value = String::new();
        let mut chars = after.char_indices().peekable();
        let end = loop {
            let (i, c) = chars.next()?;
            if c == '\'' {
                if chars.peek().is_some_and(|(_, next)| *next == '\'') {
                    chars.next();
                    value.push('\'');
                    continue;
                }
                break i + 1;
            }
            value.push(c);
        };
        values.push(value);
        rest = after[end..].trim_start();
        if rest.is_empty() {
            return Some(values);
        }
        rest = rest.strip_prefix("or ")?;
    }
}

async fn list(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = tenant_or_refuse!(state, headers);
    if let Some(filter) = q.get("$filter") {
        let Some(wanted) = filter_values(filter) else {
            return error(
                StatusCode::BAD_REQUEST,
                "Request_UnsupportedQuery",
                "Unsupported or invalid query filter clause specified for property of resource 'User'.",
            );
        };
        let found: Vec<Value> = state
            .users
            .users(&tenant)
            .iter()
            .filter(|u| wanted.iter().any(|w| u.user_name.eq_ignore_ascii_case(w)))
            .map(|u| user_json(&mut state, &tenant, u))
            .collect();
        return Json(json!({"@odata.context": format!("{GRAPH}/$metadata#users"), "value": found}))
            .into_response();
    }
    if let Some(top) = q.get("$top")
        && !top.parse::<usize>().is_ok_and(|n| (1..=999).contains(&n))
    {
        return bad_request(&format!(
            "Invalid page size specified: '{top}'. Must be between 1 and 999 inclusive."
        ));
    }
    let top = page_size(&q, "$top", 100, 999);
    let (page, next) = state.users.page(
        &tenant,
        q.get("$skiptoken").map(String::as_str),
        top.min(MOST_PER_PAGE),
    );
    let mut answer = json!({
        "@odata.context": format!("{GRAPH}/$metadata#users"),
        "value": page.iter().map(|u| user_json(&mut state, &tenant, u)).collect::<Vec<_>>()
    });
    if let Some(token) = next {
        let mut link = url::Url::parse(&format!("{GRAPH}/users")).expect("valid");
        if let Some(select) = q.get("$select") {
            link.query_pairs_mut().append_pair("$select", select);
        }
        link.query_pairs_mut()
            .append_pair("$top", &top.to_string())
            .append_pair("$skiptoken", &token);
        answer["@odata.nextLink"] = json!(link.as_str());
    }
    Json(answer).into_response()
}

async fn read(AxState(state): AxState<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = tenant_or_refuse!(state, headers);
    match state.users.by_id(&tenant, &id) {
        Some(user) => Json(user_json(&mut state, &tenant, &user)).into_response(),
        None => not_found(&id),
    }
}

/// Entra ID's rule: at least 8 characters, three of lower case, upper case, digits and
/// symbols.
fn complex_enough(password: &str) -> bool {
    let classes = [
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_ascii_alphanumeric()),
    ];
    password.chars().count() >= 8 && classes.iter().filter(|c| **c).count() >= 3
}

async fn create(AxState(state): AxState<Shared>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = tenant_or_refuse!(state, headers);
    state.users.count("POST");
    for required in ["displayName", "mailNickname", "userPrincipalName"] {
        if body[required].as_str().is_none_or(|v| v.trim().is_empty()) {
            return bad_request(&format!(
                "Invalid value specified for property '{required}' of resource 'User'."
            ));
        }
    }
    let Some(enabled) = body["accountEnabled"].as_bool() else {
        return bad_request("Invalid value specified for property 'accountEnabled' of resource 'User'.");
    };
    let Some(password) = body["passwordProfile"]["password"].as_str() else {
        return bad_request("Invalid value specified for property 'passwordProfile' of resource 'User'.");
    };
    if !complex_enough(password) {
        return bad_request(
            "The specified password does not comply with password complexity requirements. Please provide a different password.",
        );
    }
    let upn = body["userPrincipalName"].as_str().unwrap_or_default();
    let on_tenant_domain = upn
        .rsplit_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && domain.eq_ignore_ascii_case(DOMAIN));
    if !on_tenant_domain {
        return bad_request(
            "The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization.",
        );
    }
    if state.users.by_email(&tenant, upn).is_some() {
        return bad_request(
            "Another object with the same value for property userPrincipalName already exists.",
        );
    }
    let given = body["givenName"].as_str().unwrap_or_default();
    let family = body["surname"].as_str().unwrap_or_default();
    // Members are live accounts at once: no invitation.
    let id = state.users.insert(&tenant, upn, given, family);
    if !enabled {
        state.users.set_active(&tenant, &id, false);
    }
    let extra = Extra {
        usage_location: body["usageLocation"].as_str().map(str::to_owned),
        licensed: false,
        other_mails: body["otherMails"]
            .as_array()
            .map(|a| a.iter().filter_map(|m| m.as_str().map(str::to_owned)).collect())
            .unwrap_or_default(),
    };
    state
        .part::<Mailboxes>()
        .extra
        .insert((tenant.clone(), id.clone()), extra);
    let user = state.users.by_id(&tenant, &id).expect("just created");
    (StatusCode::CREATED, Json(user_json(&mut state, &tenant, &user))).into_response()
}

/// `accountEnabled` and `usageLocation`; other properties are accepted and ignored.
async fn update(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = tenant_or_refuse!(state, headers);
    state.users.count("PATCH");
    if state.users.by_id(&tenant, &id).is_none() {
        return not_found(&id);
    }
    if let Some(location) = body.get("usageLocation") {
        let Some(code) = location
            .as_str()
            .filter(|c| c.len() == 2 && c.chars().all(|c| c.is_ascii_alphabetic()))
        else {
            return bad_request("Invalid value specified for property 'usageLocation' of resource 'User'.");
        };
        let key = (tenant.clone(), id.clone());
        state
            .part::<Mailboxes>()
            .extra
            .entry(key)
            .or_default()
            .usage_location = Some(code.to_ascii_uppercase());
    }
    if let Some(enabled) = body["accountEnabled"].as_bool() {
        state.users.set_active(&tenant, &id, enabled);
    }
    StatusCode::NO_CONTENT.into_response()
}

/// Soft delete at Microsoft (restorable 30 days); here the user is gone and its licence free.
async fn remove(AxState(state): AxState<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = tenant_or_refuse!(state, headers);
    state.users.count("DELETE");
    if !state.users.remove(&tenant, &id) {
        return not_found(&id);
    }
    state.part::<Mailboxes>().extra.remove(&(tenant, id));
    StatusCode::NO_CONTENT.into_response()
}

async fn assign_license(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = tenant_or_refuse!(state, headers);
    let Some(user) = state.users.by_id(&tenant, &id) else {
        return not_found(&id);
    };
    let (Some(add), Some(_)) = (body["addLicenses"].as_array(), body["removeLicenses"].as_array()) else {
        return bad_request("Invalid value specified for property 'addLicenses' or 'removeLicenses'.");
    };
    let current = extra(&mut state, &tenant, &id);
    for licence in add {
        let sku = licence["skuId"].as_str().unwrap_or_default();
        if !sku.eq_ignore_ascii_case(MAILBOX_SKU) && !sku.eq_ignore_ascii_case(NO_MAILBOX_SKU) {
            return bad_request(&format!(
                "License {sku} does not correspond to a valid company License."
            ));
        }
        if current.usage_location.is_none() {
            return bad_request("License assignment cannot be done for user with invalid usage location.");
        }
        if sku.eq_ignore_ascii_case(MAILBOX_SKU)
            && !current.licensed
            && consumed(&mut state, &tenant) >= MAILBOX_SKU_UNITS
        {
            return bad_request(&format!(
                "Subscription with SKU {MAILBOX_SKU} does not have any available licenses."
            ));
        }
    }
    if add.iter().any(|l| {
        l["skuId"]
            .as_str()
            .is_some_and(|s| s.eq_ignore_ascii_case(MAILBOX_SKU))
    }) {
        state
            .part::<Mailboxes>()
            .extra
            .entry((tenant.clone(), id.clone()))
            .or_default()
            .licensed = true;
    }
    Json(user_json(&mut state, &tenant, &user)).into_response()
}

async fn organization(AxState(state): AxState<Shared>, headers: HeaderMap) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = tenant_or_refuse!(state, headers);
    // The Entra tenant the token opens (the first one keeps the sandbox's fixed id).
    let id = if tenant == crate::tenants::oauth_tenant("microsoft_365") {
        TENANT_ID.to_owned()
    } else {
        format!(
            "5a4d6b3c-0000-4000-8000-{:0>12}",
            crate::tenants::tenant_id(&tenant)
        )
    };
    Json(json!({
        "@odata.context": format!("{GRAPH}/$metadata#organization"),
        "value": [{
            "id": id,
            "displayName": crate::tenants::tenant_name(&tenant),
            "countryLetterCode": COUNTRY,
            "verifiedDomains": [{"name": DOMAIN, "isDefault": true, "isInitial": true, "type": "Managed", "capabilities": "Email, OfficeCommunicationsOnline"}]
        }]
    }))
    .into_response()
}

async fn domains(AxState(state): AxState<Shared>, headers: HeaderMap) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let _tenant = tenant_or_refuse!(state, headers);
    Json(json!({
        "@odata.context": format!("{GRAPH}/$metadata#domains"),
        "value": [
            {"id": DOMAIN, "authenticationType": "Managed", "isDefault": true, "isInitial": true,
             "isRoot": true, "isVerified": true, "supportedServices": ["Email", "OfficeCommunicationsOnline"]},
            {"id": UNVERIFIED_DOMAIN, "authenticationType": "Managed", "isDefault": false, "isInitial": false,
             "isRoot": false, "isVerified": false, "supportedServices": []}
        ]
    }))
    .into_response()
}

async fn subscribed_skus(AxState(state): AxState<Shared>, headers: HeaderMap) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = tenant_or_refuse!(state, headers);
    let plan = |name: &str| {
        json!({"servicePlanId": format!("{name}-plan"), "servicePlanName": name,
               "provisioningStatus": "Success", "appliesTo": "User"})
    };
    let units = |enabled: i64| json!({"enabled": enabled, "suspended": 0, "warning": 0, "lockedOut": 0});
    Json(json!({
        "@odata.context": format!("{GRAPH}/$metadata#subscribedSkus"),
        "value": [
            {"id": format!("{TENANT_ID}_{MAILBOX_SKU}"), "skuId": MAILBOX_SKU,
             "skuPartNumber": "O365_BUSINESS_ESSENTIALS", "appliesTo": "User", "capabilityStatus": "Enabled",
             "consumedUnits": consumed(&mut state, &tenant), "prepaidUnits": units(MAILBOX_SKU_UNITS),
             "servicePlans": [plan("EXCHANGE_S_STANDARD"), plan("TEAMS1"), plan("SHAREPOINTSTANDARD")]},
            {"id": format!("{TENANT_ID}_{NO_MAILBOX_SKU}"), "skuId": NO_MAILBOX_SKU,
             "skuPartNumber": "POWER_BI_STANDARD", "appliesTo": "User", "capabilityStatus": "Enabled",
             "consumedUnits": 0, "prepaidUnits": units(1_000_000),
             "servicePlans": [plan("EXCHANGE_S_FOUNDATION"), plan("BI_AZURE_P0")]}
        ]
    }))
    .into_response()
}
