//! The first password's reveal page, for the person a new account was made for (no token:
//! the link's id is the secret). Opening the link shows a button; revealing is a POST, so a
//! mail scanner that follows links reveals nothing. The password is shown once, on a page
//! that is not cached and sends no referrer.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use maud::html;
use prov_core::Error;
use prov_core::first_password::{self, LinkView};
use prov_processes::Apps;
use prov_web::html::{layout, page};
use prov_web::{ApiError, PathParam};
use secrecy::ExposeSecret;
use utoipa::OpenApi;

pub(crate) const ROUTES: &[(&str, &str)] = &[
    ("GET", "/first_password/{link_id}"),
    ("POST", "/first_password/{link_id}"),
];

pub(crate) fn routes() -> Router<Apps> {
    Router::new().route("/first_password/{link_id}", get(open).post(reveal))
}

#[derive(OpenApi)]
#[openapi(paths(open, reveal))]
pub(crate) struct Doc;

fn failure(error: Error) -> Response {
    match error {
        Error::Refused(details) => {
            let status = details
                .first()
                .and_then(|d| StatusCode::from_u16(d.category.status()).ok())
                .unwrap_or(StatusCode::BAD_REQUEST);
            page(
                status,
                layout(
                    "This link cannot be used",
                    html! {
                        @for d in &details { p.error role="alert" { (d.message) } }
                    },
                ),
            )
        }
        other => {
            tracing::error!(error = %other, "first password page failed");
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

fn offer(view: &LinkView) -> maud::Markup {
    html! {
        p { "An account in " strong { (view.app_name) } " was made for you. This page shows its first password " strong { "once" } "." }
        form method="post" {
            button type="submit" { "Show my password" }
        }
        p { small { "The link works until " (prov_core::schedule::pacific_for_people(view.expires_at)) "." } }
    }
}

/// The reveal page (HTML): what the link is for, and a button to show the password.
#[utoipa::path(
    get,
    path = "/first_password/{link_id}",
    operation_id = "open_first_password",
    tag = "app accounts",
    params(("link_id" = String, Path, description = "The id in the link emailed to the person.")),
    responses(
        (status = 200, description = "The page with the reveal button.", content_type = "text/html", body = String),
        (status = 404, description = "No such link (a page).", content_type = "text/html", body = String),
        (status = 410, description = "Already shown or expired (a page).", content_type = "text/html", body = String),
    )
)]
async fn open(State(apps): State<Apps>, link_id: Result<PathParam<String>, ApiError>) -> Response {
    let link_id = match link_id {
        Ok(PathParam(id)) => id,
        Err(ApiError(e)) => return failure(e),
    };
    match first_password::open(&apps.services, &link_id).await {
        Ok(view) => page(StatusCode::OK, layout("Your first password", offer(&view))),
        Err(e) => failure(e),
    }
}

/// Shows the first password, once (HTML); the link is used up.
#[utoipa::path(
    post,
    path = "/first_password/{link_id}",
    operation_id = "reveal_first_password",
    tag = "app accounts",
    params(("link_id" = String, Path, description = "The id in the link emailed to the person.")),
    responses(
        (status = 200, description = "The password and what to sign in with, shown once (a page).", content_type = "text/html", body = String),
        (status = 404, description = "No such link (a page).", content_type = "text/html", body = String),
        (status = 410, description = "Already shown or expired (a page).", content_type = "text/html", body = String),
    )
)]
async fn reveal(State(apps): State<Apps>, link_id: Result<PathParam<String>, ApiError>) -> Response {
    let link_id = match link_id {
        Ok(PathParam(id)) => id,
        Err(ApiError(e)) => return failure(e),
    };
    match first_password::reveal(&apps.services, &link_id).await {
        Ok(revealed) => page(
            StatusCode::OK,
            layout(
                "Your first password",
                html! {
                    p { "Sign in to " strong { (revealed.app_name) } " as " code { (revealed.sign_in) } " with this password, then choose your own:" }
                    p { code { (revealed.password.expose_secret()) } }
                    p { "It is shown " strong { "only this once" } "; this link no longer works." }
                },
            ),
        ),
        Err(e) => failure(e),
    }
}
