//! A connection bound to its vendor tenant, and every result proven: the scenario of
//! reconnecting the sandbox SCIM app to another tenant, a reconnect to the same tenant, and
//! how each account event says its result was verified.

use serde_json::{Value, json};

use crate::support::{Co, Walk};

const TENANT_A: &str = "sandbox-tenant-a";
const TENANT_B: &str = "sandbox-tenant-b";
const SCIM_BASE: &str = "https://scim.sandbox.test/scim/v2";

fn scim_fields(token: &str) -> Value {
    json!({"scim_base_url": SCIM_BASE, "scim_token": token})
}

/// Adds a team member with an email; answers their id.
async fn person(w: &Walk, co: &Co, first: &str) -> String {
    let email = format!("{}@example.com", first.to_lowercase());
    w.team_member(
        co,
        json!({"first_name": first, "last_name": "Person", "kind": "employee", "email": email}),
    )
    .await
}

/// Creates the team member's sandbox SCIM account (201); answers its id.
async fn create_account(w: &Walk, co: &Co, team_member_id: &str) -> String {
    let created = w
        .send(
            "POST",
            &co.path("/apps/sandbox_scim/accounts"),
            Some(&co.admin),
            Some(json!({"team_member_id": team_member_id})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    created.json()["id"].as_str().unwrap().to_owned()
}

async fn listing(w: &Walk, co: &Co) -> Value {
    let answer = w
        .send(
            "GET",
            &co.path("/apps/sandbox_scim/accounts?limit=100"),
            Some(&co.admin),
            None,
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    answer.json()
}

async fn account(w: &Walk, co: &Co, id: &str) -> Value {
    listing(w, co).await["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == id)
        .unwrap_or_else(|| panic!("no account {id}"))
        .clone()
}

async fn connect(w: &Walk, co: &Co, body: Value) -> prov_testkit::Answer {
    w.send(
        "POST",
        &co.path("/apps/sandbox_scim/connection"),
        Some(&co.admin),
        Some(body),
    )
    .await
}

/// The company's audit events, newest first.
async fn events(w: &Walk, co: &Co) -> Vec<Value> {
    w.send("GET", &co.path("/events?limit=100"), Some(&co.admin), None)
        .await
        .json()["items"]
        .as_array()
        .unwrap()
        .clone()
}

/// The newest event of `action` about `target`.
async fn event(w: &Walk, co: &Co, action: &str, target: &str) -> Value {
    events(w, co)
        .await
        .into_iter()
        .find(|e| e["action"] == action && e["target"]["id"] == target)
        .unwrap_or_else(|| panic!("no {action} event for {target}"))
}

async fn act(w: &Walk, co: &Co, id: &str, action: &str) -> prov_testkit::Answer {
    w.send(
        "POST",
        &co.path(&format!("/apps/sandbox_scim/accounts/{id}/{action}")),
        Some(&co.admin),
        None,
    )
    .await
}

/// Dismisses a team member whose last day has passed: access ends at once.
async fn dismiss_now(w: &Walk, co: &Co, team_member_id: &str) -> Value {
    let answer = w
        .send(
            "PUT",
            &co.path(&format!("/team_members/{team_member_id}/dismissal")),
            Some(&co.admin),
            Some(json!({"last_day": "2026-02-20"})),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    answer.json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnecting_to_another_tenant_leaves_its_accounts_unmanaged_and_never_recorded_removed() {
    let w = Walk::start().await;
    let co = w.connected_company("owner@example.com", TENANT_A).await;
    let ada = person(&w, &co, "Ada").await;
    let id = create_account(&w, &co, &ada).await;
    assert!(w.local.sandbox.accept_invitation(TENANT_A, "ada@example.com"));
    w.sync(&co, "sandbox_scim").await;
    let (a_id, a_name) = (
        prov_sandbox::tenant_id(TENANT_A),
        prov_sandbox::tenant_name(TENANT_A),
    );
    let b_id = prov_sandbox::tenant_id(TENANT_B);

    // Another tenant's token, unconfirmed: refused, naming both; the connection is unchanged.
    let refused = connect(&w, &co, scim_fields(TENANT_B)).await;
    assert_eq!(refused.status, 422, "{}", refused.text());
    assert_eq!(refused.error_keys(), ["switch_tenant"]);
    let message = refused.json()["errors"][0]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains(&a_id) && message.contains(&b_id), "{message}");
    let connection = w
        .send(
            "GET",
            &co.path("/apps/sandbox_scim/connection"),
            Some(&co.admin),
            None,
        )
        .await
        .json();
    assert_eq!(connection["tenant"]["tenant_id"], a_id);
    assert_eq!(account(&w, &co, &id).await["tenant_connected"], true);

    // Confirmed: the app now reaches tenant B.
    let mut confirmed = scim_fields(TENANT_B);
    confirmed["switch_tenant"] = json!(true);
    let switched = connect(&w, &co, confirmed).await;
    assert_eq!(switched.status, 200, "{}", switched.text());
    assert_eq!(switched.json()["tenant"]["tenant_id"], b_id);

    // Ada's account shows as belonging to a tenant no longer connected, and is counted so.
    let view = account(&w, &co, &id).await;
    assert_eq!(view["tenant_connected"], false, "{view}");
    assert_eq!(view["tenant"], json!({"id": a_id, "name": a_name}));
    assert_eq!(view["managed"], false);
    assert_eq!(view["allowed_actions"], json!(["unmatch"]));
    assert_eq!(view["status"], "connected");
    let summary = listing(&w, &co).await["summary"].clone();
    assert_eq!(
        (&summary["tenant_not_connected"], &summary["present"]),
        (&json!(1), &json!(0)),
        "{summary}"
    );
    // Syncing tenant B neither sees it nor marks it vanished.
    let synced = w.sync(&co, "sandbox_scim").await;
    assert_eq!(synced.json()["changes"]["vanished"], 0);
    assert_eq!(account(&w, &co, &id).await["present"], true);

    // Deleting it through tenant B's credentials is refused, and so is its dry run.
    for path in ["delete", "delete?dry_run=true", "suspend"] {
        let answer = act(&w, &co, &id, path).await;
        assert_eq!(answer.status, 422, "{path}: {}", answer.text());
        assert_eq!(answer.error_keys(), ["account"]);
        let why = answer.json()["errors"][0]["message"].as_str().unwrap().to_owned();
        assert!(why.contains(&format!("remove it in {a_name}")), "{why}");
    }
    // Remove all skips it, saying why.
    let all = w
        .send(
            "POST",
            &co.path(&format!("/team_members/{ada}/apps/remove_all")),
            Some(&co.admin),
            None,
        )
        .await
        .json();
    assert_eq!(all["accounts"][0]["result"], "skipped", "{all}");

    // A dismissal: the step needs attention, telling the admin where to remove it.
    dismiss_now(&w, &co, &ada).await;
    let task = w
        .send(
            "GET",
            &co.path(&format!("/team_members/{ada}/offboarding")),
            Some(&co.admin),
            None,
        )
        .await
        .json();
    assert_eq!(task["status"], "needs_attention", "{task}");
    assert_eq!(task["accounts"][0]["state"], "failed");
    let detail = task["accounts"][0]["detail"].as_str().unwrap();
    assert!(
        detail.contains(&format!("remove it in {a_name}")) && detail.ends_with("yourself."),
        "{detail}"
    );
    assert!(task["problem"].as_str().unwrap().contains(&a_name), "{task}");

    // Nothing was recorded as removed, and tenant A still has Ada, active.
    assert_eq!(account(&w, &co, &id).await["status"], "connected");
    let all_events = events(&w, &co).await;
    assert!(
        !all_events.iter().any(|e| e["target"]["id"] == id.as_str()
            && e["result"] == "succeeded"
            && e["action"]
                .as_str()
                .is_some_and(|a| a != "account.created" && a != "account.connected")),
        "{all_events:?}"
    );
    let failed = event(&w, &co, "account.removed_at_dismissal", &id).await;
    assert_eq!(failed["result"], "failed");
    let user = w.local.sandbox.user(TENANT_A, "ada@example.com").unwrap();
    assert!(user.active && !user.suspended, "{user:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnect_to_the_same_tenant_replaces_the_credentials_and_keeps_everything() {
    let w = Walk::start().await;
    let co = w.connected_company("owner@example.com", TENANT_A).await;
    let ada = person(&w, &co, "Ada").await;
    let id = create_account(&w, &co, &ada).await;
    w.local
        .sandbox
        .seed_user(TENANT_A, "grace@example.com", "Grace", "Hopper");
    w.sync(&co, "sandbox_scim").await;
    let before = listing(&w, &co).await;
    let tenant_before = w
        .send(
            "GET",
            &co.path("/apps/sandbox_scim/connection"),
            Some(&co.admin),
            None,
        )
        .await
        .json()["tenant"]
        .clone();

    let again = connect(&w, &co, scim_fields(TENANT_A)).await;
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(again.json()["tenant"], tenant_before);
    // Every account, match and count as before; no switch was recorded.
    assert_eq!(listing(&w, &co).await, before);
    assert!(
        !events(&w, &co)
            .await
            .iter()
            .any(|e| e["action"] == "connection.tenant_switched")
    );
    // And the accounts are still managed through the new credentials.
    let suspended = act(&w, &co, &id, "suspend").await;
    assert_eq!(suspended.status, 200, "{}", suspended.text());
    assert_eq!(suspended.json()["status"], "suspended");
    assert!(!w.local.sandbox.user(TENANT_A, "ada@example.com").unwrap().active);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_account_event_says_how_its_result_was_verified() {
    let w = Walk::start().await;
    let co = w.connected_company("owner@example.com", TENANT_A).await;
    let (ada, bob, cy, dee) = (
        person(&w, &co, "Ada").await,
        person(&w, &co, "Bob").await,
        person(&w, &co, "Cy").await,
        person(&w, &co, "Dee").await,
    );
    let ids = [
        create_account(&w, &co, &ada).await,
        create_account(&w, &co, &bob).await,
        create_account(&w, &co, &cy).await,
        create_account(&w, &co, &dee).await,
    ];
    let detail = |e: &Value| e["detail"].as_str().unwrap_or_default().to_owned();

    // Suspend, reactivate and delete: the vendor's answer to each proves it.
    for (action, past) in [
        ("suspend", "account.suspended"),
        ("reactivate", "account.reactivated"),
        ("delete", "account.deleted"),
    ] {
        let answer = act(&w, &co, &ids[0], action).await;
        assert_eq!(answer.status, 200, "{action}: {}", answer.text());
        let e = event(&w, &co, past, &ids[0]).await;
        assert!(detail(&e).contains("verified: vendor_answer"), "{e}");
    }
    // Gone from the vendor meanwhile: its own resource says so.
    assert!(w.local.sandbox.remove_user(TENANT_A, "bob@example.com"));
    assert_eq!(act(&w, &co, &ids[1], "delete").await.status, 200);
    let e = event(&w, &co, "account.deleted", &ids[1]).await;
    assert!(detail(&e).contains("verified: already_gone"), "{e}");
    assert_eq!(account(&w, &co, &ids[1]).await["present"], false);

    // Remove all.
    let all = w
        .send(
            "POST",
            &co.path(&format!("/team_members/{cy}/apps/remove_all")),
            Some(&co.admin),
            None,
        )
        .await
        .json();
    assert_eq!(all["accounts"][0]["result"], "deleted", "{all}");
    let e = event(&w, &co, "account.deleted", &ids[2]).await;
    assert!(
        detail(&e).contains("remove all") && detail(&e).contains("verified: vendor_answer"),
        "{e}"
    );

    // A dismissal: the account's event and the completion name the proof.
    dismiss_now(&w, &co, &dee).await;
    let e = event(&w, &co, "account.removed_at_dismissal", &ids[3]).await;
    assert_eq!(e["result"], "succeeded");
    assert_eq!(detail(&e), "verified: vendor_answer");
    let done = event(&w, &co, "dismissal.completed", &dee).await;
    assert!(
        detail(&done).contains("sandbox_scim dee@example.com: removed (verified: vendor_answer)"),
        "{done}"
    );
    let task = w
        .send(
            "GET",
            &co.path(&format!("/team_members/{dee}/offboarding")),
            Some(&co.admin),
            None,
        )
        .await
        .json();
    assert_eq!(task["accounts"][0]["detail"], "verified: vendor_answer");
    assert!(
        !w.local
            .sandbox
            .emails(TENANT_A)
            .contains(&"dee@example.com".to_owned())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removal_that_deactivates_is_read_back_when_already_so() {
    let w = Walk::start().await;
    // 15Five removes by deactivating: removing a suspended (deactivated) user sends nothing,
    // and the read of the user proves it.
    let token = "sandbox-15five-tenant-abcdefgh";
    assert_eq!(token.len(), 30);
    let (id, admin) = w.company(crate::support::PARTNER, "owner@example.com").await;
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
    let connected = w
        .send(
            "POST",
            &co.path("/apps/fifteen_five/connection"),
            Some(&co.admin),
            Some(json!({"scim_base_url": "https://acme.15five.com/scim/v2", "scim_token": token})),
        )
        .await;
    assert_eq!(connected.status, 200, "{}", connected.text());
    // The company is its SCIM base URL.
    assert_eq!(
        connected.json()["tenant"]["tenant_id"],
        "https://acme.15five.com/scim/v2"
    );
    let ada = person(&w, &co, "Ada").await;
    let created = w
        .send(
            "POST",
            &co.path("/apps/fifteen_five/accounts"),
            Some(&co.admin),
            Some(json!({"team_member_id": ada})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let account = created.json()["id"].as_str().unwrap().to_owned();
    for action in ["suspend", "delete"] {
        let path = co.path(&format!("/apps/fifteen_five/accounts/{account}/{action}"));
        let answer = w.send("POST", &path, Some(&co.admin), None).await;
        assert_eq!(answer.status, 200, "{action}: {}", answer.text());
    }
    let e = event(&w, &co, "account.deleted", &account).await;
    assert!(
        e["detail"].as_str().unwrap().contains("verified: read_back"),
        "{e}"
    );
}
