use super::*;

#[test]
fn allow_for_the_method_arn() {
    let d = decide(&token(), &req(), Ok(policy("Allow", json!(ARN))));
    let Decision::Allow {
        principal_id,
        context,
        usage_identifier_key,
        policy,
    } = d
    else {
        panic!("expected Allow, got {d:?}");
    };
    assert_eq!(principal_id.as_deref(), Some("user-1"));
    assert!(context.is_empty());
    assert_eq!(usage_identifier_key, None);
    assert_eq!(policy.unwrap().evaluate(ARN), PolicyVerdict::Allow);
}

#[test]
fn explicit_deny_wins_over_allow() {
    let answer = statements(json!([
        {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": "*"},
        {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": ARN},
    ]));
    assert_eq!(
        denied(decide(&token(), &req(), Ok(answer.clone()))),
        rest_403_explicit()
    );
    // The Deny does not cover another method, so the Allow does.
    assert!(is_allowed(&decide(
        &token(),
        &at("POST", "/pets/1"),
        Ok(answer)
    )));
    assert_eq!(
        denied(decide(&token(), &req(), Ok(policy("Deny", json!(ARN))))),
        rest_403_explicit()
    );
}

#[test]
fn allow_of_another_resource_is_denied() {
    let other = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/pets/2";
    assert_eq!(
        denied(decide(&token(), &req(), Ok(policy("Allow", json!(other))))),
        rest_403()
    );
    // Another stage, another API, another account.
    for other in [
        "arn:aws:execute-api:us-east-1:123456789012:abc123/dev/GET/pets/1",
        "arn:aws:execute-api:us-east-1:123456789012:zzz/prod/GET/pets/1",
        "arn:aws:execute-api:us-east-1:999999999999:abc123/prod/GET/pets/1",
    ] {
        assert_eq!(
            denied(decide(&token(), &req(), Ok(policy("Allow", json!(other))))),
            rest_403(),
            "{other}"
        );
    }
    // An empty statement list allows nothing.
    assert_eq!(
        denied(decide(&token(), &req(), Ok(statements(json!([]))))),
        rest_403()
    );
}

#[test]
fn wildcards_in_action_and_resource() {
    let allowed = [
        ("execute-api:Invoke", json!("*")),
        ("execute-api:*", json!(ARN)),
        ("*", json!(ARN)),
        (
            "execute-api:Invoke",
            json!("arn:aws:execute-api:us-east-1:123456789012:abc123/*"),
        ),
        (
            "execute-api:Invoke",
            json!("arn:aws:execute-api:us-east-1:123456789012:abc123/*/GET/*"),
        ),
        (
            "execute-api:Invoke",
            json!("arn:aws:execute-api:*:*:abc123/prod/*/pets/?"),
        ),
        (
            "execute-api:Invoke",
            json!("arn:aws:execute-api:us-east-1:123456789012:abc123/pro?/GET/pets/1"),
        ),
        (
            "execute-api:Invoke",
            json!(["arn:aws:execute-api:us-east-1:1:x/*", ARN]),
        ),
    ];
    for (action, resource) in allowed {
        let answer = statements(json!({"Action": action, "Effect": "Allow", "Resource": resource}));
        assert!(
            is_allowed(&decide(&token(), &req(), Ok(answer))),
            "{action} {resource}"
        );
    }
    let refused = [
        ("execute-api:InvalidateCache", json!("*")),
        ("lambda:*", json!("*")),
        (
            "execute-api:Invoke",
            json!("arn:aws:execute-api:us-east-1:123456789012:abc123/*/POST/*"),
        ),
        (
            "execute-api:Invoke",
            json!("arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/pets/??"),
        ),
        (
            "execute-api:Invoke",
            json!("arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/pets"),
        ),
    ];
    for (action, resource) in refused {
        let answer = statements(json!({"Action": action, "Effect": "Allow", "Resource": resource}));
        assert_eq!(
            denied(decide(&token(), &req(), Ok(answer))),
            rest_403(),
            "{action} {resource}"
        );
    }
    // Actions may be a list.
    let answer = statements(
        json!({"Action": ["s3:GetObject", "execute-api:Invoke"], "Effect": "Allow", "Resource": "*"}),
    );
    assert!(is_allowed(&decide(&token(), &req(), Ok(answer))));
}

#[test]
fn statement_as_object_or_list() {
    let one = json!({"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": ARN});
    assert!(is_allowed(&decide(
        &token(),
        &req(),
        Ok(statements(one.clone()))
    )));
    assert!(is_allowed(&decide(
        &token(),
        &req(),
        Ok(statements(json!([one])))
    )));
}

#[test]
fn malformed_answers_are_configuration_errors() {
    let malformed = [
        json!("Allow"),
        json!(null),
        json!([policy("Allow", json!("*"))]),
        json!({"principalId": "u"}),
        json!({"principalId": "u", "policyDocument": null}),
        json!({"principalId": "u", "policyDocument": "{\"Statement\": []}"}),
        json!({"principalId": "u", "policyDocument": {"Version": "2012-10-17"}}),
        statements(json!("Allow")),
        statements(json!([1])),
        statements(json!({"Action": "execute-api:Invoke", "Resource": "*"})),
        statements(json!({"Action": "execute-api:Invoke", "Effect": "Maybe", "Resource": "*"})),
        statements(json!({"Action": "execute-api:Invoke", "Effect": true, "Resource": "*"})),
        statements(json!({"Action": 7, "Effect": "Allow", "Resource": "*"})),
        statements(
            json!({"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": {"arn": "*"}}),
        ),
        statements(json!({"Action": "execute-api:Invoke", "Effect": "Allow"})),
        statements(json!({"Effect": "Allow", "Resource": "*"})),
        json!({"principalId": {"id": 1}, "policyDocument": {"Statement": []}}),
        json!({"principalId": "u", "usageIdentifierKey": 5, "policyDocument": {"Statement": []}}),
        json!({"principalId": "u", "context": "x", "policyDocument": {"Statement": []}}),
    ];
    for answer in malformed {
        let d = decide(&token(), &req(), Ok(answer.clone()));
        let Decision::Deny(r) = &d else {
            panic!("{answer} was allowed");
        };
        assert_eq!(
            (r.status, r.error_type, r.body.clone()),
            rest_500(),
            "{answer}"
        );
        assert_eq!(r.response_type, "AUTHORIZER_CONFIGURATION_ERROR");
        assert!(
            r.detail
                .as_deref()
                .unwrap_or("")
                .contains("configuration error"),
            "{answer}"
        );
    }
}

#[test]
fn function_failures() {
    assert_eq!(
        denied(decide(&token(), &req(), Err(FunctionFailure::Unauthorized))),
        rest_401()
    );
    let failed = decide(
        &token(),
        &req(),
        Err(FunctionFailure::Failed(
            "Task timed out after 3.00 seconds".into(),
        )),
    );
    let Decision::Deny(r) = failed else {
        panic!("expected a denial");
    };
    assert_eq!((r.status, r.error_type, r.body), rest_500());
    assert!(r.detail.unwrap().contains("Task timed out"));
}

#[test]
fn classifying_function_results() {
    let err = |p: &str| function_result(p.as_bytes(), true);
    assert_eq!(
        err(r#"{"errorType":"string","errorMessage":"Unauthorized","trace":[]}"#),
        Err(FunctionFailure::Unauthorized)
    );
    assert_eq!(
        err(r#"{"errorType":"Exception","errorMessage":"unauthorized"}"#),
        Err(FunctionFailure::Failed("unauthorized".into()))
    );
    assert_eq!(
        err(r#"{"errorMessage":"Unauthorized: bad token"}"#),
        Err(FunctionFailure::Failed("Unauthorized: bad token".into()))
    );
    assert_eq!(
        err("Runtime exited"),
        Err(FunctionFailure::Failed("Runtime exited".into()))
    );
    assert_eq!(function_result(b"{\"a\":1}", false), Ok(json!({"a": 1})));
    assert!(matches!(
        function_result(b"not json", false),
        Err(FunctionFailure::Failed(_))
    ));
}

#[test]
fn rest_context_values_are_stringified() {
    let mut answer = policy("Allow", json!("*"));
    answer["context"] =
        json!({"str": "hello", "num": 123, "float": 1.5, "bool": true, "null": null});
    answer["usageIdentifierKey"] = json!("key-1");
    answer["principalId"] = json!(42);
    let Decision::Allow {
        principal_id,
        context,
        usage_identifier_key,
        ..
    } = decide(&token(), &req(), Ok(answer))
    else {
        panic!("expected Allow");
    };
    assert_eq!(principal_id.as_deref(), Some("42"));
    assert_eq!(usage_identifier_key.as_deref(), Some("key-1"));
    assert_eq!(
        Value::Object(context),
        json!({"str": "hello", "num": "123", "float": "1.5", "bool": "true", "null": null})
    );
}

#[test]
fn rest_context_rejects_objects_and_lists() {
    for nested in [json!({"a": 1}), json!([1, 2])] {
        let mut answer = policy("Allow", json!("*"));
        answer["context"] = json!({"ok": "x", "nested": nested});
        assert_eq!(denied(decide(&token(), &req(), Ok(answer))), rest_500());
    }
}

#[test]
fn http_simple_responses() {
    let cfg = http(PayloadFormat::V2, true, &["$request.header.Authorization"]);
    let allowed =
        json!({"isAuthorized": true, "context": {"n": 1, "list": ["a"], "map": {"k": "v"}}});
    let Decision::Allow {
        principal_id,
        context,
        policy: kept,
        ..
    } = decide(&cfg, &req(), Ok(allowed))
    else {
        panic!("expected Allow");
    };
    assert_eq!(principal_id, None);
    assert_eq!(kept, None);
    // HTTP APIs keep the context's types.
    assert_eq!(
        Value::Object(context),
        json!({"n": 1, "list": ["a"], "map": {"k": "v"}})
    );
    assert_eq!(
        denied(decide(&cfg, &req(), Ok(json!({"isAuthorized": false})))),
        (403, "ForbiddenException", json!({"message": "Forbidden"}))
    );
    let http_500 = (
        500,
        "InternalServerErrorException",
        json!({"message": "Internal Server Error"}),
    );
    for bad in [
        json!({"isAuthorized": "true"}),
        json!({}),
        policy("Allow", json!("*")),
        json!({"isAuthorized": true, "context": 1}),
    ] {
        assert_eq!(
            denied(decide(&cfg, &req(), Ok(bad.clone()))),
            http_500,
            "{bad}"
        );
    }
    assert_eq!(
        denied(decide(
            &cfg,
            &req(),
            Err(FunctionFailure::Failed("boom".into()))
        )),
        http_500
    );
    assert_eq!(
        denied(decide(&cfg, &req(), Err(FunctionFailure::Unauthorized))),
        (
            401,
            "UnauthorizedException",
            json!({"message": "Unauthorized"})
        )
    );
}

#[test]
fn http_iam_policies() {
    let forbidden = (403, "ForbiddenException", json!({"message": "Forbidden"}));
    for cfg in [
        http(PayloadFormat::V1, false, &[]),
        http(PayloadFormat::V2, false, &[]),
        // Simple responses do not apply to payload format 1.0.
        http(PayloadFormat::V1, true, &[]),
    ] {
        assert!(is_allowed(&decide(
            &cfg,
            &req(),
            Ok(policy("Allow", json!(ARN)))
        )));
        assert_eq!(
            denied(decide(&cfg, &req(), Ok(policy("Deny", json!(ARN))))),
            forbidden
        );
        assert_eq!(
            denied(decide(
                &cfg,
                &req(),
                Ok(policy("Allow", json!("arn:aws:execute-api:*:*:other/*")))
            )),
            forbidden
        );
        // A simple response is not a policy.
        assert_eq!(
            denied(decide(&cfg, &req(), Ok(json!({"isAuthorized": true})))).0,
            500
        );
    }
}

#[test]
fn integration_context() {
    let mut answer = policy("Allow", json!("*"));
    answer["context"] = json!({"str": "hello", "bool": true, "null": null, "num": 123});
    let d = decide(&token(), &req(), Ok(answer.clone()));
    assert_eq!(
        proxy_authorizer_context(&token(), &d, 7),
        Some(json!({
            "str": "hello", "bool": "true", "null": null, "num": "123",
            "principalId": "user-1", "integrationLatency": 7,
        }))
    );
    let simple = http(PayloadFormat::V2, true, &[]);
    let d = decide(
        &simple,
        &req(),
        Ok(json!({"isAuthorized": true, "context": {"n": 1}})),
    );
    assert_eq!(
        proxy_authorizer_context(&simple, &d, 7),
        Some(json!({"lambda": {"n": 1}}))
    );
    let d = decide(&simple, &req(), Ok(json!({"isAuthorized": true})));
    assert_eq!(
        proxy_authorizer_context(&simple, &d, 7),
        Some(json!({"lambda": {}}))
    );
    let iam = http(PayloadFormat::V2, false, &[]);
    let d = decide(&iam, &req(), Ok(answer));
    assert_eq!(
        proxy_authorizer_context(&iam, &d, 7),
        Some(json!({"lambda": {"str": "hello", "bool": true, "null": null, "num": 123}}))
    );
    let d = decide(&token(), &req(), Err(FunctionFailure::Unauthorized));
    assert_eq!(proxy_authorizer_context(&token(), &d, 7), None);
}
