//! Lambda authorizers for REST APIs (`TOKEN` and `REQUEST`) and HTTP APIs (payload formats 1.0 and 2.0): which
//! identity a request carries, the event the authorizer function receives, what its answer means for this
//! request, the result cache, and what the integration sees of the authorizer's output.
//!
//! This module is pure: it never invokes a function or reads a clock. The gateway calls it like this:
//!
//! 1. Fill an [`AuthRequest`] from the HTTP request and an [`AuthorizerConfig`] from the configuration
//!    (check the configuration once at start-up with [`AuthorizerConfig::validate`]).
//! 2. [`identity`]: `Missing` or `Invalid` means answer [`GatewayResponse::unauthorized`] without invoking the
//!    function. `Present` gives the cache key.
//! 3. [`AuthorizerCache::lookup`]: a cached result, already evaluated for this request's method ARN.
//! 4. On a miss, invoke the function with [`event`], turn its outcome into `Result<Value, FunctionFailure>`
//!    with [`function_result`], and call [`AuthorizerCache::decide`], which remembers the result when it
//!    may be cached and returns the [`Decision`].
//! 5. `Decision::Deny(response)`: send `response`. `Decision::Allow`: put [`proxy_authorizer_context`] into
//!    the integration event's `requestContext.authorizer` and go on.
//!
//! Sources (notes: /work/shared/notes/apigw-authorizers-validation-vtl.md §1, §2, §5, §10):
//! - https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-input.html
//! - https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-output.html
//! - https://docs.aws.amazon.com/apigateway/latest/developerguide/configure-api-gateway-lambda-authorization-with-console.html
//! - https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html
//! - https://docs.aws.amazon.com/apigateway/latest/api/API_Authorizer.html
//! - https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html

mod cache;
mod event;
mod policy;
mod result;
mod sources;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

pub use cache::AuthorizerCache;
pub use event::event;
pub use policy::{Policy, PolicyError, PolicyVerdict};
pub use result::MalformedResult;
pub use sources::{IdentityOutcome, identity};

use sources::{Source, full_match_regex, resolve};

/// The largest `authorizerResultTtlInSeconds` API Gateway accepts (API_Authorizer; apigatewayv2 Authorizer).
pub const MAX_TTL_SECONDS: u32 = 3600;

/// The TTL a REST authorizer gets when none is configured (API_Authorizer: "If this field is not set, the
/// default value is 300").
pub const REST_DEFAULT_TTL_SECONDS: u32 = 300;

/// Which request format an HTTP API authorizer receives (`authorizerPayloadFormatVersion`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadFormat {
    V1,
    V2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorizerKind {
    /// REST `TOKEN`: one header, sent as `authorizationToken`.
    Token,
    /// REST `REQUEST`: headers, query string, stage variables and context, sent as a request event.
    Request,
    /// An HTTP API Lambda authorizer. `simple_responses` (`enableSimpleResponses`) only applies to payload
    /// format 2.0 (DG:http-api-lambda-authorizer); with 1.0 it is ignored and [`AuthorizerConfig::validate`]
    /// rejects it.
    HttpRequest {
        payload_format: PayloadFormat,
        simple_responses: bool,
    },
}

impl AuthorizerKind {
    pub fn is_http(self) -> bool {
        matches!(self, AuthorizerKind::HttpRequest { .. })
    }

    /// Whether the function answers `{"isAuthorized": bool}` rather than an IAM policy.
    fn simple(self) -> bool {
        matches!(
            self,
            AuthorizerKind::HttpRequest {
                payload_format: PayloadFormat::V2,
                simple_responses: true
            }
        )
    }
}

/// One Lambda authorizer, as the configuration or template declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizerConfig {
    /// Names the authorizer in the cache: it must be unique among the authorizers sharing one
    /// [`AuthorizerCache`] (use one cache per API, or qualify the name with the API id).
    pub name: String,
    pub kind: AuthorizerKind,
    /// REST: `method.request.header.X`, `method.request.querystring.X`, `stageVariables.X`, `context.X`.
    /// HTTP: `$request.header.X`, `$request.querystring.X`, `$stageVariables.X`, `$context.X`.
    /// [`AuthorizerConfig::split_identity_sources`] splits REST's comma-separated string.
    pub identity_sources: Vec<String>,
    /// `identityValidationExpression`, applied to the token of a `TOKEN` authorizer only.
    pub identity_validation_expression: Option<String>,
    /// `authorizerResultTtlInSeconds` as configured; see [`AuthorizerConfig::ttl_seconds`] for the default.
    pub result_ttl_seconds: Option<u32>,
    /// The authorizer function's name.
    pub function: String,
}

/// Why an authorizer's configuration cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("authorizer {name}: the result TTL {ttl} is above the maximum of 3600 seconds")]
    TtlTooLarge { name: String, ttl: u32 },
    #[error(
        "authorizer {name}: a TOKEN authorizer needs exactly one identity source, method.request.header.<Name>"
    )]
    TokenSource { name: String },
    #[error(
        "authorizer {name}: {expression:?} is not an identity source this kind of authorizer accepts"
    )]
    BadSource { name: String, expression: String },
    #[error(
        "authorizer {name}: caching needs at least one identity source; set the TTL to 0 or add a source"
    )]
    CachingWithoutSources { name: String },
    #[error("authorizer {name}: simple responses only work with payload format 2.0")]
    SimpleResponsesNeedV2 { name: String },
    #[error("authorizer {name}: the identity validation expression does not compile: {message}")]
    BadExpression { name: String, message: String },
}

impl AuthorizerConfig {
    /// Splits REST's `identitySource` string (`"method.request.header.A, method.request.querystring.b"`).
    pub fn split_identity_sources(s: &str) -> Vec<String> {
        s.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// The effective TTL in seconds; 0 disables caching. A REST authorizer defaults to 300 (API_Authorizer).
    /// For HTTP APIs the current apigatewayv2 reference names no default (older copies said 300, the text was
    /// removed), so an unset TTL means no caching, as SAM's `ReauthorizeEvery` leaves it unset. Caching also
    /// needs at least one identity source (DG:http-api-lambda-authorizer, "To enable caching, your authorizer
    /// must have at least one identity source"; API_Authorizer for REST).
    pub fn ttl_seconds(&self) -> u32 {
        if self.identity_sources.is_empty() {
            return 0;
        }
        let default = if self.kind.is_http() {
            0
        } else {
            REST_DEFAULT_TTL_SECONDS
        };
        self.result_ttl_seconds
            .unwrap_or(default)
            .min(MAX_TTL_SECONDS)
    }

    /// Checks what API Gateway would refuse when the authorizer is created.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let name = || self.name.clone();
        if let Some(ttl) = self.result_ttl_seconds.filter(|t| *t > MAX_TTL_SECONDS) {
            return Err(ConfigError::TtlTooLarge { name: name(), ttl });
        }
        for s in &self.identity_sources {
            let ok = match (self.kind, Source::parse(s)) {
                (_, Source::Unknown) => false,
                (AuthorizerKind::HttpRequest { .. }, src) => src.http_syntax(),
                (_, src) => !src.http_syntax(),
            };
            if !ok {
                return Err(ConfigError::BadSource {
                    name: name(),
                    expression: s.clone(),
                });
            }
        }
        match self.kind {
            AuthorizerKind::Token => {
                if self.identity_sources.len() != 1
                    || !matches!(Source::parse(&self.identity_sources[0]), Source::Header(..))
                {
                    return Err(ConfigError::TokenSource { name: name() });
                }
                if let Some(expr) = &self.identity_validation_expression {
                    full_match_regex(expr).map_err(|e| ConfigError::BadExpression {
                        name: name(),
                        message: e.to_string(),
                    })?;
                }
            }
            AuthorizerKind::Request => {
                if self.identity_sources.is_empty() && self.result_ttl_seconds != Some(0) {
                    return Err(ConfigError::CachingWithoutSources { name: name() });
                }
            }
            AuthorizerKind::HttpRequest {
                payload_format,
                simple_responses,
            } => {
                if simple_responses && payload_format == PayloadFormat::V1 {
                    return Err(ConfigError::SimpleResponsesNeedV2 { name: name() });
                }
                if self.identity_sources.is_empty() && self.result_ttl_seconds.unwrap_or(0) > 0 {
                    return Err(ConfigError::CachingWithoutSources { name: name() });
                }
            }
        }
        Ok(())
    }
}

/// What the authorizer needs to know about one request; the gateway fills it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthRequest {
    /// The real request method, also for an `ANY` route.
    pub method: String,
    /// The concrete request path without the stage prefix, e.g. `/pets/123`.
    pub path: String,
    /// HTTP APIs: the path as received (`rawPath`); `path` is used when this is empty.
    pub raw_path: String,
    /// The route's template: REST `/pets/{id}`; HTTP the route's path, or `$default` for the default route.
    pub resource_path: String,
    /// HTTP APIs: the route key, e.g. `GET /pets/{id}` or `$default`.
    pub route_key: String,
    /// Headers in arrival order, names as received. Lookups ignore case.
    pub headers: Vec<(String, String)>,
    /// Query string pairs, decoded, in order.
    pub query: Vec<(String, String)>,
    /// The query string as received, without `?`.
    pub raw_query_string: String,
    pub path_params: BTreeMap<String, String>,
    pub stage_variables: BTreeMap<String, String>,
    /// The stage as it appears in ARNs. Empty means `$default` (an HTTP API's default stage).
    pub stage: String,
    pub api_id: String,
    pub account_id: String,
    pub region: String,
    pub request_id: String,
    pub source_ip: String,
    /// The `Host` the client used; taken from the headers when empty.
    pub domain_name: String,
    /// REST: the resource's id.
    pub resource_id: String,
    /// The request's arrival time, for the events' `requestTime`/`time` fields.
    pub now_ms: u64,
}

impl AuthRequest {
    /// Every value of a header, ignoring the name's case.
    pub fn header_values<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a str> {
        self.headers
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A header's last value, which is what REST's `headers` map carries.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.header_values(name).last()
    }

    fn query_values<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a str> {
        self.query
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The stage name used in ARNs and events.
    pub fn stage_name(&self) -> &str {
        if self.stage.is_empty() {
            "$default"
        } else {
            &self.stage
        }
    }

    /// `arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{METHOD}/{path}`, with the concrete request
    /// path without its leading slash; the root path gives a trailing slash (`.../GET/`). The same form is an
    /// HTTP API's `routeArn`. (DG:api-gateway-lambda-authorizer-input; notes §1.2)
    pub fn method_arn(&self) -> String {
        format!(
            "arn:aws:execute-api:{}:{}:{}/{}/{}/{}",
            self.region,
            self.account_id,
            self.api_id,
            self.stage_name(),
            self.method.to_ascii_uppercase(),
            self.path.strip_prefix('/').unwrap_or(&self.path)
        )
    }

    fn domain(&self) -> &str {
        if !self.domain_name.is_empty() {
            &self.domain_name
        } else {
            self.header("host").unwrap_or("localhost")
        }
    }

    fn domain_prefix(&self) -> &str {
        self.domain().split(['.', ':']).next().unwrap_or("")
    }

    /// `$context` variables that can be identity sources. Unknown names give `None`.
    fn context_var(&self, name: &str, http: bool) -> Option<String> {
        let s = |v: &str| Some(v.to_string());
        match name {
            "accountId" => s(&self.account_id),
            "apiId" => s(&self.api_id),
            "domainName" => s(self.domain()),
            "domainPrefix" => s(self.domain_prefix()),
            "httpMethod" => s(&self.method),
            "identity.sourceIp" => s(&self.source_ip),
            "identity.userAgent" => self.header("user-agent").map(str::to_string),
            "path" => Some(event::context_path(self)),
            "protocol" => s("HTTP/1.1"),
            "requestId" => s(&self.request_id),
            "requestTimeEpoch" => Some(self.now_ms.to_string()),
            "resourceId" if !http => s(&self.resource_id),
            "resourcePath" => s(&self.resource_path),
            "routeKey" if http => s(&self.route_key),
            "stage" => s(self.stage_name()),
            _ => None,
        }
    }
}

/// One of API Gateway's own answers to the client.
#[derive(Debug, Clone, PartialEq)]
pub struct GatewayResponse {
    pub status: u16,
    /// The `x-amzn-ErrorType` header's value.
    pub error_type: &'static str,
    /// The gateway response type, for APIs that customise gateway responses (notes §10).
    pub response_type: &'static str,
    pub body: Value,
    /// What went wrong, for the emulator's log. AWS writes this to the execution log, never to the client.
    pub detail: Option<String>,
}

impl GatewayResponse {
    /// 401 `{"message":"Unauthorized"}`, for a missing or invalid identity and for a function that fails with
    /// `Unauthorized`; REST and HTTP APIs alike (notes §1.7, §2). The error type comes from LocalStack's
    /// emulator, not from a capture.
    pub fn unauthorized() -> Self {
        GatewayResponse {
            status: 401,
            error_type: "UnauthorizedException",
            response_type: "UNAUTHORIZED",
            body: json!({"message": "Unauthorized"}),
            detail: None,
        }
    }

    /// 403 for a REST policy with an explicit Deny, or an HTTP API denial. REST's body has a capital `M`, as
    /// byte-exact captures show (notes §1.7). HTTP APIs answer `{"message":"Forbidden"}` (notes §2,
    /// widely reported).
    fn denied(http: bool, explicit: bool) -> Self {
        let body = match (http, explicit) {
            (true, _) => json!({"message": "Forbidden"}),
            (false, true) => json!({
                "Message": "User is not authorized to access this resource with an explicit deny"
            }),
            (false, false) => json!({"Message": "User is not authorized to access this resource"}),
        };
        GatewayResponse {
            status: 403,
            error_type: if http {
                "ForbiddenException"
            } else {
                "AccessDeniedException"
            },
            response_type: "ACCESS_DENIED",
            body,
            detail: None,
        }
    }

    /// 500 for a function that fails, times out or answers something unusable. REST answers
    /// `{"message": null}` with `AuthorizerConfigurationException` (notes §1.7); HTTP APIs
    /// `{"message":"Internal Server Error"}` (DG:http-api-lambda-authorizer troubleshooting).
    fn configuration_error(http: bool) -> Self {
        if http {
            GatewayResponse {
                status: 500,
                error_type: "InternalServerErrorException",
                response_type: "AUTHORIZER_CONFIGURATION_ERROR",
                body: json!({"message": "Internal Server Error"}),
                detail: None,
            }
        } else {
            GatewayResponse {
                status: 500,
                error_type: "AuthorizerConfigurationException",
                response_type: "AUTHORIZER_CONFIGURATION_ERROR",
                body: json!({"message": null}),
                detail: None,
            }
        }
    }
}

/// How the authorizer function failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FunctionFailure {
    /// The function failed with the error message exactly `Unauthorized` (Node's `callback("Unauthorized")`,
    /// Python's `raise Exception("Unauthorized")`): 401 (DG:apigateway-use-lambda-authorizer).
    Unauthorized,
    /// Any other error, a crash, a timeout, or a failed invocation: 500. The text is for the log.
    Failed(String),
}

impl FunctionFailure {
    /// Classifies a function error's payload, `{"errorMessage": ..., "errorType": ...}`.
    pub fn from_error_payload(payload: &[u8]) -> Self {
        let message = serde_json::from_slice::<Value>(payload).ok().and_then(|v| {
            v.get("errorMessage")
                .and_then(Value::as_str)
                .map(str::to_string)
        });
        match message {
            Some(m) if m == "Unauthorized" => FunctionFailure::Unauthorized,
            Some(m) => FunctionFailure::Failed(m),
            None => FunctionFailure::Failed(String::from_utf8_lossy(payload).into_owned()),
        }
    }
}

/// Turns an invocation's payload into what [`decide`] takes. `function_error` is the invoke response's
/// `FunctionError` being set. A payload that is not JSON is a failure (500).
pub fn function_result(payload: &[u8], function_error: bool) -> Result<Value, FunctionFailure> {
    if function_error {
        return Err(FunctionFailure::from_error_payload(payload));
    }
    serde_json::from_slice(payload)
        .map_err(|e| FunctionFailure::Failed(format!("the authorizer's answer is not JSON: {e}")))
}

/// What the gateway does with the request.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Allow {
        /// `principalId`; `None` for simple responses and when the function gave none.
        principal_id: Option<String>,
        /// `context`. REST values are strings (or null); HTTP API values keep their JSON types.
        context: Map<String, Value>,
        /// `usageIdentifierKey`, the API key to meter when the API's key source is `AUTHORIZER`.
        usage_identifier_key: Option<String>,
        /// The policy that allowed the request; `None` for a simple response.
        policy: Option<Policy>,
    },
    Deny(GatewayResponse),
}

/// Decides from the authorizer function's outcome, without caching. [`AuthorizerCache::decide`] does the
/// same and remembers the result.
pub fn decide(
    cfg: &AuthorizerConfig,
    req: &AuthRequest,
    function_result: Result<Value, FunctionFailure>,
) -> Decision {
    match result::parse_outcome(cfg, function_result) {
        Ok(r) => r.evaluate(cfg, req),
        Err(response) => Decision::Deny(response),
    }
}

/// The integration event's `requestContext.authorizer` for an allowed request; `None` for a denial.
///
/// REST: `{"principalId", "integrationLatency", ...context}` with the context's values as strings and null
/// kept (notes §1.8, a real capture in DefinitelyTyped PR #69823). HTTP APIs: `{"lambda": {...context}}`
/// (GO testdata apigw-v2-request-lambda-authorizer.json). Not verified: whether an HTTP API also shows the
/// `principalId` of an IAM-policy answer, so it is left out. `integration_latency_ms` is the time the
/// authorizer took (0 for a cached result).
pub fn proxy_authorizer_context(
    cfg: &AuthorizerConfig,
    decision: &Decision,
    integration_latency_ms: u64,
) -> Option<Value> {
    let Decision::Allow {
        principal_id,
        context,
        ..
    } = decision
    else {
        return None;
    };
    if cfg.kind.is_http() {
        return Some(json!({ "lambda": context }));
    }
    let mut out = context.clone();
    out.insert("principalId".into(), json!(principal_id));
    out.insert("integrationLatency".into(), json!(integration_latency_ms));
    Some(Value::Object(out))
}
