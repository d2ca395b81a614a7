//! People → Offboarding: whoever has the "Remove app access" task open, in one read.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use prov_core::access::Access;
use prov_core::error::Result;
use prov_core::keys::{DISMISSAL, TEAM_MEMBERS, company_partition};
use prov_core::store::query_all;
use prov_core::team::TeamMember;
use serde::Serialize;

use super::records::{Dismissal, DismissalState};
use super::task::status;
use crate::connections::Apps;

/// How long a finished removal stays listed.
pub const FINISHED_LISTED_DAYS: i64 = 30;

/// One person of People → Offboarding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenOffboarding {
    pub team_member: TeamMember,
    /// As the task's `status`: `scheduled`, `in_progress`, `needs_attention`, `paused` or
    /// `completed`.
    pub status: &'static str,
    pub last_day: NaiveDate,
    pub removes_access_at: DateTime<Utc>,
    pub problem: Option<String>,
}

/// Every dismissal whose removal is still to come or needs someone, and those finished in
/// the last `FINISHED_LISTED_DAYS`; the soonest access end first. Cancelled ones are not
/// listed (the person stays).
pub async fn open_offboardings(apps: &Apps, access: &Access) -> Result<Vec<OpenOffboarding>> {
    let partition = company_partition(&access.company().id);
    let since = apps.services.clock.now() - Duration::days(FINISHED_LISTED_DAYS);
    let mut members: HashMap<String, TeamMember> = HashMap::new();
    for item in query_all(apps.services.store.as_ref(), &partition, TEAM_MEMBERS).await? {
        let member: TeamMember = item.record()?;
        members.insert(member.id.clone(), member);
    }
    let mut open = Vec::new();
    for item in query_all(apps.services.store.as_ref(), &partition, DISMISSAL).await? {
        let d: Dismissal = item.record()?;
        let listed = match d.state {
            DismissalState::Cancelled => false,
            DismissalState::Done => d.completed_at.is_some_and(|at| at >= since),
            _ => true,
        };
        let Some(member) = members.remove(&d.team_member_id).filter(|_| listed) else {
            continue;
        };
        open.push(OpenOffboarding {
            status: status(&d),
            team_member: member,
            last_day: d.last_day,
            removes_access_at: d.due_at,
            problem: d.problem,
        });
    }
    open.sort_by_key(|o| o.removes_access_at);
    Ok(open)
}
