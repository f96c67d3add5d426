//! Building workspace packages with cargo: a missing binary at its first use, and again whenever the watcher
//! sees a package's sources change.
//!
//! Cargo runs with `--message-format=json`, so that the compiler's errors come back whole (their `rendered` text)
//! to be logged and shown on the dashboard, while its `Compiling ...` lines drive a spinner on a terminal. The
//! spinner is `indicatif`'s, drawn on stderr only when stderr is a terminal, so CI logs stay quiet.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};

use super::LaunchOptions;

/// How a build ended.
#[derive(Debug, Clone)]
pub struct BuildReport {
    pub ok: bool,
    /// The compiler's errors as it renders them, or cargo's own last lines when it failed before compiling.
    pub output: String,
    pub elapsed: Duration,
}

/// How many of cargo's own stderr lines a failed build keeps, for failures that are not the compiler's (a broken
/// `Cargo.toml`, say).
const KEPT_STDERR_LINES: usize = 20;

/// Serialises the builds Offcloud starts: cargo would only wait for its own lock.
static BUILD_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// `cargo build -p P...` in `workspace`, in the profile and target folder `launch` asks for.
pub async fn cargo_build(
    workspace: &Path,
    packages: &[String],
    launch: &LaunchOptions,
) -> BuildReport {
    let _guard = BUILD_LOCK.lock().await;
    let started = Instant::now();
    let mut cmd = tokio::process::Command::new(std::env::var("CARGO").unwrap_or("cargo".into()));
    cmd.args(["build", "--message-format=json"])
        .args(launch.release.then_some("--release"))
        .arg("--target-dir")
        .arg(launch.target_dir(workspace))
        .current_dir(workspace)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for p in packages {
        cmd.args(["-p", p]);
    }
    let failed = |output: String| BuildReport {
        ok: false,
        output,
        elapsed: started.elapsed(),
    };
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return failed(format!("cannot run cargo: {e}")),
    };
    let progress = indicatif::ProgressBar::new_spinner();
    progress.enable_steady_tick(Duration::from_millis(120));
    progress.set_message(format!("building {}", packages.join(", ")));
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return failed("cannot read cargo's output".into());
    };
    let status_lines = {
        let progress = progress.clone();
        let packages = packages.join(", ");
        tokio::spawn(async move {
            let mut kept = std::collections::VecDeque::new();
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let line = line.trim().to_string();
                if line.starts_with("Compiling") || line.starts_with("Checking") {
                    progress.set_message(format!("building {packages}: {line}"));
                }
                if kept.len() == KEPT_STDERR_LINES {
                    kept.pop_front();
                }
                kept.push_back(line);
            }
            Vec::from(kept).join("\n")
        })
    };
    let mut errors = Vec::new();
    let mut lines = BufReader::new(stdout).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(rendered) = compiler_error(&line) {
            errors.push(rendered);
        }
    }
    let status = child.wait().await;
    let stderr = status_lines.await.unwrap_or_default();
    progress.finish_and_clear();
    let ok = status.as_ref().is_ok_and(|s| s.success());
    let output = if ok {
        String::new()
    } else if errors.is_empty() {
        stderr
    } else {
        errors.join("\n")
    };
    BuildReport {
        ok,
        output,
        elapsed: started.elapsed(),
    }
}

/// The rendered text of one of cargo's JSON messages when it is a compiler error.
fn compiler_error(line: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Message {
        reason: String,
        message: Option<Diagnostic>,
    }
    #[derive(serde::Deserialize)]
    struct Diagnostic {
        level: String,
        rendered: Option<String>,
    }
    let m: Message = serde_json::from_str(line).ok()?;
    let d = m.message?;
    (m.reason == "compiler-message" && d.level == "error")
        .then_some(d.rendered)
        .flatten()
}

/// The binary of a workspace package: the newer of the debug and release builds, or the release build alone when
/// `launch.release` is set.
pub fn find_binary(workspace: &Path, package: &str, launch: &LaunchOptions) -> Option<PathBuf> {
    binary_in(&launch.target_dir(workspace), package, launch.release)
}

/// [`find_binary`] under the target folder `target`.
fn binary_in(target: &Path, package: &str, release: bool) -> Option<PathBuf> {
    let profiles: &[&str] = if release {
        &["release"]
    } else {
        &["debug", "release"]
    };
    profiles
        .iter()
        .map(|p| target.join(p).join(package))
        .filter_map(|p| Some((std::fs::metadata(&p).ok()?.modified().ok()?, p)))
        .max()
        .map(|(_, p)| p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_release_profile_is_chosen_only_when_asked_for() {
        let folder = crate::lambda::test_folder::Folder::new("find-binary");
        let dir = &folder.0;
        for p in ["debug", "release"] {
            std::fs::create_dir_all(dir.join("target").join(p)).unwrap();
        }
        std::fs::write(dir.join("target/release/api"), "").unwrap();
        // The debug build is written last, so it is the newer one.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(dir.join("target/debug/api"), "").unwrap();
        let target = dir.join("target");
        assert_eq!(
            binary_in(&target, "api", false),
            Some(target.join("debug/api"))
        );
        assert_eq!(
            binary_in(&target, "api", true),
            Some(target.join("release/api"))
        );
        std::fs::remove_file(target.join("release/api")).unwrap();
        assert_eq!(binary_in(&target, "api", true), None);
    }

    #[test]
    fn only_compiler_errors_are_kept() {
        let error = r#"{"reason":"compiler-message","message":{"level":"error","rendered":"error[E0425]: cannot find value `x`\n"}}"#;
        let warning = r#"{"reason":"compiler-message","message":{"level":"warning","rendered":"warning: unused"}}"#;
        let artifact = r#"{"reason":"compiler-artifact","target":{"name":"x"}}"#;
        assert_eq!(
            compiler_error(error).as_deref(),
            Some("error[E0425]: cannot find value `x`\n")
        );
        assert_eq!(compiler_error(warning), None);
        assert_eq!(compiler_error(artifact), None);
        assert_eq!(compiler_error("not json"), None);
    }
}
