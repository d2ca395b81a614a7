//! Company provisioning (`POST /v1/provision`, the partner contract): the request as a type,
//! `Idempotency-Key` replays, and the company, its primary admin and their claim written in
//! one transaction with the welcome email queued.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::audit::{self, Actor, Target};
use crate::auth::Principal;
use crate::body::{Body, Boolish, Unparsed};
use crate::claims::{ADMIN_EMAIL_OP, ProvisionResponse, admin_with_claim, claim_email};
use crate::company::{Address, Company, Plan, Role, User, company_item};
use crate::error::{Category, Error, Result};
use crate::keys::idempotency_key;
use crate::mail::send_queued;
use crate::secret::new_id;
use crate::services::Services;
use crate::store::{CONTENTION_ATTEMPTS, Item, Key, StoreError, WriteOp};
use crate::validate::{Obj, Text, Validator, join};
use crate::values;
use crate::webhooks::{Listening, partner_listening, partner_listening_check};

// ---------------------------------------------------------------------------------------
// Request

/// `POST /v1/provision`: the company, its primary payroll admin, and the welcome email.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProvisionBody {
    pub user: NewUser,
    pub company: NewCompany,
}

/// The company's primary payroll admin.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    #[schema(min_length = 1, max_length = 100)]
    pub first_name: String,
    #[schema(min_length = 1, max_length = 100)]
    pub last_name: String,
    /// Unique across the service without regard to case.
    #[schema(format = Email, min_length = 3, max_length = 254)]
    pub email: String,
    /// A 10-digit US number; spaces, `-`, `.`, `(`, `)` and a leading `+1` or `1` allowed.
    #[schema(min_length = 10, max_length = 320, pattern = r"^[0-9 ().+-]+$")]
    pub phone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCompany {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[schema(min_length = 1, max_length = 200)]
    pub trade_name: Option<String>,
    /// 9 digits; `12-3456789` accepted.
    #[schema(pattern = r"^([0-9]{9}|[0-9]{2}-[0-9]{7})$")]
    pub ein: Option<String>,
    #[schema(minimum = 0, maximum = 10_000_000)]
    pub number_employees: Option<u32>,
    /// US state codes (or `DC`), any case; repeats count once.
    #[schema(value_type = Option<Vec<String>>, required = false, max_items = 102, pattern = r"^[A-Za-z]{2}$")]
    pub states: Vec<String>,
    /// At most one primary.
    #[schema(value_type = Option<Vec<NewAddress>>, required = false, max_items = 100)]
    pub addresses: Vec<NewAddress>,
}

#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAddress {
    #[schema(min_length = 1, max_length = 200)]
    pub street_1: String,
    #[schema(min_length = 1, max_length = 200)]
    pub street_2: Option<String>,
    #[schema(min_length = 1, max_length = 100)]
    pub city: String,
    /// A US state code (or `DC`), any case.
    #[schema(pattern = r"^[A-Za-z]{2}$")]
    pub state: String,
    /// `80202` or `80202-1234`.
    #[schema(pattern = r"^[0-9]{5}(-[0-9]{4})?$")]
    pub zip: String,
    /// A 10-digit US number; spaces, `-`, `.`, `(`, `)` and a leading `+1` or `1` allowed.
    #[schema(min_length = 10, max_length = 320, pattern = r"^[0-9 ().+-]+$")]
    pub phone: String,
    #[schema(value_type = Option<Boolish>, required = false)]
    pub is_primary: bool,
}

impl From<NewAddress> for Address {
    fn from(a: NewAddress) -> Self {
        Address {
            street_1: a.street_1,
            street_2: a.street_2,
            city: a.city,
            state: a.state,
            zip: a.zip,
            phone: a.phone,
            is_primary: a.is_primary,
        }
    }
}

pub(crate) const MAX_ADDRESSES: usize = 100;
pub(crate) const MAX_EMPLOYEES: i64 = 10_000_000;

impl Body for ProvisionBody {
    fn parse(v: &mut Validator, root: &Obj<'_>, (): ()) -> Option<Self> {
        v.only(root, &["user", "company"]);
        let user = v
            .object(root, "user", true)
            .and_then(|o| NewUser::parse(v, &o, ()));
        let company = v
            .object(root, "company", true)
            .and_then(|o| NewCompany::parse(v, &o, ()));
        Some(ProvisionBody {
            user: user?,
            company: company?,
        })
    }
}

impl Body for NewUser {
    fn parse(v: &mut Validator, o: &Obj<'_>, (): ()) -> Option<Self> {
        v.only(o, &["first_name", "last_name", "email", "phone"]);
        let first_name = v.text(o, "first_name", true, Text::NAME);
        let last_name = v.text(o, "last_name", true, Text::NAME);
        let email = v.parsed(o, "email", true, values::email);
        let phone = v.parsed(o, "phone", false, values::phone);
        Some(NewUser {
            first_name: first_name?,
            last_name: last_name?,
            email: email?,
            phone,
        })
    }
}

impl Body for NewCompany {
    fn parse(v: &mut Validator, o: &Obj<'_>, (): ()) -> Option<Self> {
        v.only(
            o,
            &[
                "name",
                "trade_name",
                "ein",
                "number_employees",
                "states",
                "addresses",
            ],
        );
        let name = v.text(o, "name", true, Text::LONG_NAME);
        let trade_name = v.text(o, "trade_name", false, Text::LONG_NAME);
        let ein = v.parsed(o, "ein", false, values::ein);
        let number_employees = v
            .integer(o, "number_employees", false, 0, MAX_EMPLOYEES)
            .map(|n| u32::try_from(n).expect("bounded above"));

        let states_path = join(o.path(), "states");
        let mut states: Vec<String> = Vec::new();
        for (i, s) in v
            .array(o, "states", values::US_STATES.len() * 2)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let path = format!("{states_path}[{i}]");
            match s.as_str().map(values::state) {
                Some(Ok(code)) if !states.contains(&code) => states.push(code),
                Some(Ok(_)) => {} // a repeated state adds nothing
                Some(Err(why)) => v.error(&path, format!("`{path}` {why}")),
                None => v.error(&path, format!("`{path}` must be a string.")),
            }
        }

        let addresses_path = join(o.path(), "addresses");
        let mut addresses = Vec::new();
        for (i, a) in v
            .array(o, "addresses", MAX_ADDRESSES)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            if let Some(obj) = v.element(a, &addresses_path, i) {
                addresses.extend(NewAddress::parse(v, &obj, ()));
            }
        }
        if addresses.iter().filter(|a| a.is_primary).count() > 1 {
            v.error(
                &addresses_path,
                format!("Only one of `{addresses_path}` can be primary."),
            );
        }
        Some(NewCompany {
            name: name?,
            trade_name,
            ein,
            number_employees,
            states,
            addresses,
        })
    }
}

impl Body for NewAddress {
    fn parse(v: &mut Validator, o: &Obj<'_>, (): ()) -> Option<Self> {
        v.only(
            o,
            &[
                "street_1",
                "street_2",
                "city",
                "state",
                "zip",
                "phone",
                "is_primary",
            ],
        );
        let street_1 = v.text(o, "street_1", true, Text::LONG_NAME);
        let street_2 = v.text(o, "street_2", false, Text::LONG_NAME);
        let city = v.text(o, "city", true, Text::NAME);
        let state = v.parsed(o, "state", true, values::state);
        let zip = v.parsed(o, "zip", true, values::zip);
        let phone = v.parsed(o, "phone", true, values::phone);
        let is_primary = v.boolish(o, "is_primary").unwrap_or(false);
        Some(NewAddress {
            street_1: street_1?,
            street_2,
            city: city?,
            state: state?,
            zip: zip?,
            phone: phone?,
            is_primary,
        })
    }
}

// ---------------------------------------------------------------------------------------
// Records

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct IdempotencyRecord {
    request_hash: String,
    response: ProvisionResponse,
}

// ---------------------------------------------------------------------------------------
// Provision

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provisioned {
    Created(ProvisionResponse),
    /// The same `Idempotency-Key` and body were seen before: this is the first answer.
    Replayed(ProvisionResponse),
}

/// An `Idempotency-Key` bound to the partner that sent it and the body it came with.
pub(crate) struct Idempotency {
    key: Key,
    request_hash: String,
}

impl Idempotency {
    fn new(partner_id: &str, header: &str, body: &Map<String, Value>) -> Result<Self> {
        if header.is_empty() || header.len() > 255 || !header.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::invalid(
                "Idempotency-Key",
                "`Idempotency-Key` must be 1 to 255 visible ASCII characters.",
            ));
        }
        let mut canonical = String::new();
        write_canonical(&Value::Object(body.clone()), &mut canonical);
        Ok(Self {
            key: idempotency_key(partner_id, header),
            request_hash: hex::encode(Sha256::digest(canonical.as_bytes())),
        })
    }

    /// The first answer for this key, if any; refuses a key reused with another body.
    async fn previous(&self, svc: &Services) -> Result<Option<ProvisionResponse>> {
        let Some(item) = svc.store.get(&self.key).await? else {
            return Ok(None);
        };
        if item.expires_at.is_some_and(|t| t <= svc.clock.now().timestamp()) {
            // Expired but not yet removed by the TTL sweeper: forget it now, so the key
            // can be used afresh.
            match svc.store.delete(&self.key, Some(item.version)).await {
                Ok(()) | Err(StoreError::ConditionFailed) => return Ok(None),
                Err(e) => return Err(e.into()),
            }
        }
        let record: IdempotencyRecord = item.record()?;
        if record.request_hash != self.request_hash {
            return Err(Error::refused(
                "Idempotency-Key",
                Category::DuplicateOperation,
                "This `Idempotency-Key` was already used with a different request body.",
            ));
        }
        Ok(Some(record.response))
    }
}

/// JSON with object keys sorted, so equal bodies hash equally whatever their key order.
pub(crate) fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// An email already used by a user; `error_key` names the attribute in the request.
pub(crate) fn email_taken(error_key: &str) -> Error {
    Error::invalid(error_key, "A user with this email already exists.")
}

/// Creates the company, its primary payroll admin and the account claim in one
/// transaction, queues the welcome email with it, and answers with the claim URL.
pub async fn provision(
    svc: &Services,
    actor: &Actor,
    body: &Unparsed<ProvisionBody>,
    idempotency_key: Option<&str>,
) -> Result<Provisioned> {
    // Only a partner may learn what is wrong with a body.
    let Principal::Partner { partner_id } = &actor.principal else {
        return Err(Error::forbidden(
            "authorization",
            "Only a partner token can provision companies.",
        ));
    };
    let request = body.parse()?;
    let idempotency = idempotency_key
        .map(|k| Idempotency::new(partner_id, k, &body.object))
        .transpose()?;
    if let Some(idem) = &idempotency
        && let Some(previous) = idem.previous(svc).await?
    {
        return Ok(Provisioned::Replayed(previous));
    }
    // The email is taken. If a request with the same key took it meanwhile, answer as it
    // did; otherwise the email belongs to someone else.
    let taken = async || -> Result<Provisioned> {
        if let Some(idem) = &idempotency
            && let Some(previous) = idem.previous(svc).await?
        {
            return Ok(Provisioned::Replayed(previous));
        }
        Err(email_taken("user.email"))
    };
    // Not read first: the transaction's condition on the email lock answers "taken".
    let now = svc.clock.now();
    let company_id = new_id("com");
    let user_id = new_id("usr");
    let ProvisionBody {
        user: new_user,
        company: new_company,
    } = request;
    let company = Company {
        id: company_id.clone(),
        partner_id: partner_id.to_owned(),
        name: new_company.name,
        trade_name: new_company.trade_name,
        ein: new_company.ein,
        number_employees: new_company.number_employees,
        states: new_company.states,
        addresses: new_company.addresses.into_iter().map(Address::from).collect(),
        plan: Plan::default(),
        primary_admin_id: user_id.clone(),
        created_at: now,
    };
    let user = User {
        id: user_id.clone(),
        company_id: company_id.clone(),
        first_name: new_user.first_name,
        last_name: new_user.last_name,
        email: new_user.email,
        phone: new_user.phone,
        role: Role::PrimaryAdmin,
        permissions: Vec::new(),
        team_member_id: None,
        email_confirmed_at: None,
        created_at: now,
        tokens: Vec::new(),
    };
    let (mut ops, queued_mail, claim_url) = admin_with_claim(svc, &company, &user, |url, expires| {
        claim_email(&company.name, &user, url, expires)
    })?;
    let response = ProvisionResponse {
        account_claim_url: claim_url,
    };
    let company_op = ops.len();
    ops.push(WriteOp::Create(company_item(&company, &Listening::default())?));
    let idempotency_op = idempotency
        .as_ref()
        .map(|idem| -> Result<usize> {
            let record = IdempotencyRecord {
                request_hash: idem.request_hash.clone(),
                response: response.clone(),
            };
            let expiry = (now + svc.settings.idempotency_ttl).timestamp();
            ops.push(WriteOp::Create(
                Item::from_record(idem.key.clone(), &record)?.with_expiry(expiry),
            ));
            Ok(ops.len() - 1)
        })
        .transpose()?;
    // The company carries what its partner's webhook endpoints listen for. Believed to be
    // nothing (most partners: no read) and checked by the transaction; a partner whose
    // endpoints listen is read, and the company written with it.
    let listening_op = ops.len();
    ops.push(partner_listening_check(partner_id, None));

    let mut attempt = 0;
    loop {
        attempt += 1;
        match svc.store.transact(ops.clone()).await {
            Ok(()) => break,
            Err(StoreError::TransactionCancelled { failed }) => {
                if failed.contains(&ADMIN_EMAIL_OP) || idempotency_op.is_some_and(|i| failed.contains(&i)) {
                    return taken().await;
                }
                if failed == [listening_op] && attempt < CONTENTION_ATTEMPTS {
                    let (listening, version) = partner_listening(svc.store.as_ref(), partner_id).await?;
                    ops[company_op] = WriteOp::Create(company_item(&company, &listening)?);
                    ops[listening_op] = partner_listening_check(partner_id, version);
                    continue;
                }
                return Err(Error::Internal(format!(
                    "provision transaction cancelled at {failed:?}"
                )));
            }
            Err(StoreError::Contention(_)) if attempt < CONTENTION_ATTEMPTS => continue,
            Err(e) => return Err(e.into()),
        }
    }
    tracing::info!(company_id, user_id, "company provisioned");
    audit::succeeded(
        svc,
        actor,
        &company_id,
        "company.provisioned",
        Target::new("company", &company_id),
        Some(format!("primary admin {user_id}")),
    )
    .await;
    send_queued(svc.store.as_ref(), svc.mailer.as_ref(), &queued_mail).await;
    Ok(Provisioned::Created(response))
}

#[cfg(test)]
mod tests {
    use super::*;

    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn canonical_form_ignores_key_order() {
        let mut a = String::new();
        let mut b = String::new();
        write_canonical(&json!({"b": [1, {"y": 2, "x": "é"}], "a": null}), &mut a);
        write_canonical(&json!({"a": null, "b": [1, {"x": "é", "y": 2}]}), &mut b);
        assert_eq!(a, b);
        assert_eq!(a, r#"{"a":null,"b":[1,{"x":"é","y":2}]}"#);
    }

    #[test]
    fn parses_the_maximum_payload() {
        let body = obj(json!({
          "user": {"first_name": "Frank", "last_name": "Ocean", "email": "frank@example.com", "phone": "2345558899"},
          "company": {
            "name": "Frank's Ocean, LLC", "trade_name": "Frank’s Ocean", "ein": "123456789",
            "states": ["CO", "CA"], "number_employees": 8,
            "addresses": [
              {"street_1": "1201 16th Street Mall", "street_2": "Suite 350", "city": "Denver", "zip": "80202", "state": "CO", "phone": "2345678900", "is_primary": "true"},
              {"street_1": "525 20th Street", "city": "San Francisco", "zip": "94107", "state": "CA", "phone": "2345678901"}
            ]
          }
        }));
        let r = Unparsed::<ProvisionBody>::new(body).parse().unwrap();
        assert_eq!(r.company.states, ["CO", "CA"]);
        assert_eq!(r.company.number_employees, Some(8));
        assert!(r.company.addresses[0].is_primary);
        assert!(!r.company.addresses[1].is_primary);
        assert_eq!(r.company.addresses[0].street_2.as_deref(), Some("Suite 350"));
    }
}
