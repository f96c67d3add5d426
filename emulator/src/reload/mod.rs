//! `serve --watch`: hot reload that drops nothing.
//!
//! - [`watcher`] turns file events into debounced batches of changed paths.
//! - [`targets`] knows what each path means: the config or template (reload it), a workspace package's sources
//!   (rebuild it) or an interpreted function's code (recycle its instances).
//!
//! A rebuild holds the package's functions' new invocations while cargo runs (invocations already running finish
//! on their instances), then recycles the instances so that the next invocations start the new binary. A failed
//! build changes nothing: the old binary keeps serving, and the compiler's errors are logged and kept for the
//! dashboard. A config reload replaces the functions whose config changed, the APIs, and creates new tables; the
//! stored data stays. An invalid config is reported and the running one kept.

pub mod targets;
pub mod watcher;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use crate::apigw::ApiGateway;
use crate::config::Config;
use crate::dynamodb::DynamoDb;
use crate::lambda::Lambda;
use crate::lambda::build::{BuildReport, cargo_build};
use targets::{Package, Plan, Targets};

/// Where the running config came from, to read it again.
#[derive(Debug, Clone)]
pub struct Project {
    pub config: PathBuf,
    pub template: Option<PathBuf>,
    pub options: crate::template::Options,
    /// The functions `--debug` attaches a debugger to, with their ports, kept across reloads.
    pub debug: Vec<(String, u16)>,
}

impl Project {
    /// The files whose change reloads the config: the config, the template, and the OpenAPI files its APIs read.
    fn files(&self, running: &Config) -> Vec<PathBuf> {
        std::iter::once(self.config.clone())
            .chain(self.template.clone())
            .chain(
                running
                    .apis
                    .iter()
                    .filter_map(|a| a.openapi.as_ref())
                    .map(|f| running.base_dir.join(f.get_ref())),
            )
            .collect()
    }

    fn load(&self) -> Result<Config, crate::config::ConfigError> {
        let (mut config, _) =
            crate::template::load_project(&self.config, self.template.as_deref(), &self.options)?;
        config
            .debug(&self.debug)
            .map_err(|message| crate::config::ConfigError {
                file: self.config.display().to_string(),
                line: 0,
                message,
            })?;
        Ok(config)
    }
}

/// The services a reload changes.
#[derive(Clone)]
pub struct Services {
    pub lambda: Arc<Lambda>,
    pub gateway: Arc<ApiGateway>,
    pub dynamodb: Arc<DynamoDb>,
    /// Whether the API port is open: APIs added to a config that had none need a restart to get one.
    pub api_port: bool,
}

/// What a reload did, as the watch reports it to its subscribers (the dashboard, tests).
#[derive(Debug, Clone)]
pub enum Reload {
    /// A build of `packages` ended; when it failed, the previous build still serves.
    Built {
        packages: Vec<String>,
        functions: Vec<String>,
        report: BuildReport,
    },
    /// An interpreted function's instances were recycled.
    Recycled { function: String },
    /// The config was read again and put in service.
    Config {
        functions: crate::lambda::Reloaded,
        tables: Vec<String>,
    },
    /// The config could not be read again; the running one is kept.
    ConfigRejected { error: String },
}

/// The watch in progress; dropping it stops it.
pub struct Watching {
    task: tokio::task::JoinHandle<()>,
    events: tokio::sync::broadcast::Sender<Reload>,
    /// How many folders are watched at the start.
    pub folders: usize,
}

impl Watching {
    /// The reloads from now on.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Reload> {
        self.events.subscribe()
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts watching `project`'s config and every function's code.
pub async fn watch(
    project: Project,
    services: Services,
    running: Config,
) -> Result<Watching, notify::Error> {
    let (mut watcher, mut changes) = watcher::Watcher::new()?;
    let mut targets = Targets::of(&services.lambda, project.files(&running)).await;
    for p in targets.watched() {
        watcher.watch(&p);
    }
    let folders = watcher.len();
    tracing::info!("watch: watching {folders} folders for changes");
    let (events, _) = tokio::sync::broadcast::channel(64);
    let tell = events.clone();
    let task = tokio::spawn(async move {
        let mut running = running;
        while let Some(mut paths) = changes.recv().await {
            while let Ok(more) = changes.try_recv() {
                paths.extend(more);
            }
            watcher.follow(&paths);
            let plan = targets.plan(&paths);
            if plan.reload_config {
                match reload_config(&project, &services, &running).await {
                    Ok((config, reloaded)) => {
                        running = config;
                        targets = Targets::of(&services.lambda, project.files(&running)).await;
                        for p in targets.watched() {
                            watcher.watch(&p);
                        }
                        let _ = tell.send(reloaded);
                    }
                    Err(error) => {
                        tracing::error!("watch: {error}; the running config is kept");
                        let _ = tell.send(Reload::ConfigRejected { error });
                    }
                }
            }
            apply(&services, &targets, plan, &tell).await;
        }
    });
    Ok(Watching {
        task,
        events,
        folders,
    })
}

/// Rebuilds and recycles what `plan` names.
async fn apply(
    services: &Services,
    targets: &Targets,
    plan: Plan,
    tell: &tokio::sync::broadcast::Sender<Reload>,
) {
    let mut by_workspace: std::collections::BTreeMap<PathBuf, Vec<Package>> = Default::default();
    for p in plan.rebuild {
        by_workspace.entry(p.workspace.clone()).or_default().push(p);
    }
    for (workspace, packages) in by_workspace {
        let functions: Vec<_> = packages
            .iter()
            .flat_map(|p| targets.package_functions.get(p).into_iter().flatten())
            .filter_map(|name| services.lambda.resolve(name, None).ok())
            .collect();
        let names: Vec<String> = packages.iter().map(|p| p.name.clone()).collect();
        let started = Instant::now();
        let holds: Vec<_> = functions.iter().map(|f| f.hold_for_build()).collect();
        let report = cargo_build(&workspace, &names, services.lambda.launch()).await;
        if report.ok {
            functions.iter().for_each(|f| f.recycle());
        }
        drop(holds);
        let finished_ms = services.lambda.env().clock.now_ms();
        for f in &functions {
            f.set_last_build(crate::lambda::status::BuildStatus {
                ok: report.ok,
                finished_ms,
                output: report.output.clone(),
            });
        }
        log_build(&names, &report, started);
        let _ = tell.send(Reload::Built {
            packages: names,
            functions: functions.iter().map(|f| f.name().to_string()).collect(),
            report,
        });
    }
    for name in plan.recycle {
        if let Ok(f) = services.lambda.resolve(&name, None) {
            f.recycle();
            tracing::info!("watch: {name} changed; new invocations start its new code");
            let _ = tell.send(Reload::Recycled { function: name });
        }
    }
}

fn log_build(packages: &[String], report: &BuildReport, started: Instant) {
    let packages = packages.join(", ");
    if report.ok {
        tracing::info!(
            "watch: rebuilt {packages} in {} ms; new invocations start the new binary",
            started.elapsed().as_millis()
        );
    } else {
        tracing::error!(
            "watch: `cargo build` of {packages} failed; the previous build keeps serving\n{}",
            report.output
        );
    }
}

/// Reads the config again and puts it in service, or says why not; the running one is then kept.
async fn reload_config(
    project: &Project,
    services: &Services,
    running: &Config,
) -> Result<(Config, Reload), String> {
    let read = project.clone();
    let config = tokio::task::spawn_blocking(move || read.load())
        .await
        .map_err(|e| format!("cannot read the config: {e}"))?
        .map_err(|e| e.to_string())?;
    let functions = services.lambda.reload(&config).map_err(|e| e.to_string())?;
    services.gateway.reload(&config);
    if !services.api_port && !config.apis.is_empty() {
        tracing::warn!(
            "watch: the config now has APIs, but Offcloud started without any: restart it to open the API port"
        );
    }
    let dynamodb = services.dynamodb.clone();
    let tables = {
        let config = config.clone();
        tokio::task::spawn_blocking(move || dynamodb.ensure_tables(&config)).await
    };
    let mut tables = match tables
        .map_err(|e| e.to_string())
        .and_then(|r| r.map_err(|e| e.to_string()))
    {
        Ok(created) => created,
        Err(e) => {
            tracing::error!("watch: cannot create the config's new tables: {e}");
            Vec::new()
        }
    };
    tables.extend(services.dynamodb.ensure_remote_tables(&config).await);
    for setting in needs_restart(running, &config) {
        tracing::warn!("watch: a change to {setting} takes effect only when Offcloud restarts");
    }
    tracing::info!(
        "watch: config reloaded (functions added: [{}], changed: [{}], removed: [{}]; tables created: [{}]; {} APIs)",
        functions.added.join(", "),
        functions.changed.join(", "),
        functions.removed.join(", "),
        tables.join(", "),
        config.apis.len()
    );
    Ok((config, Reload::Config { functions, tables }))
}

/// The settings that differ between `before` and `after` and that a reload cannot apply.
fn needs_restart(before: &Config, after: &Config) -> Vec<&'static str> {
    // Each setting as text, in a form that ignores where in the file it was written.
    let settings = |c: &Config| -> [(&'static str, String); 7] {
        [
            ("`region`", c.region.clone()),
            (
                "`dynamodb_endpoint`",
                format!("{:?}", dynamodb_endpoints(c)),
            ),
            ("`account_id`", c.account_id.clone()),
            ("`[[cluster]]`", format!("{:?}", c.clusters)),
            (
                "`[[fault]]` or `fault_seed`",
                format!("{:?} {}", faults(c), c.fault_seed),
            ),
            ("`trace_capacity`", c.trace_capacity.to_string()),
            (
                "`async_retry_delays_ms`",
                format!("{:?}", c.async_retry_delays_ms),
            ),
        ]
    };
    settings(before)
        .into_iter()
        .zip(settings(after))
        .filter(|((_, a), (_, b))| a != b)
        .map(|((name, _), _)| name)
        .collect()
}

/// A config's DynamoDB endpoints, the service's and each table's, without their places in the file.
fn dynamodb_endpoints(c: &Config) -> Vec<(&str, &str)> {
    let service = c
        .dynamodb_endpoint
        .iter()
        .map(|u| ("", u.get_ref().as_str()));
    let tables = c.tables.iter().filter_map(|t| {
        let url = t.dynamodb_endpoint.as_ref()?;
        Some((t.name.get_ref().as_str(), url.get_ref().as_str()))
    });
    service.chain(tables).collect()
}

/// A config's faults without their places in the file, which move when lines above them do.
fn faults(c: &Config) -> Vec<&crate::faults::FaultSpec> {
    c.faults.iter().map(|f| f.get_ref()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Config {
        Config::parse("offcloud.toml", text, std::path::Path::new(".")).unwrap()
    }

    #[test]
    fn settings_a_reload_cannot_apply_are_named() {
        let before = config("region = \"us-east-1\"\ntrace_capacity = 10\n");
        let after = config("region = \"eu-west-1\"\ntrace_capacity = 10\n");
        assert_eq!(needs_restart(&before, &after), ["`region`"]);
        assert!(needs_restart(&before, &before).is_empty());
        let table = "[[table]]\nname = \"abc\"\nhash_key = { name = \"id\", type = \"S\" }\n";
        let before = config(table);
        let after = config(&format!(
            "{table}dynamodb_endpoint = \"http://127.0.0.1:8000\"\n"
        ));
        assert_eq!(needs_restart(&before, &after), ["`dynamodb_endpoint`"]);
    }
}
