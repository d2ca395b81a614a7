//! The seed's paths the console lacked (issue 26), walked in the browser at desktop width
//! and on a phone: People → Onboarding and Offboarding, an app's Accounts with "Create
//! account" and "Remove all accounts", "Connect" (and "Get [App]" for a company without the
//! app), the work email of a mailbox app at onboarding, Google Workspace groups, and roles
//! and permissions. The onboarding body's work emails over the API too.

use fantoccini::Locator;
use serde_json::json;

use crate::console_browser::{Driver, Page};
use crate::flows::plus_company;
use crate::support::{Co, Walk};

const SCIM_TOKEN: &str = "sandbox-paths-scim";

impl Page<'_> {
    /// Clicks the control whose accessible name is `label` (its `aria-label`), and waits for
    /// the next page.
    async fn press_labelled(&self, label: &str) {
        let xpath = format!("//*[@aria-label=\"{label}\"]");
        let target = self
            .b
            .find(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|e| panic!("nothing labelled {label}: {e}"));
        self.navigate_by(target).await;
    }
}

async fn member(w: &Walk, co: &Co, first: &str, last: &str, email: &str) -> String {
    w.team_member(
        co,
        json!({"first_name": first, "last_name": last, "kind": "employee", "email": email}),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seeds_paths_in_the_browser() {
    let w = Walk::start().await;
    let co = plus_company(&w, "paths-owner@example.com").await;
    let scim = w
        .send(
            "POST",
            &co.path("/apps/sandbox_scim/connection"),
            Some(&co.admin),
            Some(json!({"scim_base_url": "https://scim.sandbox.test/scim/v2", "scim_token": SCIM_TOKEN})),
        )
        .await;
    assert_eq!(scim.status, 200, "{}", scim.text());
    let ada = member(&w, &co, "Ada", "Lovelace", "ada@example.com").await;
    let bob = member(&w, &co, "Bob", "Builder", "bob@example.com").await;
    let domain = prov_sandbox::GOOGLE_WORKSPACE_DOMAIN;
    let work = format!("ada@{domain}");

    let driver = Driver::start();
    let browser = driver.browser(false).await;
    let p = Page {
        b: &browser,
        base: w.local.services.settings.public_base_url.clone(),
        driver: &driver,
    };
    p.open("/console/sign_in").await;
    p.fill("#token", &co.admin).await;
    p.press("Sign in").await;

    // A company without Google Workspace is offered "Get Google Workspace" (the vendor's
    // site) beside "Connect", which signs in at Google and comes back connected.
    p.open("/console/apps/google_workspace").await;
    let get = p.css("a[href='https://workspace.google.com/']").await;
    assert_eq!(get.text().await.unwrap(), "Get Google Workspace");
    p.press("Connect Google Workspace").await;
    let allow = p.css("#allow").await;
    p.navigate_by(allow).await;
    assert!(
        p.text().await.contains("Google Workspace is connected"),
        "{}",
        p.text().await
    );
    // Connected, it can be connected again (new credentials), never "got".
    assert!(!p.text().await.contains("Get Google Workspace"));

    // People → Onboarding → the new hire's checklist → Start setup: the mailbox app asks
    // for the work address, and the other app's account is made for it.
    p.open("/console/team").await;
    p.press("Onboarding").await;
    assert_eq!(p.path().await, "/console/onboarding");
    assert!(p.text().await.contains("Ada Lovelace"));
    p.press_labelled("View checklist of Ada Lovelace").await;
    assert_eq!(p.path().await, format!("/console/team/{ada}/onboarding"));
    p.press("Start setup").await;
    p.click("#app-google_workspace").await;
    p.click("#app-sandbox_scim").await;
    p.press("Create accounts").await;
    let refused = p.text().await;
    assert!(refused.contains("The work email is required"), "{refused}");
    p.fill("[id='work_email.google_workspace']", &work).await;
    p.shot("onboarding-work-email").await;
    p.press("Create accounts").await;
    let done = p.text().await;
    assert!(done.contains("Accounts created"), "{done}");
    let tenant = prov_sandbox::oauth_tenant("google_workspace");
    assert!(w.local.sandbox.emails(&tenant).contains(&work));
    assert!(
        w.local.sandbox.emails(SCIM_TOKEN).contains(&work),
        "made for the new address"
    );
    p.open("/console/onboarding").await;
    assert!(!p.text().await.contains("Ada Lovelace"), "her task is done");

    // Google Workspace → Groups: Ada into Engineering.
    p.open("/console/apps/google_workspace").await;
    p.press("Groups").await;
    let engineering = engineering_group(&w, &co).await;
    let select = p.css(&format!("[id='account-{engineering}']")).await;
    let option = select
        .find(Locator::XPath("option[contains(., 'Ada Lovelace')]"))
        .await
        .unwrap();
    option.click().await.unwrap();
    let add = select
        .find(Locator::XPath("ancestor::form//button"))
        .await
        .unwrap();
    p.navigate_by(add).await;
    let added = p.text().await;
    assert!(added.contains("Added to"), "{added}");
    assert_eq!(
        w.local.sandbox.workspace_group_members(&tenant, &engineering),
        std::slice::from_ref(&work)
    );

    // App directory → the app → Accounts: "Create account" for Bob, who has none there.
    p.open("/console/apps/sandbox_scim/accounts").await;
    assert!(p.text().await.contains("Team members without an account"));
    p.press_labelled("Create account for Bob Builder in Sandbox SCIM app")
        .await;
    assert!(p.text().await.contains("an invitation to sign in"));
    p.press("Create account").await;
    assert_eq!(p.path().await, "/console/apps/sandbox_scim/accounts");
    assert!(
        p.text().await.contains("Account created in Sandbox SCIM app"),
        "{}",
        p.text().await
    );
    assert!(
        w.local
            .sandbox
            .emails(SCIM_TOKEN)
            .contains(&"bob@example.com".to_owned())
    );
    // … and "Remove all accounts" from there too.
    p.press_labelled("Remove all accounts of Bob Builder").await;
    assert!(p.text().await.contains("This will delete 1 account"));
    p.press("Remove all accounts").await;
    assert!(
        !w.local
            .sandbox
            .emails(SCIM_TOKEN)
            .contains(&"bob@example.com".to_owned())
    );

    // People → Offboarding: Bob, dismissed with a last day ahead, and his checklist.
    let dismissed = w
        .send(
            "PUT",
            &co.path(&format!("/team_members/{bob}/dismissal")),
            Some(&co.admin),
            Some(json!({"last_day": "2026-03-20"})),
        )
        .await;
    assert_eq!(dismissed.status, 200, "{}", dismissed.text());
    p.open("/console/team").await;
    p.press("Offboarding").await;
    let listed = p.text().await;
    assert!(
        listed.contains("Bob Builder") && listed.contains("March 20, 2026"),
        "{listed}"
    );
    p.press_labelled("View checklist of Bob Builder").await;
    assert_eq!(p.path().await, format!("/console/team/{bob}/offboarding"));
    assert!(p.text().await.contains("Scheduled"));

    // Roles and permissions: invite an admin who may manage apps, then revoke it.
    p.press("Roles and permissions").await;
    p.press("Invite admin").await;
    assert!(
        p.text().await.contains("First name is required"),
        "{}",
        p.text().await
    );
    let focused = browser.active_element().await.unwrap();
    assert_eq!(
        focused.attr("id").await.unwrap().as_deref(),
        Some("field-first_name"),
        "the focus is on the first problem"
    );
    p.fill("#field-first_name", "Ivy").await;
    p.fill("#field-last_name", "Manager").await;
    p.fill("#field-email", "ivy@example.com").await;
    p.click("#manage_apps").await;
    p.press("Invite admin").await;
    assert!(
        p.text().await.contains("Ivy Manager was invited"),
        "{}",
        p.text().await
    );
    p.press_labelled("Revoke Manage apps from Ivy Manager").await;
    assert!(p.text().await.contains("Ivy Manager can no longer manage apps"));
    let admins = w
        .send("GET", &co.path("/admins"), Some(&co.admin), None)
        .await
        .json();
    let ivy = admins["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["email"] == "ivy@example.com")
        .unwrap()
        .clone();
    assert_eq!(ivy["permissions"], json!([]));

    // The same pages on a phone.
    browser.set_window_size(390, 844).await.unwrap();
    for path in [
        "/console/onboarding",
        "/console/offboarding",
        "/console/apps/sandbox_scim/accounts",
        "/console/admins",
    ] {
        p.open(path).await;
        let wide = browser
            .execute(
                "return document.documentElement.scrollWidth > window.innerWidth",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(wide, false, "{path} scrolls sideways on a phone");
    }
    p.open("/console/offboarding").await;
    p.shot("offboarding-phone").await;
    println!("{}", crate::axe::summary());
    browser.close().await.unwrap();
}

/// The id of the sandbox workspace's Engineering group.
async fn engineering_group(w: &Walk, co: &Co) -> String {
    let groups = w
        .send(
            "GET",
            &co.path("/apps/google_workspace/groups"),
            Some(&co.admin),
            None,
        )
        .await
        .json();
    groups["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "Engineering")
        .unwrap_or_else(|| panic!("{groups}"))["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The onboarding body names the new hire's work address per mailbox app; a new hire
/// without an email is not blocked when one can be made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onboarding_takes_the_work_email_of_a_mailbox_app() {
    let w = Walk::start().await;
    let co = plus_company(&w, "paths-api@example.com").await;
    crate::flows::oauth_connect(
        &w,
        &co,
        "google_workspace",
        "/_sandbox/google_workspace/o/oauth2/v2/auth",
        json!({}),
    )
    .await;
    let new_hire = w
        .team_member(
            &co,
            json!({"first_name": "Nia", "last_name": "New", "kind": "employee"}),
        )
        .await;
    let task = co.path(&format!("/team_members/{new_hire}/onboarding"));
    let view = w.send("GET", &task, Some(&co.admin), None).await.json();
    assert_eq!(view["status"], "not_started", "{view}");
    assert_eq!(view["connected_apps"][0]["creates_work_email"], true, "{view}");
    let missing = w
        .send(
            "POST",
            &task,
            Some(&co.admin),
            Some(json!({"apps": ["google_workspace"]})),
        )
        .await;
    assert_eq!(
        (missing.status.as_u16(), missing.error_keys()),
        (422, vec!["work_emails.google_workspace".to_owned()])
    );
    let stray = w
        .send(
            "POST",
            &task,
            Some(&co.admin),
            Some(json!({"apps": ["google_workspace"], "work_emails": {"google_workspace": "nia@x.example", "slack": "nia@x.example"}})),
        )
        .await;
    assert!(
        stray.error_keys().contains(&"work_emails.slack".to_owned()),
        "{}",
        stray.text()
    );
    let work = format!("nia@{}", prov_sandbox::GOOGLE_WORKSPACE_DOMAIN);
    let done = w
        .send(
            "POST",
            &task,
            Some(&co.admin),
            Some(json!({"apps": ["google_workspace"], "work_emails": {"google_workspace": work}})),
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.text());
    assert_eq!(done.json()["status"], "completed", "{}", done.text());
    let member = w
        .send(
            "GET",
            &co.path(&format!("/team_members/{new_hire}")),
            Some(&co.admin),
            None,
        )
        .await
        .json();
    assert_eq!(member["email"], work, "the new address is hers");
}

/// A new admin goes from the claim page into the console and on to a connected app with a
/// created account, never pasting a token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_admin_goes_from_the_claim_page_to_a_created_account_without_a_token() {
    let w = Walk::start().await;
    let provisioned = w
        .send(
            "POST",
            "/v1/provision",
            Some(crate::support::PARTNER),
            Some(
                json!({"user": {"first_name": "Nora", "last_name": "New", "email": "nora@first.example"},
                        "company": {"name": "First Steps, Inc."}}),
            ),
        )
        .await;
    assert_eq!(provisioned.status, 200, "{}", provisioned.text());
    let claim = provisioned.json()["account_claim_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let listed = w
        .send(
            "GET",
            "/v1/companies?limit=100",
            Some(crate::support::PARTNER),
            None,
        )
        .await
        .json();
    let company = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "First Steps, Inc.")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let co = Co {
        id: company,
        admin: String::new(),
    };
    w.send(
        "PATCH",
        &co.path(""),
        Some(crate::support::PARTNER),
        Some(json!({"plan": "plus"})),
    )
    .await;
    // The HR platform adds the team (as a partner may).
    let zoe = w
        .send(
            "POST",
            &co.path("/team_members"),
            Some(crate::support::PARTNER),
            Some(json!({"first_name": "Zoe", "last_name": "Zed", "kind": "employee", "email": "zoe@first.example"})),
        )
        .await;
    assert_eq!(zoe.status, 201, "{}", zoe.text());

    let driver = Driver::start();
    let browser = driver.browser(false).await;
    let p = Page {
        b: &browser,
        base: w.local.services.settings.public_base_url.clone(),
        driver: &driver,
    };
    browser.goto(&claim).await.unwrap();
    p.audit().await;
    p.fill("#email", "nora@first.example").await;
    p.press("Claim account").await;
    assert!(
        p.text()
            .await
            .contains("You are now an admin of First Steps, Inc.")
    );
    p.shot("claimed").await;
    p.press("Open the admin console").await;
    p.press("Sign in").await;
    assert_eq!(p.path().await, "/console/apps");
    assert_eq!(p.title().await, "App directory");

    p.open("/console/apps/sandbox_scim").await;
    p.fill("#field-scim_base_url", "https://scim.sandbox.test/scim/v2")
        .await;
    p.fill("#field-scim_token", "sandbox-first-steps").await;
    p.press("Connect Sandbox SCIM app").await;
    assert!(p.text().await.contains("Connected."));
    p.press("Accounts").await;
    p.press_labelled("Create account for Zoe Zed in Sandbox SCIM app")
        .await;
    p.press("Create account").await;
    assert!(
        p.text()
            .await
            .contains("Account created in Sandbox SCIM app for Zoe Zed"),
        "{}",
        p.text().await
    );
    assert_eq!(
        w.local.sandbox.emails("sandbox-first-steps"),
        ["zoe@first.example"]
    );
    println!("{}", crate::axe::summary());
    browser.close().await.unwrap();
}
