use super::*;

#[test]
fn ttl_defaults() {
    assert_eq!(token().ttl_seconds(), 300);
    assert_eq!(request(&["context.requestId"]).ttl_seconds(), 300);
    assert_eq!(
        http(PayloadFormat::V2, true, &["$request.header.A"]).ttl_seconds(),
        0
    );
    let mut cfg = http(PayloadFormat::V2, true, &["$request.header.A"]);
    cfg.result_ttl_seconds = Some(60);
    assert_eq!(cfg.ttl_seconds(), 60);
    cfg.identity_sources.clear();
    assert_eq!(cfg.ttl_seconds(), 0, "caching needs an identity source");
}

#[test]
fn splitting_identity_sources() {
    assert_eq!(
        AuthorizerConfig::split_identity_sources(
            "method.request.header.Auth, method.request.querystring.Name,stageVariables.x"
        ),
        vec![
            "method.request.header.Auth",
            "method.request.querystring.Name",
            "stageVariables.x"
        ]
    );
    assert!(AuthorizerConfig::split_identity_sources(" ").is_empty());
}

#[test]
fn validation() {
    assert_eq!(token().validate(), Ok(()));
    assert_eq!(
        request(&["method.request.header.A", "context.requestId"]).validate(),
        Ok(())
    );
    assert_eq!(
        http(
            PayloadFormat::V2,
            true,
            &["$request.header.A", "$context.routeKey"]
        )
        .validate(),
        Ok(())
    );
    let mut cfg = token();
    cfg.result_ttl_seconds = Some(3601);
    assert!(matches!(
        cfg.validate(),
        Err(ConfigError::TtlTooLarge { ttl: 3601, .. })
    ));
    let mut cfg = token();
    cfg.identity_validation_expression = Some("(".into());
    assert!(matches!(
        cfg.validate(),
        Err(ConfigError::BadExpression { .. })
    ));
    for bad in [
        config(AuthorizerKind::Token, &[]),
        config(AuthorizerKind::Token, &["method.request.querystring.t"]),
        config(
            AuthorizerKind::Token,
            &["method.request.header.A", "method.request.header.B"],
        ),
    ] {
        assert!(
            matches!(bad.validate(), Err(ConfigError::TokenSource { .. })),
            "{bad:?}"
        );
    }
    for bad in [
        request(&["$request.header.A"]),
        request(&["method.request.path.id"]),
        http(PayloadFormat::V2, false, &["method.request.header.A"]),
    ] {
        assert!(
            matches!(bad.validate(), Err(ConfigError::BadSource { .. })),
            "{bad:?}"
        );
    }
    assert!(matches!(
        request(&[]).validate(),
        Err(ConfigError::CachingWithoutSources { .. })
    ));
    let mut cfg = request(&[]);
    cfg.result_ttl_seconds = Some(0);
    assert_eq!(cfg.validate(), Ok(()));
    let mut cfg = http(PayloadFormat::V2, false, &[]);
    assert_eq!(cfg.validate(), Ok(()));
    cfg.result_ttl_seconds = Some(10);
    assert!(matches!(
        cfg.validate(),
        Err(ConfigError::CachingWithoutSources { .. })
    ));
    assert!(matches!(
        http(PayloadFormat::V1, true, &[]).validate(),
        Err(ConfigError::SimpleResponsesNeedV2 { .. })
    ));
    assert!(
        ConfigError::TokenSource { name: "a".into() }
            .to_string()
            .contains("exactly one identity source")
    );
}
