//! The provision function as deployed: DynamoDB and SES (both on moto), through HTTP.

use std::sync::Arc;

use prov_core::auth::create_partner;
use prov_core::clock::SystemClock;
use prov_core::mail::{Email, MailError, Mailer};
use prov_core::{Services, Settings};
use prov_platform::SesMailer;
use prov_store::DynamoStore;
use prov_testkit::{call, get, json_request};
use secrecy::ExposeSecret;
use serde_json::json;

const SENDER: &str = "no-reply@provisioning.example.com";

async fn deployed_like() -> (axum::Router, String) {
    let client = prov_testkit::dynamodb_client();
    let table = prov_testkit::unique_name("e2e");
    let audit = prov_testkit::unique_name("e2e-audit");
    DynamoStore::create_table(&client, &table).await.unwrap();
    DynamoStore::create_table(&client, &audit).await.unwrap();
    let ses = prov_testkit::sesv2_client();
    ses.create_email_identity()
        .email_identity(SENDER)
        .send()
        .await
        .unwrap();
    let services = Services::new(
        Arc::new(DynamoStore::new(client.clone(), table)),
        Arc::new(DynamoStore::new(client, audit)),
        Arc::new(SesMailer::new(ses, SENDER)),
        Arc::new(SystemClock),
        Settings::new("https://api.example.test"),
        prov_connectors::registry::catalog(false),
    );
    let queue: Arc<dyn prov_core::queue::JobQueue> = Arc::new(prov_core::queue::StoreQueue::new(
        services.store.clone(),
        services.clock.clone(),
        5,
    ));
    let services = services.with_queue(queue.clone());
    let (_, token) = create_partner(services.store.as_ref(), &SystemClock, "Acme", None)
        .await
        .unwrap();
    let apps = prov_processes::Apps {
        services: services.clone(),
        secrets: Arc::new(prov_platform::SecretsManagerStore::new(
            prov_testkit::secretsmanager_client(),
            &prov_testkit::unique_name("e2e"),
            std::time::Duration::from_secs(60),
        )),
        vendors: Arc::new(prov_connectors::Gateway::new(
            Arc::new(prov_connectors::http::VendorHttp::new(
                prov_connectors::egress::EgressPolicy::production(),
                prov_connectors::http::HttpConfig::default(),
            )),
            Arc::new(prov_connectors::oauth::OAuthClients::none()),
            services.clock.clone(),
        )),
        scheduler: Arc::new(prov_core::schedule::StoreScheduler::new(services.store.clone())),
        queue,
        webhooks: Arc::new(prov_connectors::webhooks::HttpWebhookSender::new(false)),
    };
    let router = prov_web::finish(provision::routes(services.clone()).merge(accounts::routes(apps)));
    (router, token.expose_secret().to_owned())
}

fn body(email: &str) -> serde_json::Value {
    json!({
        "user": {"first_name": "Frank", "last_name": "Ocean", "email": email},
        "company": {"name": "Frank's Ocean, LLC", "addresses": [
            {"street_1": "1201 16th Street Mall", "city": "Denver", "zip": "80202", "state": "CO",
             "phone": "2345678900", "is_primary": true}
        ]}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provision_claim_and_read_through_dynamodb_and_ses() {
    let (router, partner) = deployed_like().await;
    let answer = call(
        &router,
        json_request(
            "POST",
            "/v1/provision",
            Some(&partner),
            &body("frank@example.com"),
        ),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let url = answer.json()["account_claim_url"].as_str().unwrap().to_owned();
    let claim_id = url.rsplit('/').next().unwrap().to_owned();

    let duplicate = call(
        &router,
        json_request(
            "POST",
            "/v1/provision",
            Some(&partner),
            &body("FRANK@example.com"),
        ),
    )
    .await;
    assert_eq!(duplicate.status, 422);
    assert_eq!(duplicate.error_keys(), ["user.email"]);

    let page = call(&router, get(&format!("/claim_account/{claim_id}"), None)).await;
    assert_eq!(page.status, 200);
    let granted = call(
        &router,
        json_request(
            "POST",
            &format!("/v1/claims/{claim_id}"),
            None,
            &json!({"email": "frank@example.com"}),
        ),
    )
    .await;
    assert_eq!(granted.status, 201, "{}", granted.text());
    let company_id = granted.json()["company_id"].as_str().unwrap().to_owned();
    let admin = granted.json()["token"].as_str().unwrap().to_owned();

    let company = call(&router, get(&format!("/v1/companies/{company_id}"), Some(&admin))).await;
    assert_eq!(company.status, 200);
    assert_eq!(company.json()["addresses"][0]["is_primary"], true);
    let listed = call(&router, get("/v1/companies", Some(&partner))).await;
    assert_eq!(listed.json()["items"][0]["id"], company_id);
    let reused = call(
        &router,
        json_request(
            "POST",
            &format!("/v1/claims/{claim_id}"),
            None,
            &json!({"email": "frank@example.com"}),
        ),
    )
    .await;
    assert_eq!(reused.status, 410);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_duplicate_emails_on_dynamodb_create_one_company() {
    let (router, partner) = deployed_like().await;
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let router = router.clone();
            let partner = partner.clone();
            let email = if i % 2 == 0 {
                "race@example.com"
            } else {
                "Race@Example.com"
            };
            tokio::spawn(async move {
                let request = json_request("POST", "/v1/provision", Some(&partner), &body(email));
                let answer = call(&router, request).await;
                (answer.status.as_u16(), answer.text())
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|(s, _)| *s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|(s, _)| *s == 200 || *s == 422),
        "{statuses:?}"
    );
    let listed = call(&router, get("/v1/companies", Some(&partner))).await;
    assert_eq!(listed.json()["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn ses_sends_from_a_verified_sender_and_rejects_others() {
    let ses = prov_testkit::sesv2_client();
    ses.create_email_identity()
        .email_identity(SENDER)
        .send()
        .await
        .unwrap();
    let email = Email {
        to: "frank@example.com".into(),
        subject: "Hello".into(),
        text: "Body".into(),
    };
    SesMailer::new(ses.clone(), SENDER).send(&email).await.unwrap();
    let unverified = SesMailer::new(ses, "someone@unverified.example.com")
        .send(&email)
        .await;
    assert!(
        matches!(unverified, Err(MailError::Rejected(_))),
        "{unverified:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn team_admins_plan_and_audit_through_dynamodb() {
    let (router, partner) = deployed_like().await;
    let answer = call(
        &router,
        json_request(
            "POST",
            "/v1/provision",
            Some(&partner),
            &body("owner@example.com"),
        ),
    )
    .await;
    let claim_id = answer.json()["account_claim_url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let granted = call(
        &router,
        json_request(
            "POST",
            &format!("/v1/claims/{claim_id}"),
            None,
            &json!({"email": "owner@example.com"}),
        ),
    )
    .await;
    let company = granted.json()["company_id"].as_str().unwrap().to_owned();
    let admin = granted.json()["token"].as_str().unwrap().to_owned();

    let members = format!("/v1/companies/{company}/team_members");
    for i in 0..3 {
        let m = json!({"first_name": format!("P{i}"), "last_name": "X", "kind": "employee", "email": format!("p{i}@example.com")});
        let created = call(&router, json_request("POST", &members, Some(&admin), &m)).await;
        assert_eq!(created.status, 201, "{}", created.text());
    }
    let dup = json!({"first_name": "D", "last_name": "X", "kind": "employee", "email": "P0@example.com"});
    assert_eq!(
        call(&router, json_request("POST", &members, Some(&admin), &dup))
            .await
            .status,
        422
    );
    let page = call(&router, get(&format!("{members}?limit=2"), Some(&admin)))
        .await
        .json();
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest = call(
        &router,
        get(&format!("{members}?limit=2&cursor={cursor}"), Some(&admin)),
    )
    .await
    .json();
    assert_eq!(rest["items"][0]["first_name"], "P2");
    assert!(rest["next_cursor"].is_null());

    let invite = json!({"first_name": "Ivy", "last_name": "I", "email": "ivy@example.com", "permissions": ["manage_apps"]});
    let invited = call(
        &router,
        json_request(
            "POST",
            &format!("/v1/companies/{company}/admins"),
            Some(&admin),
            &invite,
        ),
    )
    .await;
    assert_eq!(invited.status, 201, "{}", invited.text());

    let apps = call(
        &router,
        get(&format!("/v1/companies/{company}/apps"), Some(&admin)),
    )
    .await
    .json();
    assert_eq!(apps["available"].as_array().unwrap().len(), 2);
    let upgraded = call(
        &router,
        json_request(
            "PATCH",
            &format!("/v1/companies/{company}"),
            Some(&partner),
            &json!({"plan": "premium"}),
        ),
    )
    .await;
    assert_eq!(upgraded.status, 200);
    let apps = call(
        &router,
        get(&format!("/v1/companies/{company}/apps"), Some(&admin)),
    )
    .await
    .json();
    // Premium makes the whole directory available.
    assert_eq!(
        apps["available"].as_array().unwrap().len(),
        prov_connectors::registry::catalog(false).directory().count()
    );

    let events = call(
        &router,
        get(&format!("/v1/companies/{company}/events"), Some(&admin)),
    )
    .await
    .json();
    let actions: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "company.plan_changed",
            "admin.invited",
            "team_member.created",
            "team_member.created",
            "team_member.created",
            "account.claimed",
            "company.provisioned"
        ]
    );
}
