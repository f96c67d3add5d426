//! A function's pool of instances: warm reuse, concurrency limits, cold starts, and turning every fault into
//! the error AWS gives.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::json;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use super::build::find_binary;
use super::debug::{Commands, DebugMode, under_debugger};
use super::instance::{Delivery, Instance, LogBuffer, RuntimeOutcome, TailLog};
use super::runtime_api::{MAX_RESPONSE, RuntimeApi, error_document};
use super::spare::Spare;
use super::status::{BuildStatus, FunctionStatus};
use super::{InvokeInput, InvokeOutput, LambdaError, LaunchOptions, process, runtimes};
use crate::clock::Env;
use crate::config::{Config, ConfigError, FunctionConfig};
use crate::trace::{Pending, TraceHeader, span_id};

/// How a function process is started.
#[derive(Debug, Clone)]
enum Program {
    /// A workspace package's binary, built on demand.
    Package {
        name: String,
        workspace: PathBuf,
    },
    Command(Vec<String>),
    /// A function that cannot be started here; every invocation fails with this message.
    Unavailable(String),
}

/// One configured function and its instances.
pub struct Function {
    name: String,
    arn: String,
    qualifiers: Vec<String>,
    program: Program,
    cwd: PathBuf,
    /// Set when the function is being debugged: its handler is started by hand, not by Offcloud.
    debug: Option<DebugMode>,
    /// Layer folders, for the watcher.
    layers: Vec<PathBuf>,
    env_vars: BTreeMap<String, String>,
    timeout: Duration,
    memory_size: u32,
    permits: Arc<Semaphore>,
    throttle: bool,
    /// Synchronous invocations waiting for a permit now, and how many may.
    waiting: AtomicUsize,
    max_waiting: usize,
    idle: Mutex<Vec<Idle>>,
    /// The version of the function's code that new instances run. Instances of an older one finish what they
    /// are doing and are then stopped (see [`Function::recycle`]).
    generation: AtomicU64,
    /// True while the function's code is being rebuilt: new invocations wait for the build to end.
    building: tokio::sync::watch::Sender<bool>,
    /// Set when the function was replaced or removed by a config reload: no instance is kept once it is done.
    retired: std::sync::atomic::AtomicBool,
    live: Mutex<HashMap<u64, (u32, Arc<super::instance::Shared>)>>,
    next_instance: AtomicU64,
    invocations: AtomicU64,
    /// Invocations that ended in a function error.
    errors: AtomicU64,
    last_build: Mutex<Option<BuildStatus>>,
    env: Env,
    launch: Arc<LaunchOptions>,
    /// The shim waiting for a cold start, shared by every function.
    spare: Arc<Spare>,
    faults: Arc<crate::faults::Faults>,
}

impl Function {
    pub fn new(
        config: &Config,
        f: &FunctionConfig,
        env: Env,
        launch: Arc<LaunchOptions>,
        spare: Arc<Spare>,
        faults: Arc<crate::faults::Faults>,
    ) -> Result<Self, ConfigError> {
        let name = f.name().to_string();
        let cwd = match &f.cwd {
            Some(d) => config.base_dir.join(d),
            None => config.base_dir.clone(),
        };
        let mut runtime_env = BTreeMap::new();
        let layers: Vec<PathBuf> = f.layers.iter().map(|l| config.base_dir.join(l)).collect();
        let program = match (&f.package, &f.command, &f.runtime) {
            (Some(p), _, _) => Program::Package {
                name: p.clone(),
                // A package in its own folder (a template's CodeUri) is built in its own workspace, or alone.
                workspace: match &f.cwd {
                    Some(_) => crate::config::workspace_root(&cwd).unwrap_or_else(|| cwd.clone()),
                    None => config.base_dir.clone(),
                },
            },
            (None, Some(c), _) => Program::Command(c.clone()),
            (None, None, Some(rt)) => match runtimes::Language::of(rt.get_ref()) {
                Ok(runtimes::Language::Provided) => {
                    Program::Command(vec![cwd.join("bootstrap").display().to_string()])
                }
                Ok(language) => match runtimes::launch(
                    rt.get_ref(),
                    &language,
                    &f.handler,
                    f.runtime_client,
                    &layers,
                ) {
                    Ok(launch) => {
                        runtime_env = launch.env;
                        Program::Command(launch.argv)
                    }
                    Err(e) => Program::Unavailable(e),
                },
                Err(e) => Program::Unavailable(e),
            },
            (None, None, None) => unreachable!("validated by Config::validate"),
        };
        // A package that is neither built nor buildable would fail every cold start with the same cargo error, so
        // it is the config's mistake, named at start-up.
        if let Program::Package {
            name: package,
            workspace,
        } = &program
            && f.debug_port.is_none()
            && !workspace.join("Cargo.toml").is_file()
            && find_binary(workspace, package, &launch).is_none()
        {
            return Err(config.source.error(
                f.name.span(),
                format!(
                    "function {name:?}: package {package:?} is not built, and {} has no Cargo.toml to build it \
                     with; put the config in the package's Cargo workspace, set the function's `cwd` to the \
                     package's folder, or give it a `command`",
                    workspace.display()
                ),
            ));
        }
        let mut vars = BTreeMap::new();
        let mut set = |k: &str, v: String| {
            vars.insert(k.to_string(), v);
        };
        // The variables a real Lambda sets.
        // Source: https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime
        set("AWS_LAMBDA_FUNCTION_NAME", name.clone());
        set("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", f.memory_size.to_string());
        set("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into());
        set("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"));
        set("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into());
        set("AWS_REGION", config.region.clone());
        set("AWS_DEFAULT_REGION", config.region.clone());
        set("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023".into());
        set("_HANDLER", f.handler.clone());
        set("LAMBDA_TASK_ROOT", cwd.display().to_string());
        set("LAMBDA_RUNTIME_DIR", cwd.display().to_string());
        set("TZ", ":UTC".into());
        set("AWS_ACCESS_KEY_ID", "AKIAOFFCLOUDLOCAL000".into());
        set(
            "AWS_SECRET_ACCESS_KEY",
            "offcloud-local-secret-access-key".into(),
        );
        set("AWS_SESSION_TOKEN", "offcloud-local-session-token".into());
        if let Some(url) = &launch.endpoint_url {
            set("AWS_ENDPOINT_URL", url.clone());
        }
        for (k, v) in runtime_env {
            set(&k, v);
        }
        for (k, v) in &f.environment {
            set(k, v.clone());
        }
        let debug = f.debug_port.map(|port| DebugMode {
            port,
            timeout: f.debug_timeout.map(Duration::from_secs_f64),
        });
        // A debugged function has its one instance, the handler under the debugger.
        let limit = match debug {
            Some(_) => 1,
            None => f.reserved_concurrency.unwrap_or(f.max_concurrency).max(1),
        };
        Ok(Self {
            arn: format!(
                "arn:aws:lambda:{}:{}:function:{}",
                config.region, config.account_id, name
            ),
            name,
            qualifiers: f.qualifiers.clone(),
            program,
            cwd,
            layers,
            env_vars: vars,
            timeout: Duration::from_secs_f64(f.timeout),
            memory_size: f.memory_size,
            permits: Arc::new(Semaphore::new(limit)),
            debug,
            throttle: f.reserved_concurrency.is_some(),
            waiting: AtomicUsize::new(0),
            max_waiting: f.max_waiting,
            idle: Mutex::new(Vec::new()),
            generation: AtomicU64::new(0),
            building: tokio::sync::watch::Sender::new(false),
            retired: std::sync::atomic::AtomicBool::new(false),
            live: Mutex::new(HashMap::new()),
            next_instance: AtomicU64::new(1),
            invocations: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            last_build: Mutex::new(None),
            env,
            launch,
            spare,
            faults,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn arn(&self) -> &str {
        &self.arn
    }

    /// Whether `qualifier` (a published version or an alias) names this function.
    pub fn has_qualifier(&self, qualifier: &str) -> bool {
        qualifier == "$LATEST" || self.qualifiers.iter().any(|q| q == qualifier)
    }

    /// How many invocations have been dispatched to an instance so far.
    pub fn invocations(&self) -> u64 {
        self.invocations.load(Ordering::Relaxed)
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    async fn permit(&self) -> Result<OwnedSemaphorePermit, LambdaError> {
        if self.throttle {
            self.permits
                .clone()
                .try_acquire_owned()
                .map_err(|_| LambdaError::TooManyRequests)
        } else {
            if let Ok(p) = self.permits.clone().try_acquire_owned() {
                return Ok(p);
            }
            // Past `max_waiting` waiters the invocation is throttled rather than queued without end.
            if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.max_waiting {
                self.waiting.fetch_sub(1, Ordering::SeqCst);
                return Err(LambdaError::ConcurrencyLimitExceeded);
            }
            // Counted down however the wait ends, a dropped future included.
            struct Waiting<'a>(&'a AtomicUsize);
            impl Drop for Waiting<'_> {
                fn drop(&mut self) {
                    self.0.fetch_sub(1, Ordering::SeqCst);
                }
            }
            let _waiting = Waiting(&self.waiting);
            self.permits
                .clone()
                .acquire_owned()
                .await
                .map_err(|_| LambdaError::Service("the function is shutting down".into()))
        }
    }

    /// The argv of the function process, building the package first if needed.
    async fn argv(&self) -> Result<Vec<String>, String> {
        match &self.program {
            Program::Unavailable(message) => Err(message.clone()),
            Program::Command(c) => match resolve_program(&c[0], &self.cwd) {
                Some(_) => Ok(c.clone()),
                None => Err(format!("{}: no such file or directory", c[0])),
            },
            Program::Package { name, workspace } => {
                let launch = &*self.launch;
                if let Some(bin) = find_binary(workspace, name, launch) {
                    return Ok(vec![bin.display().to_string()]);
                }
                if !self.launch.build_missing {
                    let profile = if launch.release { "--release " } else { "" };
                    return Err(format!(
                        "the binary of package {name} is not built; run `cargo build {profile}-p {name}`"
                    ));
                }
                if find_binary(workspace, name, launch).is_none() {
                    tracing::info!("building package {name}");
                    let report =
                        super::build::cargo_build(workspace, std::slice::from_ref(name), launch)
                            .await;
                    if !report.ok {
                        return Err(format!(
                            "`cargo build -p {name}` failed:\n{}",
                            report.output
                        ));
                    }
                }
                find_binary(workspace, name, launch)
                    .map(|b| vec![b.display().to_string()])
                    .ok_or_else(|| format!("package {name} built no binary named {name}"))
            }
        }
    }

    async fn start_instance(&self) -> Result<Instance, String> {
        if let Some(debug) = self.debug {
            return self.attach_instance(debug);
        }
        let argv = self.argv().await?;
        let n = self.next_instance.fetch_add(1, Ordering::Relaxed);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        listener.set_nonblocking(true).map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let mut vars = self.env_vars.clone();
        vars.insert(
            "AWS_LAMBDA_LOG_STREAM_NAME".into(),
            log_stream_name(self.env.clock.now_ms(), n),
        );
        let instance = Instance::start(
            &self.name,
            |shared| {
                let listener = tokio::net::TcpListener::from_std(listener)?;
                let task =
                    crate::net::serve(listener, Arc::new(RuntimeApi { shared }), MAX_RESPONSE);
                Ok((task, addr.to_string()))
            },
            |runtime_api| {
                vars.insert("AWS_LAMBDA_RUNTIME_API".into(), runtime_api.to_string());
                let spawn = process::Spawn {
                    argv: &argv,
                    cwd: &self.cwd,
                    env: &vars,
                    shim: self.launch.shim.as_ref(),
                };
                match self.spare.take(&spawn) {
                    Some(child) => Ok(child),
                    None => process::spawn(spawn),
                }
            },
        )
        .map_err(|e| format!("cannot start {}: {e}", argv.join(" ")))?;
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        // (An attached instance has no process and never reaches here.)
        // Instances that have exited are forgotten, so that their pids, which the system may reuse, are never
        // signalled.
        live.retain(|_, (_, shared)| !shared.has_exited());
        live.insert(n, (instance.pid, instance.shared.clone()));
        drop(live);
        tracing::debug!(function = %self.name, pid = instance.pid, runtime_api = %instance.runtime_api, "instance started");
        Ok(instance)
    }

    /// The instance of a debugged function: its Runtime API on the fixed port, and no process.
    fn attach_instance(&self, debug: DebugMode) -> Result<Instance, String> {
        let listener = std::net::TcpListener::bind(debug.runtime_api())
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .map_err(|e| {
                format!(
                    "cannot serve {}'s Runtime API on the debug port {}: {e}",
                    self.name, debug.port
                )
            })?;
        Instance::attach(&self.name, |shared| {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            let task = crate::net::serve(listener, Arc::new(RuntimeApi { shared }), MAX_RESPONSE);
            Ok((task, debug.runtime_api()))
        })
        .map_err(|e| e.to_string())
    }

    /// Opens a debugged function's Runtime API now, so that its handler can connect before the first invocation.
    pub fn attach_debugger(&self) -> Result<(), String> {
        if let Some(debug) = self.debug {
            let instance = self.attach_instance(debug)?;
            let generation = self.generation.load(Ordering::SeqCst);
            self.put_idle(instance, generation, true);
        }
        Ok(())
    }

    /// Whether the function's instances are processes Offcloud starts (not handlers started by hand under a
    /// debugger, nor a function that cannot start here).
    pub fn starts_processes(&self) -> bool {
        self.debug.is_none() && !matches!(self.program, Program::Unavailable(_))
    }

    /// How the function is being debugged, if it is.
    pub fn debug_mode(&self) -> Option<DebugMode> {
        self.debug
    }

    /// The command lines that start a debugged function by hand, with every variable it would get.
    pub fn debug_commands(&self) -> Option<Commands> {
        let debug = self.debug?;
        let mut env = self.env_vars.clone();
        env.insert("AWS_LAMBDA_RUNTIME_API".into(), debug.runtime_api());
        env.insert(
            "AWS_LAMBDA_LOG_STREAM_NAME".into(),
            log_stream_name(self.env.clock.now_ms(), 1),
        );
        Some(match &self.program {
            Program::Package { name, workspace } => super::debug::commands(
                workspace,
                &env,
                &["cargo".into(), "run".into(), "-p".into(), name.clone()],
                None,
            ),
            Program::Command(argv) => {
                super::debug::commands(&self.cwd, &env, argv, under_debugger(argv))
            }
            Program::Unavailable(why) => {
                super::debug::commands(&self.cwd, &env, &["false".into(), format!("# {why}")], None)
            }
        })
    }

    /// Ends when an invocation has run out of time: the function's timeout, or while it is debugged, its
    /// `debug_timeout` (never, by default).
    async fn time_limit(&self) {
        match self.debug {
            None => tokio::time::sleep(self.timeout).await,
            Some(DebugMode {
                timeout: Some(t), ..
            }) => tokio::time::sleep(t).await,
            Some(_) => std::future::pending().await,
        }
    }

    fn take_idle(&self) -> Option<Instance> {
        let current = self.generation.load(Ordering::SeqCst);
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(i) = idle.pop() {
            if i.generation == current && i.instance.is_healthy() {
                return Some(i.instance);
            }
            i.instance.kill();
        }
        None
    }

    /// Keeps an instance that has finished an invocation for the next one, unless its code is out of date, the
    /// function was retired or the instance is no longer fit.
    fn put_idle(&self, instance: Instance, generation: u64, reusable: bool) {
        if reusable
            && instance.is_healthy()
            && generation == self.generation.load(Ordering::SeqCst)
            && !self.retired.load(Ordering::SeqCst)
        {
            self.idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(Idle {
                    generation,
                    instance,
                });
        } else {
            instance.kill();
        }
    }

    /// Puts new code in service: idle instances stop now, busy ones once their invocation ends, and the next
    /// invocations start new instances.
    pub fn recycle(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        let stale: Vec<Idle> =
            std::mem::take(&mut *self.idle.lock().unwrap_or_else(|e| e.into_inner()));
        for i in stale {
            i.instance.kill();
        }
    }

    /// Takes the function out of service after a config reload replaced or removed it: invocations that already
    /// hold it finish, and no instance is kept afterwards.
    pub fn retire(&self) {
        self.retired.store(true, Ordering::SeqCst);
        self.recycle();
    }

    /// Holds new invocations until the returned guard is dropped, while the function's code is rebuilt.
    pub fn hold_for_build(&self) -> BuildHold<'_> {
        self.building.send_replace(true);
        BuildHold(&self.building)
    }

    /// Waits while the function's code is being rebuilt.
    async fn built(&self) {
        if *self.building.borrow() {
            let mut rx = self.building.subscribe();
            // The sender lives as long as the function, so the wait ends only when the build does.
            let _ = rx.wait_for(|building| !building).await;
        }
    }

    /// The workspace package this function runs, and the workspace it is built in.
    pub fn package(&self) -> Option<(&str, &std::path::Path)> {
        match &self.program {
            Program::Package { name, workspace } => Some((name, workspace)),
            _ => None,
        }
    }

    /// The files and folders whose change means new code: the code folder of an interpreted function, and the
    /// files its command line names. A package's are found by the watcher through `cargo metadata`.
    pub fn code_paths(&self) -> Vec<PathBuf> {
        match &self.program {
            Program::Package { .. } => Vec::new(),
            Program::Command(argv) => {
                let mut paths = vec![self.cwd.clone()];
                paths.extend(
                    argv.iter()
                        .map(|a| self.cwd.join(a))
                        .filter(|p| p.is_file() && !p.starts_with(&self.cwd)),
                );
                paths.extend(self.layers.iter().cloned());
                paths
            }
            Program::Unavailable(_) => vec![self.cwd.clone()],
        }
    }

    /// Runs one synchronous invocation to its end.
    pub async fn invoke(&self, input: &InvokeInput) -> Result<InvokeOutput, LambdaError> {
        let fault = self
            .faults
            .check(crate::faults::Service::Lambda, "Invoke", &[&self.name])
            .unwrap_or_default();
        if !fault.latency.is_zero() {
            tokio::time::sleep(fault.latency).await;
        }
        let forced = fault.error.as_deref();
        if forced == Some("TooManyRequestsException") {
            return Err(LambdaError::TooManyRequests);
        }
        let _permit = self.permit().await?;
        let request_id = self.env.ids.uuid();
        // The invocation's span: a step of the caller's trace, or the start of a new one.
        let begun_ms = self.env.clock.now_ms();
        let trace = input
            .trace
            .clone()
            .unwrap_or_else(|| TraceHeader::new(begun_ms, &request_id));
        let mut span = Pending::start(
            span_id(&request_id),
            trace.parent.clone(),
            "lambda",
            self.name.as_str(),
            begun_ms,
        );
        span.set("requestId", request_id.as_str());
        // The log is kept for the trace, and for the caller when it asked for the tail.
        let log: LogBuffer = Arc::new(std::sync::Mutex::new(TailLog::new(true)));
        self.built().await;
        let generation = self.generation.load(Ordering::SeqCst);
        let init_started = Instant::now();
        let idle = if fault.cold_start {
            None
        } else {
            self.take_idle()
        };
        let (instance, cold) = match idle {
            Some(i) => (Some(i), false),
            None => match self.start_instance().await {
                Ok(i) => (Some(i), true),
                Err(e) => {
                    tracing::error!(function = %self.name, "{e}");
                    (None, true)
                }
            },
        };
        // The platform lines cost a format and a read of /proc on every invocation; they are skipped when nobody
        // reads them (no tail asked for and the function log filtered out).
        let report =
            input.tail_log || tracing::enabled!(target: "offcloud::function", tracing::Level::INFO);
        if report {
            self.platform_line(
                &log,
                &request_id,
                format!("START RequestId: {request_id} Version: $LATEST"),
            );
        }
        if cold {
            span.set("initMs", init_started.elapsed().as_secs_f64() * 1000.0);
        }
        span.set("cold", cold);
        let started = Instant::now();
        let outcome = match &instance {
            None => Outcome::InvalidEntrypoint,
            // A fault's timeout or crash: the function never sees the event, and its instance goes.
            Some(instance) if forced == Some("Sandbox.Timedout") => {
                tokio::time::sleep(self.timeout).await;
                instance.kill();
                Outcome::Timeout
            }
            Some(instance) if forced == Some("Runtime.ExitError") => {
                instance.kill();
                Outcome::Runtime(RuntimeOutcome::Exited {
                    status: "signal: killed".into(),
                })
            }
            Some(instance) => {
                self.invocations.fetch_add(1, Ordering::Relaxed);
                let (tx, rx) = oneshot::channel();
                let now = self.env.clock.now_ms();
                instance.dispatch(
                    Delivery {
                        request_id: request_id.clone(),
                        payload: input.payload.clone(),
                        deadline_ms: now + self.timeout.as_millis() as u64,
                        // The ARN as the caller named it: qualified when it named an alias or version.
                        invoked_function_arn: match input
                            .qualifier
                            .as_deref()
                            .or(super::parse_function_name(&input.function_name).1)
                        {
                            Some(q) => format!("{}:{q}", self.arn),
                            None => self.arn.clone(),
                        },
                        trace_id: trace.child(span.id()),
                        client_context: input.client_context.clone(),
                        cognito_identity: input.cognito_identity.clone(),
                    },
                    tx,
                    log.clone(),
                );
                tokio::select! {
                    r = rx => r.map(Outcome::Runtime).unwrap_or(Outcome::Runtime(RuntimeOutcome::Exited { status: "exited".into() })),
                    _ = self.time_limit() => Outcome::Timeout,
                }
            }
        };
        let duration = started.elapsed();
        if input.tail_log {
            // Lines the function wrote just before it answered may still be in the pipe; give the log pumps a
            // moment so that the tail holds them, as AWS's does.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let (payload, error_type) = self.settle(&request_id, outcome);
        if report {
            self.report(
                &log,
                &request_id,
                instance.as_ref(),
                cold,
                duration,
                error_type.as_deref(),
            );
        }
        if let Some(i) = instance {
            self.put_idle(i, generation, forced.is_none());
        }
        if cold && self.starts_processes() {
            // The next cold start's shim, started now that this one's is over.
            let spare = self.spare.clone();
            tokio::spawn(async move { spare.fill() });
        }
        let failed = error_type.is_some();
        if failed {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        let text = log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .text()
            .to_string();
        span.set("durationMs", duration.as_secs_f64() * 1000.0);
        if let Some(t) = &error_type {
            span.fail(t.as_str());
        }
        span.logs(text.lines().map(str::to_string).collect());
        self.env.traces.record(&trace.root, span.finish());
        let log = input.tail_log.then_some(text);
        Ok(InvokeOutput {
            status: 200,
            request_id,
            function_error: failed.then(|| "Unhandled".to_string()),
            payload,
            log,
        })
    }

    /// The payload an invoker receives, and the error type when the invocation failed.
    fn settle(&self, request_id: &str, outcome: Outcome) -> (Bytes, Option<String>) {
        let failure = |error_type: &str, message: String| {
            let doc = json!({"errorType": error_type, "errorMessage": message});
            (Bytes::from(doc.to_string()), Some(error_type.to_string()))
        };
        match outcome {
            Outcome::Runtime(RuntimeOutcome::Response(body)) => (body, None),
            Outcome::Runtime(RuntimeOutcome::Error { error_type, body })
            | Outcome::Runtime(RuntimeOutcome::InitError { error_type, body }) => {
                let doc = error_document(error_type.as_deref(), &body);
                let t = serde_json::from_slice::<serde_json::Value>(&doc)
                    .ok()
                    .and_then(|v| {
                        v.get("errorType")
                            .and_then(|t| t.as_str())
                            .map(str::to_string)
                    })
                    .or(error_type)
                    .unwrap_or_else(|| "Runtime.Unknown".into());
                (doc, Some(t))
            }
            // Source: moto's invoke test and DataBiosphere/azul#7466 (the size-less message AWS gives today).
            Outcome::Runtime(RuntimeOutcome::ResponseTooLarge { .. }) => failure(
                "Function.ResponseSizeTooLarge",
                format!(
                    "Response payload size exceeded maximum allowed payload size ({MAX_RESPONSE} bytes)."
                ),
            ),
            Outcome::Runtime(RuntimeOutcome::Exited { status }) if status == "exit status 0" => {
                failure(
                    "Runtime.ExitError",
                    format!(
                        "RequestId: {request_id} Error: Runtime exited without providing a reason"
                    ),
                )
            }
            Outcome::Runtime(RuntimeOutcome::Exited { status }) => failure(
                "Runtime.ExitError",
                format!("RequestId: {request_id} Error: Runtime exited with error: {status}"),
            ),
            Outcome::Timeout => failure(
                "Sandbox.Timedout",
                format!(
                    "RequestId: {request_id} Error: Task timed out after {:.2} seconds",
                    self.timeout.as_secs_f64()
                ),
            ),
            Outcome::InvalidEntrypoint => failure(
                "Runtime.InvalidEntrypoint",
                format!(
                    "RequestId: {request_id} Error: fork/exec: the function's program could not be started"
                ),
            ),
        }
    }

    /// The `END` and `REPORT` lines of one invocation.
    fn report(
        &self,
        log: &LogBuffer,
        request_id: &str,
        instance: Option<&Instance>,
        cold: bool,
        duration: Duration,
        error_type: Option<&str>,
    ) {
        let init = if cold {
            instance.and_then(|i| i.shared.init_duration())
        } else {
            None
        };
        let max_memory = instance
            .and_then(|i| process::max_memory_mb(i.pid))
            .unwrap_or(0);
        self.platform_line(log, request_id, format!("END RequestId: {request_id}"));
        let mut report = format!(
            "REPORT RequestId: {request_id}\tDuration: {:.2} ms\tBilled Duration: {} ms\tMemory Size: {} MB\tMax Memory Used: {max_memory} MB",
            duration.as_secs_f64() * 1000.0,
            duration.as_micros().div_ceil(1000).max(1),
            self.memory_size,
        );
        if let Some(init) = init {
            report.push_str(&format!(
                "\tInit Duration: {:.2} ms",
                init.as_secs_f64() * 1000.0
            ));
        }
        // Since 2024 REPORT lines of failed invocations carry a status.
        // Source: https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html
        match error_type {
            Some("Sandbox.Timedout") => report.push_str("\tStatus: timeout"),
            Some(t) if t.starts_with("Runtime.") || t.starts_with("Function.") => {
                report.push_str(&format!("\tStatus: error\tError Type: {t}"))
            }
            _ => {}
        }
        self.platform_line(log, request_id, report);
    }

    fn platform_line(&self, log: &LogBuffer, request_id: &str, line: String) {
        tracing::info!(target: "offcloud::function", "[{}] [{request_id}] {line}", self.name);
        log.lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_line(&line);
    }

    /// The process ids of instances that still run.
    pub fn pids(&self) -> Vec<u32> {
        self.live
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .filter(|(_, shared)| !shared.has_exited())
            .map(|(pid, _)| *pid)
            .collect()
    }

    /// Records the outcome of the last build of the function's code.
    pub fn set_last_build(&self, b: BuildStatus) {
        *self.last_build.lock().unwrap_or_else(|e| e.into_inner()) = Some(b);
    }

    /// What the function runs, its instances and counters, and its last build.
    pub fn status(&self) -> FunctionStatus {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).len();
        let running = self
            .live
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .filter(|(_, shared)| !shared.has_exited())
            .count();
        let execution_env = self
            .env_vars
            .get("AWS_EXECUTION_ENV")
            .map(|e| e.strip_prefix("AWS_Lambda_").unwrap_or(e).to_string())
            .unwrap_or_default();
        let (runtime, code) = match &self.program {
            Program::Package { name, workspace } => (
                format!("{execution_env} (Rust)"),
                format!("package {name} in {}", workspace.display()),
            ),
            Program::Command(argv) => (
                execution_env,
                format!("{} in {}", argv.join(" "), self.cwd.display()),
            ),
            Program::Unavailable(why) => (execution_env, format!("unavailable: {why}")),
        };
        FunctionStatus {
            name: self.name.clone(),
            runtime,
            code,
            idle,
            busy: running.saturating_sub(idle),
            invocations: self.invocations(),
            errors: self.errors.load(Ordering::Relaxed),
            build: self
                .last_build
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        }
    }

    /// Whether [`Pool::shutdown`] has run: no invocation starts any more.
    pub fn is_shut_down(&self) -> bool {
        self.permits.is_closed()
    }

    /// Stops the function: no invocation starts any more (waiting ones and Event retries get an error), and every
    /// instance that still runs, idle or busy, is killed.
    pub fn shutdown(&self) {
        self.permits.close();
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).clear();
        for (_, shared) in self
            .live
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
            .map(|(_, v)| v)
        {
            shared.kill();
        }
    }
}

/// An instance waiting for its next invocation, with the version of the code it runs.
struct Idle {
    generation: u64,
    instance: Instance,
}

/// New invocations of a function wait while this lives; see [`Function::hold_for_build`].
pub struct BuildHold<'a>(&'a tokio::sync::watch::Sender<bool>);

impl Drop for BuildHold<'_> {
    fn drop(&mut self) {
        self.0.send_replace(false);
    }
}

enum Outcome {
    Runtime(RuntimeOutcome),
    Timeout,
    InvalidEntrypoint,
}

/// Where `program` would be found: itself when it has a slash, otherwise the first match on `PATH`.
fn resolve_program(program: &str, cwd: &std::path::Path) -> Option<PathBuf> {
    if program.contains('/') {
        let p = cwd.join(program);
        return p.is_file().then_some(p);
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// `YYYY/MM/DD/[$LATEST]<32 hex>`, as Lambda names log streams.
fn log_stream_name(now_ms: u64, instance: u64) -> String {
    let day = chrono::DateTime::from_timestamp_millis(now_ms as i64)
        .unwrap_or_default()
        .format("%Y/%m/%d");
    format!("{day}/[$LATEST]{:032x}", instance)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lambda::test_folder::Folder;
    use std::path::Path;

    /// A function of `text`, with its packages looked for in `dir/target` whatever `CARGO_TARGET_DIR` says.
    fn function(dir: &Path, text: &str) -> Result<Function, ConfigError> {
        let config = Config::parse("offcloud.toml", text, dir).unwrap();
        let launch = LaunchOptions {
            target_dir: Some(dir.join("target")),
            ..Default::default()
        };
        Function::new(
            &config,
            &config.functions[0],
            Env::default(),
            Arc::new(launch),
            Arc::new(Spare::new(None)),
            Arc::new(crate::faults::Faults::new(0)),
        )
    }

    #[test]
    fn a_package_with_no_workspace_and_no_binary_fails_at_start_naming_file_and_line() {
        let dir = Folder::new("no-workspace");
        let text = "region = \"us-east-1\"\n\n[[function]]\nname = \"api\"\npackage = \"api\"\n";
        let e = function(&dir.0, text)
            .err()
            .expect("the function is refused");
        assert_eq!((e.file.as_str(), e.line), ("offcloud.toml", 4));
        assert!(
            e.message
                .starts_with("function \"api\": package \"api\" is not built, and ")
                && e.message.contains("has no Cargo.toml"),
            "{}",
            e.message
        );
        // With a workspace to build it in, or with its binary built, the same function starts.
        std::fs::write(dir.0.join("Cargo.toml"), "[workspace]\n").unwrap();
        assert!(function(&dir.0, text).is_ok());
        std::fs::remove_file(dir.0.join("Cargo.toml")).unwrap();
        std::fs::create_dir_all(dir.0.join("target/release")).unwrap();
        std::fs::write(dir.0.join("target/release/api"), "").unwrap();
        assert!(function(&dir.0, text).is_ok());
    }

    #[test]
    fn runtime_trace_ids_have_x_ray_s_shape() {
        let t = TraceHeader::new(1_700_000_000_000, "8f3e0c2a-1b4d-4c6e-9f70-0123456789ab")
            .child(&span_id("8f3e0c2a-1b4d-4c6e-9f70-0123456789ab"));
        let re =
            regex::Regex::new(r"^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=1$")
                .unwrap();
        assert!(re.is_match(&t), "{t}");
    }

    #[test]
    fn log_streams_are_dated() {
        assert_eq!(
            log_stream_name(0, 1),
            "1970/01/01/[$LATEST]00000000000000000000000000000001"
        );
    }
}
