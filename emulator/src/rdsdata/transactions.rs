//! The open transactions of every cluster: each is one engine [`Session`]. A statement takes the session out (a
//! [`Lease`]) and puts it back, so that two statements never run on one transaction at once, as AWS answers
//! "Transaction is still running a query".

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use super::RdsError;
use super::engine::Session;

/// How long an idle transaction lives: 3 minutes ("Transaction <transaction_ID> isn't found").
/// Source: https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/data-api.troubleshooting.html
pub const IDLE_MS: u64 = 3 * 60 * 1000;

struct Transaction {
    cluster: usize,
    database: String,
    /// `None` while a statement runs on it.
    session: Option<Box<dyn Session>>,
    /// When it was last used, by the emulator's clock.
    used_ms: u64,
}

/// A transaction's session while one statement runs on it.
pub struct Lease {
    pub session: Box<dyn Session>,
}

#[derive(Default)]
pub struct Transactions(Mutex<HashMap<String, Transaction>>);

impl Transactions {
    fn map(&self) -> MutexGuard<'_, HashMap<String, Transaction>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a begun transaction, unless `cluster` already has `max` open. Past it, AWS answers as its support
    /// described when the Data API's connections to a cluster ran out: `StatementTimeoutException` "Connection is
    /// not available, request timed out" (koxudaxi/py-data-api#29, from BeginTransaction).
    /// FIXME: AWS waits for a connection before timing out; we answer at once.
    pub fn open(
        &self,
        id: String,
        cluster: usize,
        session: Box<dyn Session>,
        now_ms: u64,
        max: usize,
    ) -> Result<(), RdsError> {
        let mut map = self.map();
        if map.values().filter(|t| t.cluster == cluster).count() >= max {
            return Err(RdsError::StatementTimeout(
                "Connection is not available, request timed out".into(),
            ));
        }
        map.insert(
            id,
            Transaction {
                cluster,
                database: session.database().to_string(),
                session: Some(session),
                used_ms: now_ms,
            },
        );
        Ok(())
    }

    /// The default database of transaction `id`.
    pub fn database(&self, id: &str) -> Option<String> {
        self.map().get(id).map(|t| t.database.clone())
    }

    /// Takes the session of transaction `id` of `cluster`. A transaction whose session is out is running a
    /// query: the Aurora user guide's "Transaction is still running a query" (Data API troubleshooting).
    pub fn take(&self, id: &str, cluster: usize) -> Result<Lease, RdsError> {
        let mut map = self.map();
        let t = map
            .get_mut(id)
            .filter(|t| t.cluster == cluster)
            .ok_or_else(|| RdsError::TransactionNotFound(id.to_string()))?;
        let session = t.session.take().ok_or_else(|| {
            RdsError::DatabaseError("Transaction is still running a query".into())
        })?;
        Ok(Lease { session })
    }

    /// Gives a leased session back to its transaction.
    pub fn put_back(&self, id: &str, lease: Lease, now_ms: u64) {
        if let Some(t) = self.map().get_mut(id) {
            t.session = Some(lease.session);
            t.used_ms = now_ms;
        }
    }

    /// Takes transaction `id` of `cluster` away for its commit or rollback.
    pub fn finish(&self, id: &str, cluster: usize) -> Result<Lease, RdsError> {
        let lease = self.take(id, cluster)?;
        self.map().remove(id);
        Ok(lease)
    }

    /// Ends the transactions idle since before `now_ms - IDLE_MS`; dropping a session rolls it back and then lets
    /// go of its locks.
    pub fn expire(&self, now_ms: u64) {
        let expired: Vec<Transaction> = {
            let mut map = self.map();
            let ids: Vec<String> = map
                .iter()
                .filter(|(_, t)| t.session.is_some() && now_ms.saturating_sub(t.used_ms) >= IDLE_MS)
                .map(|(id, _)| id.clone())
                .collect();
            ids.iter().filter_map(|id| map.remove(id)).collect()
        };
        // The sessions end outside the map's lock.
        drop(expired);
    }

    /// How many transactions are open.
    pub fn open_count(&self) -> usize {
        self.map().len()
    }
}
