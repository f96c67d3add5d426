//! Projects served as `offcloud serve` serves them: a config that imports an OpenAPI file, and a template whose
//! Rust function is a Cargo package built on first use. The eight projects under `fixtures/templates/` run as
//! scenarios.

use crate::support::{fixture, raw, start_project};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_api_imports_an_openapi_file() {
    let (h, _) = start_project(&fixture("projects/offcloud.toml"), None).await;
    let api = h.emulator.api_url().unwrap();
    let addr = api.trim_start_matches("http://");
    let (status, _, body) = raw(addr, "GET", "/v1/hello/ada", &[], b"").await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"hello": "ada", "resource": "/hello/{name}", "version": null, "stage": "v1"})
    );
    // The definition's `awsSigv4` security scheme makes the route AWS_IAM: unsigned requests are refused.
    let (status, headers, body) = raw(addr, "GET", "/v1/secret", &[], b"").await;
    assert_eq!(status, 403);
    assert_eq!(
        crate::support::header(&headers, "x-amzn-errortype"),
        Some("MissingAuthenticationTokenException")
    );
    assert_eq!(body, br#"{"message":"Missing Authentication Token"}"#);
    let signed = [(
        "authorization",
        "AWS4-HMAC-SHA256 Credential=AKID/20261201/us-east-1/execute-api/aws4_request, SignedHeaders=host, Signature=00",
    )];
    let (status, _, _) = raw(addr, "GET", "/v1/secret", &signed, b"").await;
    assert_eq!(status, 200);
    // The definition's request validator: required parameters first, then the body against its model, with
    // API Gateway's exact 400 bodies (shared notes apigw-authorizers-validation-vtl.md §7).
    let json = ("content-type", "application/json");
    let (status, headers, body) =
        raw(addr, "POST", "/v1/pets", &[json], br#"{"name":"Rex"}"#).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        br#"{"message":"Missing required request parameters: [X-Client]"}"#
    );
    assert_eq!(
        crate::support::header(&headers, "x-amzn-errortype"),
        Some("BadRequestException")
    );
    let client = ("X-Client", "test");
    let (status, _, body) = raw(addr, "POST", "/v1/pets", &[json, client], b"{}").await;
    assert_eq!(
        (status, body.as_slice()),
        (400, &br#"{"message":"Invalid request body"}"#[..])
    );
    let (status, _, _) = raw(
        addr,
        "POST",
        "/v1/pets",
        &[json, client],
        br#"{"name":"Rex"}"#,
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cargo_package_code_uri_is_built_and_run() {
    let (h, summary) = start_project(
        std::path::Path::new("(no config)"),
        Some(&fixture("projects/cargo.yaml")),
    )
    .await;
    let summary = summary.unwrap().render(None);
    assert!(summary.contains("provided.al2023"), "{summary}");
    let api = h.emulator.api_url().unwrap();
    let (status, _, body) = raw(
        api.trim_start_matches("http://"),
        "POST",
        "/echo",
        &[("content-type", "application/json")],
        b"{}",
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    // The function echoes the HTTP API's v2 event.
    assert_eq!(body["echo"]["routeKey"], "POST /echo");
    assert_eq!(body["echo"]["version"], "2.0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_api_route_can_ask_for_payload_format_1_0() {
    let (h, _) = start_project(
        std::path::Path::new("(no config)"),
        Some(&fixture("projects/payload-v1.yaml")),
    )
    .await;
    let api = h.emulator.api_url().unwrap();
    let (status, _, body) = raw(
        api.trim_start_matches("http://"),
        "GET",
        "/hello/ada",
        &[],
        b"",
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"hello": "ada", "resource": "/hello/{name}", "version": "1.0", "stage": "$default"})
    );
}

/// A template given by a relative path still gives functions absolute paths, so modules load from
/// `LAMBDA_TASK_ROOT` wherever the emulator was started.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relative_template_path_gives_absolute_code_paths() {
    // Tests run in the package's folder, `emulator/`.
    let relative = std::path::Path::new("tests/fixtures/projects/payload-v1.yaml");
    assert!(relative.exists() && relative.is_relative());
    let (_h, summary) = start_project(std::path::Path::new("(no config)"), Some(relative)).await;
    let text = summary.unwrap().render(None);
    let code = text
        .lines()
        .find(|l| l.contains("python3.12"))
        .and_then(|l| l.split_whitespace().last())
        .unwrap();
    assert!(
        code.starts_with('/') && code.ends_with("tests/fixtures/projects"),
        "{text}"
    );
}
