//! Dismissal: removing a team member's app access at 00:00 Pacific the day after their last
//! day (or now, when that has passed), the offboarding checklist's "Remove app access" task,
//! and the cleanup that the scheduler (or the sweep) runs.
//!
//! The cleanup is idempotent and resumable. Each account removal is a step of the dismissal's
//! plan; a run claims a step with a conditional write of the step's own item before calling
//! the vendor and records the result there after. A step found claimed by a run that died is reconciled by asking the
//! vendor whether the account is already gone or suspended, so no account is removed twice
//! and none is missed. Only matched accounts are touched.

mod breaker;
mod cleanup;
mod listing;
mod planning;
mod records;
mod task;

pub use cleanup::{RunReport, handle, run, sweep};
pub use listing::{FINISHED_LISTED_DAYS, OpenOffboarding, open_offboardings};
pub use planning::PlannedRemoval;
pub use records::{
    CleanupEvent, Dismissal, DismissalState, Phase, Removal, ReservedEvent, Step, StepState, claim_lease,
    runs_at, schedule_name,
};
pub use task::{
    DismissalRequest, OffboardingChange, OffboardingView, RemovalChoices, cancel, dismiss, offboarding,
    rehire, update_offboarding,
};
