//! Scenarios: files that replay the seeds' documented requests through the emulator, each response compared
//! with a golden snapshot. Shared by the cargo test (`tests/scenarios.rs`) and `offcloud scenario`.

pub mod cli;
pub mod format;
pub mod golden;
pub mod record;
pub mod redact;
pub mod run;

use std::path::{Path, PathBuf};

pub use format::Scenario;

/// Loads a scenario, checking invoked functions against its config.
pub fn load(path: &Path, workspace: &Path) -> Result<Scenario, crate::config::ConfigError> {
    Scenario::load(path, workspace, |config| {
        crate::config::Config::load(config).ok().map(|c| {
            let mut names: Vec<String> = c.functions.iter().map(|f| f.name().to_string()).collect();
            // `function` reaches the default function, as in AWS's runtime interface emulator.
            if c.default_function.is_some() {
                names.push("function".into());
            }
            names
        })
    })
}

/// Every `.toml` file under the given paths (files or folders), sorted.
pub fn discover(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    fn walk(p: &Path, out: &mut Vec<PathBuf>) {
        if p.is_dir() {
            if let Ok(entries) = std::fs::read_dir(p) {
                for e in entries.flatten() {
                    walk(&e.path(), out);
                }
            }
        } else if p.extension().is_some_and(|e| e == "toml") {
            out.push(p.to_path_buf());
        }
    }
    for p in paths {
        walk(p, &mut out);
    }
    out.sort();
    out
}
