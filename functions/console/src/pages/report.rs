//! The access report: what the syncs found that needs an admin, "access not removed" first,
//! each finding with what to do about it.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use maud::html;
use prov_processes::Apps;
use prov_processes::reconcile::{self, FindingKind};

use crate::answer::{Page, ok};
use crate::session::Admin;
use crate::view;

pub(crate) const ROUTES: &[(&str, &str)] = &[("GET", "/console/access_report")];

pub(crate) fn routes() -> Router<Apps> {
    Router::new().route("/console/access_report", get(report_page))
}

fn kind_label(kind: FindingKind) -> &'static str {
    match kind {
        FindingKind::AccessNotRemoved => "Access not removed",
        FindingKind::ChangedOutside => "Changed at the app",
        FindingKind::NeedsReconnect => "Reconnect",
        FindingKind::DisconnectedWithAccounts => "Disconnected, accounts active",
        FindingKind::Unmatched => "Unmatched accounts",
        FindingKind::InvitationsPending => "Invitations pending",
        FindingKind::Seats => "Seats",
    }
}

async fn report_page(State(apps): State<Apps>, admin: Admin) -> Page {
    let report = reconcile::access_report(&apps, &admin.access).await?;
    let name_of = |slug: &str| {
        apps.services
            .catalog
            .get(slug)
            .map_or(slug, |a| a.name)
            .to_owned()
    };
    ok(view::page(
        &admin,
        "/console/access_report",
        "Access report",
        html! {
            p.muted { "What the syncs found (every app is synced on a schedule). A finding goes away by itself when a later sync no longer sees the problem." }
            @if report.findings.is_empty() {
                p role="status" { "Nothing to look at: every synced app is as the service expects." }
            } @else {
                div.table-wrap { table {
                    thead { tr {
                        th scope="col" { "Finding" } th scope="col" { "App" } th scope="col" { "What is wrong" }
                        th scope="col" { "What to do" } th scope="col" { "First seen (UTC)" } th scope="col" { "Last seen (UTC)" }
                    } }
                    tbody {
                        @for f in &report.findings {
                            tr {
                                td { (view::badge(kind_label(f.kind))) }
                                td { a href={ "/console/apps/" (f.app) "/accounts" } { (name_of(&f.app)) } }
                                td { (f.summary) }
                                td { (f.action) }
                                td { (f.first_seen_at.format("%Y-%m-%d %H:%M")) }
                                td { (f.last_seen_at.format("%Y-%m-%d %H:%M")) }
                            }
                        }
                    }
                } }
            }
        },
    ))
}
