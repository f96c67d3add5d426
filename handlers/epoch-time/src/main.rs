//! A Lambda handler that reports the current Unix epoch time.
//!
//! It answers in the API Gateway proxy response shape, byte for byte as the seed's Python `app.handler` did:
//! the runtime sent `json.dumps` output, whose separators are `", "` and `": "`. The response is therefore
//! returned as raw JSON text rather than a struct that serde would print compactly.

use std::time::{SystemTime, UNIX_EPOCH};

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;
use serde_json::value::RawValue;

/// The response for the given epoch time in seconds, formatted as Python's `json.dumps` formats it.
fn epoch_response(epoch_secs: u64) -> String {
    let body = format!("{{\"The current epoch time\": {epoch_secs}}}");
    let body = serde_json::to_string(&body).unwrap_or_default();
    format!(
        "{{\"statusCode\": 200, \"body\": {body}, \"headers\": {{\"Content-Type\": \"application/json\"}}}}"
    )
}

fn now_epoch_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

async fn handler(_event: LambdaEvent<Value>) -> Result<Box<RawValue>, Error> {
    Ok(RawValue::from_string(epoch_response(now_epoch_secs()))?)
}

// A Lambda instance handles one event at a time, so one thread serves it; a multi-threaded runtime would only
// hand each request and response between threads.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(service_fn(handler)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_matches_the_seed_byte_for_byte() {
        assert_eq!(
            epoch_response(1_696_034_577),
            r#"{"statusCode": 200, "body": "{\"The current epoch time\": 1696034577}", "headers": {"Content-Type": "application/json"}}"#
        );
    }

    #[test]
    fn response_is_a_proxy_response_with_integer_seconds() {
        let v: Value = serde_json::from_str(&epoch_response(42)).unwrap();
        assert_eq!(v["statusCode"], 200);
        let body: Value = serde_json::from_str(v["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["The current epoch time"], Value::from(42));
    }

    #[test]
    fn current_time_is_plausible() {
        // 2023-01-01T00:00:00Z; any real clock is later than this.
        assert!(now_epoch_secs() > 1_672_531_200);
    }
}
