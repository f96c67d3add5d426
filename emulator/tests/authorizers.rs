//! Lambda authorizers in front of routes: REST TOKEN authorizers with IAM policies and result caching, and HTTP
//! API authorizers with simple responses, each answering with API Gateway's own responses.

use serde_json::{Value, json};

use crate::support::{Builder, Harness, raw};

const CODE: &str = r#"
import json
calls = 0

def token(event, context):
    global calls
    calls += 1
    t = event["authorizationToken"]
    if t == "boom":
        raise Exception("boom")
    if t not in ("allow", "deny", "allow-other-key"):
        raise Exception("Unauthorized")
    statement = {"Action": "execute-api:Invoke", "Effect": "Deny" if t == "deny" else "Allow", "Resource": event["methodArn"]}
    return {"principalId": "user-1", "policyDocument": {"Version": "2012-10-17", "Statement": [statement]},
            "context": {"tier": "gold", "calls": calls},
            "usageIdentifierKey": "key-of-user-1" if t == "allow" else "unknown-key"}

def simple(event, context):
    ok = event["headers"].get("authorization") == "let-me-in"
    return {"isAuthorized": ok, "context": {"who": "tester"}}

def echo(event, context):
    return event

def backend(event, context):
    return {"statusCode": 200, "body": json.dumps(event["requestContext"].get("authorizer"))}
"#;

async fn start(tag: &str) -> (Harness, std::path::PathBuf) {
    let dir =
        std::env::temp_dir().join(format!("offcloud-authorizers-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("app.py"), CODE).unwrap();
    let function = |name: &str, handler: &str| {
        format!(
            "[[function]]\nname = \"{name}\"\nruntime = \"python3.12\"\nhandler = \"{handler}\"\ncwd = \"{}\"\n",
            dir.display()
        )
    };
    let config = format!(
        r#"{}{}{}
[[api]]
name = "rest"
type = "rest"
stage = "Prod"
api_keys = ["key-of-user-1"]
api_key_source = "authorizer"
cors = {{ allow_origins = ["https://app.example.com"], authorizer = "tokens" }}
[[api.authorizer]]
name = "tokens"
type = "token"
function = "auth"
identity_source = ["method.request.header.Authorization"]
[[api.route]]
method = "GET"
path = "/private"
function = "backend"
authorizer = "tokens"
[[api.route]]
method = "GET"
path = "/templated"
function = "echo"
authorizer = "tokens"
integration = "lambda"
request_templates = {{ "application/json" = '{{"principal": "$context.authorizer.principalId", "tier": "$context.authorizer.tier"}}' }}
[[api.route]]
method = "GET"
path = "/metered"
function = "backend"
authorizer = "tokens"
api_key_required = true

[[api]]
name = "http"
type = "http"
[[api.authorizer]]
name = "simple"
type = "request"
function = "simple"
identity_source = ["$request.header.Authorization"]
simple_responses = true
[[api.route]]
method = "GET"
path = "/v2/private"
function = "backend"
authorizer = "simple"
"#,
        function("auth", "app.token"),
        function("simple", "app.simple"),
        function("backend", "app.backend"),
    ) + &function("echo", "app.echo");
    (Builder::new(config).start().await, dir)
}

async fn get(h: &Harness, path: &str, auth: Option<&str>) -> (u16, Value) {
    let headers: Vec<(&str, &str)> = auth.map(|a| ("Authorization", a)).into_iter().collect();
    let addr = h.emulator.api_addr.unwrap().to_string();
    let (status, _, body) = raw(&addr, "GET", path, &headers, b"").await;
    let body = serde_json::from_slice(&body)
        .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&body)));
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_token_authorizers_allow_deny_cache_and_fail_as_aws_does() {
    let (h, dir) = start("rest").await;
    // No identity: 401 without calling the function.
    assert_eq!(
        get(&h, "/Prod/private", None).await,
        (401, json!({"message": "Unauthorized"}))
    );
    // Allowed: the context reaches the integration as strings, with the principal.
    let (status, first) = get(&h, "/Prod/private", Some("allow")).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["principalId"], "user-1");
    assert_eq!(first["tier"], "gold");
    let calls = first["calls"].clone();
    assert!(
        calls.is_string(),
        "REST context values are strings: {first}"
    );
    // The same token within the TTL (300 s by default) is answered from the cache.
    let (_, second) = get(&h, "/Prod/private", Some("allow")).await;
    assert_eq!(second["calls"], calls, "the authorizer ran again");
    // An explicit Deny, an `Unauthorized` error and any other failure.
    assert_eq!(
        get(&h, "/Prod/private", Some("deny")).await,
        (
            403,
            json!({"Message": "User is not authorized to access this resource with an explicit deny"})
        )
    );
    assert_eq!(
        get(&h, "/Prod/private", Some("nope")).await,
        (401, json!({"message": "Unauthorized"}))
    );
    assert_eq!(
        get(&h, "/Prod/private", Some("boom")).await,
        (500, json!({"message": null}))
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A mapping template reads the authorizer's output as `$context.authorizer.*`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mapping_templates_see_the_authorizer_context() {
    let (h, _dir) = start("templated").await;
    assert_eq!(
        get(&h, "/Prod/templated", Some("allow")).await,
        (200, json!({"principal": "user-1", "tier": "gold"}))
    );
}

/// SAM puts the default authorizer on its CORS preflight methods unless `AddDefaultAuthorizerToCorsPreflight` is
/// false; a browser's preflight carries no token, so it is refused, as on AWS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cors_preflight_can_require_the_authorizer() {
    let (h, _dir) = start("preflight").await;
    let api = h.emulator.api_addr.unwrap().to_string();
    let preflight = [
        ("origin", "https://app.example.com"),
        ("access-control-request-method", "GET"),
    ];
    let r = raw(&api, "OPTIONS", "/Prod/private", &preflight, b"").await;
    assert_eq!(r.0, 401);
    let mut with_token = preflight.to_vec();
    with_token.push(("authorization", "allow"));
    let r = raw(&api, "OPTIONS", "/Prod/private", &with_token, b"").await;
    assert_eq!(r.0, 200);
    assert_eq!(
        crate::support::header(&r.1, "access-control-allow-origin"),
        Some("https://app.example.com")
    );
    assert_eq!(
        crate::support::header(&r.1, "access-control-allow-methods"),
        Some("GET,OPTIONS")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_authorizer_key_source_takes_the_api_key_from_usage_identifier_key() {
    let (h, _dir) = start("usage-key").await;
    let (status, _) = get(&h, "/Prod/metered", Some("allow")).await;
    assert_eq!(
        status, 200,
        "the authorizer's usageIdentifierKey is a known key"
    );
    // An x-api-key header does not count when the key source is AUTHORIZER.
    let r = raw(
        &h.emulator.api_addr.unwrap().to_string(),
        "GET",
        "/Prod/metered",
        &[
            ("authorization", "allow-other-key"),
            ("x-api-key", "key-of-user-1"),
        ],
        b"",
    )
    .await;
    assert_eq!(r.0, 403);
    assert_eq!(
        serde_json::from_slice::<Value>(&r.2).unwrap(),
        json!({"message": "Forbidden"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_api_simple_authorizers_allow_and_forbid() {
    let (h, dir) = start("http").await;
    assert_eq!(
        get(&h, "/v2/private", Some("wrong")).await,
        (403, json!({"message": "Forbidden"}))
    );
    let (status, body) = get(&h, "/v2/private", Some("let-me-in")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"lambda": {"who": "tester"}}));
    let _ = std::fs::remove_dir_all(&dir);
}

fn token(args: &[&str]) -> String {
    let out = std::process::Command::new(crate::support::offcloud_bin())
        .arg("token")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// JWT authorizers (HTTP APIs) and Cognito authorizers (REST APIs) trust `offcloud token`'s key when they
/// name no JWKS file, so protected routes are tested without Cognito.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwt_and_cognito_authorizers_check_tokens_minted_by_offcloud_token() {
    let dir = std::env::temp_dir().join(format!("offcloud-authorizers-jwt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("app.py"), CODE).unwrap();
    let config = format!(
        r#"[[function]]
name = "backend"
runtime = "python3.12"
handler = "app.backend"
cwd = "{}"

[[api]]
name = "http"
type = "http"
[[api.authorizer]]
name = "jwt"
type = "jwt"
issuer = "https://auth.example.test"
audience = ["orders-app"]
identity_source = ["$request.header.Authorization"]
[[api.route]]
method = "GET"
path = "/orders"
function = "backend"
authorizer = "jwt"
scopes = ["orders/read"]

[[api]]
name = "rest"
type = "rest"
stage = "Prod"
[[api.authorizer]]
name = "pool"
type = "cognito"
issuer = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_test"
[[api.route]]
method = "GET"
path = "/profile"
function = "backend"
authorizer = "pool"
"#,
        dir.display()
    );
    let h = Builder::new(config).start().await;
    let good = token(&[
        "--issuer",
        "https://auth.example.test",
        "--audience",
        "orders-app",
        "--claim",
        "sub=user-1",
        "--scope",
        "orders/read",
    ]);
    let (status, body) = get(&h, "/orders", Some(&format!("Bearer {good}"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["jwt"]["claims"]["sub"], "user-1");
    assert_eq!(body["jwt"]["scopes"], json!(["orders/read"]));
    assert_eq!(
        get(&h, "/orders", None).await,
        (401, json!({"message": "Unauthorized"}))
    );
    let wrong_audience = token(&[
        "--issuer",
        "https://auth.example.test",
        "--audience",
        "other",
        "--scope",
        "orders/read",
    ]);
    assert_eq!(
        get(&h, "/orders", Some(&format!("Bearer {wrong_audience}"))).await,
        (401, json!({"message": "Unauthorized"}))
    );
    let no_scope = token(&[
        "--issuer",
        "https://auth.example.test",
        "--audience",
        "orders-app",
    ]);
    assert_eq!(
        get(&h, "/orders", Some(&format!("Bearer {no_scope}"))).await,
        (403, json!({"message": "Forbidden"}))
    );
    let id_token = token(&[
        "--issuer",
        "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_test",
        "--claim",
        "email=a@example.test",
    ]);
    let (status, body) = get(&h, "/Prod/profile", Some(&id_token)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["claims"]["email"], "a@example.test");
    assert_eq!(get(&h, "/Prod/profile", Some("not-a-token")).await.0, 401);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Serves an OpenID discovery document and the JWKS it names on loopback, counting the JWKS requests.
async fn identity_provider(
    jwks: Value,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let fetched = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (count, base2) = (fetched.clone(), base.clone());
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let mut buf = vec![0u8; 4096];
            let n = s.read(&mut buf).await.unwrap_or(0);
            let head = String::from_utf8_lossy(&buf[..n]).to_string();
            let body = if head.starts_with("GET /.well-known/openid-configuration ") {
                json!({"issuer": base2, "jwks_uri": format!("{base2}/keys")}).to_string()
            } else {
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                jwks.to_string()
            };
            let resp = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = s.write_all(resp.as_bytes()).await;
        }
    });
    (base, fetched)
}

/// A JWT authorizer whose `jwks` is a URL finds its keys through the issuer's discovery document when a request
/// first needs them, and keeps them; an unreachable key URL refuses tokens with 401.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwt_authorizers_fetch_keys_from_a_discovery_url() {
    let local =
        offcloud::apigw::jwt::LocalKey::load_or_create(&offcloud::apigw::auth::local_key_dir())
            .unwrap();
    let (idp, fetched) = identity_provider(local.jwks()).await;
    let dir =
        std::env::temp_dir().join(format!("offcloud-authorizers-jwks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("app.py"), CODE).unwrap();
    let config = format!(
        r#"[[function]]
name = "backend"
runtime = "python3.12"
handler = "app.backend"
cwd = "{}"

[[api]]
name = "http"
type = "http"
[[api.authorizer]]
name = "idp"
type = "jwt"
issuer = "{idp}"
audience = ["shop"]
jwks = "{idp}/.well-known/openid-configuration"
[[api.authorizer]]
name = "gone"
type = "jwt"
issuer = "{idp}"
audience = ["shop"]
jwks = "http://127.0.0.1:9/keys"
[[api.route]]
method = "GET"
path = "/orders"
function = "backend"
authorizer = "idp"
[[api.route]]
method = "GET"
path = "/gone"
function = "backend"
authorizer = "gone"
"#,
        dir.display()
    );
    let h = Builder::new(config).start().await;
    assert_eq!(
        fetched.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "keys are fetched when first needed"
    );
    let good = token(&["--issuer", &idp, "--audience", "shop", "--claim", "sub=u-9"]);
    for _ in 0..3 {
        let (status, body) = get(&h, "/orders", Some(&format!("Bearer {good}"))).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["jwt"]["claims"]["sub"], "u-9");
    }
    assert_eq!(
        fetched.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the keys are kept"
    );
    assert_eq!(
        get(&h, "/gone", Some(&format!("Bearer {good}"))).await,
        (401, json!({"message": "Unauthorized"}))
    );
    let _ = std::fs::remove_dir_all(&dir);
}
