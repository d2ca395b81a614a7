//! Team members: create, read, update, list, validation and eligibility.

use serde_json::{Value, json};

use crate::support::World;

fn ada() -> Value {
    json!({"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "kind": "employee"})
}

#[tokio::test]
async fn create_read_update_and_list() {
    let w = World::new().await;
    let c = w.company("owner@example.com").await;
    let created = w.team_member(&c, ada()).await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("tm_"));
    assert_eq!(created["work_country"], "US");
    assert_eq!(created["offer_status"], "none");
    assert_eq!(created["employment_status"], "active");
    assert_eq!(created["provisioning"], json!({"eligible": true, "reason": null}));

    let path = format!("/v1/companies/{}/team_members/{id}", c.id);
    let got = w.get(&path, &c.admin).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.json(), created);

    let patched = w
        .send(
            "PATCH",
            &path,
            Some(&c.admin),
            Some(json!({"email": "ADA@example.org", "start_date": "2026-04-01", "offer_status": "sent"})),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text());
    let body = patched.json();
    assert_eq!(body["email"], "ADA@example.org");
    assert_eq!(body["start_date"], "2026-04-01");
    assert_eq!(body["offer_status"], "sent");
    assert_eq!(body["first_name"], "Ada");

    let cleared = w
        .send(
            "PATCH",
            &path,
            Some(&c.admin),
            Some(json!({"email": null, "start_date": null})),
        )
        .await;
    assert_eq!(cleared.status, 200);
    assert_eq!(cleared.json()["email"], Value::Null);
    assert_eq!(cleared.json()["start_date"], Value::Null);

    for i in 0..4 {
        w.team_member(
            &c,
            json!({"first_name": format!("P{i}"), "last_name": "X", "kind": "contractor"}),
        )
        .await;
    }
    let mut names = Vec::new();
    let mut uri = format!("/v1/companies/{}/team_members?limit=2", c.id);
    loop {
        let page = w.get(&uri, &c.admin).await.json();
        names.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["first_name"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => uri = format!("/v1/companies/{}/team_members?limit=2&cursor={cursor}", c.id),
            None => break,
        }
    }
    assert_eq!(
        names,
        ["Ada", "P0", "P1", "P2", "P3"],
        "listed in the order they were added"
    );
}

#[tokio::test]
async fn bad_team_member_input_is_refused_by_name() {
    let w = World::new().await;
    let c = w.company("owner@example.com").await;
    let url = format!("/v1/companies/{}/team_members", c.id);
    let cases = [
        (json!({"last_name": "L", "kind": "employee"}), "first_name"),
        (json!({"first_name": "F", "last_name": "L"}), "kind"),
        (
            json!({"first_name": "F", "last_name": "L", "kind": "intern"}),
            "kind",
        ),
        (
            json!({"first_name": "F", "last_name": "L", "kind": "employee", "work_country": "XX"}),
            "work_country",
        ),
        (
            json!({"first_name": "F", "last_name": "L", "kind": "employee", "start_date": "2026-13-01"}),
            "start_date",
        ),
        (
            json!({"first_name": "F", "last_name": "L", "kind": "employee", "email": "nope"}),
            "email",
        ),
        (
            json!({"first_name": "F", "last_name": "L", "kind": "employee", "offer_status": "maybe"}),
            "offer_status",
        ),
        (
            json!({"first_name": "F", "last_name": "L", "kind": "employee", "nickname": "x"}),
            "nickname",
        ),
        (
            json!({"first_name": "F", "last_name": "L", "kind": "employee", "employment_status": "dismissed"}),
            "employment_status",
        ),
        (
            json!({"first_name": 7, "last_name": "L", "kind": "employee"}),
            "first_name",
        ),
    ];
    for (body, key) in cases {
        let answer = w.send("POST", &url, Some(&c.admin), Some(body.clone())).await;
        assert_eq!(answer.status, 422, "{body}: {}", answer.text());
        assert_eq!(answer.error_keys(), [key], "{body}");
    }
    let listed = w.get(&url, &c.admin).await;
    assert!(listed.json()["items"].as_array().unwrap().is_empty());

    let id = w.team_member(&c, ada()).await["id"].as_str().unwrap().to_owned();
    let path = format!("{url}/{id}");
    for (body, key) in [
        (json!({}), "body"),
        (json!({"first_name": null}), "first_name"),
        (json!({"last_day": "2026-05-01"}), "last_day"),
        (json!({"kind": "boss"}), "kind"),
    ] {
        let answer = w.send("PATCH", &path, Some(&c.admin), Some(body.clone())).await;
        assert_eq!(answer.status, 422, "{body}: {}", answer.text());
        assert_eq!(answer.error_keys(), [key], "{body}");
    }
    let missing = w.get(&format!("{url}/tm_nope"), &c.admin).await;
    assert_eq!(missing.status, 404);
}

#[tokio::test]
async fn one_email_per_company_and_the_email_moves_with_updates() {
    let w = World::new().await;
    let c = w.company("owner@example.com").await;
    let other = w.company("owner2@example.com").await;
    let url = format!("/v1/companies/{}/team_members", c.id);
    let first = w.team_member(&c, ada()).await;
    let mut dup = ada();
    dup["email"] = json!(" ADA@Example.com ");
    let answer = w.send("POST", &url, Some(&c.admin), Some(dup.clone())).await;
    assert_eq!(answer.status, 422);
    assert_eq!(answer.error_keys(), ["email"]);
    // Another company may have its own Ada.
    w.team_member(&other, dup).await;

    // A second person cannot take Ada's email by update either.
    let bob = w
        .team_member(
            &c,
            json!({"first_name": "Bob", "last_name": "B", "kind": "employee", "email": "bob@example.com"}),
        )
        .await;
    let bob_path = format!("{url}/{}", bob["id"].as_str().unwrap());
    let stolen = w
        .send(
            "PATCH",
            &bob_path,
            Some(&c.admin),
            Some(json!({"email": "ada@example.com"})),
        )
        .await;
    assert_eq!(stolen.status, 422);
    assert_eq!(
        w.get(&bob_path, &c.admin).await.json()["email"],
        "bob@example.com"
    );

    // Once Ada changes her email, the old one is free.
    let ada_path = format!("{url}/{}", first["id"].as_str().unwrap());
    let moved = w
        .send(
            "PATCH",
            &ada_path,
            Some(&c.admin),
            Some(json!({"email": "ada@new.example.com"})),
        )
        .await;
    assert_eq!(moved.status, 200);
    let taken = w
        .send(
            "PATCH",
            &bob_path,
            Some(&c.admin),
            Some(json!({"email": "ada@example.com"})),
        )
        .await;
    assert_eq!(taken.status, 200, "{}", taken.text());
}

#[tokio::test]
async fn eligibility_is_shown_with_its_reason() {
    let w = World::new().await;
    let c = w.company("owner@example.com").await;
    let cases = [
        ("employee", "US", true, None),
        ("contractor", "US", true, None),
        ("employee", "CA", false, Some("international employee")),
        ("contractor", "GB", false, Some("international contractor")),
    ];
    for (kind, country, eligible, why) in cases {
        let m = w
            .team_member(
                &c,
                json!({"first_name": "F", "last_name": "L", "kind": kind, "work_country": country}),
            )
            .await;
        assert_eq!(m["provisioning"]["eligible"], eligible, "{kind} in {country}");
        match why {
            Some(w) => assert!(m["provisioning"]["reason"].as_str().unwrap().contains(w)),
            None => assert!(m["provisioning"]["reason"].is_null()),
        }
    }
}
