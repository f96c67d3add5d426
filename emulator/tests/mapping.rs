//! Non-proxy integrations through the API port: mapping templates on Lambda custom integrations, passthrough
//! behaviours, integration responses with header mappings and overrides, mock integrations; and CORS.

use serde_json::json;

use crate::support::{Builder, faulty, header, json_of};

use crate::support::api_call as call;

/// A REST API (stage `dev`, stage variable `env = "local"`) with the given routes, in front of the fault
/// runtime, whose `echo` answers `{"event": <the event it got>, ...}`.
fn rest(routes: &str) -> String {
    format!(
        "{}\n[[api]]\nname = \"r\"\ntype = \"rest\"\nstage = \"dev\"\nstage_variables = {{ env = \"local\" }}\n{routes}",
        faulty("f", "")
    )
}

const GREET: &str = r#"
[[api.route]]
method = "POST"
path = "/greet/{id}"
function = "f"
integration = "lambda"
[api.route.request_templates]
"application/json" = '''
{
  "name": "$input.path('$.name')",
  "id": "$input.params('id')",
  "lang": "$input.params('lang')",
  "stage": "$stageVariables.env",
  "requestId": "$context.requestId",
  "agent": "$input.params('User-Agent')"
}'''
[[api.route.response]]
status = 200
headers = { "X-Id" = "integration.response.body.event.id", "X-Static" = "'yes'", "X-Stage" = "stageVariables.env" }
[api.route.response.templates]
"application/json" = '''{"greeting": "hello $input.path('$.event.name')", "id": "$input.path('$.event.id')"}'''
"application/xml" = '''<greeting>hello $input.path('$.event.name')</greeting>'''
[[api.route.response]]
pattern = "Nope.*"
status = 404
templates = { "application/json" = '''#set($e = $util.parseJson($input.path('$.errorMessage').substring(6)))#set($context.responseOverride.header['X-Reason'] = $e.why){"missing": "$e.what"}''' }
"#;

#[tokio::test]
async fn request_and_response_templates_shape_a_custom_integration() {
    let h = Builder::new(rest(GREET)).start().await;
    let r = call(
        &h,
        "POST",
        "/greet/42?lang=en",
        &[
            ("content-type", "application/json; charset=utf-8"),
            ("user-agent", "tests/1"),
        ],
        br#"{"name": "Ada"}"#,
    )
    .await;
    assert_eq!(r.0, 200, "{}", String::from_utf8_lossy(&r.2));
    assert_eq!(json_of(&r), json!({"greeting": "hello Ada", "id": "42"}));
    assert_eq!(header(&r.1, "content-type"), Some("application/json"));
    assert_eq!(header(&r.1, "x-id"), Some("42"));
    assert_eq!(header(&r.1, "x-static"), Some("yes"));
    assert_eq!(header(&r.1, "x-stage"), Some("local"));
    let request_id = header(&r.1, "x-amzn-requestid").unwrap().to_string();

    // What the function got is the request template's output; check it through the XML template.
    let r = call(
        &h,
        "POST",
        "/greet/7",
        &[
            ("content-type", "application/json"),
            ("accept", "application/xml"),
        ],
        br#"{"name": "Grace"}"#,
    )
    .await;
    assert_eq!(r.0, 200);
    assert_eq!(header(&r.1, "content-type"), Some("application/xml"));
    assert_eq!(r.2, b"<greeting>hello Grace</greeting>");
    assert_ne!(header(&r.1, "x-amzn-requestid"), Some(request_id.as_str()));
}

#[tokio::test]
async fn the_function_receives_the_rendered_request() {
    // With no response template the function's answer passes through, so the event can be read back.
    let routes = GREET.split("[[api.route.response]]").next().unwrap();
    let h = Builder::new(rest(routes)).start().await;
    let r = call(
        &h,
        "POST",
        "/greet/42?lang=en",
        &[
            ("content-type", "application/json"),
            ("user-agent", "tests/1"),
        ],
        br#"{"name": "Ada"}"#,
    )
    .await;
    assert_eq!(r.0, 200);
    let event = &json_of(&r)["event"];
    assert_eq!(event["name"], "Ada");
    assert_eq!(event["id"], "42");
    assert_eq!(event["lang"], "en");
    assert_eq!(event["stage"], "local");
    assert_eq!(event["agent"], "tests/1");
    assert_eq!(
        event["requestId"].as_str(),
        header(&r.1, "x-amzn-requestid"),
        "$context.requestId is the request's id"
    );
}

#[tokio::test]
async fn errors_select_their_response_and_templates_override_headers() {
    let h = Builder::new(rest(GREET)).start().await;
    let message = r#"Nope: {"what": "user 9", "why": "deleted"}"#;
    let r = call(&h, "POST", "/greet/9", &[], br#"{"name": "x"}"#).await;
    assert_eq!(r.0, 200, "no error yet");
    // The fault runtime fails with the event's `message`, which this request template drops; so the error is
    // sent where the template does not apply, and passes through.
    let plain = rest(&GREET.replace(
        "[api.route.request_templates]\n\"application/json\"",
        "[api.route.request_templates]\n\"text/plain\"",
    ));
    let h = Builder::new(plain).start().await;
    let r = call(
        &h,
        "POST",
        "/greet/9",
        &[("content-type", "application/json")],
        json!({"action": "error", "message": message})
            .to_string()
            .as_bytes(),
    )
    .await;
    assert_eq!(r.0, 404, "{}", String::from_utf8_lossy(&r.2));
    assert_eq!(json_of(&r), json!({"missing": "user 9"}));
    assert_eq!(header(&r.1, "x-reason"), Some("deleted"));
}

#[tokio::test]
async fn passthrough_behaviours_and_bad_json() {
    let never = GREET.replace(
        "integration = \"lambda\"\n",
        "integration = \"lambda\"\npassthrough = \"NEVER\"\n",
    );
    let h = Builder::new(rest(&never)).start().await;
    let r = call(
        &h,
        "POST",
        "/greet/1",
        &[("content-type", "text/plain")],
        b"hi",
    )
    .await;
    assert_eq!(r.0, 415);
    assert_eq!(json_of(&r), json!({"message": "Unsupported Media Type"}));
    // A missing Content-Type counts as application/json.
    let r = call(&h, "POST", "/greet/1", &[], br#"{"name": "Ada"}"#).await;
    assert_eq!(r.0, 200);
    // `$input.path` on a body that is not JSON is the client's error.
    let r = call(
        &h,
        "POST",
        "/greet/1",
        &[("content-type", "application/json")],
        b"{oops",
    )
    .await;
    assert_eq!(r.0, 400);
    assert!(
        json_of(&r)["message"]
            .as_str()
            .unwrap()
            .starts_with("Could not parse request body into json:"),
        "{}",
        String::from_utf8_lossy(&r.2)
    );

    // WHEN_NO_MATCH (the default) sends an unmatched body through unchanged.
    let h = Builder::new(rest(GREET.split("[[api.route.response]]").next().unwrap()))
        .start()
        .await;
    let r = call(
        &h,
        "POST",
        "/greet/1",
        &[("content-type", "text/plain")],
        br#"{"raw": true}"#,
    )
    .await;
    assert_eq!(r.0, 200);
    assert_eq!(json_of(&r)["event"], json!({"raw": true}));
}

const MOCK: &str = r#"
[[api.route]]
method = "GET"
path = "/mock/{code}"
integration = "mock"
request_templates = { "application/json" = '''{"statusCode": $input.params('code')}''' }
[[api.route.response]]
pattern = "4\\d{2}"
status = 404
templates = { "application/json" = '{"message": "no such thing"}' }
[[api.route.response]]
status = 200
headers = { "Cache-Control" = "'max-age=60'" }
templates = { "application/json" = '{"ok": true, "path": "$context.resourcePath", "stage": "$context.stage"}' }
[[api.route]]
method = "GET"
path = "/teapot"
integration = "mock"
request_templates = { "application/json" = '{"statusCode": 200}#set($context.responseOverride.status = 418)' }
[[api.route.response]]
status = 200
"#;

#[tokio::test]
async fn mock_integrations_answer_without_a_function() {
    let h = Builder::new(rest(MOCK)).start().await;
    let r = call(&h, "GET", "/dev/mock/200", &[], b"").await;
    assert_eq!(r.0, 200, "{}", String::from_utf8_lossy(&r.2));
    assert_eq!(
        json_of(&r),
        json!({"ok": true, "path": "/mock/{code}", "stage": "dev"})
    );
    assert_eq!(header(&r.1, "cache-control"), Some("max-age=60"));
    let r = call(&h, "GET", "/dev/mock/404", &[], b"").await;
    assert_eq!(r.0, 404);
    assert_eq!(json_of(&r), json!({"message": "no such thing"}));
    // A request template may override the status; with no response template the body is empty (recorded, notes
    // §8.3).
    let r = call(&h, "GET", "/dev/teapot", &[], b"").await;
    assert_eq!(r.0, 418);
    assert!(r.2.is_empty());
    // A status that is not a number is a configuration error, never a guess.
    let r = call(&h, "GET", "/dev/mock/abc", &[], b"").await;
    assert_eq!(r.0, 500);
    assert_eq!(json_of(&r), json!({"message": "Internal server error"}));
}

#[test]
fn bad_templates_and_misplaced_settings_are_refused_at_start() {
    let dir = std::env::temp_dir();
    let check = |routes: &str, expected: &str| {
        let e = offcloud::config::Config::parse("offcloud.toml", &rest(routes), &dir)
            .expect_err("the config is refused");
        assert!(e.message.contains(expected), "{}", e.message);
        assert_eq!(e.file, "offcloud.toml");
        assert!(e.line > 1, "the line is named: {}", e.line);
    };
    check(
        "[[api.route]]\nmethod = \"GET\"\npath = \"/x\"\nfunction = \"f\"\nintegration = \"lambda\"\nrequest_templates = { \"application/json\" = \"{}\\n#macro(x)#end\" }\n",
        "route GET /x: the request template for application/json: line 2: #macro is not supported by Offcloud's VTL",
    );
    check(
        "[[api.route]]\nmethod = \"GET\"\npath = \"/x\"\nfunction = \"f\"\nrequest_templates = { \"application/json\" = \"{}\" }\n",
        "apply only to `lambda` and `mock` integrations",
    );
    check(
        "[[api.route]]\nmethod = \"GET\"\npath = \"/x\"\nfunction = \"f\"\nintegration = \"mock\"\n",
        "a mock integration runs no function",
    );
    check(
        "[[api.route]]\nmethod = \"GET\"\npath = \"/x\"\nintegration = \"lambda\"\n[[api.route.response]]\nstatus = 200\nheaders = { X = \"method.request.header.y\" }\n",
        "header X: \"method.request.header.y\" is not a response mapping",
    );
}

#[tokio::test]
async fn http_api_cors_preflight_and_response_headers() {
    let config = format!(
        "{}\n[[api]]\nname = \"h\"\ntype = \"http\"\ncors = {{ allow_origins = [\"https://app.example.com\", \"http://*\"], allow_methods = [\"GET\", \"POST\"], allow_headers = [\"content-type\"], expose_headers = [\"x-single\"], max_age = 300, allow_credentials = true }}\n[[api.route]]\nmethod = \"GET\"\npath = \"/things\"\nfunction = \"f\"\n",
        faulty("f", "")
    );
    let h = Builder::new(config).start().await;
    let preflight = [
        ("origin", "https://app.example.com"),
        ("access-control-request-method", "POST"),
    ];
    let r = call(&h, "OPTIONS", "/things", &preflight, b"").await;
    assert_eq!(r.0, 204);
    assert!(r.2.is_empty());
    assert_eq!(
        header(&r.1, "access-control-allow-origin"),
        Some("https://app.example.com")
    );
    assert_eq!(
        header(&r.1, "access-control-allow-methods"),
        Some("GET,POST")
    );
    assert_eq!(
        header(&r.1, "access-control-allow-headers"),
        Some("content-type")
    );
    assert_eq!(header(&r.1, "access-control-max-age"), Some("300"));
    assert_eq!(
        header(&r.1, "access-control-allow-credentials"),
        Some("true")
    );
    // The gateway answers a preflight even on a path with no route.
    let r = call(&h, "OPTIONS", "/elsewhere", &preflight, b"").await;
    assert_eq!(r.0, 204);
    // An origin that is not allowed gets no CORS headers; `http://*` allows any http origin.
    let r = call(
        &h,
        "OPTIONS",
        "/things",
        &[
            ("origin", "https://evil.example.net"),
            ("access-control-request-method", "GET"),
        ],
        b"",
    )
    .await;
    assert_eq!(
        (r.0, header(&r.1, "access-control-allow-origin")),
        (204, None)
    );
    let r = call(
        &h,
        "OPTIONS",
        "/things",
        &[
            ("origin", "http://localhost:5173"),
            ("access-control-request-method", "GET"),
        ],
        b"",
    )
    .await;
    assert_eq!(
        header(&r.1, "access-control-allow-origin"),
        Some("http://localhost:5173")
    );
    // OPTIONS without Access-Control-Request-Method is not a preflight: it is routed, and no route matches.
    let r = call(
        &h,
        "OPTIONS",
        "/things",
        &[("origin", "https://app.example.com")],
        b"",
    )
    .await;
    assert_eq!(r.0, 404);
    // Ordinary answers get Allow-Origin, Expose-Headers and Allow-Credentials.
    let r = call(
        &h,
        "GET",
        "/things",
        &[("origin", "https://app.example.com")],
        b"",
    )
    .await;
    assert_eq!(r.0, 200);
    assert_eq!(
        header(&r.1, "access-control-allow-origin"),
        Some("https://app.example.com")
    );
    assert_eq!(
        header(&r.1, "access-control-expose-headers"),
        Some("x-single")
    );
    assert_eq!(
        header(&r.1, "access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(header(&r.1, "vary"), Some("origin"));
    let r = call(&h, "GET", "/things", &[], b"").await;
    assert_eq!(
        header(&r.1, "access-control-allow-origin"),
        None,
        "no Origin, no CORS headers"
    );
}

/// `${stageVariables.x}` in a route's function picks the function per stage, as in a Lambda integration URI; a
/// variable the stage does not define is refused at start-up.
#[tokio::test]
async fn stage_variables_name_the_function() {
    let config = format!(
        "{}\n[[api]]\nname = \"r\"\ntype = \"rest\"\nstage = \"dev\"\nstage_variables = {{ fn = \"f\" }}\n[[api.route]]\nmethod = \"GET\"\npath = \"/x\"\nfunction = \"${{stageVariables.fn}}\"\n",
        faulty("f", "environment = { FAULT_MODE = \"proxy\" }")
    );
    let h = Builder::new(config.clone()).start().await;
    let r = call(&h, "GET", "/dev/x", &[], b"").await;
    assert_eq!(r.0, 200, "{}", String::from_utf8_lossy(&r.2));
    assert_eq!(json_of(&r)["stageVariables"], json!({"fn": "f"}));
    let e = offcloud::config::Config::parse(
        "offcloud.toml",
        &config.replace("fn = \"f\"", "other = \"f\""),
        &std::env::temp_dir(),
    )
    .expect_err("an undefined stage variable is refused");
    assert!(
        e.message
            .contains("stage variable \"fn\", which API r does not define"),
        "{}",
        e.message
    );
}
