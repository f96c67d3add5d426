//! The `offcloud` binary as a user runs it: start-up lines, other runtimes, and no orphans.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{Builder, fixture, offcloud_bin, raw, workspace};

/// A running `offcloud serve`, killed on drop.
pub struct Served {
    pub child: Child,
    pub main: String,
    pub api: Option<String>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `offcloud serve` on free ports and waits for its ready line.
pub fn serve(config: &std::path::Path, extra: &[&str]) -> Served {
    let mut child = Command::new(offcloud_bin())
        .args(["serve", "--port", "0", "--api-port", "0", "--config"])
        .arg(config)
        .args(extra)
        .current_dir(workspace())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().expect("a ready line").unwrap();
    let main = first.rsplit("http://").next().unwrap().to_string();
    let mut api = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.contains("API Gateway") {
            api = Some(line.rsplit("http://").next().unwrap().to_string());
        }
        if line.starts_with("offcloud: ready") {
            break;
        }
    }
    std::thread::spawn(move || lines.for_each(drop));
    Served { child, main, api }
}

fn alive(pid: u32) -> bool {
    // A zombie has exited; only a process in any other state is alive.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.split(") ").nth(1).unwrap_or("").starts_with('Z'))
        .unwrap_or(false)
}

#[tokio::test]
async fn functions_die_with_the_emulator_even_on_sigkill() {
    let dir = std::env::temp_dir().join(format!("offcloud-orphans-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("offcloud.toml");
    std::fs::write(&config, crate::support::faulty("f", "")).unwrap();
    let mut served = serve(&config, &[]);
    let (status, _, body) = raw(
        &served.main,
        "POST",
        "/2015-03-31/functions/f/invocations",
        &[],
        b"{}",
    )
    .await;
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let pid = v["pid"].as_u64().unwrap() as u32;
    assert!(alive(pid));
    served.child.kill().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!alive(pid), "function process {pid} outlived the emulator");
}

#[tokio::test]
async fn serve_prints_its_listeners_and_stops_on_sigterm() {
    let mut served = serve(&workspace().join("fixtures/offcloud.toml"), &[]);
    assert!(served.main.starts_with("127.0.0.1:"), "{}", served.main);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(served.child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(status) = served.child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(Instant::now() < deadline, "serve did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn invoke_command_prints_the_response_and_fails_on_function_error() {
    crate::support::build_handlers();
    let out = Command::new(offcloud_bin())
        .args([
            "invoke",
            "epoch-time",
            "--config",
            "fixtures/offcloud.toml",
            "--event",
            "fixtures/events/epoch-time.json",
        ])
        .current_dir(workspace())
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["statusCode"], 200);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("REPORT RequestId: "), "{log}");

    let out = Command::new(offcloud_bin())
        .args([
            "invoke",
            "server-status",
            "--config",
            "fixtures/offcloud.toml",
            "--event",
            "fixtures/events/server-status-forbidden.json",
        ])
        .current_dir(workspace())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["errorMessage"]
            .as_str()
            .unwrap()
            .starts_with("IllegalAccess:")
    );
}

#[test]
fn config_errors_name_file_and_line() {
    let dir = std::env::temp_dir().join(format!("offcloud-badcfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("bad.toml");
    std::fs::write(
        &config,
        "[[function]]\nname = \"f\"\ncommand = [\"x\"]\ntimeout = \"soon\"\n",
    )
    .unwrap();
    let out = Command::new(offcloud_bin())
        .arg("serve")
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{}:4:", config.display())), "{err}");
}

/// awslambdaric, AWS's Python runtime interface client, runs unmodified. `.ci/run` installs it.
#[tokio::test]
async fn python_awslambdaric_runs_unmodified() {
    let config = format!(
        "[[function]]\nname = \"py\"\ncommand = [\"python3\", \"-m\", \"awslambdaric\", \"app.handler\"]\ncwd = \"{}\"\n",
        fixture("python").display()
    );
    let h = Builder::new(config).start().await;
    let client = h.lambda().await;
    let out = client
        .invoke()
        .function_name("py")
        .payload(aws_sdk_lambda::primitives::Blob::new(r#"{"x": 1}"#))
        .send()
        .await
        .unwrap();
    let payload = String::from_utf8_lossy(out.payload().unwrap().as_ref()).to_string();
    assert_eq!(
        out.function_error(),
        None,
        "{payload} (is awslambdaric installed? `python3 -m pip install awslambdaric`, as .ci/run does)"
    );
    let v: serde_json::Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(v["python"], true);
    assert_eq!(v["echo"], serde_json::json!({"x": 1}));
    assert_eq!(v["function_name"], "py");
    assert_eq!(v["remaining_ms_positive"], true);
    let out = client
        .invoke()
        .function_name("py")
        .payload(aws_sdk_lambda::primitives::Blob::new(r#"{"fail": true}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(out.function_error(), Some("Unhandled"));
    let v: serde_json::Value = serde_json::from_slice(out.payload().unwrap().as_ref()).unwrap();
    assert_eq!(v["errorType"], "ValueError");
    assert_eq!(v["errorMessage"], "asked to fail");
}

/// A user with a SAM template writes no config.
#[tokio::test]
async fn serve_a_sam_template_without_a_config_file() {
    crate::support::build_handlers();
    let served = serve(
        &workspace().join("no-such-offcloud.toml"),
        &["--template", "fixtures/template.yaml"],
    );
    let api = served.api.clone().expect("the template's APIs");
    for path in ["/Prod/time", "/time", "/v2/time"] {
        let (status, _, body) = raw(&api, "GET", path, &[], b"").await;
        assert_eq!(status, 200, "{path}");
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert!(v["The current epoch time"].is_u64());
    }
    let (status, _, _) = raw(
        &served.main,
        "POST",
        "/2015-03-31/functions/epoch-time/invocations",
        &[],
        b"{}",
    )
    .await;
    assert_eq!(status, 200);
    // The template's SimpleTable exists, keyed as declared.
    let (status, _, body) = raw(
        &served.main,
        "POST",
        "/",
        &[
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amz-target", "DynamoDB_20120810.DescribeTable"),
        ],
        br#"{"TableName": "times"}"#,
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        v["Table"]["KeySchema"],
        serde_json::json!([{"AttributeName": "at", "KeyType": "HASH"}])
    );
    assert_eq!(
        v["Table"]["AttributeDefinitions"],
        serde_json::json!([{"AttributeName": "at", "AttributeType": "N"}])
    );
}

#[test]
fn the_small_shim_runs_its_program_and_says_what_it_could_not_run() {
    let shim = crate::support::shim_bin();
    let me = std::process::id().to_string();
    let ok = Command::new(&shim)
        .args(["--parent", &me, "--", "sh", "-c", "echo ran"])
        .output()
        .unwrap();
    assert!(ok.status.success());
    assert_eq!(String::from_utf8_lossy(&ok.stdout), "ran\n");
    // The same words as `offcloud __exec`.
    let ok = Command::new(&shim)
        .args(["__exec", "--parent", &me, "--", "true"])
        .status()
        .unwrap();
    assert!(ok.success());
    let missing = Command::new(&shim)
        .args(["--parent", &me, "--", "/nonexistent/bootstrap"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(127));
    assert!(
        String::from_utf8_lossy(&missing.stderr)
            .starts_with("offcloud-exec: cannot run /nonexistent/bootstrap: "),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
    let bad = Command::new(&shim).args(["--parent"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).starts_with("usage: offcloud-exec"));
    // A parent that is already gone: the function must not start at all.
    let orphan = Command::new(&shim)
        .args(["--parent", "1", "--", "sh", "-c", "echo ran"])
        .output()
        .unwrap();
    assert_eq!(orphan.status.code(), Some(137));
    assert!(orphan.stdout.is_empty());
}
