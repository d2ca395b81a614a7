//! App accounts: syncing them from the vendor, matching them to team members (automatically
//! when name and email agree, otherwise with ranked suggestions), creating accounts,
//! suspending, deleting, unmatching, removing all of a person's accounts, and the views.
//!
//! Records (all in the company's partition):
//! - `ACCT#<app>#<account id>`: one vendor account as last seen, with its match.
//! - `TMACCT#<team member>#<app>`: the link that makes "one account per person per app" hold.
//! - `INTENT#<app>#<team member>`: a creation in flight, written before the vendor call, so a
//!   crash or timeout is reconciled by looking the person up rather than creating twice.
//! - `SYNC#<app>`: when the app was last synced and what changed.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use prov_core::access::Access;
use prov_core::audit::{self, Actor, Target};
use prov_core::catalog::{self, App};
use prov_core::connections::{ConnectionState, connection_key, summaries};
use prov_core::error::{Category, Error, ErrorDetail, Result};
use prov_core::listing::ListQuery;
use prov_core::secret::hash_secret;
use prov_core::store::{Cursor, Item, Key, PageRequest, StoreError, WriteOp};
use prov_core::team::{self, EmploymentStatus, Subject, TeamMember, eligibility};
use prov_core::validate::{Obj, Text, Validator};
use prov_core::values;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::connections::{Apps, connector_for};
use prov_core::connector::{
    AccountStatus, Connector, ConnectorCapabilities, ConnectorError, NewAccount, NewWorkAccount,
    VendorAccount, VendorGroup,
};

/// How long a creation may stay in flight before another request may take it over.
const INTENT_LEASE_MINUTES: i64 = 5;
const CONFLICT_ATTEMPTS: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MatchedBy {
    /// Same name and email in both.
    Auto,
    /// An admin matched it.
    Manual,
    /// We created the account for the person.
    Created,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Matching {
    Matched {
        team_member_id: String,
        by: MatchedBy,
    },
    Unmatched,
    /// "Do not match": bots and service accounts; never a seat, never touched.
    DoNotMatch,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Suggestion {
    pub team_member_id: String,
    /// 0–100: how alike the two look.
    pub score: u8,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppAccount {
    pub id: String,
    pub app: String,
    pub vendor_id: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub display_name: Option<String>,
    pub status: AccountStatus,
    /// Whether the vendor still has it (as of the last sync or action).
    pub present: bool,
    pub matching: Matching,
    pub suggestions: Vec<Suggestion>,
    pub first_seen_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl AppAccount {
    pub fn team_member_id(&self) -> Option<&str> {
        match &self.matching {
            Matching::Matched { team_member_id, .. } => Some(team_member_id),
            _ => None,
        }
    }

    fn live(&self) -> bool {
        self.present && self.status != AccountStatus::Deleted
    }
}

pub fn account_id(app: &str, vendor_id: &str) -> String {
    format!("acc_{}", &hash_secret(&format!("{app}\0{vendor_id}"))[..24])
}

fn partition(company_id: &str) -> String {
    format!("COMPANY#{company_id}")
}

fn account_key(company_id: &str, app: &str, id: &str) -> Key {
    Key::new(partition(company_id), format!("ACCT#{app}#{id}"))
}

fn link_key(company_id: &str, team_member_id: &str, app: &str) -> Key {
    Key::new(partition(company_id), format!("TMACCT#{team_member_id}#{app}"))
}

fn intent_key(company_id: &str, app: &str, team_member_id: &str) -> Key {
    Key::new(partition(company_id), format!("INTENT#{app}#{team_member_id}"))
}

fn sync_key(company_id: &str, app: &str) -> Key {
    Key::new(partition(company_id), format!("SYNC#{app}"))
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Link {
    account_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Intent {
    started_at: DateTime<Utc>,
    email: String,
    /// The id of the creation's `account.created` event, reserved with the intent so that a
    /// resumed creation logs the same event (once, in its place in the log).
    #[serde(default)]
    event_id: Option<String>,
}

/// A vendor's refusal of an action on an account, said to the admin.
pub fn action_error(app: &App, e: ConnectorError) -> Error {
    match e {
        ConnectorError::Unauthorized(why) => Error::invalid(
            "app",
            format!("{} refused our access ({why}); connect the app again.", app.name),
        ),
        ConnectorError::PlanRequired(why) => Error::invalid("app", format!("{}: {why}", app.name)),
        ConnectorError::NotFound => {
            Error::invalid("account", format!("{} no longer has this account.", app.name))
        }
        ConnectorError::Conflict(why) | ConnectorError::Invalid(why) => {
            Error::invalid("account", format!("{} refused: {why}", app.name))
        }
        ConnectorError::Unsupported(what) => {
            Error::invalid("action", format!("{} cannot {what} accounts.", app.name))
        }
        ConnectorError::RateLimited { .. } => Error::refused(
            "app",
            Category::RateLimited,
            format!("{} is rate limiting us; try again in a minute.", app.name),
        ),
        ConnectorError::Transient(why) | ConnectorError::Refused(why) => Error::refused(
            "app",
            Category::ServiceUnavailable,
            format!("{} could not be reached: {why}", app.name),
        ),
    }
}

fn app_of(apps: &Apps, slug: &str) -> Result<&'static App> {
    catalog::get(slug, apps.services.settings.sandbox)
}

/// An account record and its version.
pub async fn load(apps: &Apps, company_id: &str, app: &str, id: &str) -> Result<(u64, AppAccount)> {
    let not_found = || Error::not_found("account");
    if id.is_empty() || id.len() > 64 {
        return Err(not_found());
    }
    let item = apps
        .services
        .store
        .get(&account_key(company_id, app, id))
        .await?
        .ok_or_else(not_found)?;
    Ok((item.version, item.record()?))
}

/// Every record of one kind in a partition, following pages.
async fn all_records<T: serde::de::DeserializeOwned>(
    apps: &Apps,
    pk: &str,
    prefix: &str,
) -> Result<Vec<(u64, T)>> {
    let mut out = Vec::new();
    let mut cursor: Option<Cursor> = None;
    loop {
        let page = apps
            .services
            .store
            .query(pk, prefix, PageRequest::first(1000).after(cursor))
            .await?;
        for item in &page.items {
            out.push((item.version, item.record()?));
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(out),
        }
    }
}

async fn all_team_members(apps: &Apps, company_id: &str) -> Result<Vec<TeamMember>> {
    Ok(all_records::<TeamMember>(apps, &partition(company_id), "TM#")
        .await?
        .into_iter()
        .map(|(_, tm)| tm)
        .collect())
}

fn put(item: Item, version: Option<u64>) -> WriteOp {
    match version {
        Some(expected_version) => WriteOp::Replace {
            item,
            expected_version,
        },
        None => WriteOp::Create(item),
    }
}

// ---------------------------------------------------------------------------------------
// Matching

/// Writes the words of `parts` to `out`, one space between words, lower-cased: the form names
/// are compared in. ASCII (nearly every name) is handled as bytes, a word at a time; other
/// text is lower-cased as a whole, so context-dependent rules (a final sigma) still apply.
fn normalise_into(out: &mut Vec<u8>, parts: &[&str]) {
    out.clear();
    if parts.iter().all(|p| p.is_ascii()) {
        // ASCII's whitespace is exactly what `char::is_whitespace` says of it.
        let words = parts.iter().flat_map(|p| {
            p.as_bytes()
                .split(|b| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))
                .filter(|w| !w.is_empty())
        });
        for word in words {
            if !out.is_empty() {
                out.push(b' ');
            }
            out.extend_from_slice(word);
        }
        out.make_ascii_lowercase();
    } else {
        let words = parts.iter().flat_map(|p| p.split_whitespace());
        out.extend_from_slice(words.collect::<Vec<_>>().join(" ").to_lowercase().as_bytes());
    }
}

/// Where a full name comes from: a first name followed by the last name, or one whole name.
#[derive(Clone, Copy)]
enum FullName<'a> {
    FirstLast(&'a str),
    Whole(&'a str),
}

/// What an account and a team member are compared by (UTF-8 bytes); an empty field is an
/// absent one. The buffers are reused from one account to the next, so matching a sync
/// allocates little.
#[derive(Default)]
struct Identity {
    /// `values::email_key` of the email.
    email: Vec<u8>,
    full_name: Vec<u8>,
    last_name: Vec<u8>,
}

impl Identity {
    fn of_member(tm: &TeamMember) -> Self {
        let mut id = Identity::default();
        id.fill(
            tm.email.as_deref(),
            FullName::FirstLast(&tm.first_name),
            Some(&tm.last_name),
        );
        id
    }

    fn fill_from_account(&mut self, a: &AppAccount) {
        let last = a.last_name.as_deref();
        let full = match (&a.first_name, last) {
            (Some(f), Some(_)) => FullName::FirstLast(f),
            _ => FullName::Whole(a.display_name.as_deref().unwrap_or("")),
        };
        self.fill(a.email.as_deref(), full, last);
    }

    fn fill(&mut self, email: Option<&str>, full_name: FullName<'_>, last_name: Option<&str>) {
        self.email.clear();
        if let Some(e) = email.map(str::trim) {
            if e.is_ascii() {
                self.email.extend_from_slice(e.as_bytes());
                self.email.make_ascii_lowercase();
            } else {
                self.email.extend_from_slice(values::email_key(e).as_bytes());
            }
        }
        normalise_into(&mut self.last_name, &[last_name.unwrap_or("")]);
        match full_name {
            FullName::Whole(name) => normalise_into(&mut self.full_name, &[name]),
            // The normalised last name is the full name's tail: words are normalised one by
            // one, so it need not be done twice.
            FullName::FirstLast(first) => {
                normalise_into(&mut self.full_name, &[first]);
                if !self.last_name.is_empty() {
                    if !self.full_name.is_empty() {
                        self.full_name.push(b' ');
                    }
                    self.full_name.extend_from_slice(&self.last_name);
                }
            }
        }
    }

    fn email(&self) -> Option<&[u8]> {
        Some(self.email.as_slice()).filter(|e| !e.is_empty())
    }

    /// The email's name (before the `@`).
    fn local_part(&self) -> Option<&[u8]> {
        self.email().and_then(|e| e.split(|b| *b == b'@').next())
    }

    fn full_name(&self) -> Option<&[u8]> {
        Some(self.full_name.as_slice()).filter(|n| !n.is_empty())
    }

    fn last_name(&self) -> Option<&[u8]> {
        Some(self.last_name.as_slice()).filter(|n| !n.is_empty())
    }
}

/// What matching makes of each account: the team member whose name and email both agree
/// (if exactly one), else ranked suggestions. This is the computation a sync runs over every
/// unmatched account (exposed for the matching benchmark).
pub fn match_accounts<'a>(
    members: &'a [TeamMember],
    accounts: &[AppAccount],
) -> Vec<(Option<&'a TeamMember>, Vec<Suggestion>)> {
    let identities = Roster::identities(members);
    let roster = Roster::new(members, &identities);
    let mut id = Identity::default();
    accounts
        .iter()
        .map(|account| {
            id.fill_from_account(account);
            match roster.exact(&id) {
                Some(tm) => (Some(tm), Vec::new()),
                None => (None, roster.suggestions(&id)),
            }
        })
        .collect()
}

/// The team members an index key leads to: nearly always one, so no allocation for it.
enum Hits {
    One(usize),
    Many(Vec<usize>),
}

impl Hits {
    fn push(&mut self, i: usize) {
        match self {
            Hits::One(first) => *self = Hits::Many(vec![*first, i]),
            Hits::Many(all) => all.push(i),
        }
    }

    fn as_slice(&self) -> &[usize] {
        match self {
            Hits::One(i) => std::slice::from_ref(i),
            Hits::Many(all) => all,
        }
    }
}

/// An index from a normalised key to team members. Keys come from vendors and team members;
/// foldhash is seeded per process and several times faster than the standard SipHash here.
type Index<'i> = foldhash::HashMap<&'i [u8], Hits>;

/// Team members indexed for matching: a sync of 100k accounts stays linear.
struct Roster<'a, 'i> {
    members: &'a [TeamMember],
    identities: &'i [Identity],
    by_email: Index<'i>,
    by_local: Index<'i>,
    by_name: Index<'i>,
    by_last: Index<'i>,
}

/// What can agree between an account and a team member, the points each earns, and what it
/// tells the admin (in this order in a suggestion's reason).
const LIKENESSES: [(u8, &str); 4] = [
    (60, "same email"),
    (30, "same name"),
    (25, "same email name"),
    (10, "same last name"),
];
const SAME_EMAIL: usize = 0;
const SAME_NAME: usize = 1;
const SAME_EMAIL_NAME: usize = 2;
const SAME_LAST_NAME: usize = 3;
/// Below this a likeness is not worth showing.
const SUGGESTION_FLOOR: u8 = 25;

/// What a set of likenesses (bits of `LIKENESSES`) tells the admin: "same email name, same
/// last name".
fn reason(seen: u8) -> String {
    let mut reason = String::with_capacity(48);
    for (bit, (_, why)) in LIKENESSES.iter().enumerate() {
        if seen & (1 << bit) != 0 {
            if !reason.is_empty() {
                reason.push_str(", ");
            }
            reason.push_str(why);
        }
    }
    reason
}

impl<'a, 'i> Roster<'a, 'i> {
    fn identities(members: &[TeamMember]) -> Vec<Identity> {
        members.iter().map(Identity::of_member).collect()
    }

    fn new(members: &'a [TeamMember], identities: &'i [Identity]) -> Self {
        let index = || Index::with_capacity_and_hasher(members.len(), Default::default());
        let mut r = Roster {
            members,
            identities,
            by_email: index(),
            by_local: index(),
            by_name: index(),
            by_last: index(),
        };
        for (i, id) in identities.iter().enumerate() {
            for (map, key) in [
                (&mut r.by_email, id.email()),
                (&mut r.by_local, id.local_part()),
                (&mut r.by_name, id.full_name()),
                (&mut r.by_last, id.last_name()),
            ] {
                if let Some(k) = key {
                    map.entry(k)
                        .and_modify(|hits| hits.push(i))
                        .or_insert(Hits::One(i));
                }
            }
        }
        r
    }

    /// The one team member whose name and email are both the same, if exactly one.
    fn exact(&self, id: &Identity) -> Option<&'a TeamMember> {
        let (email, name) = (id.email()?, id.full_name()?);
        let mut hits = self
            .by_email
            .get(email)?
            .as_slice()
            .iter()
            .filter(|&&i| self.identities[i].full_name() == Some(name))
            .map(|&i| &self.members[i]);
        let first = hits.next()?;
        hits.next().is_none().then_some(first)
    }

    /// Ranked guesses for the admin (best first, at most three).
    fn suggestions(&self, id: &Identity) -> Vec<Suggestion> {
        // Few members share a key, so a short list beats a map here; each member's
        // likenesses are a bit set, turned into words only for what is shown.
        let mut scores: Vec<(usize, u8, u8)> = Vec::new();
        let mut add = |map: &Index<'i>, key: Option<&[u8]>, likeness: usize| {
            for &i in key.and_then(|k| map.get(k)).map_or(&[][..], Hits::as_slice) {
                let points = LIKENESSES[likeness].0;
                match scores.iter_mut().find(|(m, _, _)| *m == i) {
                    Some((_, score, seen)) => {
                        *score = score.saturating_add(points);
                        *seen |= 1 << likeness;
                    }
                    None => scores.push((i, points, 1 << likeness)),
                }
            }
        };
        add(&self.by_email, id.email(), SAME_EMAIL);
        add(&self.by_name, id.full_name(), SAME_NAME);
        if !id.email().is_some_and(|e| self.by_email.contains_key(e)) {
            add(&self.by_local, id.local_part(), SAME_EMAIL_NAME);
        }
        if !id.full_name().is_some_and(|n| self.by_name.contains_key(n)) {
            add(&self.by_last, id.last_name(), SAME_LAST_NAME);
        }
        let mut ranked: Vec<Suggestion> = scores
            .into_iter()
            .filter(|(_, score, _)| *score >= SUGGESTION_FLOOR)
            .map(|(i, score, seen)| Suggestion {
                team_member_id: self.members[i].id.clone(),
                score: score.min(100),
                reason: reason(seen),
            })
            .collect();
        ranked.sort_by(|a, b| {
            b.score
                .cmp(&a.score)
                .then_with(|| a.team_member_id.cmp(&b.team_member_id))
        });
        ranked.truncate(3);
        ranked
    }
}

// ---------------------------------------------------------------------------------------
// Sync

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SyncReport {
    pub total: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub vanished: usize,
    pub auto_matched: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SyncRecord {
    synced_at: DateTime<Utc>,
    report: SyncReport,
}

fn from_vendor(
    existing: Option<&AppAccount>,
    app: &str,
    v: &VendorAccount,
    caps: ConnectorCapabilities,
    now: DateTime<Utc>,
) -> AppAccount {
    let base = existing.cloned().unwrap_or_else(|| AppAccount {
        id: account_id(app, &v.id),
        app: app.to_owned(),
        vendor_id: v.id.clone(),
        email: None,
        first_name: None,
        last_name: None,
        display_name: None,
        status: v.status,
        present: true,
        matching: Matching::Unmatched,
        suggestions: Vec::new(),
        first_seen_at: now,
        updated_at: now,
    });
    AppAccount {
        email: v.email.clone(),
        first_name: v.first_name.clone(),
        last_name: v.last_name.clone(),
        display_name: v.display_name.clone(),
        status: status_from_vendor(existing.map(|a| a.status), v.status, caps),
        present: true,
        ..base
    }
}

/// The status to record: the vendor's, except that an invitation we sent stays "Invite
/// Sent" while a vendor that cannot show invitations calls the account active.
fn status_from_vendor(
    recorded: Option<AccountStatus>,
    vendor: AccountStatus,
    caps: ConnectorCapabilities,
) -> AccountStatus {
    match (recorded, vendor) {
        (Some(AccountStatus::InviteSent), AccountStatus::Active) if !caps.shows_invites => {
            AccountStatus::InviteSent
        }
        _ => vendor,
    }
}

/// Whether two records differ in anything but their update time.
fn differs(a: &AppAccount, b: &AppAccount) -> bool {
    AppAccount {
        updated_at: b.updated_at,
        ..a.clone()
    } != *b
}

/// A sync reads at most this many pages (at 100 a page, a million accounts).
const MAX_SYNC_PAGES: usize = 10_000;

/// Pulls every account of a connected app (all pages), records what changed, marks the
/// ones that vanished, and matches those whose name and email agree with one team member.
/// Running it again without vendor changes writes nothing.
pub async fn sync(apps: &Apps, actor: &Actor, access: &Access, slug: &str) -> Result<SyncReport> {
    let app = app_of(apps, slug)?;
    let company_id = access.company.id.as_str();
    let connector = connector_for(apps, company_id, slug).await?;
    let caps = connector.capabilities();
    // The whole listing or nothing: a listing cut short would make the rest look vanished.
    let mut vendor = Vec::new();
    let mut cursor: Option<String> = None;
    let mut cursors = std::collections::HashSet::new();
    loop {
        let page = connector
            .list(cursor.as_deref())
            .await
            .map_err(|e| action_error(app, e))?;
        vendor.extend(page.accounts);
        let Some(next) = page.next else { break };
        if cursors.len() >= MAX_SYNC_PAGES || !cursors.insert(next.clone()) {
            return Err(action_error(
                app,
                ConnectorError::Transient(format!(
                    "the listing did not end (a repeated page, or more than {MAX_SYNC_PAGES} pages); nothing was changed"
                )),
            ));
        }
        cursor = Some(next);
    }
    let now = apps.services.clock.now();
    let mut known: HashMap<String, (u64, AppAccount)> =
        all_records::<AppAccount>(apps, &partition(company_id), &format!("ACCT#{slug}#"))
            .await?
            .into_iter()
            .map(|(v, a)| (a.vendor_id.clone(), (v, a)))
            .collect();
    let mut report = SyncReport {
        total: vendor.len(),
        ..SyncReport::default()
    };
    let mut seen = HashSet::new();
    let mut current: Vec<(Option<u64>, AppAccount)> = Vec::with_capacity(vendor.len());
    for v in &vendor {
        if !seen.insert(v.id.clone()) {
            continue; // a vendor listing an account twice (pages shifting) counts once
        }
        let existing = known.remove(&v.id);
        let next = from_vendor(existing.as_ref().map(|(_, a)| a), slug, v, caps, now);
        match &existing {
            Some((_, before)) if !differs(before, &next) => {
                report.unchanged += 1;
                current.push((existing.as_ref().map(|(ver, _)| *ver), next));
                continue;
            }
            Some(_) => report.updated += 1,
            None => report.created += 1,
        }
        let version = existing.as_ref().map(|(ver, _)| *ver);
        let next = AppAccount {
            updated_at: now,
            ..next
        };
        let new_version = write(apps, company_id, &next, version).await?;
        current.push((Some(new_version), next));
    }
    for (_, (version, mut gone)) in known {
        if gone.present {
            gone.present = false;
            gone.updated_at = now;
            write(apps, company_id, &gone, Some(version)).await?;
            report.vanished += 1;
        }
    }

    // Match what agrees exactly; suggest for the rest.
    let members = all_team_members(apps, company_id).await?;
    let identities = Roster::identities(&members);
    let roster = Roster::new(&members, &identities);
    let links: HashSet<(String, String)> = all_records::<Value>(apps, &partition(company_id), "TMACCT#")
        .await?
        .into_iter()
        .filter_map(|(_, v)| {
            v.get("app")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .zip(v.get("team_member_id").and_then(Value::as_str).map(str::to_owned))
        })
        .collect();
    for (version, account) in current {
        if account.matching != Matching::Unmatched || !account.live() {
            continue;
        }
        let version = version.expect("every current account is stored");
        let mut id = Identity::default();
        id.fill_from_account(&account);
        if let Some(tm) = roster.exact(&id)
            && eligibility(Subject::TeamMember(tm)).is_ok()
            && !links.contains(&(slug.to_owned(), tm.id.clone()))
        {
            match link(apps, company_id, &account, version, &tm.id, MatchedBy::Auto).await {
                Ok(_) => {
                    report.auto_matched += 1;
                    continue;
                }
                Err(e) if e.details().is_some() => {} // lost a race: leave it for the admin
                Err(e) => return Err(e),
            }
        }
        let suggestions = roster.suggestions(&id);
        if suggestions != account.suggestions {
            let next = AppAccount {
                suggestions,
                updated_at: now,
                ..account
            };
            write(apps, company_id, &next, Some(version)).await?;
        }
    }
    let record = SyncRecord {
        synced_at: now,
        report: report.clone(),
    };
    let key = sync_key(company_id, slug);
    let item = Item::from_record(key.clone(), &record)?;
    match apps.services.store.get(&key).await? {
        Some(old) => apps.services.store.replace(item, old.version).await.map(|_| ())?,
        None => apps.services.store.create(item).await.map(|_| ())?,
    }
    audit::succeeded(
        &apps.services,
        actor,
        company_id,
        "app.synced",
        Target::new("app", slug),
        Some(format!(
            "{} accounts: {} new, {} changed, {} vanished, {} matched automatically",
            report.total, report.created, report.updated, report.vanished, report.auto_matched
        )),
    )
    .await;
    Ok(report)
}

/// Writes an account record at the version read (`None`: it must not exist yet).
async fn write(
    apps: &Apps,
    company_id: &str,
    account: &AppAccount,
    version: Option<u64>,
) -> std::result::Result<u64, StoreError> {
    let item = Item::from_record(account_key(company_id, &account.app, &account.id), account)?;
    match version {
        Some(v) => apps.services.store.replace(item, v).await,
        None => apps.services.store.create(item).await,
    }
}

fn conflict(message: impl Into<String>) -> Error {
    Error::refused("team_member_id", Category::Conflict, message)
}

/// Links an account to a team member in one transaction with the one-per-person lock.
/// A person who already has a (live) account of this app is refused.
async fn link(
    apps: &Apps,
    company_id: &str,
    account: &AppAccount,
    version: u64,
    team_member_id: &str,
    by: MatchedBy,
) -> Result<AppAccount> {
    let now = apps.services.clock.now();
    let mut ops = Vec::new();
    if let Some(old) = account.team_member_id() {
        if old == team_member_id {
            return Ok(account.clone());
        }
        ops.push(WriteOp::Delete {
            key: link_key(company_id, old, &account.app),
            expected_version: None,
        });
    }
    let lock = link_key(company_id, team_member_id, &account.app);
    // A link to a deleted account may be replaced (a rehire gets a new account).
    let existing_lock = apps.services.store.get(&lock).await?;
    let lock_version = match &existing_lock {
        Some(item) => {
            let other: Link = item.record()?;
            let (_, other_account) = load(apps, company_id, &account.app, &other.account_id).await?;
            if other_account.live() && other.account_id != account.id {
                return Err(conflict(
                    "This team member already has a matched account in this app.",
                ));
            }
            Some(item.version)
        }
        None => None,
    };
    let next = AppAccount {
        matching: Matching::Matched {
            team_member_id: team_member_id.to_owned(),
            by,
        },
        suggestions: Vec::new(),
        updated_at: now,
        ..account.clone()
    };
    ops.push(WriteOp::Replace {
        item: Item::from_record(account_key(company_id, &account.app, &account.id), &next)?,
        expected_version: version,
    });
    let link_value =
        serde_json::json!({"account_id": account.id, "app": account.app, "team_member_id": team_member_id});
    ops.push(put(Item::from_record(lock, &link_value)?, lock_version));
    match apps.services.store.transact(ops).await {
        Ok(()) => Ok(next),
        Err(StoreError::TransactionCancelled { .. }) => Err(conflict(
            "The account or the team member's accounts changed meanwhile; read them again.",
        )),
        Err(e) => Err(e.into()),
    }
}

/// Sets an account unmatched or "do not match", releasing its link.
async fn unlink(
    apps: &Apps,
    company_id: &str,
    account: &AppAccount,
    version: u64,
    to: Matching,
) -> Result<AppAccount> {
    let mut ops = Vec::new();
    if let Some(tm) = account.team_member_id() {
        ops.push(WriteOp::Delete {
            key: link_key(company_id, tm, &account.app),
            expected_version: None,
        });
    }
    let next = AppAccount {
        matching: to,
        updated_at: apps.services.clock.now(),
        ..account.clone()
    };
    ops.push(WriteOp::Replace {
        item: Item::from_record(account_key(company_id, &account.app, &account.id), &next)?,
        expected_version: version,
    });
    match apps.services.store.transact(ops).await {
        Ok(()) => Ok(next),
        Err(StoreError::TransactionCancelled { .. }) => Err(Error::refused(
            "account",
            Category::Conflict,
            "The account changed meanwhile; read it again.",
        )),
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------------------------------
// Views

/// What an admin may do with an account now.
fn allowed_actions(app: &App, account: &AppAccount, connected: bool) -> Vec<&'static str> {
    let mut actions = Vec::new();
    match &account.matching {
        Matching::Matched { .. } => {
            if connected && account.live() {
                if app.capabilities.suspend && account.status != AccountStatus::Suspended {
                    actions.push("suspend");
                }
                if app.capabilities.suspend && account.status == AccountStatus::Suspended {
                    actions.push("reactivate");
                }
                if app.capabilities.delete {
                    actions.push("delete");
                }
            }
            actions.push("unmatch");
        }
        Matching::Unmatched => actions.extend(["match", "do_not_match"]),
        Matching::DoNotMatch => actions.push("match"),
    }
    actions
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AccountView {
    pub id: String,
    pub app: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub display_name: Option<String>,
    /// `invite_sent`, `connected`, `suspended` or `deleted`.
    pub status: &'static str,
    /// The status as the product says it: "Invite Sent", "Connected", …
    pub status_label: &'static str,
    /// Whether the vendor still has the account (as of the last sync or action).
    pub present: bool,
    #[serde(rename = "match")]
    pub matching: Matching,
    /// Managed from here: matched, and the app connected.
    pub managed: bool,
    pub suggestions: Vec<Suggestion>,
    pub allowed_actions: Vec<&'static str>,
    pub updated_at: DateTime<Utc>,
}

pub fn status_name(status: AccountStatus) -> (&'static str, &'static str) {
    match status {
        AccountStatus::InviteSent => ("invite_sent", "Invite Sent"),
        AccountStatus::Active => ("connected", "Connected"),
        AccountStatus::Suspended => ("suspended", "Suspended"),
        AccountStatus::Deleted => ("deleted", "Deleted"),
    }
}

impl AccountView {
    /// The team member the account is matched to.
    pub fn matching_team_member(&self) -> Option<&str> {
        match &self.matching {
            Matching::Matched { team_member_id, .. } => Some(team_member_id),
            _ => None,
        }
    }

    pub fn of(app: &App, account: AppAccount, connected: bool) -> Self {
        let (status, status_label) = status_name(account.status);
        let allowed = allowed_actions(app, &account, connected);
        Self {
            managed: connected && account.team_member_id().is_some(),
            id: account.id,
            app: account.app,
            email: account.email,
            first_name: account.first_name,
            last_name: account.last_name,
            display_name: account.display_name,
            status,
            status_label,
            present: account.present,
            matching: account.matching,
            suggestions: account.suggestions,
            allowed_actions: allowed,
            updated_at: account.updated_at,
        }
    }
}

async fn is_connected(apps: &Apps, company_id: &str, app: &str) -> Result<bool> {
    Ok(
        match apps.services.store.get(&connection_key(company_id, app)).await? {
            Some(item) => {
                item.record::<prov_core::connections::ConnectionSummary>()?.state
                    == ConnectionState::Connected
            }
            None => false,
        },
    )
}

/// Filters of an app's account list.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountQuery {
    pub status: Option<String>,
    #[serde(rename = "match")]
    pub matching: Option<String>,
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

/// An app's accounts, filtered by status and match state, in a stable order.
pub async fn list_accounts(
    apps: &Apps,
    company_id: &str,
    slug: &str,
    query: &AccountQuery,
) -> Result<AccountListing> {
    let app = app_of(apps, slug)?;
    let mut v = Validator::new();
    let statuses = ["invite_sent", "connected", "suspended", "deleted"];
    let matches = ["matched", "unmatched", "do_not_match"];
    if let Some(s) = &query.status
        && !statuses.contains(&s.as_str())
    {
        v.error(
            "status",
            format!("`status` must be one of {}.", statuses.join(", ")),
        );
    }
    if let Some(m) = &query.matching
        && !matches.contains(&m.as_str())
    {
        v.error("match", format!("`match` must be one of {}.", matches.join(", ")));
    }
    let page = ListQuery {
        limit: query.limit.clone(),
        cursor: query.cursor.clone(),
    }
    .page_request();
    let page = match page {
        Ok(p) => Some(p),
        Err(Error::Refused(details)) => {
            for d in details {
                v.error(d.error_key, d.message);
            }
            None
        }
        Err(e) => return Err(e),
    };
    let request = v.finish(page)?;
    let connected = is_connected(apps, company_id, slug).await?;
    let wanted = |a: &AppAccount| {
        query
            .status
            .as_deref()
            .is_none_or(|s| status_name(a.status).0 == s)
            && query.matching.as_deref().is_none_or(|m| {
                matches!(
                    (&a.matching, m),
                    (Matching::Matched { .. }, "matched")
                        | (Matching::Unmatched, "unmatched")
                        | (Matching::DoNotMatch, "do_not_match")
                )
            })
    };
    // Filters apply after reading, so keep reading until the page is full or the list ends.
    let limit = request.effective_limit();
    let mut items = Vec::new();
    let mut cursor = request.cursor.clone();
    let mut next_cursor = None;
    'pages: loop {
        let page = apps
            .services
            .store
            .query(
                &partition(company_id),
                &format!("ACCT#{slug}#"),
                PageRequest::first(limit as u32).after(cursor.clone()),
            )
            .await?;
        let count = page.items.len();
        for (i, item) in page.items.iter().enumerate() {
            let account: AppAccount = item.record()?;
            if wanted(&account) {
                items.push(AccountView::of(app, account, connected));
                if items.len() == limit {
                    let more = i + 1 < count || page.next.is_some();
                    if more {
                        next_cursor = Some(Cursor::encode(&prov_core::store::CursorKeys {
                            pk: item.key.pk.clone(),
                            sk: item.key.sk.clone(),
                            ipk: None,
                            isk: None,
                        }));
                    }
                    break 'pages;
                }
            }
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let summary = summarise(apps, company_id, slug).await?;
    Ok(AccountListing {
        items,
        next_cursor: next_cursor.map(|c| c.as_str().to_owned()),
        summary,
    })
}

/// An app's accounts, the page asked for, and counts over all of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AccountListing {
    pub items: Vec<AccountView>,
    pub next_cursor: Option<String>,
    pub summary: AccountSummary,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AccountSummary {
    /// Accounts the vendor still has.
    pub present: usize,
    pub matched: usize,
    pub unmatched: usize,
    pub do_not_match: usize,
    pub invite_sent: usize,
    /// Accounts that take a seat: present, not deleted, not marked "do not match" (bots and
    /// service accounts are not seats).
    pub seats: usize,
}

async fn summarise(apps: &Apps, company_id: &str, slug: &str) -> Result<AccountSummary> {
    let mut s = AccountSummary::default();
    for (_, a) in all_records::<AppAccount>(apps, &partition(company_id), &format!("ACCT#{slug}#")).await? {
        if !a.live() {
            continue;
        }
        s.present += 1;
        match a.matching {
            Matching::Matched { .. } => s.matched += 1,
            Matching::Unmatched => s.unmatched += 1,
            Matching::DoNotMatch => s.do_not_match += 1,
        }
        if a.status == AccountStatus::InviteSent {
            s.invite_sent += 1;
        }
        if a.matching != Matching::DoNotMatch {
            s.seats += 1;
        }
    }
    Ok(s)
}

/// One app in a team member's Apps view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MemberApp {
    pub app: &'static str,
    pub name: &'static str,
    pub connected: bool,
    pub account: Option<AccountView>,
    /// What can be done for the person in this app (`create` when they have no account).
    pub allowed_actions: Vec<&'static str>,
}

async fn member_links(apps: &Apps, company_id: &str, team_member_id: &str) -> Result<Vec<(String, String)>> {
    Ok(
        all_records::<Value>(apps, &partition(company_id), &format!("TMACCT#{team_member_id}#"))
            .await?
            .into_iter()
            .filter_map(|(_, v)| {
                Some((
                    v.get("app")?.as_str()?.to_owned(),
                    v.get("account_id")?.as_str()?.to_owned(),
                ))
            })
            .collect(),
    )
}

/// A team member's Apps: every matched account with its status and actions, and every
/// connected app where the person could get an account.
pub async fn member_apps(apps: &Apps, company_id: &str, team_member_id: &str) -> Result<Vec<MemberApp>> {
    let member = team::get(&apps.services, company_id, team_member_id).await?;
    let links: HashMap<String, String> = member_links(apps, company_id, team_member_id)
        .await?
        .into_iter()
        .collect();
    let connected: HashSet<String> = summaries(&apps.services, company_id)
        .await?
        .into_iter()
        .filter(|c| c.state == ConnectionState::Connected)
        .map(|c| c.app)
        .collect();
    let can_create = eligibility(Subject::TeamMember(&member)).is_ok()
        && member.email.is_some()
        && member.employment_status != EmploymentStatus::Dismissed;
    let mut out = Vec::new();
    for app in catalog::directory(apps.services.settings.sandbox) {
        let is_connected = connected.contains(app.slug);
        let account = match links.get(app.slug) {
            Some(id) => Some(load(apps, company_id, app.slug, id).await?.1),
            None => None,
        };
        if account.is_none() && !is_connected {
            continue;
        }
        let view = account.map(|a| AccountView::of(app, a, is_connected));
        let mut allowed = view
            .as_ref()
            .map(|v| v.allowed_actions.clone())
            .unwrap_or_default();
        let has_live = view.as_ref().is_some_and(|v| v.present && v.status != "deleted");
        if is_connected && !has_live && can_create && app.capabilities.create {
            allowed.push("create");
        }
        out.push(MemberApp {
            app: app.slug,
            name: app.name,
            connected: is_connected,
            account: view,
            allowed_actions: allowed,
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Manual matching

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MatchResult {
    pub account_id: String,
    pub account: Option<AccountView>,
    pub error: Option<ErrorDetail>,
}

enum MatchChange {
    To(String),
    DoNotMatch,
}

/// Matches several accounts at once (or marks them "do not match"). Each item succeeds or
/// fails on its own; a conflicting match is refused.
pub async fn submit_matches(
    apps: &Apps,
    actor: &Actor,
    access: &Access,
    slug: &str,
    body: &Map<String, Value>,
) -> Result<Vec<MatchResult>> {
    let app = app_of(apps, slug)?;
    let company_id = access.company.id.as_str();
    let mut v = Validator::new();
    let root = Obj::root(body);
    v.only(&root, &["matches"]);
    let items = v.array(&root, "matches", 100);
    if root.get("matches").is_none() {
        v.error("matches", "`matches` is required.");
    }
    let mut changes = Vec::new();
    for (i, item) in items.unwrap_or_default().iter().enumerate() {
        let Some(obj) = v.element(item, "matches", i) else {
            continue;
        };
        v.only(&obj, &["account_id", "team_member_id", "do_not_match"]);
        let account_id = v.text(&obj, "account_id", true, Text { max_chars: 64 });
        let team_member_id = v.text(&obj, "team_member_id", false, Text { max_chars: 64 });
        let dnm = v.boolish(&obj, "do_not_match").unwrap_or(false);
        let change = match (team_member_id, dnm) {
            (Some(tm), false) => Some(MatchChange::To(tm)),
            (None, true) => Some(MatchChange::DoNotMatch),
            _ => {
                v.error(
                    format!("matches[{i}]"),
                    format!("`matches[{i}]` needs either `team_member_id` or `do_not_match: true`."),
                );
                None
            }
        };
        if let (Some(a), Some(c)) = (account_id, change) {
            changes.push((a, c));
        }
    }
    let changes = v.finish(Some(changes))?;
    let connected = is_connected(apps, company_id, slug).await?;
    let mut results = Vec::with_capacity(changes.len());
    for (account_id, change) in changes {
        let outcome = apply_match(apps, actor, company_id, app, &account_id, change).await;
        results.push(match outcome {
            Ok(account) => MatchResult {
                account_id,
                account: Some(AccountView::of(app, account, connected)),
                error: None,
            },
            Err(Error::Refused(details)) => MatchResult {
                account_id,
                account: None,
                error: details.into_iter().next(),
            },
            Err(e) => return Err(e),
        });
    }
    Ok(results)
}

async fn apply_match(
    apps: &Apps,
    actor: &Actor,
    company_id: &str,
    app: &App,
    account_id: &str,
    change: MatchChange,
) -> Result<AppAccount> {
    let (version, account) = load(apps, company_id, app.slug, account_id).await?;
    let (next, action, detail) = match change {
        MatchChange::DoNotMatch => (
            unlink(apps, company_id, &account, version, Matching::DoNotMatch).await?,
            "account.do_not_match",
            None,
        ),
        MatchChange::To(tm_id) => {
            let member = team::get(&apps.services, company_id, &tm_id).await?;
            eligibility(Subject::TeamMember(&member))?;
            if !account.present {
                return Err(Error::invalid(
                    "account_id",
                    "The app no longer has this account.",
                ));
            }
            (
                link(apps, company_id, &account, version, &tm_id, MatchedBy::Manual).await?,
                "account.matched",
                Some(format!("to team member {tm_id}")),
            )
        }
    };
    audit::succeeded(
        &apps.services,
        actor,
        company_id,
        action,
        Target::new("account", account_id),
        detail,
    )
    .await;
    Ok(next)
}

// ---------------------------------------------------------------------------------------
// Create

/// Creates an app account for an eligible team member: the vendor sends the invitation.
/// The intent is recorded first; a creation in flight refuses a second one, and a stale one
/// is reconciled by looking the person up at the vendor (never two accounts for one person).
pub async fn create_account(
    apps: &Apps,
    actor: &Actor,
    access: &Access,
    slug: &str,
    team_member_id: &str,
    work_email: Option<&str>,
) -> Result<AccountView> {
    let app = app_of(apps, slug)?;
    let company_id = access.company.id.as_str();
    if let Err(why) = app.allowed_on(access.company.plan) {
        return Err(Error::forbidden("plan", why));
    }
    let member = team::get(&apps.services, company_id, team_member_id).await?;
    eligibility(Subject::TeamMember(&member))?;
    if work_email.is_some() && !app.capabilities.work_email {
        return Err(Error::invalid(
            "work_email",
            format!("{} does not create work emails.", app.name),
        ));
    }
    // A new work address needs no email on file; any other account is made for the email
    // the team member has.
    let Some(email) = work_email.map(str::to_owned).or_else(|| member.email.clone()) else {
        return Err(Error::invalid(
            "team_member_id",
            format!(
                "{} has no email; add one to their profile before creating app accounts.",
                member.full_name()
            ),
        ));
    };
    if member.employment_status == EmploymentStatus::Dismissed {
        return Err(Error::invalid(
            "team_member_id",
            format!("{} is dismissed.", member.full_name()),
        ));
    }
    if !app.capabilities.create {
        return Err(Error::invalid(
            "app",
            format!("{} cannot create accounts.", app.name),
        ));
    }
    let connector = connector_for(apps, company_id, slug).await?;
    if work_email.is_some() {
        on_a_work_domain(app, connector.as_ref(), &email).await?;
    }

    let key = intent_key(company_id, slug, team_member_id);
    // Already has a live account here? Then that is the answer. A creation that died after
    // linking the account (before logging it and clearing its intent) left the intent:
    // finish its work now (the event is written at most once), so nothing stays "in
    // flight" and nothing is missing from the log.
    if let Some(existing) = existing_live(apps, company_id, team_member_id, slug).await? {
        if let Some(leftover) = apps.services.store.get(&key).await? {
            let died = leftover.record::<Intent>()?;
            let event_id = died.event_id.unwrap_or_else(audit::new_event_id);
            log_created(
                apps,
                actor,
                company_id,
                &existing,
                team_member_id,
                &event_id,
                died.started_at,
            )
            .await;
            match apps.services.store.delete(&key, Some(leftover.version)).await {
                Ok(()) | Err(StoreError::ConditionFailed) => {}
                Err(e) => return Err(e.into()),
            }
        }
        return Ok(AccountView::of(app, existing, true));
    }

    // Claim the creation.
    let now = apps.services.clock.now();
    let event_id = audit::new_event_id();
    let intent = Item::from_record(
        key.clone(),
        &Intent {
            started_at: now,
            email: email.clone(),
            event_id: Some(event_id.clone()),
        },
    )?
    .with_expiry((now + Duration::days(1)).timestamp());
    // The address an earlier, unfinished attempt was creating (its account may exist).
    let resumed = match apps.services.store.create(intent.clone()).await {
        Ok(_) => None,
        Err(StoreError::ConditionFailed) => {
            let held = apps.services.store.get(&key).await?;
            match held {
                Some(item)
                    if item.record::<Intent>()?.started_at + Duration::minutes(INTENT_LEASE_MINUTES)
                        > now =>
                {
                    return Err(Error::refused(
                        "team_member_id",
                        Category::Conflict,
                        "An account is already being created for this team member in this app; wait for it.",
                    ));
                }
                // A creation that never finished (crash, timeout): take it over. The vendor
                // lookup inside `create` finds an account it may have made.
                Some(item) => {
                    let earlier = item.record::<Intent>()?.email;
                    apps.services
                        .store
                        .replace(intent, item.version)
                        .await
                        .map_err(|_| {
                            Error::refused(
                                "team_member_id",
                                Category::Conflict,
                                "Another request took over this creation.",
                            )
                        })?;
                    Some(earlier)
                }
                None => {
                    apps.services.store.create(intent).await.map_err(|_| {
                        Error::refused(
                            "team_member_id",
                            Category::Conflict,
                            "Another request is creating this account.",
                        )
                    })?;
                    None
                }
            }
        }
        Err(e) => return Err(e.into()),
    };

    let kind = match work_email {
        Some(_) => Creation::WorkEmail,
        None => Creation::Account,
    };
    let result = async {
        // A work address is new: one that exists already belongs to someone (unless this
        // creation's own earlier attempt made it), and is never handed to this person.
        let own_earlier = resumed.is_some_and(|e| e.eq_ignore_ascii_case(&email));
        if kind == Creation::WorkEmail && !own_earlier {
            let existing = connector
                .find_by_email(&email)
                .await
                .map_err(|e| action_error(app, e))?;
            if existing.is_some() {
                return Err(conflict(format!(
                    "{email} already exists in {}; choose another address, or match that account to the team member instead.",
                    app.name
                )));
            }
        }
        create_and_record(apps, company_id, app, connector.as_ref(), &member, &email, kind).await
    }
    .await;
    // The intent goes whatever happened, last: on success the account is recorded and
    // logged; on a clear failure nothing was made. (A crash leaves it, and the next attempt
    // reconciles.)
    let clear_intent = || async {
        if let Err(e) = apps.services.store.delete(&key, None).await {
            tracing::warn!(error = %e, "creation intent not cleared; it expires with its lease");
        }
    };
    let account = match result {
        Ok(account) => account,
        Err(e) => {
            clear_intent().await;
            return Err(e);
        }
    };
    if kind == Creation::WorkEmail {
        adopt_work_email(apps, actor, company_id, &member, &email).await;
    }
    log_created(apps, actor, company_id, &account, &member.id, &event_id, now).await;
    clear_intent().await;
    Ok(AccountView::of(app, account, true))
}

/// The `account.created` event of the creation whose intent reserved `event_id` at
/// `started_at`: the same event however often a crashed creation is resumed.
async fn log_created(
    apps: &Apps,
    actor: &Actor,
    company_id: &str,
    account: &AppAccount,
    team_member_id: &str,
    event_id: &str,
    started_at: DateTime<Utc>,
) {
    audit::record_once(
        &apps.services,
        audit::Record {
            company_id,
            actor: audit::ActorRef::from(&actor.principal),
            request_id: &actor.request_id,
            action: "account.created",
            target: Target::new("account", &account.id),
            result: audit::Outcome::Succeeded,
            detail: Some(format!(
                "for team member {team_member_id}; status {}",
                status_name(account.status).0
            )),
        },
        event_id,
        started_at,
    )
    .await;
}

async fn existing_live(
    apps: &Apps,
    company_id: &str,
    team_member_id: &str,
    slug: &str,
) -> Result<Option<AppAccount>> {
    let Some(item) = apps
        .services
        .store
        .get(&link_key(company_id, team_member_id, slug))
        .await?
    else {
        return Ok(None);
    };
    let link: Link = item.record()?;
    let (_, account) = load(apps, company_id, slug, &link.account_id).await?;
    Ok(account.live().then_some(account))
}

/// What an account creation makes at the vendor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Creation {
    /// An account (or invitation) for the email the team member has.
    Account,
    /// A new mailbox user at a work address (Google Workspace, Microsoft 365); the team
    /// member's email on file, if any, is its recovery address.
    WorkEmail,
}

/// Refuses a work address that is not on one of the tenant's domains.
async fn on_a_work_domain(app: &App, connector: &dyn Connector, email: &str) -> Result<()> {
    let domain = email
        .split_once('@')
        .filter(|(local, domain)| !local.is_empty() && domain.contains('.') && !domain.contains('@'))
        .map(|(_, domain)| domain.to_ascii_lowercase())
        .ok_or_else(|| Error::invalid("work_email", "must be an email address."))?;
    let domains = connector
        .work_email_domains()
        .await
        .map_err(|e| action_error(app, e))?;
    if domains.iter().any(|d| d.eq_ignore_ascii_case(&domain)) {
        Ok(())
    } else {
        Err(Error::invalid(
            "work_email",
            format!(
                "must be on one of the {} domains: {}.",
                app.name,
                domains.join(", ")
            ),
        ))
    }
}

/// The new work address becomes the team member's email (later app accounts are made for
/// it). A failure here leaves the account made and is logged: the admin can set it by hand.
async fn adopt_work_email(apps: &Apps, actor: &Actor, company_id: &str, member: &TeamMember, email: &str) {
    if member
        .email
        .as_deref()
        .is_some_and(|e| e.eq_ignore_ascii_case(email))
    {
        return;
    }
    let mut patch = serde_json::Map::new();
    patch.insert("email".into(), serde_json::Value::from(email));
    if let Err(e) = team::update(&apps.services, actor, company_id, &member.id, &patch).await {
        tracing::warn!(error = %e, "the new work email was not set on the team member");
    }
}

async fn create_and_record(
    apps: &Apps,
    company_id: &str,
    app: &App,
    connector: &dyn Connector,
    member: &TeamMember,
    email: &str,
    kind: Creation,
) -> Result<AppAccount> {
    let made = match kind {
        Creation::Account => {
            connector
                .create(&NewAccount {
                    email: email.to_owned(),
                    first_name: member.first_name.clone(),
                    last_name: member.last_name.clone(),
                })
                .await
        }
        Creation::WorkEmail => {
            connector
                .create_work_account(&NewWorkAccount {
                    work_email: email.to_owned(),
                    first_name: member.first_name.clone(),
                    last_name: member.last_name.clone(),
                    personal_email: member.email.clone(),
                })
                .await
        }
    };
    let vendor = made.map_err(|e| action_error(app, e))?;
    let caps = connector.capabilities();
    let now = apps.services.clock.now();
    for _ in 0..CONFLICT_ATTEMPTS {
        let existing = apps
            .services
            .store
            .get(&account_key(
                company_id,
                app.slug,
                &account_id(app.slug, &vendor.id),
            ))
            .await?;
        let (version, before) = match &existing {
            Some(item) => (Some(item.version), Some(item.record::<AppAccount>()?)),
            None => (None, None),
        };
        if let Some(other) = before.as_ref().and_then(|b| b.team_member_id())
            && other != member.id
        {
            return Err(conflict(format!(
                "{} already has an account with {email}, matched to another team member.",
                app.name
            )));
        }
        let mut account = from_vendor(before.as_ref(), app.slug, &vendor, caps, now);
        account.updated_at = now;
        let version = match write(apps, company_id, &account, version).await {
            Ok(v) => v,
            Err(StoreError::ConditionFailed) => continue, // changed meanwhile: read again
            Err(e) => return Err(e.into()),
        };
        match link(
            apps,
            company_id,
            &account,
            version,
            &member.id,
            MatchedBy::Created,
        )
        .await
        {
            Ok(linked) => return Ok(linked),
            Err(Error::Refused(d)) if d.iter().all(|d| d.category == Category::Conflict) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(Error::refused(
        "account",
        Category::Conflict,
        "The account kept changing; read it again.",
    ))
}

// ---------------------------------------------------------------------------------------
// Suspend, reactivate, delete, unmatch

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Suspend,
    Reactivate,
    Delete,
    Unmatch,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Suspend => "suspend",
            Action::Reactivate => "reactivate",
            Action::Delete => "delete",
            Action::Unmatch => "unmatch",
        }
    }
}

/// Does `action` to one matched account.
pub async fn act(
    apps: &Apps,
    actor: &Actor,
    access: &Access,
    slug: &str,
    account_id: &str,
    action: Action,
) -> Result<AccountView> {
    let app = app_of(apps, slug)?;
    let company_id = access.company.id.as_str();
    let (version, account) = load(apps, company_id, slug, account_id).await?;
    let account = perform_action(apps, company_id, app, version, account, action).await?;
    audit::succeeded(
        &apps.services,
        actor,
        company_id,
        &format!("account.{}", past(action)),
        Target::new("account", account_id),
        Some(match action {
            Action::Delete => app.remove_means.to_owned(),
            _ => format!("in {}", app.name),
        }),
    )
    .await;
    let connected = is_connected(apps, company_id, slug).await?;
    Ok(AccountView::of(app, account, connected))
}

fn past(action: Action) -> &'static str {
    match action {
        Action::Suspend => "suspended",
        Action::Reactivate => "reactivated",
        Action::Delete => "deleted",
        Action::Unmatch => "unmatched",
    }
}

/// Whether `action` can be done to `account` at all (before any vendor call).
fn check_action(app: &App, account: &AppAccount, action: Action) -> Result<()> {
    if account.team_member_id().is_none() {
        return Err(Error::invalid(
            "account",
            "Only matched accounts are managed here; match the account first.",
        ));
    }
    if action == Action::Unmatch {
        return Ok(());
    }
    let supported = match action {
        Action::Suspend | Action::Reactivate => app.capabilities.suspend,
        _ => app.capabilities.delete,
    };
    if !supported {
        return Err(Error::invalid(
            "action",
            format!("{} cannot {} accounts.", app.name, action.name()),
        ));
    }
    if !account.live() {
        return Err(Error::invalid(
            "account",
            "This account is already gone from the app.",
        ));
    }
    Ok(())
}

/// Exactly what `action` does to an account in `app`.
pub fn action_means(app: &App, action: Action) -> String {
    match action {
        Action::Delete => app.remove_means.to_owned(),
        Action::Suspend => app
            .suspend_means
            .map(str::to_owned)
            .unwrap_or_else(|| format!("Suspends the account in {}.", app.name)),
        Action::Reactivate => format!(
            "Reactivates the account in {}: the person can sign in again.",
            app.name
        ),
        Action::Unmatch => format!(
            "Stops managing this account from here. Nothing changes in {}: the account stays as it is and can be matched again.",
            app.name
        ),
    }
}

/// What an action would do to one account (a dry run): the same checks as doing it, no
/// vendor call, nothing saved.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ActionPlan {
    /// Always `true`: nothing was done.
    pub dry_run: bool,
    /// `suspend`, `reactivate`, `delete` or `unmatch`.
    pub action: &'static str,
    /// Exactly what it would do in this app.
    pub means: String,
    /// The account as it is now.
    pub account: AccountView,
}

/// Says what `action` would do to one account, refusing exactly as doing it would (short
/// of the vendor's own answer).
pub async fn plan_action(
    apps: &Apps,
    access: &Access,
    slug: &str,
    account_id: &str,
    action: Action,
) -> Result<ActionPlan> {
    let app = app_of(apps, slug)?;
    let company_id = access.company.id.as_str();
    let (_, account) = load(apps, company_id, slug, account_id).await?;
    check_action(app, &account, action)?;
    let connected = is_connected(apps, company_id, slug).await?;
    if !connected && action != Action::Unmatch {
        return Err(Error::invalid(
            "app",
            format!("{} is not connected: connect it again first.", app.name),
        ));
    }
    Ok(ActionPlan {
        dry_run: true,
        action: action.name(),
        means: action_means(app, action),
        account: AccountView::of(app, account, connected),
    })
}

/// The action itself (vendor call, then the record), shared by single actions, "remove
/// all" and dismissals.
pub async fn perform_action(
    apps: &Apps,
    company_id: &str,
    app: &App,
    version: u64,
    account: AppAccount,
    action: Action,
) -> Result<AppAccount> {
    check_action(app, &account, action)?;
    if action == Action::Unmatch {
        return unlink(apps, company_id, &account, version, Matching::Unmatched).await;
    }
    let connector = connector_for(apps, company_id, app.slug).await?;
    let vendor = match action {
        Action::Suspend => connector.suspend(&account.vendor_id).await.map(Some),
        Action::Reactivate => connector.reactivate(&account.vendor_id).await.map(Some),
        Action::Delete => connector.delete(&account.vendor_id).await.map(|()| None),
        Action::Unmatch => unreachable!("handled above"),
    };
    let now = apps.services.clock.now();
    let next = match vendor {
        Ok(Some(v)) => AppAccount {
            updated_at: now,
            ..from_vendor(Some(&account), app.slug, &v, connector.capabilities(), now)
        },
        Ok(None) => AppAccount {
            status: AccountStatus::Deleted,
            updated_at: now,
            ..account
        },
        // Gone at the vendor: record the truth.
        Err(ConnectorError::NotFound) => {
            let gone = AppAccount {
                present: false,
                updated_at: now,
                ..account
            };
            write(apps, company_id, &gone, Some(version)).await?;
            return Err(action_error(app, ConnectorError::NotFound));
        }
        Err(e) => return Err(action_error(app, e)),
    };
    // The vendor changed; record it even if someone else updated the record meanwhile.
    match write(apps, company_id, &next, Some(version)).await {
        Ok(_) => Ok(next),
        Err(StoreError::ConditionFailed) => {
            let (v, mut fresh) = load(apps, company_id, app.slug, &next.id).await?;
            fresh.status = next.status;
            fresh.present = next.present;
            fresh.updated_at = now;
            write(apps, company_id, &fresh, Some(v)).await?;
            Ok(fresh)
        }
        Err(e) => Err(e.into()),
    }
}

/// Records what the vendor says of an account (after a dismissal found it already handled).
pub async fn record_status(
    apps: &Apps,
    company_id: &str,
    app: &str,
    id: &str,
    at_vendor: Option<VendorAccount>,
) -> Result<()> {
    for _ in 0..CONFLICT_ATTEMPTS {
        let (version, mut account) = load(apps, company_id, app, id).await?;
        match &at_vendor {
            Some(v) => account.status = v.status,
            None => account.status = AccountStatus::Deleted,
        }
        account.updated_at = apps.services.clock.now();
        match write(apps, company_id, &account, Some(version)).await {
            Ok(_) => return Ok(()),
            Err(StoreError::ConditionFailed) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::Busy("account kept changing".into()))
}

// ---------------------------------------------------------------------------------------
// Remove all

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Removal {
    pub app: String,
    pub app_name: String,
    pub account_id: String,
    pub email: Option<String>,
    /// `delete`, or `skip` when it cannot be done here.
    pub action: &'static str,
    /// What the action really does in this app, or why it is skipped.
    pub means: String,
    /// After a real run: `deleted`, `failed` or `skipped`.
    pub result: Option<&'static str>,
    pub error: Option<ErrorDetail>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RemoveAll {
    pub team_member_id: String,
    pub dry_run: bool,
    pub accounts: Vec<Removal>,
}

/// Deletes every managed account of a team member (dry run: says exactly what would happen).
pub async fn remove_all(
    apps: &Apps,
    actor: &Actor,
    access: &Access,
    team_member_id: &str,
    dry_run: bool,
) -> Result<RemoveAll> {
    let company_id = access.company.id.as_str();
    team::get(&apps.services, company_id, team_member_id).await?;
    let mut plan = Vec::new();
    for (slug, account_id) in member_links(apps, company_id, team_member_id).await? {
        let app = app_of(apps, &slug)?;
        let (version, account) = load(apps, company_id, &slug, &account_id).await?;
        if !account.live() {
            continue;
        }
        let connected = is_connected(apps, company_id, &slug).await?;
        let (action, means) = if !connected {
            (
                "skip",
                format!(
                    "{} is not connected: remove the account in the app itself.",
                    app.name
                ),
            )
        } else if !app.capabilities.delete {
            ("skip", format!("{} cannot remove accounts from here.", app.name))
        } else {
            ("delete", app.remove_means.to_owned())
        };
        plan.push((app, version, account, action, means));
    }
    let mut accounts = Vec::with_capacity(plan.len());
    for (app, version, account, action, means) in plan {
        let mut removal = Removal {
            app: app.slug.to_owned(),
            app_name: app.name.to_owned(),
            account_id: account.id.clone(),
            email: account.email.clone(),
            action,
            means,
            result: None,
            error: None,
        };
        if !dry_run {
            if action == "skip" {
                removal.result = Some("skipped");
            } else {
                match perform_action(apps, company_id, app, version, account, Action::Delete).await {
                    Ok(_) => {
                        removal.result = Some("deleted");
                        audit::succeeded(
                            &apps.services,
                            actor,
                            company_id,
                            "account.deleted",
                            Target::new("account", &removal.account_id),
                            Some(format!("remove all: {}", app.remove_means)),
                        )
                        .await;
                    }
                    Err(Error::Refused(details)) => {
                        removal.result = Some("failed");
                        removal.error = details.into_iter().next();
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        accounts.push(removal);
    }
    Ok(RemoveAll {
        team_member_id: team_member_id.to_owned(),
        dry_run,
        accounts,
    })
}

/// The domains a work email may be created on in `slug` (Google Workspace, Microsoft 365).
pub async fn work_email_domains(apps: &Apps, company_id: &str, slug: &str) -> Result<Vec<String>> {
    let app = app_of(apps, slug)?;
    if !app.capabilities.work_email {
        return Err(Error::invalid(
            "app",
            format!("{} does not create work emails.", app.name),
        ));
    }
    let connector = connector_for(apps, company_id, slug).await?;
    connector
        .work_email_domains()
        .await
        .map_err(|e| action_error(app, e))
}

/// The groups of `slug` (Google Workspace) accounts can be put in.
pub async fn groups(apps: &Apps, company_id: &str, slug: &str) -> Result<Vec<VendorGroup>> {
    let app = app_of(apps, slug)?;
    if !app.capabilities.groups {
        return Err(Error::invalid("app", format!("{} has no groups.", app.name)));
    }
    let connector = connector_for(apps, company_id, slug).await?;
    connector.groups().await.map_err(|e| action_error(app, e))
}

/// Puts an account of `slug` in one of its groups (already a member is fine).
pub async fn add_to_group(
    apps: &Apps,
    actor: &Actor,
    access: &Access,
    slug: &str,
    group_id: &str,
    account_id: &str,
) -> Result<AccountView> {
    let app = app_of(apps, slug)?;
    if !app.capabilities.groups {
        return Err(Error::invalid("app", format!("{} has no groups.", app.name)));
    }
    let company_id = access.company.id.as_str();
    if let Err(why) = app.allowed_on(access.company.plan) {
        return Err(Error::forbidden("plan", why));
    }
    let (_, account) = load(apps, company_id, slug, account_id).await?;
    if account.team_member_id().is_none() {
        return Err(Error::invalid(
            "account_id",
            "Only an account matched to a team member is managed here; match it first.",
        ));
    }
    if !account.live() {
        return Err(Error::invalid(
            "account_id",
            format!("The {} account is gone.", app.name),
        ));
    }
    let connector = connector_for(apps, company_id, slug).await?;
    connector
        .add_to_group(&account.vendor_id, group_id)
        .await
        .map_err(|e| action_error(app, e))?;
    audit::succeeded(
        &apps.services,
        actor,
        company_id,
        "account.added_to_group",
        Target::new("account", &account.id),
        Some(format!("group {group_id}")),
    )
    .await;
    Ok(AccountView::of(app, account, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(shows_invites: bool) -> ConnectorCapabilities {
        ConnectorCapabilities {
            create: true,
            suspend: false,
            reactivate: false,
            delete: true,
            shows_invites,
        }
    }

    #[test]
    fn an_invitation_stays_sent_where_the_vendor_cannot_show_it() {
        use AccountStatus::*;
        let blind = caps(false);
        assert_eq!(status_from_vendor(Some(InviteSent), Active, blind), InviteSent);
        // Everything else the vendor says is recorded as said.
        assert_eq!(status_from_vendor(None, Active, blind), Active);
        assert_eq!(status_from_vendor(Some(Active), Active, blind), Active);
        assert_eq!(status_from_vendor(Some(InviteSent), Deleted, blind), Deleted);
        // A vendor that shows invitations is believed when it says the person joined.
        assert_eq!(status_from_vendor(Some(InviteSent), Active, caps(true)), Active);
    }

    /// The plain definition the fast normalisation must agree with.
    fn normalised(s: &str) -> String {
        s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
    }

    proptest::proptest! {
        #[test]
        fn names_normalise_as_their_plain_definition(
            first in "[ a-zA-Z\t\u{0b}\u{a0}ΣσςÉé'-]{0,12}",
            last in "[ a-zA-Z\t\u{0b}\u{a0}ΣσςÉé'-]{0,12}",
            email in "[ a-zA-Z0-9@.É]{0,16}",
        ) {
            let mut out = b"left over".to_vec();
            normalise_into(&mut out, &[&first, &last]);
            let expected = normalised(&format!("{first} {last}"));
            proptest::prop_assert_eq!(out.as_slice(), expected.as_bytes());
            let mut id = Identity::default();
            id.fill(Some(&email), FullName::FirstLast(&first), Some(&last));
            let full_key = normalised(&format!("{first} {last}"));
            proptest::prop_assert_eq!(id.full_name(), Some(full_key.as_bytes()).filter(|n| !n.is_empty()));
            let email_key = values::email_key(&email);
            let last_key = normalised(&last);
            proptest::prop_assert_eq!(id.email(), Some(email_key.as_bytes()).filter(|e| !e.is_empty()));
            proptest::prop_assert_eq!(id.last_name(), Some(last_key.as_bytes()).filter(|n| !n.is_empty()));
        }
    }

    #[test]
    fn suggestions_rank_what_agrees() {
        let now = chrono::Utc::now();
        let member = |id: &str, first: &str, last: &str, email: &str| TeamMember {
            id: id.into(),
            company_id: "com_1".into(),
            first_name: first.into(),
            last_name: last.into(),
            email: Some(email.into()),
            kind: team::Kind::Employee,
            work_country: "US".into(),
            start_date: None,
            offer_status: team::OfferStatus::None,
            employment_status: EmploymentStatus::Active,
            last_day: None,
            rehired_on: None,
            created_at: now,
            updated_at: now,
        };
        let members = [
            member("tm_1", "Ada", "Lovelace", "ada@example.com"),
            member("tm_2", "Ada", "Lovelace", "ada.l@other.example"),
            member("tm_3", "Grace", "Hopper", "grace@example.com"),
            member("tm_4", "Alan", "Turing", "alan@example.com"),
        ];
        let account = |first: &str, last: &str, email: &str| AppAccount {
            id: "acc".into(),
            app: "app".into(),
            vendor_id: "v".into(),
            email: Some(email.into()),
            first_name: Some(first.into()),
            last_name: Some(last.into()),
            display_name: None,
            status: AccountStatus::Active,
            present: true,
            matching: Matching::Unmatched,
            suggestions: Vec::new(),
            first_seen_at: now,
            updated_at: now,
        };
        let got = match_accounts(
            &members,
            &[
                account(" ADA ", "lovelace", "Ada@Example.com "),
                account("Ada", "Lovelace", "someone@else.example"),
                account("G.", "Hopper", "grace@elsewhere.example"),
                account("Bot", "Number 9", "bot@vendor.example"),
            ],
        );
        // Name and email agree with exactly one member (case and spaces aside): matched.
        assert_eq!(got[0].0.map(|tm| tm.id.as_str()), Some("tm_1"));
        // Two members share the name: suggested, not matched.
        assert_eq!(got[1].0, None);
        let ids: Vec<_> = got[1]
            .1
            .iter()
            .map(|s| (s.team_member_id.as_str(), s.score))
            .collect();
        assert_eq!(ids, [("tm_1", 30), ("tm_2", 30)]);
        // Email name and last name: one suggestion with both reasons.
        assert_eq!(got[2].1.len(), 1);
        assert_eq!(got[2].1[0].team_member_id, "tm_3");
        assert_eq!(got[2].1[0].score, 35);
        assert_eq!(got[2].1[0].reason, "same email name, same last name");
        // Nothing in common: nothing suggested.
        assert_eq!(got[3], (None, Vec::new()));
    }
}
