//! The console's bugs of issue 26, over plain HTTP: each test fails on the console as it was.

use serde_json::json;

use crate::console::Client;
use crate::flows::{act_on, oauth_connect};
use crate::support::{Co, Walk};

fn location(a: &prov_testkit::Answer) -> String {
    a.header("location").unwrap_or_default().to_owned()
}

/// The signed-in frame: the main navigation and the sign-out form are on the page.
fn framed(html: &str) -> bool {
    html.contains("aria-label=\"Main\"") && html.contains("Sign out")
}

/// The rows of the table that follows the heading `heading` (up to the next heading).
fn rows_after(html: &str, heading: &str) -> usize {
    let Some(at) = html.find(heading) else {
        return 0;
    };
    let rest = &html[at + heading.len()..];
    let section = &rest[..rest.find("<h2").unwrap_or(rest.len())];
    section.matches("<tr><td").count()
}

async fn bob(w: &Walk, co: &Co) -> String {
    w.team_member(
        co,
        json!({"first_name": "Bob", "last_name": "Builder", "kind": "employee", "email": "bob@example.com"}),
    )
    .await
}

#[tokio::test]
async fn create_accounts_needs_a_choice_and_a_completed_task_takes_more_apps() {
    let w = Walk::start().await;
    let co = w
        .connected_company("bugs-onboard@example.com", "sandbox-bugs-onboard")
        .await;
    let bob = bob(&w, &co).await;
    let mut admin = Client::new(&w);
    admin.sign_in(&co.admin).await;
    let csrf = admin.csrf().await;
    let task = format!("/console/team/{bob}/onboarding");
    let api_task = co.path(&format!("/team_members/{bob}/onboarding"));

    // Nothing ticked: the picker again with the problem, the task untouched.
    let nothing = admin.post(&task, &[("csrf", &csrf)]).await;
    assert_eq!(nothing.status, 422, "{}", nothing.text());
    let page = nothing.text();
    assert!(page.contains("Pick at least one app"), "{page}");
    assert!(framed(&page) && page.contains("Create accounts"), "{page}");
    let state = w.send("GET", &api_task, Some(&co.admin), None).await.json();
    assert_eq!(state["status"], "not_started", "{state}");
    // The API refuses an empty pick too, rather than completing the task.
    let empty = w
        .send("POST", &api_task, Some(&co.admin), Some(json!({"apps": []})))
        .await;
    assert_eq!(
        (empty.status.as_u16(), empty.error_keys()),
        (422, vec!["apps".to_owned()])
    );

    // A real pick completes it; the completed task can take more apps, and the app the
    // person already has an account in cannot be picked again.
    let done = admin
        .post(&task, &[("csrf", &csrf), ("app.sandbox_scim", "on")])
        .await;
    assert_eq!(done.status, 303, "{}", done.text());
    let completed = admin.get(&task).await.text();
    assert!(
        completed.contains("Completed") && completed.contains("Add apps"),
        "{completed}"
    );
    let picker = admin.get(&format!("{task}?setup=1")).await.text();
    let checkbox = &picker[picker.find("id=\"app-sandbox_scim\"").expect("the app is listed")..];
    let checkbox = &checkbox[..checkbox.find('>').unwrap()];
    assert!(checkbox.contains("disabled"), "{checkbox}");
    assert!(picker.contains("already has an account"));
}

#[tokio::test]
async fn a_future_last_day_reads_leaving_and_cancelling_or_a_past_day_say_what_happens() {
    let w = Walk::start().await;
    let co = w
        .connected_company("bugs-leaving@example.com", "sandbox-bugs-leaving")
        .await;
    let bob = bob(&w, &co).await;
    let mut admin = Client::new(&w);
    admin.sign_in(&co.admin).await;
    let csrf = admin.csrf().await;
    let member = format!("/console/team/{bob}");

    // The walk's clock is March 1, 2026: a last day on March 10 is still ahead.
    let dismissed = admin
        .post(
            &format!("{member}/dismissal"),
            &[("csrf", &csrf), ("last_day", "2026-03-10")],
        )
        .await;
    assert_eq!(dismissed.status, 303, "{}", dismissed.text());
    let page = admin.get(&member).await.text();
    assert!(page.contains("Leaving on March 10, 2026"), "{page}");
    assert!(
        !page.contains("Rehire") && !page.contains(">Dismissed<"),
        "{page}"
    );
    assert!(
        page.contains("March 11, 2026 at 12:00 AM PDT"),
        "Pacific time: {page}"
    );
    let people = admin.get("/console/team").await.text();
    assert!(people.contains("Leaving on March 10, 2026"), "{people}");

    // Cancel asks first; after it nothing says access ends.
    let ask = admin.get(&format!("{member}/dismissal/cancel")).await;
    assert_eq!(ask.status, 200);
    assert!(
        ask.text().contains("no app access will be removed"),
        "{}",
        ask.text()
    );
    let cancelled = admin
        .post(&format!("{member}/dismissal/cancel"), &[("csrf", &csrf)])
        .await;
    assert_eq!(cancelled.status, 303, "{}", cancelled.text());
    let task = admin.get(&location(&cancelled)).await.text();
    assert!(task.contains("nothing will be removed"), "{task}");
    assert!(!task.contains("Access ends"), "{task}");

    // A past last day: removed at once, not "Access ends <a past date>".
    let preview = admin
        .get(&format!("{member}/dismissal?last_day=2026-02-27"))
        .await
        .text();
    assert!(preview.contains("app access is removed at once"), "{preview}");
    assert!(!preview.contains("Access ends"), "{preview}");
    admin
        .post(
            &format!("{member}/dismissal"),
            &[("csrf", &csrf), ("last_day", "2026-02-27")],
        )
        .await;
    w.local.tick().await.unwrap();
    let page = admin.get(&member).await.text();
    assert!(page.contains("Dismissed") && page.contains("Rehire"), "{page}");
    let ask = admin.get(&format!("{member}/rehire")).await;
    assert_eq!(ask.status, 200);
    assert!(ask.text().contains("Rehire Bob Builder?"), "{}", ask.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statuses_notices_and_action_words_say_what_is_true() {
    let w = Walk::start().await;
    let co = w
        .connected_company("bugs-truth@example.com", "sandbox-bugs-truth")
        .await;
    let plus = w
        .send(
            "PATCH",
            &co.path(""),
            Some(crate::support::PARTNER),
            Some(json!({"plan": "plus"})),
        )
        .await;
    assert_eq!(plus.status, 200, "{}", plus.text());
    oauth_connect(&w, &co, "slack", "/_sandbox/slack/oauth/v2/authorize", json!({})).await;
    let bob = bob(&w, &co).await;
    let mut admin = Client::new(&w);
    admin.sign_in(&co.admin).await;
    let csrf = admin.csrf().await;
    let member = format!("/console/team/{bob}");

    // Slack makes the member active at once: no "Invite Sent" notice for it.
    let created = admin
        .post(&format!("{member}/apps/slack/create"), &[("csrf", &csrf)])
        .await;
    assert_eq!(created.status, 303, "{}", created.text());
    let page = admin.get(&location(&created)).await.text();
    assert!(page.contains("Account created in Slack: Connected"), "{page}");
    assert!(!page.contains("Invite Sent"), "{page}");
    // The sandbox SCIM app invites: its notice says so.
    let created = admin
        .post(&format!("{member}/apps/sandbox_scim/create"), &[("csrf", &csrf)])
        .await;
    let page = admin.get(&location(&created)).await.text();
    assert!(
        page.contains("shows &quot;Invite Sent&quot; until they accept"),
        "{page}"
    );

    // One word for Slack's removal: Delete, with what it really does in the confirmation.
    let slack = w
        .send("GET", &co.path("/apps/slack/accounts"), Some(&co.admin), None)
        .await
        .json()["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ask = admin
        .get(&format!(
            "/console/apps/slack/accounts/{slack}/delete?back={member}"
        ))
        .await
        .text();
    assert!(
        ask.contains("What Delete does in Slack: </strong>Deactivates the member"),
        "{ask}"
    );
    let deleted = admin
        .post(
            &format!("/console/apps/slack/accounts/{slack}/delete"),
            &[("csrf", &csrf), ("back", &member)],
        )
        .await;
    let page = admin.get(&location(&deleted)).await.text();
    assert!(
        page.contains("Account deleted.") && !page.contains("removed"),
        "{page}"
    );
    let directory = admin.get("/console/apps").await.text();
    assert!(directory.contains("Delete: Deactivates the member") && !directory.contains("Remove: "));

    // After a disconnect the app's row no longer reads "Connected".
    let gone = w
        .send(
            "DELETE",
            &co.path("/apps/sandbox_scim/connection"),
            Some(&co.admin),
            None,
        )
        .await;
    assert!(gone.status.is_success(), "{}", gone.text());
    let page = admin.get(&member).await.text();
    assert!(!page.contains("(not connected)"), "{page}");
    let row = &page[page.find("Sandbox SCIM app</a>").unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(
        row.contains("App disconnected") && !row.contains(">Invite Sent<"),
        "{row}"
    );
}

#[tokio::test]
async fn refusals_keep_the_frame_and_the_summary_counts_the_accounts_listed() {
    let w = Walk::start().await;
    let token = "sandbox-bugs-frame";
    let co = w.connected_company("bugs-frame@example.com", token).await;
    let bob = bob(&w, &co).await;
    let carol = w
        .team_member(
            &co,
            json!({"first_name": "Carol", "last_name": "Danvers", "kind": "employee", "email": "carol@example.com"}),
        )
        .await;
    for (email, first, last) in [
        ("bob@example.com", "Bob", "Builder"),
        ("carol@example.com", "Carol", "Danvers"),
        ("dee@example.com", "Dee", "Unknown"),
        ("deploy-bot@example.com", "Deploy", "Bot"),
    ] {
        w.local.sandbox.seed_user(token, email, first, last);
    }
    let synced = w.sync(&co, "sandbox_scim").await;
    assert_eq!(synced.json()["changes"]["auto_matched"], 2, "{}", synced.text());
    let mut admin = Client::new(&w);
    admin.sign_in(&co.admin).await;
    let csrf = admin.csrf().await;

    // Saving Match accounts with nothing chosen: the same page, the problem at the form.
    let nothing = admin
        .post("/console/apps/sandbox_scim/matches", &[("csrf", &csrf)])
        .await;
    assert_eq!(nothing.status, 422);
    let page = nothing.text();
    assert!(framed(&page) && page.contains("Choose a team member"), "{page}");
    assert!(page.contains("id=\"matches-problem\""), "{page}");

    // Two matched accounts deleted: the summary and the accounts table agree (2), the
    // deleted ones are listed apart.
    for member_id in [&bob, &carol] {
        let id = w
            .send(
                "GET",
                &co.path(&format!("/team_members/{member_id}/apps")),
                Some(&co.admin),
                None,
            )
            .await
            .json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["app"] == "sandbox_scim")
            .unwrap()["account"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        act_on(&w, &co, "sandbox_scim", &id, "delete").await;
    }
    let page = admin.get("/console/apps/sandbox_scim/accounts").await.text();
    assert!(page.contains("2 accounts in Sandbox SCIM app"), "{page}");
    assert_eq!(rows_after(&page, "<h2>Accounts</h2>"), 2, "{page}");
    assert_eq!(
        rows_after(&page, "Deleted or gone from Sandbox SCIM app</h2>"),
        2,
        "{page}"
    );

    // Syncing a disconnected app: the accounts page says why, in its frame.
    w.send(
        "DELETE",
        &co.path("/apps/sandbox_scim/connection"),
        Some(&co.admin),
        None,
    )
    .await;
    let sync = admin
        .post("/console/apps/sandbox_scim/sync", &[("csrf", &csrf)])
        .await;
    assert_eq!(sync.status, 422, "{}", sync.text());
    let page = sync.text();
    assert!(framed(&page) && page.contains("is not connected"), "{page}");
    assert!(
        !page.contains("Sync accounts"),
        "no sync offered for a disconnected app"
    );

    // Any other refusal keeps the frame as well: an unknown person, a forbidden form.
    let missing = admin.get("/console/team/tm_nobody").await;
    assert_eq!(missing.status, 404);
    assert!(framed(&missing.text()), "{}", missing.text());
    let forged = admin
        .post(&format!("/console/team/{bob}/remove_all"), &[("csrf", "x")])
        .await;
    assert_eq!(forged.status, 403);
    assert!(framed(&forged.text()), "{}", forged.text());
    // Without a session there is no frame to keep (nor anything to show).
    let mut anon = Client::new(&w);
    assert_eq!(anon.get("/console/team/tm_nobody").await.status, 303);
}

/// The way in (issue 26): the claim page signs an admin in or says why it cannot, sign-in
/// refusals say why in plain words, and a company on the Simple plan gets one upgrade note.
#[tokio::test]
async fn the_claim_page_opens_the_console_or_says_why_not() {
    let w = Walk::start().await;
    let provisioned = w
        .send(
            "POST",
            "/v1/provision",
            Some(crate::support::PARTNER),
            Some(
                json!({"user": {"first_name": "Ola", "last_name": "Owner", "email": "ola@claim.example"},
                        "company": {"name": "Claimers"}}),
            ),
        )
        .await
        .json();
    let claim = provisioned["account_claim_url"].as_str().unwrap();
    let claim = &claim[claim.find("/claim_account/").unwrap()..];
    let mut browser = Client::new(&w);
    let claimed = browser.post(claim, &[("email", "ola@claim.example")]).await;
    assert_eq!(claimed.status, 200, "{}", claimed.text());
    let page = claimed.text();
    let link = page
        .split("href=\"")
        .find_map(|rest| {
            rest.split('"')
                .next()
                .filter(|h| h.contains("/console/sign_in/link/"))
        })
        .unwrap_or_else(|| panic!("no console link: {page}"))
        .to_owned();
    let link = &link[link.find("/console/").unwrap()..];
    let form = browser.get(link).await;
    let token = crate::console::csrf_of(&form.text());
    let signed_in = browser.post(link, &[("csrf", &token)]).await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.text());
    let directory = browser.get("/console/apps").await.text();
    assert!(directory.contains("Claimers"), "{directory}");
    // Simple plan: one upgrade note for the whole section, not one per app.
    assert_eq!(directory.matches("Upgrade").count(), 1, "{directory}");
    assert!(
        !directory.contains("needs the Plus or Premium plan"),
        "{directory}"
    );

    // An invited admin without "Manage apps": the claim page says why there is no console.
    let co = Co {
        id: w
            .send(
                "GET",
                "/v1/companies?limit=100",
                Some(crate::support::PARTNER),
                None,
            )
            .await
            .json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "Claimers")
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned(),
        admin: String::new(),
    };
    let invited = w
        .send(
            "POST",
            &co.path("/admins"),
            Some(crate::support::PARTNER),
            Some(json!({"first_name": "Pat", "last_name": "Plain", "email": "pat@claim.example"})),
        )
        .await;
    assert_eq!(invited.status, 201, "{}", invited.text());
    let mail = w
        .local
        .outbox
        .recent(100)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.email.to == "pat@claim.example")
        .unwrap();
    let claim = mail
        .email
        .text
        .split_whitespace()
        .find(|w| w.contains("/claim_account/"))
        .unwrap()
        .to_owned();
    let claim = &claim[claim.find("/claim_account/").unwrap()..];
    let mut pat = Client::new(&w);
    let page = pat.post(claim, &[("email", "pat@claim.example")]).await.text();
    assert!(
        page.contains("You cannot use the admin console") && page.contains("Manage apps"),
        "{page}"
    );
    assert!(!page.contains("/console/sign_in/link/"), "{page}");

    // Sign-in refusals say why in plain words.
    let token = page
        .split("<code>")
        .nth(2)
        .and_then(|t| t.split("</code>").next())
        .unwrap()
        .to_owned();
    let refused = Client::new(&w).sign_in(&token).await;
    assert_eq!(refused.status, 403);
    assert!(
        refused.text().contains("ask your company's primary admin")
            || refused.text().contains("Ask your company's primary admin"),
        "{}",
        refused.text()
    );
    assert!(!refused.text().contains('`'), "{}", refused.text());
}
