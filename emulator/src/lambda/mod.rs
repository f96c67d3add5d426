//! The Lambda half of the emulator: functions run as real child processes that speak the Runtime API, and an
//! Invoke API in front of them.
//!
//! - [`runtime_api`] is the wire of the Runtime API that each instance's process talks to.
//! - [`instance`] is one running process and the state machine of the invocation it is serving.
//! - [`pool`] keeps warm instances per function, enforces concurrency and turns faults into AWS's errors.
//! - [`process`] starts function processes through a parent-death shim, and [`spare`] keeps one shim started ahead
//!   of the next cold start.
//! - [`events`] is the bounded queue of asynchronous invocations and their retries.
//! - [`invoke_wire`] decodes and encodes the Invoke API; [`Lambda`] is the operation behind it.

pub mod build;
pub mod debug;
pub mod events;
pub mod instance;
pub mod invoke_wire;
pub mod pool;
pub mod process;
pub mod runtime_api;
pub mod runtimes;
pub mod spare;
pub mod status;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::clock::Env;
use crate::config::Config;
pub use pool::Function;

/// The largest synchronous request or response payload: 6 MB.
/// Source: https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
pub const MAX_SYNC_PAYLOAD: usize = 6 * 1024 * 1024;
/// The largest asynchronous (`Event`) payload, 1 MB since October 2025 (AWS compute blog, 2026-01-29).
pub const MAX_ASYNC_PAYLOAD: usize = 1024 * 1024;

/// How an invocation is run, from `X-Amz-Invocation-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvocationType {
    RequestResponse,
    Event,
    DryRun,
}

/// A decoded Invoke request. Operations see this, never HTTP.
#[derive(Debug, Clone)]
pub struct InvokeInput {
    pub function_name: String,
    pub qualifier: Option<String>,
    pub invocation_type: InvocationType,
    pub tail_log: bool,
    /// Decoded JSON of `X-Amz-Client-Context`, passed to the runtime as `Lambda-Runtime-Client-Context`.
    pub client_context: Option<String>,
    pub cognito_identity: Option<String>,
    pub payload: Bytes,
    /// The trace the invocation belongs to, and the span that caused it; a new trace when `None`.
    pub trace: Option<crate::trace::TraceHeader>,
}

impl InvokeInput {
    /// A synchronous invocation with no extras.
    pub fn new(function_name: impl Into<String>, payload: impl Into<Bytes>) -> Self {
        Self {
            function_name: function_name.into(),
            qualifier: None,
            invocation_type: InvocationType::RequestResponse,
            tail_log: false,
            client_context: None,
            cognito_identity: None,
            payload: payload.into(),
            trace: None,
        }
    }

    /// The same invocation, as a step of `trace`.
    pub fn in_trace(mut self, trace: crate::trace::TraceHeader) -> Self {
        self.trace = Some(trace);
        self
    }
}

/// What an invocation produced.
#[derive(Debug, Clone)]
pub struct InvokeOutput {
    pub status: u16,
    pub request_id: String,
    /// `Some("Unhandled")` when the function failed; the payload is then the error document.
    pub function_error: Option<String>,
    pub payload: Bytes,
    /// The invocation's log, when the caller asked for the tail.
    pub log: Option<String>,
}

impl InvokeOutput {
    pub fn payload_json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.payload).unwrap_or(serde_json::Value::Null)
    }
}

/// Invoke API errors, with AWS's codes and messages.
/// Source: https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html (Errors).
#[derive(Debug, Clone, thiserror::Error)]
pub enum LambdaError {
    #[error("Function not found: {0}")]
    ResourceNotFound(String),
    /// AWS puts `RequestEntityTooLargeException` on the wire, not the modelled `RequestTooLargeException`
    /// (aws/aws-sdk-go#3080, aws/aws-sdk#45).
    #[error("Request must be smaller than {0} bytes for the InvokeFunction operation")]
    RequestTooLarge(usize),
    /// An `Event` payload over the asynchronous limit: AWS's wording, as boto3 users have recorded it
    /// (ASFHyP3/hyp3#2241, faultline/faultline#12).
    #[error("{size} byte payload is too large for the Event invocation type (limit {limit} bytes)")]
    EventPayloadTooLarge { size: usize, limit: usize },
    #[error("Could not parse request body into json: {0}")]
    InvalidRequestContent(String),
    #[error("Rate Exceeded.")]
    TooManyRequests,
    /// More invocations wait for an instance than the function allows (`max_waiting`).
    #[error("Rate Exceeded.")]
    ConcurrencyLimitExceeded,
    #[error("{0}")]
    InvalidParameterValue(String),
    #[error("{0}")]
    Service(String),
}

impl LambdaError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::ResourceNotFound(_) => "ResourceNotFoundException",
            Self::RequestTooLarge(_) | Self::EventPayloadTooLarge { .. } => {
                "RequestEntityTooLargeException"
            }
            Self::InvalidRequestContent(_) => "InvalidRequestContentException",
            Self::TooManyRequests | Self::ConcurrencyLimitExceeded => "TooManyRequestsException",
            Self::InvalidParameterValue(_) => "InvalidParameterValueException",
            Self::Service(_) => "ServiceException",
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            Self::ResourceNotFound(_) => 404,
            Self::RequestTooLarge(_) | Self::EventPayloadTooLarge { .. } => 413,
            Self::InvalidRequestContent(_) | Self::InvalidParameterValue(_) => 400,
            Self::TooManyRequests | Self::ConcurrencyLimitExceeded => 429,
            Self::Service(_) => 500,
        }
    }
}

/// Options for starting function processes.
#[derive(Debug, Clone, Default)]
pub struct LaunchOptions {
    /// `offcloud-exec` (or `offcloud`, through `__exec`), used as a shim that sets a parent-death signal before it
    /// execs the function, so that no function outlives the emulator even when it is killed with SIGKILL.
    pub shim: Option<PathBuf>,
    /// `AWS_ENDPOINT_URL` given to functions: the emulator's main port.
    pub endpoint_url: Option<String>,
    /// Build missing workspace packages with `cargo build` before starting them.
    pub build_missing: bool,
    /// Run and build packages in the release profile (`serve --release`) rather than the newer of the debug and
    /// release builds, building with `cargo build`.
    pub release: bool,
    /// The Cargo target folder packages are built in and run from. `None` is Cargo's own choice:
    /// `CARGO_TARGET_DIR`, or else the workspace's `target`.
    pub target_dir: Option<PathBuf>,
}

impl LaunchOptions {
    /// The target folder of `workspace`'s builds.
    pub fn target_dir(&self, workspace: &Path) -> PathBuf {
        self.target_dir
            .clone()
            .or_else(|| std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from))
            .map(|t| workspace.join(t))
            .unwrap_or_else(|| workspace.join("target"))
    }
}

/// The Lambda service: every configured function.
pub struct Lambda {
    /// Replaced whole by a config reload; an invocation holds the function it resolved until it ends.
    registry: std::sync::RwLock<Arc<Registry>>,
    region: String,
    account_id: String,
    retry_delays: Vec<Duration>,
    launch: Arc<LaunchOptions>,
    spare: Arc<spare::Spare>,
    faults: Arc<crate::faults::Faults>,
    env: Env,
}

/// The functions of one version of the config.
#[derive(Default)]
struct Registry {
    functions: HashMap<String, Arc<Function>>,
    /// Each function's config, to tell which ones a reload changes.
    configs: HashMap<String, crate::config::FunctionConfig>,
    /// Other names that reach a function, such as a template's logical id, and the name they reach.
    other_names: HashMap<String, String>,
    default_function: Option<String>,
    /// Each function's queue of `Event` invocations, by name. A queue outlives a reload of its function.
    events: HashMap<String, Arc<events::EventQueue>>,
}

/// What a config reload did to the functions, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reloaded {
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
}

impl Lambda {
    pub fn new(
        config: &Config,
        env: Env,
        launch: LaunchOptions,
        faults: Arc<crate::faults::Faults>,
    ) -> Result<Arc<Self>, crate::config::ConfigError> {
        let lambda = Self {
            registry: Default::default(),
            region: config.region.clone(),
            account_id: config.account_id.clone(),
            retry_delays: config
                .async_retry_delays_ms
                .iter()
                .map(|ms| Duration::from_millis(*ms))
                .collect(),
            spare: Arc::new(spare::Spare::new(launch.shim.clone())),
            launch: Arc::new(launch),
            faults,
            env,
        };
        lambda.reload(config)?;
        Ok(Arc::new(lambda))
    }

    fn registry(&self) -> Arc<Registry> {
        self.registry
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Puts `config`'s functions in service. Functions whose config is unchanged keep their instances; changed
    /// and removed ones are retired, finishing the invocations they have begun. Nothing changes when any new
    /// function is invalid.
    pub fn reload(&self, config: &Config) -> Result<Reloaded, crate::config::ConfigError> {
        let old = self.registry();
        let mut next = Registry {
            default_function: config
                .default_function
                .as_ref()
                .map(|d| d.get_ref().clone()),
            ..Registry::default()
        };
        let mut reloaded = Reloaded::default();
        for f in &config.functions {
            let name = f.name().to_string();
            let function = match (old.configs.get(&name), old.functions.get(&name)) {
                (Some(before), Some(same)) if before == f => same.clone(),
                (before, _) => {
                    match before {
                        Some(_) => reloaded.changed.push(name.clone()),
                        None => reloaded.added.push(name.clone()),
                    }
                    Arc::new(Function::new(
                        config,
                        f,
                        self.env.clone(),
                        self.launch.clone(),
                        self.spare.clone(),
                        self.faults.clone(),
                    )?)
                }
            };
            let queue = old.events.get(&name).cloned().unwrap_or_else(|| {
                Arc::new(events::EventQueue::new(
                    f.max_queued_events,
                    Duration::from_secs(f.max_event_age),
                ))
            });
            next.events.insert(name.clone(), queue);
            next.functions.insert(name.clone(), function);
            next.configs.insert(name.clone(), f.clone());
            for other in &f.also_known_as {
                next.other_names.insert(other.clone(), name.clone());
            }
        }
        for (name, f) in &old.functions {
            let kept = next.functions.get(name).is_some_and(|n| Arc::ptr_eq(n, f));
            if !kept {
                f.retire();
                if !next.functions.contains_key(name) {
                    reloaded.removed.push(name.clone());
                }
            }
        }
        reloaded.added.sort();
        reloaded.changed.sort();
        reloaded.removed.sort();
        *self.registry.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(next);
        Ok(reloaded)
    }

    /// Opens the Runtime API of every function being debugged, for handlers started by hand.
    pub fn attach_debuggers(&self) -> Result<(), String> {
        self.functions()
            .iter()
            .try_for_each(|f| f.attach_debugger())
    }

    /// Every function in service.
    pub fn functions(&self) -> Vec<Arc<Function>> {
        let mut all: Vec<Arc<Function>> = self.registry().functions.values().cloned().collect();
        all.sort_by(|a, b| a.name().cmp(b.name()));
        all
    }

    pub fn env(&self) -> &Env {
        &self.env
    }

    /// Starts a shim that waits for the next cold start, when any function starts processes (see [`spare`]). The
    /// emulator calls it as it starts; the shim's parent-death signal is tied to the calling thread, which must
    /// live as long as the emulator (never a blocking-pool thread, which ends when idle).
    pub fn keep_spare(&self) {
        if self
            .registry()
            .functions
            .values()
            .any(|f| f.starts_processes())
        {
            self.spare.fill();
        }
    }

    /// How function processes start and their packages build: the profile (`serve --release`) and target folder.
    pub fn launch(&self) -> &LaunchOptions {
        &self.launch
    }

    /// The faults in force, shared with the other services.
    pub fn faults(&self) -> &Arc<crate::faults::Faults> {
        &self.faults
    }

    /// Resolves a name, a partial ARN (`ACCOUNT:function:NAME`) or a full ARN, with an optional qualifier.
    /// `function` alone is the default function, as AWS's runtime interface emulator accepts it.
    pub fn resolve(
        &self,
        name: &str,
        qualifier: Option<&str>,
    ) -> Result<Arc<Function>, LambdaError> {
        let registry = self.registry();
        let (bare, arn_qualifier) = parse_function_name(name);
        let qualifier = qualifier.or(arn_qualifier);
        let not_found = || {
            let arn = format!(
                "arn:aws:lambda:{}:{}:function:{}",
                self.region, self.account_id, bare
            );
            LambdaError::ResourceNotFound(match qualifier {
                Some(q) => format!("{arn}:{q}"),
                None => arn,
            })
        };
        let found = registry
            .functions
            .get(bare)
            .or_else(|| {
                registry
                    .other_names
                    .get(bare)
                    .and_then(|n| registry.functions.get(n))
            })
            .or_else(|| {
                (bare == "function")
                    .then_some(registry.default_function.as_ref())
                    .flatten()
                    .and_then(|d| registry.functions.get(d))
            });
        let f = found.cloned().ok_or_else(not_found)?;
        // Every version and alias runs the same code locally: the one being served.
        match qualifier {
            None => Ok(f),
            Some(q) if f.has_qualifier(q) => Ok(f),
            Some(_) => Err(not_found()),
        }
    }

    pub async fn invoke(self: &Arc<Self>, input: InvokeInput) -> Result<InvokeOutput, LambdaError> {
        let function = self.resolve(&input.function_name, input.qualifier.as_deref())?;
        let size = input.payload.len();
        match input.invocation_type {
            InvocationType::Event if size > MAX_ASYNC_PAYLOAD => {
                return Err(LambdaError::EventPayloadTooLarge {
                    size,
                    limit: MAX_ASYNC_PAYLOAD,
                });
            }
            _ if size > MAX_SYNC_PAYLOAD => {
                return Err(LambdaError::RequestTooLarge(MAX_SYNC_PAYLOAD));
            }
            _ => {}
        }
        if !input.payload.is_empty()
            && let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&input.payload)
        {
            // FIXME: AWS's text after the prefix comes from Jackson and reads differently.
            return Err(LambdaError::InvalidRequestContent(format!(
                "Could not parse payload into json: {e}"
            )));
        }
        match input.invocation_type {
            InvocationType::DryRun => Ok(InvokeOutput {
                status: 204,
                request_id: self.env.ids.uuid(),
                function_error: None,
                payload: Bytes::new(),
                log: None,
            }),
            InvocationType::RequestResponse => function.invoke(&input).await,
            InvocationType::Event => {
                let request_id = self.env.ids.uuid();
                let queue = self
                    .registry()
                    .events
                    .get(function.name())
                    .cloned()
                    .ok_or_else(|| {
                        LambdaError::Service("the function has no event queue".into())
                    })?;
                queue.push(function.clone(), input, self.retry_delays.clone())?;
                Ok(InvokeOutput {
                    status: 202,
                    request_id,
                    function_error: None,
                    payload: Bytes::new(),
                    log: None,
                })
            }
        }
    }

    /// How many `Event` invocations of `function` are queued or running.
    pub fn queued_events(&self, function: &str) -> usize {
        self.registry().events.get(function).map_or(0, |q| q.len())
    }

    /// The names of the functions in service, sorted.
    pub fn function_names(&self) -> Vec<String> {
        self.functions()
            .iter()
            .map(|f| f.name().to_string())
            .collect()
    }

    /// Every function's status, by name.
    pub fn statuses(&self) -> Vec<status::FunctionStatus> {
        self.functions().iter().map(|f| f.status()).collect()
    }

    /// Kills every function process.
    pub fn shutdown(&self) {
        for f in self.registry().functions.values() {
            f.shutdown();
        }
    }
}

impl Drop for Lambda {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Splits `NAME`, `NAME:QUALIFIER`, `ACCOUNT:function:NAME[:QUALIFIER]` or
/// `arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]` into the name and the qualifier.
fn parse_function_name(name: &str) -> (&str, Option<&str>) {
    let parts: Vec<&str> = name.split(':').collect();
    match parts.as_slice() {
        ["arn", _, "lambda", _, _, "function", n] | [_, "function", n] | [n] => (n, None),
        ["arn", _, "lambda", _, _, "function", n, q] | [_, "function", n, q] | [n, q] => {
            (n, Some(q))
        }
        _ => (name, None),
    }
}

/// A fresh folder for one test, under the system's temporary one, removed when dropped (a failed assertion too).
#[cfg(test)]
pub(crate) mod test_folder {
    use std::path::PathBuf;

    pub struct Folder(pub PathBuf);

    impl Folder {
        pub fn new(tag: &str) -> Self {
            let d = std::env::temp_dir().join(format!(
                "offcloud-{tag}-{}-{}",
                std::process::id(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos()
            ));
            std::fs::create_dir_all(&d).unwrap();
            Self(d)
        }
    }

    impl Drop for Folder {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_names_in_every_form() {
        assert_eq!(parse_function_name("f"), ("f", None));
        assert_eq!(parse_function_name("f:$LATEST"), ("f", Some("$LATEST")));
        assert_eq!(parse_function_name("123456789012:function:f"), ("f", None));
        assert_eq!(
            parse_function_name("arn:aws:lambda:us-east-1:123456789012:function:f:prod"),
            ("f", Some("prod"))
        );
    }
}
