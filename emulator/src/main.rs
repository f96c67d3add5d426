//! The `offcloud` command line.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use offcloud::clock::Env;
use offcloud::config::Config;
use offcloud::lambda::{InvokeInput, LaunchOptions};
use offcloud::server::{Emulator, Options};
/// A line for whoever started `serve`. A closed stdout (a reader that has gone, `| head`) must never bring the
/// emulator down, as `println!` would.
macro_rules! announce {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

#[derive(Parser)]
#[command(
    name = "offcloud",
    version,
    about = "Local AWS Lambda, API Gateway, DynamoDB and the RDS Data API, offline.",
    after_help = "Example:\n  offcloud serve --config fixtures/offcloud.toml\n  offcloud invoke epoch-time --config fixtures/offcloud.toml\n  offcloud scenario run"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serves every configured function and API until Ctrl-C or SIGTERM.
    #[command(
        after_help = "Example:\n  offcloud serve --config fixtures/offcloud.toml --port 4566 --api-port 3000\n  offcloud serve --config fixtures/offcloud.toml --watch\n  offcloud serve --config fixtures/offcloud.toml --debug port-master\n  aws lambda invoke --endpoint-url http://127.0.0.1:4566 --function-name epoch-time out.json"
    )]
    Serve {
        #[arg(long, default_value = "offcloud.toml")]
        config: PathBuf,
        /// The AWS endpoint port (Lambda Invoke API, DynamoDB, RDS Data API); 0 picks a free port.
        #[arg(long, default_value_t = 4566)]
        port: u16,
        /// The API Gateway port; 0 picks a free port.
        #[arg(long, default_value_t = 3000)]
        api_port: u16,
        /// Keep DynamoDB tables and Data API databases in SQLite files here instead of in memory.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// The address to listen on.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// Watch the config, the template and every function's code, and reload what changes: a Rust function is
        /// rebuilt, an interpreted one restarted, the config reloaded. No invocation is dropped.
        #[arg(long)]
        watch: bool,
        /// Run (and build) Rust packages in the release profile, `target/release`, rather than the newer of the
        /// debug and release builds.
        #[arg(long)]
        release: bool,
        /// Do not start this function: serve its Runtime API on a fixed port (9001, 9002, ... or PORT) and print the
        /// command that starts it by hand, under a debugger. Its timeout is suspended (see `debug_timeout`).
        #[arg(long, value_name = "NAME[:PORT]")]
        debug: Vec<String>,
        #[command(flatten)]
        template: TemplateArgs,
        /// Also export traces over OTLP/HTTP to this OpenTelemetry collector's base URL, e.g. Jaeger's
        /// http://127.0.0.1:4318; overrides the config's `otlp_endpoint`.
        #[arg(long, value_name = "URL")]
        otlp_endpoint: Option<String>,
    },
    /// Runs one invocation without a server, printing the response on stdout and the function's log on stderr.
    #[command(
        after_help = "Example:\n  offcloud invoke epoch-time --config fixtures/offcloud.toml --event fixtures/events/epoch-time.json\n  echo '{\"error\":\"invalid\"}' | offcloud invoke server-status --event -"
    )]
    Invoke {
        function: String,
        /// A JSON event file, or `-` for standard input. Defaults to `{}`.
        #[arg(long)]
        event: Option<String>,
        #[arg(long, default_value = "offcloud.toml")]
        config: PathBuf,
        #[command(flatten)]
        template: TemplateArgs,
    },
    /// Mints a signed test token with Offcloud's local key, which JWT and Cognito authorizers without a `jwks`
    /// file trust, so protected routes can be tested without Cognito.
    #[command(
        after_help = "Example:\n  offcloud token --issuer https://auth.example.com --audience my-app --claim sub=user-1 --scope orders/read\n  curl -H \"Authorization: Bearer $(offcloud token --issuer https://auth.example.com --audience my-app)\" http://127.0.0.1:3000/orders"
    )]
    Token {
        #[arg(long)]
        issuer: String,
        /// The `aud` claim; leave it out for a Cognito-style access token.
        #[arg(long, default_value = "")]
        audience: String,
        /// A claim, `key=value`; the value is read as JSON when it is JSON, else as a string.
        #[arg(long = "claim", value_name = "KEY=VALUE")]
        claims: Vec<String>,
        /// A scope, for the `scope` claim.
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Seconds until the token expires.
        #[arg(long, default_value_t = 3600)]
        ttl: u64,
    },
    /// Manages what Python and Node.js functions need besides their interpreter.
    #[command(subcommand, after_help = "Example:\n  offcloud runtimes install")]
    Runtimes(RuntimesCommand),
    /// Runs scenario files and compares each step with its golden snapshot.
    #[command(
        subcommand,
        after_help = "Example:\n  offcloud scenario run scenarios/port-master\n  offcloud scenario record --target https://abc123.execute-api.us-east-1.amazonaws.com/Prod"
    )]
    Scenario(ScenarioCommand),
    /// Internal: runs a function process so that it dies with the emulator.
    #[command(name = "__exec", hide = true)]
    Exec {
        #[arg(long)]
        parent: u32,
        /// Read the command, its folder and its environment from stdin instead.
        #[arg(long, conflicts_with = "argv")]
        stdin: bool,
        #[arg(last = true, required_unless_present = "stdin")]
        argv: Vec<String>,
    },
}

/// A SAM or CloudFormation template, and how it is deployed.
#[derive(clap::Args)]
struct TemplateArgs {
    /// An AWS SAM or CloudFormation template whose functions, APIs and tables are served too; the config file is
    /// then optional.
    #[arg(long, short = 't')]
    template: Option<PathBuf>,
    /// Template parameters, as `sam deploy` takes them: `Key=Value` (also `ParameterKey=K,ParameterValue=V`).
    #[arg(long, num_args = 1.., value_name = "KEY=VALUE")]
    parameter_overrides: Vec<String>,
    /// The stack name, for `AWS::StackName` and generated names; by default the template's folder name.
    #[arg(long)]
    stack_name: Option<String>,
}

impl TemplateArgs {
    fn options(&self) -> anyhow::Result<offcloud::template::Options> {
        let mut overrides = std::collections::BTreeMap::new();
        for o in &self.parameter_overrides {
            let (k, v) = offcloud::template::parse_override(o)
                .with_context(|| format!("--parameter-overrides {o:?}: expected Key=Value"))?;
            overrides.insert(k, v);
        }
        Ok(offcloud::template::Options {
            stack_name: self.stack_name.clone(),
            parameter_overrides: overrides,
        })
    }
}

#[derive(Subcommand)]
enum RuntimesCommand {
    /// Installs the AWS SDKs that AWS's runtimes include (boto3; the AWS SDK for JavaScript v3) into Offcloud's
    /// cache, where Python and Node.js functions find them.
    #[command(after_help = "Example:\n  offcloud runtimes install")]
    Install,
}

#[derive(Subcommand)]
enum ScenarioCommand {
    /// Replays scenarios through a fresh emulator each and prints pass or fail per step, with a diff.
    #[command(
        after_help = "Example:\n  offcloud scenario run scenarios/epoch-time\n  offcloud scenario run            # every scenario under scenarios/\n  offcloud scenario run --trace scenarios/port-master"
    )]
    Run {
        /// Scenario files or folders; defaults to `scenarios/`.
        paths: Vec<PathBuf>,
        /// Print each step's traces (gateway request, invocations, storage calls) as indented trees.
        #[arg(long)]
        trace: bool,
        /// How many scenario files replay at once, each with its own emulator; 0 (the default) is four per
        /// core, at most 8. Results print in file order either way.
        #[arg(long, short = 'j', default_value_t = 0)]
        jobs: usize,
    },
    /// Sends the scenarios' steps to a live API and writes what comes back as the goldens, marked as recorded
    /// from the API's host.
    #[command(
        after_help = "Example:\n  offcloud scenario record --target https://abc123.execute-api.us-east-1.amazonaws.com/Prod scenarios/epoch-time\n  offcloud scenario record --target http://127.0.0.1:3000 --aws-endpoint http://127.0.0.1:4566"
    )]
    Record {
        /// The deployed API's base URL, with its stage (`.../Prod`) or without it; either way each URL holds the
        /// stage once.
        #[arg(long)]
        target: String,
        /// The AWS endpoint for setup calls, `invoke` and `aws` steps (e.g. another emulator). Without it, a
        /// scenario with setup calls or `aws` steps that write stops the recording; `invoke` and read-only `aws`
        /// steps are skipped and listed at the end.
        #[arg(long)]
        aws_endpoint: Option<String>,
        /// Scenario files or folders; defaults to `scenarios/`.
        paths: Vec<PathBuf>,
    },
    /// Lists every step's golden and where it came from: recorded from a live API (and its host) or emulated.
    #[command(
        after_help = "Example:\n  offcloud scenario list\n  offcloud scenario list scenarios/epoch-time"
    )]
    List {
        /// Scenario files or folders; defaults to `scenarios/`.
        paths: Vec<PathBuf>,
    },
}

fn init_tracing() {
    init_tracing_to(std::io::stderr);
}

/// The log on `writer`, which writes to standard error.
fn init_tracing_to<W>(writer: W)
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = tracing_subscriber::EnvFilter::try_from_env("OFFCLOUD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(writer)
        .init();
}

/// The config file, plus a template's functions, APIs and tables, with the template's start-up summary.
fn load_config(
    path: &std::path::Path,
    template: &TemplateArgs,
) -> anyhow::Result<(Config, Option<offcloud::template::Summary>)> {
    Ok(offcloud::template::load_project(
        path,
        template.template.as_deref(),
        &template.options()?,
    )?)
}

/// `--debug NAME[:PORT]` arguments, with ports from 9001 up where none is given.
fn debug_targets(args: &[String]) -> anyhow::Result<Vec<(String, u16)>> {
    args.iter()
        .zip(9001u16..)
        .map(|(a, default)| match a.rsplit_once(':') {
            Some((name, port)) => port
                .parse()
                .map(|p| (name.to_string(), p))
                .with_context(|| format!("--debug {a}: {port:?} is not a port")),
            None => Ok((a.clone(), default)),
        })
        .collect()
}

/// The config with `--otlp-endpoint`, when given, in place of its own `otlp_endpoint`.
fn with_otlp_endpoint(mut config: Config, url: Option<String>) -> Config {
    if let Some(url) = url {
        config.otlp_endpoint = Some(toml::Spanned::new(0..0, url));
    }
    config
}

fn launch() -> LaunchOptions {
    LaunchOptions {
        shim: std::env::current_exe()
            .ok()
            .map(|exe| offcloud::lambda::process::shim_beside(&exe)),
        endpoint_url: None,
        build_missing: true,
        release: false,
        target_dir: None,
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Exec {
            parent,
            stdin,
            argv,
        } => Err(anyhow::Error::new(match stdin {
            true => offcloud::lambda::process::exec_from_stdin(parent),
            false => offcloud::lambda::process::exec_with_parent_death_signal(parent, &argv),
        })),
        Command::Token {
            issuer,
            audience,
            claims,
            scopes,
            ttl,
        } => {
            let key = offcloud::apigw::jwt::LocalKey::load_or_create(
                &offcloud::apigw::auth::local_key_dir(),
            )?;
            let mut map = std::collections::BTreeMap::new();
            for c in &claims {
                let (k, v) = c
                    .split_once('=')
                    .with_context(|| format!("--claim {c:?}: expected key=value"))?;
                let value = serde_json::from_str(v).unwrap_or_else(|_| serde_json::Value::from(v));
                map.insert(k.to_string(), value);
            }
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_secs();
            println!("{}", key.mint(&issuer, &audience, map, &scopes, ttl, now));
            Ok(())
        }
        Command::Runtimes(RuntimesCommand::Install) => {
            for ran in offcloud::lambda::runtimes::install_sdks().map_err(anyhow::Error::msg)? {
                println!("ran {ran}");
            }
            println!(
                "offcloud: the AWS SDKs are in {}",
                offcloud::lambda::runtimes::sdk_dir("").display()
            );
            Ok(())
        }
        Command::Scenario(cmd) => {
            init_tracing_to(|| offcloud::scenario::cli::AboveBars);
            runtime()?.block_on(scenario(cmd))
        }
        Command::Serve {
            config,
            port,
            api_port,
            data_dir,
            host,
            watch,
            release,
            debug,
            template,
            otlp_endpoint,
        } => {
            init_tracing();
            let debug = debug_targets(&debug)?;
            let project = offcloud::reload::Project {
                config: config.clone(),
                template: template.template.clone(),
                options: template.options()?,
                debug: debug.clone(),
            };
            let (mut config, summary) = load_config(&config, &template)?;
            config.debug(&debug).map_err(anyhow::Error::msg)?;
            let config = with_otlp_endpoint(config, otlp_endpoint);
            if let Some(dir) = &data_dir {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
            }
            runtime()?.block_on(async move {
                let opts = Options {
                    host,
                    port,
                    api_port,
                    launch: LaunchOptions {
                        release,
                        ..launch()
                    },
                    data_dir,
                    ..Options::default()
                };
                let emulator = Emulator::start(&config, Env::default(), opts).await?;
                let _watching = match watch {
                    true => Some(emulator.watch(project, config.clone()).await?),
                    false => None,
                };
                // Listen for signals before announcing readiness, so that a SIGTERM sent right after the ready
                // line stops the emulator cleanly.
                use tokio::signal::unix::{SignalKind, signal};
                let mut term = signal(SignalKind::terminate())?;
                let mut int = signal(SignalKind::interrupt())?;
                announce!(
                    "offcloud: AWS endpoint (Lambda, DynamoDB, RDS Data API) on {}",
                    emulator.endpoint_url()
                );
                if let Some(api) = emulator.api_url() {
                    announce!("offcloud: API Gateway on {api}");
                }
                announce!("offcloud: dashboard on {}", emulator.dashboard_url());
                if let Some(summary) = &summary {
                    announce!(
                        "{}",
                        summary.render(emulator.api_url().as_deref()).trim_end_matches('\n')
                    );
                }
                for f in emulator.lambda.functions() {
                    let (Some(mode), Some(commands)) = (f.debug_mode(), f.debug_commands()) else {
                        continue;
                    };
                    announce!(
                        "offcloud: {} is not started: its Runtime API waits on {} for the handler you start. Run it with\n  {}",
                        f.name(),
                        mode.runtime_api(),
                        commands.plain
                    );
                    if let Some(d) = commands.debugger {
                        announce!("offcloud: or under a debugger:\n  {d}");
                    }
                }
                announce!(
                    "offcloud: ready (functions: {})",
                    emulator.lambda.function_names().join(", ")
                );
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
                emulator.shutdown();
                Ok(())
            })
        }
        Command::Invoke {
            function,
            event,
            config,
            template,
        } => {
            init_tracing();
            let (config, _) = load_config(&config, &template)?;
            let payload = match event.as_deref() {
                None => b"{}".to_vec(),
                Some("-") => {
                    let mut buf = Vec::new();
                    std::io::stdin().read_to_end(&mut buf)?;
                    buf
                }
                Some(path) => std::fs::read(path).with_context(|| format!("cannot read {path}"))?,
            };
            runtime()?.block_on(async move {
                let emulator = Emulator::start(
                    &config,
                    Env::default(),
                    Options {
                        launch: launch(),
                        ..Options::default()
                    },
                )
                .await?;
                let out = emulator
                    .lambda
                    .invoke(InvokeInput::new(function, payload))
                    .await?;
                println!("{}", String::from_utf8_lossy(&out.payload));
                emulator.shutdown();
                if out.function_error.is_some() {
                    bail!("the function failed");
                }
                Ok(())
            })
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    let mut b = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = std::env::var("OFFCLOUD_WORKER_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        b.worker_threads(n);
    }
    Ok(b.enable_all().build()?)
}

async fn scenario(cmd: ScenarioCommand) -> anyhow::Result<()> {
    use offcloud::scenario::cli;
    use std::io::IsTerminal;
    let cwd = std::env::current_dir()?;
    let workspace = offcloud::config::workspace_root(&cwd).unwrap_or(cwd);
    let mut out = std::io::stdout();
    match cmd {
        ScenarioCommand::Run { paths, trace, jobs } => {
            let output = cli::RunOutput {
                color: out.is_terminal(),
                traces: trace,
                progress: std::io::stderr().is_terminal(),
                jobs,
            };
            cli::run(&paths, &workspace, launch(), output, &mut out).await?
        }
        ScenarioCommand::Record {
            target,
            aws_endpoint,
            paths,
        } => {
            cli::record(
                &paths,
                &workspace,
                &target,
                aws_endpoint.as_deref(),
                &mut out,
            )
            .await?
        }
        ScenarioCommand::List { paths } => cli::list(&paths, &workspace, &mut out)?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Every command a user can see has an example in its `--help`.
    #[test]
    fn every_command_has_an_example() {
        fn check(cmd: &mut clap::Command, path: String) {
            // clap's generated `help` subcommand prints other commands' help.
            if cmd.is_hide_set() || cmd.get_name() == "help" {
                return;
            }
            let help = cmd.render_long_help().to_string();
            assert!(help.contains("Example:"), "`{path} --help` has no example");
            for sub in cmd.get_subcommands_mut() {
                let path = format!("{path} {}", sub.get_name());
                check(sub, path);
            }
        }
        check(&mut super::Cli::command(), "offcloud".into());
    }
}
