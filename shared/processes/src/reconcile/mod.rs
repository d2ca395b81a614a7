//! Reconciliation: every connected app of every company synced on a schedule (spread over
//! the period), the access report the syncs keep (`findings`), and the admins' daily digest
//! of its news (`digest`).

pub mod digest;
pub mod findings;
mod schedule;

pub use findings::{AccessReport, Finding, FindingKind, access_report, open_findings};
pub use schedule::{TickReport, slot_offset, tick};
