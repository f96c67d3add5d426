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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IntegrationKind {
    /// Lambda proxy integration (`AWS_PROXY`).
    #[default]
    Proxy,
    /// Lambda custom integration (`AWS`), whose errors are mapped to status codes by `selectionPattern`.
    Lambda,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    pub method: String,
    pub path: String,
    pub function: Spanned<String>,
    #[serde(default)]
    pub integration: IntegrationKind,
    #[serde(default)]
    pub api_key_required: bool,
    /// Integration responses of a custom integration, tried in order.
    #[serde(default, rename = "response")]
    pub responses: Vec<IntegrationResponseConfig>,
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

impl RouteConfig {
    /// A Lambda proxy route with every optional setting at its default.
    pub fn proxy(method: &str, path: &str, function: &str) -> Self {
        Self {
            method: method.to_string(),
            path: path.to_string(),
            function: Spanned::new(0..0, function.to_string()),
            integration: IntegrationKind::Proxy,
            api_key_required: false,
            responses: vec![],
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
    /// JWT and Cognito authorizers: a JWKS file with the issuer's public keys. Without it, the key of
    /// `offcloud token` is trusted, since an issuer's `jwks_uri` cannot be fetched offline.
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
