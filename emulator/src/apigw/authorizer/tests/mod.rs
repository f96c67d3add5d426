use serde_json::{Value, json};

use super::*;

mod cache;
mod configuration;
mod decisions;
mod events;
mod identity;

const ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/pets/1";

fn config(kind: AuthorizerKind, sources: &[&str]) -> AuthorizerConfig {
    AuthorizerConfig {
        name: "auth".into(),
        kind,
        identity_sources: sources.iter().map(|s| s.to_string()).collect(),
        identity_validation_expression: None,
        result_ttl_seconds: None,
        function: "authorizer-fn".into(),
    }
}

fn token() -> AuthorizerConfig {
    config(
        AuthorizerKind::Token,
        &["method.request.header.Authorization"],
    )
}

fn request(sources: &[&str]) -> AuthorizerConfig {
    config(AuthorizerKind::Request, sources)
}

fn http(format: PayloadFormat, simple: bool, sources: &[&str]) -> AuthorizerConfig {
    config(
        AuthorizerKind::HttpRequest {
            payload_format: format,
            simple_responses: simple,
        },
        sources,
    )
}

fn req() -> AuthRequest {
    let pairs = |p: &[(&str, &str)]| -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    AuthRequest {
        method: "GET".into(),
        path: "/pets/1".into(),
        raw_path: String::new(),
        resource_path: "/pets/{id}".into(),
        route_key: "GET /pets/{id}".into(),
        headers: pairs(&[
            ("Authorization", "Bearer abc"),
            ("X-Trace", "1"),
            ("x-trace", "2"),
            ("Host", "abc123.execute-api.us-east-1.amazonaws.com"),
            ("User-Agent", "curl/8"),
            ("Cookie", "a=1; b=2"),
        ]),
        query: pairs(&[("a", "1"), ("a", "2"), ("b", "x y")]),
        raw_query_string: "a=1&a=2&b=x+y".into(),
        path_params: [("id".to_string(), "1".to_string())].into(),
        stage_variables: [("env".to_string(), "test".to_string())].into(),
        stage: "prod".into(),
        api_id: "abc123".into(),
        account_id: "123456789012".into(),
        region: "us-east-1".into(),
        request_id: "req-1".into(),
        source_ip: "1.2.3.4".into(),
        domain_name: String::new(),
        resource_id: "r3s1d".into(),
        now_ms: 1_583_348_638_390,
    }
}

fn at(method: &str, path: &str) -> AuthRequest {
    AuthRequest {
        method: method.into(),
        path: path.into(),
        ..req()
    }
}

fn with_header(mut r: AuthRequest, name: &str, value: &str) -> AuthRequest {
    r.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
    r.headers.push((name.into(), value.into()));
    r
}

fn without_header(mut r: AuthRequest, name: &str) -> AuthRequest {
    r.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
    r
}

fn key(cfg: &AuthorizerConfig, r: &AuthRequest) -> String {
    match identity(cfg, r) {
        IdentityOutcome::Present { cache_key } => cache_key,
        other => panic!("expected an identity, got {other:?}"),
    }
}

fn policy(effect: &str, resource: Value) -> Value {
    json!({
        "principalId": "user-1",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
        },
    })
}

fn statements(statements: Value) -> Value {
    json!({"principalId": "user-1", "policyDocument": {"Version": "2012-10-17", "Statement": statements}})
}

/// The response of a denial, without the log detail.
fn denied(d: Decision) -> (u16, &'static str, Value) {
    match d {
        Decision::Deny(r) => (r.status, r.error_type, r.body),
        Decision::Allow { .. } => panic!("expected a denial, got {d:?}"),
    }
}

fn is_allowed(d: &Decision) -> bool {
    matches!(d, Decision::Allow { .. })
}

fn rest_403_explicit() -> (u16, &'static str, Value) {
    (
        403,
        "AccessDeniedException",
        json!({"Message": "User is not authorized to access this resource with an explicit deny"}),
    )
}

fn rest_403() -> (u16, &'static str, Value) {
    (
        403,
        "AccessDeniedException",
        json!({"Message": "User is not authorized to access this resource"}),
    )
}

fn rest_500() -> (u16, &'static str, Value) {
    (
        500,
        "AuthorizerConfigurationException",
        json!({"message": null}),
    )
}

fn rest_401() -> (u16, &'static str, Value) {
    (
        401,
        "UnauthorizedException",
        json!({"message": "Unauthorized"}),
    )
}
