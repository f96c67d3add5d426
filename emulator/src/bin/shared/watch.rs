//! `just bench`'s hot-reload rows: the time from saving a handler's change to the first response from the new code,
//! under `offcloud serve --watch`, for a Python handler and for a Rust one (with the same edit's incremental cargo
//! build timed alone in the same run), while a client keeps invoking both and counts its failures.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::served::serve_args;

/// What the watch rows measured.
pub struct Reloads {
    pub python: Vec<Duration>,
    pub rust: Vec<Duration>,
    /// The same kind of edit's incremental `cargo build`, without Offcloud.
    pub cargo: Vec<Duration>,
    pub sent: usize,
    pub failed: usize,
}

/// One invocation over a fresh connection: whether it succeeded, and its body.
fn invoke(addr: &str, function: &str) -> (bool, String) {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return (false, "cannot connect".into());
    };
    let req = format!(
        "POST /2015-03-31/functions/{function}/invocations HTTP/1.1\r\nhost: bench\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{{}}"
    );
    let mut out = String::new();
    if s.write_all(req.as_bytes()).is_err() || s.read_to_string(&mut out).is_err() {
        return (false, out);
    }
    let ok = out.starts_with("HTTP/1.1 200")
        && !out.to_ascii_lowercase().contains("x-amz-function-error");
    let body = out.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (ok, body)
}

/// Invokes `function` until its body contains `marker`; how long that took.
fn until(addr: &str, function: &str, marker: &str) -> Duration {
    let t = Instant::now();
    while !invoke(addr, function).1.contains(marker) {
        assert!(
            t.elapsed() < Duration::from_secs(300),
            "{function} never served {marker}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    t.elapsed()
}

fn python(dir: &Path, version: usize) {
    std::fs::write(
        dir.join("app.py"),
        format!("def handler(event, context):\n    return {{'version': 'v{version}'}}\n"),
    )
    .unwrap();
}

/// Sets the key the Rust handler wraps events in (`{"echo": ...}` in the fixture).
fn rust(package: &Path, key: &str) {
    let main = package.join("src/main.rs");
    let text = std::fs::read_to_string(&main).unwrap();
    let start = text.find("{{\\\"").unwrap() + 4;
    let end = start + text[start..].find("\\\"").unwrap();
    std::fs::write(&main, format!("{}{key}{}", &text[..start], &text[end..])).unwrap();
}

pub fn rows(root: &Path, bin: &Path, edits: usize) -> Reloads {
    let dir = std::env::temp_dir().join(format!("offcloud-bench-watch-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (py, rs) = (dir.join("py"), dir.join("rs"));
    std::fs::create_dir_all(&py).unwrap();
    std::fs::create_dir_all(rs.join("src")).unwrap();
    let fixture = root.join("emulator/tests/fixtures/std-runtime");
    for f in ["Cargo.toml", "Cargo.lock", "src/main.rs"] {
        std::fs::copy(fixture.join(f), rs.join(f)).unwrap();
    }
    python(&py, 0);
    // The incremental build alone: the first build is cold, the timed ones are one edit each.
    let cargo = std::env::var("CARGO").unwrap_or("cargo".into());
    let build = || {
        let t = Instant::now();
        let ok = std::process::Command::new(&cargo)
            .args(["build", "--quiet", "-p", "std-runtime"])
            .current_dir(&rs)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "cargo build of the bench's Rust handler failed");
        t.elapsed()
    };
    build();
    let cargo_times: Vec<Duration> = (0..edits)
        .map(|i| {
            rust(&rs, &format!("alone{i}"));
            build()
        })
        .collect();
    // The binary serve starts must be the source's, since the watch only sees changes made after it starts.
    rust(&rs, "echo");
    build();
    let config = dir.join("offcloud.toml");
    std::fs::write(
        &config,
        "[[function]]\nname = \"py\"\nruntime = \"python3.12\"\nhandler = \"app.handler\"\ncwd = \"py\"\ntimeout = 60\n\n[[function]]\nname = \"rs\"\npackage = \"std-runtime\"\ncwd = \"rs\"\ntimeout = 60\n",
    )
    .unwrap();
    let s = serve_args(
        bin,
        &[
            std::ffi::OsStr::new("--config"),
            config.as_os_str(),
            std::ffi::OsStr::new("--watch"),
        ],
    );
    until(&s.main, "py", "v0");
    until(&s.main, "rs", "echo");

    // A client that keeps invoking both functions through every reload.
    let stop = Arc::new(AtomicBool::new(false));
    let (sent, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let client = {
        let (stop, sent, failed, addr) =
            (stop.clone(), sent.clone(), failed.clone(), s.main.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                for f in ["py", "rs"] {
                    sent.fetch_add(1, Ordering::SeqCst);
                    let (ok, body) = invoke(&addr, f);
                    if !ok {
                        failed.fetch_add(1, Ordering::SeqCst);
                        eprintln!("bench: a request failed during a reload: {body}");
                    }
                }
            }
        })
    };
    // Each save is a second apart, so that the debouncer sees one change at a time.
    let mut python_times = Vec::new();
    for i in 1..=edits {
        std::thread::sleep(Duration::from_millis(300));
        python(&py, i);
        python_times.push(until(&s.main, "py", &format!("v{i}")));
    }
    let mut rust_times = Vec::new();
    for i in 1..=edits {
        std::thread::sleep(Duration::from_millis(300));
        rust(&rs, &format!("key{i}"));
        rust_times.push(until(&s.main, "rs", &format!("key{i}")));
    }
    stop.store(true, Ordering::SeqCst);
    let _ = client.join();
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
    Reloads {
        python: python_times,
        rust: rust_times,
        cargo: cargo_times,
        sent: sent.load(Ordering::SeqCst),
        failed: failed.load(Ordering::SeqCst),
    }
}
