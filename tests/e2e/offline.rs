//! The sandbox shows the product offline (issue 23, point 6): a sandbox app emails its
//! invitation to the devserver's outbox with a link to accept it, as the real vendors email
//! people, and its users can be changed by hand (a page, or calls); the next scheduled sync
//! shows either at the service.

use chrono::Duration;
use serde_json::{Value, json};

use crate::reconcile::{account_of, events, one_cycle, report};
use crate::support::{Co, Walk};

const TOKEN: &str = "sandbox-offline";

async fn get_html(w: &Walk, path: &str) -> prov_testkit::Answer {
    let request = axum::http::Request::builder()
        .uri(path)
        .header("accept", "text/html")
        .body(axum::body::Body::empty())
        .unwrap();
    prov_testkit::call(&w.app, request).await
}

async fn post(w: &Walk, path: &str, accept: &str) -> prov_testkit::Answer {
    let request = axum::http::Request::builder()
        .method("POST")
        .uri(path)
        .header("accept", accept)
        .body(axum::body::Body::empty())
        .unwrap();
    prov_testkit::call(&w.app, request).await
}

async fn invitations_to(w: &Walk, email: &str) -> Vec<Value> {
    w.local
        .outbox
        .recent(100)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.email.to == email && m.email.subject.starts_with("You are invited"))
        .map(|m| json!({"subject": m.email.subject, "text": m.email.text}))
        .collect()
}

async fn ada_with_an_account(w: &Walk, co: &Co) -> String {
    let ada = w
        .team_member(
            co,
            json!({"first_name": "Ada", "last_name": "Lovelace", "kind": "employee", "email": "ada@example.com"}),
        )
        .await;
    let created = w
        .send(
            "POST",
            &co.path("/apps/sandbox_scim/accounts"),
            Some(&co.admin),
            Some(json!({"team_member_id": ada})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    assert_eq!(created.json()["status"], "invite_sent", "{}", created.text());
    ada
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invitation_accepted_through_the_outbox_link_shows_connected_after_a_scheduled_cycle() {
    let w = Walk::start().await;
    let co = w.connected_company("owner@example.com", TOKEN).await;
    let period = Duration::hours(1);
    assert_eq!(w.local.reconcile(period).await.unwrap(), 0);
    ada_with_an_account(&w, &co).await;

    // The app emailed Ada, once, as the vendor would: where, as whom, and the link.
    let mails = invitations_to(&w, "ada@example.com").await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(
        mails[0]["subject"],
        format!(
            "You are invited to join {} in Sandbox SCIM app",
            prov_sandbox::tenant_name(TOKEN)
        )
    );
    let text = mails[0]["text"].as_str().unwrap();
    assert!(text.starts_with("Hello Ada Lovelace,"), "{text}");
    let link = text
        .split_whitespace()
        .find(|word| word.contains("/_sandbox/invitations/"))
        .unwrap();
    let base = w.local.services.settings.public_base_url.clone();
    let path = link.strip_prefix(&base).expect("a link on the devserver");

    // The link shows the invitation; accepting it is a form (a mail scanner's GET accepts nothing).
    let page = get_html(&w, path).await;
    assert_eq!(page.status, 200);
    let joins = format!("Join {} in sandbox_scim", prov_sandbox::tenant_name(TOKEN));
    assert!(page.text().contains(&joins), "{}", page.text());
    assert!(page.text().contains("<form method=\"post\">"), "{}", page.text());
    assert!(
        w.local
            .sandbox
            .user(TOKEN, "ada@example.com")
            .unwrap()
            .invite_pending
    );
    let accepted = post(&w, path, "text/html").await;
    assert_eq!(accepted.status, 200);
    assert!(
        accepted.text().contains("Invitation accepted"),
        "{}",
        accepted.text()
    );
    assert!(
        !w.local
            .sandbox
            .user(TOKEN, "ada@example.com")
            .unwrap()
            .invite_pending
    );
    assert!(get_html(&w, path).await.text().contains("accepted already"));
    let unknown = get_html(&w, "/_sandbox/invitations/sbx-nothing").await;
    assert_eq!(unknown.status, 404);

    // The service learns it at its next scheduled sync: "Invite Sent", then "Connected".
    assert_eq!(
        account_of(&w, &co, "ada@example.com").await["status"],
        "invite_sent"
    );
    one_cycle(&w, period).await;
    assert_eq!(
        account_of(&w, &co, "ada@example.com").await["status"],
        "connected"
    );
    let logged = events(&w, &co).await;
    assert!(
        logged.iter().any(|e| e["action"] == "account.connected"),
        "{logged:?}"
    );
    // Nothing else was mailed for it: the sync read the account, it did not invite again.
    assert_eq!(invitations_to(&w, "ada@example.com").await.len(), 1);
}

/// An app that adds people at once (no invitation pending after its call) emails nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_that_adds_people_at_once_sends_no_invitation() {
    let w = Walk::start().await;
    let (co, _) = crate::flows::oauth_connected(
        &w,
        "box-offline@example.com",
        "box",
        "/_sandbox/box/api/oauth2/authorize",
    )
    .await;
    let tenant = &prov_sandbox::oauth_tenant("box");
    let ada = w
        .team_member(
            &co,
            json!({"first_name": "Ada", "last_name": "Lovelace", "kind": "employee", "email": "ada@example.com"}),
        )
        .await;
    let created = w
        .send(
            "POST",
            &co.path("/apps/box/accounts"),
            Some(&co.admin),
            Some(json!({"team_member_id": ada})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    assert!(
        !w.local
            .sandbox
            .user(tenant, "ada@example.com")
            .unwrap()
            .invite_pending
    );
    assert!(invitations_to(&w, "ada@example.com").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sandbox_user_changed_by_hand_is_a_finding_after_the_next_scheduled_cycle() {
    let w = Walk::start().await;
    let co = w.connected_company("owner@example.com", TOKEN).await;
    let period = Duration::hours(1);
    assert_eq!(w.local.reconcile(period).await.unwrap(), 0);
    w.local
        .sandbox
        .seed_user(TOKEN, "grace@example.com", "Grace", "Hopper");
    w.team_member(
        &co,
        json!({"first_name": "Grace", "last_name": "Hopper", "kind": "employee", "email": "grace@example.com"}),
    )
    .await;
    assert_eq!(
        w.sync(&co, "sandbox_scim").await.json()["changes"]["auto_matched"],
        1
    );

    // The page lists the tenant's users with what can be done to each (the tenant by its id:
    // an API-key app's tenant is keyed by its token).
    let tenant = prov_sandbox::tenant_id(TOKEN);
    let page = get_html(&w, "/_sandbox").await;
    assert_eq!(page.status, 200);
    let deactivate = format!("/_sandbox/tenants/{tenant}/users/grace%40example.com/deactivate");
    assert!(
        page.text().contains(&format!("action=\"{deactivate}\"")),
        "{}",
        page.text()
    );
    assert!(page.text().contains("<td>Active</td>"), "{}", page.text());

    // Deactivated by hand (the page's form): back to the page, and the user is inactive.
    let done = post(&w, &deactivate, "text/html").await;
    assert_eq!(done.status, 303);
    assert_eq!(done.header("location"), Some("/_sandbox"));
    assert!(!w.local.sandbox.user(TOKEN, "grace@example.com").unwrap().active);
    assert!(
        get_html(&w, "/_sandbox")
            .await
            .text()
            .contains("<td>Deactivated</td>")
    );
    one_cycle(&w, period).await;
    let found = report(&w, &co).await;
    let changed: Vec<&Value> = found["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "changed_outside")
        .collect();
    assert_eq!(changed.len(), 1, "{found}");
    assert_eq!(changed[0]["change"], "suspended", "{found}");

    // Reactivated by a call (a script's: the user as JSON): the finding resolves itself.
    let again = post(
        &w,
        &format!("/_sandbox/tenants/{tenant}/users/grace@example.com/reactivate"),
        "application/json",
    )
    .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.json()["status"], "Active", "{}", again.text());
    one_cycle(&w, period).await;
    assert_eq!(report(&w, &co).await["open"], 0);

    // Deleted by a call: gone from the app; the next cycle sees the account vanished.
    let deleted = post(
        &w,
        &format!("/_sandbox/tenants/{tenant}/users/grace@example.com/delete"),
        "application/json",
    )
    .await;
    assert_eq!(deleted.json()["status"], "deleted", "{}", deleted.text());
    assert!(w.local.sandbox.user(TOKEN, "grace@example.com").is_none());
    one_cycle(&w, period).await;
    assert_eq!(account_of(&w, &co, "grace@example.com").await["present"], false);

    // What is not there is said so.
    let nobody = post(
        &w,
        &format!("/_sandbox/tenants/{tenant}/users/nobody@example.com/deactivate"),
        "application/json",
    )
    .await;
    assert_eq!(nobody.status, 404);
    w.local
        .sandbox
        .seed_user(TOKEN, "alan@example.com", "Alan", "Turing");
    let unknown = post(
        &w,
        &format!("/_sandbox/tenants/{tenant}/users/alan@example.com/promote"),
        "application/json",
    )
    .await;
    assert_eq!(unknown.status, 404);
    let not_invited = post(
        &w,
        &format!("/_sandbox/tenants/{tenant}/users/alan@example.com/accept"),
        "application/json",
    )
    .await;
    assert_eq!(not_invited.status, 409);
}
