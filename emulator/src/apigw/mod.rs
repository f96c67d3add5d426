//! A small API Gateway on its own port: REST APIs (v1) with Lambda proxy and Lambda custom integrations, and HTTP
//! APIs (v2) with payload format 2.0. Every configured API is served at the root, as `sam local start-api` does;
//! a REST API's stage name is also accepted as a path prefix.

mod api;
pub mod auth;
pub mod authorizer;
pub mod cors;
pub mod events;
pub mod gateway_responses;
pub mod integration;
pub mod jwks;
pub mod jwt;
pub mod responses;
pub mod routes;
pub mod validate;
pub mod vtl;

use crate::whole_match::WholeMatch;
use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use serde_json::{Value, json};

use crate::clock::Env;
use crate::config::{ApiKind, Config, IntegrationKind};
use crate::lambda::{InvokeInput, Lambda, LambdaError};
use crate::net::{Handler, WireRequest, WireResponse};
use crate::trace::{Pending, TraceHeader, span_id};
use api::{Api, Route, build_api, first_accept_is_binary, media_matches, preflight, strip_stage};
pub use auth::authorizer_config;
use events::Context;
use routes::Lookup;

/// The largest request API Gateway accepts: 10 MB.
/// Source: https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html
pub const MAX_REQUEST: usize = 10 * 1024 * 1024;

/// The API Gateway port's handler.
pub struct ApiGateway {
    /// Replaced whole by a config reload; a request keeps the APIs it started with.
    apis: std::sync::RwLock<Arc<Vec<Api>>>,
    lambda: Arc<Lambda>,
    env: Env,
    account_id: String,
    region: String,
}

/// A gateway response of API Gateway's own: `{"message": ...}` with its error type.
fn gateway(status: u16, error_type: &str, message: &str) -> WireResponse {
    WireResponse::json(status, &json!({ "message": message }))
        .header("x-amzn-errortype", error_type)
}

/// The gateway's own answer with a fault's 5xx status, worded as the gateway words that status for the kind of
/// API: an internal error (500), a failed integration (502), an unavailable integration (503, HTTP APIs' timeout)
/// and a timed-out one (504, REST APIs' `INTEGRATION_TIMEOUT`).
fn injected(kind: ApiKind, status: u16) -> WireResponse {
    match (status, kind) {
        (503, _) => gateway(503, "ServiceUnavailableException", "Service Unavailable"),
        (504, _) => gateway(
            504,
            "InternalServerErrorException",
            "Endpoint request timed out",
        ),
        (_, ApiKind::Rest) => gateway(
            status,
            "InternalServerErrorException",
            "Internal server error",
        ),
        (_, ApiKind::Http) => gateway(
            status,
            "InternalServerErrorException",
            "Internal Server Error",
        ),
    }
}

/// Compiles a `selectionPattern` so that, like Java's `String.matches`, it must match the whole message.
/// `.` does not match a newline in either. FIXME: Java-only regex syntax (possessive quantifiers, `\p{javaX}`)
/// is rejected at start-up rather than supported. The config's validation and every API built from it share
/// one compiled pattern.
pub fn selection_pattern(pattern: &str) -> Result<WholeMatch, String> {
    WholeMatch::memoized(pattern)
}

impl ApiGateway {
    pub fn new(config: &Config, lambda: Arc<Lambda>, env: Env) -> Self {
        let apis = config.apis.iter().map(build_api).collect();
        Self {
            apis: std::sync::RwLock::new(Arc::new(apis)),
            lambda,
            env,
            account_id: config.account_id.clone(),
            region: config.region.clone(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.apis().is_empty()
    }

    fn apis(&self) -> Arc<Vec<Api>> {
        self.apis.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Serves `config`'s APIs from now on. Requests already begun finish with the APIs they started with.
    pub fn reload(&self, config: &Config) {
        let apis = config.apis.iter().map(build_api).collect();
        *self.apis.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(apis);
    }

    /// One request to a route, as a span of its trace: the caller's `X-Amzn-Trace-Id`, or a new one.
    async fn dispatch(
        &self,
        api: &Api,
        route: &Route,
        resource: &str,
        path: &str,
        params: BTreeMap<String, String>,
        req: &WireRequest,
    ) -> WireResponse {
        let request_id = self.env.ids.uuid();
        let now_ms = self.env.clock.now_ms();
        let trace_id = events::trace_id(req, now_ms, &self.env.ids.uuid());
        let root = TraceHeader::parse(&trace_id).map_or_else(|| trace_id.clone(), |t| t.root);
        let mut span = Pending::start(
            span_id(&request_id),
            req.header("x-amzn-trace-id")
                .and_then(TraceHeader::parse)
                .and_then(|t| t.parent),
            "apigateway",
            format!("{} {}", req.method, req.path),
            now_ms,
        );
        span.set("api", api.id.as_str());
        span.set("stage", api.stage.as_str());
        span.set("route", route.route_key.as_str());
        span.set("integration", format!("{:?}", route.integration));
        span.set("requestBody", crate::trace::body_text(&req.body));
        // What the route invokes is a step under this span.
        let trace = TraceHeader {
            root: root.clone(),
            parent: Some(span.id().to_string()),
        };
        let ids = Ids {
            request_id: &request_id,
            now_ms,
            trace_id: &trace_id,
            trace: &trace,
        };
        let resp = self
            .dispatch_traced(api, route, resource, path, params, req, &ids)
            .await;
        span.set("status", resp.status.as_u16());
        span.set("responseBody", crate::trace::body_text(&resp.body));
        if resp.status.as_u16() >= 500 {
            let kind = resp
                .headers
                .get("x-amzn-errortype")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("error");
            span.fail(format!("{} {kind}", resp.status.as_u16()));
        }
        self.env.traces.record(&root, span.finish());
        resp
    }

    #[allow(clippy::too_many_arguments)]
    async fn dispatch_traced(
        &self,
        api: &Api,
        route: &Route,
        resource: &str,
        path: &str,
        params: BTreeMap<String, String>,
        req: &WireRequest,
        ids: &Ids<'_>,
    ) -> WireResponse {
        let (request_id, now_ms) = (ids.request_id.to_string(), ids.now_ms);
        if let Some(auth) = &route.unsupported_auth {
            // A route behind an authorizer that cannot be evaluated stays closed, never open.
            tracing::warn!(
                "{auth}: Offcloud cannot evaluate this authorizer yet; the request is refused"
            );
            return gateway(
                500,
                "AuthorizerConfigurationException",
                &format!("{auth}: Offcloud cannot evaluate this authorizer yet"),
            );
        }
        // An `AWS_IAM` route refuses a request that is not SigV4-signed (in the header or the query string).
        // FIXME: the signature itself is not verified; AWS checks it against the caller's credentials.
        // Source: https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
        // (MISSING_AUTHENTICATION_TOKEN, 403).
        if route.iam_auth
            && !req
                .header("authorization")
                .is_some_and(|a| a.starts_with("AWS4-HMAC-SHA256 "))
            && !req
                .query
                .as_deref()
                .unwrap_or("")
                .contains("X-Amz-Signature=")
        {
            return gateway(
                403,
                "MissingAuthenticationTokenException",
                "Missing Authentication Token",
            );
        }
        // REST APIs hand path parameters over still percent-encoded; HTTP APIs decode them.
        let params = match api.kind {
            ApiKind::Rest => params,
            ApiKind::Http => params
                .into_iter()
                .map(|(k, v)| (k, routes::decode(&v)))
                .collect(),
        };
        // The authorizer runs before the API key is checked, as API Gateway orders them.
        // Source: https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-control-access-to-api.html
        let authorized = match &route.authorizer {
            None => auth::Authorized::default(),
            Some(name) => {
                let target = auth::Target {
                    api_id: &api.id,
                    account_id: &self.account_id,
                    region: &self.region,
                    stage: &api.stage,
                    path,
                    resource,
                    route_key: &route.route_key,
                    path_params: &params,
                    stage_variables: &api.stage_variables,
                    request_id: &request_id,
                    now_ms,
                    trace: ids.trace,
                };
                match api
                    .authorizers
                    .authorize(name, &route.scopes, &self.lambda, req, &target)
                    .await
                {
                    Ok(cx) => cx,
                    Err(resp) => return resp.header("x-amzn-requestid", &request_id),
                }
            }
        };
        // With the `AUTHORIZER` key source the key is the Lambda authorizer's `usageIdentifierKey`, not a header.
        // Source: DG:api-gateway-api-key-source.
        let key = if api.key_from_authorizer {
            authorized.usage_identifier_key.as_deref()
        } else {
            req.header("x-api-key")
        };
        if route.api_key_required && !key.is_some_and(|k| api.api_keys.iter().any(|a| a == k)) {
            return gateway(403, "ForbiddenException", "Forbidden");
        }
        if let Some(rules) = &route.validation {
            let headers: Vec<(&str, &str)> = req
                .headers
                .iter()
                .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?)))
                .collect();
            let query = events::query_pairs(req.query.as_deref(), true);
            let view = validate::RequestView {
                headers: &headers,
                query: &query,
                path: &params,
                body: &req.body,
            };
            if let Err(r) = validate::check(rules, &api.models, &view) {
                tracing::warn!("{}", r.log);
                return WireResponse::json(r.status, &r.body)
                    .header("x-amzn-errortype", r.error_type)
                    .header("x-amzn-requestid", &request_id);
            }
        }
        let trace_id = ids.trace_id;
        let binary = match api.kind {
            ApiKind::Rest => {
                let ct = req.header("content-type").unwrap_or("");
                api.binary_media_types.iter().any(|t| media_matches(t, ct))
            }
            ApiKind::Http => {
                !events::is_text(req.header("content-type"))
                    || std::str::from_utf8(&req.body).is_err()
            }
        };
        let cx = Context {
            account_id: &self.account_id,
            api_id: &api.id,
            stage: &api.stage,
            request_id: &request_id,
            now_ms,
            resource,
            path,
            path_params: &params,
            stage_variables: &api.stage_variables,
            binary,
            trace_id,
            trace: ids.trace,
            authorizer: authorized.context.as_ref(),
        };
        let mut resp = match &route.mapping {
            Some(mapping) if api.kind == ApiKind::Rest => {
                self.mapped(route, mapping, req, &cx).await
            }
            _ => self.proxied(api, route, req, &cx).await,
        };
        // The gateway's own headers. Source: responses recorded from real API Gateway (shared notes §11.3):
        // REST answers carry `x-amzn-RequestId` and `x-amz-apigw-id`, proxy answers `X-Amzn-Trace-Id` too; HTTP
        // APIs answer with `apigw-requestid`.
        match api.kind {
            ApiKind::Rest => {
                resp = resp
                    .header("x-amzn-requestid", &request_id)
                    .header("x-amz-apigw-id", apigw_id(&request_id));
                if route.integration == IntegrationKind::Proxy {
                    resp = resp.header("x-amzn-trace-id", trace_id);
                }
                resp
            }
            ApiKind::Http => resp
                .header("x-amzn-requestid", &request_id)
                .header("apigw-requestid", apigw_id(&request_id)),
        }
    }

    /// A Lambda proxy integration (REST, or either HTTP API payload format): the event in, the result out.
    async fn proxied(
        &self,
        api: &Api,
        route: &Route,
        req: &WireRequest,
        cx: &Context<'_>,
    ) -> WireResponse {
        let payload = Bytes::from(
            match api.kind {
                ApiKind::Rest => events::rest_event(req, cx),
                ApiKind::Http if route.payload_v1 => events::http_v1_event(req, cx),
                ApiKind::Http => events::http_event(req, cx, &route.route_key),
            }
            .to_string(),
        );
        let binary_accept = api.kind == ApiKind::Rest && first_accept_is_binary(api, req);
        match (api.kind, self.invoke(route, payload, cx.trace).await) {
            // Source: https://repost.aws/knowledge-center/api-gateway-504-errors (INTEGRATION_TIMEOUT).
            (ApiKind::Rest, Err(())) => gateway(504, "InternalServerErrorException", "Endpoint request timed out"),
            // HTTP APIs answer a timed-out integration with 503 `{"message":"Service Unavailable"}`, as users have
            // recorded it (cortexlabs/cortex#1225, serverless/serverless#11222).
            (ApiKind::Http, Err(())) => gateway(503, "ServiceUnavailableException", "Service Unavailable"),
            (_, Ok(Err(e))) => self.invoke_failed(api.kind, &e),
            (ApiKind::Rest, Ok(Ok(out))) if out.function_error.is_some() => {
                tracing::warn!("Lambda execution failed with status 200 due to customer function error: {}", String::from_utf8_lossy(&out.payload));
                gateway(502, "InternalServerErrorException", "Internal server error")
            }
            (ApiKind::Rest, Ok(Ok(out))) => responses::rest_response(&out.payload, binary_accept).unwrap_or_else(|m| {
                if m == responses::BAD_BASE64 {
                    // An undecodable body for a binary Accept is the gateway's 500 (shared notes §11.2).
                    tracing::warn!("Execution failed: the proxy response's body is not valid base64");
                    return gateway(500, "InternalServerErrorException", "Internal server error");
                }
                tracing::warn!("Execution failed due to configuration error: Malformed Lambda proxy response ({})", m.0);
                gateway(502, "InternalServerErrorException", "Internal server error")
            }),
            (ApiKind::Http, Ok(Ok(out))) if out.function_error.is_some() => {
                gateway(500, "InternalServerErrorException", "Internal Server Error")
            }
            // Format 1.0 answers are read as a REST proxy's are.
            (ApiKind::Http, Ok(Ok(out))) if route.payload_v1 => responses::rest_response(&out.payload, true)
                .unwrap_or_else(|_| gateway(500, "InternalServerErrorException", "Internal Server Error")),
            (ApiKind::Http, Ok(Ok(out))) => responses::http_response(&out.payload)
                .unwrap_or_else(|_| gateway(500, "InternalServerErrorException", "Internal Server Error")),
        }
    }

    /// A REST API's Lambda custom or mock integration, through its mapping templates.
    async fn mapped(
        &self,
        route: &Route,
        mapping: &integration::Mapping,
        req: &WireRequest,
        cx: &Context<'_>,
    ) -> WireResponse {
        let render = render_context(&events::rest_event(req, cx), cx.stage_variables);
        let mapped = match mapping.request(req, render.clone()) {
            Ok(m) => m,
            Err(resp) => return *resp,
        };
        let accept = req.header("accept");
        if route.integration == IntegrationKind::Mock {
            return mapping.mock_response(&mapped, accept, render);
        }
        match self.invoke(route, mapped.payload.clone(), cx.trace).await {
            Err(()) => gateway(
                504,
                "InternalServerErrorException",
                "Endpoint request timed out",
            ),
            Ok(Err(e)) => self.invoke_failed(ApiKind::Rest, &e),
            Ok(Ok(out)) => {
                let answer = integration::Answer {
                    payload: &out.payload,
                    failed: out.function_error.is_some(),
                };
                mapping.lambda_response(&answer, accept, render, &mapped.overrides)
            }
        }
    }

    /// Invokes the route's function. The invocation runs to its own end or timeout even when the integration
    /// times out first (`Err(())`), as on AWS: the gateway stops waiting, the function does not stop.
    async fn invoke(
        &self,
        route: &Route,
        payload: Bytes,
        trace: &TraceHeader,
    ) -> Result<Result<crate::lambda::InvokeOutput, LambdaError>, ()> {
        let lambda = self.lambda.clone();
        let input = InvokeInput::new(route.function.clone(), payload).in_trace(trace.clone());
        let invoke = tokio::spawn(async move { lambda.invoke(input).await });
        match tokio::time::timeout(route.timeout, invoke).await {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(e)) => Ok(Err(LambdaError::Service(format!(
                "the invocation failed: {e}"
            )))),
            Err(_) => Err(()),
        }
    }

    fn invoke_failed(&self, kind: ApiKind, e: &LambdaError) -> WireResponse {
        tracing::warn!("Lambda invocation failed: {} {e}", e.code());
        match (kind, e) {
            (_, LambdaError::RequestTooLarge(_)) => {
                gateway(413, "RequestTooLargeException", "Request Too Long")
            }
            (_, LambdaError::TooManyRequests | LambdaError::ConcurrencyLimitExceeded) => {
                gateway(429, "TooManyRequestsException", "Too Many Requests")
            }
            (ApiKind::Rest, _) => {
                gateway(500, "InternalServerErrorException", "Internal server error")
            }
            (ApiKind::Http, _) => {
                gateway(500, "InternalServerErrorException", "Internal Server Error")
            }
        }
    }
}

/// What a mapping template sees of a request, from its REST proxy event: `$input.params()` and `$context`.
fn render_context(event: &Value, stage_variables: &BTreeMap<String, String>) -> vtl::RenderContext {
    let strings = |v: &Value| -> BTreeMap<String, String> {
        v.as_object()
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
            .collect()
    };
    vtl::RenderContext {
        body: String::new(),
        path: strings(&event["pathParameters"]),
        querystring: strings(&event["queryStringParameters"]),
        header: strings(&event["headers"]),
        context: event["requestContext"].clone(),
        stage_variables: stage_variables.clone(),
    }
}

/// API Gateway's extended request id: 16 characters, as `x-amz-apigw-id` shows it (e.g. `AbCdEfGhIjKlMnO=`).
/// What a request is known by while it is dispatched.
struct Ids<'a> {
    request_id: &'a str,
    now_ms: u64,
    /// The `X-Amzn-Trace-Id` the function's event carries.
    trace_id: &'a str,
    /// The trace, with the gateway's span as the parent of what it invokes.
    trace: &'a TraceHeader,
}

fn apigw_id(request_id: &str) -> String {
    let hex: String = request_id.chars().filter(char::is_ascii_hexdigit).collect();
    let mut id: String = hex.chars().take(15).collect();
    id.push('=');
    id
}

impl Handler for ApiGateway {
    async fn handle(&self, req: WireRequest) -> WireResponse {
        if req.too_large {
            return gateway(413, "RequestTooLargeException", "Request Too Long");
        }
        let method = req.method.as_str().to_string();
        let apis = self.apis();
        let mut rest_seen = false;
        // Every API is served at the root, so the most specific route across all of them wins.
        let mut best: Option<(&Api, String, routes::Found<'_, Route>)> = None;
        // `{id}.execute-api.localhost:PORT` reaches only the API with that id, as the real host name does.
        let wanted = req
            .header("host")
            .and_then(|h| h.split_once(".execute-api."))
            .map(|(id, _)| id.to_ascii_lowercase());
        for api in apis.iter() {
            if wanted.as_ref().is_some_and(|id| *id != api.id) {
                continue;
            }
            rest_seen |= api.kind == ApiKind::Rest;
            let path = strip_stage(api, &req.path).to_string();
            if method == "OPTIONS"
                && let Some(cors) = &api.cors
                && let Some(answer) = preflight(api, cors, &path, &req)
            {
                return answer;
            }
            if let Lookup::Found(found) = api.table.lookup(&method, &path)
                && best.as_ref().is_none_or(|(_, _, b)| found.rank < b.rank)
            {
                best = Some((api, path, found));
            }
        }
        if let Some((api, path, found)) = best {
            let resource = found.template.text.clone();
            let faults = self.lambda.faults();
            let hit = faults
                .is_armed()
                .then(|| {
                    faults.check(
                        crate::faults::Service::Apigateway,
                        &format!("{method} {resource}"),
                        &[&api.name],
                    )
                })
                .flatten();
            let injected = match hit {
                Some(h) => {
                    if !h.latency.is_zero() {
                        tokio::time::sleep(h.latency).await;
                    }
                    h.status.map(|s| injected(api.kind, s))
                }
                None => None,
            };
            let resp = match injected {
                Some(resp) => resp,
                None => {
                    self.dispatch(api, found.route, &resource, &path, found.params, &req)
                        .await
                }
            };
            return match (&api.cors, api.kind) {
                (Some(c), ApiKind::Http) => cors::http_decorate(c, &req, resp),
                _ if api.gateway_responses.is_empty() => resp,
                _ => api
                    .gateway_responses
                    .apply(resp, &req, &api.stage, &api.stage_variables),
            };
        }
        if rest_seen {
            // REST APIs answer an unknown route or method with 403, not 404.
            // Source: https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
            let resp = gateway(
                403,
                "MissingAuthenticationTokenException",
                "Missing Authentication Token",
            );
            // The API's own gateway responses apply when the request can only mean one REST API.
            let mut rest = apis.iter().filter(|a| {
                a.kind == ApiKind::Rest && wanted.as_ref().is_none_or(|id| *id == a.id)
            });
            match (rest.next(), rest.next()) {
                (Some(api), None) => {
                    api.gateway_responses
                        .apply(resp, &req, &api.stage, &api.stage_variables)
                }
                _ => resp,
            }
        } else {
            gateway(404, "NotFoundException", "Not Found")
        }
    }
}
