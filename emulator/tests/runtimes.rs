//! Offcloud's own runtime interface clients (`emulator/runtimes/`): their own test suites, which compare the
//! Python client with AWS's awslambdaric byte for byte, and Python and Node.js functions run through the
//! emulator with nothing but the interpreter.

use std::process::Command;

use crate::support::{Builder, workspace};

fn run(cmd: &mut Command, what: &str) {
    let out = cmd.current_dir(workspace()).output().unwrap();
    assert!(
        out.status.success(),
        "{what} failed\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn python_client_suite_matches_awslambdaric() {
    // `just test` puts target/venv, which has awslambdaric, first on PATH; the comparison must not be skipped.
    run(
        Command::new("python3")
            .arg("emulator/runtimes/python/test_offcloud_runtime.py")
            .env("OFFCLOUD_REQUIRE_AWSLAMBDARIC", "1"),
        "the Python runtime client's tests",
    );
}

#[test]
fn node_client_suite() {
    run(
        Command::new("node").args(["--test", "emulator/runtimes/node/test/"]),
        "the Node.js runtime client's tests",
    );
}

fn project(files: &[(&str, &str)]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "offcloud-runtimes-{}-{}",
        std::process::id(),
        files[0].0.replace(['/', '.'], "-")
    ));
    let _ = std::fs::remove_dir_all(&dir);
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

const PY: &str = r#"
import json, logging, time
logger = logging.getLogger()
logger.setLevel(logging.INFO)

def ok(event, context):
    logger.info("working on %s", event.get("n"))
    print("printed")
    return {"n": event.get("n"), "id": context.aws_request_id, "name": context.function_name,
            "memory": context.memory_limit_in_mb, "remaining_ok": 0 < context.get_remaining_time_in_millis() <= 2000}

def slow(event, context):
    time.sleep(5)

def fails(event, context):
    raise ValueError("bad input")
"#;

const JS: &str = r#"
exports.ok = async (event, context) => {
  console.log("working on", event.n);
  const remaining = context.getRemainingTimeInMillis();
  return { n: event.n, id: context.awsRequestId, name: context.functionName, memory: context.memoryLimitInMB,
           remainingOk: remaining > 0 && remaining <= 2000 };
};
exports.fails = async () => { throw new TypeError("bad input"); };
"#;

fn functions(dir: &std::path::Path, runtime: &str, handlers: &[(&str, &str)]) -> String {
    handlers
        .iter()
        .map(|(name, handler)| {
            format!(
                "[[function]]\nname = \"{name}\"\nruntime = \"{runtime}\"\nhandler = \"{handler}\"\ncwd = \"{}\"\ntimeout = 2\n",
                dir.display()
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_functions_run_with_only_the_interpreter() {
    let dir = project(&[("app.py", PY), ("broken.py", "import nonexistent_module\n")]);
    let config = functions(
        &dir,
        "python3.12",
        &[
            ("py-ok", "app.ok"),
            ("py-slow", "app.slow"),
            ("py-fails", "app.fails"),
            ("py-init", "broken.handler"),
        ],
    );
    let h = Builder::new(config).start().await;
    let out = h.invoke_tail("py-ok", r#"{"n": 7}"#).await;
    let body: serde_json::Value = serde_json::from_slice(out.payload().unwrap().as_ref()).unwrap();
    assert_eq!(body["n"], 7);
    assert_eq!(body["name"], "py-ok");
    assert_eq!(body["memory"], "128");
    assert_eq!(body["remaining_ok"], true, "{body}");
    let id = body["id"].as_str().unwrap().to_string();
    let log = String::from_utf8(base64_decode(out.log_result().unwrap())).unwrap();
    // The logging module's lines carry the request id, as AWS's runtime tags them.
    assert!(
        log.contains("[INFO]\t") && log.contains(&format!("\t{id}\tworking on 7")),
        "{log}"
    );
    assert!(log.contains("printed"), "{log}");

    let out = h.invoke("py-fails", "{}").await;
    assert_eq!(out.function_error(), Some("Unhandled"));
    let err: serde_json::Value = serde_json::from_slice(out.payload().unwrap().as_ref()).unwrap();
    assert_eq!(
        (err["errorType"].as_str(), err["errorMessage"].as_str()),
        (Some("ValueError"), Some("bad input"))
    );
    assert!(
        err["stackTrace"][0].as_str().unwrap().contains("app.py"),
        "{err}"
    );

    let out = h.invoke("py-init", "{}").await;
    let err: serde_json::Value = serde_json::from_slice(out.payload().unwrap().as_ref()).unwrap();
    assert_eq!(err["errorType"], "Runtime.ImportModuleError", "{err}");
    assert_eq!(
        err["errorMessage"],
        "Unable to import module 'broken': No module named 'nonexistent_module'"
    );

    let out = h.invoke("py-slow", "{}").await;
    let err: serde_json::Value = serde_json::from_slice(out.payload().unwrap().as_ref()).unwrap();
    assert!(
        err["errorMessage"]
            .as_str()
            .unwrap()
            .contains("Task timed out after 2"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_functions_run_with_only_node() {
    let dir = project(&[("index.js", JS)]);
    let config = functions(
        &dir,
        "nodejs20.x",
        &[
            ("js-ok", "index.ok"),
            ("js-fails", "index.fails"),
            ("js-missing", "index.nope"),
        ],
    );
    let h = Builder::new(config).start().await;
    let out = h.invoke_tail("js-ok", r#"{"n": 3}"#).await;
    let body: serde_json::Value = serde_json::from_slice(out.payload().unwrap().as_ref()).unwrap();
    assert_eq!(
        (
            body["n"].as_i64(),
            body["memory"].as_str(),
            body["remainingOk"].as_bool()
        ),
        (Some(3), Some("128"), Some(true)),
        "{body}"
    );
    let id = body["id"].as_str().unwrap();
    let log = String::from_utf8(base64_decode(out.log_result().unwrap())).unwrap();
    assert!(
        log.contains(&format!("\t{id}\tINFO\tworking on 3")),
        "{log}"
    );

    let out = h.invoke("js-fails", "{}").await;
    let err: serde_json::Value = serde_json::from_slice(out.payload().unwrap().as_ref()).unwrap();
    assert_eq!(
        (err["errorType"].as_str(), err["errorMessage"].as_str()),
        (Some("TypeError"), Some("bad input"))
    );
    assert_eq!(err["trace"][0], "TypeError: bad input");

    let out = h.invoke("js-missing", "{}").await;
    let err: serde_json::Value = serde_json::from_slice(out.payload().unwrap().as_ref()).unwrap();
    assert_eq!(err["errorType"], "Runtime.HandlerNotFound", "{err}");
    assert_eq!(
        err["errorMessage"],
        "index.nope is undefined or not exported"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}
