//! The operations' requests and responses, and the checks of each request member.
//! Source: botocore `rds-data` model, the `...Request` and `...Response` shapes.

use serde::Serialize;
use serde_json::Value;

use super::Operation;
use crate::rdsdata::engine::Param;
use crate::rdsdata::fields::{self, ResultSetOptions};
use crate::rdsdata::{RdsError, sql};

/// The longest `transactionId` (botocore `rds-data` model, `Id` max 192).
const MAX_TRANSACTION_ID: usize = 192;

/// A request as the wire decoded it.
pub struct Call {
    /// The cluster that faults match: `resourceArn`, else `dbClusterOrInstanceArn`, else empty.
    pub fault_cluster: String,
    /// The cluster and secret the request names.
    pub target: Result<Target, RdsError>,
    /// The operation's other members, or the first that is wrong. That error is answered only after the target's
    /// cluster and secret are found, so that a caller hears of an unknown cluster first.
    pub request: Result<Request, RdsError>,
}

impl Call {
    /// The SQL the request runs, if any: for traces.
    pub fn sql(&self) -> Option<&str> {
        match self.request.as_ref().ok()? {
            Request::ExecuteStatement(r) => Some(&r.sql),
            Request::BatchExecuteStatement(r) => Some(&r.sql),
            Request::ExecuteSql(r) => Some(&r.sql_statements),
            _ => None,
        }
    }
}

/// The cluster and secret a request names: `resourceArn` and `secretArn`, or `ExecuteSql`'s
/// `dbClusterOrInstanceArn` and `awsSecretStoreArn`.
pub struct Target {
    pub cluster_arn: String,
    pub secret_arn: String,
}

pub enum Request {
    ExecuteStatement(ExecuteStatementRequest),
    BatchExecuteStatement(BatchExecuteStatementRequest),
    BeginTransaction(BeginTransactionRequest),
    CommitTransaction(CommitTransactionRequest),
    RollbackTransaction(RollbackTransactionRequest),
    ExecuteSql(ExecuteSqlRequest),
}

/// How `ExecuteStatement` answers a query's rows (`formatRecordsAs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RecordsFormat {
    /// `records` of typed fields.
    #[default]
    None,
    /// `formattedRecords`, one JSON text.
    Json,
}

pub struct ExecuteStatementRequest {
    pub sql: String,
    pub parameters: Vec<Param>,
    pub transaction_id: Option<String>,
    pub database: Option<String>,
    pub include_result_metadata: bool,
    pub result_set_options: ResultSetOptions,
    pub format_records_as: RecordsFormat,
}

pub struct BatchExecuteStatementRequest {
    pub sql: String,
    pub transaction_id: Option<String>,
    pub database: Option<String>,
    /// One list of parameters per run; one empty list when the request has none.
    pub parameter_sets: Vec<Vec<Param>>,
}

pub struct BeginTransactionRequest {
    pub database: Option<String>,
}

pub struct CommitTransactionRequest {
    pub transaction_id: String,
}

pub struct RollbackTransactionRequest {
    pub transaction_id: String,
}

/// The legacy `ExecuteSql` (Aurora Serverless v1, deprecated).
pub struct ExecuteSqlRequest {
    /// One or more statements separated by `;`.
    pub sql_statements: String,
    pub database: Option<String>,
}

/// The Coral text for a missing required member.
fn missing(member: &str) -> RdsError {
    RdsError::BadRequest(format!(
        "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
    ))
}

fn required(body: &Value, member: &str) -> Result<String, RdsError> {
    match body.get(member) {
        None | Some(Value::Null) => Err(missing(member)),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(RdsError::BadRequest(format!("{member} must be a string"))),
    }
}

fn optional(body: &Value, member: &str) -> Result<Option<String>, RdsError> {
    match body.get(member) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
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

fn transaction_id(body: &Value) -> Result<Option<String>, RdsError> {
    let id = optional(body, "transactionId")?;
    if let Some(id) = &id
        && id.len() > MAX_TRANSACTION_ID
    {
        return Err(RdsError::BadRequest(format!(
            "1 validation error detected: Value at 'transactionId' failed to satisfy constraint: Member must have length less than or equal to {MAX_TRANSACTION_ID}"
        )));
    }
    Ok(id)
}

/// Decodes the JSON object `body` as a request of `op`. Members are checked in the order the operations have
/// always checked them: the first one wrong is the error.
pub fn request(op: Operation, body: &Value) -> Call {
    let fault_cluster = body["resourceArn"]
        .as_str()
        .or(body["dbClusterOrInstanceArn"].as_str())
        .unwrap_or_default()
        .to_string();
    let (cluster, secret) = match op {
        Operation::ExecuteSql => ("dbClusterOrInstanceArn", "awsSecretStoreArn"),
        _ => ("resourceArn", "secretArn"),
    };
    let target = required(body, cluster).and_then(|cluster_arn| {
        Ok(Target {
            cluster_arn,
            secret_arn: required(body, secret)?,
        })
    });
    let request = match op {
        Operation::ExecuteStatement => execute_statement(body).map(Request::ExecuteStatement),
        Operation::BatchExecuteStatement => {
            batch_execute_statement(body).map(Request::BatchExecuteStatement)
        }
        Operation::BeginTransaction => optional(body, "database")
            .map(|database| Request::BeginTransaction(BeginTransactionRequest { database })),
        Operation::CommitTransaction => required(body, "transactionId").map(|transaction_id| {
            Request::CommitTransaction(CommitTransactionRequest { transaction_id })
        }),
        Operation::RollbackTransaction => required(body, "transactionId").map(|transaction_id| {
            Request::RollbackTransaction(RollbackTransactionRequest { transaction_id })
        }),
        Operation::ExecuteSql => execute_sql(body).map(Request::ExecuteSql),
    };
    Call {
        fault_cluster,
        target,
        request,
    }
}

fn execute_statement(body: &Value) -> Result<ExecuteStatementRequest, RdsError> {
    let sql = required(body, "sql")?;
    let parameters = fields::parameters(body.get("parameters"))?;
    let transaction_id = transaction_id(body)?;
    let database = optional(body, "database")?;
    let include_result_metadata = flag(body, "includeResultMetadata")?;
    flag(body, "continueAfterTimeout")?;
    let result_set_options = ResultSetOptions::from_request(body.get("resultSetOptions"))?;
    let format_records_as = match optional(body, "formatRecordsAs")?.as_deref() {
        None | Some("NONE") => RecordsFormat::None,
        Some("JSON") => RecordsFormat::Json,
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
    Ok(ExecuteStatementRequest {
        sql,
        parameters,
        transaction_id,
        database,
        include_result_metadata,
        result_set_options,
        format_records_as,
    })
}

fn batch_execute_statement(body: &Value) -> Result<BatchExecuteStatementRequest, RdsError> {
    let sql = required(body, "sql")?;
    let transaction_id = transaction_id(body)?;
    let database = optional(body, "database")?;
    let parameter_sets = match body.get("parameterSets") {
        None | Some(Value::Null) => vec![vec![]],
        Some(Value::Array(sets)) => sets
            .iter()
            .map(|set| fields::parameters(Some(set)))
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => {
            return Err(RdsError::BadRequest(
                "parameterSets must be a list of parameter lists".into(),
            ));
        }
    };
    Ok(BatchExecuteStatementRequest {
        sql,
        transaction_id,
        database,
        parameter_sets,
    })
}

fn execute_sql(body: &Value) -> Result<ExecuteSqlRequest, RdsError> {
    let sql_statements = required(body, "sqlStatements")?;
    let database = optional(body, "database")?;
    if sql_statements.len() > sql::MAX_SQL {
        return Err(sql::too_long("sqlStatements"));
    }
    Ok(ExecuteSqlRequest {
        sql_statements,
        database,
    })
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Response {
    ExecuteStatement(ExecuteStatementResponse),
    BatchExecuteStatement(BatchExecuteStatementResponse),
    BeginTransaction(BeginTransactionResponse),
    CommitTransaction(CommitTransactionResponse),
    RollbackTransaction(RollbackTransactionResponse),
    ExecuteSql(ExecuteSqlResponse),
}

/// `records` (arrays of `Field`s), `columnMetadata` and `generatedFields` are JSON as [`fields`] writes them.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecuteStatementResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub records: Option<Vec<Value>>,
    /// The rows as one JSON text, each object's members in the statement's column order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub formatted_records: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column_metadata: Option<Vec<Value>>,
    pub number_of_records_updated: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub generated_fields: Vec<Value>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchExecuteStatementResponse {
    pub update_results: Vec<UpdateResult>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateResult {
    pub generated_fields: Vec<Value>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BeginTransactionResponse {
    pub transaction_id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CommitTransactionResponse {
    pub transaction_status: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RollbackTransactionResponse {
    pub transaction_status: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecuteSqlResponse {
    pub sql_statement_results: Vec<SqlStatementResult>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SqlStatementResult {
    /// A query's rows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_frame: Option<ResultFrame>,
    pub number_of_records_updated: u64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResultFrame {
    pub result_set_metadata: ResultSetMetadata,
    pub records: Vec<Record>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResultSetMetadata {
    pub column_count: usize,
    pub column_metadata: Vec<Value>,
}

/// One row of `ExecuteSql`'s `Value` union.
#[derive(Debug, Serialize)]
pub struct Record {
    pub values: Vec<Value>,
}
