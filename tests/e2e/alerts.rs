//! Alerts (issue 23, point 4): the admins who manage apps (the primary admin and those with
//! `manage_apps`, no one else) are emailed at once about access not removed, an offboarding
//! that needs attention and a connection to reconnect, and once a day about the access
//! report's other news; each finding once until it changes. The devserver's outbox is
//! where the emails are read.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use crate::reconcile::{person, set_active_at_vendor};
use crate::support::{Co, Walk};
use crate::webhooks::{Receiver, register, settle};

const TOKEN: &str = "sandbox-alerts";

/// A company with the sandbox app connected, and two more admins: one who manages apps, one
/// who does not. Answers the company and the three admins' addresses.
async fn company(w: &Walk) -> Co {
    let co = w.connected_company("owner@example.com", TOKEN).await;
    for (email, permissions) in [
        ("apps-admin@example.com", json!(["manage_apps"])),
        ("plain-admin@example.com", json!([])),
    ] {
        let invited = w
            .send(
                "POST",
                &co.path("/admins"),
                Some(&co.admin),
                Some(json!({"first_name": "Ann", "last_name": "Admin", "email": email, "permissions": permissions})),
            )
            .await;
        assert_eq!(invited.status, 201, "{}", invited.text());
    }
    co
}

/// Every email sent so far with `subject_start`, by recipient (oldest first).
async fn mailed(w: &Walk, subject_start: &str) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = w
        .local
        .outbox
        .recent(1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.email.subject.starts_with(subject_start))
        .map(|m| (m.email.to, m.email.subject, m.email.text))
        .collect();
    out.reverse();
    out
}

fn recipients(mails: &[(String, String, String)]) -> Vec<&str> {
    let mut to: Vec<&str> = mails.iter().map(|(to, _, _)| to.as_str()).collect();
    to.sort();
    to
}

const MANAGERS: [&str; 2] = ["apps-admin@example.com", "owner@example.com"];

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_not_removed_is_mailed_at_once_and_the_rest_in_one_daily_digest() {
    let w = Walk::start().await;
    let (receiver, url) = Receiver::start().await;
    register(&w, &url, &["access_report.finding_opened"]).await;
    settle(&w).await;
    let co = company(&w).await;
    w.local
        .sandbox
        .seed_user(TOKEN, "dan@example.com", "dan", "Person");
    let dan = person(&w, &co, "dan").await;
    w.sync(&co, "sandbox_scim").await;
    let dismissed = w
        .send(
            "PUT",
            &co.path(&format!("/team_members/{dan}/dismissal")),
            Some(&co.admin),
            Some(json!({"last_day": "2026-02-20", "removal": {"sandbox_scim": "suspend"}})),
        )
        .await;
    assert_eq!(dismissed.json()["status"], "completed", "{}", dismissed.text());

    // Behind the service's back, the dismissed person's account is active again, and a
    // stranger's account appears.
    set_active_at_vendor(&w, TOKEN, "dan@example.com", true).await;
    w.local
        .sandbox
        .seed_user(TOKEN, "eve@example.com", "Eve", "Outsider");
    w.sync(&co, "sandbox_scim").await;
    let urgent = mailed(&w, "Access not removed in Sandbox SCIM app").await;
    assert_eq!(recipients(&urgent), MANAGERS, "at once, to those who manage apps");
    for (_, _, text) in &urgent {
        assert!(text.contains("dan@example.com still has an active"), "{text}");
        assert!(text.contains("What to do: Delete or suspend"), "{text}");
        assert!(text.contains("/console/access_report"), "{text}");
    }
    // The rest waits for the digest (08:00 in California).
    assert!(mailed(&w, "Co:").await.is_empty());

    // Seen again by the next syncs, unchanged: not mailed again.
    w.sync(&co, "sandbox_scim").await;
    // One finding, one email each, one webhook delivery.
    let not_removed: Vec<_> = receiver
        .got()
        .into_iter()
        .filter(|g| g.event()["data"]["kind"] == "access_not_removed")
        .collect();
    assert_eq!(not_removed.len(), 1);
    assert_eq!(not_removed[0].event()["data"]["team_member_id"], dan.as_str());
    let report = w
        .send("GET", &co.path("/access_report"), Some(&co.admin), None)
        .await
        .json();
    let open = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "access_not_removed")
        .count();
    assert_eq!(open, 1, "{report}");
    w.clock.set(at("2026-03-01T14:59:00Z"));
    w.local.tick().await.unwrap();
    assert_eq!(mailed(&w, "Access not removed").await.len(), 2);
    assert!(mailed(&w, "Co:").await.is_empty(), "not before its time");

    w.clock.set(at("2026-03-01T15:00:00Z"));
    w.local.tick().await.unwrap();
    let digest = mailed(&w, "Co:").await;
    assert_eq!(recipients(&digest), MANAGERS);
    let (_, subject, text) = &digest[0];
    assert_eq!(subject, "Co: 3 new findings in the access report");
    for said in [
        "dan@example.com reactivated at Sandbox SCIM app",
        "1 Sandbox SCIM app accounts match no team member (e.g. eve@example.com)",
        "1 Sandbox SCIM app seats belong to no team member",
    ] {
        assert!(text.contains(said), "{said}: {text}");
    }
    assert!(
        !text.contains("still has an active"),
        "mailed at once already: {text}"
    );

    // A day later, nothing new: no digest. Then a second stranger changes two findings'
    // counts: the next digest has those two.
    w.sync(&co, "sandbox_scim").await;
    w.clock.set(at("2026-03-02T15:00:01Z"));
    w.local.tick().await.unwrap();
    assert_eq!(mailed(&w, "Co:").await.len(), 2);
    w.local
        .sandbox
        .seed_user(TOKEN, "mallory@example.com", "Mallory", "Outsider");
    w.sync(&co, "sandbox_scim").await;
    w.clock.set(at("2026-03-03T15:00:00Z"));
    w.local.tick().await.unwrap();
    let digests = mailed(&w, "Co:").await;
    assert_eq!(digests.len(), 4);
    let (_, subject, text) = &digests[3];
    assert_eq!(subject, "Co: 2 new findings in the access report");
    assert!(
        text.contains("2 Sandbox SCIM app accounts match no team member"),
        "{text}"
    );
    assert!(!text.contains("reactivated"), "unchanged: {text}");
    assert_eq!(mailed(&w, "Access not removed").await.len(), 2, "still once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offboarding_that_needs_attention_and_a_connection_to_reconnect_are_mailed_at_once() {
    let w = Walk::start().await;
    let co = company(&w).await;
    w.local
        .sandbox
        .seed_user(TOKEN, "dan@example.com", "dan", "Person");
    let dan = person(&w, &co, "dan").await;
    w.sync(&co, "sandbox_scim").await;
    w.local.sandbox.fail_next(1000, 500);
    let dismissed = w
        .send(
            "PUT",
            &co.path(&format!("/team_members/{dan}/dismissal")),
            Some(&co.admin),
            Some(json!({"last_day": "2026-02-20"})),
        )
        .await;
    assert_eq!(
        dismissed.json()["status"],
        "needs_attention",
        "{}",
        dismissed.text()
    );
    let attention = mailed(&w, "Offboarding needs attention: dan Person").await;
    assert_eq!(recipients(&attention), MANAGERS);
    assert!(
        attention[0]
            .2
            .contains(&format!("/console/team/{dan}/offboarding")),
        "{}",
        attention[0].2
    );
    // The retry that fails again is no news.
    w.clock.advance(Duration::minutes(16));
    w.local.tick().await.unwrap();
    assert_eq!(mailed(&w, "Offboarding needs attention").await.len(), 2);
    w.local.sandbox.clear_faults();

    // The vendor refuses the credentials: the sync fails and the report asks for a reconnect.
    w.local.sandbox.fail_next(1, 401);
    let sync = co.path("/apps/sandbox_scim/sync");
    assert_eq!(w.send("POST", &sync, Some(&co.admin), None).await.status, 202);
    w.local.work().await.unwrap();
    let reconnect = mailed(&w, "Connect Sandbox SCIM app again").await;
    assert_eq!(recipients(&reconnect), MANAGERS);
}
