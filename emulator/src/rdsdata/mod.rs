//! The RDS Data API: MySQL statements on embedded SQLite, or statements on a MySQL, MariaDB or PostgreSQL server,
//! for the clusters the config declares.
//!
//! - [`wire`] decodes restJson1 on the main port into typed requests, and encodes typed responses.
//! - [`engine`] is the database behind the operations: SQLite, with the statements translated from MySQL, or a
//!   server, which runs them as they are.
//! - [`sql`] parses MySQL with sqlparser and translates it for SQLite.
//! - [`storage`] is SQLite (one file per MySQL database); nothing else here names it.
//! - [`schema_cache`] keys what a cluster's schema files made, so that a start with the same files copies it.
//! - [`fields`] turns parameters into SQL values and results into typed `Field`s.
//! - [`mysql`] words SQLite's failures as MySQL does.
//! - [`DataApi`] is the operation layer: clusters, secrets, transactions and limits.
//!
//! Errors carry MySQL's message in a `BadRequestException`, as the seed's Aurora Serverless v1 did
//! (`An error occurred (BadRequestException) ...: Duplicate entry 'instance-002' for key 'PRIMARY'`).
//! FIXME: Aurora Serverless v2 and provisioned clusters answer `DatabaseErrorException`,
//! `HttpEndpointNotEnabledException` and `InvalidSecretException` instead.

pub mod engine;
mod error;
pub mod fields;
pub mod functions;
pub mod mysql;
mod render;
pub mod schema_cache;
pub mod sql;
pub mod storage;
pub mod transactions;
pub mod wire;

pub use error::RdsError;
pub use wire::Operation;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use serde_json::Value;

use crate::clock::Env;
use crate::config::{ClusterConfig, Config, SecretConfig};
use engine::sqlite::Sqlite;
use engine::{Engine, Param, Prepared, Ran};
use transactions::{Lease, Transactions};
use wire::{
    BatchExecuteStatementRequest, BatchExecuteStatementResponse, BeginTransactionRequest,
    BeginTransactionResponse, Call, CommitTransactionResponse, ExecuteSqlRequest,
    ExecuteSqlResponse, ExecuteStatementRequest, ExecuteStatementResponse, Record, RecordsFormat,
    Request, Response, ResultFrame, ResultSetMetadata, RollbackTransactionResponse,
    SqlStatementResult, Target, UpdateResult,
};

struct Cluster {
    arn: String,
    secrets: Vec<String>,
    engine: Arc<dyn Engine>,
    /// The most transactions open at once.
    max_transactions: usize,
}

/// A cluster as the dashboard lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ClusterCatalog {
    pub arn: String,
    /// A secret the cluster accepts (empty when it accepts any).
    pub secret_arn: String,
    /// Each database and its tables.
    pub databases: Vec<(String, Vec<String>)>,
}

/// The Data API of every configured cluster.
pub struct DataApi {
    clusters: Vec<Cluster>,
    transactions: Transactions,
    env: Env,
}

impl DataApi {
    /// Opens every cluster's databases and runs its schema files.
    pub fn open(config: &Config, data_dir: Option<&Path>, env: Env) -> Result<Self, RdsError> {
        let mut clusters = Vec::new();
        for c in &config.clusters {
            // A server's database may be shared, so its schema runs only when asked.
            let schema = match c.url.is_some() && !c.schema_on_start {
                true => vec![],
                false => read_schema(config, c)?,
            };
            clusters.push(open_cluster(c, &config.secrets, data_dir, &env, &schema)?);
        }
        Ok(Self {
            clusters,
            transactions: Transactions::default(),
            env,
        })
    }

    /// The cluster a request names, if its secret is one of the cluster's.
    fn cluster(&self, target: &Target) -> Result<usize, RdsError> {
        let (arn, secret) = (&target.cluster_arn, &target.secret_arn);
        let i = self
            .clusters
            .iter()
            .position(|c| &c.arn == arn)
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

    /// Runs one decoded request. The database work is synchronous; callers run it off the async workers.
    pub fn handle(&self, call: Call) -> Result<Response, RdsError> {
        self.expire_transactions();
        let i = self.cluster(&call.target?)?;
        Ok(match call.request? {
            Request::ExecuteStatement(r) => Response::ExecuteStatement(self.execute(i, r)?),
            Request::BatchExecuteStatement(r) => {
                Response::BatchExecuteStatement(self.batch_execute(i, r)?)
            }
            Request::BeginTransaction(r) => Response::BeginTransaction(self.begin(i, r)?),
            // The statuses AWS answers, as recorded by alchemy.run's RDSData.CommitTransaction docs
            // ("Transaction Committed") and by koxudaxi/local-data-api, which mirrors the service ("Rollback
            // Complete").
            Request::CommitTransaction(r) => {
                self.end(i, &r.transaction_id, true)?;
                Response::CommitTransaction(CommitTransactionResponse {
                    transaction_status: "Transaction Committed".into(),
                })
            }
            Request::RollbackTransaction(r) => {
                self.end(i, &r.transaction_id, false)?;
                Response::RollbackTransaction(RollbackTransactionResponse {
                    transaction_status: "Rollback Complete".into(),
                })
            }
            Request::ExecuteSql(r) => Response::ExecuteSql(self.execute_sql(i, r)?),
        })
    }

    /// Every cluster: its ARN, a secret it accepts, its default database, and its databases with their tables.
    /// Reads the databases' files; callers run it off the async workers.
    pub fn catalog(&self) -> Vec<ClusterCatalog> {
        self.clusters
            .iter()
            .map(|c| ClusterCatalog {
                arn: c.arn.clone(),
                secret_arn: c.secrets.first().cloned().unwrap_or_default(),
                databases: c.engine.catalog(),
            })
            .collect()
    }

    /// Runs one operation on a JSON body, answered as JSON, as the wire would run it.
    pub fn call(&self, op: Operation, body: &Value) -> Result<Value, RdsError> {
        self.handle(wire::request(op, body)).map(|r| wire::json(&r))
    }

    /// Housekeeping every `every`, until the task is aborted: ends idle transactions, so that an abandoned one
    /// stops holding its locks when its time is up even if no request comes, and lets each engine do its own
    /// (SQLite checkpoints each database's WAL off the write path).
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
                        c.engine.housekeeping();
                    }
                })
                .await;
            }
        })
    }

    /// Ends transactions idle for longer than AWS keeps them; dropping a session rolls it back.
    fn expire_transactions(&self) {
        self.transactions.expire(self.env.clock.now_ms());
    }

    /// Runs one statement of cluster `i`, in transaction `tx` or on its own.
    fn run_one(
        &self,
        i: usize,
        database: Option<&str>,
        tx: Option<&str>,
        sql: &str,
        params: &[Param],
    ) -> Result<Ran, RdsError> {
        let engine = &self.clusters[i].engine;
        let Some(id) = tx else {
            return engine.execute(database, sql, params);
        };
        let default_db = self.transactions.database(id);
        if let Prepared::Done(ran) = engine.prepare(default_db.as_deref(), sql)? {
            return Ok(ran);
        }
        let Lease { mut session } = self.transactions.take(id, i)?;
        let ran = session.execute(sql, params);
        self.transactions
            .put_back(id, Lease { session }, self.env.clock.now_ms());
        ran
    }

    fn execute(
        &self,
        i: usize,
        r: ExecuteStatementRequest,
    ) -> Result<ExecuteStatementResponse, RdsError> {
        let ran = self.run_one(
            i,
            r.database.as_deref(),
            r.transaction_id.as_deref(),
            &r.sql,
            &r.parameters,
        )?;
        let mut out = ExecuteStatementResponse::default();
        if ran.query {
            let json_records = r.format_records_as == RecordsFormat::Json;
            render::rows(
                &mut out,
                &ran,
                r.result_set_options,
                json_records,
                r.include_result_metadata,
            )?;
        }
        out.number_of_records_updated = if ran.query || ran.ddl { 0 } else { ran.changes };
        out.generated_fields = generated_fields(&ran);
        Ok(out)
    }

    /// The legacy `ExecuteSql` (Aurora Serverless v1, deprecated): one or more statements separated by `;`, each
    /// run on its own, answered as `sqlStatementResults` with `ExecuteSql`'s `Value` union.
    /// Source: botocore `rds-data` model, `ExecuteSqlRequest` and `ExecuteSqlResponse`.
    fn execute_sql(&self, i: usize, r: ExecuteSqlRequest) -> Result<ExecuteSqlResponse, RdsError> {
        let mut results = Vec::new();
        for statement in sql::split(&r.sql_statements)? {
            let ran = self.run_one(i, r.database.as_deref(), None, &statement, &[])?;
            results.push(if ran.query {
                let records = ran
                    .rows
                    .iter()
                    .map(|row| Record {
                        values: row
                            .iter()
                            .zip(&ran.columns)
                            .map(|(v, c)| fields::legacy_value(v, c.decl_type.as_deref()))
                            .collect(),
                    })
                    .collect();
                let columns: Vec<Value> = ran.columns.iter().map(fields::column_metadata).collect();
                SqlStatementResult {
                    result_frame: Some(ResultFrame {
                        result_set_metadata: ResultSetMetadata {
                            column_count: columns.len(),
                            column_metadata: columns,
                        },
                        records,
                    }),
                    number_of_records_updated: 0,
                }
            } else {
                SqlStatementResult {
                    result_frame: None,
                    number_of_records_updated: if ran.ddl { 0 } else { ran.changes },
                }
            });
        }
        let out = ExecuteSqlResponse {
            sql_statement_results: results,
        };
        if serde_json::to_string(&out).map_or(0, |s| s.len()) > render::MAX_RESPONSE {
            return Err(RdsError::BadRequest(
                "Database response exceeded size limit".into(),
            ));
        }
        Ok(out)
    }

    /// `BatchExecuteStatement`: the statement once per parameter set.
    /// FIXME: outside a transaction each set commits on its own, so a failing set leaves the earlier ones
    /// written; we have no source for AWS's behaviour there.
    fn batch_execute(
        &self,
        i: usize,
        r: BatchExecuteStatementRequest,
    ) -> Result<BatchExecuteStatementResponse, RdsError> {
        let mut update_results = Vec::new();
        for params in &r.parameter_sets {
            let ran = self.run_one(
                i,
                r.database.as_deref(),
                r.transaction_id.as_deref(),
                &r.sql,
                params,
            )?;
            update_results.push(UpdateResult {
                generated_fields: generated_fields(&ran),
            });
        }
        Ok(BatchExecuteStatementResponse { update_results })
    }

    fn begin(
        &self,
        i: usize,
        r: BeginTransactionRequest,
    ) -> Result<BeginTransactionResponse, RdsError> {
        let session = self.clusters[i].engine.begin(r.database.as_deref())?;
        let id = base64::engine::general_purpose::STANDARD.encode(self.env.ids.uuid());
        self.transactions.open(
            id.clone(),
            i,
            session,
            self.env.clock.now_ms(),
            self.clusters[i].max_transactions,
        )?;
        Ok(BeginTransactionResponse { transaction_id: id })
    }

    /// Commits or rolls back transaction `id` of cluster `i`.
    fn end(&self, i: usize, id: &str, commit: bool) -> Result<(), RdsError> {
        let Lease { session } = self.transactions.finish(id, i)?;
        if commit {
            session.commit()
        } else {
            session.rollback()
        }
    }
}

/// A statement's `generatedFields`: the `AUTO_INCREMENT` value it generated, if any.
fn generated_fields(ran: &Ran) -> Vec<Value> {
    ran.generated_id
        .map(|id| serde_json::json!({ "longValue": id }))
        .into_iter()
        .collect()
}

/// A cluster's schema files, each with its text.
fn read_schema(config: &Config, c: &ClusterConfig) -> Result<Vec<(PathBuf, String)>, RdsError> {
    c.schema
        .iter()
        .map(|file| {
            let path = config.base_dir.join(file);
            std::fs::read_to_string(&path)
                .map(|text| (path.clone(), text))
                .map_err(|e| RdsError::Internal(format!("cannot read {}: {e}", path.display())))
        })
        .collect()
}

/// Opens cluster `c` on its server, or on SQLite, and makes its schema. A server that cannot be reached fails here,
/// naming the cluster.
fn open_cluster(
    c: &ClusterConfig,
    secrets: &[SecretConfig],
    data_dir: Option<&Path>,
    env: &Env,
    schema: &[(PathBuf, String)],
) -> Result<Cluster, RdsError> {
    let engine: Arc<dyn Engine> = match c.server(secrets).map_err(RdsError::BadRequest)? {
        Some(server) => {
            let engine = engine::server::open(c, server)
                .map_err(|e| RdsError::Internal(format!("cluster {}: {e}", c.arn)))?;
            run_schema(&*engine, c, schema)?;
            engine
        }
        None => Arc::new(open_sqlite(c, data_dir, env, schema)?),
    };
    Ok(Cluster {
        arn: c.arn.clone(),
        secrets: c.secret_arns.clone(),
        engine,
        max_transactions: c.max_transactions,
    })
}

/// A SQLite cluster with its schema made: copied from the schema cache when it holds this schema, and otherwise
/// run, and then kept in the cache if it only defines schema.
fn open_sqlite(
    c: &ClusterConfig,
    data_dir: Option<&Path>,
    env: &Env,
    schema: &[(PathBuf, String)],
) -> Result<Sqlite, RdsError> {
    let cached = match data_dir {
        None if !schema.is_empty() => schema_cache::entry(
            c.database.as_deref(),
            schema.iter().map(|(_, t)| t.as_str()),
        ),
        _ => None,
    };
    let found = cached.as_deref().filter(|d| d.is_dir());
    let (sqlite, restored) = Sqlite::open_from(c, data_dir, env, found)?;
    if restored {
        return Ok(sqlite);
    }
    if let Some(unusable) = found {
        // Written by hand or cut short by a crash: made again below.
        let _ = std::fs::remove_dir_all(unusable);
    }
    let defines_only = run_schema(&sqlite, c, schema)?;
    if let (Some(to), true) = (cached, defines_only) {
        match sqlite.save(&to) {
            Ok(()) => schema_cache::prune(&to),
            Err(e) => tracing::debug!("the schema cache was not written: {e}"),
        }
    }
    Ok(sqlite)
}

/// Runs a cluster's schema files, and says whether every statement only defined schema.
fn run_schema(
    engine: &dyn Engine,
    c: &ClusterConfig,
    schema: &[(PathBuf, String)],
) -> Result<bool, RdsError> {
    let mut defines_only = true;
    for (path, text) in schema {
        let statements = sql::split_script(text)
            .map_err(|e| RdsError::BadRequest(format!("{}: {e}", path.display())))?;
        for st in statements {
            defines_only &= st.defines;
            engine
                .execute(c.database.as_deref(), &st.text, &[])
                .map_err(|e| {
                    RdsError::BadRequest(format!("{}: {}: {e}", path.display(), st.text))
                })?;
        }
    }
    Ok(defines_only)
}

#[cfg(test)]
mod tests;
