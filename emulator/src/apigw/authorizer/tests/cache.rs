use std::sync::Arc;

use super::*;

const T0: u64 = 1_000_000;

#[test]
fn cache_hits_within_the_ttl_and_misses_after() {
    let cache = AuthorizerCache::new();
    let mut cfg = token();
    cfg.result_ttl_seconds = Some(60);
    let k = key(&cfg, &req());
    assert_eq!(cache.lookup(&cfg, &req(), &k, T0), None);
    let d = cache.decide(&cfg, &req(), &k, Ok(policy("Allow", json!("*"))), T0);
    assert!(is_allowed(&d));
    assert_eq!(cache.lookup(&cfg, &req(), &k, T0 + 59_999), Some(d));
    assert_eq!(cache.lookup(&cfg, &req(), &k, T0 + 60_000), None);
    assert!(cache.is_empty(), "an expired entry is dropped when found");
    // Another token is another entry.
    let other = key(&cfg, &with_header(req(), "Authorization", "Bearer other"));
    cache.decide(&cfg, &req(), &k, Ok(policy("Allow", json!("*"))), T0);
    assert_eq!(cache.lookup(&cfg, &req(), &other, T0), None);
    // Another authorizer with the same identity is another entry too.
    let mut second = cfg.clone();
    second.name = "second".into();
    assert_eq!(cache.lookup(&second, &req(), &k, T0), None);
    cache.clear();
    assert!(cache.is_empty());
}

#[test]
fn the_default_rest_ttl_is_five_minutes() {
    let cache = AuthorizerCache::new();
    let cfg = token();
    let k = key(&cfg, &req());
    cache.decide(&cfg, &req(), &k, Ok(policy("Allow", json!("*"))), T0);
    assert!(cache.lookup(&cfg, &req(), &k, T0 + 299_999).is_some());
    assert!(cache.lookup(&cfg, &req(), &k, T0 + 300_000).is_none());
}

#[test]
fn ttl_zero_never_caches() {
    let cache = AuthorizerCache::new();
    let mut cfg = token();
    cfg.result_ttl_seconds = Some(0);
    let k = key(&cfg, &req());
    let d = cache.decide(&cfg, &req(), &k, Ok(policy("Allow", json!("*"))), T0);
    assert!(is_allowed(&d));
    assert!(cache.is_empty());
    assert_eq!(cache.lookup(&cfg, &req(), &k, T0), None);
    // HTTP APIs do not cache unless a TTL is set.
    let cfg = http(PayloadFormat::V2, true, &["$request.header.Authorization"]);
    cache.decide(&cfg, &req(), &k, Ok(json!({"isAuthorized": true})), T0);
    assert!(cache.is_empty());
}

#[test]
fn a_cached_method_specific_policy_denies_other_methods() {
    // The classic pitfall: the policy allows only the method ARN that triggered the authorizer, and the
    // cached policy is then evaluated for every later request with the same token.
    let cache = AuthorizerCache::new();
    let cfg = token();
    let first = req();
    let k = key(&cfg, &first);
    let d = cache.decide(
        &cfg,
        &first,
        &k,
        Ok(policy("Allow", json!(first.method_arn()))),
        T0,
    );
    assert!(is_allowed(&d));
    assert!(is_allowed(&cache.lookup(&cfg, &first, &k, T0 + 1).unwrap()));
    for other in [at("POST", "/pets/1"), at("GET", "/pets/2"), at("GET", "/")] {
        let d = cache
            .lookup(&cfg, &other, &k, T0 + 1)
            .expect("a cached result");
        assert_eq!(denied(d), rest_403(), "{}", other.method_arn());
    }
    // A policy for the whole API works for every method.
    let cache = AuthorizerCache::new();
    let whole = "arn:aws:execute-api:us-east-1:123456789012:abc123/*";
    cache.decide(&cfg, &first, &k, Ok(policy("Allow", json!(whole))), T0);
    for other in [
        at("POST", "/pets/1"),
        at("DELETE", "/a/b/c"),
        at("GET", "/"),
    ] {
        assert!(is_allowed(&cache.lookup(&cfg, &other, &k, T0 + 1).unwrap()));
    }
}

#[test]
fn denials_are_cached_but_failures_are_not() {
    let cache = AuthorizerCache::new();
    let cfg = token();
    let k = key(&cfg, &req());
    let d = cache.decide(&cfg, &req(), &k, Ok(policy("Deny", json!("*"))), T0);
    assert_eq!(denied(d), rest_403_explicit());
    assert_eq!(
        denied(cache.lookup(&cfg, &at("POST", "/x"), &k, T0 + 1).unwrap()),
        rest_403_explicit()
    );
    // A simple `isAuthorized: false` is cached for every route.
    let mut simple = http(PayloadFormat::V2, true, &["$request.header.Authorization"]);
    simple.result_ttl_seconds = Some(60);
    simple.name = "simple".into();
    let hk = key(&simple, &req());
    cache.decide(&simple, &req(), &hk, Ok(json!({"isAuthorized": false})), T0);
    assert_eq!(
        denied(
            cache
                .lookup(&simple, &at("PUT", "/other"), &hk, T0 + 1)
                .unwrap()
        )
        .0,
        403
    );

    let cache = AuthorizerCache::new();
    let failures = [
        Err(FunctionFailure::Unauthorized),
        Err(FunctionFailure::Failed("boom".into())),
        Ok(json!({"principalId": "u"})),
        Ok(json!({"principalId": "u", "context": {"a": {}}, "policyDocument": {"Statement": []}})),
    ];
    for outcome in failures {
        assert!(!is_allowed(&cache.decide(&cfg, &req(), &k, outcome, T0)));
        assert!(cache.is_empty());
        assert_eq!(cache.lookup(&cfg, &req(), &k, T0), None);
    }
}

#[test]
fn the_cache_is_bounded_and_evicts_the_oldest() {
    let cache = AuthorizerCache::with_capacity(3);
    let cfg = token();
    let allow = || Ok(policy("Allow", json!("*")));
    for (i, k) in ["a", "b", "c"].iter().enumerate() {
        cache.decide(&cfg, &req(), k, allow(), T0 + i as u64);
    }
    // Storing `a` again makes it the newest.
    cache.decide(&cfg, &req(), "a", allow(), T0 + 10);
    cache.decide(&cfg, &req(), "d", allow(), T0 + 11);
    assert_eq!(cache.len(), 3);
    assert!(cache.lookup(&cfg, &req(), "b", T0 + 12).is_none());
    for k in ["a", "c", "d"] {
        assert!(cache.lookup(&cfg, &req(), k, T0 + 12).is_some(), "{k}");
    }
    let big = AuthorizerCache::new();
    for i in 0..AuthorizerCache::DEFAULT_CAPACITY + 5 {
        big.decide(&cfg, &req(), &i.to_string(), allow(), T0);
    }
    assert_eq!(big.len(), AuthorizerCache::DEFAULT_CAPACITY);
    assert!(big.lookup(&cfg, &req(), "4", T0).is_none());
    assert!(big.lookup(&cfg, &req(), "5", T0).is_some());
    let none = AuthorizerCache::with_capacity(0);
    none.decide(&cfg, &req(), "a", allow(), T0);
    assert!(none.is_empty());
}

#[test]
fn the_cache_is_shared_between_threads() {
    let cache = Arc::new(AuthorizerCache::default());
    let cfg = Arc::new(token());
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let (cache, cfg) = (Arc::clone(&cache), Arc::clone(&cfg));
            std::thread::spawn(move || {
                for i in 0..100 {
                    let k = format!("{t}-{i}");
                    cache.decide(&cfg, &req(), &k, Ok(policy("Allow", json!("*"))), T0);
                    assert!(cache.lookup(&cfg, &req(), &k, T0).is_some());
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(cache.len(), 800);
}

#[test]
fn the_whole_flow() {
    // What the gateway does, with a counting stand-in for the function.
    let cache = AuthorizerCache::new();
    let cfg = token();
    let mut calls = 0;
    let mut handle = |r: &AuthRequest, now: u64| -> Result<Value, GatewayResponse> {
        let cache_key = match identity(&cfg, r) {
            IdentityOutcome::Present { cache_key } => cache_key,
            IdentityOutcome::Missing | IdentityOutcome::Invalid => {
                return Err(GatewayResponse::unauthorized());
            }
        };
        let decision = match cache.lookup(&cfg, r, &cache_key, now) {
            Some(d) => d,
            None => {
                calls += 1;
                assert_eq!(event(&cfg, r)["type"], "TOKEN");
                let payload = br#"{"principalId":"me","policyDocument":{"Statement":{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"arn:aws:execute-api:us-east-1:123456789012:abc123/*"}},"context":{"n":1}}"#;
                cache.decide(&cfg, r, &cache_key, function_result(payload, false), now)
            }
        };
        match &decision {
            Decision::Allow { .. } => Ok(proxy_authorizer_context(&cfg, &decision, 0).unwrap()),
            Decision::Deny(resp) => Err(resp.clone()),
        }
    };
    assert_eq!(
        handle(&req(), T0),
        Ok(json!({"n": "1", "principalId": "me", "integrationLatency": 0}))
    );
    assert!(handle(&at("POST", "/x"), T0 + 1).is_ok());
    assert_eq!(
        handle(&without_header(req(), "Authorization"), T0 + 2),
        Err(GatewayResponse::unauthorized())
    );
    assert_eq!(calls, 1);
}
