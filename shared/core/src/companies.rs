//! Reading and changing companies: one company, a partner's companies, the plan.

use utoipa::ToSchema;

use crate::access::{Need, authorize};
use crate::audit::{self, Actor, Target};
use crate::auth::Principal;
use crate::body::Body;
use crate::company::{Company, Plan, company_item};
use crate::error::{Category, Error, Result};
use crate::keys::partner_companies_index;
use crate::listing::{ListQuery, Listing};
use crate::services::Services;
use crate::store::{CONTENTION_ATTEMPTS, StoreError};
use crate::validate::{Obj, Validator};

pub async fn get_company(svc: &Services, principal: &Principal, company_id: &str) -> Result<Company> {
    Ok(authorize(svc, principal, company_id, Need::Read)
        .await?
        .into_company())
}

/// `PATCH /v1/companies/{company_id}`: what a partner may change.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompanyChange {
    pub plan: Plan,
}

impl Body for CompanyChange {
    fn parse(v: &mut Validator, root: &Obj<'_>, (): ()) -> Option<Self> {
        v.only(root, &["plan"]);
        let plan = v.parsed(root, "plan", true, |raw| match raw {
            "simple" => Ok(Plan::Simple),
            "plus" => Ok(Plan::Plus),
            "premium" => Ok(Plan::Premium),
            _ => Err("must be `simple`, `plus` or `premium`.".to_owned()),
        });
        Some(CompanyChange { plan: plan? })
    }
}

/// Changes what a partner may change about a company: its plan.
pub async fn update_company(
    svc: &Services,
    actor: &Actor,
    company_id: &str,
    change: &CompanyChange,
) -> Result<Company> {
    let plan = change.plan;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let access = authorize(svc, &actor.principal, company_id, Need::ChangePlan).await?;
        let before = access.company().plan;
        if before == plan {
            return Ok(access.into_company());
        }
        let version = access.company_version();
        let listening = access.listening().clone();
        let mut company = access.into_company();
        company.plan = plan;
        match svc
            .store
            .replace(company_item(&company, &listening)?, version)
            .await
        {
            Ok(_) => {
                audit::succeeded(
                    svc,
                    actor,
                    company_id,
                    "company.plan_changed",
                    Target::new("company", company_id),
                    Some(format!("{before:?} -> {plan:?}").to_lowercase()),
                )
                .await;
                return Ok(company);
            }
            Err(StoreError::ConditionFailed) if attempt < CONTENTION_ATTEMPTS => {}
            Err(StoreError::ConditionFailed) => {
                return Err(Error::refused(
                    "company",
                    Category::Conflict,
                    "The company kept changing; retry.",
                ));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// The companies a partner provisioned (oldest first), or an admin's own company.
pub async fn list_companies(
    svc: &Services,
    principal: &Principal,
    query: ListQuery,
) -> Result<Listing<Company>> {
    match principal {
        Principal::Partner { partner_id } => {
            let page = svc
                .store
                .query_index(&partner_companies_index(partner_id), query.page_request()?)
                .await?;
            Listing::from_page(page)
        }
        Principal::Admin { company_id, .. } => {
            // An admin's list is one page, but the query rules are the same as a partner's:
            // a bad `limit` is refused, and no cursor continues a list that has no next page.
            query.page_request()?;
            if query.cursor.is_some() {
                return Err(StoreError::InvalidCursor.into());
            }
            Ok(Listing {
                items: vec![get_company(svc, principal, company_id).await?],
                next_cursor: None,
            })
        }
    }
}
