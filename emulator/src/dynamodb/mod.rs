//! The DynamoDB half of the emulator: the JSON 1.0 protocol on the main port, in front of an embedded engine.
//!
//! - [`wire`] decodes `POST /` requests with `X-Amz-Target` and encodes responses and errors as DynamoDB does.
//! - [`storage`] is the engine (dynoxide on SQLite); nothing else touches it.
//! - [`DynamoDb`] is the operation layer between them, and creates the tables declared in the config file.
//! - [`remote`] forwards the requests of tables configured with `dynamodb_endpoint` to another engine instead.

pub mod remote;
pub mod storage;
pub mod wire;

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::config::{Config, KeyType, TableConfig};
pub use storage::Storage;

/// The name of the SQLite file under `--data-dir`.
pub const DATA_FILE: &str = "dynamodb.sqlite";

/// How often expired items are deleted. AWS deletes them "within a few days"; reads do not hide expired items
/// either, so an exact interval is no promise.
/// Source: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/howitworks-ttl.html
const TTL_SWEEP: Duration = Duration::from_secs(30);

macro_rules! operations {
    ($($name:ident),* $(,)?) => {
        /// Every operation the engine serves, DynamoDB's and DynamoDB Streams'.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Operation { $($name),* }

        impl Operation {
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $(stringify!($name) => Some(Self::$name),)*
                    _ => None,
                }
            }

            pub fn name(self) -> &'static str {
                match self { $(Self::$name => stringify!($name)),* }
            }
        }
    };
}

operations!(
    CreateTable,
    DeleteTable,
    DescribeTable,
    ListTables,
    UpdateTable,
    PutItem,
    GetItem,
    DeleteItem,
    UpdateItem,
    Query,
    Scan,
    BatchGetItem,
    BatchWriteItem,
    TransactWriteItems,
    TransactGetItems,
    ListStreams,
    DescribeStream,
    GetShardIterator,
    GetRecords,
    UpdateTimeToLive,
    DescribeTimeToLive,
    ExecuteStatement,
    ExecuteTransaction,
    BatchExecuteStatement,
    TagResource,
    UntagResource,
    ListTagsOfResource,
);

impl Operation {
    /// Whether the operation belongs to DynamoDB Streams (`DynamoDBStreams_20120810.*`).
    pub fn is_streams(self) -> bool {
        matches!(
            self,
            Self::ListStreams | Self::DescribeStream | Self::GetShardIterator | Self::GetRecords
        )
    }
}

/// A DynamoDB error, with AWS's code and message.
/// Source: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html
#[derive(Debug, Clone, thiserror::Error)]
pub enum DynamoError {
    /// An error the engine reported, already in DynamoDB's wire form.
    #[error("{code}: {message}")]
    Service {
        status: u16,
        code: String,
        message: String,
        /// The JSON error body, as DynamoDB writes it for this error.
        body: String,
    },
    /// The body is not JSON. DynamoDB gives no message.
    #[error("SerializationException")]
    Serialization,
    /// An `X-Amz-Target` that names no operation, or none at all. DynamoDB gives no message.
    #[error("UnknownOperationException")]
    UnknownOperation,
    /// A body over 16 MB.
    #[error("Request entity too large")]
    TooLarge,
    #[error("{0}")]
    Internal(String),
}

impl DynamoError {
    /// An error a fault injects, by its code: DynamoDB's own types and messages.
    /// Sources: the DynamoDB API reference's `TransactWriteItems` (the messages of `ProvisionedThroughputExceeded`
    /// and `TransactionConflict`); `ThrottlingException` comes from the `com.amazon.coral.availability` namespace
    /// with "Rate exceeded", as clients that retry on it match it (architect/dynalite's test helper).
    pub fn injected(code: &str) -> Self {
        let (status, namespace, message) = match code {
            "ProvisionedThroughputExceededException" => (
                400,
                "com.amazonaws.dynamodb.v20120810",
                "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.",
            ),
            "ThrottlingException" => (400, "com.amazon.coral.availability", "Rate exceeded"),
            "TransactionConflictException" => (
                400,
                "com.amazonaws.dynamodb.v20120810",
                "Transaction is ongoing for the item",
            ),
            _ => (
                500,
                "com.amazonaws.dynamodb.v20120810",
                "Internal server error",
            ),
        };
        let code = if status == 500 {
            "InternalServerError"
        } else {
            code
        };
        DynamoError::Service {
            status,
            code: code.to_string(),
            message: message.to_string(),
            body: json!({"__type": format!("{namespace}#{code}"), "message": message}).to_string(),
        }
    }

    /// The tables a request's body names: `TableName`, the keys of `RequestItems`, and the tables of
    /// `TransactItems`.
    pub fn tables_of(body: &[u8]) -> Vec<String> {
        // Every call's span names its tables, so a well-formed body is read for those members alone, skipping
        // the items without building them; another body is read as any JSON.
        if let Ok(named) = serde_json::from_slice::<Named>(body) {
            let mut out: Vec<String> = named.table_name.into_iter().collect();
            out.extend(named.request_items.into_iter().flat_map(|m| m.into_keys()));
            for item in named.transact_items.into_iter().flatten() {
                out.extend(item.into_values().next().and_then(|a| a.table_name));
            }
            return out;
        }
        let Ok(v) = serde_json::from_slice::<Value>(body) else {
            return vec![];
        };
        let mut out: Vec<String> = v["TableName"]
            .as_str()
            .map(str::to_string)
            .into_iter()
            .collect();
        if let Some(items) = v["RequestItems"].as_object() {
            out.extend(items.keys().cloned());
        }
        for item in v["TransactItems"].as_array().into_iter().flatten() {
            if let Some(action) = item.as_object().and_then(|o| o.values().next()) {
                out.extend(action["TableName"].as_str().map(str::to_string));
            }
        }
        out
    }
}

/// The members of a request body that name tables.
#[derive(serde::Deserialize)]
struct Named {
    #[serde(rename = "TableName")]
    table_name: Option<String>,
    #[serde(rename = "RequestItems")]
    request_items: Option<std::collections::BTreeMap<String, serde::de::IgnoredAny>>,
    #[serde(rename = "TransactItems")]
    transact_items: Option<Vec<std::collections::BTreeMap<String, NamedAction>>>,
}

#[derive(serde::Deserialize)]
struct NamedAction {
    #[serde(rename = "TableName")]
    table_name: Option<String>,
}

/// A table declared in the config file, as CreateTable needs it.
#[derive(Debug, Clone)]
pub struct TableSpec(pub TableConfig);

impl TableSpec {
    pub fn create_table_request(&self) -> Value {
        let t = &self.0;
        let mut defs = std::collections::BTreeMap::new();
        let mut key = |k: &crate::config::KeyConfig| {
            defs.insert(k.name.clone(), k.kind);
        };
        key(&t.hash_key);
        if let Some(r) = &t.range_key {
            key(r);
        }
        for g in &t.gsi {
            key(&g.hash_key);
            if let Some(r) = &g.range_key {
                key(r);
            }
        }
        let schema = |h: &crate::config::KeyConfig, r: Option<&crate::config::KeyConfig>| {
            let mut s = vec![json!({"AttributeName": h.name, "KeyType": "HASH"})];
            if let Some(r) = r {
                s.push(json!({"AttributeName": r.name, "KeyType": "RANGE"}));
            }
            s
        };
        let mut req = json!({
            "TableName": t.name.get_ref(),
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": schema(&t.hash_key, t.range_key.as_ref()),
            "AttributeDefinitions": defs
                .iter()
                .map(|(name, kind)| json!({"AttributeName": name, "AttributeType": kind.code()}))
                .collect::<Vec<_>>(),
        });
        if !t.gsi.is_empty() {
            req["GlobalSecondaryIndexes"] = t
                .gsi
                .iter()
                .map(|g| {
                    json!({
                        "IndexName": g.name,
                        "KeySchema": schema(&g.hash_key, g.range_key.as_ref()),
                        "Projection": {"ProjectionType": g.projection.as_deref().unwrap_or("ALL")},
                    })
                })
                .collect();
        }
        if let Some(view) = &t.stream {
            req["StreamSpecification"] = json!({"StreamEnabled": true, "StreamViewType": view});
        }
        req
    }
}

impl KeyType {
    pub fn code(self) -> &'static str {
        match self {
            KeyType::S => "S",
            KeyType::N => "N",
            KeyType::B => "B",
        }
    }
}

/// An operation's answer, and where it came from when that was not the embedded engine.
pub struct Answer {
    pub result: Result<String, DynamoError>,
    /// The `dynamodb_endpoint` that served the operation.
    pub endpoint: Option<String>,
    /// That endpoint's `x-amzn-RequestId`.
    pub request_id: Option<String>,
}

/// The DynamoDB service.
pub struct DynamoDb {
    storage: Storage,
    region: String,
    /// Which tables other engines serve. Read at start only: a reload that changes them asks for a restart.
    routes: remote::Routes,
}

impl DynamoDb {
    /// Opens the database (in memory, or in `data_dir`) and creates the configured tables.
    pub fn open(config: &Config, data_dir: Option<&Path>) -> Result<Self, DynamoError> {
        let storage = match data_dir {
            Some(dir) => Storage::file(&dir.join(DATA_FILE))?,
            None => Storage::memory()?,
        };
        let db = Self {
            storage,
            region: config.region.clone(),
            routes: remote::Routes::new(config),
        };
        db.ensure_tables(config)?;
        Ok(db)
    }

    /// Creates the configured tables that do not exist yet, returning their names. Existing tables and their items
    /// are left as they are, so a config reload never loses data. Tables on another engine are left to
    /// [`DynamoDb::ensure_remote_tables`].
    pub fn ensure_tables(&self, config: &Config) -> Result<Vec<String>, DynamoError> {
        let storage = &self.storage;
        let mut created = Vec::new();
        for t in &config.tables {
            if self.routes.of_table(t.name.get_ref()).is_some() {
                continue;
            }
            let spec = TableSpec(t.clone());
            if storage.ensure_table(&spec)? {
                created.push(t.name.get_ref().clone());
            }
            if let Some(attr) = &t.ttl_attribute {
                let body = json!({
                    "TableName": t.name.get_ref(),
                    "TimeToLiveSpecification": {"Enabled": true, "AttributeName": attr},
                });
                // Enabling TTL again on a persisted table is refused as a validation error; it is already on.
                match storage.call(Operation::UpdateTimeToLive, &body.to_string()) {
                    Ok(_) | Err(DynamoError::Service { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(created)
    }

    /// Creates the configured tables that another engine serves and that it does not have yet, returning their
    /// names. An engine that cannot be reached, or refuses, is only a warning: it may come up later, and its
    /// requests then fail with its own errors.
    pub async fn ensure_remote_tables(&self, config: &Config) -> Vec<String> {
        let mut created = Vec::new();
        for t in &config.tables {
            let name = t.name.get_ref();
            let Some(remote) = self.routes.of_table(name) else {
                continue;
            };
            let body = TableSpec(t.clone()).create_table_request().to_string();
            match remote
                .call(Operation::CreateTable, body.into())
                .await
                .result
            {
                Ok(_) => created.push(name.clone()),
                Err(DynamoError::Service { code, .. }) if code == "ResourceInUseException" => {}
                Err(e) => {
                    tracing::warn!(
                        "DynamoDB table {name} on {}: cannot create it now: {e}",
                        remote.endpoint
                    );
                    continue;
                }
            }
            if let Some(attr) = &t.ttl_attribute {
                let body = json!({
                    "TableName": name,
                    "TimeToLiveSpecification": {"Enabled": true, "AttributeName": attr},
                });
                // As on the embedded engine, a validation error means TTL is already on.
                let answer = remote.call(Operation::UpdateTimeToLive, body.to_string().into());
                match answer.await.result {
                    Ok(_) => {}
                    Err(DynamoError::Service { code, .. }) if code == "ValidationException" => {}
                    Err(e) => tracing::warn!("DynamoDB table {name}: cannot enable TTL now: {e}"),
                }
            }
        }
        created
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    /// Runs one operation on the engine its tables are on.
    pub async fn call(&self, op: Operation, body: bytes::Bytes) -> Result<String, DynamoError> {
        self.answer(op, body).await.result
    }

    /// [`DynamoDb::call`], saying which endpoint answered.
    pub async fn answer(&self, op: Operation, body: bytes::Bytes) -> Answer {
        let result = if self.routes.is_empty() {
            Ok(None)
        } else {
            self.routes.route(&body)
        };
        match result {
            Ok(Some(remote)) => remote.call(op, body).await,
            Ok(None) => Answer {
                result: self.call_embedded(op, body).await,
                endpoint: None,
                request_id: None,
            },
            Err(e) => Answer {
                result: Err(e),
                endpoint: None,
                request_id: None,
            },
        }
    }

    /// Runs one operation off the async workers: the engine is synchronous and holds one lock, so a long Scan,
    /// a TTL sweep or a WAL checkpoint must never stall the listeners and timers. A panic in the engine is a 500
    /// `InternalServerError`, never a dropped connection.
    async fn call_embedded(
        &self,
        op: Operation,
        body: bytes::Bytes,
    ) -> Result<String, DynamoError> {
        let storage = self.storage.clone();
        tokio::task::spawn_blocking(move || {
            let text = std::str::from_utf8(&body).map_err(|_| DynamoError::Serialization)?;
            storage.call(op, text)
        })
        .await
        .map_err(|e| {
            tracing::error!("DynamoDB {op:?} failed: {e}");
            DynamoError::Internal(format!("the operation failed: {e}"))
        })?
    }

    /// Deletes expired items now and then, until the task is aborted.
    pub fn spawn_ttl_sweeper(&self) -> tokio::task::JoinHandle<()> {
        let storage = self.storage.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(TTL_SWEEP);
            tick.tick().await;
            loop {
                tick.tick().await;
                let s = storage.clone();
                match tokio::task::spawn_blocking(move || s.sweep_ttl()).await {
                    Ok(Ok(n)) if n > 0 => tracing::debug!("deleted {n} expired DynamoDB items"),
                    Ok(Err(e)) => tracing::warn!("DynamoDB TTL sweep failed: {e}"),
                    _ => {}
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::DynamoError;

    #[test]
    fn a_body_s_tables_are_named_whatever_its_shape() {
        let tables = |body: &str| DynamoError::tables_of(body.as_bytes());
        assert_eq!(
            tables(r#"{"TableName": "t", "Item": {"id": {"S": "1"}}}"#),
            ["t"]
        );
        assert_eq!(
            tables(r#"{"RequestItems": {"b": [{"PutRequest": {}}], "a": []}}"#),
            ["a", "b"]
        );
        assert_eq!(
            tables(
                r#"{"TransactItems": [{"Put": {"TableName": "p", "Item": {}}}, {"ConditionCheck": {"TableName": "q"}}]}"#
            ),
            ["p", "q"]
        );
        // A body of another shape is read as any JSON: its TableName still counts.
        assert_eq!(tables(r#"{"TableName": "t", "RequestItems": [1]}"#), ["t"]);
        assert!(tables("not json").is_empty());
    }
}
