//! The console's page frame and the small pieces pages share. Plain HTML forms: every flow
//! works without JavaScript; the stylesheet is served by the function itself.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};
use prov_core::ErrorDetail;

use crate::session::Admin;

/// Strict: only this origin's stylesheet and script file (no inline script or style), requests
/// to this origin only; forms post here (the OAuth start then redirects to the vendor over https).
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self' https:; frame-ancestors 'none'; base-uri 'none'";

/// The top navigation: (path, label).
const NAV: &[(&str, &str)] = &[
    ("/console/apps", "App directory"),
    ("/console/team", "People"),
    ("/console/events", "Audit log"),
    ("/console/access_report", "Access report"),
];

pub fn csrf_field(admin: &Admin) -> Markup {
    html! { input type="hidden" name="csrf" value=(admin.csrf); }
}

/// A whole page for a signed-in admin.
pub fn page(admin: &Admin, current: &str, title: &str, body: Markup) -> Markup {
    frame(
        title,
        html! {
            header.top {
                a.brand href="/console/apps" { (admin.access.company().name) }
                nav aria-label="Main" {
                    ul {
                        @for (path, label) in NAV {
                            li {
                                @if current.starts_with(path) {
                                    a href=(path) aria-current="page" { (label) (nav_count(path, admin)) }
                                } @else {
                                    a href=(path) { (label) (nav_count(path, admin)) }
                                }
                            }
                        }
                    }
                }
                form.signout method="post" action="/console/sign_out" {
                    (csrf_field(admin))
                    span { (admin.name()) }
                    button type="submit" { "Sign out" }
                }
            }
        },
        body,
    )
}

/// The access report's link carries how many findings are open.
fn nav_count(path: &str, admin: &Admin) -> Markup {
    html! {
        @if path == "/console/access_report" && admin.open_findings > 0 {
            " " span.count aria-label={ (admin.open_findings) " open" } { (admin.open_findings) }
        }
    }
}

/// A page without the navigation (sign-in, errors before a session).
pub fn bare(title: &str, body: Markup) -> Markup {
    frame(
        title,
        html! { header.top { span.brand { "Admin console" } } },
        body,
    )
}

fn frame(title: &str, top: Markup, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Admin console" }
                link rel="stylesheet" href="/console/console.css";
                // htmx must not add an inline style (the CSP would refuse it).
                meta name="htmx-config" content=r#"{"includeIndicatorStyles":false}"#;
                script src="/console/htmx.min.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                (top)
                main id="main" tabindex="-1" {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// Sends a page with the console's security headers.
pub fn send(status: StatusCode, markup: Markup) -> Response {
    let mut response = (status, Html(markup.into_string())).into_response();
    protect(&mut response);
    response
}

pub fn protect(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

/// Problems, announced to screen readers.
pub fn problems(details: &[ErrorDetail]) -> Markup {
    html! {
        @if !details.is_empty() {
            div.problems role="alert" {
                @for d in details { p { (d.message) } }
            }
        }
    }
}

/// A confirmation that something happened, announced politely.
pub fn notice(text: Option<&str>) -> Markup {
    html! { @if let Some(text) = text { p.notice role="status" { (text) } } }
}

/// A status as a badge (the product's wording: "Invite Sent", "Connected", …).
pub fn badge(label: &str) -> Markup {
    let class = label.to_ascii_lowercase().replace(' ', "-");
    html! { span class={ "badge " (class) } { (label) } }
}

/// A form with one button that posts to `action` (with the CSRF token).
pub fn button_form(admin: &Admin, action: &str, label: &str, class: &str) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            (csrf_field(admin))
            button type="submit" class=(class) { (label) }
        }
    }
}

/// Fixed confirmations for `?done=`: nothing a link can put on the page verbatim.
pub fn done_text(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "connected" => "Connected.",
        "disconnected" => "Disconnected. The credentials were deleted; nothing changed in the app.",
        "matched" => "Matches saved.",
        "created" => {
            "Account created. The app sent an invitation: it shows \"Invite Sent\" until the person accepts."
        }
        "suspended" => "Account suspended.",
        "reactivated" => "Account reactivated.",
        "deleted" => "Account removed.",
        "unmatched" => "Account unmatched. The account in the app was left as it is.",
        "onboarding" => "Setup started: accounts are being created.",
        "dismissed" => "Dismissal saved.",
        "offboarding" => "Saved.",
        "cancelled" => "Dismissal cancelled: nothing will be removed.",
        "rehired" => "Rehired: what was still to come is cancelled.",
        _ => return None,
    })
}

/// A state in the product's words: `invite_sent` is "Invite Sent".
pub fn label_of(state: &str) -> String {
    let mut out = String::new();
    for (i, word) in state.split('_').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_uppercase());
            out.push_str(chars.as_str());
        }
    }
    out
}

pub const STYLESHEET: &str = include_str!("../static/console.css");
/// htmx 2.0.11 (`htmx.org` on npm, 0BSD), vendored: no CDN.
pub const HTMX: &str = include_str!("../static/htmx.min.js");
