//! Team members (employees and contractors) and who of them provisioning serves.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::access::Access;
use crate::audit::{self, Actor, Target};
use crate::body::{Body, Unparsed};
use crate::company::User;
use crate::error::{Category, Error, Result};
use crate::keys::{TEAM_MEMBERS, company_partition, team_email_key, team_member_key};
use crate::listing::{ListQuery, Listing};
use crate::secret::new_ordered_id;
use crate::services::Services;
use crate::store::{Attempt, Item, StoreError, WriteOp, retry_lost_writes};
use crate::validate::{Obj, Text, Validator};
use crate::values;

const CONFLICT_ATTEMPTS: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Employee,
    Contractor,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OfferStatus {
    /// No offer letter was sent through the platform.
    #[default]
    None,
    Sent,
    Accepted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EmploymentStatus {
    #[default]
    Active,
    /// Dismissed; `last_day` says when access ends.
    Dismissed,
    /// Dismissed once, then rehired.
    Rehired,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TeamMember {
    pub id: String,
    pub company_id: String,
    pub first_name: String,
    pub last_name: String,
    /// Without an email, no app account can be created for the person.
    pub email: Option<String>,
    pub kind: Kind,
    /// ISO 3166-1 alpha-2 country of work, e.g. `US`.
    pub work_country: String,
    pub start_date: Option<NaiveDate>,
    pub offer_status: OfferStatus,
    pub employment_status: EmploymentStatus,
    pub last_day: Option<NaiveDate>,
    pub rehired_on: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TeamMember {
    pub fn is_us(&self) -> bool {
        self.work_country == "US"
    }

    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }
}

/// Whether provisioning apps serve this person, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Provisioning {
    pub eligible: bool,
    pub reason: Option<String>,
}

/// A team member as the API shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TeamMemberView {
    #[serde(flatten)]
    pub member: TeamMember,
    pub provisioning: Provisioning,
}

impl From<TeamMember> for TeamMemberView {
    fn from(member: TeamMember) -> Self {
        let provisioning = match eligibility(Subject::TeamMember(&member)) {
            Ok(()) => Provisioning {
                eligible: true,
                reason: None,
            },
            Err(e) => Provisioning {
                eligible: false,
                reason: e.details().and_then(|d| d.first()).map(|d| d.message.clone()),
            },
        };
        Self { member, provisioning }
    }
}

/// Who a provisioning action is for.
pub enum Subject<'a> {
    TeamMember(&'a TeamMember),
    /// An admin who is not on the team (a non-employee admin).
    Admin(&'a User),
}

/// Provisioning serves employees and US contractors. International employees,
/// international contractors and non-employee admins are refused, and told why.
pub fn eligibility(subject: Subject<'_>) -> Result<()> {
    let why = match subject {
        Subject::TeamMember(tm) => match (tm.kind, tm.is_us()) {
            (Kind::Employee, true) | (Kind::Contractor, true) => return Ok(()),
            (Kind::Employee, false) => format!(
                "{} is an international employee (works in {}); provisioning apps support employees and contractors working in the US.",
                tm.full_name(),
                tm.work_country
            ),
            (Kind::Contractor, false) => format!(
                "{} is an international contractor (works in {}); provisioning apps support US contractors only.",
                tm.full_name(),
                tm.work_country
            ),
        },
        Subject::Admin(admin) if admin.team_member_id.is_some() => return Ok(()),
        Subject::Admin(admin) => format!(
            "{} {} is an admin who is not an employee; provisioning apps do not support non-employee admins.",
            admin.first_name, admin.last_name
        ),
    };
    Err(Error::refused("team_member", Category::NotEligible, why))
}

fn email_taken() -> Error {
    Error::invalid("email", "Another team member of this company has this email.")
}

/// ISO 3166-1 alpha-2 codes.
const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

fn country(raw: &str) -> Result<String, String> {
    let code = raw.to_ascii_uppercase();
    if code.len() == 2 && COUNTRIES.split(' ').any(|c| c == code) {
        Ok(code)
    } else {
        Err("must be a two-letter ISO country code such as US or CA.".into())
    }
}

fn date(raw: &str) -> Result<NaiveDate, String> {
    const WHY: &str = "must be a date as YYYY-MM-DD.";
    if raw.len() != 10 {
        return Err(WHY.into());
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| WHY.to_owned())
}

fn kind(raw: &str) -> Result<Kind, String> {
    match raw {
        "employee" => Ok(Kind::Employee),
        "contractor" => Ok(Kind::Contractor),
        _ => Err("must be `employee` or `contractor`.".into()),
    }
}

fn offer_status(raw: &str) -> Result<OfferStatus, String> {
    match raw {
        "none" => Ok(OfferStatus::None),
        "sent" => Ok(OfferStatus::Sent),
        "accepted" => Ok(OfferStatus::Accepted),
        _ => Err("must be `none`, `sent` or `accepted`.".into()),
    }
}

const WRITABLE: &[&str] = &[
    "first_name",
    "last_name",
    "email",
    "kind",
    "work_country",
    "start_date",
    "offer_status",
];
const MANAGED_ELSEWHERE: &[&str] = &["employment_status", "last_day", "rehired_on"];

/// Refuses attributes a client may not write, with a hint for the employment ones.
fn only_writable(v: &mut Validator, root: &Obj<'_>) {
    for key in MANAGED_ELSEWHERE {
        if root.has(key) {
            v.error(
                *key,
                format!("`{key}` changes through the dismissal and rehire routes, not here."),
            );
        }
    }
    let mut allowed: Vec<&str> = WRITABLE.to_vec();
    allowed.extend_from_slice(MANAGED_ELSEWHERE);
    v.only(root, &allowed);
}

/// `POST …/team_members`.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTeamMember {
    #[schema(min_length = 1, max_length = 100)]
    pub first_name: String,
    #[schema(min_length = 1, max_length = 100)]
    pub last_name: String,
    /// Unique within the company; without one, no app account can be created.
    #[schema(format = Email, min_length = 3, max_length = 254)]
    pub email: Option<String>,
    pub kind: Kind,
    /// ISO 3166-1 alpha-2, any case (default `US`).
    #[schema(value_type = Option<String>, required = false, pattern = r"^[A-Za-z]{2}$")]
    pub work_country: String,
    #[schema(value_type = Option<String>, format = Date)]
    pub start_date: Option<NaiveDate>,
    /// Default `none`.
    #[schema(value_type = Option<OfferStatus>, required = false)]
    pub offer_status: OfferStatus,
}

impl Body for NewTeamMember {
    fn parse(v: &mut Validator, root: &Obj<'_>, (): ()) -> Option<Self> {
        only_writable(v, root);
        let first_name = v.text(root, "first_name", true, Text::NAME);
        let last_name = v.text(root, "last_name", true, Text::NAME);
        let email = v.parsed(root, "email", false, values::email);
        let kind = v.parsed(root, "kind", true, kind);
        let work_country = v
            .parsed(root, "work_country", false, country)
            .unwrap_or_else(|| "US".into());
        let start_date = v.parsed(root, "start_date", false, date);
        let offer_status = v
            .parsed(root, "offer_status", false, offer_status)
            .unwrap_or_default();
        Some(NewTeamMember {
            first_name: first_name?,
            last_name: last_name?,
            email,
            kind: kind?,
            work_country,
            start_date,
            offer_status,
        })
    }
}

/// Creates a team member.
pub async fn create(
    svc: &Services,
    actor: &Actor,
    access: &Access,
    new: &NewTeamMember,
) -> Result<TeamMember> {
    let now = svc.clock.now();
    let company_id = access.company().id.clone();
    let member = TeamMember {
        id: new_ordered_id("tm"),
        company_id: company_id.clone(),
        first_name: new.first_name.clone(),
        last_name: new.last_name.clone(),
        email: new.email.clone(),
        kind: new.kind,
        work_country: new.work_country.clone(),
        start_date: new.start_date,
        offer_status: new.offer_status,
        employment_status: EmploymentStatus::Active,
        last_day: None,
        rehired_on: None,
        created_at: now,
        updated_at: now,
    };

    let mut ops = vec![WriteOp::Create(Item::from_record(
        team_member_key(&company_id, &member.id),
        &member,
    )?)];
    if let Some(email) = &member.email {
        ops.push(WriteOp::Create(Item::from_record(
            team_email_key(&company_id, email),
            &serde_json::json!({ "team_member_id": member.id }),
        )?));
    }
    match svc.store.transact(ops).await {
        Ok(()) => {}
        Err(StoreError::TransactionCancelled { failed }) if failed == [1] => return Err(email_taken()),
        Err(e) => return Err(e.into()),
    }
    audit::succeeded(
        svc,
        actor,
        &company_id,
        "team_member.created",
        Target::new("team_member", &member.id),
        None,
    )
    .await;
    Ok(member)
}

pub async fn get(svc: &Services, access: &Access, id: &str) -> Result<TeamMember> {
    Ok(load(svc, &access.company().id, id).await?.1)
}

/// A team member with the version read, for the processes that run without a caller (the
/// dismissal cleanup) and for changes written at that version.
pub async fn load(svc: &Services, company_id: &str, id: &str) -> Result<(u64, TeamMember)> {
    let not_found = || Error::not_found("team_member");
    if id.is_empty() || id.len() > 64 {
        return Err(not_found());
    }
    let item = svc
        .store
        .get(&team_member_key(company_id, id))
        .await?
        .ok_or_else(not_found)?;
    Ok((item.version, item.record()?))
}

/// `PATCH …/team_members/{team_member_id}`: at least one attribute; `null` clears `email`
/// or `start_date` (the others cannot be cleared). Employment attributes change through
/// the dismissal and rehire routes.
// Each attribute is `None` when not sent; `email` and `start_date` are `Some(None)` when
// cleared.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(min_properties = 1)]
pub struct TeamMemberChange {
    #[schema(value_type = String, required = false, min_length = 1, max_length = 100)]
    pub first_name: Option<String>,
    #[schema(value_type = String, required = false, min_length = 1, max_length = 100)]
    pub last_name: Option<String>,
    #[schema(value_type = Option<String>, format = Email, min_length = 3, max_length = 254)]
    pub email: Option<Option<String>>,
    #[schema(value_type = Kind, required = false)]
    pub kind: Option<Kind>,
    #[schema(value_type = String, required = false, pattern = r"^[A-Za-z]{2}$")]
    pub work_country: Option<String>,
    #[schema(value_type = Option<String>, format = Date)]
    pub start_date: Option<Option<NaiveDate>>,
    #[schema(value_type = OfferStatus, required = false)]
    pub offer_status: Option<OfferStatus>,
}

impl Body for TeamMemberChange {
    fn parse(v: &mut Validator, root: &Obj<'_>, (): ()) -> Option<Self> {
        only_writable(v, root);
        if root.is_empty() {
            v.error("body", "Send at least one attribute to change.");
        }
        for required in ["first_name", "last_name", "kind", "work_country", "offer_status"] {
            if root.is_null(required) {
                v.error(required, format!("`{required}` cannot be cleared."));
            }
        }
        let first_name = v.text(root, "first_name", false, Text::NAME);
        let last_name = v.text(root, "last_name", false, Text::NAME);
        let email = v.parsed(root, "email", false, values::email);
        let email = match email {
            Some(email) => Some(Some(email)),
            None => root.is_null("email").then_some(None),
        };
        let kind = v.parsed(root, "kind", false, kind);
        let work_country = v.parsed(root, "work_country", false, country);
        let start_date = v.parsed(root, "start_date", false, date);
        let start_date = match start_date {
            Some(day) => Some(Some(day)),
            None => root.is_null("start_date").then_some(None),
        };
        let offer_status = v.parsed(root, "offer_status", false, offer_status);
        Some(TeamMemberChange {
            first_name,
            last_name,
            email,
            kind,
            work_country,
            start_date,
            offer_status,
        })
    }
}

impl TeamMemberChange {
    /// The team member with this change made.
    fn apply(&self, current: &TeamMember, now: DateTime<Utc>) -> TeamMember {
        let mut next = current.clone();
        if let Some(x) = &self.first_name {
            next.first_name.clone_from(x);
        }
        if let Some(x) = &self.last_name {
            next.last_name.clone_from(x);
        }
        if let Some(x) = &self.email {
            next.email.clone_from(x);
        }
        if let Some(x) = self.kind {
            next.kind = x;
        }
        if let Some(x) = &self.work_country {
            next.work_country.clone_from(x);
        }
        if let Some(x) = self.start_date {
            next.start_date = x;
        }
        if let Some(x) = self.offer_status {
            next.offer_status = x;
        }
        next.updated_at = now;
        next
    }

    /// The attributes it changes, in the order they are listed.
    fn changed(&self) -> Vec<&'static str> {
        let sent = [
            self.first_name.is_some(),
            self.last_name.is_some(),
            self.email.is_some(),
            self.kind.is_some(),
            self.work_country.is_some(),
            self.start_date.is_some(),
            self.offer_status.is_some(),
        ];
        WRITABLE
            .iter()
            .zip(sent)
            .filter_map(|(name, sent)| sent.then_some(*name))
            .collect()
    }
}

/// Applies a partial update; `null` clears an optional attribute.
pub async fn update(
    svc: &Services,
    actor: &Actor,
    company_id: &str,
    id: &str,
    body: &Unparsed<TeamMemberChange>,
) -> Result<TeamMember> {
    let (mut version, mut current) = load(svc, company_id, id).await?;
    // Read once the team member is found: an unknown one is a 404, whatever the body says.
    let change = body.parse()?;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let updated = change.apply(&current, svc.clock.now());
        let mut ops = vec![WriteOp::Replace {
            item: Item::from_record(team_member_key(company_id, id), &updated)?,
            expected_version: version,
        }];
        // The email lock moves with the email (a change of case only keeps it).
        let mut email_op = None;
        if current.email.as_deref().map(values::email_key) != updated.email.as_deref().map(values::email_key)
        {
            if let Some(old) = &current.email {
                ops.push(WriteOp::Delete {
                    key: team_email_key(company_id, old),
                    expected_version: None,
                });
            }
            if let Some(new) = &updated.email {
                ops.push(WriteOp::Create(Item::from_record(
                    team_email_key(company_id, new),
                    &serde_json::json!({ "team_member_id": id }),
                )?));
                email_op = Some(ops.len() - 1);
            }
        }
        match svc.store.transact(ops).await {
            Ok(()) => {
                audit::succeeded(
                    svc,
                    actor,
                    company_id,
                    "team_member.updated",
                    Target::new("team_member", id),
                    Some(format!("changed: {}", change.changed().join(", "))),
                )
                .await;
                return Ok(updated);
            }
            Err(StoreError::TransactionCancelled { failed })
                if email_op.is_some_and(|i| failed.contains(&i)) =>
            {
                return Err(email_taken());
            }
            // Someone else changed the team member meanwhile: apply the change to theirs.
            Err(StoreError::TransactionCancelled { .. } | StoreError::Contention(_))
                if attempt < CONFLICT_ATTEMPTS => {}
            Err(StoreError::TransactionCancelled { .. }) => {
                return Err(Error::refused(
                    "team_member",
                    Category::Conflict,
                    "The team member kept changing; read it again and retry.",
                ));
            }
            Err(e) => return Err(e.into()),
        }
        (version, current) = load(svc, company_id, id).await?;
    }
}

/// Gives a team member their email before a work mailbox became it, once that mailbox is
/// deleted: `from` (the mailbox's address) becomes `to` (the earlier address; none when they
/// had none), only while their email is still `from`. Answers whether it changed. The
/// service does it (the audit names the system), as a consequence of the deletion.
pub async fn return_email(
    svc: &Services,
    company_id: &str,
    id: &str,
    from: &str,
    to: Option<&str>,
) -> Result<bool> {
    for _ in 0..CONFLICT_ATTEMPTS {
        let (version, current) = load(svc, company_id, id).await?;
        if current.email.as_deref().map(values::email_key) != Some(values::email_key(from)) {
            return Ok(false);
        }
        let updated = TeamMember {
            email: to.map(str::to_owned),
            updated_at: svc.clock.now(),
            ..current
        };
        let mut ops = vec![
            WriteOp::Replace {
                item: Item::from_record(team_member_key(company_id, id), &updated)?,
                expected_version: version,
            },
            WriteOp::Delete {
                key: team_email_key(company_id, from),
                expected_version: None,
            },
        ];
        if let Some(to) = to {
            ops.push(WriteOp::Create(Item::from_record(
                team_email_key(company_id, to),
                &serde_json::json!({ "team_member_id": id }),
            )?));
        }
        match svc.store.transact(ops).await {
            Ok(()) => {
                audit::record(
                    svc,
                    audit::Record {
                        company_id,
                        actor: audit::ActorRef::System,
                        request_id: "",
                        action: "team_member.updated",
                        target: Target::new("team_member", id),
                        result: audit::Outcome::Succeeded,
                        detail: Some(
                            "changed: email (their work mailbox was deleted; the email they had before is theirs again)"
                                .into(),
                        ),
                    },
                )
                .await;
                return Ok(true);
            }
            Err(StoreError::TransactionCancelled { failed }) if failed.contains(&2) => {
                return Err(email_taken());
            }
            // Someone else changed the team member meanwhile: look again.
            Err(StoreError::TransactionCancelled { .. } | StoreError::Contention(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::refused(
        "team_member",
        Category::Conflict,
        "The team member kept changing; read it again and retry.",
    ))
}

/// Sets a team member's employment status (dismissal, cancel, rehire), re-reading on a
/// concurrent change. Answers the member as stored.
pub async fn set_employment(
    svc: &Services,
    company_id: &str,
    id: &str,
    status: EmploymentStatus,
    last_day: Option<NaiveDate>,
    rehired_on: Option<NaiveDate>,
) -> Result<TeamMember> {
    let written = retry_lost_writes(CONFLICT_ATTEMPTS, move || async move {
        let (version, member) = load(svc, company_id, id).await?;
        let (item, member) = employment_changed(svc, member, status, last_day, rehired_on)?;
        Ok::<_, Error>(Attempt::of(svc.store.replace(item, version).await)?.map(|_| member))
    })
    .await?;
    written.ok_or_else(|| {
        Error::refused(
            "team_member",
            Category::Conflict,
            "The team member kept changing; read it again and retry.",
        )
    })
}

/// The team member with their employment changed, and the item to write at the version read
/// (a dismissal writes it in one transaction with the dismissal).
pub fn employment_changed(
    svc: &Services,
    mut member: TeamMember,
    status: EmploymentStatus,
    last_day: Option<NaiveDate>,
    rehired_on: Option<NaiveDate>,
) -> Result<(Item, TeamMember)> {
    member.employment_status = status;
    member.last_day = last_day;
    if rehired_on.is_some() {
        member.rehired_on = rehired_on;
    }
    member.updated_at = svc.clock.now();
    let item = Item::from_record(team_member_key(&member.company_id, &member.id), &member)?;
    Ok((item, member))
}

/// A company's team members in the order they were added.
pub async fn list(svc: &Services, access: &Access, query: &ListQuery) -> Result<Listing<TeamMemberView>> {
    let company_id = &access.company().id;
    let page = svc
        .store
        .query(
            &company_partition(company_id),
            TEAM_MEMBERS,
            query.page_request()?,
        )
        .await?;
    Ok(Listing::<TeamMember>::from_page(page)?.map(TeamMemberView::from))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::company::Role;
    use chrono::TimeZone;

    fn member(kind: Kind, country: &str) -> TeamMember {
        let t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        TeamMember {
            id: "tm_1".into(),
            company_id: "com_1".into(),
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            email: None,
            kind,
            work_country: country.into(),
            start_date: None,
            offer_status: OfferStatus::None,
            employment_status: EmploymentStatus::Active,
            last_day: None,
            rehired_on: None,
            created_at: t,
            updated_at: t,
        }
    }

    fn refusal(r: Result<()>) -> String {
        match r {
            Err(Error::Refused(d)) => {
                assert_eq!(d[0].category, Category::NotEligible);
                d[0].message.clone()
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn employees_and_us_contractors_are_eligible() {
        assert!(eligibility(Subject::TeamMember(&member(Kind::Employee, "US"))).is_ok());
        assert!(eligibility(Subject::TeamMember(&member(Kind::Contractor, "US"))).is_ok());
    }

    #[test]
    fn international_people_and_non_employee_admins_are_refused_with_the_reason() {
        let why = refusal(eligibility(Subject::TeamMember(&member(Kind::Employee, "CA"))));
        assert!(
            why.contains("international employee") && why.contains("CA"),
            "{why}"
        );
        let why = refusal(eligibility(Subject::TeamMember(&member(Kind::Contractor, "GB"))));
        assert!(why.contains("international contractor"), "{why}");
        let t = Utc::now();
        let mut admin = User {
            id: "usr_1".into(),
            company_id: "com_1".into(),
            first_name: "Grace".into(),
            last_name: "Hopper".into(),
            email: "g@example.com".into(),
            phone: None,
            role: Role::Admin,
            permissions: vec![],
            team_member_id: None,
            email_confirmed_at: None,
            created_at: t,
            tokens: Vec::new(),
        };
        let why = refusal(eligibility(Subject::Admin(&admin)));
        assert!(why.contains("not an employee"), "{why}");
        admin.team_member_id = Some("tm_9".into());
        assert!(eligibility(Subject::Admin(&admin)).is_ok());
    }

    #[test]
    fn countries_and_dates() {
        assert_eq!(country("us").unwrap(), "US");
        assert!(country("XX").is_err());
        assert!(country("USA").is_err());
        assert!(date("2026-02-29").is_err());
        assert!(date("2026-1-5").is_err());
        assert_eq!(
            date("2028-02-29").unwrap(),
            NaiveDate::from_ymd_opt(2028, 2, 29).unwrap()
        );
    }

    fn change(body: serde_json::Value) -> Result<TeamMemberChange> {
        let serde_json::Value::Object(map) = body else {
            unreachable!("bodies are objects")
        };
        Unparsed::new(map).parse()
    }

    #[test]
    fn a_change_tells_absent_from_cleared_and_lists_what_it_changes() {
        let t = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
        let mut current = member(Kind::Employee, "US");
        current.email = Some("ada@example.com".into());
        current.start_date = NaiveDate::from_ymd_opt(2026, 1, 5);

        let cleared =
            change(serde_json::json!({"start_date": null, "offer_status": "sent", "first_name": " Ada "}))
                .unwrap();
        assert_eq!(cleared.email, None, "not sent: unchanged");
        assert_eq!(cleared.start_date, Some(None), "null: cleared");
        assert_eq!(cleared.changed(), ["first_name", "start_date", "offer_status"]);
        let next = cleared.apply(&current, t);
        assert_eq!(next.email.as_deref(), Some("ada@example.com"));
        assert_eq!(next.start_date, None);
        assert_eq!(next.offer_status, OfferStatus::Sent);
        assert_eq!(next.first_name, "Ada");
        assert_eq!(next.updated_at, t);

        let set = change(serde_json::json!({"email": null, "work_country": "ca"})).unwrap();
        assert_eq!(set.changed(), ["email", "work_country"]);
        let next = set.apply(&current, t);
        assert_eq!((next.email, next.work_country.as_str()), (None, "CA"));
    }

    #[test]
    fn a_change_refuses_clearing_what_cannot_be_cleared_and_employment_attributes() {
        let keys = |body| match change(body) {
            Err(Error::Refused(details)) => details.into_iter().map(|d| d.error_key).collect::<Vec<_>>(),
            other => panic!("expected a refusal, got {other:?}"),
        };
        assert_eq!(keys(serde_json::json!({})), ["body"]);
        assert_eq!(
            keys(serde_json::json!({"kind": null, "last_day": "2026-05-01", "email": "nope"})),
            ["last_day", "kind", "email"]
        );
    }
}
