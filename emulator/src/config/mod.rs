//! The emulator's configuration file (`offcloud.toml`).
//!
//! Every error names the file, the line and the problem, because a config file is the first thing a
//! new user gets wrong.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

mod api;
mod cluster;

pub use api::*;
pub use cluster::{ClusterConfig, SecretConfig, ServerKind, ServerUrl};

/// A problem with a config file, located at a line.
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct ConfigError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default = "default_region")]
    pub region: String,
    #[serde(default = "default_account")]
    pub account_id: String,
    /// The function that `/2015-03-31/functions/function/invocations` reaches, as in AWS's runtime interface emulator.
    pub default_function: Option<Spanned<String>>,
    /// Delays between the retries of a failed asynchronous (`Event`) invocation. AWS retries twice, after about one
    /// and then two minutes; tests set shorter delays.
    #[serde(default = "default_retry_delays")]
    pub async_retry_delays_ms: Vec<u64>,
    #[serde(default, rename = "function")]
    pub functions: Vec<FunctionConfig>,
    #[serde(default, rename = "api")]
    pub apis: Vec<ApiConfig>,
    /// DynamoDB tables created at start-up.
    #[serde(default, rename = "table")]
    pub tables: Vec<TableConfig>,
    /// Aurora clusters served by the RDS Data API.
    #[serde(default, rename = "cluster")]
    pub clusters: Vec<ClusterConfig>,
    /// Secrets Manager secrets the clusters' `secret_arns` name, with the credentials a server cluster connects
    /// with.
    #[serde(default, rename = "secret")]
    pub secrets: Vec<SecretConfig>,
    /// Faults injected from the start; see [`crate::faults`].
    #[serde(default, rename = "fault")]
    pub faults: Vec<Spanned<crate::faults::FaultSpec>>,
    /// The seed of the generator behind faults' `probability`, so that a run can be repeated.
    #[serde(default)]
    pub fault_seed: u64,
    /// How many traces `/_offcloud/api/traces` keeps; the oldest go first.
    #[serde(default = "default_trace_capacity")]
    pub trace_capacity: usize,
    /// An OTLP/HTTP collector's base URL (`http://127.0.0.1:4318`, Jaeger's), to which traces are also exported;
    /// `offcloud serve --otlp-endpoint` sets it too. See [`crate::trace::otlp`].
    pub otlp_endpoint: Option<Spanned<String>>,
    /// A DynamoDB-compatible endpoint (DynamoDB Local, ScyllaDB Alternator, real DynamoDB) that serves every table
    /// instead of the embedded engine; see [`crate::dynamodb::remote`].
    pub dynamodb_endpoint: Option<Spanned<String>>,
    /// The directory relative paths in this file are resolved against: the file's own directory's parent
    /// workspace root when there is one, otherwise the file's directory.
    #[serde(skip)]
    pub base_dir: PathBuf,
    #[serde(skip)]
    pub source: Source,
}

/// What another source, such as a template, adds to a config.
#[derive(Debug, Default)]
pub struct Parts {
    pub functions: Vec<FunctionConfig>,
    pub apis: Vec<ApiConfig>,
    pub tables: Vec<TableConfig>,
}

/// Where a config came from, for locating errors found after parsing.
#[derive(Debug, Clone, Default)]
pub struct Source {
    pub file: String,
    pub text: String,
}

impl Source {
    pub fn error(&self, span: Range<usize>, message: impl Into<String>) -> ConfigError {
        ConfigError {
            file: self.file.clone(),
            line: line_of(&self.text, span.start),
            message: message.into(),
        }
    }
}

fn default_trace_capacity() -> usize {
    crate::trace::DEFAULT_CAPACITY
}

fn default_region() -> String {
    "us-east-1".into()
}
fn default_account() -> String {
    "123456789012".into()
}
fn default_retry_delays() -> Vec<u64> {
    vec![60_000, 120_000]
}
fn default_timeout() -> f64 {
    3.0
}
fn default_memory() -> u32 {
    128
}
fn default_concurrency() -> usize {
    10
}
/// AWS's default concurrency quota per account and region.
/// Source: https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
fn default_max_waiting() -> usize {
    1000
}

fn default_max_queued_events() -> usize {
    1000
}
/// Source: https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html
fn default_max_event_age() -> u64 {
    6 * 60 * 60
}

fn default_handler() -> String {
    "bootstrap".into()
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionConfig {
    pub name: Spanned<String>,
    /// A workspace package whose binary is the function (found in `target/`, built if missing).
    pub package: Option<String>,
    /// Any command line that speaks the Runtime API, e.g. `["python3", "-m", "awslambdaric", "app.handler"]`.
    pub command: Option<Vec<String>>,
    /// An AWS runtime identifier (`python3.12`, `nodejs20.x`, `provided.al2023`): the function's `handler` in
    /// `cwd` is run with Offcloud's own runtime interface client for that language.
    pub runtime: Option<Spanned<String>>,
    /// `offcloud` (the default) runs Python and Node.js handlers with Offcloud's own runtime clients; `aws` runs
    /// them with AWS's (`python3 -m awslambdaric`, `npx aws-lambda-ric`), which must then be installed.
    #[serde(default)]
    pub runtime_client: RuntimeClient,
    /// Layer directories, each laid out as `/opt` is on AWS (`python/`, `nodejs/node_modules/`, `bin/`).
    #[serde(default)]
    pub layers: Vec<PathBuf>,
    /// Other names that reach this function, such as a template's logical id.
    #[serde(default)]
    pub also_known_as: Vec<String>,
    /// Qualifiers that invoke this function besides `$LATEST`: published versions and aliases.
    #[serde(default)]
    pub qualifiers: Vec<String>,
    /// The working directory of the function process (`LAMBDA_TASK_ROOT`), relative to the base directory.
    pub cwd: Option<PathBuf>,
    #[serde(default = "default_handler")]
    pub handler: String,
    /// Seconds, as in AWS (1 to 900).
    #[serde(default = "default_timeout")]
    pub timeout: f64,
    #[serde(default = "default_memory")]
    pub memory_size: u32,
    /// How many instances may run at once; further invocations wait for a free one.
    #[serde(default = "default_concurrency")]
    pub max_concurrency: usize,
    /// Reserved concurrency: invocations beyond it are throttled with 429, as on AWS.
    pub reserved_concurrency: Option<usize>,
    /// How many synchronous invocations may wait for an instance; further ones get 429 with the reason
    /// `ConcurrentInvocationLimitExceeded`. By default 1,000, AWS's default account concurrency.
    #[serde(default = "default_max_waiting")]
    pub max_waiting: usize,
    /// How many asynchronous (`Event`) invocations may be queued or running; further ones get 429. By default
    /// 1,000.
    #[serde(default = "default_max_queued_events")]
    pub max_queued_events: usize,
    /// Seconds an `Event` invocation that keeps being throttled is retried before it is dropped: AWS's
    /// `MaximumEventAgeInSeconds`, 6 hours by default.
    #[serde(default = "default_max_event_age")]
    pub max_event_age: u64,
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    /// Debugger attach (`serve --debug NAME` sets it): Offcloud does not start the function, but serves its Runtime
    /// API on this fixed port, for a handler started by hand under a debugger.
    pub debug_port: Option<u16>,
    /// Seconds an invocation of a function being debugged may take; no limit when absent, so that a breakpoint
    /// never times an invocation out.
    pub debug_timeout: Option<f64>,
}

impl FunctionConfig {
    pub fn name(&self) -> &str {
        self.name.get_ref()
    }

    /// A function started by a command line, with every optional setting at its default.
    pub fn new(name: &str) -> Self {
        Self {
            name: Spanned::new(0..0, name.to_string()),
            package: None,
            command: None,
            runtime: None,
            runtime_client: RuntimeClient::default(),
            layers: vec![],
            also_known_as: vec![],
            qualifiers: vec![],
            cwd: None,
            handler: default_handler(),
            timeout: default_timeout(),
            memory_size: default_memory(),
            max_concurrency: default_concurrency(),
            reserved_concurrency: None,
            max_waiting: default_max_waiting(),
            max_queued_events: default_max_queued_events(),
            max_event_age: default_max_event_age(),
            environment: BTreeMap::new(),
            debug_port: None,
            debug_timeout: None,
        }
    }
}

/// Which runtime interface client runs a Python or Node.js handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuntimeClient {
    #[default]
    Offcloud,
    Aws,
}

/// A DynamoDB table, created at start-up with on-demand billing.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableConfig {
    pub name: Spanned<String>,
    pub hash_key: KeyConfig,
    pub range_key: Option<KeyConfig>,
    #[serde(default)]
    pub gsi: Vec<GsiConfig>,
    /// `StreamViewType` of the table's stream, when it has one: `KEYS_ONLY`, `NEW_IMAGE`, `OLD_IMAGE` or
    /// `NEW_AND_OLD_IMAGES`.
    pub stream: Option<Spanned<String>>,
    /// The attribute holding each item's expiry time, in epoch seconds.
    pub ttl_attribute: Option<String>,
    /// A DynamoDB-compatible endpoint that serves this table instead of the embedded engine (or the service's
    /// `dynamodb_endpoint`); see [`crate::dynamodb::remote`].
    pub dynamodb_endpoint: Option<Spanned<String>>,
}

/// A key attribute: `{ name = "id", type = "S" }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyConfig {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: KeyType,
}

/// The scalar types a key attribute can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum KeyType {
    S,
    N,
    B,
}

/// A global secondary index.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GsiConfig {
    pub name: String,
    pub hash_key: KeyConfig,
    pub range_key: Option<KeyConfig>,
    /// `ALL` (the default) or `KEYS_ONLY`.
    pub projection: Option<String>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.display().to_string(),
            line: 0,
            message: format!("cannot read the file: {e}"),
        })?;
        Self::parse(&path.display().to_string(), &text, &folder_of(path))
    }

    /// Parses and validates config text. `dir` is the directory of the file.
    pub fn parse(file: &str, text: &str, dir: &Path) -> Result<Self, ConfigError> {
        let source = Source {
            file: file.to_string(),
            text: text.to_string(),
        };
        let mut config: Config = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(0);
            ConfigError {
                file: file.to_string(),
                line,
                message: e.message().trim().to_string(),
            }
        })?;
        // Every path a function sees is absolute, wherever the file was given from.
        config.base_dir = workspace_root(dir).unwrap_or_else(|| absolute(dir));
        // A JWKS file is relative to the base directory too; a URL stays as written.
        for a in config
            .apis
            .iter_mut()
            .flat_map(|api| api.authorizers.iter_mut())
        {
            if let Some(j) = &a.jwks
                && !j
                    .to_str()
                    .is_some_and(|j| j.starts_with("http://") || j.starts_with("https://"))
            {
                a.jwks = Some(config.base_dir.join(j));
            }
        }
        config.source = source;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let src = &self.source;
        self.validate_clusters()?;
        if let Some(url) = &self.otlp_endpoint
            && let Err(problem) = crate::trace::otlp::traces_url(url.get_ref())
        {
            return Err(src.error(url.span(), format!("otlp_endpoint: {problem}")));
        }
        if let Some(url) = &self.dynamodb_endpoint
            && let Err(problem) = crate::dynamodb::remote::check_endpoint(url.get_ref())
        {
            return Err(src.error(url.span(), format!("dynamodb_endpoint: {problem}")));
        }
        for f in &self.faults {
            if let Some(problem) = f.get_ref().problem() {
                return Err(src.error(f.span(), format!("fault: {problem}")));
            }
        }
        let mut seen = std::collections::HashSet::new();
        let mut debug_ports = std::collections::HashSet::new();
        for f in &self.functions {
            let name = f.name();
            if name.is_empty()
                || name.len() > 64
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(src.error(
                    f.name.span(),
                    format!("function name {name:?} must be 1 to 64 letters, digits, hyphens or underscores"),
                ));
            }
            if !seen.insert(name) {
                return Err(src.error(
                    f.name.span(),
                    format!("function {name:?} is declared twice"),
                ));
            }
            if let Some(rt) = &f.runtime
                && let Err(e) = crate::lambda::runtimes::Language::of(rt.get_ref())
            {
                return Err(src.error(rt.span(), format!("function {name:?}: {e}")));
            }
            let ways = [
                f.package.is_some(),
                f.command.is_some(),
                f.runtime.is_some(),
            ];
            match (&f.package, &f.command) {
                _ if ways.iter().filter(|w| **w).count() > 1 => {
                    return Err(src.error(
                        f.name.span(),
                        format!("function {name:?} sets more than one of `package`, `command` and `runtime`; choose one"),
                    ));
                }
                (None, None) if f.runtime.is_none() => {
                    return Err(src.error(
                        f.name.span(),
                        format!("function {name:?} needs `package` (a workspace package), `command` (a command line) or `runtime` (with `handler` and `cwd`)"),
                    ));
                }
                (None, Some(c)) if c.is_empty() => {
                    return Err(src.error(
                        f.name.span(),
                        format!("function {name:?} has an empty `command`"),
                    ));
                }
                _ => {}
            }
            if !(f.timeout > 0.0 && f.timeout <= 900.0) {
                return Err(src.error(
                    f.name.span(),
                    format!("function {name:?}: timeout must be between 1 and 900 seconds"),
                ));
            }
            if f.debug_timeout.is_some_and(|t| t <= 0.0 || !t.is_finite()) {
                return Err(src.error(
                    f.name.span(),
                    format!(
                        "function {name:?}: debug_timeout must be a positive number of seconds"
                    ),
                ));
            }
            if let Some(port) = f.debug_port
                && !debug_ports.insert(port)
            {
                return Err(src.error(
                    f.name.span(),
                    format!("function {name:?}: debug_port {port} is another function's already"),
                ));
            }
            if !(128..=10240).contains(&f.memory_size) {
                return Err(src.error(
                    f.name.span(),
                    format!("function {name:?}: memory_size must be between 128 and 10240 MB"),
                ));
            }
            if f.max_concurrency == 0 {
                return Err(src.error(
                    f.name.span(),
                    format!("function {name:?}: max_concurrency must be at least 1"),
                ));
            }
        }
        let mut seen: std::collections::HashSet<&str> = seen;
        for f in &self.functions {
            for other in &f.also_known_as {
                if !seen.insert(other) {
                    return Err(src.error(
                        f.name.span(),
                        format!("function {:?}: the name {other:?} is used twice", f.name()),
                    ));
                }
            }
        }
        if let Some(d) = &self.default_function
            && !seen.contains(d.get_ref().as_str())
        {
            return Err(src.error(
                d.span(),
                format!(
                    "default_function {:?} is not a declared function",
                    d.get_ref()
                ),
            ));
        }
        for api in &self.apis {
            if let Some(source) = &api.api_key_source
                && !["header", "authorizer"].contains(&source.to_ascii_lowercase().as_str())
            {
                return Err(src.error(
                    0..0,
                    format!(
                        "API {}: api_key_source {source:?} must be header or authorizer",
                        api.name
                    ),
                ));
            }
            if let Err(e) =
                crate::apigw::gateway_responses::GatewayResponses::new(&api.gateway_responses)
            {
                return Err(src.error(0..0, format!("API {}: {e}", api.name)));
            }
            if let Err(e) = crate::apigw::validate::Models::new(&api.models) {
                return Err(src.error(0..0, format!("API {}: {e}", api.name)));
            }
            for a in &api.authorizers {
                if let Some(f) = &a.function {
                    let function = f.get_ref();
                    let bare = function
                        .split_once(':')
                        .map_or(function.as_str(), |(n, _)| n);
                    if !seen.contains(bare) {
                        return Err(src.error(
                            f.span(),
                            format!(
                                "authorizer {} names unknown function {function:?}",
                                a.name.get_ref()
                            ),
                        ));
                    }
                }
                if let Err(e) = crate::apigw::authorizer_config(api.kind, a) {
                    return Err(src.error(a.name.span(), e));
                }
            }
            if let Some(name) = api.cors.as_ref().and_then(|c| c.authorizer.as_ref())
                && !api.authorizers.iter().any(|a| a.name.get_ref() == name)
            {
                return Err(src.error(
                    0..0,
                    format!(
                        "API {}: cors names authorizer {name:?}, which the API does not declare",
                        api.name
                    ),
                ));
            }
            for r in &api.routes {
                if let Some(name) = &r.authorizer
                    && !api.authorizers.iter().any(|a| a.name.get_ref() == name)
                {
                    return Err(src.error(
                        r.function.span(),
                        format!(
                            "route {} {} names authorizer {name:?}, which API {} does not declare",
                            r.method.get_ref(),
                            r.path,
                            api.name
                        ),
                    ));
                }
                let at = |m: String| {
                    src.error(
                        r.method.span(),
                        format!("route {} {}: {m}", r.method.get_ref(), r.path),
                    )
                };
                if crate::apigw::integration::is_mapped(r.integration) {
                    crate::apigw::integration::Mapping::compile(r).map_err(at)?;
                } else if !r.request_templates.is_empty()
                    || r.passthrough.is_some()
                    || r.responses
                        .iter()
                        .any(|x| !x.templates.is_empty() || !x.headers.is_empty())
                {
                    return Err(at(
                        "mapping templates and response headers apply only to `lambda` and `mock` \
                                   integrations; a proxy function writes its own answer"
                            .into(),
                    ));
                }
                match (r.integration, r.function.get_ref().is_empty()) {
                    (IntegrationKind::Mock, true) => continue,
                    (IntegrationKind::Mock, false) => {
                        return Err(at(
                            "a mock integration runs no function; remove `function`".into()
                        ));
                    }
                    (_, true) => return Err(at("the route needs `function`".into())),
                    _ => {}
                }
                // A route may name an alias or version: `name:qualifier`, and use stage variables.
                let function = &api.function_of(r).map_err(at)?;
                let bare = function
                    .split_once(':')
                    .map_or(function.as_str(), |(n, _)| n);
                if !seen.contains(bare) {
                    return Err(src.error(
                        r.function.span(),
                        format!(
                            "route {} {} names unknown function {:?}",
                            r.method.get_ref(),
                            r.path,
                            r.function.get_ref()
                        ),
                    ));
                }
                for resp in &r.responses {
                    if let Some(p) = &resp.pattern
                        && let Err(e) = crate::apigw::selection_pattern(p.get_ref())
                    {
                        return Err(src.error(p.span(), format!("invalid selection pattern: {e}")));
                    }
                }
            }
        }
        self.validate_tables()
    }

    fn validate_tables(&self) -> Result<(), ConfigError> {
        let src = &self.source;
        let mut seen = std::collections::HashSet::new();
        for t in &self.tables {
            let name = t.name.get_ref();
            let err = |message: String| Err(src.error(t.name.span(), message));
            // Source: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html
            if !(3..=255).contains(&name.len())
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            {
                return err(format!(
                    "table name {name:?} must be 3 to 255 letters, digits, underscores, hyphens or dots"
                ));
            }
            if !seen.insert(name.as_str()) {
                return err(format!("table {name:?} is declared twice"));
            }
            let mut types = BTreeMap::new();
            let keys = std::iter::once((&t.hash_key, t.range_key.as_ref()))
                .chain(t.gsi.iter().map(|g| (&g.hash_key, g.range_key.as_ref())));
            for (hash, range) in keys {
                for k in std::iter::once(hash).chain(range) {
                    if k.name.is_empty() {
                        return err(format!("table {name:?}: a key attribute has an empty name"));
                    }
                    if let Some(other) = types.insert(k.name.as_str(), k.kind)
                        && other != k.kind
                    {
                        return err(format!(
                            "table {name:?}: attribute {:?} is declared as both {other:?} and {:?}",
                            k.name, k.kind
                        ));
                    }
                }
                if range.is_some_and(|r| r.name == hash.name) {
                    return err(format!(
                        "table {name:?}: the range key cannot be the hash key {:?}",
                        hash.name
                    ));
                }
            }
            let mut indexes = std::collections::HashSet::new();
            for g in &t.gsi {
                if !indexes.insert(g.name.as_str()) {
                    return err(format!(
                        "table {name:?}: index {:?} is declared twice",
                        g.name
                    ));
                }
                if !matches!(g.projection.as_deref(), None | Some("ALL" | "KEYS_ONLY")) {
                    return err(format!(
                        "table {name:?}: index {:?}: projection must be \"ALL\" or \"KEYS_ONLY\"",
                        g.name
                    ));
                }
            }
            if let Some(view) = &t.stream
                && !matches!(
                    view.get_ref().as_str(),
                    "KEYS_ONLY" | "NEW_IMAGE" | "OLD_IMAGE" | "NEW_AND_OLD_IMAGES"
                )
            {
                return Err(src.error(
                    view.span(),
                    "stream must be KEYS_ONLY, NEW_IMAGE, OLD_IMAGE or NEW_AND_OLD_IMAGES",
                ));
            }
            if let Some(url) = &t.dynamodb_endpoint
                && let Err(problem) = crate::dynamodb::remote::check_endpoint(url.get_ref())
            {
                return Err(src.error(
                    url.span(),
                    format!("table {name:?}: dynamodb_endpoint: {problem}"),
                ));
            }
        }
        Ok(())
    }

    /// Adds functions, APIs and tables from another file, such as a template, then validates the whole again.
    /// The other file has checked its own entries; what is left to find here is a clash with this config, which
    /// is reported against that file.
    pub fn merge(&mut self, file: &Path, parts: Parts) -> Result<(), ConfigError> {
        self.functions.extend(parts.functions);
        self.apis.extend(parts.apis);
        self.tables.extend(parts.tables);
        self.validate().map_err(|e| ConfigError {
            file: file.display().to_string(),
            line: 0,
            ..e
        })
    }

    /// An empty config rooted at `dir`, for a template without a config file.
    pub fn empty(dir: &Path) -> Result<Self, ConfigError> {
        Self::parse("(none)", "", dir)
    }

    pub fn function(&self, name: &str) -> Option<&FunctionConfig> {
        self.functions.iter().find(|f| f.name() == name)
    }
}

/// `path` made absolute, without resolving links when it does not exist.
pub fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path)
        .or_else(|_| std::path::absolute(path))
        .unwrap_or_else(|_| path.to_path_buf())
}

impl Config {
    /// Marks functions for debugger attach, as `serve --debug NAME[:PORT]` asks: each is then not started, and its
    /// Runtime API waits on the port for a handler started by hand.
    pub fn debug(&mut self, targets: &[(String, u16)]) -> Result<(), String> {
        let mut ports = std::collections::HashSet::new();
        for (name, port) in targets {
            if !ports.insert(*port) {
                return Err(format!("--debug {name}:{port}: port {port} is given twice"));
            }
            let names: Vec<String> = self
                .functions
                .iter()
                .map(|f| f.name().to_string())
                .collect();
            let f = self
                .functions
                .iter_mut()
                .find(|f| f.name() == name || f.also_known_as.contains(name))
                .ok_or_else(|| {
                    format!(
                        "--debug {name}: there is no function of that name (functions: {})",
                        names.join(", ")
                    )
                })?;
            f.debug_port = Some(*port);
        }
        Ok(())
    }
}

/// The folder of a file. A bare file name's parent is the empty path, which cannot be made absolute: it means the
/// current folder.
fn folder_of(path: &Path) -> PathBuf {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The nearest ancestor holding a `Cargo.toml` with a `[workspace]` table.
pub fn workspace_root(start: &Path) -> Option<PathBuf> {
    let start = std::fs::canonicalize(start).ok()?;
    start.ancestors().find_map(|d| {
        let text = std::fs::read_to_string(d.join("Cargo.toml")).ok()?;
        text.contains("[workspace]").then(|| d.to_path_buf())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse("test.toml", text, Path::new("/nonexistent"))
    }

    #[test]
    fn a_bare_file_name_is_relative_to_the_current_folder() {
        assert_eq!(folder_of(Path::new("offcloud.toml")), Path::new("."));
        assert_eq!(
            folder_of(Path::new("fixtures/offcloud.toml")),
            Path::new("fixtures")
        );
        let c = Config::parse("offcloud.toml", "", &folder_of(Path::new("offcloud.toml"))).unwrap();
        assert!(c.base_dir.is_absolute(), "{}", c.base_dir.display());
    }

    #[test]
    fn minimal_function_gets_aws_defaults() {
        let c = parse("[[function]]\nname = \"f\"\ncommand = [\"true\"]\n").unwrap();
        let f = &c.functions[0];
        assert_eq!(
            (f.timeout, f.memory_size, f.max_concurrency),
            (3.0, 128, 10)
        );
        assert_eq!(c.region, "us-east-1");
    }

    #[test]
    fn syntax_error_names_file_and_line() {
        let e = parse("region = \"x\"\n[[function]]\nname = \n").unwrap_err();
        assert_eq!(e.file, "test.toml");
        assert_eq!(e.line, 3, "{e}");
    }

    #[test]
    fn unknown_field_is_rejected_with_its_line() {
        let e =
            parse("[[function]]\nname = \"f\"\ncommand = [\"true\"]\ntimout = 3\n").unwrap_err();
        assert_eq!(e.line, 4, "{e}");
        assert!(e.message.contains("timout"), "{e}");
    }

    #[test]
    fn duplicate_function_is_rejected_at_second_declaration() {
        let e = parse("[[function]]\nname = \"f\"\ncommand = [\"a\"]\n[[function]]\nname = \"f\"\ncommand = [\"b\"]\n")
            .unwrap_err();
        assert_eq!(e.line, 5);
        assert!(e.to_string().contains("declared twice"), "{e}");
    }

    #[test]
    fn function_needs_exactly_one_way_to_start() {
        let e = parse("[[function]]\nname = \"f\"\n").unwrap_err();
        assert!(e.message.contains("needs `package`"), "{e}");
        let e =
            parse("[[function]]\nname = \"f\"\npackage = \"p\"\ncommand = [\"x\"]\n").unwrap_err();
        assert!(e.message.contains("more than one of"), "{e}");
        let e = parse("[[function]]\nname = \"f\"\nruntime = \"cobol\"\n").unwrap_err();
        assert!(e.message.contains("unknown runtime"), "{e}");
    }

    #[test]
    fn route_to_unknown_function_is_rejected() {
        let text = "[[function]]\nname = \"f\"\ncommand = [\"a\"]\n[[api]]\nname = \"a\"\ntype = \"rest\"\n[[api.route]]\nmethod = \"GET\"\npath = \"/x\"\nfunction = \"g\"\n";
        let e = parse(text).unwrap_err();
        assert_eq!(e.line, 10);
        assert!(e.message.contains("unknown function \"g\""), "{e}");
    }

    #[test]
    fn tables_parse_with_keys_and_indexes() {
        let c = parse("[[table]]\nname = \"t01\"\nhash_key = { name = \"id\", type = \"S\" }\nrange_key = { name = \"n\", type = \"N\" }\n[[table.gsi]]\nname = \"by-x\"\nhash_key = { name = \"x\", type = \"S\" }\n").unwrap();
        let t = &c.tables[0];
        assert_eq!(t.hash_key.kind, KeyType::S);
        assert_eq!(t.range_key.as_ref().unwrap().kind, KeyType::N);
        assert_eq!(t.gsi[0].name, "by-x");
    }

    #[test]
    fn bad_tables_are_rejected_at_their_line() {
        let e = parse("region = \"x\"\n[[table]]\nname = \"ab\"\nhash_key = { name = \"id\", type = \"S\" }\n").unwrap_err();
        assert_eq!(e.line, 3, "{e}");
        let e = parse("[[table]]\nname = \"abc\"\nhash_key = { name = \"id\", type = \"X\" }\n")
            .unwrap_err();
        assert_eq!(e.line, 3, "{e}");
        let e = parse("[[table]]\nname = \"abc\"\nhash_key = { name = \"id\", type = \"S\" }\n[[table.gsi]]\nname = \"g\"\nhash_key = { name = \"id\", type = \"N\" }\n").unwrap_err();
        assert!(e.message.contains("both"), "{e}");
        let e = parse("[[table]]\nname = \"abc\"\nhash_key = { name = \"id\", type = \"S\" }\n[[table]]\nname = \"abc\"\nhash_key = { name = \"id\", type = \"S\" }\n").unwrap_err();
        assert_eq!(e.line, 5, "{e}");
    }

    #[test]
    fn otlp_endpoint_is_an_http_url() {
        let c = parse("otlp_endpoint = \"http://127.0.0.1:4318\"\n").unwrap();
        assert_eq!(
            c.otlp_endpoint.unwrap().into_inner(),
            "http://127.0.0.1:4318"
        );
        let e = parse("region = \"x\"\notlp_endpoint = \"127.0.0.1:4318\"\n").unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        assert!(e.message.starts_with("otlp_endpoint: "), "{e}");
    }

    #[test]
    fn dynamodb_endpoints_are_http_urls_checked_at_their_line() {
        let c = parse("dynamodb_endpoint = \"http://127.0.0.1:8000\"\n[[table]]\nname = \"abc\"\nhash_key = { name = \"id\", type = \"S\" }\ndynamodb_endpoint = \"https://dynamodb.eu-west-1.amazonaws.com\"\n").unwrap();
        assert_eq!(
            c.dynamodb_endpoint.unwrap().into_inner(),
            "http://127.0.0.1:8000"
        );
        assert_eq!(
            c.tables[0].dynamodb_endpoint.as_ref().unwrap().get_ref(),
            "https://dynamodb.eu-west-1.amazonaws.com"
        );
        let e = parse("region = \"x\"\ndynamodb_endpoint = \"localhost:8000\"\n").unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("test.toml", 2), "{e}");
        assert!(e.message.starts_with("dynamodb_endpoint: "), "{e}");
        let e = parse("[[table]]\nname = \"abc\"\nhash_key = { name = \"id\", type = \"S\" }\ndynamodb_endpoint = \"ftp://x\"\n").unwrap_err();
        assert_eq!(e.line, 4, "{e}");
        assert!(
            e.message.contains("table \"abc\": dynamodb_endpoint:"),
            "{e}"
        );
        let e = parse("[[table]]\nname = \"abc\"\nhash_key = { name = \"id\", type = \"S\" }\ndynamodb_endpoint = \"http://h:8000/?x=1\"\n").unwrap_err();
        assert!(e.message.contains("query"), "{e}");
    }

    #[test]
    fn unknown_default_function_is_rejected() {
        let e = parse("default_function = \"nope\"\n").unwrap_err();
        assert_eq!(e.line, 1);
    }
}
