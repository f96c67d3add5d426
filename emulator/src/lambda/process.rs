//! Starting and stopping function processes.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
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
        .envs(environment(s.env))
        .stdin(Stdio::null());
    piped(cmd).spawn()
}

/// The variables a function process sees: those passed through from the emulator's own environment, then the
/// function's, which win.
fn environment(env: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut all: BTreeMap<String, String> = PASS_THROUGH
        .iter()
        .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v)))
        .collect();
    all.extend(env.iter().map(|(k, v)| (k.clone(), v.clone())));
    all
}

/// Gives a command the stdout, stderr, process group and lifetime every function process has.
fn piped(mut cmd: Command) -> Command {
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd.as_std_mut().process_group(0);
    cmd
}

/// Starts a shim that sets its parent-death signal and then waits on its stdin for the function it is to become
/// (see [`become_function`]), so that a cold start later pays for one exec rather than two.
pub fn spawn_waiting(shim: &Path) -> std::io::Result<Child> {
    let mut cmd = Command::new(shim);
    cmd.arg("__exec")
        .arg("--parent")
        .arg(std::process::id().to_string())
        .arg("--stdin")
        .env_clear()
        .stdin(Stdio::piped());
    piped(cmd).spawn()
}

/// The most a waiting shim is sent. A pipe holds 64 KiB, so a launch this size is written whole without waiting
/// for the shim to read it; a larger one (a function with a vast environment) is started afresh instead.
const MAX_LAUNCH: usize = 60 * 1024;

/// Has a shim started by [`spawn_waiting`] become the function `s`: writes the launch to its stdin and closes it.
/// `s.shim` is not used. On an error the shim is of no use and the caller should start the function afresh.
pub fn become_function(child: &mut Child, s: &Spawn<'_>) -> std::io::Result<()> {
    let env = environment(s.env);
    // A NUL inside a field would end it early and could forge the next one. Started afresh, such a function fails
    // as any command line with a NUL does.
    let nul = |t: &[u8]| t.contains(&0);
    if nul(s.cwd.as_os_str().as_bytes())
        || s.argv.iter().any(|a| nul(a.as_bytes()))
        || env
            .iter()
            .any(|(k, v)| nul(k.as_bytes()) || nul(v.as_bytes()))
    {
        return Err(std::io::Error::other("the launch holds a NUL byte"));
    }
    let launch = encode_launch(s.argv, s.cwd, &env);
    if launch.len() > MAX_LAUNCH {
        return Err(std::io::Error::other(
            "the launch is larger than a pipe holds",
        ));
    }
    let stdin = child
        .stdin
        .take()
        .ok_or_else(|| std::io::Error::other("the shim's stdin is gone"))?;
    // A blocking file, but the write fits the empty pipe whole (see `MAX_LAUNCH`), so it does not wait.
    let mut pipe = std::fs::File::from(stdin.into_owned_fd()?);
    std::io::Write::write_all(&mut pipe, &launch)
}

/// A function's command line, folder and environment as a waiting shim reads them: fields that each end in a NUL
/// byte (which no argument, path or variable can hold), tagged `D` for the folder, `A` for each argument in turn and
/// `E` for each `NAME=VALUE`, and an empty `.` field last, so that a launch cut short is never taken for a whole one.
fn encode_launch(argv: &[String], cwd: &Path, env: &BTreeMap<String, String>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut field = |tag: u8, bytes: &[u8]| {
        out.push(tag);
        out.extend_from_slice(bytes);
        out.push(0);
    };
    field(b'D', cwd.as_os_str().as_bytes());
    for a in argv {
        field(b'A', a.as_bytes());
    }
    for (k, v) in env {
        field(b'E', format!("{k}={v}").as_bytes());
    }
    field(b'.', b"");
    out
}

/// What [`encode_launch`] wrote, or `None` when it is not a whole launch (cut short, or with no command).
fn decode_launch(bytes: &[u8]) -> Option<Launch> {
    let mut launch = Launch::default();
    // The last field is exactly `.`: the only one that starts with that byte.
    let body = bytes.strip_suffix(b"\0.\0")?;
    for field in body.split(|b| *b == 0) {
        let (tag, value) = field.split_first()?;
        let value = OsStr::from_bytes(value);
        match tag {
            b'D' => launch.cwd = Some(PathBuf::from(value)),
            b'A' => launch.argv.push(value.to_os_string()),
            b'E' => {
                let eq = value.as_bytes().iter().position(|b| *b == b'=')?;
                let (k, v) = value.as_bytes().split_at(eq);
                launch.env.push((
                    OsStr::from_bytes(k).to_os_string(),
                    OsStr::from_bytes(&v[1..]).to_os_string(),
                ));
            }
            _ => return None,
        }
    }
    (!launch.argv.is_empty()).then_some(launch)
}

/// A decoded launch.
#[derive(Debug, Default, PartialEq)]
struct Launch {
    cwd: Option<PathBuf>,
    argv: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
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

/// The shim's work, run inside `offcloud-exec` or `offcloud __exec`: ask the kernel to kill this process when its
/// parent dies, make sure the parent has not already died, then become the function `argv`. Only returns on failure,
/// with an error that names the command.
pub fn exec_with_parent_death_signal(parent: u32, argv: &[String]) -> std::io::Error {
    if let Err(e) = die_with(parent) {
        return e;
    }
    let Some((program, args)) = argv.split_first() else {
        return std::io::Error::other("no command to run");
    };
    let e = std::process::Command::new(program).args(args).exec();
    std::io::Error::new(e.kind(), format!("cannot run {}: {e}", argv.join(" ")))
}

/// The waiting shim's work (`--stdin`): as [`exec_with_parent_death_signal`], but the function, its folder and its
/// whole environment are read from stdin once the emulator needs them (see [`become_function`]).
pub fn exec_from_stdin(parent: u32) -> std::io::Error {
    if let Err(e) = die_with(parent) {
        return e;
    }
    let mut bytes = Vec::new();
    if let Err(e) = std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut bytes) {
        return std::io::Error::new(e.kind(), format!("cannot read the launch on stdin: {e}"));
    }
    let Some(launch) = decode_launch(&bytes) else {
        return std::io::Error::other("the launch on stdin is incomplete");
    };
    let mut cmd = std::process::Command::new(&launch.argv[0]);
    cmd.args(&launch.argv[1..])
        .env_clear()
        .envs(launch.env)
        .stdin(std::process::Stdio::null());
    if let Some(cwd) = &launch.cwd {
        cmd.current_dir(cwd);
    }
    let e = cmd.exec();
    let shown: Vec<_> = launch.argv.iter().map(|a| a.to_string_lossy()).collect();
    std::io::Error::new(e.kind(), format!("cannot run {}: {e}", shown.join(" ")))
}

/// Asks the kernel to kill this process when its parent dies, and exits at once if `parent` already has.
fn die_with(parent: u32) -> std::io::Result<()> {
    if let Err(e) = nix::sys::prctl::set_pdeathsig(Some(Signal::SIGKILL)) {
        return Err(std::io::Error::other(format!(
            "cannot set the parent-death signal: {e}"
        )));
    }
    if std::os::unix::process::parent_id() != parent {
        std::process::exit(137);
    }
    Ok(())
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

    fn launch(argv: &[&str], env: &[(&str, &str)]) -> Vec<u8> {
        let argv: Vec<String> = argv.iter().map(|a| a.to_string()).collect();
        let env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        encode_launch(&argv, Path::new("/srv/fn"), &env)
    }

    #[test]
    fn a_launch_reads_back_as_written() {
        let bytes = launch(
            &["python3", "-m", "awslambdaric", "", "app.handler"],
            &[("A", "1=2"), ("EMPTY", ""), ("LANG", "C.UTF-8")],
        );
        let l = decode_launch(&bytes).unwrap();
        assert_eq!(l.cwd, Some(PathBuf::from("/srv/fn")));
        assert_eq!(
            l.argv,
            ["python3", "-m", "awslambdaric", "", "app.handler"].map(OsString::from)
        );
        let env: Vec<(String, String)> = l
            .env
            .iter()
            .map(|(k, v)| (k.to_string_lossy().into(), v.to_string_lossy().into()))
            .collect();
        assert_eq!(
            env,
            [("A", "1=2"), ("EMPTY", ""), ("LANG", "C.UTF-8")]
                .map(|(k, v)| (k.to_string(), v.to_string()))
        );
    }

    proptest::proptest! {
        // A failure prints its shrunk input; nothing is written to the work tree.
        #![proptest_config(proptest::test_runner::Config {
            failure_persistence: None,
            ..proptest::test_runner::Config::default()
        })]

        #[test]
        fn any_launch_without_a_nul_reads_back_as_written(
            argv in proptest::collection::vec("[^\\x00]{0,12}", 1..5),
            env in proptest::collection::btree_map("[A-Za-z_][A-Za-z0-9_]{0,8}", "[^\\x00]{0,12}", 0..5),
            cwd in "/[^\\x00]{0,20}",
        ) {
            let bytes = encode_launch(&argv, Path::new(&cwd), &env);
            let l = decode_launch(&bytes).expect("a whole launch");
            proptest::prop_assert_eq!(l.cwd, Some(PathBuf::from(&cwd)));
            proptest::prop_assert_eq!(l.argv, argv.iter().map(OsString::from).collect::<Vec<_>>());
            let read: BTreeMap<String, String> = l
                .env
                .into_iter()
                .map(|(k, v)| (k.into_string().unwrap(), v.into_string().unwrap()))
                .collect();
            proptest::prop_assert_eq!(read, env);
        }
    }

    #[test]
    fn a_launch_cut_short_or_without_a_command_is_refused() {
        let bytes = launch(&["bootstrap", "--flag"], &[("K", "V")]);
        assert!(decode_launch(&bytes).is_some());
        for cut in 0..bytes.len() {
            assert_eq!(decode_launch(&bytes[..cut]), None, "cut at {cut}");
        }
        assert_eq!(decode_launch(&launch(&[], &[("K", "V")])), None);
        assert_eq!(decode_launch(b"Xfoo\0.\0"), None, "an unknown tag");
        assert_eq!(
            decode_launch(b"Abin\0ENOEQUALS\0.\0"),
            None,
            "a variable without ="
        );
        assert_eq!(
            decode_launch(b"Abin\0.\0Aafter\0.\0"),
            None,
            "a field after the end"
        );
        // An argument `.` cut short after it must not read as the end.
        let dot = launch(&["bootstrap", "."], &[]);
        assert_eq!(decode_launch(&dot[..dot.len() - 2]), None);
    }
}
