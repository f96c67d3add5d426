use super::*;

#[test]
fn token_comes_from_its_header_whatever_the_case() {
    let cfg = token();
    assert_eq!(key(&cfg, &req()), r#"["Bearer abc"]"#);
    let lower = with_header(req(), "authorization", "Bearer abc");
    assert_eq!(key(&cfg, &lower), r#"["Bearer abc"]"#);
    assert_eq!(
        identity(&cfg, &without_header(req(), "Authorization")),
        IdentityOutcome::Missing
    );
    assert_eq!(
        identity(&cfg, &with_header(req(), "Authorization", "")),
        IdentityOutcome::Missing
    );
    // A TOKEN authorizer without a source finds no token.
    assert_eq!(
        identity(&config(AuthorizerKind::Token, &[]), &req()),
        IdentityOutcome::Missing
    );
}

#[test]
fn rest_request_sources_of_every_kind() {
    let cfg = request(&[
        "method.request.header.x-trace",
        "method.request.querystring.a",
        "stageVariables.env",
        "context.identity.sourceIp",
        "context.requestId",
        "context.path",
    ]);
    // REST keeps the last value of a repeated header or parameter.
    assert_eq!(
        key(&cfg, &req()),
        r#"["2","2","test","1.2.3.4","req-1","/prod/pets/1"]"#
    );
    let missing = [
        request(&["method.request.header.X-Missing"]),
        request(&["method.request.querystring.A"]), // query names keep their case
        request(&["stageVariables.missing"]),
        request(&["context.noSuchVariable"]),
        request(&["context.routeKey"]),       // an HTTP API variable
        request(&["method.request.path.id"]), // path parameters cannot be identity sources
        request(&[
            "method.request.header.X-Trace",
            "method.request.header.X-Missing",
        ]),
    ];
    for cfg in missing {
        assert_eq!(identity(&cfg, &req()), IdentityOutcome::Missing, "{cfg:?}");
    }
    // An empty value counts as missing.
    let mut r = req();
    r.stage_variables.insert("env".into(), String::new());
    assert_eq!(
        identity(&request(&["stageVariables.env"]), &r),
        IdentityOutcome::Missing
    );
}

#[test]
fn rest_request_without_sources_always_invokes() {
    let mut cfg = request(&[]);
    cfg.result_ttl_seconds = Some(0);
    assert_eq!(key(&cfg, &req()), "[]");
    assert_eq!(cfg.ttl_seconds(), 0);
}

#[test]
fn http_sources_of_every_kind() {
    let cfg = http(
        PayloadFormat::V2,
        true,
        &[
            "$request.header.X-TRACE",
            "$request.querystring.a",
            "$stageVariables.env",
            "$context.routeKey",
            "$context.stage",
        ],
    );
    // HTTP APIs join repeated values with commas.
    assert_eq!(
        key(&cfg, &req()),
        r#"["1,2","1,2","test","GET /pets/{id}","prod"]"#
    );
    for source in [
        "$request.header.X-Missing",
        "$request.querystring.A",
        "$stageVariables.nope",
        "$context.nope",
    ] {
        let cfg = http(
            PayloadFormat::V2,
            true,
            &["$request.header.Authorization", source],
        );
        assert_eq!(identity(&cfg, &req()), IdentityOutcome::Missing, "{source}");
    }
    let mut default_stage = req();
    default_stage.stage = String::new();
    let cfg = http(PayloadFormat::V1, false, &["$context.stage"]);
    assert_eq!(key(&cfg, &default_stage), r#"["$default"]"#);
}

#[test]
fn cache_keys_tell_values_apart() {
    let cfg = request(&["method.request.header.A", "method.request.header.B"]);
    let r = |a: &str, b: &str| with_header(with_header(req(), "A", a), "B", b);
    assert_eq!(key(&cfg, &r("x", "y")), key(&cfg, &r("x", "y")));
    assert_ne!(key(&cfg, &r("x,y", "z")), key(&cfg, &r("x", "y,z")));
    assert_ne!(key(&cfg, &r("x", "y")), key(&cfg, &r("y", "x")));
}

#[test]
fn identity_validation_expression() {
    let mut cfg = token();
    cfg.identity_validation_expression = Some("Bearer [a-z]+".into());
    assert_eq!(key(&cfg, &req()), r#"["Bearer abc"]"#);
    // The expression must match the whole token.
    for bad in ["Bearer ABC", "Bearer abc1", "xBearer abc", "abc"] {
        assert_eq!(
            identity(&cfg, &with_header(req(), "Authorization", bad)),
            IdentityOutcome::Invalid,
            "{bad}"
        );
    }
    // A missing token is missing, not invalid.
    assert_eq!(
        identity(&cfg, &without_header(req(), "Authorization")),
        IdentityOutcome::Missing
    );
    cfg.identity_validation_expression = Some("^Bearer .*$".into());
    assert_eq!(key(&cfg, &req()), r#"["Bearer abc"]"#);
    // An expression that does not compile lets nothing through.
    cfg.identity_validation_expression = Some("(".into());
    assert_eq!(identity(&cfg, &req()), IdentityOutcome::Invalid);
    // REQUEST authorizers do not apply it.
    let mut cfg = request(&["method.request.header.Authorization"]);
    cfg.identity_validation_expression = Some("nothing".into());
    assert_eq!(key(&cfg, &req()), r#"["Bearer abc"]"#);
}

#[test]
fn method_arns() {
    assert_eq!(req().method_arn(), ARN);
    assert_eq!(
        at("get", "/").method_arn(),
        "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/"
    );
    let mut r = at("POST", "/a/b%2Fc/");
    r.stage = String::new();
    assert_eq!(
        r.method_arn(),
        "arn:aws:execute-api:us-east-1:123456789012:abc123/$default/POST/a/b%2Fc/"
    );
}
