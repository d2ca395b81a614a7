//! The cost model (issue 27): AWS list prices applied to measured figures.
//!
//! Measured: each operation's AWS round trips with the sizes of the DynamoDB items they read
//! and wrote, and its vendor calls (`tests/e2e/round_trips.rs`, `cost-input` lines); the size
//! of every stored item by kind (a scan at the end of that run); each function's init and
//! first-invocation time (the cold-start benchmark's table); the functions' memory
//! (`template.yaml`). What cannot be measured here (a real Lambda's billed duration, which is
//! mostly waiting on AWS and on vendors) stands in as stated latencies per call, in `LATENCY`.

use std::collections::BTreeMap;

use serde_json::Value;

/// A list price: `usd` per `per` units of `unit`.
pub struct Price {
    pub what: &'static str,
    pub usd: f64,
    pub per: f64,
    pub unit: &'static str,
    /// When the price was read from its source.
    pub as_of: &'static str,
    pub source: &'static str,
}

impl Price {
    pub fn of(&self, units: f64) -> f64 {
        self.usd * units / self.per
    }
}

/// List prices in us-east-1, without free tiers (they would flatter a large deployment) and
/// without volume tiers (the first tier is the dearest), as published on the sources below.
pub mod price {
    use super::Price;

    const AS_OF: &str = "2025-07";

    pub const LAMBDA_GB_SECOND: Price = Price {
        what: "Lambda duration, arm64",
        usd: 0.000_013_333_4,
        per: 1.0,
        unit: "GB-second",
        as_of: AS_OF,
        source: "https://aws.amazon.com/lambda/pricing/",
    };
    pub const LAMBDA_REQUEST: Price = Price {
        what: "Lambda requests",
        usd: 0.20,
        per: 1e6,
        unit: "requests",
        as_of: AS_OF,
        source: "https://aws.amazon.com/lambda/pricing/",
    };
    pub const HTTP_API_REQUEST: Price = Price {
        what: "API Gateway HTTP API requests (first 300 million a month)",
        usd: 1.00,
        per: 1e6,
        unit: "requests",
        as_of: AS_OF,
        source: "https://aws.amazon.com/api-gateway/pricing/",
    };
    pub const DYNAMODB_WRITE: Price = Price {
        what: "DynamoDB on-demand writes (since the cut of 2024-11-01)",
        usd: 0.625,
        per: 1e6,
        unit: "write request units (1 KB; transactional: 2)",
        as_of: AS_OF,
        source: "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    };
    pub const DYNAMODB_READ: Price = Price {
        what: "DynamoDB on-demand reads (since the cut of 2024-11-01)",
        usd: 0.125,
        per: 1e6,
        unit: "read request units (4 KB strongly consistent; eventually: ½)",
        as_of: AS_OF,
        source: "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    };
    pub const DYNAMODB_STORAGE: Price = Price {
        what: "DynamoDB storage (Standard table class)",
        usd: 0.25,
        per: 1.0,
        unit: "GB-month",
        as_of: AS_OF,
        source: "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    };
    pub const DYNAMODB_PITR: Price = Price {
        what: "DynamoDB point-in-time recovery (both tables have it)",
        usd: 0.20,
        per: 1.0,
        unit: "GB-month",
        as_of: AS_OF,
        source: "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    };
    pub const SECRET: Price = Price {
        what: "Secrets Manager secrets",
        usd: 0.40,
        per: 1.0,
        unit: "secret-month",
        as_of: AS_OF,
        source: "https://aws.amazon.com/secrets-manager/pricing/",
    };
    pub const SECRETS_CALL: Price = Price {
        what: "Secrets Manager API calls",
        usd: 0.05,
        per: 1e4,
        unit: "calls",
        as_of: AS_OF,
        source: "https://aws.amazon.com/secrets-manager/pricing/",
    };
    pub const SCHEDULER_INVOCATION: Price = Price {
        what: "EventBridge Scheduler invocations (beyond 14 million a month free)",
        usd: 1.00,
        per: 1e6,
        unit: "invocations",
        as_of: AS_OF,
        source: "https://aws.amazon.com/eventbridge/pricing/",
    };
    pub const SES_EMAIL: Price = Price {
        what: "SES outbound email",
        usd: 0.10,
        per: 1e3,
        unit: "emails",
        as_of: AS_OF,
        source: "https://aws.amazon.com/ses/pricing/",
    };
    pub const SQS_REQUEST: Price = Price {
        what: "SQS standard requests (the jobs queue, the dead-letter queues)",
        usd: 0.40,
        per: 1e6,
        unit: "requests",
        as_of: AS_OF,
        source: "https://aws.amazon.com/sqs/pricing/",
    };
    pub const LOG_INGESTION: Price = Price {
        what: "CloudWatch Logs ingestion (standard)",
        usd: 0.50,
        per: 1.0,
        unit: "GB",
        as_of: AS_OF,
        source: "https://aws.amazon.com/cloudwatch/pricing/",
    };

    pub const ALL: [&Price; 13] = [
        &LAMBDA_GB_SECOND,
        &LAMBDA_REQUEST,
        &HTTP_API_REQUEST,
        &DYNAMODB_WRITE,
        &DYNAMODB_READ,
        &DYNAMODB_STORAGE,
        &DYNAMODB_PITR,
        &SECRET,
        &SECRETS_CALL,
        &SCHEDULER_INVOCATION,
        &SES_EMAIL,
        &SQS_REQUEST,
        &LOG_INGESTION,
    ];
}

/// Stand-ins for what is not measured here: the time a function waits on each call (billed
/// as duration), and what it logs.
pub struct Latency {
    pub dynamodb_ms: f64,
    pub secrets_manager_ms: f64,
    pub ses_ms: f64,
    pub scheduler_ms: f64,
    pub sqs_ms: f64,
    pub vendor_ms: f64,
    /// Lambda's START, END and REPORT lines in JSON and our request line.
    pub log_bytes_per_invocation: f64,
}

pub const LATENCY: Latency = Latency {
    dynamodb_ms: 10.0,
    secrets_manager_ms: 30.0,
    ses_ms: 50.0,
    scheduler_ms: 50.0,
    sqs_ms: 10.0,
    vendor_ms: 300.0,
    log_bytes_per_invocation: 1024.0,
};

/// One DynamoDB request's figures, or another service's call.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub service: String,
    pub operation: String,
    /// Sizes of the items read.
    pub read: Vec<u64>,
    pub consistent: bool,
    pub transactional: bool,
    pub written: Vec<Write>,
}

/// An item written (put), or the key of one deleted or checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Write {
    pub kind: String,
    pub bytes: u64,
    /// The whole item was sent (a put), not only its key.
    pub whole: bool,
    /// It carries the secondary index's keys: the index is written too.
    pub indexed: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    pub name: String,
    pub vendor_calls: u64,
    pub calls: Vec<Call>,
}

/// Stored items of one kind: how many, how many bytes in all.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Stored {
    pub items: u64,
    pub bytes: u64,
}

impl Stored {
    pub fn average(&self) -> f64 {
        self.bytes as f64 / self.items.max(1) as f64
    }
}

#[derive(Debug, Default)]
pub struct Measured {
    pub operations: Vec<Operation>,
    /// Table (`main`, `audit`) → kind → what is stored.
    pub stored: BTreeMap<String, BTreeMap<String, Stored>>,
}

fn field<'a>(v: &'a Value, name: &str) -> Result<&'a Value, String> {
    v.get(name)
        .ok_or_else(|| format!("a cost input has no `{name}`: {v}"))
}

fn number(v: &Value, name: &str) -> Result<u64, String> {
    field(v, name)?
        .as_u64()
        .ok_or_else(|| format!("`{name}` is not a count: {v}"))
}

fn text(v: &Value, name: &str) -> Result<String, String> {
    Ok(field(v, name)?
        .as_str()
        .ok_or_else(|| format!("`{name}` is not text: {v}"))?
        .to_owned())
}

/// Reads the `cost-input {json}` lines of the round-trip run; other lines are skipped.
pub fn parse_inputs(output: &str) -> Result<Measured, String> {
    let mut measured = Measured::default();
    for line in output.lines() {
        let Some(json) = line.strip_prefix("cost-input ") else {
            continue;
        };
        let v: Value = serde_json::from_str(json).map_err(|e| format!("{e}: {line}"))?;
        if let Some(table) = v.get("stored") {
            let table = table.as_str().ok_or("`stored` is not a table name")?.to_owned();
            let kinds = measured.stored.entry(table).or_default();
            for k in field(&v, "kinds")?.as_array().into_iter().flatten() {
                kinds.insert(
                    text(k, "kind")?,
                    Stored {
                        items: number(k, "items")?,
                        bytes: number(k, "bytes")?,
                    },
                );
            }
            continue;
        }
        let mut calls = Vec::new();
        for t in field(&v, "trips")?.as_array().into_iter().flatten() {
            let flag = |name: &str| t.get(name).and_then(Value::as_bool).unwrap_or(false);
            let read = t.get("read").and_then(Value::as_array).into_iter().flatten();
            let written = t.get("written").and_then(Value::as_array).into_iter().flatten();
            calls.push(Call {
                service: text(t, "service")?,
                operation: text(t, "operation")?,
                read: read.filter_map(|r| r.get(1).and_then(Value::as_u64)).collect(),
                consistent: flag("consistent"),
                transactional: flag("transactional"),
                written: written
                    .map(|w| {
                        let flag = |name: &str| w.get(name).and_then(Value::as_bool).unwrap_or(false);
                        Ok(Write {
                            kind: text(w, "kind")?,
                            bytes: number(w, "bytes")?,
                            whole: flag("whole"),
                            indexed: flag("indexed"),
                        })
                    })
                    .collect::<Result<_, String>>()?,
            });
        }
        measured.operations.push(Operation {
            name: text(&v, "operation")?,
            vendor_calls: number(&v, "vendor_calls")?,
            calls,
        });
    }
    if measured.operations.is_empty() {
        return Err("no `cost-input` lines: was the round-trip test run with --nocapture?".into());
    }
    Ok(measured)
}

/// DynamoDB's request units of one call
/// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html):
/// reads by 4 KB (a read that finds nothing still costs one; an index query, eventually
/// consistent, half), a query by the sum of what it returns; writes by 1 KB, twice in a
/// transaction, once more for the index an item with index keys is written to. A delete or
/// condition check sends only the key; it counts as one item of at most 1 KB (what the service
/// deletes is: intents, queued emails, OAuth states).
pub fn request_units(call: &Call) -> (f64, f64) {
    if call.service != "DynamoDB" {
        return (0.0, 0.0);
    }
    let reads = match call.operation.as_str() {
        "GetItem" | "Query" | "Scan" => {
            let units = call.read.iter().sum::<u64>().div_ceil(4096).max(1) as f64;
            if call.consistent { units } else { units / 2.0 }
        }
        _ => 0.0,
    };
    let factor = if call.transactional { 2.0 } else { 1.0 };
    let writes = call
        .written
        .iter()
        .map(|w| {
            let units = if w.whole {
                w.bytes.div_ceil(1024).max(1) as f64
            } else {
                1.0
            };
            units * factor + if w.indexed { units } else { 0.0 }
        })
        .sum();
    (reads, writes)
}

/// A function's measured start and first-invocation times (milliseconds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    pub init_ms: f64,
    pub first_invocation_ms: f64,
}

/// Reads the cold-start table (`| function | init (median) | × hello | first invocation
/// (median) | …`) from the benchmark's output.
pub fn parse_coldstart(table: &str) -> BTreeMap<String, Timing> {
    let ms = |cell: &str| {
        cell.trim()
            .strip_suffix(" ms")
            .and_then(|n| n.trim().parse::<f64>().ok())
    };
    table
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            // "", function, init, × hello, first invocation, …
            let (name, init, first) = (cells.get(1)?, ms(cells.get(2)?)?, ms(cells.get(4)?)?);
            Some((
                (*name).to_owned(),
                Timing {
                    init_ms: init,
                    first_invocation_ms: first,
                },
            ))
        })
        .collect()
}

/// The functions' memory (MB) from the template's `Globals`.
pub fn memory_mb(template: &str) -> Result<f64, String> {
    template
        .lines()
        .find_map(|l| l.trim().strip_prefix("MemorySize:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| "template.yaml sets no MemorySize".into())
}

/// A cost by service (US dollars).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Cost {
    pub lambda: f64,
    pub api: f64,
    pub dynamodb: f64,
    pub secrets: f64,
    pub scheduler: f64,
    pub ses: f64,
    pub sqs: f64,
    pub logs: f64,
}

impl Cost {
    pub fn total(&self) -> f64 {
        self.lambda
            + self.api
            + self.dynamodb
            + self.secrets
            + self.scheduler
            + self.ses
            + self.sqs
            + self.logs
    }

    pub fn plus(self, o: Cost) -> Cost {
        Cost {
            lambda: self.lambda + o.lambda,
            api: self.api + o.api,
            dynamodb: self.dynamodb + o.dynamodb,
            secrets: self.secrets + o.secrets,
            scheduler: self.scheduler + o.scheduler,
            ses: self.ses + o.ses,
            sqs: self.sqs + o.sqs,
            logs: self.logs + o.logs,
        }
    }

    pub fn times(self, k: f64) -> Cost {
        Cost {
            lambda: self.lambda * k,
            api: self.api * k,
            dynamodb: self.dynamodb * k,
            secrets: self.secrets * k,
            scheduler: self.scheduler * k,
            ses: self.ses * k,
            sqs: self.sqs * k,
            logs: self.logs * k,
        }
    }
}

/// Which function serves a measured operation, and whether it comes through the HTTP API
/// (else a schedule invokes it). Every measured operation must be named here.
pub fn function_of(operation: &str) -> Result<(&'static str, bool), String> {
    const ROUTES: [(&str, &str, bool); 10] = [
        ("provision a company", "provision", true),
        ("claim the company", "provision", true),
        ("set the plan", "provision", true),
        ("connect ", "connect", true),
        ("start an OAuth connection", "connect", true),
        ("open the OAuth start link", "connect", true),
        ("finish an OAuth connection", "connect", true),
        ("the s", "dismissal-cleanup", false),
        ("the reconciliation tick", "dismissal-cleanup", false),
        // Syncs run in the worker (a jobs-queue message), started by the request or the
        // reconciliation's tick.
        ("reconcile an app", "dismissal-cleanup", false),
    ];
    const ACCOUNTS: [&str; 6] = [
        "add a team member",
        "create an",
        "create another",
        "list a person's apps",
        "dismiss a person",
        "start a sync",
    ];
    if let Some((_, function, api)) = ROUTES.iter().find(|(prefix, ..)| operation.starts_with(prefix)) {
        return Ok((function, *api));
    }
    if ACCOUNTS.iter().any(|prefix| operation.starts_with(prefix)) {
        return Ok(("accounts", true));
    }
    Err(format!(
        "the cost model does not know which function serves `{operation}`"
    ))
}

/// One operation's figures and cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Priced {
    pub name: String,
    pub function: &'static str,
    pub round_trips: usize,
    pub vendor_calls: u64,
    pub read_units: f64,
    pub write_units: f64,
    pub billed_ms: f64,
    pub cost: Cost,
}

/// Prices one invocation: its calls' units and the time it waits on them, measured CPU and
/// start time (every invocation counted as a cold start: an upper bound), memory as configured.
pub fn price_operation(
    op: &Operation,
    timings: &BTreeMap<String, Timing>,
    memory_mb: f64,
) -> Result<Priced, String> {
    let (function, via_api) = function_of(&op.name)?;
    let timing = timings
        .get(function)
        .ok_or_else(|| format!("no cold-start figures for the {function} function"))?;
    let (mut reads, mut writes, mut waited) = (0.0, 0.0, op.vendor_calls as f64 * LATENCY.vendor_ms);
    let (mut secrets_calls, mut emails, mut schedules, mut queue_requests) = (0.0, 0.0, 0.0, 0.0);
    for call in &op.calls {
        let (r, w) = request_units(call);
        reads += r;
        writes += w;
        waited += match call.service.as_str() {
            "DynamoDB" => LATENCY.dynamodb_ms,
            "Secrets Manager" => {
                secrets_calls += 1.0;
                LATENCY.secrets_manager_ms
            }
            "SESv2" => {
                emails += 1.0;
                LATENCY.ses_ms
            }
            "Scheduler" => {
                // A one-time schedule fires once: its invocation is this operation's.
                if call.operation == "CreateSchedule" {
                    schedules += 1.0;
                }
                LATENCY.scheduler_ms
            }
            // The jobs queue: the sends of a use case, the receives and deletes of the worker's
            // event source mapping (billed to the account like any request).
            "SQS" => {
                queue_requests += 1.0;
                LATENCY.sqs_ms
            }
            other => return Err(format!("no latency stated for {other}")),
        };
    }
    let billed_ms = (timing.init_ms + timing.first_invocation_ms + waited).ceil();
    let gb_seconds = memory_mb / 1024.0 * billed_ms / 1000.0;
    let cost = Cost {
        lambda: price::LAMBDA_GB_SECOND.of(gb_seconds) + price::LAMBDA_REQUEST.of(1.0),
        api: if via_api {
            price::HTTP_API_REQUEST.of(1.0)
        } else {
            0.0
        },
        dynamodb: price::DYNAMODB_READ.of(reads) + price::DYNAMODB_WRITE.of(writes),
        secrets: price::SECRETS_CALL.of(secrets_calls),
        scheduler: price::SCHEDULER_INVOCATION.of(schedules),
        ses: price::SES_EMAIL.of(emails),
        sqs: price::SQS_REQUEST.of(queue_requests),
        logs: price::LOG_INGESTION.of(LATENCY.log_bytes_per_invocation / 1e9),
    };
    Ok(Priced {
        name: op.name.clone(),
        function,
        round_trips: op.calls.len(),
        vendor_calls: op.vendor_calls,
        read_units: reads,
        write_units: writes,
        billed_ms,
        cost,
    })
}

/// How many items of `kind` an operation writes (`AUDIT`: its audit events).
pub fn writes_of(op: &Operation, kind: &str) -> u64 {
    op.calls
        .iter()
        .flat_map(|c| &c.written)
        .filter(|w| w.whole && w.kind == kind)
        .count() as u64
}

/// An operation's write units by the kind of item written: (writes, units).
pub fn write_units_by_kind(op: &Operation) -> BTreeMap<String, (u64, f64)> {
    let mut kinds: BTreeMap<String, (u64, f64)> = BTreeMap::new();
    for call in &op.calls {
        for write in &call.written {
            let alone = Call {
                read: Vec::new(),
                written: vec![write.clone()],
                ..call.clone()
            };
            let entry = kinds.entry(write.kind.clone()).or_default();
            entry.0 += 1;
            entry.1 += request_units(&alone).1;
        }
    }
    kinds
}

/// What a company does, for the monthly model.
pub struct Company {
    pub people: f64,
    pub apps: f64,
    pub hires: f64,
    pub dismissals: f64,
    /// Former team members whose records stay (a year of dismissals).
    pub former_people: f64,
}

/// The issue's typical company: 50 people, 8 connected apps, 2 hires and 2 dismissals a
/// month, each app reconciled hourly.
pub const TYPICAL: Company = Company {
    people: 50.0,
    apps: 8.0,
    hires: 2.0,
    dismissals: 2.0,
    former_people: 24.0,
};

/// Hours in a month, as AWS bills them.
pub const HOURS_A_MONTH: f64 = 730.0;
/// The deployment's sweep runs every 15 minutes.
pub const SWEEPS_A_MONTH: f64 = HOURS_A_MONTH * 4.0;
/// The reconciliation's tick runs every 5 minutes (`template.yaml`, `Reconcile`).
pub const TICKS_A_MONTH: f64 = HOURS_A_MONTH * 12.0;
/// The jobs queue's event source mapping polls with this many pollers while the queue is
/// idle: its maximum concurrency (`template.yaml`), which also keeps Lambda from scaling
/// back to two (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html).
pub const JOB_POLLERS: f64 = 5.0;
/// Receives an idle poller sends a minute: each long poll of an empty queue waits up to 20
/// seconds (SQS's longest). Stated, not measured.
pub const RECEIVES_A_POLLER_MINUTE: f64 = 3.0;
/// A query answers at most this many items a page (the store's page size).
pub const QUERY_PAGE_ITEMS: f64 = 1000.0;
/// Audit events are kept 400 days (their TTL), in months.
pub const AUDIT_MONTHS: f64 = 400.0 * 12.0 / 365.0;
/// Storage counts 100 bytes of overhead per item.
pub const ITEM_OVERHEAD: f64 = 100.0;
/// The secrets of a deployment whatever its size: the credentials' keyring and our OAuth
/// registrations.
pub const DEPLOYMENT_SECRETS: f64 = 2.0;

/// A company's items in the main table at steady state, by kind.
pub fn company_items(c: &Company) -> Vec<(&'static str, f64)> {
    let people = c.people + c.former_people;
    vec![
        ("COMPANY", 1.0),
        ("USER", 1.0),
        ("TOKEN", 1.0),
        ("EMAIL", 1.0),
        ("CONNECTION", c.apps),
        ("CREDENTIALS", c.apps),
        ("BREAKER", c.apps),
        // The app's sync job, which is also the record of its last sync.
        ("SYNCJOB", c.apps),
        ("TM", people),
        ("TMEMAIL", people),
        ("DISMISSAL", c.former_people),
        // A dismissal's steps each in an item of their own once claimed: one per app.
        ("DISMISSALSTEP", c.former_people * c.apps),
        ("ACCT", people * c.apps),
        ("TMACCT", people * c.apps),
    ]
}

/// A month of storage and point-in-time recovery for `bytes` at rest.
pub fn at_rest(bytes: f64) -> f64 {
    let gb = bytes / f64::from(1u32 << 30);
    price::DYNAMODB_STORAGE.of(gb) + price::DYNAMODB_PITR.of(gb)
}

/// The cost at `n` of something measured at `n_a` and `n_b`, along the line through both
/// (a dismissal's cost grows by the same amount per account).
pub fn along(a: Cost, n_a: f64, b: Cost, n_b: f64, n: f64) -> Cost {
    let t = (n - n_a) / (n_b - n_a);
    a.times(1.0 - t).plus(b.times(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(
        operation: &str,
        read: &[u64],
        consistent: bool,
        transactional: bool,
        written: &[(u64, bool, bool)],
    ) -> Call {
        Call {
            service: "DynamoDB".into(),
            operation: operation.into(),
            read: read.to_vec(),
            consistent,
            transactional,
            written: written
                .iter()
                .map(|&(bytes, whole, indexed)| Write {
                    kind: "TM".into(),
                    bytes,
                    whole,
                    indexed,
                })
                .collect(),
        }
    }

    #[test]
    fn request_units_follow_dynamodbs_rules() {
        // A read that finds nothing still costs one unit; 4 KB per unit; an index query half.
        assert_eq!(request_units(&call("GetItem", &[], true, false, &[])), (1.0, 0.0));
        assert_eq!(
            request_units(&call("GetItem", &[4097], true, false, &[])),
            (2.0, 0.0)
        );
        assert_eq!(
            request_units(&call("Query", &[3000, 3000], true, false, &[])),
            (2.0, 0.0)
        );
        assert_eq!(
            request_units(&call("Query", &[100], false, false, &[])),
            (0.5, 0.0)
        );
        // Writes by 1 KB; the index written too; a transaction doubles; a key-only delete is one.
        assert_eq!(
            request_units(&call("PutItem", &[], false, false, &[(1025, true, false)])),
            (0.0, 2.0)
        );
        assert_eq!(
            request_units(&call("PutItem", &[], false, false, &[(300, true, true)])),
            (0.0, 2.0)
        );
        let transaction = call(
            "TransactWriteItems",
            &[],
            false,
            true,
            &[(900, true, false), (40, false, false), (2000, true, true)],
        );
        assert_eq!(request_units(&transaction), (0.0, 2.0 + 2.0 + 4.0 + 2.0));
        let op = Operation {
            name: "x".into(),
            vendor_calls: 0,
            calls: vec![
                transaction,
                call("PutItem", &[], false, false, &[(100, true, false)]),
            ],
        };
        assert_eq!(write_units_by_kind(&op)["TM"], (4, 11.0));
        let other = Call {
            service: "SESv2".into(),
            ..call("SendEmail", &[], false, false, &[])
        };
        assert_eq!(request_units(&other), (0.0, 0.0));
    }

    #[test]
    fn reads_the_inputs_the_round_trip_run_prints() {
        let output = r#"running 1 test
| operation | AWS round trips | which |
cost-input {"operation":"create an account","vendor_calls":2,"trips":[{"service":"DynamoDB","operation":"GetItem","read":[["TOKEN",249]],"consistent":true,"transactional":false,"written":[]},{"service":"DynamoDB","operation":"PutItem","read":[],"written":[{"kind":"AUDIT","bytes":440,"whole":true,"indexed":false}]},{"service":"SESv2","operation":"SendEmail"}]}
cost-input {"stored":"main","kinds":[{"kind":"TM","items":2,"bytes":800}]}
"#;
        let measured = parse_inputs(output).unwrap();
        assert_eq!(measured.operations.len(), 1);
        let op = &measured.operations[0];
        assert_eq!(
            (op.name.as_str(), op.vendor_calls, op.calls.len()),
            ("create an account", 2, 3)
        );
        assert_eq!(op.calls[0].read, [249]);
        assert_eq!((writes_of(op, "AUDIT"), writes_of(op, "TM")), (1, 0));
        assert_eq!(measured.stored["main"]["TM"].average(), 400.0);
        assert!(parse_inputs("no inputs here").is_err());
        assert!(parse_inputs("cost-input {\"operation\": 1}").is_err());
    }

    #[test]
    fn prices_an_invocation_from_its_calls_and_the_functions_timing() {
        let timings = parse_coldstart(
            "| function | init (median) | × hello | first invocation (median) | peak RSS |\n\
             |---|---|---|---|---|\n\
             | accounts | 3.3 ms | 1.37 | 0.5 ms | 7.4 MiB |\n",
        );
        assert_eq!(
            timings["accounts"],
            Timing {
                init_ms: 3.3,
                first_invocation_ms: 0.5
            }
        );
        let op = Operation {
            name: "create an account".into(),
            vendor_calls: 1,
            calls: vec![
                call("GetItem", &[200], true, false, &[]),
                call("PutItem", &[], false, false, &[(200, true, false)]),
            ],
        };
        let priced = price_operation(&op, &timings, 256.0).unwrap();
        // 3.3 + 0.5 + one vendor call + two DynamoDB calls, rounded up to the millisecond.
        assert_eq!(
            priced.billed_ms,
            (3.8 + LATENCY.vendor_ms + 2.0 * LATENCY.dynamodb_ms).ceil()
        );
        assert_eq!((priced.read_units, priced.write_units), (1.0, 1.0));
        let gb_s = 0.25 * priced.billed_ms / 1000.0;
        assert!((priced.cost.lambda - (gb_s * 0.000_013_333_4 + 0.20 / 1e6)).abs() < 1e-15);
        assert!((priced.cost.dynamodb - (0.125 + 0.625) / 1e6).abs() < 1e-15);
        assert_eq!(priced.cost.api, 1.0 / 1e6);
        // A jobs-queue send is an SQS request, waited on like any call.
        let sqs = |operation: &str| Call {
            service: "SQS".into(),
            ..call(operation, &[], false, false, &[])
        };
        let queued = Operation {
            calls: vec![sqs("SendMessage"), sqs("ReceiveMessage"), sqs("DeleteMessage")],
            ..op.clone()
        };
        let queued = price_operation(&queued, &timings, 256.0).unwrap();
        assert!((queued.cost.sqs - 3.0 * 0.40 / 1e6).abs() < 1e-15);
        assert_eq!(
            queued.billed_ms,
            (3.8 + LATENCY.vendor_ms + 3.0 * LATENCY.sqs_ms).ceil()
        );
        let unknown = Operation {
            name: "something new".into(),
            ..op
        };
        assert!(price_operation(&unknown, &timings, 256.0).is_err());
        assert_eq!(
            memory_mb("Globals:\n  Function:\n    MemorySize: 256\n"),
            Ok(256.0)
        );
    }

    #[test]
    fn a_line_through_two_measurements_gives_the_cost_between_and_beyond() {
        let at = |x: f64| Cost {
            dynamodb: x,
            lambda: 2.0 * x,
            ..Cost::default()
        };
        assert_eq!(along(at(5.0), 5.0, at(10.0), 10.0, 8.0), at(8.0));
        assert_eq!(along(at(5.0), 5.0, at(10.0), 10.0, 10.0), at(10.0));
        // A gigabyte at rest a month: storage and point-in-time recovery.
        assert!((at_rest(f64::from(1u32 << 30)) - 0.45).abs() < 1e-12);
    }
}
