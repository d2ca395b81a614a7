//! What pages read from forms and query strings: the submitted form after its CSRF check, a
//! place to go back to, and the query strings several pages share.

use std::collections::HashMap;

use axum::extract::Form;
use axum::extract::rejection::FormRejection;

use crate::answer::Fail;
use crate::session::{self, Admin};

pub(crate) type Fields = HashMap<String, String>;

/// The submitted form after its CSRF check.
pub(crate) fn checked(admin: &Admin, form: Result<Form<Fields>, FormRejection>) -> Result<Fields, Fail> {
    let Ok(Form(fields)) = form else {
        return Err(Fail(session::csrf_refused()));
    };
    admin.check_csrf(fields.get("csrf").map(String::as_str).unwrap_or_default())?;
    Ok(fields)
}

/// A place inside the console to go back to (never elsewhere).
pub(crate) fn back_to(fields: &Fields, default: String) -> String {
    match fields.get("back") {
        Some(b) if b.starts_with("/console/") && !b.contains("//") && !b.contains('\\') => b.clone(),
        _ => default,
    }
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct CursorQuery {
    pub(crate) cursor: Option<String>,
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct DoneQuery {
    pub(crate) done: Option<String>,
    /// The onboarding task's "Start setup" step: show the app picker.
    pub(crate) setup: Option<String>,
    /// The app a `done` is about (an account just created there).
    pub(crate) app: Option<String>,
}
