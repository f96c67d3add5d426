//! A cluster on a real server: MySQL or MariaDB ([`mysql`], through `mysql_async`) or PostgreSQL ([`postgres`],
//! through `tokio-postgres`). Statements run as they are, with no translation; the parameters are bound as literals
//! ([`params`]), as the Data API's JDBC drivers bind them on the client, and each result is read as text with its
//! column's type, so that the `Field`s, `columnMetadata` and `formatRecordsAs` stay the operation layer's.
//!
//! The drivers are async, and the [`Engine`](super::Engine) seam is synchronous (the Data API's operations run off
//! the async workers). Each server engine owns a [`Driver`]: a one-worker runtime of its own that runs the
//! driver's futures, which a blocking caller waits for. So the connections, their pool and their background tasks
//! live on one runtime whatever thread calls, and a caller inside another runtime never nests one.

pub mod mysql;
mod params;
pub mod postgres;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use super::{Engine, Sql};
use crate::config::{ClusterConfig, ServerKind, ServerUrl};
use crate::rdsdata::RdsError;

/// How long connecting to the server may take before the request fails.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long one statement may run before the call fails with `StatementTimeoutException`: "By default, the Data
/// API cancels an operation and returns a timeout error if the operation doesn't finish processing within 45
/// seconds." The statement's connection is let go (a transaction's with its transaction).
/// FIXME: AWS cancels the statement; here the server may run it to its end, as `continueAfterTimeout` would,
/// since cancelling needs a second connection (`KILL QUERY`, `pg_cancel_backend`).
/// Source: https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/data-api-timeouts.html
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(45);

/// The runtime a server engine's driver runs on.
pub struct Driver {
    runtime: Option<tokio::runtime::Runtime>,
}

impl Driver {
    pub fn new(name: &str) -> Result<Arc<Self>, RdsError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name(name)
            .enable_all()
            .build()
            .map_err(|e| RdsError::Internal(format!("cannot start the {name} driver: {e}")))?;
        Ok(Arc::new(Self {
            runtime: Some(runtime),
        }))
    }

    /// Runs `fut` on the driver's runtime and waits for it, from any thread.
    pub fn run<T: Send + 'static>(
        &self,
        fut: impl Future<Output = Result<T, RdsError>> + Send + 'static,
    ) -> Result<T, RdsError> {
        let runtime = self
            .runtime
            .as_ref()
            .ok_or_else(|| RdsError::Internal("the database driver has stopped".into()))?;
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        runtime.spawn(async move {
            let _ = tx.send(fut.await);
        });
        rx.recv()
            .map_err(|_| RdsError::Internal("the database driver stopped mid-statement".into()))?
    }

    /// Starts `fut` on the driver's runtime without waiting for it (a session's rollback as it is dropped).
    pub fn spawn(&self, fut: impl Future<Output = ()> + Send + 'static) {
        if let Some(runtime) = &self.runtime {
            runtime.spawn(fut);
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which is not allowed inside another runtime; its tasks need no waiting for.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// The error for a server that cannot be reached, or that dropped the connection: the Data API's
/// `InternalServerErrorException`, naming the server (without its password).
pub fn unreachable(server: &ServerUrl, e: impl std::fmt::Display) -> RdsError {
    RdsError::Internal(format!("cannot reach the cluster's server {server}: {e}"))
}

/// A statement that ran past [`STATEMENT_TIMEOUT`]; the text callers of the Data API recorded
/// (customink/activerecord-aurora-serverless-adapter#20).
pub fn timed_out() -> RdsError {
    RdsError::StatementTimeout("Request timed out".into())
}

/// Rows of (database, table), sorted by database, as the dashboard's catalog lists them.
pub fn group_tables(rows: Vec<Vec<Sql>>) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for row in rows {
        let [Sql::Text(db), Sql::Text(table)] = row.as_slice() else {
            continue;
        };
        match out.last_mut() {
            Some((last, tables)) if last == db => tables.push(table.clone()),
            _ => out.push((db.clone(), vec![table.clone()])),
        }
    }
    out
}

/// The engine for cluster `c` on `server`.
pub fn open(c: &ClusterConfig, server: ServerUrl) -> Result<Arc<dyn Engine>, RdsError> {
    Ok(match server.kind {
        ServerKind::Mysql => Arc::new(mysql::Mysql::open(c, server)?),
        ServerKind::Postgres => Arc::new(postgres::Postgres::open(c, server)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_driver_answers_callers_inside_another_runtime() {
        let driver = Driver::new("test-driver").unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let d = driver.clone();
        let n = rt
            .block_on(async move { d.run(async { Ok(41 + 1) }) })
            .unwrap();
        assert_eq!(n, 42);
        let e = driver
            .run::<()>(async { Err(RdsError::BadRequest("no".into())) })
            .unwrap_err();
        assert_eq!(e.to_string(), "no");
        // Dropping it inside a runtime does not panic.
        rt.block_on(async move { drop(driver) });
    }
}
