//! The Invoke API through the official `aws-sdk-lambda` client and raw HTTP, with the real seed handlers.

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use base64::Engine;
use serde_json::{Value, json};

use crate::support::{Builder, Harness, faulty, header, raw};

fn body(out: &aws_sdk_lambda::operation::invoke::InvokeOutput) -> Value {
    serde_json::from_slice(out.payload().unwrap().as_ref()).unwrap()
}

#[tokio::test]
async fn epoch_time_through_the_sdk() {
    let h = Builder::seeds().start().await;
    let out = h.invoke("epoch-time", "{}").await;
    assert_eq!(out.status_code(), 200);
    assert_eq!(out.executed_version(), Some("$LATEST"));
    assert_eq!(out.function_error(), None);
    let v = body(&out);
    assert_eq!(v["statusCode"], 200);
    assert_eq!(v["headers"], json!({"Content-Type": "application/json"}));
    let inner: Value = serde_json::from_str(v["body"].as_str().unwrap()).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((inner["The current epoch time"].as_i64().unwrap() - now).abs() <= 5);
}

#[tokio::test]
async fn seed_curl_reaches_the_default_function() {
    let h = Builder::seeds().start().await;
    let addr = h.emulator.main_addr.to_string();
    let (status, _, body) = raw(
        &addr,
        "POST",
        "/2015-03-31/functions/function/invocations",
        &[],
        b"{}",
    )
    .await;
    assert_eq!(status, 200);
    let text = String::from_utf8(body).unwrap();
    let re = regex::Regex::new(
        r#"^\{"statusCode": 200, "body": "\{\\"The current epoch time\\": \d+\}", "headers": \{"Content-Type": "application/json"\}\}$"#,
    )
    .unwrap();
    assert!(re.is_match(&text), "{text}");
}

#[tokio::test]
async fn server_status_errors_are_unhandled_function_errors() {
    let h = Builder::seeds().start().await;
    let client = h.lambda().await;
    for (trigger, prefix) in [
        ("invalid", "InvalidRequest:"),
        ("forbidden", "IllegalAccess:"),
        ("missing", "NoSuchResource:"),
    ] {
        let out = client
            .invoke()
            .function_name("server-status")
            .payload(Blob::new(json!({"error": trigger}).to_string()))
            .send()
            .await
            .unwrap();
        assert_eq!(out.status_code(), 200);
        assert_eq!(out.function_error(), Some("Unhandled"));
        let v = body(&out);
        assert!(
            v["errorMessage"].as_str().unwrap().starts_with(prefix),
            "{v}"
        );
    }
    let out = client
        .invoke()
        .function_name("server-status")
        .payload(Blob::new("{}"))
        .send()
        .await
        .unwrap();
    let v = body(&out);
    assert_eq!(v["code"], 200);
    assert_eq!(v["data"]["status"], "ok");
    assert_eq!(v["data"]["version"], "4");
}

#[tokio::test]
async fn names_partial_and_full_arns_and_qualifiers() {
    let h = Builder::seeds().start().await;
    let client = h.lambda().await;
    for name in [
        "epoch-time",
        "123456789012:function:epoch-time",
        "arn:aws:lambda:us-east-1:123456789012:function:epoch-time",
        "arn:aws:lambda:us-east-1:123456789012:function:epoch-time:$LATEST",
    ] {
        let out = client.invoke().function_name(name).send().await.unwrap();
        assert_eq!(out.status_code(), 200, "{name}");
    }
    let out = client
        .invoke()
        .function_name("epoch-time")
        .qualifier("$LATEST")
        .send()
        .await
        .unwrap();
    assert_eq!(out.status_code(), 200);
}

#[tokio::test]
async fn unknown_function_is_resource_not_found() {
    let h = Builder::seeds().start().await;
    let err = h
        .lambda()
        .await
        .invoke()
        .function_name("nope")
        .send()
        .await
        .unwrap_err();
    let err = err.into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
    assert_eq!(
        aws_sdk_lambda::error::ProvideErrorMetadata::message(&err),
        Some("Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope")
    );
    let addr = h.emulator.main_addr.to_string();
    let (status, headers, _) = raw(
        &addr,
        "POST",
        "/2015-03-31/functions/nope/invocations",
        &[],
        b"{}",
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(
        header(&headers, "x-amzn-errortype"),
        Some("ResourceNotFoundException")
    );
}

#[tokio::test]
async fn payload_that_is_not_json_is_invalid_request_content() {
    let h = Builder::seeds().start().await;
    let err = h
        .lambda()
        .await
        .invoke()
        .function_name("epoch-time")
        .payload(Blob::new("{nope"))
        .send()
        .await
        .unwrap_err();
    let err = err.into_service_error();
    assert!(err.is_invalid_request_content_exception(), "{err:?}");
    let msg = aws_sdk_lambda::error::ProvideErrorMetadata::message(&err).unwrap();
    assert!(
        msg.starts_with("Could not parse request body into json: "),
        "{msg}"
    );
}

#[tokio::test]
async fn request_over_6_mb_is_413() {
    let h = Builder::seeds().start().await;
    let addr = h.emulator.main_addr.to_string();
    let big = format!("\"{}\"", "x".repeat(6 * 1024 * 1024));
    let (status, headers, body) = raw(
        &addr,
        "POST",
        "/2015-03-31/functions/epoch-time/invocations",
        &[],
        big.as_bytes(),
    )
    .await;
    assert_eq!(status, 413);
    // AWS puts RequestEntityTooLargeException on the wire (aws/aws-sdk-go#3080).
    assert_eq!(
        header(&headers, "x-amzn-errortype"),
        Some("RequestEntityTooLargeException")
    );
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        v["Message"],
        "Request must be smaller than 6291456 bytes for the InvokeFunction operation"
    );
}

#[tokio::test]
async fn dry_run_is_204_and_event_is_202() {
    let h = Builder::seeds().start().await;
    let client = h.lambda().await;
    let out = client
        .invoke()
        .function_name("epoch-time")
        .invocation_type(InvocationType::DryRun)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status_code(), 204);
    let out = client
        .invoke()
        .function_name("epoch-time")
        .invocation_type(InvocationType::Event)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status_code(), 202);
}

/// An emulator whose function `f` fails, with the given retry delays, after an Event invocation of it has been
/// accepted and run `attempts` times.
async fn failing_event(
    delays: &str,
    attempts: u64,
) -> (Harness, std::sync::Arc<offcloud::lambda::Function>) {
    let config = format!("async_retry_delays_ms = {delays}\n{}", faulty("f", ""));
    let h = Builder::new(config).start().await;
    let event = json!({"action": "error", "message": "fails"}).to_string();
    let out = h
        .lambda()
        .await
        .invoke()
        .function_name("f")
        .invocation_type(InvocationType::Event)
        .payload(Blob::new(event))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status_code(), 202);
    let f = h.emulator.lambda.resolve("f", None).unwrap().clone();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while f.invocations() < attempts && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    (h, f)
}

#[tokio::test]
async fn event_invocations_retry_twice_on_error() {
    let (_h, f) = failing_event("[10, 10]", 1).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while f.invocations() < 3 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(f.invocations(), 3, "one attempt and two retries");
}

/// Shutdown stops a failed Event invocation's retries: no process starts after it.
#[tokio::test]
async fn shutdown_stops_event_retries() {
    let (h, f) = failing_event("[400, 400]", 1).await;
    h.emulator.lambda.shutdown();
    assert!(f.pids().is_empty(), "every instance is gone");
    tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    assert_eq!(f.invocations(), 1, "no retry ran after shutdown");
    assert!(f.pids().is_empty(), "no process started after shutdown");
}

#[tokio::test]
async fn tail_returns_the_invocation_log() {
    let h = Builder::new(faulty("f", "")).start().await;
    let out = h.invoke_tail("f", r#"{"action":"log"}"#).await;
    let log = base64::engine::general_purpose::STANDARD
        .decode(out.log_result().unwrap())
        .unwrap();
    let log = String::from_utf8(log).unwrap();
    assert!(log.starts_with("START RequestId: "), "{log}");
    assert!(log.contains("hello from the function\n"), "{log}");
    assert!(log.contains("to stderr\n"), "{log}");
    assert!(log.contains("\nEND RequestId: "), "{log}");
    assert!(log.contains("\tBilled Duration: "), "{log}");
    assert!(log.contains("\tInit Duration: "), "cold start: {log}");
}

#[tokio::test]
async fn event_payload_over_1_mb_is_413_with_the_event_wording() {
    let h = Builder::seeds().start().await;
    let addr = h.emulator.main_addr.to_string();
    let big = format!("\"{}\"", "x".repeat(1024 * 1024));
    let (status, headers, body) = raw(
        &addr,
        "POST",
        "/2015-03-31/functions/epoch-time/invocations",
        &[("x-amz-invocation-type", "Event")],
        big.as_bytes(),
    )
    .await;
    assert_eq!(status, 413);
    assert_eq!(
        header(&headers, "x-amzn-errortype"),
        Some("RequestEntityTooLargeException")
    );
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        v["Message"],
        format!(
            "{} byte payload is too large for the Event invocation type (limit 1048576 bytes)",
            big.len()
        )
    );
}

/// `Event` invocations queue up to `max_queued_events`; past it, 429 rather than an event accepted and then lost.
#[tokio::test]
async fn event_invocations_past_the_queue_bound_are_throttled() {
    let h = Builder::new(faulty("f", "max_concurrency = 1\nmax_queued_events = 1"))
        .start()
        .await;
    let addr = h.emulator.main_addr.to_string();
    let event = |ms: u64| {
        let addr = addr.clone();
        async move {
            raw(
                &addr,
                "POST",
                "/2015-03-31/functions/f/invocations",
                &[("x-amz-invocation-type", "Event")],
                format!(r#"{{"action":"sleep","ms":{ms}}}"#).as_bytes(),
            )
            .await
        }
    };
    assert_eq!(event(800).await.0, 202);
    let (status, headers, body) = event(0).await;
    assert_eq!(status, 429);
    assert_eq!(
        header(&headers, "x-amzn-errortype"),
        Some("TooManyRequestsException")
    );
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["Reason"], "ConcurrentInvocationLimitExceeded");
    // Once the queued event has run, the queue takes another.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while h.emulator.lambda.queued_events("f") > 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(h.emulator.lambda.queued_events("f"), 0);
    assert_eq!(event(0).await.0, 202);
}

/// A throttled `Event` invocation goes back to the queue and runs once the function has room, as on AWS, instead of
/// using up the retries that function errors get.
#[tokio::test]
async fn a_throttled_event_is_retried_until_it_runs() {
    let config = format!(
        "async_retry_delays_ms = []\n{}",
        faulty("f", "reserved_concurrency = 1")
    );
    let h = Builder::new(config).start().await;
    let client = h.lambda().await;
    let (slow, f) = crate::support::occupy(&h, "f", 500).await;
    let out = client
        .invoke()
        .function_name("f")
        .invocation_type(InvocationType::Event)
        .payload(Blob::new("{}"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status_code(), 202);
    slow.await.unwrap().unwrap();
    // The first try was throttled; the retry a second later runs.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while f.invocations() < 2 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(f.invocations(), 2, "the throttled event ran");
    while h.emulator.lambda.queued_events("f") > 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        h.emulator.lambda.queued_events("f"),
        0,
        "and left the queue"
    );
}
