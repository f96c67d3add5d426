//! DynamoDB's wire: the AWS JSON 1.0 protocol on `POST /`.
//!
//! Sources: botocore `data/dynamodb/2012-08-10/service-2.json` and `data/dynamodbstreams/2012-08-10/service-2.json`
//! (protocol `json`, jsonVersion 1.0, target prefixes `DynamoDB_20120810` and `DynamoDBStreams_20120810`);
//! https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html for the error shape;
//! dynalite's `index.js` (architect/dynalite), which records the live service's answers to malformed requests.

use bytes::Bytes;

use super::{DynamoError, Operation};
use crate::net::{WireRequest, WireResponse};

pub const AMZ_JSON: &str = "application/x-amz-json-1.0";
const PLAIN_JSON: &str = "application/json";
const TARGET: &str = "DynamoDB_20120810.";
const STREAMS_TARGET: &str = "DynamoDBStreams_20120810.";

/// What DynamoDB answers a request it cannot route, a non-POST method or a body of another content type with
/// (dynalite `index.js`).
const NOT_FOUND_BODY: &str = "<UnknownOperationException/>\n";

/// What a request on `/` asks for.
#[derive(Debug)]
pub enum Request {
    /// `GET /`, the health check.
    Health,
    /// An operation, with its JSON body (checked to be JSON) and the content type to answer in.
    Call {
        op: Operation,
        body: Bytes,
        content_type: &'static str,
    },
    /// Anything else DynamoDB answers with a bare 404.
    NotFound,
}

/// The `X-Amz-Target` a client sends for `op`.
pub fn target(op: Operation) -> String {
    let prefix = if op.is_streams() {
        STREAMS_TARGET
    } else {
        TARGET
    };
    format!("{prefix}{}", op.name())
}

/// Whether a main-port request is for DynamoDB: everything on `/`.
pub fn is_dynamodb(req: &WireRequest) -> bool {
    req.path == "/"
}

/// Decodes a request on `/`. An `Err` carries the error and the content type to answer it in.
///
/// FIXME: DynamoDB refuses a request without a SigV4 `Authorization` header (`MissingAuthenticationTokenException`),
/// as dynoxide's own server does; we accept it, so that `curl` works, and never check signatures.
pub fn decode(req: &WireRequest) -> Result<Request, (DynamoError, &'static str)> {
    match req.method {
        http::Method::GET => return Ok(Request::Health),
        http::Method::POST => {}
        _ => return Ok(Request::NotFound),
    }
    let raw_type = req.header("content-type").unwrap_or("");
    let base = raw_type.split(';').next().unwrap_or("").trim();
    let content_type = if base.eq_ignore_ascii_case(AMZ_JSON) {
        AMZ_JSON
    } else if base.eq_ignore_ascii_case(PLAIN_JSON)
        || (req.body.is_empty() && raw_type.is_empty() && !req.too_large)
    {
        PLAIN_JSON
    } else {
        // Another content type with a body is not a DynamoDB request at all.
        return Ok(Request::NotFound);
    };
    if req.too_large {
        return Err((DynamoError::TooLarge, content_type));
    }
    // DynamoDB checks the body is JSON before it looks at the target, and a target before an empty body
    // (dynalite `index.js`).
    if !req.body.is_empty() && serde_json::from_slice::<serde::de::IgnoredAny>(&req.body).is_err() {
        return Err((DynamoError::Serialization, content_type));
    }
    let op = req
        .header("x-amz-target")
        .and_then(|t| {
            if let Some(name) = t.strip_prefix(TARGET) {
                Operation::from_name(name).filter(|op| !op.is_streams())
            } else if let Some(name) = t.strip_prefix(STREAMS_TARGET) {
                Operation::from_name(name).filter(|op| op.is_streams())
            } else {
                None
            }
        })
        .ok_or((DynamoError::UnknownOperation, content_type))?;
    if req.body.is_empty() {
        return Err((DynamoError::Serialization, content_type));
    }
    Ok(Request::Call {
        op,
        body: req.body.clone(),
        content_type,
    })
}

/// The answer to `GET /`, with its trailing space (dynalite `index.js`).
pub fn health(region: &str, request_id: &str) -> WireResponse {
    finish(
        WireResponse::new(200),
        format!("healthy: dynamodb.{region}.amazonaws.com "),
        request_id,
    )
}

pub fn not_found(request_id: &str) -> WireResponse {
    finish(WireResponse::new(404), NOT_FOUND_BODY.into(), request_id)
}

/// Encodes a successful operation's JSON body.
pub fn encode(body: String, content_type: &str, request_id: &str) -> WireResponse {
    finish(
        WireResponse::new(200).header("content-type", content_type),
        body,
        request_id,
    )
}

/// Encodes an error as DynamoDB does: `{"__type": "<namespace>#<Code>", "message": ...}` with status 400, or 500
/// for internal errors. The Coral protocol errors carry no message at all.
pub fn encode_error(e: &DynamoError, content_type: &str, request_id: &str) -> WireResponse {
    let (status, body) = match e {
        DynamoError::Service { status, body, .. } => (*status, body.clone()),
        DynamoError::Serialization => (
            400,
            r#"{"__type":"com.amazon.coral.service#SerializationException"}"#.to_string(),
        ),
        DynamoError::UnknownOperation => (
            400,
            r#"{"__type":"com.amazon.coral.service#UnknownOperationException"}"#.to_string(),
        ),
        DynamoError::TooLarge => (413, String::new()),
        DynamoError::Internal(message) => (
            500,
            serde_json::json!({
                "__type": "com.amazonaws.dynamodb.v20120810#InternalServerError",
                "message": message,
            })
            .to_string(),
        ),
    };
    if status >= 500 {
        tracing::warn!("DynamoDB request failed: {e}");
    }
    let resp = WireResponse::new(status);
    let resp = if body.is_empty() {
        resp
    } else {
        resp.header("content-type", content_type)
    };
    finish(resp, body, request_id)
}

/// Adds the headers DynamoDB puts on every response: the request id and the CRC32 of the body as an unsigned
/// decimal, which botocore, the Go, Java, JavaScript v2 and Ruby SDKs verify.
fn finish(resp: WireResponse, body: String, request_id: &str) -> WireResponse {
    let crc = crc32fast::hash(body.as_bytes());
    resp.header("x-amzn-requestid", request_id)
        .header("x-amz-crc32", crc.to_string())
        .body(body)
}

/// A DynamoDB-shaped request id, 52 characters of `[0-9A-Z]` as the live service uses, made from two ids of the
/// emulator's id source so that deterministic runs stay deterministic.
pub fn request_id(a: &str, b: &str) -> String {
    let mut id: String = a
        .chars()
        .chain(b.chars())
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    id.truncate(52);
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: &str, headers: &[(&'static str, &str)], body: &str) -> WireRequest {
        let mut map = http::HeaderMap::new();
        for (k, v) in headers {
            map.insert(*k, v.parse().unwrap());
        }
        WireRequest {
            method: method.parse().unwrap(),
            path: "/".into(),
            query: None,
            headers: map,
            body: Bytes::from(body.to_string()),
            peer: "127.0.0.1:1".parse().unwrap(),
            too_large: false,
            header_names: vec![],
        }
    }

    #[test]
    fn targets_are_split_between_dynamodb_and_streams() {
        let ok = |t: &str| {
            matches!(
                decode(&req(
                    "POST",
                    &[("x-amz-target", t), ("content-type", AMZ_JSON)],
                    "{}"
                )),
                Ok(Request::Call { .. })
            )
        };
        assert!(ok("DynamoDB_20120810.PutItem"));
        assert!(ok("DynamoDBStreams_20120810.GetRecords"));
        assert!(!ok("DynamoDBStreams_20120810.PutItem"));
        assert!(!ok("DynamoDB_20120810.Nope"));
    }

    #[test]
    fn bad_json_is_checked_before_the_target() {
        let e = decode(&req("POST", &[("content-type", PLAIN_JSON)], "{")).unwrap_err();
        assert!(matches!(e.0, DynamoError::Serialization));
        assert_eq!(e.1, PLAIN_JSON);
    }

    #[test]
    fn other_content_types_are_not_found() {
        let r = decode(&req("POST", &[("content-type", "text/plain")], "{}")).unwrap();
        assert!(matches!(r, Request::NotFound));
    }

    #[test]
    fn request_ids_look_like_dynamodb_ones() {
        let id = request_id(
            "00000000-0000-4000-8000-000000000001",
            "2b0c1a9e-4f0e-4a2c-9d5c-0e7f5b1c2d3e",
        );
        assert_eq!(id.len(), 52);
        assert!(
            id.chars()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        );
    }
}
