//! Starting and stopping function processes.

use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};

use nix::sys::signal::{Signal, killpg};
use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid};
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

/// Kills a process group. A group that is already gone is not an error. Only [`supervise`] calls it, while the
/// group's leader is not yet reaped, so that the group id cannot belong to another process.
fn kill_group(pid: u32) {
    let _ = killpg(Pid::from_raw(pid as i32), Signal::SIGKILL);
}

/// Kills the group of a child that was never reaped, when the task supervising it is dropped (the runtime shutting
/// down).
struct Unreaped {
    pid: u32,
    reaped: bool,
}

impl Drop for Unreaped {
    fn drop(&mut self) {
        if !self.reaped {
            kill_group(self.pid);
        }
    }
}

/// Watches a started child until it exits, and reaps it. Each `kill` notification kills its process group.
///
/// **A process group is only ever signalled while its leader, the child, is not yet reaped**, so its id cannot have
/// been reused by another process. The child's exit is seen with `waitid(WNOWAIT)` at each `SIGCHLD`, which leaves
/// it a zombie: the group is then killed once more, to end anything the child left running in it, and only then is
/// the child reaped.
pub async fn supervise(
    mut child: Child,
    kill: &tokio::sync::Notify,
) -> std::io::Result<ExitStatus> {
    let Some(pid) = child.id() else {
        return child.wait().await;
    };
    let mut guard = Unreaped { pid, reaped: false };
    // Made before the first look, so that an exit between the look and the wait is not missed.
    let mut sigchld = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::child())?;
    let exited = || {
        let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
        // An error means there is nothing left to wait for; `wait` below says what happened.
        !matches!(
            waitid(Id::Pid(Pid::from_raw(pid as i32)), flags),
            Ok(WaitStatus::StillAlive)
        )
    };
    while !exited() {
        tokio::select! {
            received = sigchld.recv() => if received.is_none() {
                // The runtime is shutting down: wait for the child as tokio can.
                break;
            },
            () = kill.notified() => kill_group(pid),
        }
    }
    // The child is a zombie: its group id is still its own.
    kill_group(pid);
    let status = child.wait().await;
    guard.reaped = true;
    status
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

/// The parent-death shim for the `offcloud` binary at `exe`: the small `offcloud-exec` beside it when it is there
/// (as `cargo build` and `cargo install` leave it), since a function's cold start pays for the shim's exec, and
/// otherwise `offcloud` itself, through its `__exec` command.
pub fn shim_beside(exe: &Path) -> PathBuf {
    let small = exe.with_file_name("offcloud-exec");
    if small.is_file() {
        small
    } else {
        exe.to_path_buf()
    }
}

/// The shim's work, run inside `offcloud-exec` or `offcloud __exec`: ask the kernel to kill this process when its parent dies, make
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_small_shim_is_preferred_when_it_lies_beside_offcloud() {
        let dir = std::env::temp_dir().join(format!("offcloud-shim-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let exe = dir.join("offcloud");
        assert_eq!(
            shim_beside(&exe),
            exe,
            "without offcloud-exec, offcloud __exec"
        );
        std::fs::write(dir.join("offcloud-exec"), "").unwrap();
        assert_eq!(shim_beside(&exe), dir.join("offcloud-exec"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
