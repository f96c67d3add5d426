//! Debugger attach: a function that Offcloud does not start. Its Runtime API waits on a fixed port for a handler
//! that the user starts by hand, under a debugger, with the command lines made here; an invocation that arrives
//! before the handler connects waits for it, and the function's timeout is suspended (or `debug_timeout`).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// How a function is being debugged.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DebugMode {
    pub port: u16,
    /// How long an invocation may take; `None` waits as long as the debugger holds it.
    pub timeout: Option<Duration>,
}

impl DebugMode {
    pub fn runtime_api(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

/// The ways to start a debugged function by hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commands {
    /// The function as Offcloud would have started it.
    pub plain: String,
    /// The same under the language's debugger, when Offcloud knows one.
    pub debugger: Option<String>,
}

/// The command lines that start `argv` in `cwd` with `env`, and `debugger_argv` likewise.
pub fn commands(
    cwd: &Path,
    env: &BTreeMap<String, String>,
    argv: &[String],
    debugger_argv: Option<Vec<String>>,
) -> Commands {
    let line = |argv: &[String]| {
        let mut words = vec![
            "cd".to_string(),
            quote(&cwd.display().to_string()),
            "&&".into(),
            "env".into(),
        ];
        words.extend(env.iter().map(|(k, v)| format!("{k}={}", quote(v))));
        words.extend(argv.iter().map(|a| quote(a)));
        words.join(" ")
    };
    Commands {
        plain: line(argv),
        debugger: debugger_argv.map(|a| line(&a)),
    }
}

/// `argv` under the debugger of its interpreter: debugpy for Python (`pip install debugpy`, then attach on port
/// 5678) and the inspector for Node.js (attach on port 9229). `None` for anything else.
pub fn under_debugger(argv: &[String]) -> Option<Vec<String>> {
    let program = Path::new(argv.first()?).file_name()?.to_str()?;
    let mut out = vec![argv[0].clone()];
    if program.starts_with("python") {
        out.extend(
            [
                "-m",
                "debugpy",
                "--listen",
                "127.0.0.1:5678",
                "--wait-for-client",
            ]
            .map(String::from),
        );
    } else if program == "node" {
        out.push("--inspect-brk=127.0.0.1:9229".into());
    } else {
        return None;
    }
    out.extend(argv[1..].iter().cloned());
    Some(out)
}

/// A word as a POSIX shell reads it back unchanged.
pub fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./:=,@%+".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &[&str]) -> Vec<String> {
        s.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn words_are_quoted_only_when_the_shell_would_change_them() {
        assert_eq!(quote("AKIA/x-1.2:3"), "AKIA/x-1.2:3");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("$HOME"), "'$HOME'");
    }

    #[test]
    fn a_command_sets_every_variable_in_the_function_s_folder() {
        let env: BTreeMap<String, String> = [
            (
                "AWS_LAMBDA_RUNTIME_API".to_string(),
                "127.0.0.1:9001".to_string(),
            ),
            ("GREETING".to_string(), "hello world".to_string()),
        ]
        .into();
        let c = commands(
            Path::new("/p/app"),
            &env,
            &words(&["python3", "/c/rt.py", "app.handler"]),
            under_debugger(&words(&["python3", "/c/rt.py", "app.handler"])),
        );
        assert_eq!(
            c.plain,
            "cd /p/app && env AWS_LAMBDA_RUNTIME_API=127.0.0.1:9001 GREETING='hello world' python3 /c/rt.py app.handler"
        );
        assert_eq!(
            c.debugger.unwrap(),
            "cd /p/app && env AWS_LAMBDA_RUNTIME_API=127.0.0.1:9001 GREETING='hello world' python3 -m debugpy --listen 127.0.0.1:5678 --wait-for-client /c/rt.py app.handler"
        );
    }

    #[test]
    fn node_runs_under_its_inspector_and_others_have_no_debugger() {
        assert_eq!(
            under_debugger(&words(&["/usr/bin/node", "rt.mjs", "index.handler"])).unwrap(),
            words(&[
                "/usr/bin/node",
                "--inspect-brk=127.0.0.1:9229",
                "rt.mjs",
                "index.handler"
            ])
        );
        assert_eq!(under_debugger(&words(&["./bootstrap"])), None);
    }
}
