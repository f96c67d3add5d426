//! API Gateway: REST v1 proxy, HTTP API v2 and Lambda custom integrations, through real HTTP on the API port.

use serde_json::{Value, json};

use crate::support::api_call as call;
use crate::support::{Builder, Resp, faulty, header, json_of};

/// A REST API and an HTTP API in front of the proxy-mode fault runtime.
fn proxy_config(extra_rest: &str) -> String {
    format!(
        r#"{f}
[[api]]
name = "rest"
type = "rest"
stage = "Prod"
api_keys = ["secret-key"]
binary_media_types = ["image/*"]
stage_variables = {{ env = "local" }}
cors = {{ allow_origins = ["*"], allow_methods = ["GET", "POST"], max_age = 60 }}
{extra_rest}
[[api.route]]
method = "GET"
path = "/items/{{id}}"
function = "f"
[[api.route]]
method = "GET"
path = "/items/special"
function = "f"
[[api.route]]
method = "ANY"
path = "/{{proxy+}}"
function = "f"
[[api.route]]
method = "POST"
path = "/keyed"
function = "f"
api_key_required = true
[[api.route]]
method = "GET"
path = "/slow"
function = "f"
timeout_ms = 300

[[api]]
name = "http"
type = "http"
[[api.route]]
method = "ANY"
path = "/v2/{{thing}}"
function = "f"
"#,
        f = faulty("f", "environment = { FAULT_MODE = \"proxy\" }\ntimeout = 5")
    )
}

#[tokio::test]
async fn rest_proxy_event_has_every_field_and_parses_with_aws_lambda_events() {
    let h = Builder::new(proxy_config("")).start().await;
    let r = call(
        &h,
        "GET",
        "/Prod/items/42?a=1&a=2&b=x%20y",
        &[("user-agent", "test-agent"), ("x-rep", "1"), ("x-rep", "2")],
        b"",
    )
    .await;
    assert_eq!(r.0, 200);
    assert_eq!(header(&r.1, "x-single"), Some("one"));
    assert_eq!(r.1.iter().filter(|(k, _)| k == "x-multi").count(), 2);
    let ev = json_of(&r);
    assert_eq!(ev["resource"], "/items/{id}");
    assert_eq!(ev["path"], "/items/42");
    assert_eq!(ev["httpMethod"], "GET");
    assert_eq!(ev["headers"]["x-rep"], "2");
    assert_eq!(ev["multiValueHeaders"]["x-rep"], json!(["1", "2"]));
    assert_eq!(ev["queryStringParameters"], json!({"a": "2", "b": "x y"}));
    assert_eq!(
        ev["multiValueQueryStringParameters"],
        json!({"a": ["1", "2"], "b": ["x y"]})
    );
    assert_eq!(ev["pathParameters"], json!({"id": "42"}));
    assert_eq!(ev["stageVariables"], json!({"env": "local"}));
    assert_eq!(ev["body"], Value::Null);
    assert_eq!(ev["isBase64Encoded"], false);
    let rc = &ev["requestContext"];
    for key in [
        "accountId",
        "apiId",
        "domainName",
        "httpMethod",
        "path",
        "protocol",
        "requestId",
        "requestTime",
        "resourceId",
        "resourcePath",
        "stage",
    ] {
        assert!(rc[key].is_string(), "requestContext.{key}: {rc}");
    }
    assert_eq!(rc["path"], "/Prod/items/42");
    assert_eq!(rc["stage"], "Prod");
    assert_eq!(rc["resourcePath"], "/items/{id}");
    assert_eq!(rc["identity"]["sourceIp"], "127.0.0.1");
    assert_eq!(rc["identity"]["userAgent"], "test-agent");
    assert!(
        rc["requestTimeEpoch"].as_u64().unwrap() > 1_600_000_000_000,
        "milliseconds"
    );
    assert!(
        regex::Regex::new(r"^\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000$")
            .unwrap()
            .is_match(rc["requestTime"].as_str().unwrap())
    );
    let parsed: aws_lambda_events::apigw::ApiGatewayProxyRequest =
        serde_json::from_value(ev.clone()).unwrap();
    assert_eq!(
        parsed.path_parameters.get("id").map(String::as_str),
        Some("42")
    );
    let lr: lambda_http::request::LambdaRequest = serde_json::from_value(ev).unwrap();
    assert!(matches!(
        lr,
        lambda_http::request::LambdaRequest::ApiGatewayV1(_)
    ));
}

#[tokio::test]
async fn http_api_event_is_payload_format_2() {
    let h = Builder::new(proxy_config("")).start().await;
    let r = call(
        &h,
        "POST",
        "/v2/widgets?a=1&a=2",
        &[
            ("X-Rep", "1"),
            ("x-rep", "2"),
            ("cookie", "c1=1; c2=2"),
            ("content-type", "application/json"),
        ],
        br#"{"k":"v"}"#,
    )
    .await;
    assert_eq!(r.0, 200, "{}", String::from_utf8_lossy(&r.2));
    // The function answers its proxy response; its body holds the event.
    let ev = json_of(&r);
    assert_eq!(ev["version"], "2.0");
    assert_eq!(ev["routeKey"], "ANY /v2/{thing}");
    assert_eq!(ev["rawPath"], "/v2/widgets");
    assert_eq!(ev["rawQueryString"], "a=1&a=2");
    assert_eq!(ev["cookies"], json!(["c1=1", "c2=2"]));
    assert_eq!(ev["headers"]["x-rep"], "1,2");
    assert_eq!(ev["queryStringParameters"], json!({"a": "1,2"}));
    assert_eq!(ev["pathParameters"], json!({"thing": "widgets"}));
    assert_eq!(ev["body"], r#"{"k":"v"}"#);
    assert_eq!(ev["isBase64Encoded"], false);
    assert_eq!(ev["requestContext"]["http"]["method"], "POST");
    assert_eq!(ev["requestContext"]["routeKey"], "ANY /v2/{thing}");
    assert_eq!(ev["requestContext"]["stage"], "$default");
    assert!(ev["requestContext"]["timeEpoch"].as_u64().unwrap() > 1_600_000_000_000);
    assert!(ev.get("multiValueHeaders").is_none());
    let parsed: aws_lambda_events::apigw::ApiGatewayV2httpRequest =
        serde_json::from_value(ev.clone()).unwrap();
    assert_eq!(parsed.route_key.as_deref(), Some("ANY /v2/{thing}"));
    let lr: lambda_http::request::LambdaRequest = serde_json::from_value(ev).unwrap();
    assert!(matches!(
        lr,
        lambda_http::request::LambdaRequest::ApiGatewayV2(_)
    ));
}

#[tokio::test]
async fn routing_precedence_and_stage_prefix() {
    let h = Builder::new(proxy_config("")).start().await;
    let resource = |r: &Resp| json_of(r)["resource"].as_str().unwrap().to_string();
    assert_eq!(
        resource(&call(&h, "GET", "/items/special", &[], b"").await),
        "/items/special"
    );
    assert_eq!(
        resource(&call(&h, "GET", "/Prod/items/special", &[], b"").await),
        "/items/special"
    );
    assert_eq!(
        resource(&call(&h, "GET", "/items/7", &[], b"").await),
        "/items/{id}"
    );
    let r = call(&h, "DELETE", "/a/b/c", &[], b"").await;
    assert_eq!(resource(&r), "/{proxy+}");
    assert_eq!(json_of(&r)["pathParameters"], json!({"proxy": "a/b/c"}));
}

#[tokio::test]
async fn unknown_routes_are_403_on_rest_and_404_on_http_apis() {
    let h = Builder::new(proxy_config("")).start().await;
    let r = call(&h, "GET", "/", &[], b"").await;
    assert_eq!(r.0, 403);
    assert_eq!(
        json_of(&r),
        json!({"message": "Missing Authentication Token"})
    );
    let only_http = format!(
        "{}\n[[api]]\nname = \"h\"\ntype = \"http\"\n[[api.route]]\nmethod = \"GET\"\npath = \"/x\"\nfunction = \"f\"\n",
        faulty("f", "")
    );
    let h = Builder::new(only_http).start().await;
    let r = call(&h, "GET", "/y", &[], b"").await;
    assert_eq!(r.0, 404);
    assert_eq!(json_of(&r), json!({"message": "Not Found"}));
}

#[tokio::test]
async fn malformed_and_failed_proxy_results_are_502() {
    let h = Builder::new(proxy_config("")).start().await;
    let r = call(&h, "GET", "/items/1?action=malformed", &[], b"").await;
    assert_eq!(r.0, 502);
    assert_eq!(json_of(&r), json!({"message": "Internal server error"}));
    let r = call(&h, "GET", "/items/1?action=error", &[], b"").await;
    assert_eq!(r.0, 502);
    assert_eq!(json_of(&r), json!({"message": "Internal server error"}));
    let r = call(&h, "GET", "/v2/x?action=error", &[], b"").await;
    assert_eq!(r.0, 500);
    assert_eq!(json_of(&r), json!({"message": "Internal Server Error"}));
}

#[tokio::test]
async fn slow_integration_is_504() {
    let h = Builder::new(proxy_config("")).start().await;
    let r = call(
        &h,
        "GET",
        "/slow",
        &[("content-type", "application/json")],
        br#"{"action":"sleep","ms":1500}"#,
    )
    .await;
    assert_eq!(r.0, 504);
    assert_eq!(
        json_of(&r),
        json!({"message": "Endpoint request timed out"})
    );
}

/// On AWS the integration timeout ends only the gateway's wait: the invocation runs to its own end.
#[tokio::test]
async fn an_integration_timeout_leaves_the_invocation_running() {
    let h = Builder::new(proxy_config("")).start().await;
    let touch = std::env::temp_dir().join(format!("offcloud-timeout-{}", std::process::id()));
    let _ = std::fs::remove_file(&touch);
    let body = json!({"action": "sleep", "ms": 800, "touch": touch}).to_string();
    let r = call(
        &h,
        "GET",
        "/slow",
        &[("content-type", "application/json")],
        body.as_bytes(),
    )
    .await;
    assert_eq!(r.0, 504);
    assert!(
        !touch.exists(),
        "the gateway answered before the function finished"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !touch.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the invocation was cut short"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let _ = std::fs::remove_file(&touch);
}

/// Details recorded from real API Gateway (shared notes apigw-authorizers-validation-vtl.md §11.1, §11.3).
#[tokio::test]
async fn rest_proxy_events_and_answers_match_recorded_aws_details() {
    let h = Builder::new(proxy_config("")).start().await;
    let port = h.emulator.api_addr.unwrap().port().to_string();
    let r = call(
        &h,
        "GET",
        "/Prod/items/a%2Bb?t=+00:00&x=a+b%2Bc",
        &[
            ("tEsT-HEADeR", "v"),
            ("Content-Type", "text/plain"),
            ("aUThorization", "token"),
            ("user-agent", "ua"),
            (
                "X-Amzn-Trace-Id",
                "Root=1-5e7fe714-fee6909429159440eb352c40",
            ),
        ],
        b"",
    )
    .await;
    assert_eq!(r.0, 200);
    let ev = json_of(&r);
    let headers = ev["headers"].as_object().unwrap();
    // The client's casing is kept; Authorization, User-Agent and Host are normalised as CloudFront does.
    for name in [
        "tEsT-HEADeR",
        "Content-Type",
        "Authorization",
        "User-Agent",
        "Host",
    ] {
        assert!(headers.contains_key(name), "{name}: {headers:?}");
    }
    for gone in [
        "content-length",
        "Content-Length",
        "connection",
        "Connection",
    ] {
        assert!(!headers.contains_key(gone), "{gone}: {headers:?}");
    }
    assert_eq!(headers["X-Forwarded-For"], "127.0.0.1");
    assert_eq!(headers["X-Forwarded-Proto"], "http");
    assert_eq!(headers["X-Forwarded-Port"], port.as_str());
    let trace = headers["X-Amzn-Trace-Id"].as_str().unwrap();
    assert!(
        trace.starts_with("Root=1-5e7fe714-fee6909429159440eb352c40;Parent="),
        "{trace}"
    );
    assert_eq!(ev["multiValueHeaders"]["tEsT-HEADeR"], json!(["v"]));
    // The path stays percent-encoded; the query string is form-decoded.
    assert_eq!(ev["path"], "/items/a%2Bb");
    assert_eq!(ev["pathParameters"], json!({"id": "a%2Bb"}));
    assert_eq!(
        ev["queryStringParameters"],
        json!({"t": " 00:00", "x": "a b+c"})
    );
    assert!(ev["requestContext"]["deploymentId"].is_string());
    // The gateway's own answer headers.
    assert!(header(&r.1, "x-amzn-requestid").is_some());
    assert_eq!(header(&r.1, "x-amz-apigw-id").map(str::len), Some(16));
    assert_eq!(header(&r.1, "x-amzn-trace-id"), Some(trace));
    // A greedy parameter keeps an inner `//` and loses a trailing `/`, which `path` keeps.
    let r = call(&h, "GET", "/Prod/files//deep/", &[], b"").await;
    let ev = json_of(&r);
    assert_eq!(ev["path"], "/files//deep/");
    assert_eq!(ev["pathParameters"], json!({"proxy": "files//deep"}));
}

#[tokio::test]
async fn request_over_10_mb_is_413() {
    let h = Builder::new(proxy_config("")).start().await;
    let big = vec![b'x'; 10 * 1024 * 1024 + 1];
    let r = call(&h, "POST", "/items/x", &[], &big).await;
    assert_eq!(r.0, 413);
}

#[tokio::test]
async fn api_keys_guard_methods_that_require_them() {
    let h = Builder::new(proxy_config("")).start().await;
    let r = call(&h, "POST", "/keyed", &[], b"{}").await;
    assert_eq!(r.0, 403);
    assert_eq!(json_of(&r), json!({"message": "Forbidden"}));
    let r = call(&h, "POST", "/keyed", &[("x-api-key", "wrong")], b"{}").await;
    assert_eq!(r.0, 403);
    let r = call(&h, "POST", "/keyed", &[("x-api-key", "secret-key")], b"{}").await;
    assert_eq!(r.0, 200);
}

#[tokio::test]
async fn cors_preflight_is_answered() {
    let h = Builder::new(proxy_config("")).start().await;
    let r = call(
        &h,
        "OPTIONS",
        "/items/1",
        &[
            ("origin", "http://example.test"),
            ("access-control-request-method", "GET"),
        ],
        b"",
    )
    .await;
    // A REST API answers as SAM's OPTIONS mock integration does: 200, `{}` and static headers.
    assert_eq!(r.0, 200);
    assert_eq!(header(&r.1, "access-control-allow-origin"), Some("*"));
    assert_eq!(
        header(&r.1, "access-control-allow-methods"),
        Some("GET,POST")
    );
    assert_eq!(header(&r.1, "access-control-max-age"), Some("60"));
    assert_eq!(r.2, b"{}\n");
    // A proxy function's answer gets no CORS headers from a REST API: the function adds its own.
    let r = call(
        &h,
        "GET",
        "/items/1",
        &[("origin", "http://example.test")],
        b"",
    )
    .await;
    assert_eq!(r.0, 200);
    assert_eq!(header(&r.1, "access-control-allow-origin"), None);
}

#[tokio::test]
async fn binary_bodies_are_base64_both_ways() {
    let h = Builder::new(proxy_config("")).start().await;
    let r = call(
        &h,
        "POST",
        "/items/1",
        &[("content-type", "image/png")],
        &[0, 1, 2, 255],
    )
    .await;
    let ev = json_of(&r);
    assert_eq!(ev["isBase64Encoded"], true);
    assert_eq!(ev["body"], "AAEC/w==");
    // A base64 result is decoded only when the first Accept type is a binary media type; otherwise its text
    // goes out as it is (shared notes apigw-authorizers-validation-vtl.md §11.2).
    let r = call(
        &h,
        "GET",
        "/items/1?action=binary",
        &[("accept", "image/png")],
        b"",
    )
    .await;
    assert_eq!(r.2, vec![0, 1, 2, 255]);
    assert_eq!(header(&r.1, "content-type"), Some("image/png"));
    let r = call(
        &h,
        "GET",
        "/items/1?action=binary",
        &[("accept", "*/*")],
        b"",
    )
    .await;
    assert_eq!(r.2, b"AAEC/w==");
    let r = call(&h, "GET", "/items/1?action=binary", &[], b"").await;
    assert_eq!(r.2, b"AAEC/w==");
}

#[tokio::test]
async fn http_api_infers_200_json_and_sets_cookies() {
    let h = Builder::new(proxy_config("")).start().await;
    let r = call(&h, "GET", "/v2/x?action=plain", &[], b"").await;
    assert_eq!(r.0, 200);
    assert_eq!(header(&r.1, "content-type"), Some("application/json"));
    assert_eq!(json_of(&r), json!({"plain": true}));
    let r = call(&h, "GET", "/v2/x?action=cookies", &[], b"").await;
    assert_eq!(r.0, 201);
    let cookies: Vec<&str> =
        r.1.iter()
            .filter(|(k, _)| k == "set-cookie")
            .map(|(_, v)| v.as_str())
            .collect();
    assert_eq!(cookies, ["a=1", "b=2"]);
}

#[tokio::test]
async fn seed_routes_epoch_time_rest_and_http() {
    let h = Builder::seeds().start().await;
    for path in ["/Prod/time", "/time", "/v2/time"] {
        let r = call(&h, "GET", path, &[], b"").await;
        assert_eq!(r.0, 200, "{path}");
        assert_eq!(header(&r.1, "content-type"), Some("application/json"));
        assert!(json_of(&r)["The current epoch time"].is_u64(), "{path}");
    }
}

#[tokio::test]
async fn custom_integration_maps_error_messages_to_statuses() {
    let h = Builder::seeds().start().await;
    let r = call(&h, "GET", "/Prod/status", &[], b"").await;
    assert_eq!(r.0, 200);
    assert_eq!(json_of(&r)["data"]["status"], "ok");
    for (trigger, status, prefix) in [
        ("invalid", 400, "InvalidRequest:"),
        ("forbidden", 403, "IllegalAccess:"),
        ("missing", 404, "NoSuchResource:"),
    ] {
        let r = call(
            &h,
            "POST",
            "/status",
            &[("content-type", "application/json")],
            json!({"error": trigger}).to_string().as_bytes(),
        )
        .await;
        assert_eq!(r.0, status, "{trigger}");
        let v = json_of(&r);
        assert!(
            v["errorMessage"].as_str().unwrap().starts_with(prefix),
            "{v}"
        );
    }
}

#[tokio::test]
async fn custom_integration_without_a_match_uses_the_default_or_500() {
    let route = |responses: &str| {
        format!(
            "{}\n[[api]]\nname = \"r\"\ntype = \"rest\"\n[[api.route]]\nmethod = \"POST\"\npath = \"/c\"\nfunction = \"f\"\nintegration = \"lambda\"\nresponse = [{responses}]\n",
            faulty("f", "")
        )
    };
    let h = Builder::new(route(
        r#"{ pattern = "Boom.*", status = 418 }, { status = 202 }"#,
    ))
    .start()
    .await;
    let r = call(
        &h,
        "POST",
        "/c",
        &[],
        br#"{"action":"error","message":"Boom here"}"#,
    )
    .await;
    assert_eq!(r.0, 418);
    assert_eq!(json_of(&r)["errorType"], "Function.Boom");
    let r = call(
        &h,
        "POST",
        "/c",
        &[],
        br#"{"action":"error","message":"Other"}"#,
    )
    .await;
    assert_eq!(r.0, 202, "the default response");
    // `.` does not match a newline, so a multi-line message falls through.
    let r = call(
        &h,
        "POST",
        "/c",
        &[],
        br#"{"action":"error","message":"Boom\nsecond line"}"#,
    )
    .await;
    assert_eq!(r.0, 202);
    // Success takes the default response's status and passes the result through.
    let r = call(&h, "POST", "/c", &[], br#"{"n":1}"#).await;
    assert_eq!(r.0, 202);
    assert_eq!(json_of(&r)["event"], json!({"n": 1}));

    let h = Builder::new(route(r#"{ pattern = "Boom.*", status = 418 }"#))
        .start()
        .await;
    let r = call(
        &h,
        "POST",
        "/c",
        &[],
        br#"{"action":"error","message":"Other"}"#,
    )
    .await;
    assert_eq!(r.0, 500, "no match and no default");
    // AWS logs "No match for output mapping and no default output mapping configured" and answers 500, for a
    // success as for an error.
    let r = call(&h, "POST", "/c", &[], b"").await;
    assert_eq!(r.0, 500, "a success without a default response");
}
