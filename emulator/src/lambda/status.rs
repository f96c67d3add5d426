//! A function's state as the dashboard shows it: what it runs, its instances and counters, and its last build.

use serde::Serialize;

/// The outcome of the last build of a function's code, as the hot-reload watcher reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BuildStatus {
    pub ok: bool,
    /// When the build ended, by the emulator's clock, in milliseconds since the epoch.
    pub finished_ms: u64,
    /// The compiler's output, or its tail.
    pub output: String,
}

/// One function, now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunctionStatus {
    pub name: String,
    /// The AWS runtime identifier (`python3.12`, `provided.al2023`, ...).
    pub runtime: String,
    /// Where its code is: a workspace package, a command line or a handler in a folder.
    pub code: String,
    /// Instances waiting for an invocation.
    pub idle: usize,
    /// Instances running one.
    pub busy: usize,
    pub invocations: u64,
    /// Invocations that ended in a function error.
    pub errors: u64,
    pub build: Option<BuildStatus>,
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::Env;
    use crate::config::Config;
    use crate::lambda::Lambda;

    #[test]
    fn a_function_s_status_says_what_it_runs_and_its_last_build() {
        // A workspace of its own, so that the package has somewhere to be built.
        let folder = crate::lambda::test_folder::Folder::new("status");
        let dir = folder.0.clone();
        std::fs::write(dir.join("Cargo.toml"), "[workspace]\n").unwrap();
        let text = "[[function]]\nname = \"cmd\"\ncommand = [\"true\", \"x\"]\n\n\
                    [[function]]\nname = \"py\"\nruntime = \"python3.12\"\nhandler = \"app.handler\"\n\n\
                    [[function]]\nname = \"pkg\"\npackage = \"epoch-time\"\n";
        let config = Config::parse("t.toml", text, &dir).unwrap();
        let faults = Arc::new(crate::faults::Faults::new(0));
        let lambda = Lambda::new(&config, Env::default(), Default::default(), faults).unwrap();
        let all = lambda.statuses();
        let names: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["cmd", "pkg", "py"]);
        assert_eq!(all[0].code, format!("true x in {}", dir.display()));
        assert_eq!(all[1].runtime, "provided.al2023 (Rust)");
        assert!(
            all[1].code.starts_with("package epoch-time in "),
            "{}",
            all[1].code
        );
        assert_eq!(all[2].runtime, "python3.12");
        assert_eq!(
            (all[0].idle, all[0].busy, all[0].invocations, all[0].errors),
            (0, 0, 0, 0)
        );
        assert_eq!(all[0].build, None);

        let build = BuildStatus {
            ok: false,
            finished_ms: 5,
            output: "error[E0308]: mismatched types".into(),
        };
        let f = lambda.resolve("pkg", None).unwrap();
        f.set_last_build(build.clone());
        assert_eq!(f.status().build, Some(build));
    }
}
