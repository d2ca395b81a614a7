//! Who may do what: admins and permissions, plan gating, the catalog. (The walk over every
//! company route of every function is in `tests/e2e/access.rs`.)

use serde_json::{Value, json};

use crate::support::World;

#[tokio::test]
async fn granting_and_revoking_manage_apps_emails_the_admin() {
    let w = World::new().await;
    let c = w.company("owner@example.com").await;
    let (ivy_id, ivy) = w.invited_admin(&c, "ivy@example.com", json!([])).await;
    let apps = format!("/v1/companies/{}/apps", c.id);
    assert_eq!(w.get(&apps, &ivy).await.status, 403);

    let grant = w
        .send(
            "PATCH",
            &format!("/v1/companies/{}/admins/{ivy_id}", c.id),
            Some(&c.admin),
            Some(json!({"permissions": ["manage_apps"]})),
        )
        .await;
    assert_eq!(grant.status, 200, "{}", grant.text());
    assert_eq!(grant.json()["permissions"], json!(["manage_apps"]));
    let newest = &w.outbox.recent(1).await.unwrap()[0];
    assert_eq!(newest.email.to, "ivy@example.com");
    assert!(
        newest.email.subject.contains("You can now manage apps"),
        "{}",
        newest.email.subject
    );
    assert_eq!(w.get(&apps, &ivy).await.status, 200);

    // Granting again changes nothing and sends nothing.
    let count = w.outbox.recent(100).await.unwrap().len();
    let again = w
        .send(
            "PATCH",
            &format!("/v1/companies/{}/admins/{ivy_id}", c.id),
            Some(&c.admin),
            Some(json!({"permissions": ["manage_apps"]})),
        )
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(w.outbox.recent(100).await.unwrap().len(), count);

    let revoke = w
        .send(
            "PATCH",
            &format!("/v1/companies/{}/admins/{ivy_id}", c.id),
            Some(&c.admin),
            Some(json!({"permissions": []})),
        )
        .await;
    assert_eq!(revoke.status, 200);
    let newest = &w.outbox.recent(1).await.unwrap()[0];
    assert!(newest.email.subject.contains("was removed"));
    assert_eq!(w.get(&apps, &ivy).await.status, 403);

    let actions = w.actions(&c).await;
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == "admin.permissions_changed")
            .count(),
        2
    );
}

#[tokio::test]
async fn only_the_primary_admin_or_partner_manages_admins() {
    let w = World::new().await;
    let c = w.company("owner@example.com").await;
    let (ivy_id, ivy) = w
        .invited_admin(&c, "ivy@example.com", json!(["manage_apps"]))
        .await;
    let admins = format!("/v1/companies/{}/admins", c.id);

    let listed = w.get(&admins, &ivy).await;
    assert_eq!(listed.status, 200);
    let items = listed.json()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 2);
    let ivy_view = items.iter().find(|a| a["id"] == ivy_id).unwrap();
    assert_eq!(ivy_view["role"], "admin");
    assert_eq!(ivy_view["non_employee"], true);
    assert_eq!(ivy_view["claimed"], true);
    let primary = items.iter().find(|a| a["id"] == c.admin_id).unwrap();
    assert_eq!(primary["role"], "primary_admin");
    assert_eq!(primary["permissions"], json!(["manage_apps"]));

    // An admin, even one who manages apps, cannot hand out admin rights.
    let invite = json!({"first_name": "E", "last_name": "V", "email": "eve@example.com", "permissions": ["manage_apps"]});
    let refused = w.send("POST", &admins, Some(&ivy), Some(invite.clone())).await;
    assert_eq!(refused.status, 403);
    let self_grant = w
        .send(
            "PATCH",
            &format!("{admins}/{}", c.admin_id),
            Some(&ivy),
            Some(json!({"permissions": []})),
        )
        .await;
    assert_eq!(self_grant.status, 403);

    // The primary admin's permissions are fixed; unknown admins are not found.
    let primary_change = w
        .send(
            "PATCH",
            &format!("{admins}/{}", c.admin_id),
            Some(&c.admin),
            Some(json!({"permissions": []})),
        )
        .await;
    assert_eq!(primary_change.status, 422);
    let unknown = w
        .send(
            "PATCH",
            &format!("{admins}/usr_nope"),
            Some(&c.admin),
            Some(json!({"permissions": []})),
        )
        .await;
    assert_eq!(unknown.status, 404);
    let bad = w
        .send(
            "PATCH",
            &format!("{admins}/{ivy_id}"),
            Some(&c.admin),
            Some(json!({"permissions": ["root"]})),
        )
        .await;
    assert_eq!(
        (bad.status.as_u16(), bad.error_keys()),
        (422, vec!["permissions[0]".to_owned()])
    );

    // The partner may invite; an email already in use is refused.
    let by_partner = w.send("POST", &admins, Some(&w.partner), Some(invite)).await;
    assert_eq!(by_partner.status, 201, "{}", by_partner.text());
    let invitation = &w.outbox.recent(1).await.unwrap()[0];
    assert_eq!(invitation.email.to, "eve@example.com");
    assert!(invitation.email.text.contains("manage apps"));
    let duplicate = w
        .send(
            "POST",
            &admins,
            Some(&c.admin),
            Some(json!({"first_name": "O", "last_name": "W", "email": "OWNER@example.com"})),
        )
        .await;
    assert_eq!(
        (duplicate.status.as_u16(), duplicate.error_keys()),
        (422, vec!["email".to_owned()])
    );
}

#[tokio::test]
async fn the_plan_gates_provisioning_apps() {
    let w = World::new().await;
    let c = w.company("owner@example.com").await;
    let apps = format!("/v1/companies/{}/apps", c.id);
    let on_simple = w.get(&apps, &c.admin).await.json();
    let slugs = |list: &Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|a| a["slug"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        slugs(&on_simple["available"]),
        ["google_workspace", "microsoft_365"]
    );
    assert_eq!(on_simple["unavailable"].as_array().unwrap().len(), 17);
    assert!(on_simple["connected"].as_array().unwrap().is_empty());
    let slack = on_simple["unavailable"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["slug"] == "slack")
        .unwrap();
    assert!(
        slack["unavailable_reason"]
            .as_str()
            .unwrap()
            .contains("Plus or Premium")
    );

    // Only the partner changes the plan.
    let company = format!("/v1/companies/{}", c.id);
    let by_admin = w
        .send("PATCH", &company, Some(&c.admin), Some(json!({"plan": "plus"})))
        .await;
    assert_eq!(by_admin.status, 403);
    let bad = w
        .send("PATCH", &company, Some(&w.partner), Some(json!({"plan": "gold"})))
        .await;
    assert_eq!(
        (bad.status.as_u16(), bad.error_keys()),
        (422, vec!["plan".to_owned()])
    );
    let upgraded = w
        .send("PATCH", &company, Some(&w.partner), Some(json!({"plan": "plus"})))
        .await;
    assert_eq!(upgraded.status, 200);
    assert_eq!(upgraded.json()["plan"], "plus");

    let on_plus = w.get(&apps, &c.admin).await.json();
    assert_eq!(on_plus["available"].as_array().unwrap().len(), 19);
    assert!(on_plus["unavailable"].as_array().unwrap().is_empty());
    assert_eq!(w.actions(&c).await[0], "company.plan_changed");
}

#[tokio::test]
async fn the_catalog_lists_the_nineteen_apps() {
    let w = World::new().await;
    let c = w.company("owner@example.com").await;
    let apps = w.get("/v1/apps", &c.admin).await;
    assert_eq!(apps.status, 200);
    let items = apps.json()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 19);
    let okta = items.iter().find(|a| a["slug"] == "okta").unwrap();
    assert_eq!(okta["connection_type"], "api_key");
    assert_eq!(okta["vendor_plan_note"], "Requires a paid Okta plan.");
    // Okta's lifecycle API suspends and unsuspends users.
    assert_eq!(okta["capabilities"]["suspend"], true);
    let secret_fields: Vec<_> = okta["credential_fields"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["secret"] == true)
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(secret_fields, ["api_token"]);

    let gw = w.get("/v1/apps/google_workspace", &w.partner).await;
    assert_eq!(gw.status, 200);
    assert_eq!(gw.json()["capabilities"]["groups"], true);
    assert_eq!(gw.json()["requires_plus_or_premium"], false);
    let okta = w.get("/v1/apps/okta", &w.partner).await.json();
    assert_eq!(
        okta["hosts"],
        json!(["*.okta.com", "*.oktapreview.com", "*.okta-emea.com"])
    );
    assert_eq!(okta["connectable"], true);
    assert_eq!(okta["environments"], json!([]));
    assert_eq!(gw.json()["connectable"], true);
    assert_eq!(
        gw.json()["hosts"],
        json!([
            "admin.googleapis.com",
            "accounts.google.com",
            "oauth2.googleapis.com"
        ])
    );
    let salesforce = w.get("/v1/apps/salesforce", &w.partner).await.json();
    assert_eq!(salesforce["environments"], json!(["production", "sandbox"]));
    assert_eq!(w.get("/v1/apps/myspace", &w.partner).await.status, 404);
    assert_eq!(w.send("GET", "/v1/apps", None, None).await.status, 401);
}
