//! Request validation for REST APIs, as API Gateway's request validators do it: required request parameters, then
//! the body against the method's model (JSON Schema draft 4) for the request's content type.
//!
//! Sources are those of /work/shared/notes/apigw-authorizers-validation-vtl.md §7 and §10:
//! - DG:api-gateway-method-request-validation (live page,
//!   https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-method-request-validation.html):
//!   required parameters must be included and not blank; with no model for the request's content type the body is
//!   not validated, and a model under `$default` applies to every content type.
//! - DG:api-gateway-request-validation-test and LS:test_apigateway_common::test_api_gateway_request_validator
//!   (recorded from AWS 2024-01): the two 400 bodies, the parameter list format and order, parameters before body.
//! - DG:models-mappings and LS:...::test_api_gateway_request_validator_with_ref_models (recorded 2024-10): draft 4
//!   models, `$ref` between models by URL, the built-in `Empty` and `Error` models.
//! - DG:supported-gateway-response-types: BAD_REQUEST_PARAMETERS and BAD_REQUEST_BODY, both 400.
//!
//! This module is pure: it sees a [`RequestView`] and returns a [`Rejection`] for the gateway to send and log.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, OnceLock};

use serde_json::{Value, json};

/// The content-type key of a model that applies to every content type.
pub const DEFAULT_CONTENT_TYPE: &str = "$default";

/// The meta-schema every model is compiled against, whatever its own `$schema` says: API Gateway models are draft 4.
const DRAFT4: &str = "http://json-schema.org/draft-04/schema#";

/// Models refer to each other by this URL, followed by `{api_id}/models/{Name}` (DG:models-mappings).
const MODEL_URL_PREFIX: &str = "https://apigateway.amazonaws.com/restapis/";

/// The api id used when a local `#/definitions/Name` reference is rewritten to a model URL. Any id resolves.
const LOCAL_API_ID: &str = "offcloud";

/// A request validator: `validateRequestBody` and `validateRequestParameters`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Validator {
    pub body: bool,
    pub parameters: bool,
}

/// What one method asks to be validated. Nothing is checked without a validator, even if parameters are marked
/// required or models are set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MethodRules {
    pub validator: Option<Validator>,
    /// Required `method.request.header.*` names, matched case-insensitively.
    pub required_headers: Vec<String>,
    /// Required `method.request.querystring.*` names.
    pub required_query: Vec<String>,
    /// Required `method.request.path.*` names.
    pub required_path: Vec<String>,
    /// `requestModels`: content type (or `$default`) to model name.
    pub models: BTreeMap<String, String>,
}

impl MethodRules {
    /// Records a required parameter given by its `requestParameters` key, such as `method.request.querystring.q1`.
    /// Returns false, recording nothing, for a key of any other form.
    pub fn require(&mut self, key: &str) -> bool {
        let Some(rest) = key.strip_prefix("method.request.") else {
            return false;
        };
        let (list, name) = if let Some(name) = rest.strip_prefix("header.") {
            (&mut self.required_headers, name)
        } else if let Some(name) = rest.strip_prefix("querystring.") {
            (&mut self.required_query, name)
        } else if let Some(name) = rest.strip_prefix("path.") {
            (&mut self.required_path, name)
        } else {
            return false;
        };
        if name.is_empty() {
            return false;
        }
        list.push(name.to_owned());
        true
    }
}

/// The parts of a request that validation reads.
#[derive(Debug, Clone, Copy)]
pub struct RequestView<'a> {
    /// Header names and values as received; names are compared case-insensitively.
    pub headers: &'a [(&'a str, &'a str)],
    /// Percent-decoded query pairs, in order.
    pub query: &'a [(String, String)],
    /// Path parameters from the matched resource.
    pub path: &'a BTreeMap<String, String>,
    pub body: &'a [u8],
}

impl<'a> RequestView<'a> {
    /// Every value of a header, in order.
    pub fn header_values(&self, name: &str) -> impl Iterator<Item = &'a str> {
        let headers = self.headers;
        headers
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }

    /// The media type of the `Content-Type` header, lower-cased and without parameters. A missing or empty header
    /// counts as `application/json`, as it does for mapping-template selection (DG:request-response-data-mappings).
    pub fn media_type(&self) -> String {
        let media = self
            .header_values("content-type")
            .next()
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .unwrap_or_default();
        if media.is_empty() {
            "application/json".to_owned()
        } else {
            media
        }
    }
}

/// Which check failed, and so which gateway response applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectionKind {
    Parameters,
    Body,
}

impl RejectionKind {
    /// The gateway response type whose template renders this rejection (DG:supported-gateway-response-types).
    pub fn gateway_response_type(self) -> &'static str {
        match self {
            RejectionKind::Parameters => "BAD_REQUEST_PARAMETERS",
            RejectionKind::Body => "BAD_REQUEST_BODY",
        }
    }
}

/// A failed validation: what the client gets, and what the execution log gets.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub kind: RejectionKind,
    /// Always 400.
    pub status: u16,
    /// The `x-amzn-ErrorType` header. AWS's value is known only from LocalStack's code (notes §7, §13).
    pub error_type: &'static str,
    /// The default gateway response body, `{"message": ...}`.
    pub body: Value,
    /// For a body rejection, the schema errors (or the JSON parse error), each prefixed by the instance location
    /// as a URI fragment (`#/items/0/name`). For a parameter rejection, the missing parameter names.
    pub detail: Vec<String>,
    /// A line for the execution log. For a body rejection it has AWS's wording,
    /// `Request body does not match model schema for content type application/json: [...]`; for a parameter
    /// rejection it is the message.
    pub log: String,
}

impl Rejection {
    const STATUS: u16 = 400;
    const ERROR_TYPE: &'static str = "BadRequestException";

    fn parameters(missing: Vec<String>) -> Self {
        let message = format!(
            "Missing required request parameters: [{}]",
            missing.join(", ")
        );
        Rejection {
            kind: RejectionKind::Parameters,
            status: Self::STATUS,
            error_type: Self::ERROR_TYPE,
            body: json!({ "message": message }),
            log: message.clone(),
            detail: missing,
        }
    }

    fn body(media_type: &str, detail: Vec<String>) -> Self {
        Rejection {
            kind: RejectionKind::Body,
            status: Self::STATUS,
            error_type: Self::ERROR_TYPE,
            body: json!({ "message": "Invalid request body" }),
            log: format!(
                "Request body does not match model schema for content type {media_type}: [{}]",
                detail.join(", ")
            ),
            detail,
        }
    }

    /// The message, which is `$context.error.message` in gateway response templates.
    pub fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or_default()
    }

    /// A value for `$context.error.validationErrorString`. AWS's wording of schema errors is not reproduced.
    pub fn validation_error_string(&self) -> String {
        format!("[{}]", self.detail.join(", "))
    }
}

/// A model that cannot be used.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ModelError {
    #[error("model {model} is not a valid JSON schema (draft 4): {reason}")]
    Invalid { model: String, reason: String },
    #[error("content type {content_type} uses model {model}, which the API does not define")]
    Unknown { model: String, content_type: String },
}

/// An API's models, compiled once. Includes the built-in `Empty` and `Error` models unless the API redefines them.
///
/// An API's own models are compiled at start-up, since that is where a bad one must be reported. The built-in
/// ones are known to compile and are compiled on first use: most APIs never use them, and the first schema
/// compiled in a process also compiles JSON Schema's draft 4 meta-schema, a tenth of start-up.
#[derive(Clone)]
pub struct Models {
    documents: Arc<BTreeMap<String, Value>>,
    compiled: Arc<BTreeMap<String, OnceLock<jsonschema::Validator>>>,
}

/// How many sets of models [`Models::new`] remembers.
const MEMO_LIMIT: usize = 64;

impl fmt::Debug for Models {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.compiled.keys()).finish()
    }
}

impl Models {
    /// Compiles every model. A schema may be given as a JSON value or, as CloudFormation allows, as a string of JSON.
    ///
    /// The result is remembered, so that the config's validation and the API built after it (and a reload that
    /// keeps an API's models) compile them once; the memo is emptied should it pass [`MEMO_LIMIT`].
    pub fn new(schemas: &BTreeMap<String, Value>) -> Result<Self, ModelError> {
        type Memo = std::sync::Mutex<std::collections::HashMap<String, Result<Models, ModelError>>>;
        static MEMO: std::sync::OnceLock<Memo> = std::sync::OnceLock::new();
        let key = serde_json::to_string(schemas).unwrap_or_default();
        let memo = MEMO.get_or_init(Memo::default);
        if let Some(known) = memo.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return known.clone();
        }
        let compiled = Self::compile(schemas);
        let mut memo = memo.lock().unwrap_or_else(|e| e.into_inner());
        if memo.len() >= MEMO_LIMIT {
            memo.clear();
        }
        memo.insert(key, compiled.clone());
        compiled
    }

    fn compile(schemas: &BTreeMap<String, Value>) -> Result<Self, ModelError> {
        let mut documents = BTreeMap::new();
        for (name, schema) in builtin_models().into_iter().chain(
            schemas
                .iter()
                .map(|(name, schema)| (name.clone(), schema.clone())),
        ) {
            let schema = match schema {
                Value::String(text) => {
                    serde_json::from_str(&text).map_err(|e| ModelError::Invalid {
                        model: name.clone(),
                        reason: format!("the schema string is not JSON: {e}"),
                    })?
                }
                other => other,
            };
            documents.insert(name, schema);
        }
        let names: Vec<String> = documents.keys().cloned().collect();
        for document in documents.values_mut() {
            rewrite_local_refs(document, &names);
            if let Value::Object(map) = document {
                map.insert("$schema".to_owned(), Value::from(DRAFT4));
            }
        }
        let documents = Arc::new(documents);
        let mut compiled = BTreeMap::new();
        for name in documents.keys() {
            let slot = OnceLock::new();
            if schemas.contains_key(name) {
                let _ = slot.set(build(&documents, name)?);
            }
            compiled.insert(name.clone(), slot);
        }
        Ok(Models {
            documents,
            compiled: Arc::new(compiled),
        })
    }

    /// The compiled model `name`, if the API has it.
    fn validator(&self, name: &str) -> Option<&jsonschema::Validator> {
        let slot = self.compiled.get(name)?;
        Some(
            slot.get_or_init(|| build(&self.documents, name).expect("the built-in models compile")),
        )
    }

    pub fn contains(&self, name: &str) -> bool {
        self.compiled.contains_key(name)
    }

    /// Checks at load time that every model a method names exists, since [`check`] skips unknown ones.
    pub fn verify(&self, rules: &MethodRules) -> Result<(), ModelError> {
        for (content_type, model) in &rules.models {
            if !self.contains(model) {
                return Err(ModelError::Unknown {
                    model: model.clone(),
                    content_type: content_type.clone(),
                });
            }
        }
        Ok(())
    }
}

/// Compiles the model `name` of an API whose models (with their local `$ref`s rewritten) are `documents`.
fn build(
    documents: &Arc<BTreeMap<String, Value>>,
    name: &str,
) -> Result<jsonschema::Validator, ModelError> {
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .with_retriever(ModelRetriever(Arc::clone(documents)))
        // Draft 4 defines the formats date-time, email, hostname, ipv4, ipv6 and uri; these are asserted.
        // `date` and `time` come from later drafts, and OpenAPI imports use them, so they are not. Unknown
        // formats such as `int32` or `decimal` are ignored. AWS's own handling of `format` is unverified.
        .with_format("date", |_: &str| true)
        .with_format("time", |_: &str| true)
        .build(&documents[name])
        .map_err(|e| ModelError::Invalid {
            model: name.to_string(),
            reason: e.to_string(),
        })
}

/// The models every REST API has (notes §7, from the LS snapshots).
fn builtin_models() -> [(String, Value); 2] {
    [
        (
            "Empty".to_owned(),
            json!({"$schema": DRAFT4, "title": "Empty Schema", "type": "object"}),
        ),
        (
            "Error".to_owned(),
            json!({
                "$schema": DRAFT4,
                "title": "Error Schema",
                "type": "object",
                "properties": {"message": {"type": "string"}}
            }),
        ),
    ]
}

/// Rewrites `#/definitions/Name...` and `#/components/schemas/Name...` to the model URL of `Name`, as an OpenAPI
/// import turns them into references between models. A pointer that resolves inside the document itself, such as a
/// model's own `definitions`, is left alone.
fn rewrite_local_refs(document: &mut Value, names: &[String]) {
    let root = document.clone();
    rewrite_refs_in(document, &root, names, false);
}

/// Walks a schema. In a map of names to schemas (`properties`, `patternProperties`, `definitions`) every member is a
/// schema, even one named `$ref` or `enum`; elsewhere the keys are keywords.
fn rewrite_refs_in(value: &mut Value, root: &Value, names: &[String], name_map: bool) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if name_map {
                    rewrite_refs_in(child, root, names, false);
                    continue;
                }
                match key.as_str() {
                    "$ref" => {
                        if let Value::String(reference) = child
                            && let Some(url) = model_url_for(reference, root, names)
                        {
                            *reference = url;
                        }
                    }
                    // Instance data, not schemas.
                    "enum" | "default" | "example" => {}
                    "properties" | "patternProperties" | "definitions" => {
                        rewrite_refs_in(child, root, names, true);
                    }
                    _ => rewrite_refs_in(child, root, names, false),
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                rewrite_refs_in(item, root, names, false);
            }
        }
        _ => {}
    }
}

fn model_url_for(reference: &str, root: &Value, names: &[String]) -> Option<String> {
    let pointer = reference.strip_prefix('#')?;
    let rest = pointer
        .strip_prefix("/definitions/")
        .or_else(|| pointer.strip_prefix("/components/schemas/"))?;
    if root.pointer(pointer).is_some() {
        return None;
    }
    let (segment, inner) = match rest.split_once('/') {
        Some((segment, inner)) => (segment, Some(inner)),
        None => (rest, None),
    };
    let name = segment.replace("~1", "/").replace("~0", "~");
    if !names.contains(&name) {
        return None;
    }
    let mut url = format!("{MODEL_URL_PREFIX}{LOCAL_API_ID}/models/{name}");
    if let Some(inner) = inner {
        url.push_str("#/");
        url.push_str(inner);
    }
    Some(url)
}

/// Resolves model URLs, for any api id, to the API's own models. Nothing is fetched from the network.
struct ModelRetriever(Arc<BTreeMap<String, Value>>);

impl jsonschema::Retrieve for ModelRetriever {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let text = uri.as_str();
        let name = text
            .get(..MODEL_URL_PREFIX.len())
            .filter(|prefix| prefix.eq_ignore_ascii_case(MODEL_URL_PREFIX))
            .and_then(|_| text[MODEL_URL_PREFIX.len()..].split(['#', '?']).next())
            .and_then(|path| match path.split('/').collect::<Vec<_>>()[..] {
                [api, "models", name] if !api.is_empty() => Some(name),
                _ => None,
            });
        match name.and_then(|name| self.0.get(name)) {
            Some(document) => Ok(document.clone()),
            None => Err(format!("{text} is not a model of this API").into()),
        }
    }
}

/// Validates a request as the method's validator asks. Parameters are checked first, and a request failing both
/// checks gets the parameters message (LS:test_apigateway_common::test_api_gateway_request_validator).
pub fn check(
    rules: &MethodRules,
    models: &Models,
    request: &RequestView<'_>,
) -> Result<(), Rejection> {
    let Some(validator) = rules.validator else {
        return Ok(());
    };
    if validator.parameters {
        let missing = missing_parameters(rules, request);
        if !missing.is_empty() {
            return Err(Rejection::parameters(missing));
        }
    }
    if validator.body {
        check_body(rules, models, request)?;
    }
    Ok(())
}

/// The required parameters that are absent or blank, ordered as AWS reports them: headers, then path, then query
/// string, each by name, which is the order of the sorted `method.request.*` keys.
fn missing_parameters(rules: &MethodRules, request: &RequestView<'_>) -> Vec<String> {
    // `?q1=` counts as missing (DG:api-gateway-request-validation-test). Whitespace-only is treated as blank too,
    // and a repeated parameter is present if any occurrence is not blank; neither is confirmed against AWS.
    let blank = |v: &str| v.trim().is_empty();
    let mut missing: Vec<(u8, &str)> = Vec::new();
    for name in &rules.required_headers {
        if request.header_values(name).all(blank) {
            missing.push((0, name));
        }
    }
    for name in &rules.required_path {
        if request.path.get(name).is_none_or(|v| blank(v)) {
            missing.push((1, name));
        }
    }
    for name in &rules.required_query {
        if request
            .query
            .iter()
            .filter(|(k, _)| k == name)
            .all(|(_, v)| blank(v))
        {
            missing.push((2, name));
        }
    }
    missing.sort_unstable();
    missing.dedup();
    missing
        .into_iter()
        .map(|(_, name)| name.to_owned())
        .collect()
}

/// The model for a media type: the exact content type (compared case-insensitively, without parameters), else
/// `$default`, else none, in which case the body is not validated (DG:api-gateway-method-request-validation).
/// LocalStack falls back to the `application/json` model instead; that differs from the documentation.
fn select_model<'r>(models: &'r BTreeMap<String, String>, media_type: &str) -> Option<&'r str> {
    models
        .iter()
        .find(|(content_type, _)| {
            content_type
                .split(';')
                .next()
                .is_some_and(|ct| ct.trim().eq_ignore_ascii_case(media_type))
        })
        .or_else(|| models.get_key_value(DEFAULT_CONTENT_TYPE))
        .map(|(_, model)| model.as_str())
}

fn check_body(
    rules: &MethodRules,
    models: &Models,
    request: &RequestView<'_>,
) -> Result<(), Rejection> {
    let media_type = request.media_type();
    let Some(validator) =
        select_model(&rules.models, &media_type).and_then(|name| models.validator(name))
    else {
        return Ok(());
    };
    // An empty body is validated as `{}`, as LocalStack does: it fails a model with required properties, as the
    // recorded GET without a body did, and passes `Empty`. How AWS itself treats it is unverified (notes §7).
    let instance = if request.body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice::<Value>(request.body) {
            Ok(value) => value,
            Err(e) => {
                return Err(Rejection::body(
                    &media_type,
                    vec![format!("#: the body is not valid JSON: {e}")],
                ));
            }
        }
    };
    let detail: Vec<String> = validator
        .iter_errors(&instance)
        .map(|e| format!("#{}: {e}", e.instance_path()))
        .collect();
    if detail.is_empty() {
        Ok(())
    } else {
        Err(Rejection::body(&media_type, detail))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn models(schemas: Value) -> Models {
        Models::new(&serde_json::from_value(schemas).unwrap()).unwrap()
    }

    fn rules(validator: Validator, models: &[(&str, &str)]) -> MethodRules {
        MethodRules {
            validator: Some(validator),
            models: models
                .iter()
                .map(|(ct, m)| (ct.to_string(), m.to_string()))
                .collect(),
            ..MethodRules::default()
        }
    }

    const BOTH: Validator = Validator {
        body: true,
        parameters: true,
    };
    const BODY: Validator = Validator {
        body: true,
        parameters: false,
    };
    const PARAMS: Validator = Validator {
        body: false,
        parameters: true,
    };

    /// A request's parts, owned, so tests can build one in a line.
    #[derive(Default)]
    struct Req {
        headers: Vec<(&'static str, &'static str)>,
        query: Vec<(String, String)>,
        path: BTreeMap<String, String>,
        body: Vec<u8>,
    }

    impl Req {
        fn json(body: &str) -> Self {
            Req {
                headers: vec![("Content-Type", "application/json")],
                body: body.as_bytes().to_vec(),
                ..Req::default()
            }
        }
        fn header(mut self, name: &'static str, value: &'static str) -> Self {
            self.headers.push((name, value));
            self
        }
        fn query(mut self, name: &str, value: &str) -> Self {
            self.query.push((name.to_owned(), value.to_owned()));
            self
        }
        fn path(mut self, name: &str, value: &str) -> Self {
            self.path.insert(name.to_owned(), value.to_owned());
            self
        }
        fn view(&self) -> RequestView<'_> {
            RequestView {
                headers: &self.headers,
                query: &self.query,
                path: &self.path,
                body: &self.body,
            }
        }
    }

    fn run(rules: &MethodRules, models: &Models, req: &Req) -> Result<(), Rejection> {
        check(rules, models, &req.view())
    }

    fn person() -> Models {
        models(json!({
            "Person": {
                "$schema": "http://json-schema.org/draft-04/schema#",
                "type": "object",
                "required": ["name", "age"],
                "additionalProperties": false,
                "properties": {
                    "name": {"type": "string", "minLength": 2, "maxLength": 5, "pattern": "^[A-Z]"},
                    "age": {"type": "integer", "minimum": 0, "maximum": 150},
                    "kind": {"enum": ["staff", "guest"]},
                    "tags": {"type": "array", "minItems": 1, "maxItems": 2}
                }
            }
        }))
    }

    fn body_error(result: Result<(), Rejection>) -> Rejection {
        let rejection = result.expect_err("the request should be rejected");
        assert_eq!(rejection.kind, RejectionKind::Body);
        assert_eq!(rejection.status, 400);
        assert_eq!(rejection.error_type, "BadRequestException");
        assert_eq!(rejection.body, json!({"message": "Invalid request body"}));
        assert!(!rejection.detail.is_empty());
        rejection
    }

    fn parameters_error(result: Result<(), Rejection>) -> String {
        let rejection = result.expect_err("the request should be rejected");
        assert_eq!(rejection.kind, RejectionKind::Parameters);
        assert_eq!(rejection.status, 400);
        assert_eq!(rejection.error_type, "BadRequestException");
        rejection.message().to_owned()
    }

    fn params_rules() -> MethodRules {
        let mut rules = rules(BOTH, &[]);
        for key in [
            "method.request.querystring.qs1",
            "method.request.path.issuer",
            "method.request.header.x-header-param",
        ] {
            assert!(rules.require(key));
        }
        rules
    }

    #[test]
    fn require_parses_request_parameter_keys() {
        let mut rules = MethodRules::default();
        assert!(rules.require("method.request.header.X-Api"));
        assert!(rules.require("method.request.querystring.q"));
        assert!(rules.require("method.request.path.id"));
        assert!(!rules.require("method.request.body.x"));
        assert!(!rules.require("integration.request.header.x"));
        assert!(!rules.require("method.request.path."));
        assert_eq!(rules.required_headers, ["X-Api"]);
        assert_eq!(rules.required_query, ["q"]);
        assert_eq!(rules.required_path, ["id"]);
    }

    #[test]
    fn required_parameters_present() {
        let req = Req::default()
            .header("X-Header-Param", "v")
            .query("qs1", "1")
            .path("issuer", "me");
        assert_eq!(run(&params_rules(), &person(), &req), Ok(()));
    }

    #[test]
    fn missing_parameters_are_listed_header_path_query() {
        // The recorded AWS response for these three parameters (LS test_api_gateway_request_validator).
        let message = parameters_error(run(&params_rules(), &person(), &Req::default()));
        assert_eq!(
            message,
            "Missing required request parameters: [x-header-param, issuer, qs1]"
        );
    }

    #[test]
    fn missing_parameters_are_sorted_within_a_location() {
        let mut rules = params_rules();
        rules.required_query.insert(0, "zeta".to_owned());
        rules.required_query.push("alpha".to_owned());
        rules.required_headers.push("a-header".to_owned());
        let req = Req::default()
            .header("x-header-param", "v")
            .path("issuer", "me");
        let message = parameters_error(run(&rules, &person(), &req));
        assert_eq!(
            message,
            "Missing required request parameters: [a-header, alpha, qs1, zeta]"
        );
    }

    #[test]
    fn one_missing_parameter() {
        let req = Req::default()
            .header("x-header-param", "v")
            .query("qs1", "1");
        let rejection = run(&params_rules(), &person(), &req).unwrap_err();
        assert_eq!(
            rejection.body,
            json!({"message": "Missing required request parameters: [issuer]"})
        );
        assert_eq!(rejection.detail, ["issuer"]);
        assert_eq!(
            rejection.kind.gateway_response_type(),
            "BAD_REQUEST_PARAMETERS"
        );
    }

    #[test]
    fn blank_parameters_count_as_missing() {
        let req = Req::default()
            .header("x-header-param", "  ")
            .query("qs1", "")
            .path("issuer", "");
        let message = parameters_error(run(&params_rules(), &person(), &req));
        assert_eq!(
            message,
            "Missing required request parameters: [x-header-param, issuer, qs1]"
        );
    }

    #[test]
    fn header_names_are_case_insensitive_and_query_names_are_not() {
        let req = Req::default()
            .header("X-HEADER-PARAM", "v")
            .query("QS1", "1")
            .path("issuer", "me");
        let message = parameters_error(run(&params_rules(), &person(), &req));
        assert_eq!(message, "Missing required request parameters: [qs1]");
    }

    #[test]
    fn a_repeated_parameter_is_present_if_any_value_is_not_blank() {
        let req = Req::default()
            .header("x-header-param", "")
            .header("x-header-param", "v")
            .query("qs1", "")
            .query("qs1", "1")
            .path("issuer", "me");
        assert_eq!(run(&params_rules(), &person(), &req), Ok(()));
    }

    #[test]
    fn parameters_are_checked_before_the_body() {
        let mut rules = params_rules();
        rules
            .models
            .insert("application/json".to_owned(), "Person".to_owned());
        let message = parameters_error(run(&rules, &person(), &Req::json("not json")));
        assert!(message.starts_with("Missing required request parameters: ["));
    }

    #[test]
    fn no_validator_checks_nothing() {
        let mut rules = params_rules();
        rules.validator = None;
        rules
            .models
            .insert("application/json".to_owned(), "Person".to_owned());
        assert_eq!(run(&rules, &person(), &Req::json("not json")), Ok(()));
        rules.validator = Some(Validator::default());
        assert_eq!(run(&rules, &person(), &Req::json("not json")), Ok(()));
    }

    #[test]
    fn body_only_validator_ignores_parameters() {
        let mut rules = params_rules();
        rules.validator = Some(BODY);
        rules
            .models
            .insert("application/json".to_owned(), "Person".to_owned());
        let req = Req::json(r#"{"name": "Ann", "age": 3}"#);
        assert_eq!(run(&rules, &person(), &req), Ok(()));
        body_error(run(&rules, &person(), &Req::json("{}")));
    }

    #[test]
    fn parameters_only_validator_ignores_the_body() {
        let mut rules = params_rules();
        rules.validator = Some(PARAMS);
        rules
            .models
            .insert("application/json".to_owned(), "Person".to_owned());
        let req = Req::json("not json")
            .header("x-header-param", "v")
            .query("qs1", "1")
            .path("issuer", "me");
        assert_eq!(run(&rules, &person(), &req), Ok(()));
        parameters_error(run(&rules, &person(), &Req::json("not json")));
    }

    #[test]
    fn valid_body() {
        let rules = rules(BOTH, &[("application/json", "Person")]);
        let req = Req::json(r#"{"name": "Ann", "age": 30, "kind": "staff", "tags": ["a"]}"#);
        assert_eq!(run(&rules, &person(), &req), Ok(()));
    }

    #[test]
    fn invalid_bodies() {
        let rules = rules(BOTH, &[("application/json", "Person")]);
        let cases = [
            (r#"{"name": "Ann", "age": "30"}"#, "#/age"),
            (r#"{"name": "Ann", "age": 1.5}"#, "#/age"),
            (r#"{"name": "Ann"}"#, "#: "),
            (r#"{"name": "Ann", "age": 3, "kind": "boss"}"#, "#/kind"),
            (r#"{"name": "ann", "age": 3}"#, "#/name"),
            (r#"{"name": "Ann", "age": 3, "extra": 1}"#, "#: "),
            (r#"{"name": "A", "age": 3}"#, "#/name"),
            (r#"{"name": "Annabel", "age": 3}"#, "#/name"),
            (r#"{"name": "Ann", "age": -1}"#, "#/age"),
            (r#"{"name": "Ann", "age": 151}"#, "#/age"),
            (r#"{"name": "Ann", "age": 3, "tags": []}"#, "#/tags"),
            (r#"{"name": "Ann", "age": 3, "tags": [1, 2, 3]}"#, "#/tags"),
            (r#"["Ann", 3]"#, "#: "),
        ];
        for (body, location) in cases {
            let rejection = body_error(run(&rules, &person(), &Req::json(body)));
            assert_eq!(rejection.detail.len(), 1, "{body}: {:?}", rejection.detail);
            assert!(
                rejection.detail[0].starts_with(location),
                "{body}: {:?}",
                rejection.detail
            );
        }
    }

    #[test]
    fn every_schema_error_is_reported_for_the_log() {
        let rules = rules(BOTH, &[("application/json", "Person")]);
        let rejection = body_error(run(
            &rules,
            &person(),
            &Req::json(r#"{"name": 1, "age": "x", "extra": true}"#),
        ));
        assert_eq!(rejection.detail.len(), 3, "{:?}", rejection.detail);
        assert!(rejection.log.starts_with(
            "Request body does not match model schema for content type application/json: [#"
        ));
        assert_eq!(
            rejection.validation_error_string(),
            format!("[{}]", rejection.detail.join(", "))
        );
        assert_eq!(rejection.kind.gateway_response_type(), "BAD_REQUEST_BODY");
    }

    #[test]
    fn body_not_json() {
        let rules = rules(BOTH, &[("application/json", "Person")]);
        for body in ["not json", "{\"name\": ", "{} {}", "\u{feff}{}"] {
            let rejection = body_error(run(&rules, &person(), &Req::json(body)));
            assert!(rejection.detail[0].contains("not valid JSON"), "{body}");
        }
        let latin1 = Req {
            headers: vec![("content-type", "application/json")],
            body: vec![b'"', 0xe9, b'"'],
            ..Req::default()
        };
        body_error(run(&rules, &person(), &latin1));
    }

    #[test]
    fn empty_body_against_required_properties_is_invalid() {
        let rules = rules(BOTH, &[("application/json", "Person")]);
        body_error(run(&rules, &person(), &Req::json("")));
    }

    #[test]
    fn empty_body_against_the_empty_model_is_valid() {
        let rules = rules(BOTH, &[("application/json", "Empty")]);
        assert_eq!(run(&rules, &person(), &Req::json("")), Ok(()));
        assert_eq!(run(&rules, &person(), &Req::json("{\"a\": 1}")), Ok(()));
        body_error(run(&rules, &person(), &Req::json("[]")));
    }

    #[test]
    fn builtin_error_model() {
        let rules = rules(BOTH, &[("application/json", "Error")]);
        let models = person();
        assert!(models.contains("Empty") && models.contains("Error"));
        assert_eq!(
            run(&rules, &models, &Req::json(r#"{"message": "m"}"#)),
            Ok(())
        );
        body_error(run(&rules, &models, &Req::json(r#"{"message": 1}"#)));
    }

    #[test]
    fn content_type_with_no_model_is_not_validated() {
        let rules = rules(BOTH, &[("application/json", "Person")]);
        let req = Req {
            headers: vec![("Content-Type", "text/plain")],
            body: b"not json".to_vec(),
            ..Req::default()
        };
        assert_eq!(run(&rules, &person(), &req), Ok(()));
    }

    #[test]
    fn content_type_parameters_and_case_are_ignored() {
        let rules = rules(BOTH, &[("Application/JSON", "Person")]);
        let req = Req {
            headers: vec![("CONTENT-TYPE", "application/json; charset=UTF-8")],
            body: b"{}".to_vec(),
            ..Req::default()
        };
        body_error(run(&rules, &person(), &req));
    }

    #[test]
    fn missing_content_type_counts_as_json() {
        let rules = rules(BOTH, &[("application/json", "Person")]);
        let req = Req {
            body: b"{}".to_vec(),
            ..Req::default()
        };
        let rejection = body_error(run(&rules, &person(), &req));
        assert!(rejection.log.contains("content type application/json:"));
    }

    #[test]
    fn default_model_applies_to_any_content_type() {
        let rules = rules(
            BOTH,
            &[("$default", "Person"), ("application/xml", "Empty")],
        );
        let text = Req {
            headers: vec![("Content-Type", "text/plain")],
            body: b"{\"name\": \"Ann\"}".to_vec(),
            ..Req::default()
        };
        let rejection = body_error(run(&rules, &person(), &text));
        assert!(rejection.log.contains("content type text/plain:"));
        // An exact content type wins over `$default`.
        let xml = Req {
            headers: vec![("Content-Type", "application/xml")],
            body: b"{}".to_vec(),
            ..Req::default()
        };
        assert_eq!(run(&rules, &person(), &xml), Ok(()));
    }

    #[test]
    fn unknown_model_is_reported_by_verify_and_skipped_by_check() {
        let rules = rules(BOTH, &[("application/json", "Nope")]);
        let models = person();
        assert_eq!(
            models.verify(&rules),
            Err(ModelError::Unknown {
                model: "Nope".to_owned(),
                content_type: "application/json".to_owned()
            })
        );
        assert_eq!(run(&rules, &models, &Req::json("x")), Ok(()));
        assert_eq!(
            models.verify(&self::rules(BOTH, &[("application/json", "Person")])),
            Ok(())
        );
    }

    fn order_models(address_ref: &str, definitions_key: &str) -> Models {
        let mut schemas = json!({
            "Address": {
                "type": "object",
                "required": ["city"],
                "properties": {"city": {"type": "string"}}
            },
            "Order": {
                "type": "object",
                "required": ["ship_to"],
                "properties": {
                    "ship_to": {"$ref": address_ref},
                    "bill_to": {"oneOf": [{"type": "null"}, {"$ref": address_ref}]}
                }
            }
        });
        if !definitions_key.is_empty() {
            schemas["Order"][definitions_key] = json!({});
        }
        models(schemas)
    }

    fn assert_order_refs(models: &Models) {
        let rules = rules(BOTH, &[("application/json", "Order")]);
        let ok = r#"{"ship_to": {"city": "Oslo"}, "bill_to": null}"#;
        assert_eq!(run(&rules, models, &Req::json(ok)), Ok(()));
        let ok = r#"{"ship_to": {"city": "Oslo"}, "bill_to": {"city": "Bergen"}}"#;
        assert_eq!(run(&rules, models, &Req::json(ok)), Ok(()));
        let rejection = body_error(run(
            &rules,
            models,
            &Req::json(r#"{"ship_to": {"city": 1}}"#),
        ));
        assert!(
            rejection.detail[0].starts_with("#/ship_to/city: "),
            "{:?}",
            rejection.detail
        );
        body_error(run(
            &rules,
            models,
            &Req::json(r#"{"ship_to": {"city": "Oslo"}, "bill_to": {}}"#),
        ));
    }

    #[test]
    fn ref_by_model_url() {
        let url = "https://apigateway.amazonaws.com/restapis/abc123/models/Address";
        assert_order_refs(&order_models(url, ""));
    }

    #[test]
    fn ref_by_definitions() {
        assert_order_refs(&order_models("#/definitions/Address", ""));
        // A `definitions` member without that entry still falls back to the model.
        assert_order_refs(&order_models("#/definitions/Address", "definitions"));
    }

    #[test]
    fn ref_by_components_schemas() {
        assert_order_refs(&order_models("#/components/schemas/Address", ""));
    }

    #[test]
    fn ref_into_part_of_another_model() {
        let models = models(json!({
            "Shared": {"definitions": {"Code": {"type": "string", "pattern": "^[0-9]+$"}}},
            "Item": {
                "type": "object",
                "properties": {"code": {"$ref": "#/definitions/Shared/definitions/Code"}}
            }
        }));
        let rules = rules(BOTH, &[("application/json", "Item")]);
        assert_eq!(
            run(&rules, &models, &Req::json(r#"{"code": "42"}"#)),
            Ok(())
        );
        body_error(run(&rules, &models, &Req::json(r#"{"code": "x"}"#)));
    }

    #[test]
    fn own_definitions_take_precedence_over_models() {
        let models = models(json!({
            "Address": {"type": "integer"},
            "Order": {
                "type": "object",
                "properties": {"a": {"$ref": "#/definitions/Address"}},
                "definitions": {"Address": {"type": "string"}}
            }
        }));
        let rules = rules(BOTH, &[("application/json", "Order")]);
        assert_eq!(run(&rules, &models, &Req::json(r#"{"a": "x"}"#)), Ok(()));
        body_error(run(&rules, &models, &Req::json(r#"{"a": 1}"#)));
    }

    #[test]
    fn refs_under_properties_named_like_keywords_are_rewritten() {
        let models = models(json!({
            "Code": {"type": "string"},
            "Settings": {
                "type": "object",
                "properties": {
                    "default": {"$ref": "#/definitions/Code"},
                    "enum": {"$ref": "#/components/schemas/Code"}
                },
                "default": {"$ref": "#/definitions/Code"}
            }
        }));
        let rules = rules(BOTH, &[("application/json", "Settings")]);
        let ok = r#"{"default": "a", "enum": "b"}"#;
        assert_eq!(run(&rules, &models, &Req::json(ok)), Ok(()));
        for bad in [r#"{"default": 1}"#, r#"{"enum": 1}"#] {
            body_error(run(&rules, &models, &Req::json(bad)));
        }
    }

    #[test]
    fn recursive_and_mutual_refs() {
        let models = models(json!({
            "Node": {
                "type": "object",
                "required": ["value"],
                "properties": {
                    "value": {"type": "integer"},
                    "children": {"type": "array", "items": {"$ref": "#/definitions/Node"}},
                    "owner": {"$ref": "#/definitions/Owner"}
                }
            },
            "Owner": {
                "type": "object",
                "properties": {"favourite": {"$ref": "#/definitions/Node"}}
            }
        }));
        let rules = rules(BOTH, &[("application/json", "Node")]);
        let ok = r#"{"value": 1, "children": [{"value": 2, "children": []}], "owner": {"favourite": {"value": 3}}}"#;
        assert_eq!(run(&rules, &models, &Req::json(ok)), Ok(()));
        let bad = r#"{"value": 1, "owner": {"favourite": {"value": "x"}}}"#;
        let rejection = body_error(run(&rules, &models, &Req::json(bad)));
        assert!(
            rejection.detail[0].starts_with("#/owner/favourite/value: "),
            "{:?}",
            rejection.detail
        );
    }

    #[test]
    fn draft4_exclusive_maximum_is_a_boolean() {
        let models = models(json!({
            "Bounded": {
                "type": "number",
                "minimum": 0, "exclusiveMinimum": true,
                "maximum": 10, "exclusiveMaximum": true
            },
            "Inclusive": {"type": "number", "maximum": 10, "exclusiveMaximum": false}
        }));
        let rules = rules(BODY, &[("application/json", "Bounded")]);
        for ok in ["0.5", "9.99"] {
            assert_eq!(run(&rules, &models, &Req::json(ok)), Ok(()), "{ok}");
        }
        for bad in ["0", "10", "11"] {
            body_error(run(&rules, &models, &Req::json(bad)));
        }
        let inclusive = self::rules(BODY, &[("application/json", "Inclusive")]);
        assert_eq!(run(&inclusive, &models, &Req::json("10")), Ok(()));
    }

    #[test]
    fn draft4_is_used_whatever_the_model_declares() {
        // `const` and `if` are not draft 4 keywords, so they must not be enforced, and a numeric
        // `exclusiveMaximum` (draft 6 and later) is not a valid draft 4 model.
        let models = models(json!({
            "Later": {
                "$schema": "http://json-schema.org/draft-07/schema#",
                "const": 1,
                "if": {"type": "number"}, "then": {"minimum": 5}
            }
        }));
        let rules = rules(BODY, &[("application/json", "Later")]);
        assert_eq!(run(&rules, &models, &Req::json("2")), Ok(()));
        let numeric =
            Models::new(&serde_json::from_value(json!({"N": {"exclusiveMaximum": 10}})).unwrap());
        assert!(
            matches!(numeric, Err(ModelError::Invalid { ref model, .. }) if model == "N"),
            "{numeric:?}"
        );
    }

    #[test]
    fn only_draft4_formats_are_asserted() {
        let models = models(json!({
            "Money": {
                "type": "object",
                "properties": {
                    "amount": {"type": "number", "format": "decimal"},
                    "count": {"type": "integer", "format": "int32"},
                    "day": {"type": "string", "format": "date"},
                    "at": {"type": "string", "format": "time"},
                    "email": {"type": "string", "format": "email"},
                    "when": {"type": "string", "format": "date-time"}
                }
            }
        }));
        let rules = rules(BODY, &[("application/json", "Money")]);
        let req = Req::json(r#"{"amount": 1.25, "count": 3, "day": "soon", "at": "noon"}"#);
        assert_eq!(run(&rules, &models, &req), Ok(()));
        for bad in [r#"{"email": "nobody"}"#, r#"{"when": "2024-13-01"}"#] {
            body_error(run(&rules, &models, &Req::json(bad)));
        }
        let good = r#"{"email": "a@example.com", "when": "2024-01-02T03:04:05Z"}"#;
        assert_eq!(run(&rules, &models, &Req::json(good)), Ok(()));
    }

    #[test]
    fn schema_given_as_a_string() {
        let schemas = BTreeMap::from([(
            "S".to_owned(),
            Value::from(r#"{"type": "object", "required": ["a"]}"#),
        )]);
        let models = Models::new(&schemas).unwrap();
        let rules = rules(BODY, &[("application/json", "S")]);
        body_error(run(&rules, &models, &Req::json("{}")));
        assert_eq!(run(&rules, &models, &Req::json(r#"{"a": 1}"#)), Ok(()));
    }

    #[test]
    fn models_that_do_not_compile_are_named() {
        let cases = [
            json!({"type": "strin"}),
            json!({"type": "object", "required": "a"}),
            json!({"type": "string", "pattern": "("}),
            json!({"$ref": "#/definitions/Missing"}),
            json!({"$ref": "https://apigateway.amazonaws.com/restapis/x/models/Missing"}),
            json!({"$ref": "https://example.com/schema.json"}),
            json!("{not json"),
        ];
        for schema in cases {
            let schemas = BTreeMap::from([
                ("Fine".to_owned(), json!({"type": "object"})),
                ("Broken".to_owned(), schema.clone()),
            ]);
            let error = Models::new(&schemas).expect_err(&schema.to_string());
            let ModelError::Invalid { model, .. } = &error else {
                panic!("{error:?}");
            };
            assert_eq!(model, "Broken");
            assert!(error.to_string().starts_with("model Broken is not a valid"));
        }
    }

    #[test]
    fn a_model_may_replace_a_builtin() {
        let models = models(json!({"Empty": {"type": "array"}}));
        let rules = rules(BODY, &[("application/json", "Empty")]);
        assert_eq!(run(&rules, &models, &Req::json("[]")), Ok(()));
        body_error(run(&rules, &models, &Req::json("{}")));
    }

    #[test]
    fn models_can_be_shared_between_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<Models>();
        shareable::<Rejection>();
    }
}
