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
    );
    let (_, token) = create_partner(services.store.as_ref(), &SystemClock, "Acme", None)
        .await
        .unwrap();
    (provision::router(services), token.expose_secret().to_owned())
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
