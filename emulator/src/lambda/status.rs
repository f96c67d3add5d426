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
