//! Building Lambda events from HTTP requests, and HTTP responses from Lambda results, in API Gateway's formats.
//!
//! Sources: REST proxy, https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html;
//! HTTP API payload 2.0, https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use serde_json::{Map, Value, json};

use crate::net::{WireRequest, WireResponse};

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
}

fn request_time(now_ms: u64) -> String {
    chrono::DateTime::from_timestamp_millis(now_ms as i64)
        .unwrap_or_default()
        .format("%d/%b/%Y:%H:%M:%S +0000")
        .to_string()
}

/// Query pairs, percent-decoded, in order.
pub fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    let dec = |s: &str| {
        percent_encoding::percent_decode_str(s)
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
    for name in req.headers.keys() {
        let values: Vec<Value> = req
            .headers
            .get_all(name)
            .iter()
            .map(|v| Value::from(String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        if let Some(last) = values.last() {
            headers.insert(name.to_string(), last.clone());
        }
        multi_headers.insert(name.to_string(), Value::Array(values));
    }
    let mut query = Map::new();
    let mut multi_query: Map<String, Value> = Map::new();
    for (k, v) in query_pairs(req.query.as_deref()) {
        query.insert(k.clone(), Value::from(v.clone()));
        match multi_query.get_mut(&k) {
            Some(Value::Array(a)) => a.push(Value::from(v)),
            _ => {
                multi_query.insert(k, json!([v]));
            }
        }
    }
    let method = req.method.as_str();
    json!({
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
    })
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
    let mut query: Map<String, Value> = Map::new();
    for (k, v) in query_pairs(req.query.as_deref()) {
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

/// Why a function's result could not become an HTTP response.
#[derive(Debug, PartialEq, Eq)]
pub struct Malformed(pub &'static str);

fn apply_headers(mut r: WireResponse, v: &Value) -> Result<WireResponse, Malformed> {
    if let Some(h) = v.get("headers").filter(|h| !h.is_null()) {
        let h = h.as_object().ok_or(Malformed("headers is not an object"))?;
        for (k, val) in h {
            let s = scalar_string(val).ok_or(Malformed("a header value is not a scalar"))?;
            r = append(r, k, &s);
        }
    }
    if let Some(h) = v.get("multiValueHeaders").filter(|h| !h.is_null()) {
        let h = h
            .as_object()
            .ok_or(Malformed("multiValueHeaders is not an object"))?;
        for (k, vals) in h {
            let vals = vals
                .as_array()
                .ok_or(Malformed("a multiValueHeaders entry is not a list"))?;
            for val in vals {
                let s = scalar_string(val).ok_or(Malformed("a header value is not a scalar"))?;
                if !r
                    .headers
                    .get_all(k.as_str())
                    .iter()
                    .any(|x| x.as_bytes() == s.as_bytes())
                {
                    r = append(r, k, &s);
                }
            }
        }
    }
    Ok(r)
}

fn append(mut r: WireResponse, name: &str, value: &str) -> WireResponse {
    if let (Ok(n), Ok(v)) = (
        http::HeaderName::try_from(name),
        http::HeaderValue::try_from(value),
    ) {
        r.headers.append(n, v);
    }
    r
}

fn scalar_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn status_of(v: &Value) -> Option<u16> {
    match v.get("statusCode")? {
        Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
    .filter(|s| (100..=599).contains(s))
}

fn body_of(v: &Value) -> Result<Bytes, Malformed> {
    let base64 = v
        .get("isBase64Encoded")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let body = match v.get("body") {
        None | Some(Value::Null) => return Ok(Bytes::new()),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(Malformed("body is not a string")),
    };
    if base64 {
        B64.decode(body.as_bytes())
            .map(Bytes::from)
            .map_err(|_| Malformed("body is not valid base64"))
    } else {
        Ok(Bytes::from(body))
    }
}

/// Maps a REST proxy integration's result. Anything but an object with a valid `statusCode` is malformed.
pub fn rest_response(payload: &[u8]) -> Result<WireResponse, Malformed> {
    let v: Value =
        serde_json::from_slice(payload).map_err(|_| Malformed("the result is not JSON"))?;
    if !v.is_object() {
        return Err(Malformed("the result is not an object"));
    }
    let status = status_of(&v).ok_or(Malformed("statusCode is missing or invalid"))?;
    let mut r = apply_headers(WireResponse::new(status), &v)?;
    r.body = body_of(&v)?;
    if !r.headers.contains_key("content-type") {
        r = r.header("content-type", "application/json");
    }
    Ok(r)
}

/// Maps an HTTP API result, payload format 2.0: valid JSON without `statusCode` is a 200 JSON body.
pub fn http_response(payload: &[u8]) -> Result<WireResponse, Malformed> {
    let v: Value =
        serde_json::from_slice(payload).map_err(|_| Malformed("the result is not JSON"))?;
    let Some(status) = v.is_object().then(|| status_of(&v)).flatten() else {
        if v.get("statusCode").is_some() {
            return Err(Malformed("statusCode is invalid"));
        }
        return Ok(WireResponse::new(200)
            .header("content-type", "application/json")
            .body(Bytes::copy_from_slice(payload)));
    };
    let mut r = apply_headers(WireResponse::new(status), &v)?;
    if let Some(c) = v.get("cookies").filter(|c| !c.is_null()) {
        for c in c.as_array().ok_or(Malformed("cookies is not a list"))? {
            r = append(
                r,
                "set-cookie",
                c.as_str().ok_or(Malformed("a cookie is not a string"))?,
            );
        }
    }
    r.body = body_of(&v)?;
    if !r.headers.contains_key("content-type") {
        r = r.header("content-type", "application/json");
    }
    Ok(r)
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
    fn rest_response_requires_a_status_code() {
        assert!(rest_response(br#"{"body":"x"}"#).is_err());
        assert!(rest_response(b"\"hello\"").is_err());
        assert!(rest_response(b"not json").is_err());
        let r = rest_response(br#"{"statusCode":201,"headers":{"X-A":"1"},"multiValueHeaders":{"X-B":["1","2"]},"body":"hi"}"#).unwrap();
        assert_eq!(r.status, 201);
        assert_eq!(r.headers["x-a"], "1");
        assert_eq!(r.headers.get_all("x-b").iter().count(), 2);
        assert_eq!(&r.body[..], b"hi");
    }

    #[test]
    fn base64_bodies_are_decoded() {
        let r =
            rest_response(br#"{"statusCode":200,"body":"AAEC","isBase64Encoded":true}"#).unwrap();
        assert_eq!(&r.body[..], &[0, 1, 2]);
    }

    #[test]
    fn http_response_infers_200_json() {
        let r = http_response(br#"{"hello":"world"}"#).unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.headers["content-type"], "application/json");
        assert_eq!(&r.body[..], br#"{"hello":"world"}"#);
        let r = http_response(br#"{"statusCode":302,"cookies":["a=1","b=2"]}"#).unwrap();
        assert_eq!(r.status, 302);
        assert_eq!(r.headers.get_all("set-cookie").iter().count(), 2);
    }

    #[test]
    fn short_ids_are_stable() {
        assert_eq!(short_id("api", 10), short_id("api", 10));
        assert_ne!(short_id("api", 10), short_id("other", 10));
        assert_eq!(short_id("x", 6).len(), 6);
    }
}
