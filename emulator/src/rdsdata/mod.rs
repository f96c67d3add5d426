//! The RDS Data API: MySQL statements on embedded SQLite, for the clusters the config declares.
//!
//! - [`wire`] decodes and encodes restJson1 on the main port.
//! - [`sql`] parses MySQL with sqlparser and translates it for SQLite.
//! - [`storage`] is SQLite (one file per MySQL database); nothing else here touches it.
//! - [`DataApi`] is the operation layer: clusters, secrets, transactions, typed fields and MySQL's error texts.
//!
//! Errors carry MySQL's message in a `BadRequestException`, as the seed's Aurora Serverless v1 did
//! (`An error occurred (BadRequestException) ...: Duplicate entry 'instance-002' for key 'PRIMARY'`).
//! FIXME: Aurora Serverless v2 and provisioned clusters answer `DatabaseErrorException` instead.

pub mod sql;
pub mod storage;
pub mod wire;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use rusqlite::types::Value as Sql;
use serde_json::{Map, Value, json};

use crate::clock::Env;
use crate::config::{ClusterConfig, Config};
use sql::{Kind, Translated};
use storage::{ClusterFiles, Outcome, Param};

/// The largest response: 1 MiB (Aurora user guide, Data API limits).
const MAX_RESPONSE: usize = 1024 * 1024;
/// Idle transactions end after 3 minutes (Aurora user guide, Data API limits).
const TRANSACTION_IDLE: Duration = Duration::from_secs(180);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    ExecuteStatement,
    BatchExecuteStatement,
    BeginTransaction,
    CommitTransaction,
    RollbackTransaction,
    ExecuteSql,
}

/// A Data API error, with AWS's type, status and message.
/// Source: botocore `rds-data` model, `errors` of each operation.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RdsError {
    #[error("{0}")]
    BadRequest(String),
    /// Concurrent statements in one transaction.
    #[error("{0}")]
    DatabaseError(String),
    #[error("Transaction {0} isn't found")]
    TransactionNotFound(String),
    #[error("{0}")]
    Internal(String),
}

impl RdsError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "BadRequestException",
            Self::DatabaseError(_) => "DatabaseErrorException",
            Self::TransactionNotFound(_) => "TransactionNotFoundException",
            Self::Internal(_) => "InternalServerErrorException",
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            Self::BadRequest(_) | Self::DatabaseError(_) => 400,
            Self::TransactionNotFound(_) => 404,
            Self::Internal(_) => 500,
        }
    }
}

struct Cluster {
    arn: String,
    secrets: Vec<String>,
    database: Option<String>,
    files: ClusterFiles,
}

struct Transaction {
    cluster: usize,
    database: String,
    /// `None` while a statement runs on it.
    conn: Option<rusqlite::Connection>,
    used: Instant,
}

/// The Data API of every configured cluster.
pub struct DataApi {
    clusters: Vec<Cluster>,
    transactions: Mutex<HashMap<String, Transaction>>,
    env: Env,
}

fn required<'a>(body: &'a Value, member: &str) -> Result<&'a str, RdsError> {
    body.get(member).and_then(Value::as_str).ok_or_else(|| {
        RdsError::BadRequest(format!(
            "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
        ))
    })
}

impl DataApi {
    /// Opens every cluster's databases and runs its schema files.
    pub fn open(config: &Config, data_dir: Option<&Path>, env: Env) -> Result<Self, RdsError> {
        let mut clusters = Vec::new();
        for c in &config.clusters {
            clusters.push(open_cluster(c, data_dir)?);
        }
        let api = Self {
            clusters,
            transactions: Mutex::new(HashMap::new()),
            env,
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

    fn cluster(&self, body: &Value) -> Result<usize, RdsError> {
        let arn = required(body, "resourceArn")?;
        let secret = required(body, "secretArn")?;
        let i = self
            .clusters
            .iter()
            .position(|c| c.arn == arn)
            .ok_or_else(|| {
                let id = arn.rsplit(':').next().unwrap_or(arn);
                RdsError::BadRequest(format!("HttpEndpoint is not enabled for cluster {id}"))
            })?;
        let c = &self.clusters[i];
        if !c.secrets.is_empty() && !c.secrets.iter().any(|s| s == secret) {
            return Err(RdsError::BadRequest(format!(
                "Secrets Manager can't find the specified secret: {secret}"
            )));
        }
        Ok(i)
    }

    fn now(&self) -> String {
        chrono::DateTime::from_timestamp_millis(self.env.clock.now_ms() as i64)
            .unwrap_or_default()
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
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
            // FIXME: the legacy ExecuteSql (Aurora Serverless v1 only) is not served; its replacement is.
            Operation::ExecuteSql => Err(RdsError::BadRequest(
                "ExecuteSql is deprecated and not served by Offcloud; use ExecuteStatement".into(),
            )),
        }
    }

    fn expire_transactions(&self) {
        self.transactions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, t| t.conn.is_none() || t.used.elapsed() < TRANSACTION_IDLE);
    }

    fn execute(&self, body: &Value) -> Result<Value, RdsError> {
        let i = self.cluster(body)?;
        let sql = required(body, "sql")?;
        let params = parameters(body.get("parameters"))?;
        let tx = body.get("transactionId").and_then(Value::as_str);
        let database = body.get("database").and_then(Value::as_str);
        let (translated, outcome, generated) = self.run_one(i, database, tx, sql, &params)?;
        let mut out = Map::new();
        let metadata = body.get("includeResultMetadata").and_then(Value::as_bool) == Some(true);
        if matches!(translated.kind, Kind::Query) {
            let records: Vec<Value> = outcome
                .rows
                .iter()
                .map(|r| {
                    Value::Array(
                        r.iter()
                            .zip(&outcome.columns)
                            .map(|(v, c)| field(v, c.decl_type.as_deref()))
                            .collect(),
                    )
                })
                .collect();
            if body.get("formatRecordsAs").and_then(Value::as_str) == Some("JSON") {
                let objects: Vec<Value> = outcome
                    .rows
                    .iter()
                    .map(|r| {
                        Value::Object(
                            r.iter()
                                .zip(&outcome.columns)
                                .map(|(v, c)| (c.name.clone(), plain(v, c.decl_type.as_deref())))
                                .collect(),
                        )
                    })
                    .collect();
                out.insert(
                    "formattedRecords".into(),
                    Value::String(Value::Array(objects).to_string()),
                );
            } else {
                out.insert("records".into(), Value::Array(records));
            }
            if metadata {
                out.insert(
                    "columnMetadata".into(),
                    Value::Array(outcome.columns.iter().map(column_metadata).collect()),
                );
            }
        }
        out.insert(
            "numberOfRecordsUpdated".into(),
            json!(if matches!(translated.kind, Kind::Query) {
                0
            } else {
                outcome.changes
            }),
        );
        if !generated.is_empty() {
            out.insert("generatedFields".into(), Value::Array(generated));
        }
        let out = Value::Object(out);
        if out.to_string().len() > MAX_RESPONSE {
            return Err(RdsError::BadRequest(
                "Database returned more than the allowed response size limit".into(),
            ));
        }
        Ok(out)
    }

    fn batch_execute(&self, body: &Value) -> Result<Value, RdsError> {
        let i = self.cluster(body)?;
        let sql = required(body, "sql")?;
        let tx = body.get("transactionId").and_then(Value::as_str);
        let database = body.get("database").and_then(Value::as_str);
        let sets = match body.get("parameterSets") {
            Some(Value::Array(sets)) => sets.clone(),
            _ => vec![Value::Array(vec![])],
        };
        let mut results = Vec::new();
        for set in &sets {
            let params = parameters(Some(set))?;
            let (_, _, generated) = self.run_one(i, database, tx, sql, &params)?;
            results.push(json!({"generatedFields": generated}));
        }
        Ok(json!({"updateResults": results}))
    }

    fn begin(&self, body: &Value) -> Result<Value, RdsError> {
        let i = self.cluster(body)?;
        let database = self.database(i, body.get("database").and_then(Value::as_str))?;
        let conn = self.clusters[i].files.connect(&database)?;
        storage::begin(&conn)?;
        let id = base64::engine::general_purpose::STANDARD.encode(self.env.ids.uuid());
        self.transactions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                id.clone(),
                Transaction {
                    cluster: i,
                    database,
                    conn: Some(conn),
                    used: Instant::now(),
                },
            );
        Ok(json!({"transactionId": id}))
    }

    fn end(&self, body: &Value, commit: bool) -> Result<Value, RdsError> {
        let i = self.cluster(body)?;
        let id = required(body, "transactionId")?;
        let t = self
            .transactions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id)
            .filter(|t| t.cluster == i)
            .ok_or_else(|| RdsError::TransactionNotFound(id.to_string()))?;
        let conn = t.conn.ok_or_else(|| {
            RdsError::DatabaseError("Transaction is still running a query".into())
        })?;
        if commit {
            storage::commit(&conn)?;
            Ok(json!({"transactionStatus": "Transaction Committed"}))
        } else {
            storage::rollback(&conn)?;
            Ok(json!({"transactionStatus": "Rollback Complete"}))
        }
    }

    fn database(&self, i: usize, requested: Option<&str>) -> Result<String, RdsError> {
        requested
            .map(str::to_string)
            .or_else(|| self.clusters[i].database.clone())
            .ok_or_else(|| RdsError::BadRequest("No database selected".into()))
    }

    /// Translates and runs one statement, in a transaction or on its own.
    fn run_one(
        &self,
        i: usize,
        database: Option<&str>,
        tx: Option<&str>,
        sql: &str,
        params: &[Param],
    ) -> Result<(Translated, Outcome, Vec<Value>), RdsError> {
        let files = &self.clusters[i].files;
        let default_db = match tx {
            Some(id) => self
                .transactions
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(id)
                .map(|t| t.database.clone()),
            None => self.database(i, database).ok(),
        };
        let translated = sql::translate(sql, &self.now(), default_db.as_deref())?;
        if let Kind::CreateDatabase {
            name,
            if_not_exists,
        } = &translated.kind
        {
            files.create_database(name, *if_not_exists)?;
            return Ok((translated, Outcome::default(), vec![]));
        }
        let run = |conn: &rusqlite::Connection, db: &str| {
            let query = matches!(translated.kind, Kind::Query);
            let outcome = storage::run(conn, &translated.sql, params, query)
                .map_err(|e| mysql_error(conn, db, &translated, params, e))?;
            let generated = match &translated.kind {
                Kind::Insert { table, .. }
                    if outcome.changes > 0 && storage::autoincrement(conn, table) =>
                {
                    // MySQL's LAST_INSERT_ID(): the first id of a multi-row insert.
                    vec![
                        json!({"longValue": outcome.last_insert_rowid - outcome.changes as i64 + 1}),
                    ]
                }
                _ => vec![],
            };
            Ok((outcome, generated))
        };
        let (outcome, generated) = match tx {
            None => {
                let db = self.database(i, database)?;
                files.with_autocommit(&db, |conn| run(conn, &db))?
            }
            Some(id) => {
                let (conn, db) = {
                    let mut txs = self.transactions.lock().unwrap_or_else(|e| e.into_inner());
                    let t = txs
                        .get_mut(id)
                        .filter(|t| t.cluster == i)
                        .ok_or_else(|| RdsError::TransactionNotFound(id.to_string()))?;
                    let conn = t.conn.take().ok_or_else(|| {
                        RdsError::DatabaseError("Transaction is still running a query".into())
                    })?;
                    (conn, t.database.clone())
                };
                let result = run(&conn, &db);
                if let Some(t) = self
                    .transactions
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get_mut(id)
                {
                    t.conn = Some(conn);
                    t.used = Instant::now();
                }
                result?
            }
        };
        Ok((translated, outcome, generated))
    }
}

fn open_cluster(c: &ClusterConfig, data_dir: Option<&Path>) -> Result<Cluster, RdsError> {
    let id = c.arn.rsplit(':').next().unwrap_or("cluster").to_string();
    let files = ClusterFiles::open(data_dir.map(|d| storage::cluster_dir(d, &id)), &id)?;
    if let Some(db) = &c.database {
        files.create_database(db, true)?;
    }
    Ok(Cluster {
        arn: c.arn.clone(),
        secrets: c.secret_arns.clone(),
        database: c.database.clone(),
        files,
    })
}

/// The `parameters` of a request as SQLite values. A `typeHint` keeps the string, which MySQL would convert.
fn parameters(v: Option<&Value>) -> Result<Vec<Param>, RdsError> {
    let mut out = Vec::new();
    for p in v.and_then(Value::as_array).into_iter().flatten() {
        let name = p
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| RdsError::BadRequest("A parameter has no name".into()))?;
        let value = p.get("value").cloned().unwrap_or(Value::Null);
        let sql = match value.as_object().and_then(|o| o.iter().next()) {
            Some((k, v)) => match (k.as_str(), v) {
                ("isNull", _) => Sql::Null,
                ("stringValue", Value::String(s)) => Sql::Text(s.clone()),
                ("longValue", Value::Number(n)) => Sql::Integer(n.as_i64().unwrap_or_default()),
                ("doubleValue", Value::Number(n)) => Sql::Real(n.as_f64().unwrap_or_default()),
                ("booleanValue", Value::Bool(b)) => Sql::Integer(i64::from(*b)),
                ("blobValue", Value::String(s)) => Sql::Blob(
                    base64::engine::general_purpose::STANDARD
                        .decode(s)
                        .map_err(|e| RdsError::BadRequest(format!("blobValue of {name}: {e}")))?,
                ),
                ("arrayValue", _) => {
                    return Err(RdsError::BadRequest(
                        "Array parameters are not supported.".into(),
                    ));
                }
                (other, _) => {
                    return Err(RdsError::BadRequest(format!(
                        "Parameter {name} has an invalid value member {other}"
                    )));
                }
            },
            None => Sql::Null,
        };
        out.push((name.to_string(), sql));
    }
    Ok(out)
}

/// The MySQL type name of a declared type: `VARCHAR(70)` is `VARCHAR`.
fn base_type(decl: &str) -> String {
    decl.split('(')
        .next()
        .unwrap_or(decl)
        .trim()
        .to_ascii_uppercase()
}

/// A `Field` for a value, chosen by the column's declared MySQL type as the Data API chooses it.
fn field(v: &Sql, decl: Option<&str>) -> Value {
    let decl_upper = decl.map(str::to_ascii_uppercase).unwrap_or_default();
    let base = base_type(&decl_upper);
    match v {
        Sql::Null => json!({"isNull": true}),
        // MySQL's JDBC driver reads TINYINT(1) and BOOLEAN as booleans.
        Sql::Integer(n)
            if matches!(base.as_str(), "BOOLEAN" | "BOOL" | "BIT")
                || decl_upper == "TINYINT(1)" =>
        {
            json!({"booleanValue": *n != 0})
        }
        // DECIMAL comes back as a string with the column's scale (`decimalReturnType` STRING, the default).
        Sql::Integer(_) | Sql::Real(_) if matches!(base.as_str(), "DECIMAL" | "NUMERIC") => {
            let f = match v {
                Sql::Integer(n) => *n as f64,
                Sql::Real(f) => *f,
                _ => 0.0,
            };
            json!({"stringValue": format!("{f:.*}", decimal_scale(&decl_upper))})
        }
        Sql::Integer(n) => json!({"longValue": n}),
        Sql::Real(f) => json!({"doubleValue": f}),
        Sql::Text(s) if matches!(base.as_str(), "DATETIME" | "TIMESTAMP") => {
            json!({"stringValue": timestamp(s)})
        }
        Sql::Text(s) => json!({"stringValue": s}),
        Sql::Blob(b) => json!({"blobValue": base64::engine::general_purpose::STANDARD.encode(b)}),
    }
}

/// The scale of `DECIMAL(p,s)`: `s`, or 0 as MySQL's default.
fn decimal_scale(decl: &str) -> usize {
    decl.split_once('(')
        .and_then(|(_, rest)| rest.trim_end_matches(')').split(',').nth(1))
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// A JDBC timestamp's text, as the Data API gives DATETIME: `2019-03-06 02:45:32.0`.
fn timestamp(s: &str) -> String {
    if s.len() == 19 && !s.contains('.') {
        format!("{s}.0")
    } else {
        s.to_string()
    }
}

/// A value in `formattedRecords`.
fn plain(v: &Sql, decl: Option<&str>) -> Value {
    match field(v, decl).as_object().and_then(|o| o.iter().next()) {
        Some((k, _)) if k == "isNull" => Value::Null,
        Some((_, v)) => v.clone(),
        None => Value::Null,
    }
}

/// `ColumnMetadata` with the JDBC type codes MySQL's driver reports (java.sql.Types).
fn column_metadata(c: &storage::Column) -> Value {
    let decl = c.decl_type.as_deref().unwrap_or("");
    let base = base_type(decl);
    let jdbc = match base.as_str() {
        "INT" | "INTEGER" | "MEDIUMINT" => 4,
        "BIGINT" => -5,
        "SMALLINT" => 5,
        "TINYINT" if decl.eq_ignore_ascii_case("TINYINT(1)") => -7,
        "TINYINT" => -6,
        "BOOLEAN" | "BOOL" | "BIT" => -7,
        "DECIMAL" | "NUMERIC" => 3,
        "DOUBLE" | "REAL" => 8,
        "FLOAT" => 7,
        "DATE" => 91,
        "TIME" => 92,
        "DATETIME" | "TIMESTAMP" => 93,
        "CHAR" => 1,
        "TEXT" | "MEDIUMTEXT" | "LONGTEXT" | "JSON" => -1,
        "BLOB" | "VARBINARY" | "BINARY" => -4,
        _ => 12,
    };
    json!({
        "name": c.name,
        "label": c.name,
        "typeName": if base.is_empty() { "VARCHAR".to_string() } else { base },
        "type": jdbc,
        "nullable": 2,
        "isSigned": matches!(jdbc, 4 | -5 | 5 | -6 | 3 | 8 | 7),
        "isAutoIncrement": false,
        "isCurrency": false,
        "isCaseSensitive": false,
        "precision": 0,
        "scale": 0,
        "schemaName": "",
        "tableName": "",
        "arrayBaseColumnType": 0,
    })
}

/// SQLite's failure, in MySQL's words where we know them.
fn mysql_error(
    conn: &rusqlite::Connection,
    db: &str,
    t: &Translated,
    params: &[Param],
    e: rusqlite::Error,
) -> RdsError {
    let text = e.to_string();
    if let Some((_, extended, msg)) = storage::constraint(&e) {
        const PRIMARY_KEY: i32 = 1555;
        const UNIQUE: i32 = 2067;
        const FOREIGN_KEY: i32 = 787;
        const NOT_NULL: i32 = 1299;
        match extended {
            PRIMARY_KEY | UNIQUE => return duplicate(conn, t, params, &msg),
            FOREIGN_KEY => return foreign_key(conn, db, t),
            NOT_NULL => {
                let col = msg.rsplit('.').next().unwrap_or(&msg);
                return RdsError::BadRequest(format!("Column '{col}' cannot be null"));
            }
            _ => {}
        }
    }
    if let Some(table) = text.strip_prefix("no such table: ") {
        let table = table.split_whitespace().next().unwrap_or(table);
        let qualified = if table.contains('.') {
            table.to_string()
        } else {
            format!("{db}.{table}")
        };
        return RdsError::BadRequest(format!("Table '{qualified}' doesn't exist"));
    }
    if let Some(col) = text.strip_prefix("no such column: ") {
        let col = col.split_whitespace().next().unwrap_or(col);
        return RdsError::BadRequest(format!("Unknown column '{col}' in 'field list'"));
    }
    if let Some(rest) = text.strip_prefix("table ")
        && let Some(table) = rest.strip_suffix(" already exists")
    {
        return RdsError::BadRequest(format!(
            "Table '{}' already exists",
            table.trim_matches('"')
        ));
    }
    // FIXME: other SQLite failures keep SQLite's words.
    RdsError::BadRequest(text)
}

/// `Duplicate entry 'v' for key 'PRIMARY'` (MySQL 5.7, error 1062): the row of an INSERT that hit an existing key.
fn duplicate(conn: &rusqlite::Connection, t: &Translated, params: &[Param], msg: &str) -> RdsError {
    // SQLite: "UNIQUE constraint failed: table.a, table.b".
    let cols: Vec<String> = msg
        .trim_start_matches("UNIQUE constraint failed: ")
        .split(", ")
        .map(|c| c.rsplit('.').next().unwrap_or(c).to_string())
        .collect();
    let mut entry = None;
    let mut key = cols.first().cloned().unwrap_or_default();
    if let Kind::Insert {
        table,
        columns,
        rows,
    } = &t.kind
    {
        if storage::primary_key(conn, table) == cols {
            key = "PRIMARY".into();
        }
        let positions: Option<Vec<usize>> = cols
            .iter()
            .map(|c| columns.iter().position(|x| x == c))
            .collect();
        if let Some(positions) = positions {
            for row in rows {
                let exprs: Vec<String> = positions.iter().map(|&p| row[p].clone()).collect();
                if let Some(values) = storage::evaluate(conn, &exprs, params)
                    && storage::row_exists(conn, table, &cols, &values)
                {
                    let text: Vec<String> = values
                        .iter()
                        .map(|v| match v {
                            Sql::Text(s) => s.clone(),
                            Sql::Integer(n) => n.to_string(),
                            Sql::Real(f) => f.to_string(),
                            Sql::Null => "NULL".into(),
                            Sql::Blob(b) => String::from_utf8_lossy(b).into_owned(),
                        })
                        .collect();
                    entry = Some(text.join("-"));
                    break;
                }
            }
        }
    }
    match entry {
        Some(entry) => RdsError::BadRequest(format!("Duplicate entry '{entry}' for key '{key}'")),
        // FIXME: outside a plain INSERT we cannot always name the entry.
        None => RdsError::BadRequest(format!("Duplicate entry for key '{key}'")),
    }
}

/// MySQL's foreign key failure (errors 1451 and 1452), naming the constraint as InnoDB names it by default.
fn foreign_key(conn: &rusqlite::Connection, db: &str, t: &Translated) -> RdsError {
    let describe = |child: &str,
                    n: usize,
                    (parent, pcols, cols): &(String, Vec<String>, Vec<String>)| {
        format!(
            "(`{db}`.`{child}`, CONSTRAINT `{child}_ibfk_{n}` FOREIGN KEY (`{}`) REFERENCES `{parent}` (`{}`))",
            cols.join("`, `"),
            pcols.join("`, `")
        )
    };
    match &t.kind {
        Kind::Write {
            table,
            delete: true,
        } => {
            let parent = table.rsplit('.').next().unwrap_or(table);
            for child in storage::tables(conn) {
                let fks = storage::foreign_keys(conn, &child);
                if let Some((n, fk)) = fks.iter().enumerate().find(|(_, fk)| fk.0 == parent) {
                    return RdsError::BadRequest(format!(
                        "Cannot delete or update a parent row: a foreign key constraint fails {}",
                        describe(&child, n + 1, fk)
                    ));
                }
            }
            RdsError::BadRequest(
                "Cannot delete or update a parent row: a foreign key constraint fails".into(),
            )
        }
        Kind::Insert { table, .. } | Kind::Write { table, .. } => {
            let child = table.rsplit('.').next().unwrap_or(table);
            match storage::foreign_keys(conn, table).first() {
                Some(fk) => RdsError::BadRequest(format!(
                    "Cannot add or update a child row: a foreign key constraint fails {}",
                    describe(child, 1, fk)
                )),
                None => RdsError::BadRequest(
                    "Cannot add or update a child row: a foreign key constraint fails".into(),
                ),
            }
        }
        _ => RdsError::BadRequest("a foreign key constraint fails".into()),
    }
}
