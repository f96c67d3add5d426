//! The SAM transform (`AWS::Serverless-2016-10-31`), as far as it decides what runs: Globals, functions with
//! their code, layers, aliases and events, implicit and explicit APIs with their stages, CORS, auth and
//! definitions, and simple tables.
//! Sources: the SAM specification (docs.aws.amazon.com/serverless-application-model/latest/developerguide/
//! sam-specification.html) and the translator's behaviour as the shared notes record it (§9–§12).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::build::{ApiAuth, Builder, Code, FunctionSpec, text};
use super::stack::{entries, scalar_text};
use super::yaml::TemplateError;
use crate::config::{ApiKind, CorsConfig, KeyConfig, KeyType, RouteConfig, TableConfig};

pub const TRANSFORM: &str = "AWS::Serverless-2016-10-31";

/// The keys each Globals section takes. Source: SAM plugins/globals/globals.py (shared notes §11).
const GLOBAL_KEYS: &[(&str, &[&str])] = &[
    (
        "Function",
        &[
            "Handler",
            "Runtime",
            "CodeUri",
            "Architectures",
            "Layers",
            "Environment",
            "MemorySize",
            "Timeout",
            "EphemeralStorage",
            "SnapStart",
            "RuntimeManagementConfig",
            "Description",
            "Tags",
            "PropagateTags",
            "RolePath",
            "PermissionsBoundary",
            "AssumeRolePolicyDocument",
            "VpcConfig",
            "Tracing",
            "KmsKeyArn",
            "SourceKMSKeyArn",
            "CodeSigningConfigArn",
            "FileSystemConfigs",
            "AutoPublishAlias",
            "AutoPublishAliasAllProperties",
            "DeploymentPreference",
            "ReservedConcurrentExecutions",
            "ProvisionedConcurrencyConfig",
            "VersionDeletionPolicy",
            "PublishToLatestPublished",
            "DeadLetterQueue",
            "EventInvokeConfig",
            "FunctionUrlConfig",
            "LoggingConfig",
            "RecursiveLoop",
            "TenancyConfig",
            "DurableConfig",
            "CapacityProviderConfig",
            "FunctionScalingConfig",
            "AutoPublishCodeSha256",
        ],
    ),
    (
        "Api",
        &[
            "Auth",
            "Name",
            "DefinitionUri",
            "MergeDefinitions",
            "Variables",
            "EndpointConfiguration",
            "MethodSettings",
            "BinaryMediaTypes",
            "MinimumCompressionSize",
            "Cors",
            "GatewayResponses",
            "AccessLogSetting",
            "CanarySetting",
            "TracingEnabled",
            "CacheClusterEnabled",
            "CacheClusterSize",
            "OpenApiVersion",
            "Domain",
            "AlwaysDeploy",
            "PropagateTags",
            "SecurityPolicy",
            "EndpointAccessMode",
        ],
    ),
    (
        "HttpApi",
        &[
            "Auth",
            "AccessLogSettings",
            "StageVariables",
            "Tags",
            "CorsConfiguration",
            "DefaultRouteSettings",
            "Domain",
            "RouteSettings",
            "FailOnWarnings",
            "PropagateTags",
        ],
    ),
    ("SimpleTable", &["SSESpecification"]),
    ("LayerVersion", &["PublishLambdaVersion"]),
    ("StateMachine", &["PropagateTags"]),
];

/// Function properties that change what happens at run time but are not emulated: named at start-up.
const FUNCTION_NOT_EMULATED: &[&str] = &[
    "FunctionUrlConfig",
    "DeadLetterQueue",
    "EventInvokeConfig",
    "DeploymentPreference",
    "FileSystemConfigs",
];

pub fn transform(b: &mut Builder<'_>) -> Result<(), TemplateError> {
    let globals = read_globals(b)?;
    layers(b)?;
    for id in ids_of(b, "AWS::Serverless::SimpleTable") {
        simple_table(b, &id)?;
    }
    for id in ids_of(b, "AWS::Serverless::Api") {
        explicit_api(b, &id, ApiKind::Rest, &globals)?;
    }
    for id in ids_of(b, "AWS::Serverless::HttpApi") {
        explicit_api(b, &id, ApiKind::Http, &globals)?;
    }
    for id in ids_of(b, "AWS::Serverless::Function") {
        function(b, &id, &globals)?;
    }
    for id in ids_of(b, "AWS::Serverless::StateMachine") {
        b.summary
            .not_emulated
            .push(format!("{id} (AWS::Serverless::StateMachine)"));
        b.handled.insert(id);
    }
    Ok(())
}

pub fn ids_of(b: &Builder<'_>, kind: &str) -> Vec<String> {
    b.stack
        .resources
        .keys()
        .filter(|id| b.stack.kind(id) == kind)
        .cloned()
        .collect()
}

fn read_globals(b: &Builder<'_>) -> Result<BTreeMap<String, Value>, TemplateError> {
    let mut out = BTreeMap::new();
    for (section, value) in entries(b.stack.doc.get("Globals")) {
        let Some((_, keys)) = GLOBAL_KEYS.iter().find(|(s, _)| *s == section) else {
            return Err(b.stack.error(
                &["Globals", &section],
                format!(
                    "'Globals' section is invalid. '{section}' is not a supported resource type in the Globals section"
                ),
            ));
        };
        for (key, _) in entries(Some(&value)) {
            if !keys.contains(&key.as_str()) {
                // SAM's own wording. Source: SAM plugins/globals/globals.py.
                return Err(b.stack.error(
                    &["Globals", &section, &key],
                    format!(
                        "'Globals' section is invalid. '{key}' is not a supported property of '{section}'. \
                         Must be one of the following values - {keys:?}"
                    ),
                ));
            }
        }
        out.insert(section, value);
    }
    Ok(out)
}

/// SAM's Globals merge: maps merge with local keys winning, lists are concatenated (globals first), and any
/// other value, intrinsics included, is replaced by the local one. Source: SAM plugins/globals/globals.py.
fn merge(global: &Value, local: &Value) -> Value {
    let intrinsic = |v: &Value| {
        v.as_object().is_some_and(|m| {
            m.len() == 1
                && m.keys()
                    .next()
                    .is_some_and(|k| k == "Ref" || k == "Condition" || k.starts_with("Fn::"))
        })
    };
    match (global, local) {
        (Value::Object(g), Value::Object(l)) if !intrinsic(global) && !intrinsic(local) => {
            let mut out = g.clone();
            for (k, v) in l {
                let merged = match g.get(k) {
                    Some(gv) => merge(gv, v),
                    None => v.clone(),
                };
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        (Value::Array(g), Value::Array(l)) => Value::Array(g.iter().chain(l).cloned().collect()),
        _ => local.clone(),
    }
}

/// A resource's raw properties with a Globals section merged in, unless it opts out with `IgnoreGlobals`.
fn with_globals(b: &Builder<'_>, id: &str, section: Option<&Value>) -> Value {
    let local = b.stack.raw_properties(id);
    let Some(global) = section else {
        return local;
    };
    let ignore = b
        .stack
        .resources
        .get(id)
        .and_then(|r| r.get("IgnoreGlobals"));
    let mut global = global.clone();
    match ignore {
        Some(Value::String(s)) if s == "*" => return local,
        Some(Value::Array(keys)) => {
            if let Some(g) = global.as_object_mut() {
                for k in keys {
                    g.remove(&scalar_text(k));
                }
            }
        }
        _ => {}
    }
    merge(&global, &local)
}

fn layers(b: &mut Builder<'_>) -> Result<(), TemplateError> {
    for (id, key) in ids_of(b, "AWS::Serverless::LayerVersion")
        .into_iter()
        .map(|id| (id, "ContentUri"))
        .chain(
            ids_of(b, "AWS::Lambda::LayerVersion")
                .into_iter()
                .map(|id| (id, "Content")),
        )
    {
        let at = ["Resources", id.as_str(), "Properties", key];
        let uri = match b.stack.property(&id, key)? {
            Some(Value::String(s)) => s,
            _ => {
                return Err(b.stack.error(
                    &at,
                    format!("{id}: {key} must be a local folder for Offcloud to use the layer"),
                ));
            }
        };
        let dir = crate::config::absolute(&b.dir.join(&uri));
        if !dir.is_dir() {
            return Err(b.stack.error(
                &at,
                format!("{id}: the layer folder {} does not exist", dir.display()),
            ));
        }
        let arn = b
            .stack
            .resolve(&json!({"Ref": id}), &at)
            .map(|v| scalar_text(&v))?;
        b.layers.insert(arn, dir);
        b.handled.insert(id);
    }
    Ok(())
}

fn simple_table(b: &mut Builder<'_>, id: &str) -> Result<(), TemplateError> {
    let name = scalar_text(&b.stack.resolve(&json!({"Ref": id}), &["Resources", id])?);
    let props = b.properties(id)?;
    let pk = props.get("PrimaryKey");
    let key_name = pk
        .and_then(|p| p.get("Name"))
        .and_then(text)
        .unwrap_or_else(|| "id".into());
    // SAM maps String, Number and Binary to S, N and B; the default key is `id`, a String.
    let kind = match pk.and_then(|p| p.get("Type")).and_then(text).as_deref() {
        None | Some("String") => KeyType::S,
        Some("Number") => KeyType::N,
        Some("Binary") => KeyType::B,
        Some(other) => {
            return Err(b.stack.error(
                &["Resources", id, "Properties", "PrimaryKey", "Type"],
                format!("{id}.PrimaryKey.Type: {other} is not String, Number or Binary"),
            ));
        }
    };
    b.tables.push(TableConfig {
        name: toml::Spanned::new(0..0, name),
        hash_key: KeyConfig {
            name: key_name,
            kind,
        },
        range_key: None,
        gsi: vec![],
        stream: None,
        ttl_attribute: None,
        dynamodb_endpoint: None,
    });
    b.handled.insert(id.to_string());
    Ok(())
}

/// Settings an API takes from its own properties and its Globals section.
fn api_settings(
    b: &mut Builder<'_>,
    id: &str,
    kind: ApiKind,
    props: &Value,
) -> Result<(), TemplateError> {
    let at = |k: &str| {
        vec![
            "Resources".to_string(),
            id.to_string(),
            "Properties".into(),
            k.into(),
        ]
    };
    let resolve = |b: &Builder<'_>, k: &str| -> Result<Option<Value>, TemplateError> {
        props
            .get(k)
            .map(|v| {
                let path = at(k);
                let path: Vec<&str> = path.iter().map(String::as_str).collect();
                b.stack.resolve(v, &path)
            })
            .transpose()
    };
    let variables = resolve(
        b,
        if kind == ApiKind::Rest {
            "Variables"
        } else {
            "StageVariables"
        },
    )?;
    let binary = resolve(b, "BinaryMediaTypes")?;
    let cors = match kind {
        ApiKind::Rest => resolve(b, "Cors")?.map(|c| rest_cors(&c)),
        ApiKind::Http => resolve(b, "CorsConfiguration")?.and_then(|c| http_cors(&c)),
    };
    let auth = resolve(b, "Auth")?;
    let responses = match kind {
        ApiKind::Rest => resolve(b, "GatewayResponses")?,
        ApiKind::Http => None,
    };
    // SAM's form: `ResponseParameters` holds `Headers`, `Paths` and `QueryStrings` maps with bare names.
    // Source: SAM-DG sam-property-api-gatewayresponse.md.
    for (kind, r) in entries(responses.as_ref()) {
        let mut r = r.clone();
        let params = r.get("ResponseParameters").cloned().unwrap_or(json!({}));
        for other in ["Paths", "QueryStrings"] {
            if params.get(other).is_some() {
                b.summary.warnings.push(format!(
                    "{id}: GatewayResponses.{kind}.ResponseParameters.{other} does not change the answer; ignored"
                ));
            }
        }
        let headers: serde_json::Map<String, Value> = entries(params.get("Headers"))
            .into_iter()
            .map(|(h, v)| (format!("gatewayresponse.header.{h}"), v))
            .collect();
        r["ResponseParameters"] = Value::Object(headers);
        let (config, _) = super::routes::gateway_response(
            &r,
            "StatusCode",
            "ResponseParameters",
            "ResponseTemplates",
        );
        b.api(id, ApiKind::Rest, None)
            .gateway_responses
            .insert(kind, config);
    }
    let api = b.api(id, kind, None);
    for (k, v) in entries(variables.as_ref()) {
        api.stage_variables.insert(k, scalar_text(&v));
    }
    // SAM writes `/` as `~1` in BinaryMediaTypes. Source: SAM-DG sam-resource-api.md.
    for t in binary
        .as_ref()
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        api.binary_media_types
            .push(scalar_text(t).replace("~1", "/"));
    }
    if cors.is_some() {
        api.cors = cors;
    }
    if let Some(auth) = auth {
        read_auth(b, id, kind, &auth);
    }
    Ok(())
}

fn read_auth(b: &mut Builder<'_>, id: &str, kind: ApiKind, auth: &Value) {
    let mut a = ApiAuth {
        default_authorizer: auth.get("DefaultAuthorizer").and_then(text),
        api_key_required: auth.get("ApiKeyRequired").and_then(Value::as_bool) == Some(true),
        authorizers: BTreeMap::new(),
        lambda: Default::default(),
    };
    for (name, def) in entries(auth.get("Authorizers")) {
        if let Some(config) = lambda_authorizer(&name, &def, kind) {
            b.api(id, kind, None).authorizers.push(config);
            a.lambda.insert(name.clone());
            a.authorizers.insert(name, "Lambda".into());
            continue;
        }
        if let Some(config) = token_authorizer(&name, &def, kind) {
            b.api(id, kind, None).authorizers.push(config);
            a.lambda.insert(name.clone());
            a.authorizers.insert(name, "JWT".into());
            continue;
        }
        let described = if def.get("UserPoolArn").is_some() {
            "Cognito user pool, whose ARN could not be read"
        } else {
            "unknown"
        };
        b.summary.warnings.push(format!(
            "{id}: authorizer {name} ({described}) is not evaluated by Offcloud yet; routes behind it answer 500 \
             instead of being open"
        ));
        a.authorizers.insert(name, described.to_string());
    }
    if let Some(plan) = auth.get("UsagePlan")
        && plan
            .get("CreateUsagePlan")
            .and_then(text)
            .is_some_and(|c| c != "NONE")
    {
        // AWS generates the key's value; a fixed one is made here and shown, so that it can be sent.
        let key = format!(
            "offcloud-{}",
            b.stack.suffix(&format!("{id}ApiKey"), 20).to_lowercase()
        );
        b.summary.warnings.push(format!(
            "{id}: the usage plan's API key is {key} (send it as x-api-key)"
        ));
        b.api(id, ApiKind::Rest, None).api_keys.push(key);
    }
    // SAM puts the default authorizer and API key on the CORS `OPTIONS` methods too, unless told not to; the
    // preflight then needs them, which browsers do not send. Source: SAM api_generator.py AuthProperties
    // defaults, swagger.py set_path_default_authorizer (shared notes §6, §9.1).
    let flag = |k: &str| auth.get(k).and_then(Value::as_bool).unwrap_or(true);
    if kind == ApiKind::Rest
        && let Some(cors) = b.api(id, kind, None).cors.as_mut()
    {
        if flag("AddDefaultAuthorizerToCorsPreflight")
            && let Some(name) = a
                .default_authorizer
                .as_ref()
                .filter(|n| a.lambda.contains(*n))
        {
            cors.authorizer = Some(name.clone());
        }
        cors.api_key_required = a.api_key_required && flag("AddApiKeyRequiredToCorsPreflight");
    }
    b.api_auth.insert(id.to_string(), a);
}

/// A SAM Lambda authorizer, REST (`FunctionPayloadType` TOKEN or REQUEST) or HTTP API, as a config entry.
/// Sources: SAM-DG sam-property-api-lambdatokenauthorizer.md, sam-property-api-lambdarequestauthorizer.md,
/// sam-property-httpapi-lambdaauthorizer.md; SAM model/apigateway.py for the identity source strings.
fn lambda_authorizer(
    name: &str,
    def: &Value,
    kind: ApiKind,
) -> Option<crate::config::LambdaAuthorizerConfig> {
    let arn = def.get("FunctionArn").and_then(text)?;
    let function = match super::openapi::parse_function(&arn) {
        Some(super::openapi::FunctionRef::Arn { name, .. }) => name,
        _ => arn,
    };
    let identity = def.get("Identity");
    let list = |key: &str| -> Vec<String> {
        identity
            .and_then(|i| i.get(key))
            .and_then(Value::as_array)
            .map(|a| a.iter().map(scalar_text).collect())
            .unwrap_or_default()
    };
    let payload = def.get("FunctionPayloadType").and_then(text);
    let token = kind == ApiKind::Rest && payload.as_deref() != Some("REQUEST");
    let mut sources = Vec::new();
    let prefix = |rest: &str, http: &str| {
        if kind == ApiKind::Rest {
            rest.to_string()
        } else {
            http.to_string()
        }
    };
    if token {
        let header = identity
            .and_then(|i| i.get("Header"))
            .and_then(text)
            .unwrap_or_else(|| "Authorization".into());
        sources.push(format!("method.request.header.{header}"));
    } else {
        for (key, rest, http) in [
            ("Headers", "method.request.header.", "$request.header."),
            (
                "QueryStrings",
                "method.request.querystring.",
                "$request.querystring.",
            ),
            ("StageVariables", "stageVariables.", "$stageVariables."),
            ("Context", "context.", "$context."),
        ] {
            for v in list(key) {
                sources.push(format!("{}{v}", prefix(rest, http)));
            }
        }
    }
    Some(crate::config::LambdaAuthorizerConfig {
        name: toml::Spanned::new(0..0, name.to_string()),
        kind: if token {
            "token".into()
        } else {
            "request".into()
        },
        function: Some(toml::Spanned::new(0..0, function)),
        issuer: None,
        audience: vec![],
        jwks: None,
        identity_source: sources,
        validation_expression: identity
            .and_then(|i| i.get("ValidationExpression"))
            .and_then(text),
        ttl_seconds: identity
            .and_then(|i| i.get("ReauthorizeEvery"))
            .and_then(|t| text(t)?.parse().ok()),
        payload_format: def.get("AuthorizerPayloadFormatVersion").and_then(text),
        simple_responses: def.get("EnableSimpleResponses").and_then(Value::as_bool) == Some(true),
    })
}

/// A SAM JWT authorizer (HTTP APIs) or Cognito user-pool authorizer (REST APIs) as a config entry. Their keys
/// sit behind the issuer's `jwks_uri`, which is fetched when the issuer runs on this machine; any other issuer
/// cannot be reached offline, so they trust the key of `offcloud token`: tokens minted with
/// `--issuer <the issuer>` pass.
/// Sources: SAM-DG sam-property-httpapi-oauth2authorizer.md, sam-property-api-cognitoauthorizer.md; the
/// Cognito issuer is `https://cognito-idp.{region}.amazonaws.com/{userPoolId}` (Cognito developer guide,
/// amazon-cognito-user-pools-using-tokens-verifying-a-jwt).
fn token_authorizer(
    name: &str,
    def: &Value,
    kind: ApiKind,
) -> Option<crate::config::LambdaAuthorizerConfig> {
    let (issuer, audience, header, kind) = match kind {
        ApiKind::Http => {
            let jwt = def.get("JwtConfiguration")?;
            let issuer = jwt
                .get("issuer")
                .or_else(|| jwt.get("Issuer"))
                .and_then(text)?;
            let audience = jwt
                .get("audience")
                .or_else(|| jwt.get("Audience"))
                .and_then(Value::as_array)
                .map(|a| a.iter().map(scalar_text).collect())
                .unwrap_or_default();
            let source = def
                .get("IdentitySource")
                .and_then(text)
                .unwrap_or_else(|| "$request.header.Authorization".into());
            (issuer, audience, source, "jwt")
        }
        ApiKind::Rest => {
            let arn = match def.get("UserPoolArn")? {
                Value::Array(a) => a.first().map(scalar_text)?,
                v => scalar_text(v),
            };
            let issuer = cognito_issuer(&arn)?;
            let header = def
                .get("Identity")
                .and_then(|i| i.get("Header"))
                .and_then(text)
                .unwrap_or_else(|| "Authorization".into());
            (
                issuer,
                vec![],
                format!("method.request.header.{header}"),
                "cognito",
            )
        }
    };
    Some(crate::config::LambdaAuthorizerConfig {
        name: toml::Spanned::new(0..0, name.to_string()),
        kind: kind.into(),
        function: None,
        jwks: crate::apigw::jwks::for_template(Some(&issuer)),
        issuer: Some(issuer),
        audience,
        identity_source: vec![header],
        validation_expression: None,
        ttl_seconds: None,
        payload_format: None,
        simple_responses: false,
    })
}

/// The issuer of a Cognito user pool's tokens, from the pool's ARN.
pub fn cognito_issuer(arn: &str) -> Option<String> {
    let (region, rest) = arn.strip_prefix("arn:aws:cognito-idp:")?.split_once(':')?;
    let pool = rest.split_once(":userpool/")?.1;
    Some(format!("https://cognito-idp.{region}.amazonaws.com/{pool}"))
}

/// REST `Cors`: a string or map of API Gateway mapping expressions, whose literals are single-quoted.
/// Source: SAM-DG sam-property-api-corsconfiguration.md; SAM swagger/swagger.py add_cors (shared notes §12).
fn rest_cors(c: &Value) -> CorsConfig {
    let unquote = |v: &Value| scalar_text(v).trim().trim_matches('\'').to_string();
    let list = |v: Option<&Value>| -> Vec<String> {
        v.map(|v| {
            unquote(v)
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
    };
    match c {
        // `AllowOrigin` defaults to `'*'` (SAM CorsProperties).
        Value::Object(m) => CorsConfig {
            allow_origins: m
                .get("AllowOrigin")
                .map_or_else(|| vec!["*".to_string()], |o| list(Some(o))),
            allow_methods: list(m.get("AllowMethods")),
            allow_headers: list(m.get("AllowHeaders")),
            max_age: m.get("MaxAge").and_then(|v| unquote(v).parse().ok()),
            allow_credentials: m.get("AllowCredentials").and_then(Value::as_bool) == Some(true),
            expose_headers: vec![],
            ..CorsConfig::default()
        },
        other => CorsConfig {
            allow_origins: vec![unquote(other)],
            ..CorsConfig::default()
        },
    }
}

/// HTTP API `CorsConfiguration`: `true` allows every origin; a map's values are plain, not quoted.
/// Source: SAM model/api/http_api_generator.py `_add_cors` (shared notes §12).
pub fn http_cors(c: &Value) -> Option<CorsConfig> {
    let list = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|a| a.iter().map(scalar_text).collect())
            .unwrap_or_default()
    };
    match c {
        Value::Bool(true) => Some(CorsConfig {
            allow_origins: vec!["*".into()],
            ..CorsConfig::default()
        }),
        Value::Object(m) => Some(CorsConfig {
            allow_origins: list(m.get("AllowOrigins")),
            allow_methods: list(m.get("AllowMethods")),
            allow_headers: list(m.get("AllowHeaders")),
            expose_headers: list(m.get("ExposeHeaders")),
            max_age: m.get("MaxAge").and_then(Value::as_u64),
            allow_credentials: m.get("AllowCredentials").and_then(Value::as_bool) == Some(true),
            ..CorsConfig::default()
        }),
        _ => None,
    }
}

fn explicit_api(
    b: &mut Builder<'_>,
    id: &str,
    kind: ApiKind,
    globals: &BTreeMap<String, Value>,
) -> Result<(), TemplateError> {
    let section = if kind == ApiKind::Rest {
        "Api"
    } else {
        "HttpApi"
    };
    let props = with_globals(b, id, globals.get(section));
    let stage = match props.get("StageName") {
        Some(v) => Some(scalar_text(
            &b.stack
                .resolve(v, &["Resources", id, "Properties", "StageName"])?,
        )),
        None if kind == ApiKind::Rest => {
            return Err(b.stack.error(
                &["Resources", id, "Properties"],
                format!("{id}: StageName is required for an AWS::Serverless::Api"),
            ));
        }
        None => None,
    };
    // An HTTP API's `$default` stage is served at the API's root.
    let stage = stage.filter(|s| s != "$default");
    b.api(id, kind, stage);
    api_settings(b, id, kind, &props)?;
    if let Some(source) = props.get("ApiKeySourceType") {
        let source = b
            .stack
            .resolve(source, &["Resources", id, "Properties", "ApiKeySourceType"])?;
        b.api(id, kind, None).api_key_source = text(&source);
    }
    // `Models` are stored under lower-cased names, which `RequestModel` then names. Source: SAM swagger.py
    // add_models (shared notes §7).
    if kind == ApiKind::Rest
        && let Some(models) = props.get("Models")
    {
        let models = b
            .stack
            .resolve(models, &["Resources", id, "Properties", "Models"])?;
        for (name, schema) in entries(Some(&models)) {
            if schema.get("type").is_none() {
                return Err(b.stack.error(
                    &["Resources", id, "Properties", "Models", &name],
                    format!("{id}: model {name} must have a \"type\""),
                ));
            }
            b.api(id, kind, None)
                .models
                .insert(name.to_lowercase(), schema);
        }
    }
    let body = match (props.get("DefinitionBody"), props.get("DefinitionUri")) {
        (Some(body), _) => Some(
            b.stack
                .resolve(body, &["Resources", id, "Properties", "DefinitionBody"])?,
        ),
        (None, Some(uri)) => {
            let uri = b
                .stack
                .resolve(uri, &["Resources", id, "Properties", "DefinitionUri"])?;
            let Value::String(uri) = uri else {
                return Err(b.stack.error(
                    &["Resources", id, "Properties", "DefinitionUri"],
                    format!("{id}: DefinitionUri must be a local file for Offcloud to read it"),
                ));
            };
            let path = b.dir.join(&uri);
            let text = std::fs::read_to_string(&path).map_err(|e| {
                b.stack.error(
                    &["Resources", id, "Properties", "DefinitionUri"],
                    format!("{id}: cannot read {}: {e}", path.display()),
                )
            })?;
            // A definition file may hold intrinsics too, as with AWS::Include.
            let doc = super::yaml::parse(&path.display().to_string(), &text)?;
            Some(
                b.stack
                    .resolve(&doc, &["Resources", id, "Properties", "DefinitionUri"])?,
            )
        }
        (None, None) => None,
    };
    if let Some(body) = body {
        let merge = props.get("MergeDefinitions").and_then(Value::as_bool) == Some(true);
        b.pending_definitions.push((
            id.to_string(),
            body,
            vec!["Resources".into(), id.into(), "Properties".into()],
        ));
        if !merge {
            b.own_definition.insert(id.to_string());
        }
    }
    b.handled.insert(id.to_string());
    Ok(())
}

fn function(
    b: &mut Builder<'_>,
    id: &str,
    globals: &BTreeMap<String, Value>,
) -> Result<(), TemplateError> {
    let raw = with_globals(b, id, globals.get("Function"));
    let mut events = raw.get("Events").cloned().unwrap_or(json!({}));
    let mut props = raw.clone();
    if let Some(p) = props.as_object_mut() {
        p.remove("Events");
    }
    let base = vec![
        "Resources".to_string(),
        id.to_string(),
        "Properties".to_string(),
    ];
    let props = b.stack.resolve(&props, &["Resources", id, "Properties"])?;
    let get = |k: &str| props.get(k);
    let name = scalar_text(&b.stack.resolve(&json!({"Ref": id}), &["Resources", id])?);
    if get("PackageType").and_then(text).as_deref() == Some("Image") {
        b.summary.not_emulated.push(format!(
            "{id} (AWS::Serverless::Function with PackageType Image: Offcloud runs no containers)"
        ));
        b.handled.insert(id.to_string());
        return Ok(());
    }
    let code = match (get("InlineCode"), get("CodeUri")) {
        (Some(_), Some(_)) => {
            // SAM's own wording. Source: SAM model/sam_resources.py.
            return Err(b.error(
                &base,
                "Only one of 'InlineCode' or 'CodeUri' can be set.".into(),
            ));
        }
        (Some(code), _) => Code::Inline(scalar_text(code)),
        (None, Some(Value::String(uri))) => Code::Dir(uri.clone()),
        (None, Some(other)) => Code::Dir(
            other
                .get("Key")
                .map(|k| {
                    format!(
                        "s3://{}/{}",
                        other.get("Bucket").map(scalar_text).unwrap_or_default(),
                        scalar_text(k)
                    )
                })
                .unwrap_or_else(|| other.to_string()),
        ),
        (None, None) => {
            return Err(b.error(
                &base,
                format!("{id}: Either 'InlineCode' or 'CodeUri' must be set."),
            ));
        }
    };
    for key in FUNCTION_NOT_EMULATED {
        if get(key).is_some() {
            b.summary
                .not_emulated
                .push(format!("{id}: {key} (a function setting)"));
        }
    }
    let alias = get("AutoPublishAlias").and_then(text);
    let mut spec = FunctionSpec::read(b, id, &props, code, base.clone())?;
    // An alias and the version it publishes run the code being served.
    spec.qualifiers = alias.iter().cloned().chain(["1".to_string()]).collect();
    b.add_function(spec)?;
    b.handled.insert(id.to_string());
    // With AutoPublishAlias, SAM points the events' integrations at the alias.
    // Source: SAM model/eventsources/push.py (`"function": lambda_alias or lambda_function`).
    let target = match &alias {
        Some(a) => format!("{name}:{a}"),
        None => name.clone(),
    };
    if let Some(events) = events.as_object_mut() {
        for (event_id, event) in events.iter() {
            add_event(b, id, &target, event_id, event, globals)?;
        }
    }
    Ok(())
}

fn add_event(
    b: &mut Builder<'_>,
    fn_id: &str,
    function: &str,
    event_id: &str,
    event: &Value,
    globals: &BTreeMap<String, Value>,
) -> Result<(), TemplateError> {
    let at = ["Resources", fn_id, "Properties", "Events", event_id];
    let kind = event.get("Type").map(scalar_text).unwrap_or_default();
    let (api_kind, api_key, implicit) = match kind.as_str() {
        "Api" => (ApiKind::Rest, "RestApiId", "ServerlessRestApi"),
        "HttpApi" => (ApiKind::Http, "ApiId", "ServerlessHttpApi"),
        _ => {
            b.summary
                .not_emulated
                .push(format!("{fn_id}: event {event_id} of type {kind}"));
            return Ok(());
        }
    };
    let raw = event.get("Properties").cloned().unwrap_or(json!({}));
    // The API must be a Ref to an API of this template. Source: SAM plugins/api/implicit_api_plugin.py.
    let api_id = match raw.get(api_key) {
        None => implicit.to_string(),
        Some(v) => match v.get("Ref").and_then(Value::as_str) {
            Some(r) if b.apis.contains_key(r) => r.to_string(),
            _ => {
                return Err(b.stack.error(
                    &at,
                    format!(
                        "{fn_id}: event {event_id}: {api_key} must be a valid reference to an '{}' resource in \
                         same template.",
                        if api_kind == ApiKind::Rest { "AWS::Serverless::Api" } else { "AWS::Serverless::HttpApi" }
                    ),
                ));
            }
        },
    };
    let mut props = raw.clone();
    if let Some(p) = props.as_object_mut() {
        p.remove(api_key);
    }
    let props = b.stack.resolve(&props, &at)?;
    if !b.apis.contains_key(&api_id) {
        // The implicit API, with its Globals. SAM's implicit REST API is deployed to `Prod`, the HTTP API's
        // to `$default`. Source: SAM plugins/api/implicit_rest_api_plugin.py (shared notes §9).
        let stage = (api_kind == ApiKind::Rest).then(|| "Prod".to_string());
        b.api(&api_id, api_kind, stage);
        let section = if api_kind == ApiKind::Rest {
            "Api"
        } else {
            "HttpApi"
        };
        if let Some(g) = globals.get(section) {
            let g = g.clone();
            api_settings(b, &api_id, api_kind, &g)?;
        }
    }
    if b.own_definition.contains(&api_id) {
        // An API with its own definition takes its routes from it. Source: SAM implicit_api_plugin.py.
        return Ok(());
    }
    let path = props.get("Path").and_then(text);
    let method = props.get("Method").and_then(text);
    let (method, path) = match (api_kind, method, path) {
        // An HttpApi event with neither is the catch-all `$default` route.
        // Source: SAM-DG sam-property-function-httpapi.md.
        (ApiKind::Http, None, None) => ("ANY".to_string(), "$default".to_string()),
        (_, Some(m), Some(p)) => (normalise_method(&m), p),
        (ApiKind::Http, m, Some(p)) => (m.map_or("ANY".into(), |m| normalise_method(&m)), p),
        _ => {
            return Err(b.stack.error(
                &at,
                format!("{fn_id}: event {event_id} needs both Path and Method"),
            ));
        }
    };
    let mut route = RouteConfig::proxy(&method, &path, function);
    route.timeout_ms = props
        .get("TimeoutInMillis")
        .and_then(|t| text(t)?.parse().ok());
    if api_kind == ApiKind::Rest {
        route.validation = request_validation(&props);
    } else {
        for key in ["RequestModel", "RequestParameters"] {
            if props.get(key).is_some() {
                return Err(b.stack.error(
                    &at,
                    format!("{fn_id}: event {event_id}: {key} applies only to Api events, not HttpApi events"),
                ));
            }
        }
    }
    let api_auth = b.api_auth.get(&api_id).cloned().unwrap_or_default();
    let auth = props.get("Auth");
    let authorizer = auth
        .and_then(|a| a.get("Authorizer"))
        .and_then(text)
        .or(api_auth.default_authorizer.clone());
    route.api_key_required = auth
        .and_then(|a| a.get("ApiKeyRequired"))
        .and_then(Value::as_bool)
        .unwrap_or(api_auth.api_key_required);
    match authorizer.as_deref() {
        None | Some("NONE") => {}
        Some("AWS_IAM") => route.iam_auth = true,
        Some(name) if api_auth.lambda.contains(name) => {
            route.authorizer = Some(name.to_string());
            route.scopes = auth
                .and_then(|a| a.get("AuthorizationScopes"))
                .and_then(Value::as_array)
                .map(|a| a.iter().map(scalar_text).collect())
                .unwrap_or_default();
        }
        Some(name) => {
            let described = api_auth
                .authorizers
                .get(name)
                .map(|k| format!("authorizer {name} ({k})"))
                .unwrap_or_else(|| format!("authorizer {name}, which {api_id} does not declare"));
            route.unsupported_auth = Some(format!("{api_id}: {described}"));
        }
    }
    route.payload_format = props.get("PayloadFormatVersion").and_then(text);
    b.add_route(&api_id, route);
    Ok(())
}

/// A SAM `Api` event's `RequestModel` and `RequestParameters` as a route's validation. SAM attaches a validator
/// only when `ValidateBody` or `ValidateParameters` is given, the other defaulting to false; the model is named
/// in lower case; required parameters only matter to a validator that checks parameters. `Caching` affects the
/// stage cache, which Offcloud does not emulate and AWS uses only when a cache cluster is on.
/// Source: SAM eventsources/push.py, swagger.py add_request_validator_to_method (shared notes §7).
fn request_validation(props: &Value) -> Option<crate::config::ValidationConfig> {
    let model = props.get("RequestModel");
    let flag = |k: &str| model.and_then(|m| m.get(k)).and_then(Value::as_bool);
    let (body, parameters) = (flag("ValidateBody"), flag("ValidateParameters"));
    if body.is_none() && parameters.is_none() {
        return None;
    }
    let mut v = crate::config::ValidationConfig {
        body: body == Some(true),
        parameters: parameters == Some(true),
        ..Default::default()
    };
    if let Some(name) = model.and_then(|m| m.get("Model")).and_then(text) {
        v.models
            .insert("application/json".into(), name.to_lowercase());
    }
    for p in props
        .get("RequestParameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        // A bare string is an optional parameter; `{Name: {Required: true}}` a required one.
        let Some((key, required)) = (match p {
            Value::Object(m) => m.iter().next().map(|(k, o)| {
                (
                    k.clone(),
                    o.get("Required").and_then(Value::as_bool) == Some(true),
                )
            }),
            _ => None,
        }) else {
            continue;
        };
        if required {
            v.require(&key);
        }
    }
    Some(v)
}

/// SAM lower-cases methods and writes `any` as ANY. Source: SAM open_api/base_editor.py.
fn normalise_method(m: &str) -> String {
    if m.eq_ignore_ascii_case("any") || m.eq_ignore_ascii_case("x-amazon-apigateway-any-method") {
        "ANY".into()
    } else {
        m.to_ascii_uppercase()
    }
}
