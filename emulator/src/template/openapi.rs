//! Reads an API Gateway definition, Swagger 2 or OpenAPI 3, into a neutral description of the API.
//!
//! The definition may come from a `DefinitionBody` or `Body` (CloudFormation intrinsics already resolved), a
//! `DefinitionUri` file, or a file named in Offcloud's config. Only what API Gateway itself acts on is read: the
//! `x-amazon-apigateway-*` extensions, security schemes, request parameters and body models. Every API Gateway
//! extension or field that is present but not understood becomes a warning naming its JSON pointer, so nothing
//! is dropped silently.
//!
//! Sources (see /work/shared/notes): sam-and-cloudformation.md §10 (SAM routes and URIs), §12 (CORS mocks,
//! authorizers and API keys as SAM writes them), §13 (raw resources, `$default`), §14 (the extensions) and §15
//! (qualified and stage-variable URIs); apigw-authorizers-validation-vtl.md §1–7 (authorizers, validators, models).
//!
//! Map order: operations, integration responses and the other maps follow the order of `serde_json::Map`, which
//! is the document's order only when serde_json's `preserve_order` feature is enabled, and sorted by key otherwise.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

const EXTENSION: &str = "x-amazon-apigateway-";
const INTEGRATION: &str = "x-amazon-apigateway-integration";
const SHARED_INTEGRATIONS: &str = "x-amazon-apigateway-integrations";
const ANY_METHOD: &str = "x-amazon-apigateway-any-method";
const AUTHORIZER: &str = "x-amazon-apigateway-authorizer";
const AUTHTYPE: &str = "x-amazon-apigateway-authtype";
const VALIDATOR: &str = "x-amazon-apigateway-request-validator";
const VALIDATORS: &str = "x-amazon-apigateway-request-validators";
const BINARY: &str = "x-amazon-apigateway-binary-media-types";
const KEY_SOURCE: &str = "x-amazon-apigateway-api-key-source";
const CORS: &str = "x-amazon-apigateway-cors";
const GATEWAY_RESPONSES: &str = "x-amazon-apigateway-gateway-responses";
const STAGE_VARIABLE: &str = "${stageVariables.";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecVersion {
    Swagger2,
    OpenApi3,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiDefinition {
    pub version: SpecVersion,
    pub title: Option<String>,
    pub operations: Vec<Operation>,
    pub binary_media_types: Vec<String>,
    pub api_key_source: Option<ApiKeySource>,
    /// Security schemes API Gateway acts on, by scheme name: authorizers, AWS_IAM and the `x-api-key` API key.
    pub authorizers: BTreeMap<String, Authorizer>,
    pub request_validators: BTreeMap<String, RequestValidator>,
    pub default_validator: Option<String>,
    /// Named models (`definitions` or `components.schemas`), plus inline body schemas registered under their
    /// JSON pointer. API Gateway model names are alphanumeric, so a pointer never collides with one.
    pub models: BTreeMap<String, Value>,
    pub cors: Option<HttpCors>,
    pub gateway_responses: BTreeMap<String, Value>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiKeySource {
    Header,
    Authorizer,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    /// Upper case; `ANY` for `x-amazon-apigateway-any-method`.
    pub method: String,
    /// The path as written, or `$default` for an HTTP API's default route.
    pub path: String,
    pub pointer: String,
    pub integration: Integration,
    /// The operation's `security`, else the document's. Alternatives and combined schemes are flattened into one
    /// list, because an API Gateway method has one authorizer plus an API-key flag.
    pub security: Vec<SecurityRequirement>,
    pub api_key_required: bool,
    /// The operation's validator, else the document's default.
    pub request_validator: Option<String>,
    pub parameters: Vec<Parameter>,
    /// Content type to model name, for body validation.
    pub request_models: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Integration {
    LambdaProxy {
        function: FunctionRef,
        payload_format_version: Option<String>,
        timeout_ms: Option<u64>,
    },
    Lambda {
        function: FunctionRef,
        request_templates: BTreeMap<String, String>,
        passthrough_behavior: Option<String>,
        responses: Vec<IntegrationResponse>,
        timeout_ms: Option<u64>,
        content_handling: Option<String>,
    },
    Mock {
        request_templates: BTreeMap<String, String>,
        responses: Vec<IntegrationResponse>,
    },
    Http {
        uri: String,
        proxy: bool,
        method: Option<String>,
    },
    /// For example `aws sqs`, `aws states` or `aws_proxy SQS-SendMessage`: the type, then the service or subtype.
    Unsupported {
        kind: String,
    },
    Missing,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FunctionRef {
    /// `arn` is the function part as written: a function ARN, a partial ARN or a bare name.
    Arn {
        name: String,
        qualifier: Option<String>,
        arn: String,
    },
    /// The function part contains `${stageVariables.x}`; `variable` is the first one named.
    StageVariable { variable: String, raw: String },
}

impl FunctionRef {
    /// Substitutes the stage's variables into a stage-variable reference. `None` when a variable is not defined
    /// or the result names no function. Stage variables may name the function or its alias (vtl notes §12).
    pub fn resolve(&self, stage_variables: &BTreeMap<String, String>) -> Option<FunctionRef> {
        let FunctionRef::StageVariable { raw, .. } = self else {
            return Some(self.clone());
        };
        let (mut out, mut rest) = (String::new(), raw.as_str());
        while let Some(start) = rest.find(STAGE_VARIABLE) {
            out.push_str(&rest[..start]);
            let after = &rest[start + STAGE_VARIABLE.len()..];
            let end = after.find('}')?;
            out.push_str(stage_variables.get(&after[..end])?);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        parse_function(&out)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrationResponse {
    /// The selection pattern; `None` for `default`.
    pub pattern: Option<String>,
    pub status: u16,
    pub response_templates: BTreeMap<String, String>,
    pub response_parameters: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorizer {
    pub name: String,
    pub kind: AuthorizerKind,
    pub identity_source: Option<String>,
    pub identity_validation_expression: Option<String>,
    pub result_ttl_seconds: Option<u64>,
    pub function: Option<FunctionRef>,
    pub payload_format_version: Option<String>,
    pub simple_responses: bool,
    pub jwt_issuer: Option<String>,
    pub jwt_audience: Vec<String>,
    pub provider_arns: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorizerKind {
    Token,
    Request,
    CognitoUserPools,
    Jwt,
    Iam,
    ApiKey,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityRequirement {
    pub name: String,
    pub scopes: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestValidator {
    pub body: bool,
    pub parameters: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpCors {
    pub allow_origins: Vec<String>,
    pub allow_methods: Vec<String>,
    pub allow_headers: Vec<String>,
    pub expose_headers: Vec<String>,
    pub max_age: Option<u64>,
    pub allow_credentials: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParameterLocation {
    Path,
    Query,
    Header,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameter {
    pub location: ParameterLocation,
    pub name: String,
    pub required: bool,
}

/// Pointers are shown in URI-fragment form, `#/paths/~1pets/get`; the document root is `#`.
#[derive(Debug, thiserror::Error)]
pub enum OpenApiError {
    #[error("#{pointer}: expected {expected}, found {found}")]
    WrongType {
        pointer: String,
        expected: &'static str,
        found: &'static str,
    },
    #[error("#: no `swagger` or `openapi` field, so this is not an OpenAPI definition")]
    NoVersion,
    #[error(
        "#: version `{version}` is not supported; API Gateway reads Swagger 2.0 and OpenAPI 3.x"
    )]
    UnsupportedVersion { version: String },
    #[error("#{pointer}: `{key}` is neither an HTTP method nor a path-item field")]
    UnknownMethod { pointer: String, key: String },
    #[error("#{pointer}: `{field}` is missing")]
    MissingField {
        pointer: String,
        field: &'static str,
    },
    #[error("#{pointer}: `{value}` is not {expected}")]
    InvalidValue {
        pointer: String,
        value: String,
        expected: &'static str,
    },
    #[error("#{pointer}: `{uri}` names no Lambda function")]
    NoFunction { pointer: String, uri: String },
    #[error("#{pointer}: `{value}` is not an HTTP status code")]
    BadStatusCode { pointer: String, value: String },
    #[error(
        "#{pointer}: `{reference}` is a remote reference; only `#/...` references are supported"
    )]
    RemoteRef { pointer: String, reference: String },
    #[error("#{pointer}: reference `{reference}` does not resolve")]
    BrokenRef { pointer: String, reference: String },
    #[error("#{pointer}: no {what} named `{name}` is defined")]
    Undefined {
        pointer: String,
        what: &'static str,
        name: String,
    },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Parse { path: PathBuf, message: String },
}

type Result<T, E = OpenApiError> = std::result::Result<T, E>;

/// Reads a definition whose CloudFormation intrinsics have already been resolved.
pub fn read(doc: &Value) -> Result<ApiDefinition> {
    let root = object(doc, "")?;
    let version = spec_version(root)?;
    let mut r = Reader {
        doc,
        version,
        warnings: Vec::new(),
        authorizers: BTreeMap::new(),
        ignored_schemes: BTreeSet::new(),
        validators: BTreeMap::new(),
        default_validator: None,
        models: BTreeMap::new(),
        consumes: strings(root, "consumes", "")?,
        global: Vec::new(),
    };
    let known = [
        BINARY,
        KEY_SOURCE,
        VALIDATORS,
        VALIDATOR,
        CORS,
        GATEWAY_RESPONSES,
    ];
    r.warn_extensions(root, "", &known);
    // API Gateway's default import mode ignores the base path (basepath=ignore).
    if let Some(base) = opt_text(root, "basePath", "")?
        && base != "/"
    {
        r.warn(
            "/basePath",
            "the base path is ignored, as API Gateway's import does by default",
        );
    }
    let title = match get(root, "info") {
        Some(info) => opt_text(object(info, "/info")?, "title", "/info")?,
        None => None,
    };
    let api_key_source = match opt_text(root, KEY_SOURCE, "")? {
        None => None,
        Some(s) if s.eq_ignore_ascii_case("HEADER") => Some(ApiKeySource::Header),
        Some(s) if s.eq_ignore_ascii_case("AUTHORIZER") => Some(ApiKeySource::Authorizer),
        Some(value) => {
            let (pointer, expected) = (child("", KEY_SOURCE), "HEADER or AUTHORIZER");
            return Err(OpenApiError::InvalidValue {
                pointer,
                value,
                expected,
            });
        }
    };
    if let Some(v) = get(root, VALIDATORS) {
        let ptr = child("", VALIDATORS);
        for (name, validator) in object(v, &ptr)? {
            let p = child(&ptr, name);
            let o = object(validator, &p)?;
            r.warn_fields(o, &p, &["validateRequestBody", "validateRequestParameters"]);
            let body = flag(o, "validateRequestBody", &p)?;
            let parameters = flag(o, "validateRequestParameters", &p)?;
            r.validators
                .insert(name.clone(), RequestValidator { body, parameters });
        }
    }
    if let Some(name) = opt_text(root, VALIDATOR, "")? {
        r.check_validator(&name, &child("", VALIDATOR))?;
        r.default_validator = Some(name);
    }
    let (models_at, schemes_at) = match version {
        SpecVersion::Swagger2 => ("/definitions", "/securityDefinitions"),
        SpecVersion::OpenApi3 => ("/components/schemas", "/components/securitySchemes"),
    };
    if let Some(models) = doc.pointer(models_at).filter(|v| !v.is_null()) {
        r.models.extend(object(models, models_at)?.clone());
    }
    if version == SpecVersion::OpenApi3
        && let Some(components) = get(root, "components")
    {
        r.warn_extensions(
            object(components, "/components")?,
            "/components",
            &[SHARED_INTEGRATIONS],
        );
    }
    if let Some(schemes) = doc.pointer(schemes_at).filter(|v| !v.is_null()) {
        for (name, scheme) in object(schemes, schemes_at)? {
            r.scheme(name, scheme, &child(schemes_at, name))?;
        }
    }
    let cors = get(root, CORS)
        .map(|v| r.cors(v, &child("", CORS)))
        .transpose()?;
    let gateway_responses = match get(root, GATEWAY_RESPONSES) {
        Some(v) => object(v, &child("", GATEWAY_RESPONSES))?
            .clone()
            .into_iter()
            .collect(),
        None => BTreeMap::new(),
    };
    if let Some(v) = get(root, "security") {
        r.global = r.security(v, "/security")?;
    }
    let mut operations = Vec::new();
    if let Some(paths) = get(root, "paths") {
        for (path, item) in object(paths, "/paths")? {
            r.path_item(path, item, &mut operations)?;
        }
    }
    let mut seen = BTreeSet::new();
    r.warnings.retain(|w| seen.insert(w.clone()));
    Ok(ApiDefinition {
        version,
        title,
        operations,
        binary_media_types: strings(root, BINARY, "")?,
        api_key_source,
        authorizers: r.authorizers,
        request_validators: r.validators,
        default_validator: r.default_validator,
        models: r.models,
        cors,
        gateway_responses,
        warnings: r.warnings,
    })
}

/// Reads a JSON file (by its `.json` extension) or a YAML file (anything else).
pub fn read_file(path: &Path) -> Result<ApiDefinition> {
    let parse = |message: String| OpenApiError::Parse {
        path: path.to_path_buf(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|source| OpenApiError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let doc = if is_json {
        serde_json::from_str(&text).map_err(|e| parse(e.to_string()))?
    } else {
        let mut yaml: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(&text).map_err(|e| parse(e.to_string()))?;
        yaml.apply_merge().map_err(|e| parse(e.to_string()))?;
        yaml_to_json(yaml).map_err(parse)?
    };
    read(&doc)
}

/// Converts YAML to JSON. Scalar keys become strings, since YAML reads `200:` as a number. Tags are refused: a
/// definition file gets no intrinsic resolution.
fn yaml_to_json(v: serde_yaml_ng::Value) -> Result<Value, String> {
    use serde_yaml_ng::Value as Y;
    Ok(match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => Value::from(u),
            (_, Some(i), _) => Value::from(i),
            (_, _, Some(f)) => serde_json::Number::from_f64(f)
                .map(Value::Number)
                .ok_or_else(|| format!("the number {n} has no JSON form"))?,
            _ => return Err(format!("the number {n} has no JSON form")),
        },
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(
            items
                .into_iter()
                .map(yaml_to_json)
                .collect::<Result<_, _>>()?,
        ),
        Y::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match k {
                    Y::String(s) => s,
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    other => return Err(format!("the mapping key {other:?} is not a scalar")),
                };
                out.insert(key, yaml_to_json(v)?);
            }
            Value::Object(out)
        }
        Y::Tagged(t) => {
            return Err(format!(
                "the tag {} cannot be resolved in a definition file",
                t.tag
            ));
        }
    })
}

fn spec_version(root: &Map<String, Value>) -> Result<SpecVersion> {
    if let Some(v) = get(root, "openapi") {
        let version = text(v, "/openapi")?;
        return match version.starts_with("3.") || version == "3" {
            true => Ok(SpecVersion::OpenApi3),
            false => Err(OpenApiError::UnsupportedVersion { version }),
        };
    }
    let Some(v) = get(root, "swagger") else {
        return Err(OpenApiError::NoVersion);
    };
    match text(v, "/swagger")? {
        version if version == "2.0" || version == "2" => Ok(SpecVersion::Swagger2),
        version => Err(OpenApiError::UnsupportedVersion { version }),
    }
}

/// Parameters gathered from a path item and an operation; a Swagger 2 body parameter is kept apart.
#[derive(Clone, Default)]
struct Params<'a> {
    list: Vec<Parameter>,
    body: Option<(&'a Value, String)>,
}

struct Reader<'a> {
    doc: &'a Value,
    version: SpecVersion,
    warnings: Vec<String>,
    authorizers: BTreeMap<String, Authorizer>,
    /// Schemes API Gateway does not act on (warned once where defined); requirements naming them are skipped.
    ignored_schemes: BTreeSet<String>,
    validators: BTreeMap<String, RequestValidator>,
    default_validator: Option<String>,
    models: BTreeMap<String, Value>,
    /// The document's Swagger 2 `consumes` and `security`, for operations that set none.
    consumes: Vec<String>,
    global: Vec<SecurityRequirement>,
}

impl<'a> Reader<'a> {
    fn warn(&mut self, ptr: &str, message: &str) {
        self.warnings.push(format!("#{ptr}: {message}"));
    }

    /// Warns about `x-amazon-apigateway-*` keys of a standard OpenAPI object that are not in `known`.
    fn warn_extensions(&mut self, o: &Map<String, Value>, ptr: &str, known: &[&str]) {
        for key in o
            .keys()
            .filter(|k| k.starts_with(EXTENSION) && !known.contains(&k.as_str()))
        {
            self.warn(
                &child(ptr, key),
                "API Gateway extension not supported by Offcloud; ignored",
            );
        }
    }

    /// Warns about every key of an API Gateway extension object that is not in `known`.
    fn warn_fields(&mut self, o: &Map<String, Value>, ptr: &str, known: &[&str]) {
        for key in o.keys().filter(|k| !known.contains(&k.as_str())) {
            self.warn(&child(ptr, key), "field not supported by Offcloud; ignored");
        }
    }

    /// Follows local `$ref`s, returning the target and its pointer.
    fn deref(&self, mut v: &'a Value, ptr: &str) -> Result<(&'a Value, String)> {
        let mut at = ptr.to_string();
        for _ in 0..32 {
            let Some(reference) = v.as_object().and_then(|o| get(o, "$ref")) else {
                return Ok((v, at));
            };
            let reference = text(reference, &child(&at, "$ref"))?;
            let Some(target) = reference.strip_prefix('#') else {
                return Err(OpenApiError::RemoteRef {
                    pointer: at,
                    reference,
                });
            };
            let Some(found) = self.doc.pointer(target) else {
                return Err(OpenApiError::BrokenRef {
                    pointer: at,
                    reference,
                });
            };
            (v, at) = (found, target.to_string());
        }
        let reference = "(a cycle of references)".to_string();
        Err(OpenApiError::BrokenRef {
            pointer: ptr.to_string(),
            reference,
        })
    }

    fn check_validator(&self, name: &str, ptr: &str) -> Result<()> {
        match self.validators.contains_key(name) {
            true => Ok(()),
            false => Err(OpenApiError::Undefined {
                pointer: ptr.to_string(),
                what: "request validator",
                name: name.to_string(),
            }),
        }
    }

    /// A security scheme: an authorizer (§12; vtl notes §1–6), AWS_IAM, or the `x-api-key` API key.
    fn scheme(&mut self, name: &str, v: &'a Value, ptr: &str) -> Result<()> {
        let (v, ptr) = self.deref(v, ptr)?;
        let o = object(v, &ptr)?;
        self.warn_extensions(o, &ptr, &[AUTHORIZER, AUTHTYPE]);
        let in_header = opt_text(o, "in", &ptr)?.as_deref() == Some("header");
        let header = opt_text(o, "name", &ptr)?.filter(|_| in_header);
        let authtype = opt_text(o, AUTHTYPE, &ptr)?.unwrap_or_default();
        let mut a = Authorizer {
            name: name.to_string(),
            kind: AuthorizerKind::ApiKey,
            identity_source: None,
            identity_validation_expression: None,
            result_ttl_seconds: None,
            function: None,
            payload_format_version: None,
            simple_responses: false,
            jwt_issuer: None,
            jwt_audience: Vec::new(),
            provider_arns: Vec::new(),
        };
        if let Some(config) = get(o, AUTHORIZER) {
            let p = child(&ptr, AUTHORIZER);
            let c = object(config, &p)?;
            let known = [
                "type",
                "authorizerUri",
                "identitySource",
                "identityValidationExpression",
                "authorizerResultTtlInSeconds",
                "authorizerPayloadFormatVersion",
                "enableSimpleResponses",
                "jwtConfiguration",
                "providerARNs",
                "authorizerCredentials",
            ];
            // authorizerCredentials is the role API Gateway assumes to call the function; it has no local effect.
            self.warn_fields(c, &p, &known);
            let kind = req_text(c, "type", &p)?;
            a.kind = match kind.to_ascii_lowercase().as_str() {
                "token" => AuthorizerKind::Token,
                "request" => AuthorizerKind::Request,
                "cognito_user_pools" => AuthorizerKind::CognitoUserPools,
                "jwt" => AuthorizerKind::Jwt,
                _ => {
                    let expected = "an authorizer type (token, request, cognito_user_pools, jwt)";
                    return Err(OpenApiError::InvalidValue {
                        pointer: child(&p, "type"),
                        value: kind,
                        expected,
                    });
                }
            };
            if matches!(a.kind, AuthorizerKind::Token | AuthorizerKind::Request) {
                let uri = req_text(c, "authorizerUri", &p)?;
                let function = match target(&uri) {
                    Target::Lambda(part) => function_ref(&part),
                    _ => None,
                };
                let pointer = child(&p, "authorizerUri");
                a.function = Some(function.ok_or(OpenApiError::NoFunction { pointer, uri })?);
            }
            a.identity_source = match get(c, "identitySource") {
                Some(Value::Array(_)) => Some(strings(c, "identitySource", &p)?.join(", ")),
                _ => opt_text(c, "identitySource", &p)?,
            };
            // SAM writes no identitySource for TOKEN and Cognito authorizers; the scheme's header is the source.
            if a.identity_source.is_none()
                && matches!(
                    a.kind,
                    AuthorizerKind::Token | AuthorizerKind::CognitoUserPools
                )
            {
                a.identity_source = header.map(|h| format!("method.request.header.{h}"));
            }
            a.identity_validation_expression = opt_text(c, "identityValidationExpression", &p)?;
            a.result_ttl_seconds = opt_u64(c, "authorizerResultTtlInSeconds", &p)?;
            a.payload_format_version = opt_text(c, "authorizerPayloadFormatVersion", &p)?;
            a.simple_responses = flag(c, "enableSimpleResponses", &p)?;
            a.provider_arns = strings(c, "providerARNs", &p)?;
            if let Some(jwt) = get(c, "jwtConfiguration") {
                let jp = child(&p, "jwtConfiguration");
                let j = object(jwt, &jp)?;
                self.warn_fields(j, &jp, &["issuer", "audience"]);
                a.jwt_issuer = opt_text(j, "issuer", &jp)?;
                a.jwt_audience = strings(j, "audience", &jp)?;
            }
        } else if authtype.eq_ignore_ascii_case("awsSigv4") {
            a.kind = AuthorizerKind::Iam;
        } else if opt_text(o, "type", &ptr)?.as_deref() == Some("apiKey")
            && header.is_some_and(|h| h.eq_ignore_ascii_case("x-api-key"))
        {
            a.kind = AuthorizerKind::ApiKey;
        } else {
            let message = "security scheme API Gateway does not act on; operations naming it are not protected";
            self.warn(&ptr, message);
            self.ignored_schemes.insert(name.to_string());
            return Ok(());
        }
        self.authorizers.insert(name.to_string(), a);
        Ok(())
    }

    fn security(&mut self, v: &Value, ptr: &str) -> Result<Vec<SecurityRequirement>> {
        let Value::Array(alternatives) = v else {
            return Err(wrong(ptr, "an array", v));
        };
        let mut out = Vec::new();
        for (i, alternative) in alternatives.iter().enumerate() {
            let p = child(ptr, &i.to_string());
            for (name, scopes) in object(alternative, &p)? {
                let sp = child(&p, name);
                if self.ignored_schemes.contains(name) {
                    continue;
                }
                if !self.authorizers.contains_key(name) {
                    let (what, name) = ("security scheme", name.clone());
                    return Err(OpenApiError::Undefined {
                        pointer: sp,
                        what,
                        name,
                    });
                }
                let scopes = match scopes {
                    Value::Null => Vec::new(),
                    Value::Array(list) => {
                        let each = list
                            .iter()
                            .enumerate()
                            .map(|(j, s)| text(s, &child(&sp, &j.to_string())));
                        each.collect::<Result<_>>()?
                    }
                    other => return Err(wrong(&sp, "an array", other)),
                };
                out.push(SecurityRequirement {
                    name: name.clone(),
                    scopes,
                });
            }
        }
        Ok(out)
    }

    /// HTTP API CORS (§14; vtl notes §9.2). Values are not quoted, unlike REST mapping expressions.
    fn cors(&mut self, v: &Value, ptr: &str) -> Result<HttpCors> {
        let o = object(v, ptr)?;
        self.warn_fields(
            o,
            ptr,
            &[
                "allowOrigins",
                "allowMethods",
                "allowHeaders",
                "exposeHeaders",
                "maxAge",
                "allowCredentials",
            ],
        );
        Ok(HttpCors {
            allow_origins: strings(o, "allowOrigins", ptr)?,
            allow_methods: strings(o, "allowMethods", ptr)?,
            allow_headers: strings(o, "allowHeaders", ptr)?,
            expose_headers: strings(o, "exposeHeaders", ptr)?,
            max_age: opt_u64(o, "maxAge", ptr)?,
            allow_credentials: flag(o, "allowCredentials", ptr)?,
        })
    }

    fn path_item(
        &mut self,
        path: &str,
        item: &'a Value,
        operations: &mut Vec<Operation>,
    ) -> Result<()> {
        let (item, ptr) = self.deref(item, &child("/paths", path))?;
        let item = object(item, &ptr)?;
        self.warn_extensions(item, &ptr, &[ANY_METHOD]);
        let mut shared = Params::default();
        if let Some(p) = get(item, "parameters") {
            self.parameters(p, &child(&ptr, "parameters"), &mut shared)?;
        }
        for (key, op) in item {
            let lower = key.to_ascii_lowercase();
            let method = match lower.as_str() {
                "get" | "put" | "post" | "delete" | "options" | "head" | "patch" => {
                    lower.to_ascii_uppercase()
                }
                ANY_METHOD => "ANY".to_string(),
                "trace" => {
                    self.warn(
                        &child(&ptr, key),
                        "API Gateway has no TRACE method; ignored",
                    );
                    continue;
                }
                "parameters" | "summary" | "description" | "servers" => continue,
                _ if lower.starts_with("x-") => continue,
                _ => {
                    return Err(OpenApiError::UnknownMethod {
                        pointer: ptr,
                        key: key.clone(),
                    });
                }
            };
            let op_ptr = child(&ptr, key);
            operations.push(self.operation(path, method, op, &op_ptr, &shared)?);
        }
        Ok(())
    }

    fn operation(
        &mut self,
        path: &str,
        method: String,
        v: &'a Value,
        ptr: &str,
        shared: &Params<'a>,
    ) -> Result<Operation> {
        let o = object(v, ptr)?;
        self.warn_extensions(o, ptr, &[INTEGRATION, VALIDATOR]);
        // An HTTP API's catch-all route (§10, §13); SAM writes `/$default` under FailOnWarnings.
        let default_route =
            flag(o, "isDefaultRoute", ptr)? || path == "$default" || path == "/$default";
        let mut params = shared.clone();
        if let Some(p) = get(o, "parameters") {
            self.parameters(p, &child(ptr, "parameters"), &mut params)?;
        }
        let mut request_models = BTreeMap::new();
        if let Some((schema, schema_ptr)) = params.body {
            let model = self.model_name(schema, &schema_ptr)?;
            let mut types = strings(o, "consumes", ptr)?;
            if types.is_empty() {
                types = self.consumes.clone();
            }
            if types.is_empty() {
                types.push("application/json".to_string());
            }
            request_models.extend(types.into_iter().map(|t| (t, model.clone())));
        }
        if let Some(body) = get(o, "requestBody") {
            let (body, body_ptr) = self.deref(body, &child(ptr, "requestBody"))?;
            if let Some(content) = get(object(body, &body_ptr)?, "content") {
                let content_ptr = child(&body_ptr, "content");
                for (media_type, media) in object(content, &content_ptr)? {
                    let media_ptr = child(&content_ptr, media_type);
                    if let Some(schema) = get(object(media, &media_ptr)?, "schema") {
                        let model = self.model_name(schema, &child(&media_ptr, "schema"))?;
                        request_models.insert(media_type.clone(), model);
                    }
                }
            }
        }
        let request_validator = match opt_text(o, VALIDATOR, ptr)? {
            Some(name) => {
                self.check_validator(&name, &child(ptr, VALIDATOR))?;
                Some(name)
            }
            None => self.default_validator.clone(),
        };
        let security = match get(o, "security") {
            Some(s) => self.security(s, &child(ptr, "security"))?,
            None => self.global.clone(),
        };
        let api_key_required = security.iter().any(|s| {
            self.authorizers
                .get(&s.name)
                .is_some_and(|a| a.kind == AuthorizerKind::ApiKey)
        });
        Ok(Operation {
            method,
            path: if default_route {
                "$default".to_string()
            } else {
                path.to_string()
            },
            pointer: ptr.to_string(),
            integration: self.integration(o, ptr)?,
            security,
            api_key_required,
            request_validator,
            parameters: params.list,
            request_models,
        })
    }

    /// Reads a `parameters` list; an operation's entries replace the path item's of the same location and name.
    fn parameters(&mut self, v: &'a Value, ptr: &str, into: &mut Params<'a>) -> Result<()> {
        let Value::Array(items) = v else {
            return Err(wrong(ptr, "an array", v));
        };
        for (i, item) in items.iter().enumerate() {
            let (item, p) = self.deref(item, &child(ptr, &i.to_string()))?;
            let o = object(item, &p)?;
            let location = req_text(o, "in", &p)?;
            let location = match location.as_str() {
                "path" => ParameterLocation::Path,
                "query" => ParameterLocation::Query,
                "header" => ParameterLocation::Header,
                "body" => {
                    let missing = || OpenApiError::MissingField {
                        pointer: p.clone(),
                        field: "schema",
                    };
                    into.body = Some((get(o, "schema").ok_or_else(missing)?, child(&p, "schema")));
                    continue;
                }
                "formData" | "cookie" => {
                    self.warn(
                        &p,
                        "API Gateway does not validate this kind of parameter; ignored",
                    );
                    continue;
                }
                _ => {
                    let (pointer, expected) = (child(&p, "in"), "a parameter location");
                    return Err(OpenApiError::InvalidValue {
                        pointer,
                        value: location,
                        expected,
                    });
                }
            };
            let name = req_text(o, "name", &p)?;
            // Path parameters are always required (OpenAPI; SAM adds them with `required: true`, §10).
            let required = location == ParameterLocation::Path || flag(o, "required", &p)?;
            into.list
                .retain(|x| x.location != location || x.name != name);
            into.list.push(Parameter {
                location,
                name,
                required,
            });
        }
        Ok(())
    }

    /// The model a body schema names, or the schema registered as a model under its own pointer.
    fn model_name(&mut self, schema: &'a Value, ptr: &str) -> Result<String> {
        let reference = schema.as_object().and_then(|o| get(o, "$ref"));
        let Some(reference) = reference else {
            self.models
                .entry(ptr.to_string())
                .or_insert_with(|| schema.clone());
            return Ok(ptr.to_string());
        };
        let reference = text(reference, &child(ptr, "$ref"))?;
        let prefix = match self.version {
            SpecVersion::Swagger2 => "#/definitions/",
            SpecVersion::OpenApi3 => "#/components/schemas/",
        };
        // API Gateway also accepts its own model URLs in references (vtl notes §7).
        let name = match reference.strip_prefix(prefix) {
            Some(name) => Some(name),
            None if reference.starts_with("https://apigateway.amazonaws.com/restapis/") => {
                reference.rsplit_once("/models/").map(|(_, name)| name)
            }
            None => None,
        };
        match name {
            Some(name) if self.models.contains_key(name) => Ok(name.to_string()),
            Some(_) => Err(OpenApiError::BrokenRef {
                pointer: child(ptr, "$ref"),
                reference,
            }),
            None => {
                let (target, target_ptr) = self.deref(schema, ptr)?;
                self.models
                    .entry(target_ptr.clone())
                    .or_insert_with(|| target.clone());
                Ok(target_ptr)
            }
        }
    }

    /// `x-amazon-apigateway-integration` (§14), following a shared-integration `$ref`.
    fn integration(&mut self, op: &Map<String, Value>, ptr: &str) -> Result<Integration> {
        // Missing and unsupported integrations are variants of their own, so they need no warning here.
        let Some(v) = get(op, INTEGRATION) else {
            return Ok(Integration::Missing);
        };
        let (v, ip) = self.deref(v, &child(ptr, INTEGRATION))?;
        let o = object(v, &ip)?;
        let ty = req_text(o, "type", &ip)?.to_ascii_lowercase();
        let method = opt_text(o, "httpMethod", &ip)?;
        let timeout_ms = opt_u64(o, "timeoutInMillis", &ip)?;
        // Credentials, caching and descriptions have no local effect, so they are accepted without a warning.
        let mut known = vec![
            "type",
            "uri",
            "httpMethod",
            "credentials",
            "cacheKeyParameters",
            "cacheNamespace",
        ];
        known.push("description");
        let integration = match ty.as_str() {
            "aws" | "aws_proxy" => {
                let uri = opt_text(o, "uri", &ip)?;
                let target = match (opt_text(o, "integrationSubtype", &ip)?, &uri) {
                    (Some(subtype), _) => Target::Service(subtype),
                    (None, Some(uri)) => target(uri),
                    (None, None) => {
                        return Err(OpenApiError::MissingField {
                            pointer: ip,
                            field: "uri",
                        });
                    }
                };
                let uri = uri.unwrap_or_default();
                let no_function = || OpenApiError::NoFunction {
                    pointer: child(&ip, "uri"),
                    uri: uri.clone(),
                };
                match target {
                    Target::Service(service) => Integration::Unsupported {
                        kind: format!("{ty} {service}"),
                    },
                    Target::Unknown => return Err(no_function()),
                    Target::Lambda(part) => {
                        let function = function_ref(&part).ok_or_else(no_function)?;
                        if method
                            .as_deref()
                            .is_some_and(|m| !m.eq_ignore_ascii_case("POST"))
                        {
                            self.warn(
                                &child(&ip, "httpMethod"),
                                "Lambda integrations must use POST",
                            );
                        }
                        if ty == "aws_proxy" {
                            known.extend(["payloadFormatVersion", "timeoutInMillis"]);
                            let payload_format_version = opt_text(o, "payloadFormatVersion", &ip)?;
                            Integration::LambdaProxy {
                                function,
                                payload_format_version,
                                timeout_ms,
                            }
                        } else {
                            known.extend([
                                "requestTemplates",
                                "passthroughBehavior",
                                "responses",
                                "timeoutInMillis",
                                "contentHandling",
                            ]);
                            Integration::Lambda {
                                function,
                                request_templates: string_map(o, "requestTemplates", &ip)?,
                                passthrough_behavior: opt_text(o, "passthroughBehavior", &ip)?,
                                responses: self.responses(o, &ip)?,
                                timeout_ms,
                                content_handling: opt_text(o, "contentHandling", &ip)?,
                            }
                        }
                    }
                }
            }
            "mock" => {
                known.extend(["requestTemplates", "responses"]);
                let request_templates = string_map(o, "requestTemplates", &ip)?;
                Integration::Mock {
                    request_templates,
                    responses: self.responses(o, &ip)?,
                }
            }
            "http" | "http_proxy" => {
                let uri = req_text(o, "uri", &ip)?;
                Integration::Http {
                    uri,
                    proxy: ty == "http_proxy",
                    method,
                }
            }
            _ => {
                let expected = "an integration type (aws, aws_proxy, http, http_proxy, mock)";
                return Err(OpenApiError::InvalidValue {
                    pointer: child(&ip, "type"),
                    value: ty,
                    expected,
                });
            }
        };
        if !matches!(integration, Integration::Unsupported { .. }) {
            self.warn_fields(o, &ip, &known);
        }
        Ok(integration)
    }

    /// Integration responses: keys are selection patterns or `default` (vtl notes §8.3).
    fn responses(&mut self, o: &Map<String, Value>, ptr: &str) -> Result<Vec<IntegrationResponse>> {
        let Some(v) = get(o, "responses") else {
            return Ok(Vec::new());
        };
        let ptr = child(ptr, "responses");
        let mut out = Vec::new();
        for (key, response) in object(v, &ptr)? {
            let p = child(&ptr, key);
            let r = object(response, &p)?;
            self.warn_fields(
                r,
                &p,
                &["statusCode", "responseTemplates", "responseParameters"],
            );
            let code = get(r, "statusCode").ok_or_else(|| OpenApiError::MissingField {
                pointer: p.clone(),
                field: "statusCode",
            })?;
            let status = match code {
                Value::String(s) => s.trim().parse::<u16>().ok(),
                Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
                _ => None,
            };
            let status = status.filter(|s| (100..=599).contains(s)).ok_or_else(|| {
                let value = code
                    .as_str()
                    .map_or_else(|| code.to_string(), str::to_string);
                OpenApiError::BadStatusCode {
                    pointer: child(&p, "statusCode"),
                    value,
                }
            })?;
            out.push(IntegrationResponse {
                pattern: (key != "default").then(|| key.clone()),
                status,
                response_templates: string_map(r, "responseTemplates", &p)?,
                response_parameters: string_map(r, "responseParameters", &p)?,
            });
        }
        Ok(out)
    }
}

/// What an `aws`/`aws_proxy` integration URI points at.
enum Target {
    /// The function part of a Lambda URI, possibly empty when the URI names none.
    Lambda(String),
    /// Another AWS service, or an HTTP API integration subtype.
    Service(String),
    Unknown,
}

/// Accepts `arn:<p>:apigateway:<region>:lambda:path/<date>/functions/<function>/invocations` (or
/// `.../response-streaming-invocations`), a bare Lambda function ARN as HTTP APIs allow, and any URI made of
/// stage variables (§10, §13, §15).
fn target(uri: &str) -> Target {
    let parts: Vec<&str> = uri.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _, "apigateway", _, "lambda", rest] => {
            let function = rest.split_once("/functions/").and_then(|(_, f)| {
                f.strip_suffix("/invocations")
                    .or_else(|| f.strip_suffix("/response-streaming-invocations"))
            });
            Target::Lambda(function.unwrap_or_default().to_string())
        }
        ["arn", _, "apigateway", _, service, _] => Target::Service(service.to_string()),
        ["arn", _, "lambda", ..] => Target::Lambda(uri.to_string()),
        _ if uri.contains(STAGE_VARIABLE) => Target::Lambda(uri.to_string()),
        _ => Target::Unknown,
    }
}

fn function_ref(part: &str) -> Option<FunctionRef> {
    let Some(start) = part.find(STAGE_VARIABLE) else {
        return parse_function(part);
    };
    let after = &part[start + STAGE_VARIABLE.len()..];
    let end = after.find('}')?;
    Some(FunctionRef::StageVariable {
        variable: after[..end].to_string(),
        raw: part.to_string(),
    })
}

/// The function a Lambda integration URI (or a bare function ARN) names, for readers of raw resources.
pub fn lambda_uri_function(uri: &str) -> Option<FunctionRef> {
    match target(uri) {
        Target::Lambda(part) => function_ref(&part),
        _ => None,
    }
}

/// A function ARN, a partial ARN (`<account>:function:<name>`) or a name, each with an optional qualifier.
pub fn parse_function(part: &str) -> Option<FunctionRef> {
    let segments: Vec<&str> = part.split(':').collect();
    let (name, qualifier) = match segments.as_slice() {
        ["arn", _, "lambda", _, _, "function", name] | [_, "function", name] | [name] => {
            (*name, None)
        }
        ["arn", _, "lambda", _, _, "function", name, q] | [_, "function", name, q] | [name, q] => {
            (*name, Some(*q))
        }
        _ => return None,
    };
    if name.is_empty() || qualifier == Some("") || part.contains('/') {
        return None;
    }
    Some(FunctionRef::Arn {
        name: name.to_string(),
        qualifier: qualifier.map(str::to_string),
        arn: part.to_string(),
    })
}

/// Appends one escaped segment to a JSON pointer (RFC 6901).
fn child(ptr: &str, segment: &str) -> String {
    format!("{ptr}/{}", segment.replace('~', "~0").replace('/', "~1"))
}

/// A field, treating `null` as absent (YAML writes an empty value as null).
fn get<'v>(o: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    o.get(key).filter(|v| !v.is_null())
}

fn wrong(ptr: &str, expected: &'static str, v: &Value) -> OpenApiError {
    let found = match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    OpenApiError::WrongType {
        pointer: ptr.to_string(),
        expected,
        found,
    }
}

fn object<'v>(v: &'v Value, ptr: &str) -> Result<&'v Map<String, Value>> {
    v.as_object().ok_or_else(|| wrong(ptr, "an object", v))
}

/// A scalar as text; YAML turns `2.0` or `200` into numbers where a string is meant.
fn text(v: &Value, ptr: &str) -> Result<String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(wrong(ptr, "a string", v)),
    }
}

fn opt_text(o: &Map<String, Value>, key: &str, ptr: &str) -> Result<Option<String>> {
    get(o, key).map(|v| text(v, &child(ptr, key))).transpose()
}

fn req_text(o: &Map<String, Value>, field: &'static str, ptr: &str) -> Result<String> {
    let missing = || OpenApiError::MissingField {
        pointer: ptr.to_string(),
        field,
    };
    opt_text(o, field, ptr)?.ok_or_else(missing)
}

fn opt_u64(o: &Map<String, Value>, key: &str, ptr: &str) -> Result<Option<u64>> {
    let Some(v) = get(o, key) else {
        return Ok(None);
    };
    let n = match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    n.map(Some)
        .ok_or_else(|| wrong(&child(ptr, key), "a non-negative integer", v))
}

fn flag(o: &Map<String, Value>, key: &str, ptr: &str) -> Result<bool> {
    match get(o, key) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(true),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(false),
        Some(v) => Err(wrong(&child(ptr, key), "a boolean", v)),
    }
}

/// A list of strings; a single string counts as a list of one.
fn strings(o: &Map<String, Value>, key: &str, ptr: &str) -> Result<Vec<String>> {
    let p = child(ptr, key);
    match get(o, key) {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => {
            let each = items
                .iter()
                .enumerate()
                .map(|(i, v)| text(v, &child(&p, &i.to_string())));
            each.collect()
        }
        Some(v) => Ok(vec![text(v, &p)?]),
    }
}

fn string_map(o: &Map<String, Value>, key: &str, ptr: &str) -> Result<BTreeMap<String, String>> {
    let Some(v) = get(o, key) else {
        return Ok(BTreeMap::new());
    };
    let p = child(ptr, key);
    let each = object(v, &p)?
        .iter()
        .map(|(k, v)| Ok((k.clone(), text(v, &child(&p, k))?)));
    each.collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const FN_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:my-fn";

    fn uri(function: &str) -> String {
        format!(
            "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{function}/invocations"
        )
    }

    fn proxy(function: &str) -> Value {
        json!({"type": "aws_proxy", "httpMethod": "POST", "uri": uri(function)})
    }

    fn op<'d>(api: &'d ApiDefinition, method: &str, path: &str) -> &'d Operation {
        let found = api
            .operations
            .iter()
            .find(|o| o.method == method && o.path == path);
        found.unwrap_or_else(|| panic!("no {method} {path} in {:#?}", api.operations))
    }

    fn arn(name: &str, qualifier: Option<&str>, arn: &str) -> FunctionRef {
        let qualifier = qualifier.map(str::to_string);
        FunctionRef::Arn {
            name: name.into(),
            qualifier,
            arn: arn.into(),
        }
    }

    fn err(doc: Value) -> OpenApiError {
        read(&doc).expect_err("the definition should be rejected")
    }

    fn has_warning(api: &ApiDefinition, pointer: &str) -> bool {
        api.warnings
            .iter()
            .any(|w| w.starts_with(&format!("#{pointer}:")))
    }

    /// A body as SAM writes it for an implicit API with CORS (sam notes §10 and §12; SAM
    /// tests/translator/output/api_with_cors.json).
    #[test]
    fn sam_swagger_body_with_proxy_routes_and_cors_preflight() {
        let cors = json!({
            "type": "mock",
            "requestTemplates": {"application/json": "{\n  \"statusCode\" : 200\n}\n"},
            "responses": {"default": {
                "statusCode": "200",
                "responseParameters": {
                    "method.response.header.Access-Control-Allow-Methods": "'GET,OPTIONS'",
                    "method.response.header.Access-Control-Allow-Origin": "'*'"
                },
                "responseTemplates": {"application/json": "{}\n"}
            }}
        });
        let doc = json!({
            "swagger": "2.0",
            "info": {"title": "my-stack", "version": "1.0"},
            "paths": {
                "/": {
                    "get": {"x-amazon-apigateway-integration": proxy(FN_ARN), "responses": {}},
                    "options": {"summary": "CORS support", "consumes": ["application/json"],
                        "x-amazon-apigateway-integration": cors, "responses": {"200": {"description": "x"}}}
                },
                "/{proxy+}": {
                    "x-amazon-apigateway-any-method": {
                        "x-amazon-apigateway-integration": proxy(&format!("{FN_ARN}:live")),
                        "parameters": [{"in": "path", "name": "proxy"}]
                    }
                }
            }
        });
        let api = read(&doc).unwrap();
        assert_eq!(api.version, SpecVersion::Swagger2);
        assert_eq!(api.title.as_deref(), Some("my-stack"));
        assert_eq!(api.operations.len(), 3);
        assert!(api.warnings.is_empty(), "{:?}", api.warnings);

        let get = op(&api, "GET", "/");
        assert_eq!(get.pointer, "/paths/~1/get");
        let expected = Integration::LambdaProxy {
            function: arn("my-fn", None, FN_ARN),
            payload_format_version: None,
            timeout_ms: None,
        };
        assert_eq!(get.integration, expected);
        assert!(
            get.security.is_empty() && !get.api_key_required && get.request_validator.is_none()
        );

        let any = op(&api, "ANY", "/{proxy+}");
        assert_eq!(
            any.pointer,
            "/paths/~1{proxy+}/x-amazon-apigateway-any-method"
        );
        let Integration::LambdaProxy { function, .. } = &any.integration else {
            panic!()
        };
        assert_eq!(
            function,
            &arn("my-fn", Some("live"), &format!("{FN_ARN}:live"))
        );
        let param = Parameter {
            location: ParameterLocation::Path,
            name: "proxy".into(),
            required: true,
        };
        assert_eq!(any.parameters, [param]);

        let Integration::Mock {
            request_templates,
            responses,
        } = &op(&api, "OPTIONS", "/").integration
        else {
            panic!()
        };
        assert_eq!(
            request_templates["application/json"],
            "{\n  \"statusCode\" : 200\n}\n"
        );
        assert_eq!(responses.len(), 1);
        assert_eq!(
            (responses[0].pattern.as_deref(), responses[0].status),
            (None, 200)
        );
        let origin =
            &responses[0].response_parameters["method.response.header.Access-Control-Allow-Origin"];
        assert_eq!(origin, "'*'");
        assert_eq!(responses[0].response_templates["application/json"], "{}\n");
    }

    /// A non-proxy Lambda integration with templates and selection patterns (sam notes §14; vtl notes §8).
    #[test]
    fn aws_lambda_integration_with_templates_and_selection_patterns() {
        let doc = json!({"swagger": "2.0", "paths": {"/pets": {"post": {"x-amazon-apigateway-integration": {
            "type": "AWS",
            "httpMethod": "POST",
            "uri": uri(FN_ARN),
            "requestTemplates": {"application/json": "{\"name\": $input.json('$.name')}"},
            "passthroughBehavior": "when_no_templates",
            "timeoutInMillis": "5000",
            "contentHandling": "CONVERT_TO_TEXT",
            "credentials": "arn:aws:iam::123456789012:role/apigw",
            "responses": {
                "default": {"statusCode": 200, "responseTemplates": {"application/json": "$input.body"}},
                ".*not found.*": {"statusCode": "404", "responseParameters": {
                    "method.response.header.X-Error": "integration.response.body.errorType"}}
            }
        }}}}});
        let api = read(&doc).unwrap();
        assert!(api.warnings.is_empty(), "{:?}", api.warnings);
        let Integration::Lambda {
            function,
            request_templates,
            passthrough_behavior,
            responses,
            timeout_ms,
            content_handling,
        } = &op(&api, "POST", "/pets").integration
        else {
            panic!("{:?}", api.operations[0].integration)
        };
        assert_eq!(function, &arn("my-fn", None, FN_ARN));
        assert_eq!(
            request_templates["application/json"],
            "{\"name\": $input.json('$.name')}"
        );
        assert_eq!(passthrough_behavior.as_deref(), Some("when_no_templates"));
        assert_eq!(*timeout_ms, Some(5000));
        assert_eq!(content_handling.as_deref(), Some("CONVERT_TO_TEXT"));
        let default = responses.iter().find(|r| r.pattern.is_none()).unwrap();
        assert_eq!(default.status, 200);
        assert_eq!(
            default.response_templates["application/json"],
            "$input.body"
        );
        let not_found = responses
            .iter()
            .find(|r| r.pattern.as_deref() == Some(".*not found.*"))
            .unwrap();
        assert_eq!(not_found.status, 404);
        assert_eq!(
            not_found.response_parameters["method.response.header.X-Error"],
            "integration.response.body.errorType"
        );
    }

    /// Security definitions as SAM writes them (sam notes §12; SAM tests/translator/output/api_with_auth_all_minimum.json).
    #[test]
    fn rest_authorizers_api_keys_and_security() {
        let doc = json!({
            "swagger": "2.0",
            "securityDefinitions": {
                "TokenAuth": {"type": "apiKey", "name": "Authorization", "in": "header",
                    "x-amazon-apigateway-authtype": "custom",
                    "x-amazon-apigateway-authorizer": {"type": "token", "authorizerUri": uri("arn:aws:lambda:us-east-1:123456789012:function:auth"),
                        "authorizerResultTtlInSeconds": 0, "identityValidationExpression": "^Bearer .+$"}},
                "RequestAuth": {"type": "apiKey", "name": "Unused", "in": "header",
                    "x-amazon-apigateway-authtype": "custom",
                    "x-amazon-apigateway-authorizer": {"type": "request", "authorizerUri": uri("auth:live"),
                        "identitySource": "method.request.header.A, method.request.querystring.b"}},
                "Cognito": {"type": "apiKey", "name": "Authorization", "in": "header",
                    "x-amazon-apigateway-authtype": "cognito_user_pools",
                    "x-amazon-apigateway-authorizer": {"type": "cognito_user_pools",
                        "providerARNs": ["arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_abc"]}},
                "AWS_IAM": {"type": "apiKey", "name": "Authorization", "in": "header",
                    "x-amazon-apigateway-authtype": "awsSigv4"},
                "api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"},
                "basic": {"type": "basic"}
            },
            "security": [{"TokenAuth": []}],
            "paths": {"/a": {
                "get": {"x-amazon-apigateway-integration": proxy(FN_ARN)},
                "post": {"x-amazon-apigateway-integration": proxy(FN_ARN),
                    "security": [{"Cognito": ["email"]}, {"api_key": []}]},
                "put": {"x-amazon-apigateway-integration": proxy(FN_ARN), "security": []},
                "delete": {"x-amazon-apigateway-integration": proxy(FN_ARN),
                    "security": [{"RequestAuth": [], "basic": []}]}
            }}
        });
        let api = read(&doc).unwrap();
        let token = &api.authorizers["TokenAuth"];
        assert_eq!(token.kind, AuthorizerKind::Token);
        assert_eq!(
            token.identity_source.as_deref(),
            Some("method.request.header.Authorization")
        );
        assert_eq!(
            token.identity_validation_expression.as_deref(),
            Some("^Bearer .+$")
        );
        assert_eq!(token.result_ttl_seconds, Some(0));
        let auth_arn = "arn:aws:lambda:us-east-1:123456789012:function:auth";
        assert_eq!(token.function, Some(arn("auth", None, auth_arn)));

        let request = &api.authorizers["RequestAuth"];
        assert_eq!(request.kind, AuthorizerKind::Request);
        let source = "method.request.header.A, method.request.querystring.b";
        assert_eq!(request.identity_source.as_deref(), Some(source));
        assert_eq!(
            request.function,
            Some(arn("auth", Some("live"), "auth:live"))
        );
        assert_eq!(request.result_ttl_seconds, None);

        let cognito = &api.authorizers["Cognito"];
        assert_eq!(cognito.kind, AuthorizerKind::CognitoUserPools);
        assert_eq!(
            cognito.identity_source.as_deref(),
            Some("method.request.header.Authorization")
        );
        assert_eq!(cognito.provider_arns.len(), 1);
        assert_eq!(cognito.function, None);
        assert_eq!(api.authorizers["AWS_IAM"].kind, AuthorizerKind::Iam);
        assert_eq!(api.authorizers["api_key"].kind, AuthorizerKind::ApiKey);
        assert!(!api.authorizers.contains_key("basic"));
        assert!(
            has_warning(&api, "/securityDefinitions/basic"),
            "{:?}",
            api.warnings
        );

        let req = |name: &str, scopes: &[&str]| SecurityRequirement {
            name: name.into(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
        };
        let get = op(&api, "GET", "/a");
        assert_eq!(
            (get.security.as_slice(), get.api_key_required),
            (&[req("TokenAuth", &[])][..], false)
        );
        let post = op(&api, "POST", "/a");
        assert_eq!(
            post.security,
            [req("Cognito", &["email"]), req("api_key", &[])]
        );
        assert!(post.api_key_required);
        let put = op(&api, "PUT", "/a");
        assert!(put.security.is_empty() && !put.api_key_required);
        assert_eq!(op(&api, "DELETE", "/a").security, [req("RequestAuth", &[])]);
    }

    /// Validators, models and parameters (vtl notes §7: SAM RequestModel and RequestParameters).
    #[test]
    fn validators_models_and_parameters() {
        let doc = json!({
            "swagger": "2.0",
            "consumes": ["application/json", "application/x-pet"],
            "x-amazon-apigateway-request-validators": {
                "body-only": {"validateRequestBody": true, "validateRequestParameters": false},
                "params-only": {"validateRequestParameters": true}
            },
            "x-amazon-apigateway-request-validator": "body-only",
            "definitions": {"pet": {"type": "object", "required": ["name"]}},
            "parameters": {"Trace": {"in": "header", "name": "X-Trace", "required": true}},
            "paths": {"/pets/{id}": {
                "parameters": [{"in": "path", "name": "id", "type": "string"},
                    {"in": "query", "name": "verbose", "required": false}],
                "post": {
                    "x-amazon-apigateway-integration": proxy(FN_ARN),
                    "parameters": [{"in": "body", "name": "pet", "schema": {"$ref": "#/definitions/pet"}},
                        {"in": "query", "name": "verbose", "required": true}, {"$ref": "#/parameters/Trace"}]
                },
                "get": {
                    "x-amazon-apigateway-integration": proxy(FN_ARN),
                    "x-amazon-apigateway-request-validator": "params-only",
                    "consumes": ["text/plain"],
                    "parameters": [{"in": "body", "name": "b", "schema": {"type": "string"}}]
                }
            }}
        });
        let api = read(&doc).unwrap();
        assert!(api.warnings.is_empty(), "{:?}", api.warnings);
        let body_only = RequestValidator {
            body: true,
            parameters: false,
        };
        assert_eq!(api.request_validators["body-only"], body_only);
        let params_only = RequestValidator {
            body: false,
            parameters: true,
        };
        assert_eq!(api.request_validators["params-only"], params_only);
        assert_eq!(api.default_validator.as_deref(), Some("body-only"));

        let post = op(&api, "POST", "/pets/{id}");
        assert_eq!(post.request_validator.as_deref(), Some("body-only"));
        let p = |location, name: &str, required| Parameter {
            location,
            name: name.into(),
            required,
        };
        let expected = [
            p(ParameterLocation::Path, "id", true),
            p(ParameterLocation::Query, "verbose", true),
            p(ParameterLocation::Header, "X-Trace", true),
        ];
        assert_eq!(post.parameters, expected);
        let models: Vec<_> = post
            .request_models
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            models,
            [("application/json", "pet"), ("application/x-pet", "pet")]
        );
        assert_eq!(api.models["pet"]["required"], json!(["name"]));

        let get = op(&api, "GET", "/pets/{id}");
        assert_eq!(get.request_validator.as_deref(), Some("params-only"));
        let inline = "/paths/~1pets~1{id}/get/parameters/0/schema";
        assert_eq!(get.request_models["text/plain"], inline);
        assert_eq!(api.models[inline], json!({"type": "string"}));
    }

    /// Top-level extensions (sam notes §14) and warnings for what is not understood.
    #[test]
    fn top_level_extensions_and_warnings() {
        let doc = json!({
            "swagger": "2.0",
            "basePath": "/v1",
            "x-amazon-apigateway-binary-media-types": ["image/png", "application/octet-stream"],
            "x-amazon-apigateway-api-key-source": "AUTHORIZER",
            "x-amazon-apigateway-gateway-responses": {"DEFAULT_4XX": {"responseParameters": {
                "gatewayresponse.header.Access-Control-Allow-Origin": "'*'"}}},
            "x-amazon-apigateway-policy": {"Version": "2012-10-17"},
            "x-other-vendor": true,
            "paths": {"/a": {
                "x-amazon-apigateway-foo": 1,
                "get": {
                    "x-amazon-apigateway-auth": {"type": "AWS_IAM"},
                    "x-amazon-apigateway-integration": {"type": "aws_proxy", "httpMethod": "GET", "uri": uri(FN_ARN),
                        "requestParameters": {"integration.request.header.x": "'a'"}}
                },
                "trace": {},
                "put": {}
            }}
        });
        let api = read(&doc).unwrap();
        assert_eq!(
            api.binary_media_types,
            ["image/png", "application/octet-stream"]
        );
        assert_eq!(api.api_key_source, Some(ApiKeySource::Authorizer));
        assert!(api.gateway_responses.contains_key("DEFAULT_4XX"));
        for pointer in [
            "/basePath",
            "/x-amazon-apigateway-policy",
            "/paths/~1a/x-amazon-apigateway-foo",
            "/paths/~1a/get/x-amazon-apigateway-auth",
            "/paths/~1a/get/x-amazon-apigateway-integration/httpMethod",
            "/paths/~1a/get/x-amazon-apigateway-integration/requestParameters",
            "/paths/~1a/trace",
        ] {
            assert!(
                has_warning(&api, pointer),
                "no warning for {pointer} in {:#?}",
                api.warnings
            );
        }
        assert_eq!(api.warnings.len(), 7, "{:#?}", api.warnings);
        assert_eq!(op(&api, "PUT", "/a").integration, Integration::Missing);
    }

    /// An HTTP API body as SAM writes it (sam notes §10, §12, §14; vtl notes §2–3).
    #[test]
    fn openapi3_http_api() {
        let doc = json!({
            "openapi": "3.0.1",
            "info": {"title": "http"},
            "x-amazon-apigateway-cors": {"allowOrigins": ["https://a.example"], "allowMethods": ["GET", "POST"],
                "allowHeaders": "content-type", "exposeHeaders": ["x-id"], "maxAge": 600, "allowCredentials": true},
            "components": {
                "securitySchemes": {
                    "Jwt": {"type": "oauth2", "x-amazon-apigateway-authorizer": {"type": "jwt",
                        "identitySource": "$request.header.Authorization",
                        "jwtConfiguration": {"issuer": "https://issuer.example", "audience": ["aud1", "aud2"]}}},
                    "Lambda": {"type": "apiKey", "name": "Unused", "in": "header",
                        "x-amazon-apigateway-authorizer": {"type": "request", "authorizerUri": uri(FN_ARN),
                            "identitySource": ["$request.header.X", "$request.querystring.y"],
                            "authorizerPayloadFormatVersion": "2.0", "enableSimpleResponses": true,
                            "authorizerResultTtlInSeconds": 300}}
                },
                "schemas": {"Pet": {"type": "object"}},
                "x-amazon-apigateway-integrations": {"shared": {"type": "aws_proxy", "uri": FN_ARN,
                    "payloadFormatVersion": 1.0, "timeoutInMillis": 3000}}
            },
            "paths": {
                "/pets": {"post": {
                    "security": [{"Jwt": ["pets/write"]}],
                    "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}}},
                    "x-amazon-apigateway-integration": {"$ref": "#/components/x-amazon-apigateway-integrations/shared"}
                }},
                "/lambda": {"get": {"security": [{"Lambda": []}], "x-amazon-apigateway-integration":
                    {"type": "AWS_PROXY", "httpMethod": "POST", "uri": uri(FN_ARN), "payloadFormatVersion": "2.0"}}},
                "$default": {"x-amazon-apigateway-any-method": {"isDefaultRoute": true,
                    "x-amazon-apigateway-integration": {"type": "aws_proxy", "httpMethod": "POST",
                        "uri": uri(FN_ARN), "payloadFormatVersion": "2.0"}}}
            }
        });
        let api = read(&doc).unwrap();
        assert!(api.warnings.is_empty(), "{:?}", api.warnings);
        assert_eq!(api.version, SpecVersion::OpenApi3);
        let cors = api.cors.as_ref().unwrap();
        assert_eq!(cors.allow_origins, ["https://a.example"]);
        assert_eq!(cors.allow_methods, ["GET", "POST"]);
        assert_eq!(cors.allow_headers, ["content-type"]);
        assert_eq!(
            (cors.expose_headers.as_slice(), cors.max_age),
            (&["x-id".to_string()][..], Some(600))
        );
        assert!(cors.allow_credentials);

        let jwt = &api.authorizers["Jwt"];
        assert_eq!(jwt.kind, AuthorizerKind::Jwt);
        assert_eq!(jwt.jwt_issuer.as_deref(), Some("https://issuer.example"));
        assert_eq!(jwt.jwt_audience, ["aud1", "aud2"]);
        assert_eq!(
            jwt.identity_source.as_deref(),
            Some("$request.header.Authorization")
        );
        let lambda = &api.authorizers["Lambda"];
        assert_eq!(lambda.kind, AuthorizerKind::Request);
        assert_eq!(
            lambda.identity_source.as_deref(),
            Some("$request.header.X, $request.querystring.y")
        );
        assert_eq!(lambda.payload_format_version.as_deref(), Some("2.0"));
        assert!(lambda.simple_responses);
        assert_eq!(lambda.result_ttl_seconds, Some(300));

        let post = op(&api, "POST", "/pets");
        assert_eq!(post.security[0].scopes, ["pets/write"]);
        assert_eq!(post.request_models["application/json"], "Pet");
        let shared = Integration::LambdaProxy {
            function: arn("my-fn", None, FN_ARN),
            payload_format_version: Some("1.0".into()),
            timeout_ms: Some(3000),
        };
        assert_eq!(post.integration, shared);
        let get = op(&api, "GET", "/lambda");
        let Integration::LambdaProxy {
            payload_format_version,
            ..
        } = &get.integration
        else {
            panic!()
        };
        assert_eq!(payload_format_version.as_deref(), Some("2.0"));
        let default = op(&api, "ANY", "$default");
        assert_eq!(
            default.pointer,
            "/paths/$default/x-amazon-apigateway-any-method"
        );
    }

    #[test]
    fn lambda_uris_qualified_streaming_and_stage_variables() {
        let function = lambda_uri_function;
        let streaming = "arn:aws:apigateway:us-east-1:lambda:path/2021-11-15/functions/my-fn:live/response-streaming-invocations";
        assert_eq!(
            function(streaming),
            Some(arn("my-fn", Some("live"), "my-fn:live"))
        );
        let partial = "123456789012:function:my-fn:3";
        assert_eq!(
            function(&uri(partial)),
            Some(arn("my-fn", Some("3"), partial))
        );
        let bare = format!("{FN_ARN}:$LATEST");
        assert_eq!(function(&bare), Some(arn("my-fn", Some("$LATEST"), &bare)));
        assert_eq!(function(&uri("")), None);
        assert_eq!(
            function("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions"),
            None
        );

        let raw = "arn:aws:lambda:us-east-1:123456789012:function:${stageVariables.fn}:${stageVariables.alias}";
        let staged = function(&uri(raw)).unwrap();
        let expected = FunctionRef::StageVariable {
            variable: "fn".into(),
            raw: raw.into(),
        };
        assert_eq!(staged, expected);
        let mut vars = BTreeMap::from([("fn".to_string(), "orders".to_string())]);
        assert_eq!(
            staged.resolve(&vars),
            None,
            "an undefined variable resolves to nothing"
        );
        vars.insert("alias".into(), "prod".into());
        let resolved = "arn:aws:lambda:us-east-1:123456789012:function:orders:prod";
        assert_eq!(
            staged.resolve(&vars),
            Some(arn("orders", Some("prod"), resolved))
        );
        let whole = function("${stageVariables.target}").unwrap();
        let vars = BTreeMap::from([("target".to_string(), FN_ARN.to_string())]);
        assert_eq!(whole.resolve(&vars), Some(arn("my-fn", None, FN_ARN)));
    }

    #[test]
    fn other_integrations() {
        let doc = json!({"openapi": "3.0.1", "paths": {"/x": {
            "get": {"x-amazon-apigateway-integration": {"type": "aws", "httpMethod": "POST",
                "uri": "arn:aws:apigateway:us-east-1:sqs:path/123456789012/queue"}},
            "post": {"x-amazon-apigateway-integration": {"type": "aws_proxy",
                "integrationSubtype": "SQS-SendMessage", "requestParameters": {"QueueUrl": "q"}}},
            "put": {"x-amazon-apigateway-integration": {"type": "http_proxy", "httpMethod": "ANY",
                "uri": "https://${stageVariables.host}/x", "payloadFormatVersion": "1.0"}},
            "patch": {"x-amazon-apigateway-integration": {"type": "http", "uri": "https://example.com"}}
        }}});
        let api = read(&doc).unwrap();
        let kind = |m| match &op(&api, m, "/x").integration {
            Integration::Unsupported { kind } => kind.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(kind("GET"), "aws sqs");
        assert_eq!(kind("POST"), "aws_proxy SQS-SendMessage");
        let http = Integration::Http {
            uri: "https://${stageVariables.host}/x".into(),
            proxy: true,
            method: Some("ANY".into()),
        };
        assert_eq!(op(&api, "PUT", "/x").integration, http);
        let http = Integration::Http {
            uri: "https://example.com".into(),
            proxy: false,
            method: None,
        };
        assert_eq!(op(&api, "PATCH", "/x").integration, http);
        // An unsupported integration's own fields are not warned about; the variant says enough.
        let unsupported = "/paths/~1x/post/x-amazon-apigateway-integration/requestParameters";
        assert!(!has_warning(&api, unsupported));
        assert!(has_warning(
            &api,
            "/paths/~1x/put/x-amazon-apigateway-integration/payloadFormatVersion"
        ));
    }

    #[test]
    fn errors_name_the_pointer_and_the_problem() {
        let message = |doc: Value| err(doc).to_string();
        assert_eq!(message(json!([])), "#: expected an object, found an array");
        assert_eq!(
            message(json!({"swagger": "2.0", "paths": "x"})),
            "#/paths: expected an object, found a string"
        );
        assert!(matches!(err(json!({"info": {}})), OpenApiError::NoVersion));
        assert!(matches!(
            err(json!({"swagger": "1.2"})),
            OpenApiError::UnsupportedVersion { .. }
        ));
        let e = message(json!({"swagger": "2.0", "paths": {"/a": {"fetch": {}}}}));
        assert_eq!(
            e,
            "#/paths/~1a: `fetch` is neither an HTTP method nor a path-item field"
        );

        let integration = |i: Value| json!({"swagger": "2.0", "paths": {"/a": {"get": {"x-amazon-apigateway-integration": i}}}});
        let e = err(integration(json!({"type": "aws_proxy", "uri": uri("")})));
        let OpenApiError::NoFunction { pointer, .. } = &e else {
            panic!("{e}")
        };
        assert_eq!(
            pointer,
            "/paths/~1a/get/x-amazon-apigateway-integration/uri"
        );
        let e = err(integration(
            json!({"type": "aws", "uri": "https://example.com"}),
        ));
        assert!(matches!(e, OpenApiError::NoFunction { .. }), "{e}");
        let e = err(integration(json!({"type": "aws_proxy"})));
        assert!(
            matches!(e, OpenApiError::MissingField { field: "uri", .. }),
            "{e}"
        );
        let e = err(integration(json!({"uri": uri(FN_ARN)})));
        assert!(
            matches!(e, OpenApiError::MissingField { field: "type", .. }),
            "{e}"
        );
        let e = err(integration(json!({"type": "lambda", "uri": uri(FN_ARN)})));
        assert!(matches!(e, OpenApiError::InvalidValue { .. }), "{e}");
        for bad in [json!("abc"), json!(99), json!(600), json!(true)] {
            let e = err(integration(
                json!({"type": "mock", "responses": {"default": {"statusCode": bad}}}),
            ));
            let OpenApiError::BadStatusCode { pointer, .. } = &e else {
                panic!("{e}")
            };
            assert_eq!(
                pointer,
                "/paths/~1a/get/x-amazon-apigateway-integration/responses/default/statusCode"
            );
        }
        let e = err(integration(
            json!({"type": "mock", "responses": {"default": {}}}),
        ));
        assert!(
            matches!(
                e,
                OpenApiError::MissingField {
                    field: "statusCode",
                    ..
                }
            ),
            "{e}"
        );
        let e = err(integration(json!({"$ref": "other.yaml#/x"})));
        assert!(matches!(e, OpenApiError::RemoteRef { .. }), "{e}");
        let e = err(integration(
            json!({"$ref": "#/components/x-amazon-apigateway-integrations/none"}),
        ));
        assert!(matches!(e, OpenApiError::BrokenRef { .. }), "{e}");

        let operation = |o: Value| json!({"swagger": "2.0", "paths": {"/a": {"get": o}}});
        let e = err(operation(
            json!({"parameters": [{"$ref": "https://example.com/p.json"}]}),
        ));
        assert!(matches!(e, OpenApiError::RemoteRef { .. }), "{e}");
        let e = err(operation(json!({"security": [{"Nope": []}]})));
        assert_eq!(
            e.to_string(),
            "#/paths/~1a/get/security/0/Nope: no security scheme named `Nope` is defined"
        );
        let e = err(operation(
            json!({"x-amazon-apigateway-request-validator": "none"}),
        ));
        assert!(
            matches!(
                e,
                OpenApiError::Undefined {
                    what: "request validator",
                    ..
                }
            ),
            "{e}"
        );
        let e = err(operation(
            json!({"parameters": [{"in": "body", "name": "b", "schema": {"$ref": "#/definitions/Nope"}}]}),
        ));
        assert!(matches!(e, OpenApiError::BrokenRef { .. }), "{e}");
        let e = err(
            json!({"swagger": "2.0", "securityDefinitions": {"A": {"type": "apiKey",
            "x-amazon-apigateway-authorizer": {"type": "token", "authorizerUri": "arn:aws:apigateway:us-east-1:sqs:path/x"}}}}),
        );
        assert!(matches!(e, OpenApiError::NoFunction { .. }), "{e}");
        let e = err(json!({"swagger": "2.0", "x-amazon-apigateway-api-key-source": "QUERY"}));
        assert!(matches!(e, OpenApiError::InvalidValue { .. }), "{e}");
    }

    #[test]
    fn read_file_yaml_and_json() {
        let dir = std::env::temp_dir().join(format!("offcloud-openapi-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let yaml = dir.join("api.yaml");
        let text = "swagger: 2.0\npaths:\n  /a:\n    get:\n      x-amazon-apigateway-integration: &i\n        type: mock\n        responses:\n          default:\n            statusCode: 200\n    post:\n      x-amazon-apigateway-integration:\n        <<: *i\n        requestTemplates:\n          application/json: '{\"statusCode\": 200}'\n      responses:\n        200:\n          description: ok\n";
        std::fs::write(&yaml, text).unwrap();
        let api = read_file(&yaml).unwrap();
        let Integration::Mock {
            responses,
            request_templates,
        } = &op(&api, "POST", "/a").integration
        else {
            panic!()
        };
        assert_eq!((responses[0].status, request_templates.len()), (200, 1));

        let json = dir.join("api.json");
        std::fs::write(&json, r#"{"openapi": "3.0.1", "paths": {}}"#).unwrap();
        assert_eq!(read_file(&json).unwrap().version, SpecVersion::OpenApi3);

        let tagged = dir.join("tagged.yml");
        std::fs::write(
            &tagged,
            "swagger: '2.0'\ninfo:\n  title: !Ref AWS::StackName\n",
        )
        .unwrap();
        let e = read_file(&tagged).unwrap_err();
        assert!(
            matches!(e, OpenApiError::Parse { .. }) && e.to_string().contains("!Ref"),
            "{e}"
        );
        let e = read_file(&dir.join("missing.yaml")).unwrap_err();
        assert!(matches!(e, OpenApiError::Io { .. }), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
