//! The console's handlers: each reads a form or a path, calls one use case with the signed-in
//! admin as the actor, and renders a page or redirects (post, redirect, get).

use std::collections::{BTreeMap, HashMap};

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use prov_core::access::Need;
use prov_core::audit::{self, ActorRef, Target};
use prov_core::auth::authenticate;
use prov_core::catalog::{self, App, ConnectionType, FieldKind};
use prov_core::connector::Vendors;
use prov_core::listing::ListQuery;
use prov_core::team::{self, TeamMember};
use prov_core::{Category, Error, ErrorDetail};
use prov_processes::accounts::{self, AccountQuery, AccountView, Action, Matching};
use prov_processes::connections::{self, Apps};
use prov_processes::{dismissal, onboarding};
use prov_web::{PathParam, ReqId};
use serde_json::{Map, Value, json};

use crate::Fail;
use crate::session::{self, Admin};
use crate::view::{self, badge, button_form, csrf_field, notice, problems};

type Page = Result<Response, Fail>;
type Fields = HashMap<String, String>;

pub(crate) fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    view::protect(&mut response);
    response
}

/// The submitted form after its CSRF check.
fn checked(admin: &Admin, form: Result<Form<Fields>, FormRejection>) -> Result<Fields, Fail> {
    let Ok(Form(fields)) = form else {
        return Err(Fail(session::csrf_refused()));
    };
    admin.check_csrf(fields.get("csrf").map(String::as_str).unwrap_or_default())?;
    Ok(fields)
}

/// A place inside the console to go back to (never elsewhere).
fn back_to(fields: &Fields, default: String) -> String {
    match fields.get("back") {
        Some(b) if b.starts_with("/console/") && !b.contains("//") && !b.contains('\\') => b.clone(),
        _ => default,
    }
}

fn ok(markup: Markup) -> Page {
    Ok(view::send(StatusCode::OK, markup))
}

/// Fixed confirmations for `?done=`: nothing a link can put on the page verbatim.
fn done_text(done: Option<&str>) -> Option<&'static str> {
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

fn label_of(state: &str) -> String {
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

// ---------------------------------------------------------------------------------------
// Sign-in and sign-out

pub(crate) async fn home(_: Admin) -> Response {
    see_other("/console/apps")
}

pub(crate) async fn stylesheet() -> Response {
    static_asset(
        view::STYLESHEET,
        "text/css; charset=utf-8",
        "public, max-age=3600",
    )
}

/// htmx (vendored, 0BSD): light enhancement only; every page works without it.
pub(crate) async fn htmx() -> Response {
    static_asset(
        view::HTMX,
        "text/javascript; charset=utf-8",
        "public, max-age=86400",
    )
}

/// A file served as is, with its type, how long it may be cached, and no sniffing.
fn static_asset(body: &'static str, content_type: &'static str, cache: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

fn sign_in_markup(token: &str, problem: Option<&str>, signed_out: bool) -> Markup {
    view::bare(
        "Sign in",
        html! {
            @if signed_out { p.notice role="status" { "You are signed out." } }
            @if let Some(problem) = problem { div.problems role="alert" { p { (problem) } } }
            p { "Sign in with your company admin token: the one shown when you claimed your account (the primary admin) or your admin invitation (admins who manage apps)." }
            form method="post" action="/console/sign_in" {
                input type="hidden" name="csrf" value=(token);
                label for="token" { "Admin token" }
                input id="token" name="token" type="password" autocomplete="off" required spellcheck="false";
                p { button type="submit" { "Sign in" } }
            }
        },
    )
}

fn with_cookie(mut response: Response, cookie: Option<HeaderValue>) -> Response {
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

#[derive(serde::Deserialize)]
pub(crate) struct SignInQuery {
    signed_out: Option<String>,
}

pub(crate) async fn sign_in_form(headers: HeaderMap, Query(q): Query<SignInQuery>) -> Response {
    let (token, cookie) = session::presession(&headers, true);
    let page = sign_in_markup(&token, None, q.signed_out.is_some());
    with_cookie(view::send(StatusCode::OK, page), cookie)
}

async fn open_session(apps: &Apps, request_id: &str, principal: prov_core::auth::Principal) -> Page {
    let access = session::admit(apps, &principal).await?;
    let cookie = session::start(apps, &principal, true).await?;
    let actor = prov_core::audit::Actor {
        principal,
        request_id: request_id.to_owned(),
    };
    audit::succeeded(
        &apps.services,
        &actor,
        &access.company.id,
        "console.signed_in",
        Target::new(
            "user",
            &access.admin.as_ref().map(|a| a.id.clone()).unwrap_or_default(),
        ),
        None,
    )
    .await;
    let mut response = see_other("/console/apps");
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
}

pub(crate) async fn sign_in(
    State(apps): State<Apps>,
    ReqId(request_id): ReqId,
    headers: HeaderMap,
    form: Result<Form<Fields>, FormRejection>,
) -> Response {
    let (token, cookie) = session::presession(&headers, true);
    let refuse = |status: StatusCode, why: &str| {
        with_cookie(
            view::send(status, sign_in_markup(&token, Some(why), false)),
            cookie.clone(),
        )
    };
    let fields = form.map(|Form(f)| f).unwrap_or_default();
    let presented = fields.get("csrf").map(String::as_str).unwrap_or_default();
    if !session::presession_matches(&headers, presented) {
        return refuse(
            StatusCode::FORBIDDEN,
            "This form has expired or did not come from the console. Try again.",
        );
    }
    let secret = fields.get("token").map(|t| t.trim()).unwrap_or_default();
    let principal = match authenticate(apps.services.store.as_ref(), secret).await {
        Ok(p) => p,
        Err(Error::Refused(_)) => return refuse(StatusCode::UNAUTHORIZED, "That token is not valid."),
        Err(e) => return Fail(e).into_response(),
    };
    match open_session(&apps, &request_id, principal).await {
        Ok(response) => response,
        Err(Fail(Error::Refused(details))) => {
            let why = details.first().map(|d| d.message.clone()).unwrap_or_default();
            let why = if details.iter().any(|d| d.category == Category::NotFound) {
                "That token is not valid.".to_owned()
            } else {
                why
            };
            refuse(StatusCode::FORBIDDEN, &why)
        }
        Err(e) => e.into_response(),
    }
}

pub(crate) async fn link_form(headers: HeaderMap, PathParam(link): PathParam<String>) -> Response {
    let (token, cookie) = session::presession(&headers, true);
    let page = view::bare(
        "Sign in",
        html! {
            p { "This one-time link signs you in to the admin console." }
            form method="post" action={ "/console/sign_in/link/" (link) } {
                input type="hidden" name="csrf" value=(token);
                button type="submit" { "Sign in" }
            }
        },
    );
    let mut response = with_cookie(view::send(StatusCode::OK, page), cookie);
    view::protect(&mut response);
    response
}

pub(crate) async fn link_sign_in(
    State(apps): State<Apps>,
    ReqId(request_id): ReqId,
    headers: HeaderMap,
    PathParam(link): PathParam<String>,
    form: Result<Form<Fields>, FormRejection>,
) -> Response {
    let fields = form.map(|Form(f)| f).unwrap_or_default();
    let presented = fields.get("csrf").map(String::as_str).unwrap_or_default();
    if !session::presession_matches(&headers, presented) {
        return Fail(session::csrf_refused()).into_response();
    }
    let principal = match session::redeem_link(&apps, &link).await {
        Ok(p) => p,
        Err(e) => return Fail(e).into_response(),
    };
    open_session(&apps, &request_id, principal)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

pub(crate) async fn sign_out(
    State(apps): State<Apps>,
    admin: Admin,
    headers: HeaderMap,
    form: Result<Form<Fields>, FormRejection>,
) -> Page {
    checked(&admin, form)?;
    let cookie = session::end(&apps, &headers, true).await?;
    audit::succeeded(
        &apps.services,
        &admin.actor,
        admin.company_id(),
        "console.signed_out",
        Target::new(
            "user",
            &admin
                .access
                .admin
                .as_ref()
                .map(|a| a.id.clone())
                .unwrap_or_default(),
        ),
        None,
    )
    .await;
    let mut response = see_other("/console/sign_in?signed_out=1");
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
}

// ---------------------------------------------------------------------------------------
// The App directory

#[derive(serde::Deserialize, Default)]
pub(crate) struct Search {
    q: Option<String>,
}

pub(crate) async fn directory(State(apps): State<Apps>, admin: Admin, Query(search): Query<Search>) -> Page {
    let listed = catalog::company_apps(&apps.services, &admin.access.company).await?;
    let q = search.q.unwrap_or_default();
    let needle = q.trim().to_lowercase();
    let shown = |a: &catalog::CompanyApp| needle.is_empty() || a.name.to_lowercase().contains(&needle);
    let card = |entry: &catalog::CompanyApp| {
        let app = catalog::find(entry.slug)
            .or_else(|| catalog::directory(true).find(|a| a.slug == entry.slug))
            .copied();
        html! {
            li {
                h3 { (entry.name) }
                @if let Some(state) = entry.connection_state {
                    p { (badge(&label_of(&serde_json::to_value(state).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()))) }
                }
                p { "Connection: " (match entry.connection_type { ConnectionType::Oauth => "OAuth", ConnectionType::ApiKey => "API key" }) }
                @if let Some(app) = app {
                    p.muted { (plan_note(&app)) }
                    p.muted { "Remove: " (app.remove_means) }
                }
                @if let Some(why) = &entry.unavailable_reason { p.warning { (why) } }
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
                ul.cards { @for a in &unavailable { (card(a)) } }
            }
            }
        },
    ))
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct AppQuery {
    done: Option<String>,
    status: Option<String>,
    error: Option<String>,
    app: Option<String>,
    message: Option<String>,
    again: Option<String>,
}

fn credential_form(admin: &Admin, app: &App, kept: &Fields) -> Markup {
    html! {
        form method="post" action={ "/console/apps/" (app.slug) "/connect" } {
            (csrf_field(admin))
            @for field in app.credential_fields {
                @let id = format!("field-{}", field.name);
                label for=(id) { (field.label) }
                @match field.kind {
                    FieldKind::Choice { options } => {
                        select id=(id) name=(field.name) required {
                            @for option in options {
                                option value=(option) selected[kept.get(field.name).is_some_and(|v| v == option)] { (option) }
                            }
                        }
                    }
                    FieldKind::Url => {
                        input id=(id) name=(field.name) type="url" required value=[kept.get(field.name)];
                    }
                    FieldKind::Text => {
                        @if field.secret {
                            // Secrets are never rendered back, not even after a refusal.
                            input id=(id) name=(field.name) type="password" autocomplete="off" required spellcheck="false";
                        } @else {
                            input id=(id) name=(field.name) type="text" required value=[kept.get(field.name)];
                        }
                    }
                }
            }
            p { button type="submit" { "Connect " (app.name) } }
        }
    }
}

fn oauth_form(admin: &Admin, app: &App, vendors: &dyn Vendors) -> Markup {
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
            p { "You will sign in at " (app.name) " to approve access, then come back here." }
            p { button type="submit" { "Get " (app.name) } }
        }
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
    let app = *catalog::get(slug, apps.services.settings.sandbox)?;
    let status = connections::status(apps, admin.company_id(), slug).await?;
    let connected = status.state == "connected";
    let plan = app.allowed_on(admin.access.company.plan);
    let oauth_problem = q.error.as_ref().map(|code| {
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
        (problems(refused))
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
                    .chain(["Remove"].iter().filter(|_| caps.delete))
                    .chain(["Groups"].iter().filter(|_| caps.groups))
                    .chain(["Work emails"].iter().filter(|_| caps.work_email))
                    .copied().collect::<Vec<_>>().join(", "))
            }
            dt { "What \"remove\" means here" } dd { (app.remove_means) }
            @if let Some(s) = app.suspend_means { dt { "What \"suspend\" means here" } dd { (s) } }
        }
        @if !app.differences_from_product_docs.is_empty() {
            ul { @for d in app.differences_from_product_docs { li { (d) } } }
        }
        @if connected {
            h2 { "Connected" }
            @if let Some(at) = status.connected_at { p { "Since " (at.format("%B %-d, %Y %H:%M UTC")) "." } }
            @if !status.tenant.is_empty() {
                dl { @for (k, v) in &status.tenant { dt { (label_of(k)) } dd { (v) } } }
            }
            div.actions {
                a.button href={ "/console/apps/" (slug) "/accounts" } { "Accounts" }
                (button_form(admin, &format!("/console/apps/{slug}/sync"), "Sync accounts", "secondary"))
                a.button.secondary href={ "/console/apps/" (slug) "/disconnect" } { "Disconnect" }
            }
        } @else {
            h2 { "Connect" }
            @match plan {
                Err(why) => p.warning { (why) },
                Ok(()) => {
                    @match app.connection_type {
                        ConnectionType::ApiKey => (credential_form(admin, &app, kept)),
                        ConnectionType::Oauth => (oauth_form(admin, &app, apps.vendors.as_ref())),
                    }
                }
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

pub(crate) async fn app_page(
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

pub(crate) async fn connect(
    State(apps): State<Apps>,
    admin: Admin,
    PathParam(slug): PathParam<String>,
    form: Result<Form<Fields>, FormRejection>,
) -> Page {
    let mut fields = checked(&admin, form)?;
    fields.remove("csrf");
    let body: Map<String, Value> = fields
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    match connections::connect_api_key(&apps, &admin.actor, &admin.access, &slug, &body).await {
        Ok(_) => Ok(see_other(&format!("/console/apps/{slug}?done=connected"))),
        Err(Error::Refused(details)) => {
            render_app(&apps, &admin, &slug, &AppQuery::default(), &details, &fields).await
        }
        Err(e) => Err(e.into()),
    }
}

pub(crate) async fn start_oauth(
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
    for name in ["environment", "organization"] {
        if let Some(v) = fields.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()) {
            body.insert(name.into(), json!(v));
        }
    }
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

pub(crate) async fn disconnect_form(
    State(apps): State<Apps>,
    admin: Admin,
    PathParam(slug): PathParam<String>,
) -> Page {
    let app = catalog::get(&slug, apps.services.settings.sandbox)?;
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

pub(crate) async fn disconnect(
    State(apps): State<Apps>,
    admin: Admin,
    PathParam(slug): PathParam<String>,
    form: Result<Form<Fields>, FormRejection>,
) -> Page {
    checked(&admin, form)?;
    connections::disconnect(&apps, &admin.actor, &admin.access, &slug).await?;
    Ok(see_other(&format!("/console/apps/{slug}?done=disconnected")))
}

// ---------------------------------------------------------------------------------------
// Accounts and matching

pub(crate) async fn sync(
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
async fn whole_team(apps: &Apps, company_id: &str) -> Result<Vec<TeamMember>, Error> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let query = ListQuery {
            limit: Some("100".into()),
            cursor: cursor.take(),
        };
        let page = team::list(&apps.services, company_id, &query).await?;
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
fn action_links(slug: &str, a: &AccountView, back: &str) -> Markup {
    html! {
        @for action in a.allowed_actions.iter().filter(|x| !action_label(x).is_empty()) {
            a.button.secondary href={ "/console/apps/" (slug) "/accounts/" (a.id) "/" (action) "?back=" (back) }
                aria-label={ (action_label(action)) " " (account_name(a)) } { (action_label(action)) }
            " "
        }
    }
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct AccountsQuery {
    status: Option<String>,
    #[serde(rename = "match")]
    matching: Option<String>,
    cursor: Option<String>,
    done: Option<String>,
    synced: Option<u32>,
    auto_matched: Option<u32>,
    matched: Option<u32>,
}

pub(crate) async fn accounts_page(
    State(apps): State<Apps>,
    admin: Admin,
    PathParam(slug): PathParam<String>,
    Query(q): Query<AccountsQuery>,
) -> Page {
    let app = *catalog::get(&slug, apps.services.settings.sandbox)?;
    let query = AccountQuery {
        status: q.status.clone().filter(|s| !s.is_empty()),
        matching: q.matching.clone().filter(|s| !s.is_empty()),
        limit: Some("100".into()),
        cursor: q.cursor.clone(),
    };
    let listing = accounts::list_accounts(&apps, admin.company_id(), &slug, &query).await?;
    let team = whole_team(&apps, admin.company_id()).await?;
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
                            td { (badge(a.status_label)) @if !a.present { " " span.muted { "(gone from the app)" } } }
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

pub(crate) async fn matches(
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
    let body = Map::from_iter([("matches".to_owned(), Value::Array(items))]);
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
pub(crate) struct BackQuery {
    back: Option<String>,
}

pub(crate) async fn action_form(
    State(apps): State<Apps>,
    admin: Admin,
    PathParam((slug, account_id, action)): PathParam<(String, String, String)>,
    Query(q): Query<BackQuery>,
) -> Page {
    let parsed = parse_action(&action)?;
    let app = *catalog::get(&slug, apps.services.settings.sandbox)?;
    let (_, account) = accounts::load(&apps, admin.company_id(), &slug, &account_id).await?;
    let connected = connections::status(&apps, admin.company_id(), &slug).await?.state == "connected";
    let view_ = AccountView::of(&app, account, connected);
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

pub(crate) async fn action(
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

// ---------------------------------------------------------------------------------------
// People

#[derive(serde::Deserialize, Default)]
pub(crate) struct CursorQuery {
    cursor: Option<String>,
}

pub(crate) async fn team_page(State(apps): State<Apps>, admin: Admin, Query(q): Query<CursorQuery>) -> Page {
    let query = ListQuery {
        limit: Some("50".into()),
        cursor: q.cursor,
    };
    let listing = team::list(&apps.services, admin.company_id(), &query).await?;
    ok(view::page(
        &admin,
        "/console/team",
        "People",
        html! {
            @if listing.items.is_empty() { p.muted { "No team members yet." } }
            @else {
                div.table-wrap { table {
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Email" } th scope="col" { "Kind" } th scope="col" { "Status" } } }
                    tbody {
                        @for v in &listing.items {
                            tr {
                                td { a href={ "/console/team/" (v.member.id) } { (v.member.full_name()) } }
                                td { (v.member.email.as_deref().unwrap_or("—")) }
                                td { (label_of(&format!("{:?}", v.member.kind).to_lowercase())) }
                                td { (label_of(&format!("{:?}", v.member.employment_status).to_lowercase())) }
                            }
                        }
                    }
                } }
                @if let Some(next) = &listing.next_cursor { p { a href={ "/console/team?cursor=" (next) } { "More people" } } }
            }
        },
    ))
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct DoneQuery {
    done: Option<String>,
    /// The onboarding task's "Start setup" step: show the app picker.
    setup: Option<String>,
}

pub(crate) async fn member_page(
    State(apps): State<Apps>,
    admin: Admin,
    PathParam(member_id): PathParam<String>,
    Query(q): Query<DoneQuery>,
) -> Page {
    let member = team::get(&apps.services, admin.company_id(), &member_id).await?;
    let items = accounts::member_apps(&apps, admin.company_id(), &member_id).await?;
    let back = format!("/console/team/{member_id}");
    let removable = items.iter().any(|i| {
        i.account
            .as_ref()
            .is_some_and(|a| a.present && a.status != "deleted" && a.managed)
    });
    let body = html! {
        (notice(done_text(q.done.as_deref())))
        p { (member.email.as_deref().unwrap_or("No email")) " · " (label_of(&format!("{:?}", member.employment_status).to_lowercase()))
            @if let Some(day) = member.last_day { " · last day " (day) } }
        nav aria-label="Tasks" {
            ul {
                li { a href={ (back) "/onboarding" } { "Create app accounts" } }
                li { a href={ (back) "/offboarding" } { "Remove app access" } }
                li { a href={ (back) "/dismissal" } { "Dismiss" } }
            }
        }
        h2 { "Apps" }
        @if items.is_empty() { p.muted { "No accounts, and no connected apps to create one in." } }
        @else {
            div.table-wrap { table {
                thead { tr { th scope="col" { "App" } th scope="col" { "Account" } th scope="col" { "Status" } th scope="col" { "Actions" } } }
                tbody {
                    @for item in &items {
                        tr {
                            td { a href={ "/console/apps/" (item.app) } { (item.name) } }
                            td { @if let Some(a) = &item.account { (a.email.as_deref().unwrap_or("—")) } @else { span.muted { "No account" } } }
                            td {
                                @if let Some(a) = &item.account { (badge(a.status_label)) }
                                @if !item.connected { " " span.muted { "(not connected)" } }
                            }
                            td {
                                @if let Some(a) = &item.account { (action_links(item.app, a, &back)) }
                                @if item.allowed_actions.contains(&"create") {
                                    form.inline method="post" action={ (back) "/apps/" (item.app) "/create" } {
                                        (csrf_field(&admin))
                                        @if catalog::get(item.app, true).is_ok_and(|a| a.capabilities.work_email) {
                                            @let id = format!("work-email-{}", item.app);
                                            label for=(id) { "Work email in " (item.name) }
                                            input id=(id) name="work_email" type="email" required;
                                        }
                                        button type="submit" aria-label={ "Create account in " (item.name) } { "Create account" }
                                    }
                                }
                            }
                        }
                    }
                }
            } }
        }
        @if removable {
            p { a.button.danger href={ (back) "/remove_all" } { "Remove all accounts" } }
        }
        @if member.employment_status == team::EmploymentStatus::Dismissed {
            (button_form(&admin, &format!("{back}/rehire"), "Rehire", "secondary"))
        }
    };
    ok(view::page(&admin, "/console/team", &member.full_name(), body))
}

pub(crate) async fn create_account(
    State(apps): State<Apps>,
    admin: Admin,
    PathParam((member_id, slug)): PathParam<(String, String)>,
    form: Result<Form<Fields>, FormRejection>,
) -> Page {
    let fields = checked(&admin, form)?;
    let work_email = fields
        .get("work_email")
        .map(|v| v.trim())
        .filter(|v| !v.is_empty());
    accounts::create_account(&apps, &admin.actor, &admin.access, &slug, &member_id, work_email).await?;
    Ok(see_other(&format!("/console/team/{member_id}?done=created")))
}

fn removal_rows(removals: &[accounts::Removal], done: bool) -> Markup {
    html! {
        div.table-wrap { table {
            thead { tr { th scope="col" { "App" } th scope="col" { "Account" } th scope="col" { "What happens" } @if done { th scope="col" { "Result" } } } }
            tbody {
                @for r in removals {
                    tr {
                        td { (r.app_name) }
                        td { (r.email.as_deref().unwrap_or("—")) }
                        td { @if r.action == "skip" { "Skipped: " } (r.means) }
                        @if done {
                            td {
                                (label_of(r.result.unwrap_or("")))
                                @if let Some(e) = &r.error { ": " (e.message) }
                            }
                        }
                    }
                }
            }
        } }
    }
}

pub(crate) async fn remove_all_form(
    State(apps): State<Apps>,
    admin: Admin,
    PathParam(member_id): PathParam<String>,
) -> Page {
    let member = team::get(&apps.services, admin.company_id(), &member_id).await?;
    let plan = accounts::remove_all(&apps, &admin.actor, &admin.access, &member_id, true).await?;
    let deletes = plan.accounts.iter().filter(|r| r.action == "delete").count();
    ok(view::page(
        &admin,
        "/console/team",
        &format!("Remove all of {}'s accounts?", member.full_name()),
        html! {
            @if plan.accounts.is_empty() { p { "There are no accounts to remove." } }
            @else {
                div.warning role="note" { p { strong { "This will remove " (deletes) " account" @if deletes != 1 { "s" } ":" } } }
                (removal_rows(&plan.accounts, false))
            }
            form method="post" action={ "/console/team/" (member_id) "/remove_all" } {
                (csrf_field(&admin))
                div.actions {
                    @if deletes > 0 { button type="submit" class="danger" { "Remove all accounts" } }
                    a.button.secondary href={ "/console/team/" (member_id) } { "Cancel" }
                }
            }
        },
    ))
}

pub(crate) async fn remove_all(
    State(apps): State<Apps>,
    admin: Admin,
    PathParam(member_id): PathParam<String>,
    form: Result<Form<Fields>, FormRejection>,
) -> Page {
    checked(&admin, form)?;
    let member = team::get(&apps.services, admin.company_id(), &member_id).await?;
    let report = accounts::remove_all(&apps, &admin.actor, &admin.access, &member_id, false).await?;
    ok(view::page(
        &admin,
        "/console/team",
        &format!("{}'s accounts", member.full_name()),
        html! {
            p.notice role="status" { "Remove all accounts: done." }
            (removal_rows(&report.accounts, true))
            p { a href={ "/console/team/" (member_id) } { "Back to " (member.full_name()) } }
        },
    ))
}

// ---------------------------------------------------------------------------------------
// The checklist tasks and dismissal

pub(crate) async fn onboarding_page(
    State(apps): State<Apps>,
    admin: Admin,
    PathParam(member_id): PathParam<String>,
    Query(q): Query<DoneQuery>,
) -> Page {
    let member = team::get(&apps.services, admin.company_id(), &member_id).await?;
    let task = onboarding::view(&apps, &admin.access, &member_id).await?;
    let name_of = |slug: &str| catalog::get(slug, true).map(|a| a.name).unwrap_or("");
    let body = html! {
        (notice(done_text(q.done.as_deref())))
        p { "For " a href={ "/console/team/" (member_id) } { (member.full_name()) } ". Status: " (badge(&label_of(task.status))) }
        @if let Some(why) = &task.blocked_reason { p.warning { (why) } }
        @if !task.items.is_empty() {
            h2 { "Progress" }
            div.table-wrap { table {
                thead { tr { th scope="col" { "App" } th scope="col" { "State" } th scope="col" { "Detail" } } }
                tbody {
                    @for item in &task.items {
                        tr {
                            td { (name_of(&item.app)) }
                            td { (badge(&label_of(&serde_json::to_value(item.state).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()))) }
                            td { @if let Some(e) = &item.error { (e.message) } }
                        }
                    }
                }
            } }
        }
        @if task.blocked_reason.is_none() && task.status != "completed" && q.setup.is_none() {
            p { a.button href={ "/console/team/" (member_id) "/onboarding?setup=1" } { "Start setup" } }
        }
        @if task.blocked_reason.is_none() && task.status != "completed" && q.setup.is_some() {
            h2 { "Pick apps" }
            @if task.connected_apps.is_empty() {
                p { "No connected app can create accounts yet. " a href="/console/apps" { "Connect an app" } "." }
            } @else {
                form method="post" action={ "/console/team/" (member_id) "/onboarding" } {
                    (csrf_field(&admin))
                    fieldset {
                        legend { "Pick the apps to create accounts in" }
                        @for app in &task.connected_apps {
                            @let id = format!("app-{}", app.app);
                            label.check for=(id) {
                                input id=(id) type="checkbox" name={ "app." (app.app) } value="on";
                                (app.name)
                            }
                        }
                    }
                    p { button type="submit" { "Create accounts" } }
                }
            }
            @if !task.available_apps.is_empty() {
                p.muted { "Also available once connected: " (task.available_apps.iter().map(|a| a.name).collect::<Vec<_>>().join(", ")) "." }
            }
        }
    };
    ok(view::page(&admin, "/console/team", "Create app accounts", body))
}

pub(crate) async fn run_onboarding(
    State(apps): State<Apps>,
    admin: Admin,
    PathParam(member_id): PathParam<String>,
    form: Result<Form<Fields>, FormRejection>,
) -> Page {
    let fields = checked(&admin, form)?;
    let mut picked: Vec<&str> = fields.keys().filter_map(|k| k.strip_prefix("app.")).collect();
    picked.sort_unstable();
    let body = Map::from_iter([("apps".to_owned(), json!(picked))]);
    onboarding::run(&apps, &admin.actor, &admin.access, &member_id, &body).await?;
    Ok(see_other(&format!(
        "/console/team/{member_id}/onboarding?done=onboarding"
    )))
}

/// The dismissal form's body for the use case: the last day and per-app choices.
fn dismissal_body(fields: &Fields) -> Map<String, Value> {
    let mut body = Map::new();
    if let Some(day) = fields.get("last_day") {
        body.insert("last_day".into(), json!(day));
    }
    let removal: Map<String, Value> = fields
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("removal.")?.to_owned(), json!(v))))
        .filter(|(_, v)| v != "")
        .collect();
    if !removal.is_empty() {
        body.insert("removal".into(), Value::Object(removal));
    }
    body
}

fn plan_rows(plan: &[dismissal::PlannedRemoval]) -> Markup {
    html! {
        div.table-wrap { table {
            thead { tr { th scope="col" { "App" } th scope="col" { "Account" } th scope="col" { "Action" } th scope="col" { "What happens" } th scope="col" { "State" } } }
            tbody {
                @for p in plan {
                    tr {
                        td { (p.app_name) }
                        td { (p.email.as_deref().unwrap_or("—")) }
                        td { (match p.action { dismissal::Removal::Suspend => "Suspend", dismissal::Removal::Delete => "Delete" }) }
                        td { (p.means) }
                        td { (badge(&label_of(p.state))) @if let Some(d) = &p.detail { br; span.muted { (d) } } }
                    }
                }
            }
        } }
    }
}

pub(crate) async fn dismissal_page(
    State(apps): State<Apps>,
    admin: Admin,
    PathParam(member_id): PathParam<String>,
    Query(fields): Query<Fields>,
) -> Page {
    admin.access_for(&apps, Need::ManageTeam).await?;
    let member = team::get(&apps.services, admin.company_id(), &member_id).await?;
    let preview = match fields.get("last_day").filter(|d| !d.is_empty()) {
        Some(_) => {
            let body = dismissal_body(&fields);
            match dismissal::dismiss(&apps, &admin.actor, &admin.access, &member_id, &body, true).await {
                Ok(view) => Ok(Some(view)),
                Err(Error::Refused(details)) => Err(details),
                Err(e) => return Err(e.into()),
            }
        }
        None => Ok(None),
    };
    let day = fields.get("last_day").cloned().unwrap_or_default();
    let body = html! {
        p { "Dismiss " a href={ "/console/team/" (member_id) } { (member.full_name()) } ". Access to every matched app account ends at 00:00 Pacific time the day after the last day; a past last day ends it at once." }
        @if let Err(details) = &preview { (problems(details)) }
        form method="get" action={ "/console/team/" (member_id) "/dismissal" } {
            label for="last_day" { "Last day" }
            input id="last_day" name="last_day" type="date" required value=(day);
            p { button type="submit" class="secondary" { "Preview" } }
        }
        @if let Ok(Some(view)) = &preview {
            h2 { "What will happen" }
            @if let Some(at) = view.removes_access_at { p { "Access ends " strong { (at.format("%B %-d, %Y at %H:%M UTC")) } "." } }
            @if view.accounts.is_empty() { p { "No matched app accounts: nothing to remove." } }
            @else { (plan_rows(&view.accounts)) }
            form method="post" action={ "/console/team/" (member_id) "/dismissal" } {
                (csrf_field(&admin))
                input type="hidden" name="last_day" value=(day);
                div.actions {
                    button type="submit" class="danger" { "Dismiss and remove app access" }
                    a.button.secondary href={ "/console/team/" (member_id) } { "Cancel" }
                }
            }
        }
    };
    let status = if preview.is_err() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(view::send(
        status,
        view::page(&admin, "/console/team", "Dismiss", body),
    ))
}

pub(crate) async fn dismiss(
    State(apps): State<Apps>,
    admin: Admin,
    PathParam(member_id): PathParam<String>,
    form: Result<Form<Fields>, FormRejection>,
) -> Page {
    let fields = checked(&admin, form)?;
    let access = admin.access_for(&apps, Need::ManageTeam).await?;
    let body = dismissal_body(&fields);
    dismissal::dismiss(&apps, &admin.actor, &access, &member_id, &body, false).await?;
    Ok(see_other(&format!(
        "/console/team/{member_id}/offboarding?done=dismissed"
    )))
}

pub(crate) async fn cancel_dismissal(
    State(apps): State<Apps>,
    admin: Admin,
    PathParam(member_id): PathParam<String>,
    form: Result<Form<Fields>, FormRejection>,
) -> Page {
    checked(&admin, form)?;
    let access = admin.access_for(&apps, Need::ManageTeam).await?;
    dismissal::cancel(&apps, &admin.actor, &access, &member_id).await?;
    Ok(see_other(&format!(
        "/console/team/{member_id}/offboarding?done=cancelled"
    )))
}

pub(crate) async fn rehire(
    State(apps): State<Apps>,
    admin: Admin,
    PathParam(member_id): PathParam<String>,
    form: Result<Form<Fields>, FormRejection>,
) -> Page {
    checked(&admin, form)?;
    let access = admin.access_for(&apps, Need::ManageTeam).await?;
    dismissal::rehire(&apps, &admin.actor, &access, &member_id).await?;
    Ok(see_other(&format!("/console/team/{member_id}?done=rehired")))
}

pub(crate) async fn offboarding_page(
    State(apps): State<Apps>,
    admin: Admin,
    PathParam(member_id): PathParam<String>,
    Query(q): Query<DoneQuery>,
) -> Page {
    let member = team::get(&apps.services, admin.company_id(), &member_id).await?;
    let task = dismissal::offboarding(&apps, &admin.access, &member_id).await?;
    let body = html! {
        (notice(done_text(q.done.as_deref())))
        p { "For " a href={ "/console/team/" (member_id) } { (member.full_name()) } ". Status: " (badge(&label_of(task.status))) }
        @if task.status == "not_dismissed" {
            p { (member.full_name()) " is not dismissed. " a href={ "/console/team/" (member_id) "/dismissal" } { "Dismiss" } " to plan the removal of their app access." }
        }
        @if let Some(day) = task.last_day { p { "Last day: " (day) "." } }
        @if let Some(at) = task.removes_access_at { p { "Access ends " (at.format("%B %-d, %Y at %H:%M UTC")) "." } }
        @if let Some(problem) = &task.problem { p.warning { (problem) } }
        @if !task.accounts.is_empty() { (plan_rows(&task.accounts)) }
        @if task.status == "scheduled" {
            @let suspendable: Vec<_> = task.accounts.iter().filter(|p| catalog::get(&p.app, true).is_ok_and(|a| a.capabilities.suspend)).collect();
            @if !suspendable.is_empty() {
                h2 { "Suspend or delete" }
                form method="post" action={ "/console/team/" (member_id) "/offboarding" } {
                    (csrf_field(&admin))
                    @for p in &suspendable {
                        @let id = format!("removal-{}", p.app);
                        label for=(id) { (p.app_name) }
                        select id=(id) name={ "removal." (p.app) } {
                            option value="delete" selected[p.action == dismissal::Removal::Delete] { "Delete" }
                            option value="suspend" selected[p.action == dismissal::Removal::Suspend] { "Suspend" }
                        }
                    }
                    p { button type="submit" class="secondary" { "Save choices" } }
                }
            }
        }
        @if task.status == "scheduled" {
            (button_form(&admin, &format!("/console/team/{member_id}/dismissal/cancel"), "Cancel dismissal", "secondary"))
        }
        @if task.status == "paused" {
            form method="post" action={ "/console/team/" (member_id) "/offboarding" } {
                (csrf_field(&admin))
                input type="hidden" name="confirm" value="true";
                p.warning { "Removals were paused because many accounts of one app would go at once. Confirm to go ahead." }
                button type="submit" class="danger" { "Confirm removals" }
            }
        }
        @if task.status == "needs_attention" {
            form method="post" action={ "/console/team/" (member_id) "/offboarding" } {
                (csrf_field(&admin))
                input type="hidden" name="retry" value="true";
                button type="submit" { "Retry failed removals" }
            }
        }
    };
    ok(view::page(&admin, "/console/team", "Remove app access", body))
}

pub(crate) async fn update_offboarding(
    State(apps): State<Apps>,
    admin: Admin,
    PathParam(member_id): PathParam<String>,
    form: Result<Form<Fields>, FormRejection>,
) -> Page {
    let fields = checked(&admin, form)?;
    let mut body = dismissal_body(&fields);
    body.remove("last_day");
    for flag in ["confirm", "retry"] {
        if fields.get(flag).is_some_and(|v| v == "true") {
            body.insert(flag.into(), json!(true));
        }
    }
    dismissal::update_offboarding(&apps, &admin.actor, &admin.access, &member_id, &body).await?;
    Ok(see_other(&format!(
        "/console/team/{member_id}/offboarding?done=offboarding"
    )))
}

// ---------------------------------------------------------------------------------------
// The audit log

fn actor_text(actor: &ActorRef, names: &HashMap<String, String>) -> String {
    let name = |id: &String| names.get(id).cloned().unwrap_or_else(|| id.clone());
    match actor {
        ActorRef::Partner { partner_id } => format!("partner {partner_id}"),
        ActorRef::Admin { user_id } => name(user_id),
        ActorRef::Claimant { user_id } => format!("{} (claiming)", name(user_id)),
        ActorRef::System => "the service".to_owned(),
    }
}

pub(crate) async fn events_page(
    State(apps): State<Apps>,
    admin: Admin,
    Query(q): Query<CursorQuery>,
) -> Page {
    let query = ListQuery {
        limit: Some("50".into()),
        cursor: q.cursor,
    };
    let listing = audit::list(&apps.services, admin.company_id(), &query).await?;
    let first_admins = ListQuery {
        limit: Some("100".into()),
        cursor: None,
    };
    let names: HashMap<String, String> =
        prov_core::admins::list(&apps.services, admin.company_id(), &first_admins)
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
