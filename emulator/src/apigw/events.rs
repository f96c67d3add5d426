//! Building Lambda events from HTTP requests, and HTTP responses from Lambda results, in API Gateway's formats.
//!
//! Sources: REST proxy, https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html;
//! HTTP API payload 2.0, https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Map, Value, json};

use crate::net::WireRequest;

/// What an event needs besides the HTTP request.
pub struct Context<'a> {
    pub account_id: &'a str,
    pub api_id: &'a str,
    pub stage: &'a str,
    pub request_id: &'a str,
    pub now_ms: u64,
    /// The route's template, e.g. `/ec2/{id}`.
    pub resource: &'a str,
    /// The request path without the stage prefix.
    pub path: &'a str,
    pub path_params: &'a BTreeMap<String, String>,
    pub stage_variables: &'a BTreeMap<String, String>,
    /// Send the body base64-encoded.
    pub binary: bool,
    /// The request's `X-Amzn-Trace-Id`, the caller's or a new one.
    pub trace_id: &'a str,
    /// The trace, with the gateway's span as the parent of what it invokes.
    pub trace: &'a crate::trace::TraceHeader,
    /// `requestContext.authorizer`, from the route's authorizer.
    pub authorizer: Option<&'a Value>,
}

pub fn request_time(now_ms: u64) -> String {
    chrono::DateTime::from_timestamp_millis(now_ms as i64)
        .unwrap_or_default()
        .format("%d/%b/%Y:%H:%M:%S +0000")
        .to_string()
}

/// Query pairs, percent-decoded, in order. REST APIs decode the query string as a form, so `+` is a space
/// there (`plus_as_space`): `+00:00` arrives as ` 00:00`, as recorded from real API Gateway (shared notes
/// apigw-authorizers-validation-vtl.md §11.1).
pub fn query_pairs(query: Option<&str>, plus_as_space: bool) -> Vec<(String, String)> {
    let dec = |s: &str| {
        let s = if plus_as_space {
            s.replace('+', " ")
        } else {
            s.to_string()
        };
        percent_encoding::percent_decode_str(&s)
            .decode_utf8_lossy()
            .into_owned()
    };
    query
        .unwrap_or("")
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (dec(k), dec(v))
        })
        .collect()
}

fn null_if_empty(m: Map<String, Value>) -> Value {
    if m.is_empty() {
        Value::Null
    } else {
        Value::Object(m)
    }
}

fn string_map(m: &BTreeMap<String, String>) -> Value {
    null_if_empty(
        m.iter()
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
            .collect(),
    )
}

fn body_value(req: &WireRequest, binary: bool) -> Value {
    if req.body.is_empty() {
        Value::Null
    } else if binary {
        Value::from(B64.encode(&req.body))
    } else {
        Value::from(String::from_utf8_lossy(&req.body).into_owned())
    }
}

/// A REST API (v1) proxy event.
pub fn rest_event(req: &WireRequest, cx: &Context<'_>) -> Value {
    let mut headers = Map::new();
    let mut multi_headers: Map<String, Value> = Map::new();
    for (name, values) in rest_headers(req, cx.trace_id) {
        if let Some(last) = values.last() {
            headers.insert(name.clone(), Value::from(last.as_str()));
        }
        multi_headers.insert(name, json!(values));
    }
    let mut query = Map::new();
    let mut multi_query: Map<String, Value> = Map::new();
    for (k, v) in query_pairs(req.query.as_deref(), true) {
        query.insert(k.clone(), Value::from(v.clone()));
        match multi_query.get_mut(&k) {
            Some(Value::Array(a)) => a.push(Value::from(v)),
            _ => {
                multi_query.insert(k, json!([v]));
            }
        }
    }
    let method = req.method.as_str();
    let mut event = json!({
        "resource": cx.resource,
        "path": cx.path,
        "httpMethod": method,
        "headers": null_if_empty(headers),
        "multiValueHeaders": null_if_empty(multi_headers),
        "queryStringParameters": null_if_empty(query),
        "multiValueQueryStringParameters": null_if_empty(multi_query),
        "pathParameters": string_map(cx.path_params),
        "stageVariables": string_map(cx.stage_variables),
        "requestContext": {
            "accountId": cx.account_id,
            "apiId": cx.api_id,
            "deploymentId": short_id(&format!("{}/{}", cx.api_id, cx.stage), 6),
            "domainName": req.header("host").unwrap_or("localhost"),
            "domainPrefix": req.header("host").and_then(|h| h.split(['.', ':']).next()).unwrap_or("localhost"),
            "extendedRequestId": cx.request_id,
            "httpMethod": method,
            "identity": {
                "accessKey": null, "accountId": null, "caller": null, "cognitoAuthenticationProvider": null,
                "cognitoAuthenticationType": null, "cognitoIdentityId": null, "cognitoIdentityPoolId": null,
                "principalOrgId": null, "sourceIp": req.peer.ip().to_string(), "user": null,
                "userAgent": req.header("user-agent"), "userArn": null,
            },
            "path": if cx.stage.is_empty() { cx.path.to_string() } else { format!("/{}{}", cx.stage, cx.path) },
            "protocol": "HTTP/1.1",
            "requestId": cx.request_id,
            "requestTime": request_time(cx.now_ms),
            "requestTimeEpoch": cx.now_ms,
            "resourceId": resource_id(cx.resource),
            "resourcePath": cx.resource,
            "stage": cx.stage,
        },
        "body": body_value(req, cx.binary),
        "isBase64Encoded": cx.binary && !req.body.is_empty(),
    });
    set_authorizer(&mut event, cx.authorizer);
    event
}

/// The headers a REST proxy integration receives, with their values: the client's names as it wrote them
/// (`Authorization` and `User-Agent` normalised, as CloudFront does), without `Content-Length` and `Connection`,
/// and with the `X-Forwarded-*` and `X-Amzn-Trace-Id` headers the gateway adds.
/// Source: events recorded from real API Gateway (shared notes apigw-authorizers-validation-vtl.md §11.1).
/// Locally the forwarded protocol and port are the ones the request really used (`http` and the API port),
/// where AWS's edge says `https` and `443`, so that a handler building its own URLs gets working ones.
fn rest_headers(req: &WireRequest, trace_id: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for name in req.headers.keys() {
        let lower = name.as_str();
        let shown = match lower {
            "content-length" | "connection" | "x-amzn-trace-id" | "x-forwarded-for"
            | "x-forwarded-port" | "x-forwarded-proto" => continue,
            "authorization" => "Authorization",
            "user-agent" => "User-Agent",
            "host" => "Host",
            other => req.original_name(other),
        };
        let values = req
            .headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        out.push((shown.to_string(), values));
    }
    for (name, value) in forwarded(req, trace_id) {
        out.push((name.to_string(), vec![value]));
    }
    out
}

/// The headers API Gateway adds to every request it forwards, with AWS's casing.
fn forwarded(req: &WireRequest, trace_id: &str) -> [(&'static str, String); 4] {
    let ip = req.peer.ip().to_string();
    let forwarded_for = match req.header("x-forwarded-for") {
        Some(prev) => format!("{prev}, {ip}"),
        None => ip,
    };
    let port = req
        .header("host")
        .and_then(|h| h.rsplit_once(':'))
        .map_or("80".to_string(), |(_, p)| p.to_string());
    [
        ("X-Amzn-Trace-Id", trace_id.to_string()),
        ("X-Forwarded-For", forwarded_for),
        ("X-Forwarded-Port", port),
        ("X-Forwarded-Proto", "http".to_string()),
    ]
}

/// The trace id of a request: the caller's `X-Amzn-Trace-Id` when it has a `Root`, with a `Parent` added when
/// it has none, else a new one. Source: traces recorded from real API Gateway (shared notes §11.3).
pub fn trace_id(req: &WireRequest, now_ms: u64, random: &str) -> String {
    let parent = format!("Parent={}", crate::trace::last_hex(random, 16));
    match req.header("x-amzn-trace-id") {
        Some(t) if t.contains("Root=") && t.contains("Parent=") => t.to_string(),
        Some(t) if t.contains("Root=") => format!("{t};{parent}"),
        _ => format!(
            "Root={}",
            crate::trace::TraceHeader::new(now_ms, random).root
        ),
    }
}

/// Puts the route's authorizer output in `requestContext.authorizer`.
fn set_authorizer(event: &mut Value, authorizer: Option<&Value>) {
    if let (Some(a), Some(rc)) = (
        authorizer,
        event
            .get_mut("requestContext")
            .and_then(Value::as_object_mut),
    ) {
        rc.insert("authorizer".into(), a.clone());
    }
}

/// An HTTP API event in payload format 1.0: the REST API's shape with `version` 1.0, no resource id, and the
/// stage `$default` when the API has no named stage.
/// Source: https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
/// (format 1.0 example); an event recorded from a real HTTP API, gist metaskills/1eee9da3baaa5df9ac8426cc5fe12ca0
/// ("resource": "$default" for the default route).
pub fn http_v1_event(req: &WireRequest, cx: &Context<'_>) -> Value {
    let mut event = rest_event(req, cx);
    if let Some(e) = event.as_object_mut() {
        e.insert("version".into(), json!("1.0"));
    }
    if let Some(rc) = event
        .get_mut("requestContext")
        .and_then(Value::as_object_mut)
    {
        rc.insert("resourceId".into(), Value::Null);
        if cx.stage.is_empty() {
            rc.insert("stage".into(), json!("$default"));
        }
    }
    event
}

/// An HTTP API (v2) event, payload format 2.0.
pub fn http_event(req: &WireRequest, cx: &Context<'_>, route_key: &str) -> Value {
    let mut headers: Map<String, Value> = Map::new();
    let mut cookies = Vec::new();
    for name in req.headers.keys() {
        let values: Vec<String> = req
            .headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        if name == "cookie" {
            cookies.extend(
                values
                    .iter()
                    .flat_map(|v| v.split(';').map(|c| c.trim().to_string())),
            );
            continue;
        }
        headers.insert(name.to_string(), Value::from(values.join(",")));
    }
    for (name, value) in forwarded(req, cx.trace_id) {
        headers.insert(name.to_ascii_lowercase(), Value::from(value));
    }
    let mut query: Map<String, Value> = Map::new();
    for (k, v) in query_pairs(req.query.as_deref(), false) {
        let joined = match query.get(&k).and_then(Value::as_str) {
            Some(prev) => format!("{prev},{v}"),
            None => v,
        };
        query.insert(k, Value::from(joined));
    }
    let method = req.method.as_str();
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": req.path,
        "rawQueryString": req.query.as_deref().unwrap_or(""),
        "headers": Value::Object(headers),
        "requestContext": {
            "accountId": cx.account_id,
            "apiId": cx.api_id,
            "domainName": req.header("host").unwrap_or("localhost"),
            "domainPrefix": req.header("host").and_then(|h| h.split(['.', ':']).next()).unwrap_or("localhost"),
            "http": {
                "method": method,
                "path": req.path,
                "protocol": "HTTP/1.1",
                "sourceIp": req.peer.ip().to_string(),
                "userAgent": req.header("user-agent").unwrap_or(""),
            },
            "requestId": cx.request_id,
            "routeKey": route_key,
            "stage": if cx.stage.is_empty() { "$default" } else { cx.stage },
            "time": request_time(cx.now_ms),
            "timeEpoch": cx.now_ms,
        },
        "isBase64Encoded": cx.binary && !req.body.is_empty(),
    });
    set_authorizer(&mut event, cx.authorizer);
    let obj = event.as_object_mut().expect("an object");
    if !cookies.is_empty() {
        obj.insert("cookies".into(), json!(cookies));
    }
    if !query.is_empty() {
        obj.insert("queryStringParameters".into(), Value::Object(query));
    }
    if !cx.path_params.is_empty() {
        obj.insert("pathParameters".into(), string_map(cx.path_params));
    }
    if !cx.stage_variables.is_empty() {
        obj.insert("stageVariables".into(), string_map(cx.stage_variables));
    }
    if !req.body.is_empty() {
        obj.insert("body".into(), body_value(req, cx.binary));
    }
    event
}

/// A stable six-character resource id derived from the route template, as API Gateway shows one per resource.
fn resource_id(resource: &str) -> String {
    short_id(resource, 6)
}

/// A stable lower-case alphanumeric id of `len` characters derived from `seed`.
pub fn short_id(seed: &str, len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut h: u64 = 0xcbf29ce484222325;
    (0..len)
        .map(|i| {
            for b in seed.bytes().chain([i as u8]) {
                h ^= b as u64;
                h = h.wrapping_mul(0x100000001b3);
            }
            ALPHABET[(h % ALPHABET.len() as u64) as usize] as char
        })
        .collect()
}

/// Whether a body of this content type is sent to the function as text, for HTTP APIs.
pub fn is_text(content_type: Option<&str>) -> bool {
    let Some(ct) = content_type else { return true };
    let ct = ct.to_ascii_lowercase();
    ct.starts_with("text/")
        || [
            "json",
            "xml",
            "javascript",
            "x-www-form-urlencoded",
            "yaml",
            "graphql",
        ]
        .iter()
        .any(|t| ct.contains(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_ids_are_stable() {
        assert_eq!(short_id("api", 10), short_id("api", 10));
        assert_ne!(short_id("api", 10), short_id("other", 10));
        assert_eq!(short_id("x", 6).len(), 6);
    }
}
