//! A caller's API tokens: what they can see of them (never a token), rotating the token
//! they call with (the new one is shown once; an admin's old token dies at once, a
//! partner's may keep working up to 24 hours), an operator rotating a partner's tokens, and
//! revoking an admin's tokens when the admin is removed.

use chrono::{DateTime, Duration, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use utoipa::ToSchema;

use crate::audit::{self, Actor, ActorRef, Target};
use crate::auth::{Partner, Principal, TokenRecord, generate_token, lookup_of, store_token_op};
use crate::body::Body;
use crate::clock::Clock;
use crate::company::User;
use crate::error::{Category, Error, Result};
use crate::keys::{partner_key, token_key, user_key};
use crate::secret::hash_secret;
use crate::services::Services;
use crate::store::{Item, ItemStore, StoreError, WriteOp};
use crate::validate::{Obj, Validator};

/// The longest a partner's rotated token may keep working.
pub const MAX_OVERLAP_HOURS: i64 = 24;
const CONFLICT_ATTEMPTS: usize = 3;

/// A token as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct TokenView {
    /// A name for the token that reveals nothing of it.
    pub id: String,
    pub created_at: DateTime<Utc>,
    /// When it was last used, to the minute (`null`: never).
    pub last_used_at: Option<DateTime<Utc>>,
    /// A partner's rotated token stops working then.
    pub expires_at: Option<DateTime<Utc>>,
    /// Whether this request was made with it.
    pub current: bool,
}

/// A rotation: the new token (shown once, never stored) and the one it replaces.
#[derive(Debug)]
pub struct Rotated {
    pub token: SecretString,
    pub created: TokenView,
    pub retired: TokenView,
}

fn view(lookup: &str, record: &TokenRecord, current: bool) -> TokenView {
    TokenView {
        id: format!("tok_{}", &hash_secret(lookup)[..20]),
        created_at: record.created_at,
        last_used_at: record.last_used_at,
        expires_at: record.expires_at,
        current,
    }
}

/// The stored tokens among `lookups` (a revoked or expired one is gone), with their versions.
async fn load_tokens(
    store: &dyn ItemStore,
    now: DateTime<Utc>,
    lookups: &[String],
) -> Result<Vec<(String, Item, TokenRecord)>> {
    let mut found = Vec::new();
    for lookup in lookups {
        if let Some(item) = store.get(&token_key(lookup)).await? {
            let record: TokenRecord = item.record()?;
            if record.expires_at.is_none_or(|at| at > now) {
                found.push((lookup.clone(), item, record));
            }
        }
    }
    Ok(found)
}

/// When any of an admin's tokens was last used.
pub(crate) async fn last_used(svc: &Services, user: &User) -> Result<Option<DateTime<Utc>>> {
    let tokens = load_tokens(svc.store.as_ref(), svc.clock.now(), &user.tokens).await?;
    Ok(tokens.iter().filter_map(|(_, _, r)| r.last_used_at).max())
}

/// The writes that revoke an admin's tokens (with the admin's removal).
pub(crate) fn revoke_ops(user: &User) -> Vec<WriteOp> {
    user.tokens
        .iter()
        .map(|lookup| WriteOp::Delete {
            key: token_key(lookup),
            expected_version: None,
        })
        .collect()
}

/// Whose tokens these are: the record that lists them, at the version read.
enum Owner {
    Partner(u64, Partner),
    Admin(u64, User),
}

impl Owner {
    async fn load(store: &dyn ItemStore, principal: &Principal) -> Result<Self> {
        let gone = Error::unauthorized;
        Ok(match principal {
            Principal::Partner { partner_id } => {
                let item = store.get(&partner_key(partner_id)).await?.ok_or_else(gone)?;
                Owner::Partner(item.version, item.record()?)
            }
            Principal::Admin { company_id, user_id } => {
                let item = store
                    .get(&user_key(company_id, user_id))
                    .await?
                    .ok_or_else(gone)?;
                Owner::Admin(item.version, item.record()?)
            }
        })
    }

    fn tokens(&mut self) -> &mut Vec<String> {
        match self {
            Owner::Partner(_, p) => &mut p.tokens,
            Owner::Admin(_, u) => &mut u.tokens,
        }
    }

    fn write_op(&self) -> Result<WriteOp> {
        Ok(match self {
            Owner::Partner(version, p) => WriteOp::Replace {
                item: Item::from_record(partner_key(&p.id), p)?,
                expected_version: *version,
            },
            Owner::Admin(version, u) => WriteOp::Replace {
                item: Item::from_record(user_key(&u.company_id, &u.id), u)?,
                expected_version: *version,
            },
        })
    }
}

/// The caller's tokens (the one presented first), never a token.
pub async fn list(svc: &Services, principal: &Principal, presented: &str) -> Result<Vec<TokenView>> {
    let mut owner = Owner::load(svc.store.as_ref(), principal).await?;
    let current = lookup_of(presented).ok_or_else(Error::unauthorized)?;
    let mut lookups = vec![current.to_owned()];
    lookups.extend(owner.tokens().iter().filter(|l| *l != current).cloned());
    let tokens = load_tokens(svc.store.as_ref(), svc.clock.now(), &lookups).await?;
    Ok(tokens
        .iter()
        .map(|(lookup, _, record)| view(lookup, record, lookup == current))
        .collect())
}

/// `POST /v1/tokens/rotate`.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRotation {
    /// Partners only: how long the old token keeps working, 0 to 24 hours (default 0).
    #[schema(value_type = Option<u32>, required = false, minimum = 0, maximum = 24)]
    pub overlap_hours: i64,
}

impl Body for TokenRotation {
    fn parse(v: &mut Validator, root: &Obj<'_>, (): ()) -> Option<Self> {
        v.only(root, &["overlap_hours"]);
        let overlap_hours = v
            .integer(root, "overlap_hours", false, 0, MAX_OVERLAP_HOURS)
            .unwrap_or(0);
        Some(TokenRotation { overlap_hours })
    }
}

/// How long the caller's old token may keep working: partners only.
fn overlap(principal: &Principal, rotation: &TokenRotation) -> Result<Duration> {
    if rotation.overlap_hours > 0 && matches!(principal, Principal::Admin { .. }) {
        return Err(Error::invalid(
            "overlap_hours",
            "An admin's old token stops working at once; only a partner's may keep working for a while.",
        ));
    }
    Ok(Duration::hours(rotation.overlap_hours))
}

/// Retires tokens of `principal` (those `retire` picks from the ones its record lists):
/// deleted, or kept working until `now + overlap`; makes a new token and lists it on the
/// owner's record. One transaction: all of it or nothing.
async fn replace_tokens(
    store: &dyn ItemStore,
    clock: &dyn Clock,
    principal: &Principal,
    retire: impl Fn(&[String]) -> Vec<String>,
    overlap: Duration,
) -> Result<(SecretString, TokenView, Vec<TokenView>)> {
    for _ in 0..CONFLICT_ATTEMPTS {
        let mut owner = Owner::load(store, principal).await?;
        let now = clock.now();
        let retiring_lookups = retire(owner.tokens());
        let retiring = load_tokens(store, now, &retiring_lookups).await?;
        let token = generate_token();
        let new_lookup = lookup_of(token.expose_secret())
            .expect("generated tokens are long enough")
            .to_owned();
        let mut ops = vec![store_token_op(&token, principal.clone(), clock)?];
        let mut retired = Vec::new();
        for (lookup, item, mut record) in retiring {
            let until = now + overlap;
            record.expires_at = Some(record.expires_at.map_or(until, |at| at.min(until)));
            retired.push(view(&lookup, &record, false));
            ops.push(if overlap > Duration::zero() {
                WriteOp::Replace {
                    item: Item::from_record(item.key.clone(), &record)?.with_expiry(until.timestamp()),
                    expected_version: item.version,
                }
            } else {
                WriteOp::Delete {
                    key: item.key.clone(),
                    expected_version: None,
                }
            });
        }
        // The owner's record lists what still works: the tokens kept for the overlap, the
        // others not retired, and the new one (expired ones are dropped here).
        let listed = owner.tokens().clone();
        let mut kept: Vec<String> = load_tokens(store, now, &listed)
            .await?
            .into_iter()
            .map(|(lookup, _, _)| lookup)
            .filter(|l| overlap > Duration::zero() || !retiring_lookups.contains(l))
            .collect();
        kept.push(new_lookup.clone());
        *owner.tokens() = kept;
        ops.push(owner.write_op()?);
        match store.transact(ops).await {
            Ok(()) => {
                let created = TokenRecord {
                    hash: String::new(),
                    principal: principal.clone(),
                    created_at: now,
                    last_used_at: None,
                    expires_at: None,
                };
                return Ok((token, view(&new_lookup, &created, false), retired));
            }
            // A token was used (its last use recorded) or rotated meanwhile: read again.
            Err(StoreError::TransactionCancelled { .. } | StoreError::Contention(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::refused(
        "token",
        Category::Conflict,
        "The token kept changing; retry.",
    ))
}

/// Rotates the token the caller presented: a new token, shown once; the old one stops
/// working at once, or (partners, `overlap_hours`) after up to 24 hours.
pub async fn rotate(
    svc: &Services,
    actor: &Actor,
    presented: &str,
    rotation: &TokenRotation,
) -> Result<Rotated> {
    let principal = &actor.principal;
    let overlap = overlap(principal, rotation)?;
    let current = lookup_of(presented).ok_or_else(Error::unauthorized)?.to_owned();
    let retire_current = |_: &[String]| vec![current.clone()];
    let (token, created, retired) = replace_tokens(
        svc.store.as_ref(),
        svc.clock.as_ref(),
        principal,
        retire_current,
        overlap,
    )
    .await?;
    let retired = retired
        .into_iter()
        .next()
        .ok_or_else(|| Error::Internal("the presented token vanished during its rotation".into()))?;
    let detail = retired
        .expires_at
        .filter(|_| overlap > Duration::zero())
        .map(|at| format!("the old token works until {at}"));
    match principal {
        Principal::Admin { company_id, user_id } => {
            audit::succeeded(
                svc,
                actor,
                company_id,
                "admin.token_rotated",
                Target::new("user", user_id),
                detail,
            )
            .await;
        }
        Principal::Partner { partner_id } => {
            audit::record_partner(
                svc.audit.as_ref(),
                svc.clock.as_ref(),
                partner_id,
                ActorRef::from(principal),
                &actor.request_id,
                "partner.token_rotated",
                detail,
            )
            .await;
        }
    }
    Ok(Rotated {
        token,
        created,
        retired,
    })
}

/// An operator rotates every token of a partner (a leaked token, a partner who lost its
/// token): answers the new token, shown once; the old ones stop working at once or after
/// `overlap_hours` (at most 24). Logged in the partner's audit partition of `audit`.
pub async fn rotate_partner(
    store: &dyn ItemStore,
    audit: &dyn ItemStore,
    clock: &dyn Clock,
    partner_id: &str,
    overlap_hours: i64,
) -> Result<(SecretString, Vec<TokenView>)> {
    if !(0..=MAX_OVERLAP_HOURS).contains(&overlap_hours) {
        return Err(Error::invalid(
            "overlap_hours",
            format!("The overlap is 0 to {MAX_OVERLAP_HOURS} hours."),
        ));
    }
    let principal = Principal::Partner {
        partner_id: partner_id.to_owned(),
    };
    if store.get(&partner_key(partner_id)).await?.is_none() {
        return Err(Error::not_found("partner"));
    }
    let every = |listed: &[String]| listed.to_vec();
    let (token, _, retired) =
        replace_tokens(store, clock, &principal, every, Duration::hours(overlap_hours)).await?;
    audit::record_partner(
        audit,
        clock,
        partner_id,
        ActorRef::System,
        "",
        "partner.token_rotated",
        Some(format!(
            "by an operator: {} token(s) retired, overlap {overlap_hours} h",
            retired.len()
        )),
    )
    .await;
    Ok((token, retired))
}
