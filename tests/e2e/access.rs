//! The authorization walk: every company route of every function, with a real company that
//! has a connected sandbox app, a matched account and team members, so that the owning
//! partner's requests succeed and every refusal below is authorization's alone.

use serde_json::{Value, json};

use crate::support::{Co, OTHER_PARTNER, PARTNER, Walk};

struct Victim {
    company: String,
    admin: String,
    plain_admin: String,
    admin_id: String,
    /// An invited admin who has not claimed their access yet.
    pending_admin_id: String,
    bob: String,
    carol: String,
    account: String,
}

async fn victim(w: &Walk) -> Victim {
    let (company, admin) = w.company(PARTNER, "victim@example.com").await;
    let connect = w
        .send(
            "POST",
            &format!("/v1/companies/{company}/apps/sandbox_scim/connection"),
            Some(&admin),
            Some(
                json!({"scim_base_url": "https://scim.sandbox.test/scim/v2", "scim_token": "sandbox-victim"}),
            ),
        )
        .await;
    assert_eq!(connect.status, 200, "{}", connect.text());
    w.local
        .sandbox
        .seed_user("sandbox-victim", "bob@example.com", "Bob", "Builder");
    let member = |first: &str, email: &str| json!({"first_name": first, "last_name": "Builder", "kind": "employee", "email": email});
    let members = format!("/v1/companies/{company}/team_members");
    let bob = w
        .send(
            "POST",
            &members,
            Some(&admin),
            Some(member("Bob", "bob@example.com")),
        )
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let carol = w
        .send(
            "POST",
            &members,
            Some(&admin),
            Some(member("Carol", "carol@example.com")),
        )
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let co = Co {
        id: company.clone(),
        admin: admin.clone(),
    };
    let synced = w.sync(&co, "sandbox_scim").await;
    assert_eq!(synced.json()["changes"]["auto_matched"], 1, "{}", synced.text());
    let accounts = w
        .send(
            "GET",
            &format!("/v1/companies/{company}/apps/sandbox_scim/accounts"),
            Some(&admin),
            None,
        )
        .await
        .json();
    let account = accounts["items"][0]["id"].as_str().unwrap().to_owned();
    let invite = json!({"first_name": "Plain", "last_name": "Admin", "email": "plain@example.com"});
    let invited = w
        .send(
            "POST",
            &format!("/v1/companies/{company}/admins"),
            Some(&admin),
            Some(invite),
        )
        .await
        .json();
    let admin_id = invited["id"].as_str().unwrap().to_owned();
    let (_, plain_admin) = w.claim("plain@example.com").await;
    let pending = json!({"first_name": "Pending", "last_name": "Admin", "email": "pending@example.com"});
    let pending_admin_id = w
        .send(
            "POST",
            &format!("/v1/companies/{company}/admins"),
            Some(&admin),
            Some(pending),
        )
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    Victim {
        company,
        admin,
        plain_admin,
        admin_id,
        pending_admin_id,
        bob,
        carol,
        account,
    }
}

/// Every route with a company in its path, from every function.
fn company_routes() -> Vec<(&'static str, &'static str)> {
    provision::ROUTES
        .iter()
        .chain(accounts::ROUTES)
        .chain(connect::ROUTES)
        .copied()
        .filter(|(_, path)| path.contains("{company_id}"))
        .collect()
}

fn concrete(template: &str, v: &Victim) -> String {
    let app = if template.ends_with("/oauth") {
        "sandbox_oauth"
    } else {
        "sandbox_scim"
    };
    let path = template
        .replace("{company_id}", &v.company)
        .replace("{team_member_id}", &v.bob)
        .replace("{admin_id}", &v.admin_id)
        .replace("{app}", app)
        .replace("{account_id}", &v.account)
        .replace("{group_id}", "group-1");
    if path.ends_with("/remove_all") {
        format!("{path}?dry_run=true")
    } else {
        path
    }
}

/// A valid body for each writing route, so only authorization can refuse it.
fn body_for(method: &str, template: &str, n: usize, v: &Victim) -> Option<Value> {
    let t = template;
    match method {
        "GET" | "DELETE" => None,
        _ if t == "/v1/companies/{company_id}" => Some(json!({"plan": "plus"})),
        _ if t.ends_with("/team_members") => Some(json!({
            "first_name": "Walk", "last_name": "Er", "kind": "employee", "email": format!("walk{n}@example.com")
        })),
        _ if t.ends_with("{team_member_id}") => Some(json!({"first_name": "Bob"})),
        _ if t.ends_with("/admins") => {
            Some(json!({"first_name": "N", "last_name": "A", "email": format!("new{n}@example.com")}))
        }
        _ if t.ends_with("{admin_id}") => Some(json!({"permissions": ["manage_apps"]})),
        _ if t.ends_with("/claims") => Some(json!({"user_id": v.pending_admin_id})),
        _ if t.ends_with("/apps/{app}/accounts") => Some(json!({"team_member_id": v.carol})),
        _ if t.ends_with("/groups/{group_id}/members") => Some(json!({"account_id": v.account})),
        _ if t.ends_with("/matches") => {
            Some(json!({"matches": [{"account_id": v.account, "team_member_id": v.bob}]}))
        }
        _ if t.ends_with("/onboarding") => Some(json!({"apps": ["sandbox_scim"]})),
        _ if t.ends_with("/dismissal") => Some(json!({"last_day": "2026-12-31"})),
        _ if t.ends_with("/offboarding") => Some(json!({"removal": {"sandbox_scim": "suspend"}})),
        _ if t.ends_with("/connection") => Some(
            json!({"scim_base_url": "https://scim.sandbox.test/scim/v2", "scim_token": "sandbox-victim"}),
        ),
        _ if t.ends_with("/oauth") => Some(json!({})),
        // Routes whose request is the path alone.
        _ if t.ends_with("/sync")
            || t.ends_with("/access_report")
            || t.contains("{account_id}")
            || t.ends_with("/remove_all")
            || t.ends_with("/rehire") =>
        {
            None
        }
        _ => panic!("no sample body for {method} {template}: add one"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_company_route_refuses_everyone_but_its_company() {
    let w = Walk::start().await;
    let v = victim(&w).await;
    let (_, stranger) = w.company(OTHER_PARTNER, "stranger@example.com").await;
    let (_, sibling) = w.company(PARTNER, "sibling@example.com").await;
    let routes = company_routes();
    assert!(routes.len() >= 25, "{routes:?}");
    let events = format!("/v1/companies/{}/events?limit=100", v.company);
    let before = w.send("GET", &events, Some(&v.admin), None).await.json();

    for (n, (method, template)) in routes.iter().enumerate() {
        let path = concrete(template, &v);
        let body = body_for(method, template, n, &v);
        for (who, token) in [
            ("another partner", OTHER_PARTNER),
            ("another partner's company admin", stranger.as_str()),
            ("a sibling company's admin", sibling.as_str()),
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
                !answer.text().contains(&v.company),
                "{method} {template} leaks the id"
            );
        }
        assert_eq!(
            w.send(method, &path, None, body.clone()).await.status,
            401,
            "{method} {template}"
        );
        let app_route = template.contains("/apps")
            || template.ends_with("/onboarding")
            || template.ends_with("/offboarding");
        if app_route {
            let plain = w.send(method, &path, Some(&v.plain_admin), body.clone()).await;
            assert_eq!(
                plain.status,
                403,
                "plain admin: {method} {template}: {}",
                plain.text()
            );
            assert_eq!(plain.category(), "forbidden");
        }
    }
    assert_eq!(
        w.send("GET", &events, Some(&v.admin), None).await.json(),
        before,
        "nobody changed anything"
    );

    // The owning partner may use every route with the same requests.
    for (n, (method, template)) in routes.iter().enumerate() {
        let path = concrete(template, &v);
        // Cancelling, rehiring and choosing removals need a scheduled dismissal first.
        let needs_dismissal = template.ends_with("/rehire")
            || (*method != "GET" && (template.ends_with("/dismissal") || template.ends_with("/offboarding")));
        if needs_dismissal && *method != "PUT" {
            let dismissal = concrete(
                "/v1/companies/{company_id}/team_members/{team_member_id}/dismissal",
                &v,
            );
            let put = w
                .send(
                    "PUT",
                    &dismissal,
                    Some(PARTNER),
                    Some(json!({"last_day": "2026-12-31"})),
                )
                .await;
            assert_eq!(put.status, 200, "{}", put.text());
        }
        let answer = w
            .send(method, &path, Some(PARTNER), body_for(method, template, n, &v))
            .await;
        // The sandbox app has no groups or work emails: those routes get past authorization
        // to the app's own refusal (422), which is all this walk is about.
        let capability_route = template.ends_with("/domains") || template.contains("/groups");
        let refused_by_app =
            capability_route && answer.status == 422 && answer.category() == "invalid_attribute_value";
        assert!(
            answer.status.is_success() || refused_by_app,
            "partner: {method} {template}: {}",
            answer.text()
        );
    }
}

/// Whether `answer` is the one error shape: `{"errors": [{error_key, category, message}]}`.
fn one_error_shape(answer: &prov_testkit::Answer) -> bool {
    let Ok(body) = serde_json::from_slice::<Value>(&answer.body) else {
        return false;
    };
    body["errors"].as_array().is_some_and(|errors| {
        !errors.is_empty()
            && errors.iter().all(|e| {
                ["error_key", "category", "message"]
                    .iter()
                    .all(|k| e[k].as_str().is_some_and(|s| !s.is_empty()))
            })
    })
}

/// Bad input on every route that reads a body (issue 12, item 6): too large, not UTF-8,
/// nested past any sane depth, a huge array, not an object, wrong types, unknown fields.
/// Each gets a client error in the one error shape, never a 5xx or a panic, and changes
/// nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_writing_route_refuses_bad_bodies_in_the_one_error_shape() {
    let w = Walk::start().await;
    let v = victim(&w).await;
    let events = format!("/v1/companies/{}/events?limit=100", v.company);
    let before = w.send("GET", &events, Some(&v.admin), None).await.json();
    let huge_array = format!("{{\"items\": [{}0]}}", "0,".repeat(200_000));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "too large",
            format!("{{\"x\": \"{}\"}}", "a".repeat(70 * 1024)).into_bytes(),
        ),
        ("not UTF-8", b"{\"first_name\": \"\xff\xfe\"}".to_vec()),
        ("nested deep", "[".repeat(100_000).into_bytes()),
        ("huge array", huge_array.into_bytes()),
        ("not an object", b"[1, 2, 3]".to_vec()),
        ("not JSON", b"first_name=Ada".to_vec()),
        ("empty", Vec::new()),
    ];
    let mut tried = 0;
    for (n, (method, template)) in company_routes().iter().enumerate() {
        let Some(valid) = body_for(method, template, n, &v) else {
            continue;
        };
        let path = concrete(template, &v);
        // Wrong types: every field of a valid body turned into a list; and a field nobody has.
        let mut wrong_types = valid.as_object().cloned().unwrap_or_default();
        for value in wrong_types.values_mut() {
            *value = json!([[]]);
        }
        let mut unknown = valid.as_object().cloned().unwrap_or_default();
        unknown.insert("no_such_field".into(), json!(true));
        let mut shaped = vec![("unknown field", Value::Object(unknown).to_string().into_bytes())];
        if !wrong_types.is_empty() {
            shaped.push(("wrong types", Value::Object(wrong_types).to_string().into_bytes()));
        }
        for (case, body) in cases.iter().cloned().chain(shaped) {
            let request = axum::http::Request::builder()
                .method(*method)
                .uri(&path)
                .header("authorization", format!("Token {PARTNER}"))
                .header("content-type", "application/json")
                .body(axum::body::Body::from(body))
                .unwrap();
            let answer = prov_testkit::call(&w.app, request).await;
            assert!(
                answer.status.is_client_error(),
                "{case}: {method} {template}: {} {}",
                answer.status,
                String::from_utf8_lossy(&answer.body)
            );
            assert!(
                one_error_shape(&answer),
                "{case}: {method} {template}: {}",
                String::from_utf8_lossy(&answer.body)
            );
            tried += 1;
        }
    }
    assert!(tried >= 100, "{tried} bad requests tried");
    assert_eq!(
        w.send("GET", &events, Some(&v.admin), None).await.json(),
        before,
        "nothing changed"
    );
}

/// Issue 25: a `%00` in a path id reached the store, which refuses NUL in keys: a 500, even
/// to another partner. Every route with an id in its path, each id in turn replaced by one
/// holding a control character: a 404 in the one error shape (the claim page: its own 404
/// page; the console: its sign-in redirect or a 404), for the owner and for a stranger,
/// never a 5xx.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_control_character_in_any_path_id_is_a_404_never_a_500() {
    let w = Walk::start().await;
    let v = victim(&w).await;
    let routes: Vec<(&str, &str)> = provision::ROUTES
        .iter()
        .chain(accounts::ROUTES)
        .chain(connect::ROUTES)
        .chain(console::ROUTES)
        .copied()
        .filter(|(_, path)| path.contains('{'))
        .collect();
    let mut tried = 0;
    for (n, (method, template)) in routes.iter().enumerate() {
        let params: Vec<&str> = template
            .split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
            .collect();
        let body = if template.contains("{company_id}") {
            body_for(method, template, n, &v)
        } else if *method == "POST" {
            Some(json!({"email": "victim@example.com"}))
        } else {
            None
        };
        for param in params {
            for hostile in ["%00", "x%00y", "%0A", "%7F", "%C2%85"] {
                let path = concrete(&template.replace(&format!("{{{param}}}"), hostile), &v);
                for token in [PARTNER, OTHER_PARTNER] {
                    let answer = w.send(method, &path, Some(token), body.clone()).await;
                    let what = format!("{method} {path}: {} {}", answer.status, answer.text());
                    assert!(answer.status.as_u16() < 500, "{what}");
                    if template.starts_with("/console") {
                        assert!(
                            answer.status.as_u16() == 404 || answer.status.is_redirection(),
                            "{what}"
                        );
                    } else {
                        assert_eq!(answer.status, 404, "{what}");
                        // The pages people open from an email answer an HTML 404 page.
                        if !template.starts_with("/claim_account") && !template.starts_with("/first_password")
                        {
                            assert_eq!(answer.category(), "not_found", "{what}");
                            assert!(one_error_shape(&answer), "{what}");
                        }
                    }
                    tried += 1;
                }
            }
        }
    }
    assert!(tried >= 400, "{tried} requests");
    println!(
        "hostile-input: {tried} requests with a control character in a path id: every one a 404 (or the console's sign-in), 0 5xx"
    );
}
