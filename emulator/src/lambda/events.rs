//! Asynchronous (`Event`) invocations: each function's bounded queue, and the retries AWS makes.
//!
//! As AWS documents it ("How Lambda handles errors and retries with asynchronous invocation",
//! https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html):
//! - a function error (the handler's error, a crash, a timeout) is retried twice, after about one and then two
//!   minutes (`async_retry_delays_ms` here), and the event is then dropped;
//! - a throttle (429) goes back to the queue and is retried with a back-off that grows from 1 second to 5 minutes,
//!   until the event is older than its maximum age (6 hours by default).
//!
//! The queue holds at most `max_queued_events` events per function. AWS accepts every event and says that events
//! "might also be deleted from the queue without being sent to the function" when it cannot keep up; we refuse
//! the one past the bound with 429 instead, so that no event that was acknowledged with 202 is lost silently.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::{Function, InvokeInput, LambdaError};

/// The first delay after a throttle, and the longest.
const THROTTLE_BACKOFF: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(300));

/// The events of one function that are queued or running.
pub struct EventQueue {
    queued: Arc<AtomicUsize>,
    max: usize,
    max_age: Duration,
}

/// An event's place in its queue, given back when it is done.
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl EventQueue {
    pub fn new(max: usize, max_age: Duration) -> Self {
        Self {
            queued: Arc::default(),
            max,
            max_age,
        }
    }

    /// How many events are queued or running now.
    pub fn len(&self) -> usize {
        self.queued.load(Ordering::SeqCst)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Queues `input` for `function`, or refuses it when the queue is full, with the 429 that a synchronous
    /// invocation gets when too many wait (`ConcurrentInvocationLimitExceeded`). The event then runs with AWS's
    /// retries; `delays` are the waits between function-error retries.
    pub fn push(
        &self,
        function: Arc<Function>,
        input: InvokeInput,
        delays: Vec<Duration>,
    ) -> Result<(), LambdaError> {
        if self.queued.fetch_add(1, Ordering::SeqCst) >= self.max {
            self.queued.fetch_sub(1, Ordering::SeqCst);
            return Err(LambdaError::ConcurrencyLimitExceeded);
        }
        let slot = Slot(self.queued.clone());
        let max_age = self.max_age;
        tokio::spawn(async move {
            let _slot = slot;
            deliver(&function, &input, &delays, max_age).await;
        });
        Ok(())
    }
}

/// Runs one event to success, or until its retries or its age run out, or the function shuts down.
async fn deliver(function: &Function, input: &InvokeInput, delays: &[Duration], max_age: Duration) {
    let started = tokio::time::Instant::now();
    let mut failures = 0;
    let mut backoff = THROTTLE_BACKOFF.0;
    loop {
        if function.is_shut_down() {
            return;
        }
        let (retry_in, why) = match function.invoke(input).await {
            Ok(out) if out.function_error.is_none() => return,
            Err(LambdaError::TooManyRequests | LambdaError::ConcurrencyLimitExceeded) => {
                if started.elapsed() + backoff > max_age {
                    tracing::warn!(
                        function = function.name(),
                        "asynchronous invocation throttled until it was older than its maximum age of {}s; the event is dropped",
                        max_age.as_secs()
                    );
                    return;
                }
                let wait = backoff;
                backoff = (backoff * 2).min(THROTTLE_BACKOFF.1);
                (wait, "throttled")
            }
            Ok(_) | Err(_) => {
                let Some(&wait) = delays.get(failures) else {
                    tracing::warn!(
                        function = function.name(),
                        "asynchronous invocation failed after {} retries; the event is dropped",
                        delays.len()
                    );
                    return;
                };
                failures += 1;
                (wait, "failed")
            }
        };
        tracing::info!(
            function = function.name(),
            "asynchronous invocation {why}; retrying in {} ms",
            retry_in.as_millis()
        );
        tokio::time::sleep(retry_in).await;
    }
}
