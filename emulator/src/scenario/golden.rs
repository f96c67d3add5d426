//! Golden files: insta's `.snap` format, one per step, in a `snapshots/` folder beside the scenario.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::format::Scenario;

/// The folder holding a scenario's goldens.
pub fn dir(scenario: &Scenario) -> PathBuf {
    scenario
        .file
        .parent()
        .unwrap_or(Path::new("."))
        .join("snapshots")
}

/// A step's snapshot name, as the cargo test names it too.
pub fn name(scenario: &Scenario, step: &str) -> String {
    format!("{}__{}", scenario.stem(), step)
}

pub fn path(scenario: &Scenario, step: &str) -> PathBuf {
    dir(scenario).join(format!("{}.snap", name(scenario, step)))
}

/// Reads a golden's content, without its metadata header.
pub fn read(path: &Path) -> Option<Value> {
    let text = std::fs::read_to_string(path).ok()?;
    let body = text.strip_prefix("---\n")?.split_once("\n---\n")?.1;
    serde_json::from_str(body).ok()
}

/// Writes a golden in insta's format, so that `cargo test` and `cargo insta review` read it.
pub fn write(path: &Path, scenario: &Scenario, value: &Value) -> std::io::Result<()> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d)?;
    }
    let pretty = serde_json::to_string_pretty(value).map_err(std::io::Error::other)?;
    let text = format!(
        "---\nsource: emulator/tests/scenarios.rs\nexpression: value\ninput_file: {}\n---\n{pretty}\n",
        scenario.file.display()
    );
    std::fs::write(path, text)
}

/// A unified diff of golden against actual, or `None` when they agree.
pub fn diff(golden: &Value, actual: &Value, color: bool) -> Option<String> {
    if golden == actual {
        return None;
    }
    let g = serde_json::to_string_pretty(golden).unwrap_or_default();
    let a = serde_json::to_string_pretty(actual).unwrap_or_default();
    let d = similar::TextDiff::from_lines(&g, &a);
    let mut out = String::new();
    for change in d.iter_all_changes() {
        let (sign, start, end) = match change.tag() {
            similar::ChangeTag::Delete => ("-", "\x1b[31m", "\x1b[0m"),
            similar::ChangeTag::Insert => ("+", "\x1b[32m", "\x1b[0m"),
            similar::ChangeTag::Equal => (" ", "", ""),
        };
        let (start, end) = if color { (start, end) } else { ("", "") };
        out.push_str(&format!("{start}{sign}{}{end}", change));
        if change.missing_newline() {
            out.push('\n');
        }
    }
    Some(out)
}
