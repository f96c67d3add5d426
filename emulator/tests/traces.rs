//! Traces: a request through API Gateway, the function it invokes and the storage calls that function makes are
//! one trace, joined by the `X-Amzn-Trace-Id` that the AWS SDKs (for Rust, and boto3) send back; the traces are
//! served at `/_offcloud/api/traces`.

use serde_json::{Value, json};

use crate::support::{Builder, Harness, api_call, json_of, main_call};

async fn get(h: &Harness, path_and_query: &str) -> Value {
    let resp = main_call(h, "GET", path_and_query, &[], b"").await;
    assert_eq!(
        resp.0,
        200,
        "{path_and_query}: {}",
        String::from_utf8_lossy(&resp.2)
    );
    json_of(&resp)
}

/// The span of `service` named `name` in a trace as `/_offcloud/api/traces/{id}` serves it.
pub fn span<'a>(trace: &'a Value, service: &str, name: &str) -> &'a Value {
    trace["spans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service"] == service && s["name"] == name)
        .unwrap_or_else(|| panic!("no {service} span {name} in {trace:#}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_request_its_function_and_its_dynamodb_calls_are_one_trace() {
    let h = Builder::seeds().start().await;
    let body = json!({"service": "traced-service", "code": "TRACED"}).to_string();
    let resp = api_call(&h, "POST", "/Prod/ports", &[], body.as_bytes()).await;
    assert_eq!(resp.0, 200, "{}", String::from_utf8_lossy(&resp.2));
    let port = json_of(&resp);
    assert!(port.is_number(), "{port}");

    let list = get(&h, "/_offcloud/api/traces?function=port-master").await;
    let traces = list["traces"].as_array().unwrap();
    assert_eq!(traces.len(), 1, "{list:#}");
    assert_eq!(traces[0]["status"], "ok");
    assert_eq!(traces[0]["root"], "apigateway POST /Prod/ports");
    let id = traces[0]["id"].as_str().unwrap();
    assert!(
        regex::Regex::new(r"^1-[0-9a-f]{8}-[0-9a-f]{24}$")
            .unwrap()
            .is_match(id),
        "{id}"
    );

    let trace = get(&h, &format!("/_offcloud/api/traces/{id}")).await;
    let gateway = span(&trace, "apigateway", "POST /Prod/ports");
    assert_eq!(gateway["parent"], Value::Null);
    assert_eq!(gateway["attributes"]["status"], 200);
    assert_eq!(gateway["attributes"]["route"], "POST /ports");
    let function = span(&trace, "lambda", "port-master");
    assert_eq!(function["parent"], gateway["id"]);
    assert_eq!(function["attributes"]["cold"], true);
    assert!(function["attributes"]["durationMs"].as_f64().unwrap() > 0.0);
    // The Rust SDK in the function sent the trace back: its DynamoDB calls are steps of the invocation.
    let write = span(&trace, "dynamodb", "TransactWriteItems");
    assert_eq!(write["parent"], function["id"], "{trace:#}");
    assert_eq!(write["status"], "ok");
    assert_eq!(write["attributes"]["tables"], json!(["port-master"]));

    // A filter that matches nothing, and one trace that is not there.
    let none = get(
        &h,
        "/_offcloud/api/traces?function=port-master&status=error",
    )
    .await;
    assert_eq!(none["traces"], json!([]));
    let missing = main_call(
        &h,
        "GET",
        "/_offcloud/api/traces/1-00000000-000000000000000000000000",
        &[],
        b"",
    )
    .await;
    assert_eq!(missing.0, 404);
}

const PY: &str = r#"
import boto3

def handler(event, context):
    print("looking for", event["table"])
    client = boto3.client("dynamodb")
    try:
        client.describe_table(TableName=event["table"])
        return {"found": True}
    except client.exceptions.ResourceNotFoundException:
        return {"found": False}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_calls_join_the_trace_of_an_invoke_that_names_one() {
    let dir = std::env::temp_dir().join(format!("offcloud-traces-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("app.py"), PY).unwrap();
    let config = format!(
        "trace_capacity = 2\n[[function]]\nname = \"py-traced\"\nruntime = \"python3.12\"\nhandler = \"app.handler\"\ncwd = \"{}\"\ntimeout = 10\n",
        dir.display()
    );
    let h = Builder::new(config).start().await;
    let root = "1-5759e988-bd862e3fe1be46a994272793";
    let header = format!("Root={root};Parent=53995c3f42cd8ad8;Sampled=1");
    let resp = main_call(
        &h,
        "POST",
        "/2015-03-31/functions/py-traced/invocations",
        &[("x-amzn-trace-id", &header)],
        br#"{"table": "no-such-table"}"#,
    )
    .await;
    assert_eq!(resp.0, 200, "{}", String::from_utf8_lossy(&resp.2));
    assert_eq!(json_of(&resp), json!({"found": false}));

    let trace = get(&h, &format!("/_offcloud/api/traces/{root}")).await;
    let function = span(&trace, "lambda", "py-traced");
    assert_eq!(function["parent"], "53995c3f42cd8ad8");
    let logs: Vec<&str> = function["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(
        logs.iter().any(|l| l.contains("looking for no-such-table")),
        "{logs:?}"
    );
    let describe = span(&trace, "dynamodb", "DescribeTable");
    assert_eq!(describe["parent"], function["id"], "{trace:#}");
    assert_eq!(describe["status"], "error");
    assert!(
        describe["error"]
            .as_str()
            .unwrap()
            .starts_with("ResourceNotFoundException: "),
        "{describe:#}"
    );
    let errors = get(&h, "/_offcloud/api/traces?status=error").await;
    assert_eq!(errors["traces"][0]["id"], root);
    // The ring keeps `trace_capacity` traces: two more invocations push the first out.
    for _ in 0..2 {
        let resp = main_call(
            &h,
            "POST",
            "/2015-03-31/functions/py-traced/invocations",
            &[],
            br#"{"table": "no-such-table"}"#,
        )
        .await;
        assert_eq!(resp.0, 200);
    }
    let all = get(&h, "/_offcloud/api/traces").await;
    let ids: Vec<&str> = all["traces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2, "{all:#}");
    assert!(!ids.contains(&root), "{all:#}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn beyond_loopback_offcloud_s_own_endpoints_need_the_token() {
    let h = Builder::new("").token("s3cret").start().await;
    for path in ["/_offcloud/api/traces", "/_offcloud/faults", "/_offcloud/"] {
        let denied = main_call(&h, "GET", path, &[], b"").await;
        assert_eq!(denied.0, 401, "{path}");
        let with = format!("{path}?token=s3cret");
        let allowed = main_call(&h, "GET", &with, &[], b"").await;
        assert_eq!(
            allowed.0,
            200,
            "{path}: {}",
            String::from_utf8_lossy(&allowed.2)
        );
    }
    // The AWS services themselves are not behind it, as on AWS, where they sign requests instead.
    let invoke = main_call(
        &h,
        "POST",
        "/2015-03-31/functions/none/invocations",
        &[],
        b"{}",
    )
    .await;
    assert_eq!(invoke.0, 404);
}
