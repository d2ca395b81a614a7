//! The OpenAPI document (`GET /openapi.json`) is the one the code describes, describes
//! exactly the routes the functions serve, and is a well-formed OpenAPI 3.1 document as far
//! as can be checked offline.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::Request;
use prov_core::clock::SystemClock;
use serde_json::Value;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// The document as the devserver serves it, without a token.
async fn served_document() -> Value {
    let dir = tempfile::tempdir().unwrap();
    let config = devserver::LocalConfig {
        data_dir: dir.path(),
        public_base_url: "http://localhost",
        listen_url: "http://localhost",
        vendor_routes: &[],
    };
    let local = devserver::Local::open(&config, std::sync::Arc::new(SystemClock)).unwrap();
    let request = Request::get("/openapi.json").body(Body::empty()).unwrap();
    let answer = prov_testkit::call(&local.app(), request).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(answer.headers["content-type"], "application/json");
    assert_eq!(answer.headers["cache-control"], "public, max-age=300");
    answer.json()
}

/// The committed document, which the accounts function serves.
const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json");

/// The accounts function serves `docs/openapi.json` as committed, so that it need not link
/// the other functions; this holds the committed copy to what the code describes.
/// `UPDATE_OPENAPI=1` rewrites it instead.
#[test]
fn the_committed_document_is_the_one_the_code_describes() {
    // The document describes every app the devserver offers (the sandbox apps included).
    let catalog = prov_connectors::registry::catalog(true);
    let parts = [
        provision::openapi(),
        accounts::openapi(&catalog),
        connect::openapi(&catalog),
    ];
    let generated = prov_web::openapi::document(parts)
        .to_pretty_json()
        .expect("the document serializes")
        + "\n";
    if std::env::var_os("UPDATE_OPENAPI").is_some_and(|v| v == "1") {
        std::fs::write(COMMITTED, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(COMMITTED).unwrap_or_default();
    if let Some((n, (was, is))) = committed
        .lines()
        .chain(std::iter::repeat(""))
        .zip(generated.lines())
        .enumerate()
        .find(|(_, (was, is))| was != is)
    {
        panic!(
            "docs/openapi.json is not the document the code describes (line {}: {was:?}, \
             the code: {is:?}); rewrite it with \
             `UPDATE_OPENAPI=1 cargo test -p e2e-tests --test e2e openapi` and commit it",
            n + 1
        );
    }
    assert_eq!(
        committed, generated,
        "docs/openapi.json has lines after the document"
    );
}

fn routes() -> BTreeSet<(String, String)> {
    provision::ROUTES
        .iter()
        .chain(accounts::ROUTES)
        .chain(connect::ROUTES)
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect()
}

fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("a path item") {
            assert!(
                METHODS.contains(&method.as_str()) || method == "parameters",
                "{path}: unexpected key {method}"
            );
            if METHODS.contains(&method.as_str()) {
                out.push((method.to_uppercase(), path.clone(), operation));
            }
        }
    }
    out
}

#[tokio::test]
async fn the_document_has_every_route_and_nothing_else() {
    let doc = served_document().await;
    let documented: BTreeSet<(String, String)> =
        operations(&doc).into_iter().map(|(m, p, _)| (m, p)).collect();
    let served = routes();
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let not_served: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty() && not_served.is_empty(),
        "routes missing from the document: {undocumented:?}\ndocumented but not served: {not_served:?}"
    );
    assert!(served.len() >= 40, "{} routes", served.len());
}

/// Follows a local `$ref` (`#/components/...`), with JSON pointer escapes.
fn resolve<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    doc.pointer(pointer)
}

fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push(r);
            }
            map.values().for_each(|v| refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

/// Routes anyone may call: the claim (its secret is in the path), the OAuth start link and
/// callback (their secret is the single-use state, and the browser's cookie) and this
/// document.
fn public(method: &str, path: &str) -> bool {
    path.starts_with("/claim_account/")
        || path.starts_with("/first_password/")
        || path.starts_with("/v1/claims/")
        || path == "/v1/oauth/start"
        || path == "/v1/oauth/callback"
        || (method == "GET" && path == "/openapi.json")
}

#[tokio::test]
async fn the_document_is_well_formed_openapi_3_1() {
    let doc = served_document().await;
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["info"]["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(doc["info"]["version"].as_str().is_some_and(|v| !v.is_empty()));

    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(all.len() > 100, "{} references", all.len());
    for reference in &all {
        assert!(reference.starts_with("#/components/"), "{reference} is not local");
        assert!(resolve(&doc, reference).is_some(), "{reference} does not resolve");
    }

    let schemes = doc["components"]["securitySchemes"]
        .as_object()
        .expect("security schemes");
    assert_eq!(schemes["token"]["type"], "http");
    assert_eq!(schemes["token"]["scheme"], "bearer");

    let mut ids = BTreeSet::new();
    for (method, path, operation) in operations(&doc) {
        let what = format!("{method} {path}");
        assert!(
            ids.insert(operation["operationId"].as_str().expect("operationId").to_owned()),
            "{what}: operationId repeated"
        );
        // Responses: at least one success, each with a description; refusals in the one shape.
        let responses = operation["responses"].as_object().expect("responses");
        assert!(
            responses.keys().any(|s| s.starts_with('2') || s.starts_with('3')),
            "{what}: no success response"
        );
        for (status, response) in responses {
            let response = match response.get("$ref").and_then(Value::as_str) {
                Some(r) => resolve(&doc, r).unwrap(),
                None => response,
            };
            assert!(
                response["description"].as_str().is_some_and(|d| !d.is_empty()),
                "{what} {status}: no description"
            );
            if status.starts_with('4') || status.starts_with('5') {
                let content = response["content"].as_object().expect("content");
                if let Some(json) = content.get("application/json") {
                    assert_eq!(
                        json["schema"]["$ref"], "#/components/schemas/ApiError",
                        "{what} {status}: not the one error shape"
                    );
                } else {
                    assert!(content.contains_key("text/html"), "{what} {status}");
                }
            }
        }
        // Path parameters: each `{name}` of the path, exactly, and required.
        let in_path: BTreeSet<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        let params = operation["parameters"].as_array().cloned().unwrap_or_default();
        for p in &params {
            // A header, a path segment or a query value is text or absent, never `null`.
            let types = &p["schema"]["type"];
            assert!(
                types.as_str().is_some() || p["schema"].get("$ref").is_some(),
                "{what}: parameter {} has type {types}",
                p["name"]
            );
        }
        let declared: BTreeSet<String> = params
            .iter()
            .filter(|p| p["in"] == "path")
            .map(|p| {
                assert_eq!(p["required"], true, "{what}: {p}");
                p["name"].as_str().unwrap().to_owned()
            })
            .collect();
        assert_eq!(
            declared,
            in_path.iter().map(|s| s.to_string()).collect(),
            "{what}: path parameters"
        );
        // A body only where the route reads one, described by a schema.
        if let Some(body) = operation.get("requestBody") {
            assert!(["POST", "PUT", "PATCH"].contains(&method.as_str()), "{what}");
            let content = body["content"].as_object().expect("request content");
            assert!(!content.is_empty(), "{what}");
            for media in content.values() {
                assert!(media.get("schema").is_some(), "{what}: body without a schema");
            }
        }
        // Who may call: the token on every route but the public ones.
        match operation.get("security") {
            Some(security) => {
                assert!(!public(&method, &path), "{what} is public");
                assert_eq!(security, &serde_json::json!([{"token": []}]), "{what}");
                assert!(responses.contains_key("401"), "{what}: no 401");
            }
            None => assert!(public(&method, &path), "{what} has no security"),
        }
        if path.contains("{company_id}") {
            assert!(responses.contains_key("404"), "{what}: no 404");
        }
        if let Some(Value::Object(content)) = operation.pointer("/requestBody/content")
            && content.contains_key("application/json")
        {
            for status in ["400", "413", "415", "422"] {
                assert!(responses.contains_key(status), "{what}: no {status}");
            }
        }
    }

    // Request bodies refuse unknown attributes, as the handlers do.
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    for name in [
        "ProvisionBody",
        "NewUser",
        "NewCompany",
        "NewAddress",
        "NewTeamMember",
        "TeamMemberChange",
        "AdminInvite",
        "DismissalRequest",
        "OAuthStart",
    ] {
        assert_eq!(
            schemas[name]["additionalProperties"], false,
            "{name} must refuse unknown attributes"
        );
    }
}
