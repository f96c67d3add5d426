//! The `[[api]]` part of the config: APIs, their routes, integrations, CORS and authorizers.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApiKind {
    /// A REST API (API Gateway v1).
    Rest,
    /// An HTTP API (API Gateway v2).
    Http,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    pub name: String,
    /// The API's id, as in its invoke URL `https://{id}.execute-api.{region}.amazonaws.com`; derived from the
    /// name when not given.
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub kind: ApiKind,
    #[serde(default)]
    pub stage: Option<String>,
    #[serde(default)]
    pub api_keys: Vec<String>,
    /// REST APIs: where a route that requires an API key finds it, `header` (`x-api-key`, the default) or
    /// `authorizer` (the Lambda authorizer's `usageIdentifierKey`).
    pub api_key_source: Option<String>,
    #[serde(default)]
    pub binary_media_types: Vec<String>,
    #[serde(default)]
    pub stage_variables: BTreeMap<String, String>,
    pub cors: Option<CorsConfig>,
    /// An OpenAPI 3 or Swagger 2 file with `x-amazon-apigateway-integration`s, whose operations become routes
    /// beside the `[[api.route]]`s.
    pub openapi: Option<Spanned<PathBuf>>,
    #[serde(default, rename = "route")]
    pub routes: Vec<RouteConfig>,
    #[serde(default, rename = "authorizer")]
    pub authorizers: Vec<LambdaAuthorizerConfig>,
    /// REST APIs: models (JSON Schema draft 4) that request validation checks bodies against, by name.
    #[serde(default)]
    pub models: BTreeMap<String, serde_json::Value>,
    /// REST APIs: customised gateway responses by type (`UNAUTHORIZED`, `DEFAULT_4XX`, ...).
    #[serde(default)]
    pub gateway_responses: BTreeMap<String, GatewayResponseConfig>,
}

/// A customised gateway response: its status, headers (`'static'`, `method.request.header.x`,
/// `stageVariables.x` or `context.x`) and body templates by content type.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayResponseConfig {
    pub status: Option<u16>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub templates: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorsConfig {
    #[serde(default)]
    pub allow_origins: Vec<String>,
    #[serde(default)]
    pub allow_methods: Vec<String>,
    #[serde(default)]
    pub allow_headers: Vec<String>,
    #[serde(default)]
    pub expose_headers: Vec<String>,
    pub max_age: Option<u64>,
    #[serde(default)]
    pub allow_credentials: bool,
    /// REST APIs: the authorizer the generated `OPTIONS` methods require, as SAM's `DefaultAuthorizer` does
    /// unless `AddDefaultAuthorizerToCorsPreflight` is false.
    pub authorizer: Option<String>,
    /// REST APIs: the generated `OPTIONS` methods require an API key.
    #[serde(default)]
    pub api_key_required: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IntegrationKind {
    /// Lambda proxy integration (`AWS_PROXY`).
    #[default]
    Proxy,
    /// Lambda custom integration (`AWS`): mapping templates shape the function's event and its answer, and
    /// errors are mapped to status codes by `selectionPattern`.
    Lambda,
    /// A mock integration (`MOCK`): the request template's `statusCode` picks the integration response, whose
    /// template writes the body. No function runs.
    Mock,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    pub method: Spanned<String>,
    pub path: String,
    /// The function the integration invokes; a mock route has none.
    #[serde(default = "no_function")]
    pub function: Spanned<String>,
    #[serde(default)]
    pub integration: IntegrationKind,
    #[serde(default)]
    pub api_key_required: bool,
    /// Integration responses of a custom integration, tried in order.
    #[serde(default, rename = "response")]
    pub responses: Vec<IntegrationResponseConfig>,
    /// Custom and mock integrations: request mapping templates (VTL) by content type.
    #[serde(default)]
    pub request_templates: BTreeMap<String, String>,
    /// Custom integrations: `passthroughBehavior`, `when_no_match` (the default), `when_no_templates` or `never`.
    pub passthrough: Option<String>,
    /// Milliseconds; API Gateway's default and maximum is 29 s for REST and 30 s for HTTP APIs.
    pub timeout_ms: Option<u64>,
    /// An HTTP API's payload format: `2.0` (the default) or `1.0`, the REST API's event shape.
    pub payload_format: Option<String>,
    /// The `[[api.authorizer]]` that decides who reaches this route.
    pub authorizer: Option<String>,
    /// REST APIs: the route's request validator, API Gateway's `requestValidator` with what it checks.
    pub validation: Option<ValidationConfig>,
    /// JWT and Cognito authorizers: the scopes the route requires (any one of them).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// `AWS_IAM` authorization: only SigV4-signed requests reach the function.
    #[serde(default)]
    pub iam_auth: bool,
    /// An authorizer the template declares that Offcloud cannot evaluate yet. The route is closed rather than
    /// open: every request gets 500 and the start-up summary names the authorizer.
    #[serde(skip)]
    pub unsupported_auth: Option<String>,
}

impl ApiConfig {
    /// A route's function with the stage's `${stageVariables.x}` substituted, as API Gateway does in Lambda
    /// integration URIs (DG:aws-api-gateway-stage-variables-reference); the error names an undefined variable.
    pub fn function_of(&self, route: &RouteConfig) -> Result<String, String> {
        const START: &str = "${stageVariables.";
        let (mut out, mut rest) = (String::new(), route.function.get_ref().as_str());
        while let Some(start) = rest.find(START) {
            out.push_str(&rest[..start]);
            let after = &rest[start + START.len()..];
            let end = after.find('}').ok_or_else(|| {
                format!(
                    "{:?} has an unclosed ${{stageVariables.",
                    route.function.get_ref()
                )
            })?;
            let name = &after[..end];
            out.push_str(self.stage_variables.get(name).ok_or_else(|| {
                format!(
                    "the function uses stage variable {name:?}, which API {} does not define",
                    self.name
                )
            })?);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

fn no_function() -> Spanned<String> {
    Spanned::new(0..0, String::new())
}

impl RouteConfig {
    /// A Lambda proxy route with every optional setting at its default.
    pub fn proxy(method: &str, path: &str, function: &str) -> Self {
        Self {
            method: Spanned::new(0..0, method.to_string()),
            path: path.to_string(),
            function: Spanned::new(0..0, function.to_string()),
            integration: IntegrationKind::Proxy,
            api_key_required: false,
            responses: vec![],
            request_templates: BTreeMap::new(),
            passthrough: None,
            timeout_ms: None,
            payload_format: None,
            authorizer: None,
            validation: None,
            scopes: vec![],
            iam_auth: false,
            unsupported_auth: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntegrationResponseConfig {
    /// A Java-style regular expression matched against the whole `errorMessage`; absent for the default response.
    pub pattern: Option<Spanned<String>>,
    pub status: u16,
    /// Response mapping templates (VTL) by content type, chosen by the request's `Accept`.
    #[serde(default)]
    pub templates: BTreeMap<String, String>,
    /// Method response headers and where their values come from: `'static'`, `integration.response.body`,
    /// `integration.response.body.a.b`, `integration.response.header.X`, `stageVariables.x` or `context.x`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// An authorizer: `[[api.authorizer]]`, named by routes' `authorizer`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LambdaAuthorizerConfig {
    pub name: Spanned<String>,
    /// REST APIs: `token` or `request` (Lambda), or `cognito`; HTTP APIs: `request` (Lambda) or `jwt`.
    #[serde(rename = "type", default = "default_authorizer_type")]
    pub kind: String,
    /// The authorizer function, for Lambda authorizers.
    pub function: Option<Spanned<String>>,
    /// JWT and Cognito authorizers: the issuer tokens must name.
    pub issuer: Option<String>,
    /// JWT authorizers: the accepted audiences (`aud` or `client_id`).
    #[serde(default)]
    pub audience: Vec<String>,
    /// JWT and Cognito authorizers: the issuer's public keys, as a JWKS file or as an http(s) URL of a JWKS or of
    /// an OpenID discovery document (`.../.well-known/openid-configuration`), fetched when a request needs them.
    /// Without it, the key of `offcloud token` is trusted.
    pub jwks: Option<PathBuf>,
    /// Identity sources, as API Gateway writes them: REST `method.request.header.Authorization`,
    /// `method.request.querystring.x`, `stageVariables.x`, `context.x`; HTTP `$request.header.Authorization`, ...
    #[serde(default)]
    pub identity_source: Vec<String>,
    /// `identityValidationExpression` (TOKEN authorizers).
    pub validation_expression: Option<String>,
    /// `authorizerResultTtlInSeconds`: REST's default is 300, HTTP's 0.
    pub ttl_seconds: Option<u32>,
    /// HTTP APIs: the payload format the authorizer receives, `1.0` or `2.0` (the default).
    pub payload_format: Option<String>,
    /// HTTP APIs: the function answers `{"isAuthorized": bool}` (payload format 2.0).
    #[serde(default)]
    pub simple_responses: bool,
}

fn default_authorizer_type() -> String {
    "token".into()
}

/// A REST route's request validation: what the validator checks, the required parameters, and the model each
/// content type's body must match.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidationConfig {
    #[serde(default)]
    pub body: bool,
    #[serde(default)]
    pub parameters: bool,
    #[serde(default)]
    pub required_headers: Vec<String>,
    #[serde(default)]
    pub required_query: Vec<String>,
    #[serde(default)]
    pub required_path: Vec<String>,
    /// Content type to model name, e.g. `{ "application/json" = "Pet" }`.
    #[serde(default)]
    pub models: BTreeMap<String, String>,
}

impl ValidationConfig {
    /// Marks `method.request.{header|querystring|path}.Name` as required; other keys are not parameters.
    pub fn require(&mut self, key: &str) {
        let name = |p: &str| key.strip_prefix(p).map(str::to_string);
        if let Some(n) = name("method.request.header.") {
            self.required_headers.push(n);
        } else if let Some(n) = name("method.request.querystring.") {
            self.required_query.push(n);
        } else if let Some(n) = name("method.request.path.") {
            self.required_path.push(n);
        }
    }
}
