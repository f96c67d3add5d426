//! A Lambda handler that reports the current Unix epoch time.
//!
//! The response mirrors the original Python `app.handler`, which returned an
//! API Gateway proxy response whose body was produced by `json.dumps`.

use std::time::{SystemTime, UNIX_EPOCH};

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde::Serialize;
use serde_json::Value;

/// An API Gateway proxy response. Field order determines the key order in the output.
#[derive(Debug, Serialize)]
struct Response {
    #[serde(rename = "statusCode")]
    status_code: u16,
    body: String,
    headers: Headers,
}

#[derive(Debug, Serialize)]
struct Headers {
    #[serde(rename = "Content-Type")]
    content_type: &'static str,
}

/// Builds the response for the given epoch time in seconds.
fn epoch_response(epoch_secs: u64) -> Response {
    Response {
        status_code: 200,
        // This matches Python's `json.dumps`, which puts a space after the colon.
        body: format!("{{\"The current epoch time\": {epoch_secs}}}"),
        headers: Headers {
            content_type: "application/json",
        },
    }
}

fn now_epoch_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

async fn handler(_event: LambdaEvent<Value>) -> Result<Response, Error> {
    Ok(epoch_response(now_epoch_secs()))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(service_fn(handler)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_matches_python_output() {
        let json = serde_json::to_string(&epoch_response(1_696_034_577)).unwrap();
        assert_eq!(
            json,
            r#"{"statusCode":200,"body":"{\"The current epoch time\": 1696034577}","headers":{"Content-Type":"application/json"}}"#
        );
    }

    #[test]
    fn body_is_valid_json_with_integer_seconds() {
        let body: Value = serde_json::from_str(&epoch_response(42).body).unwrap();
        assert_eq!(body["The current epoch time"], Value::from(42));
    }

    #[test]
    fn current_time_is_plausible() {
        // 2023-01-01T00:00:00Z; any real clock is later than this.
        assert!(now_epoch_secs() > 1_672_531_200);
    }
}
