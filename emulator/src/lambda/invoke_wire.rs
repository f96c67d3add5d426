//! The Invoke API's wire: `POST /2015-03-31/functions/{FunctionName}/invocations`.
//!
//! Source: https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::json;

use super::{InvocationType, InvokeInput, InvokeOutput, LambdaError};
use crate::net::{WireRequest, WireResponse};

/// The largest `X-Amz-Client-Context`, base64-encoded.
const MAX_CLIENT_CONTEXT: usize = 3583;
/// `X-Amz-Log-Result` carries the last 4 KB of the log.
const TAIL_BYTES: usize = 4096;

/// The function name in an Invoke path, percent-decoded, if the path is an Invoke path.
pub fn function_in_path(path: &str) -> Option<String> {
    let name = path
        .strip_prefix("/2015-03-31/functions/")?
        .strip_suffix("/invocations")?;
    if name.is_empty() || name.contains('/') {
        return None;
    }
    Some(
        percent_encoding::percent_decode_str(name)
            .decode_utf8_lossy()
            .into_owned(),
    )
}

fn query_param(query: Option<&str>, key: &str) -> Option<String> {
    query?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == key).then(|| {
            percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .into_owned()
        })
    })
}

/// Decodes an Invoke request.
pub fn decode(req: &WireRequest, function_name: String) -> Result<InvokeInput, LambdaError> {
    let invocation_type = match req.header("x-amz-invocation-type") {
        None | Some("RequestResponse") => InvocationType::RequestResponse,
        Some("Event") => InvocationType::Event,
        Some("DryRun") => InvocationType::DryRun,
        Some(other) => {
            return Err(LambdaError::InvalidParameterValue(format!(
                "1 validation error detected: Value '{other}' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]"
            )));
        }
    };
    let tail_log = match req.header("x-amz-log-type") {
        None | Some("None") => false,
        Some("Tail") => true,
        Some(other) => {
            return Err(LambdaError::InvalidParameterValue(format!(
                "1 validation error detected: Value '{other}' at 'logType' failed to satisfy constraint: Member must satisfy enum value set: [None, Tail]"
            )));
        }
    };
    let client_context = match req.header("x-amz-client-context") {
        None => None,
        Some(c) if c.len() > MAX_CLIENT_CONTEXT => {
            return Err(LambdaError::InvalidParameterValue(
                "Client context must be smaller than 3583 bytes when base64-encoded".into(),
            ));
        }
        Some(c) => {
            let raw = B64.decode(c).map_err(|_| {
                LambdaError::InvalidParameterValue(
                    "Client context must be a valid Base64-encoded JSON object".into(),
                )
            })?;
            Some(String::from_utf8_lossy(&raw).into_owned())
        }
    };
    if req.too_large {
        return Err(LambdaError::RequestTooLarge(super::MAX_SYNC_PAYLOAD));
    }
    Ok(InvokeInput {
        function_name,
        qualifier: query_param(req.query.as_deref(), "Qualifier"),
        invocation_type,
        tail_log,
        client_context,
        cognito_identity: None,
        payload: req.body.clone(),
        // A caller's `X-Amzn-Trace-Id` puts the invocation in its trace.
        trace: req
            .header("x-amzn-trace-id")
            .and_then(crate::trace::TraceHeader::parse),
    })
}

/// Encodes a finished invocation.
pub fn encode(out: &InvokeOutput) -> WireResponse {
    let mut r = WireResponse::new(out.status)
        .header("x-amzn-requestid", &out.request_id)
        .header("x-amz-executed-version", "$LATEST");
    if out.status == 200 {
        r = r
            .header("content-type", "application/json")
            .body(out.payload.clone());
    }
    if let Some(e) = &out.function_error {
        r = r.header("x-amz-function-error", e);
    }
    if let Some(log) = &out.log {
        let bytes = log.as_bytes();
        let tail = &bytes[bytes.len().saturating_sub(TAIL_BYTES)..];
        r = r.header("x-amz-log-result", B64.encode(tail));
    }
    r
}

/// Encodes an Invoke API error as Lambda does: the code in `X-Amzn-ErrorType`, and a body with `Type`.
/// Real captures show `Message` on 404 and 413 and `message` with `Reason` on 429 (aarondfrancis/sidecar#23).
pub fn encode_error(e: &LambdaError, request_id: &str) -> WireResponse {
    let body = match e {
        LambdaError::TooManyRequests => json!({
            "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded",
            "Type": "User",
            "message": e.to_string(),
        }),
        LambdaError::ConcurrencyLimitExceeded => json!({
            "Reason": "ConcurrentInvocationLimitExceeded",
            "Type": "User",
            "message": e.to_string(),
        }),
        LambdaError::Service(_) => json!({"Type": "Service", "Message": e.to_string()}),
        _ => json!({"Type": "User", "Message": e.to_string()}),
    };
    WireResponse::json(e.status(), &body)
        .header("x-amzn-errortype", e.code())
        .header("x-amzn-requestid", request_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invoke_paths() {
        assert_eq!(
            function_in_path("/2015-03-31/functions/f/invocations").as_deref(),
            Some("f")
        );
        assert_eq!(
            function_in_path("/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Af/invocations")
                .as_deref(),
            Some("arn:aws:lambda:us-east-1:1:function:f")
        );
        assert_eq!(function_in_path("/2015-03-31/functions//invocations"), None);
        assert_eq!(function_in_path("/2015-03-31/functions/f"), None);
    }

    #[test]
    fn qualifier_from_query() {
        assert_eq!(
            query_param(Some("a=1&Qualifier=%24LATEST"), "Qualifier").as_deref(),
            Some("$LATEST")
        );
        assert_eq!(query_param(None, "Qualifier"), None);
    }

    #[test]
    fn tail_is_last_4kb_base64() {
        let out = InvokeOutput {
            status: 200,
            request_id: "r".into(),
            function_error: None,
            payload: bytes::Bytes::new(),
            log: Some("x".repeat(5000) + "END"),
        };
        let r = encode(&out);
        let tail = B64
            .decode(r.headers["x-amz-log-result"].as_bytes())
            .unwrap();
        assert_eq!(tail.len(), 4096);
        assert!(tail.ends_with(b"END"));
    }
}
