//! The emulator as a whole: the main port (Invoke API, and the AWS service endpoints) and its start-up.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use crate::apigw::{self, ApiGateway};
use crate::clock::Env;
use crate::config::Config;
use crate::dashboard::{self, Dashboard};
use crate::dynamodb::{self, DynamoDb, DynamoError};
use crate::faults::{self, Faults, Service};
use crate::lambda::{Lambda, LaunchOptions, invoke_wire};
use crate::net::{self, Handler, WireRequest, WireResponse};
use crate::rdsdata::{self, DataApi};
use crate::trace::{self, Pending, TraceHeader};

/// The largest request body the main port reads: DynamoDB's 16 MB. Each service applies its own smaller limit.
pub const MAX_REQUEST: usize = 16 * 1024 * 1024;

/// Routes main-port requests to the service they are for.
pub struct MainPort {
    pub lambda: Arc<Lambda>,
    pub dynamodb: Arc<DynamoDb>,
    pub rdsdata: Arc<DataApi>,
    pub dashboard: Arc<Dashboard>,
}

/// Waits out a fault's latency; the error it injects, if any.
async fn injected(hit: Option<faults::Hit>) -> Option<String> {
    let hit = hit?;
    if !hit.latency.is_zero() {
        tokio::time::sleep(hit.latency).await;
    }
    hit.error
}

impl MainPort {
    fn faults(&self) -> &Faults {
        self.lambda.faults()
    }

    /// A storage call's span, in the trace its `X-Amzn-Trace-Id` names (the invocation that made it), or in a new
    /// one.
    fn storage_span(
        &self,
        req: &WireRequest,
        service: &str,
        operation: &str,
        request_id: &str,
    ) -> (TraceHeader, Pending) {
        let now = self.lambda.env().clock.now_ms();
        let trace = req
            .header("x-amzn-trace-id")
            .and_then(TraceHeader::parse)
            .unwrap_or_else(|| TraceHeader::new(now, request_id));
        let span = Pending::start(
            trace::span_id(request_id),
            trace.parent.clone(),
            service,
            operation,
            now,
        );
        (trace, span)
    }

    /// Ends a storage call's span with its answer: an error status fails it with the error's type.
    fn end_span(&self, trace: &TraceHeader, mut span: Pending, resp: &WireResponse) {
        span.set("status", resp.status.as_u16());
        if resp.status.as_u16() >= 400 {
            let body: serde_json::Value = serde_json::from_slice(&resp.body).unwrap_or_default();
            let kind = resp
                .headers
                .get("x-amzn-errortype")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
                .or_else(|| {
                    body.get("__type")
                        .and_then(|t| t.as_str())
                        .map(|t| t.rsplit('#').next().unwrap_or(t).to_string())
                })
                .unwrap_or_else(|| resp.status.to_string());
            let message = body
                .get("message")
                .or_else(|| body.get("Message"))
                .and_then(|m| m.as_str())
                .unwrap_or("");
            span.fail(format!("{kind}: {message}"));
        }
        self.lambda.env().traces.record(&trace.root, span.finish());
    }

    async fn rdsdata(&self, op: rdsdata::Operation, req: &WireRequest) -> WireResponse {
        let request_id = self.lambda.env().ids.uuid();
        let (trace, mut span) = self.storage_span(req, "rds-data", op.name(), &request_id);
        let resp = self.rdsdata_call(op, req, &request_id, &mut span).await;
        self.end_span(&trace, span, &resp);
        resp
    }

    async fn rdsdata_call(
        &self,
        op: rdsdata::Operation,
        req: &WireRequest,
        request_id: &str,
        span: &mut Pending,
    ) -> WireResponse {
        let result = match rdsdata::wire::decode(op, req) {
            Ok(call) => {
                if let Some(sql) = call.sql() {
                    span.set("sql", sql);
                }
                let hit = self.faults().check(
                    Service::Rdsdata,
                    op.name(),
                    &[call.fault_cluster.as_str()],
                );
                if let Some(code) = injected(hit).await {
                    return rdsdata::wire::encode_error(
                        &rdsdata::RdsError::injected(&code),
                        request_id,
                    );
                }
                let api = self.rdsdata.clone();
                tokio::task::spawn_blocking(move || api.handle(call))
                    .await
                    .unwrap_or_else(|e| Err(rdsdata::RdsError::Internal(e.to_string())))
            }
            Err(e) => Err(e),
        };
        match result {
            Ok(response) => rdsdata::wire::encode(&response, request_id),
            Err(e) => rdsdata::wire::encode_error(&e, request_id),
        }
    }

    async fn dynamodb(&self, req: &WireRequest) -> WireResponse {
        let ids = &self.lambda.env().ids;
        let request_id = dynamodb::wire::request_id(&ids.uuid(), &ids.uuid());
        let operation = req
            .header("x-amz-target")
            .and_then(|t| t.rsplit('.').next())
            .unwrap_or("unknown");
        let (trace, mut span) = self.storage_span(req, "dynamodb", operation, &request_id);
        let resp = self.dynamodb_call(req, &request_id, &mut span).await;
        self.end_span(&trace, span, &resp);
        resp
    }

    async fn dynamodb_call(
        &self,
        req: &WireRequest,
        request_id: &str,
        span: &mut Pending,
    ) -> WireResponse {
        let request_id = request_id.to_string();
        match dynamodb::wire::decode(req) {
            Ok(dynamodb::wire::Request::Health) => {
                dynamodb::wire::health(self.dynamodb.region(), &request_id)
            }
            Ok(dynamodb::wire::Request::NotFound) => dynamodb::wire::not_found(&request_id),
            Ok(dynamodb::wire::Request::Call {
                op,
                body,
                content_type,
            }) => {
                let tables = DynamoError::tables_of(&body);
                let mut named = tables.clone();
                named.sort();
                named.dedup();
                span.set("tables", named);
                let hit = self.faults().is_armed().then(|| {
                    let tables: Vec<&str> = tables.iter().map(String::as_str).collect();
                    self.faults().check(Service::Dynamodb, op.name(), &tables)
                });
                if let Some(code) = injected(hit.flatten()).await {
                    let e = DynamoError::injected(&code);
                    return dynamodb::wire::encode_error(&e, content_type, &request_id);
                }
                let answer = self.dynamodb.answer(op, body).await;
                if let Some(endpoint) = answer.endpoint {
                    span.set("endpoint", endpoint);
                }
                let request_id = answer.request_id.unwrap_or(request_id);
                match answer.result {
                    Ok(out) => dynamodb::wire::encode(out, content_type, &request_id),
                    Err(e) => dynamodb::wire::encode_error(&e, content_type, &request_id),
                }
            }
            Err((e, content_type)) => dynamodb::wire::encode_error(&e, content_type, &request_id),
        }
    }
}

impl Handler for MainPort {
    async fn handle(&self, req: WireRequest) -> WireResponse {
        // Offcloud's own endpoints (faults, traces) show request bodies and change behaviour: beyond loopback they
        // need the dashboard's token too.
        let own = faults::admin::is_admin(&req.path) || trace::api::is_traces(&req.path);
        if own && !self.dashboard.allows(&req) {
            return WireResponse::json(
                401,
                &serde_json::json!({"message": "Offcloud listens beyond loopback: add the ?token= that offcloud serve printed at start-up"}),
            );
        }
        if faults::admin::is_admin(&req.path) {
            return faults::admin::handle(self.faults(), &req);
        }
        if trace::api::is_traces(&req.path) {
            return trace::api::handle(&self.lambda.env().traces, &req);
        }
        if dashboard::is_dashboard(&req.path) {
            return self.dashboard.handle(&req).await;
        }
        if dynamodb::wire::is_dynamodb(&req) {
            return self.dynamodb(&req).await;
        }
        if let Some(op) = rdsdata::wire::operation(&req) {
            return self.rdsdata(op, &req).await;
        }
        if let Some(name) = invoke_wire::function_in_path(&req.path) {
            if req.method != http::Method::POST {
                return WireResponse::json(
                    405,
                    &serde_json::json!({"message": "Method Not Allowed"}),
                );
            }
            let result = match invoke_wire::decode(&req, name) {
                Ok(input) => self.lambda.invoke(input).await,
                Err(e) => Err(e),
            };
            return match result {
                Ok(out) => invoke_wire::encode(&out),
                Err(e) => invoke_wire::encode_error(&e, &self.lambda.env().ids.uuid()),
            };
        }
        WireResponse::json(
            404,
            &serde_json::json!({"message": format!("No AWS operation at {} {}", req.method, req.path)}),
        )
        .header("x-amzn-errortype", "UnknownOperationException")
    }
}

/// How to start the emulator.
#[derive(Debug, Clone)]
pub struct Options {
    pub host: String,
    pub port: u16,
    pub api_port: u16,
    pub launch: LaunchOptions,
    /// Keep DynamoDB tables and Data API databases in SQLite files here; in memory when `None`.
    pub data_dir: Option<PathBuf>,
    /// The token the dashboard asks for. When `None`, one is made at start if `host` is not loopback.
    pub dashboard_token: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 0,
            api_port: 0,
            launch: LaunchOptions::default(),
            data_dir: None,
            dashboard_token: None,
        }
    }
}

/// A running emulator. Dropping it stops every listener and function process.
pub struct Emulator {
    pub main_addr: SocketAddr,
    /// The API Gateway's address, when any API is configured.
    pub api_addr: Option<SocketAddr>,
    pub lambda: Arc<Lambda>,
    pub dynamodb: Arc<DynamoDb>,
    /// The faults in force, as `/_offcloud/faults` sees them.
    pub faults: Arc<Faults>,
    pub gateway: Arc<ApiGateway>,
    /// The token the dashboard asks for, when it asks for one.
    pub dashboard_token: Option<String>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Emulator {
    pub async fn start(
        config: &Config,
        mut env: Env,
        mut opts: Options,
    ) -> Result<Self, StartError> {
        let mut traces = crate::trace::Traces::new(config.trace_capacity);
        let export = match &config.otlp_endpoint {
            Some(url) => Some(traces.export_to(url.get_ref())?),
            None => None,
        };
        env.traces = Arc::new(traces);
        let started = std::time::Instant::now();
        // The databases open on blocking threads while the functions and APIs are set up on this one. The Data
        // API, the longest to open (its seed schema runs through the MySQL translation), starts first; DynamoDB's
        // tables start once the functions and APIs are set up, so that no more threads want the CPU at once than a
        // 2-core machine has, and start-up lasts about as long as the Data API's opening.
        let opening_rdsdata = {
            let (config, data_dir, env) = (config.clone(), opts.data_dir.clone(), env.clone());
            tokio::task::spawn_blocking(move || DataApi::open(&config, data_dir.as_deref(), env))
        };
        let main = net::bind(&opts.host, opts.port).await?;
        let main_addr = main.local_addr()?;
        if opts.launch.endpoint_url.is_none() {
            opts.launch.endpoint_url = Some(format!("http://{main_addr}"));
        }
        let faults = Arc::new(Faults::new(config.fault_seed));
        for f in &config.faults {
            // The config's validation refused any fault that cannot be honoured.
            let _ = faults.add(f.get_ref().clone());
        }
        let lambda = Lambda::new(config, env.clone(), opts.launch.clone(), faults.clone())?;
        lambda.attach_debuggers().map_err(StartError::Debug)?;
        let gateway = Arc::new(ApiGateway::new(config, lambda.clone(), env.clone()));
        let opening_dynamodb = {
            let (config, data_dir) = (config.clone(), opts.data_dir.clone());
            tokio::task::spawn_blocking(move || DynamoDb::open(&config, data_dir.as_deref()))
        };
        // The first cold start's shim starts on a worker while the databases open, so that it is waiting by the time
        // a request comes, without holding up this thread. Workers live as long as the emulator, as the shim's
        // parent-death signal needs.
        let spare = lambda.clone();
        tokio::spawn(async move { spare.keep_spare() });
        let dynamodb = Arc::new(opening_dynamodb.await.map_err(join_error)??);
        dynamodb.ensure_remote_tables(config).await;
        let rdsdata = Arc::new(opening_rdsdata.await.map_err(join_error)??);
        tracing::debug!(
            "services set up in {:.1} ms",
            started.elapsed().as_secs_f64() * 1000.0
        );
        let dashboard_token = opts.dashboard_token.clone().or_else(|| {
            (!dashboard::auth::is_loopback(&opts.host)).then(dashboard::auth::new_token)
        });
        let dashboard = Arc::new(Dashboard::new(
            lambda.clone(),
            dynamodb.clone(),
            rdsdata.clone(),
            dashboard_token.clone(),
            dashboard::scenarios::results_path(&config.base_dir),
        ));
        let port = Arc::new(MainPort {
            lambda: lambda.clone(),
            dynamodb: dynamodb.clone(),
            rdsdata: rdsdata.clone(),
            dashboard,
        });
        let mut tasks = vec![
            net::serve(main, port, MAX_REQUEST),
            dynamodb.spawn_ttl_sweeper(),
            rdsdata.spawn_housekeeping(std::time::Duration::from_millis(250)),
        ];
        tasks.extend(export);
        let api_addr = if gateway.is_empty() {
            None
        } else {
            let listener = net::bind(&opts.host, opts.api_port).await?;
            let addr = listener.local_addr()?;
            tasks.push(net::serve_recording_header_case(
                listener,
                gateway.clone(),
                apigw::MAX_REQUEST,
            ));
            Some(addr)
        };
        Ok(Self {
            main_addr,
            api_addr,
            lambda,
            dynamodb,
            faults,
            gateway,
            dashboard_token,
            tasks,
        })
    }

    /// Watches `project`'s config and its functions' code, and reloads what changes (see [`crate::reload`]).
    pub async fn watch(
        &self,
        project: crate::reload::Project,
        running: Config,
    ) -> Result<crate::reload::Watching, notify::Error> {
        let services = crate::reload::Services {
            lambda: self.lambda.clone(),
            gateway: self.gateway.clone(),
            dynamodb: self.dynamodb.clone(),
            api_port: self.api_addr.is_some(),
        };
        crate::reload::watch(project, services, running).await
    }

    /// The API Gateway's URL, when any API is configured.
    pub fn api_url(&self) -> Option<String> {
        self.api_addr.map(|a| format!("http://{a}"))
    }

    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.main_addr)
    }

    /// The dashboard's URL, with the token when it asks for one.
    pub fn dashboard_url(&self) -> String {
        match &self.dashboard_token {
            Some(t) => format!("http://{}{}/?token={t}", self.main_addr, dashboard::PREFIX),
            None => format!("http://{}{}/", self.main_addr, dashboard::PREFIX),
        }
    }

    pub fn shutdown(&self) {
        for t in &self.tasks {
            t.abort();
        }
        self.lambda.shutdown();
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// A set-up task that panicked or was cancelled: the panic goes on, as it would have had the task run inline.
fn join_error(e: tokio::task::JoinError) -> StartError {
    match e.try_into_panic() {
        Ok(panic) => std::panic::resume_unwind(panic),
        Err(e) => StartError::Io(std::io::Error::other(e)),
    }
}

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("cannot open DynamoDB: {0}")]
    DynamoDb(#[from] crate::dynamodb::DynamoError),
    #[error("cannot open the Data API's clusters: {0}")]
    RdsData(#[from] crate::rdsdata::RdsError),
    #[error("cannot listen: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Debug(String),
    #[error(transparent)]
    Otlp(#[from] crate::trace::otlp::OtlpError),
}
