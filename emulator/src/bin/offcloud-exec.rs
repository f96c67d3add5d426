//! `offcloud-exec --parent PID -- PROGRAM ARGS...`: the parent-death shim every function process starts through.
//!
//! It asks the kernel to kill it when the emulator dies, then becomes the function. With `--stdin` in place of the
//! command, it waits for the command, its folder and its environment on stdin (a spare shim, see
//! `offcloud::lambda::spare`). `offcloud __exec` does the same work, but this binary is a small fraction of
//! `offcloud`'s size, so its exec costs a fraction of the time and a cold start is that much shorter. The emulator
//! uses it when it lies beside `offcloud`, and `offcloud __exec` otherwise.

#![forbid(unsafe_code)]

fn main() {
    let mut args = std::env::args().skip(1).peekable();
    // The same words as `offcloud __exec`, so that both shims are started alike.
    if args.peek().map(String::as_str) == Some("__exec") {
        args.next();
    }
    let parent = match (
        args.next().as_deref(),
        args.next().map(|p| p.parse::<u32>()),
    ) {
        (Some("--parent"), Some(Ok(pid))) => pid,
        _ => usage(),
    };
    let e = match args.next().as_deref() {
        Some("--stdin") if args.peek().is_none() => {
            offcloud::lambda::process::exec_from_stdin(parent)
        }
        Some("--") => {
            let argv: Vec<String> = args.collect();
            if argv.is_empty() {
                usage();
            }
            offcloud::lambda::process::exec_with_parent_death_signal(parent, &argv)
        }
        _ => usage(),
    };
    eprintln!("offcloud-exec: {e}");
    std::process::exit(127);
}

fn usage() -> ! {
    eprintln!("usage: offcloud-exec --parent PID (-- PROGRAM [ARGS...] | --stdin)");
    std::process::exit(2);
}
