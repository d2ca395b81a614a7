//! Manual matching: an admin's matches and "do not match" choices, each answered on its own.

use prov_core::access::Access;
use prov_core::audit::{self, Actor, Target};
use prov_core::body::{Body, Boolish, Unparsed};
use prov_core::catalog::App;
use prov_core::error::{Error, ErrorDetail, Result};
use prov_core::team::{self, Subject, eligibility};
use prov_core::validate::{Obj, Text, Validator};
use serde::Serialize;
use utoipa::ToSchema;

use super::records::{AppAccount, MatchedBy, Matching, app_of, link, load, unlink};
use super::views::{AccountView, reach};
use crate::connections::Apps;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MatchResult {
    pub account_id: String,
    pub account: Option<AccountView>,
    pub error: Option<ErrorDetail>,
}

pub(super) enum MatchChange {
    To(String),
    DoNotMatch,
}

/// `POST …/apps/{app}/matches`.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Matches {
    #[schema(max_items = 100)]
    pub matches: Vec<MatchRequest>,
}

/// Either `team_member_id` (match the account to the person) or `do_not_match: true`.
// As parsed, exactly one of the two: `do_not_match` is true when there is no team member.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MatchRequest {
    #[schema(min_length = 1, max_length = 64)]
    pub account_id: String,
    #[schema(min_length = 1, max_length = 64)]
    pub team_member_id: Option<String>,
    #[schema(value_type = Option<Boolish>, required = false)]
    pub do_not_match: bool,
}

impl Body for Matches {
    fn parse(v: &mut Validator, root: &Obj<'_>, (): ()) -> Option<Self> {
        v.only(root, &["matches"]);
        let items = v.array(root, "matches", 100);
        if root.get("matches").is_none() {
            v.error("matches", "`matches` is required.");
        }
        let mut matches = Vec::new();
        for (i, item) in items.unwrap_or_default().iter().enumerate() {
            if let Some(obj) = v.element(item, "matches", i) {
                matches.extend(MatchRequest::parse(v, &obj, ()));
            }
        }
        Some(Matches { matches })
    }
}

impl Body for MatchRequest {
    fn parse(v: &mut Validator, obj: &Obj<'_>, (): ()) -> Option<Self> {
        v.only(obj, &["account_id", "team_member_id", "do_not_match"]);
        let account_id = v.text(obj, "account_id", true, Text { max_chars: 64 });
        let team_member_id = v.text(obj, "team_member_id", false, Text { max_chars: 64 });
        let dnm = v.boolish(obj, "do_not_match").unwrap_or(false);
        if team_member_id.is_some() == dnm {
            let path = obj.path();
            v.error(
                path,
                format!("`{path}` needs either `team_member_id` or `do_not_match: true`."),
            );
            return None;
        }
        Some(MatchRequest {
            account_id: account_id?,
            team_member_id,
            do_not_match: dnm,
        })
    }
}

/// Matches several accounts at once (or marks them "do not match"). Each item succeeds or
/// fails on its own; a conflicting match is refused.
pub async fn submit_matches(
    apps: &Apps,
    actor: &Actor,
    access: &Access,
    slug: &str,
    body: &Unparsed<Matches>,
) -> Result<Vec<MatchResult>> {
    let app = app_of(apps, slug)?;
    let company_id = access.company().id.as_str();
    // Read once the app is known: an unknown one is a 404, whatever the body says.
    let Matches { matches } = body.parse()?;
    let reach = reach(apps, company_id, slug).await?;
    let mut results = Vec::with_capacity(matches.len());
    for MatchRequest {
        account_id,
        team_member_id,
        ..
    } in matches
    {
        let change = team_member_id.map_or(MatchChange::DoNotMatch, MatchChange::To);
        let outcome = apply_match(apps, actor, access, app, &account_id, change).await;
        results.push(match outcome {
            Ok(account) => MatchResult {
                account_id,
                account: Some(AccountView::of(app, account, &reach)),
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

pub(super) async fn apply_match(
    apps: &Apps,
    actor: &Actor,
    access: &Access,
    app: &App,
    account_id: &str,
    change: MatchChange,
) -> Result<AppAccount> {
    let company_id = &access.company().id;
    let (version, account) = load(apps, company_id, app.slug, account_id).await?;
    let (next, action, detail) = match change {
        MatchChange::DoNotMatch => (
            unlink(apps, company_id, &account, version, Matching::DoNotMatch).await?,
            "account.do_not_match",
            None,
        ),
        MatchChange::To(tm_id) => {
            let member = team::get(&apps.services, access, &tm_id).await?;
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

#[cfg(test)]
mod tests {
    use prov_core::Error;
    use serde_json::{Value, json};

    use super::*;

    fn matches(body: Value) -> Result<Matches> {
        let Value::Object(map) = body else {
            unreachable!("bodies are objects")
        };
        Unparsed::new(map).parse()
    }

    #[test]
    fn each_item_names_a_team_member_or_says_do_not_match() {
        let parsed = matches(json!({"matches": [
            {"account_id": "acc_1", "team_member_id": " tm_1 "},
            {"account_id": "acc_2", "do_not_match": "true", "team_member_id": null},
        ]}))
        .unwrap();
        let read: Vec<_> = parsed
            .matches
            .iter()
            .map(|m| (m.account_id.as_str(), m.team_member_id.as_deref(), m.do_not_match))
            .collect();
        assert_eq!(read, [("acc_1", Some("tm_1"), false), ("acc_2", None, true)]);
    }

    #[test]
    fn every_bad_item_is_named_by_its_index() {
        let Err(Error::Refused(details)) = matches(json!({"matches": [
            {"account_id": "acc_1", "team_member_id": "tm_1", "do_not_match": true},
            {"account_id": "acc_2"},
            "acc_3",
            {"team_member_id": "tm_4", "note": "x"},
        ]})) else {
            panic!("expected a refusal")
        };
        let keys: Vec<&str> = details.iter().map(|d| d.error_key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "matches[0]",
                "matches[1]",
                "matches[2]",
                "matches[3].note",
                "matches[3].account_id"
            ]
        );
        assert_eq!(
            details[1].message,
            "`matches[1]` needs either `team_member_id` or `do_not_match: true`."
        );
        assert!(matches(json!({})).is_err(), "`matches` is required");
    }
}
