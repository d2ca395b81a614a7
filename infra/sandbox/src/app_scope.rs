//! Which sandbox app a request is for, while its fake answers it: the fakes share one
//! directory (and two apps share the SCIM fake), so an invitation learns its app here.

use axum::Router;
use axum::extract::Request;
use axum::middleware::{Next, from_fn};

tokio::task_local! {
    static APP: &'static str;
}

/// The fake's routes, each request answered as `app`'s.
pub(crate) fn scoped(app: &'static str, routes: Router) -> Router {
    routes.layer(from_fn(move |request: Request, next: Next| {
        APP.scope(app, next.run(request))
    }))
}

/// The app whose request is being answered, if any.
pub(crate) fn current() -> Option<&'static str> {
    APP.try_with(|app| *app).ok()
}
