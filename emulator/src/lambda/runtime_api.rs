//! The Lambda Runtime API (2018-06-01) that a function process talks to, served at the root of a per-instance
//! `host:port` (runtime clients break under a path prefix).
//!
//! Sources: https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html, and AWS's runtime interface emulator
//! (aws/aws-lambda-runtime-interface-emulator, `internal/lambda/rapi`) for status codes and bodies.

use std::sync::Arc;

use bytes::Bytes;
use serde_json::json;

use super::MAX_SYNC_PAYLOAD;
use super::instance::{Ack, RuntimeOutcome, Shared};
use crate::net::{Handler, WireRequest, WireResponse};

/// The largest `/response` body: 6 MiB plus 100 bytes (RIE `interop.MaxPayloadSize`).
pub const MAX_RESPONSE: usize = MAX_SYNC_PAYLOAD + 100;

const PREFIX: &str = "/2018-06-01/runtime/";

/// One Runtime API route, decoded from method and path.
#[derive(Debug, PartialEq, Eq)]
pub enum Route<'a> {
    Next,
    Response(&'a str),
    Error(&'a str),
    InitError,
}

impl<'a> Route<'a> {
    pub fn parse(method: &http::Method, path: &'a str) -> Option<Self> {
        let rest = path.strip_prefix(PREFIX)?;
        match (method.as_str(), rest) {
            ("GET", "invocation/next") => Some(Self::Next),
            ("POST", "init/error") => Some(Self::InitError),
            ("POST", r) => {
                let r = r.strip_prefix("invocation/")?;
                let (id, action) = r.rsplit_once('/')?;
                match action {
                    "response" if !id.is_empty() => Some(Self::Response(id)),
                    "error" if !id.is_empty() => Some(Self::Error(id)),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

/// The Runtime API of one instance.
pub struct RuntimeApi {
    pub shared: Arc<Shared>,
}

fn error(status: u16, error_type: &str, message: &str) -> WireResponse {
    WireResponse::json(
        status,
        &json!({"errorMessage": message, "errorType": error_type}),
    )
}

fn accepted() -> WireResponse {
    WireResponse::json(202, &json!({"status": "OK"}))
}

fn ack(a: Ack) -> WireResponse {
    match a {
        Ack::Accepted => accepted(),
        // RIE's text for a transition its state machine refuses.
        Ack::InvalidStateTransition => error(
            403,
            "InvalidStateTransition",
            "State transition from RuntimeResponseSent to InvocationErrorResponse failed for runtime. Error: Invalid state transition",
        ),
        Ack::InvalidRequestId => error(400, "InvalidRequestID", "Invalid request ID"),
    }
}

/// The function error type a runtime sent, from `Lambda-Runtime-Function-Error-Type`.
fn error_type(req: &WireRequest) -> Option<String> {
    req.header("lambda-runtime-function-error-type")
        .map(str::to_string)
}

impl Handler for RuntimeApi {
    fn outlives_client(&self) -> bool {
        false
    }

    async fn handle(&self, req: WireRequest) -> WireResponse {
        let Some(route) = Route::parse(&req.method, &req.path) else {
            return error(
                404,
                "NotFound",
                &format!("Unknown Runtime API route: {} {}", req.method, req.path),
            );
        };
        match route {
            Route::Next => {
                let d = self.shared.next().await;
                let mut r = WireResponse::new(200)
                    .header("content-type", "application/json")
                    .header("lambda-runtime-aws-request-id", &d.request_id)
                    .header("lambda-runtime-deadline-ms", d.deadline_ms.to_string())
                    .header(
                        "lambda-runtime-invoked-function-arn",
                        &d.invoked_function_arn,
                    )
                    .header("lambda-runtime-trace-id", &d.trace_id);
                if let Some(c) = &d.client_context {
                    r = r.header("lambda-runtime-client-context", c);
                }
                if let Some(c) = &d.cognito_identity {
                    r = r.header("lambda-runtime-cognito-identity", c);
                }
                r.body(d.payload)
            }
            Route::Response(id) if req.too_large => {
                let size = req.header("content-length").and_then(|v| v.parse().ok());
                match self
                    .shared
                    .finish(id, RuntimeOutcome::ResponseTooLarge { size })
                {
                    Ack::Accepted => error(
                        413,
                        "RequestEntityTooLarge",
                        &format!("Exceeded maximum allowed payload size ({MAX_RESPONSE} bytes)."),
                    ),
                    other => ack(other),
                }
            }
            Route::Response(id) => ack(self
                .shared
                .finish(id, RuntimeOutcome::Response(req.body.clone()))),
            Route::Error(id) => {
                let outcome = RuntimeOutcome::Error {
                    error_type: error_type(&req),
                    body: req.body.clone(),
                };
                ack(self.shared.finish(id, outcome))
            }
            Route::InitError => ack(self.shared.init_error(error_type(&req), req.body.clone())),
        }
    }
}

/// The error document an invoker receives for an error a runtime posted. A JSON object passes through as AWS
/// passes it; anything else is wrapped with the header's error type.
pub fn error_document(error_type: Option<&str>, body: &Bytes) -> Bytes {
    if matches!(
        serde_json::from_slice::<serde_json::Value>(body),
        Ok(serde_json::Value::Object(_))
    ) {
        return body.clone();
    }
    let doc = json!({
        "errorMessage": String::from_utf8_lossy(body),
        "errorType": error_type.unwrap_or("Runtime.Unknown"),
    });
    Bytes::from(doc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;

    #[test]
    fn routes_decode() {
        let p = |m: Method, s: &'static str| Route::parse(&m, s);
        assert_eq!(
            p(Method::GET, "/2018-06-01/runtime/invocation/next"),
            Some(Route::Next)
        );
        assert_eq!(
            p(Method::POST, "/2018-06-01/runtime/invocation/abc/response"),
            Some(Route::Response("abc"))
        );
        assert_eq!(
            p(Method::POST, "/2018-06-01/runtime/invocation/abc/error"),
            Some(Route::Error("abc"))
        );
        assert_eq!(
            p(Method::POST, "/2018-06-01/runtime/init/error"),
            Some(Route::InitError)
        );
        assert_eq!(p(Method::POST, "/2018-06-01/runtime/invocation/next"), None);
        assert_eq!(
            p(Method::GET, "/2018-06-01/runtime/invocation/abc/response"),
            None
        );
        assert_eq!(
            p(Method::POST, "/2018-06-01/runtime/invocation//response"),
            None
        );
        assert_eq!(
            p(Method::GET, "/.rt/2018-06-01/runtime/invocation/next"),
            None
        );
    }

    #[test]
    fn non_json_error_bodies_are_wrapped() {
        let doc = error_document(Some("Function.Boom"), &Bytes::from_static(b"plain text"));
        let v: serde_json::Value = serde_json::from_slice(&doc).unwrap();
        assert_eq!(
            v,
            json!({"errorMessage": "plain text", "errorType": "Function.Boom"})
        );
        let obj = Bytes::from_static(br#"{"errorMessage":"x","errorType":"Y"}"#);
        assert_eq!(error_document(None, &obj), obj);
    }
}
