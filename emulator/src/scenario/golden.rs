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

/// Where a golden came from, kept in its header's `info` (a key insta reads, keeps and shows in `cargo insta
/// review`, but does not compare): `origin: recorded` with the host the step was sent to, or `origin: emulated`.
/// A golden without `info`, like every golden written before origins were kept, was produced by the emulator.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "origin", rename_all = "snake_case")]
pub enum Origin {
    Emulated,
    Recorded { host: String },
}

/// A golden whose header cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum GoldenError {
    #[error("{0}: cannot read the golden: {1}")]
    Read(String, std::io::Error),
    #[error("{0}: not an insta snapshot: no `---` header")]
    NoHeader(String),
    #[error("{0}: the header's `info` is not an origin: {1}")]
    Info(String, String),
}

/// Splits a golden into its YAML header and its content.
fn split(text: &str) -> Option<(&str, &str)> {
    let rest = text.strip_prefix("---\n")?;
    // An empty header closes at once.
    if let Some(body) = rest.strip_prefix("---\n") {
        return Some(("", body));
    }
    rest.split_once("\n---\n")
}

/// Reads a golden's content, without its metadata header.
pub fn read(path: &Path) -> Option<Value> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(split(&text)?.1).ok()
}

/// Reads a golden's origin; `None` when its header has no `info`, which means the emulator produced it.
pub fn read_origin(path: &Path) -> Result<Option<Origin>, GoldenError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| GoldenError::Read(name.clone(), e))?;
    let (header, _) = split(&text).ok_or_else(|| GoldenError::NoHeader(name.clone()))?;
    origin_of_header(header).map_err(|e| GoldenError::Info(name, e))
}

fn origin_of_header(header: &str) -> Result<Option<Origin>, String> {
    let yaml: serde_yaml_ng::Value = serde_yaml_ng::from_str(header).map_err(|e| e.to_string())?;
    match yaml.get("info") {
        None | Some(serde_yaml_ng::Value::Null) => Ok(None),
        Some(info) => serde_yaml_ng::from_value(info.clone())
            .map(Some)
            .map_err(|e| e.to_string()),
    }
}

/// Writes a golden in insta's format, so that `cargo test` and `cargo insta review` read it. The input file is
/// named relative to the workspace, as insta names it.
pub fn write(
    path: &Path,
    scenario: &Scenario,
    value: &Value,
    origin: &Origin,
    workspace: &Path,
) -> std::io::Result<()> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d)?;
    }
    let pretty = serde_json::to_string_pretty(value).map_err(std::io::Error::other)?;
    let input = scenario
        .file
        .strip_prefix(workspace)
        .unwrap_or(&scenario.file);
    std::fs::write(path, format!("{}{pretty}\n", header(origin, input)))
}

/// The header, with insta's keys in insta's order.
fn header(origin: &Origin, input_file: &Path) -> String {
    let info = match origin {
        Origin::Emulated => "  origin: emulated\n".to_string(),
        Origin::Recorded { host } => {
            format!("  origin: recorded\n  host: {}\n", yaml_str(host))
        }
    };
    format!(
        "---\nsource: emulator/tests/scenarios.rs\nexpression: value\ninfo:\n{info}input_file: {}\n---\n",
        yaml_str(&input_file.display().to_string())
    )
}

/// A YAML scalar: plain when that cannot be misread, else double-quoted (a JSON string is a valid one).
fn yaml_str(s: &str) -> String {
    let plain = s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-'))
        && s.starts_with(|c: char| c.is_ascii_alphabetic())
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null"
        );
    if plain {
        s.to_string()
    } else {
        serde_json::Value::from(s).to_string()
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scenario(file: &str) -> Scenario {
        let mut s: Scenario = toml::from_str("name = \"x\"\npurpose = \"y\"\n").unwrap();
        s.file = PathBuf::from(file);
        s
    }

    fn temp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("offcloud-golden-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn origins_round_trip_through_the_header() {
        let dir = temp("roundtrip");
        let value = json!({"status": 200, "body": {"a": [1, "two"]}});
        let ws = Path::new("/ws");
        let s = scenario("/ws/scenarios/e/get time.toml");
        for origin in [
            Origin::Emulated,
            Origin::Recorded {
                host: "abc.execute-api.us-east-1.amazonaws.com".into(),
            },
            Origin::Recorded {
                host: "127.0.0.1:4000".into(),
            },
        ] {
            let p = dir.join("snapshots/x.snap");
            write(&p, &s, &value, &origin, ws).unwrap();
            assert_eq!(read_origin(&p).unwrap(), Some(origin.clone()));
            assert_eq!(read(&p), Some(value.clone()));
            let text = std::fs::read_to_string(&p).unwrap();
            assert!(
                text.contains("input_file: \"scenarios/e/get time.toml\"\n"),
                "{text}"
            );
        }
        let text = std::fs::read_to_string(dir.join("snapshots/x.snap")).unwrap();
        assert!(text.contains("  host: \"127.0.0.1:4000\"\n"), "{text}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn goldens_without_info_and_insta_s_own_style_read_back() {
        let old = "source: emulator/tests/scenarios.rs\nexpression: value\ninput_file: a.toml";
        assert_eq!(origin_of_header(old), Ok(None));
        // As insta writes `info` itself, from `Settings::set_info(&Origin::...)`.
        let insta = "source: x\ninfo:\n  origin: recorded\n  host: \"h:1\"\ninput_file: a.toml";
        assert_eq!(
            origin_of_header(insta),
            Ok(Some(Origin::Recorded { host: "h:1".into() }))
        );
        assert_eq!(
            origin_of_header("info:\n  origin: emulated"),
            Ok(Some(Origin::Emulated))
        );
        assert!(origin_of_header("info:\n  origin: guessed").is_err());
        assert!(origin_of_header("info:\n  origin: recorded").is_err());
        assert!(origin_of_header("info: [").is_err());
    }

    #[test]
    fn the_header_is_what_insta_wrote_before_plus_info() {
        let h = header(
            &Origin::Emulated,
            Path::new("scenarios/epoch-time/get-time.toml"),
        );
        assert_eq!(
            h,
            "---\nsource: emulator/tests/scenarios.rs\nexpression: value\ninfo:\n  origin: emulated\n\
             input_file: scenarios/epoch-time/get-time.toml\n---\n"
        );
        for s in ["true", "1.5", "-x", "a:b", "a b", "", "null", "#x"] {
            let quoted = yaml_str(s);
            assert_eq!(serde_json::from_str::<String>(&quoted).unwrap(), s);
        }
    }

    #[test]
    fn a_missing_or_headless_golden_is_an_error() {
        let dir = temp("headless");
        std::fs::create_dir_all(&dir).unwrap();
        assert!(matches!(
            read_origin(&dir.join("none.snap")),
            Err(GoldenError::Read(..))
        ));
        std::fs::write(dir.join("bare.snap"), "{}\n").unwrap();
        assert!(matches!(
            read_origin(&dir.join("bare.snap")),
            Err(GoldenError::NoHeader(_))
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
