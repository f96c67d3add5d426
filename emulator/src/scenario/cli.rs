//! The `offcloud scenario` commands: `run` replays scenarios and compares them with their goldens, `record` writes
//! the goldens from a live API, and `list` says where each golden came from. Each prints to the writer it is given.

use std::io::Write;
use std::path::{Path, PathBuf};

use std::sync::{Arc, LazyLock};

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use super::golden::{self, GoldenError, Origin};
use super::record::{self, BaseUrl, NeedsAwsEndpoint, Skipped, UrlError};
use super::run::{self, Target};
use super::{Scenario, discover, load};
use crate::config::ConfigError;
use crate::lambda::LaunchOptions;

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("no scenario files under {0}")]
    NoFiles(String),
    #[error(transparent)]
    Scenario(#[from] ConfigError),
    #[error("--target: {0}")]
    Target(UrlError),
    #[error("--aws-endpoint: {0}")]
    AwsEndpoint(UrlError),
    #[error("nothing was recorded:\n{}", lines(.0))]
    NeedsAwsEndpoint(Vec<NeedsAwsEndpoint>),
    #[error("{0} scenario steps failed")]
    Failed(usize),
    #[error(transparent)]
    Golden(#[from] GoldenError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

fn lines(errors: &[NeedsAwsEndpoint]) -> String {
    let all: Vec<String> = errors.iter().map(|e| format!("  {e}")).collect();
    all.join("\n")
}

/// Every scenario file under `paths`, or under the workspace's `scenarios/` when none are given.
fn files(paths: &[PathBuf], workspace: &Path) -> Result<Vec<PathBuf>, CommandError> {
    let paths = if paths.is_empty() {
        vec![workspace.join("scenarios")]
    } else {
        paths.to_vec()
    };
    let files = discover(&paths);
    if files.is_empty() {
        let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(CommandError::NoFiles(names.join(", ")));
    }
    Ok(files)
}

/// How `scenario run` prints.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOutput {
    pub color: bool,
    /// Print each step's traces as indented trees.
    pub traces: bool,
    /// Show a progress bar per file on standard error while its steps run (for a terminal).
    pub progress: bool,
    /// How many scenario files replay at once; 0 picks four per core, at most 8 (a replay mostly waits on
    /// processes and back-offs). Each has its own emulator, and the output is printed in file order whatever
    /// order they finish in.
    pub jobs: usize,
}

impl RunOutput {
    fn jobs(&self) -> usize {
        match self.jobs {
            0 => std::thread::available_parallelism()
                .map_or(4, |n| n.get() * 4)
                .min(8),
            n => n,
        }
    }
}

/// The bars `scenario run` shows, on standard error when it is a terminal.
static BARS: LazyLock<MultiProgress> = LazyLock::new(MultiProgress::new);

/// Standard error for the log: each write takes the bars off the screen and puts them back under the new lines,
/// so that a function's log lines do not tear a bar.
#[derive(Debug, Clone, Copy, Default)]
pub struct AboveBars;

impl Write for AboveBars {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        BARS.suspend(|| std::io::stderr().write(buf))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// A file's progress bar: steps done of its total, and the step running.
fn file_bar(file: &Path, steps: usize, show: bool) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let style = ProgressStyle::with_template(
        "{spinner} {prefix} [{bar:24}] {pos}/{len} steps {elapsed} {wide_msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    let bar = BARS.add(
        ProgressBar::new(steps as u64)
            .with_style(style)
            .with_prefix(file.display().to_string()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// Replays each scenario through a fresh emulator and prints pass or fail per step, with a diff.
pub async fn run(
    paths: &[PathBuf],
    workspace: &Path,
    launch: LaunchOptions,
    output: RunOutput,
    out: &mut impl Write,
) -> Result<(), CommandError> {
    let color = output.color;
    let (mut passed, mut failed) = (0, 0);
    // What the dashboard shows of this run.
    let mut results = vec![];
    let result = |file: &Path, step: &str, message: Option<String>, diff: Option<String>| {
        crate::dashboard::scenarios::StepResult {
            file: file.display().to_string(),
            step: step.to_string(),
            ok: message.is_none(),
            message,
            diff,
        }
    };
    // Every file is read before any is replayed, so that a mistake in one stops the run at once.
    let mut scenarios = vec![];
    for file in files(paths, workspace)? {
        let s = load(&file, workspace)?;
        scenarios.push((file, s));
    }
    let gate = Arc::new(tokio::sync::Semaphore::new(output.jobs()));
    let replays: Vec<_> = scenarios
        .into_iter()
        .map(|(file, s)| {
            let (gate, workspace, launch) = (gate.clone(), workspace.to_path_buf(), launch.clone());
            tokio::spawn(async move {
                let _turn = gate.acquire_owned().await;
                let bar = file_bar(&file, s.steps.len(), output.progress);
                let replayed = run::replay_with_progress(&s, &workspace, launch, &bar).await;
                bar.finish_and_clear();
                BARS.remove(&bar);
                (file, s, replayed)
            })
        })
        .collect();
    for replay in replays {
        let (file, s, replayed) = match replay.await {
            Ok(r) => r,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => return Err(CommandError::Io(std::io::Error::other(e))),
        };
        let steps = match replayed {
            Ok(steps) => steps,
            Err(e) => {
                writeln!(out, "FAIL {}: {e}", file.display())?;
                results.push(result(&file, "", Some(e), None));
                failed += 1;
                continue;
            }
        };
        for step in steps {
            let path = golden::path(&s, &step.name);
            let label = format!("{} {}", file.display(), step.name);
            match golden::read(&path) {
                None => {
                    writeln!(out, "FAIL {label}: no golden at {}", path.display())?;
                    let why = format!("no golden at {}", path.display());
                    results.push(result(&file, &step.name, Some(why), None));
                    failed += 1;
                }
                Some(g) => match golden::diff(&g, &step.value, color) {
                    None => {
                        writeln!(out, "ok   {label}")?;
                        results.push(result(&file, &step.name, None, None));
                        passed += 1;
                    }
                    Some(d) => {
                        writeln!(
                            out,
                            "FAIL {label}: differs from {} (- golden, + actual)\n{d}",
                            path.display()
                        )?;
                        let plain = if color {
                            golden::diff(&g, &step.value, false)
                        } else {
                            Some(d)
                        };
                        let why = format!("differs from {}", path.display());
                        results.push(result(&file, &step.name, Some(why), plain));
                        failed += 1;
                    }
                },
            }
            if output.traces {
                for t in &step.traces {
                    writeln!(out, "     trace {}", t.id)?;
                    for line in crate::trace::tree(t).lines() {
                        writeln!(out, "       {line}")?;
                    }
                }
            }
        }
    }
    writeln!(out, "{passed} passed, {failed} failed")?;
    let finished_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let summary = crate::dashboard::scenarios::ScenarioResults {
        finished_ms,
        passed,
        failed,
        steps: results,
    };
    let kept = crate::dashboard::scenarios::results_path(workspace);
    if let Err(e) = crate::dashboard::scenarios::write(&kept, &summary) {
        tracing::warn!(
            "cannot write the results for the dashboard to {}: {e}",
            kept.display()
        );
    }
    if failed > 0 {
        return Err(CommandError::Failed(failed));
    }
    Ok(())
}

/// Sends each scenario's steps to a live API (`target`, with its stage or without) and its setup calls and AWS
/// steps to `aws`, and writes what comes back as the goldens, each marked as recorded from the host it came from.
///
/// Every scenario is checked before anything is sent: one that needs an AWS endpoint when none is given stops
/// the recording with an error naming the file, the step and the flag. Steps that can do without are skipped
/// and listed at the end.
pub async fn record(
    paths: &[PathBuf],
    workspace: &Path,
    target: &str,
    aws: Option<&str>,
    out: &mut impl Write,
) -> Result<(), CommandError> {
    let api = BaseUrl::parse(target).map_err(CommandError::Target)?;
    if let Some(aws) = aws {
        BaseUrl::parse(aws).map_err(CommandError::AwsEndpoint)?;
    }
    let t = Target {
        api: Some(target.to_string()),
        aws: aws.map(str::to_string),
    };
    let scenarios = files(paths, workspace)?
        .iter()
        .map(|f| load(f, workspace))
        .collect::<Result<Vec<Scenario>, ConfigError>>()?;
    let (mut missing, mut skipped): (Vec<NeedsAwsEndpoint>, Vec<Skipped>) = (vec![], vec![]);
    for s in &scenarios {
        match record::check(s, &t) {
            Ok(k) => skipped.extend(k),
            Err(e) => missing.push(e),
        }
    }
    if !missing.is_empty() {
        return Err(CommandError::NeedsAwsEndpoint(missing));
    }
    let (mut recorded, mut failed) = (0, 0);
    for s in &scenarios {
        let ran = match run::run(s, &t, workspace).await {
            Ok(ran) => ran,
            Err(e) => {
                writeln!(out, "FAIL {}: {e}", s.file.display())?;
                failed += 1;
                continue;
            }
        };
        for step in ran.steps {
            let host = s
                .steps
                .iter()
                .find(|st| st.get_ref().name == step.name)
                .and_then(|st| record::host_for(st.get_ref(), &t))
                .unwrap_or_else(|| api.host().to_string());
            let path = golden::path(s, &step.name);
            golden::write(&path, s, &step.value, &Origin::Recorded { host }, workspace)?;
            writeln!(
                out,
                "recorded {} {} -> {}",
                s.file.display(),
                step.name,
                path.display()
            )?;
            recorded += 1;
        }
    }
    if !skipped.is_empty() {
        writeln!(
            out,
            "\nNot recorded: {} steps, whose goldens are left as they were:",
            skipped.len()
        )?;
        for k in &skipped {
            writeln!(out, "  {} {}: {}", k.file.display(), k.step, k.reason)?;
        }
        writeln!(out)?;
    }
    writeln!(
        out,
        "{recorded} recorded, {failed} failed, {} not recorded",
        skipped.len()
    )?;
    if failed > 0 {
        return Err(CommandError::Failed(failed));
    }
    Ok(())
}

/// Prints every step's golden with where it came from: `recorded` and the host, `emulated`, or `missing`.
pub fn list(paths: &[PathBuf], workspace: &Path, out: &mut impl Write) -> Result<(), CommandError> {
    let (mut recorded, mut emulated, mut missing, mut unreadable) = (0, 0, 0, 0);
    let mut hosts = std::collections::BTreeSet::new();
    for file in files(paths, workspace)? {
        let s = load(&file, workspace)?;
        for step in &s.steps {
            let path = golden::path(&s, &step.get_ref().name);
            let shown = path.strip_prefix(workspace).unwrap_or(&path).display();
            let (kind, host) = if !path.exists() {
                missing += 1;
                ("missing".to_string(), "-".to_string())
            } else {
                match golden::read_origin(&path) {
                    Ok(None | Some(Origin::Emulated)) => {
                        emulated += 1;
                        ("emulated".into(), "-".into())
                    }
                    Ok(Some(Origin::Recorded { host })) => {
                        recorded += 1;
                        hosts.insert(host.clone());
                        ("recorded".into(), host)
                    }
                    Err(e) => {
                        unreadable += 1;
                        writeln!(out, "unreadable {e}")?;
                        continue;
                    }
                }
            };
            writeln!(out, "{kind:<9} {host:<44} {shown}")?;
        }
    }
    let hosts: Vec<String> = hosts.into_iter().collect();
    let from = if hosts.is_empty() {
        String::new()
    } else {
        format!(" (from {})", hosts.join(", "))
    };
    writeln!(
        out,
        "{recorded} recorded{from}, {emulated} emulated, {missing} missing, {unreadable} unreadable"
    )?;
    Ok(())
}
