//! The Data API's wire: restJson1 `POST /Execute`, `/BatchExecute`, `/BeginTransaction`, `/CommitTransaction`,
//! `/RollbackTransaction` and the legacy `/ExecuteSql` on the main port.
//!
//! Source: botocore `data/rds-data/2018-08-01/service-2.json` (protocol `rest-json`). Errors carry their type in
//! `x-amzn-ErrorType` and `{"message": ...}` as the body.
//!
//! A body is decoded into one typed request per operation ([`shapes`]), with every member checked here, and each
//! operation's typed response is encoded here.

mod shapes;

pub use shapes::*;

use serde_json::Value;

use super::RdsError;
use crate::net::{WireRequest, WireResponse};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    ExecuteStatement,
    BatchExecuteStatement,
    BeginTransaction,
    CommitTransaction,
    RollbackTransaction,
    ExecuteSql,
}

impl Operation {
    pub fn name(self) -> &'static str {
        match self {
            Self::ExecuteStatement => "ExecuteStatement",
            Self::BatchExecuteStatement => "BatchExecuteStatement",
            Self::BeginTransaction => "BeginTransaction",
            Self::CommitTransaction => "CommitTransaction",
            Self::RollbackTransaction => "RollbackTransaction",
            Self::ExecuteSql => "ExecuteSql",
        }
    }
}

/// The largest request: 4 MiB (Aurora user guide, Data API limits:
/// https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/data-api.html).
pub const MAX_REQUEST: usize = 4 * 1024 * 1024;

/// The operation at a Data API path, if the path is one.
pub fn operation(req: &WireRequest) -> Option<Operation> {
    Some(match req.path.as_str() {
        "/Execute" => Operation::ExecuteStatement,
        "/BatchExecute" => Operation::BatchExecuteStatement,
        "/BeginTransaction" => Operation::BeginTransaction,
        "/CommitTransaction" => Operation::CommitTransaction,
        "/RollbackTransaction" => Operation::RollbackTransaction,
        "/ExecuteSql" => Operation::ExecuteSql,
        _ => return None,
    })
}

/// The request of operation `op`: its body, as JSON and then decoded. An empty body is an empty object, as the
/// SDKs send no body for no members.
pub fn decode(op: Operation, req: &WireRequest) -> Result<Call, RdsError> {
    if req.method != http::Method::POST {
        return Err(RdsError::BadRequest(format!(
            "{} is not supported on {}; the Data API takes POST",
            req.method, req.path
        )));
    }
    if req.body.len() > MAX_REQUEST {
        // FIXME: AWS's text for an oversized request is not in our sources.
        return Err(RdsError::BadRequest(format!(
            "The request is {} bytes; the Data API takes at most {MAX_REQUEST}",
            req.body.len()
        )));
    }
    if req.body.is_empty() {
        return Ok(request(op, &Value::Object(Default::default())));
    }
    match serde_json::from_slice::<Value>(&req.body) {
        Ok(v @ Value::Object(_)) => Ok(request(op, &v)),
        _ => Err(RdsError::BadRequest(
            "Unable to parse the request body as a JSON object".into(),
        )),
    }
}

/// A response as JSON.
pub fn json(response: &Response) -> Value {
    // The shapes are structs, lists, strings and numbers, which always serialize.
    serde_json::to_value(response).unwrap_or_default()
}

pub fn encode(response: &Response, request_id: &str) -> WireResponse {
    WireResponse::json(200, &json(response)).header("x-amzn-requestid", request_id)
}

pub fn encode_error(e: &RdsError, request_id: &str) -> WireResponse {
    if e.status() >= 500 {
        tracing::warn!("Data API request failed: {e}");
    }
    WireResponse::json(e.status(), &serde_json::json!({"message": e.to_string()}))
        .header("x-amzn-errortype", e.code())
        .header("x-amzn-requestid", request_id)
}
