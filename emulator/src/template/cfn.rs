//! Plain CloudFormation resources: `AWS::Lambda::Function` (inline or local code), versions and aliases,
//! `AWS::DynamoDB::Table`, the REST API resources (`AWS::ApiGateway::RestApi`, `Resource`, `Method`, `Stage`,
//! `Deployment`, `ApiKey`, ...) and the HTTP API ones (`AWS::ApiGatewayV2::Api`, `Integration`, `Route`,
//! `Stage`). Sources: each type's page in the CloudFormation user guide (shared notes §6, §13).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::build::{Builder, Code, FunctionSpec, text};
use super::openapi::FunctionRef;
use super::sam::{http_cors, ids_of};
use super::stack::{entries, scalar_text};
use super::yaml::TemplateError;
use crate::config::{
    ApiKind, GsiConfig, IntegrationKind, IntegrationResponseConfig, KeyConfig, KeyType,
    RouteConfig, TableConfig,
};

pub fn read(b: &mut Builder<'_>) -> Result<(), TemplateError> {
    for id in ids_of(b, "AWS::Lambda::Function") {
        function(b, &id)?;
    }
    for id in ids_of(b, "AWS::Lambda::Version")
        .into_iter()
        .chain(ids_of(b, "AWS::Lambda::Alias"))
    {
        version_or_alias(b, &id)?;
    }
    for id in ids_of(b, "AWS::DynamoDB::Table") {
        table(b, &id)?;
    }
    rest_apis(b)?;
    http_apis(b)?;
    Ok(())
}

fn at(id: &str) -> Vec<String> {
    vec!["Resources".into(), id.into(), "Properties".into()]
}

fn function(b: &mut Builder<'_>, id: &str) -> Result<(), TemplateError> {
    let props = b.properties(id)?;
    let get = |k: &str| props.get(k);
    if get("PackageType").and_then(text).as_deref() == Some("Image") {
        b.summary.not_emulated.push(format!(
            "{id} (AWS::Lambda::Function with PackageType Image: Offcloud runs no containers)"
        ));
        b.handled.insert(id.to_string());
        return Ok(());
    }
    let code = match get("Code") {
        Some(Value::String(dir)) => Code::Dir(dir.clone()),
        Some(c) if c.get("ZipFile").is_some() => {
            Code::Inline(c.get("ZipFile").map(scalar_text).unwrap_or_default())
        }
        Some(c) if c.get("S3Key").is_some() => Code::Dir(format!(
            "s3://{}/{}",
            c.get("S3Bucket").map(scalar_text).unwrap_or_default(),
            c.get("S3Key").map(scalar_text).unwrap_or_default()
        )),
        _ => {
            return Err(b.error(
                &at(id),
                format!("{id}: Code needs ZipFile, or a local folder"),
            ));
        }
    };
    let spec = FunctionSpec::read(b, id, &props, code, at(id))?;
    b.add_function(spec)?;
    b.handled.insert(id.to_string());
    Ok(())
}

/// A version or alias runs the code being served; its number or name becomes a qualifier of the function.
fn version_or_alias(b: &mut Builder<'_>, id: &str) -> Result<(), TemplateError> {
    let props = b.properties(id)?;
    let function = props.get("FunctionName").and_then(text).unwrap_or_default();
    let name = match super::openapi::parse_function(&function) {
        Some(FunctionRef::Arn { name, .. }) => name,
        _ => function.clone(),
    };
    let qualifier = match b.stack.kind(id) {
        "AWS::Lambda::Alias" => props.get("Name").and_then(text).unwrap_or_default(),
        _ => "1".into(),
    };
    if !b.add_qualifier(&name, &qualifier) {
        return Err(b.error(
            &at(id),
            format!("{id}: FunctionName {function} is not a function of this template"),
        ));
    }
    b.handled.insert(id.to_string());
    Ok(())
}

/// A table from an `AWS::DynamoDB::Table`, with its keys, GSIs, LSIs, stream and TTL.
/// Source: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-dynamodb-table.html
fn table(b: &mut Builder<'_>, id: &str) -> Result<(), TemplateError> {
    let props = b.properties(id)?;
    let err = |m: String| b.error(&at(id), format!("{id}: {m}"));
    let mut types = BTreeMap::new();
    for d in props
        .get("AttributeDefinitions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let kind = match d.get("AttributeType").and_then(Value::as_str) {
            Some("S") => KeyType::S,
            Some("N") => KeyType::N,
            Some("B") => KeyType::B,
            other => return Err(err(format!("attribute type {other:?} is not S, N or B"))),
        };
        types.insert(
            d.get("AttributeName").map(scalar_text).unwrap_or_default(),
            kind,
        );
    }
    let keys = |schema: Option<&Value>,
                what: &str|
     -> Result<(KeyConfig, Option<KeyConfig>), TemplateError> {
        let (mut hash, mut range) = (None, None);
        for k in schema.and_then(Value::as_array).into_iter().flatten() {
            let name = k.get("AttributeName").map(scalar_text).unwrap_or_default();
            let kind = *types
                .get(&name)
                .ok_or_else(|| err(format!("{what}: {name:?} is not in AttributeDefinitions")))?;
            let key = KeyConfig { name, kind };
            match k.get("KeyType").and_then(Value::as_str) {
                Some("HASH") => hash = Some(key),
                Some("RANGE") => range = Some(key),
                other => {
                    return Err(err(format!(
                        "{what}: key type {other:?} is not HASH or RANGE"
                    )));
                }
            }
        }
        Ok((
            hash.ok_or_else(|| err(format!("{what} has no HASH key")))?,
            range,
        ))
    };
    let (hash_key, range_key) = keys(props.get("KeySchema"), "KeySchema")?;
    let mut gsi = Vec::new();
    let mut notes = Vec::new();
    // Local secondary indexes share the table's hash key; both are queried alike.
    for (list, label) in [
        ("GlobalSecondaryIndexes", "GSI"),
        ("LocalSecondaryIndexes", "LSI"),
    ] {
        for g in props
            .get(list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = g.get("IndexName").map(scalar_text).unwrap_or_default();
            let (hash_key, range_key) = keys(g.get("KeySchema"), &format!("{label} {name}"))?;
            let projection = g
                .get("Projection")
                .and_then(|p| p.get("ProjectionType"))
                .map(scalar_text);
            if projection.as_deref() == Some("INCLUDE") {
                notes.push(format!(
                    "{id}: index {name} projects INCLUDE; Offcloud projects ALL attributes"
                ));
            }
            gsi.push(GsiConfig {
                name,
                hash_key,
                range_key,
                projection: projection.filter(|p| p != "INCLUDE"),
            });
        }
    }
    b.summary.warnings.extend(notes);
    let ttl = props.get("TimeToLiveSpecification");
    let name = scalar_text(&b.stack.resolve(&json!({"Ref": id}), &["Resources", id])?);
    b.tables.push(TableConfig {
        name: toml::Spanned::new(0..0, name),
        hash_key,
        range_key,
        gsi,
        stream: props
            .get("StreamSpecification")
            .and_then(|s| s.get("StreamViewType"))
            .map(|v| toml::Spanned::new(0..0, scalar_text(v))),
        ttl_attribute: ttl
            .filter(|t| t.get("Enabled").and_then(Value::as_bool) == Some(true))
            .and_then(|t| t.get("AttributeName"))
            .map(scalar_text),
        dynamodb_endpoint: None,
    });
    b.handled.insert(id.to_string());
    Ok(())
}

/// Finds the API whose id a resolved `RestApiId`/`ApiId` holds.
fn api_by_id(b: &Builder<'_>, value: Option<&Value>) -> Option<String> {
    let wanted = value.map(scalar_text)?;
    b.apis
        .iter()
        .find(|(_, a)| a.id.as_deref() == Some(wanted.as_str()))
        .map(|(id, _)| id.clone())
}

/// The function of this template that an authorizer's `AuthorizerUri` invokes.
fn authorizer_function(b: &Builder<'_>, props: &Value) -> Option<String> {
    let uri = props.get("AuthorizerUri").and_then(text)?;
    match super::openapi::lambda_uri_function(&uri)? {
        FunctionRef::Arn { name, .. } => b.function_named(&name),
        FunctionRef::StageVariable { .. } => None,
    }
}

/// The API a resource's `RestApiId` or `ApiId` names; the error names the resource and the key.
fn api_of(b: &Builder<'_>, id: &str, props: &Value, key: &str) -> Result<String, TemplateError> {
    api_by_id(b, props.get(key)).ok_or_else(|| {
        let kind = if key == "ApiId" {
            "AWS::ApiGatewayV2::Api"
        } else {
            "AWS::ApiGateway::RestApi"
        };
        b.error(
            &at(id),
            format!("{id}: {key} is not an {kind} of this template"),
        )
    })
}

fn rest_apis(b: &mut Builder<'_>) -> Result<(), TemplateError> {
    for id in ids_of(b, "AWS::ApiGateway::RestApi") {
        let props = b.properties(&id)?;
        let api = b.api(&id, ApiKind::Rest, None);
        api.api_key_source = props.get("ApiKeySourceType").and_then(text);
        for t in props
            .get("BinaryMediaTypes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            api.binary_media_types
                .push(scalar_text(t).replace("~1", "/"));
        }
        if let Some(body) = props.get("Body") {
            b.pending_definitions
                .push((id.clone(), body.clone(), at(&id)));
        } else if props.get("BodyS3Location").is_some() {
            return Err(b.error(
                &at(&id),
                format!("{id}: BodyS3Location is in S3; put the definition in Body"),
            ));
        }
        b.handled.insert(id);
    }
    // Stages: a Stage resource, or a Deployment's StageName. An API serves one stage locally.
    let mut stages: Vec<(String, String, Value)> = Vec::new();
    for id in ids_of(b, "AWS::ApiGateway::Stage")
        .into_iter()
        .chain(ids_of(b, "AWS::ApiGateway::Deployment"))
    {
        let props = b.properties(&id)?;
        if let (Some(api), Some(stage)) = (
            api_by_id(b, props.get("RestApiId")),
            props.get("StageName").and_then(text),
        ) {
            stages.push((
                api,
                stage,
                props.get("Variables").cloned().unwrap_or(json!({})),
            ));
        }
        b.handled.insert(id);
    }
    for (api, stage, variables) in stages {
        let a = b.api(&api, ApiKind::Rest, None);
        match &a.stage {
            None => a.stage = Some(stage),
            Some(s) if *s == stage => {}
            Some(s) => {
                let first = s.clone();
                b.summary.warnings.push(format!(
                    "{api}: stage {stage} is not served; Offcloud serves one stage per API, {first}"
                ));
                continue;
            }
        }
        let a = b.api(&api, ApiKind::Rest, None);
        for (k, v) in entries(Some(&variables)) {
            a.stage_variables.insert(k, scalar_text(&v));
        }
    }
    // The resource tree: each resource's id, parent and path part.
    let mut parts: BTreeMap<String, (String, String)> = BTreeMap::new();
    for id in ids_of(b, "AWS::ApiGateway::Resource") {
        let props = b.properties(&id)?;
        let own = scalar_text(&b.stack.resolve(&json!({"Ref": id}), &["Resources", &id])?);
        parts.insert(
            own,
            (
                props.get("ParentId").map(scalar_text).unwrap_or_default(),
                props.get("PathPart").map(scalar_text).unwrap_or_default(),
            ),
        );
        b.handled.insert(id);
    }
    let path_of = |resource: &str| -> Option<String> {
        let mut segments = Vec::new();
        let mut cur = resource.to_string();
        while let Some((parent, part)) = parts.get(&cur) {
            segments.push(part.clone());
            if segments.len() > 64 {
                return None;
            }
            cur = parent.clone();
        }
        segments.reverse();
        Some(format!("/{}", segments.join("/")))
    };
    let mut authorizers = BTreeMap::new();
    for id in ids_of(b, "AWS::ApiGateway::Authorizer") {
        let props = b.properties(&id)?;
        let own = scalar_text(&b.stack.resolve(&json!({"Ref": id}), &["Resources", &id])?);
        let kind = props.get("Type").and_then(text).unwrap_or_default();
        let function = authorizer_function(b, &props);
        let api = api_by_id(b, props.get("RestApiId"));
        match (kind.as_str(), function, api) {
            // A Lambda authorizer. Source: CFN-UG aws-resource-apigateway-authorizer.md.
            ("TOKEN" | "REQUEST", Some(function), Some(api)) => {
                let config = crate::config::LambdaAuthorizerConfig {
                    name: toml::Spanned::new(0..0, id.clone()),
                    kind: kind.to_ascii_lowercase(),
                    function: Some(toml::Spanned::new(0..0, function)),
                    issuer: None,
                    audience: vec![],
                    jwks: None,
                    identity_source: props
                        .get("IdentitySource")
                        .and_then(text)
                        .into_iter()
                        .collect(),
                    validation_expression: props.get("IdentityValidationExpression").and_then(text),
                    ttl_seconds: props
                        .get("AuthorizerResultTtlInSeconds")
                        .and_then(|t| text(t)?.parse().ok()),
                    payload_format: None,
                    simple_responses: false,
                };
                b.api(&api, ApiKind::Rest, None).authorizers.push(config);
                authorizers.insert(own, Ok(id.clone()));
            }
            _ => {
                b.summary.warnings.push(format!(
                    "{id}: authorizer ({kind}) is not evaluated by Offcloud yet; methods behind it answer 500 instead of being open"
                ));
                authorizers.insert(own, Err(format!("authorizer {id} ({kind})")));
            }
        }
        b.handled.insert(id);
    }
    // Source: CFN-UG aws-resource-apigateway-gatewayresponse.md.
    for id in ids_of(b, "AWS::ApiGateway::GatewayResponse") {
        let props = b.properties(&id)?;
        let api = api_of(b, &id, &props, "RestApiId")?;
        let kind = props.get("ResponseType").and_then(text).unwrap_or_default();
        let (config, ignored) = super::routes::gateway_response(
            &props,
            "StatusCode",
            "ResponseParameters",
            "ResponseTemplates",
        );
        for p in ignored {
            b.summary
                .warnings
                .push(format!("{id}: {p} does not change the answer; ignored"));
        }
        b.api(&api, ApiKind::Rest, None)
            .gateway_responses
            .insert(kind, config);
        b.handled.insert(id);
    }
    let validators = validators_and_models(b)?;
    for id in ids_of(b, "AWS::ApiGateway::Method") {
        let props = b.properties(&id)?;
        let api = api_of(b, &id, &props, "RestApiId")?;
        let resource = props.get("ResourceId").map(scalar_text).unwrap_or_default();
        let path = path_of(&resource).ok_or_else(|| {
            b.error(
                &at(&id),
                format!("{id}: ResourceId has a circular parent chain"),
            )
        })?;
        let method = props
            .get("HttpMethod")
            .and_then(text)
            .unwrap_or_default()
            .to_ascii_uppercase();
        let integration = props.get("Integration").cloned().unwrap_or(json!({}));
        let kind = integration
            .get("Type")
            .and_then(text)
            .unwrap_or_default()
            .to_ascii_uppercase();
        let uri = integration.get("Uri").and_then(text).unwrap_or_default();
        let integration_kind = match kind.as_str() {
            "AWS_PROXY" => IntegrationKind::Proxy,
            "AWS" if uri.contains(":lambda:path/") => IntegrationKind::Lambda,
            "MOCK" => IntegrationKind::Mock,
            other => {
                b.summary.warnings.push(format!(
                    "{id}: {method} {path}: {} integrations are not emulated; the method is not served",
                    if other.is_empty() { "missing" } else { other }
                ));
                b.handled.insert(id);
                continue;
            }
        };
        let function = match (integration_kind, super::openapi::lambda_uri_function(&uri)) {
            (IntegrationKind::Mock, _) => Some(String::new()),
            (_, Some(FunctionRef::Arn { name, .. })) => b.function_named(&name),
            _ => None,
        }
        .ok_or_else(|| {
            b.error(
                &at(&id),
                format!("{id}: the integration Uri {uri} names no function of this template"),
            )
        })?;
        let mut route = RouteConfig::proxy(&method, &path, &function);
        route.integration = integration_kind;
        route.api_key_required = props.get("ApiKeyRequired").and_then(Value::as_bool) == Some(true);
        route.timeout_ms = integration
            .get("TimeoutInMillis")
            .and_then(|t| text(t)?.parse().ok());
        match props.get("AuthorizationType").and_then(text).as_deref() {
            None | Some("NONE") => {}
            Some("AWS_IAM") => route.iam_auth = true,
            Some(t) => match props
                .get("AuthorizerId")
                .map(scalar_text)
                .and_then(|a| authorizers.get(&a).cloned())
            {
                Some(Ok(name)) => route.authorizer = Some(name),
                Some(Err(closed)) => route.unsupported_auth = Some(closed),
                None => route.unsupported_auth = Some(format!("authorization type {t}")),
            },
        }
        for r in integration
            .get("IntegrationResponses")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            route.responses.push(IntegrationResponseConfig {
                pattern: r
                    .get("SelectionPattern")
                    .and_then(text)
                    .map(|p| toml::Spanned::new(0..0, p)),
                status: r
                    .get("StatusCode")
                    .and_then(|s| text(s)?.parse().ok())
                    .unwrap_or(200),
                templates: string_map(r.get("ResponseTemplates")),
                headers: string_map(r.get("ResponseParameters")),
            });
        }
        route.validation = method_validation(&props, &validators);
        route.request_templates = string_map(integration.get("RequestTemplates"));
        route.passthrough = integration.get("PassthroughBehavior").and_then(text);
        if integration_kind != IntegrationKind::Proxy
            && let Err(e) = crate::apigw::integration::Mapping::compile(&route)
        {
            return Err(b.error(&at(&id), format!("{id}: {e}")));
        }
        b.add_route(&api, route);
        b.handled.insert(id);
    }
    let keys: Vec<String> = ids_of(b, "AWS::ApiGateway::ApiKey");
    for id in keys {
        let props = b.properties(&id)?;
        let value = props.get("Value").and_then(text).unwrap_or_else(|| {
            let v = format!("offcloud-{}", b.stack.suffix(&id, 20).to_lowercase());
            b.summary.warnings.push(format!(
                "{id}: the API key's value is {v} (send it as x-api-key)"
            ));
            v
        });
        for api in b.apis.values_mut().filter(|a| a.kind == ApiKind::Rest) {
            api.api_keys.push(value.clone());
        }
        b.handled.insert(id);
    }
    for kind in [
        "AWS::ApiGateway::UsagePlan",
        "AWS::ApiGateway::UsagePlanKey",
    ] {
        for id in ids_of(b, kind) {
            b.handled.insert(id);
        }
    }
    Ok(())
}

/// Request validators and models, by the text their `Ref` gives, which is what methods name them by.
/// Source: CFN-UG aws-resource-apigateway-requestvalidator.md, aws-resource-apigateway-model.md.
fn validators_and_models(
    b: &mut Builder<'_>,
) -> Result<BTreeMap<String, (bool, bool)>, TemplateError> {
    let mut validators = BTreeMap::new();
    for id in ids_of(b, "AWS::ApiGateway::RequestValidator") {
        let props = b.properties(&id)?;
        let own = scalar_text(&b.stack.resolve(&json!({"Ref": id}), &["Resources", &id])?);
        let flag = |k: &str| props.get(k).and_then(text).as_deref() == Some("true");
        validators.insert(
            own,
            (
                flag("ValidateRequestBody"),
                flag("ValidateRequestParameters"),
            ),
        );
        b.handled.insert(id);
    }
    for id in ids_of(b, "AWS::ApiGateway::Model") {
        let props = b.properties(&id)?;
        let own = scalar_text(&b.stack.resolve(&json!({"Ref": id}), &["Resources", &id])?);
        let schema = match props.get("Schema") {
            Some(Value::String(s)) => serde_json::from_str(s)
                .map_err(|e| b.error(&at(&id), format!("{id}: Schema is not JSON: {e}")))?,
            Some(v) => v.clone(),
            None => json!({"type": "object"}),
        };
        let api = api_of(b, &id, &props, "RestApiId")?;
        b.api(&api, ApiKind::Rest, None).models.insert(own, schema);
        b.handled.insert(id);
    }
    Ok(validators)
}

/// A method's request validation: its validator, required `RequestParameters` and `RequestModels`.
fn method_validation(
    props: &Value,
    validators: &BTreeMap<String, (bool, bool)>,
) -> Option<crate::config::ValidationConfig> {
    let (body, parameters) = *validators.get(&props.get("RequestValidatorId").map(scalar_text)?)?;
    let mut v = crate::config::ValidationConfig {
        body,
        parameters,
        models: string_map(props.get("RequestModels")),
        ..Default::default()
    };
    for (key, required) in props
        .get("RequestParameters")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        if required.as_bool() == Some(true) || text(required).as_deref() == Some("true") {
            v.require(key);
        }
    }
    Some(v)
}

fn http_apis(b: &mut Builder<'_>) -> Result<(), TemplateError> {
    for id in ids_of(b, "AWS::ApiGatewayV2::Api") {
        let props = b.properties(&id)?;
        if props.get("ProtocolType").and_then(text).as_deref() == Some("WEBSOCKET") {
            b.summary
                .not_emulated
                .push(format!("{id} (AWS::ApiGatewayV2::Api, WEBSOCKET)"));
            b.handled.insert(id);
            continue;
        }
        let cors = props.get("CorsConfiguration").and_then(http_cors);
        let api = b.api(&id, ApiKind::Http, None);
        api.cors = cors;
        if let Some(body) = props.get("Body") {
            b.pending_definitions
                .push((id.clone(), body.clone(), at(&id)));
        }
        // Quick create: a Target makes a `$default` route to it. Source: CFN-UG aws-resource-apigatewayv2-api.md.
        if let Some(target) = props.get("Target").and_then(text) {
            let function = match super::openapi::lambda_uri_function(&target) {
                Some(FunctionRef::Arn { name, .. }) => b.function_named(&name),
                _ => None,
            }
            .ok_or_else(|| {
                b.error(
                    &at(&id),
                    format!("{id}: Target {target} names no function of this template"),
                )
            })?;
            let key = props
                .get("RouteKey")
                .and_then(text)
                .unwrap_or_else(|| "$default".into());
            let (method, path) = route_key(&key);
            b.add_route(&id, RouteConfig::proxy(&method, &path, &function));
        }
        b.handled.insert(id);
    }
    let mut integrations = BTreeMap::new();
    for id in ids_of(b, "AWS::ApiGatewayV2::Integration") {
        let props = b.properties(&id)?;
        let own = scalar_text(&b.stack.resolve(&json!({"Ref": id}), &["Resources", &id])?);
        let uri = props
            .get("IntegrationUri")
            .and_then(text)
            .unwrap_or_default();
        let kind = props
            .get("IntegrationType")
            .and_then(text)
            .unwrap_or_default();
        let function = match super::openapi::lambda_uri_function(&uri) {
            Some(FunctionRef::Arn { name, .. }) if kind.eq_ignore_ascii_case("AWS_PROXY") => {
                b.function_named(&name)
            }
            _ => None,
        };
        let payload = props.get("PayloadFormatVersion").and_then(text);
        let timeout = props
            .get("TimeoutInMillis")
            .and_then(|t| text(t)?.parse::<u64>().ok());
        integrations.insert(own, (id.clone(), kind, function, timeout, payload));
        b.handled.insert(id);
    }
    let authorizers = http_authorizers(b)?;
    for id in ids_of(b, "AWS::ApiGatewayV2::Route") {
        let props = b.properties(&id)?;
        let api = api_of(b, &id, &props, "ApiId")?;
        let key = props.get("RouteKey").and_then(text).unwrap_or_default();
        let target = props.get("Target").and_then(text).unwrap_or_default();
        let integration = target
            .strip_prefix("integrations/")
            .and_then(|i| integrations.get(i));
        let Some((_, kind, Some(function), timeout, payload)) = integration else {
            let kind = integration
                .map(|i| i.1.clone())
                .unwrap_or_else(|| "no".into());
            b.summary.warnings.push(format!("{id}: route {key} has {kind} integration to a function of this template; it is not served"));
            b.handled.insert(id);
            continue;
        };
        let _ = kind;
        let (method, path) = route_key(&key);
        let mut route = RouteConfig::proxy(&method, &path, function);
        route.timeout_ms = *timeout;
        route.payload_format = payload.clone();
        match props.get("AuthorizationType").and_then(text).as_deref() {
            None | Some("NONE") => {}
            Some("AWS_IAM") => route.iam_auth = true,
            Some(t) => match props
                .get("AuthorizerId")
                .map(scalar_text)
                .and_then(|a| authorizers.get(&a).cloned())
            {
                Some(Ok(name)) => {
                    route.authorizer = Some(name);
                    route.scopes = props
                        .get("AuthorizationScopes")
                        .and_then(Value::as_array)
                        .map(|a| a.iter().map(scalar_text).collect())
                        .unwrap_or_default();
                }
                Some(Err(closed)) => route.unsupported_auth = Some(closed),
                None => {
                    b.summary.warnings.push(format!("{id}: {t} authorization names no AWS::ApiGatewayV2::Authorizer of this template; the route answers 500 instead of being open"));
                    route.unsupported_auth = Some(format!("{t} authorizer of route {key}"));
                }
            },
        }
        b.add_route(&api, route);
        b.handled.insert(id);
    }
    for id in ids_of(b, "AWS::ApiGatewayV2::Stage") {
        let props = b.properties(&id)?;
        if let Some(api) = api_by_id(b, props.get("ApiId")) {
            let stage = props
                .get("StageName")
                .and_then(text)
                .filter(|s| s != "$default");
            let a = b.api(&api, ApiKind::Http, None);
            a.stage = stage;
            for (k, v) in entries(props.get("StageVariables")) {
                a.stage_variables.insert(k, scalar_text(&v));
            }
        }
        b.handled.insert(id);
    }
    Ok(())
}

/// HTTP API authorizers, Lambda (`REQUEST`) and `JWT`, by the text their `Ref` gives, which routes name them by;
/// an authorizer that cannot be read maps to the reason, and routes behind it stay closed.
/// Source: CFN-UG aws-resource-apigatewayv2-authorizer.md.
fn http_authorizers(
    b: &mut Builder<'_>,
) -> Result<BTreeMap<String, Result<String, String>>, TemplateError> {
    let mut out = BTreeMap::new();
    for id in ids_of(b, "AWS::ApiGatewayV2::Authorizer") {
        let props = b.properties(&id)?;
        let own = scalar_text(&b.stack.resolve(&json!({"Ref": id}), &["Resources", &id])?);
        let api = api_of(b, &id, &props, "ApiId")?;
        let kind = props
            .get("AuthorizerType")
            .and_then(text)
            .unwrap_or_default();
        let function = authorizer_function(b, &props);
        let jwt = props.get("JwtConfiguration");
        let issuer = jwt.and_then(|j| j.get("Issuer")).and_then(text);
        let config = |kind: &str, function: Option<String>| crate::config::LambdaAuthorizerConfig {
            name: toml::Spanned::new(0..0, id.clone()),
            kind: kind.into(),
            function: function.map(|f| toml::Spanned::new(0..0, f)),
            issuer: issuer.clone(),
            audience: jwt
                .and_then(|j| j.get("Audience"))
                .and_then(Value::as_array)
                .map(|a| a.iter().map(scalar_text).collect())
                .unwrap_or_default(),
            jwks: crate::apigw::jwks::for_template(issuer.as_deref()),
            identity_source: props
                .get("IdentitySource")
                .and_then(Value::as_array)
                .map(|a| a.iter().map(scalar_text).collect())
                .unwrap_or_default(),
            validation_expression: None,
            ttl_seconds: props
                .get("AuthorizerResultTtlInSeconds")
                .and_then(|t| text(t)?.parse().ok()),
            payload_format: props.get("AuthorizerPayloadFormatVersion").and_then(text),
            simple_responses: props.get("EnableSimpleResponses").and_then(Value::as_bool)
                == Some(true),
        };
        let made = match (kind.as_str(), function) {
            ("REQUEST", Some(f)) => Ok(config("request", Some(f))),
            ("JWT", _) if issuer.is_some() => Ok(config("jwt", None)),
            ("REQUEST", None) => Err(format!(
                "authorizer {id}: its AuthorizerUri names no function of this template"
            )),
            _ => Err(format!("authorizer {id} ({kind})")),
        };
        match made {
            Ok(c) => {
                b.api(&api, ApiKind::Http, None).authorizers.push(c);
                out.insert(own, Ok(id.clone()));
            }
            Err(reason) => {
                b.summary.warnings.push(format!(
                    "{id}: {reason} cannot be evaluated by Offcloud; routes behind it answer 500 instead of being open"
                ));
                out.insert(own, Err(reason));
            }
        }
        b.handled.insert(id);
    }
    Ok(out)
}

/// `"GET /pets/{id}"` or `$default`.
fn route_key(key: &str) -> (String, String) {
    match key.split_once(' ') {
        Some((m, p)) => (m.to_ascii_uppercase(), p.to_string()),
        None => ("ANY".into(), "$default".into()),
    }
}

/// A map of strings, such as `RequestTemplates` or `ResponseParameters`.
fn string_map(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), text(v)?)))
        .collect()
}
