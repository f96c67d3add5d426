//! The `offcloud` binary as a user runs it: start-up lines, other runtimes, and no orphans.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{Builder, fixture, offcloud_bin, raw, shim_bin, workspace};

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
    // Once ready, `serve` starts a shim for the first cold start, and the function becomes that process.
    let first = spare_of(served.child.id(), None);
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
    assert_eq!(pid, first, "the cold start used the spare shim");
    // The shim waiting for the next cold start, started once this one was over.
    let spare = spare_of(served.child.id(), Some(first));
    served.child.kill().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while (alive(pid) || alive(spare)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!alive(pid), "function process {pid} outlived the emulator");
    assert!(
        !alive(spare),
        "the spare shim {spare} outlived the emulator"
    );
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
    let shim = shim_bin();
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

/// Runs `script` under `sh` through a spare shim of `shim`, in a fresh folder with `GREETING` set, and returns its
/// exit code, stdout and stderr.
async fn through_a_spare(shim: std::path::PathBuf, argv: &[&str]) -> (Option<i32>, String, String) {
    use offcloud::lambda::process::Spawn;
    use offcloud::lambda::spare::Spare;
    use tokio::io::AsyncReadExt;

    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("offcloud-spare-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let spare = Spare::new(Some(shim));
    assert_eq!(spare.waiting(), None);
    spare.fill();
    let pid = spare.waiting().expect("a spare shim is waiting");
    let argv: Vec<String> = argv.iter().map(|a| a.to_string()).collect();
    let env = [("GREETING".to_string(), "hello = world".to_string())].into();
    let mut child = spare
        .take(&Spawn {
            argv: &argv,
            cwd: &dir,
            env: &env,
            shim: None,
        })
        .expect("the waiting shim is used");
    assert_eq!(child.id(), Some(pid), "the function is the spare's process");
    assert_eq!(spare.waiting(), None, "a spare is used once");
    let (mut out, mut err) = (String::new(), String::new());
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .await
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .await
        .unwrap();
    let status = child.wait().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    (
        status.code(),
        out,
        err.replace(&dir.display().to_string(), "DIR"),
    )
}

#[tokio::test]
async fn a_spare_shim_becomes_the_function_with_its_folder_arguments_and_environment_only() {
    // `CARGO_MANIFEST_DIR` is in this process's environment (Cargo sets it for tests) and is not one of the
    // variables passed through to functions, so it must not reach the function; `HOME` is passed through.
    assert!(std::env::var_os("CARGO_MANIFEST_DIR").is_some());
    let home = std::env::var("HOME").unwrap_or_default();
    let script = r#"pwd; echo "$GREETING|$1|$2|${CARGO_MANIFEST_DIR-unset}|$HOME"; read x || echo "stdin is empty""#;
    for shim in [shim_bin(), offcloud_bin()] {
        let (code, out, err) =
            through_a_spare(shim.clone(), &["sh", "-c", script, "sh", "a b", ""]).await;
        assert_eq!(code, Some(0), "{shim:?}: {err}");
        let mut lines = out.lines();
        assert!(
            lines.next().unwrap().contains("offcloud-spare-"),
            "{shim:?} runs the function in its folder: {out}"
        );
        assert_eq!(
            lines.next(),
            Some(format!("hello = world|a b||unset|{home}").as_str()),
            "{shim:?}"
        );
        assert_eq!(lines.next(), Some("stdin is empty"), "{shim:?}");
    }
}

#[tokio::test]
async fn a_spare_shim_says_what_it_could_not_run() {
    let (code, out, err) = through_a_spare(shim_bin(), &["/nonexistent/bootstrap", "x"]).await;
    assert_eq!(code, Some(127));
    assert!(out.is_empty());
    assert!(
        err.starts_with("offcloud-exec: cannot run /nonexistent/bootstrap x: "),
        "{err}"
    );
}

#[tokio::test]
async fn a_spare_is_not_handed_a_launch_with_a_nul_byte() {
    use offcloud::lambda::process::Spawn;
    use offcloud::lambda::spare::Spare;

    let spare = Spare::new(Some(shim_bin()));
    spare.fill();
    let waiting = spare.waiting().unwrap();
    // A variable whose value would otherwise end its field and forge an argument after it.
    let env = [("K".to_string(), "x\0Aforged".to_string())].into();
    let argv = vec!["true".to_string()];
    let used = spare.take(&Spawn {
        argv: &argv,
        cwd: std::path::Path::new("/"),
        env: &env,
        shim: None,
    });
    assert!(used.is_none(), "the function is started afresh instead");
    assert_eq!(spare.waiting(), None);
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(waiting) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(!alive(waiting), "the unused spare is killed");
}

#[tokio::test]
async fn a_spare_that_died_is_not_used() {
    use offcloud::lambda::process::Spawn;
    use offcloud::lambda::spare::Spare;

    let spare = Spare::new(Some(shim_bin()));
    spare.fill();
    let pid = spare.waiting().unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(pid) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let argv = vec!["true".to_string()];
    let used = spare.take(&Spawn {
        argv: &argv,
        cwd: std::path::Path::new("/"),
        env: &Default::default(),
        shim: None,
    });
    assert!(used.is_none(), "a dead spare is not handed a function");
}

/// The spare shim among `parent`'s children, other than `not`, waited for.
fn spare_of(parent: u32, not: Option<u32>) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let found = children_of(parent)
            .into_iter()
            .find(|(pid, cmd)| cmd.contains("--stdin") && Some(*pid) != not);
        if let Some((spare, _)) = found {
            return spare;
        }
        assert!(Instant::now() < deadline, "no spare shim was started");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A process's children: pid and command line.
fn children_of(parent: u32) -> Vec<(u32, String)> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let ppid: u32 = stat.rsplit(") ").next()?.split(' ').nth(1)?.parse().ok()?;
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            (ppid == parent).then(|| (pid, String::from_utf8_lossy(&cmd).replace('\0', " ")))
        })
        .collect()
}
