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

mod convert;
mod failure;
mod operations;
mod params;
mod proxy;

use aws_sdk_dynamodb::Client;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;

use crate::failure::{Failure, Result};
use crate::operations::{delete_item, get_item, put_item, scan, update_item};

/// Routes the seed's event to its operation, as the seed's `lambda_handler` did.
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

/// Handles a raw seed event, or one inside an API Gateway proxy event.
async fn handle_any(db: &Client, event: &Value) -> Result<Value> {
    let Some(inner) = proxy::request(event) else {
        return handle(db, event).await;
    };
    let outcome = match inner {
        Ok(inner) => handle(db, &inner).await,
        Err(f) => Err(f),
    };
    Ok(proxy::response(outcome))
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

// A Lambda instance handles one event at a time, so one thread serves it; a multi-threaded runtime would only
// hand each request and response between threads.
#[tokio::main(flavor = "current_thread")]
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
    use serde_json::json;

    use super::*;

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
