//! Hot reload (`serve --watch`): a handler's source is changed while a client keeps invoking it; the new code is
//! served and the client sees no failure. A Rust handler is rebuilt (a failed build keeps the old one serving), a
//! Python one restarted, and a config change adds functions and tables without losing stored data.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use offcloud::reload::{Project, Reload, Watching};
use tokio::sync::broadcast;

use crate::support::{Harness, TempDir, fixture, header, main_call, start_project};

/// How long a reload may take here at most: a cold cargo build of a crate with no dependencies on a busy machine.
const PATIENCE: Duration = Duration::from_secs(120);

async fn start(config: &Path) -> (Harness, Watching) {
    let (h, _) = start_project(config, None).await;
    let project = Project {
        config: config.to_path_buf(),
        template: None,
        options: Default::default(),
        debug: Vec::new(),
    };
    let (running, _) = offcloud::template::load_project(config, None, &Default::default()).unwrap();
    let watching = h
        .emulator
        .watch(project, running)
        .await
        .expect("the watch starts");
    (h, watching)
}

/// One invocation's payload, or why it failed.
async fn invoke(h: &Harness, function: &str) -> Result<serde_json::Value, String> {
    let path = format!("/2015-03-31/functions/{function}/invocations");
    let resp = main_call(h, "POST", &path, &[], b"{}").await;
    let body = String::from_utf8_lossy(&resp.2).to_string();
    if resp.0 != 200 || header(&resp.1, "x-amz-function-error").is_some() {
        return Err(format!("{}: {body}", resp.0));
    }
    serde_json::from_str(&body).map_err(|e| format!("{e}: {body}"))
}

/// A client that invokes `function` again and again until it is stopped, keeping every failure.
struct Client {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<(usize, Vec<String>)>,
}

impl Client {
    fn start(h: &Arc<Harness>, function: &str) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (h, function, flag) = (h.clone(), function.to_string(), stop.clone());
        let task = tokio::spawn(async move {
            let (mut sent, mut failures) = (0, Vec::new());
            while !flag.load(Ordering::SeqCst) {
                sent += 1;
                if let Err(e) = invoke(&h, &function).await {
                    failures.push(e);
                }
            }
            (sent, failures)
        });
        Self { stop, task }
    }

    /// Stops the client; how many invocations it sent, and its failures.
    async fn stop(self) -> (usize, Vec<String>) {
        self.stop.store(true, Ordering::SeqCst);
        self.task.await.unwrap()
    }
}

/// Invokes `function` until its payload satisfies `done`.
async fn until(h: &Harness, function: &str, done: impl Fn(&serde_json::Value) -> bool) {
    let started = Instant::now();
    loop {
        if let Ok(v) = invoke(h, function).await
            && done(&v)
        {
            return;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "{function} never served the new code"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The next reload event that `pick` recognises.
async fn next<T>(
    events: &mut broadcast::Receiver<Reload>,
    pick: impl Fn(Reload) -> Option<T>,
) -> T {
    tokio::time::timeout(PATIENCE, async {
        loop {
            if let Some(t) = pick(events.recv().await.expect("the watch goes on")) {
                return t;
            }
        }
    })
    .await
    .expect("the reload happens")
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

fn python(dir: &Path, version: u32) {
    write(
        &dir.join("app.py"),
        &format!("def handler(event, context):\n    return {{\"version\": {version}}}\n"),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_handler_s_new_code_is_served_and_no_request_fails() {
    let dir = TempDir::new("watch-python");
    let code = dir.0.join("py");
    std::fs::create_dir_all(&code).unwrap();
    python(&code, 1);
    let config = dir.0.join("offcloud.toml");
    write(
        &config,
        "[[function]]\nname = \"py\"\nruntime = \"python3.12\"\nhandler = \"app.handler\"\ncwd = \"py\"\ntimeout = 60\n",
    );
    let (h, watching) = start(&config).await;
    let h = Arc::new(h);
    assert_eq!(invoke(&h, "py").await.unwrap()["version"], 1);
    let mut events = watching.subscribe();

    let client = Client::start(&h, "py");
    python(&code, 2);
    next(&mut events, |e| match e {
        Reload::Recycled { function } if function == "py" => Some(()),
        _ => None,
    })
    .await;
    until(&h, "py", |v| v["version"] == 2).await;
    let (sent, failures) = client.stop().await;
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(sent > 1, "the client sent {sent} invocations");
    // Scratch files and byte code are not changes.
    write(&code.join(".app.py.swp"), "x");
    write(&code.join("notes.txt~"), "x");
    assert_eq!(invoke(&h, "py").await.unwrap()["version"], 2);
}

/// A copy of the `std-runtime` fixture, a Rust function with no dependencies, whose answer wraps the event in
/// `{"<key>": ...}`.
fn rust_package(dir: &Path) -> PathBuf {
    let from = fixture("std-runtime");
    let to = dir.join("rs");
    std::fs::create_dir_all(to.join("src")).unwrap();
    for f in ["Cargo.toml", "Cargo.lock", "src/main.rs"] {
        std::fs::copy(from.join(f), to.join(f)).unwrap();
    }
    to
}

fn set_key(package: &Path, from: &str, to: &str) {
    let main = package.join("src/main.rs");
    let text = std::fs::read_to_string(&main).unwrap();
    assert!(text.contains(from), "{from} is not in main.rs");
    write(&main, &text.replace(from, to));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rust_handler_is_rebuilt_and_a_failed_build_keeps_the_old_one_serving() {
    let dir = TempDir::new("watch-rust");
    let package = rust_package(&dir.0);
    let config = dir.0.join("offcloud.toml");
    write(
        &config,
        "[[function]]\nname = \"rs\"\npackage = \"std-runtime\"\ncwd = \"rs\"\ntimeout = 60\n",
    );
    let (h, watching) = start(&config).await;
    let h = Arc::new(h);
    // The first invocation builds the package, as `serve` does for a missing binary.
    assert!(invoke(&h, "rs").await.unwrap().get("echo").is_some());
    let mut events = watching.subscribe();
    let client = Client::start(&h, "rs");

    // A change that does not compile: the compiler's error is reported and the old binary keeps serving.
    let main = package.join("src/main.rs");
    let good = std::fs::read_to_string(&main).unwrap();
    write(&main, &format!("{good}\nfn broken( {{\n"));
    let report = next(&mut events, |e| match e {
        Reload::Built { report, .. } => Some(report),
        _ => None,
    })
    .await;
    assert!(!report.ok);
    assert!(report.output.contains("error"), "{}", report.output);
    // The dashboard shows the failed build on the function.
    let build = h
        .emulator
        .lambda
        .resolve("rs", None)
        .unwrap()
        .status()
        .build;
    assert_eq!(
        build.map(|b| (b.ok, b.output)),
        Some((false, report.output.clone()))
    );
    assert!(invoke(&h, "rs").await.unwrap().get("echo").is_some());

    // The fix: the new binary serves once it is built.
    write(&main, &good);
    set_key(
        &package,
        "{{\\\"echo\\\":{event}}}",
        "{{\\\"echo2\\\":{event}}}",
    );
    let (report, functions) = next(&mut events, |e| match e {
        Reload::Built {
            report, functions, ..
        } => Some((report, functions)),
        _ => None,
    })
    .await;
    assert!(report.ok, "{}", report.output);
    assert_eq!(functions, ["rs"]);
    until(&h, "rs", |v| v.get("echo2").is_some()).await;
    let (sent, failures) = client.stop().await;
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(sent > 1, "the client sent {sent} invocations");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_change_adds_functions_and_tables_and_keeps_stored_data() {
    let dir = TempDir::new("watch-config");
    let code = dir.0.join("py");
    std::fs::create_dir_all(&code).unwrap();
    python(&code, 1);
    let config = dir.0.join("offcloud.toml");
    let first = "[[function]]\nname = \"py\"\nruntime = \"python3.12\"\nhandler = \"app.handler\"\ncwd = \"py\"\ntimeout = 60\n\n[[table]]\nname = \"kept\"\nhash_key = { name = \"id\", type = \"S\" }\n";
    write(&config, first);
    let (h, watching) = start(&config).await;
    let mut events = watching.subscribe();
    let dynamodb = h.dynamodb().await;
    dynamodb
        .put_item()
        .table_name("kept")
        .item("id", aws_sdk_dynamodb::types::AttributeValue::S("a".into()))
        .send()
        .await
        .unwrap();
    assert_eq!(invoke(&h, "py").await.unwrap()["version"], 1);

    // A second function and a second table.
    let second = format!(
        "{first}\n[[function]]\nname = \"py2\"\nruntime = \"python3.12\"\nhandler = \"app.handler\"\ncwd = \"py\"\ntimeout = 60\nenvironment = {{ SECOND = \"1\" }}\n\n[[table]]\nname = \"added\"\nhash_key = {{ name = \"id\", type = \"S\" }}\n"
    );
    write(&config, &second);
    let (functions, tables) = next(&mut events, |e| match e {
        Reload::Config { functions, tables } => Some((functions, tables)),
        _ => None,
    })
    .await;
    assert_eq!(functions.added, ["py2"]);
    assert!(functions.changed.is_empty() && functions.removed.is_empty());
    assert_eq!(tables, ["added"]);
    assert_eq!(invoke(&h, "py2").await.unwrap()["version"], 1);
    let kept = dynamodb.scan().table_name("kept").send().await.unwrap();
    assert_eq!(kept.count(), 1, "the stored item is still there");
    dynamodb.scan().table_name("added").send().await.unwrap();

    // A broken config is refused with its file and line, and the running one keeps serving.
    write(&config, &format!("{second}\n[[function]]\nname = 3\n"));
    let error = next(&mut events, |e| match e {
        Reload::ConfigRejected { error } => Some(error),
        _ => None,
    })
    .await;
    assert!(
        error.contains("offcloud.toml:25: invalid type: integer `3`, expected a string"),
        "{error}"
    );
    assert_eq!(invoke(&h, "py2").await.unwrap()["version"], 1);

    // A removed function is gone, with AWS's error for an unknown function.
    write(&config, first);
    let functions = next(&mut events, |e| match e {
        Reload::Config { functions, .. } => Some(functions),
        _ => None,
    })
    .await;
    assert_eq!(functions.removed, ["py2"]);
    let gone = main_call(
        &h,
        "POST",
        "/2015-03-31/functions/py2/invocations",
        &[],
        b"{}",
    )
    .await;
    assert_eq!(gone.0, 404);
}
