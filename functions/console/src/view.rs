//! The console's page frame and the small pieces pages share. Plain HTML forms: every flow
//! works without JavaScript; the stylesheet is served by the function itself.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use maud::{DOCTYPE, Markup, html};
use prov_core::ErrorDetail;
use prov_core::catalog::Catalog;
use prov_core::schedule::removal_time;
use prov_core::team::{EmploymentStatus, TeamMember};

use crate::session::Admin;

/// Strict: only this origin's stylesheet and script file (no inline script or style), requests
/// to this origin only; forms post here (the OAuth start then redirects to the vendor over https).
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self' https:; frame-ancestors 'none'; base-uri 'none'";

/// The top navigation: (path, label); the primary admin also sees "Roles and permissions".
const NAV: &[(&str, &str)] = &[
    ("/console/apps", "App directory"),
    ("/console/team", "People"),
    ("/console/events", "Audit log"),
    ("/console/access_report", "Access report"),
];
const ROLES: (&str, &str) = ("/console/admins", "Roles and permissions");

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
                        @for (path, label) in NAV.iter().chain(admin.is_primary().then_some(&ROLES)) {
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

/// A text field with its label and, when the form was refused because of it, the problem in
/// plain words right above the input (which then takes the focus, the first one only).
pub struct Field<'a> {
    pub name: &'a str,
    pub label: &'a str,
    pub kind: &'a str,
    pub value: Option<&'a str>,
    pub required: bool,
    pub autocomplete: &'a str,
}

/// Renders `field` against the refused `details` (those whose key is the field's name);
/// `first` says whether it is the first field with a problem (it takes the focus).
pub fn field(f: &Field<'_>, details: &[ErrorDetail], first: bool) -> Markup {
    let id = format!("field-{}", f.name);
    let problem = details.iter().find(|d| d.error_key == f.name);
    let problem_id = format!("{id}-problem");
    html! {
        label for=(id) { (f.label) }
        @if let Some(d) = problem {
            p.field-problem id=(problem_id) { (plain_with(&d.message, &[(f.name, f.label)])) }
        }
        input id=(id) name=(f.name) type=(f.kind) value=[f.value] required[f.required]
            autocomplete=(f.autocomplete) spellcheck="false"
            aria-invalid=[problem.map(|_| "true")]
            aria-describedby=[problem.map(|_| problem_id.as_str())]
            autofocus[problem.is_some() && first];
    }
}

/// Problems, announced to screen readers.
pub fn problems(details: &[ErrorDetail]) -> Markup {
    html! {
        @if !details.is_empty() {
            div.problems role="alert" {
                @for d in details { p { (plain(&d.message)) } }
            }
        }
    }
}

/// A confirmation that something happened, announced politely.
pub fn notice(text: Option<&str>) -> Markup {
    html! { @if let Some(text) = text { p.notice role="status" { (text) } } }
}

/// The outcome of "Remove all accounts", from the redirect's query: the apps by name.
pub fn removed_all_notice(catalog: &Catalog, q: &RemovedAll) -> Markup {
    let names = |list: &Option<String>| {
        list.as_deref()
            .unwrap_or_default()
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|slug| catalog.find(slug).map_or(slug, |a| a.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (deleted, failed, skipped) = (names(&q.deleted), names(&q.failed), names(&q.skipped));
    html! {
        @if !deleted.is_empty() || (failed.is_empty() && skipped.is_empty()) {
            p.notice role="status" { "Remove all accounts: " @if deleted.is_empty() { "nothing was left to delete." } @else { "deleted in " (deleted) "." } }
        }
        @if !failed.is_empty() {
            div.problems role="alert" { p { "Not deleted in " (failed) ": the app refused; try Delete on its row, or remove the account in the app." } }
        }
        @if !skipped.is_empty() {
            p.warning { "Skipped in " (skipped) ": not managed from here (the app is disconnected, or the account is in another tenant). Remove those accounts in the app itself." }
        }
    }
}

/// The query of a redirect after "Remove all accounts": comma-separated app slugs.
#[derive(serde::Deserialize, Default)]
pub struct RemovedAll {
    deleted: Option<String>,
    failed: Option<String>,
    skipped: Option<String>,
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

/// A day in the console's one date format: "March 10, 2026".
pub fn day(d: NaiveDate) -> String {
    d.format("%B %-d, %Y").to_string()
}

/// A moment in Pacific time, in the console's one format.
pub use prov_core::schedule::pacific_for_people as pacific;

/// Where a team member stands, in words: a dismissed person whose access has not ended yet
/// is still working ("Leaving on …").
pub fn member_status(member: &TeamMember, now: DateTime<Utc>) -> String {
    match (member.employment_status, member.last_day) {
        (EmploymentStatus::Dismissed, Some(last)) if removal_time(last) > now => {
            format!("Leaving on {}", day(last))
        }
        (EmploymentStatus::Dismissed, _) => "Dismissed".to_owned(),
        (EmploymentStatus::Rehired, _) => "Rehired".to_owned(),
        (EmploymentStatus::Active, _) => "Active".to_owned(),
    }
}

/// Whether a dismissed person's access has ended (the day after their last day began in
/// Pacific time); only then is a rehire the way back.
pub fn access_ended(member: &TeamMember, now: DateTime<Utc>) -> bool {
    member.employment_status == EmploymentStatus::Dismissed
        && member.last_day.is_none_or(|last| removal_time(last) <= now)
}

/// An API message in plain words: attribute names in backticks become the words of the
/// field (`labels`: name and label), or the name's words ("`last_day`" reads "last day").
pub fn plain_with(message: &str, labels: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(message.len());
    let mut parts = message.split('`');
    if let Some(first) = parts.next() {
        out.push_str(first);
    }
    for (i, part) in parts.enumerate() {
        if i % 2 == 1 {
            out.push_str(part);
            continue;
        }
        let name = part.split(['.', '[']).next_back().unwrap_or(part);
        match labels.iter().find(|(n, _)| *n == part || *n == name) {
            Some((_, label)) => out.push_str(label),
            None => out.push_str(&name.replace('_', " ")),
        }
    }
    out
}

/// `plain_with` without field labels.
pub fn plain(message: &str) -> String {
    plain_with(message, &[])
}

/// An audit event's detail as people read it: how a result was proven in words, each app of a
/// dismissal's summary by its name, states by their labels.
pub fn detail_in_words(detail: &str, catalog: &Catalog) -> String {
    let mut out = plain(detail);
    for (code, words) in [
        ("verified: vendor_answer", "confirmed by the app's answer"),
        (
            "verified: read_back",
            "confirmed by reading the account back from the app",
        ),
        ("verified: already_gone", "the app no longer had it"),
    ] {
        out = out.replace(code, words);
    }
    // A dismissal's summary: "2 accounts: okta ada@…: removed (…); slack ada@…: suspended".
    let parts: Vec<String> = out
        .split("; ")
        .map(|part| {
            let (prefix, rest) = match part.split_once(" accounts: ") {
                Some((n, rest)) if n.chars().all(|c| c.is_ascii_digit()) => (format!("{n} accounts: "), rest),
                _ => (String::new(), part),
            };
            let rest = match rest
                .split_once(' ')
                .and_then(|(slug, tail)| Some((catalog.find(slug)?, tail)))
            {
                Some((app, tail)) => format!("{} {tail}", app.name),
                None => rest.to_owned(),
            };
            match rest.split_once("status ") {
                Some((head, state)) if !state.contains(' ') => {
                    format!("{prefix}{head}status {}", label_of(state))
                }
                _ => format!("{prefix}{rest}"),
            }
        })
        .collect();
    parts.join("; ")
}

/// Fixed confirmations for `?done=`: nothing a link can put on the page verbatim.
pub fn done_text(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "connected" => "Connected.",
        "disconnected" => "Disconnected. The credentials were deleted; nothing changed in the app.",
        "matched" => "Matches saved.",
        "suspended" => "Account suspended.",
        "reactivated" => "Account reactivated.",
        "deleted" => "Account deleted.",
        "unmatched" => "Account unmatched. The account in the app was left as it is.",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_detail_reads_as_words() {
        let catalog = prov_connectors::registry::catalog(true);
        assert_eq!(
            detail_in_words(
                "2 accounts: okta ada@example.com: removed (verified: vendor_answer); slack ada@example.com: suspended (verified: read_back)",
                &catalog
            ),
            "2 accounts: Okta ada@example.com: removed (confirmed by the app's answer); Slack ada@example.com: suspended (confirmed by reading the account back from the app)"
        );
        assert_eq!(
            detail_in_words("for team member tm_1; status invite_sent", &catalog),
            "for team member tm_1; status Invite Sent"
        );
        assert_eq!(
            detail_in_words("verified: already_gone", &catalog),
            "the app no longer had it"
        );
    }
}
