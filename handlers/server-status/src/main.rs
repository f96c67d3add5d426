//! A port of the tutorial's Python `server_status` Lambda function.
//!
//! Any event returns the server status payload, except events that ask for one
//! of the error classes through an `error` field, which fail with that error.

use std::fmt;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use lambda_runtime::{Diagnostic, Error, LambdaEvent, run, service_fn};
use serde::Serialize;
use serde_json::Value;

/// The API version reported by the status payload.
const VERSION: &str = "4";

/// The time the process started, in epoch seconds. It is forced in `main`.
static START_TIME: LazyLock<i64> = LazyLock::new(|| Utc::now().timestamp());

/// The response envelope used by the tutorial's `lambda_api` helper.
#[derive(Debug, Serialize)]
struct StatusResponse {
    notes: Option<String>,
    code: u16,
    data: StatusData,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct StatusData {
    status: &'static str,
    server_time: i64,
    server_time_formatted: String,
    server_start_time: i64,
    server_start_time_formatted: String,
    version: &'static str,
}

/// The error classes of the tutorial, each mapped to an HTTP status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StatusError {
    /// A bad request (400).
    InvalidRequest,
    /// An unauthorized request (403).
    IllegalAccess,
    /// A request for something that does not exist (404).
    NoSuchResource,
}

impl StatusError {
    /// Maps the value of an `error` trigger to an error class.
    fn from_trigger(trigger: &str) -> Option<Self> {
        match trigger {
            "invalid" => Some(Self::InvalidRequest),
            "forbidden" => Some(Self::IllegalAccess),
            "missing" => Some(Self::NoSuchResource),
            _ => None,
        }
    }

    /// The name reported as the Lambda `errorType`.
    fn error_type(self) -> &'static str {
        match self {
            Self::InvalidRequest => "InvalidRequestError",
            Self::IllegalAccess => "IllegalAccessError",
            Self::NoSuchResource => "NoSuchResourceError",
        }
    }

    /// The HTTP status code that this error class stands for.
    #[cfg_attr(not(test), allow(dead_code))]
    fn status_code(self) -> u16 {
        match self {
            Self::InvalidRequest => 400,
            Self::IllegalAccess => 403,
            Self::NoSuchResource => 404,
        }
    }

    /// The message, whose prefix names the error class so that an API Gateway
    /// integration response can match it with a regular expression.
    fn message(self) -> &'static str {
        match self {
            Self::InvalidRequest => "InvalidRequest: the request was invalid",
            Self::IllegalAccess => "IllegalAccess: access to this resource is forbidden",
            Self::NoSuchResource => "NoSuchResource: the requested resource does not exist",
        }
    }
}

impl fmt::Display for StatusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for StatusError {}

impl From<StatusError> for Diagnostic {
    fn from(error: StatusError) -> Self {
        Diagnostic {
            error_type: error.error_type().to_owned(),
            error_message: error.message().to_owned(),
        }
    }
}

/// Formats epoch seconds as `YYYY-MM-DD HH:MM:SS` in UTC.
fn format_time(epoch_secs: i64) -> String {
    DateTime::from_timestamp(epoch_secs, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// Builds the status payload for the given current and start times.
fn status_payload(now: i64, start: i64) -> StatusResponse {
    StatusResponse {
        notes: None,
        code: 200,
        data: StatusData {
            status: "ok",
            server_time: now,
            server_time_formatted: format_time(now),
            server_start_time: start,
            server_start_time_formatted: format_time(start),
            version: VERSION,
        },
    }
}

/// Finds an `error` trigger in the event itself, in its query string
/// parameters, or in a JSON `body` of an API Gateway proxy event.
fn requested_error(event: &Value) -> Option<StatusError> {
    let from_body = || match event.get("body")? {
        Value::String(body) => serde_json::from_str::<Value>(body)
            .ok()?
            .get("error")?
            .as_str()
            .and_then(StatusError::from_trigger),
        body => body
            .get("error")?
            .as_str()
            .and_then(StatusError::from_trigger),
    };
    [
        event.get("error"),
        event.pointer("/queryStringParameters/error"),
    ]
    .into_iter()
    .flatten()
    .filter_map(Value::as_str)
    .find_map(StatusError::from_trigger)
    .or_else(from_body)
}

/// The pure handler logic: an error if the event asks for one, else the status.
fn handle(event: &Value, now: i64, start: i64) -> Result<StatusResponse, StatusError> {
    match requested_error(event) {
        Some(error) => Err(error),
        None => Ok(status_payload(now, start)),
    }
}

async fn handler(event: LambdaEvent<Value>) -> Result<StatusResponse, StatusError> {
    handle(&event.payload, Utc::now().timestamp(), *START_TIME)
}

// A Lambda instance handles one event at a time, so one thread serves it; a multi-threaded runtime would only
// hand each request and response between threads.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    LazyLock::force(&START_TIME);
    run(service_fn(handler)).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn status_payload_shape() {
        let payload = serde_json::to_value(status_payload(1_469_055_918, 1_469_055_900)).unwrap();
        assert_eq!(
            payload,
            json!({
                "notes": null,
                "code": 200,
                "data": {
                    "status": "ok",
                    "serverTime": 1_469_055_918,
                    "serverTimeFormatted": "2016-07-20 23:05:18",
                    "serverStartTime": 1_469_055_900,
                    "serverStartTimeFormatted": "2016-07-20 23:05:00",
                    "version": "4"
                }
            })
        );
    }

    #[test]
    fn time_format_is_utc_with_seconds() {
        assert_eq!(format_time(0), "1970-01-01 00:00:00");
        assert_eq!(format_time(1_468_972_660), "2016-07-19 23:57:40");
    }

    #[test]
    fn plain_and_api_gateway_events_return_status() {
        for event in [
            json!({}),
            json!({"resource": "/status", "httpMethod": "GET", "body": null}),
            json!({"error": "something-else"}),
        ] {
            let response = handle(&event, 10, 5).unwrap();
            assert_eq!(response.code, 200);
            assert_eq!(response.data.server_start_time, 5);
        }
    }

    #[test]
    fn error_classes_and_messages() {
        let cases = [
            ("invalid", "InvalidRequest:", "InvalidRequestError", 400),
            ("forbidden", "IllegalAccess:", "IllegalAccessError", 403),
            ("missing", "NoSuchResource:", "NoSuchResourceError", 404),
        ];
        for (trigger, prefix, error_type, status) in cases {
            let error = handle(&json!({ "error": trigger }), 10, 5).unwrap_err();
            assert!(error.to_string().starts_with(prefix), "{error}");
            assert_eq!(error.status_code(), status);
            let diagnostic = Diagnostic::from(error);
            assert_eq!(diagnostic.error_type, error_type);
            assert_eq!(diagnostic.error_message, error.to_string());
        }
    }

    #[test]
    fn error_trigger_in_query_string_or_body() {
        let query = json!({"queryStringParameters": {"error": "forbidden"}});
        assert_eq!(requested_error(&query), Some(StatusError::IllegalAccess));
        let body = json!({"body": "{\"error\": \"missing\"}"});
        assert_eq!(requested_error(&body), Some(StatusError::NoSuchResource));
        let bad_body = json!({"body": "not json"});
        assert_eq!(requested_error(&bad_body), None);
    }
}
