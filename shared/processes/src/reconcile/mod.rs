//! Reconciliation: every connected app of every company synced on a schedule (spread over
//! the period), and the access report the syncs keep (`findings`).

pub mod findings;
mod schedule;

pub use findings::{AccessReport, Finding, FindingKind, access_report, open_findings};
pub use schedule::{TickReport, slot_offset, tick};
