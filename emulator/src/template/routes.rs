//! An API definition's operations as routes: Lambda proxy and custom integrations reach their functions, and
//! everything that cannot be honoured yet is named in a warning.

use std::collections::{BTreeMap, BTreeSet};

use super::openapi::{
    ApiDefinition, AuthorizerKind, FunctionRef, Integration, IntegrationResponse, ParameterLocation,
};
use crate::config::{
    CorsConfig, GatewayResponseConfig, IntegrationKind, IntegrationResponseConfig,
    LambdaAuthorizerConfig, RouteConfig, ValidationConfig,
};

/// What a definition adds to an API.
#[derive(Debug, Default)]
pub struct Imported {
    pub routes: Vec<RouteConfig>,
    pub binary_media_types: Vec<String>,
    pub cors: Option<CorsConfig>,
    /// The definition's Lambda authorizers that its routes use.
    pub authorizers: Vec<LambdaAuthorizerConfig>,
    /// The definition's models, for request validation.
    pub models: BTreeMap<String, serde_json::Value>,
    /// `x-amazon-apigateway-api-key-source`.
    pub api_key_source: Option<String>,
    /// `x-amazon-apigateway-gateway-responses`.
    pub gateway_responses: BTreeMap<String, GatewayResponseConfig>,
    pub warnings: Vec<String>,
}

impl Imported {
    /// Adds what the definition holds to an API. Settings the API already has win over the definition's CORS.
    pub fn apply_to(self, api: &mut crate::config::ApiConfig) {
        api.routes.extend(self.routes);
        api.authorizers.extend(self.authorizers);
        api.models.extend(self.models);
        api.binary_media_types.extend(self.binary_media_types);
        if api.cors.is_none() {
            api.cors = self.cors;
        }
        if api.api_key_source.is_none() {
            api.api_key_source = self.api_key_source;
        }
        for (k, v) in self.gateway_responses {
            api.gateway_responses.entry(k).or_insert(v);
        }
    }
}

/// Turns a definition's operations into routes. `function` finds a function by the name, ARN name or logical
/// id an integration names; `stage_variables` fills `${stageVariables.x}` in integration URIs.
pub fn from_definition(
    def: &ApiDefinition,
    stage_variables: &BTreeMap<String, String>,
    function: &dyn Fn(&str) -> Option<String>,
) -> Result<Imported, String> {
    let mut out = Imported {
        models: def.models.clone(),
        binary_media_types: def.binary_media_types.clone(),
        api_key_source: def.api_key_source.map(|s| {
            match s {
                super::openapi::ApiKeySource::Header => "header",
                super::openapi::ApiKeySource::Authorizer => "authorizer",
            }
            .to_string()
        }),
        warnings: def.warnings.clone(),
        ..Imported::default()
    };
    if let Some(c) = &def.cors {
        out.cors = Some(CorsConfig {
            allow_origins: c.allow_origins.clone(),
            allow_methods: c.allow_methods.clone(),
            allow_headers: c.allow_headers.clone(),
            expose_headers: c.expose_headers.clone(),
            max_age: c.max_age,
            allow_credentials: c.allow_credentials,
            ..CorsConfig::default()
        });
    }
    for (kind, v) in &def.gateway_responses {
        let (config, ignored) =
            gateway_response(v, "statusCode", "responseParameters", "responseTemplates");
        for p in ignored {
            out.warnings.push(format!(
                "#/x-amazon-apigateway-gateway-responses/{kind}: {p} does not change the answer; ignored"
            ));
        }
        out.gateway_responses.insert(kind.clone(), config);
    }
    let mut not_yet = BTreeSet::new();
    let find = |f: &FunctionRef, at: &str| -> Result<String, String> {
        let resolved = f.resolve(stage_variables).ok_or_else(|| {
            format!(
                "{at}: the integration's function uses a stage variable the stage does not define"
            )
        })?;
        match resolved {
            // A qualified ARN (an alias or version) invokes that qualifier.
            FunctionRef::Arn {
                name, qualifier, ..
            } => function(&name)
                .map(|f| match qualifier {
                    Some(q) if q != "$LATEST" => format!("{f}:{q}"),
                    _ => f,
                })
                .ok_or_else(|| {
                    format!(
                        "{at}: the integration names function {name}, which this template does not define"
                    )
                }),
            FunctionRef::StageVariable { raw, .. } => {
                Err(format!("{at}: cannot resolve the function {raw}"))
            }
        }
    };
    for op in &def.operations {
        let at = &op.pointer;
        let mut route = match &op.integration {
            Integration::LambdaProxy {
                function,
                payload_format_version,
                timeout_ms,
            } => {
                let mut r = RouteConfig::proxy(&op.method, &op.path, &find(function, at)?);
                r.timeout_ms = *timeout_ms;
                r.payload_format = payload_format_version.clone();
                r
            }
            Integration::Lambda {
                function,
                request_templates,
                passthrough_behavior,
                responses,
                timeout_ms,
                ..
            } => {
                let mut r = RouteConfig::proxy(&op.method, &op.path, &find(function, at)?);
                r.integration = IntegrationKind::Lambda;
                r.timeout_ms = *timeout_ms;
                r.request_templates = request_templates.clone();
                r.passthrough = passthrough_behavior.clone();
                r.responses = responses.iter().map(response).collect();
                mapped(r, at)?
            }
            Integration::Mock {
                request_templates,
                responses,
            } => {
                let mut r = RouteConfig::proxy(&op.method, &op.path, "");
                r.integration = IntegrationKind::Mock;
                r.request_templates = request_templates.clone();
                r.responses = responses.iter().map(response).collect();
                mapped(r, at)?
            }
            Integration::Http { uri, .. } => {
                out.warnings.push(format!(
                    "{at}: {} {}: HTTP integrations (to {uri}) are not emulated; the route is not served",
                    op.method, op.path
                ));
                continue;
            }
            Integration::Unsupported { kind } => {
                out.warnings.push(format!(
                    "{at}: {} {}: {kind} integrations are not emulated; the route is not served",
                    op.method, op.path
                ));
                continue;
            }
            Integration::Missing => {
                out.warnings.push(format!(
                    "{at}: {} {} has no x-amazon-apigateway-integration; the route is not served",
                    op.method, op.path
                ));
                continue;
            }
        };
        route.api_key_required = op.api_key_required;
        for req in &op.security {
            match def.authorizers.get(&req.name).map(|a| a.kind) {
                Some(AuthorizerKind::Iam) => route.iam_auth = true,
                Some(AuthorizerKind::ApiKey) => route.api_key_required = true,
                Some(k @ (AuthorizerKind::Token | AuthorizerKind::Request))
                    if def.authorizers[&req.name].function.is_some() =>
                {
                    let a = &def.authorizers[&req.name];
                    if !out.authorizers.iter().any(|x| x.name.get_ref() == &a.name) {
                        let function = a
                            .function
                            .as_ref()
                            .map(|f| find(f, &format!("authorizer {}", a.name)))
                            .transpose()?
                            .unwrap_or_default();
                        out.authorizers.push(LambdaAuthorizerConfig {
                            name: toml::Spanned::new(0..0, a.name.clone()),
                            kind: if k == AuthorizerKind::Token {
                                "token"
                            } else {
                                "request"
                            }
                            .into(),
                            function: Some(toml::Spanned::new(0..0, function)),
                            issuer: None,
                            audience: vec![],
                            jwks: None,
                            identity_source: a.identity_source.iter().cloned().collect(),
                            validation_expression: a.identity_validation_expression.clone(),
                            ttl_seconds: a.result_ttl_seconds.map(|t| t as u32),
                            payload_format: a.payload_format_version.clone(),
                            simple_responses: a.simple_responses,
                        });
                    }
                    route.authorizer = Some(a.name.clone());
                }
                Some(k @ (AuthorizerKind::Jwt | AuthorizerKind::CognitoUserPools))
                    if token_issuer(&def.authorizers[&req.name]).is_some() =>
                {
                    let a = &def.authorizers[&req.name];
                    if !out.authorizers.iter().any(|x| x.name.get_ref() == &a.name) {
                        out.authorizers.push(LambdaAuthorizerConfig {
                            name: toml::Spanned::new(0..0, a.name.clone()),
                            kind: if k == AuthorizerKind::Jwt {
                                "jwt"
                            } else {
                                "cognito"
                            }
                            .into(),
                            function: None,
                            issuer: token_issuer(a),
                            audience: a.jwt_audience.clone(),
                            jwks: crate::apigw::jwks::for_template(token_issuer(a).as_deref()),
                            identity_source: a.identity_source.iter().cloned().collect(),
                            validation_expression: None,
                            ttl_seconds: None,
                            payload_format: None,
                            simple_responses: false,
                        });
                    }
                    route.authorizer = Some(a.name.clone());
                    route.scopes = req.scopes.clone();
                }
                Some(k) => {
                    route.unsupported_auth = Some(format!("authorizer {} ({k:?})", req.name));
                    not_yet.insert(format!(
                        "authorizer {} ({k:?}) is not evaluated by Offcloud yet; routes behind it answer 500 \
                         instead of being open",
                        req.name
                    ));
                }
                None if req.name == "api_key" => route.api_key_required = true,
                None => {
                    return Err(format!(
                        "{at}: security requirement {} names no security scheme",
                        req.name
                    ));
                }
            }
        }
        // `request_validator` is the operation's own or the document's default.
        if let Some(v) = op.request_validator.as_ref()
            && let Some(validator) = def.request_validators.get(v)
        {
            let required = |loc: ParameterLocation| -> Vec<String> {
                op.parameters
                    .iter()
                    .filter(|p| p.required && p.location == loc)
                    .map(|p| p.name.clone())
                    .collect()
            };
            route.validation = Some(ValidationConfig {
                body: validator.body,
                parameters: validator.parameters,
                required_headers: required(ParameterLocation::Header),
                required_query: required(ParameterLocation::Query),
                required_path: required(ParameterLocation::Path),
                models: op.request_models.clone(),
            });
        }
        out.routes.push(route);
    }
    out.warnings.extend(not_yet);
    Ok(out)
}

/// The issuer a JWT or Cognito authorizer's tokens carry.
fn token_issuer(a: &super::openapi::Authorizer) -> Option<String> {
    a.jwt_issuer.clone().or_else(|| {
        a.provider_arns
            .first()
            .and_then(|arn| super::sam::cognito_issuer(arn))
    })
}

fn response(r: &IntegrationResponse) -> IntegrationResponseConfig {
    IntegrationResponseConfig {
        pattern: r.pattern.clone().map(|p| toml::Spanned::new(0..0, p)),
        status: r.status,
        templates: r.response_templates.clone(),
        headers: r.response_parameters.clone(),
    }
}

/// A gateway response as OpenAPI and CloudFormation write it: a status, `gatewayresponse.header.X` parameters and
/// templates. The parameters that are not headers are returned, to be named.
pub fn gateway_response(
    v: &serde_json::Value,
    status: &str,
    params: &str,
    templates: &str,
) -> (GatewayResponseConfig, Vec<String>) {
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let strings = |key: &str| -> Vec<(String, String)> {
        v.get(key)
            .and_then(serde_json::Value::as_object)
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), text(v)))
            .collect()
    };
    let mut ignored = Vec::new();
    let mut headers = BTreeMap::new();
    for (k, value) in strings(params) {
        match k.strip_prefix("gatewayresponse.header.") {
            Some(h) => {
                headers.insert(h.to_string(), value);
            }
            None => ignored.push(k),
        }
    }
    let config = GatewayResponseConfig {
        status: v.get(status).and_then(|s| text(s).parse().ok()),
        headers,
        templates: strings(templates).into_iter().collect(),
    };
    (config, ignored)
}

/// Checks a custom or mock route's templates, patterns and header mappings, naming the operation on failure.
fn mapped(r: RouteConfig, at: &str) -> Result<RouteConfig, String> {
    crate::apigw::integration::Mapping::compile(&r)
        .map(|_| r)
        .map_err(|e| format!("{at}: {e}"))
}
