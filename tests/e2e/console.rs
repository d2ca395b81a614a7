//! The admin console over plain HTTP (fast): sign-in, sessions, CSRF, permissions and
//! company scope. The browser scenarios are in `console_browser`.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::Request;
use prov_core::store::Key;
use prov_testkit::{Answer, call};
use serde_json::json;

use crate::support::{Co, OTHER_PARTNER, PARTNER, Walk};

/// A cookie jar in front of the devserver's router, as a browser would be.
pub struct Client<'a> {
    w: &'a Walk,
    pub cookies: BTreeMap<String, String>,
}

/// The value of the hidden `csrf` field of a page.
pub fn csrf_of(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .unwrap_or_else(|| panic!("no csrf field in {html}"));
    let rest = &html[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

impl<'a> Client<'a> {
    pub fn new(w: &'a Walk) -> Self {
        Self {
            w,
            cookies: BTreeMap::new(),
        }
    }

    async fn send(&mut self, req: axum::http::request::Builder, body: Body) -> Answer {
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let req = if cookie.is_empty() {
            req
        } else {
            req.header("cookie", cookie)
        };
        let answer = call(&self.w.app, req.body(body).unwrap()).await;
        for set in answer.headers.get_all("set-cookie") {
            let text = set.to_str().unwrap();
            let (pair, _) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || text.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        answer
    }

    pub async fn get(&mut self, uri: &str) -> Answer {
        self.send(Request::get(uri), Body::empty()).await
    }

    pub async fn post(&mut self, uri: &str, fields: &[(&str, &str)]) -> Answer {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        self.send(
            Request::post(uri).header("content-type", "application/x-www-form-urlencoded"),
            Body::from(body),
        )
        .await
    }

    /// Signs in with an admin token through the sign-in form; answers the final answer.
    pub async fn sign_in(&mut self, token: &str) -> Answer {
        let form = self.get("/console/sign_in").await;
        assert_eq!(form.status, 200);
        let csrf = csrf_of(&form.text());
        self.post("/console/sign_in", &[("csrf", &csrf), ("token", token)])
            .await
    }

    /// The CSRF token of the signed-in session (from any console page).
    pub async fn csrf(&mut self) -> String {
        let page = self.get("/console/apps").await;
        assert_eq!(page.status, 200, "{}", page.text());
        csrf_of(&page.text())
    }
}

fn location(a: &Answer) -> &str {
    a.header("location").unwrap_or_default()
}

#[tokio::test]
async fn sign_in_sessions_csrf_and_company_scope() {
    // The console's routes name no company: its scope is the session's (so the API's
    // authorization walk in `access` has nothing of the console's to cover).
    assert!(console::ROUTES.iter().all(|(_, p)| !p.contains("{company_id}")));
    let w = Walk::start().await;
    let a = w
        .connected_company("console-a@example.com", "sandbox-console-a")
        .await;
    w.local
        .sandbox
        .seed_user("sandbox-console-a", "bob@example.com", "Bob", "Builder");
    let bob = w
        .team_member(
            &a,
            json!({"first_name": "Bob", "last_name": "Builder", "kind": "employee", "email": "bob@example.com"}),
        )
        .await;
    let synced = w.sync(&a, "sandbox_scim").await;
    assert_eq!(synced.json()["changes"]["auto_matched"], 1);
    let account = w
        .send(
            "GET",
            &a.path("/apps/sandbox_scim/accounts"),
            Some(&a.admin),
            None,
        )
        .await
        .json()["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // No session: every page sends the browser to sign in.
    let mut anon = Client::new(&w);
    for page in ["/console", "/console/apps", "/console/team", "/console/events"] {
        let answer = anon.get(page).await;
        assert_eq!(answer.status, 303, "{page}");
        assert_eq!(location(&answer), "/console/sign_in");
    }

    // The sign-in form needs its double-submit token.
    let answer = anon
        .post("/console/sign_in", &[("csrf", "x"), ("token", &a.admin)])
        .await;
    assert_eq!(answer.status, 403);
    assert!(!anon.cookies.contains_key("console_session"));

    // Wrong tokens, partner tokens and admins without `manage_apps` do not get in.
    assert_eq!(anon.sign_in("not-a-token").await.status, 401);
    let partner = anon.sign_in(PARTNER).await;
    assert_eq!(partner.status, 403);
    assert!(partner.text().contains("partner token cannot sign in"));
    let invited = w
        .send(
            "POST",
            &a.path("/admins"),
            Some(&a.admin),
            Some(json!({"first_name": "Plain", "last_name": "Admin", "email": "plain-console@example.com"})),
        )
        .await
        .json();
    let (_, plain) = w.claim("plain-console@example.com").await;
    let refused = anon.sign_in(&plain).await;
    assert_eq!(refused.status, 403);
    assert!(refused.text().contains("Manage apps"), "{}", refused.text());
    assert!(!anon.cookies.contains_key("console_session"));
    assert!(
        !refused.text().contains(&plain),
        "the token is never rendered back"
    );

    // The primary admin gets a locked-down session cookie; the store keeps only its hash.
    let mut admin_a = Client::new(&w);
    let signed_in = admin_a.sign_in(&a.admin).await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.text());
    assert_eq!(location(&signed_in), "/console/apps");
    let set_cookie = signed_in.header("set-cookie").unwrap();
    for part in [
        "console_session=",
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
        "Path=/console",
    ] {
        assert!(set_cookie.contains(part), "{set_cookie}");
    }
    let session = admin_a.cookies["console_session"].clone();
    assert_eq!(session.len(), 64);
    let stored = w
        .local
        .services
        .store
        .get(&Key::new(
            format!("CONSOLE#SESSION#{}", &session[..16]),
            "SESSION",
        ))
        .await
        .unwrap()
        .expect("the session is stored");
    let stored_text = serde_json::to_string(&stored.data).unwrap();
    assert!(!stored_text.contains(&session), "only the hash is stored");
    assert!(stored.expires_at.is_some(), "sessions expire (TTL)");

    let directory = admin_a.get("/console/apps").await;
    assert_eq!(directory.status, 200);
    let html = directory.text();
    assert!(html.contains("App directory") && html.contains("Sandbox SCIM app"));
    assert!(
        directory
            .header("content-security-policy")
            .unwrap()
            .contains("default-src 'none'")
    );
    // One script, the vendored htmx file; nothing inline.
    assert_eq!(html.matches("<script").count(), 1);
    assert!(html.contains(r#"<script src="/console/htmx.min.js" defer></script>"#));
    let csrf = admin_a.csrf().await;

    // Forms without the session's CSRF token change nothing.
    let member_path = format!("/console/apps/sandbox_scim/accounts/{account}/unmatch");
    for fields in [vec![], vec![("csrf", "0".repeat(64))]] {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let refused = admin_a.post(&member_path, &fields).await;
        assert_eq!(refused.status, 403, "{}", refused.text());
        let sign_out = admin_a.post("/console/sign_out", &fields).await;
        assert_eq!(sign_out.status, 403);
    }
    let still = w
        .send(
            "GET",
            &a.path(&format!("/team_members/{bob}/apps")),
            Some(&a.admin),
            None,
        )
        .await
        .json();
    let scim = still["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["app"] == "sandbox_scim")
        .unwrap()
        .clone();
    assert_eq!(scim["account"]["id"], account.as_str(), "still matched");

    // Another company's admin (another partner's company) sees none of it.
    let (b_id, b_admin) = w.company(OTHER_PARTNER, "console-b@example.com").await;
    let _b = Co {
        id: b_id,
        admin: b_admin.clone(),
    };
    let mut admin_b = Client::new(&w);
    assert_eq!(admin_b.sign_in(&b_admin).await.status, 303);
    let csrf_b = admin_b.csrf().await;
    assert_eq!(admin_b.get(&format!("/console/team/{bob}")).await.status, 404);
    assert_eq!(admin_b.get(&member_path).await.status, 404);
    let cross = admin_b.post(&member_path, &[("csrf", &csrf_b)]).await;
    assert_eq!(cross.status, 404, "{}", cross.text());
    let cross = admin_b
        .post(&format!("/console/team/{bob}/remove_all"), &[("csrf", &csrf_b)])
        .await;
    assert_eq!(cross.status, 404);
    // Nor does a's CSRF token work in b's session.
    assert_eq!(
        admin_b
            .post("/console/apps/sandbox_scim/sync", &[("csrf", &csrf)])
            .await
            .status,
        403
    );

    // Connecting with refused credentials shows why, never the secret.
    let refused = admin_a
        .post(
            "/console/apps/sandbox_scim/connect",
            &[
                ("csrf", &csrf),
                ("scim_base_url", "https://scim.sandbox.test/scim/v2"),
                ("scim_token", "refused-secret-value-0123"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.text());
    assert!(!refused.text().contains("refused-secret-value-0123"));

    // The real unmatch with the token works, and is recorded under the admin.
    // (A `back` outside the console is ignored: no open redirect.)
    let done = admin_a
        .post(
            &member_path,
            &[("csrf", &csrf), ("back", "//evil.example/console/")],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.text());
    assert_eq!(
        location(&done),
        "/console/apps/sandbox_scim/accounts?done=unmatched"
    );
    let events = admin_a.get("/console/events").await.text();
    assert!(events.contains("account.unmatched") && events.contains("console.signed_in"));

    // A revoked permission ends the session's access at once.
    let invited_id = invited["id"].as_str().unwrap();
    let granted = w
        .send(
            "PATCH",
            &a.path(&format!("/admins/{invited_id}")),
            Some(&a.admin),
            Some(json!({"permissions": ["manage_apps"]})),
        )
        .await;
    assert_eq!(granted.status, 200, "{}", granted.text());
    let mut plain_client = Client::new(&w);
    assert_eq!(plain_client.sign_in(&plain).await.status, 303);
    assert_eq!(plain_client.get("/console/apps").await.status, 200);
    w.send(
        "PATCH",
        &a.path(&format!("/admins/{invited_id}")),
        Some(&a.admin),
        Some(json!({"permissions": []})),
    )
    .await;
    assert_eq!(plain_client.get("/console/apps").await.status, 303);

    // Back from a vendor's consent the browser withholds the strict cookie (the redirect
    // chain began on another site): the page asks for the same address again, same-site.
    let back = "/console/apps/sandbox_oauth?app=sandbox_oauth&status=connected";
    let mut fresh = Client::new(&w);
    let relay = fresh.get(back).await;
    assert_eq!(relay.status, 200);
    assert!(relay.text().contains("http-equiv=\"refresh\""));
    assert!(relay.text().contains("again=1"));
    let once = fresh.get(&format!("{back}&again=1")).await;
    assert_eq!(once.status, 303, "no loop: then it is the sign-in");
    let signed = admin_a.get(back).await;
    assert_eq!(signed.status, 200);
    assert!(signed.text().contains("Sandbox OAuth app"));

    // Sign-out ends the session for good (the old cookie no longer works).
    let out = admin_a.post("/console/sign_out", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, 303);
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    let mut replay = Client::new(&w);
    replay.cookies.insert("console_session".into(), session.clone());
    assert_eq!(replay.get("/console/apps").await.status, 303);

    // One-time sign-in links work once.
    let user_id = w.send("GET", &a.path(""), Some(&a.admin), None).await.json()["primary_admin_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let link = console::mint_link(&w.local.apps, &a.id, &user_id).await.unwrap();
    let path = &link[link.find("/console/").unwrap()..];
    let mut linked = Client::new(&w);
    let form = linked.get(path).await;
    assert_eq!(form.status, 200);
    let token = csrf_of(&form.text());
    assert_eq!(linked.post(path, &[("csrf", &token)]).await.status, 303);
    assert_eq!(linked.get("/console/apps").await.status, 200);
    let mut again = Client::new(&w);
    let form = again.get(path).await;
    let token = csrf_of(&form.text());
    assert_eq!(again.post(path, &[("csrf", &token)]).await.status, 410);

    // Sessions end 8 hours after sign-in.
    w.clock
        .advance(chrono::Duration::hours(8) - chrono::Duration::minutes(1));
    assert_eq!(linked.get("/console/apps").await.status, 200);
    w.clock.advance(chrono::Duration::minutes(2));
    assert_eq!(linked.get("/console/apps").await.status, 303);
}

/// Dismissal from the console: preview (nothing saved), dismiss, cancel; then a past last
/// day, which ends access at once, and a rehire.
#[tokio::test]
async fn dismissal_cancel_and_rehire_through_the_console() {
    let w = Walk::start().await;
    let a = w
        .connected_company("console-dismiss@example.com", "sandbox-console-dismiss")
        .await;
    let bob = w
        .team_member(
            &a,
            json!({"first_name": "Bob", "last_name": "Builder", "kind": "employee", "email": "bob@example.com"}),
        )
        .await;
    let mut admin = Client::new(&w);
    assert_eq!(admin.sign_in(&a.admin).await.status, 303);
    let csrf = admin.csrf().await;
    let member = format!("/console/team/{bob}");

    let preview = admin
        .get(&format!("{member}/dismissal?last_day=2026-03-10"))
        .await;
    assert_eq!(preview.status, 200);
    assert!(preview.text().contains("Access ends"));
    let task = admin.get(&format!("{member}/offboarding")).await.text();
    assert!(task.contains("Not Dismissed"), "a preview saves nothing");
    let bad = admin
        .get(&format!("{member}/dismissal?last_day=10/03/2026"))
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.text().contains("YYYY-MM-DD"));

    let refused = admin
        .post(&format!("{member}/dismissal"), &[("last_day", "2026-03-10")])
        .await;
    assert_eq!(refused.status, 403, "no CSRF token, no dismissal");
    let dismissed = admin
        .post(
            &format!("{member}/dismissal"),
            &[("csrf", &csrf), ("last_day", "2026-03-10")],
        )
        .await;
    assert_eq!(dismissed.status, 303, "{}", dismissed.text());
    assert_eq!(
        location(&dismissed),
        format!("{member}/offboarding?done=dismissed")
    );
    let task = admin.get(&format!("{member}/offboarding")).await.text();
    assert!(
        task.contains("Scheduled") && task.contains("Cancel dismissal"),
        "{task}"
    );
    let cancelled = admin
        .post(&format!("{member}/dismissal/cancel"), &[("csrf", &csrf)])
        .await;
    assert_eq!(cancelled.status, 303, "{}", cancelled.text());
    let task = admin.get(&format!("{member}/offboarding")).await.text();
    assert!(task.contains("Cancelled"), "{task}");

    // A last day already past: access ends at once (the scheduler fires), then a rehire.
    let dismissed = admin
        .post(
            &format!("{member}/dismissal"),
            &[("csrf", &csrf), ("last_day", "2026-02-27")],
        )
        .await;
    assert_eq!(dismissed.status, 303, "{}", dismissed.text());
    w.local.tick().await.unwrap();
    let page = admin.get(&member).await.text();
    assert!(page.contains("Dismissed") && page.contains("Rehire"), "{page}");
    let rehired = admin.post(&format!("{member}/rehire"), &[("csrf", &csrf)]).await;
    assert_eq!(rehired.status, 303, "{}", rehired.text());
    let page = admin.get(location(&rehired)).await.text();
    assert!(page.contains("Rehired"), "{page}");
}

#[tokio::test]
async fn the_console_says_a_switch_of_tenant_before_it_and_shows_the_former_tenants_accounts() {
    let w = Walk::start().await;
    let co = w
        .connected_company("console-switch@example.com", "sandbox-console-one")
        .await;
    w.local
        .sandbox
        .seed_user("sandbox-console-one", "grace@example.com", "Grace", "Hopper");
    w.sync(&co, "sandbox_scim").await;
    let mut admin = Client::new(&w);
    admin.sign_in(&co.admin).await;
    let csrf = admin.csrf().await;
    let one = prov_sandbox::tenant_name("sandbox-console-one");

    // Before any switch, the app's page says what the connection is bound to, and its
    // connect form names the tenant and offers the switch.
    let page = admin.get("/console/apps/sandbox_scim").await.text();
    assert!(page.contains("A connection is bound to"), "{page}");
    assert!(
        page.contains(&one) && page.contains("name=\"switch_tenant\""),
        "{page}"
    );

    // Another tenant's token without the box ticked: refused, naming both.
    let fields = |token: &'static str| {
        vec![
            ("scim_base_url", "https://scim.sandbox.test/scim/v2"),
            ("scim_token", token),
        ]
    };
    let mut form = fields("sandbox-console-two");
    form.push(("csrf", &csrf));
    let refused = admin.post("/console/apps/sandbox_scim/connect", &form).await;
    assert_eq!(refused.status, 422, "{}", refused.text());
    let text = refused.text();
    assert!(
        text.contains(&one) && text.contains(&prov_sandbox::tenant_name("sandbox-console-two")),
        "{text}"
    );
    // Ticked: switched; Grace's account is shown as the former tenant's, counted apart.
    form.push(("switch_tenant", "true"));
    let switched = admin.post("/console/apps/sandbox_scim/connect", &form).await;
    assert_eq!(switched.status, 303, "{}", switched.text());
    let accounts = admin.get("/console/apps/sandbox_scim/accounts").await.text();
    assert!(
        accounts.contains("Tenant no longer connected") && accounts.contains(&one),
        "{accounts}"
    );
    assert!(
        accounts.contains("1 accounts belong to a sandbox tenant no longer connected"),
        "{accounts}"
    );
}
