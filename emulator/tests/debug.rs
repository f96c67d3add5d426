//! Debugger attach (`serve --debug NAME`, or `debug_port` in the config): Offcloud does not start the function; a
//! handler started by hand with the command Offcloud prints serves it, an invocation sent before the handler runs
//! waits for it, and the function's timeout is suspended unless `debug_timeout` sets one.

use std::os::unix::process::CommandExt as _;
use std::time::{Duration, Instant};

use crate::support::{Builder, Harness, TempDir, header, main_call};

const HANDLER: &str = "import os, time\n\ndef handler(event, context):\n    time.sleep(event.get(\"sleep\", 0))\n    return {\"greeting\": os.environ.get(\"GREETING\"), \"pid\": os.getpid()}\n";

/// A function being debugged on a free port, whose handler sleeps as long as its event says.
async fn debugged(dir: &TempDir, extra: &str) -> (Harness, u16) {
    std::fs::write(dir.0.join("app.py"), HANDLER).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = format!(
        "[[function]]\nname = \"dbg\"\nruntime = \"python3.12\"\nhandler = \"app.handler\"\ncwd = \"{}\"\ntimeout = 1\ndebug_port = {port}\nenvironment = {{ GREETING = \"hello world\" }}\n{extra}",
        dir.0.display()
    );
    (Builder::new(config).start().await, port)
}

/// The handler started by hand, as the user would paste Offcloud's command; its process group is killed on drop.
struct ByHand(std::process::Child);

impl ByHand {
    fn start(command: &str) -> Self {
        let child = std::process::Command::new("sh")
            .args(["-c", command])
            .process_group(0)
            .spawn()
            .unwrap();
        Self(child)
    }
}

impl Drop for ByHand {
    fn drop(&mut self) {
        let group = nix::unistd::Pid::from_raw(-(self.0.id() as i32));
        let _ = nix::sys::signal::kill(group, nix::sys::signal::Signal::SIGKILL);
        let _ = self.0.wait();
    }
}

async fn invoke(h: &Harness, event: &str) -> (u16, Option<String>, serde_json::Value) {
    let resp = main_call(
        h,
        "POST",
        "/2015-03-31/functions/dbg/invocations",
        &[],
        event.as_bytes(),
    )
    .await;
    let error = header(&resp.1, "x-amz-function-error").map(str::to_string);
    (resp.0, error, serde_json::from_slice(&resp.2).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_started_by_hand_serves_the_function_with_its_timeout_suspended() {
    let dir = TempDir::new("debug-attach");
    let (h, port) = debugged(&dir, "").await;
    let f = h.emulator.lambda.resolve("dbg", None).unwrap();
    assert!(f.pids().is_empty(), "Offcloud started nothing");
    let commands = f.debug_commands().unwrap();
    assert!(
        commands
            .plain
            .contains(&format!("AWS_LAMBDA_RUNTIME_API=127.0.0.1:{port} ")),
        "{}",
        commands.plain
    );
    assert!(commands.plain.contains("GREETING='hello world'"));
    assert!(commands.plain.contains("AWS_LAMBDA_FUNCTION_NAME=dbg "));
    let debugger = commands.debugger.as_deref().unwrap();
    assert!(debugger.contains(" -m debugpy --listen 127.0.0.1:5678 --wait-for-client "));

    // An invocation sent before the handler runs waits for it; it sleeps past the 1-second timeout, as a
    // breakpoint would hold it.
    let h = std::sync::Arc::new(h);
    let early = {
        let h = h.clone();
        tokio::spawn(async move { invoke(&h, r#"{"sleep": 1.5}"#).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!early.is_finished(), "the invocation waits for the handler");
    let started = Instant::now();
    let _handler = ByHand::start(&commands.plain);
    let (status, error, payload) = early.await.unwrap();
    assert_eq!((status, error), (200, None), "{payload}");
    assert_eq!(payload["greeting"], "hello world");
    assert!(started.elapsed() >= Duration::from_millis(1500));

    // The same handler serves the next invocation.
    let (_, error, again) = invoke(&h, "{}").await;
    assert_eq!(error, None, "{again}");
    assert_eq!(again["pid"], payload["pid"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_debug_timeout_bounds_a_debugged_invocation() {
    let dir = TempDir::new("debug-timeout");
    let (h, _) = debugged(&dir, "debug_timeout = 0.5\n").await;
    let commands = h
        .emulator
        .lambda
        .resolve("dbg", None)
        .unwrap()
        .debug_commands()
        .unwrap();
    let _handler = ByHand::start(&commands.plain);
    let (status, error, payload) = invoke(&h, r#"{"sleep": 3}"#).await;
    assert_eq!(status, 200);
    assert_eq!(error.as_deref(), Some("Unhandled"));
    assert_eq!(payload["errorType"], "Sandbox.Timedout", "{payload}");
}

#[tokio::test]
async fn a_debug_port_in_use_stops_the_start_with_the_function_s_name() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let config = offcloud::config::Config::parse(
        "t.toml",
        &format!("[[function]]\nname = \"dbg\"\ncommand = [\"true\"]\ndebug_port = {port}\n"),
        std::path::Path::new("."),
    )
    .unwrap();
    let e = offcloud::server::Emulator::start(&config, Default::default(), Default::default())
        .await
        .err()
        .expect("the start fails");
    assert!(
        e.to_string().starts_with(&format!(
            "cannot serve dbg's Runtime API on the debug port {port}: "
        )),
        "{e}"
    );
}
