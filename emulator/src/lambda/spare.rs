//! A parent-death shim started before a cold start needs it.
//!
//! Every function process starts through the shim (see [`process`]), so a cold start used to pay for two execs: the
//! shim's, then the function's. A spare shim has already paid for the first: it has set its parent-death signal and
//! waits on its stdin for the function it is to become. A cold start hands it the function's command line, folder
//! and environment, and the function's own exec is all that is left. One spare is started as the emulator starts,
//! and another after each cold start, off that cold start's path.

use std::path::PathBuf;
use std::sync::Mutex;

use tokio::process::Child;

use super::process::{self, Spawn};

pub struct Spare {
    /// The shim to start; with none, there is never a spare and every function starts afresh.
    shim: Option<PathBuf>,
    waiting: Mutex<Option<Child>>,
}

impl Spare {
    pub fn new(shim: Option<PathBuf>) -> Self {
        Self {
            shim,
            waiting: Mutex::new(None),
        }
    }

    /// Starts a spare shim unless one is waiting. Must be called inside the Tokio runtime.
    pub fn fill(&self) {
        let Some(shim) = &self.shim else { return };
        let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        if waiting.is_some() {
            return;
        }
        match process::spawn_waiting(shim) {
            Ok(child) => *waiting = Some(child),
            // Cold starts then start their shim afresh, which reports the same error if it persists.
            Err(e) => tracing::debug!("cannot start a spare shim {}: {e}", shim.display()),
        }
    }

    /// The waiting shim, become the function `s`; `None` when there is none or it cannot be used, and the function
    /// should be started afresh.
    pub fn take(&self, s: &Spawn<'_>) -> Option<Child> {
        let mut child = self
            .waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()?;
        // A spare that has exited (killed from outside) is dropped and reaped.
        if !matches!(child.try_wait(), Ok(None)) {
            return None;
        }
        match process::become_function(&mut child, s) {
            Ok(()) => Some(child),
            Err(e) => {
                // Dropping the child kills it.
                tracing::debug!("the spare shim was not used: {e}");
                None
            }
        }
    }

    /// The process id of the waiting shim, if one is waiting.
    pub fn waiting(&self) -> Option<u32> {
        self.waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .and_then(Child::id)
    }
}
