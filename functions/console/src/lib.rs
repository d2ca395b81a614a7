//! The console function: the company admin console as server-rendered pages. The App
//! directory (search, connect by API key or OAuth, disconnect), an app's accounts (sync,
//! Match accounts, per-account actions with a confirmation), People (a team member's Apps,
//! "Remove all accounts", the "Create app accounts" and "Remove app access" tasks, dismissal)
//! and the audit log.
//!
//! Handlers only translate forms to the same use cases the API calls (`prov-core`,
//! `prov-processes`), after the same `authorize` checks; the session stands in for the
//! API token (see `session`). Forms post and redirect, so everything works without script.

mod answer;
mod form;
mod pages;
pub mod session;
mod view;

use axum::Router;
use pages::{accounts, admins, apps, dismissal, events, groups, onboarding, people, report, sign_in, team};
use prov_processes::Apps;

pub use session::mint_link;

/// Routes this function serves, as `(method, path)`; the SAM template maps the same set.
pub const ROUTES: &[(&str, &str)] = prov_web::join_routes!(
    sign_in::ROUTES,
    apps::ROUTES,
    accounts::ROUTES,
    groups::ROUTES,
    team::ROUTES,
    people::ROUTES,
    onboarding::ROUTES,
    dismissal::ROUTES,
    events::ROUTES,
    admins::ROUTES,
    report::ROUTES,
);

/// The function's HTTP surface, ready to serve.
pub fn router(apps: Apps) -> Router {
    prov_web::finish(routes(apps))
}

/// The routes alone, for mounting beside other functions' routes (the devserver).
pub fn routes(apps: Apps) -> Router {
    Router::new()
        .merge(sign_in::routes())
        .merge(apps::routes())
        .merge(accounts::routes())
        .merge(groups::routes())
        .merge(team::routes())
        .merge(people::routes())
        .merge(onboarding::routes())
        .merge(dismissal::routes())
        .merge(events::routes())
        .merge(admins::routes())
        .merge(report::routes())
        .layer(axum::middleware::from_fn_with_state(
            apps.clone(),
            answer::reframe,
        ))
        .with_state(apps)
}
