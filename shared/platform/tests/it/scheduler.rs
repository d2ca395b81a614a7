//! The EventBridge Scheduler adapter against moto: create, get, update (move), delete.

use chrono::{DateTime, Utc};
use prov_core::schedule::{ScheduledJob, Scheduler};
use prov_platform::{EventBridgeScheduler, EventBridgeTarget};
use serde_json::json;

#[tokio::test]
async fn schedules_are_created_moved_and_cancelled() {
    let client = prov_testkit::scheduler_client();
    let group = prov_testkit::unique_name("dismissals");
    client.create_schedule_group().name(&group).send().await.unwrap();
    let scheduler = EventBridgeScheduler::new(
        client,
        EventBridgeTarget {
            group,
            function_arn: "arn:aws:lambda:us-east-1:123456789012:function:cleanup".into(),
            role_arn: "arn:aws:iam::123456789012:role/scheduler".into(),
            dead_letter_arn: "arn:aws:sqs:us-east-1:123456789012:dlq".into(),
        },
    );
    let at: DateTime<Utc> = "2026-01-02T08:00:00Z".parse().unwrap();
    let job = ScheduledJob {
        name: "dismissal-com_1-tm_1".into(),
        at,
        payload: json!({"kind": "dismissal_due", "company_id": "com_1", "team_member_id": "tm_1"}),
    };
    scheduler.schedule(&job).await.unwrap();
    let (expression, zone, input) = scheduler.describe(&job.name).await.unwrap().unwrap();
    assert_eq!(expression, "at(2026-01-02T00:00:00)");
    assert_eq!(zone, "America/Los_Angeles");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&input).unwrap(),
        job.payload
    );

    // Scheduling the same name again moves it (a summer date is PDT).
    let moved = ScheduledJob {
        at: "2026-07-05T07:00:00Z".parse().unwrap(),
        ..job.clone()
    };
    scheduler.schedule(&moved).await.unwrap();
    let (expression, _, _) = scheduler.describe(&job.name).await.unwrap().unwrap();
    assert_eq!(expression, "at(2026-07-05T00:00:00)");

    scheduler.cancel(&job.name).await.unwrap();
    assert_eq!(scheduler.describe(&job.name).await.unwrap(), None);
    scheduler.cancel(&job.name).await.unwrap(); // cancelling what is gone is fine
    assert!(
        scheduler
            .schedule(&ScheduledJob {
                name: "bad name!".into(),
                ..job
            })
            .await
            .is_err()
    );
}
