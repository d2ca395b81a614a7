//! The audit log, newest first.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use maud::html;
use prov_core::audit::{self, ActorRef};
use prov_core::listing::ListQuery;
use prov_processes::Apps;

use crate::answer::{Page, ok};
use crate::form::CursorQuery;
use crate::session::Admin;
use crate::view::{self, label_of};

pub(crate) const ROUTES: &[(&str, &str)] = &[("GET", "/console/events")];

pub(crate) fn routes() -> Router<Apps> {
    Router::new().route("/console/events", get(events_page))
}

fn actor_text(actor: &ActorRef, names: &HashMap<String, String>) -> String {
    let name = |id: &String| names.get(id).cloned().unwrap_or_else(|| id.clone());
    match actor {
        ActorRef::Partner { partner_id } => format!("partner {partner_id}"),
        ActorRef::Admin { user_id } => name(user_id),
        ActorRef::Claimant { user_id } => format!("{} (claiming)", name(user_id)),
        ActorRef::TeamMember { team_member_id } => format!("team member {team_member_id}"),
        ActorRef::System => "the service".to_owned(),
    }
}

async fn events_page(State(apps): State<Apps>, admin: Admin, Query(q): Query<CursorQuery>) -> Page {
    let query = ListQuery {
        limit: Some("50".into()),
        cursor: q.cursor,
    };
    let listing = audit::list(&apps.services, &admin.access, &query).await?;
    let first_admins = ListQuery {
        limit: Some("100".into()),
        cursor: None,
    };
    let names: HashMap<String, String> =
        prov_core::admins::list(&apps.services, &admin.access, &first_admins)
            .await?
            .items
            .into_iter()
            .map(|a| (a.id, format!("{} {}", a.first_name, a.last_name)))
            .collect();
    ok(view::page(
        &admin,
        "/console/events",
        "Audit log",
        html! {
            p.muted { "Every change, newest first. Events are kept for 400 days." }
            div.table-wrap { table {
                thead { tr { th scope="col" { "When (UTC)" } th scope="col" { "Who" } th scope="col" { "What" } th scope="col" { "Target" } th scope="col" { "Result" } th scope="col" { "Detail" } } }
                tbody {
                    @for e in &listing.items {
                        tr {
                            td { (e.at.format("%Y-%m-%d %H:%M:%S")) }
                            td { (actor_text(&e.actor, &names)) }
                            td { code { (e.action) } }
                            td { (e.target.kind) " " (e.target.id) }
                            td { (label_of(&format!("{:?}", e.result).to_lowercase())) }
                            td { (e.detail.as_deref().unwrap_or("")) br; span.muted { "request " (e.request_id) } }
                        }
                    }
                }
            } }
            @if let Some(next) = &listing.next_cursor { p { a href={ "/console/events?cursor=" (next) } { "Older events" } } }
        },
    ))
}
