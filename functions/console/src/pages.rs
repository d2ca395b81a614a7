//! The console's pages, one module per feature. Each reads a form or a path, calls one use
//! case with the signed-in admin as the actor, and renders a page or redirects (post,
//! redirect, get); each owns its routes.

pub(crate) mod accounts;
pub(crate) mod admins;
pub(crate) mod apps;
pub(crate) mod dismissal;
pub(crate) mod events;
pub(crate) mod groups;
pub(crate) mod onboarding;
pub(crate) mod people;
pub(crate) mod report;
pub(crate) mod sign_in;
pub(crate) mod team;
