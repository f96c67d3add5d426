//! Runtime API status codes, checked with raw HTTP from inside a function.

use serde_json::json;

use crate::support::{Builder, faulty};

#[tokio::test]
async fn duplicate_response_is_403_and_unknown_id_is_400() {
    let h = Builder::new(faulty("f", "")).start().await;
    let out = h.invoke_tail("f", r#"{"action":"double"}"#).await;
    assert_eq!(out.payload().unwrap().as_ref(), br#""first""#);
    use base64::Engine;
    let log = base64::engine::general_purpose::STANDARD
        .decode(out.log_result().unwrap())
        .unwrap();
    let log = String::from_utf8(log).unwrap();
    let line = log
        .lines()
        .find(|l| l.starts_with('{'))
        .expect("the runtime's report");
    let report: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(report["first"], 202);
    assert_eq!(report["second"], 403);
    assert_eq!(report["second_body"]["errorType"], "InvalidStateTransition");
    assert_eq!(report["unknown"], 400);
    assert_eq!(
        report["unknown_body"],
        json!({"errorMessage": "Invalid request ID", "errorType": "InvalidRequestID"})
    );
}
