//! The SAM template routes exactly what the functions' routers serve, each to its function.

use std::collections::BTreeSet;

type Route = (String, String, String); // (function resource, method, path)

/// Reads the HttpApi events of `template.yaml`. The template writes each event's properties
/// as one flow mapping (`Properties: { ApiId: …, Method: …, Path: … }`); an event written any
/// other way is caught by the count check below rather than silently skipped.
fn template_routes() -> (Vec<Route>, usize) {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml")).unwrap();
    let mut resource = String::new();
    let mut routes = Vec::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("  ").and_then(|l| l.strip_suffix(':'))
            && !name.starts_with(' ')
        {
            resource = name.to_owned();
        }
        let Some(props) = line
            .trim()
            .strip_prefix("Properties: {")
            .and_then(|l| l.strip_suffix('}'))
        else {
            continue;
        };
        let field = |key: &str| {
            props
                .split(',')
                .find_map(|p| p.trim().strip_prefix(key))
                .map(|v| v.trim().trim_matches('"').to_owned())
        };
        if let (Some(method), Some(path)) = (field("Method:"), field("Path:")) {
            routes.push((resource.clone(), method, path));
        }
    }
    let events = text.matches("Type: HttpApi\n").count();
    (routes, events)
}

fn served(function: &str, routes: &[(&str, &str)]) -> Vec<Route> {
    routes
        .iter()
        .map(|(m, p)| (function.to_owned(), (*m).to_owned(), (*p).to_owned()))
        .collect()
}

#[test]
fn template_routes_match_the_routers() {
    let (in_template, events) = template_routes();
    assert_eq!(in_template.len(), events, "every HttpApi event is parsed");
    let template: BTreeSet<Route> = in_template.into_iter().collect();
    let routers: BTreeSet<Route> = served("ProvisionFunction", provision::ROUTES)
        .into_iter()
        .chain(served("AccountsFunction", accounts::ROUTES))
        .chain(served("ConnectFunction", connect::ROUTES))
        .chain(served("ConsoleFunction", console::ROUTES))
        .collect();
    let missing: Vec<_> = routers.difference(&template).collect();
    let extra: Vec<_> = template.difference(&routers).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "not in template: {missing:?}\nnot served: {extra:?}"
    );
}

/// The routers really serve their `ROUTES` (a route listed but not mounted answers 404
/// `No such route.` from the fallback, or 405).
#[tokio::test]
async fn every_listed_route_is_mounted() {
    use axum::body::Body;
    use axum::http::Request;
    use prov_core::clock::SystemClock;
    let dir = tempfile::tempdir().unwrap();
    let config = devserver::LocalConfig {
        data_dir: dir.path(),
        public_base_url: "http://localhost",
        listen_url: "http://localhost",
        vendor_routes: &[],
    };
    let local = devserver::Local::open(&config, std::sync::Arc::new(SystemClock)).unwrap();
    let app = local.app();
    for (method, path) in provision::ROUTES
        .iter()
        .chain(accounts::ROUTES)
        .chain(connect::ROUTES)
        .chain(console::ROUTES)
    {
        let concrete = path
            .replace("{company_id}", "com_x")
            .replace("{team_member_id}", "tm_x")
            .replace("{admin_id}", "usr_x")
            .replace("{claim_id}", "x")
            .replace("{app}", "slack")
            .replace("{link}", "x")
            .replace("{account_id}", "acc_x")
            .replace("{action}", "delete");
        let concrete = if concrete.ends_with("/callback") {
            format!("{concrete}?state=x")
        } else {
            concrete
        };
        let req = Request::builder()
            .method(*method)
            .uri(&concrete)
            .body(Body::empty())
            .unwrap();
        let answer = prov_testkit::call(&app, req).await;
        assert_ne!(answer.status, 405, "{method} {path}");
        if answer.status == 404 {
            assert!(
                !answer.text().contains("No such route"),
                "{method} {path} is not mounted"
            );
        }
    }
}

/// `cargo lambda watch` routes each path to the function the template routes it to.
#[test]
fn the_local_lambda_router_matches_the_routers() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml")).unwrap();
    let manifest: toml::Table = toml::from_str(&text).unwrap();
    let router = manifest["workspace"]["metadata"]["lambda"]["watch"]["router"]
        .as_table()
        .expect("a [workspace.metadata.lambda.watch.router] table");
    let configured: BTreeSet<(String, String)> = router
        .iter()
        .map(|(path, function)| (path.clone(), function.as_str().unwrap().to_owned()))
        .collect();
    let served: BTreeSet<(String, String)> = [
        ("provision", provision::ROUTES),
        ("accounts", accounts::ROUTES),
        ("connect", connect::ROUTES),
        ("console", console::ROUTES),
    ]
    .iter()
    .flat_map(|(function, routes)| {
        routes
            .iter()
            .map(move |(_, path)| ((*path).to_owned(), (*function).to_owned()))
    })
    .collect();
    assert_eq!(configured, served);
}
