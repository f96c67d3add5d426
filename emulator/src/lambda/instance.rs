//! One function instance: a child process, its own Runtime API listener, and the state of the invocation it is
//! serving.
//!
//! Each invocation is paired with its outcome through a one-shot channel that whoever learns the outcome first
//! fulfils: the runtime's `/response` or `/error`, its `/init/error`, or the watcher that sees the process exit.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use bytes::Bytes;
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;

use super::process;

/// How many finished request ids an instance remembers, to tell a late duplicate `/response` (403) from an
/// id it never issued (400).
const REMEMBERED_IDS: usize = 64;

/// An invocation waiting to be picked up by `GET /next`.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub request_id: String,
    pub payload: Bytes,
    pub deadline_ms: u64,
    pub invoked_function_arn: String,
    pub trace_id: String,
    pub client_context: Option<String>,
    pub cognito_identity: Option<String>,
}

/// How an invocation ended, as far as the instance knows.
#[derive(Debug)]
pub enum RuntimeOutcome {
    Response(Bytes),
    Error {
        error_type: Option<String>,
        body: Bytes,
    },
    InitError {
        error_type: Option<String>,
        body: Bytes,
    },
    ResponseTooLarge {
        size: Option<usize>,
    },
    Exited {
        status: String,
    },
}

/// A log shared between an invocation and the pumps that read its process's output.
pub type LogBuffer = Arc<Mutex<TailLog>>;

/// The end of one invocation's log, kept only when the caller asked for it (`LogType: Tail`), and never more than
/// [`TailLog::KEEP`] bytes however much the function prints.
#[derive(Debug, Default)]
pub struct TailLog {
    wanted: bool,
    text: String,
}

impl TailLog {
    /// Twice what `X-Amz-Log-Result` carries (its last 4 KB), so that a cut never falls inside what is sent.
    pub const KEEP: usize = 8 * 1024;

    pub fn new(wanted: bool) -> Self {
        Self {
            wanted,
            text: String::new(),
        }
    }

    pub fn push_line(&mut self, line: &str) {
        if !self.wanted {
            return;
        }
        self.text.push_str(line);
        self.text.push('\n');
        if self.text.len() > 2 * Self::KEEP {
            let mut cut = self.text.len() - Self::KEEP;
            while !self.text.is_char_boundary(cut) {
                cut += 1;
            }
            self.text.drain(..cut);
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }
}

struct Current {
    request_id: String,
    reply: Option<oneshot::Sender<RuntimeOutcome>>,
}

#[derive(Default)]
struct State {
    pending: Option<Delivery>,
    current: Option<Current>,
    completed: VecDeque<String>,
    /// The request id and log of the latest invocation; output lines are tagged with them.
    log: Option<(String, LogBuffer)>,
    exited: Option<String>,
    init_failed: bool,
}

/// The part of an instance shared with its Runtime API listener and its process watchers.
pub struct Shared {
    pub function_name: String,
    state: Mutex<State>,
    wake: Notify,
    /// Asks the process's supervisor to kill its group; a request made before it listens is kept.
    kill: Notify,
    spawned_at: Instant,
    ready_at: OnceLock<Instant>,
}

/// What the Runtime API answers for `/response`, `/error` and `/init/error`.
#[derive(Debug, PartialEq, Eq)]
pub enum Ack {
    Accepted,
    /// The id was finished already.
    InvalidStateTransition,
    /// The id was never issued to this instance.
    InvalidRequestId,
}

impl Shared {
    /// The process has exited and been reaped.
    pub fn has_exited(&self) -> bool {
        self.lock().exited.is_some()
    }

    /// Kills the process and its group, if it still runs.
    pub fn kill(&self) {
        self.kill.notify_one();
    }

    fn new(function_name: String) -> Self {
        Self {
            function_name,
            state: Mutex::new(State::default()),
            wake: Notify::new(),
            kill: Notify::new(),
            spawned_at: Instant::now(),
            ready_at: OnceLock::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Long-polls for the next invocation (`GET /next`). The first call ends the instance's init phase.
    pub async fn next(&self) -> Delivery {
        let _ = self.ready_at.set(Instant::now());
        loop {
            let notified = self.wake.notified();
            if let Some(d) = self.lock().pending.take() {
                return d;
            }
            notified.await;
        }
    }

    /// Ends an invocation with `outcome`, if `request_id` is the one in flight.
    pub fn finish(&self, request_id: &str, outcome: RuntimeOutcome) -> Ack {
        let mut st = self.lock();
        let in_flight = st
            .current
            .as_ref()
            .is_some_and(|c| c.request_id == request_id);
        match st.current.take() {
            Some(mut c) if in_flight => {
                if let Some(reply) = c.reply.take() {
                    let _ = reply.send(outcome);
                }
                st.completed.push_back(request_id.to_string());
                if st.completed.len() > REMEMBERED_IDS {
                    st.completed.pop_front();
                }
                Ack::Accepted
            }
            other => {
                st.current = other;
                if st.completed.iter().any(|id| id == request_id) {
                    Ack::InvalidStateTransition
                } else {
                    Ack::InvalidRequestId
                }
            }
        }
    }

    /// The runtime failed to initialise (`POST /init/error`). Only valid before the first `/next`.
    pub fn init_error(&self, error_type: Option<String>, body: Bytes) -> Ack {
        if self.ready_at.get().is_some() {
            return Ack::InvalidStateTransition;
        }
        let mut st = self.lock();
        st.init_failed = true;
        if let Some(reply) = st.current.as_mut().and_then(|c| c.reply.take()) {
            let _ = reply.send(RuntimeOutcome::InitError { error_type, body });
        }
        Ack::Accepted
    }

    fn exited(&self, status: String) {
        let mut st = self.lock();
        st.exited = Some(status.clone());
        if let Some(reply) = st.current.as_mut().and_then(|c| c.reply.take()) {
            let _ = reply.send(RuntimeOutcome::Exited { status });
        }
    }

    fn output_line(&self, line: &str) {
        let tag = self.lock().log.clone();
        match tag {
            Some((rid, buf)) => {
                tracing::info!(target: "offcloud::function", "[{}] [{rid}] {line}", self.function_name);
                buf.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push_line(line);
            }
            None => tracing::info!(target: "offcloud::function", "[{}] {line}", self.function_name),
        }
    }

    /// Time from spawn to the first `/next`, once the runtime has asked for work.
    pub fn init_duration(&self) -> Option<std::time::Duration> {
        self.ready_at
            .get()
            .map(|r| r.duration_since(self.spawned_at))
    }
}

/// A running function process. Dropping it kills the process group.
pub struct Instance {
    pub shared: Arc<Shared>,
    pub pid: u32,
    pub runtime_api: String,
    server: JoinHandle<()>,
}

impl Instance {
    /// Starts the process. `runtime` is the already-bound Runtime API listener task and its `host:port`.
    pub fn start(
        shared_name: &str,
        runtime: impl FnOnce(Arc<Shared>) -> std::io::Result<(JoinHandle<()>, String)>,
        spawn: impl FnOnce(&str) -> std::io::Result<tokio::process::Child>,
    ) -> std::io::Result<Self> {
        let shared = Arc::new(Shared::new(shared_name.to_string()));
        let (server, runtime_api) = runtime(shared.clone())?;
        let mut child = match spawn(&runtime_api) {
            Ok(c) => c,
            Err(e) => {
                server.abort();
                return Err(e);
            }
        };
        let pid = child.id().unwrap_or(0);
        for out in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
        ]
        .into_iter()
        .flatten()
        {
            let shared = shared.clone();
            tokio::spawn(async move { process::pump_lines(out, |l| shared.output_line(l)).await });
        }
        let watcher = shared.clone();
        tokio::spawn(async move {
            let status = match process::supervise(child, &watcher.kill).await {
                Ok(s) => describe_exit(s),
                Err(e) => format!("wait failed: {e}"),
            };
            watcher.exited(status);
        });
        Ok(Self {
            shared,
            pid,
            runtime_api,
            server,
        })
    }

    /// An instance whose process Offcloud does not start: its Runtime API waits for a handler started by hand (a
    /// debugger's), and its `/next` can be called by one process after another.
    pub fn attach(
        shared_name: &str,
        runtime: impl FnOnce(Arc<Shared>) -> std::io::Result<(JoinHandle<()>, String)>,
    ) -> std::io::Result<Self> {
        let shared = Arc::new(Shared::new(shared_name.to_string()));
        let (server, runtime_api) = runtime(shared.clone())?;
        Ok(Self {
            shared,
            pid: 0,
            runtime_api,
            server,
        })
    }

    /// Hands an invocation to the runtime. The outcome arrives on `reply`.
    pub fn dispatch(
        &self,
        delivery: Delivery,
        reply: oneshot::Sender<RuntimeOutcome>,
        log: LogBuffer,
    ) {
        let mut st = self.shared.lock();
        if let Some(status) = st.exited.clone() {
            let _ = reply.send(RuntimeOutcome::Exited { status });
            return;
        }
        st.log = Some((delivery.request_id.clone(), log));
        st.current = Some(Current {
            request_id: delivery.request_id.clone(),
            reply: Some(reply),
        });
        st.pending = Some(delivery);
        drop(st);
        self.shared.wake.notify_one();
    }

    /// Whether the instance can take another invocation.
    pub fn is_healthy(&self) -> bool {
        let st = self.shared.lock();
        st.exited.is_none() && !st.init_failed && st.current.is_none()
    }

    pub fn kill(&self) {
        self.shared.kill();
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill();
        // The Runtime API may still be answering the call that ended the instance (`/init/error`, or an `/error`
        // the pool judged fatal); it stops a moment later, so that the runtime reads its answer.
        let server = self.server.abort_handle();
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move {
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    server.abort();
                });
            }
            Err(_) => server.abort(),
        }
    }
}

/// Words as Go's `os.ProcessState.String()` gives them, which is what AWS puts in `Runtime.ExitError`
/// messages: `exit status 1`, `signal: killed`.
fn describe_exit(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    if let Some(code) = status.code() {
        return format!("exit status {code}");
    }
    match status.signal() {
        Some(9) => "signal: killed".into(),
        Some(6) => "signal: aborted".into(),
        Some(11) => "signal: segmentation fault".into(),
        Some(15) => "signal: terminated".into(),
        Some(n) => format!("signal: {n}"),
        None => "exited".into(),
    }
}

#[cfg(test)]
mod tail_log_tests {
    use super::TailLog;

    #[test]
    fn nothing_is_kept_unless_a_tail_is_wanted() {
        let mut t = TailLog::new(false);
        t.push_line("hello");
        assert_eq!(t.text(), "");
    }

    #[test]
    fn the_kept_log_is_bounded_and_ends_with_the_last_line() {
        let mut t = TailLog::new(true);
        for i in 0..10_000 {
            t.push_line(&format!("line {i} ünïcode"));
        }
        assert!(t.text().len() <= 2 * TailLog::KEEP, "{}", t.text().len());
        assert!(t.text().len() >= TailLog::KEEP);
        assert!(t.text().ends_with("line 9999 ünïcode\n"));
    }
}
