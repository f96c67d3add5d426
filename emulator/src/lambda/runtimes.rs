//! AWS's managed runtimes, locally: which program runs a `python3.x`, `nodejs*.x` or `provided.*` function, and
//! the environment that puts its layers and the runtime-included AWS SDK where the runtime looks.
//!
//! Python and Node.js handlers run under Offcloud's own runtime interface clients (`emulator/runtimes/`), small
//! programs over each language's standard library that are embedded in the binary and written to a cache
//! directory on first use, so that nothing has to be installed but the interpreter.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::config::RuntimeClient;

const PYTHON_CLIENT: &str = include_str!("../../runtimes/python/offcloud_runtime.py");
const NODE_CLIENT: &str = include_str!("../../runtimes/node/offcloud_runtime.mjs");

/// The language family of an AWS runtime identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Language {
    /// `python3.9` and later.
    Python { version: String },
    /// `nodejs18.x` and later.
    Node { major: u32 },
    /// `provided`, `provided.al2`, `provided.al2023` and `go1.x`: an executable `bootstrap` (or, for `go1.x`,
    /// the binary the handler names).
    Provided,
    /// A runtime Offcloud knows but cannot start here: the message says what to install.
    Unavailable(String),
}

impl Language {
    /// Reads a runtime identifier as Lambda spells it.
    /// Source: https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html
    pub fn of(runtime: &str) -> Result<Self, String> {
        if let Some(v) = runtime.strip_prefix("python3.")
            && let Ok(minor) = v.parse::<u32>()
        {
            return if minor >= 9 {
                Ok(Self::Python {
                    version: format!("3.{minor}"),
                })
            } else {
                Err(format!(
                    "runtime {runtime} is deprecated by AWS; Offcloud runs python3.9 and later"
                ))
            };
        }
        if let Some(major) = runtime
            .strip_prefix("nodejs")
            .and_then(|v| v.strip_suffix(".x"))
            .and_then(|v| v.parse::<u32>().ok())
        {
            return if major >= 18 {
                Ok(Self::Node { major })
            } else {
                Err(format!(
                    "runtime {runtime} is deprecated by AWS; Offcloud runs nodejs18.x and later"
                ))
            };
        }
        match runtime {
            "provided" | "provided.al2" | "provided.al2023" | "go1.x" => Ok(Self::Provided),
            r if r.starts_with("java") => Ok(Self::Unavailable(format!(
                "runtime {r} needs AWS's Java runtime interface client; Offcloud does not ship one yet. \
                 Package the function with a `bootstrap` and use provided.al2023, or give it a `command`"
            ))),
            r if r.starts_with("dotnet") => Ok(Self::Unavailable(format!(
                "runtime {r} needs Amazon.Lambda.RuntimeSupport; Offcloud does not ship it yet. Build the \
                 function as an executable with a `bootstrap` and use provided.al2023, or give it a `command`"
            ))),
            r if r.starts_with("ruby") => Ok(Self::Unavailable(format!(
                "runtime {r} needs AWS's Ruby runtime interface client: `gem install aws_lambda_ric`, then give \
                 the function `command = [\"aws_lambda_ric\", \"<handler>\"]`"
            ))),
            r => Err(format!(
                "unknown runtime {r:?}; expected python3.x, nodejsNN.x, provided.al2023, provided.al2, \
                 provided, go1.x, java, dotnet or ruby"
            )),
        }
    }
}

/// Offcloud's cache: `$OFFCLOUD_CACHE_DIR`, else `$XDG_CACHE_HOME/offcloud`, else `~/.cache/offcloud`.
pub fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("OFFCLOUD_CACHE_DIR") {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(d).join("offcloud");
    }
    let home = std::env::var_os("HOME").map_or_else(std::env::temp_dir, PathBuf::from);
    home.join(".cache").join("offcloud")
}

/// Where `offcloud runtimes install` puts the AWS SDKs that AWS's runtimes include.
pub fn sdk_dir(language: &str) -> PathBuf {
    cache_dir().join("sdk").join(language)
}

/// Writes the embedded runtime clients to the cache, once per process and content, and returns their folder.
/// Each version of the clients gets its own folder, so a running emulator never sees another's half-written
/// file.
fn clients_dir() -> Result<&'static Path, String> {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    DIR.get_or_init(|| {
        let mut h: u64 = 0xcbf29ce484222325;
        for b in PYTHON_CLIENT.bytes().chain(NODE_CLIENT.bytes()) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100000001b3);
        }
        let dir = cache_dir().join("runtimes").join(format!("{h:016x}"));
        for (name, text) in [
            ("offcloud_runtime.py", PYTHON_CLIENT),
            ("offcloud_runtime.mjs", NODE_CLIENT),
        ] {
            let path = dir.join(name);
            if std::fs::read_to_string(&path).is_ok_and(|t| t == text) {
                continue;
            }
            std::fs::create_dir_all(&dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            let tmp = dir.join(format!("{name}.{}.tmp", std::process::id()));
            std::fs::write(&tmp, text)
                .and_then(|()| std::fs::rename(&tmp, &path))
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        }
        Ok(dir)
    })
    .as_deref()
    .map_err(Clone::clone)
}

/// The first of `names` found on `PATH`.
fn on_path(names: &[String]) -> Option<String> {
    let path = std::env::var_os("PATH")?;
    names
        .iter()
        .find(|n| std::env::split_paths(&path).any(|d| d.join(n).is_file()))
        .cloned()
}

/// The command line that runs `handler` under `language`, and the variables that runtime sets.
pub struct Launch {
    pub argv: Vec<String>,
    pub env: BTreeMap<String, String>,
}

/// How to start a Python or Node.js handler with the chosen runtime client. `provided` functions are started
/// from their `bootstrap` by the caller.
pub fn launch(
    runtime: &str,
    language: &Language,
    handler: &str,
    client: RuntimeClient,
    layers: &[PathBuf],
) -> Result<Launch, String> {
    let mut env = BTreeMap::new();
    env.insert("AWS_EXECUTION_ENV".into(), format!("AWS_Lambda_{runtime}"));
    // Layers' `bin` folders come first on PATH, as `/opt/bin` does on AWS.
    // Source: https://docs.aws.amazon.com/lambda/latest/dg/packaging-layers.html (layer paths per runtime)
    if !layers.is_empty() {
        let mut dirs: Vec<PathBuf> = layers.iter().map(|l| l.join("bin")).collect();
        dirs.extend(
            std::env::var_os("PATH")
                .map_or_else(Vec::new, |p| std::env::split_paths(&p).collect::<Vec<_>>()),
        );
        if let Ok(p) = std::env::join_paths(dirs) {
            env.insert("PATH".into(), p.to_string_lossy().into_owned());
        }
    }
    let join = |paths: Vec<PathBuf>| {
        paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(":")
    };
    let argv = match language {
        Language::Python { .. } => {
            let python =
                python().ok_or_else(|| format!("runtime {runtime} needs python3 on PATH"))?;
            env.insert("OFFCLOUD_LAYER_DIRS".into(), join(layers.to_vec()));
            env.insert("OFFCLOUD_SDK_PATH".into(), join(vec![sdk_dir("python")]));
            // Lambda's task root is read-only, so a function never writes byte code beside its handler there.
            // Here a `__pycache__` would also be a hazard for reloads: Python trusts a cached module whose source
            // has the same size and the same whole second of modification, so a quick edit could go unseen.
            env.insert("PYTHONDONTWRITEBYTECODE".into(), "1".into());
            match client {
                RuntimeClient::Offcloud => vec![
                    python,
                    clients_dir()?
                        .join("offcloud_runtime.py")
                        .display()
                        .to_string(),
                    handler.to_string(),
                ],
                RuntimeClient::Aws => {
                    vec![python, "-m".into(), "awslambdaric".into(), handler.into()]
                }
            }
        }
        Language::Node { major } => {
            // NODE_PATH as AWS's Node.js runtimes set it, with layers at `/opt/nodejs`, then the SDK.
            // Source: https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html
            let mut paths = Vec::new();
            for l in layers {
                paths.push(l.join(format!("nodejs/node{major}/node_modules")));
                paths.push(l.join("nodejs/node_modules"));
            }
            paths.push(sdk_dir("node").join("node_modules"));
            env.insert("NODE_PATH".into(), join(paths));
            match client {
                RuntimeClient::Offcloud => vec![
                    on_path(&["node".into()])
                        .ok_or_else(|| format!("runtime {runtime} needs node on PATH"))?,
                    clients_dir()?
                        .join("offcloud_runtime.mjs")
                        .display()
                        .to_string(),
                    handler.to_string(),
                ],
                RuntimeClient::Aws => vec!["npx".into(), "aws-lambda-ric".into(), handler.into()],
            }
        }
        Language::Provided => {
            return Err(format!(
                "runtime {runtime} runs a `bootstrap` file; the function gives none"
            ));
        }
        Language::Unavailable(message) => return Err(message.clone()),
    };
    Ok(Launch { argv, env })
}

/// Installs the AWS SDKs that AWS's runtimes include (boto3 for Python, the AWS SDK for JavaScript v3 for
/// Node.js 18+) into Offcloud's cache, where functions find them. Returns what it ran.
pub fn install_sdks() -> Result<Vec<String>, String> {
    let mut ran = Vec::new();
    let python = sdk_dir("python");
    let pip = [
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--upgrade",
        "--target",
    ];
    let mut cmd = std::process::Command::new("python3");
    cmd.args(pip).arg(&python).arg("boto3");
    ran.push(run(cmd)?);
    let node = sdk_dir("node");
    std::fs::create_dir_all(&node).map_err(|e| format!("cannot create {}: {e}", node.display()))?;
    let mut cmd = std::process::Command::new("npm");
    cmd.args(["install", "--silent", "--no-audit", "--no-fund", "--prefix"])
        .arg(&node)
        .args(NODE_SDK_PACKAGES);
    ran.push(run(cmd)?);
    Ok(ran)
}

/// The clients of the services Offcloud emulates, plus the DynamoDB document client.
const NODE_SDK_PACKAGES: &[&str] = &[
    "@aws-sdk/client-dynamodb",
    "@aws-sdk/lib-dynamodb",
    "@aws-sdk/client-rds-data",
    "@aws-sdk/client-lambda",
];

fn run(mut cmd: std::process::Command) -> Result<String, String> {
    let shown = format!("{cmd:?}");
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    if status.success() {
        Ok(shown)
    } else {
        Err(format!("{shown} failed: {status}"))
    }
}

/// The AWS SDK a function's code imports, when the runtime would include it but Offcloud's cache does not.
pub fn missing_sdk(language: &Language, code_dir: &Path) -> Option<&'static str> {
    let (needle, dir, name): (&[&str], PathBuf, &str) = match language {
        Language::Python { .. } => (
            &["import boto3", "from boto3", "import botocore"],
            sdk_dir("python").join("boto3"),
            "boto3",
        ),
        Language::Node { .. } => (
            &["@aws-sdk/"],
            sdk_dir("node").join("node_modules/@aws-sdk"),
            "the AWS SDK for JavaScript v3",
        ),
        _ => return None,
    };
    if dir.exists() || !imports(code_dir, needle, 3) {
        return None;
    }
    // Installed in the code's own folder, or importable by the interpreter, counts as present.
    let vendored = match language {
        Language::Python { .. } => code_dir.join("boto3").exists() || python_has_boto3(),
        _ => code_dir.join("node_modules/@aws-sdk").exists(),
    };
    (!vendored).then_some(name)
}

/// The interpreter Python functions run with: `python3` from PATH, so that an activated virtualenv's packages
/// are there, as users expect of a local run; `OFFCLOUD_PYTHON` names another. A version-named `python3.12` is
/// not preferred: version managers such as pyenv put shims on PATH that fail when that version is not active.
fn python() -> Option<String> {
    match std::env::var("OFFCLOUD_PYTHON") {
        Ok(p) if !p.is_empty() => Some(p),
        _ => on_path(&["python3".into()]),
    }
}

/// Whether the functions' interpreter can import boto3, asked once per process rather than once per function.
fn python_has_boto3() -> bool {
    static HAS: OnceLock<bool> = OnceLock::new();
    *HAS.get_or_init(|| {
        python().is_some_and(|python| {
            std::process::Command::new(python)
                .args(["-c", "import boto3"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
    })
}

/// Whether a source file under `dir` (to `depth` folders, skipping dependencies) contains one of `needles`.
fn imports(dir: &Path, needles: &[&str], depth: usize) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|e| {
        let path = e.path();
        let name = e.file_name();
        let name = name.to_string_lossy();
        if path.is_dir() {
            depth > 0
                && !matches!(
                    name.as_ref(),
                    "node_modules" | "__pycache__" | ".git" | "target"
                )
                && imports(&path, needles, depth - 1)
        } else if [".py", ".js", ".mjs", ".cjs", ".ts"]
            .iter()
            .any(|x| name.ends_with(x))
        {
            std::fs::read_to_string(&path).is_ok_and(|t| needles.iter().any(|n| t.contains(n)))
        } else {
            false
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_identifiers() {
        assert_eq!(
            Language::of("python3.12").unwrap(),
            Language::Python {
                version: "3.12".into()
            }
        );
        assert_eq!(
            Language::of("nodejs20.x").unwrap(),
            Language::Node { major: 20 }
        );
        assert_eq!(Language::of("provided.al2023").unwrap(), Language::Provided);
        assert_eq!(Language::of("go1.x").unwrap(), Language::Provided);
        assert!(
            Language::of("python3.8")
                .unwrap_err()
                .contains("deprecated")
        );
        assert!(
            Language::of("nodejs16.x")
                .unwrap_err()
                .contains("deprecated")
        );
        assert!(matches!(
            Language::of("java21").unwrap(),
            Language::Unavailable(m) if m.contains("java21")
        ));
        assert!(
            Language::of("cobol")
                .unwrap_err()
                .contains("unknown runtime")
        );
    }

    #[test]
    fn finds_sdk_imports_in_source_files() {
        let dir = std::env::temp_dir().join(format!("offcloud-imports-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::write(dir.join("src/app.py"), "import json\nimport boto3\n").unwrap();
        assert!(imports(&dir, &["import boto3"], 3));
        assert!(!imports(&dir, &["@aws-sdk/"], 3));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
