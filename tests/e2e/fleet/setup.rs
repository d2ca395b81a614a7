//! A company with a layoff: its OAuth apps connected through the sandbox's consent pages,
//! its people with a matched account in each app, all dismissed with the same last day.

use prov_core::keys::breaker_key;
use prov_core::store::Item;
use serde_json::json;

use crate::support::{Co, PARTNER, Walk};

/// Connects `app` for `co` as an admin does: start, the start link in the admin's
/// browser, the vendor's consent page (its authorize path under the sandbox), the callback.
async fn connect(w: &Walk, co: &Co, app: &str) {
    let oauth = prov_connectors::registry::spec(app).unwrap().oauth.unwrap();
    let authorize = url::Url::parse(oauth.authorize_url).unwrap();
    let consent_path = format!("/_sandbox/{app}{}", authorize.path());
    crate::flows::oauth_connect(w, co, app, &consent_path, json!({})).await;
}

/// A Plus company with `apps` connected, `people` team members each matched to an account
/// in every app, every app's safeguard confirmed for the layoff (an admin's decision: a
/// fifth of an app's accounts in an hour pauses otherwise), and everyone dismissed with
/// last day 2026-03-02 (access ends at 00:00 Pacific on March 3, 08:00 UTC). Answers the
/// company and its team members.
pub async fn layoff(w: &Walk, owner: &str, people: usize, apps: &[&str]) -> (Co, Vec<String>) {
    let (id, admin) = w.company(PARTNER, owner).await;
    let co = Co { id, admin };
    let plan = w
        .send(
            "PATCH",
            &co.path(""),
            Some(PARTNER),
            Some(json!({"plan": "plus"})),
        )
        .await;
    assert_eq!(plan.status, 200, "{}", plan.text());
    for app in apps {
        connect(w, &co, app).await;
    }
    let person = |i: usize| {
        (
            format!("person{i:03}@example.com"),
            format!("First{i:03}"),
            format!("Last{i:03}"),
        )
    };
    let mut team = Vec::new();
    for i in 0..people {
        let (email, first, last) = person(i);
        for app in apps {
            w.local
                .sandbox
                .seed_user(&prov_sandbox::oauth_tenant(app), &email, &first, &last);
        }
        let body = json!({"first_name": first, "last_name": last, "kind": "employee", "email": email});
        team.push(w.team_member(&co, body).await);
    }
    for app in apps {
        let synced = w.sync(&co, app).await;
        assert_eq!(
            synced.json()["changes"]["auto_matched"],
            people,
            "{app}: {}",
            synced.text()
        );
        let confirmed = Item::from_record(
            breaker_key(&co.id, app),
            &json!({"confirmed_until": "2026-03-04T00:00:00Z"}),
        )
        .unwrap();
        w.local.services.store.create(confirmed).await.unwrap();
    }
    for tm in &team {
        let dismissed = w
            .send(
                "PUT",
                &co.path(&format!("/team_members/{tm}/dismissal")),
                Some(&co.admin),
                Some(json!({"last_day": "2026-03-02"})),
            )
            .await;
        assert_eq!(dismissed.status, 200, "{}", dismissed.text());
        assert_eq!(dismissed.json()["status"], "scheduled");
    }
    (co, team)
}
