//! The `Scheduler` port on Amazon EventBridge Scheduler: one-time `at(...)` schedules in
//! `America/Los_Angeles`, targeting the cleanup function with a JSON input, retried, with a
//! dead-letter queue, deleted after they run.

use async_trait::async_trait;
use aws_sdk_scheduler::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_scheduler::types::{
    ActionAfterCompletion, DeadLetterConfig, FlexibleTimeWindow, FlexibleTimeWindowMode, RetryPolicy, Target,
};
use prov_core::schedule::{REMOVAL_TIME_ZONE, ScheduleError, ScheduledJob, Scheduler, pacific_wall_clock};

use crate::SdkClient;

/// Where schedules go and what they invoke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventBridgeTarget {
    pub group: String,
    /// The cleanup function's ARN.
    pub function_arn: String,
    /// The role EventBridge Scheduler assumes to invoke it.
    pub role_arn: String,
    /// The SQS queue that receives invocations that failed every retry.
    pub dead_letter_arn: String,
}

pub struct EventBridgeScheduler {
    client: SdkClient<aws_sdk_scheduler::Client>,
    target: EventBridgeTarget,
}

fn unavailable(e: impl std::error::Error + ProvideErrorMetadata + 'static) -> ScheduleError {
    ScheduleError::Unavailable(DisplayErrorContext(&e).to_string())
}

impl EventBridgeScheduler {
    pub fn new(client: impl Into<SdkClient<aws_sdk_scheduler::Client>>, target: EventBridgeTarget) -> Self {
        Self {
            client: client.into(),
            target,
        }
    }

    fn target(&self, job: &ScheduledJob) -> Result<Target, ScheduleError> {
        Target::builder()
            .arn(&self.target.function_arn)
            .role_arn(&self.target.role_arn)
            .input(job.payload.to_string())
            .retry_policy(
                RetryPolicy::builder()
                    .maximum_retry_attempts(20)
                    .maximum_event_age_in_seconds(24 * 3600)
                    .build(),
            )
            .dead_letter_config(
                DeadLetterConfig::builder()
                    .arn(&self.target.dead_letter_arn)
                    .build(),
            )
            .build()
            .map_err(|e| ScheduleError::Invalid(e.to_string()))
    }

    fn window() -> Result<FlexibleTimeWindow, ScheduleError> {
        FlexibleTimeWindow::builder()
            .mode(FlexibleTimeWindowMode::Off)
            .build()
            .map_err(|e| ScheduleError::Invalid(e.to_string()))
    }

    /// The schedule as EventBridge holds it (name, expression, time zone, input), for tests
    /// and operators.
    pub async fn describe(&self, name: &str) -> Result<Option<(String, String, String)>, ScheduleError> {
        match self
            .client
            .get()
            .get_schedule()
            .group_name(&self.target.group)
            .name(name)
            .send()
            .await
        {
            Ok(out) => Ok(Some((
                out.schedule_expression.unwrap_or_default(),
                out.schedule_expression_timezone.unwrap_or_default(),
                out.target.and_then(|t| t.input).unwrap_or_default(),
            ))),
            Err(e) if e.code() == Some("ResourceNotFoundException") => Ok(None),
            Err(e) => Err(ScheduleError::Unavailable(DisplayErrorContext(&e).to_string())),
        }
    }
}

/// EventBridge schedule names: 1–64 of letters, digits, `.`, `-`, `_`.
fn check_name(name: &str) -> Result<(), ScheduleError> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    if ok {
        Ok(())
    } else {
        Err(ScheduleError::Invalid(format!("`{name}` is not a schedule name")))
    }
}

#[async_trait]
impl Scheduler for EventBridgeScheduler {
    async fn schedule(&self, job: &ScheduledJob) -> Result<(), ScheduleError> {
        check_name(&job.name)?;
        let expression = format!("at({})", pacific_wall_clock(job.at));
        let created = self
            .client
            .get()
            .create_schedule()
            .group_name(&self.target.group)
            .name(&job.name)
            .schedule_expression(&expression)
            .schedule_expression_timezone(REMOVAL_TIME_ZONE)
            .flexible_time_window(Self::window()?)
            .action_after_completion(ActionAfterCompletion::Delete)
            .target(self.target(job)?)
            .send()
            .await;
        match created {
            Ok(_) => Ok(()),
            // One schedule per name: moving a dismissal updates it.
            Err(e) if e.code() == Some("ConflictException") => self
                .client
                .get()
                .update_schedule()
                .group_name(&self.target.group)
                .name(&job.name)
                .schedule_expression(&expression)
                .schedule_expression_timezone(REMOVAL_TIME_ZONE)
                .flexible_time_window(Self::window()?)
                .action_after_completion(ActionAfterCompletion::Delete)
                .target(self.target(job)?)
                .send()
                .await
                .map(|_| ())
                .map_err(unavailable),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn cancel(&self, name: &str) -> Result<(), ScheduleError> {
        check_name(name)?;
        match self
            .client
            .get()
            .delete_schedule()
            .group_name(&self.target.group)
            .name(name)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("ResourceNotFoundException") => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }
}
