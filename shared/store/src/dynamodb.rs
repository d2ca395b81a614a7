//! The DynamoDB `ItemStore`. `AttributeValue` and SDK errors never leave this module.
//!
//! Table layout: `pk` (S, hash), `sk` (S, range), `v` (N, version), `gsi1pk`/`gsi1sk`
//! (S, the one global secondary index `gsi1`), `ttl` (N, the TTL attribute) and `data`
//! (M, the record).

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConditionCheck, Delete, GlobalSecondaryIndex,
    KeySchemaElement, KeyType, Projection, ProjectionType, Put, ScalarAttributeType, TimeToLiveSpecification,
    TransactWriteItem,
};
use prov_core::store::{
    Cursor, CursorKeys, Expect, IndexKey, Item, ItemStore, Key, Page, PageRequest, StoreError, WriteOp,
    validate_key, validate_transaction,
};
use serde_json::{Map, Value};

pub const INDEX_NAME: &str = "gsi1";
const NOT_EXISTS: &str = "attribute_not_exists(pk)";
const EXISTS: &str = "attribute_exists(pk)";
const VERSION_IS: &str = "v = :v";

type Attrs = HashMap<String, AttributeValue>;

#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn key_attrs(key: &Key) -> Attrs {
    HashMap::from([("pk".into(), s(&key.pk)), ("sk".into(), s(&key.sk))])
}

fn to_attrs(item: &Item, version: u64) -> Result<Attrs, StoreError> {
    let mut attrs = key_attrs(&item.key);
    attrs.insert("v".into(), n(version));
    if let Some(ix) = &item.index {
        attrs.insert("gsi1pk".into(), s(&ix.pk));
        attrs.insert("gsi1sk".into(), s(&ix.sk));
    }
    if let Some(ttl) = item.expires_at {
        attrs.insert("ttl".into(), n(ttl));
    }
    let data: AttributeValue = serde_dynamo::to_attribute_value(&item.data)
        .map_err(|e| StoreError::Invalid(format!("record does not convert: {e}")))?;
    attrs.insert("data".into(), data);
    Ok(attrs)
}

fn from_attrs(mut attrs: Attrs) -> Result<Item, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("item attribute `{what}` missing or malformed"));
    let mut string = |name: &str| match attrs.remove(name) {
        Some(AttributeValue::S(v)) => Ok(Some(v)),
        None => Ok(None),
        Some(_) => Err(corrupt(name)),
    };
    let pk = string("pk")?.ok_or_else(|| corrupt("pk"))?;
    let sk = string("sk")?.ok_or_else(|| corrupt("sk"))?;
    let index = match (string("gsi1pk")?, string("gsi1sk")?) {
        (Some(pk), Some(sk)) => Some(IndexKey { pk, sk }),
        _ => None,
    };
    let number = |v: Option<AttributeValue>, name: &str| match v {
        Some(AttributeValue::N(x)) => x.parse::<i64>().map(Some).map_err(|_| corrupt(name)),
        None => Ok(None),
        Some(_) => Err(corrupt(name)),
    };
    let version = number(attrs.remove("v"), "v")?.ok_or_else(|| corrupt("v"))?;
    let expires_at = number(attrs.remove("ttl"), "ttl")?;
    let data: Map<String, Value> = match attrs.remove("data") {
        Some(v) => serde_dynamo::from_attribute_value(v).map_err(|_| corrupt("data"))?,
        None => return Err(corrupt("data")),
    };
    Ok(Item {
        key: Key { pk, sk },
        version: u64::try_from(version).map_err(|_| corrupt("v"))?,
        index,
        expires_at,
        data,
    })
}

/// Maps an SDK error by its error code, the same for every operation.
fn map_error<E: ProvideErrorMetadata + std::error::Error + 'static, R: std::fmt::Debug>(
    err: SdkError<E, R>,
) -> StoreError {
    match err.code() {
        Some("ConditionalCheckFailedException") => StoreError::ConditionFailed,
        Some(
            "ProvisionedThroughputExceededException"
            | "ThrottlingException"
            | "RequestLimitExceeded"
            | "TransactionConflictException"
            | "TransactionInProgressException",
        ) => StoreError::Contention(err.code().unwrap_or_default().to_owned()),
        Some("ValidationException") => {
            StoreError::Invalid(err.message().unwrap_or("validation failed").to_owned())
        }
        _ => StoreError::Unavailable(aws_sdk_dynamodb::error::DisplayErrorContext(&err).to_string()),
    }
}

fn transaction_error(err: SdkError<TransactWriteItemsError, impl std::fmt::Debug>) -> StoreError {
    if let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) = err.as_service_error() {
        let reasons = cancelled.cancellation_reasons();
        let failed: Vec<usize> = reasons
            .iter()
            .enumerate()
            .filter(|(_, r)| r.code() == Some("ConditionalCheckFailed"))
            .map(|(i, _)| i)
            .collect();
        if !failed.is_empty() {
            return StoreError::TransactionCancelled { failed };
        }
        // No condition failed: another transaction or throughput got in the way.
        return StoreError::Contention(format!(
            "transaction cancelled: {:?}",
            reasons
                .iter()
                .map(|r| r.code().unwrap_or("None"))
                .collect::<Vec<_>>()
        ));
    }
    map_error(err)
}

fn built<T>(r: Result<T, aws_sdk_dynamodb::error::BuildError>) -> Result<T, StoreError> {
    r.map_err(|e| StoreError::Invalid(e.to_string()))
}

fn version_values(v: u64) -> HashMap<String, AttributeValue> {
    HashMap::from([(":v".to_owned(), n(v))])
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Creates the table as the SAM template declares it (for local servers and tests; in
    /// AWS the template owns the table).
    pub async fn create_table(client: &Client, table: &str) -> Result<(), StoreError> {
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("complete attribute definition")
        };
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .expect("complete key schema")
        };
        client
            .create_table()
            .table_name(table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr("pk"))
            .attribute_definitions(attr("sk"))
            .attribute_definitions(attr("gsi1pk"))
            .attribute_definitions(attr("gsi1sk"))
            .key_schema(key("pk", KeyType::Hash))
            .key_schema(key("sk", KeyType::Range))
            .global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(INDEX_NAME)
                    .key_schema(key("gsi1pk", KeyType::Hash))
                    .key_schema(key("gsi1sk", KeyType::Range))
                    .projection(Projection::builder().projection_type(ProjectionType::All).build())
                    .build()
                    .expect("complete index"),
            )
            .send()
            .await
            .map_err(map_error)?;
        client
            .update_time_to_live()
            .table_name(table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name("ttl")
                    .enabled(true)
                    .build()
                    .expect("complete TTL specification"),
            )
            .send()
            .await
            .map_err(map_error)?;
        Ok(())
    }

    fn transact_item(&self, op: WriteOp) -> Result<TransactWriteItem, StoreError> {
        let item = match op {
            WriteOp::Create(item) => TransactWriteItem::builder().put(built(
                Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(to_attrs(&item, 1)?))
                    .condition_expression(NOT_EXISTS)
                    .build(),
            )?),
            WriteOp::Replace {
                item,
                expected_version,
            } => TransactWriteItem::builder().put(built(
                Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(to_attrs(&item, expected_version + 1)?))
                    .condition_expression(VERSION_IS)
                    .set_expression_attribute_values(Some(version_values(expected_version)))
                    .build(),
            )?),
            WriteOp::Delete {
                key,
                expected_version,
            } => {
                let mut b = Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(key_attrs(&key)));
                if let Some(v) = expected_version {
                    b = b
                        .condition_expression(VERSION_IS)
                        .set_expression_attribute_values(Some(version_values(v)));
                }
                TransactWriteItem::builder().delete(built(b.build())?)
            }
            WriteOp::Check { key, expect } => {
                let mut b = ConditionCheck::builder()
                    .table_name(&self.table)
                    .set_key(Some(key_attrs(&key)));
                b = match expect {
                    Expect::Exists => b.condition_expression(EXISTS),
                    Expect::Absent => b.condition_expression(NOT_EXISTS),
                    Expect::Version(v) => b
                        .condition_expression(VERSION_IS)
                        .set_expression_attribute_values(Some(version_values(v))),
                };
                TransactWriteItem::builder().condition_check(built(b.build())?)
            }
        };
        Ok(item.build())
    }

    /// Runs a query until it has `limit + 1` items or none remain, so that a page is full
    /// and `next` is set exactly when more items follow (DynamoDB alone may stop early at
    /// 1 MB, or hand back a cursor to an empty page).
    async fn collect(
        &self,
        request: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
        mut start: Option<Attrs>,
        limit: usize,
    ) -> Result<Vec<Item>, StoreError> {
        let mut out = Vec::with_capacity(limit + 1);
        loop {
            let want = i32::try_from(limit + 1 - out.len()).expect("page sizes are small");
            let page = request
                .clone()
                .limit(want)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(map_error)?;
            for attrs in page.items.unwrap_or_default() {
                out.push(from_attrs(attrs)?);
            }
            match page.last_evaluated_key {
                Some(last) if out.len() <= limit => start = Some(last),
                _ => return Ok(out),
            }
        }
    }
}

fn finish_page(mut items: Vec<Item>, limit: usize, index: bool) -> Page {
    let more = items.len() > limit;
    items.truncate(limit);
    let next = more.then(|| {
        let last = items.last().expect("a full page");
        Cursor::encode(&CursorKeys {
            pk: last.key.pk.clone(),
            sk: last.key.sk.clone(),
            ipk: index.then(|| last.index.as_ref().map(|i| i.pk.clone())).flatten(),
            isk: index.then(|| last.index.as_ref().map(|i| i.sk.clone())).flatten(),
        })
    });
    Page { items, next }
}

#[async_trait]
impl ItemStore for DynamoStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        validate_key(key)?;
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_attrs(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(map_error)?;
        out.item.map(from_attrs).transpose()
    }

    async fn create(&self, item: Item) -> Result<u64, StoreError> {
        validate_key(&item.key)?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_attrs(&item, 1)?))
            .condition_expression(NOT_EXISTS)
            .send()
            .await
            .map_err(map_error)?;
        Ok(1)
    }

    async fn replace(&self, item: Item, expected_version: u64) -> Result<u64, StoreError> {
        validate_key(&item.key)?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_attrs(&item, expected_version + 1)?))
            .condition_expression(VERSION_IS)
            .set_expression_attribute_values(Some(version_values(expected_version)))
            .send()
            .await
            .map_err(map_error)?;
        Ok(expected_version + 1)
    }

    async fn delete(&self, key: &Key, expected_version: Option<u64>) -> Result<(), StoreError> {
        validate_key(key)?;
        let mut request = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_attrs(key)));
        if let Some(v) = expected_version {
            request = request
                .condition_expression(VERSION_IS)
                .set_expression_attribute_values(Some(version_values(v)));
        }
        request.send().await.map_err(map_error)?;
        Ok(())
    }

    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        validate_transaction(&ops)?;
        let items = ops
            .into_iter()
            .map(|op| self.transact_item(op))
            .collect::<Result<Vec<_>, _>>()?;
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map_err(transaction_error)?;
        Ok(())
    }

    async fn query(&self, pk: &str, sk_prefix: &str, page: PageRequest) -> Result<Page, StoreError> {
        validate_key(&Key::new(pk, "x"))?;
        let start = match &page.cursor {
            Some(c) => Some(key_attrs(&{
                let k = c.decode_for_query(pk, sk_prefix)?;
                Key::new(k.pk, k.sk)
            })),
            None => None,
        };
        let mut values = HashMap::from([(":pk".to_owned(), s(pk))]);
        // DynamoDB refuses an empty string in a key condition, so an empty prefix is no
        // condition on the sort key at all.
        let condition = if sk_prefix.is_empty() {
            "pk = :pk"
        } else {
            values.insert(":p".to_owned(), s(sk_prefix));
            "pk = :pk AND begins_with(sk, :p)"
        };
        let request = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression(condition)
            .set_expression_attribute_values(Some(values))
            .scan_index_forward(!page.descending)
            .consistent_read(true);
        let limit = page.effective_limit();
        let items = self.collect(request, start, limit).await?;
        Ok(finish_page(items, limit, false))
    }

    async fn query_index(&self, index_pk: &str, page: PageRequest) -> Result<Page, StoreError> {
        validate_key(&Key::new(index_pk, "x"))?;
        let start = match &page.cursor {
            Some(c) => {
                let k = c.decode_for_index(index_pk)?;
                let mut attrs = key_attrs(&Key::new(k.pk, k.sk));
                attrs.insert("gsi1pk".into(), s(k.ipk.as_deref().unwrap_or_default()));
                attrs.insert("gsi1sk".into(), s(k.isk.as_deref().unwrap_or_default()));
                Some(attrs)
            }
            None => None,
        };
        let request = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(INDEX_NAME)
            .key_condition_expression("gsi1pk = :p")
            .expression_attribute_values(":p", s(index_pk))
            .scan_index_forward(!page.descending);
        let limit = page.effective_limit();
        let items = self.collect(request, start, limit).await?;
        Ok(finish_page(items, limit, true))
    }

    async fn scan(&self, sk_prefix: &str, page: PageRequest) -> Result<Page, StoreError> {
        if page.descending {
            return Err(StoreError::Invalid("a scan reads in no order".into()));
        }
        let start = match &page.cursor {
            Some(c) => {
                let k = c.decode_for_scan()?;
                Some(key_attrs(&Key::new(k.pk, k.sk)))
            }
            None => None,
        };
        let limit = i32::try_from(page.effective_limit()).expect("page sizes are small");
        let mut request = self
            .client
            .scan()
            .table_name(&self.table)
            .limit(limit)
            .consistent_read(true)
            .set_exclusive_start_key(start);
        // DynamoDB refuses an empty string in an expression: an empty prefix filters nothing.
        if !sk_prefix.is_empty() {
            request = request
                .filter_expression("begins_with(sk, :p)")
                .expression_attribute_values(":p", s(sk_prefix));
        }
        let out = request.send().await.map_err(map_error)?;
        let items = out
            .items
            .unwrap_or_default()
            .into_iter()
            .map(from_attrs)
            .collect::<Result<Vec<_>, _>>()?;
        // The last item read (matching or not), as DynamoDB gives it: where the next page starts.
        let next = match out.last_evaluated_key {
            Some(mut last) => match (last.remove("pk"), last.remove("sk")) {
                (Some(AttributeValue::S(pk)), Some(AttributeValue::S(sk))) => {
                    Some(Cursor::encode(&CursorKeys {
                        pk,
                        sk,
                        ipk: None,
                        isk: None,
                    }))
                }
                _ => return Err(StoreError::Corrupt("a scan's last key has no pk and sk".into())),
            },
            None => None,
        };
        Ok(Page { items, next })
    }
}
