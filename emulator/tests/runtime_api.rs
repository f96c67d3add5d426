//! Runtime API status codes, checked with raw HTTP from inside a function.

use serde_json::json;

use crate::support::{Builder, faulty};

#[tokio::test]
async fn duplicate_response_is_403_and_unknown_id_is_400() {
    let h = Builder::new(faulty("f", "")).start().await;
    let path = std::env::temp_dir().join(format!("offcloud-double-{}.json", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let event = json!({"action": "double", "report": path});
    let out = h.invoke("f", event.to_string()).await;
    assert_eq!(out.payload().unwrap().as_ref(), br#""first""#);
    // The runtime writes its report after the invocation has ended; wait for it, within a bound.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let line = loop {
        if let Ok(text) = std::fs::read_to_string(&path) {
            break text;
        }
        assert!(std::time::Instant::now() < deadline, "the runtime's report");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let _ = std::fs::remove_file(&path);
    let report: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(report["first"], 202);
    assert_eq!(report["second"], 403);
    assert_eq!(report["second_body"]["errorType"], "InvalidStateTransition");
    assert_eq!(report["unknown"], 400);
    assert_eq!(
        report["unknown_body"],
        json!({"errorMessage": "Invalid request ID", "errorType": "InvalidRequestID"})
    );
}
