//! Injectable time and id sources, so that snapshots can be deterministic.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of wall-clock time in milliseconds since the Unix epoch.
pub trait Clock: Send + Sync + 'static {
    fn now_ms(&self) -> u64;
}

/// The real wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }
}

/// A clock that starts at a fixed instant and advances by one millisecond per reading.
#[derive(Debug)]
pub struct FixedClock(AtomicU64);

impl FixedClock {
    pub fn new(start_ms: u64) -> Self {
        Self(AtomicU64::new(start_ms))
    }
}

impl Clock for FixedClock {
    fn now_ms(&self) -> u64 {
        self.0.fetch_add(1, Ordering::Relaxed)
    }
}

/// A source of request ids.
pub trait IdGen: Send + Sync + 'static {
    /// A new UUID-shaped id, as AWS uses for request ids.
    fn uuid(&self) -> String;
}

/// Random version 4 UUIDs.
#[derive(Debug, Default, Clone, Copy)]
pub struct RandomIds;

impl IdGen for RandomIds {
    fn uuid(&self) -> String {
        uuid::Uuid::new_v4().to_string()
    }
}

/// Sequential UUID-shaped ids (`00000000-0000-4000-8000-000000000001`, ...), for deterministic runs.
#[derive(Debug, Default)]
pub struct SequentialIds(AtomicU64);

impl IdGen for SequentialIds {
    fn uuid(&self) -> String {
        let n = self.0.fetch_add(1, Ordering::Relaxed) + 1;
        format!("00000000-0000-4000-8000-{n:012x}")
    }
}

/// The clock, the id generator and the trace store, shared by every part of the emulator.
#[derive(Clone)]
pub struct Env {
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<dyn IdGen>,
    /// Where each request's spans are recorded.
    pub traces: Arc<crate::trace::Traces>,
}

impl Default for Env {
    fn default() -> Self {
        Self {
            clock: Arc::new(SystemClock),
            ids: Arc::new(RandomIds),
            traces: Arc::default(),
        }
    }
}

impl Env {
    pub fn deterministic(start_ms: u64) -> Self {
        Self {
            clock: Arc::new(FixedClock::new(start_ms)),
            ids: Arc::new(SequentialIds::default()),
            traces: Arc::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequential_ids_are_uuid_shaped_and_distinct() {
        let ids = SequentialIds::default();
        let a = ids.uuid();
        let b = ids.uuid();
        assert_ne!(a, b);
        assert!(uuid::Uuid::parse_str(&a).is_ok(), "{a}");
        assert_eq!(b, "00000000-0000-4000-8000-000000000002");
    }

    #[test]
    fn fixed_clock_advances_one_ms_per_reading() {
        let c = FixedClock::new(1_000);
        assert_eq!(c.now_ms(), 1_000);
        assert_eq!(c.now_ms(), 1_001);
    }
}
