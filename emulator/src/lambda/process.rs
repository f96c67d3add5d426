//! Starting and stopping function processes.

use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};

/// Variables passed through from the emulator's own environment; everything else a function sees is what a
/// real Lambda sets, plus the function's configured environment.
const PASS_THROUGH: &[&str] = &[
    "PATH",
    "HOME",
    "LANG",
    "LD_LIBRARY_PATH",
    "RUST_LOG",
    "RUST_BACKTRACE",
    "PYTHONPATH",
    "VIRTUAL_ENV",
    "NODE_PATH",
];

pub struct Spawn<'a> {
    pub argv: &'a [String],
    pub cwd: &'a Path,
    pub env: &'a BTreeMap<String, String>,
    pub shim: Option<&'a PathBuf>,
}

/// Starts a function process in its own process group, with piped stdout and stderr.
pub fn spawn(s: Spawn<'_>) -> std::io::Result<Child> {
    let mut cmd = match s.shim {
        Some(shim) => {
            let mut c = Command::new(shim);
            c.arg("__exec")
                .arg("--parent")
                .arg(std::process::id().to_string())
                .arg("--")
                .args(s.argv);
            c
        }
        None => {
            let mut c = Command::new(&s.argv[0]);
            c.args(&s.argv[1..]);
            c
        }
    };
    cmd.current_dir(s.cwd)
        .env_clear()
        .envs(
            PASS_THROUGH
                .iter()
                .filter_map(|k| std::env::var(k).ok().map(|v| (*k, v))),
        )
        .envs(s.env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd.as_std_mut().process_group(0);
    cmd.spawn()
}

/// Kills a process group. A group that is already gone is not an error.
pub fn kill_group(pid: u32) {
    let _ = killpg(Pid::from_raw(pid as i32), Signal::SIGKILL);
}

/// Calls `line` for each line the reader produces, until it closes.
pub async fn pump_lines<R: AsyncRead + Unpin>(reader: R, mut line: impl FnMut(&str)) {
    let mut lines = BufReader::new(reader).lines();
    while let Ok(Some(l)) = lines.next_line().await {
        line(&l);
    }
}

/// The peak resident set size of a process in MB, from `/proc/PID/status`.
pub fn max_memory_mb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb.div_ceil(1024))
}

/// The shim's work, run inside `offcloud __exec`: ask the kernel to kill this process when its parent dies, make
/// sure the parent has not already died, then become the function. Only returns on failure.
pub fn exec_with_parent_death_signal(parent: u32, argv: &[String]) -> std::io::Error {
    if let Err(e) = nix::sys::prctl::set_pdeathsig(Some(Signal::SIGKILL)) {
        return std::io::Error::other(format!("cannot set the parent-death signal: {e}"));
    }
    if std::os::unix::process::parent_id() != parent {
        std::process::exit(137);
    }
    let Some((program, args)) = argv.split_first() else {
        return std::io::Error::other("no command to run");
    };
    std::process::Command::new(program).args(args).exec()
}
