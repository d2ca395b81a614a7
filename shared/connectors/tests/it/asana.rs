//! Asana: OAuth and organization membership through the REST API at
//! `https://app.asana.com/api/1.0`, against a wiremock Asana. Requests are checked for the
//! method, path, query and body Asana documents.

use std::sync::Arc;
use std::time::Duration;

use prov_connectors::{Connector, ConnectorError, NewAccount};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{RecordingSleeper, first_then, oauth_connector};

const ORG: &str = "1200";

fn asana(server: &MockServer) -> (Box<dyn Connector>, Arc<RecordingSleeper>) {
    oauth_connector(server, "asana", &["app.asana.com"], "asana-access")
}

fn user(gid: &str, email: &str) -> Value {
    json!({"gid": gid, "resource_type": "user", "email": email, "name": format!("Person {gid}"),
           "workspaces": [{"gid": ORG, "resource_type": "workspace"}]})
}

/// The connecting admin belongs to one organization (and a personal workspace).
async fn me(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/api/1.0/users/me"))
        .and(header("authorization", "Bearer asana-access"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"data": {"gid": "1", "workspaces": [
                {"gid": "77", "is_organization": false}, {"gid": ORG, "is_organization": true}
            ]}})),
        )
        .expect(1)
        .mount(server)
        .await;
}

fn ada() -> NewAccount {
    NewAccount {
        email: "ada@example.com".into(),
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
    }
}

#[tokio::test]
async fn members_page_with_the_offset_in_the_organization() {
    let server = MockServer::start().await;
    me(&server).await;
    Mock::given(method("GET"))
        .and(path("/api/1.0/users"))
        .and(query_param("offset", "eyJ0"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": [user("3", "c@example.com")], "next_page": null})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/1.0/users"))
        .and(query_param("workspace", ORG))
        .and(query_param("limit", "100"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [user("1", "a@example.com"), user("2", "b@example.com")],
            "next_page": {"offset": "eyJ0", "path": "/users?offset=eyJ0", "uri": "https://app.asana.com/api/1.0/users?offset=eyJ0"}
        })))
        .mount(&server)
        .await;
    let (connector, _) = asana(&server);
    let first = connector.list(None).await.unwrap();
    assert_eq!(first.accounts.len(), 2);
    assert_eq!(first.next.as_deref(), Some("eyJ0"));
    let second = connector.list(first.next.as_deref()).await.unwrap();
    assert_eq!((second.accounts.len(), second.next), (1, None));
}

#[tokio::test]
async fn create_adds_the_email_to_the_organization_unless_a_member() {
    let server = MockServer::start().await;
    me(&server).await;
    // Ada has an Asana account, but in another organization: not a member here.
    Mock::given(method("GET"))
        .and(path("/api/1.0/users/ada@example.com"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {
            "gid": "9", "email": "ada@example.com", "name": "Ada", "workspaces": [{"gid": "999"}]
        }})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/api/1.0/workspaces/{ORG}/addUser")))
        .and(body_json(json!({"data": {"user": "ada@example.com"}})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": user("9", "ada@example.com")})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/1.0/users/b@example.com"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": user("2", "b@example.com")})))
        .mount(&server)
        .await;
    let (connector, _) = asana(&server);
    assert_eq!(connector.create(&ada()).await.unwrap().id, "9");
    let member = NewAccount {
        email: "b@example.com".into(),
        ..ada()
    };
    assert_eq!(
        connector.create(&member).await.unwrap().id,
        "2",
        "a member is returned, not added again"
    );
}

#[tokio::test]
async fn remove_uses_remove_user_and_a_non_member_is_gone() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/api/1.0/workspaces/{ORG}/removeUser")))
        .and(body_json(json!({"data": {"user": "9"}})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {}})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/api/1.0/workspaces/{ORG}/removeUser")))
        .and(body_json(json!({"data": {"user": "10"}})))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"errors": [{"message": "user: Unknown object: 10"}]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    // A connection that knows its organization asks nobody.
    let (http, _) = crate::support::vendor_http(&server, &["app.asana.com"]);
    let tenant = prov_connectors::registry::Tenant::from([("workspace_gid".to_owned(), ORG.to_owned())]);
    let auth = Arc::new(prov_connectors::http::StaticAuth::bearer(
        &secrecy::SecretString::from("asana-access"),
    ));
    let connector = prov_connectors::registry::spec("asana")
        .unwrap()
        .connector(http, "com_1", &tenant, auth)
        .unwrap();
    // Asana's answer proves the first; the 404 of the organization's action proves nothing,
    // so the user's own resource is read (not found: no longer a member).
    assert_eq!(
        connector.delete("9").await,
        Ok(prov_connectors::Verified::VendorAnswer)
    );
    assert_eq!(
        connector.delete("10").await,
        Ok(prov_connectors::Verified::ReadBack)
    );
    assert_eq!(
        connector.suspend("9").await,
        Err(ConnectorError::Unsupported("suspend"))
    );
}

#[tokio::test]
async fn several_organizations_or_none_are_refused_at_verification() {
    for (workspaces, want_plan) in [
        (
            json!([{"gid": "1", "is_organization": true}, {"gid": "2", "is_organization": true}]),
            false,
        ),
        (json!([{"gid": "3", "is_organization": false}]), true),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/1.0/users/me"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"data": {"gid": "1", "workspaces": workspaces}})),
            )
            .mount(&server)
            .await;
        let (connector, _) = asana(&server);
        let error = connector.verify().await.unwrap_err();
        assert_eq!(
            matches!(error, ConnectorError::PlanRequired(_)),
            want_plan,
            "{error:?}"
        );
        assert!(matches!(
            error,
            ConnectorError::PlanRequired(_) | ConnectorError::Invalid(_)
        ));
    }
}

#[tokio::test]
async fn a_premium_gate_a_non_admin_and_429_are_typed() {
    let server = MockServer::start().await;
    me(&server).await;
    Mock::given(method("POST"))
        .and(path(format!("/api/1.0/workspaces/{ORG}/removeUser")))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(json!({"errors": [{"message": "Only organization admins can remove users"}]})),
        )
        .mount(&server)
        .await;
    first_then(
        &server,
        || Mock::given(method("GET")).and(path("/api/1.0/users")),
        ResponseTemplate::new(429)
            .insert_header("retry-after", "5")
            .set_body_json(json!({"errors": [{"message": "Rate limit enforced"}]})),
        ResponseTemplate::new(402)
            .set_body_json(json!({"errors": [{"message": "This feature requires a premium account"}]})),
    )
    .await;
    let (connector, sleeper) = asana(&server);
    match connector.delete("9").await {
        Err(ConnectorError::Unauthorized(why)) => assert!(why.contains("admin"), "{why}"),
        other => panic!("expected Unauthorized, got {other:?}"),
    }
    assert!(matches!(
        connector.list(None).await,
        Err(ConnectorError::PlanRequired(_))
    ));
    assert_eq!(sleeper.waits(), [Duration::from_secs(5)]);
}

/// The tenant is the organization as Asana names it (`GET /workspaces/{gid}`).
#[tokio::test]
async fn the_tenant_is_the_organization_as_asana_names_it() {
    let server = MockServer::start().await;
    me(&server).await;
    Mock::given(method("GET"))
        .and(path(format!("/api/1.0/workspaces/{ORG}")))
        .and(header("authorization", "Bearer asana-access"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {
            "gid": ORG, "resource_type": "workspace", "name": "Acme Inc", "is_organization": true
        }})))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = asana(&server);
    assert_eq!(
        connector.tenant().await.unwrap(),
        prov_connectors::VendorTenant {
            id: ORG.into(),
            name: "Acme Inc".into()
        }
    );
}
