//! API Gateway: arbitrary requests reach the function as events that `aws_lambda_events` reads.

use super::*;

// API Gateway: arbitrary requests through a `{proxy+}` route reach the function as events that deserialize with
// `aws_lambda_events`.

fn path_segment() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[A-Za-z0-9._~!$&'()*+,;=:@-]{1,12}",
        3 => "\\PC{1,8}".prop_map(|s| percent_all(&s)),
        2 => select(&[
            ".", "..", "", "%2F", "%2f", "%00", "%FF", "%C3%A9", "%zz", "%", "%4", "Prod", "~", "%20", "+",
        ][..])
        .prop_map(String::from),
    ]
}

/// `/` and segments, sometimes under the REST API's stage name, with doubled or trailing slashes.
fn path() -> impl Strategy<Value = String> {
    (
        any::<bool>(),
        vec(path_segment(), 0..5),
        any::<bool>(),
        0..4u8,
    )
        .prop_map(|(stage, segments, trailing, leading)| {
            let mut p = String::from(if leading == 0 { "//" } else { "/" });
            if stage {
                p.push_str("Prod/");
            }
            p.push_str(&segments.join("/"));
            if trailing && !p.ends_with('/') {
                p.push('/');
            }
            p
        })
}

/// A query string: pairs (decoded as the test wrote them) and their encoding, with stray `&`s.
#[derive(Debug, Clone)]
struct Query {
    raw: String,
    pairs: Vec<(String, String)>,
}

fn query_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[A-Za-z0-9_]{0,6}",
        2 => "\\PC{0,8}",
        1 => select(&["a", "a b", "x+y", "&", "=", "%", "#", "+00:00", "é", ""][..]).prop_map(String::from),
    ]
}

fn query() -> impl Strategy<Value = Option<Query>> {
    let pair = (
        query_text().prop_filter("the fault runtime's own key", |k| k != "action"),
        query_text(),
        any::<bool>(),
        any::<bool>(),
    );
    prop::option::of(vec(pair, 0..6).prop_map(|pairs| {
        let mut raw = String::new();
        let mut decoded = Vec::new();
        for (k, v, bare, stray) in pairs {
            if !raw.is_empty() {
                raw.push('&');
            }
            if stray {
                raw.push('&');
            }
            raw.push_str(&query_encode(&k));
            // `k` alone is `k=`, with an empty value.
            if !(bare && v.is_empty() && !k.is_empty()) {
                raw.push('=');
                raw.push_str(&query_encode(&v));
            }
            decoded.push((k, v));
        }
        Query {
            raw,
            pairs: decoded,
        }
    }))
}

const REQUEST_HEADERS: &[&str] = &[
    "Accept",
    "Content-Type",
    "User-Agent",
    "Authorization",
    "Cookie",
    "X-Forwarded-For",
    "X-Amzn-Trace-Id",
    "Origin",
    "Accept-Encoding",
    "Referer",
    "If-None-Match",
    "X-Api-Key",
    "Cache-Control",
];

fn request_header() -> impl Strategy<Value = (String, String)> {
    (
        prop_oneof![
            1 => select(REQUEST_HEADERS).prop_map(String::from),
            1 => "[xX]-[rR]-[A-Za-z0-9-]{1,10}",
        ],
        header_value(),
    )
}

/// A JSON request body that does not steer the fault runtime (no top-level `action`).
fn json_body() -> impl Strategy<Value = Vec<u8>> {
    json_value()
        .prop_filter("the fault runtime's own key", |v| v.get("action").is_none())
        .prop_map(|v| v.to_string().into_bytes())
}

#[derive(Debug, Clone)]
struct ApiRequest {
    method: String,
    path: String,
    query: Option<Query>,
    headers: Vec<(String, String)>,
    /// The values of `X-Prop-Probe`, in the order sent.
    probe: Vec<String>,
    body: Bytes,
}

impl ApiRequest {
    fn target(&self) -> String {
        match &self.query {
            Some(q) => format!("{}?{}", self.path, q.raw),
            None => self.path.clone(),
        }
    }

    fn all_headers(&self) -> Vec<(String, String)> {
        let mut h = self.headers.clone();
        h.extend(
            self.probe
                .iter()
                .map(|v| ("X-Prop-Probe".to_string(), v.clone())),
        );
        h
    }

    fn pairs(&self) -> &[(String, String)] {
        self.query.as_ref().map_or(&[], |q| &q.pairs)
    }
}

fn api_request() -> impl Strategy<Value = ApiRequest> {
    (
        method(),
        path(),
        query(),
        vec(request_header(), 0..6),
        vec(header_value(), 1..4),
        prop_oneof![
            2 => Just(Vec::new()),
            2 => vec(any::<u8>(), 1..64),
            2 => json_body(),
            1 => "\\PC{1,40}".prop_map(String::into_bytes),
        ],
    )
        .prop_map(|(method, path, query, headers, probe, body)| ApiRequest {
            method,
            path,
            query,
            headers,
            probe,
            body: Bytes::from(body),
        })
}

/// The path a REST API with stage `Prod` routes on.
fn strip_stage(path: &str) -> &str {
    match path.strip_prefix("/Prod") {
        Some("") => "/",
        Some(rest) if rest.starts_with('/') => rest,
        _ => path,
    }
}

/// What `{proxy+}` captures of a path, or `None` when the path has no segment for it.
fn greedy(path: &str) -> Option<&str> {
    let start = path.find(|c| c != '/')?;
    Some(path[start..].trim_end_matches('/'))
}

/// The event's body is the request's: as text, or base64 when the gateway says so.
fn check_event_body(ev: &Value, body: &[u8]) -> Result<(), TestCaseError> {
    if body.is_empty() {
        prop_assert!(
            ev.get("body").is_none_or(Value::is_null),
            "body {}",
            ev["body"]
        );
        return Ok(());
    }
    let text = ev["body"]
        .as_str()
        .ok_or_else(|| fail(format!("no body in the event: {}", ev["body"])))?;
    if ev["isBase64Encoded"] == true {
        prop_assert_eq!(
            B64.decode(text).ok(),
            Some(body.to_vec()),
            "base64 body {}",
            text
        );
    } else {
        prop_assert_eq!(text, String::from_utf8_lossy(body), "text body");
    }
    Ok(())
}

async fn api_exchange(h: &Harness, req: &ApiRequest) -> Result<Reply, TestCaseError> {
    let addr = h.emulator.api_addr.expect("an API port").to_string();
    exchange(
        &addr,
        &req.method,
        &req.target(),
        &req.all_headers(),
        &req.body,
        Duration::from_secs(20),
    )
    .await
    .map_err(|e| fail(format!("no well-formed response: {e}")))
}

async fn rest_request_case(h: &Harness, req: ApiRequest) -> Result<(), TestCaseError> {
    let r = api_exchange(h, &req).await?;
    let path = strip_stage(&req.path);
    let Some(proxy) = greedy(path) else {
        return expect_gateway_error(&r, &req.method, 403, "Missing Authentication Token");
    };
    prop_assert_eq!(r.status, 200, "body: {}", r.text());
    if req.method == "HEAD" {
        return Ok(());
    }
    let ev = r
        .json()
        .ok_or_else(|| fail(format!("the echoed event is not JSON: {}", r.text())))?;
    let parsed: ApiGatewayProxyRequest = serde_json::from_value(ev.clone()).map_err(|e| {
        fail(format!(
            "aws_lambda_events cannot read the event: {e}\n{ev:#}"
        ))
    })?;
    prop_assert_eq!(parsed.http_method.as_str(), req.method.as_str());
    prop_assert_eq!(parsed.path.as_deref(), Some(path));
    prop_assert_eq!(parsed.resource.as_deref(), Some("/{proxy+}"));
    prop_assert_eq!(
        parsed.path_parameters.get("proxy").map(String::as_str),
        Some(proxy)
    );
    let multi: Vec<&str> = parsed
        .multi_value_headers
        .get_all("x-prop-probe")
        .iter()
        .map(|v| std::str::from_utf8(v.as_bytes()).unwrap_or("<not UTF-8>"))
        .collect();
    prop_assert_eq!(
        multi,
        req.probe.iter().map(String::as_str).collect::<Vec<_>>()
    );
    prop_assert_eq!(
        parsed.headers.get("x-prop-probe").map(|v| v.as_bytes()),
        req.probe.last().map(|v| v.as_bytes())
    );
    let mut multi_query: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (k, v) in req.pairs() {
        multi_query.entry(k).or_default().push(v);
    }
    let (expected_multi, expected_single) = if multi_query.is_empty() {
        (Value::Null, Value::Null)
    } else {
        (
            json!(multi_query),
            json!(
                multi_query
                    .iter()
                    .map(|(k, v)| (*k, *v.last().unwrap()))
                    .collect::<BTreeMap<_, _>>()
            ),
        )
    };
    prop_assert_eq!(&ev["multiValueQueryStringParameters"], &expected_multi);
    prop_assert_eq!(&ev["queryStringParameters"], &expected_single);
    check_event_body(&ev, &req.body)
}

async fn http_request_case(h: &Harness, req: ApiRequest) -> Result<(), TestCaseError> {
    let r = api_exchange(h, &req).await?;
    let Some(proxy) = greedy(&req.path) else {
        return expect_gateway_error(&r, &req.method, 404, "Not Found");
    };
    prop_assert_eq!(r.status, 200, "body: {}", r.text());
    if req.method == "HEAD" {
        return Ok(());
    }
    let ev = r
        .json()
        .ok_or_else(|| fail(format!("the echoed event is not JSON: {}", r.text())))?;
    let parsed: ApiGatewayV2httpRequest = serde_json::from_value(ev.clone()).map_err(|e| {
        fail(format!(
            "aws_lambda_events cannot read the event: {e}\n{ev:#}"
        ))
    })?;
    prop_assert_eq!(
        parsed.request_context.http.method.as_str(),
        req.method.as_str()
    );
    prop_assert_eq!(parsed.raw_path.as_deref(), Some(req.path.as_str()));
    prop_assert_eq!(
        parsed.raw_query_string.as_deref().unwrap_or(""),
        req.query.as_ref().map_or("", |q| q.raw.as_str())
    );
    prop_assert_eq!(
        parsed.path_parameters.get("proxy").cloned(),
        Some(percent_decode(proxy))
    );
    prop_assert_eq!(
        parsed
            .headers
            .get("x-prop-probe")
            .map(|v| v.as_bytes().to_vec()),
        Some(req.probe.join(",").into_bytes())
    );
    let mut joined: BTreeMap<&str, String> = BTreeMap::new();
    for (k, v) in req.pairs() {
        joined
            .entry(k)
            .and_modify(|j| {
                j.push(',');
                j.push_str(v);
            })
            .or_insert_with(|| v.clone());
    }
    let expected = if joined.is_empty() {
        None
    } else {
        Some(json!(joined))
    };
    prop_assert_eq!(ev.get("queryStringParameters").cloned(), expected);
    check_event_body(&ev, &req.body)
}

#[test]
fn rest_api_requests_reach_the_function_as_readable_events() {
    let rt = runtime();
    let h = rt.block_on(Builder::new(gateway_config("rest")).start());
    check(
        "rest_api_requests_reach_the_function_as_readable_events",
        128,
        api_request(),
        |req| rt.block_on(rest_request_case(&h, req)),
    );
    let _guard = rt.enter();
    drop(h);
}

#[test]
fn http_api_requests_reach_the_function_as_readable_events() {
    let rt = runtime();
    let h = rt.block_on(Builder::new(gateway_config("http")).start());
    check(
        "http_api_requests_reach_the_function_as_readable_events",
        128,
        api_request(),
        |req| rt.block_on(http_request_case(&h, req)),
    );
    let _guard = rt.enter();
    drop(h);
}
