//! API Gateway: arbitrary function results map to a response, or to the gateway's own error.

use super::*;

// API Gateway: arbitrary function results map to a response, or to the gateway's own error for a malformed one.

/// What the function answers, as the text it posts.
#[derive(Clone)]
struct FunctionResult(String);

impl Debug for FunctionResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the function answers {:?}", self.0)
    }
}

fn status_code() -> impl Strategy<Value = Value> {
    prop_oneof![
        6 => (100u16..600).prop_map(Value::from),
        2 => (100u16..600).prop_map(|s| Value::from(s.to_string())),
        2 => select(&[0i64, 99, 600, 1000, 70_000, -1][..]).prop_map(Value::from),
        2 => select(&["abc", " 200", "2e2", "200.0", "", "0200"][..]).prop_map(Value::from),
        1 => Just(json!(200.0)),
        1 => Just(json!(200.5)),
        1 => Just(Value::Null),
        1 => Just(json!(true)),
        1 => Just(json!({"code": 200})),
    ]
}

const RESULT_HEADERS: &[&str] = &[
    "Content-Type",
    "content-type",
    "Set-Cookie",
    "Cache-Control",
    "Location",
    "Content-Length",
    "Transfer-Encoding",
    "Connection",
    "Date",
    "Server",
    "Content-Encoding",
    "bad name",
    "",
    "Ünï",
];

fn result_header_name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "X-H-[a-z]{1,6}",
        2 => select(RESULT_HEADERS).prop_map(String::from),
    ]
}

fn header_scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        6 => header_value().prop_map(Value::from),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<bool>().prop_map(Value::from),
        1 => (-1e6f64..1e6).prop_map(Value::from),
        1 => Just(Value::Null),
        1 => Just(json!(["a"])),
        1 => Just(json!({"a": "b"})),
        1 => Just(json!("line\nbreak")),
    ]
}

fn result_body() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => "\\PC{0,40}".prop_map(Value::from),
        2 => vec(any::<u8>(), 0..24).prop_map(|b| Value::from(B64.encode(b))),
        1 => Just(Value::Null),
        1 => Just(json!("not base64 %%")),
        1 => json_value(),
    ]
}

/// A proxy result: mostly the documented shape, with every member sometimes wrong.
fn proxy_result() -> impl Strategy<Value = Value> {
    let headers = prop_oneof![
        4 => btree_map(result_header_name(), header_scalar(), 0..4).prop_map(object),
        1 => Just(Value::Null),
        1 => json_value(),
    ];
    let multi = prop_oneof![
        4 => btree_map(result_header_name(), vec(header_scalar(), 0..3).prop_map(Value::Array), 0..3)
            .prop_map(object),
        1 => btree_map(result_header_name(), header_scalar(), 0..3).prop_map(object),
        1 => Just(Value::Null),
        1 => json_value(),
    ];
    let cookies = prop_oneof![
        3 => vec(header_value().prop_map(Value::from), 0..3).prop_map(Value::Array),
        1 => json_value(),
    ];
    let base64 = prop_oneof![3 => any::<bool>().prop_map(Value::from), 1 => json_value()];
    let extra = ("[a-zA-Z]{1,10}", json_value());
    (
        prop::option::weighted(0.8, status_code()),
        prop::option::weighted(0.5, headers),
        prop::option::weighted(0.3, multi),
        prop::option::weighted(0.7, result_body()),
        prop::option::weighted(0.3, base64),
        prop::option::weighted(0.2, cookies),
        prop::option::weighted(0.1, extra),
    )
        .prop_map(|(status, headers, multi, body, base64, cookies, extra)| {
            let mut m = Map::new();
            let members = [
                ("statusCode", status),
                ("headers", headers),
                ("multiValueHeaders", multi),
                ("body", body),
                ("isBase64Encoded", base64),
                ("cookies", cookies),
            ];
            for (k, v) in members {
                if let Some(v) = v {
                    m.insert(k.to_string(), v);
                }
            }
            if let Some((k, v)) = extra {
                m.insert(k, v);
            }
            Value::Object(m)
        })
}

fn function_result() -> impl Strategy<Value = FunctionResult> {
    prop_oneof![
        6 => proxy_result().prop_map(|v| v.to_string()),
        2 => json_value().prop_map(|v| v.to_string()),
        1 => "\\PC{0,30}",
        1 => Just(String::new()),
    ]
    .prop_map(FunctionResult)
}

/// The response a well-formed result maps to. `headers` must be among the response's; the others are not
/// judged here.
#[derive(Debug)]
struct Mapped {
    status: u16,
    body: Vec<u8>,
    headers: Vec<(String, String)>,
    default_content_type: bool,
}

/// A header value as the `http` crate takes one from text: visible ASCII, spaces and tabs.
fn sendable(name: &str, value: &str) -> bool {
    http::HeaderName::try_from(name).is_ok() && http::HeaderValue::try_from(value).is_ok()
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn status_of(v: Option<&Value>) -> Option<u16> {
    let s = match v? {
        Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }?;
    // A 1xx status announces a response that is still to come: it can never be one.
    (200..=599).contains(&s).then_some(s)
}

/// The headers of a result, multi values first, or `None` when a member is malformed.
fn result_headers(v: &Value) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    match v.get("multiValueHeaders") {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (k, vals) in m {
                for val in vals.as_array()? {
                    out.push((k.clone(), scalar(val)?));
                }
            }
        }
        Some(_) => return None,
    }
    match v.get("headers") {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (k, val) in m {
                out.push((k.clone(), scalar(val)?));
            }
        }
        Some(_) => return None,
    }
    Some(out)
}

fn mapped(status: u16, body: Vec<u8>, headers: Vec<(String, String)>) -> Mapped {
    let default_content_type = !headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("content-type") && sendable(k, v));
    Mapped {
        status,
        // These statuses have no body in HTTP, whatever the result says.
        body: if status == 204 || status == 304 {
            Vec::new()
        } else {
            body
        },
        // Only the test's own header names are judged: the gateway may own the framing and standard ones.
        headers: headers
            .into_iter()
            .filter(|(k, v)| k.starts_with("X-H-") && sendable(k, v))
            .collect(),
        default_content_type,
    }
}

/// A REST proxy result as documented: an object with only the five members, a final status (200 when absent),
/// string-valued header maps and a string body, sent as it is (no binary media types here).
fn rest_mapping(text: &str) -> Option<Mapped> {
    let v: Value = serde_json::from_str(text).ok()?;
    let obj = v.as_object()?;
    const KNOWN: [&str; 5] = [
        "statusCode",
        "headers",
        "multiValueHeaders",
        "body",
        "isBase64Encoded",
    ];
    if obj.keys().any(|k| !KNOWN.contains(&k.as_str())) {
        return None;
    }
    let status = match obj.get("statusCode") {
        None | Some(Value::Null) => 200,
        s => status_of(s)?,
    };
    let headers = result_headers(&v)?;
    let body = match obj.get("body") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => s.clone().into_bytes(),
        Some(_) => return None,
    };
    Some(mapped(status, body, headers))
}

/// An HTTP API result, payload format 2.0: JSON without `statusCode` is a 200 JSON body; with one, the structured
/// response, whose base64 body is decoded.
fn http_mapping(text: &str) -> Option<Mapped> {
    let v: Value = serde_json::from_str(text).ok()?;
    let Some(status) = v.get("statusCode") else {
        return Some(mapped(200, text.as_bytes().to_vec(), Vec::new()));
    };
    let status = status_of(Some(status))?;
    let mut headers = result_headers(&v)?;
    match v.get("cookies") {
        None | Some(Value::Null) => {}
        Some(Value::Array(cookies)) => {
            for c in cookies {
                headers.push(("Set-Cookie".into(), c.as_str()?.to_string()));
            }
        }
        Some(_) => return None,
    }
    let body = match v.get("body") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) if v["isBase64Encoded"] == true => B64.decode(s).ok()?,
        Some(Value::String(s)) => s.clone().into_bytes(),
        Some(_) => return None,
    };
    Some(mapped(status, body, headers))
}

async fn result_case(h: &Harness, kind: &str, result: FunctionResult) -> Result<(), TestCaseError> {
    let addr = h.emulator.api_addr.expect("an API port").to_string();
    let body = json!({"action": "proxy_result", "result": result.0}).to_string();
    let headers = [("content-type".to_string(), "application/json".to_string())];
    let r = exchange(
        &addr,
        "POST",
        "/result",
        &headers,
        body.as_bytes(),
        Duration::from_secs(20),
    )
    .await
    .map_err(|e| fail(format!("no well-formed response: {e}")))?;
    let (expected, failed, message) = match kind {
        "rest" => (rest_mapping(&result.0), 502, "Internal server error"),
        _ => (http_mapping(&result.0), 500, "Internal Server Error"),
    };
    let Some(m) = expected else {
        return expect_gateway_error(&r, "POST", failed, message);
    };
    prop_assert_eq!(r.status, m.status, "expected {:?}; body: {}", m, r.text());
    prop_assert_eq!(&r.body, &m.body, "expected {:?}; body: {}", m, r.text());
    for (k, v) in &m.headers {
        prop_assert!(
            r.headers(&k.to_ascii_lowercase()).contains(&v.as_str()),
            "header {}: {:?} is missing from {:?}",
            k,
            v,
            r.headers
        );
    }
    if m.default_content_type {
        prop_assert_eq!(r.header("content-type"), Some("application/json"));
    }
    Ok(())
}

#[test]
fn rest_api_results_map_to_responses_or_502() {
    let rt = runtime();
    let h = rt.block_on(Builder::new(gateway_config("rest")).start());
    check(
        "rest_api_results_map_to_responses_or_502",
        128,
        function_result(),
        |result| rt.block_on(result_case(&h, "rest", result)),
    );
    let _guard = rt.enter();
    drop(h);
}

#[test]
fn http_api_results_map_to_responses_or_500() {
    let rt = runtime();
    let h = rt.block_on(Builder::new(gateway_config("http")).start());
    check(
        "http_api_results_map_to_responses_or_500",
        128,
        function_result(),
        |result| rt.block_on(result_case(&h, "http", result)),
    );
    let _guard = rt.enter();
    drop(h);
}
