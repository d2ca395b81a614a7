//! The admin console in a real headless browser (Debian `chromium` + `chromium-driver`,
//! driven over WebDriver), against the devserver's routes and the sandbox apps on a loopback
//! port. The README's test command installs the browser when it is missing. Screenshots of
//! the main pages go to `docs/screenshots/` with `UPDATE_SCREENSHOTS=1`.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::support::{Co, OTHER_PARTNER, PARTNER, Walk};

/// chromedriver on a free loopback port, stopped when dropped.
pub(crate) struct Driver {
    child: Child,
    url: String,
    /// A script-enabled session where axe-core audits the pages (see `axe`).
    auditor: tokio::sync::OnceCell<Client>,
}

impl Driver {
    pub(crate) fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "chromedriver is needed for the console's browser tests: run the README's test \
                 command (infra/scripts/test), which installs chromium and chromium-driver",
            );
        // It says when it listens.
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        loop {
            line.clear();
            assert!(reader.read_line(&mut line).unwrap() > 0, "chromedriver exited");
            if line.contains("started successfully") {
                break;
            }
        }
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            auditor: tokio::sync::OnceCell::new(),
        }
    }

    /// The session axe-core runs in, started at the first audit.
    pub(crate) async fn auditor(&self) -> &Client {
        self.auditor.get_or_init(|| self.browser(true)).await
    }

    /// A headless Chromium session; `javascript: false` turns script off entirely.
    pub(crate) async fn browser(&self, javascript: bool) -> Client {
        let binary = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .expect("chromium is installed");
        let mut caps = json!({
            "goog:chromeOptions": {
                "binary": binary,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1100,900", "--no-first-run", "--disable-extensions"]
            }
        });
        if !javascript {
            caps["goog:chromeOptions"]["prefs"] =
                json!({"profile.managed_default_content_settings.javascript": 2});
        }
        let serde_json::Value::Object(caps) = caps else {
            unreachable!()
        };
        ClientBuilder::rustls()
            .unwrap()
            .capabilities(caps)
            .connect(&self.url)
            .await
            .expect("a headless chromium session")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where screenshots go: `docs/screenshots/` with `UPDATE_SCREENSHOTS=1` (to refresh the
/// README's pictures), else the test's scratch directory (a test run leaves the tree clean).
fn screenshots() -> PathBuf {
    let dir = if std::env::var_os("UPDATE_SCREENSHOTS").is_some() {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots")
    } else {
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots")
    };
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub(crate) struct Page<'a> {
    pub(crate) b: &'a Client,
    pub(crate) base: String,
    /// Whose auditor checks every page this one opens (axe-core).
    pub(crate) driver: &'a Driver,
}

impl Page<'_> {
    pub(crate) async fn open(&self, path: &str) {
        self.b.goto(&format!("{}{path}", self.base)).await.unwrap();
        self.audit().await;
    }

    pub(crate) async fn css(&self, selector: &str) -> fantoccini::elements::Element {
        self.b
            .find(Locator::Css(selector))
            .await
            .unwrap_or_else(|e| panic!("no {selector}: {e}"))
    }

    pub(crate) async fn click(&self, selector: &str) {
        self.css(selector).await.click().await.unwrap();
    }

    /// Clicks the button or link whose text is `text` exactly, and waits for the next page.
    pub(crate) async fn press(&self, text: &str) {
        let xpath = format!("//*[(self::button or self::a) and normalize-space(.)='{text}']");
        let target = self
            .b
            .find(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|e| panic!("no button {text}: {e}"));
        self.navigate_by(target).await;
    }

    /// Clicks `target` and waits until the page it was on is replaced: WebDriver's click
    /// may return before a form submission's navigation has even started.
    pub(crate) async fn navigate_by(&self, target: fantoccini::elements::Element) {
        let old = self.css("html").await;
        target.click().await.unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        let mut poll = tokio::time::interval(std::time::Duration::from_millis(20));
        loop {
            poll.tick().await;
            match old.tag_name().await {
                // Stale, or (mid-navigation) "does not belong to the document": gone.
                Err(_) => break,
                Ok(_) => assert!(std::time::Instant::now() < deadline, "the page did not change"),
            }
        }
        // The new document has loaded once its <main> (or the vendor page's) is there.
        self.b.wait().for_element(Locator::Css("body")).await.unwrap();
        self.audit().await;
    }

    /// axe-core on the page shown, at desktop width and on a phone.
    pub(crate) async fn audit(&self) {
        crate::axe::audit(self.b, self.driver.auditor().await, &self.base).await;
    }

    pub(crate) async fn fill(&self, selector: &str, text: &str) {
        let field = self.css(selector).await;
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    pub(crate) async fn text(&self) -> String {
        self.css("main").await.text().await.unwrap()
    }

    pub(crate) async fn title(&self) -> String {
        self.css("h1").await.text().await.unwrap()
    }

    pub(crate) async fn path(&self) -> String {
        self.b.current_url().await.unwrap().path().to_owned()
    }

    pub(crate) async fn shot(&self, name: &str) {
        let png = self.b.screenshot().await.unwrap();
        std::fs::write(screenshots().join(format!("{name}.png")), png).unwrap();
    }
}

/// The sandbox SCIM users of the scenario's company, seeded before the first sync.
const SCIM_TOKEN: &str = "sandbox-browser-scim";

/// The whole product with script turned off: every core flow is plain forms and links.
#[tokio::test]
async fn the_console_end_to_end_without_javascript() {
    let w = Walk::start().await;
    let base = w.local.services.settings.public_base_url.clone();
    let provision = json!({"user": {"first_name": "Priya", "last_name": "Patel", "email": "priya@acme.example"},
                           "company": {"name": "Acme Robotics, Inc."}});
    let provisioned = w
        .send("POST", "/v1/provision", Some(PARTNER), Some(provision))
        .await;
    assert_eq!(provisioned.status, 200, "{}", provisioned.text());
    let (company, token) = w.claim("priya@acme.example").await;
    let co = Co {
        id: company,
        admin: token.clone(),
    };
    let plus = w
        .send(
            "PATCH",
            &co.path(""),
            Some(PARTNER),
            Some(json!({"plan": "plus"})),
        )
        .await;
    assert_eq!(plus.status, 200, "{}", plus.text());
    let member = |first: &str, last: &str, email: &str| json!({"first_name": first, "last_name": last, "kind": "employee", "email": email});
    let bob = w
        .team_member(&co, member("Bob", "Builder", "bob@example.com"))
        .await;
    let carol = w
        .team_member(&co, member("Carol", "Danvers", "carol@example.com"))
        .await;
    let dave = w
        .team_member(&co, member("Dave", "Grohl", "dave@example.com"))
        .await;
    let erin = w
        .team_member(&co, member("Erin", "Brockovich", "erin@example.com"))
        .await;
    w.local
        .sandbox
        .seed_user(SCIM_TOKEN, "bob@example.com", "Bob", "Builder");
    w.local
        .sandbox
        .seed_user(SCIM_TOKEN, "cdanvers@example.com", "Carol", "Danvers-Rambeau");
    w.local
        .sandbox
        .seed_user(SCIM_TOKEN, "deploy-bot@example.com", "Deploy", "Bot");
    // Another company, for the cross-company attempt.
    let (other, other_admin) = w.company(OTHER_PARTNER, "other-browser@example.com").await;
    let other_member = w
        .team_member(
            &Co {
                id: other,
                admin: other_admin,
            },
            member("Zed", "Other", "zed@example.com"),
        )
        .await;

    let driver = Driver::start();
    let browser = driver.browser(false).await;
    let p = Page {
        b: &browser,
        base: base.clone(),
        driver: &driver,
    };

    // Sign-in.
    p.open("/console/apps").await;
    assert_eq!(p.path().await, "/console/sign_in");
    p.shot("sign-in").await;
    p.fill("#token", &token).await;
    p.press("Sign in").await;
    assert_eq!(p.path().await, "/console/apps");
    assert_eq!(p.title().await, "App directory");
    // Script really is off: the page's htmx never ran (or scripts cannot run at all).
    let htmx = browser.execute("return typeof htmx", vec![]).await;
    assert!(htmx.as_ref().map_or(true, |v| v == "undefined"), "{htmx:?}");
    p.shot("app-directory").await;

    // Search the directory, then Learn More.
    p.fill("#q", "sandbox").await;
    p.press("Search").await;
    let found = p.text().await;
    assert!(found.contains("Sandbox SCIM app") && found.contains("Sandbox OAuth app"));
    assert!(!found.contains("Slack"), "search filters: {found}");
    p.click("a[href='/console/apps/sandbox_scim']").await;
    assert_eq!(p.title().await, "Sandbox SCIM app");
    assert!(p.text().await.contains("Not Connected"));

    // Connect by API key: the form comes from the catalog's credential fields.
    p.fill("#field-scim_base_url", "https://scim.sandbox.test/scim/v2")
        .await;
    p.fill("#field-scim_token", SCIM_TOKEN).await;
    p.shot("connect-api-key").await;
    p.press("Connect Sandbox SCIM app").await;
    let connected = p.text().await;
    assert!(connected.contains("Connected."), "{connected}");
    assert!(
        !browser.source().await.unwrap().contains(SCIM_TOKEN),
        "no secret rendered"
    );

    // Sync, then Match accounts with one "Do not match", submitted at once.
    // The sync runs in the background: the page shows it under way until the worker (the
    // devserver's, run here by hand) has done it; the page's own link reloads it.
    p.press("Sync accounts").await;
    assert_eq!(p.path().await, "/console/apps/sandbox_scim/accounts");
    let running = p.text().await;
    assert!(
        running.contains("Syncing accounts from Sandbox SCIM app"),
        "{running}"
    );
    w.local.work().await.unwrap();
    p.click("#sync-progress a").await;
    let synced = p.text().await;
    assert!(
        synced.contains("Synced 3 accounts") && synced.contains("1 matched automatically"),
        "{synced}"
    );
    let selects = browser
        .find_all(Locator::Css("form select[name^='match.']"))
        .await
        .unwrap();
    assert_eq!(selects.len(), 2, "two accounts to match");
    for select in &selects {
        let label_for = select.attr("id").await.unwrap().unwrap();
        let label = p
            .css(&format!("label[for='{label_for}']"))
            .await
            .text()
            .await
            .unwrap();
        if label.contains("Deploy Bot") {
            select.select_by_value("do_not_match").await.unwrap();
        } else {
            assert!(label.contains("Carol"), "{label}");
            select.select_by_value(&carol).await.unwrap();
        }
    }
    p.shot("match-accounts").await;
    p.press("Save matches").await;
    let matched = p.text().await;
    assert!(matched.contains("2 matches saved"), "{matched}");
    assert!(matched.contains("Do not match"));
    let summary = w
        .send(
            "GET",
            &co.path("/apps/sandbox_scim/accounts"),
            Some(&co.admin),
            None,
        )
        .await
        .json()["summary"]
        .clone();
    assert_eq!(summary["matched"], 2);
    assert_eq!(summary["do_not_match"], 1);

    // Create an account for Dave: "Invite Sent" until he accepts, then "Connected".
    p.open(&format!("/console/team/{dave}")).await;
    p.press("Create account").await;
    // It asks first: the app emails the person.
    assert!(p.text().await.contains("an invitation to sign in"));
    p.press("Create account").await;
    let created = p.text().await;
    assert!(created.contains("Invite Sent"), "{created}");
    p.shot("team-member-apps").await;
    assert!(w.local.sandbox.accept_invitation(SCIM_TOKEN, "dave@example.com"));
    p.open("/console/apps/sandbox_scim").await;
    p.press("Sync accounts").await;
    w.local.work().await.unwrap();
    p.open(&format!("/console/team/{dave}")).await;
    let accepted = p.text().await;
    assert!(
        accepted.contains("Connected") && !accepted.contains("Invite Sent"),
        "{accepted}"
    );

    // Suspend, with a confirmation that says what will happen.
    p.press("Suspend").await;
    let confirm = p.text().await;
    assert!(
        confirm.contains("What Suspend does in Sandbox SCIM app"),
        "{confirm}"
    );
    p.shot("confirm-suspend").await;
    p.press("Suspend").await;
    let suspended = p.text().await;
    assert!(
        suspended.contains("Account suspended") && suspended.contains("Suspended"),
        "{suspended}"
    );

    // Delete Dave's account (the confirmation says what "remove" means in this app).
    p.press("Delete").await;
    let remove_means = prov_connectors::registry::catalog(true)
        .get("sandbox_scim")
        .unwrap()
        .remove_means;
    assert!(p.text().await.contains(remove_means));
    p.press("Delete").await;
    assert!(p.text().await.contains("Account deleted"));

    // Unmatch Carol's account: the vendor account is left alone.
    p.open(&format!("/console/team/{carol}")).await;
    p.press("Unmatch").await;
    assert!(p.text().await.contains("Nothing changes in Sandbox SCIM app"));
    p.press("Unmatch").await;
    assert!(p.text().await.contains("Account unmatched"));
    assert!(
        w.local
            .sandbox
            .emails(SCIM_TOKEN)
            .contains(&"cdanvers@example.com".to_owned())
    );

    // Remove all of Bob's accounts: the dry run first, then the real thing.
    p.open(&format!("/console/team/{bob}")).await;
    p.press("Remove all accounts").await;
    let plan = p.text().await;
    assert!(
        plan.contains("This will delete 1 account") && plan.contains("bob@example.com"),
        "{plan}"
    );
    p.shot("remove-all").await;
    p.press("Remove all accounts").await;
    assert!(p.text().await.contains("Deleted"));
    assert!(
        !w.local
            .sandbox
            .emails(SCIM_TOKEN)
            .contains(&"bob@example.com".to_owned())
    );

    // Connect by OAuth: the vendor's consent page, then back to the console.
    p.open("/console/apps/sandbox_oauth").await;
    p.press("Connect Sandbox OAuth app").await;
    let allow = p.css("#allow").await;
    p.navigate_by(allow).await;
    assert_eq!(p.path().await, "/console/apps/sandbox_oauth");
    let oauth = p.text().await;
    assert!(oauth.contains("Sandbox OAuth app is connected"), "{oauth}");
    p.shot("connected-oauth").await;

    // The onboarding task: Start setup, pick apps, Create accounts.
    p.open(&format!("/console/team/{erin}/onboarding")).await;
    p.press("Start setup").await;
    p.click("#app-sandbox_scim").await;
    p.shot("onboarding").await;
    p.press("Create accounts").await;
    let onboarding = p.text().await;
    assert!(onboarding.contains("Accounts created"), "{onboarding}");
    assert!(onboarding.contains("Progress") && onboarding.contains("Sandbox SCIM app"));
    assert!(
        w.local
            .sandbox
            .emails(SCIM_TOKEN)
            .contains(&"erin@example.com".to_owned())
    );

    // Dismissal with the offboarding task: preview (dry run), confirm, then it runs.
    p.open(&format!("/console/team/{erin}/dismissal")).await;
    assert!(p.css("#last_day").await.attr("type").await.unwrap().as_deref() == Some("date"));
    // What the date field's GET form submits (typing into a date control depends on the
    // browser's locale).
    p.open(&format!("/console/team/{erin}/dismissal?last_day=2026-02-27"))
        .await;
    let preview = p.text().await;
    assert!(
        preview.contains("What will happen") && preview.contains("erin@example.com"),
        "{preview}"
    );
    p.press("Dismiss and remove app access").await;
    assert_eq!(p.path().await, format!("/console/team/{erin}/offboarding"));
    w.local.tick().await.unwrap();
    p.open(&format!("/console/team/{erin}/offboarding")).await;
    let offboarding = p.text().await;
    assert!(offboarding.contains("Completed"), "{offboarding}");
    p.shot("offboarding").await;
    assert!(
        !w.local
            .sandbox
            .emails(SCIM_TOKEN)
            .contains(&"erin@example.com".to_owned())
    );

    // Disconnect, with its warning.
    p.open("/console/apps/sandbox_oauth").await;
    p.press("Disconnect").await;
    assert!(
        p.text()
            .await
            .contains("Nothing changes in Sandbox OAuth app itself")
    );
    p.shot("disconnect").await;
    p.press("Disconnect").await;
    assert!(p.text().await.contains("Disconnected."));

    // The audit log has it all.
    p.open("/console/events").await;
    let log = p.text().await;
    for action in [
        "connection.connected",
        "account.suspended",
        "account.deleted",
        "account.unmatched",
        "connection.disconnected",
    ] {
        assert!(log.contains(action), "{action} missing from the audit log");
    }
    assert!(log.contains("Priya Patel"), "actors by name");
    p.shot("audit-log").await;

    // Another company's person is not found.
    p.open(&format!("/console/team/{other_member}")).await;
    assert_eq!(p.title().await, "Not found");

    // On a phone-sized window the directory still reads.
    browser.set_window_size(390, 844).await.unwrap();
    p.open("/console/apps").await;
    p.shot("app-directory-phone").await;
    browser.set_window_size(1100, 900).await.unwrap();

    // Sign-out.
    p.open("/console/apps").await;
    p.press("Sign out").await;
    assert_eq!(p.path().await, "/console/sign_in");
    assert!(p.text().await.contains("You are signed out"));
    p.open("/console/apps").await;
    assert_eq!(p.path().await, "/console/sign_in");

    println!("{}", crate::axe::summary());
    browser.close().await.unwrap();
}

/// With script, the directory filters as you type (htmx swaps the list in; no reload).
#[tokio::test]
async fn the_directory_filters_as_you_type_with_javascript() {
    let w = Walk::start().await;
    let (_, token) = w.company(PARTNER, "live-search@example.com").await;
    let driver = Driver::start();
    let browser = driver.browser(true).await;
    let p = Page {
        b: &browser,
        base: w.local.services.settings.public_base_url.clone(),
        driver: &driver,
    };
    p.open("/console/sign_in").await;
    p.fill("#token", &token).await;
    p.press("Sign in").await;
    assert_eq!(p.path().await, "/console/apps");
    let htmx = browser.execute("return typeof htmx", vec![]).await.unwrap();
    assert_eq!(htmx, "object", "htmx loaded under the CSP");
    let page = p.css("html").await;
    p.css("#q").await.send_keys("oauth").await.unwrap();
    let filtered = "//section[@id='directory' and contains(., 'Sandbox OAuth app') \
                    and not(contains(., 'Sandbox SCIM app')) and not(contains(., 'Slack'))]";
    browser
        .wait()
        .at_most(std::time::Duration::from_secs(10))
        .for_element(Locator::XPath(filtered))
        .await
        .expect("the list filters as you type");
    assert!(page.tag_name().await.is_ok(), "the same document: no reload");
    let url = browser.current_url().await.unwrap();
    assert_eq!(url.query(), Some("q=oauth"), "the address follows the search");
    println!("{}", crate::axe::summary());
    browser.close().await.unwrap();
}

/// WebDriver's keys: Tab and Enter.
const TAB: &str = "\u{E004}";
const ENTER: &str = "\u{E007}";

/// Keyboard only, no script: Tab reaches the skip link first and then every control in
/// order; the token is typed and Enter signs in; the skip link moves past the navigation.
#[tokio::test]
async fn the_console_works_from_the_keyboard() {
    let w = Walk::start().await;
    let (_, token) = w.company(PARTNER, "keyboard@example.com").await;
    let driver = Driver::start();
    let browser = driver.browser(false).await;
    let p = Page {
        b: &browser,
        base: w.local.services.settings.public_base_url.clone(),
        driver: &driver,
    };
    let focused = || async { browser.active_element().await.unwrap() };
    p.open("/console/sign_in").await;
    focused().await.send_keys(TAB).await.unwrap();
    assert_eq!(focused().await.text().await.unwrap(), "Skip to content");
    // Tab on to the token field (a bounded walk through the page's controls).
    let mut reached = false;
    for _ in 0..20 {
        let here = focused().await;
        if here.attr("id").await.unwrap().as_deref() == Some("token") {
            reached = true;
            break;
        }
        here.send_keys(TAB).await.unwrap();
    }
    assert!(reached, "Tab reaches the token field");
    let field = focused().await;
    field.send_keys(&token).await.unwrap();
    let old = p.css("html").await;
    field.send_keys(ENTER).await.unwrap();
    // The sign-in page is replaced (as in `navigate_by`).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let mut poll = tokio::time::interval(std::time::Duration::from_millis(20));
    while old.tag_name().await.is_ok() {
        assert!(std::time::Instant::now() < deadline, "Enter did not submit");
        poll.tick().await;
    }
    browser.wait().for_element(Locator::Css("h1")).await.unwrap();
    assert_eq!(
        p.path().await,
        "/console/apps",
        "Enter in the token field signs in"
    );
    // On a signed-in page the first Tab is the skip link too, and Enter on it skips to
    // the content.
    focused().await.send_keys(TAB).await.unwrap();
    let skip = focused().await;
    assert_eq!(skip.text().await.unwrap(), "Skip to content");
    skip.send_keys(ENTER).await.unwrap();
    let url = browser.current_url().await.unwrap();
    assert_eq!(url.fragment(), Some("main"));
    println!("{}", crate::axe::summary());
    browser.close().await.unwrap();
}
