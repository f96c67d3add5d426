//! The last scenario results. `offcloud scenario run` runs in a process of its own, so it writes what it found to
//! `target/offcloud/scenarios.json` under the workspace (replacing the file whole, through a rename), and the
//! dashboard reads that file when the page is asked for.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::Dashboard;
use crate::net::WireResponse;

/// The results file, relative to the workspace.
pub const RESULTS_FILE: &str = "target/offcloud/scenarios.json";

/// One run of `offcloud scenario run`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScenarioResults {
    /// When the run ended, in milliseconds since the epoch.
    pub finished_ms: u64,
    pub passed: usize,
    pub failed: usize,
    pub steps: Vec<StepResult>,
}

/// One step's result; a scenario that could not run is one failed step with no name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepResult {
    pub file: String,
    pub step: String,
    pub ok: bool,
    /// Why it failed, when it did.
    pub message: Option<String>,
    /// How it differs from its golden (`-` golden, `+` actual), when it does.
    pub diff: Option<String>,
}

/// Where the results of scenarios in `workspace` are kept.
pub fn results_path(workspace: &Path) -> PathBuf {
    workspace.join(RESULTS_FILE)
}

/// Writes `results` as the latest, whole: a reader sees the old file or the new one, never a part.
pub fn write(path: &Path, results: &ScenarioResults) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // One partial file per writer, so that two runs at once never write into the same one.
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let partial = path.with_extension(format!("json.{}-{n}", std::process::id()));
    std::fs::write(&partial, serde_json::to_vec_pretty(results)?)?;
    std::fs::rename(&partial, path)
}

/// The latest results, `None` before any run.
pub fn read(path: &Path) -> Result<Option<ScenarioResults>, String> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// A diff's lines, each with its kind (`del`, `add` or `same`) for the page's colours.
fn diff_lines(diff: &str) -> Vec<(&'static str, &str)> {
    diff.lines()
        .map(|l| {
            let kind = if l.starts_with('-') {
                "del"
            } else if l.starts_with('+') {
                "add"
            } else {
                "same"
            };
            (kind, l)
        })
        .collect()
}

pub(super) async fn page(d: &Dashboard) -> WireResponse {
    let path = d.scenario_results.clone();
    let shown = path.display().to_string();
    let results = tokio::task::spawn_blocking(move || read(&path))
        .await
        .unwrap_or_else(|e| Err(e.to_string()));
    let (results, error) = match results {
        Ok(r) => (r, None),
        Err(e) => (None, Some(e)),
    };
    let steps: Vec<_> = results
        .iter()
        .flat_map(|r| &r.steps)
        .map(|s| {
            json!({
                "file": s.file,
                "step": s.step,
                "ok": s.ok,
                "message": s.message,
                "diff": s.diff.as_deref().map(diff_lines),
            })
        })
        .collect();
    d.page(
        200,
        "scenarios.html",
        &json!({
            "section": "scenarios",
            "path": shown,
            "results": results,
            "steps": steps,
            "error": error,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_are_written_whole_and_read_back() {
        let dir = std::env::temp_dir().join(format!("offcloud-scenarios-{}", std::process::id()));
        let path = results_path(&dir);
        assert_eq!(read(&path), Ok(None));
        let results = ScenarioResults {
            finished_ms: 1,
            passed: 1,
            failed: 1,
            steps: vec![StepResult {
                file: "scenarios/a.yaml".into(),
                step: "create".into(),
                ok: false,
                message: Some("differs".into()),
                diff: Some(" {\n-  \"a\": 1\n+  \"a\": 2\n }".into()),
            }],
        };
        write(&path, &results).unwrap();
        assert_eq!(read(&path), Ok(Some(results)));
        std::fs::remove_dir_all(&dir).unwrap();
        let html = super::super::render::Pages::new()
            .unwrap()
            .render(
                "scenarios.html",
                &json!({
                    "results": {"finished_ms": 0, "passed": 0, "failed": 1},
                    "steps": [{"file": "a.toml", "step": "s", "ok": false, "message": "differs",
                               "diff": diff_lines("-  \"<b>\": 1\n+  \"b\": 2")}],
                }),
            )
            .unwrap();
        assert!(
            html.contains(r#"<span class="del">-  &quot;&lt;b&gt;&quot;: 1</span>"#),
            "{html}"
        );
        assert!(
            html.contains(r#"<span class="add">+  &quot;b&quot;: 2</span>"#),
            "{html}"
        );
        assert_eq!(
            diff_lines("-a\n+b\n c"),
            [("del", "-a"), ("add", "+b"), ("same", " c")]
        );
    }
}
