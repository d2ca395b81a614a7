//! The account claim. The link in the welcome email opens a page where the new admin
//! confirms their email, then goes on into the admin console with a one-time sign-in link
//! (the company's admin token for programs is shown there once too): plain HTML forms, no
//! script; the pages send no referrer, so the secret link never leaks onward. Programs
//! confirm with `POST /v1/claims/{claim_id}` instead. A link lost, expired or locked after
//! wrong emails is replaced with `POST /v1/companies/{company_id}/claims`.

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use maud::{Markup, html};
use prov_core::body::Unparsed;
use prov_core::claims::{self, ClaimBody, ClaimView, NewClaimLink};
use prov_core::sign_in_links;
use prov_core::{Error, ErrorDetail, Services};
use prov_web::html::{layout, page};
use prov_web::{ApiError, Ctx, JsonBody, PathParam, ReqId};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{OpenApi, ToSchema};

use crate::provisioning::no_store;

pub(crate) const ROUTES: &[(&str, &str)] = &[
    ("GET", "/claim_account/{claim_id}"),
    ("POST", "/claim_account/{claim_id}"),
    ("POST", "/v1/claims/{claim_id}"),
    ("POST", "/v1/companies/{company_id}/claims"),
];

pub(crate) fn routes() -> Router<Services> {
    Router::new()
        .route("/claim_account/{claim_id}", get(open).post(confirm))
        .route("/v1/claims/{claim_id}", post(confirm_claim))
        .route("/v1/companies/{company_id}/claims", post(new_claim_link))
}

#[derive(OpenApi)]
#[openapi(paths(open, confirm, confirm_claim, new_claim_link))]
pub(crate) struct Doc;

/// The claim page's form.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct ClaimForm {
    email: String,
}

fn form(view: &ClaimView, problem: Option<&str>) -> Markup {
    html! {
        p { "You were named the primary payroll administrator of " strong { (view.company_name) } "." }
        @if let Some(problem) = problem { p.error role="alert" { (problem) } }
        form method="post" {
            label for="email" { "Confirm the email address this invitation was sent to (" (view.email_hint) ")" }
            input id="email" name="email" type="email" autocomplete="email" required;
            button type="submit" { "Claim account" }
        }
        p { small { "This link works once and expires on " (prov_core::schedule::pacific_for_people(view.expires_at)) "." } }
    }
}

fn failure(error: Error) -> Response {
    match error {
        Error::Refused(details) => {
            let status = details
                .first()
                .and_then(|d| StatusCode::from_u16(d.category.status()).ok())
                .unwrap_or(StatusCode::BAD_REQUEST);
            page(
                status,
                layout("This claim link cannot be used", messages(&details)),
            )
        }
        other => {
            tracing::error!(error = %other, "claim page failed");
            page(
                StatusCode::INTERNAL_SERVER_ERROR,
                layout(
                    "Something went wrong",
                    html! { p { "Please try again in a moment." } },
                ),
            )
        }
    }
}

fn messages(details: &[ErrorDetail]) -> Markup {
    html! { @for d in details { p.error role="alert" { (d.message) } } }
}

/// The claim page (HTML), for the new admin's browser.
#[utoipa::path(
    get,
    path = "/claim_account/{claim_id}",
    tag = "provision",
    params(("claim_id" = String, Path, description = "The id in the account claim link.")),
    responses(
        (status = 200, description = "The claim form.", content_type = "text/html", body = String),
        (status = 404, description = "No such claim (a page).", content_type = "text/html", body = String),
        (status = 410, description = "Used or expired (a page).", content_type = "text/html", body = String),
    )
)]
async fn open(State(svc): State<Services>, claim_id: Result<PathParam<String>, ApiError>) -> Response {
    // A path that cannot be decoded is no claim either: a page, like every answer here.
    let claim_id = match claim_id {
        Ok(PathParam(claim_id)) => claim_id,
        Err(ApiError(e)) => return failure(e),
    };
    match claims::open_claim(&svc, &claim_id).await {
        Ok(view) => page(StatusCode::OK, layout("Claim your account", form(&view, None))),
        Err(e) => failure(e),
    }
}

/// The claim page's form: confirms the email, then offers a one-time sign-in link into the
/// admin console and shows the admin token once (HTML).
#[utoipa::path(
    post,
    path = "/claim_account/{claim_id}",
    tag = "provision",
    params(("claim_id" = String, Path, description = "The id in the account claim link.")),
    request_body(content = ClaimForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Claimed: a one-time sign-in link into the admin console (for admins who may use it), and the admin token, shown once (a page).", content_type = "text/html", body = String),
        (status = 404, description = "No such claim (a page).", content_type = "text/html", body = String),
        (status = 410, description = "Used or expired (a page).", content_type = "text/html", body = String),
        (status = 422, description = "Not the email the account was created for, or none (the form again).", content_type = "text/html", body = String),
    )
)]
async fn confirm(
    State(svc): State<Services>,
    ReqId(request_id): ReqId,
    claim_id: Result<PathParam<String>, ApiError>,
    submitted: Result<Form<ClaimForm>, FormRejection>,
) -> Response {
    let claim_id = match claim_id {
        Ok(PathParam(claim_id)) => claim_id,
        Err(ApiError(e)) => return failure(e),
    };
    let view = match claims::open_claim(&svc, &claim_id).await {
        Ok(view) => view,
        Err(e) => return failure(e),
    };
    let Ok(Form(submitted)) = submitted else {
        return page(
            StatusCode::UNPROCESSABLE_ENTITY,
            layout(
                "Claim your account",
                form(&view, Some("Enter your email address.")),
            ),
        );
    };
    // The form's email is read as the JSON route's body is, with the same refusals.
    let body = Unparsed::<ClaimBody>::new(Map::from_iter([(
        "email".to_owned(),
        Value::String(submitted.email),
    )]));
    let claimed = match body.parse() {
        Ok(body) => claims::confirm_claim(&svc, &request_id, &claim_id, &body).await,
        Err(e) => Err(e),
    };
    match claimed {
        Ok(granted) => {
            // The email was just proven: the new admin goes on into the console with a
            // one-time sign-in link, no token to paste (or is told why they cannot).
            let console = sign_in_links::mint(&svc, &granted.company_id, &granted.user_id).await;
            page(
                StatusCode::OK,
                layout(
                    "Your account is ready",
                    html! {
                        p { "You are now an admin of " strong { (view.company_name) } "." }
                        @match &console {
                            Ok(link) => {
                                p { a.button href=(link) { "Open the admin console" } }
                                p { small { "This sign-in link works once, for " (sign_in_links::LINK_MINUTES) " minutes." } }
                            }
                            Err(Error::Refused(details)) => {
                                p.error role="alert" {
                                    "You cannot use the admin console: "
                                    @if details.iter().any(|d| d.category == prov_core::Category::Forbidden) {
                                        "it is for the primary admin and admins who may manage apps. Ask your company's primary admin to grant you \"Manage apps\" in Roles and permissions."
                                    } @else {
                                        (details.first().map(|d| d.message.as_str()).unwrap_or_default())
                                    }
                                }
                            }
                            Err(_) => p { "The admin console could not be opened just now; sign in there with the token below." },
                        }
                        details {
                            summary { "API token, for programs" }
                            p { "Your company ID: " code { (granted.company_id) } }
                            p { "Your admin API token is shown " strong { "only once" } "; store it in a password manager now:" }
                            p { code { (granted.token.expose_secret()) } }
                            p { "Use it as " code { "Authorization: Token <token>" } "." }
                        }
                    },
                ),
            )
        }
        Err(Error::Refused(details))
            if details
                .iter()
                .all(|d| d.category == prov_core::Category::InvalidAttributeValue) =>
        {
            let problem = details.first().map(|d| d.message.clone()).unwrap_or_default();
            page(
                StatusCode::UNPROCESSABLE_ENTITY,
                layout("Claim your account", form(&view, Some(&problem))),
            )
        }
        Err(e) => failure(e),
    }
}

#[derive(Serialize, ToSchema)]
struct ClaimAnswer {
    company_id: String,
    user_id: String,
    /// Use as `Authorization: Token <token>`. Shown once; only its hash is kept.
    token: String,
}

/// Confirms the email of an account claim and answers the company's admin token, once.
#[utoipa::path(
    post,
    path = "/v1/claims/{claim_id}",
    tag = "provision",
    params(("claim_id" = String, Path, description = "The id in the account claim link.")),
    request_body = ClaimBody,
    responses(
        (status = 201, description = "Claimed: the admin token, shown once.", body = ClaimAnswer),
        (status = 410, response = prov_web::openapi::Gone),
    )
)]
async fn confirm_claim(
    State(svc): State<Services>,
    ReqId(request_id): ReqId,
    PathParam(claim_id): PathParam<String>,
    JsonBody(body): JsonBody<ClaimBody>,
) -> Result<Response, ApiError> {
    let body = body.parse()?;
    let granted = claims::confirm_claim(&svc, &request_id, &claim_id, &body).await?;
    let answer = ClaimAnswer {
        company_id: granted.company_id,
        user_id: granted.user_id,
        token: granted.token.expose_secret().to_owned(),
    };
    Ok(no_store((StatusCode::CREATED, Json(answer)).into_response()))
}

/// Sends an admin who has not claimed their access a new claim link (the first was lost,
/// expired, or locked after wrong email addresses), and answers it.
#[utoipa::path(
    post,
    path = "/v1/companies/{company_id}/claims",
    tag = "provision",
    security(("token" = [])),
    params(("company_id" = String, Path, description = "The company's id.")),
    request_body = NewClaimLink,
    responses(
        (status = 201, description = "A new claim link, also emailed to the admin.", body = prov_core::claims::ProvisionResponse),
        (status = 403, response = prov_web::openapi::Forbidden),
    )
)]
async fn new_claim_link(
    State(svc): State<Services>,
    Ctx(actor): Ctx,
    PathParam(company_id): PathParam<String>,
    JsonBody(body): JsonBody<NewClaimLink>,
) -> Result<Response, ApiError> {
    let link = claims::new_claim_link(&svc, &actor, &company_id, &body).await?;
    Ok(no_store((StatusCode::CREATED, Json(link)).into_response()))
}
