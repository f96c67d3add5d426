//! Fault injection: faults declared in the config and through `/_offcloud/faults` make DynamoDB, the Data API,
//! Lambda and API Gateway fail with AWS's own errors, and go when they are spent or removed.

use serde_json::{Value, json};

use crate::support::{Builder, Harness, faulty, header, json_of, raw};

const ARN: &str = "arn:aws:rds:us-east-1:123456789012:cluster:c";

fn config(extra: &str) -> String {
    format!(
        r#"{f}
[[table]]
name = "things"
hash_key = {{ name = "pk", type = "S" }}

[[cluster]]
arn = "{ARN}"
database = "db"

[[api]]
name = "rest"
type = "rest"
stage = "Prod"
[[api.route]]
method = "GET"
path = "/items"
function = "f"
{extra}
"#,
        f = faulty("f", "environment = { FAULT_MODE = \"proxy\" }") + &faulty("g", "timeout = 1")
    )
}

async fn admin(h: &Harness, method: &str, path: &str, body: Value) -> (u16, Value) {
    let r = raw(
        &h.emulator.main_addr.to_string(),
        method,
        path,
        &[("content-type", "application/json")],
        body.to_string().as_bytes(),
    )
    .await;
    (r.0, serde_json::from_slice(&r.2).unwrap_or(Value::Null))
}

/// Adds a fault through the admin endpoint; its id.
async fn add_fault(h: &Harness, fault: Value) -> u64 {
    let (status, v) = admin(h, "POST", "/_offcloud/faults", fault).await;
    assert_eq!(status, 201, "{v}");
    v["id"].as_u64().unwrap()
}

async fn put_item(h: &Harness) -> (u16, Vec<(String, String)>, Value) {
    let r = raw(
        &h.emulator.main_addr.to_string(),
        "POST",
        "/",
        &[
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amz-target", "DynamoDB_20120810.PutItem"),
        ],
        br#"{"TableName": "things", "Item": {"pk": {"S": "a"}}}"#,
    )
    .await;
    let v = serde_json::from_slice(&r.2).unwrap_or(Value::Null);
    (r.0, r.1, v)
}

#[tokio::test]
async fn dynamodb_faults_come_and_go_through_the_admin_endpoint() {
    let h = Builder::new(config("")).start().await;
    let id = add_fault(
        &h,
        json!({"service": "dynamodb", "operation": "PutItem", "table": "things",
               "error": "ProvisionedThroughputExceededException", "count": 2}),
    )
    .await;
    let (status, _, body) = put_item(&h).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({
            "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
            "message": "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API."
        })
    );
    let (_, listed) = admin(&h, "GET", "/_offcloud/faults", Value::Null).await;
    assert_eq!(listed["faults"][0]["id"], id);
    assert_eq!(listed["faults"][0]["remaining"], 1);
    assert_eq!(put_item(&h).await.0, 400);
    // Spent after two calls.
    assert_eq!(put_item(&h).await.0, 200);
    let (_, listed) = admin(&h, "GET", "/_offcloud/faults", Value::Null).await;
    assert_eq!(listed["faults"], json!([]));

    // Throttling and server errors, removed by id and all at once.
    let id = add_fault(
        &h,
        json!({"service": "dynamodb", "error": "ThrottlingException"}),
    )
    .await;
    let (status, _, body) = put_item(&h).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["__type"],
        "com.amazon.coral.availability#ThrottlingException"
    );
    assert_eq!(body["message"], "Rate exceeded");
    let (status, _) = admin(
        &h,
        "DELETE",
        &format!("/_offcloud/faults/{id}"),
        Value::Null,
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(put_item(&h).await.0, 200);
    add_fault(
        &h,
        json!({"service": "dynamodb", "error": "InternalServerError"}),
    )
    .await;
    let (status, headers, body) = put_item(&h).await;
    assert_eq!(status, 500);
    assert_eq!(
        body["__type"],
        "com.amazonaws.dynamodb.v20120810#InternalServerError"
    );
    assert!(header(&headers, "x-amzn-requestid").is_some());
    assert_eq!(
        admin(&h, "DELETE", "/_offcloud/faults", Value::Null)
            .await
            .0,
        204
    );
    assert_eq!(put_item(&h).await.0, 200);
}

#[tokio::test]
async fn the_admin_endpoint_refuses_faults_it_cannot_honour() {
    let h = Builder::new(config("")).start().await;
    let (status, v) = admin(
        &h,
        "POST",
        "/_offcloud/faults",
        json!({"service": "dynamodb", "error": "Boom"}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        v["message"],
        "Invalid fault: unknown dynamodb error \"Boom\"; expected one of: ProvisionedThroughputExceededException, ThrottlingException, InternalServerError, TransactionConflictException"
    );
    let (status, v) = admin(
        &h,
        "POST",
        "/_offcloud/faults",
        json!({"service": "s3", "error": "x"}),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .starts_with("Invalid fault: unknown variant `s3`"),
        "{v}"
    );
    let (status, v) = admin(&h, "DELETE", "/_offcloud/faults/99", Value::Null).await;
    assert_eq!((status, v["message"].as_str()), (404, Some("No fault 99")));
    assert_eq!(
        admin(&h, "PUT", "/_offcloud/faults", Value::Null).await.0,
        405
    );
}

#[tokio::test]
async fn data_api_faults_answer_the_data_apis_errors() {
    let h = Builder::new(config("")).start().await;
    add_fault(
        &h,
        json!({"service": "rdsdata", "cluster": "c", "operation": "ExecuteStatement",
               "error": "StatementTimeoutException", "count": 1}),
    )
    .await;
    add_fault(
        &h,
        json!({"service": "rdsdata", "operation": "BeginTransaction", "error": "ServiceUnavailableError", "count": 1}),
    )
    .await;
    let client = h.rdsdata().await;
    let e = client
        .execute_statement()
        .resource_arn(ARN)
        .secret_arn("s")
        .sql("SELECT 1")
        .send()
        .await
        .unwrap_err();
    let e = e.into_service_error();
    assert!(e.is_statement_timeout_exception(), "{e:?}");
    assert_eq!(e.meta().message(), Some("Request timed out"));
    let r = raw(
        &h.emulator.main_addr.to_string(),
        "POST",
        "/BeginTransaction",
        &[("content-type", "application/json")],
        json!({"resourceArn": ARN, "secretArn": "s"})
            .to_string()
            .as_bytes(),
    )
    .await;
    assert_eq!(r.0, 503);
    assert_eq!(
        header(&r.1, "x-amzn-errortype"),
        Some("ServiceUnavailableError")
    );
    // Both were counted once; the next calls run.
    client
        .execute_statement()
        .resource_arn(ARN)
        .secret_arn("s")
        .sql("SELECT 1")
        .send()
        .await
        .unwrap();
}

async fn invoke(h: &Harness) -> (u16, Option<String>, Value) {
    let r = raw(
        &h.emulator.main_addr.to_string(),
        "POST",
        "/2015-03-31/functions/g/invocations",
        &[],
        br#"{"action": "echo"}"#,
    )
    .await;
    let v = serde_json::from_slice(&r.2).unwrap_or(Value::Null);
    (
        r.0,
        header(&r.1, "x-amz-function-error").map(str::to_string),
        v,
    )
}

#[tokio::test]
async fn lambda_faults_throttle_time_out_crash_and_start_cold() {
    let faults = r#"
[[fault]]
service = "lambda"
function = "g"
error = "TooManyRequestsException"
count = 1

[[fault]]
service = "lambda"
error = "Sandbox.Timedout"
count = 1

[[fault]]
service = "lambda"
error = "Runtime.ExitError"
count = 1

[[fault]]
service = "lambda"
cold_start = true
latency_ms = 300
count = 1
"#;
    let h = Builder::new(config(faults)).start().await;
    let (status, _, v) = invoke(&h).await;
    assert_eq!(status, 429);
    assert_eq!(
        v["Reason"],
        "ReservedFunctionConcurrentInvocationLimitExceeded"
    );
    let (status, error, v) = invoke(&h).await;
    assert_eq!((status, error.as_deref()), (200, Some("Unhandled")));
    assert_eq!(v["errorType"], "Sandbox.Timedout");
    assert!(
        v["errorMessage"]
            .as_str()
            .unwrap()
            .ends_with("Task timed out after 1.00 seconds"),
        "{v}"
    );
    let (_, error, v) = invoke(&h).await;
    assert_eq!(error.as_deref(), Some("Unhandled"));
    assert_eq!(v["errorType"], "Runtime.ExitError");
    assert!(
        v["errorMessage"]
            .as_str()
            .unwrap()
            .ends_with("Runtime exited with error: signal: killed"),
        "{v}"
    );
    // A warm instance, then the forced cold start (after its latency) gets another one.
    let (_, error, warm) = invoke(&h).await;
    assert_eq!(error, None, "{warm}");
    let g = h.emulator.lambda.resolve("g", None).unwrap().clone();
    let started = std::time::Instant::now();
    h.emulator
        .faults
        .add(
            serde_json::from_value(
                json!({"service": "lambda", "cold_start": true, "latency_ms": 300, "count": 1}),
            )
            .unwrap(),
        )
        .unwrap();
    let (_, _, cold) = invoke(&h).await;
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
    assert_ne!(warm["pid"], cold["pid"], "a new instance");
    let (_, _, again) = invoke(&h).await;
    assert!(again["pid"] == cold["pid"] || again["pid"] == warm["pid"]);
    // The throttled, timed-out and crashed invocations never reached the function.
    assert_eq!(g.invocations(), 3);
}

#[tokio::test]
async fn api_gateway_faults_answer_the_gateways_5xx() {
    let faults = r#"
[[fault]]
service = "apigateway"
api = "rest"
operation = "GET /items"
status = 504
count = 1

[[fault]]
service = "apigateway"
status = 502
count = 1
"#;
    let h = Builder::new(config(faults)).start().await;
    let r = crate::support::api_call(&h, "GET", "/Prod/items", &[], b"").await;
    assert_eq!(r.0, 504);
    assert_eq!(
        json_of(&r),
        json!({"message": "Endpoint request timed out"})
    );
    let r = crate::support::api_call(&h, "GET", "/Prod/items", &[], b"").await;
    assert_eq!(r.0, 502);
    assert_eq!(json_of(&r), json!({"message": "Internal server error"}));
    assert_eq!(
        header(&r.1, "x-amzn-errortype"),
        Some("InternalServerErrorException")
    );
    let r = crate::support::api_call(&h, "GET", "/Prod/items", &[], b"").await;
    assert_eq!(r.0, 200, "{}", String::from_utf8_lossy(&r.2));
}

#[test]
fn a_config_fault_that_cannot_be_honoured_names_the_file_and_line() {
    let text = config("\n[[fault]]\nservice = \"lambda\"\nerror = \"Boom\"\n");
    let e = offcloud::config::Config::parse("offcloud.toml", &text, std::path::Path::new("."))
        .unwrap_err();
    assert_eq!(e.file, "offcloud.toml");
    // The line of the fault's table.
    let line = text.lines().position(|l| l == "[[fault]]").unwrap() + 1;
    assert_eq!(e.line, line, "{e}");
    assert!(
        e.message.starts_with(
            "fault: unknown lambda error \"Boom\"; expected one of: TooManyRequestsException"
        ),
        "{e}"
    );
}
