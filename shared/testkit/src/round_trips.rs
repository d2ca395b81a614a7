//! Counting what the service sends to AWS: an SDK interceptor that records each request (every
//! attempt, retries included) and, for DynamoDB, the sizes of the items it read and wrote as
//! DynamoDB sizes them, from which its capacity units follow (`infra/bench`'s cost model).

use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    AfterDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use serde_json::{Map, Value, json};

/// One request sent to AWS.
#[derive(Debug, Clone, PartialEq)]
pub struct Trip {
    pub service: String,
    pub operation: String,
    /// What a DynamoDB request read and wrote.
    pub dynamodb: Option<DynamoUsage>,
}

/// The items a DynamoDB request read and wrote, each with its kind (the first part of its
/// sort key, or of its partition key when the sort key is a time) and its size in bytes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DynamoUsage {
    /// Items returned (a `GetItem` that found nothing returns none).
    pub read: Vec<(String, u64)>,
    /// Whether the read was strongly consistent (table reads) or eventually (index queries).
    pub consistent: bool,
    /// Items put, and the keys of items deleted or checked (their size is not sent).
    pub written: Vec<Written>,
    /// A `TransactWriteItems`.
    pub transactional: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    pub kind: String,
    pub bytes: u64,
    /// Put: the whole item; delete or condition check: only its key was sent.
    pub whole: bool,
    /// The item carries the secondary index's keys (the index is written too).
    pub indexed: bool,
}

impl Trip {
    /// The trip as JSON, for the cost model.
    pub fn to_json(&self) -> Value {
        let mut trip = json!({"service": self.service, "operation": self.operation});
        if let Some(usage) = &self.dynamodb {
            trip["read"] = usage
                .read
                .iter()
                .map(|(kind, bytes)| json!([kind, bytes]))
                .collect();
            trip["consistent"] = json!(usage.consistent);
            trip["transactional"] = json!(usage.transactional);
            trip["written"] = usage
                .written
                .iter()
                .map(|w| json!({"kind": w.kind, "bytes": w.bytes, "whole": w.whole, "indexed": w.indexed}))
                .collect();
        }
        trip
    }
}

/// An SDK interceptor that records each request sent to AWS as a `Trip`.
#[derive(Debug, Clone, Default)]
pub struct RoundTrips(Arc<Mutex<Vec<Trip>>>);

impl RoundTrips {
    /// The round trips since the last call, in order.
    pub fn take(&self) -> Vec<Trip> {
        std::mem::take(&mut *self.0.lock().expect("round trips lock"))
    }

    /// Takes back the last round trip recorded (one that belongs to nothing measured).
    pub fn pop(&self) -> Option<Trip> {
        self.0.lock().expect("round trips lock").pop()
    }
}

/// Which trip an attempt's answer belongs to (requests run concurrently).
#[derive(Debug, Clone, Copy)]
struct TripIndex(usize);

impl Storable for TripIndex {
    type Storer = StoreReplace<Self>;
}

fn json_body(bytes: Option<&[u8]>) -> Option<Value> {
    bytes.and_then(|b| serde_json::from_slice(b).ok())
}

impl Intercept for RoundTrips {
    fn name(&self) -> &'static str {
        "RoundTrips"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let (service, operation) = cfg
            .load::<Metadata>()
            .map(|m| (m.service().to_owned(), m.name().to_owned()))
            .unwrap_or_else(|| ("unknown".into(), "unknown".into()));
        let dynamodb = (service == "DynamoDB").then(|| {
            let request = json_body(context.request().body().bytes()).unwrap_or(Value::Null);
            request_usage(&operation, &request)
        });
        let mut trips = self.0.lock().expect("round trips lock");
        cfg.interceptor_state().store_put(TripIndex(trips.len()));
        trips.push(Trip {
            service,
            operation,
            dynamodb,
        });
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(TripIndex(index)) = cfg.load::<TripIndex>().copied() else {
            return Ok(());
        };
        let Some(response) = json_body(context.response().body().bytes()) else {
            return Ok(());
        };
        let mut trips = self.0.lock().expect("round trips lock");
        // A `take` in between (the caller's next measurement) leaves nothing to add to.
        if let Some(Trip {
            dynamodb: Some(usage),
            ..
        }) = trips.get_mut(index)
        {
            let items: Vec<&Map<String, Value>> = match response.get("Items") {
                Some(Value::Array(items)) => items.iter().filter_map(Value::as_object).collect(),
                _ => response
                    .get("Item")
                    .and_then(Value::as_object)
                    .into_iter()
                    .collect(),
            };
            usage
                .read
                .extend(items.into_iter().map(|item| (kind(item), item_size(item))));
        }
        Ok(())
    }
}

/// What a DynamoDB request writes, and how it reads.
fn request_usage(operation: &str, request: &Value) -> DynamoUsage {
    let written = |op: &str, body: &Value| -> Option<Written> {
        let (item, whole) = match op {
            "Put" | "PutItem" => (body.get("Item")?.as_object()?, true),
            _ => (body.get("Key")?.as_object()?, false),
        };
        Some(Written {
            kind: kind(item),
            bytes: item_size(item),
            whole,
            indexed: item.contains_key("gsi1pk"),
        })
    };
    let mut usage = DynamoUsage {
        consistent: request.get("ConsistentRead") == Some(&Value::Bool(true)),
        ..DynamoUsage::default()
    };
    match operation {
        "PutItem" | "DeleteItem" | "UpdateItem" => usage.written.extend(written(operation, request)),
        "TransactWriteItems" => {
            usage.transactional = true;
            for action in request["TransactItems"].as_array().into_iter().flatten() {
                if let Some((op, body)) = action.as_object().and_then(|a| a.iter().next()) {
                    usage.written.extend(written(op, body));
                }
            }
        }
        _ => {}
    }
    usage
}

/// An item's kind: the first part of its sort key, or of its partition key when the sort key
/// starts with a digit (a time: audit events, queued emails).
fn kind(item: &Map<String, Value>) -> String {
    let key = |name: &str| item.get(name).and_then(|v| v["S"].as_str()).unwrap_or_default();
    let sk = key("sk");
    let part = if sk.starts_with(|c: char| c.is_ascii_digit()) {
        key("pk")
    } else {
        sk
    };
    part.split('#').next().unwrap_or_default().to_owned()
}

/// An item's size as DynamoDB counts it: each attribute's name plus its value
/// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html).
pub fn item_size(item: &Map<String, Value>) -> u64 {
    item.iter()
        .map(|(name, value)| name.len() as u64 + value_size(value))
        .sum()
}

fn value_size(value: &Value) -> u64 {
    let Some((kind, inner)) = value.as_object().and_then(|v| v.iter().next()) else {
        return 0;
    };
    match (kind.as_str(), inner) {
        ("S", Value::String(s)) => s.len() as u64,
        ("N", Value::String(n)) => number_size(n),
        // Base64 on the wire: three bytes per four characters.
        ("B", Value::String(b)) => (b.trim_end_matches('=').len() as u64 * 3) / 4,
        ("BOOL" | "NULL", _) => 1,
        // Lists and maps: 3 bytes of overhead, then their contents.
        ("M", Value::Object(map)) => 3 + item_size(map),
        ("L", Value::Array(list)) => 3 + list.iter().map(value_size).sum::<u64>(),
        ("SS", Value::Array(set)) => set.iter().filter_map(Value::as_str).map(|s| s.len() as u64).sum(),
        ("NS", Value::Array(set)) => set.iter().filter_map(Value::as_str).map(number_size).sum(),
        _ => 0,
    }
}

/// A number: one byte per two significant digits, plus one.
fn number_size(n: &str) -> u64 {
    let digits: String = n.chars().filter(char::is_ascii_digit).collect();
    let significant = digits.trim_start_matches('0').trim_end_matches('0').len().max(1) as u64;
    significant.div_ceil(2) + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_items_as_dynamodb_does() {
        let item = json!({
            "pk": {"S": "COMPANY#c1"},            // 2 + 10
            "sk": {"S": "TM#t1"},                 // 2 + 5
            "v": {"N": "12"},                     // 1 + 2
            "ok": {"BOOL": true},                 // 2 + 1
            "data": {"M": {"a": {"S": "xy"}, "l": {"L": [{"N": "100"}, {"NULL": true}]}}}
            // 4 + 3 + (1 + 2) + (1 + 3 + 2 + 1)
        });
        let item = item.as_object().unwrap();
        assert_eq!(item_size(item), 12 + 7 + 3 + 3 + 17);
        assert_eq!(kind(item), "TM");
        let audit = json!({"pk": {"S": "AUDIT#c1"}, "sk": {"S": "2026-03-01T12:00:00Z#e1"}});
        assert_eq!(kind(audit.as_object().unwrap()), "AUDIT");
        assert_eq!(number_size("0.0012300"), 3);
    }

    #[test]
    fn reads_what_a_request_writes() {
        let transaction = json!({"TransactItems": [
            {"Put": {"Item": {"pk": {"S": "COMPANY#c"}, "sk": {"S": "COMPANY"}, "gsi1pk": {"S": "P"}}}},
            {"ConditionCheck": {"Key": {"pk": {"S": "EMAIL#e"}, "sk": {"S": "EMAIL"}}}},
            {"Delete": {"Key": {"pk": {"S": "COMPANY#c"}, "sk": {"S": "INTENT#a#t"}}}}
        ]});
        let usage = request_usage("TransactWriteItems", &transaction);
        assert!(usage.transactional);
        let seen: Vec<_> = usage
            .written
            .iter()
            .map(|w| (w.kind.as_str(), w.whole, w.indexed))
            .collect();
        assert_eq!(
            seen,
            [
                ("COMPANY", true, true),
                ("EMAIL", false, false),
                ("INTENT", false, false)
            ]
        );
        let get = request_usage("GetItem", &json!({"ConsistentRead": true, "Key": {}}));
        assert!(get.consistent && get.written.is_empty());
    }
}
