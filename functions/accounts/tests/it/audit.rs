//! The audit log: one event per state change, newest first, paged.

use serde_json::json;

use crate::support::World;

#[tokio::test]
async fn every_state_change_writes_an_event() {
    let w = World::new().await;
    let c = w.company("owner@example.com").await;
    let created = w
        .send(
            "POST",
            &format!("/v1/companies/{}/team_members", c.id),
            Some(&c.admin),
            Some(json!({"first_name": "Ada", "last_name": "L", "kind": "employee"})),
        )
        .await;
    let request_id = created.header("x-request-id").unwrap().to_owned();
    let tm = created.json()["id"].as_str().unwrap().to_owned();
    w.send(
        "PATCH",
        &format!("/v1/companies/{}/team_members/{tm}", c.id),
        Some(&c.admin),
        Some(json!({"last_name": "Lovelace"})),
    )
    .await;
    let (ivy, _) = w.invited_admin(&c, "ivy@example.com", json!([])).await;
    w.send(
        "PATCH",
        &format!("/v1/companies/{}/admins/{ivy}", c.id),
        Some(&c.admin),
        Some(json!({"permissions": ["manage_apps"]})),
    )
    .await;
    w.send(
        "PATCH",
        &format!("/v1/companies/{}", c.id),
        Some(&w.partner),
        Some(json!({"plan": "premium"})),
    )
    .await;
    // Refused and read-only calls write nothing.
    w.send(
        "POST",
        &format!("/v1/companies/{}/team_members", c.id),
        Some(&c.admin),
        Some(json!({"first_name": "No"})),
    )
    .await;
    w.get(&format!("/v1/companies/{}/team_members", c.id), &c.admin)
        .await;

    assert_eq!(
        w.actions(&c).await,
        [
            "company.plan_changed",
            "admin.permissions_changed",
            "account.claimed",
            "admin.invited",
            "team_member.updated",
            "team_member.created",
            "account.claimed",
            "company.provisioned",
        ]
    );

    let events = w
        .get(&format!("/v1/companies/{}/events?limit=100", c.id), &c.admin)
        .await
        .json();
    let created_event = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "team_member.created")
        .unwrap()
        .clone();
    assert_eq!(
        created_event["actor"],
        json!({"kind": "admin", "user_id": c.admin_id})
    );
    assert_eq!(created_event["target"], json!({"kind": "team_member", "id": tm}));
    assert_eq!(created_event["result"], "succeeded");
    assert_eq!(created_event["request_id"], request_id);
    assert_eq!(created_event["at"], "2026-03-01T12:00:00Z");
    let plan_event = &events["items"][0];
    assert_eq!(plan_event["actor"]["kind"], "partner");
    assert_eq!(plan_event["detail"], "simple -> premium");
}

#[tokio::test]
async fn events_page_newest_first_and_stay_in_their_company() {
    let w = World::new().await;
    let c = w.company("owner@example.com").await;
    let other = w.company("other@example.com").await;
    for i in 0..5 {
        w.clock.advance(chrono::Duration::seconds(1));
        w.team_member(
            &c,
            json!({"first_name": format!("P{i}"), "last_name": "X", "kind": "employee"}),
        )
        .await;
    }
    let mut seen = Vec::new();
    let mut uri = format!("/v1/companies/{}/events?limit=3", c.id);
    loop {
        let page = w.get(&uri, &c.admin).await.json();
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["at"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => uri = format!("/v1/companies/{}/events?limit=3&cursor={cursor}", c.id),
            None => break,
        }
    }
    assert_eq!(seen.len(), 7, "2 from provisioning and claiming, 5 team members");
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted, "newest first");
    assert_eq!(
        w.actions(&other).await,
        ["account.claimed", "company.provisioned"]
    );
}
