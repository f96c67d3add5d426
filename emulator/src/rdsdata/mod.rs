//! The RDS Data API: MySQL statements on embedded SQLite, for the clusters the config declares.
//!
//! - [`wire`] decodes and encodes restJson1 on the main port.
//! - [`sql`] parses MySQL with sqlparser and translates it for SQLite.
//! - [`storage`] is SQLite (one file per MySQL database); nothing else here names it.
//! - [`fields`] turns parameters into SQL values and results into typed `Field`s.
//! - [`mysql`] words SQLite's failures as MySQL does.
//! - [`DataApi`] is the operation layer: clusters, secrets, transactions and limits.
//!
//! Errors carry MySQL's message in a `BadRequestException`, as the seed's Aurora Serverless v1 did
//! (`An error occurred (BadRequestException) ...: Duplicate entry 'instance-002' for key 'PRIMARY'`).
//! FIXME: Aurora Serverless v2 and provisioned clusters answer `DatabaseErrorException`,
//! `HttpEndpointNotEnabledException` and `InvalidSecretException` instead.

mod error;
pub mod fields;
pub mod functions;
pub mod lock;
pub mod mysql;
mod render;
mod run;
pub mod sql;
pub mod storage;
pub mod transactions;
pub mod wire;

pub use error::RdsError;
pub use wire::Operation;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use serde_json::{Map, Value, json};

use crate::clock::Env;
use crate::config::{ClusterConfig, Config};
use fields::ResultSetOptions;
use lock::WriteLock;
use storage::ClusterFiles;
use transactions::Transactions;

/// The longest `transactionId` (botocore `rds-data` model, `Id` max 192).
const MAX_TRANSACTION_ID: usize = 192;

struct Cluster {
    arn: String,
    secrets: Vec<String>,
    database: Option<String>,
    files: ClusterFiles,
    /// Held by the one writer at a time; see [`lock`].
    lock: Arc<WriteLock>,
    /// `innodb_lock_wait_timeout`.
    lock_wait: Duration,
    /// The most transactions open at once.
    max_transactions: usize,
}

/// The Data API of every configured cluster.
pub struct DataApi {
    clusters: Vec<Cluster>,
    transactions: Transactions,
    env: Env,
    translations: sql::Cache,
}

/// The Coral text for a missing required member.
fn missing(member: &str) -> RdsError {
    RdsError::BadRequest(format!(
        "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
    ))
}

fn required<'a>(body: &'a Value, member: &str) -> Result<&'a str, RdsError> {
    match body.get(member) {
        None | Some(Value::Null) => Err(missing(member)),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(RdsError::BadRequest(format!("{member} must be a string"))),
    }
}

fn optional<'a>(body: &'a Value, member: &str) -> Result<Option<&'a str>, RdsError> {
    match body.get(member) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(RdsError::BadRequest(format!("{member} must be a string"))),
    }
}

fn flag(body: &Value, member: &str) -> Result<bool, RdsError> {
    match body.get(member) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(RdsError::BadRequest(format!("{member} must be a boolean"))),
    }
}

/// The clock as MySQL's `DATETIME` text.
fn now_text(env: &Env) -> String {
    chrono::DateTime::from_timestamp_millis(env.clock.now_ms() as i64)
        .unwrap_or_default()
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

impl DataApi {
    /// Opens every cluster's databases and runs its schema files.
    pub fn open(config: &Config, data_dir: Option<&Path>, env: Env) -> Result<Self, RdsError> {
        let mut clusters = Vec::new();
        for c in &config.clusters {
            clusters.push(open_cluster(c, data_dir, &env)?);
        }
        let api = Self {
            clusters,
            transactions: Transactions::default(),
            env,
            translations: sql::Cache::default(),
        };
        for (i, c) in config.clusters.iter().enumerate() {
            for file in &c.schema {
                let path = config.base_dir.join(file);
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    RdsError::Internal(format!("cannot read {}: {e}", path.display()))
                })?;
                for statement in sql::split(&text)
                    .map_err(|e| RdsError::BadRequest(format!("{}: {e}", path.display())))?
                {
                    let db = api.clusters[i].database.clone();
                    api.run_one(i, db.as_deref(), None, &statement, &[])
                        .map_err(|e| {
                            RdsError::BadRequest(format!("{}: {statement}: {e}", path.display()))
                        })?;
                }
            }
        }
        Ok(api)
    }

    /// The cluster a request names, if its secret is one of the cluster's.
    fn cluster(&self, arn: &str, secret: &str) -> Result<usize, RdsError> {
        let i = self
            .clusters
            .iter()
            .position(|c| c.arn == arn)
            .ok_or_else(|| {
                // The troubleshooting guide's text; AWS gives it for a cluster without the Data API, and a
                // cluster the config does not declare is one.
                // Source: https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/data-api.troubleshooting.html
                let id = arn.rsplit(':').next().unwrap_or(arn);
                RdsError::BadRequest(format!("HttpEndpoint isn't enabled for cluster {id}"))
            })?;
        let c = &self.clusters[i];
        if !c.secrets.is_empty() && !c.secrets.iter().any(|s| s == secret) {
            // FIXME: AWS checks the secret in Secrets Manager; its exact text for an unknown secret is not in our
            // sources.
            return Err(RdsError::BadRequest(format!(
                "Secrets Manager can't find the specified secret: {secret}"
            )));
        }
        Ok(i)
    }

    fn cluster_of(&self, body: &Value) -> Result<usize, RdsError> {
        let arn = required(body, "resourceArn")?;
        let secret = required(body, "secretArn")?;
        self.cluster(arn, secret)
    }

    /// Runs one operation. The database work is synchronous; callers run it off the async workers.
    pub fn call(&self, op: Operation, body: &Value) -> Result<Value, RdsError> {
        self.expire_transactions();
        match op {
            Operation::ExecuteStatement => self.execute(body),
            Operation::BatchExecuteStatement => self.batch_execute(body),
            Operation::BeginTransaction => self.begin(body),
            Operation::CommitTransaction | Operation::RollbackTransaction => {
                self.end(body, op == Operation::CommitTransaction)
            }
            Operation::ExecuteSql => self.execute_sql(body),
        }
    }

    /// Housekeeping every `every`, until the task is aborted: ends idle transactions, so that an abandoned one
    /// stops holding its locks when its time is up even if no request comes, and checkpoints each database's WAL
    /// off the write path.
    pub fn spawn_housekeeping(
        self: &Arc<Self>,
        every: std::time::Duration,
    ) -> tokio::task::JoinHandle<()> {
        let api = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tick.tick().await;
                let api = api.clone();
                let _ = tokio::task::spawn_blocking(move || {
                    api.expire_transactions();
                    for c in &api.clusters {
                        c.files.checkpoint();
                    }
                })
                .await;
            }
        })
    }

    /// Ends transactions idle for longer than AWS keeps them; dropping the connection rolls them back.
    fn expire_transactions(&self) {
        self.transactions.expire(self.env.clock.now_ms());
    }

    fn execute(&self, body: &Value) -> Result<Value, RdsError> {
        let i = self.cluster_of(body)?;
        let sql = required(body, "sql")?;
        let params = fields::parameters(body.get("parameters"))?;
        let tx = self.transaction_id(body)?;
        let database = optional(body, "database")?;
        let metadata = flag(body, "includeResultMetadata")?;
        flag(body, "continueAfterTimeout")?;
        let opts = ResultSetOptions::from_request(body.get("resultSetOptions"))?;
        let json_records = match optional(body, "formatRecordsAs")? {
            None | Some("NONE") => false,
            Some("JSON") => true,
            Some(other) => {
                return Err(RdsError::BadRequest(format!(
                    "1 validation error detected: Value '{other}' at 'formatRecordsAs' failed to satisfy constraint: Member must satisfy enum value set: [NONE, JSON]"
                )));
            }
        };
        if optional(body, "schema")?.is_some() {
            // The model's documentation of `schema`: "Currently, the schema parameter isn't supported."
            return Err(RdsError::BadRequest(
                "The schema parameter isn't supported.".into(),
            ));
        }
        let ran = self.run_one(i, database, tx, sql, &params)?;
        let (outcome, query) = (&ran.outcome, ran.translated.kind.is_query());
        let mut out = Map::new();
        if query {
            render::rows(&mut out, outcome, opts, json_records, metadata)?;
        }
        out.insert(
            "numberOfRecordsUpdated".into(),
            json!(if query || ran.translated.kind.is_ddl() {
                0
            } else {
                outcome.changes
            }),
        );
        if !ran.generated.is_empty() {
            out.insert("generatedFields".into(), Value::Array(ran.generated));
        }
        Ok(Value::Object(out))
    }

    /// The legacy `ExecuteSql` (Aurora Serverless v1, deprecated): one or more statements separated by `;`, each
    /// run on its own, answered as `sqlStatementResults` with `ExecuteSql`'s `Value` union.
    /// Source: botocore `rds-data` model, `ExecuteSqlRequest` and `ExecuteSqlResponse`.
    fn execute_sql(&self, body: &Value) -> Result<Value, RdsError> {
        let arn = required(body, "dbClusterOrInstanceArn")?;
        let secret = required(body, "awsSecretStoreArn")?;
        let i = self.cluster(arn, secret)?;
        let text = required(body, "sqlStatements")?;
        let database = optional(body, "database")?;
        if text.len() > sql::MAX_SQL {
            return Err(sql::too_long("sqlStatements"));
        }
        let mut results = Vec::new();
        for statement in sql::split(text)? {
            let ran = self.run_one(i, database, None, &statement, &[])?;
            let mut result = Map::new();
            if ran.translated.kind.is_query() {
                let o = &ran.outcome;
                let records: Vec<Value> = o
                    .rows
                    .iter()
                    .map(|r| {
                        let values: Vec<Value> = r
                            .iter()
                            .zip(&o.columns)
                            .map(|(v, c)| fields::legacy_value(v, c.decl_type.as_deref()))
                            .collect();
                        json!({"values": values})
                    })
                    .collect();
                let columns: Vec<Value> = o.columns.iter().map(fields::column_metadata).collect();
                result.insert(
                    "resultFrame".into(),
                    json!({
                        "resultSetMetadata": {"columnCount": columns.len(), "columnMetadata": columns},
                        "records": records,
                    }),
                );
                result.insert("numberOfRecordsUpdated".into(), json!(0));
            } else {
                let changes = if ran.translated.kind.is_ddl() {
                    0
                } else {
                    ran.outcome.changes
                };
                result.insert("numberOfRecordsUpdated".into(), json!(changes));
            }
            results.push(Value::Object(result));
        }
        let out = json!({"sqlStatementResults": results});
        if out.to_string().len() > render::MAX_RESPONSE {
            return Err(RdsError::BadRequest(
                "Database response exceeded size limit".into(),
            ));
        }
        Ok(out)
    }

    /// `BatchExecuteStatement`: the statement once per parameter set.
    /// FIXME: outside a transaction each set commits on its own, so a failing set leaves the earlier ones
    /// written; we have no source for AWS's behaviour there.
    fn batch_execute(&self, body: &Value) -> Result<Value, RdsError> {
        let i = self.cluster_of(body)?;
        let sql = required(body, "sql")?;
        let tx = self.transaction_id(body)?;
        let database = optional(body, "database")?;
        let sets = match body.get("parameterSets") {
            None | Some(Value::Null) => vec![Value::Array(vec![])],
            Some(Value::Array(sets)) => sets.clone(),
            Some(_) => {
                return Err(RdsError::BadRequest(
                    "parameterSets must be a list of parameter lists".into(),
                ));
            }
        };
        let sets = sets
            .iter()
            .map(|set| fields::parameters(Some(set)))
            .collect::<Result<Vec<_>, _>>()?;
        let mut results = Vec::new();
        for params in &sets {
            let ran = self.run_one(i, database, tx, sql, params)?;
            results.push(json!({"generatedFields": ran.generated}));
        }
        Ok(json!({"updateResults": results}))
    }

    fn transaction_id<'a>(&self, body: &'a Value) -> Result<Option<&'a str>, RdsError> {
        let id = optional(body, "transactionId")?;
        if let Some(id) = id
            && id.len() > MAX_TRANSACTION_ID
        {
            return Err(RdsError::BadRequest(format!(
                "1 validation error detected: Value at 'transactionId' failed to satisfy constraint: Member must have length less than or equal to {MAX_TRANSACTION_ID}"
            )));
        }
        Ok(id)
    }

    fn begin(&self, body: &Value) -> Result<Value, RdsError> {
        let i = self.cluster_of(body)?;
        let database = self.database(i, optional(body, "database")?)?;
        let conn = self.clusters[i].files.checkout(&database)?;
        storage::begin(&conn)?;
        let id = base64::engine::general_purpose::STANDARD.encode(self.env.ids.uuid());
        self.transactions.open(
            id.clone(),
            i,
            database,
            conn,
            self.env.clock.now_ms(),
            self.clusters[i].max_transactions,
        )?;
        Ok(json!({"transactionId": id}))
    }

    fn end(&self, body: &Value, commit: bool) -> Result<Value, RdsError> {
        let i = self.cluster_of(body)?;
        let id = required(body, "transactionId")?;
        let lease = self.transactions.finish(id, i)?;
        // The statuses AWS answers, as recorded by alchemy.run's RDSData.CommitTransaction docs
        // ("Transaction Committed") and by koxudaxi/local-data-api, which mirrors the service ("Rollback Complete").
        let ended = if commit {
            storage::commit(&lease.conn).map(|()| "Transaction Committed")
        } else {
            storage::rollback(&lease.conn).map(|()| "Rollback Complete")
        };
        // The connection goes back to the pool first, and then the write lock is released.
        self.clusters[i].files.checkin(lease.conn);
        drop(lease.write);
        Ok(json!({"transactionStatus": ended?}))
    }
}

fn open_cluster(
    c: &ClusterConfig,
    data_dir: Option<&Path>,
    env: &Env,
) -> Result<Cluster, RdsError> {
    let id = c.arn.rsplit(':').next().unwrap_or("cluster").to_string();
    let env = env.clone();
    let now: storage::Now = Arc::new(move || now_text(&env));
    let files = ClusterFiles::open(data_dir.map(|d| storage::cluster_dir(d, &id)), &id, now)?;
    if let Some(db) = &c.database {
        files.create_database(db, true)?;
    }
    Ok(Cluster {
        arn: c.arn.clone(),
        secrets: c.secret_arns.clone(),
        database: c.database.clone(),
        files,
        lock: Arc::default(),
        lock_wait: Duration::from_secs(c.lock_wait_timeout),
        max_transactions: c.max_transactions,
    })
}

#[cfg(test)]
mod tests;
