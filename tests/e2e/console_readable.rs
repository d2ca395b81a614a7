//! The console reads as a product (issue 26, "Readable and usable"), over plain HTTP:
//! problems in plain words at their field, Pacific time in one format, Match accounts in
//! one pass, the audit log as sentences with filters, no engineering notes, post-redirect
//! results, the dismissal's choices before saving, and missing actions explained.

use serde_json::json;

use crate::console::Client;
use crate::flows::act_on;
use crate::support::{Co, Walk};

/// The opening tag of the element with `id` in `html`.
fn tag<'a>(html: &'a str, id: &str) -> &'a str {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in {html}"));
    let start = html[..at].rfind('<').unwrap();
    let end = at + html[at..].find('>').unwrap();
    &html[start..=end]
}

async fn member(w: &Walk, co: &Co, first: &str, last: &str, email: Option<&str>, country: &str) -> String {
    let mut body =
        json!({"first_name": first, "last_name": last, "kind": "employee", "work_country": country});
    if let Some(email) = email {
        body["email"] = json!(email);
    }
    w.team_member(co, body).await
}

#[tokio::test]
async fn forms_say_problems_at_their_field_in_plain_words() {
    let w = Walk::start().await;
    let co = w
        .connected_company("readable-forms@example.com", "sandbox-readable-forms")
        .await;
    let bob = member(&w, &co, "Bob", "Builder", Some("bob@example.com"), "US").await;
    let mut admin = Client::new(&w);
    admin.sign_in(&co.admin).await;
    let csrf = admin.csrf().await;

    // A missing credential: said at its field, in the form's words, and focused.
    let refused = admin
        .post(
            "/console/apps/sandbox_scim/connect",
            &[
                ("csrf", &csrf),
                ("scim_base_url", "https://scim.sandbox.test/scim/v2"),
            ],
        )
        .await
        .text();
    let problem = &refused[refused
        .find("id=\"field-scim_token-problem\"")
        .expect("the problem at the field")..];
    let problem = &problem[..problem.find("</p>").unwrap()];
    assert!(
        !problem.contains('`') && problem.contains("required"),
        "{problem}"
    );
    let input = tag(&refused, "field-scim_token");
    assert!(
        input.contains("aria-invalid=\"true\"")
            && input.contains("autofocus")
            && input.contains("aria-describedby=\"field-scim_token-problem\""),
        "{input}"
    );

    // A bad last day: at the date field, without the attribute's code name.
    let bad = admin
        .get(&format!("/console/team/{bob}/dismissal?last_day=10/03/2026"))
        .await
        .text();
    let problem = &bad[bad.find("id=\"last_day-problem\"").expect("at the field")..];
    let problem = &problem[..problem.find("</p>").unwrap()];
    assert!(
        problem.contains("The last day must be a date") && !problem.contains('`'),
        "{problem}"
    );
    assert!(tag(&bad, "last_day").contains("autofocus"));

    // The preview offers suspend or delete per app before anything is saved.
    let account = w
        .send(
            "POST",
            &co.path("/apps/sandbox_scim/accounts"),
            Some(&co.admin),
            Some(json!({"team_member_id": bob})),
        )
        .await;
    assert_eq!(account.status, 201, "{}", account.text());
    let preview = admin
        .get(&format!("/console/team/{bob}/dismissal?last_day=2026-03-20"))
        .await
        .text();
    assert!(
        tag(&preview, "removal-sandbox_scim").contains("name=\"removal.sandbox_scim\""),
        "{preview}"
    );
    let dismissed = admin
        .post(
            &format!("/console/team/{bob}/dismissal"),
            &[
                ("csrf", &csrf),
                ("last_day", "2026-03-20"),
                ("removal.sandbox_scim", "suspend"),
            ],
        )
        .await;
    assert_eq!(dismissed.status, 303, "{}", dismissed.text());
    let task = w
        .send(
            "GET",
            &co.path(&format!("/team_members/{bob}/offboarding")),
            Some(&co.admin),
            None,
        )
        .await
        .json();
    assert_eq!(task["accounts"][0]["action"], "suspend", "{task}");

    // Times in Pacific time, one format.
    let app = admin.get("/console/apps/sandbox_scim").await.text();
    assert!(app.contains("Since March 1, 2026 at 4:00 AM PST"), "{app}");
    assert!(!app.contains("UTC"));
}

#[tokio::test]
async fn match_accounts_finishes_in_one_pass_and_names_people() {
    let w = Walk::start().await;
    let token = "sandbox-readable-match";
    let co = w.connected_company("readable-match@example.com", token).await;
    let carol = member(&w, &co, "Carol", "Danvers", Some("carol@example.com"), "US").await;
    let abroad = member(&w, &co, "Ines", "Abroad", Some("ines@example.com"), "FR").await;
    let _no_email = member(&w, &co, "Nemo", "Nomail", None, "US").await;
    for (email, first, last) in [
        ("c.danvers@corp.example", "Carol", "Danvers"),
        ("carol.d@example.com", "Carol", "D"),
        ("deploy-bot@example.com", "Deploy", "Bot"),
    ] {
        w.local.sandbox.seed_user(token, email, first, last);
    }
    w.sync(&co, "sandbox_scim").await;
    let mut admin = Client::new(&w);
    admin.sign_in(&co.admin).await;
    let csrf = admin.csrf().await;
    let page = admin.get("/console/apps/sandbox_scim/accounts").await.text();
    let accounts = w
        .send(
            "GET",
            &co.path("/apps/sandbox_scim/accounts"),
            Some(&co.admin),
            None,
        )
        .await
        .json();
    let id_of = |email: &str| {
        accounts["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["email"] == email)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (rambeau, carol_d, bot) = (
        id_of("c.danvers@corp.example"),
        id_of("carol.d@example.com"),
        id_of("deploy-bot@example.com"),
    );
    // The suggestion is chosen already; an international employee is not offered.
    let select = &page[page.find(&format!("id=\"match.{rambeau}\"")).unwrap()..];
    let select = &select[..select.find("</select>").unwrap()];
    assert!(
        select.contains(&format!("<option value=\"{carol}\" selected")),
        "{select}"
    );
    assert!(!select.contains(&abroad), "{select}");

    // Two accounts for Carol: one is saved, the other refused naming her; the bot leaves
    // the list once marked "Do not match".
    let saved = admin
        .post(
            "/console/apps/sandbox_scim/matches",
            &[
                ("csrf", &csrf),
                (&format!("match.{rambeau}"), &carol),
                (&format!("match.{carol_d}"), &carol),
                (&format!("match.{bot}"), "do_not_match"),
            ],
        )
        .await;
    assert_eq!(
        saved.status,
        409,
        "{}",
        &saved.text()[saved.text().find("<main").unwrap_or(0)..]
    );
    let page = saved.text();
    let problem = &page[page
        .find(&format!("id=\"match.{}-problem\"", carol_d))
        .or_else(|| page.find(&format!("id=\"match.{rambeau}-problem\"")))
        .expect("a problem at the row")..];
    let problem = &problem[..problem.find("</p>").unwrap()];
    assert!(
        problem.contains("Carol Danvers") && !problem.contains(&carol),
        "{problem}"
    );
    assert!(page.contains("2 matches saved"), "{page}");
    let again = admin.get("/console/apps/sandbox_scim/accounts").await.text();
    assert!(
        !again.contains(&format!("id=\"match.{bot}\"")),
        "a \"Do not match\" account leaves the list"
    );
}

#[tokio::test]
async fn the_audit_log_reads_as_sentences_and_filters() {
    let w = Walk::start().await;
    let token = "sandbox-readable-log";
    let co = w.connected_company("readable-log@example.com", token).await;
    let bob = member(&w, &co, "Bob", "Builder", Some("bob@example.com"), "US").await;
    let ann = member(&w, &co, "Ann", "Other", Some("ann@example.com"), "US").await;
    for who in [&bob, &ann] {
        let made = w
            .send(
                "POST",
                &co.path("/apps/sandbox_scim/accounts"),
                Some(&co.admin),
                Some(json!({"team_member_id": who})),
            )
            .await;
        assert_eq!(made.status, 201, "{}", made.text());
    }
    let bobs = w
        .send(
            "GET",
            &co.path(&format!("/team_members/{bob}/apps")),
            Some(&co.admin),
            None,
        )
        .await
        .json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["app"] == "sandbox_scim")
        .unwrap()["account"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    act_on(&w, &co, "sandbox_scim", &bobs, "delete").await;
    let mut admin = Client::new(&w);
    admin.sign_in(&co.admin).await;

    let log = admin.get("/console/events").await.text();
    assert!(
        log.contains("P A deleted Bob Builder&#39;s Sandbox SCIM app account.")
            || log.contains("P A deleted Bob Builder's Sandbox SCIM app account."),
        "{log}"
    );
    assert!(log.contains("P A connected Sandbox SCIM app."), "{log}");
    assert!(log.contains("PST") && !log.contains("UTC"), "Pacific time");
    assert!(
        log.contains("confirmed by the app") && !log.contains("vendor_answer"),
        "how the deletion was proven, in words: {log}"
    );
    // By person: Bob's events only.
    let bobs_log = admin.get(&format!("/console/events?person={bob}")).await.text();
    assert!(
        bobs_log.contains("Bob Builder")
            && !bobs_log.contains("Ann Other&#39;s")
            && !bobs_log.contains("Ann Other's"),
        "{bobs_log}"
    );
    // By kind of change, and by app.
    let connections = admin.get("/console/events?kind=connections").await.text();
    assert!(
        connections.contains("connected Sandbox SCIM app") && !connections.contains("created"),
        "{connections}"
    );
    let other_app = admin.get("/console/events?app=slack").await.text();
    assert!(other_app.contains("No events match the filter"), "{other_app}");
}

#[tokio::test]
async fn results_do_not_resubmit_engineering_notes_stay_out_and_missing_actions_say_why() {
    let w = Walk::start().await;
    let co = w
        .connected_company("readable-misc@example.com", "sandbox-readable-misc")
        .await;
    let plus = w
        .send(
            "PATCH",
            &co.path(""),
            Some(crate::support::PARTNER),
            Some(json!({"plan": "plus"})),
        )
        .await;
    assert_eq!(plus.status, 200);
    let bob = member(&w, &co, "Bob", "Builder", Some("bob@example.com"), "US").await;
    let nemo = member(&w, &co, "Nemo", "Nomail", None, "US").await;
    let made = w
        .send(
            "POST",
            &co.path("/apps/sandbox_scim/accounts"),
            Some(&co.admin),
            Some(json!({"team_member_id": bob})),
        )
        .await;
    assert_eq!(made.status, 201);
    let mut admin = Client::new(&w);
    admin.sign_in(&co.admin).await;
    let csrf = admin.csrf().await;

    // Remove all accounts answers with a redirect: reloading the result removes nothing.
    let removed = admin
        .post(&format!("/console/team/{bob}/remove_all"), &[("csrf", &csrf)])
        .await;
    assert_eq!(removed.status, 303, "{}", removed.text());
    let result = admin.get(removed.header("location").unwrap()).await.text();
    assert!(
        result.contains("Remove all accounts: deleted in Sandbox SCIM app."),
        "{result}"
    );

    // The vendor notes meant for engineers are not on the app's page.
    let trello = admin.get("/console/apps/trello").await.text();
    assert!(
        !trello.contains("OAuth 2.0 endpoints are not confirmed"),
        "{trello}"
    );

    // No "Create account" for a person without an email: the page says why.
    let page = admin.get(&format!("/console/team/{nemo}")).await.text();
    assert!(page.contains("Nemo Nomail has no email"), "{page}");
    assert!(!page.contains(">Create account<"), "{page}");
}
