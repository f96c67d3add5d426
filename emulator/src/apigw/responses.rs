//! Lambda proxy results as HTTP responses, in API Gateway's formats, with its validation rules.
//!
//! Sources: REST proxy, https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html
//! and the responses recorded from real API Gateway that the shared notes summarise
//! (apigw-authorizers-validation-vtl.md §11.2); HTTP API payload 2.0,
//! https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use serde_json::Value;

use crate::net::WireResponse;

/// Why a function's result could not become an HTTP response, and the status the gateway answers with.
#[derive(Debug, PartialEq, Eq)]
pub struct Malformed(pub &'static str);

/// The body of a base64 proxy result could not be decoded: the gateway's own 500, not a malformed result.
pub const BAD_BASE64: Malformed = Malformed("body is not valid base64");

/// The keys a REST proxy result may have: any other makes it malformed.
const REST_KEYS: &[&str] = &[
    "statusCode",
    "headers",
    "multiValueHeaders",
    "body",
    "isBase64Encoded",
];

/// Adds `multiValueHeaders`, then `headers`: when both name a header (in any case), the multi values come
/// first and the single one after, as recorded from API Gateway (shared notes §11.2).
fn apply_headers(mut r: WireResponse, v: &Value) -> Result<WireResponse, Malformed> {
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
                r = append(r, k, &s);
            }
        }
    }
    if let Some(h) = v.get("headers").filter(|h| !h.is_null()) {
        let h = h.as_object().ok_or(Malformed("headers is not an object"))?;
        for (k, val) in h {
            let s = scalar_string(val).ok_or(Malformed("a header value is not a scalar"))?;
            if !r
                .headers
                .get_all(k.to_ascii_lowercase().as_str())
                .iter()
                .any(|x| x.as_bytes() == s.as_bytes())
            {
                r = append(r, k, &s);
            }
        }
    }
    Ok(r)
}

/// Headers that frame the message or the connection: the gateway frames its own answer, and a function's would
/// contradict it (a wrong `Content-Length` makes the answer unsendable).
/// FIXME: AWS is said to keep some of these as `x-amzn-Remapped-<name>` rather than drop them; unverified.
const FRAMING: &[&str] = &[
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "upgrade",
    "proxy-connection",
];

fn append(mut r: WireResponse, name: &str, value: &str) -> WireResponse {
    if FRAMING.iter().any(|h| h.eq_ignore_ascii_case(name)) {
        return r;
    }
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
    // A 1xx is not a final answer, and HTTP cannot carry it as one: it is a malformed result.
    .filter(|s| (200..=599).contains(s))
}

/// The body; a base64 one is decoded only when `decode` says so.
fn body_of(v: &Value, decode: bool) -> Result<Bytes, Malformed> {
    let base64 = v
        .get("isBase64Encoded")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let body = match v.get("body") {
        None | Some(Value::Null) => return Ok(Bytes::new()),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(Malformed("body is not a string")),
    };
    if base64 && decode {
        B64.decode(body.as_bytes())
            .map(Bytes::from)
            .map_err(|_| BAD_BASE64)
    } else {
        Ok(Bytes::from(body))
    }
}

/// Maps a REST proxy integration's result, as API Gateway judges it: an object with only the five known keys,
/// whose `statusCode` (200 when absent) is a number or numeric string. A base64 body is decoded only when the
/// request's first `Accept` type is a binary media type (`binary_accept`); otherwise its text is sent as it is.
/// Source: responses recorded from real API Gateway (shared notes §11.2).
pub fn rest_response(payload: &[u8], binary_accept: bool) -> Result<WireResponse, Malformed> {
    let v: Value =
        serde_json::from_slice(payload).map_err(|_| Malformed("the result is not JSON"))?;
    let obj = v
        .as_object()
        .ok_or(Malformed("the result is not an object"))?;
    if obj.keys().any(|k| !REST_KEYS.contains(&k.as_str())) {
        return Err(Malformed("the result has a key API Gateway does not know"));
    }
    let status = match obj.get("statusCode") {
        None | Some(Value::Null) => 200,
        Some(_) => status_of(&v).ok_or(Malformed("statusCode is invalid"))?,
    };
    let mut r = apply_headers(WireResponse::new(status), &v)?;
    r.body = body_of(&v, binary_accept)?;
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
    r.body = body_of(&v, true)?;
    if !r.headers.contains_key("content-type") {
        r = r.header("content-type", "application/json");
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(payload: &[u8]) -> Result<u16, Malformed> {
        rest_response(payload, false).map(|r| r.status.as_u16())
    }

    /// The cases recorded from real API Gateway (shared notes §11.2).
    #[test]
    fn rest_results_are_judged_as_api_gateway_judges_them() {
        assert_eq!(status(br#"{"statusCode":200}"#), Ok(200));
        assert_eq!(status(br#"{"headers":{"X-A":"1"}}"#), Ok(200));
        assert_eq!(status(br#"{"body":"x"}"#), Ok(200));
        assert_eq!(status(br#"{"statusCode":"201"}"#), Ok(201));
        assert!(
            status(br#"{"statusCode":100}"#).is_err(),
            "a 1xx is no final answer"
        );
        assert!(status(br#"{"statusCode":"test"}"#).is_err());
        assert!(status(br#"{"statusCode":200,"wrongValue":1}"#).is_err());
        assert!(status(br#"{"statusCode":200,"multiValueHeaders":{"a":"b"}}"#).is_err());
        assert!(status(b"\"justAString\"").is_err());
        assert!(status(b"not json").is_err());
        let r = rest_response(br#"{"statusCode":200,"headers":{"X-Bool":true}}"#, false).unwrap();
        assert_eq!(r.headers["x-bool"], "true");
        assert_eq!(r.headers["content-type"], "application/json");
        assert!(rest_response(br#"{"statusCode":200,"headers":null}"#, false).is_ok());
    }

    #[test]
    fn a_functions_framing_headers_are_dropped() {
        let r = rest_response(
            br#"{"statusCode":200,"headers":{"Content-Length":"5","Transfer-Encoding":"A","X-Kept":"1"},"body":"abc"}"#,
            false,
        )
        .unwrap();
        assert!(r.headers.get("content-length").is_none());
        assert!(r.headers.get("transfer-encoding").is_none());
        assert_eq!(r.headers.get("x-kept").unwrap(), "1");
        let r = http_response(br#"{"headers":{"connection":"close"},"body":"x"}"#).unwrap();
        assert!(r.headers.get("connection").is_none());
    }

    #[test]
    fn multi_value_headers_come_before_single_ones() {
        let r = rest_response(
            br#"{"statusCode":201,"headers":{"Test-Multi":"value-solo"},"multiValueHeaders":{"tesT-Multi":["value-multi"]},"body":"hi"}"#,
            false,
        )
        .unwrap();
        let values: Vec<_> = r.headers.get_all("test-multi").iter().collect();
        assert_eq!(values, ["value-multi", "value-solo"]);
        assert_eq!(&r.body[..], b"hi");
    }

    #[test]
    fn base64_bodies_are_decoded_only_for_a_binary_accept() {
        let payload = br#"{"statusCode":200,"body":"AAEC","isBase64Encoded":true}"#;
        assert_eq!(&rest_response(payload, true).unwrap().body[..], &[0, 1, 2]);
        assert_eq!(&rest_response(payload, false).unwrap().body[..], b"AAEC");
        let bad = br#"{"statusCode":200,"body":"%%%","isBase64Encoded":true}"#;
        assert!(rest_response(bad, true).is_err());
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
}
