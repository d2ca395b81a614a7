//! The proof that the service tells the truth about vendor accounts: for every app with a
//! sandbox fake (every vendor of the registry, Zoho once per product that removes
//! differently, and the two sandbox apps), each action the app supports is done through the
//! API, and after each the status the service recorded is compared with the fake vendor's own
//! state, read directly (`Sandbox::user`). The table is printed (`cargo test -p e2e-tests
//! --test e2e truth -- --nocapture`); every cell must agree.

use std::fmt::Write as _;

use prov_sandbox::SandboxUser;
use serde_json::{Value, json};

use crate::flows::{account_for, act_on, api_key_connected, member, oauth_connected_with, person, sync_app};
use crate::support::{Co, Walk};

/// How a row's app is connected.
enum Connect {
    /// API-key fields (the fake's directory is named by the credentials).
    ApiKey(Value),
    /// OAuth through the fake's consent page, started with `start`.
    OAuth { consent: &'static str, start: Value },
}

struct Row {
    app: &'static str,
    /// The row's name in the table.
    label: &'static str,
    /// The fake's directory the connection reaches.
    tenant: String,
    connect: Connect,
    /// The team member's email (apps with mailboxes create on their own domains).
    email: String,
    /// Whether the person accepts the invitation before the other actions (GitHub's
    /// accepted invitation becomes another account, a member matched by hand: not here).
    accepts: bool,
    invitations: Invitations,
}

/// What the vendor's API says of someone who has not come in yet.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Invitations {
    /// An invitation, apart from an account in use.
    Shown,
    /// Nothing (HubSpot): "Invite Sent", recorded at creation, stays.
    KeptFromCreation,
    /// An active account: 15Five emails an invitation, which its SCIM API does not show
    /// (https://success.15five.com/hc/en-us/articles/50988391657627: "When a new employee is
    /// provisioned in 15Five via SCIM, they receive an invite email"); a Google Workspace
    /// user who has not signed in yet.
    AccountInUse,
}

fn api_key(app: &'static str, label: &'static str, tenant: &str, fields: Value) -> Row {
    Row {
        app,
        label,
        tenant: tenant.to_owned(),
        connect: Connect::ApiKey(fields),
        email: format!("ada.{label}@example.com").replace(' ', "-"),
        accepts: true,
        invitations: Invitations::Shown,
    }
}

fn oauth(app: &'static str, consent: &'static str, start: Value) -> Row {
    Row {
        app,
        label: app,
        tenant: prov_sandbox::oauth_tenant(app),
        connect: Connect::OAuth { consent, start },
        email: format!("ada.{app}@example.com"),
        accepts: true,
        invitations: Invitations::Shown,
    }
}

fn rows() -> Vec<Row> {
    let fifteen_five = "sandbox-15five-truth-012345678";
    let dynatrace_account = "0b8e3f52-55d1-4c1e-9f0a-3c5d7e9a1b24";
    let trello = "sandbox-trello-0123456789abcdef0123";
    let zoho = |product: &str, data_center: &str, code: &str| {
        json!({"product": product, "data_center": data_center, "client_id": "1000.SANDBOX",
               "client_secret": "sandbox-secret", "grant_code": code})
    };
    vec![
        api_key(
            "sandbox_scim",
            "sandbox_scim",
            "sandbox-truth",
            json!({"scim_base_url": "https://scim.sandbox.test/scim/v2", "scim_token": "sandbox-truth"}),
        ),
        Row {
            tenant: prov_sandbox::OAUTH_TENANT.to_owned(),
            ..oauth(
                "sandbox_oauth",
                "/_sandbox/sandbox_oauth/oauth/authorize",
                json!({}),
            )
        },
        Row {
            invitations: Invitations::AccountInUse,
            ..api_key(
                "fifteen_five",
                "fifteen_five",
                fifteen_five,
                json!({"scim_base_url": "https://my.15five.com/scim/v2", "scim_token": fifteen_five}),
            )
        },
        oauth("asana", "/_sandbox/asana/-/oauth_authorize", json!({})),
        oauth("box", "/_sandbox/box/api/oauth2/authorize", json!({})),
        api_key(
            "clickup",
            "clickup",
            "sandbox-truth-clickup",
            json!({"api_token": "pk_sandbox-truth-clickup", "team_id": prov_sandbox::CLICKUP_TEAM_ID.to_string()}),
        ),
        oauth(
            "docusign",
            "/_sandbox/docusign/oauth/auth",
            json!({"environment": "demo"}),
        ),
        oauth("dropbox", "/_sandbox/dropbox/oauth2/authorize", json!({})),
        api_key(
            "dynatrace",
            "dynatrace",
            &format!("sandbox-dynatrace-{dynatrace_account}"),
            json!({"account_uuid": dynatrace_account, "client_id": "dt0s02.SANDBOX", "client_secret": "sandbox-dynatrace-client"}),
        ),
        Row {
            accepts: false,
            ..oauth("github", "/_sandbox/github/login/oauth/authorize", json!({}))
        },
        Row {
            email: format!("ada@{}", prov_sandbox::GOOGLE_WORKSPACE_DOMAIN),
            invitations: Invitations::AccountInUse,
            ..oauth(
                "google_workspace",
                "/_sandbox/google_workspace/o/oauth2/v2/auth",
                json!({}),
            )
        },
        Row {
            invitations: Invitations::KeptFromCreation,
            ..oauth("hubspot", "/_sandbox/hubspot/oauth/authorize", json!({}))
        },
        api_key(
            "lastpass",
            "lastpass",
            "sandbox-lastpass-truth",
            json!({"region": "us", "cid": "1234567", "provhash": "sandbox-lastpass-truth"}),
        ),
        Row {
            email: format!("ada@{}", prov_sandbox::MICROSOFT_365_DOMAIN),
            ..oauth(
                "microsoft_365",
                "/_sandbox/microsoft_365/organizations/oauth2/v2.0/authorize",
                json!({}),
            )
        },
        api_key(
            "okta",
            "okta",
            "sandbox-okta-truth",
            json!({"org_url": prov_sandbox::OKTA_ORG, "api_token": "sandbox-okta-truth"}),
        ),
        api_key(
            "planview_leankit",
            "planview_leankit",
            "sandbox-lk-truth",
            json!({"account": "acme", "api_token": "sandbox-lk-truth"}),
        ),
        oauth(
            "salesforce",
            "/_sandbox/salesforce/services/oauth2/authorize",
            json!({"environment": "sandbox"}),
        ),
        api_key(
            "sauce_labs",
            "sauce_labs",
            "sandbox-sauce-truth",
            json!({"data_center": "us-west-1", "username": "acme-admin", "access_key": "sandbox-sauce-truth"}),
        ),
        oauth("slack", "/_sandbox/slack/oauth/v2/authorize", json!({})),
        api_key(
            "trello",
            "trello",
            trello,
            json!({"workspace": prov_sandbox::TRELLO_WORKSPACE, "api_key": "0123456789abcdef0123456789abcdef", "api_token": trello}),
        ),
        api_key(
            "zoho",
            "zoho books",
            "sandbox-truth-books",
            zoho("books", "us", "sandbox-truth-books"),
        ),
        api_key(
            "zoho",
            "zoho desk",
            "sandbox-truth-desk",
            zoho("desk", "eu", "sandbox-truth-desk"),
        ),
    ]
}

/// The fake's own state of a user, in a word.
fn fake_state(user: Option<&SandboxUser>) -> &'static str {
    match user {
        None => "absent",
        Some(u) if u.suspended => "suspended",
        Some(u) if !u.active => "inactive",
        Some(u) if u.invite_pending => "invited",
        Some(_) => "active",
    }
}

/// Whether the recorded status is the truth about the fake's user. A removal is the user
/// gone, or kept inactive where the app's catalog says removal deactivates; a suspension is
/// the user suspended or inactive; an invitation is pending (or, where the vendor cannot
/// show it, any active user); an account in use is active (or not signed in yet, where the
/// vendor's API calls that an account in use).
fn agrees(recorded: &str, fake: &str, row: &Row, removal_deactivates: bool) -> bool {
    match recorded {
        "deleted" => fake == "absent" || (removal_deactivates && fake == "inactive"),
        "suspended" => fake == "suspended" || fake == "inactive",
        "invite_sent" => {
            fake == "invited" || (row.invitations == Invitations::KeptFromCreation && fake == "active")
        }
        "connected" => {
            fake == "active" || (row.invitations == Invitations::AccountInUse && fake == "invited")
        }
        _ => false,
    }
}

/// The service's record of one account of `app` (its listing, all pages' first 100).
async fn recorded(w: &Walk, co: &Co, app: &str, id: &str) -> String {
    let listed = w
        .send(
            "GET",
            &co.path(&format!("/apps/{app}/accounts?limit=100")),
            Some(&co.admin),
            None,
        )
        .await
        .json();
    listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == id)
        .map(|a| a["status"].as_str().unwrap().to_owned())
        .unwrap_or_else(|| format!("not listed: {listed}"))
}

/// One row's walk through the actions; the cells, and the disagreements.
struct Walked {
    cells: Vec<String>,
    wrong: Vec<String>,
}

impl Walked {
    /// Compares the service's record of `id` with the fake's user, as one cell.
    async fn check(&mut self, w: &Walk, co: &Co, row: &Row, deactivates: bool, step: &str, id: &str) {
        let recorded = recorded(w, co, row.app, id).await;
        let user = w.local.sandbox.user(&row.tenant, &row.email);
        let fake = fake_state(user.as_ref());
        let ok = agrees(&recorded, fake, row, deactivates);
        self.cells
            .push(format!("{} {recorded}={fake}", if ok { "ok" } else { "XX" }));
        if !ok {
            self.wrong.push(format!(
                "{} {step}: recorded {recorded}, the vendor has {fake} ({user:?})",
                row.label
            ));
        }
    }

    fn skip(&mut self) {
        self.cells.push("-".to_owned());
    }
}

async fn connect(w: &Walk, row: &Row) -> Co {
    let owner = format!("owner.{}@example.com", row.label.replace(' ', "-"));
    match &row.connect {
        Connect::ApiKey(fields) => {
            let mut wrong = fields.clone();
            for secret in [
                "scim_token",
                "api_token",
                "access_key",
                "provhash",
                "client_secret",
                "grant_code",
            ] {
                if wrong.get(secret).is_some() {
                    wrong[secret] = json!("wrong-secret-0123456789abcdefghi");
                }
            }
            api_key_connected(w, &owner, row.app, wrong, fields.clone()).await
        }
        Connect::OAuth { consent, start } => {
            oauth_connected_with(w, &owner, row.app, consent, start.clone())
                .await
                .0
        }
    }
}

async fn walk(w: &Walk, row: &Row) -> Walked {
    let co = connect(w, row).await;
    let entry = w
        .send("GET", &format!("/v1/apps/{}", row.app), Some(&co.admin), None)
        .await
        .json();
    let caps = &entry["capabilities"];
    let deactivates = entry["removal_deactivates"] == true;
    let mut walked = Walked {
        cells: Vec::new(),
        wrong: Vec::new(),
    };
    let ada = member(w, &co, person("Ada", "Lovelace", Some(&row.email))).await;

    let id = account_for(w, &co, row.app, &ada).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    walked.check(w, &co, row, deactivates, "create", &id).await;

    if row.accepts {
        w.local.sandbox.accept_invitation(&row.tenant, &row.email);
        let synced = sync_app(w, &co, row.app).await;
        assert_eq!(synced.status, 200, "{}: {}", row.label, synced.text());
        walked
            .check(w, &co, row, deactivates, "accepted, synced", &id)
            .await;
    } else {
        walked.skip();
    }

    if caps["suspend"] == true {
        act_on(w, &co, row.app, &id, "suspend").await;
        walked.check(w, &co, row, deactivates, "suspend", &id).await;
        act_on(w, &co, row.app, &id, "reactivate").await;
        walked.check(w, &co, row, deactivates, "reactivate", &id).await;
    } else {
        walked.skip();
        walked.skip();
    }

    act_on(w, &co, row.app, &id, "delete").await;
    walked.check(w, &co, row, deactivates, "delete", &id).await;
    // What the vendor still lists of a removed account is read again: still a removal.
    let synced = sync_app(w, &co, row.app).await;
    assert_eq!(synced.status, 200, "{}: {}", row.label, synced.text());
    walked
        .check(w, &co, row, deactivates, "delete, synced", &id)
        .await;

    // A rehire: creating the account again gives the person access again.
    let again = account_for(w, &co, row.app, &ada).await;
    let again_id = again["id"].as_str().unwrap().to_owned();
    walked
        .check(w, &co, row, deactivates, "re-create", &again_id)
        .await;
    if !["invite_sent", "connected"].contains(&again["status"].as_str().unwrap_or_default()) {
        walked
            .wrong
            .push(format!("{} re-create: no access again ({again})", row.label));
    }

    let dismissed = w
        .send(
            "PUT",
            &co.path(&format!("/team_members/{ada}/dismissal")),
            Some(&co.admin),
            Some(json!({"last_day": "2026-02-01"})),
        )
        .await;
    assert_eq!(dismissed.status, 200, "{}: {}", row.label, dismissed.text());
    let task = dismissed.json();
    if task["status"] != "completed" {
        walked
            .wrong
            .push(format!("{} dismissal: not completed ({task})", row.label));
    }
    walked
        .check(w, &co, row, deactivates, "dismissal removal", &again_id)
        .await;
    walked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_app_records_what_its_vendor_fake_holds_after_every_action() {
    let w = std::sync::Arc::new(Walk::start().await);
    let columns = [
        "create",
        "accepted",
        "suspend",
        "reactivate",
        "delete",
        "synced",
        "re-create",
        "dismissal",
    ];
    let mut table = String::new();
    let width = 30;
    write!(table, "{:<18}", "app").unwrap();
    for c in columns {
        write!(table, "{c:<width$}").unwrap();
    }
    table.push('\n');
    let mut wrong = Vec::new();
    let rows = rows();
    // Every app of the sandbox-mode directory has its row, so no vendor goes without this
    // proof.
    let apps: Vec<&str> = prov_connectors::registry::catalog(true)
        .directory()
        .map(|a| a.slug)
        .collect();
    let without: Vec<_> = apps
        .iter()
        .filter(|slug| !rows.iter().any(|r| r.app == **slug))
        .collect();
    assert!(without.is_empty(), "apps without a row: {without:?}");
    let count = rows.len();
    // The rows at once (each its own company and vendor directory): the vendors' request
    // limits make some wait, and they wait side by side.
    let walks: Vec<_> = rows
        .into_iter()
        .map(|row| {
            let w = w.clone();
            tokio::spawn(async move {
                let walked = walk(&w, &row).await;
                (row, walked)
            })
        })
        .collect();
    for handle in walks {
        let (row, walked) = handle.await.expect("a row's walk panicked");
        write!(table, "{:<18}", row.label).unwrap();
        for cell in &walked.cells {
            write!(table, "{cell:<width$}").unwrap();
        }
        table.push('\n');
        wrong.extend(walked.wrong);
    }
    println!("recorded status = the vendor fake's own state, per app and action:\n{table}");
    assert_eq!(
        count,
        apps.len() + 1,
        "every vendor and sandbox app once, Zoho once per product that removes differently"
    );
    assert!(wrong.is_empty(), "{table}\n{}", wrong.join("\n"));
}
