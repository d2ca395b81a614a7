//! The audit log, newest first, as sentences (who did what to whom, the app by name), in
//! Pacific time, filtered by person, app and kind of change.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use maud::html;
use prov_core::audit::{self, ActorRef, AuditEvent, Outcome};
use prov_core::listing::ListQuery;
use prov_core::{Error, connections};
use prov_processes::Apps;
use prov_processes::accounts::{self, AccountQuery};

use crate::answer::{Page, ok};
use crate::pages::accounts::whole_team;
use crate::session::Admin;
use crate::view::{self, badge};

pub(crate) const ROUTES: &[(&str, &str)] = &[("GET", "/console/events")];

pub(crate) fn routes() -> Router<Apps> {
    Router::new().route("/console/events", get(events_page))
}

/// Events read at most per page view while looking for matches of a filter.
const SCAN: usize = 1000;
/// Matches shown per page.
const SHOWN: usize = 50;

/// The kinds of change the log can be filtered by: (value, label, action prefixes).
const KINDS: &[(&str, &str, &[&str])] = &[
    ("accounts", "App accounts", &["account.", "onboarding."]),
    ("connections", "Connections", &["connection."]),
    ("dismissals", "Dismissals", &["dismissal.", "team_member.rehired"]),
    ("people", "People", &["team_member."]),
    (
        "admins",
        "Admins and sign-ins",
        &["admin.", "console.", "account.claimed", "claim."],
    ),
    ("company", "Company", &["company."]),
];

#[derive(serde::Deserialize, Default)]
struct EventsQuery {
    cursor: Option<String>,
    person: Option<String>,
    app: Option<String>,
    kind: Option<String>,
}

/// What the page knows to name things: admins, team members, and each account's app and
/// person.
struct Names {
    admins: HashMap<String, String>,
    people: HashMap<String, String>,
    /// Account id: (app slug, team member id).
    accounts: HashMap<String, (String, Option<String>)>,
}

impl Names {
    fn who(&self, actor: &ActorRef) -> String {
        match actor {
            ActorRef::Partner { .. } => "Your payroll provider".to_owned(),
            ActorRef::Admin { user_id } | ActorRef::Claimant { user_id } => self
                .admins
                .get(user_id)
                .cloned()
                .unwrap_or_else(|| "A former admin".to_owned()),
            ActorRef::TeamMember { team_member_id } => self.person(team_member_id),
            ActorRef::System => "The service".to_owned(),
        }
    }

    fn person(&self, id: &str) -> String {
        self.people
            .get(id)
            .cloned()
            .unwrap_or_else(|| "a former team member".to_owned())
    }

    /// The app and the person an event is about, when it names them.
    fn about(&self, e: &AuditEvent) -> (Option<String>, Option<String>) {
        match e.target.kind.as_str() {
            "account" => match self.accounts.get(&e.target.id) {
                Some((app, person)) => (Some(app.clone()), person.clone()),
                None => (None, None),
            },
            "app" => (Some(e.target.id.clone()), None),
            "team_member" => (None, Some(e.target.id.clone())),
            _ => (None, None),
        }
    }
}

/// An event as a sentence: who did what to whom, the app by name.
fn sentence(e: &AuditEvent, names: &Names, apps: &Apps) -> String {
    let who = names.who(&e.actor);
    let (app, person) = names.about(e);
    let app_name = app
        .as_deref()
        .and_then(|slug| apps.services.catalog.find(slug))
        .map_or_else(|| "an app".to_owned(), |a| a.name.to_owned());
    let whose = person
        .as_deref()
        .map_or_else(|| "an".to_owned(), |p| format!("{}'s", names.person(p)));
    let account = format!("{whose} {app_name} account");
    let someone = || {
        person
            .as_deref()
            .map_or_else(|| "a team member".to_owned(), |p| names.person(p))
    };
    let admin = || {
        names
            .admins
            .get(&e.target.id)
            .cloned()
            .unwrap_or_else(|| "an admin".to_owned())
    };
    match e.action.as_str() {
        "account.created" => format!("{who} created {account}"),
        "account.deleted" => format!("{who} deleted {account}"),
        "account.suspended" => format!("{who} suspended {account}"),
        "account.reactivated" => format!("{who} reactivated {account}"),
        "account.unmatched" => format!("{who} unmatched {account}"),
        "account.matched" => format!("{who} matched {account}"),
        "account.do_not_match" => format!("{who} marked an {app_name} account \"Do not match\""),
        "account.added_to_group" => format!("{who} added {account} to a group"),
        "account.removed_at_dismissal" => format!("{account} was deleted at dismissal"),
        "account.suspended_at_dismissal" => format!("{account} was suspended at dismissal"),
        "account.first_password_sent" => format!("{who} emailed the first password of {account}"),
        "account.first_password_revealed" => format!("{} opened the first password of {account}", someone()),
        "account.claimed" => format!("{who} claimed their admin access"),
        "connection.connected" => format!("{who} connected {app_name}"),
        "connection.disconnected" => format!("{who} disconnected {app_name}"),
        "connection.needs_reauth" => format!("{app_name} needs to be connected again"),
        "connection.tenant_switched" => format!(
            "{who} switched {app_name} to another {}",
            apps.services
                .catalog
                .find(app.as_deref().unwrap_or_default())
                .map_or("account", |a| a.tenant)
        ),
        "dismissal.scheduled" => format!("{who} dismissed {}", someone()),
        "dismissal.moved" => format!("{who} moved {}'s last day", someone()),
        "dismissal.cancelled" => format!("{who} cancelled {}'s dismissal", someone()),
        "dismissal.confirmed" => format!("{who} confirmed the paused removals of {}'s accounts", someone()),
        "dismissal.retried" => format!("{who} retried the failed removals of {}'s accounts", someone()),
        "dismissal.completed" => format!("{}'s app access was removed", someone()),
        "onboarding.completed" => format!("{who} created {}'s app accounts", someone()),
        "team_member.created" => format!("{who} added {} to the team", someone()),
        "team_member.updated" => format!("{who} changed {}'s profile", someone()),
        "team_member.rehired" => format!("{who} rehired {}", someone()),
        "admin.invited" => format!("{who} invited {} as an admin", admin()),
        "admin.permissions_changed" => format!("{who} changed {}'s permissions", admin()),
        "admin.removed" => format!("{who} removed an admin"),
        "admin.token_rotated" => format!("{who} replaced their API token"),
        "console.signed_in" => format!("{who} signed in to the console"),
        "console.signed_out" => format!("{who} signed out of the console"),
        "claim.sent" => format!("{who} sent a new claim link to {}", admin()),
        other => {
            let (noun, verb) = other.split_once('.').unwrap_or(("", other));
            format!("{who}: {} {}", noun.replace('_', " "), verb.replace('_', " "))
        }
    }
}

async fn names(apps: &Apps, admin: &Admin) -> Result<Names, Error> {
    let first_admins = ListQuery {
        limit: Some("100".into()),
        cursor: None,
    };
    let admins = prov_core::admins::list(&apps.services, &admin.access, &first_admins)
        .await?
        .items
        .into_iter()
        .map(|a| (a.id, format!("{} {}", a.first_name, a.last_name)))
        .collect();
    let people = whole_team(apps, &admin.access)
        .await?
        .into_iter()
        .map(|m| (m.id.clone(), m.full_name()))
        .collect();
    // Accounts exist only in apps the company connected (now or before).
    let mut accounts_of = HashMap::new();
    for connection in connections::all(&apps.services, admin.company_id()).await? {
        let mut cursor = None;
        loop {
            let query = AccountQuery {
                status: None,
                matching: None,
                limit: Some("100".into()),
                cursor: cursor.take(),
            };
            let page = accounts::list_accounts(apps, &admin.access, &connection.app, &query).await?;
            for a in page.items {
                let person = a.matching_team_member().map(str::to_owned);
                accounts_of.insert(a.id, (connection.app.clone(), person));
            }
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
    }
    Ok(Names {
        admins,
        people,
        accounts: accounts_of,
    })
}

async fn events_page(State(apps): State<Apps>, admin: Admin, Query(q): Query<EventsQuery>) -> Page {
    let names = names(&apps, &admin).await?;
    let person = q.person.clone().filter(|p| !p.is_empty());
    let app = q.app.clone().filter(|a| !a.is_empty());
    let kind = q
        .kind
        .as_deref()
        .and_then(|k| KINDS.iter().find(|(v, _, _)| *v == k));
    let wanted = |e: &AuditEvent| {
        let (event_app, event_person) = names.about(e);
        let by_actor = matches!(&e.actor, ActorRef::TeamMember { team_member_id } if Some(team_member_id) == person.as_ref());
        person
            .as_ref()
            .is_none_or(|p| event_person.as_ref() == Some(p) || by_actor)
            && app.as_ref().is_none_or(|a| event_app.as_ref() == Some(a))
            && kind.is_none_or(|(_, _, prefixes)| prefixes.iter().any(|p| e.action.starts_with(p)))
    };
    // Filters apply to what is read: keep reading pages until enough match.
    let mut shown = Vec::new();
    let mut scanned = 0;
    let mut cursor = q.cursor.clone();
    let next = loop {
        let query = ListQuery {
            limit: Some("100".into()),
            cursor: cursor.take(),
        };
        let page = audit::list(&apps.services, &admin.access, &query).await?;
        scanned += page.items.len();
        shown.extend(page.items.into_iter().filter(|e| wanted(e)));
        match page.next_cursor {
            Some(more) if shown.len() < SHOWN && scanned < SCAN => cursor = Some(more),
            more => break more,
        }
    };
    let mut people: Vec<(&String, &String)> = names.people.iter().collect();
    people.sort_by(|a, b| a.1.cmp(b.1));
    let mut with_accounts: Vec<&str> = names.accounts.values().map(|(a, _)| a.as_str()).collect();
    with_accounts.sort_unstable();
    with_accounts.dedup();
    let filter_query = |cursor: &str| {
        let mut pairs = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [("person", &person), ("app", &app), ("kind", &q.kind)] {
            if let Some(v) = v {
                pairs.append_pair(k, v);
            }
        }
        pairs.append_pair("cursor", cursor);
        pairs.finish()
    };
    ok(view::page(
        &admin,
        "/console/events",
        "Audit log",
        html! {
            p.muted { "Every change, newest first, in Pacific time. Events are kept for 400 days." }
            form method="get" action="/console/events" {
                fieldset.filters {
                    legend { "Filter" }
                    div {
                        label for="person" { "Person" }
                        select id="person" name="person" {
                            option value="" { "Anyone" }
                            @for (id, name) in &people { option value=(id) selected[person.as_ref() == Some(id)] { (name) } }
                        }
                    }
                    div {
                        label for="app" { "App" }
                        select id="app" name="app" {
                            option value="" { "Any app" }
                            @for slug in apps.services.catalog.directory().map(|a| a.slug).filter(|s| with_accounts.contains(s) || app.as_deref() == Some(*s)) {
                                option value=(slug) selected[app.as_deref() == Some(slug)] { (apps.services.catalog.find(slug).map_or(slug, |a| a.name)) }
                            }
                        }
                    }
                    div {
                        label for="kind" { "Change" }
                        select id="kind" name="kind" {
                            option value="" { "Any change" }
                            @for (v, l, _) in KINDS { option value=(v) selected[q.kind.as_deref() == Some(*v)] { (l) } }
                        }
                    }
                    p { button type="submit" class="secondary" { "Filter" } }
                }
            }
            @if shown.is_empty() { p { "No events" @if person.is_some() || app.is_some() || kind.is_some() { " match the filter" } "." } }
            ol.log {
                @for e in &shown {
                    li {
                        time datetime=(e.at.to_rfc3339()) { (view::pacific(e.at)) }
                        p.event {
                            (sentence(e, &names, &apps)) "."
                            @if e.result == Outcome::Failed { " " (badge("Failed")) }
                        }
                        @if let Some(detail) = &e.detail { p.muted { (view::detail_in_words(detail, &apps.services.catalog)) } }
                        // The action's code name, for support and for searching the API's log.
                        p.code { (e.action) }
                    }
                }
            }
            @if let Some(more) = &next { p { a href={ "/console/events?" (filter_query(more)) } { "Older events" } } }
        },
    ))
}
