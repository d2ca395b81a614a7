//! The App directory (with search), an app's page, and connecting (API key or OAuth) and
//! disconnecting it.

use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use maud::{Markup, html};
use prov_core::body::Unparsed;
use prov_core::catalog::{App, ConnectionType, FieldKind};
use prov_core::company_apps;
use prov_core::connector::{VendorTenant, Vendors};
use prov_core::{Error, ErrorDetail};
use prov_processes::connections::{self, Apps};
use prov_web::PathParam;
use serde_json::{Map, Value, json};

use crate::answer::{Page, ok, see_other};
use crate::form::{Fields, checked};
use crate::session::{self, Admin};
use crate::view::{self, badge, button_form, csrf_field, done_text, label_of, notice, problems};

pub(crate) const ROUTES: &[(&str, &str)] = &[
    ("GET", "/console/apps"),
    ("GET", "/console/apps/{app}"),
    ("POST", "/console/apps/{app}/connect"),
    ("POST", "/console/apps/{app}/oauth"),
    ("GET", "/console/apps/{app}/disconnect"),
    ("POST", "/console/apps/{app}/disconnect"),
];

pub(crate) fn routes() -> Router<Apps> {
    Router::new()
        .route("/console/apps", get(directory))
        .route("/console/apps/{app}", get(app_page))
        .route("/console/apps/{app}/connect", post(connect))
        .route("/console/apps/{app}/oauth", post(start_oauth))
        .route(
            "/console/apps/{app}/disconnect",
            get(disconnect_form).post(disconnect),
        )
}

fn connection_label(app: &App) -> &'static str {
    match app.connection_type {
        ConnectionType::Oauth => "OAuth (sign in at the app)",
        ConnectionType::ApiKey => "API key",
    }
}

fn plan_note(app: &App) -> String {
    let mut note = if app.requires_plus_or_premium {
        "Needs the Plus or Premium plan.".to_owned()
    } else {
        "Included in every plan.".to_owned()
    };
    if let Some(vendor) = app.vendor_plan_note {
        note.push(' ');
        note.push_str(vendor);
    }
    note
}

#[derive(serde::Deserialize, Default)]
struct Search {
    q: Option<String>,
}

async fn directory(State(apps): State<Apps>, admin: Admin, Query(search): Query<Search>) -> Page {
    let listed = company_apps::company_apps(&apps.services, &admin.access).await?;
    let q = search.q.unwrap_or_default();
    let needle = q.trim().to_lowercase();
    let shown = |a: &company_apps::CompanyApp| needle.is_empty() || a.name.to_lowercase().contains(&needle);
    let card = |entry: &company_apps::CompanyApp| {
        let app = apps.services.catalog.find(entry.slug).copied();
        html! {
            li {
                h3 { (entry.name) }
                @if let Some(state) = entry.connection_state {
                    p { (badge(&label_of(&serde_json::to_value(state).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()))) }
                }
                p { "Connection: " (match entry.connection_type { ConnectionType::Oauth => "OAuth", ConnectionType::ApiKey => "API key" }) }
                @if let Some(app) = app {
                    // The company's plan is said once per page, not on every card.
                    @if let Some(vendor) = app.vendor_plan_note { p.muted { (vendor) } }
                    p.muted { "Delete: " (app.remove_means) }
                }
                p { a href={ "/console/apps/" (entry.slug) } aria-label={ "Learn more about " (entry.name) } { "Learn More" } }
            }
        }
    };
    let connected: Vec<_> = listed.connected.iter().filter(|a| shown(a)).collect();
    let available: Vec<_> = listed.available.iter().filter(|a| shown(a)).collect();
    let unavailable: Vec<_> = listed.unavailable.iter().filter(|a| shown(a)).collect();
    ok(view::page(
        &admin,
        "/console/apps",
        "App directory",
        html! {
            form role="search" method="get" action="/console/apps" {
                label for="q" { "Search apps" }
                // With script: the list filters as you type (the same page, its directory part
                // swapped in); without, the Search button does it.
                input id="q" name="q" type="search" value=(q) autocomplete="off"
                    hx-get="/console/apps" hx-trigger="input changed delay:250ms, search"
                    hx-target="#directory" hx-select="#directory" hx-swap="outerHTML" hx-push-url="true";
                p { button type="submit" class="secondary" { "Search" } }
            }
            section id="directory" aria-live="polite" {
            h2 { "Connected apps" }
            @if connected.is_empty() { p.muted { "No connected apps" @if !needle.is_empty() { " match your search" } "." } }
            ul.cards { @for a in &connected { (card(a)) } }
            h2 { "Provisioning apps" }
            @if available.is_empty() { p.muted { "No apps to connect" @if !needle.is_empty() { " match your search" } "." } }
            ul.cards { @for a in &available { (card(a)) } }
            @if !unavailable.is_empty() {
                h2 { "Not in your plan" }
                // One note for the section: every app here waits for the same upgrade.
                div.warning role="note" {
                    p { strong { "Upgrade to Plus or Premium" } " to connect these apps. Your company is on the Simple plan, which includes Google Workspace and Microsoft 365. Your payroll provider changes the plan." }
                }
                ul.cards { @for a in &unavailable { (card(a)) } }
            }
            }
        },
    ))
}

/// Where a company without the app signs up for it (the seed's "Get [App Name]"): the
/// vendor's own site.
fn vendor_site(slug: &str) -> Option<&'static str> {
    Some(match slug {
        "asana" => "https://asana.com/",
        "box" => "https://www.box.com/",
        "clickup" => "https://clickup.com/",
        "docusign" => "https://www.docusign.com/",
        "dropbox" => "https://www.dropbox.com/business",
        "dynatrace" => "https://www.dynatrace.com/",
        "fifteen_five" => "https://www.15five.com/",
        "github" => "https://github.com/",
        "google_workspace" => "https://workspace.google.com/",
        "hubspot" => "https://www.hubspot.com/",
        "lastpass" => "https://www.lastpass.com/",
        "microsoft_365" => "https://www.microsoft.com/microsoft-365",
        "okta" => "https://www.okta.com/",
        "planview_leankit" => "https://www.planview.com/",
        "salesforce" => "https://www.salesforce.com/",
        "sauce_labs" => "https://saucelabs.com/",
        "slack" => "https://slack.com/",
        "trello" => "https://trello.com/",
        "zoho" => "https://www.zoho.com/",
        _ => return None,
    })
}

#[derive(serde::Deserialize, Default)]
struct AppQuery {
    done: Option<String>,
    status: Option<String>,
    error: Option<String>,
    app: Option<String>,
    message: Option<String>,
    again: Option<String>,
}

/// The tenant the connection was bound to, when it had one: connecting credentials of
/// another needs the switch confirmed, and the form says so before.
fn switch_field(app: &App, bound_to: Option<&VendorTenant>) -> Markup {
    html! {
        @if let Some(old) = bound_to {
            div.warning role="note" {
                p { (app.name) " was connected to the " (app.tenant) " " strong { (old) } ". Credentials of the same " (app.tenant) " only replace the stored ones. Credentials of another one are refused unless you confirm the switch: the accounts of " (old) " would then no longer be managed here (shown as \"Tenant no longer connected\"; remove them in " (old) " yourself)." }
                p {
                    input id="switch_tenant" name=(connections::SWITCH_TENANT) type="checkbox" value="true";
                    " "
                    label for="switch_tenant" { "Switch to another " (app.tenant) " if these credentials reach one" }
                }
            }
        }
    }
}

/// The labels of an app's credential fields, to say a refusal in the form's words.
fn field_labels(app: &App) -> Vec<(&'static str, &'static str)> {
    app.credential_fields.iter().map(|f| (f.name, f.label)).collect()
}

fn credential_form(
    admin: &Admin,
    app: &App,
    kept: &Fields,
    bound_to: Option<&VendorTenant>,
    refused: &[ErrorDetail],
) -> Markup {
    let labels = field_labels(app);
    // The first field with a problem takes the focus.
    let first = app
        .credential_fields
        .iter()
        .find(|f| refused.iter().any(|d| d.error_key == f.name))
        .map(|f| f.name);
    html! {
        form method="post" action={ "/console/apps/" (app.slug) "/connect" } novalidate {
            (csrf_field(admin))
            @for field in app.credential_fields {
                @let id = format!("field-{}", field.name);
                @let problem = refused.iter().find(|d| d.error_key == field.name);
                @let problem_id = format!("{id}-problem");
                @let described = problem.map(|_| problem_id.as_str());
                @let invalid = problem.map(|_| "true");
                @let focus = first == Some(field.name);
                label for=(id) { (field.label) }
                @if let Some(d) = problem {
                    p.field-problem id=(problem_id) { (view::plain_with(&d.message, &labels)) }
                }
                @match field.kind {
                    FieldKind::Choice { options } => {
                        select id=(id) name=(field.name) required[field.required] aria-invalid=[invalid] aria-describedby=[described] autofocus[focus] {
                            @for option in options {
                                option value=(option) selected[kept.get(field.name).is_some_and(|v| v == option)] { (option) }
                            }
                        }
                        // A choice that cannot be undone says so, and asks to be confirmed.
                        @if let Some(confirmation) = field.confirmation {
                            @let confirm_id = format!("field-{}", confirmation.field);
                            p.warning { (confirmation.warning) }
                            input id=(confirm_id) name=(confirmation.field) type="checkbox" value="true" checked[kept.get(confirmation.field).is_some_and(|v| v == "true")];
                            label for=(confirm_id) { "I confirm this choice (needed for any option but " (options.first().copied().unwrap_or_default()) ")" }
                        }
                    }
                    FieldKind::Url => {
                        input id=(id) name=(field.name) type="url" required value=[kept.get(field.name)] aria-invalid=[invalid] aria-describedby=[described] autofocus[focus];
                    }
                    FieldKind::Text => {
                        @if field.secret {
                            // Secrets are never rendered back, not even after a refusal.
                            input id=(id) name=(field.name) type="password" autocomplete="off" required spellcheck="false" aria-invalid=[invalid] aria-describedby=[described] autofocus[focus];
                        } @else {
                            input id=(id) name=(field.name) type="text" required value=[kept.get(field.name)] aria-invalid=[invalid] aria-describedby=[described] autofocus[focus];
                        }
                    }
                }
            }
            (switch_field(app, bound_to))
            p { button type="submit" { "Connect " (app.name) } }
        }
    }
}

fn oauth_form(admin: &Admin, app: &App, vendors: &dyn Vendors, bound_to: Option<&VendorTenant>) -> Markup {
    let options = vendors.connect_options(app.slug);
    let environments = options
        .as_ref()
        .map(|o| o.environments.clone())
        .unwrap_or_default();
    let organization = options.and_then(|o| o.organization_field);
    html! {
        form method="post" action={ "/console/apps/" (app.slug) "/oauth" } {
            (csrf_field(admin))
            @if environments.len() > 1 {
                label for="environment" { "Environment" }
                select id="environment" name="environment" {
                    @for e in &environments { option value=(e) { (e) } }
                }
            }
            @if organization.is_some() {
                label for="organization" { "Organization to manage (optional)" }
                input id="organization" name="organization" type="text";
            }
            (switch_field(app, bound_to))
            p { "You will sign in at " (app.name) " with your admin credentials to approve access, then come back here." }
            p { button type="submit" { "Connect " (app.name) } }
        }
    }
}

fn connect_form(
    apps: &Apps,
    admin: &Admin,
    app: &App,
    kept: &Fields,
    bound_to: Option<&VendorTenant>,
    refused: &[ErrorDetail],
) -> Markup {
    match app.connection_type {
        ConnectionType::ApiKey => credential_form(admin, app, kept, bound_to, refused),
        ConnectionType::Oauth => oauth_form(admin, app, apps.vendors.as_ref(), bound_to),
    }
}

async fn render_app(
    apps: &Apps,
    admin: &Admin,
    slug: &str,
    q: &AppQuery,
    refused: &[ErrorDetail],
    kept: &Fields,
) -> Page {
    let app = *apps.services.catalog.get(slug)?;
    let status = connections::status(apps, &admin.access, slug).await?;
    let connected = status.state == "connected";
    let plan = app.allowed_on(admin.access.company().plan);
    let bound_to = VendorTenant::recorded(&status.tenant);
    let oauth_problem = q.error.as_ref().map(|code| {
        if code == "tenant_mismatch" {
            return format!(
                "{} was not connected: you signed in to another {} than the one connected. Nothing was changed. To switch, tick the box below and connect again.",
                app.name, app.tenant
            );
        }
        let code = label_of(code);
        format!("{} was not connected ({code}). Try again.", app.name)
    });
    // The redirect's `status=connected` is not trusted: the stored state is shown.
    let oauth_ok = q.status.as_deref() == Some("connected") && q.app.as_deref() == Some(slug) && connected;
    let _ = &q.message;
    let caps = app.capabilities;
    let body = html! {
        (notice(done_text(q.done.as_deref())))
        @if oauth_ok { p.notice role="status" { (app.name) " is connected." } }
        @if let Some(p) = &oauth_problem { div.problems role="alert" { p { (p) } } }
        // Problems of one credential field are said at the field; the rest here.
        (problems(&refused.iter().filter(|d| !app.credential_fields.iter().any(|f| f.name == d.error_key)).cloned().collect::<Vec<_>>()))
        p { "Status: " (badge(&label_of(&status.state))) }
        @if let Some(problem) = &status.problem { p.warning { (problem) } }
        h2 { "About" }
        dl {
            dt { "Connection" } dd { (connection_label(&app)) }
            dt { "Plan" } dd { (plan_note(&app)) }
            dt { "What it can do" }
            dd {
                (["Create accounts"].iter().filter(|_| caps.create)
                    .chain(["Suspend"].iter().filter(|_| caps.suspend))
                    .chain(["Delete"].iter().filter(|_| caps.delete))
                    .chain(["Groups"].iter().filter(|_| caps.groups))
                    .chain(["Work emails"].iter().filter(|_| caps.work_email))
                    .copied().collect::<Vec<_>>().join(", "))
            }
            dt { "What Delete does in " (app.name) } dd { (app.remove_means) }
            @if let Some(s) = app.suspend_means { dt { "What Suspend does in " (app.name) } dd { (s) } }
            dt { "A connection is bound to" } dd { "the " (app.tenant) " its credentials reach. Connecting again with credentials of the same " (app.tenant) " only replaces them; credentials of another " (app.tenant) " need you to confirm the switch." }
        }
        @if connected {
            h2 { "Connected" }
            @if let Some(at) = status.connected_at { p { "Since " (view::pacific(at)) "." } }
            @if !status.tenant.is_empty() {
                dl { @for (k, v) in &status.tenant { dt { (label_of(k)) } dd { (v) } } }
            }
            // A confirmed choice this connection made is said again where it acts.
            @for field in app.credential_fields {
                @if let (Some(confirmation), FieldKind::Choice { options }) = (field.confirmation, field.kind) {
                    @if status.tenant.get(field.name).is_some_and(|v| options.first() != Some(&v.as_str())) {
                        p.warning { (confirmation.warning) }
                    }
                }
            }
            div.actions {
                a.button href={ "/console/apps/" (slug) "/accounts" } { "Accounts" }
                @if caps.groups { a.button.secondary href={ "/console/apps/" (slug) "/groups" } { "Groups" } }
                (button_form(admin, &format!("/console/apps/{slug}/sync"), "Sync accounts", "secondary"))
                a.button.secondary href={ "/console/apps/" (slug) "/disconnect" } { "Disconnect" }
            }
        }
        @if connected && plan.is_ok() {
            details open[!refused.is_empty() || oauth_problem.is_some()] {
                summary { "Connect again (new credentials)" }
                (connect_form(apps, admin, &app, kept, bound_to.as_ref(), refused))
            }
        } @else if !connected {
            h2 { "Connect" }
            @match &plan {
                Err(why) => p.warning { (why) },
                Ok(()) => {
                    p { "If your company already has an account with " (app.name) ", connect it here." }
                    (connect_form(apps, admin, &app, kept, bound_to.as_ref(), refused))
                    @if let Some(site) = vendor_site(slug) {
                        p { "Your company does not have " (app.name) " yet? "
                            a.button.secondary href=(site) rel="noreferrer" { "Get " (app.name) } }
                    }
                },
            }
        }
    };
    let status_code = refused
        .first()
        .and_then(|d| StatusCode::from_u16(d.category.status()).ok())
        .unwrap_or(StatusCode::OK);
    Ok(view::send(
        status_code,
        view::page(admin, "/console/apps", app.name, body),
    ))
}

async fn app_page(
    State(apps): State<Apps>,
    admin: Result<Admin, session::Rejection>,
    PathParam(slug): PathParam<String>,
    Query(q): Query<AppQuery>,
    uri: axum::http::Uri,
) -> Page {
    match admin {
        Ok(admin) => render_app(&apps, &admin, &slug, &q, &[], &Fields::new()).await,
        // Back from the vendor's OAuth consent: that redirect chain started on another site,
        // so the browser withholds the `SameSite=Strict` session cookie. A same-origin
        // refresh (no script) makes the same request again as a same-site one, once.
        Err(session::Rejection::SignIn) if q.app.is_some() && q.again.is_none() => {
            let again = format!("{}?{}&again=1", uri.path(), uri.query().unwrap_or_default());
            let markup = html! {
                (maud::DOCTYPE)
                html lang="en" {
                    head {
                        meta charset="utf-8";
                        meta http-equiv="refresh" content={ "0;url=" (again) };
                        title { "Back to the console" }
                    }
                    body { main { p { a href=(again) { "Back to the console" } } } }
                }
            };
            Ok(view::send(StatusCode::OK, markup))
        }
        Err(rejection) => Ok(rejection.into_response()),
    }
}

async fn connect(
    State(apps): State<Apps>,
    admin: Admin,
    PathParam(slug): PathParam<String>,
    form: Result<Form<Fields>, FormRejection>,
) -> Page {
    let mut fields = checked(&admin, form)?;
    fields.remove("csrf");
    let body = Unparsed::new(
        fields
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    );
    match connections::connect_api_key(&apps, &admin.actor, &admin.access, &slug, &body).await {
        Ok(_) => Ok(see_other(&format!("/console/apps/{slug}?done=connected"))),
        Err(Error::Refused(details)) => {
            render_app(&apps, &admin, &slug, &AppQuery::default(), &details, &fields).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn start_oauth(
    State(apps): State<Apps>,
    admin: Admin,
    PathParam(slug): PathParam<String>,
    form: Result<Form<Fields>, FormRejection>,
) -> Page {
    let fields = checked(&admin, form)?;
    let mut body = Map::new();
    body.insert(
        "return_url".into(),
        json!(format!(
            "{}/console/apps/{slug}",
            apps.services.settings.public_base_url
        )),
    );
    for name in ["environment", "organization", connections::SWITCH_TENANT] {
        if let Some(v) = fields.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()) {
            body.insert(name.into(), json!(v));
        }
    }
    let body = Unparsed::new(body);
    match connections::start_oauth(&apps, &admin.actor, &admin.access, &slug, &body).await {
        Ok(started) => Ok(see_other(&started.authorize_url)),
        Err(Error::Refused(details)) => {
            render_app(
                &apps,
                &admin,
                &slug,
                &AppQuery::default(),
                &details,
                &Fields::new(),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

async fn disconnect_form(State(apps): State<Apps>, admin: Admin, PathParam(slug): PathParam<String>) -> Page {
    let app = apps.services.catalog.get(&slug)?;
    ok(view::page(
        &admin,
        "/console/apps",
        &format!("Disconnect {}", app.name),
        html! {
            div.warning role="note" {
                p { strong { "Disconnecting deletes the credentials stored for " (app.name) "." } }
                p { "Nothing changes in " (app.name) " itself: its accounts stay as they are. They are no longer managed from here: no new accounts, no suspend or remove, and the \"Remove app access\" task skips them (remove those accounts in the app yourself)." }
            }
            div.actions {
                (button_form(&admin, &format!("/console/apps/{slug}/disconnect"), "Disconnect", "danger"))
                a.button.secondary href={ "/console/apps/" (slug) } { "Cancel" }
            }
        },
    ))
}

async fn disconnect(
    State(apps): State<Apps>,
    admin: Admin,
    PathParam(slug): PathParam<String>,
    form: Result<Form<Fields>, FormRejection>,
) -> Page {
    checked(&admin, form)?;
    connections::disconnect(&apps, &admin.actor, &admin.access, &slug).await?;
    Ok(see_other(&format!("/console/apps/{slug}?done=disconnected")))
}
