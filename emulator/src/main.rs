//! The `offcloud` command line.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use offcloud::clock::Env;
use offcloud::config::Config;
use offcloud::lambda::{InvokeInput, LaunchOptions};
use offcloud::server::{Emulator, Options};

#[derive(Parser)]
#[command(
    name = "offcloud",
    version,
    about = "Local AWS Lambda, API Gateway, DynamoDB and RDS Data API, offline."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serves every configured function and API until Ctrl-C or SIGTERM.
    #[command(
        after_help = "Example:\n  offcloud serve --config fixtures/offcloud.toml --port 4566 --api-port 3000\n  aws lambda invoke --endpoint-url http://127.0.0.1:4566 --function-name epoch-time out.json"
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
    },
    /// Internal: runs a function process so that it dies with the emulator.
    #[command(name = "__exec", hide = true)]
    Exec {
        #[arg(long)]
        parent: u32,
        #[arg(last = true, required = true)]
        argv: Vec<String>,
    },
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("OFFCLOUD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
        .init();
}

fn launch() -> LaunchOptions {
    LaunchOptions {
        shim: std::env::current_exe().ok(),
        endpoint_url: None,
        build_missing: true,
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Exec { parent, argv } => Err(
            offcloud::lambda::process::exec_with_parent_death_signal(parent, &argv),
        )
        .with_context(|| format!("cannot run {}", argv.join(" "))),
        Command::Serve {
            config,
            port,
            api_port,
            data_dir,
            host,
        } => {
            init_tracing();
            let config = Config::load(&config)?;
            if let Some(dir) = &data_dir {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
            }
            runtime()?.block_on(async move {
                let opts = Options {
                    host,
                    port,
                    api_port,
                    launch: launch(),
                    data_dir,
                };
                let emulator = Emulator::start(&config, Env::default(), opts).await?;
                println!(
                    "offcloud: AWS endpoint (Lambda, DynamoDB, RDS Data API) on {}",
                    emulator.endpoint_url()
                );
                if let Some(api) = emulator.api_url() {
                    println!("offcloud: API Gateway on {api}");
                }
                wait_for_stop().await?;
                emulator.shutdown();
                Ok(())
            })
        }
        Command::Invoke {
            function,
            event,
            config,
        } => {
            init_tracing();
            let config = Config::load(&config)?;
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
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

async fn wait_for_stop() -> anyhow::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r?,
        _ = term.recv() => {}
    }
    Ok(())
}
