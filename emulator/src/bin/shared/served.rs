//! Starting `offcloud serve` as a child process and reading its memory, shared by `just bench` and `just soak`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `offcloud serve`, killed when dropped.
pub struct Served {
    pub child: Child,
    pub main: String,
    pub api: Option<String>,
    pub ready: Duration,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn serve(bin: &Path, config: &Path) -> Served {
    // The bench times the release builds of the handlers, whichever profile was built last. (The soak, which
    // `just test` runs on the debug builds, and the reload rows, which time a debug rebuild, start it themselves.)
    serve_args(
        bin,
        &[
            std::ffi::OsStr::new("--release"),
            std::ffi::OsStr::new("--config"),
            config.as_os_str(),
        ],
    )
}

pub fn serve_args(bin: &Path, args: &[&std::ffi::OsStr]) -> Served {
    let t = Instant::now();
    let mut child = Command::new(bin)
        .args(["serve", "--port", "0", "--api-port", "0"])
        .args(args)
        .env("OFFCLOUD_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("offcloud starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut main, mut api) = (String::new(), None);
    for line in lines.by_ref() {
        let line = line.unwrap();
        let url = line.rsplit("http://").next().unwrap_or("").to_string();
        if line.contains("AWS endpoint") {
            main = url;
        } else if line.contains("API Gateway") {
            api = Some(url);
        } else if line.starts_with("offcloud: ready") {
            break;
        }
    }
    let ready = t.elapsed();
    std::thread::spawn(move || lines.for_each(drop));
    Served {
        child,
        main,
        api,
        ready,
    }
}

/// The resident set size of a process, in KB.
pub fn rss_kb(pid: u32) -> u64 {
    status_kb(pid, "VmRSS:")
}

/// The anonymous part of a process's resident set (heap, stacks, written data), in KB. The rest is file-backed:
/// mostly the binary's own text, which the kernel maps in whole page-cache folios (runs of 64 KB to over 1 MB on
/// this machine's 6.x kernel), so it measures how the file was cached more than which code ran.
pub fn anon_rss_kb(pid: u32) -> u64 {
    status_kb(pid, "RssAnon:")
}

fn status_kb(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
