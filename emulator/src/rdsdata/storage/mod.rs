//! The Data API's SQLite: one file per MySQL database of a cluster, each in WAL mode so that a transaction's
//! connection and the others really are isolated. A connection opens its default database as `main` and attaches
//! every other database under its name, so that `db.table` works as in MySQL. This is the only module of the Data
//! API that names rusqlite.
//!
//! Without `--data-dir` the files live in a temporary directory that is removed when the cluster is dropped.
//! FIXME: AWS has no such files; SQLite's in-memory databases cannot give a transaction's connection a snapshot of
//! its own (WAL needs files), so "in memory" is a temporary directory here.
//!
//! Every connection has `offcloud_now()`, the emulator's injectable clock as MySQL's `DATETIME` text; the
//! translation of `DEFAULT CURRENT_TIMESTAMP` calls it, so that rows get their time from `clock::Env`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::functions::FunctionFlags;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, ErrorCode, ToSql};

use super::RdsError;
pub use super::engine::{Column, Param, Sql};

mod catalog;
mod functions;
mod schema;
mod snapshot;

pub use catalog::{SchemaCatalog, unique_keys};
pub use schema::*;

impl ToSql for Sql {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Sql::Null => ValueRef::Null,
            Sql::Integer(n) => ValueRef::Integer(*n),
            Sql::Bool(b) => ValueRef::Integer(i64::from(*b)),
            Sql::Real(f) => ValueRef::Real(*f),
            Sql::Text(s) | Sql::Hinted(s, _) => ValueRef::Text(s.as_bytes()),
            Sql::Blob(b) => ValueRef::Blob(b),
            // Arrays come only from PostgreSQL's results; SQLite is never given one.
            Sql::Array(_) => ValueRef::Null,
        }))
    }
}

/// The function a connection's temporary triggers call for each row inserted.
const INSERTED_FUNCTION: &str = "offcloud_inserted";

/// How many rows this connection has inserted into `table` since its first call here: a temporary trigger on the
/// table counts them from then on. An upsert compares it before and after, to tell the rows it inserted from
/// those it updated, in constant time.
pub fn inserted_rows(conn: &Conn, table: &str) -> Result<u64, DbError> {
    let (schema, name) = table.split_once('.').unwrap_or(("main", table));
    let trigger = format!("offcloud_inserted:{schema}.{name}").replace('"', "");
    conn.0.execute_batch(&format!(
        "CREATE TEMP TRIGGER IF NOT EXISTS \"{trigger}\" AFTER INSERT ON \"{schema}\".\"{name}\" \
         BEGIN SELECT {INSERTED_FUNCTION}(); END"
    ))?;
    Ok(conn.1.load(std::sync::atomic::Ordering::Relaxed))
}

/// The name of the SQL function that reads the emulator's clock.
pub const NOW_FUNCTION: &str = "offcloud_now";

/// The clock as `YYYY-MM-DD HH:MM:SS`, shared by every connection of a cluster.
pub type Now = Arc<dyn Fn() -> String + Send + Sync>;

/// A connection to one database of a cluster, with the others attached.
pub struct Conn(Connection, Arc<std::sync::atomic::AtomicU64>);

/// Why SQLite refused a statement, in terms the operation layer turns into MySQL's words.
#[derive(Debug, Clone, PartialEq)]
pub enum DbError {
    /// A primary key or unique constraint, with the columns SQLite named (`table.column`).
    Unique(Vec<String>),
    ForeignKey,
    /// A NOT NULL constraint, with the column.
    NotNull(String),
    NoSuchTable(String),
    NoSuchColumn(String),
    TableExists(String),
    NoSuchFunction(String),
    /// A `:name` in the statement that no parameter set, by its 1-based position.
    Unbound(usize),
    /// The database is locked by another transaction for longer than the busy timeout.
    Busy,
    /// A transaction's first write found that another connection committed after the transaction's first read
    /// (SQLITE_BUSY_SNAPSHOT): its snapshot cannot become a write.
    Snapshot,
    /// A query's rows came to more than [`MAX_RESULT_BYTES`]; reading stopped there.
    ResultTooLarge,
    /// A CHECK constraint failed, with its name.
    Check(String),
    DuplicateColumn(String),
    /// A column name that two tables of the statement have.
    Ambiguous(String),
    /// An INSERT row with another number of values than columns.
    ColumnCount,
    /// SQLite's parser stopped at this token.
    Syntax(String),
    Other(String),
}

/// The most row data one query reads: the Data API's 1 MiB response limit. The JSON that carries the rows is
/// longer than their raw bytes, so a query that passes this can still fail the exact check on the response, but
/// one that fails it never needs to be read to its end.
pub const MAX_RESULT_BYTES: usize = 1024 * 1024;

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        let text = e.to_string();
        if let rusqlite::Error::SqliteFailure(f, msg) = &e {
            let msg = msg.clone().unwrap_or_default();
            match (f.code, f.extended_code) {
                // SQLITE_CONSTRAINT_PRIMARYKEY and SQLITE_CONSTRAINT_UNIQUE: "UNIQUE constraint failed: t.a, t.b".
                (ErrorCode::ConstraintViolation, 1555 | 2067) => {
                    return DbError::Unique(
                        msg.trim_start_matches("UNIQUE constraint failed: ")
                            .split(", ")
                            .map(str::to_string)
                            .collect(),
                    );
                }
                // SQLITE_CONSTRAINT_FOREIGNKEY.
                (ErrorCode::ConstraintViolation, 787) => return DbError::ForeignKey,
                // SQLITE_CONSTRAINT_NOTNULL: "NOT NULL constraint failed: t.c".
                (ErrorCode::ConstraintViolation, 1299) => {
                    let col = msg.rsplit('.').next().unwrap_or(&msg);
                    return DbError::NotNull(col.to_string());
                }
                // SQLITE_CONSTRAINT_CHECK: "CHECK constraint failed: name".
                (ErrorCode::ConstraintViolation, 275) => {
                    let name = msg.trim_start_matches("CHECK constraint failed: ");
                    return DbError::Check(name.trim_matches('"').to_string());
                }
                // SQLITE_BUSY_SNAPSHOT.
                (ErrorCode::DatabaseBusy, 517) => return DbError::Snapshot,
                (ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked, _) => return DbError::Busy,
                _ => {}
            }
        }
        let first_word = |rest: &str| rest.split_whitespace().next().unwrap_or(rest).to_string();
        if let Some(rest) = text.strip_prefix("no such table: ") {
            return DbError::NoSuchTable(first_word(rest));
        }
        if let Some(rest) = text.strip_prefix("no such column: ") {
            return DbError::NoSuchColumn(first_word(rest));
        }
        if let Some(rest) = text.strip_prefix("ambiguous column name: ") {
            return DbError::Ambiguous(first_word(rest));
        }
        // "table t has no column named x", from an INSERT's column list.
        if let Some((_, col)) = text.split_once(" has no column named ") {
            return DbError::NoSuchColumn(first_word(col));
        }
        // "table t has 2 columns but 1 values were supplied", "2 values for 1 columns".
        if text.contains(" values were supplied") || text.contains(" values for ") {
            return DbError::ColumnCount;
        }
        if let Some(rest) = text.strip_prefix("near \"")
            && let Some((token, _)) = rest.split_once("\": syntax error")
        {
            return DbError::Syntax(token.to_string());
        }
        if let Some(rest) = text.strip_prefix("duplicate column name: ") {
            return DbError::DuplicateColumn(first_word(rest));
        }
        if let Some(rest) = text.strip_prefix("no such function: ") {
            return DbError::NoSuchFunction(first_word(rest));
        }
        if let Some(rest) = text.strip_prefix("table ")
            && let Some(table) = rest.strip_suffix(" already exists")
        {
            return DbError::TableExists(table.trim_matches('"').to_string());
        }
        DbError::Other(text)
    }
}

/// What a statement returned.
#[derive(Debug, Default)]
pub struct Outcome {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Sql>>,
    pub changes: u64,
    pub last_insert_rowid: i64,
}

/// The files of one cluster.
pub struct ClusterFiles {
    dir: PathBuf,
    temporary: bool,
    now: Now,
    /// Autocommit connections that no statement is using, per default database. Statements outside transactions
    /// each take one, so that a read never waits for another statement; writers take turns on the cluster's
    /// write lock before they get here.
    idle: Mutex<Idle>,
}

/// The most idle autocommit connections kept per database; more are made while more statements run at once.
const MAX_IDLE: usize = 8;

#[derive(Default)]
struct Idle {
    /// Bumped by `CREATE DATABASE`: connections made before lack the new attachment.
    generation: u64,
    conns: HashMap<String, Vec<(u64, Conn)>>,
}

fn valid_name(name: &str) -> Result<(), RdsError> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
    {
        return Err(RdsError::BadRequest(format!(
            "Incorrect database name '{name}'"
        )));
    }
    Ok(())
}

fn sqlite(e: rusqlite::Error) -> RdsError {
    RdsError::Internal(format!("SQLite: {e}"))
}

impl ClusterFiles {
    /// The cluster's files under `dir`, or in a fresh temporary directory.
    pub fn open(dir: Option<PathBuf>, tag: &str, now: Now) -> Result<Self, RdsError> {
        let (dir, temporary) = match dir {
            Some(d) => (d, false),
            None => {
                static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
                let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let d = std::env::temp_dir()
                    .join(format!("offcloud-rdsdata-{}-{n}-{tag}", std::process::id()));
                (d, true)
            }
        };
        std::fs::create_dir_all(&dir)
            .map_err(|e| RdsError::Internal(format!("cannot create {}: {e}", dir.display())))?;
        Ok(Self {
            dir,
            temporary,
            now,
            idle: Mutex::default(),
        })
    }

    /// SQLite's `synchronous` setting. With `--data-dir`, a commit is in the WAL before it is acknowledged, so it
    /// survives the emulator being killed; only a power cut could lose it, as with dynoxide's own NORMAL setting.
    /// Without it the files are temporary and removed at exit, so syncing them to disk would only cost time (a
    /// few milliseconds at start, where the seed schema is made).
    fn synchronous(&self) -> &'static str {
        if self.temporary { "OFF" } else { "NORMAL" }
    }

    fn file(&self, db: &str) -> PathBuf {
        self.dir.join(format!("{db}.sqlite"))
    }

    pub fn exists(&self, db: &str) -> bool {
        self.file(db).exists()
    }

    /// The cluster's databases, sorted by name.
    pub fn databases(&self) -> Vec<String> {
        let mut out: Vec<String> = std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                e.file_name()
                    .to_str()
                    .and_then(|n| n.strip_suffix(".sqlite"))
                    .map(str::to_string)
            })
            .collect();
        out.sort();
        out
    }

    /// Creates a database (`CREATE DATABASE`).
    pub fn create_database(&self, name: &str, if_not_exists: bool) -> Result<(), RdsError> {
        valid_name(name)?;
        if self.exists(name) {
            if if_not_exists {
                return Ok(());
            }
            return Err(RdsError::BadRequest(format!(
                "Can't create database '{name}'; database exists"
            )));
        }
        let c = Connection::open(self.file(name)).map_err(sqlite)?;
        c.pragma_update(None, "synchronous", self.synchronous())
            .map_err(sqlite)?;
        c.pragma_update(None, "journal_mode", "WAL")
            .map_err(sqlite)?;
        // Connections made before lack the new attachment; they are made again on next use.
        let mut idle = self.idle();
        idle.generation += 1;
        idle.conns.clear();
        Ok(())
    }

    /// A new connection whose `main` is `db`, with every other database attached under its name.
    pub fn connect(&self, db: &str) -> Result<Conn, RdsError> {
        valid_name(db)?;
        if !self.exists(db) {
            return Err(RdsError::BadRequest(format!("Unknown database '{db}'")));
        }
        let c = Connection::open(self.file(db)).map_err(sqlite)?;
        // Writers take the cluster's write lock before they write, so SQLite's own lock is seldom busy: only while
        // a file is opened or checkpointed. Wait for it in short steps rather than SQLite's default back-off,
        // which sleeps up to 100 ms at a time. This comes first, so that nothing below fails at once on a busy
        // file. WAL mode was set when the file was made.
        c.busy_handler(Some(|attempt| {
            std::thread::sleep(std::time::Duration::from_micros(200));
            attempt < 25_000
        }))
        .map_err(sqlite)?;
        c.pragma_update(None, "synchronous", self.synchronous())
            .map_err(sqlite)?;
        // Checkpoints write the WAL back into the file and sync it, which takes milliseconds; a writer that did it
        // would hold the cluster's write lock meanwhile. The Data API's housekeeping checkpoints in the background
        // instead ([`ClusterFiles::checkpoint`]); a writer only does so if the WAL grows past 40 MB without it.
        c.pragma_update(None, "wal_autocheckpoint", 10_000)
            .map_err(sqlite)?;
        c.pragma_update(None, "foreign_keys", "ON")
            .map_err(sqlite)?;
        let now = self.now.clone();
        // Deterministic, so that SQLite reads the clock once per run of a statement: MySQL's NOW() is the time the
        // statement began, the same in every row it writes.
        c.create_scalar_function(
            NOW_FUNCTION,
            0,
            FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
            move |_| Ok(now()),
        )
        .map_err(sqlite)?;
        functions::register_mysql_functions(&c).map_err(sqlite)?;
        // Rows inserted on this connection, counted by the triggers of [`inserted_rows`].
        let inserted = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = inserted.clone();
        c.create_scalar_function(
            INSERTED_FUNCTION,
            0,
            FunctionFlags::SQLITE_UTF8,
            move |_| {
                counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Ok(1)
            },
        )
        .map_err(sqlite)?;
        for other in self.databases().into_iter().filter(|o| o != db) {
            c.execute(
                "ATTACH DATABASE ?1 AS ?2",
                (
                    self.file(&other).to_string_lossy().to_string(),
                    other.as_str(),
                ),
            )
            .map_err(sqlite)?;
        }
        Ok(Conn(c, inserted))
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Idle> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An idle connection to `db` from the pool, or a new one. It goes back with [`ClusterFiles::checkin`].
    pub fn checkout(&self, db: &str) -> Result<Pooled, RdsError> {
        let (pooled, generation) = {
            let mut idle = self.idle();
            let g = idle.generation;
            (idle.conns.get_mut(db).and_then(Vec::pop), g)
        };
        match pooled {
            Some((generation, conn)) => Ok(Pooled {
                db: db.to_string(),
                generation,
                conn,
            }),
            None => Ok(Pooled {
                db: db.to_string(),
                generation,
                conn: self.connect(db)?,
            }),
        }
    }

    /// Gives a connection back to the pool, unless it is still inside a transaction, was made before the last
    /// `CREATE DATABASE`, or the pool is full.
    pub fn checkin(&self, c: Pooled) {
        let mut idle = self.idle();
        let keep = idle.generation == c.generation && c.conn.0.is_autocommit();
        let list = idle.conns.entry(c.db).or_default();
        if keep && list.len() < MAX_IDLE {
            list.push((c.generation, c.conn));
        } else {
            // A connection closes outside the pool's lock: closing can checkpoint the file.
            drop(idle);
            drop(c.conn);
        }
    }

    /// Copies what the WAL of each database holds back into its file, without waiting for (or blocking) readers
    /// and writers (`PRAGMA wal_checkpoint(PASSIVE)`).
    pub fn checkpoint(&self) {
        for db in self.databases() {
            if let Ok(c) = self.checkout(&db) {
                if let Err(e) =
                    c.0.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                {
                    tracing::warn!(database = db, "checkpoint failed: {e}");
                }
                self.checkin(c);
            }
        }
    }

    /// Runs `f` on an autocommit connection of `db` that no other statement is using.
    pub fn with_autocommit<T>(
        &self,
        db: &str,
        f: impl FnOnce(&Conn) -> Result<T, RdsError>,
    ) -> Result<T, RdsError> {
        let c = self.checkout(db)?;
        let out = f(&c);
        self.checkin(c);
        out
    }
}

/// A connection out of a cluster's pool.
pub struct Pooled {
    db: String,
    generation: u64,
    conn: Conn,
}

impl std::ops::Deref for Pooled {
    type Target = Conn;

    fn deref(&self) -> &Conn {
        &self.conn
    }
}

impl Drop for ClusterFiles {
    fn drop(&mut self) {
        if self.temporary {
            self.idle().conns.clear();
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Runs one translated statement with its parameters.
pub fn run(conn: &Conn, sql: &str, params: &[Param], query: bool) -> Result<Outcome, DbError> {
    let conn = &conn.0;
    let mut stmt = conn.prepare_cached(sql)?;
    let mut bound = vec![false; stmt.parameter_count()];
    for (name, value) in params {
        let key = format!(":{name}");
        if let Some(i) = stmt.parameter_index(&key)? {
            stmt.raw_bind_parameter(i, value)?;
            bound[i - 1] = true;
        }
    }
    if let Some(i) = bound.iter().position(|b| !b) {
        return Err(DbError::Unbound(i + 1));
    }
    let columns: Vec<Column> = stmt
        .columns()
        .iter()
        .map(|c| Column {
            name: c.name().to_string(),
            decl_type: c.decl_type().map(str::to_string),
            type_name: None,
        })
        .collect();
    let mut out = Outcome {
        columns,
        ..Outcome::default()
    };
    if query || stmt.column_count() > 0 {
        let n = stmt.column_count();
        let mut rows = stmt.raw_query();
        // The result is measured as it is read, so that a huge one never sits in memory whole.
        let mut size = 0usize;
        while let Some(row) = rows.next()? {
            let mut values = Vec::with_capacity(n);
            for i in 0..n {
                values.push(match row.get_ref(i)? {
                    ValueRef::Null => Sql::Null,
                    ValueRef::Integer(v) => Sql::Integer(v),
                    ValueRef::Real(v) => Sql::Real(v),
                    ValueRef::Text(t) => {
                        size += t.len();
                        Sql::Text(String::from_utf8_lossy(t).into_owned())
                    }
                    ValueRef::Blob(b) => {
                        size += b.len();
                        Sql::Blob(b.to_vec())
                    }
                });
            }
            // Every value costs at least a few bytes of JSON, numbers and nulls included.
            size += 8 * n;
            if size > MAX_RESULT_BYTES {
                return Err(DbError::ResultTooLarge);
            }
            out.rows.push(values);
        }
    } else {
        out.changes = stmt.raw_execute()? as u64;
        out.last_insert_rowid = conn.last_insert_rowid();
    }
    Ok(out)
}

/// Begins a transaction on a fresh connection.
pub fn begin(conn: &Conn) -> Result<(), RdsError> {
    conn.0.execute_batch("BEGIN").map_err(sqlite)
}

pub fn commit(conn: &Conn) -> Result<(), RdsError> {
    conn.0.execute_batch("COMMIT").map_err(sqlite)
}

pub fn rollback(conn: &Conn) -> Result<(), RdsError> {
    conn.0.execute_batch("ROLLBACK").map_err(sqlite)
}

/// The `last_insert_rowid()` of the connection.
pub fn last_insert_rowid(conn: &Conn) -> i64 {
    conn.0.last_insert_rowid()
}

/// The directory of a cluster's files under a data directory.
pub fn cluster_dir(data_dir: &Path, cluster: &str) -> PathBuf {
    data_dir.join("rdsdata").join(cluster)
}
