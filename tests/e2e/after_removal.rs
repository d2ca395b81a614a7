//! What a removal leaves behind, end to end against the sandbox vendors: the status recorded
//! for apps whose removal deactivates (and that no later dismissal removes it again), and the
//! email a deleted work mailbox gives back to its team member.

use serde_json::{Value, json};

use crate::flows::{
    account_for, act_on, api_key_connected, app_account, member, oauth_connected, person, sync_app,
};
use crate::support::{Co, Walk};

/// The team member's profile.
async fn profile(w: &Walk, co: &Co, id: &str) -> Value {
    let answer = w
        .send(
            "GET",
            &co.path(&format!("/team_members/{id}")),
            Some(&co.admin),
            None,
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    answer.json()
}

/// Creates a Google Workspace mailbox at `address` for the team member `id`; the account id.
async fn work_email(w: &Walk, co: &Co, id: &str, address: String) -> String {
    let created = w
        .send(
            "POST",
            &co.path("/apps/google_workspace/accounts"),
            Some(&co.admin),
            Some(json!({"team_member_id": id, "work_email": address})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    created.json()["id"].as_str().unwrap().to_owned()
}

/// Where removal deactivates (the vendor then lists the account as inactive, as it lists a
/// suspended one), a sync keeps the removal recorded, and a dismissal does not remove the
/// account a second time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removal_that_deactivates_stays_a_removal_through_syncs_and_dismissals() {
    let w = Walk::start().await;
    let fifteen_five = "sandbox-15five-0123456789abcde";
    let sauce_labs = "sandbox-sauce-removal";
    let apps: [(&str, &str, Value); 2] = [
        (
            "fifteen_five",
            fifteen_five,
            json!({"scim_base_url": "https://my.15five.com/scim/v2", "scim_token": fifteen_five}),
        ),
        (
            "sauce_labs",
            sauce_labs,
            json!({"data_center": "us-west-1", "username": "acme-admin", "access_key": sauce_labs}),
        ),
    ];
    for (app, tenant, fields) in apps {
        let mut wrong = fields.clone();
        let secret = if app == "fifteen_five" {
            "scim_token"
        } else {
            "access_key"
        };
        wrong[secret] = json!("wrong-0123456789abcdefghijklmn");
        let co = api_key_connected(&w, &format!("{app}-owner@example.com"), app, wrong, fields).await;
        let ada = member(&w, &co, person("Ada", "Lovelace", Some("ada@example.com"))).await;
        let id = account_for(&w, &co, app, &ada).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(act_on(&w, &co, app, &id, "delete").await["status"], "deleted");
        let at_vendor = w.local.sandbox.user(tenant, "ada@example.com").unwrap();
        assert!(
            !at_vendor.active,
            "{app}: deactivated, still listed: {at_vendor:?}"
        );

        let synced = sync_app(&w, &co, app).await;
        assert_eq!(synced.status, 200, "{}", synced.text());
        let after = app_account(&w, &co, app, &id).await;
        assert_eq!(after["status"], "deleted", "{app}: {after}");
        assert_eq!(after["allowed_actions"], json!(["unmatch"]), "{app}: {after}");

        // A dismissal finds nothing left to remove.
        let dry = w
            .send(
                "PUT",
                &co.path(&format!("/team_members/{ada}/dismissal?dry_run=true")),
                Some(&co.admin),
                Some(json!({"last_day": "2026-02-01"})),
            )
            .await;
        assert_eq!(dry.status, 200, "{}", dry.text());
        assert_eq!(dry.json()["accounts"], json!([]), "{app}: {}", dry.text());
    }
}

/// A work mailbox's address becomes the person's email; once the mailbox is deleted (by an
/// admin, or at dismissal) the email they had before is theirs again, so later invitations
/// reach them. Someone who had no email has none again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_work_mailbox_gives_back_the_email_the_person_had_before() {
    let w = Walk::start().await;
    let (co, _) = oauth_connected(
        &w,
        "mailbox-owner@example.com",
        "google_workspace",
        "/_sandbox/google_workspace/o/oauth2/v2/auth",
    )
    .await;
    let domain = prov_sandbox::GOOGLE_WORKSPACE_DOMAIN;
    // Deleted by an admin.
    let ada = member(&w, &co, person("Ada", "Lovelace", Some("ada@example.com"))).await;
    let mailbox = work_email(&w, &co, &ada, format!("ada@{domain}")).await;
    assert_eq!(profile(&w, &co, &ada).await["email"], format!("ada@{domain}"));
    assert_eq!(
        act_on(&w, &co, "google_workspace", &mailbox, "delete").await["status"],
        "deleted"
    );
    assert_eq!(profile(&w, &co, &ada).await["email"], "ada@example.com");

    // Someone who had no email before has none again.
    let bob = member(&w, &co, person("Bob", "Byte", None)).await;
    let mailbox = work_email(&w, &co, &bob, format!("bob@{domain}")).await;
    assert_eq!(profile(&w, &co, &bob).await["email"], format!("bob@{domain}"));
    act_on(&w, &co, "google_workspace", &mailbox, "delete").await;
    assert_eq!(profile(&w, &co, &bob).await["email"], Value::Null);

    // Deleted at dismissal.
    let carol = member(&w, &co, person("Carol", "Coder", Some("carol@example.com"))).await;
    work_email(&w, &co, &carol, format!("carol@{domain}")).await;
    let done = w
        .send(
            "PUT",
            &co.path(&format!("/team_members/{carol}/dismissal")),
            Some(&co.admin),
            Some(json!({"last_day": "2026-02-01"})),
        )
        .await;
    assert_eq!(done.json()["status"], "completed", "{}", done.text());
    assert_eq!(profile(&w, &co, &carol).await["email"], "carol@example.com");

    // Changed by hand since: the person's email is left as the admin set it.
    let dan = member(&w, &co, person("Dan", "Dev", Some("dan@example.com"))).await;
    let mailbox = work_email(&w, &co, &dan, format!("dan@{domain}")).await;
    let set = w
        .send(
            "PATCH",
            &co.path(&format!("/team_members/{dan}")),
            Some(&co.admin),
            Some(json!({"email": "dan@elsewhere.example"})),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.text());
    act_on(&w, &co, "google_workspace", &mailbox, "delete").await;
    assert_eq!(profile(&w, &co, &dan).await["email"], "dan@elsewhere.example");
}

/// LastPass removes people from the company and leaves them their own account, unless the
/// connection chose `delete_account`: a choice the catalog describes, refused without its
/// confirmation (API and console), and shown on the connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lastpass_deletes_whole_accounts_only_on_a_connection_that_chose_it_and_confirmed() {
    let w = Walk::start().await;
    let co = crate::flows::plus_company(&w, "lastpass-delete-owner@example.com").await;
    let entry = w
        .send("GET", "/v1/apps/lastpass", Some(&co.admin), None)
        .await
        .json();
    let removal = entry["credential_fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "removal")
        .unwrap_or_else(|| panic!("{entry}"))
        .clone();
    assert_eq!(removal["required"], false, "{removal}");
    assert_eq!(
        removal["options"],
        json!(["remove_from_company", "delete_account"])
    );
    assert_eq!(removal["confirmation"]["field"], "removal_confirmed");
    assert!(
        removal["confirmation"]["warning"]
            .as_str()
            .unwrap()
            .contains("cannot undo")
    );

    let hash = "sandbox-lastpass-delete";
    let fields = json!({"region": "us", "cid": "1234567", "provhash": hash, "removal": "delete_account"});
    let path = co.path("/apps/lastpass/connection");
    let unconfirmed = w.send("POST", &path, Some(&co.admin), Some(fields.clone())).await;
    assert_eq!(unconfirmed.status, 422, "{}", unconfirmed.text());
    assert_eq!(unconfirmed.error_keys(), ["removal_confirmed"]);

    // The console asks for the confirmation, and refuses the choice without it.
    let mut console = crate::console::Client::new(&w);
    console.sign_in(&co.admin).await;
    let form = console.get("/console/apps/lastpass").await;
    assert!(
        form.text().contains("name=\"removal_confirmed\"") && form.text().contains("cannot undo"),
        "{}",
        form.text()
    );
    let csrf = console.csrf().await;
    let base = [
        ("csrf", csrf.as_str()),
        ("region", "us"),
        ("cid", "1234567"),
        ("provhash", hash),
        ("removal", "delete_account"),
    ];
    let refused = console.post("/console/apps/lastpass/connect", &base).await;
    assert_eq!(refused.status, 422, "{}", refused.text());
    assert!(refused.text().contains("Confirm it with"), "{}", refused.text());
    let mut confirmed = base.to_vec();
    confirmed.push(("removal_confirmed", "true"));
    let done = console.post("/console/apps/lastpass/connect", &confirmed).await;
    assert_eq!(done.status, 303, "{}", done.text());
    let connected = console.get("/console/apps/lastpass").await;
    assert!(
        connected.text().contains("delete_account") && connected.text().contains("cannot undo"),
        "the connection says what its removal does: {}",
        connected.text()
    );
    let status = w.send("GET", &path, Some(&co.admin), None).await.json();
    assert_eq!(status["tenant"]["removal"], "delete_account", "{status}");

    let ada = member(&w, &co, person("Ada", "Lovelace", Some("ada@example.com"))).await;
    let id = account_for(&w, &co, "lastpass", &ada).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(w.local.sandbox.accept_invitation(hash, "ada@example.com"));
    assert_eq!(
        act_on(&w, &co, "lastpass", &id, "delete").await["status"],
        "deleted"
    );
    assert!(w.local.sandbox.user(hash, "ada@example.com").is_none());
    assert!(
        !w.local.sandbox.lastpass_account_kept("ada@example.com"),
        "the whole account went, as chosen"
    );
}

/// The reveal link emailed to `to` for `app` (the newest), as a path.
async fn reveal_link(w: &Walk, to: &str, app: &str) -> String {
    let mail = w
        .local
        .outbox
        .recent(100)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.email.to == to && m.email.subject.contains(app))
        .unwrap_or_else(|| panic!("no email to {to} about {app}"));
    let url = mail
        .email
        .text
        .split_whitespace()
        .find(|w| w.contains("/first_password/"))
        .unwrap()
        .to_owned();
    url::Url::parse(&url).unwrap().path().to_owned()
}

/// The text of the page's first `<code>` after `after`.
fn code_after(html: &str, after: &str) -> String {
    let rest = &html[html.find(after).unwrap_or_else(|| panic!("{after} in {html}"))..];
    let start = rest.find("<code>").unwrap() + "<code>".len();
    rest[start..start + rest[start..].find("</code>").unwrap()].to_owned()
}

/// Where the vendor makes an account with a password and sends nothing (LeanKit, Sauce
/// Labs), the person gets a one-time link to that password by email: opening it shows a
/// button, the reveal shows the password (which opens the account at the vendor) once, and
/// the store never holds it readable; an unused link expires.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_nobody_is_told_reaches_the_person_through_a_one_time_link() {
    let w = Walk::start().await;
    let leankit = "sandbox-lk-first";
    let sauce = "sandbox-sauce-first";
    let apps: [(&str, &str, &str, Value); 2] = [
        (
            "planview_leankit",
            "Planview LeanKit",
            leankit,
            json!({"account": "acme", "api_token": leankit}),
        ),
        (
            "sauce_labs",
            "Sauce Labs",
            sauce,
            json!({"data_center": "us-west-1", "username": "acme-admin", "access_key": sauce}),
        ),
    ];
    for (app, name, tenant, fields) in apps {
        let co = crate::flows::plus_company(&w, &format!("{app}-first-owner@example.com")).await;
        let connected = w
            .send(
                "POST",
                &co.path(&format!("/apps/{app}/connection")),
                Some(&co.admin),
                Some(fields),
            )
            .await;
        assert_eq!(connected.status, 200, "{}", connected.text());
        let to = format!("ada.{app}@example.com");
        let ada = member(&w, &co, person("Ada", "Lovelace", Some(&to))).await;
        let account = account_for(&w, &co, app, &ada).await;
        let link = reveal_link(&w, &to, name).await;

        // Opening the link reveals nothing yet (mail scanners follow links).
        let opened = w.send("GET", &link, None, None).await;
        assert_eq!(opened.status, 200, "{}", opened.text());
        assert!(opened.text().contains("Show my password"), "{}", opened.text());
        assert_eq!(opened.header("cache-control"), Some("no-store"));
        assert_eq!(opened.header("referrer-policy"), Some("no-referrer"));

        let revealed = w.send("POST", &link, None, None).await;
        assert_eq!(revealed.status, 200, "{}", revealed.text());
        let page = revealed.text();
        let password = code_after(&page, "with this password");
        assert!(
            w.local.sandbox.signs_in(tenant, &to, &password),
            "{app}: the revealed password is the account's: {page}"
        );
        let sign_in = code_after(&page, "Sign in to");
        if app == "sauce_labs" {
            assert_eq!(
                sign_in, "ada.sauce_labs-example",
                "Sauce Labs signs in by username"
            );
        } else {
            assert_eq!(sign_in, to);
        }
        for method in ["POST", "GET"] {
            let again = w.send(method, &link, None, None).await;
            assert_eq!(again.status, 410, "{method} after the reveal: {}", again.text());
            assert!(!again.text().contains(&password));
        }
        let store = std::fs::read(w.data_dir().join("store.redb")).unwrap();
        assert!(
            !String::from_utf8_lossy(&store).contains(&password),
            "{app}: the password is never kept readable"
        );
        let events = w
            .send("GET", &co.path("/events?limit=10"), Some(&co.admin), None)
            .await
            .json();
        let actions: Vec<&str> = events["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["target"]["id"] == account["id"])
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(
            actions,
            [
                "account.first_password_revealed",
                "account.first_password_sent",
                "account.created"
            ],
            "{events}"
        );
    }

    // A link nobody opens stops working after seven days.
    let co = crate::flows::plus_company(&w, "leankit-expiry-owner@example.com").await;
    let token = "sandbox-lk-expiry";
    w.send(
        "POST",
        &co.path("/apps/planview_leankit/connection"),
        Some(&co.admin),
        Some(json!({"account": "acme", "api_token": token})),
    )
    .await;
    let bob = member(&w, &co, person("Bob", "Byte", Some("bob@example.com"))).await;
    account_for(&w, &co, "planview_leankit", &bob).await;
    let link = reveal_link(&w, "bob@example.com", "Planview LeanKit").await;
    w.clock.advance(chrono::Duration::days(7));
    let expired = w.send("POST", &link, None, None).await;
    assert_eq!(expired.status, 410, "{}", expired.text());
    assert!(expired.text().contains("expired"), "{}", expired.text());
}

/// A dismissal resumed after a run died between the vendor's deactivation and its record asks
/// the vendor first: where removal deactivates, the inactive account is already removed, so
/// it is recorded removed and nothing is sent again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_dismissal_does_not_deactivate_again_what_removal_deactivated() {
    let w = Walk::start().await;
    let key = "sandbox-sauce-resume";
    let co = crate::flows::plus_company(&w, "sauce-resume-owner@example.com").await;
    let connected = w
        .send(
            "POST",
            &co.path("/apps/sauce_labs/connection"),
            Some(&co.admin),
            Some(json!({"data_center": "us-west-1", "username": "acme-admin", "access_key": key})),
        )
        .await;
    assert_eq!(connected.status, 200, "{}", connected.text());
    let bob = member(&w, &co, person("Bob", "Byte", Some("bob@example.com"))).await;
    let id = account_for(&w, &co, "sauce_labs", &bob).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let dismissed = w
        .send(
            "PUT",
            &co.path(&format!("/team_members/{bob}/dismissal")),
            Some(&co.admin),
            Some(json!({"last_day": "2026-03-02"})),
        )
        .await;
    assert_eq!(dismissed.status, 200, "{}", dismissed.text());
    w.clock.set("2026-03-03T08:00:00Z".parse().unwrap());

    // The dead run: it claimed Bob's removal and Sauce Labs deactivated him (what a suspend
    // does too), then it died before recording anything.
    act_on(&w, &co, "sauce_labs", &id, "suspend").await;
    let store = &w.local.services.store;
    let dismissal = prov_core::keys::dismissal_key(&co.id, &bob);
    let item = store.get(&dismissal).await.unwrap().unwrap();
    let mut record = Value::Object(item.data.clone());
    record["state"] = json!("running");
    // The run came at 08:00 (its moment in the hour after midnight, issue 24).
    record["next_run_at"] = json!("2026-03-03T08:00:00Z");
    record["steps"] = json!([{
        "app": "sauce_labs", "account_id": id, "email": "bob@example.com", "removal": "delete",
        "state": {"state": "claimed", "at": "2026-03-03T08:00:00Z"}, "attempts": 1
    }]);
    let crashed = prov_core::store::Item::from_record(dismissal, &record)
        .unwrap()
        .with_index("DISMISSALS", format!("20260303T080000.000000Z#{}#{bob}", co.id));
    store.replace(crashed, item.version).await.unwrap();
    let sent = w.local.sandbox.changes("PATCH");

    // After the claim's lease (longer than the vendor calls may take, issue 24).
    let lease = prov_processes::dismissal::claim_lease(&w.local.apps);
    let claimed: chrono::DateTime<chrono::Utc> = "2026-03-03T08:00:00Z".parse().unwrap();
    w.clock.set(claimed + lease);
    w.local.tick().await.unwrap();
    assert_eq!(w.local.sandbox.changes("PATCH"), sent, "no second deactivation");
    let task = w
        .send(
            "GET",
            &co.path(&format!("/team_members/{bob}/offboarding")),
            Some(&co.admin),
            None,
        )
        .await
        .json();
    assert_eq!(task["status"], "completed", "{task}");
    assert_eq!(app_account(&w, &co, "sauce_labs", &id).await["status"], "deleted");
}
