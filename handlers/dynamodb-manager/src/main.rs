//! A port of the DynamoDB manager seed (`LambdaFunctionOverHttps`), which ran boto3's `Table` resource.
//!
//! The event is `{"operation": ..., "tableName": ..., "payload": {...}}`. The operations are `create` (PutItem),
//! `read` (GetItem), `update` (UpdateItem), `delete` (DeleteItem), `list` (Scan), `echo` (the payload back) and
//! `ping` (`"pong"`). The payload's keys are the keyword arguments the seed passed to boto3, with plain JSON values
//! as boto3's resource layer takes them.
//!
//! # Values
//!
//! In: a string is `S`, an integer `N`, a boolean `BOOL`, null `NULL`, an array `L` and an object `M`, as boto3's
//! `TypeSerializer` does. A number with a fraction or exponent is refused as boto3 refuses a Python float
//! (`TypeError: Float types are not supported. Use Decimal types instead.`).
//!
//! Out: the reverse. boto3 gives `N` as a `Decimal`, `SS`/`NS`/`BS` as Python sets and `B` as bytes, none of which
//! the seed's Python runtime could serialise; we give JSON numbers, arrays and base64 strings instead.
//!
//! # Responses
//!
//! The shape boto3 returns: the operation's output members (`Item`, `Attributes`, `Items`, `Count`,
//! `ScannedCount`, `LastEvaluatedKey`, `ConsumedCapacity`), and `ResponseMetadata` with `RequestId`,
//! `HTTPStatusCode` and `RetryAttempts`. boto3's `HTTPHeaders` is left out.
//!
//! # Errors
//!
//! An unknown operation fails with `ValueError: Unrecognized operation "x"`, as the seed raised it. A DynamoDB
//! error fails as boto3's `ClientError`: `An error occurred (Code) when calling the Op operation: message`. A
//! payload key boto3 does not know fails as its `ParamValidationError` does.
//!
//! # Behind API Gateway
//!
//! The seed's API is `POST /DynamoDBManager`. Behind a Lambda proxy integration the event is API Gateway's: a REST
//! API (v1) event has `httpMethod` and `requestContext`, an HTTP API (payload format 2.0) event has
//! `version: "2.0"` and `requestContext.http`. The request body, base64-decoded when `isBase64Encoded`, is then
//! taken as the seed's event, and the answer is a proxy response:
//! `{"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": "<the result as JSON>"}`.
//!
//! A failure is a proxy response too, so that a client sees what went wrong instead of API Gateway's bare 502. Its
//! body is `{"errorType": ..., "errorMessage": ...}` and its status is
//!
//! - 400 for the caller's mistakes: `ValueError` (an unknown operation), `KeyError` (no `operation`), `NameError`
//!   (no `tableName`), `TypeError`, `ParamValidationError` (a bad payload), `JSONDecodeError` (a body that is not
//!   JSON, or not base64 when it says it is), and a `ClientError` whose DynamoDB status is 4xx
//!   (`ValidationException`, `ResourceNotFoundException`, `ConditionalCheckFailedException`, ...);
//! - 500 for the rest: a `ClientError` whose status is 5xx (`InternalServerError`, `ServiceUnavailable`), and
//!   DynamoDB out of reach.
//!
//! A raw event, as the seed's console test sends it, gets the seed's behaviour exactly: the result, or a function
//! error. The detection looks at those few fields of the JSON value itself instead of parsing `aws_lambda_events`'
//! request types: those demand fields the handler never reads (`requestContext.httpMethod`, well-formed headers),
//! and a proxy event that failed to parse would be taken for a raw one and answered with a function error.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionalOperator, ConsumedCapacity, ReturnConsumedCapacity,
    ReturnItemCollectionMetrics, ReturnValue, ReturnValuesOnConditionCheckFailure, Select,
};
use lambda_runtime::{Diagnostic, Error, LambdaEvent, run, service_fn};
use serde_json::{Map, Value, json};

/// A failure, as the seed's Python would have raised it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Failure {
    error_type: &'static str,
    message: String,
    /// For a `ClientError`, the HTTP status DynamoDB answered with.
    http_status: Option<u16>,
}

impl Failure {
    fn new(error_type: &'static str, message: impl Into<String>) -> Self {
        Self {
            error_type,
            message: message.into(),
            http_status: None,
        }
    }
}

impl From<Failure> for Diagnostic {
    fn from(f: Failure) -> Self {
        Diagnostic {
            error_type: f.error_type.to_string(),
            error_message: f.message,
        }
    }
}

type Result<T> = std::result::Result<T, Failure>;

/// boto3's `TypeSerializer`, for plain JSON.
fn to_attr(v: &Value) -> Result<AttributeValue> {
    Ok(match v {
        Value::Null => AttributeValue::Null(true),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Number(n) if n.is_i64() || n.is_u64() => AttributeValue::N(n.to_string()),
        Value::Number(_) => {
            return Err(Failure::new(
                "TypeError",
                "Float types are not supported. Use Decimal types instead.",
            ));
        }
        Value::String(s) => AttributeValue::S(s.clone()),
        Value::Array(items) => AttributeValue::L(items.iter().map(to_attr).collect::<Result<_>>()?),
        Value::Object(map) => AttributeValue::M(to_item(map)?),
    })
}

fn to_item(map: &Map<String, Value>) -> Result<HashMap<String, AttributeValue>> {
    map.iter()
        .map(|(k, v)| Ok((k.clone(), to_attr(v)?)))
        .collect()
}

/// A JSON number for a DynamoDB number, keeping integers exact.
fn number(n: &str) -> Value {
    if let Ok(i) = n.parse::<i64>() {
        return Value::from(i);
    }
    if let Ok(u) = n.parse::<u64>() {
        return Value::from(u);
    }
    n.parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map(Value::Number)
        .unwrap_or_else(|| Value::String(n.to_string()))
}

fn b64(b: &Blob) -> Value {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = b.as_ref();
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    Value::String(out)
}

/// boto3's `TypeDeserializer`, to plain JSON.
fn from_attr(v: &AttributeValue) -> Value {
    match v {
        AttributeValue::S(s) => Value::String(s.clone()),
        AttributeValue::N(n) => number(n),
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::B(b) => b64(b),
        AttributeValue::Ss(items) => items.iter().cloned().map(Value::String).collect(),
        AttributeValue::Ns(items) => items.iter().map(|n| number(n)).collect(),
        AttributeValue::Bs(items) => items.iter().map(b64).collect(),
        AttributeValue::L(items) => items.iter().map(from_attr).collect(),
        AttributeValue::M(map) => Value::Object(from_item(map)),
        _ => Value::Null,
    }
}

fn from_item(item: &HashMap<String, AttributeValue>) -> Map<String, Value> {
    item.iter()
        .map(|(k, v)| (k.clone(), from_attr(v)))
        .collect()
}

/// The payload's keyword arguments, taken one by one so that any left over can be refused.
struct Args {
    op: &'static str,
    map: Map<String, Value>,
    allowed: &'static [&'static str],
}

impl Args {
    fn new(
        op: &'static str,
        payload: Option<&Value>,
        allowed: &'static [&'static str],
    ) -> Result<Self> {
        let map = match payload {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(other) => {
                return Err(Failure::new(
                    "TypeError",
                    format!(
                        "{op}() argument after ** must be a mapping, not {}",
                        py_type(other)
                    ),
                ));
            }
        };
        if let Some(unknown) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(Failure::new(
                "ParamValidationError",
                format!(
                    "Parameter validation failed:\nUnknown parameter in input: \"{unknown}\", must be one of: TableName, {}",
                    allowed.join(", ")
                ),
            ));
        }
        Ok(Self { op, map, allowed })
    }

    fn invalid(&self, key: &str, expected: &str) -> Failure {
        Failure::new(
            "ParamValidationError",
            format!(
                "Parameter validation failed:\nInvalid type for parameter {key}, value: {}, type: {}, valid types: {expected}",
                self.map[key],
                py_type(&self.map[key])
            ),
        )
    }

    fn required(&self, key: &str) -> Result<()> {
        debug_assert!(self.allowed.contains(&key), "{} {key}", self.op);
        if self.map.contains_key(key) {
            Ok(())
        } else {
            Err(Failure::new(
                "ParamValidationError",
                format!(
                    "Parameter validation failed:\nMissing required parameter in input: \"{key}\""
                ),
            ))
        }
    }

    fn string(&self, key: &str) -> Result<Option<String>> {
        match self.map.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.invalid(key, "<class 'str'>")),
        }
    }

    fn boolean(&self, key: &str) -> Result<Option<bool>> {
        match self.map.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(self.invalid(key, "<class 'bool'>")),
        }
    }

    fn int(&self, key: &str) -> Result<Option<i32>> {
        match self.map.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| self.invalid(key, "<class 'int'>")),
        }
    }

    fn item(&self, key: &str) -> Result<Option<HashMap<String, AttributeValue>>> {
        match self.map.get(key) {
            None => Ok(None),
            Some(Value::Object(m)) => to_item(m).map(Some),
            Some(_) => Err(self.invalid(key, "<class 'dict'>")),
        }
    }

    fn names(&self) -> Result<Option<HashMap<String, String>>> {
        const KEY: &str = "ExpressionAttributeNames";
        match self.map.get(KEY) {
            None => Ok(None),
            Some(Value::Object(m)) => m
                .iter()
                .map(|(k, v)| match v {
                    Value::String(s) => Ok((k.clone(), s.clone())),
                    _ => Err(self.invalid(KEY, "<class 'str'>")),
                })
                .collect::<Result<_>>()
                .map(Some),
            Some(_) => Err(self.invalid(KEY, "<class 'dict'>")),
        }
    }

    fn strings(&self, key: &str) -> Result<Option<Vec<String>>> {
        match self.map.get(key) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| self.invalid(key, "<class 'list'>"))
                })
                .collect::<Result<_>>()
                .map(Some),
            Some(_) => Err(self.invalid(key, "<class 'list'>")),
        }
    }

    fn parsed<T: for<'a> From<&'a str>>(&self, key: &str) -> Result<Option<T>> {
        Ok(self.string(key)?.map(|s| T::from(s.as_str())))
    }

    /// The legacy `Expected` and `AttributeUpdates` parameters take DynamoDB's own value shapes, which boto3's
    /// resource layer also converts. They are not supported here.
    fn legacy(&self, key: &str) -> Result<()> {
        if self.map.contains_key(key) {
            return Err(Failure::new(
                "ParamValidationError",
                format!(
                    "Parameter validation failed:\n{key} is a legacy parameter this port does not support; use expressions"
                ),
            ));
        }
        Ok(())
    }
}

fn py_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "<class 'NoneType'>",
        Value::Bool(_) => "<class 'bool'>",
        Value::Number(n) if n.is_f64() => "<class 'float'>",
        Value::Number(_) => "<class 'int'>",
        Value::String(_) => "<class 'str'>",
        Value::Array(_) => "<class 'list'>",
        Value::Object(_) => "<class 'dict'>",
    }
}

/// boto3's `ClientError` message, with the HTTP status it came with.
fn client_error<E: ProvideErrorMetadata>(op: &str, e: &E, http_status: Option<u16>) -> Failure {
    Failure {
        http_status,
        ..Failure::new(
            "ClientError",
            format!(
                "An error occurred ({}) when calling the {op} operation: {}",
                e.code().unwrap_or("Unknown"),
                e.message().unwrap_or_default()
            ),
        )
    }
}

fn sdk_error<E>(op: &str, e: aws_sdk_dynamodb::error::SdkError<E>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match e.as_service_error() {
        Some(service) => client_error(op, service, e.raw_response().map(|r| r.status().as_u16())),
        None => Failure::new(
            "EndpointConnectionError",
            aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string(),
        ),
    }
}

fn metadata(request_id: Option<&str>) -> Value {
    json!({
        "RequestId": request_id.unwrap_or_default(),
        "HTTPStatusCode": 200,
        "RetryAttempts": 0,
    })
}

fn capacity(c: Option<&ConsumedCapacity>) -> Option<Value> {
    c.map(|c| {
        let mut v = json!({"TableName": c.table_name()});
        if let Some(u) = c.capacity_units() {
            v["CapacityUnits"] = json!(u);
        }
        if let Some(u) = c.read_capacity_units() {
            v["ReadCapacityUnits"] = json!(u);
        }
        if let Some(u) = c.write_capacity_units() {
            v["WriteCapacityUnits"] = json!(u);
        }
        v
    })
}

fn response(members: Vec<(&str, Option<Value>)>, request_id: Option<&str>) -> Value {
    let mut out = Map::new();
    for (k, v) in members {
        if let Some(v) = v {
            out.insert(k.to_string(), v);
        }
    }
    out.insert("ResponseMetadata".into(), metadata(request_id));
    Value::Object(out)
}

const EXPR: [&str; 2] = ["ExpressionAttributeNames", "ExpressionAttributeValues"];

/// Sets the options PutItem, UpdateItem and DeleteItem share on any of their request builders.
macro_rules! with_write_options {
    ($builder:expr, $a:expr) => {{
        let a = &$a;
        $builder
            .set_condition_expression(a.string("ConditionExpression")?)
            .set_expression_attribute_names(a.names()?)
            .set_expression_attribute_values(a.item("ExpressionAttributeValues")?)
            .set_return_values(a.parsed::<ReturnValue>("ReturnValues")?)
            .set_return_consumed_capacity(
                a.parsed::<ReturnConsumedCapacity>("ReturnConsumedCapacity")?,
            )
            .set_return_item_collection_metrics(
                a.parsed::<ReturnItemCollectionMetrics>("ReturnItemCollectionMetrics")?,
            )
            .set_return_values_on_condition_check_failure(
                a.parsed::<ReturnValuesOnConditionCheckFailure>(
                    "ReturnValuesOnConditionCheckFailure",
                )?,
            )
            .set_conditional_operator(a.parsed::<ConditionalOperator>("ConditionalOperator")?)
    }};
}

/// The answer of a write: its old or new attributes when asked for, and the consumed capacity.
fn attributes_response(
    attributes: Option<&HashMap<String, AttributeValue>>,
    consumed: Option<&ConsumedCapacity>,
    request_id: Option<&str>,
) -> Value {
    response(
        vec![
            (
                "Attributes",
                attributes.map(|i| Value::Object(from_item(i))),
            ),
            ("ConsumedCapacity", capacity(consumed)),
        ],
        request_id,
    )
}

async fn put_item(db: &Client, table: &str, payload: Option<&Value>) -> Result<Value> {
    use aws_sdk_dynamodb::operation::RequestId;
    let a = Args::new(
        "put_item",
        payload,
        &[
            "Item",
            "Expected",
            "ReturnValues",
            "ReturnConsumedCapacity",
            "ReturnItemCollectionMetrics",
            "ConditionalOperator",
            "ConditionExpression",
            EXPR[0],
            EXPR[1],
            "ReturnValuesOnConditionCheckFailure",
        ],
    )?;
    a.required("Item")?;
    a.legacy("Expected")?;
    let builder = db.put_item().table_name(table).set_item(a.item("Item")?);
    let out = with_write_options!(builder, a)
        .send()
        .await
        .map_err(|e| sdk_error("PutItem", e))?;
    Ok(attributes_response(
        out.attributes.as_ref(),
        out.consumed_capacity(),
        out.request_id(),
    ))
}

async fn get_item(db: &Client, table: &str, payload: Option<&Value>) -> Result<Value> {
    use aws_sdk_dynamodb::operation::RequestId;
    let a = Args::new(
        "get_item",
        payload,
        &[
            "Key",
            "AttributesToGet",
            "ConsistentRead",
            "ReturnConsumedCapacity",
            "ProjectionExpression",
            EXPR[0],
        ],
    )?;
    a.required("Key")?;
    let out = db
        .get_item()
        .table_name(table)
        .set_key(a.item("Key")?)
        .set_attributes_to_get(a.strings("AttributesToGet")?)
        .set_consistent_read(a.boolean("ConsistentRead")?)
        .set_return_consumed_capacity(a.parsed::<ReturnConsumedCapacity>("ReturnConsumedCapacity")?)
        .set_projection_expression(a.string("ProjectionExpression")?)
        .set_expression_attribute_names(a.names()?)
        .send()
        .await
        .map_err(|e| sdk_error("GetItem", e))?;
    Ok(response(
        vec![
            (
                "Item",
                out.item.as_ref().map(|i| Value::Object(from_item(i))),
            ),
            ("ConsumedCapacity", capacity(out.consumed_capacity())),
        ],
        out.request_id(),
    ))
}

async fn update_item(db: &Client, table: &str, payload: Option<&Value>) -> Result<Value> {
    use aws_sdk_dynamodb::operation::RequestId;
    let a = Args::new(
        "update_item",
        payload,
        &[
            "Key",
            "AttributeUpdates",
            "Expected",
            "ConditionalOperator",
            "ReturnValues",
            "ReturnConsumedCapacity",
            "ReturnItemCollectionMetrics",
            "UpdateExpression",
            "ConditionExpression",
            EXPR[0],
            EXPR[1],
            "ReturnValuesOnConditionCheckFailure",
        ],
    )?;
    a.required("Key")?;
    a.legacy("Expected")?;
    a.legacy("AttributeUpdates")?;
    let builder = db
        .update_item()
        .table_name(table)
        .set_key(a.item("Key")?)
        .set_update_expression(a.string("UpdateExpression")?);
    let out = with_write_options!(builder, a)
        .send()
        .await
        .map_err(|e| sdk_error("UpdateItem", e))?;
    Ok(attributes_response(
        out.attributes.as_ref(),
        out.consumed_capacity(),
        out.request_id(),
    ))
}

async fn delete_item(db: &Client, table: &str, payload: Option<&Value>) -> Result<Value> {
    use aws_sdk_dynamodb::operation::RequestId;
    let a = Args::new(
        "delete_item",
        payload,
        &[
            "Key",
            "Expected",
            "ConditionalOperator",
            "ReturnValues",
            "ReturnConsumedCapacity",
            "ReturnItemCollectionMetrics",
            "ConditionExpression",
            EXPR[0],
            EXPR[1],
            "ReturnValuesOnConditionCheckFailure",
        ],
    )?;
    a.required("Key")?;
    a.legacy("Expected")?;
    let builder = db.delete_item().table_name(table).set_key(a.item("Key")?);
    let out = with_write_options!(builder, a)
        .send()
        .await
        .map_err(|e| sdk_error("DeleteItem", e))?;
    Ok(attributes_response(
        out.attributes.as_ref(),
        out.consumed_capacity(),
        out.request_id(),
    ))
}

async fn scan(db: &Client, table: &str, payload: Option<&Value>) -> Result<Value> {
    use aws_sdk_dynamodb::operation::RequestId;
    let a = Args::new(
        "scan",
        payload,
        &[
            "IndexName",
            "AttributesToGet",
            "Limit",
            "Select",
            "ScanFilter",
            "ConditionalOperator",
            "ExclusiveStartKey",
            "ReturnConsumedCapacity",
            "TotalSegments",
            "Segment",
            "ProjectionExpression",
            "FilterExpression",
            EXPR[0],
            EXPR[1],
            "ConsistentRead",
        ],
    )?;
    a.legacy("ScanFilter")?;
    let out = db
        .scan()
        .table_name(table)
        .set_index_name(a.string("IndexName")?)
        .set_attributes_to_get(a.strings("AttributesToGet")?)
        .set_limit(a.int("Limit")?)
        .set_select(a.parsed::<Select>("Select")?)
        .set_conditional_operator(a.parsed::<ConditionalOperator>("ConditionalOperator")?)
        .set_exclusive_start_key(a.item("ExclusiveStartKey")?)
        .set_return_consumed_capacity(a.parsed::<ReturnConsumedCapacity>("ReturnConsumedCapacity")?)
        .set_total_segments(a.int("TotalSegments")?)
        .set_segment(a.int("Segment")?)
        .set_projection_expression(a.string("ProjectionExpression")?)
        .set_filter_expression(a.string("FilterExpression")?)
        .set_expression_attribute_names(a.names()?)
        .set_expression_attribute_values(a.item("ExpressionAttributeValues")?)
        .set_consistent_read(a.boolean("ConsistentRead")?)
        .send()
        .await
        .map_err(|e| sdk_error("Scan", e))?;
    let items = out
        .items()
        .iter()
        .map(|i| Value::Object(from_item(i)))
        .collect();
    Ok(response(
        vec![
            ("Items", Some(Value::Array(items))),
            ("Count", Some(json!(out.count()))),
            ("ScannedCount", Some(json!(out.scanned_count()))),
            (
                "LastEvaluatedKey",
                out.last_evaluated_key
                    .as_ref()
                    .map(|k| Value::Object(from_item(k))),
            ),
            ("ConsumedCapacity", capacity(out.consumed_capacity())),
        ],
        out.request_id(),
    ))
}

async fn handle(db: &Client, event: &Value) -> Result<Value> {
    // The seed read `event['operation']`, raising KeyError when it is missing.
    let operation = match event.get("operation") {
        Some(Value::String(op)) => op.as_str(),
        Some(other) => {
            return Err(Failure::new(
                "ValueError",
                format!("Unrecognized operation \"{}\"", python_str(other)),
            ));
        }
        None => return Err(Failure::new("KeyError", "'operation'")),
    };
    let payload = event.get("payload");
    let table = || match event.get("tableName") {
        Some(Value::String(t)) => Ok(t.as_str()),
        // The seed only made its `dynamo` table when the event named one, and failed with a NameError otherwise.
        _ => Err(Failure::new("NameError", "name 'dynamo' is not defined")),
    };
    match operation {
        "create" => put_item(db, table()?, payload).await,
        "read" => get_item(db, table()?, payload).await,
        "update" => update_item(db, table()?, payload).await,
        "delete" => delete_item(db, table()?, payload).await,
        "list" => scan(db, table()?, payload).await,
        "echo" => Ok(payload.cloned().unwrap_or(Value::Null)),
        "ping" => Ok(Value::String("pong".into())),
        other => Err(Failure::new(
            "ValueError",
            format!("Unrecognized operation \"{other}\""),
        )),
    }
}

/// The seed's event inside an API Gateway proxy event, or `None` when `event` is not one.
fn proxy_body(event: &Value) -> Option<Result<Value>> {
    let rest = event.get("httpMethod").is_some() && event.get("requestContext").is_some();
    let http = event.get("version").and_then(Value::as_str) == Some("2.0")
        && event.pointer("/requestContext/http").is_some();
    if !rest && !http {
        return None;
    }
    let body = event.get("body").and_then(Value::as_str).unwrap_or("");
    let bytes = if event.get("isBase64Encoded") == Some(&Value::Bool(true)) {
        use base64::Engine;
        match base64::engine::general_purpose::STANDARD.decode(body) {
            Ok(b) => b,
            Err(e) => {
                return Some(Err(Failure::new(
                    "JSONDecodeError",
                    format!("the request body is not valid base64: {e}"),
                )));
            }
        }
    } else {
        body.as_bytes().to_vec()
    };
    Some(serde_json::from_slice(&bytes).map_err(|e| {
        Failure::new(
            "JSONDecodeError",
            format!("the request body is not JSON: {e}"),
        )
    }))
}

impl Failure {
    /// The HTTP status a proxy response gives this failure.
    fn status(&self) -> u16 {
        match self.error_type {
            // DynamoDB's 4xx errors are the caller's (ValidationException, ResourceNotFoundException,
            // ConditionalCheckFailedException, and the throttling errors, which DynamoDB also sends as 400);
            // its 5xx (InternalServerError, ServiceUnavailable) are not.
            "ClientError" => match self.http_status {
                Some(400..=499) => 400,
                _ => 500,
            },
            "ValueError"
            | "KeyError"
            | "NameError"
            | "TypeError"
            | "ParamValidationError"
            | "JSONDecodeError" => 400,
            _ => 500,
        }
    }
}

fn proxy_response(status: u16, body: &Value) -> Value {
    json!({
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": body.to_string(),
        "isBase64Encoded": false,
    })
}

/// Handles a raw seed event, or one inside an API Gateway proxy event.
async fn handle_any(db: &Client, event: &Value) -> Result<Value> {
    let Some(inner) = proxy_body(event) else {
        return handle(db, event).await;
    };
    let outcome = match inner {
        Ok(inner) => handle(db, &inner).await,
        Err(f) => Err(f),
    };
    Ok(match outcome {
        Ok(v) => proxy_response(200, &v),
        Err(f) => proxy_response(
            f.status(),
            &json!({"errorType": f.error_type, "errorMessage": f.message}),
        ),
    })
}

/// How Python's `str.format` prints a JSON value that was not a string.
fn python_str(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        other => other.to_string(),
    }
}

#[tokio::main]
async fn main() -> std::result::Result<(), Error> {
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let client = Client::new(&sdk);
    let client = &client;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        handle_any(client, &event.payload).await
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_json_round_trips_through_attribute_values() {
        let v = json!({"id": "1", "n": 5, "big": 18446744073709551615u64, "ok": true, "none": null,
                       "list": [1, "a"], "map": {"x": {"y": -3}}});
        let item = to_item(v.as_object().unwrap()).unwrap();
        assert_eq!(item["n"], AttributeValue::N("5".into()));
        assert_eq!(item["none"], AttributeValue::Null(true));
        assert_eq!(Value::Object(from_item(&item)), v);
    }

    #[test]
    fn floats_are_refused_as_boto3_refuses_them() {
        let e = to_attr(&json!(1.5)).unwrap_err();
        assert_eq!(e.error_type, "TypeError");
        assert_eq!(
            e.message,
            "Float types are not supported. Use Decimal types instead."
        );
    }

    #[test]
    fn sets_numbers_and_binary_come_out_as_json() {
        assert_eq!(from_attr(&AttributeValue::N("2.50".into())), json!(2.5));
        assert_eq!(
            from_attr(&AttributeValue::Ns(vec!["1".into(), "2".into()])),
            json!([1, 2])
        );
        assert_eq!(
            from_attr(&AttributeValue::B(Blob::new("hi!!"))),
            json!("aGkhIQ==")
        );
        assert_eq!(from_attr(&AttributeValue::B(Blob::new("h"))), json!("aA=="));
    }

    #[test]
    fn unknown_payload_keys_are_refused_like_boto3() {
        let e = Args::new("get_item", Some(&json!({"Kee": {}})), &["Key"])
            .err()
            .unwrap();
        assert_eq!(e.error_type, "ParamValidationError");
        assert!(
            e.message.contains("Unknown parameter in input: \"Kee\""),
            "{}",
            e.message
        );
    }

    #[tokio::test]
    async fn operations_without_dynamodb() {
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let db = Client::new(&sdk);
        let echo = json!({"operation": "echo", "payload": {"somekey1": "somevalue1"}});
        assert_eq!(
            handle(&db, &echo).await.unwrap(),
            json!({"somekey1": "somevalue1"})
        );
        assert_eq!(
            handle(&db, &json!({"operation": "ping"})).await.unwrap(),
            json!("pong")
        );
        let e = handle(&db, &json!({"operation": "x"})).await.unwrap_err();
        assert_eq!(
            (e.error_type, e.message.as_str()),
            ("ValueError", "Unrecognized operation \"x\"")
        );
        let e = handle(&db, &json!({"operation": "read"}))
            .await
            .unwrap_err();
        assert_eq!(e.error_type, "NameError");
    }

    #[tokio::test]
    async fn proxy_events_carry_the_seed_event_in_their_body() {
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let db = Client::new(&sdk);
        let rest = json!({"httpMethod": "POST", "requestContext": {}, "isBase64Encoded": false,
                          "body": r#"{"operation": "echo", "payload": {"a": 1}}"#});
        let out = handle_any(&db, &rest).await.unwrap();
        assert_eq!(out["statusCode"], 200);
        assert_eq!(out["headers"]["Content-Type"], "application/json");
        assert_eq!(out["body"], r#"{"a":1}"#);

        use base64::Engine;
        let encoded = base64::engine::general_purpose::STANDARD.encode(r#"{"operation": "ping"}"#);
        let v2 = json!({"version": "2.0", "requestContext": {"http": {"method": "POST"}},
                        "isBase64Encoded": true, "body": encoded});
        assert_eq!(handle_any(&db, &v2).await.unwrap()["body"], r#""pong""#);

        let unknown =
            json!({"httpMethod": "POST", "requestContext": {}, "body": r#"{"operation": "x"}"#});
        let out = handle_any(&db, &unknown).await.unwrap();
        assert_eq!(out["statusCode"], 400);
        let body: Value = serde_json::from_str(out["body"].as_str().unwrap()).unwrap();
        assert_eq!(
            body,
            json!({"errorType": "ValueError", "errorMessage": "Unrecognized operation \"x\""})
        );

        let garbage = json!({"httpMethod": "POST", "requestContext": {}, "body": "not json"});
        let out = handle_any(&db, &garbage).await.unwrap();
        assert_eq!(out["statusCode"], 400);
        assert!(out["body"].as_str().unwrap().contains("JSONDecodeError"));

        // A raw event keeps the seed's behaviour: a function error, not a proxy response.
        let raw = handle_any(&db, &json!({"operation": "x"}))
            .await
            .unwrap_err();
        assert_eq!(raw.error_type, "ValueError");
    }

    #[test]
    fn statuses_of_failures_that_are_not_dynamodb_errors() {
        assert_eq!(Failure::new("KeyError", "'operation'").status(), 400);
        assert_eq!(Failure::new("ParamValidationError", "x").status(), 400);
        assert_eq!(
            Failure::new("EndpointConnectionError", "down").status(),
            500
        );
    }

    /// A DynamoDB endpoint that answers every request with `status` and the error `code`.
    fn failing_dynamodb(status: u16, code: &str) -> String {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let body = json!({"__type": format!("com.amazonaws.dynamodb.v20120810#{code}"),
                          "message": "it failed"})
        .to_string();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut length = 0;
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                    if let Some((k, v)) = line.split_once(':')
                        && k.eq_ignore_ascii_case("content-length")
                    {
                        length = v.trim().parse().unwrap();
                    }
                    line.clear();
                }
                let mut request = vec![0; length];
                let _ = reader.read_exact(&mut request);
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\ncontent-type: application/x-amz-json-1.0\r\n\
                     content-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        url
    }

    async fn client_for(url: String) -> Client {
        use aws_sdk_dynamodb::config::{Credentials, Region};
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("a", "b", None, None, "test"))
            .endpoint_url(url)
            .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1))
            .load()
            .await;
        Client::new(&sdk)
    }

    #[tokio::test]
    async fn behind_a_proxy_dynamodb_4xx_errors_are_400_and_5xx_are_500() {
        let create = json!({"httpMethod": "POST", "requestContext": {},
            "body": r#"{"operation": "create", "tableName": "t", "payload": {"Item": {"id": "1"}}}"#});
        for (status, code, expected) in [
            (400, "ConditionalCheckFailedException", 400),
            (400, "ResourceNotFoundException", 400),
            (500, "InternalServerError", 500),
            (503, "ServiceUnavailable", 500),
        ] {
            let db = client_for(failing_dynamodb(status, code)).await;
            let out = handle_any(&db, &create).await.unwrap();
            assert_eq!(out["statusCode"], expected, "{code}: {out}");
            let body: Value = serde_json::from_str(out["body"].as_str().unwrap()).unwrap();
            assert_eq!(
                body,
                json!({"errorType": "ClientError", "errorMessage": format!(
                    "An error occurred ({code}) when calling the PutItem operation: it failed")}),
            );
            // The same failure from a raw event is the seed's function error.
            let raw = handle_any(
                &db,
                &serde_json::from_str(create["body"].as_str().unwrap()).unwrap(),
            )
            .await
            .unwrap_err();
            assert_eq!(raw.error_type, "ClientError");
        }
    }
}
