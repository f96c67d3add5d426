use super::*;

#[test]
fn token_event() {
    assert_eq!(
        event(&token(), &req()),
        json!({"type": "TOKEN", "authorizationToken": "Bearer abc", "methodArn": ARN})
    );
}

#[test]
fn rest_request_event() {
    let cfg = request(&["method.request.header.Authorization"]);
    let mut r = with_header(req(), "x-api-key", "key-1");
    r.headers.retain(|(k, _)| k != "Cookie");
    assert_eq!(
        event(&cfg, &r),
        json!({
            "type": "REQUEST",
            "methodArn": ARN,
            "resource": "/pets/{id}",
            "path": "/pets/1",
            "httpMethod": "GET",
            "headers": {
                "Authorization": "Bearer abc",
                "X-Trace": "2",
                "Host": "abc123.execute-api.us-east-1.amazonaws.com",
                "User-Agent": "curl/8",
                "x-api-key": "key-1",
            },
            "multiValueHeaders": {
                "Authorization": ["Bearer abc"],
                "X-Trace": ["1", "2"],
                "Host": ["abc123.execute-api.us-east-1.amazonaws.com"],
                "User-Agent": ["curl/8"],
                "x-api-key": ["key-1"],
            },
            "queryStringParameters": {"a": "2", "b": "x y"},
            "multiValueQueryStringParameters": {"a": ["1", "2"], "b": ["x y"]},
            "pathParameters": {"id": "1"},
            "stageVariables": {"env": "test"},
            "requestContext": {
                "path": "/prod/pets/1",
                "accountId": "123456789012",
                "resourceId": "r3s1d",
                "stage": "prod",
                "requestId": "req-1",
                "identity": {"apiKey": "key-1", "sourceIp": "1.2.3.4"},
                "resourcePath": "/pets/{id}",
                "httpMethod": "GET",
                "apiId": "abc123",
            },
        })
    );
    // Empty maps are objects, and a missing API key is null.
    let bare = AuthRequest {
        headers: vec![],
        query: vec![],
        path_params: Default::default(),
        stage_variables: Default::default(),
        ..req()
    };
    let e = event(&cfg, &bare);
    for k in [
        "headers",
        "multiValueHeaders",
        "queryStringParameters",
        "multiValueQueryStringParameters",
        "pathParameters",
        "stageVariables",
    ] {
        assert_eq!(e[k], json!({}), "{k}");
    }
    assert_eq!(e["requestContext"]["identity"]["apiKey"], Value::Null);
}

#[test]
fn http_v1_event() {
    let cfg = http(
        PayloadFormat::V1,
        false,
        &["$request.header.Authorization", "$request.querystring.b"],
    );
    let mut r = req();
    r.headers
        .retain(|(k, _)| k != "Cookie" && k != "X-Trace" && k != "x-trace");
    r.stage = String::new();
    assert_eq!(
        event(&cfg, &r),
        json!({
            "version": "1.0",
            "type": "REQUEST",
            "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc123/$default/GET/pets/1",
            "identitySource": "Bearer abc,x y",
            "authorizationToken": "Bearer abc,x y",
            "resource": "/pets/{id}",
            "path": "/pets/1",
            "httpMethod": "GET",
            "headers": {
                "Authorization": "Bearer abc",
                "Host": "abc123.execute-api.us-east-1.amazonaws.com",
                "User-Agent": "curl/8",
            },
            "multiValueHeaders": {
                "Authorization": ["Bearer abc"],
                "Host": ["abc123.execute-api.us-east-1.amazonaws.com"],
                "User-Agent": ["curl/8"],
            },
            "queryStringParameters": {"a": "2", "b": "x y"},
            "multiValueQueryStringParameters": {"a": ["1", "2"], "b": ["x y"]},
            "pathParameters": {"id": "1"},
            "stageVariables": {"env": "test"},
            "requestContext": {
                "path": "/pets/1",
                "accountId": "123456789012",
                "resourceId": null,
                "stage": "$default",
                "requestId": "req-1",
                "identity": {"apiKey": null, "sourceIp": "1.2.3.4"},
                "resourcePath": "/pets/{id}",
                "httpMethod": "GET",
                "apiId": "abc123",
            },
        })
    );
    // Without identity sources both fields are null.
    let e = event(&http(PayloadFormat::V1, false, &[]), &r);
    assert_eq!(e["identitySource"], Value::Null);
    assert_eq!(e["authorizationToken"], Value::Null);
}

#[test]
fn http_v2_event() {
    let cfg = http(
        PayloadFormat::V2,
        true,
        &["$request.header.Authorization", "$request.querystring.a"],
    );
    let r = AuthRequest {
        raw_path: "/prod/pets/1".into(),
        ..req()
    };
    assert_eq!(
        event(&cfg, &r),
        json!({
            "version": "2.0",
            "type": "REQUEST",
            "routeArn": ARN,
            "identitySource": ["Bearer abc", "1,2"],
            "routeKey": "GET /pets/{id}",
            "rawPath": "/prod/pets/1",
            "rawQueryString": "a=1&a=2&b=x+y",
            "cookies": ["a=1", "b=2"],
            "headers": {
                "authorization": "Bearer abc",
                "x-trace": "1,2",
                "host": "abc123.execute-api.us-east-1.amazonaws.com",
                "user-agent": "curl/8",
            },
            "queryStringParameters": {"a": "1,2", "b": "x y"},
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "abc123",
                "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
                "domainPrefix": "abc123",
                "http": {
                    "method": "GET",
                    "path": "/prod/pets/1",
                    "protocol": "HTTP/1.1",
                    "sourceIp": "1.2.3.4",
                    "userAgent": "curl/8",
                },
                "requestId": "req-1",
                "routeKey": "GET /pets/{id}",
                "stage": "prod",
                "time": "04/Mar/2020:19:03:58 +0000",
                "timeEpoch": 1_583_348_638_390u64,
            },
            "pathParameters": {"id": "1"},
            "stageVariables": {"env": "test"},
        })
    );
    // Empty collections are left out, and the path stands in for an empty raw path.
    let bare = AuthRequest {
        headers: vec![],
        query: vec![],
        raw_query_string: String::new(),
        path_params: Default::default(),
        stage_variables: Default::default(),
        domain_name: "localhost:3000".into(),
        ..req()
    };
    let e = event(&http(PayloadFormat::V2, false, &[]), &bare);
    for k in [
        "cookies",
        "queryStringParameters",
        "pathParameters",
        "stageVariables",
    ] {
        assert!(e.get(k).is_none(), "{k}");
    }
    assert_eq!(e["identitySource"], Value::Null);
    assert_eq!(e["headers"], json!({}));
    assert_eq!(e["rawPath"], "/pets/1");
    assert_eq!(e["requestContext"]["domainPrefix"], "localhost");
    assert_eq!(e["requestContext"]["http"]["userAgent"], "");
}

#[test]
fn request_times() {
    assert_eq!(event::request_time(0), "01/Jan/1970:00:00:00 +0000");
    assert_eq!(
        event::request_time(951_782_400_000),
        "29/Feb/2000:00:00:00 +0000"
    );
    assert_eq!(
        event::request_time(1_735_689_599_999),
        "31/Dec/2024:23:59:59 +0000"
    );
}
