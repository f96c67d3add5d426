//! The event the authorizer function receives.
//!
//! Sources: DG:api-gateway-lambda-authorizer-input (TOKEN and REQUEST); DG:http-api-lambda-authorizer (payload
//! formats 1.0 and 2.0); GO testdata apigw-custom-auth-request-type-request.json,
//! apigw-v2-custom-authorizer-v1-request.json and apigw-v2-custom-authorizer-v2-request.json. The shapes also
//! satisfy the Rust runtime's types (aws_lambda_events `ApiGatewayCustomAuthorizerRequestTypeRequest`,
//! `ApiGatewayV2CustomAuthorizerV1Request`, which requires `requestContext.identity` and `httpMethod`, and
//! `ApiGatewayV2CustomAuthorizerV2Request`, which requires `requestContext.http`). Notes §1.2, §2.

use serde_json::{Map, Value, json};

use super::{AuthRequest, AuthorizerConfig, AuthorizerKind, PayloadFormat, resolve};

/// The event for the authorizer function.
pub fn event(cfg: &AuthorizerConfig, req: &AuthRequest) -> Value {
    match cfg.kind {
        // The header's value is passed as it is; a `Bearer ` prefix stays (notes §1.2).
        AuthorizerKind::Token => json!({
            "type": "TOKEN",
            "authorizationToken": cfg.identity_sources.first().and_then(|s| resolve(cfg, req, s)),
            "methodArn": req.method_arn(),
        }),
        AuthorizerKind::Request => rest_request(req),
        AuthorizerKind::HttpRequest {
            payload_format: PayloadFormat::V1,
            ..
        } => http_v1(cfg, req),
        AuthorizerKind::HttpRequest {
            payload_format: PayloadFormat::V2,
            ..
        } => http_v2(cfg, req),
    }
}

/// The identity source values present, in configured order; `identity` has already checked that none is
/// missing.
fn present_identity_values(cfg: &AuthorizerConfig, req: &AuthRequest) -> Option<Vec<String>> {
    if cfg.identity_sources.is_empty() {
        return None;
    }
    Some(
        cfg.identity_sources
            .iter()
            .filter_map(|s| resolve(cfg, req, s))
            .collect(),
    )
}

/// Groups values by name, ignoring the name's case and keeping the first spelling seen, in arrival order.
fn grouped<'a>(
    pairs: impl Iterator<Item = &'a (String, String)>,
    ignore_case: bool,
) -> Vec<(&'a str, Vec<&'a str>)> {
    let mut out: Vec<(&str, Vec<&str>)> = Vec::new();
    for (k, v) in pairs {
        let same = |n: &&str| {
            if ignore_case {
                n.eq_ignore_ascii_case(k)
            } else {
                *n == k
            }
        };
        match out.iter_mut().find(|(n, _)| same(n)) {
            Some((_, values)) => values.push(v),
            None => out.push((k, vec![v])),
        }
    }
    out
}

fn last_values(groups: &[(&str, Vec<&str>)]) -> Value {
    groups
        .iter()
        .map(|(k, vs)| (k.to_string(), json!(vs.last())))
        .collect::<Map<_, _>>()
        .into()
}

fn all_values(groups: &[(&str, Vec<&str>)]) -> Value {
    groups
        .iter()
        .map(|(k, vs)| (k.to_string(), json!(vs)))
        .collect::<Map<_, _>>()
        .into()
}

/// `requestContext.path`: `$context.path`, the path with the stage prefix (notes §11.1).
pub(super) fn context_path(req: &AuthRequest) -> String {
    if req.stage.is_empty() {
        req.path.clone()
    } else {
        format!("/{}{}", req.stage, req.path)
    }
}

/// REST `REQUEST`. Empty maps are `{}`, as in the documented example's `pathParameters`; the proxy event's
/// nulls do not apply here. REST keeps a repeated header's or parameter's last value in the single-value maps
/// (notes §11.1).
fn rest_request(req: &AuthRequest) -> Value {
    let headers = grouped(req.headers.iter(), true);
    let query = grouped(req.query.iter(), false);
    let method = req.method.to_ascii_uppercase();
    json!({
        "type": "REQUEST",
        "methodArn": req.method_arn(),
        "resource": req.resource_path,
        "path": req.path,
        "httpMethod": method,
        "headers": last_values(&headers),
        "multiValueHeaders": all_values(&headers),
        "queryStringParameters": last_values(&query),
        "multiValueQueryStringParameters": all_values(&query),
        "pathParameters": req.path_params,
        "stageVariables": req.stage_variables,
        "requestContext": {
            "path": context_path(req),
            "accountId": req.account_id,
            "resourceId": req.resource_id,
            "stage": req.stage_name(),
            "requestId": req.request_id,
            "identity": {
                "apiKey": req.header("x-api-key"),
                "sourceIp": req.source_ip,
            },
            "resourcePath": req.resource_path,
            "httpMethod": method,
            "apiId": req.api_id,
        },
    })
}

/// HTTP API payload 1.0: the REST shape with `version`, and `identitySource` and `authorizationToken` both
/// holding the identity values joined with commas (`"user1,123"`). As in the 1.0 integration event
/// (`events::http_v1_event`), there is no resource id.
fn http_v1(cfg: &AuthorizerConfig, req: &AuthRequest) -> Value {
    let mut event = rest_request(req);
    let joined = present_identity_values(cfg, req).map(|v| v.join(","));
    if let Some(obj) = event.as_object_mut() {
        obj.insert("version".into(), json!("1.0"));
        obj.insert("identitySource".into(), json!(joined));
        obj.insert("authorizationToken".into(), json!(joined));
        if let Some(rc) = obj.get_mut("requestContext").and_then(Value::as_object_mut) {
            rc.insert("resourceId".into(), Value::Null);
        }
    }
    event
}

/// HTTP API payload 2.0: header names lower-cased and repeated values joined with commas, cookies split out of
/// `Cookie`, repeated query parameters joined with commas, and empty maps left out, as in the 2.0 integration
/// event (`events::http_event`; DG:http-api-develop-integrations-lambda).
fn http_v2(cfg: &AuthorizerConfig, req: &AuthRequest) -> Value {
    let mut headers = Map::new();
    let mut cookies = Vec::new();
    for (name, values) in grouped(req.headers.iter(), true) {
        let name = name.to_ascii_lowercase();
        if name == "cookie" {
            cookies.extend(
                values
                    .iter()
                    .flat_map(|v| v.split(';'))
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(str::to_string),
            );
            continue;
        }
        headers.insert(name, json!(values.join(",")));
    }
    let query: Map<String, Value> = grouped(req.query.iter(), false)
        .into_iter()
        .map(|(k, vs)| (k.to_string(), json!(vs.join(","))))
        .collect();
    let raw_path = if req.raw_path.is_empty() {
        &req.path
    } else {
        &req.raw_path
    };
    let mut event = json!({
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": req.method_arn(),
        "identitySource": present_identity_values(cfg, req),
        "routeKey": req.route_key,
        "rawPath": raw_path,
        "rawQueryString": req.raw_query_string,
        "headers": headers,
        "requestContext": {
            "accountId": req.account_id,
            "apiId": req.api_id,
            "domainName": req.domain(),
            "domainPrefix": req.domain_prefix(),
            "http": {
                "method": req.method.to_ascii_uppercase(),
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": req.source_ip,
                "userAgent": req.header("user-agent").unwrap_or(""),
            },
            "requestId": req.request_id,
            "routeKey": req.route_key,
            "stage": req.stage_name(),
            "time": request_time(req.now_ms),
            "timeEpoch": req.now_ms,
        },
    });
    if let Some(obj) = event.as_object_mut() {
        if !cookies.is_empty() {
            obj.insert("cookies".into(), json!(cookies));
        }
        if !query.is_empty() {
            obj.insert("queryStringParameters".into(), Value::Object(query));
        }
        if !req.path_params.is_empty() {
            obj.insert("pathParameters".into(), json!(req.path_params));
        }
        if !req.stage_variables.is_empty() {
            obj.insert("stageVariables".into(), json!(req.stage_variables));
        }
    }
    event
}

/// `12/Mar/2020:19:03:58 +0000`, in UTC: the gateway's own format.
pub(super) fn request_time(now_ms: u64) -> String {
    crate::apigw::events::request_time(now_ms)
}
