//! One stack: a parsed template with its parameters, conditions and resources, and the physical ids and
//! attributes CloudFormation would give each resource, so that intrinsics resolve to what a deployment would
//! hold.

use std::cell::RefCell;
use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::intrinsics::{self, IntrinsicError};
use super::yaml::{TemplateError, line_of};

pub use super::intrinsics::Pseudo;

/// A template with its parameters and conditions evaluated.
pub struct Stack {
    pub file: String,
    pub text: String,
    pub doc: Value,
    pub pseudo: Pseudo,
    mappings: Value,
    pub parameters: BTreeMap<String, Value>,
    pub conditions: BTreeMap<String, bool>,
    /// Resources whose condition holds, by logical id.
    pub resources: BTreeMap<String, Value>,
    /// Resources left out because their condition is false, with the condition's name.
    pub skipped: Vec<(String, String)>,
    /// Logical ids whose physical id is being computed, to report circular references.
    visiting: RefCell<Vec<String>>,
}

impl Stack {
    pub fn new(
        file: &str,
        text: &str,
        doc: Value,
        pseudo: Pseudo,
        overrides: &BTreeMap<String, String>,
    ) -> Result<Self, TemplateError> {
        let mappings = doc.get("Mappings").cloned().unwrap_or(Value::Null);
        let mut stack = Self {
            file: file.to_string(),
            text: text.to_string(),
            mappings,
            doc,
            pseudo,
            parameters: BTreeMap::new(),
            conditions: BTreeMap::new(),
            resources: BTreeMap::new(),
            skipped: Vec::new(),
            visiting: RefCell::new(Vec::new()),
        };
        stack.parameters = stack.read_parameters(overrides)?;
        let conditions = stack.doc.get("Conditions").cloned().unwrap_or(json!({}));
        stack.conditions = intrinsics::evaluate_conditions(&conditions, &stack.context())
            .map_err(|e| stack.intrinsic_error(&["Conditions"], e))?;
        let resources = match stack.doc.get("Resources") {
            Some(Value::Object(r)) if !r.is_empty() => r.clone(),
            _ => return Err(stack.error(&[], "the template has no Resources".into())),
        };
        for (id, r) in resources {
            if !id.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(stack.error(
                    &["Resources", &id],
                    format!("logical id {id:?} must contain only letters and digits"),
                ));
            }
            if !r.get("Type").is_some_and(Value::is_string) {
                return Err(stack.error(&["Resources", &id], format!("{id} has no Type")));
            }
            if let Some(c) = r.get("Condition").and_then(Value::as_str) {
                match stack.conditions.get(c) {
                    Some(true) => {}
                    Some(false) => {
                        stack.skipped.push((id, c.to_string()));
                        continue;
                    }
                    None => {
                        return Err(stack.error(
                            &["Resources", &id, "Condition"],
                            format!("{id}: condition {c:?} is not in Conditions"),
                        ));
                    }
                }
            }
            stack.resources.insert(id, r);
        }
        Ok(stack)
    }

    /// Parameters with their defaults, overridden as `sam deploy --parameter-overrides` does, and checked.
    /// Source: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html
    fn read_parameters(
        &self,
        overrides: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, Value>, TemplateError> {
        let declared = self
            .doc
            .get("Parameters")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        for name in overrides.keys() {
            if !declared.contains_key(name) {
                return Err(self.error(
                    &["Parameters"],
                    format!(
                        "--parameter-overrides names {name:?}, which the template does not declare"
                    ),
                ));
            }
        }
        let mut out = BTreeMap::new();
        for (name, p) in &declared {
            let at = ["Parameters", name.as_str()];
            let kind = p.get("Type").and_then(Value::as_str).unwrap_or("String");
            let text = match (overrides.get(name), p.get("Default")) {
                (Some(v), _) => v.clone(),
                (None, Some(Value::String(s))) => s.clone(),
                (None, Some(Value::Array(items))) => {
                    items.iter().map(scalar_text).collect::<Vec<_>>().join(",")
                }
                (None, Some(v)) => scalar_text(v),
                (None, None) => {
                    return Err(self.error(
                        &at,
                        format!(
                            "parameter {name} has no Default; give it with --parameter-overrides {name}=VALUE"
                        ),
                    ));
                }
            };
            let list = kind == "CommaDelimitedList" || kind.starts_with("List<");
            let values: Vec<String> = if list {
                text.split(',').map(|s| s.trim().to_string()).collect()
            } else {
                vec![text.clone()]
            };
            for v in &values {
                if (kind == "Number" || kind == "List<Number>") && v.parse::<f64>().is_err() {
                    return Err(
                        self.error(&at, format!("parameter {name} must be a number, not {v:?}"))
                    );
                }
                if let Some(Value::Array(allowed)) = p.get("AllowedValues")
                    && !allowed.iter().any(|a| scalar_text(a) == *v)
                {
                    return Err(self.error(
                        &at,
                        format!("parameter {name}: {v:?} is not one of its AllowedValues"),
                    ));
                }
                if let Some(pattern) = p.get("AllowedPattern").and_then(Value::as_str) {
                    let re = crate::whole_match::WholeMatch::new(pattern).map_err(|e| {
                        self.error(&at, format!("parameter {name}: bad AllowedPattern: {e}"))
                    })?;
                    if !re.is_match(v) {
                        return Err(self.error(
                            &at,
                            format!("parameter {name}: {v:?} does not match its AllowedPattern {pattern}"),
                        ));
                    }
                }
            }
            if kind.starts_with("AWS::SSM::Parameter::Value") && overrides.get(name).is_none() {
                return Err(self.error(
                    &at,
                    format!(
                        "parameter {name} is read from SSM Parameter Store, which Offcloud does not emulate; \
                         give its value with --parameter-overrides {name}=VALUE"
                    ),
                ));
            }
            let value = if list {
                Value::Array(values.into_iter().map(Value::String).collect())
            } else {
                Value::String(text)
            };
            out.insert(name.clone(), value);
        }
        Ok(out)
    }

    pub fn context(&self) -> intrinsics::Context<'_> {
        intrinsics::Context {
            parameters: &self.parameters,
            pseudo: &self.pseudo,
            mappings: &self.mappings,
            conditions: &self.conditions,
            resources: self,
        }
    }

    /// A resource's properties with every intrinsic resolved.
    pub fn properties(&self, id: &str) -> Result<Value, TemplateError> {
        let raw = self.raw_properties(id);
        intrinsics::resolve(&raw, &self.context())
            .map_err(|e| self.intrinsic_error(&["Resources", id, "Properties"], e))
    }

    /// One property of a resource, resolved.
    pub fn property(&self, id: &str, key: &str) -> Result<Option<Value>, TemplateError> {
        let Some(raw) = self.raw_properties(id).get(key).cloned() else {
            return Ok(None);
        };
        intrinsics::resolve(&raw, &self.context())
            .map(Some)
            .map_err(|e| self.intrinsic_error(&["Resources", id, "Properties", key], e))
    }

    pub fn raw_properties(&self, id: &str) -> Value {
        self.resources
            .get(id)
            .and_then(|r| r.get("Properties"))
            .cloned()
            .unwrap_or_else(|| json!({}))
    }

    pub fn kind(&self, id: &str) -> &str {
        self.resources
            .get(id)
            .and_then(|r| r.get("Type"))
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// Resolves any value in the context of this stack; `at` locates it for errors.
    pub fn resolve(&self, value: &Value, at: &[&str]) -> Result<Value, TemplateError> {
        intrinsics::resolve(value, &self.context()).map_err(|e| self.intrinsic_error(at, e))
    }

    /// An error located at the deepest line of `path` that can be found.
    pub fn error(&self, path: &[&str], message: String) -> TemplateError {
        let line = (0..=path.len())
            .rev()
            .find_map(|n| line_of(&self.text, &path[..n]))
            .unwrap_or(0);
        TemplateError {
            file: self.file.clone(),
            line,
            message,
        }
    }

    pub fn intrinsic_error(&self, at: &[&str], e: IntrinsicError) -> TemplateError {
        let mut path: Vec<&str> = at.to_vec();
        path.extend(e.path.iter().map(String::as_str));
        let label = at.get(1).copied().unwrap_or("template");
        self.error(&path, format!("{label}: {e}"))
    }

    /// A deterministic stand-in for CloudFormation's random name suffix: 13 upper-case letters and digits.
    pub fn suffix(&self, id: &str, len: usize) -> String {
        stable_id(&format!("{}/{id}", self.pseudo.stack_name), len, true)
    }

    /// CloudFormation's generated name `<stack>-<LogicalId>-<SUFFIX>` for a resource given no name, cut to
    /// `max` characters by sharing what is left between the stack name and the logical id.
    /// Source: aws-cloudformation/cloudformation-cli-java-plugin IdentifierUtils (see shared notes §7);
    /// examples such as `testddbstack-myDynamoDBTable-012A1SL7SMP5Q` in the DynamoDB resource's docs.
    pub fn generated_name(&self, id: &str, max: usize) -> String {
        let suffix = self.suffix(id, 13);
        let stack: String = self.pseudo.stack_name.trim_start_matches('-').to_string();
        let room = max.saturating_sub(suffix.len() + 2);
        let (mut s, mut l) = (stack.len(), id.len());
        while s + l > room {
            if s >= l { s -= 1 } else { l -= 1 }
        }
        format!("{}-{}-{suffix}", &stack[..s], &id[..l])
    }

    fn name_or_generated(&self, id: &str, key: &str, max: usize) -> Result<String, String> {
        match self.property(id, key).map_err(|e| e.message)? {
            Some(Value::String(s)) => Ok(s),
            Some(other) => Err(format!("{id}.{key} must be a string, not {other}")),
            None => Ok(self.generated_name(id, max)),
        }
    }

    fn arn(&self, service: &str, rest: &str) -> String {
        format!(
            "arn:aws:{service}:{}:{}:{rest}",
            self.pseudo.region, self.pseudo.account_id
        )
    }

    /// The physical id `Ref` gives for a resource, by type.
    /// Source: the "Return values" section of each type's page in the CloudFormation user guide (shared notes §6).
    fn physical_id(&self, id: &str) -> Result<Value, String> {
        let kind = self.kind(id);
        Ok(Value::String(match kind {
            "AWS::Serverless::Function" | "AWS::Lambda::Function" => {
                self.name_or_generated(id, "FunctionName", 64)?
            }
            "AWS::DynamoDB::Table" | "AWS::Serverless::SimpleTable" => {
                self.name_or_generated(id, "TableName", 255)?
            }
            "AWS::Serverless::Api"
            | "AWS::ApiGateway::RestApi"
            | "AWS::Serverless::HttpApi"
            | "AWS::ApiGatewayV2::Api" => self.api_id(id),
            "AWS::ApiGateway::Stage" | "AWS::ApiGatewayV2::Stage" => {
                self.name_or_generated(id, "StageName", 128)?
            }
            "AWS::Serverless::LayerVersion" | "AWS::Lambda::LayerVersion" => {
                let name = self.name_or_generated(id, "LayerName", 64)?;
                self.arn("lambda", &format!("layer:{name}:1"))
            }
            "AWS::Lambda::Version" => format!("{}:1", self.function_arn_of(id)?),
            "AWS::Lambda::Alias" => {
                let name = self.name_or_generated(id, "Name", 128)?;
                format!("{}:{name}", self.function_arn_of(id)?)
            }
            "AWS::IAM::Role" => self.name_or_generated(id, "RoleName", 64)?,
            "AWS::SQS::Queue" => format!(
                "https://sqs.{}.amazonaws.com/{}/{}",
                self.pseudo.region,
                self.pseudo.account_id,
                self.name_or_generated(id, "QueueName", 80)?
            ),
            "AWS::SNS::Topic" => {
                let name = self.name_or_generated(id, "TopicName", 256)?;
                self.arn("sns", &name)
            }
            "AWS::S3::Bucket" => self.name_or_generated(id, "BucketName", 63)?.to_lowercase(),
            "AWS::SecretsManager::Secret" => {
                let name = self.name_or_generated(id, "Name", 256)?;
                self.arn(
                    "secretsmanager",
                    &format!("secret:{name}-{}", &self.suffix(id, 6)),
                )
            }
            "AWS::RDS::DBCluster" => self
                .name_or_generated(id, "DBClusterIdentifier", 63)?
                .to_lowercase(),
            "AWS::StepFunctions::StateMachine" => {
                let name = self.name_or_generated(id, "StateMachineName", 80)?;
                self.arn("states", &format!("stateMachine:{name}"))
            }
            // Every other resource's Ref is an opaque id of its own.
            _ => stable_id(&format!("{}/{id}", self.pseudo.stack_name), 10, false),
        }))
    }

    /// The id API Gateway gives an API: ten lower-case letters and digits.
    pub fn api_id(&self, id: &str) -> String {
        stable_id(&format!("{}/{id}", self.pseudo.stack_name), 10, false)
    }

    /// The ARN of the function an `AWS::Lambda::Version` or `AWS::Lambda::Alias` belongs to.
    fn function_arn_of(&self, id: &str) -> Result<String, String> {
        let name = match self.property(id, "FunctionName").map_err(|e| e.message)? {
            Some(Value::String(s)) => s,
            _ => return Err(format!("{id} has no FunctionName")),
        };
        Ok(if name.starts_with("arn:") {
            name
        } else {
            self.arn("lambda", &format!("function:{name}"))
        })
    }

    fn ref_string(&self, id: &str) -> Result<String, String> {
        Ok(scalar_text(&self.physical_id(id)?))
    }

    /// `Fn::GetAtt` by type.
    fn attribute_of(&self, id: &str, attr: &str) -> Result<Value, String> {
        let kind = self.kind(id);
        let unknown = |known: &[&str]| {
            Err(format!(
                "{id} ({kind}) has no attribute {attr:?} that Offcloud can give; it has {}",
                known.join(", ")
            ))
        };
        let s = |v: String| Ok(Value::String(v));
        match kind {
            "AWS::Serverless::Function" | "AWS::Lambda::Function" => match attr {
                "Arn" => s(self.arn("lambda", &format!("function:{}", self.ref_string(id)?))),
                _ => unknown(&["Arn"]),
            },
            "AWS::DynamoDB::Table" | "AWS::Serverless::SimpleTable" => {
                let arn = self.arn("dynamodb", &format!("table/{}", self.ref_string(id)?));
                match attr {
                    "Arn" => s(arn),
                    "StreamArn" if self.raw_properties(id).get("StreamSpecification").is_some() => {
                        // A fixed label: the real one is the stream's creation time.
                        s(format!("{arn}/stream/2015-11-30T20:10:00.000"))
                    }
                    _ => unknown(&["Arn", "StreamArn (with a StreamSpecification)"]),
                }
            }
            "AWS::Serverless::Api" | "AWS::ApiGateway::RestApi" => match attr {
                "RootResourceId" => s(stable_id(
                    &format!("{}/{id}/root", self.pseudo.stack_name),
                    10,
                    false,
                )),
                "RestApiId" => s(self.api_id(id)),
                _ => unknown(&["RootResourceId", "RestApiId"]),
            },
            "AWS::Serverless::HttpApi" | "AWS::ApiGatewayV2::Api" => match attr {
                "ApiId" => s(self.api_id(id)),
                "ApiEndpoint" => s(format!(
                    "https://{}.execute-api.{}.amazonaws.com",
                    self.api_id(id),
                    self.pseudo.region
                )),
                _ => unknown(&["ApiId", "ApiEndpoint"]),
            },
            "AWS::IAM::Role" => match attr {
                "Arn" => s(format!(
                    "arn:aws:iam::{}:role/{}",
                    self.pseudo.account_id,
                    self.ref_string(id)?
                )),
                "RoleId" => s(format!("AROA{}", self.suffix(id, 17))),
                _ => unknown(&["Arn", "RoleId"]),
            },
            "AWS::SQS::Queue" => {
                let url = self.ref_string(id)?;
                let name = url.rsplit('/').next().unwrap_or_default().to_string();
                match attr {
                    "Arn" => s(self.arn("sqs", &name)),
                    "QueueName" => s(name),
                    "QueueUrl" => s(url),
                    _ => unknown(&["Arn", "QueueName", "QueueUrl"]),
                }
            }
            "AWS::SNS::Topic" => match attr {
                "TopicArn" => s(self.ref_string(id)?),
                "TopicName" => s(self
                    .ref_string(id)?
                    .rsplit(':')
                    .next()
                    .unwrap_or_default()
                    .to_string()),
                _ => unknown(&["TopicArn", "TopicName"]),
            },
            "AWS::S3::Bucket" => {
                let name = self.ref_string(id)?;
                match attr {
                    "Arn" => s(format!("arn:aws:s3:::{name}")),
                    "DomainName" => s(format!("{name}.s3.amazonaws.com")),
                    _ => unknown(&["Arn", "DomainName"]),
                }
            }
            "AWS::RDS::DBCluster" => {
                let name = self.ref_string(id)?;
                match attr {
                    "DBClusterArn" => s(self.arn("rds", &format!("cluster:{name}"))),
                    "Endpoint.Address" => s(format!(
                        "{name}.cluster-{}.{}.rds.amazonaws.com",
                        self.suffix(id, 12).to_lowercase(),
                        self.pseudo.region
                    )),
                    "Endpoint.Port" => s("3306".into()),
                    _ => unknown(&["DBClusterArn", "Endpoint.Address", "Endpoint.Port"]),
                }
            }
            "AWS::Lambda::LayerVersion" | "AWS::Serverless::LayerVersion" => match attr {
                "LayerVersionArn" => s(self.ref_string(id)?),
                _ => unknown(&["LayerVersionArn"]),
            },
            _ if attr == "Arn" => {
                // A type Offcloud does not model: an ARN of the usual shape, named by the resource's Ref.
                let service = kind
                    .split("::")
                    .nth(1)
                    .unwrap_or("unknown")
                    .to_ascii_lowercase();
                s(self.arn(&service, &self.ref_string(id)?))
            }
            _ => unknown(&["Arn"]),
        }
    }

    /// Runs `f` for `id` with cycle detection.
    fn guarded<T>(&self, id: &str, f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
        {
            let mut v = self.visiting.borrow_mut();
            if let Some(start) = v.iter().position(|x| x == id) {
                let mut chain: Vec<String> = v[start..].to_vec();
                chain.push(id.to_string());
                return Err(format!("circular reference: {}", chain.join(" -> ")));
            }
            v.push(id.to_string());
        }
        let out = f();
        self.visiting.borrow_mut().pop();
        out
    }

    /// SAM's referenceable properties (`MyFunction.Alias`, `MyApi.Stage`, ...) and generated logical ids.
    /// Source: SAM model/sam_resources.py referable_properties (shared notes §6, §9).
    fn sam_reference(&self, name: &str) -> Result<Option<Value>, String> {
        let (base, prop) = match name.split_once('.') {
            Some((b, p)) => (b, Some(p)),
            None => (name, None),
        };
        let kind = self.kind(base);
        let props = self.raw_properties(base);
        let text = |v: Option<&Value>| v.map(scalar_text);
        let value = match (kind, prop) {
            ("AWS::Serverless::Function", Some("Alias")) => {
                let alias = self
                    .property(base, "AutoPublishAlias")
                    .map_err(|e| e.message)?
                    .map(|v| scalar_text(&v))
                    .ok_or_else(|| format!("{name}: {base} has no AutoPublishAlias"))?;
                format!("{}:{alias}", scalar_text(&self.attribute_of(base, "Arn")?))
            }
            ("AWS::Serverless::Function", Some("Version")) => {
                format!("{}:1", scalar_text(&self.attribute_of(base, "Arn")?))
            }
            ("AWS::Serverless::Api", Some("Stage")) => {
                text(props.get("StageName")).unwrap_or_else(|| "Prod".into())
            }
            ("AWS::Serverless::HttpApi", Some("Stage")) => {
                text(props.get("StageName")).unwrap_or_else(|| "$default".into())
            }
            ("AWS::Serverless::Api" | "AWS::Serverless::HttpApi", Some(p)) => {
                stable_id(&format!("{}/{base}/{p}", self.pseudo.stack_name), 10, false)
            }
            _ => return Ok(None),
        };
        Ok(Some(Value::String(value)))
    }
}

impl intrinsics::Resources for Stack {
    fn reference(&self, logical_id: &str) -> Result<Option<Value>, String> {
        if self.resources.contains_key(logical_id) {
            return self
                .guarded(logical_id, || self.physical_id(logical_id))
                .map(Some);
        }
        if let Some((_, condition)) = self.skipped.iter().find(|(id, _)| id == logical_id) {
            return Err(format!(
                "{logical_id} is not created, because its condition {condition} is false"
            ));
        }
        if logical_id.contains('.') {
            return self.sam_reference(logical_id);
        }
        // The implicit APIs SAM creates from events.
        if matches!(logical_id, "ServerlessRestApi" | "ServerlessHttpApi") {
            return Ok(Some(Value::String(self.api_id(logical_id))));
        }
        Ok(None)
    }

    fn attribute(&self, logical_id: &str, attribute: &str) -> Result<Option<Value>, String> {
        if !self.resources.contains_key(logical_id) {
            if matches!(logical_id, "ServerlessRestApi" | "ServerlessHttpApi") {
                return Ok(Some(Value::String(stable_id(
                    &format!("{}/{logical_id}/root", self.pseudo.stack_name),
                    10,
                    false,
                ))));
            }
            return self.reference(logical_id).map(|_| None);
        }
        self.guarded(logical_id, || self.attribute_of(logical_id, attribute))
            .map(Some)
    }
}

/// A scalar as CloudFormation's Ref gives it: numbers and booleans as their text.
pub fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A stable id of `len` characters derived from `seed`: upper-case letters and digits as CloudFormation's name
/// suffixes have them, or lower-case as API Gateway's ids.
pub fn stable_id(seed: &str, len: usize, upper: bool) -> String {
    let lower = crate::apigw::events::short_id(seed, len);
    if upper { lower.to_uppercase() } else { lower }
}

/// An object's keys in order, for walking maps the template gave.
pub fn entries(v: Option<&Value>) -> Vec<(String, Value)> {
    v.and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .collect()
}
