//! A cluster's write lock, standing in for InnoDB's row locks. SQLite lets one connection write at a time, so a
//! writer must wait for the one before it; this lock makes that wait fair (first come, first served) and bounded
//! by the cluster's `innodb_lock_wait_timeout`, instead of SQLite's busy handler, which lets a late writer overtake
//! an early one and has no notion of MySQL's timeout. Readers never take it: in WAL mode they read the last
//! committed state while a writer works.
//!
//! A transaction takes the lock at its first write and keeps it until it commits, rolls back or expires, as
//! InnoDB keeps a row's lock to the transaction's end. A statement outside a transaction holds it while it runs.
//! FIXME: InnoDB locks rows, so two transactions writing different rows do not wait for each other; here every
//! writer of a cluster waits for the one before it.
//!
//! Waiting blocks the thread, so callers run on blocking threads, never on the async workers.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The lock of one cluster.
#[derive(Default)]
pub struct WriteLock {
    state: Mutex<State>,
    turn: Condvar,
}

#[derive(Default)]
struct State {
    held: bool,
    /// Waiters in the order they came, by ticket.
    queue: VecDeque<u64>,
    next_ticket: u64,
}

/// The lock, held until dropped.
pub struct WriteGuard(Arc<WriteLock>);

impl WriteLock {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits at most `timeout` for the lock, behind every writer that asked before. `None` when the time ran out.
    pub fn acquire(self: &Arc<Self>, timeout: Duration) -> Option<WriteGuard> {
        let mut s = self.state();
        if !s.held && s.queue.is_empty() {
            s.held = true;
            return Some(WriteGuard(self.clone()));
        }
        let ticket = s.next_ticket;
        s.next_ticket += 1;
        s.queue.push_back(ticket);
        let deadline = Instant::now() + timeout;
        loop {
            if !s.held && s.queue.front() == Some(&ticket) {
                s.queue.pop_front();
                s.held = true;
                return Some(WriteGuard(self.clone()));
            }
            let now = Instant::now();
            if now >= deadline {
                s.queue.retain(|&t| t != ticket);
                // The waiter behind may now be first.
                self.turn.notify_all();
                return None;
            }
            s = self
                .turn
                .wait_timeout(s, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Whether a writer holds the lock now.
    #[cfg(test)]
    pub fn is_held(&self) -> bool {
        self.state().held
    }

    /// How many writers wait for it.
    #[cfg(test)]
    pub fn waiting(&self) -> usize {
        self.state().queue.len()
    }
}

impl Drop for WriteGuard {
    fn drop(&mut self) {
        self.0.state().held = false;
        self.0.turn.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_free_lock_is_taken_at_once_and_released_on_drop() {
        let lock = Arc::new(WriteLock::default());
        let guard = lock.acquire(Duration::ZERO).expect("free");
        assert!(lock.is_held());
        assert!(lock.acquire(Duration::from_millis(20)).is_none());
        drop(guard);
        assert!(!lock.is_held());
        assert!(lock.acquire(Duration::ZERO).is_some());
    }

    #[test]
    fn waiters_get_the_lock_in_the_order_they_came() {
        let lock = Arc::new(WriteLock::default());
        let first = lock.acquire(Duration::ZERO).unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut threads = Vec::new();
        for n in 0..4 {
            let (waiter, order) = (lock.clone(), order.clone());
            threads.push(std::thread::spawn(move || {
                let _g = waiter.acquire(Duration::from_secs(10)).expect("in time");
                order.lock().unwrap().push(n);
            }));
            // Each waiter is queued before the next one starts.
            while lock.state().queue.len() < n + 1 {
                std::thread::yield_now();
            }
        }
        drop(first);
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec![0, 1, 2, 3]);
    }

    #[test]
    fn a_waiter_that_times_out_leaves_the_queue_to_the_next() {
        let lock = Arc::new(WriteLock::default());
        let first = lock.acquire(Duration::ZERO).unwrap();
        let waiter = |timeout| {
            let lock = lock.clone();
            std::thread::spawn(move || lock.acquire(timeout).is_some())
        };
        let queued = |n| {
            while lock.state().queue.len() != n {
                std::thread::yield_now();
            }
        };
        let impatient = waiter(Duration::from_millis(100));
        queued(1);
        let patient = waiter(Duration::from_secs(10));
        queued(2);
        assert!(!impatient.join().unwrap(), "the first waiter timed out");
        queued(1);
        drop(first);
        assert!(patient.join().unwrap(), "the next waiter got the lock");
        assert!(!lock.is_held() && lock.state().queue.is_empty());
    }
}
