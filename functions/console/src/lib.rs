//! The console function: the company admin console as server-rendered pages. The App
//! directory (search, connect by API key or OAuth, disconnect), an app's accounts (sync,
//! Match accounts, per-account actions with a confirmation), People (a team member's Apps,
//! "Remove all accounts", the "Create app accounts" and "Remove app access" tasks, dismissal)
//! and the audit log.
//!
//! Handlers only translate forms to the same use cases the API calls (`prov-core`,
//! `prov-connectors`), after the same `authorize` checks; the session stands in for the
//! API token (see `session`). Forms post and redirect, so everything works without script.

mod pages;
pub mod session;
mod view;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::html;
use prov_core::Error;
use prov_processes::Apps;

pub use session::mint_link;

/// Routes this function serves, as `(method, path)`; the SAM template maps the same set.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/console"),
    ("GET", "/console/console.css"),
    ("GET", "/console/htmx.min.js"),
    ("GET", "/console/sign_in"),
    ("POST", "/console/sign_in"),
    ("GET", "/console/sign_in/link/{link}"),
    ("POST", "/console/sign_in/link/{link}"),
    ("POST", "/console/sign_out"),
    ("GET", "/console/apps"),
    ("GET", "/console/apps/{app}"),
    ("POST", "/console/apps/{app}/connect"),
    ("POST", "/console/apps/{app}/oauth"),
    ("GET", "/console/apps/{app}/disconnect"),
    ("POST", "/console/apps/{app}/disconnect"),
    ("POST", "/console/apps/{app}/sync"),
    ("GET", "/console/apps/{app}/accounts"),
    ("POST", "/console/apps/{app}/matches"),
    ("GET", "/console/apps/{app}/accounts/{account_id}/{action}"),
    ("POST", "/console/apps/{app}/accounts/{account_id}/{action}"),
    ("GET", "/console/team"),
    ("GET", "/console/team/{team_member_id}"),
    ("POST", "/console/team/{team_member_id}/apps/{app}/create"),
    ("GET", "/console/team/{team_member_id}/remove_all"),
    ("POST", "/console/team/{team_member_id}/remove_all"),
    ("GET", "/console/team/{team_member_id}/onboarding"),
    ("POST", "/console/team/{team_member_id}/onboarding"),
    ("GET", "/console/team/{team_member_id}/dismissal"),
    ("POST", "/console/team/{team_member_id}/dismissal"),
    ("POST", "/console/team/{team_member_id}/dismissal/cancel"),
    ("POST", "/console/team/{team_member_id}/rehire"),
    ("GET", "/console/team/{team_member_id}/offboarding"),
    ("POST", "/console/team/{team_member_id}/offboarding"),
    ("GET", "/console/events"),
];

/// The function's HTTP surface, ready to serve.
pub fn router(apps: Apps) -> Router {
    prov_web::finish(routes(apps))
}

/// The routes alone, for mounting beside other functions' routes (the devserver).
pub fn routes(apps: Apps) -> Router {
    use pages::*;
    Router::new()
        .route("/console", get(home))
        .route("/console/console.css", get(stylesheet))
        .route("/console/htmx.min.js", get(htmx))
        .route("/console/sign_in", get(sign_in_form).post(sign_in))
        .route("/console/sign_in/link/{link}", get(link_form).post(link_sign_in))
        .route("/console/sign_out", axum::routing::post(sign_out))
        .route("/console/apps", get(directory))
        .route("/console/apps/{app}", get(app_page))
        .route("/console/apps/{app}/connect", axum::routing::post(connect))
        .route("/console/apps/{app}/oauth", axum::routing::post(start_oauth))
        .route(
            "/console/apps/{app}/disconnect",
            get(disconnect_form).post(disconnect),
        )
        .route("/console/apps/{app}/sync", axum::routing::post(sync))
        .route("/console/apps/{app}/accounts", get(accounts_page))
        .route("/console/apps/{app}/matches", axum::routing::post(matches))
        .route(
            "/console/apps/{app}/accounts/{account_id}/{action}",
            get(action_form).post(action),
        )
        .route("/console/team", get(team_page))
        .route("/console/team/{team_member_id}", get(member_page))
        .route(
            "/console/team/{team_member_id}/apps/{app}/create",
            axum::routing::post(create_account),
        )
        .route(
            "/console/team/{team_member_id}/remove_all",
            get(remove_all_form).post(remove_all),
        )
        .route(
            "/console/team/{team_member_id}/onboarding",
            get(onboarding_page).post(run_onboarding),
        )
        .route(
            "/console/team/{team_member_id}/dismissal",
            get(dismissal_page).post(dismiss),
        )
        .route(
            "/console/team/{team_member_id}/dismissal/cancel",
            axum::routing::post(cancel_dismissal),
        )
        .route(
            "/console/team/{team_member_id}/rehire",
            axum::routing::post(rehire),
        )
        .route(
            "/console/team/{team_member_id}/offboarding",
            get(offboarding_page).post(update_offboarding),
        )
        .route("/console/events", get(events_page))
        .with_state(apps)
}

/// A failure, shown as a page (never with internals: those are logged with the request id).
#[derive(Debug)]
pub(crate) struct Fail(pub Error);

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        Fail(e)
    }
}

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        match self.0 {
            Error::Refused(details) => {
                let status = details
                    .first()
                    .and_then(|d| StatusCode::from_u16(d.category.status()).ok())
                    .unwrap_or(StatusCode::BAD_REQUEST);
                let title = match status {
                    StatusCode::NOT_FOUND => "Not found",
                    StatusCode::FORBIDDEN => "Not allowed",
                    _ => "That did not work",
                };
                view::send(
                    status,
                    view::bare(
                        title,
                        html! {
                            (view::problems(&details))
                            p { a href="/console/apps" { "Back to the console" } }
                        },
                    ),
                )
            }
            Error::Busy(why) => {
                tracing::warn!(why, "store contention outlasted retries");
                view::send(
                    StatusCode::SERVICE_UNAVAILABLE,
                    view::bare(
                        "Busy",
                        html! { p { "The service is busy; try again in a moment." } },
                    ),
                )
            }
            Error::Internal(why) => {
                // The request-id layer logs it and replaces the body; keep a page here.
                let mut response = prov_web::ApiError(Error::Internal(why)).into_response();
                response
                    .headers_mut()
                    .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                response
            }
        }
    }
}

impl IntoResponse for session::Rejection {
    fn into_response(self) -> Response {
        match self {
            session::Rejection::SignIn => pages::see_other("/console/sign_in"),
            session::Rejection::Failed(e) => Fail(e).into_response(),
        }
    }
}
