//! An app's accounts: sync, the accounts page with its filters, Match accounts, and each
//! account action behind a confirmation that shows what it will really do.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Query, State};
use axum::routing::{get, post};
use maud::{Markup, html};
use prov_core::Error;
use prov_core::access::Access;
use prov_core::body::Unparsed;
use prov_core::listing::ListQuery;
use prov_core::team::{self, TeamMember};
use prov_processes::accounts::{self, AccountQuery, AccountView, Action, Matching};
use prov_processes::connections::Apps;
use prov_web::PathParam;
use serde_json::{Map, Value, json};

use crate::answer::{Fail, Page, ok, see_other};
use crate::form::{Fields, back_to, checked};
use crate::session::Admin;
use crate::view::{self, badge, button_form, csrf_field, done_text, notice};

pub(crate) const ROUTES: &[(&str, &str)] = &[
    ("POST", "/console/apps/{app}/sync"),
    ("GET", "/console/apps/{app}/accounts"),
    ("POST", "/console/apps/{app}/matches"),
    ("GET", "/console/apps/{app}/accounts/{account_id}/{action}"),
    ("POST", "/console/apps/{app}/accounts/{account_id}/{action}"),
];

pub(crate) fn routes() -> Router<Apps> {
    Router::new()
        .route("/console/apps/{app}/sync", post(sync))
        .route("/console/apps/{app}/accounts", get(accounts_page))
        .route("/console/apps/{app}/matches", post(matches))
        .route(
            "/console/apps/{app}/accounts/{account_id}/{action}",
            get(action_form).post(action),
        )
}

async fn sync(
    State(apps): State<Apps>,
    admin: Admin,
    PathParam(slug): PathParam<String>,
    form: Result<Form<Fields>, FormRejection>,
) -> Page {
    checked(&admin, form)?;
    let report = accounts::sync(&apps, &admin.actor, &admin.access, &slug).await?;
    Ok(see_other(&format!(
        "/console/apps/{slug}/accounts?synced={}&auto_matched={}",
        report.total, report.auto_matched
    )))
}

/// Every team member of the company (the match choices), in the order added.
async fn whole_team(apps: &Apps, access: &Access) -> Result<Vec<TeamMember>, Error> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let query = ListQuery {
            limit: Some("100".into()),
            cursor: cursor.take(),
        };
        let page = team::list(&apps.services, access, &query).await?;
        out.extend(page.items.into_iter().map(|v| v.member));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(out),
        }
    }
}

fn account_name(a: &AccountView) -> String {
    match (&a.first_name, &a.last_name, &a.display_name) {
        (Some(f), Some(l), _) => format!("{f} {l}"),
        (_, _, Some(d)) => d.clone(),
        (Some(f), None, _) => f.clone(),
        _ => a.email.clone().unwrap_or_else(|| a.id.clone()),
    }
}

fn action_label(action: &str) -> &'static str {
    match action {
        "suspend" => "Suspend",
        "reactivate" => "Reactivate",
        "delete" => "Delete",
        "unmatch" => "Unmatch",
        _ => "",
    }
}

/// Links to the confirmation page of each action the account allows.
pub(crate) fn action_links(slug: &str, a: &AccountView, back: &str) -> Markup {
    html! {
        @for action in a.allowed_actions.iter().filter(|x| !action_label(x).is_empty()) {
            a.button.secondary href={ "/console/apps/" (slug) "/accounts/" (a.id) "/" (action) "?back=" (back) }
                aria-label={ (action_label(action)) " " (account_name(a)) } { (action_label(action)) }
            " "
        }
    }
}

#[derive(serde::Deserialize, Default)]
struct AccountsQuery {
    status: Option<String>,
    #[serde(rename = "match")]
    matching: Option<String>,
    cursor: Option<String>,
    done: Option<String>,
    synced: Option<u32>,
    auto_matched: Option<u32>,
    matched: Option<u32>,
}

async fn accounts_page(
    State(apps): State<Apps>,
    admin: Admin,
    PathParam(slug): PathParam<String>,
    Query(q): Query<AccountsQuery>,
) -> Page {
    let app = *apps.services.catalog.get(&slug)?;
    let query = AccountQuery {
        status: q.status.clone().filter(|s| !s.is_empty()),
        matching: q.matching.clone().filter(|s| !s.is_empty()),
        limit: Some("100".into()),
        cursor: q.cursor.clone(),
    };
    let listing = accounts::list_accounts(&apps, &admin.access, &slug, &query).await?;
    let team = whole_team(&apps, &admin.access).await?;
    let name_of = |id: &str| {
        team.iter()
            .find(|m| m.id == id)
            .map(|m| m.full_name())
            .unwrap_or_else(|| id.to_owned())
    };
    let to_match: Vec<&AccountView> = listing
        .items
        .iter()
        .filter(|a| a.present && a.allowed_actions.contains(&"match"))
        .collect();
    let back = format!("/console/apps/{slug}/accounts");
    let s = &listing.summary;
    let body = html! {
        (notice(done_text(q.done.as_deref())))
        @if let (Some(total), Some(auto)) = (q.synced, q.auto_matched) {
            p.notice role="status" { "Synced " (total) " accounts from " (app.name) "; " (auto) " matched automatically." }
        }
        @if let Some(n) = q.matched { p.notice role="status" { (n) " matches saved." } }
        p { (s.present) " accounts: " (s.matched) " matched, " (s.unmatched) " unmatched, " (s.do_not_match) " do not match; " (s.invite_sent) " Invite Sent; " (s.seats) " seats." }
        @if s.tenant_not_connected > 0 {
            p.warning role="note" {
                (s.tenant_not_connected) " accounts belong to a " (app.tenant) " no longer connected: they are not managed from here. Remove them in that " (app.tenant) " yourself."
            }
        }
        div.actions {
            (button_form(&admin, &format!("/console/apps/{slug}/sync"), "Sync accounts", "secondary"))
            a.button.secondary href={ "/console/apps/" (slug) } { "About " (app.name) }
        }
        form method="get" action=(back) {
            fieldset {
                legend { "Filter" }
                label for="status" { "Status" }
                select id="status" name="status" {
                    option value="" { "Any" }
                    @for (v, l) in [("invite_sent", "Invite Sent"), ("connected", "Connected"), ("suspended", "Suspended"), ("deleted", "Deleted")] {
                        option value=(v) selected[q.status.as_deref() == Some(v)] { (l) }
                    }
                }
                label for="match" { "Match" }
                select id="match" name="match" {
                    option value="" { "Any" }
                    @for (v, l) in [("matched", "Matched"), ("unmatched", "Unmatched"), ("do_not_match", "Do not match")] {
                        option value=(v) selected[q.matching.as_deref() == Some(v)] { (l) }
                    }
                }
                p { button type="submit" class="secondary" { "Filter" } }
            }
        }
        @if !to_match.is_empty() {
            h2 id="match-accounts" { "Match accounts" }
            p { "Choose the team member each account belongs to, or \"Do not match\" for bots and shared accounts. Save them all at once." }
            form method="post" action={ "/console/apps/" (slug) "/matches" } {
                (csrf_field(&admin))
                div.table-wrap { table {
                    thead { tr { th scope="col" { "Account in " (app.name) } th scope="col" { "Team member" } } }
                    tbody {
                        @for a in &to_match {
                            @let field = format!("match.{}", a.id);
                            tr {
                                td {
                                    label for=(field) { (account_name(a)) }
                                    @if let Some(e) = &a.email { span.muted { (e) } }
                                }
                                td {
                                    select id=(field) name=(field) {
                                        option value="" { "Select an option" }
                                        @for sug in &a.suggestions {
                                            option value=(sug.team_member_id) { (name_of(&sug.team_member_id)) " (suggested: " (sug.reason) ")" }
                                        }
                                        @for m in team.iter().filter(|m| !a.suggestions.iter().any(|s| s.team_member_id == m.id)) {
                                            option value=(m.id) { (m.full_name()) @if let Some(e) = &m.email { " · " (e) } }
                                        }
                                        option value="do_not_match" selected[a.matching == Matching::DoNotMatch] { "Do not match" }
                                    }
                                }
                            }
                        }
                    }
                } }
                p { button type="submit" { "Save matches" } }
            }
        }
        h2 { "Accounts" }
        @if listing.items.is_empty() { p.muted { "No accounts yet. Sync to read them from " (app.name) "." } }
        @else {
            div.table-wrap { table {
                thead { tr { th scope="col" { "Account" } th scope="col" { "Status" } th scope="col" { "Team member" } th scope="col" { "Actions" } } }
                tbody {
                    @for a in &listing.items {
                        tr {
                            td { (account_name(a)) @if let Some(e) = &a.email { br; span.muted { (e) } } }
                            td {
                                (badge(a.status_label))
                                @if !a.present { " " span.muted { "(gone from the app)" } }
                                @if !a.tenant_connected { " " (badge("Tenant no longer connected")) @if let Some(t) = &a.tenant { br; span.muted { "in " (t) } } }
                            }
                            td {
                                @match &a.matching {
                                    Matching::Matched { team_member_id, .. } => a href={ "/console/team/" (team_member_id) } { (name_of(team_member_id)) },
                                    Matching::Unmatched => span.muted { "Unmatched" },
                                    Matching::DoNotMatch => span { "Do not match" },
                                }
                            }
                            td { (action_links(&slug, a, &back)) }
                        }
                    }
                }
            } }
            @if let Some(next) = &listing.next_cursor {
                p { a href={ (back) "?cursor=" (next) } { "More accounts" } }
            }
        }
    };
    ok(view::page(
        &admin,
        "/console/apps",
        &format!("{} accounts", app.name),
        body,
    ))
}

async fn matches(
    State(apps): State<Apps>,
    admin: Admin,
    PathParam(slug): PathParam<String>,
    form: Result<Form<Fields>, FormRejection>,
) -> Page {
    let fields = checked(&admin, form)?;
    let mut chosen: BTreeMap<&str, &str> = BTreeMap::new();
    for (name, value) in &fields {
        if let Some(account_id) = name.strip_prefix("match.")
            && !value.is_empty()
        {
            chosen.insert(account_id, value);
        }
    }
    if chosen.is_empty() {
        return Err(Fail(Error::invalid(
            "matches",
            "Choose a team member (or \"Do not match\") for at least one account.",
        )));
    }
    let items: Vec<Value> = chosen
        .iter()
        .map(|(account_id, value)| {
            if *value == "do_not_match" {
                json!({"account_id": account_id, "do_not_match": true})
            } else {
                json!({"account_id": account_id, "team_member_id": value})
            }
        })
        .collect();
    let body = Unparsed::new(Map::from_iter([("matches".to_owned(), Value::Array(items))]));
    let results = accounts::submit_matches(&apps, &admin.actor, &admin.access, &slug, &body).await?;
    let failed: Vec<_> = results.iter().filter(|r| r.error.is_some()).collect();
    if failed.is_empty() {
        return Ok(see_other(&format!(
            "/console/apps/{slug}/accounts?matched={}",
            results.len()
        )));
    }
    ok(view::page(
        &admin,
        "/console/apps",
        "Some matches were not saved",
        html! {
            p { (results.len() - failed.len()) " saved; " (failed.len()) " not saved:" }
            ul { @for r in &failed { li { (r.account_id) ": " (r.error.as_ref().map(|e| e.message.as_str()).unwrap_or_default()) } } }
            p { a href={ "/console/apps/" (slug) "/accounts" } { "Back to the accounts" } }
        },
    ))
}

fn parse_action(action: &str) -> Result<Action, Error> {
    Ok(match action {
        "suspend" => Action::Suspend,
        "reactivate" => Action::Reactivate,
        "delete" => Action::Delete,
        "unmatch" => Action::Unmatch,
        _ => return Err(Error::not_found("action")),
    })
}

#[derive(serde::Deserialize, Default)]
struct BackQuery {
    back: Option<String>,
}

async fn action_form(
    State(apps): State<Apps>,
    admin: Admin,
    PathParam((slug, account_id, action)): PathParam<(String, String, String)>,
    Query(q): Query<BackQuery>,
) -> Page {
    let parsed = parse_action(&action)?;
    let app = *apps.services.catalog.get(&slug)?;
    let (_, account) = accounts::load(&apps, admin.company_id(), &slug, &account_id).await?;
    let reach = accounts::reach(&apps, admin.company_id(), &slug).await?;
    let view_ = AccountView::of(&app, account, &reach);
    let back = back_to(
        &Fields::from_iter([("back".to_owned(), q.back.unwrap_or_default())]),
        format!("/console/apps/{slug}/accounts"),
    );
    // The API's dry run: what will happen, or why it cannot.
    let plan = match accounts::plan_action(&apps, &admin.access, &slug, &account_id, parsed).await {
        Ok(plan) => Ok(plan.means),
        Err(Error::Refused(details)) => {
            Err(details.into_iter().next().map(|d| d.message).unwrap_or_default())
        }
        Err(e) => return Err(e.into()),
    };
    let title = format!(
        "{} {}'s {} account?",
        action_label(&action),
        account_name(&view_),
        app.name
    );
    ok(view::page(
        &admin,
        "/console/apps",
        &title,
        html! {
            p { "Account: " (account_name(&view_)) @if let Some(e) = &view_.email { " (" (e) ")" } " · " (badge(view_.status_label)) }
            @if let Ok(means) = &plan {
                div.warning role="note" { p { strong { "What will happen: " } (means) } }
                form method="post" action={ "/console/apps/" (slug) "/accounts/" (account_id) "/" (action) } {
                    (csrf_field(&admin))
                    input type="hidden" name="back" value=(back);
                    div.actions {
                        button type="submit" class=(if parsed == Action::Delete { "danger" } else { "" }) { (action_label(&action)) }
                        a.button.secondary href=(back) { "Cancel" }
                    }
                }
            } @else {
                p.warning { (action_label(&action)) " is not possible for this account now"
                    @if let Err(why) = &plan { @if !why.is_empty() { ": " (why.trim_end_matches('.')) } } "." }
                p { a href=(back) { "Back" } }
            }
        },
    ))
}

async fn action(
    State(apps): State<Apps>,
    admin: Admin,
    PathParam((slug, account_id, action)): PathParam<(String, String, String)>,
    form: Result<Form<Fields>, FormRejection>,
) -> Page {
    let fields = checked(&admin, form)?;
    let parsed = parse_action(&action)?;
    accounts::act(&apps, &admin.actor, &admin.access, &slug, &account_id, parsed).await?;
    let done = match parsed {
        Action::Suspend => "suspended",
        Action::Reactivate => "reactivated",
        Action::Delete => "deleted",
        Action::Unmatch => "unmatched",
    };
    let back = back_to(&fields, format!("/console/apps/{slug}/accounts"));
    Ok(see_other(&format!("{back}?done={done}")))
}
