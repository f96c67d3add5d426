//! Database servers a test starts and stops itself: each in a temporary folder of its own, on a free loopback port,
//! removed when dropped. No system service is assumed.

#![allow(dead_code)]

pub mod mariadb;
pub mod postgres;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// Where a program is, on the PATH or in the `sbin` folders Debian puts servers in.
pub fn find(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A new, empty folder for one server of this process.
pub fn scratch(kind: &str) -> Result<PathBuf, String> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "offcloud-{kind}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}

/// Runs a set-up tool, keeping its output in `log` when it fails.
pub fn run(cmd: &mut Command, what: &str, log: &Path) -> Result<(), String> {
    let out = cmd
        .output()
        .map_err(|e| format!("{what} did not start: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let _ = std::fs::write(log, [&out.stdout[..], &out.stderr[..]].concat());
    Err(format!(
        "{what} failed ({}); see {}",
        out.status,
        log.display()
    ))
}

/// Whether a test needing a server it cannot find should fail (under CI) rather than say so and pass.
pub fn required() -> bool {
    std::env::var_os("CI").is_some()
}
