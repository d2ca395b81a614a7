//! Account operations end to end through the HTTP API against the sandbox SCIM app: sync,
//! auto-match, suggestions, manual match, do-not-match, create with invitations, suspend,
//! delete, unmatch and rematch, remove all, onboarding, races and failures.

use chrono::Duration;
use prov_core::store::{Item, Key};
use serde_json::{Value, json};

use crate::support::{Co, Walk};

const TOKEN: &str = "sandbox-flows";

async fn setup(w: &Walk) -> Co {
    w.connected_company("owner@example.com", TOKEN).await
}

pub(crate) async fn member(w: &Walk, co: &Co, body: Value) -> String {
    w.team_member(co, body).await
}

pub(crate) fn person(first: &str, last: &str, email: Option<&str>) -> Value {
    json!({"first_name": first, "last_name": last, "kind": "employee", "email": email})
}

async fn sync(w: &Walk, co: &Co) -> Value {
    w.sync(co, "sandbox_scim").await.json()["changes"].clone()
}

async fn accounts(w: &Walk, co: &Co, filter: &str) -> Vec<Value> {
    let answer = w
        .send(
            "GET",
            &co.path(&format!("/apps/sandbox_scim/accounts{filter}")),
            Some(&co.admin),
            None,
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    answer.json()["items"].as_array().unwrap().clone()
}

fn by_email<'a>(list: &'a [Value], email: &str) -> &'a Value {
    list.iter()
        .find(|a| a["email"] == email)
        .unwrap_or_else(|| panic!("no account {email}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_matches_what_agrees_suggests_the_rest_and_changes_nothing_twice() {
    let w = Walk::start().await;
    let co = setup(&w).await;
    w.local
        .sandbox
        .seed_user(TOKEN, " ADA@example.com", "Ada", "Lovelace");
    w.local
        .sandbox
        .seed_user(TOKEN, "grace@example.com", "Grace", "Hopper");
    w.local
        .sandbox
        .seed_user(TOKEN, "bot@example.com", "Build", "Bot");
    let ada = member(&w, &co, person("ada", " Lovelace ", Some("ada@example.com"))).await;
    let grace = member(
        &w,
        &co,
        person("Grace", "Hopper", Some("grace.hopper@example.com")),
    )
    .await;
    member(&w, &co, person("Carol", "Danvers", Some("carol@example.com"))).await;

    let first = sync(&w, &co).await;
    assert_eq!(
        first,
        json!({"total": 3, "created": 3, "updated": 0, "unchanged": 0, "vanished": 0, "auto_matched": 1})
    );
    let list = accounts(&w, &co, "").await;
    let ada_account = by_email(&list, " ADA@example.com");
    assert_eq!(
        ada_account["match"],
        json!({"state": "matched", "team_member_id": ada, "by": "auto"})
    );
    assert_eq!(ada_account["managed"], true);
    // Grace's email differs: not adopted silently, suggested.
    let grace_account = by_email(&list, "grace@example.com");
    assert_eq!(grace_account["match"]["state"], "unmatched");
    assert_eq!(grace_account["suggestions"][0]["team_member_id"], grace);
    assert!(
        grace_account["suggestions"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("same name")
    );
    assert!(
        by_email(&list, "bot@example.com")["suggestions"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Nothing changed at the vendor: nothing changes here.
    let second = sync(&w, &co).await;
    assert_eq!(
        second,
        json!({"total": 3, "created": 0, "updated": 0, "unchanged": 3, "vanished": 0, "auto_matched": 0})
    );
    assert_eq!(accounts(&w, &co, "").await, list);

    // Someone removes the bot in the app: the next sync marks it vanished.
    assert!(w.local.sandbox.remove_user(TOKEN, "bot@example.com"));
    let third = sync(&w, &co).await;
    assert_eq!(third["vanished"], 1);
    assert_eq!(
        by_email(&accounts(&w, &co, "").await, "bot@example.com")["present"],
        false
    );
    assert_eq!(accounts(&w, &co, "?match=matched").await.len(), 1);
    assert_eq!(accounts(&w, &co, "?match=unmatched").await.len(), 2);
    let bad = w
        .send(
            "GET",
            &co.path("/apps/sandbox_scim/accounts?status=gone"),
            Some(&co.admin),
            None,
        )
        .await;
    assert_eq!(
        (bad.status.as_u16(), bad.error_keys()),
        (422, vec!["status".to_owned()])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matching_by_hand_do_not_match_unmatch_and_rematch() {
    let w = Walk::start().await;
    let co = setup(&w).await;
    w.local
        .sandbox
        .seed_user(TOKEN, "ada@example.com", "Ada", "Lovelace");
    w.local
        .sandbox
        .seed_user(TOKEN, "grace@example.com", "Grace", "Hopper");
    w.local
        .sandbox
        .seed_user(TOKEN, "bot@example.com", "Build", "Bot");
    let ada = member(&w, &co, person("Ada", "Lovelace", Some("ada@example.com"))).await;
    let grace = member(
        &w,
        &co,
        person("Grace", "Hopper", Some("grace.hopper@example.com")),
    )
    .await;
    let abroad = member(
        &w,
        &co,
        json!({"first_name": "Ian", "last_name": "Abroad", "kind": "employee", "work_country": "GB"}),
    )
    .await;
    sync(&w, &co).await;
    let list = accounts(&w, &co, "").await;
    let id = |email: &str| by_email(&list, email)["id"].as_str().unwrap().to_owned();

    let submitted = w
        .send(
            "POST",
            &co.path("/apps/sandbox_scim/matches"),
            Some(&co.admin),
            Some(json!({"matches": [
                {"account_id": id("grace@example.com"), "team_member_id": grace},
                {"account_id": id("bot@example.com"), "do_not_match": true},
                {"account_id": id("bot@example.com"), "team_member_id": ada},
                {"account_id": id("bot@example.com"), "team_member_id": abroad},
                {"account_id": "acc_nope", "team_member_id": grace}
            ]})),
        )
        .await;
    assert_eq!(submitted.status, 200, "{}", submitted.text());
    let results = submitted.json()["results"].as_array().unwrap().clone();
    assert_eq!(results[0]["account"]["match"]["team_member_id"], grace);
    assert_eq!(results[1]["account"]["match"]["state"], "do_not_match");
    // Ada already has an account in this app: refused.
    assert_eq!(results[2]["error"]["category"], "conflict");
    assert_eq!(results[3]["error"]["category"], "not_eligible");
    assert_eq!(results[4]["error"]["category"], "not_found");
    assert_eq!(
        by_email(&accounts(&w, &co, "").await, "bot@example.com")["match"]["state"],
        "do_not_match"
    );
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
    assert_eq!(
        summary,
        json!({"present": 3, "matched": 2, "unmatched": 0, "do_not_match": 1, "invite_sent": 0, "seats": 2, "tenant_not_connected": 0}),
        "the bot is not a seat"
    );

    // Unmatch keeps the vendor account; it can be matched again.
    let unmatched = w
        .send(
            "POST",
            &co.path(&format!(
                "/apps/sandbox_scim/accounts/{}/unmatch",
                id("grace@example.com")
            )),
            Some(&co.admin),
            None,
        )
        .await;
    assert_eq!(unmatched.json()["match"]["state"], "unmatched");
    assert_eq!(unmatched.json()["managed"], false);
    assert!(
        w.local
            .sandbox
            .emails(TOKEN)
            .contains(&"grace@example.com".to_owned())
    );
    let rematched = w
        .send(
            "POST",
            &co.path("/apps/sandbox_scim/matches"),
            Some(&co.admin),
            Some(json!({"matches": [{"account_id": id("grace@example.com"), "team_member_id": grace}]})),
        )
        .await;
    assert_eq!(rematched.json()["results"][0]["account"]["match"]["by"], "manual");
    let bad = w
        .send(
            "POST",
            &co.path("/apps/sandbox_scim/matches"),
            Some(&co.admin),
            Some(json!({"matches": [{"account_id": "x"}]})),
        )
        .await;
    assert_eq!(bad.status, 422);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_created_account_is_invite_sent_until_accepted_then_connected() {
    let w = Walk::start().await;
    let co = setup(&w).await;
    let carol = member(&w, &co, person("Carol", "Danvers", Some("carol@example.com"))).await;
    let create = |tm: &str| {
        let body = json!({"team_member_id": tm});
        let path = co.path("/apps/sandbox_scim/accounts");
        let admin = co.admin.clone();
        let w = &w;
        async move { w.send("POST", &path, Some(&admin), Some(body)).await }
    };
    let created = create(&carol).await;
    assert_eq!(created.status, 201, "{}", created.text());
    let account = created.json();
    assert_eq!(
        (account["status"].as_str(), account["status_label"].as_str()),
        (Some("invite_sent"), Some("Invite Sent"))
    );
    assert_eq!(
        account["match"],
        json!({"state": "matched", "team_member_id": carol, "by": "created"})
    );
    // Asking again gives the same account, not a second one.
    assert_eq!(create(&carol).await.json()["id"], account["id"]);
    assert_eq!(w.local.sandbox.emails(TOKEN), ["carol@example.com"]);

    assert!(w.local.sandbox.accept_invitation(TOKEN, "carol@example.com"));
    assert_eq!(sync(&w, &co).await["updated"], 1);
    let apps = w
        .send(
            "GET",
            &co.path(&format!("/team_members/{carol}/apps")),
            Some(&co.admin),
            None,
        )
        .await
        .json();
    let entry = apps["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["app"] == "sandbox_scim")
        .unwrap()
        .clone();
    assert_eq!(entry["account"]["status_label"], "Connected");
    assert_eq!(entry["allowed_actions"], json!(["suspend", "delete", "unmatch"]));

    // Who cannot get an account, and why.
    let abroad = member(&w, &co, json!({"first_name": "I", "last_name": "A", "kind": "contractor", "work_country": "CA", "email": "i@example.com"})).await;
    let refused = create(&abroad).await;
    assert_eq!(
        (refused.status.as_u16(), refused.category()),
        (422, "not_eligible".to_owned())
    );
    let no_email = member(&w, &co, person("No", "Email", None)).await;
    let refused = create(&no_email).await;
    assert_eq!(refused.status, 422);
    assert!(
        refused.json()["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("no email")
    );
    let unknown = create("tm_nope").await;
    assert_eq!(unknown.status, 404);
    let apps = w
        .send(
            "GET",
            &co.path(&format!("/team_members/{no_email}/apps")),
            Some(&co.admin),
            None,
        )
        .await
        .json();
    assert_eq!(
        apps["items"][0]["allowed_actions"],
        json!([]),
        "no create without an email"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspend_reactivate_delete_and_remove_all_with_a_dry_run_first() {
    let w = Walk::start().await;
    let co = setup(&w).await;
    w.local
        .sandbox
        .seed_user(TOKEN, "ada@example.com", "Ada", "Lovelace");
    let ada = member(&w, &co, person("Ada", "Lovelace", Some("ada@example.com"))).await;
    sync(&w, &co).await;
    let account = accounts(&w, &co, "").await[0]["id"].as_str().unwrap().to_owned();
    let act = |action: &str| {
        let path = co.path(&format!("/apps/sandbox_scim/accounts/{account}/{action}"));
        let admin = co.admin.clone();
        let w = &w;
        async move { w.send("POST", &path, Some(&admin), None).await }
    };
    // A single action's dry run says what it would do and does nothing.
    let changes = w.local.sandbox.changes("PATCH") + w.local.sandbox.changes("DELETE");
    for (action, means) in [
        ("suspend", "Sets the user inactive in the sandbox SCIM app."),
        ("delete", "Deletes the user in the sandbox SCIM app."),
    ] {
        let path = co.path(&format!(
            "/apps/sandbox_scim/accounts/{account}/{action}?dry_run=true"
        ));
        let plan = w.send("POST", &path, Some(&co.admin), None).await;
        assert_eq!(plan.status, 200, "{}", plan.text());
        let plan = plan.json();
        assert_eq!(
            (&plan["dry_run"], &plan["action"], &plan["means"]),
            (&json!(true), &json!(action), &json!(means))
        );
        assert_eq!(plan["account"]["status"], "connected");
    }
    assert_eq!(
        w.local.sandbox.changes("PATCH") + w.local.sandbox.changes("DELETE"),
        changes,
        "a dry run calls no vendor"
    );
    assert_eq!(accounts(&w, &co, "").await[0]["status"], "connected");
    // An unknown query parameter is refused, as everywhere.
    let odd = co.path(&format!(
        "/apps/sandbox_scim/accounts/{account}/delete?dry_run=true&force=1"
    ));
    assert_eq!(w.send("POST", &odd, Some(&co.admin), None).await.status, 422);

    let suspended = act("suspend").await;
    assert_eq!(suspended.json()["status"], "suspended", "{}", suspended.text());
    assert_eq!(
        suspended.json()["allowed_actions"],
        json!(["reactivate", "delete", "unmatch"])
    );
    assert_eq!(act("reactivate").await.json()["status"], "connected");

    // Remove all: the dry run says exactly what will happen and does nothing.
    let remove = |dry: bool| {
        let path = co.path(&format!("/team_members/{ada}/apps/remove_all?dry_run={dry}"));
        let admin = co.admin.clone();
        let w = &w;
        async move { w.send("POST", &path, Some(&admin), None).await }
    };
    let plan = remove(true).await.json();
    assert_eq!(plan["dry_run"], true);
    assert_eq!(plan["accounts"][0]["action"], "delete");
    assert_eq!(
        plan["accounts"][0]["means"],
        "Deletes the user in the sandbox SCIM app."
    );
    assert!(plan["accounts"][0]["result"].is_null());
    assert_eq!(
        w.local.sandbox.emails(TOKEN),
        ["ada@example.com"],
        "the dry run deleted nothing"
    );
    let done = remove(false).await.json();
    assert_eq!(done["accounts"][0]["result"], "deleted");
    assert!(w.local.sandbox.emails(TOKEN).is_empty());
    assert_eq!(accounts(&w, &co, "").await[0]["status"], "deleted");
    // Deleting again is refused clearly: the account is gone.
    assert_eq!(act("delete").await.status, 422);
    // ... and so is its dry run, with the same reason.
    let again = co.path(&format!(
        "/apps/sandbox_scim/accounts/{account}/delete?dry_run=true"
    ));
    let refused = w.send("POST", &again, Some(&co.admin), None).await;
    assert_eq!(
        (refused.status.as_u16(), refused.error_keys()),
        (422, vec!["account".to_owned()])
    );
    assert!(
        remove(false).await.json()["accounts"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let events = w
        .send("GET", &co.path("/events?limit=100"), Some(&co.admin), None)
        .await
        .json();
    let actions: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.starts_with(&[
            "account.deleted",
            "account.reactivated",
            "account.suspended",
            "app.synced"
        ]),
        "{actions:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_creates_make_one_vendor_account() {
    let w = Walk::start().await;
    let co = setup(&w).await;
    let carol = member(&w, &co, person("Carol", "Danvers", Some("carol@example.com"))).await;
    let path = co.path("/apps/sandbox_scim/accounts");
    let body = json!({"team_member_id": carol});
    let (a, b, c) = tokio::join!(
        w.send("POST", &path, Some(&co.admin), Some(body.clone())),
        w.send("POST", &path, Some(&co.admin), Some(body.clone())),
        w.send("POST", &path, Some(&co.admin), Some(body.clone())),
    );
    let statuses = [a.status.as_u16(), b.status.as_u16(), c.status.as_u16()];
    assert!(statuses.contains(&201), "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 201 || *s == 409), "{statuses:?}");
    assert_eq!(w.local.sandbox.emails(TOKEN), ["carol@example.com"]);
    assert_eq!(accounts(&w, &co, "").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_racing_creates_log_one_account_created_event() {
    let w = Walk::start().await;
    let co = setup(&w).await;
    let path = co.path("/apps/sandbox_scim/accounts");
    let mut answered = std::collections::BTreeMap::new();
    // Five rounds of 20 concurrent creations of one person's account.
    for round in 0..5 {
        let email = format!("racer{round}@example.com");
        let tm = member(&w, &co, person("Racer", &round.to_string(), Some(&email))).await;
        let racers: Vec<_> = (0..20)
            .map(|_| {
                let (app, path, admin) = (w.app.clone(), path.clone(), co.admin.clone());
                let body = json!({"team_member_id": tm});
                tokio::spawn(async move {
                    prov_testkit::call(
                        &app,
                        prov_testkit::json_request("POST", &path, Some(&admin), &body),
                    )
                    .await
                })
            })
            .collect();
        for racer in racers {
            let answer = racer.await.unwrap();
            assert!(
                [200, 201, 409].contains(&answer.status.as_u16()),
                "{} {}",
                answer.status,
                answer.text()
            );
            *answered.entry(answer.status.as_u16()).or_insert(0) += 1;
        }
        let at_vendor = w.local.sandbox.emails(TOKEN);
        assert_eq!(
            at_vendor.iter().filter(|e| **e == email).count(),
            1,
            "{at_vendor:?}"
        );
        let events = w
            .send("GET", &co.path("/events?limit=100"), Some(&co.admin), None)
            .await
            .json();
        let created: Vec<&Value> = events["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| {
                e["action"] == "account.created" && e["detail"].as_str().is_some_and(|d| d.contains(&tm))
            })
            .collect();
        assert_eq!(created.len(), 1, "round {round}: {created:?}");
    }
    println!(
        "race: 5 rounds of 20 concurrent account creations: answers {answered:?}, one account.created event each"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_mid_way_leave_a_true_record_and_a_crash_is_reconciled() {
    let w = Walk::start().await;
    let co = setup(&w).await;
    let carol = member(&w, &co, person("Carol", "Danvers", Some("carol@example.com"))).await;
    let path = co.path("/apps/sandbox_scim/accounts");
    let body = json!({"team_member_id": carol});

    // The vendor fails the creation: a clear error, no record, nothing at the vendor.
    w.local.sandbox.fail_next(10, 500);
    let failed = w.send("POST", &path, Some(&co.admin), Some(body.clone())).await;
    assert_eq!(failed.status, 503, "{}", failed.text());
    assert!(accounts(&w, &co, "").await.is_empty());
    assert!(w.local.sandbox.emails(TOKEN).is_empty());
    w.local.sandbox.clear_faults();

    // A process died after the vendor created the account but before we recorded it: its
    // intent is left and the vendor has the account.
    let svc = &w.local.services;
    let started = svc.clock.now();
    let intent = Item::from_record(
        Key::new(
            format!("COMPANY#{}", co.id),
            format!("INTENT#sandbox_scim#{carol}"),
        ),
        &json!({"started_at": started, "email": "carol@example.com"}),
    )
    .unwrap();
    svc.store.create(intent).await.unwrap();
    w.local
        .sandbox
        .seed_user(TOKEN, "carol@example.com", "Carol", "Danvers");
    let busy = w.send("POST", &path, Some(&co.admin), Some(body.clone())).await;
    assert_eq!(
        (busy.status.as_u16(), busy.category()),
        (409, "conflict".to_owned())
    );
    // After the lease, the next attempt looks the person up and records that account.
    w.clock.advance(Duration::minutes(6));
    let reconciled = w.send("POST", &path, Some(&co.admin), Some(body)).await;
    assert_eq!(reconciled.status, 201, "{}", reconciled.text());
    assert_eq!(
        w.local.sandbox.emails(TOKEN),
        ["carol@example.com"],
        "no second vendor account"
    );
    assert_eq!(accounts(&w, &co, "").await[0]["match"]["team_member_id"], carol);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onboarding_waits_for_the_offer_then_creates_the_picked_accounts() {
    let w = Walk::start().await;
    let co = setup(&w).await;
    let dave = member(
        &w,
        &co,
        json!({"first_name": "Dave", "last_name": "New", "kind": "employee", "email": "dave@example.com", "offer_status": "sent"}),
    )
    .await;
    let task = co.path(&format!("/team_members/{dave}/onboarding"));
    let before = w.send("GET", &task, Some(&co.admin), None).await.json();
    assert_eq!(before["title"], "Create app accounts");
    assert_eq!(before["status"], "blocked");
    assert!(
        before["blocked_reason"]
            .as_str()
            .unwrap()
            .contains("accepted their offer")
    );
    let early = w
        .send(
            "POST",
            &task,
            Some(&co.admin),
            Some(json!({"apps": ["sandbox_scim"]})),
        )
        .await;
    assert_eq!(early.status, 422);
    assert!(w.local.sandbox.emails(TOKEN).is_empty());

    w.send(
        "PATCH",
        &co.path(&format!("/team_members/{dave}")),
        Some(&co.admin),
        Some(json!({"offer_status": "accepted"})),
    )
    .await;
    let ready = w.send("GET", &task, Some(&co.admin), None).await.json();
    assert_eq!(ready["status"], "not_started");
    let connected: Vec<&str> = ready["connected_apps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["app"].as_str().unwrap())
        .collect();
    assert_eq!(connected, ["sandbox_scim"]);
    assert!(
        ready["available_apps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["app"] == "google_workspace")
    );
    let wrong = w
        .send("POST", &task, Some(&co.admin), Some(json!({"apps": ["slack"]})))
        .await;
    assert_eq!(
        (wrong.status.as_u16(), wrong.error_keys()),
        (422, vec!["apps[0]".to_owned()])
    );

    let done = w
        .send(
            "POST",
            &task,
            Some(&co.admin),
            Some(json!({"apps": ["sandbox_scim"]})),
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.text());
    let done = done.json();
    assert_eq!(done["status"], "completed");
    assert_eq!(done["items"][0]["state"], "created");
    assert_eq!(w.local.sandbox.emails(TOKEN), ["dave@example.com"]);
    assert_eq!(
        w.send("GET", &task, Some(&co.admin), None).await.json()["status"],
        "completed"
    );
}

/// Performs `action` on an app account; it must succeed.
/// What every inviting app shows offline: `seeded` users of `tenant` synced (over pages when
/// many; `listed` accounts appear, the app's own admin included where it lists one), Ada's
/// account created ("Invite Sent"), accepted ("Connected" after a sync) and removed (gone at
/// the vendor).
async fn invite_lifecycle(w: &Walk, co: &Co, app: &str, tenant: &str, seeded: usize, listed: usize) {
    for i in 0..seeded {
        w.local
            .sandbox
            .seed_user(tenant, &format!("{app}{i}@example.com"), "P", &i.to_string());
    }
    let synced = sync_app(w, co, app).await;
    assert_eq!(synced.json()["changes"]["created"], listed, "{}", synced.text());
    let created = ada_account(w, co, app).await;
    assert_eq!(created["status"], "invite_sent");
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(w.local.sandbox.accept_invitation(tenant, "ada@example.com"));
    let synced = sync_app(w, co, app).await;
    assert_eq!(synced.json()["changes"]["updated"], 1, "{}", synced.text());
    assert_eq!(act_on(w, co, app, &id, "delete").await["status"], "deleted");
    let left = w.local.sandbox.emails(tenant);
    assert!(!left.contains(&"ada@example.com".to_owned()), "{left:?}");
    assert_eq!(left.len(), seeded, "the others are untouched");
}

/// Ada Lovelace as a team member, and her account in `app` (201); the account's view.
pub(crate) async fn ada_account(w: &Walk, co: &Co, app: &str) -> Value {
    let ada = member(w, co, person("Ada", "Lovelace", Some("ada@example.com"))).await;
    let created = w
        .send(
            "POST",
            &co.path(&format!("/apps/{app}/accounts")),
            Some(&co.admin),
            Some(json!({"team_member_id": ada})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    created.json()
}

/// Syncs `app`'s accounts.
/// Syncs `app` (202, the worker, then the job); the answer is the finished job's.
pub(crate) async fn sync_app(w: &Walk, co: &Co, app: &str) -> prov_testkit::Answer {
    w.sync(co, app).await
}

/// The service's view of one of `app`'s accounts, by its id.
pub(crate) async fn app_account(w: &Walk, co: &Co, app: &str, id: &str) -> Value {
    let answer = w
        .send(
            "GET",
            &co.path(&format!("/apps/{app}/accounts?limit=100")),
            Some(&co.admin),
            None,
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    answer.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == id)
        .unwrap_or_else(|| panic!("no account {id}"))
        .clone()
}

pub(crate) async fn act_on(w: &Walk, co: &Co, app: &str, id: &str, action: &str) -> Value {
    let path = co.path(&format!("/apps/{app}/accounts/{id}/{action}"));
    let answer = w.send("POST", &path, Some(&co.admin), None).await;
    assert_eq!(answer.status, 200, "{action}: {}", answer.text());
    answer.json()
}

/// A Plus company that connects `app` through the sandbox's consent page at `consent_path`
/// (where the vendor's authorize URL is routed); answers the authorize URL's query.
/// A company on the Plus plan (which every provisioning app needs), owned by `owner`.
pub(crate) async fn plus_company(w: &Walk, owner: &str) -> Co {
    let (id, admin) = w.company(crate::support::PARTNER, owner).await;
    let co = Co { id, admin };
    let plan = w
        .send(
            "PATCH",
            &co.path(""),
            Some(crate::support::PARTNER),
            Some(json!({"plan": "plus"})),
        )
        .await;
    assert_eq!(plan.status, 200, "{}", plan.text());
    co
}

/// A company connected to API-key `app` with `fields`, after `wrong` fields were refused
/// (422, nothing stored).
pub(crate) async fn api_key_connected(w: &Walk, owner: &str, app: &str, wrong: Value, fields: Value) -> Co {
    let co = plus_company(w, owner).await;
    let path = co.path(&format!("/apps/{app}/connection"));
    let refused = w.send("POST", &path, Some(&co.admin), Some(wrong)).await;
    assert_eq!(refused.status, 422, "{}", refused.text());
    let state = w.send("GET", &path, Some(&co.admin), None).await;
    assert_ne!(state.json()["state"], "connected", "{}", state.text());
    let connected = w.send("POST", &path, Some(&co.admin), Some(fields)).await;
    assert_eq!(connected.status, 200, "{}", connected.text());
    co
}

pub(crate) async fn oauth_connected(
    w: &Walk,
    owner: &str,
    app: &str,
    consent_path: &str,
) -> (Co, Vec<(String, String)>) {
    oauth_connected_with(w, owner, app, consent_path, json!({})).await
}

/// As `oauth_connected`, starting the authorization with `start` (e.g. an environment).
pub(crate) async fn oauth_connected_with(
    w: &Walk,
    owner: &str,
    app: &str,
    consent_path: &str,
    start: Value,
) -> (Co, Vec<(String, String)>) {
    let co = plus_company(w, owner).await;
    let query = oauth_connect(w, &co, app, consent_path, start).await;
    (co, query)
}

/// Connects `co` to `app` through the sandbox's consent page at `consent_path`; answers the
/// authorize URL's query.
pub(crate) async fn oauth_connect(
    w: &Walk,
    co: &Co,
    app: &str,
    consent_path: &str,
    start: Value,
) -> Vec<(String, String)> {
    let (done, query) = oauth_callback(w, co, app, consent_path, start).await;
    assert_eq!(done.status, 200, "{}", done.text());
    assert!(done.text().contains("App connected"));
    let status = w
        .send(
            "GET",
            &co.path(&format!("/apps/{app}/connection")),
            Some(&co.admin),
            None,
        )
        .await
        .json();
    assert_eq!(status["state"], "connected");
    query
}

/// Starts `app`'s OAuth connection for `co`, allows it on the sandbox's consent page at
/// `consent_path`, and answers the service's callback answer and the authorize URL's query.
pub(crate) async fn oauth_callback(
    w: &Walk,
    co: &Co,
    app: &str,
    consent_path: &str,
    start: Value,
) -> (prov_testkit::Answer, Vec<(String, String)>) {
    let started = w
        .send(
            "POST",
            &co.path(&format!("/apps/{app}/connection/oauth")),
            Some(&co.admin),
            Some(start),
        )
        .await;
    assert_eq!(started.status, 200, "{}", started.text());
    // The admin's browser opens the service's start link, which ties the connect to it with
    // a cookie and sends it on to the vendor's consent page.
    let start = url::Url::parse(started.json()["authorize_url"].as_str().unwrap()).unwrap();
    assert_eq!(start.path(), "/v1/oauth/start");
    let opened = w
        .send(
            "GET",
            &format!("{}?{}", start.path(), start.query().unwrap()),
            None,
            None,
        )
        .await;
    assert_eq!(opened.status, 303, "{}", opened.text());
    let browser = opened
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let url = url::Url::parse(opened.header("location").unwrap()).unwrap();
    assert_eq!(
        url.path(),
        consent_path,
        "the vendor's authorize host is routed to the sandbox"
    );
    let (consent_dir, _) = consent_path.rsplit_once('/').unwrap();
    let consent = w
        .send(
            "GET",
            &format!("{}?{}", url.path(), url.query().unwrap()),
            None,
            None,
        )
        .await;
    let href = consent
        .text()
        .split("id=\"allow\" href=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    let decided = w.send("GET", &format!("{consent_dir}/{href}"), None, None).await;
    let callback = url::Url::parse(decided.header("location").unwrap()).unwrap();
    let back = axum::http::Request::get(format!("{}?{}", callback.path(), callback.query().unwrap()))
        .header("cookie", browser)
        .body(axum::body::Body::empty())
        .unwrap();
    let done = prov_testkit::call(&w.app, back).await;
    (done, url.query_pairs().into_owned().collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_connects_with_oauth_and_syncs_offline_through_the_sandbox() {
    let w = Walk::start().await;
    let (co, query) = oauth_connected(
        &w,
        "slack-owner@example.com",
        "slack",
        "/_sandbox/slack/oauth/v2/authorize",
    )
    .await;
    assert!(query.contains(&("user_scope".to_owned(), "admin".to_owned())));
    let status = w
        .send("GET", &co.path("/apps/slack/connection"), Some(&co.admin), None)
        .await
        .json();
    // The workspace the token answer names, and the same one `auth.test` names (the tenant
    // the connection is bound to).
    let tenant = prov_sandbox::oauth_tenant("slack");
    let team_id = format!("T{}", prov_sandbox::tenant_id(&tenant).to_uppercase());
    let team_name = prov_sandbox::tenant_name(&tenant);
    assert_eq!(
        status["tenant"],
        json!({"team_id": team_id, "team_name": team_name, "tenant_id": team_id, "tenant_name": team_name})
    );
    w.local.sandbox.seed_user(
        &prov_sandbox::oauth_tenant("slack"),
        "grace@example.com",
        "Grace",
        "Hopper",
    );
    let synced = w.sync(&co, "slack").await;
    assert_eq!(synced.json()["changes"]["created"], 1);
}

/// Creates `app`'s account for the team member `member_id` (201); the account's view.
pub(crate) async fn account_for(w: &Walk, co: &Co, app: &str, member_id: &str) -> Value {
    let created = w
        .send(
            "POST",
            &co.path(&format!("/apps/{app}/accounts")),
            Some(&co.admin),
            Some(json!({"team_member_id": member_id})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    created.json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_adopts_a_member_under_another_username_deactivates_and_reactivates_offline() {
    let w = Walk::start().await;
    let (co, _) = oauth_connected(
        &w,
        "slack-rehire-owner@example.com",
        "slack",
        "/_sandbox/slack/oauth/v2/authorize",
    )
    .await;
    let tenant = &prov_sandbox::oauth_tenant("slack");
    // A member already in the workspace, whose SCIM userName is their Slack username.
    w.local
        .sandbox
        .seed_user_with_login(tenant, "lin", "lin@example.com", "Lin", "Chen");
    let lin = member(&w, &co, person("Lin", "Chen", Some("lin@example.com"))).await;
    let posts = w.local.sandbox.changes("POST");
    let adopted = account_for(&w, &co, "slack", &lin).await;
    assert_eq!(adopted["status"], "connected", "{adopted}");
    assert_eq!(
        w.local.sandbox.changes("POST"),
        posts,
        "the member is adopted, not posted"
    );
    let id = adopted["id"].as_str().unwrap().to_owned();

    // Slack deactivates: the member stays listed, inactive.
    assert_eq!(act_on(&w, &co, "slack", &id, "delete").await["status"], "deleted");
    let at_slack = w.local.sandbox.user(tenant, "lin@example.com").unwrap();
    assert!(!at_slack.active, "{at_slack:?}");

    // Rehired: creating the account again reactivates the member.
    let again = account_for(&w, &co, "slack", &lin).await;
    assert_eq!(again["status"], "connected", "{again}");
    assert!(w.local.sandbox.user(tenant, "lin@example.com").unwrap().active);
    assert_eq!(w.local.sandbox.emails(tenant), ["lin@example.com"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hubspot_connects_invites_keeps_invite_sent_and_removes_offline() {
    let w = Walk::start().await;
    let (co, query) = oauth_connected(
        &w,
        "hubspot-owner@example.com",
        "hubspot",
        "/_sandbox/hubspot/oauth/authorize",
    )
    .await;
    assert!(query.contains(&(
        "scope".to_owned(),
        "settings.users.read settings.users.write".to_owned()
    )));
    let tenant = &prov_sandbox::oauth_tenant("hubspot");
    w.local
        .sandbox
        .seed_user(tenant, "grace@example.com", "Grace", "Hopper");
    let ada = member(&w, &co, person("Ada", "Lovelace", Some("ada@example.com"))).await;
    let created = w
        .send(
            "POST",
            &co.path("/apps/hubspot/accounts"),
            Some(&co.admin),
            Some(json!({"team_member_id": ada})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let account = created.json();
    assert_eq!(account["status"], "invite_sent");
    assert!(
        w.local
            .sandbox
            .emails(tenant)
            .contains(&"ada@example.com".to_owned())
    );

    // HubSpot cannot show that Ada accepted: the recorded "Invite Sent" stays through a sync.
    assert!(w.local.sandbox.accept_invitation(tenant, "ada@example.com"));
    let synced = w.sync(&co, "hubspot").await;
    assert_eq!(
        synced.json()["changes"]["created"],
        1,
        "Grace is new; Ada is known"
    );
    // HubSpot's access tokens last 30 minutes: an expired one is refreshed (v3, credentials
    // in the body) and the call goes through.
    w.local.sandbox.expire_access_tokens();
    let again = w.sync(&co, "hubspot").await;
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(w.local.sandbox.refreshes(), 1);
    let id = account["id"].as_str().unwrap();
    let listed = w
        .send("GET", &co.path("/apps/hubspot/accounts"), Some(&co.admin), None)
        .await
        .json();
    let after = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == id)
        .unwrap()
        .clone();
    assert_eq!(after["status"], "invite_sent", "{after}");
    assert_eq!(after["allowed_actions"], json!(["delete", "unmatch"]));

    let deleted = w
        .send(
            "POST",
            &co.path(&format!("/apps/hubspot/accounts/{id}/delete")),
            Some(&co.admin),
            None,
        )
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.text());
    assert_eq!(deleted.json()["status"], "deleted");
    assert_eq!(w.local.sandbox.emails(tenant), ["grace@example.com"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropbox_connects_invites_suspends_and_removes_offline() {
    let w = Walk::start().await;
    let (co, query) = oauth_connected(
        &w,
        "dropbox-owner@example.com",
        "dropbox",
        "/_sandbox/dropbox/oauth2/authorize",
    )
    .await;
    assert!(query.contains(&("token_access_type".to_owned(), "offline".to_owned())));
    let tenant = &prov_sandbox::oauth_tenant("dropbox");
    let ada = member(&w, &co, person("Ada", "Lovelace", Some("ada@example.com"))).await;
    let created = w
        .send(
            "POST",
            &co.path("/apps/dropbox/accounts"),
            Some(&co.admin),
            Some(json!({"team_member_id": ada})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    assert_eq!(created.json()["status"], "invite_sent");
    let id = created.json()["id"].as_str().unwrap().to_owned();

    // Dropbox suspends only members who joined: an invited one is refused, and nothing
    // claims otherwise.
    let refused = w
        .send(
            "POST",
            &co.path(&format!("/apps/dropbox/accounts/{id}/suspend")),
            Some(&co.admin),
            None,
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.text());
    assert!(refused.text().contains("has not joined"), "{}", refused.text());
    let at_dropbox = w.local.sandbox.user(tenant, "ada@example.com").unwrap();
    assert!(at_dropbox.invite_pending && at_dropbox.active, "{at_dropbox:?}");
    assert_eq!(
        app_account(&w, &co, "dropbox", &id).await["status"],
        "invite_sent"
    );

    // Dropbox shows the join: the next sync says Connected. With 200 more members, the
    // listing takes list_v2 then list/continue_v2.
    assert!(w.local.sandbox.accept_invitation(tenant, "ada@example.com"));
    for i in 0..200 {
        w.local
            .sandbox
            .seed_user(tenant, &format!("p{i}@example.com"), "P", &i.to_string());
    }
    let synced = w.sync(&co, "dropbox").await.json()["changes"].clone();
    assert_eq!(
        (synced["updated"].as_u64(), synced["created"].as_u64()),
        (Some(1), Some(200)),
        "{synced}"
    );

    let act = |action| act_on(&w, &co, "dropbox", &id, action);
    assert_eq!(act("suspend").await["status"], "suspended");
    assert_eq!(act("reactivate").await["status"], "connected");
    assert_eq!(act("delete").await["status"], "deleted");
    assert_eq!(w.local.sandbox.emails(tenant).len(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn box_connects_creates_suspends_and_removes_offline() {
    let w = Walk::start().await;
    let (co, _) = oauth_connected(
        &w,
        "box-owner@example.com",
        "box",
        "/_sandbox/box/api/oauth2/authorize",
    )
    .await;
    let tenant = &prov_sandbox::oauth_tenant("box");
    let ada = member(&w, &co, person("Ada", "Lovelace", Some("ada@example.com"))).await;
    let created = w
        .send(
            "POST",
            &co.path("/apps/box/accounts"),
            Some(&co.admin),
            Some(json!({"team_member_id": ada})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    // Box has no invitation state: the managed user is an account at once.
    assert_eq!(created.json()["status"], "connected");
    let id = created.json()["id"].as_str().unwrap().to_owned();
    let act = |action| act_on(&w, &co, "box", &id, action);
    assert_eq!(act("suspend").await["status"], "suspended");
    assert_eq!(act("reactivate").await["status"], "connected");
    assert_eq!(act("delete").await["status"], "deleted");
    assert!(w.local.sandbox.emails(tenant).is_empty());

    // A 404 from the content move (a sub-resource) is not "already gone": the user's own
    // DELETE is still sent, and the user is really removed.
    let grace = member(&w, &co, person("Grace", "Hopper", Some("grace@example.com"))).await;
    let created = w
        .send(
            "POST",
            &co.path("/apps/box/accounts"),
            Some(&co.admin),
            Some(json!({"team_member_id": grace})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let id = created.json()["id"].as_str().unwrap().to_owned();
    let vendor_id = w.local.sandbox.user(tenant, "grace@example.com").unwrap().id;
    w.local.sandbox.fail_request(
        "PUT",
        &format!("/box/2.0/users/{vendor_id}/folders/0"),
        404,
        json!({"type": "error", "status": 404, "code": "not_found", "message": "Not Found"}),
    );
    assert_eq!(act_on(&w, &co, "box", &id, "delete").await["status"], "deleted");
    assert_eq!(w.local.sandbox.user(tenant, "grace@example.com"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_sandbox_vendor_keeps_its_own_users() {
    let w = Walk::start().await;
    let (co, _) = oauth_connected(
        &w,
        "two-apps-owner@example.com",
        "box",
        "/_sandbox/box/api/oauth2/authorize",
    )
    .await;
    oauth_connect(
        &w,
        &co,
        "dropbox",
        "/_sandbox/dropbox/oauth2/authorize",
        json!({}),
    )
    .await;
    w.local.sandbox.seed_user(
        &prov_sandbox::oauth_tenant("dropbox"),
        "grace@example.com",
        "Grace",
        "Hopper",
    );
    let ada = member(&w, &co, person("Ada", "Lovelace", Some("ada@example.com"))).await;
    let created = w
        .send(
            "POST",
            &co.path("/apps/box/accounts"),
            Some(&co.admin),
            Some(json!({"team_member_id": ada})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    // Box's user is not a Dropbox member, and Dropbox's member is not a Box user.
    let dropbox = sync_app(&w, &co, "dropbox").await.json()["changes"].clone();
    assert_eq!(dropbox["total"], 1, "{dropbox}");
    let boxed = sync_app(&w, &co, "box").await.json()["changes"].clone();
    assert_eq!(boxed["total"], 1, "{boxed}");
    assert_eq!(
        w.local.sandbox.emails(&prov_sandbox::oauth_tenant("dropbox")),
        ["grace@example.com"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asana_connects_adds_and_removes_a_member_offline() {
    let w = Walk::start().await;
    let (co, _) = oauth_connected(
        &w,
        "asana-owner@example.com",
        "asana",
        "/_sandbox/asana/-/oauth_authorize",
    )
    .await;
    let tenant = &prov_sandbox::oauth_tenant("asana");
    w.local
        .sandbox
        .seed_user(tenant, "grace@example.com", "Grace", "Hopper");
    let synced = w.sync(&co, "asana").await;
    assert_eq!(synced.json()["changes"]["created"], 1, "{}", synced.text());
    let ada = member(&w, &co, person("Ada", "Lovelace", Some("ada@example.com"))).await;
    let created = w
        .send(
            "POST",
            &co.path("/apps/asana/accounts"),
            Some(&co.admin),
            Some(json!({"team_member_id": ada})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    assert_eq!(created.json()["status"], "connected");
    assert_eq!(created.json()["allowed_actions"], json!(["delete", "unmatch"]));
    let id = created.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(act_on(&w, &co, "asana", &id, "delete").await["status"], "deleted");
    assert_eq!(w.local.sandbox.emails(tenant), ["grace@example.com"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_connects_with_an_api_token_pages_invites_and_removes_offline() {
    let w = Walk::start().await;
    let token = "sandbox-okta";
    let co = api_key_connected(
        &w,
        "okta-owner@example.com",
        "okta",
        json!({"org_url": prov_sandbox::OKTA_ORG, "api_token": "wrong"}),
        json!({"org_url": prov_sandbox::OKTA_ORG, "api_token": token}),
    )
    .await;

    // More than one page of 200 (Okta's Link header, on the org's own host).
    invite_lifecycle(&w, &co, "okta", token, 201, 201).await;

    // Suspend is Okta's lifecycle suspend, for active users only.
    let bob = member(&w, &co, person("Bob", "Byte", Some("bob@example.com"))).await;
    let created = account_for(&w, &co, "okta", &bob).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let refused = w
        .send(
            "POST",
            &co.path(&format!("/apps/okta/accounts/{id}/suspend")),
            Some(&co.admin),
            None,
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.text());
    assert!(refused.text().contains("PROVISIONED"), "{}", refused.text());
    assert!(w.local.sandbox.accept_invitation(token, "bob@example.com"));
    let act = |action| act_on(&w, &co, "okta", &id, action);
    assert_eq!(act("suspend").await["status"], "suspended");
    assert!(w.local.sandbox.user(token, "bob@example.com").unwrap().suspended);
    assert_eq!(act("reactivate").await["status"], "connected");
    assert!(!w.local.sandbox.user(token, "bob@example.com").unwrap().suspended);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynatrace_connects_with_an_oauth_client_invites_and_removes_offline() {
    let w = Walk::start().await;
    let account_uuid = "6f1c1b9e-0c52-4d7a-9a43-2b8f4f0e3c11";
    let fields = |secret: &str| json!({"account_uuid": account_uuid, "client_id": "dt0s02.SANDBOX", "client_secret": secret});
    let co = api_key_connected(
        &w,
        "dynatrace-owner@example.com",
        "dynatrace",
        fields("not-a-sandbox-secret"),
        fields("sandbox-dynatrace-client"),
    )
    .await;
    // The sandbox's tokens open the account named in the token request's `resource`.
    let tenant = format!("sandbox-dynatrace-{account_uuid}");
    invite_lifecycle(&w, &co, "dynatrace", &tenant, 1, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn salesforce_connects_a_sandbox_org_creates_with_a_profile_and_deactivates_offline() {
    let w = Walk::start().await;
    let (co, query) = oauth_connected_with(
        &w,
        "salesforce-owner@example.com",
        "salesforce",
        "/_sandbox/salesforce/services/oauth2/authorize",
        json!({"environment": "sandbox"}),
    )
    .await;
    assert_eq!(
        query.iter().find(|(k, _)| k == "scope").unwrap().1,
        "api refresh_token"
    );
    let connection = w
        .send(
            "GET",
            &co.path("/apps/salesforce/connection"),
            Some(&co.admin),
            None,
        )
        .await
        .json();
    assert_eq!(connection["tenant"]["environment"], "sandbox");
    assert_eq!(
        connection["tenant"]["instance_url"],
        prov_sandbox::SALESFORCE_INSTANCE
    );
    let unknown = w
        .send(
            "POST",
            &co.path("/apps/salesforce/connection/oauth"),
            Some(&co.admin),
            Some(json!({"environment": "staging"})),
        )
        .await;
    assert_eq!(unknown.status, 422, "{}", unknown.text());

    let tenant = &prov_sandbox::oauth_tenant("salesforce");
    w.local
        .sandbox
        .seed_user(tenant, "grace@example.com", "Grace", "Hopper");
    let synced = sync_app(&w, &co, "salesforce").await;
    assert_eq!(synced.json()["changes"]["created"], 1, "{}", synced.text());
    let created = ada_account(&w, &co, "salesforce").await;
    // Salesforce emails a password link; until the first sign-in (LastLoginDate null) the
    // user is "Invite Sent", then Connected.
    assert_eq!(created["status"], "invite_sent");
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(w.local.sandbox.accept_invitation(tenant, "ada@example.com"));
    let synced = sync_app(&w, &co, "salesforce").await;
    assert_eq!(synced.json()["changes"]["updated"], 1, "{}", synced.text());
    assert_eq!(
        app_account(&w, &co, "salesforce", &id).await["status"],
        "connected"
    );
    assert_eq!(
        act_on(&w, &co, "salesforce", &id, "delete").await["status"],
        "deleted"
    );
    // Deactivated, not deleted: Salesforce keeps the user record.
    assert!(
        w.local
            .sandbox
            .emails(tenant)
            .contains(&"ada@example.com".to_owned())
    );
    assert!(!w.local.sandbox.user(tenant, "ada@example.com").unwrap().active);

    // Rehired: creating Ada's account again reactivates her user.
    let ada = created["match"]["team_member_id"].as_str().unwrap().to_owned();
    let again = account_for(&w, &co, "salesforce", &ada).await;
    assert_eq!(again["status"], "connected", "{again}");
    assert!(w.local.sandbox.user(tenant, "ada@example.com").unwrap().active);

    // A user whose username is not their email is found by the email, not created again.
    w.local
        .sandbox
        .seed_user_with_login(tenant, "lin.chen@acme.sandbox", "lin@example.com", "Lin", "Chen");
    let lin = member(&w, &co, person("Lin", "Chen", Some("lin@example.com"))).await;
    let posts = w.local.sandbox.changes("POST");
    let adopted = account_for(&w, &co, "salesforce", &lin).await;
    assert_eq!(adopted["status"], "connected", "{adopted}");
    assert_eq!(
        w.local.sandbox.changes("POST"),
        posts,
        "the user is adopted, not posted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sauce_labs_connects_on_a_data_center_creates_active_users_and_deactivates_offline() {
    let w = Walk::start().await;
    let key = "sandbox-sauce";
    let fields =
        |key: &str| json!({"data_center": "eu-central-1", "username": "acme-admin", "access_key": key});
    let co = api_key_connected(
        &w,
        "sauce-owner@example.com",
        "sauce_labs",
        fields("wrong-key"),
        fields(key),
    )
    .await;
    // More than one page of 100.
    for i in 0..101 {
        w.local
            .sandbox
            .seed_user(key, &format!("s{i}@example.com"), "S", &i.to_string());
    }
    let synced = sync_app(&w, &co, "sauce_labs").await;
    assert_eq!(synced.json()["changes"]["created"], 101, "{}", synced.text());
    let created = ada_account(&w, &co, "sauce_labs").await;
    // Users made by the API are active at once (no invitation at Sauce Labs), in the
    // organization Sauce Labs requires.
    assert_eq!(created["status"], "connected");
    let id = created["id"].as_str().unwrap().to_owned();
    let act = |action| act_on(&w, &co, "sauce_labs", &id, action);
    assert_eq!(act("suspend").await["status"], "suspended");
    assert!(!w.local.sandbox.user(key, "ada@example.com").unwrap().active);
    assert_eq!(act("reactivate").await["status"], "connected");
    assert!(w.local.sandbox.user(key, "ada@example.com").unwrap().active);
    assert_eq!(act("delete").await["status"], "deleted");
    // Sauce Labs has no delete: the user stays, deactivated.
    assert!(!w.local.sandbox.user(key, "ada@example.com").unwrap().active);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leankit_needs_an_administrator_pages_creates_pending_and_deletes_offline() {
    let w = Walk::start().await;
    let token = "sandbox-lk-1";
    let co = api_key_connected(
        &w,
        "leankit-owner@example.com",
        "planview_leankit",
        // A token of a user who is not an account administrator.
        json!({"account": "acme", "api_token": "sandbox-member-1"}),
        json!({"account": "acme", "api_token": token}),
    )
    .await;
    invite_lifecycle(&w, &co, "planview_leankit", token, 101, 101).await;

    // Suspend disables the user in LeanKit; reactivate enables them again.
    let bob = member(&w, &co, person("Bob", "Byte", Some("bob@example.com"))).await;
    let id = account_for(&w, &co, "planview_leankit", &bob).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let act = |action| act_on(&w, &co, "planview_leankit", &id, action);
    assert_eq!(act("suspend").await["status"], "suspended");
    assert!(w.local.sandbox.user(token, "bob@example.com").unwrap().suspended);
    assert_ne!(act("reactivate").await["status"], "suspended");
    assert!(!w.local.sandbox.user(token, "bob@example.com").unwrap().suspended);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clickup_connects_an_enterprise_workspace_invites_and_removes_offline() {
    let w = Walk::start().await;
    let team = prov_sandbox::CLICKUP_TEAM_ID.to_string();
    let co = api_key_connected(
        &w,
        "clickup-owner@example.com",
        "clickup",
        // A Workspace the token does not see.
        json!({"api_token": "pk_sandbox-acme", "team_id": "123"}),
        json!({"api_token": "pk_sandbox-acme", "team_id": team}),
    )
    .await;
    // The seeded member and the Workspace's owner (the token's user) are listed.
    invite_lifecycle(&w, &co, "clickup", "sandbox-acme", 1, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trello_connects_with_a_key_and_token_invites_once_and_removes_offline() {
    let w = Walk::start().await;
    let token = "sandbox-trello-0123456789abcdef0123";
    let fields = |token: &str| json!({"workspace": prov_sandbox::TRELLO_WORKSPACE, "api_key": "0123456789abcdef0123456789abcdef", "api_token": token});
    let co = api_key_connected(
        &w,
        "trello-owner@example.com",
        "trello",
        fields("wrongtoken-wrongtoken-wrongtoken-00"),
        fields(token),
    )
    .await;
    let created = ada_account(&w, &co, "trello").await;
    assert_eq!(created["status"], "invite_sent");
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(w.local.sandbox.accept_invitation(token, "ada@example.com"));
    let synced = sync_app(&w, &co, "trello").await;
    assert_eq!(synced.status, 200, "{}", synced.text());
    // Suspend deactivates the member in the Workspace; reactivate brings them back.
    let act = |action| act_on(&w, &co, "trello", &id, action);
    assert_eq!(act("suspend").await["status"], "suspended");
    assert!(!w.local.sandbox.user(token, "ada@example.com").unwrap().active);
    assert_eq!(act("reactivate").await["status"], "connected");
    assert!(w.local.sandbox.user(token, "ada@example.com").unwrap().active);
    assert_eq!(act("delete").await["status"], "deleted");
    assert!(w.local.sandbox.emails(token).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifteen_five_connects_with_its_scim_token_pages_creates_and_deactivates_offline() {
    let w = Walk::start().await;
    // The 30-character SCIM token (the sandbox's tokens start with `sandbox-`).
    let token = "sandbox-15five-0123456789abcde";
    assert_eq!(token.len(), 30);
    let fields = |token: &str| json!({"scim_base_url": "https://my.15five.com/scim/v2", "scim_token": token});
    let co = api_key_connected(
        &w,
        "fifteen-five-owner@example.com",
        "fifteen_five",
        fields("wrong-15five-0123456789abcdefg"),
        fields(token),
    )
    .await;
    for i in 0..101 {
        w.local
            .sandbox
            .seed_user(token, &format!("f{i}@example.com"), "F", &i.to_string());
    }
    let synced = sync_app(&w, &co, "fifteen_five").await;
    assert_eq!(synced.json()["changes"]["created"], 101, "{}", synced.text());
    let created = ada_account(&w, &co, "fifteen_five").await;
    let id = created["id"].as_str().unwrap().to_owned();
    // Suspend and reactivate set SCIM `active`.
    assert_eq!(
        act_on(&w, &co, "fifteen_five", &id, "suspend").await["status"],
        "suspended"
    );
    assert!(!w.local.sandbox.user(token, "ada@example.com").unwrap().active);
    assert_ne!(
        act_on(&w, &co, "fifteen_five", &id, "reactivate").await["status"],
        "suspended"
    );
    assert!(w.local.sandbox.user(token, "ada@example.com").unwrap().active);
    assert_eq!(
        act_on(&w, &co, "fifteen_five", &id, "delete").await["status"],
        "deleted"
    );
    // Deactivated at 15Five (no hard delete): the user is still there.
    assert!(
        w.local
            .sandbox
            .emails(token)
            .contains(&"ada@example.com".to_owned())
    );
    assert!(!w.local.sandbox.user(token, "ada@example.com").unwrap().active);
    // Rehired: creating the account again activates the user again.
    let ada = created["match"]["team_member_id"].as_str().unwrap().to_owned();
    let again = account_for(&w, &co, "fifteen_five", &ada).await;
    assert_eq!(again["status"], "connected", "{again}");
    assert!(w.local.sandbox.user(token, "ada@example.com").unwrap().active);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_invites_by_email_and_the_accepted_member_is_matched_by_login_offline() {
    let w = Walk::start().await;
    let (co, query) = oauth_connected(
        &w,
        "github-owner@example.com",
        "github",
        "/_sandbox/github/login/oauth/authorize",
    )
    .await;
    assert_eq!(query.iter().find(|(k, _)| k == "scope").unwrap().1, "admin:org");
    let created = ada_account(&w, &co, "github").await;
    assert_eq!(created["status"], "invite_sent");
    // She accepts: GitHub shows a member with a login, and never her email.
    let tenant = &prov_sandbox::oauth_tenant("github");
    assert!(w.local.sandbox.accept_invitation(tenant, "ada@example.com"));
    let synced = sync_app(&w, &co, "github").await;
    assert_eq!(synced.status, 200, "{}", synced.text());
    let unmatched = w
        .send(
            "GET",
            &co.path("/apps/github/accounts?match=unmatched"),
            Some(&co.admin),
            None,
        )
        .await
        .json();
    let member = unmatched["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["display_name"] == "ada")
        .unwrap_or_else(|| panic!("the member `ada` is listed: {unmatched}"))
        .clone();
    assert_eq!(member["status"], "connected");
    // The invitation's account is Ada's (created for her); the member is matched to her by hand.
    let ada = created["match"]["team_member_id"].as_str().unwrap().to_owned();
    let matched = w
        .send(
            "POST",
            &co.path("/apps/github/matches"),
            Some(&co.admin),
            Some(json!({"matches": [{"account_id": member["id"], "team_member_id": ada}]})),
        )
        .await;
    assert_eq!(matched.status, 200, "{}", matched.text());
    let member_id = member["id"].as_str().unwrap().to_owned();
    assert_eq!(
        act_on(&w, &co, "github", &member_id, "delete").await["status"],
        "deleted"
    );
    assert!(
        !w.local
            .sandbox
            .emails(tenant)
            .contains(&"ada@example.com".to_owned())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docusign_connects_a_demo_account_adds_a_user_pending_activation_and_closes_offline() {
    let w = Walk::start().await;
    let (co, _) = oauth_connected_with(
        &w,
        "docusign-owner@example.com",
        "docusign",
        "/_sandbox/docusign/oauth/auth",
        json!({"environment": "demo"}),
    )
    .await;
    let connection = w
        .send(
            "GET",
            &co.path("/apps/docusign/connection"),
            Some(&co.admin),
            None,
        )
        .await
        .json();
    assert_eq!(connection["tenant"]["environment"], "demo");
    let created = ada_account(&w, &co, "docusign").await;
    assert_eq!(created["status"], "invite_sent");
    let tenant = &prov_sandbox::oauth_tenant("docusign");
    assert!(w.local.sandbox.accept_invitation(tenant, "ada@example.com"));
    let synced = sync_app(&w, &co, "docusign").await;
    assert_eq!(synced.json()["changes"]["updated"], 1, "{}", synced.text());
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(
        act_on(&w, &co, "docusign", &id, "delete").await["status"],
        "deleted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zoho_books_exchanges_the_grant_code_once_and_invites_and_removes_offline() {
    let w = Walk::start().await;
    let fields = |code: &str| {
        json!({"product": "books", "data_center": "us", "client_id": "1000.SANDBOX",
               "client_secret": "sandbox-secret", "grant_code": code})
    };
    let co = api_key_connected(
        &w,
        "zoho-owner@example.com",
        "zoho",
        fields("not-a-sandbox-code"),
        fields("sandbox-acme"),
    )
    .await;
    // What is stored is the refresh token the code was exchanged for, never the code.
    let connection = w
        .send("GET", &co.path("/apps/zoho/connection"), Some(&co.admin), None)
        .await;
    assert!(
        !connection.text().contains("sandbox-acme"),
        "{}",
        connection.text()
    );
    invite_lifecycle(&w, &co, "zoho", "sandbox-acme", 201, 201).await;

    // Suspend marks the Books user inactive; reactivate marks them active again.
    let bob = member(&w, &co, person("Bob", "Byte", Some("bob@example.com"))).await;
    let id = account_for(&w, &co, "zoho", &bob).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        w.local
            .sandbox
            .accept_invitation("sandbox-acme", "bob@example.com")
    );
    let act = |action| act_on(&w, &co, "zoho", &id, action);
    assert_eq!(act("suspend").await["status"], "suspended");
    assert!(
        !w.local
            .sandbox
            .user("sandbox-acme", "bob@example.com")
            .unwrap()
            .active
    );
    assert_eq!(act("reactivate").await["status"], "connected");
    assert!(
        w.local
            .sandbox
            .user("sandbox-acme", "bob@example.com")
            .unwrap()
            .active
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zoho_desk_deactivates_a_confirmed_agent_and_a_404_of_the_action_is_no_removal_offline() {
    let w = Walk::start().await;
    let fields = |code: &str| {
        json!({"product": "desk", "data_center": "eu", "client_id": "1000.SANDBOX",
               "client_secret": "sandbox-secret", "grant_code": code})
    };
    let tenant = "sandbox-desk";
    let co = api_key_connected(
        &w,
        "zoho-desk-owner@example.com",
        "zoho",
        fields("not-a-sandbox-code"),
        fields(tenant),
    )
    .await;
    let created = ada_account(&w, &co, "zoho").await;
    assert_eq!(created["status"], "invite_sent");
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(w.local.sandbox.accept_invitation(tenant, "ada@example.com"));
    let agent = w.local.sandbox.user(tenant, "ada@example.com").unwrap();

    // The deactivation answers 404 while Desk still lists the agent: not removed.
    w.local.sandbox.fail_request(
        "POST",
        &format!("/zoho/api/v1/agents/{}/deactivate", agent.id),
        404,
        json!({"errorCode": "URL_NOT_FOUND", "message": "The URL you requested could not be found"}),
    );
    let refused = w
        .send(
            "POST",
            &co.path(&format!("/apps/zoho/accounts/{id}/delete")),
            Some(&co.admin),
            None,
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.text());
    assert!(!refused.text().contains("no longer has"), "{}", refused.text());
    assert!(w.local.sandbox.user(tenant, "ada@example.com").unwrap().active);

    // Desk deactivates a confirmed agent: kept and listed, no longer active.
    assert_eq!(act_on(&w, &co, "zoho", &id, "delete").await["status"], "deleted");
    let after = w.local.sandbox.user(tenant, "ada@example.com").unwrap();
    assert!(!after.active, "{after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn microsoft_365_creates_a_work_email_with_a_licence_for_a_new_employee_offline() {
    let w = Walk::start().await;
    let (co, _) = oauth_connected(
        &w,
        "m365-owner@example.com",
        "microsoft_365",
        "/_sandbox/microsoft_365/organizations/oauth2/v2.0/authorize",
    )
    .await;
    let domains = w
        .send(
            "GET",
            &co.path("/apps/microsoft_365/domains"),
            Some(&co.admin),
            None,
        )
        .await;
    assert_eq!(
        domains.json()["items"],
        json!([prov_sandbox::MICROSOFT_365_DOMAIN])
    );
    let ada = member(&w, &co, person("Ada", "Lovelace", Some("ada@example.com"))).await;
    let create = |work_email: String| {
        let w = &w;
        let co = &co;
        let ada = ada.clone();
        async move {
            w.send(
                "POST",
                &co.path("/apps/microsoft_365/accounts"),
                Some(&co.admin),
                Some(json!({"team_member_id": ada, "work_email": work_email})),
            )
            .await
        }
    };
    // Only the tenant's verified domains.
    let outside = create("ada@gmail.com".into()).await;
    assert_eq!(outside.status, 422, "{}", outside.text());
    assert!(
        outside.text().contains(prov_sandbox::MICROSOFT_365_DOMAIN),
        "{}",
        outside.text()
    );
    // An address someone already has is never handed to the new person.
    let taken = format!("grace@{}", prov_sandbox::MICROSOFT_365_DOMAIN);
    w.local.sandbox.seed_user(
        &prov_sandbox::oauth_tenant("microsoft_365"),
        &taken,
        "Grace",
        "Hopper",
    );
    let conflict = create(taken).await;
    assert_eq!(conflict.status, 409, "{}", conflict.text());

    let work = format!("ada.lovelace@{}", prov_sandbox::MICROSOFT_365_DOMAIN);
    let created = create(work.clone()).await;
    assert_eq!(created.status, 201, "{}", created.text());
    assert_eq!(created.json()["status"], "connected");
    // The new address is Ada's email from now on (her personal one is the recovery address).
    let profile = w
        .send(
            "GET",
            &co.path(&format!("/team_members/{ada}")),
            Some(&co.admin),
            None,
        )
        .await
        .json();
    assert_eq!(profile["email"], work);
    let id = created.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(
        act_on(&w, &co, "microsoft_365", &id, "suspend").await["status"],
        "suspended"
    );
    assert_eq!(
        act_on(&w, &co, "microsoft_365", &id, "reactivate").await["status"],
        "connected"
    );
    assert_eq!(
        act_on(&w, &co, "microsoft_365", &id, "delete").await["status"],
        "deleted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_without_mailboxes_or_groups_refuses_work_emails_and_groups() {
    let w = Walk::start().await;
    let co = setup(&w).await;
    let ada = member(&w, &co, person("Ada", "Lovelace", Some("ada@example.com"))).await;
    let refused = w
        .send(
            "POST",
            &co.path("/apps/sandbox_scim/accounts"),
            Some(&co.admin),
            Some(json!({"team_member_id": ada, "work_email": "ada@acme.test"})),
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.text());
    assert!(
        refused.text().contains("does not create work emails"),
        "{}",
        refused.text()
    );
    let groups = w
        .send(
            "GET",
            &co.path("/apps/sandbox_scim/groups"),
            Some(&co.admin),
            None,
        )
        .await;
    assert_eq!(groups.status, 422, "{}", groups.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lastpass_connects_with_its_provisioning_hash_invites_and_deletes_offline() {
    let w = Walk::start().await;
    let hash = "sandbox-lastpass";
    let fields = |hash: &str| json!({"region": "us", "cid": "1234567", "provhash": hash});
    let co = api_key_connected(
        &w,
        "lastpass-owner@example.com",
        "lastpass",
        fields("wrong-hash-0123456789"),
        fields(hash),
    )
    .await;
    invite_lifecycle(&w, &co, "lastpass", hash, 101, 101).await;
    // Removal took Ada out of the company; her own LastPass account and vault are hers still.
    assert!(w.local.sandbox.lastpass_account_kept("ada@example.com"));

    // Suspend disables the user; reactivate enables them again.
    let bob = member(&w, &co, person("Bob", "Byte", Some("bob@example.com"))).await;
    let id = account_for(&w, &co, "lastpass", &bob).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(w.local.sandbox.accept_invitation(hash, "bob@example.com"));
    let act = |action| act_on(&w, &co, "lastpass", &id, action);
    assert_eq!(act("suspend").await["status"], "suspended");
    assert!(!w.local.sandbox.user(hash, "bob@example.com").unwrap().active);
    assert_eq!(act("reactivate").await["status"], "connected");
    assert!(w.local.sandbox.user(hash, "bob@example.com").unwrap().active);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn google_workspace_creates_a_work_email_puts_it_in_a_group_suspends_and_deletes_offline() {
    let w = Walk::start().await;
    let (co, query) = oauth_connected(
        &w,
        "google-owner@example.com",
        "google_workspace",
        "/_sandbox/google_workspace/o/oauth2/v2/auth",
    )
    .await;
    assert_eq!(
        query.iter().find(|(k, _)| k == "access_type").unwrap().1,
        "offline"
    );
    let domain = prov_sandbox::GOOGLE_WORKSPACE_DOMAIN;
    // A 404 of the domains list is about the domains, not about an account.
    w.local.sandbox.fail_request(
        "GET",
        "/google_workspace/admin/directory/v1/customer/my_customer/domains",
        404,
        json!({"error": {"code": 404, "message": "Resource Not Found: customer", "errors": [{"reason": "notFound", "message": "Resource Not Found: customer", "domain": "global"}]}}),
    );
    let refused = w
        .send(
            "GET",
            &co.path("/apps/google_workspace/domains"),
            Some(&co.admin),
            None,
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.text());
    assert!(
        !refused.text().contains("no longer has this account") && refused.text().contains("domains"),
        "{}",
        refused.text()
    );
    let domains = w
        .send(
            "GET",
            &co.path("/apps/google_workspace/domains"),
            Some(&co.admin),
            None,
        )
        .await;
    assert_eq!(domains.json()["items"], json!([domain]), "{}", domains.text());
    let ada = member(&w, &co, person("Ada", "Lovelace", Some("ada@example.com"))).await;
    let work = format!("ada@{domain}");
    let created = w
        .send(
            "POST",
            &co.path("/apps/google_workspace/accounts"),
            Some(&co.admin),
            Some(json!({"team_member_id": ada, "work_email": work})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    assert_eq!(created.json()["status"], "connected");
    let tenant = &prov_sandbox::oauth_tenant("google_workspace");
    // Her personal address is the way she sets her own password.
    assert_eq!(
        w.local.sandbox.workspace_recovery_email(tenant, &work).as_deref(),
        Some("ada@example.com")
    );
    let groups = w
        .send(
            "GET",
            &co.path("/apps/google_workspace/groups"),
            Some(&co.admin),
            None,
        )
        .await
        .json();
    let engineering = groups["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["email"] == format!("engineering@{domain}"))
        .unwrap_or_else(|| panic!("{groups}"))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = created.json()["id"].as_str().unwrap().to_owned();
    for _ in 0..2 {
        // Twice: already a member is fine.
        let added = w
            .send(
                "POST",
                &co.path(&format!("/apps/google_workspace/groups/{engineering}/members")),
                Some(&co.admin),
                Some(json!({"account_id": id})),
            )
            .await;
        assert_eq!(added.status, 200, "{}", added.text());
    }
    assert_eq!(
        w.local.sandbox.workspace_group_members(tenant, &engineering),
        std::slice::from_ref(&work)
    );
    assert_eq!(
        act_on(&w, &co, "google_workspace", &id, "suspend").await["status"],
        "suspended"
    );
    assert_eq!(
        act_on(&w, &co, "google_workspace", &id, "reactivate").await["status"],
        "connected"
    );
    assert_eq!(
        act_on(&w, &co, "google_workspace", &id, "delete").await["status"],
        "deleted"
    );
    assert!(!w.local.sandbox.emails(tenant).contains(&work));
}

/// A log sink for one test's thread.
#[derive(Clone, Default)]
struct Logs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Whole flows with known credentials — API-key apps' keys, tokens, client secrets, a grant
/// code, a provisioning hash, and our own OAuth client's secret — with every log line (debug
/// and up) and every answer kept: none of them appears in a log, an answer or the store, and
/// the partner token is kept only hashed. (A current-thread runtime: the log subscriber set
/// for this thread sees every task of the test.)
#[tokio::test]
async fn no_credential_reaches_a_log_an_answer_or_the_store() {
    let logs = Logs::default();
    let sink = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || sink.clone())
        .finish();
    // With one dispatcher registered, tracing-core takes it for everyone's: a log callsite
    // first reached on another test's thread would be cached as of no interest to this
    // subscriber. A second, silent dispatcher makes every callsite ask each of them.
    let _second = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
    let _guard = tracing::subscriber::set_default(subscriber);

    let w = Walk::start().await;
    let okta = "sandbox-okta-hygiene-token";
    let dynatrace = "sandbox-dynatrace-hygiene-secret";
    let zoho_secret = "sandbox-zoho-hygiene-secret";
    let zoho_code = "sandbox-zoho-hygiene-grant";
    let lastpass = "sandbox-lastpass-hygiene-hash";
    let sauce = "sandbox-sauce-hygiene-key";
    let wrong = "wrong-hygiene-credential-0123456789";
    let uuid = "6f1c1b9e-0c52-4d7a-9a43-2b8f4f0e3c99";
    // The connect form of each app with `secret` as its credential; whether to run a
    // whole account lifecycle (Zoho's calls are throttled hard: connecting, the grant
    // exchange, is the point there).
    let fields = |app: &str, secret: &str| match app {
        "okta" => json!({"org_url": prov_sandbox::OKTA_ORG, "api_token": secret}),
        "dynatrace" => json!({"account_uuid": uuid, "client_id": "dt0s02.HYGIENE", "client_secret": secret}),
        "lastpass" => json!({"region": "us", "cid": "1234567", "provhash": secret}),
        "sauce_labs" => {
            json!({"data_center": "us-west-1", "username": "hygiene-admin", "access_key": secret})
        }
        _ => {
            json!({"product": "books", "data_center": "us", "client_id": "1000.HYGIENE", "client_secret": zoho_secret, "grant_code": secret})
        }
    };
    let apps = [
        ("okta", okta, true),
        ("dynatrace", dynatrace, true),
        ("lastpass", lastpass, true),
        ("sauce_labs", sauce, true),
        ("zoho", zoho_code, false),
    ];
    let secrets = [
        okta,
        dynatrace,
        zoho_secret,
        zoho_code,
        lastpass,
        sauce,
        wrong,
        prov_sandbox::CLIENT_SECRET,
    ];
    let co = plus_company(&w, "hygiene-owner@example.com").await;
    let ada = member(&w, &co, person("Ada", "Lovelace", Some("ada@example.com"))).await;
    let mut answers = Vec::new();
    for (app, secret, lifecycle) in apps {
        let path = co.path(&format!("/apps/{app}/connection"));
        let refused = w
            .send("POST", &path, Some(&co.admin), Some(fields(app, wrong)))
            .await;
        assert_eq!(refused.status, 422, "{app}: {}", refused.text());
        answers.push(refused.text());
        let connected = w
            .send("POST", &path, Some(&co.admin), Some(fields(app, secret)))
            .await;
        assert_eq!(connected.status, 200, "{app}: {}", connected.text());
        answers.push(connected.text());
        answers.push(w.send("GET", &path, Some(&co.admin), None).await.text());
        if !lifecycle {
            continue;
        }
        let accounts = co.path(&format!("/apps/{app}/accounts"));
        let created = w
            .send(
                "POST",
                &accounts,
                Some(&co.admin),
                Some(json!({"team_member_id": ada})),
            )
            .await;
        assert_eq!(created.status, 201, "{app}: {}", created.text());
        answers.push(created.text());
        answers.push(sync_app(&w, &co, app).await.text());
        answers.push(w.send("GET", &accounts, Some(&co.admin), None).await.text());
        let id = created.json()["id"].as_str().unwrap().to_owned();
        let deleted = w
            .send("POST", &format!("{accounts}/{id}/delete"), Some(&co.admin), None)
            .await;
        answers.push(deleted.text());
    }
    // An OAuth app: our client's secret goes to the token endpoint only.
    let (oauth_co, _) = oauth_connected(
        &w,
        "hygiene-oauth@example.com",
        "hubspot",
        "/_sandbox/hubspot/oauth/authorize",
    )
    .await;
    answers.push(sync_app(&w, &oauth_co, "hubspot").await.text());
    answers.push(
        w.send("GET", &oauth_co.path("/events"), Some(&oauth_co.admin), None)
            .await
            .text(),
    );

    // The tokens the vendor issued to us (access and refresh) are credentials too.
    let issued = w.local.sandbox.live_tokens();
    assert!(issued.len() >= 2, "{issued:?}");
    let secrets: Vec<String> = secrets.iter().map(|s| s.to_string()).chain(issued).collect();

    let logged = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        logged.contains("INFO") || logged.contains("DEBUG"),
        "logs were captured"
    );
    let store = std::fs::read(w.data_dir().join("store.redb")).unwrap();
    let store = String::from_utf8_lossy(&store);
    for secret in secrets
        .iter()
        .map(String::as_str)
        .chain([crate::support::PARTNER])
    {
        assert!(!logged.contains(secret), "{secret} was logged");
        for answer in &answers {
            assert!(!answer.contains(secret), "{secret} was answered: {answer}");
        }
        assert!(!store.contains(secret), "{secret} is in the store");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_names_the_organization_when_one_sign_in_reaches_several() {
    let w = Walk::start().await;
    let (co, _) = oauth_connected_with(
        &w,
        "github-named@example.com",
        "github",
        "/_sandbox/github/login/oauth/authorize",
        json!({"organization": prov_sandbox::GITHUB_ORG}),
    )
    .await;
    let connection = w
        .send("GET", &co.path("/apps/github/connection"), Some(&co.admin), None)
        .await
        .json();
    assert_eq!(connection["tenant"]["org"], prov_sandbox::GITHUB_ORG);
    let created = ada_account(&w, &co, "github").await;
    assert_eq!(created["status"], "invite_sent");
    // Apps where a sign-in reaches one tenant take no organization.
    let slack = w
        .send(
            "POST",
            &co.path("/apps/slack/connection/oauth"),
            Some(&co.admin),
            Some(json!({"organization": "acme"})),
        )
        .await;
    assert_eq!(slack.status, 422, "{}", slack.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_refuses_a_connection_by_someone_who_does_not_own_the_organization() {
    let w = Walk::start().await;
    let co = plus_company(&w, "github-member@example.com").await;
    // The sign-in is a plain member of this organization, not an owner.
    let (done, _) = oauth_callback(
        &w,
        &co,
        "github",
        "/_sandbox/github/login/oauth/authorize",
        json!({"organization": prov_sandbox::GITHUB_MEMBER_ORG}),
    )
    .await;
    assert!(!done.text().contains("App connected"), "{}", done.text());
    let status = w
        .send("GET", &co.path("/apps/github/connection"), Some(&co.admin), None)
        .await
        .json();
    assert_ne!(status["state"], "connected", "{status}");
}
