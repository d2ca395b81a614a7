//! Removing admins and rotating tokens (issue 25, point 1): a removed admin's token and
//! console session stop working at once and they are told; admins and partners rotate their
//! own tokens (a partner's old one may overlap up to 24 hours); each token's last use is
//! recorded and shown, never the token.

use chrono::Duration;
use serde_json::{Value, json};

use crate::console::Client;
use crate::support::{Co, OTHER_PARTNER, PARTNER, Walk};

/// Invites an admin (with `manage_apps` when `apps`) and claims the invitation: (id, token).
async fn invited_admin(w: &Walk, co: &Co, email: &str, apps: bool) -> (String, String) {
    let permissions = if apps { json!(["manage_apps"]) } else { json!([]) };
    let invited = w
        .send(
            "POST",
            &co.path("/admins"),
            Some(&co.admin),
            Some(json!({"first_name": "Ann", "last_name": "Admin", "email": email, "permissions": permissions})),
        )
        .await;
    assert_eq!(invited.status, 201, "{}", invited.text());
    let id = invited.json()["id"].as_str().unwrap().to_owned();
    let (_, token) = w.claim(email).await;
    (id, token)
}

async fn company_status(w: &Walk, co: &Co, token: &str) -> u16 {
    w.send("GET", &co.path(""), Some(token), None)
        .await
        .status
        .as_u16()
}

async fn events(w: &Walk, co: &Co) -> Vec<Value> {
    w.send("GET", &co.path("/events?limit=100"), Some(&co.admin), None)
        .await
        .json()["items"]
        .as_array()
        .unwrap()
        .clone()
}

async fn admins(w: &Walk, co: &Co) -> Vec<Value> {
    w.send("GET", &co.path("/admins"), Some(&co.admin), None)
        .await
        .json()["items"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_an_admin_ends_their_token_and_console_session_at_once_and_tells_them() {
    let w = Walk::start().await;
    let (id, admin_token) = w.company(PARTNER, "owner@example.com").await;
    let co = Co {
        id,
        admin: admin_token,
    };
    let (ann, token) = invited_admin(&w, &co, "ann@example.com", true).await;
    let mut console = Client::new(&w);
    assert_eq!(console.sign_in(&token).await.status, 303);
    assert_eq!(console.get("/console/apps").await.status, 200);
    assert_eq!(company_status(&w, &co, &token).await, 200);

    let removed = w
        .send(
            "DELETE",
            &co.path(&format!("/admins/{ann}")),
            Some(&co.admin),
            None,
        )
        .await;
    assert_eq!(removed.status, 204, "{}", removed.text());

    // At once: the token is refused everywhere (it no longer exists), and the console
    // session sends the browser to sign in.
    assert_eq!(company_status(&w, &co, &token).await, 401);
    assert_eq!(w.send("GET", "/v1/apps", Some(&token), None).await.status, 401);
    assert_eq!(w.send("GET", "/v1/tokens", Some(&token), None).await.status, 401);
    let page = console.get("/console/apps").await;
    assert_eq!(page.status, 303);
    assert!(page.header("location").unwrap().starts_with("/console/sign_in"));
    assert_eq!(
        console.sign_in(&token).await.status,
        401,
        "nor can they sign in again"
    );
    // They are told; the log says who did it; the list no longer has them.
    let mail = w.local.outbox.recent(100).await.unwrap();
    let told = mail
        .iter()
        .find(|m| {
            m.email.to == "ann@example.com" && m.email.subject.starts_with("You are no longer an admin")
        })
        .expect("the removed admin is emailed");
    assert!(!told.email.text.contains(&token));
    let removal = events(&w, &co)
        .await
        .into_iter()
        .find(|e| e["action"] == "admin.removed")
        .expect("logged");
    assert_eq!(removal["target"]["id"], ann.as_str());
    assert_eq!(removal["actor"]["kind"], "admin");
    assert!(admins(&w, &co).await.iter().all(|a| a["id"] != ann.as_str()));
    // The address is free again: the same person can be invited anew.
    let (_, again) = invited_admin(&w, &co, "ann@example.com", false).await;
    assert_eq!(company_status(&w, &co, &again).await, 200);
    assert_eq!(
        company_status(&w, &co, &token).await,
        401,
        "the old token stays dead"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_primary_admin_and_the_owning_partner_remove_admins_no_one_else_and_never_the_primary() {
    let w = Walk::start().await;
    let (id, admin_token) = w.company(PARTNER, "owner@example.com").await;
    let co = Co {
        id,
        admin: admin_token,
    };
    let (_, bea_token) = invited_admin(&w, &co, "bea@example.com", true).await;
    let (cal, cal_token) = invited_admin(&w, &co, "cal@example.com", false).await;
    let (_, stranger) = w.company(OTHER_PARTNER, "stranger@example.com").await;
    let delete = |token: String, admin_id: String| {
        let path = co.path(&format!("/admins/{admin_id}"));
        let w = &w;
        async move { w.send("DELETE", &path, Some(&token), None).await }
    };
    // An admin with manage_apps is still not the primary admin; nobody else's token sees it.
    let by_bea = delete(bea_token.clone(), cal.clone()).await;
    assert_eq!(
        (by_bea.status.as_u16(), by_bea.category()),
        (403, "forbidden".to_owned())
    );
    assert_eq!(delete(stranger, cal.clone()).await.status, 404);
    assert_eq!(delete(OTHER_PARTNER.to_owned(), cal.clone()).await.status, 404);
    assert_eq!(
        company_status(&w, &co, &cal_token).await,
        200,
        "nothing was removed"
    );
    // The primary admin stays.
    let primary = admins(&w, &co)
        .await
        .into_iter()
        .find(|a| a["role"] == "primary_admin")
        .unwrap();
    let refused = delete(PARTNER.to_owned(), primary["id"].as_str().unwrap().to_owned()).await;
    assert_eq!(refused.status, 422, "{}", refused.text());
    assert_eq!(refused.error_keys(), ["admin_id"]);
    assert_eq!(company_status(&w, &co, &co.admin).await, 200);
    // The owning partner removes an admin; a second removal finds no one.
    assert_eq!(delete(PARTNER.to_owned(), cal.clone()).await.status, 204);
    assert_eq!(company_status(&w, &co, &cal_token).await, 401);
    assert_eq!(delete(PARTNER.to_owned(), cal).await.status, 404);
    let by_partner = events(&w, &co)
        .await
        .into_iter()
        .find(|e| e["action"] == "admin.removed")
        .unwrap();
    assert_eq!(by_partner["actor"]["kind"], "partner");
    assert_eq!(
        company_status(&w, &co, &bea_token).await,
        200,
        "only the one removed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_removed_before_claiming_finds_the_invitation_withdrawn() {
    let w = Walk::start().await;
    let (id, admin_token) = w.company(PARTNER, "owner@example.com").await;
    let co = Co {
        id,
        admin: admin_token,
    };
    let invited = w
        .send(
            "POST",
            &co.path("/admins"),
            Some(&co.admin),
            Some(json!({"first_name": "Dee", "last_name": "Admin", "email": "dee@example.com"})),
        )
        .await
        .json();
    let dee = invited["id"].as_str().unwrap();
    let mail = w.local.outbox.recent(100).await.unwrap();
    let claim = mail
        .iter()
        .find(|m| m.email.to == "dee@example.com")
        .unwrap()
        .email
        .text
        .split_whitespace()
        .find(|s| s.contains("/claim_account/"))
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let removed = w
        .send(
            "DELETE",
            &co.path(&format!("/admins/{dee}")),
            Some(&co.admin),
            None,
        )
        .await;
    assert_eq!(removed.status, 204);
    let claimed = w
        .send(
            "POST",
            &format!("/v1/claims/{claim}"),
            None,
            Some(json!({"email": "dee@example.com"})),
        )
        .await;
    assert_eq!(claimed.status, 410, "{}", claimed.text());
    assert_eq!(claimed.category(), "gone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_rotates_their_token_the_new_one_shown_once_and_the_old_one_dead() {
    let w = Walk::start().await;
    let (id, admin_token) = w.company(PARTNER, "owner@example.com").await;
    let co = Co {
        id,
        admin: admin_token,
    };
    let (eve, old) = invited_admin(&w, &co, "eve@example.com", false).await;
    // An admin's old token cannot be kept working.
    let overlap = w
        .send(
            "POST",
            "/v1/tokens/rotate",
            Some(&old),
            Some(json!({"overlap_hours": 1})),
        )
        .await;
    assert_eq!(overlap.status, 422, "{}", overlap.text());
    assert_eq!(overlap.error_keys(), ["overlap_hours"]);
    assert_eq!(company_status(&w, &co, &old).await, 200);

    let rotated = w
        .send("POST", "/v1/tokens/rotate", Some(&old), Some(json!({})))
        .await;
    assert_eq!(rotated.status, 201, "{}", rotated.text());
    assert_eq!(rotated.header("cache-control"), Some("no-store"));
    let answer = rotated.json();
    let new = answer["token"].as_str().unwrap().to_owned();
    assert_eq!(new.len(), 56);
    assert_ne!(new, old);
    assert!(!rotated.text().contains(&old), "the old token is never shown");
    assert_eq!(answer["retired"]["expires_at"], "2026-03-01T12:00:00Z");

    assert_eq!(company_status(&w, &co, &old).await, 401, "the old one is dead");
    assert_eq!(company_status(&w, &co, &new).await, 200);
    let mut console_old = Client::new(&w);
    assert_eq!(console_old.sign_in(&old).await.status, 401);
    // The new token is shown once: listing shows only its details.
    let listed = w.send("GET", "/v1/tokens", Some(&new), None).await;
    assert_eq!(listed.status, 200);
    let items = listed.json()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["current"], true);
    assert_eq!(items[0]["id"], answer["created"]["id"]);
    assert!(!listed.text().contains(&new));
    let rotation = events(&w, &co)
        .await
        .into_iter()
        .find(|e| e["action"] == "admin.token_rotated")
        .expect("logged");
    assert_eq!(rotation["target"]["id"], eve.as_str());
    // Removing the admin revokes the rotated token too.
    let removed = w
        .send(
            "DELETE",
            &co.path(&format!("/admins/{eve}")),
            Some(&co.admin),
            None,
        )
        .await;
    assert_eq!(removed.status, 204);
    assert_eq!(company_status(&w, &co, &new).await, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_rotates_its_token_with_an_overlap_of_at_most_24_hours() {
    let w = Walk::start().await;
    let (id, admin_token) = w.company(OTHER_PARTNER, "owner@example.com").await;
    let co = Co {
        id,
        admin: admin_token,
    };
    let too_long = w
        .send(
            "POST",
            "/v1/tokens/rotate",
            Some(OTHER_PARTNER),
            Some(json!({"overlap_hours": 25})),
        )
        .await;
    assert_eq!(too_long.status, 422, "{}", too_long.text());
    assert_eq!(too_long.error_keys(), ["overlap_hours"]);

    let rotated = w
        .send(
            "POST",
            "/v1/tokens/rotate",
            Some(OTHER_PARTNER),
            Some(json!({"overlap_hours": 2})),
        )
        .await;
    assert_eq!(rotated.status, 201, "{}", rotated.text());
    let answer = rotated.json();
    let new = answer["token"].as_str().unwrap().to_owned();
    assert_eq!(answer["retired"]["expires_at"], "2026-03-01T14:00:00Z");
    // Both work during the overlap; the partner sees both, never either token.
    assert_eq!(company_status(&w, &co, OTHER_PARTNER).await, 200);
    assert_eq!(company_status(&w, &co, &new).await, 200);
    let listed = w.send("GET", "/v1/tokens", Some(&new), None).await;
    let items = listed.json()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(items[0]["current"], true);
    assert_eq!(items[1]["expires_at"], "2026-03-01T14:00:00Z");
    assert!(!listed.text().contains(&new) && !listed.text().contains(OTHER_PARTNER));
    // After the overlap only the new one works.
    w.clock.advance(Duration::hours(2));
    assert_eq!(company_status(&w, &co, OTHER_PARTNER).await, 401);
    assert_eq!(company_status(&w, &co, &new).await, 200);
    let listed = w.send("GET", "/v1/tokens", Some(&new), None).await.json();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");
    // Without an overlap the old token dies at once.
    let again = w
        .send("POST", "/v1/tokens/rotate", Some(&new), Some(json!({})))
        .await
        .json();
    let newest = again["token"].as_str().unwrap();
    assert_eq!(company_status(&w, &co, &new).await, 401);
    assert_eq!(company_status(&w, &co, newest).await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_tokens_last_use_is_recorded_and_shown_never_the_token() {
    let w = Walk::start().await;
    let (id, admin_token) = w.company(PARTNER, "owner@example.com").await;
    let co = Co {
        id,
        admin: admin_token,
    };
    let (fay, token) = invited_admin(&w, &co, "fay@example.com", false).await;
    let last_use = |list: Vec<Value>| {
        list.into_iter().find(|a| a["id"] == fay.as_str()).unwrap()["token_last_used_at"].clone()
    };
    assert_eq!(last_use(admins(&w, &co).await), Value::Null, "never used");
    assert_eq!(company_status(&w, &co, &token).await, 200);
    assert_eq!(last_use(admins(&w, &co).await), "2026-03-01T12:00:00Z");
    // Recorded to the minute: a use 30 seconds later is not written again, one after a
    // minute is.
    w.clock.advance(Duration::seconds(30));
    assert_eq!(company_status(&w, &co, &token).await, 200);
    assert_eq!(last_use(admins(&w, &co).await), "2026-03-01T12:00:00Z");
    w.clock.advance(Duration::seconds(45));
    assert_eq!(company_status(&w, &co, &token).await, 200);
    assert_eq!(last_use(admins(&w, &co).await), "2026-03-01T12:01:15Z");
    let listed = w.send("GET", "/v1/tokens", Some(&token), None).await;
    assert_eq!(listed.json()["items"][0]["last_used_at"], "2026-03-01T12:01:15Z");
    let list = w
        .send("GET", &co.path("/admins"), Some(&co.admin), None)
        .await
        .text();
    for shown in [listed.text(), list] {
        for secret in [&token[..16], &co.admin[..16]] {
            assert!(!shown.contains(secret), "no token, nor its lookup part: {shown}");
        }
    }
}
