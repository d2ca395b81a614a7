//! App accounts: syncing them from the vendor, matching them to team members (automatically
//! when name and email agree, otherwise with ranked suggestions), creating accounts,
//! suspending, deleting, unmatching, removing all of a person's accounts, and the views.
//!
//! Records (all in the company's partition; keys in `records`):
//! - `ACCT#<app>#<account id>`: one vendor account as last seen, with its match.
//! - `TMACCT#<team member>#<app>`: the link that makes "one account per person per app" hold.
//! - `INTENT#<app>#<team member>`: a creation in flight, written before the vendor call, so a
//!   crash or timeout is reconciled by looking the person up rather than creating twice.
//! - `SYNC#<app>`: the last sync of an app synced before sync jobs (read once).
//! - `SYNCJOB#<app>`: the app's sync job (one at a time), `SYNCSEEN#<app>#<job>#<page>` the
//!   vendor ids it has seen so far.

mod actions;
mod create;
mod events;
mod jobs;
mod matches;
mod matching;
mod records;
mod remove_all;
mod sync;
mod views;
mod worker;

pub use actions::{
    Action, ActionPlan, Performed, act, action_means, perform_action, plan_action, record_status,
};
pub(crate) use actions::{perform_with, remove_yourself};
pub use create::{NewAccount, create_account};
pub(crate) use jobs::start;
pub use jobs::{
    JobMessage, JobState, RunLimits, RunOutcome, Started, SyncJobView, Trigger, start_sync, sync_status,
};
pub use matches::{MatchRequest, MatchResult, Matches, submit_matches};
pub use matching::match_accounts;
pub use records::{AppAccount, MatchedBy, Matching, Suggestion, account_id, action_error, load};
pub use remove_all::{GroupMember, Removal, RemoveAll, add_to_group, groups, remove_all, work_email_domains};
pub use sync::{SyncReport, VendorChange};
pub(crate) use views::apps_of_member;
pub use views::{
    AccountListing, AccountQuery, AccountSummary, AccountView, MemberApp, Reach, list_accounts, member_apps,
    reach, status_name,
};
pub use worker::{deliver, run};
