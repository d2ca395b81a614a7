//! Who may do what: the walk over every company route, admins and permissions, plan gating.

use serde_json::{Value, json};

use crate::support::{Company, World};

/// Every route with a company in its path, from every function.
fn company_routes() -> Vec<(&'static str, &'static str)> {
    provision::ROUTES
        .iter()
        .chain(accounts::ROUTES)
        .copied()
        .filter(|(_, path)| path.contains("{company_id}"))
        .collect()
}

/// A valid body for each writing route, so only authorization can refuse it.
fn body_for(method: &str, template: &str, n: usize) -> Option<Value> {
    match (method, template) {
        ("GET", _) => None,
        ("PATCH", "/v1/companies/{company_id}") => Some(json!({"plan": "plus"})),
        ("POST", t) if t.ends_with("/team_members") => Some(json!({
            "first_name": "Walk", "last_name": "Er", "kind": "employee", "email": format!("walk{n}@example.com")
        })),
        ("PATCH", t) if t.ends_with("{team_member_id}") => Some(json!({"first_name": format!("Renamed{n}")})),
        ("POST", t) if t.ends_with("/admins") => Some(json!({
            "first_name": "New", "last_name": "Admin", "email": format!("newadmin{n}@example.com")
        })),
        ("PATCH", t) if t.ends_with("{admin_id}") => Some(json!({"permissions": ["manage_apps"]})),
        other => panic!("no sample body for {other:?}: add one"),
    }
}

struct Victim {
    company: Company,
    team_member_id: String,
    admin_id: String,
    plain_admin: String,
}

async fn victim(w: &World) -> Victim {
    let company = w.company("victim@example.com").await;
    let team_member_id = w
        .team_member(
            &company,
            json!({"first_name": "T", "last_name": "M", "kind": "employee"}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (admin_id, plain_admin) = w.invited_admin(&company, "plain@example.com", json!([])).await;
    Victim {
        company,
        team_member_id,
        admin_id,
        plain_admin,
    }
}

fn concrete(template: &str, v: &Victim) -> String {
    template
        .replace("{company_id}", &v.company.id)
        .replace("{team_member_id}", &v.team_member_id)
        .replace("{admin_id}", &v.admin_id)
}

#[tokio::test]
async fn every_company_route_hides_the_company_from_strangers() {
    let w = World::new().await;
    let v = victim(&w).await;
    let stranger = w
        .company_of(&w.other_partner.clone(), "stranger@example.com")
        .await;
    let same_partner_other_company = w.company("neighbour@example.com").await;
    let routes = company_routes();
    assert!(routes.len() >= 11, "{routes:?}");
    let before = w.actions(&v.company).await;

    for (n, (method, template)) in routes.iter().enumerate() {
        let path = concrete(template, &v);
        let body = body_for(method, template, n);
        for (who, token) in [
            ("another partner", w.other_partner.as_str()),
            ("another company's admin", stranger.admin.as_str()),
            (
                "an admin of a sibling company",
                same_partner_other_company.admin.as_str(),
            ),
        ] {
            let answer = w.send(method, &path, Some(token), body.clone()).await;
            assert_eq!(
                answer.status,
                404,
                "{who}: {method} {template}: {}",
                answer.text()
            );
            assert_eq!(answer.category(), "not_found");
            assert!(
                !answer.text().contains(&v.company.id),
                "{method} {template} leaks the id"
            );
        }
        let anonymous = w.send(method, &path, None, body.clone()).await;
        assert_eq!(anonymous.status, 401, "{method} {template}");
    }
    assert_eq!(w.actions(&v.company).await, before, "strangers changed nothing");

    // The owning partner may use each route (the bodies are valid), so the refusals above
    // came from authorization alone.
    for (n, (method, template)) in routes.iter().enumerate() {
        let path = concrete(template, &v);
        let answer = w
            .send(
                method,
                &path,
                Some(&w.partner),
                body_for(method, template, n + 100),
            )
            .await;
        assert!(
            answer.status.is_success(),
            "partner: {method} {template}: {}",
            answer.text()
        );
    }
}

#[tokio::test]
async fn app_routes_need_manage_apps() {
    let w = World::new().await;
    let v = victim(&w).await;
    let app_routes: Vec<_> = company_routes()
        .into_iter()
        .filter(|(_, p)| p.contains("/apps"))
        .collect();
    assert!(!app_routes.is_empty());
    for (n, (method, template)) in app_routes.iter().enumerate() {
        let path = concrete(template, &v);
        let answer = w
            .send(method, &path, Some(&v.plain_admin), body_for(method, template, n))
            .await;
        assert_eq!(answer.status, 403, "{method} {template}: {}", answer.text());
        assert_eq!(answer.category(), "forbidden");
        let primary = w
            .send(
                method,
                &path,
                Some(&v.company.admin),
                body_for(method, template, n),
            )
            .await;
        assert!(
            primary.status.is_success(),
            "{method} {template}: {}",
            primary.text()
        );
    }
    // The plain admin still reads the company and manages the team.
    let team = w
        .get(
            &format!("/v1/companies/{}/team_members", v.company.id),
            &v.plain_admin,
        )
        .await;
    assert_eq!(team.status, 200);
}

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
    assert_eq!(okta["capabilities"]["suspend"], false);
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
    assert_eq!(w.get("/v1/apps/myspace", &w.partner).await.status, 404);
    assert_eq!(w.send("GET", "/v1/apps", None, None).await.status, 401);
}
