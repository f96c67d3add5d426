//! Functions, APIs and tables from a template, as config entries: what the SAM transform and the plain
//! CloudFormation reader share.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::Value;
use toml::Spanned;

use super::stack::{Stack, scalar_text};
use super::summary::{ApiLine, FunctionLine, Summary};
use super::yaml::TemplateError;
use super::{Loaded, routes};
use crate::config::{
    ApiConfig, ApiKind, FunctionConfig, Parts, RouteConfig, RuntimeClient, TableConfig,
};
use crate::lambda::runtimes::{self, Language};

/// Where a function's code is.
pub enum Code {
    /// A local folder, relative to the template.
    Dir(String),
    /// Source text (`InlineCode`, `Code.ZipFile`), written to `index.py` or `index.js`.
    Inline(String),
}

/// A function as a template declares it, with intrinsics resolved.
pub struct FunctionSpec {
    pub logical_id: String,
    pub name: String,
    pub runtime: Option<String>,
    pub handler: Option<String>,
    pub code: Code,
    pub timeout: Option<f64>,
    pub memory_size: Option<u32>,
    pub reserved_concurrency: Option<usize>,
    pub environment: BTreeMap<String, String>,
    /// Layer ARNs, as the template's `Layers` resolve.
    pub layers: Vec<String>,
    pub qualifiers: Vec<String>,
    /// `Metadata.BuildMethod`, such as `rust-cargolambda`.
    pub build_method: Option<String>,
    /// `Metadata.Offcloud.RuntimeClient`: `aws` runs the handler with AWS's own runtime interface client.
    pub runtime_client: RuntimeClient,
    /// The key path of the resource's properties, for errors.
    pub at: Vec<String>,
}

/// The API-wide `Auth` settings routes consult: the default authorizer and whether keys are required.
#[derive(Debug, Clone, Default)]
pub struct ApiAuth {
    pub default_authorizer: Option<String>,
    pub api_key_required: bool,
    /// Authorizer names with a description of their kind.
    pub authorizers: BTreeMap<String, String>,
    /// The authorizers among them that Offcloud runs (Lambda, JWT, Cognito).
    pub lambda: BTreeSet<String>,
}

impl FunctionSpec {
    /// The properties `AWS::Serverless::Function` and `AWS::Lambda::Function` share, from resolved `props`.
    pub fn read(
        b: &Builder<'_>,
        id: &str,
        props: &Value,
        code: Code,
        at: Vec<String>,
    ) -> Result<Self, TemplateError> {
        let get = |k: &str| props.get(k);
        let mut environment = BTreeMap::new();
        for (k, v) in super::stack::entries(get("Environment").and_then(|e| e.get("Variables"))) {
            let v = text(&v).ok_or_else(|| {
                b.error(
                    &at,
                    format!("{id}: environment variable {k} must be a string, not {v}"),
                )
            })?;
            environment.insert(k, v);
        }
        let metadata = b.stack.resources.get(id).and_then(|r| r.get("Metadata"));
        let runtime_client = match metadata
            .and_then(|m| m.get("Offcloud"))
            .and_then(|o| o.get("RuntimeClient"))
            .and_then(text)
            .as_deref()
        {
            None | Some("offcloud") => RuntimeClient::Offcloud,
            Some("aws") => RuntimeClient::Aws,
            Some(other) => {
                return Err(b.error(
                    &at,
                    format!("{id}: Metadata.Offcloud.RuntimeClient is {other:?}; use \"offcloud\" or \"aws\""),
                ));
            }
        };
        let number = |k: &str| get(k).and_then(|t| text(t)?.parse::<f64>().ok());
        Ok(Self {
            logical_id: id.to_string(),
            name: scalar_text(
                &b.stack
                    .resolve(&serde_json::json!({"Ref": id}), &["Resources", id])?,
            ),
            runtime: get("Runtime").and_then(text),
            handler: get("Handler").and_then(text),
            code,
            timeout: number("Timeout"),
            memory_size: number("MemorySize").map(|m| m as u32),
            reserved_concurrency: number("ReservedConcurrentExecutions").map(|r| r as usize),
            environment,
            layers: get("Layers")
                .and_then(Value::as_array)
                .map(|l| l.iter().map(scalar_text).collect())
                .unwrap_or_default(),
            qualifiers: vec![],
            build_method: metadata.and_then(|m| m.get("BuildMethod")).and_then(text),
            runtime_client,
            at,
        })
    }
}

pub struct Builder<'s> {
    pub stack: &'s Stack,
    /// The template's folder: code paths are relative to it.
    pub dir: PathBuf,
    functions: Vec<FunctionConfig>,
    /// Function names by logical id.
    pub function_ids: BTreeMap<String, String>,
    /// APIs by logical id.
    pub apis: BTreeMap<String, ApiConfig>,
    pub tables: Vec<TableConfig>,
    /// Layer folders by layer version ARN.
    pub layers: BTreeMap<String, PathBuf>,
    pub summary: Summary,
    /// Logical ids that some reader has taken care of.
    pub handled: BTreeSet<String>,
    pub api_auth: BTreeMap<String, ApiAuth>,
    /// API definitions to read once every function is known: the API's logical id, the resolved document and
    /// where it is in the template.
    pub pending_definitions: Vec<(String, Value, Vec<String>)>,
    /// APIs whose routes come from their own definition only.
    pub own_definition: BTreeSet<String>,
}

impl<'s> Builder<'s> {
    pub fn new(stack: &'s Stack, dir: PathBuf) -> Self {
        Self {
            stack,
            dir,
            functions: Vec::new(),
            function_ids: BTreeMap::new(),
            apis: BTreeMap::new(),
            tables: Vec::new(),
            layers: BTreeMap::new(),
            summary: Summary::default(),
            handled: BTreeSet::new(),
            api_auth: BTreeMap::new(),
            pending_definitions: Vec::new(),
            own_definition: BTreeSet::new(),
        }
    }

    pub fn error(&self, at: &[String], message: String) -> TemplateError {
        let path: Vec<&str> = at.iter().map(String::as_str).collect();
        self.stack.error(&path, message)
    }

    /// A resource's properties, resolved, or an empty object.
    pub fn properties(&self, id: &str) -> Result<Value, TemplateError> {
        self.stack.properties(id)
    }

    /// The function an integration or event names: by name, ARN, or logical id.
    pub fn function_named(&self, name: &str) -> Option<String> {
        self.functions
            .iter()
            .find(|f| f.name() == name)
            .map(|f| f.name().to_string())
            .or_else(|| self.function_ids.get(name).cloned())
    }

    pub fn add_function(&mut self, spec: FunctionSpec) -> Result<(), TemplateError> {
        let at = &spec.at;
        let id = spec.logical_id.clone();
        let mut f = FunctionConfig::new(&spec.name);
        f.also_known_as = (id != spec.name).then(|| id.clone()).into_iter().collect();
        f.qualifiers = spec.qualifiers.clone();
        f.timeout = spec.timeout.unwrap_or(3.0);
        f.memory_size = spec.memory_size.unwrap_or(128);
        f.reserved_concurrency = spec.reserved_concurrency;
        f.environment = spec.environment.clone();
        f.runtime_client = spec.runtime_client;
        if !(f.timeout >= 1.0 && f.timeout <= 900.0) {
            return Err(self.error(
                at,
                format!("{id}: Timeout must be between 1 and 900 seconds"),
            ));
        }
        if !(128..=10240).contains(&f.memory_size) {
            return Err(self.error(
                at,
                format!("{id}: MemorySize must be between 128 and 10240 MB"),
            ));
        }
        let runtime = spec.runtime.clone().ok_or_else(|| {
            self.error(
                at,
                format!("{id}: Runtime is required for a function packaged as a zip"),
            )
        })?;
        let language = Language::of(&runtime).map_err(|e| self.error(at, format!("{id}: {e}")))?;
        let handler = spec.handler.clone();
        let code_dir = match &spec.code {
            Code::Dir(uri) => {
                if uri.starts_with("s3://") {
                    return Err(self.error(
                        at,
                        format!(
                            "{id}: code at {uri} is in S3; Offcloud runs local code, so point CodeUri at the \
                             function's folder"
                        ),
                    ));
                }
                let dir = crate::config::absolute(&self.dir.join(uri));
                if !dir.exists() {
                    return Err(self.error(
                        at,
                        format!("{id}: the code folder {} does not exist", dir.display()),
                    ));
                }
                dir
            }
            Code::Inline(source) => self.write_inline(&id, &language, source, at)?,
        };
        for arn in &spec.layers {
            match self.layers.get(arn) {
                Some(dir) => f.layers.push(dir.clone()),
                None => self.summary.warnings.push(format!(
                    "function {}: layer {arn} is not defined in this template, so its contents are not \
                     available locally",
                    spec.name
                )),
            }
        }
        match language {
            Language::Provided => self.provided(&mut f, &spec, &code_dir, &runtime)?,
            Language::Unavailable(message) => {
                self.summary
                    .warnings
                    .push(format!("function {}: {message}", spec.name));
                f.runtime = Some(Spanned::new(0..0, runtime.clone()));
                f.cwd = Some(code_dir.clone());
            }
            _ => {
                f.handler = handler.clone().ok_or_else(|| {
                    self.error(
                        at,
                        format!("{id}: Handler is required for runtime {runtime}"),
                    )
                })?;
                f.runtime = Some(Spanned::new(0..0, runtime.clone()));
                f.cwd = Some(code_dir.clone());
                if let Some(sdk) = runtimes::missing_sdk(&language, &code_dir) {
                    self.summary.warnings.push(format!(
                        "function {} imports {sdk}, which AWS's {runtime} includes but this machine lacks: \
                         run `offcloud runtimes install`",
                        spec.name
                    ));
                }
            }
        }
        self.summary.functions.push(FunctionLine {
            name: spec.name.clone(),
            runtime,
            code: code_dir.display().to_string(),
        });
        self.function_ids.insert(id, spec.name);
        self.functions.push(f);
        Ok(())
    }

    /// `provided.*` and `go1.x`: a `bootstrap` is run as it is; a Cargo package is built as `sam build` does.
    fn provided(
        &self,
        f: &mut FunctionConfig,
        spec: &FunctionSpec,
        dir: &std::path::Path,
        runtime: &str,
    ) -> Result<(), TemplateError> {
        let id = &spec.logical_id;
        f.cwd = Some(dir.to_path_buf());
        let handler = spec.handler.clone().unwrap_or_else(|| "bootstrap".into());
        f.handler = handler.clone();
        let cargo = dir.join("Cargo.toml");
        if dir.join("bootstrap").is_file() && spec.build_method.is_none() {
            f.command = Some(vec![dir.join("bootstrap").display().to_string()]);
        } else if runtime == "go1.x" && dir.join(&handler).is_file() {
            f.command = Some(vec![dir.join(&handler).display().to_string()]);
        } else if cargo.is_file() {
            let text = std::fs::read_to_string(&cargo).unwrap_or_default();
            let manifest: toml::Table = toml::from_str(&text).map_err(|e| {
                self.error(
                    &spec.at,
                    format!("{id}: {}: {}", cargo.display(), e.message()),
                )
            })?;
            let package = manifest
                .get("package")
                .and_then(|p| p.get("name"))
                .and_then(toml::Value::as_str)
                .ok_or_else(|| {
                    self.error(
                        &spec.at,
                        format!("{id}: {} has no [package] name", cargo.display()),
                    )
                })?;
            // cargo-lambda names the binary after the handler when it is not `bootstrap`.
            let bin = if handler == "bootstrap" {
                package
            } else {
                handler.as_str()
            };
            f.package = Some(bin.to_string());
        } else {
            return Err(self.error(
                &spec.at,
                format!(
                    "{id}: {} has no `bootstrap` file and no Cargo.toml; build the function first \
                     (`sam build`), or point CodeUri at its crate",
                    dir.display()
                ),
            ));
        }
        Ok(())
    }

    /// Writes inline code where CloudFormation puts it: a file named `index` with the runtime's extension.
    /// Source: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-lambda-function-code.html
    fn write_inline(
        &self,
        id: &str,
        language: &Language,
        source: &str,
        at: &[String],
    ) -> Result<PathBuf, TemplateError> {
        let file = match language {
            Language::Python { .. } => "index.py",
            // CloudFormation writes `index.js`, a CommonJS module.
            Language::Node { .. } => "index.js",
            _ => {
                return Err(self.error(
                    at,
                    format!("{id}: inline code is for Python and Node.js runtimes only"),
                ));
            }
        };
        let dir = runtimes::cache_dir()
            .join("inline")
            .join(&self.stack.pseudo.stack_name)
            .join(id);
        std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::write(dir.join(file), source))
            .map_err(|e| {
                self.error(
                    at,
                    format!("{id}: cannot write inline code to {}: {e}", dir.display()),
                )
            })?;
        Ok(dir)
    }

    /// The API with this logical id, created on first use.
    pub fn api(
        &mut self,
        logical_id: &str,
        kind: ApiKind,
        stage: Option<String>,
    ) -> &mut ApiConfig {
        let id = self.stack.api_id(logical_id);
        self.apis
            .entry(logical_id.to_string())
            .or_insert_with(|| ApiConfig {
                name: logical_id.to_string(),
                id: Some(id),
                kind,
                stage,
                api_keys: vec![],
                api_key_source: None,
                gateway_responses: BTreeMap::new(),
                binary_media_types: vec![],
                stage_variables: BTreeMap::new(),
                cors: None,
                openapi: None,
                routes: vec![],
                authorizers: vec![],
                models: BTreeMap::new(),
            })
    }

    /// Adds the operations of an API definition (a `DefinitionBody`, `Body` or file) to an API.
    pub fn add_definition(
        &mut self,
        logical_id: &str,
        def: &super::openapi::ApiDefinition,
        at: &[String],
    ) -> Result<(), TemplateError> {
        let variables = self
            .apis
            .get(logical_id)
            .map(|a| a.stage_variables.clone())
            .unwrap_or_default();
        let imported = routes::from_definition(def, &variables, &|name| self.function_named(name))
            .map_err(|e| self.error(at, format!("{logical_id}: {e}")))?;
        self.summary.warnings.extend(
            imported
                .warnings
                .iter()
                .map(|w| format!("{logical_id}: {w}")),
        );
        let api = self
            .apis
            .get_mut(logical_id)
            .expect("the API is created before its definition is added");
        imported.apply_to(api);
        Ok(())
    }

    /// Makes `qualifier` (a version or alias) invoke the function named `name`; false when there is none.
    pub fn add_qualifier(&mut self, name: &str, qualifier: &str) -> bool {
        let name = self
            .function_named(name)
            .unwrap_or_else(|| name.to_string());
        match self.functions.iter_mut().find(|f| f.name() == name) {
            Some(f) => {
                if !f.qualifiers.iter().any(|q| q == qualifier) {
                    f.qualifiers.push(qualifier.to_string());
                }
                true
            }
            None => false,
        }
    }

    pub fn add_route(&mut self, logical_id: &str, route: RouteConfig) {
        if let Some(api) = self.apis.get_mut(logical_id) {
            api.routes.push(route);
        }
    }

    pub fn finish(mut self) -> Result<Loaded, TemplateError> {
        for (id, body, at) in std::mem::take(&mut self.pending_definitions) {
            let def =
                super::openapi::read(&body).map_err(|e| self.error(&at, format!("{id}: {e}")))?;
            self.add_definition(&id, &def, &at)?;
        }
        for (id, r) in &self.stack.resources {
            if self.handled.contains(id) {
                continue;
            }
            let kind = r.get("Type").map(scalar_text).unwrap_or_default();
            if !ACCEPTED.contains(&kind.as_str()) {
                self.summary.not_emulated.push(format!("{id} ({kind})"));
            }
        }
        self.summary.tables = self
            .tables
            .iter()
            .map(|t| t.name.get_ref().clone())
            .collect();
        self.outputs();
        for (id, condition) in &self.stack.skipped {
            self.summary.warnings.push(format!(
                "{id} is not created: condition {condition} is false"
            ));
        }
        for api in self.apis.values() {
            self.summary.apis.push(ApiLine {
                name: api.name.clone(),
                id: api.id.clone().unwrap_or_default(),
                kind: api.kind,
                stage: api.stage.clone(),
                routes: api.routes.len(),
            });
        }
        let apis: Vec<ApiConfig> = std::mem::take(&mut self.apis)
            .into_values()
            .filter(|a| !a.routes.is_empty())
            .collect();
        Ok(Loaded {
            parts: Parts {
                functions: self.functions,
                apis,
                tables: self.tables,
            },
            summary: self.summary,
        })
    }
}

impl Builder<'_> {
    /// Resolves the template's Outputs for the summary. An output that cannot be resolved offline (an
    /// `Fn::ImportValue`, say) does not stop the start, since nothing runs it, but is named.
    fn outputs(&mut self) {
        for (name, output) in super::stack::entries(self.stack.doc.get("Outputs")) {
            if let Some(c) = output.get("Condition").and_then(Value::as_str)
                && self.stack.conditions.get(c) == Some(&false)
            {
                continue;
            }
            let Some(value) = output.get("Value") else {
                continue;
            };
            match self.stack.resolve(value, &["Outputs", &name, "Value"]) {
                Ok(v) => self.summary.outputs.push((name, scalar_text(&v))),
                Err(e) => self.summary.warnings.push(format!(
                    "output {name} is not shown: {} (line {})",
                    e.message, e.line
                )),
            }
        }
    }
}

/// Types that need no emulation to behave as deployed: permissions, roles, policies, log groups and the pieces
/// of an API that Offcloud reads through the API itself.
const ACCEPTED: &[&str] = &[
    "AWS::Lambda::Permission",
    "AWS::IAM::Role",
    "AWS::IAM::Policy",
    "AWS::IAM::ManagedPolicy",
    "AWS::Logs::LogGroup",
    "AWS::ApiGateway::Deployment",
    "AWS::ApiGateway::Account",
    "AWS::ApiGatewayV2::Deployment",
    "AWS::CloudFormation::WaitConditionHandle",
];

/// A resolved value as text, for names and environment variables.
pub fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(_) | Value::Bool(_) => Some(scalar_text(v)),
        _ => None,
    }
}
