//! People → Onboarding and People → Offboarding: the seed's way into a person's "Create app
//! accounts" and "Remove app access" tasks.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use maud::{Markup, html};
use prov_processes::Apps;
use prov_processes::{dismissal, onboarding};

use crate::answer::{Page, ok};
use crate::session::Admin;
use crate::view::{self, badge, label_of};

pub(crate) const ROUTES: &[(&str, &str)] = &[("GET", "/console/onboarding"), ("GET", "/console/offboarding")];

pub(crate) fn routes() -> Router<Apps> {
    Router::new()
        .route("/console/onboarding", get(onboarding_list))
        .route("/console/offboarding", get(offboarding_list))
}

/// The tabs of People: the team, and the two checklists.
pub(crate) fn tabs(current: &str) -> Markup {
    html! {
        nav.tabs aria-label="People" {
            ul {
                @for (path, label) in [("/console/team", "Team"), ("/console/onboarding", "Onboarding"), ("/console/offboarding", "Offboarding")] {
                    li {
                        @if path == current { a href=(path) aria-current="page" { (label) } }
                        @else { a href=(path) { (label) } }
                    }
                }
            }
        }
    }
}

async fn onboarding_list(State(apps): State<Apps>, admin: Admin) -> Page {
    let open = onboarding::open_tasks(&apps, &admin.access).await?;
    ok(view::page(
        &admin,
        "/console/team",
        "Onboarding",
        html! {
            (tabs("/console/onboarding"))
            p.muted { "New hires with the \"Create app accounts\" task still to do (people added or starting in the last " (onboarding::NEW_HIRE_DAYS) " days, or with an offer out), and anyone whose task is under way." }
            @if open.is_empty() { p { "Nobody has app accounts waiting to be created." } }
            @else {
                div.table-wrap { table.cards-on-phone {
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Create app accounts" } th scope="col" { "Checklist" } } }
                    tbody {
                        @for t in &open {
                            @let id = &t.team_member.id;
                            tr {
                                td data-label="Name" { a href={ "/console/team/" (id) } { (t.team_member.full_name()) } }
                                td data-label="Create app accounts" {
                                    (badge(&label_of(t.status)))
                                    @if let Some(why) = &t.blocked_reason { br; span.muted { (why) } }
                                }
                                td data-label="Checklist" {
                                    a.button.secondary href={ "/console/team/" (id) "/onboarding" } aria-label={ "View checklist of " (t.team_member.full_name()) } { "View checklist" }
                                }
                            }
                        }
                    }
                } }
            }
        },
    ))
}

async fn offboarding_list(State(apps): State<Apps>, admin: Admin) -> Page {
    let open = dismissal::open_offboardings(&apps, &admin.access).await?;
    let now = apps.services.clock.now();
    ok(view::page(
        &admin,
        "/console/team",
        "Offboarding",
        html! {
            (tabs("/console/offboarding"))
            p.muted { "Dismissed people whose \"Remove app access\" task is still to come or needs you, and those finished in the last " (dismissal::FINISHED_LISTED_DAYS) " days. Access ends at 12:00 AM Pacific time the day after the last day." }
            @if open.is_empty() { p { "Nobody is being offboarded." } }
            @else {
                div.table-wrap { table.cards-on-phone {
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Last day" } th scope="col" { "Remove app access" } th scope="col" { "Checklist" } } }
                    tbody {
                        @for o in &open {
                            @let id = &o.team_member.id;
                            tr {
                                td data-label="Name" { a href={ "/console/team/" (id) } { (o.team_member.full_name()) } }
                                td data-label="Last day" { (view::day(o.last_day)) }
                                td data-label="Remove app access" {
                                    (badge(&label_of(o.status)))
                                    @if o.status == "scheduled" && o.removes_access_at > now { br; span.muted { "Access ends " (view::pacific(o.removes_access_at)) } }
                                    @if let Some(p) = &o.problem { br; span.muted { (p) } }
                                }
                                td data-label="Checklist" {
                                    a.button.secondary href={ "/console/team/" (id) "/offboarding" } aria-label={ "View checklist of " (o.team_member.full_name()) } { "View checklist" }
                                }
                            }
                        }
                    }
                } }
            }
        },
    ))
}
