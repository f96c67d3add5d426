//! The SQLite engine: each statement translated from MySQL (and cached), run on the cluster's files
//! ([`storage`]), with the cluster's write lock ([`super::lock`]) in place of InnoDB's row locks, and MySQL's view
//! of what it did (affected rows, generated ids, result types).

use std::cell::Cell;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::lock::{WriteGuard, WriteLock};
use super::{Engine, Param, Prepared, Ran, Session, Sql};
use crate::clock::Env;
use crate::config::ClusterConfig;
use crate::rdsdata::sql::{self, Conflict, Kind, Translated};
use crate::rdsdata::storage::{self, ClusterFiles, Conn, DbError, Outcome, Pooled};
use crate::rdsdata::{RdsError, mysql};

/// One cluster's SQLite.
pub struct Sqlite(Arc<Shared>);

/// What the engine and its sessions share.
struct Shared {
    files: ClusterFiles,
    /// The database used when a request names none.
    database: Option<String>,
    /// Held by the one writer at a time; see [`super::lock`].
    lock: Arc<WriteLock>,
    /// `innodb_lock_wait_timeout`.
    lock_wait: Duration,
    translations: sql::Cache,
}

/// The clock as MySQL's `DATETIME` text.
fn now_text(env: &Env) -> String {
    chrono::DateTime::from_timestamp_millis(env.clock.now_ms() as i64)
        .unwrap_or_default()
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

impl Sqlite {
    /// Opens the files of cluster `c`, under `data_dir` or in a temporary directory, and creates its default
    /// database.
    pub fn open(c: &ClusterConfig, data_dir: Option<&Path>, env: &Env) -> Result<Self, RdsError> {
        Ok(Self::open_from(c, data_dir, env, None)?.0)
    }

    /// [`Sqlite::open`], with the databases copied from `saved` (a folder [`Sqlite::save`] wrote) when it is given
    /// and can be read. Says whether they were.
    pub fn open_from(
        c: &ClusterConfig,
        data_dir: Option<&Path>,
        env: &Env,
        saved: Option<&Path>,
    ) -> Result<(Self, bool), RdsError> {
        let id = c.arn.rsplit(':').next().unwrap_or("cluster").to_string();
        let env = env.clone();
        let now: storage::Now = Arc::new(move || now_text(&env));
        let files = ClusterFiles::open(data_dir.map(|d| storage::cluster_dir(d, &id)), &id, now)?;
        let restored = saved.is_some_and(|from| match files.restore(from) {
            Ok(()) => true,
            Err(e) => {
                tracing::debug!("the schema cache at {} was not used: {e}", from.display());
                false
            }
        });
        if let Some(db) = &c.database {
            // Nothing to do when the copy holds it.
            files.create_database(db, true)?;
        }
        Ok((
            Self(Arc::new(Shared {
                files,
                database: c.database.clone(),
                lock: Arc::default(),
                lock_wait: Duration::from_secs(c.lock_wait_timeout),
                translations: sql::Cache::default(),
            })),
            restored,
        ))
    }

    /// Saves every database of the cluster into the folder `to` (see [`ClusterFiles::save`]).
    pub fn save(&self, to: &Path) -> Result<(), RdsError> {
        self.0.files.save(to)
    }

    /// The cluster's write lock.
    #[cfg(test)]
    pub fn lock(&self) -> &WriteLock {
        &self.0.lock
    }

    /// Sets `innodb_lock_wait_timeout`, before any session has begun.
    #[cfg(test)]
    pub fn set_lock_wait(&mut self, wait: Duration) {
        Arc::get_mut(&mut self.0).expect("no session yet").lock_wait = wait;
    }
}

impl Shared {
    /// Waits for the write lock, as InnoDB waits for a row lock: ER_LOCK_WAIT_TIMEOUT (1205) past the cluster's
    /// `innodb_lock_wait_timeout`.
    fn write_lock(&self) -> Result<WriteGuard, RdsError> {
        self.lock.acquire(self.lock_wait).ok_or_else(|| {
            RdsError::BadRequest("Lock wait timeout exceeded; try restarting transaction".into())
        })
    }

    fn database(&self, requested: Option<&str>) -> Result<String, RdsError> {
        requested
            .map(str::to_string)
            .or_else(|| self.database.clone())
            // ER_NO_DB_ERROR (1046).
            .ok_or_else(|| RdsError::BadRequest("No database selected".into()))
    }

    /// `sql`'s translation (kept, or made now) for default database `db`, whose schema it may ask about.
    fn translate(&self, sql: &str, db: Option<&str>) -> Result<Arc<Translated>, RdsError> {
        match db {
            Some(db) => {
                let catalog = storage::SchemaCatalog::new(&self.files, db);
                self.translations.translate(sql, Some(db), &catalog)
            }
            None => self.translations.translate(sql, None, &sql::NoCatalog),
        }
    }

    /// For a DDL statement, what says when dropped (once it has run or failed) that translations made before it
    /// may depend on the schema it changed, and are not to be used again.
    fn schema_change(&self, translated: &Translated) -> Option<sql::SchemaChange<'_>> {
        translated
            .kind
            .is_ddl()
            .then(|| sql::SchemaChange(&self.translations))
    }

    /// Runs `CREATE DATABASE`, which makes a file and needs no connection; `None` for any other statement.
    fn create_database(&self, translated: &Translated) -> Option<Result<Ran, RdsError>> {
        let Kind::CreateDatabase {
            name,
            if_not_exists,
        } = &translated.kind
        else {
            return None;
        };
        Some(
            self.files
                .create_database(name, *if_not_exists)
                .map(|()| ran(translated, Outcome::default(), None)),
        )
    }
}

impl Engine for Sqlite {
    fn execute(
        &self,
        database: Option<&str>,
        sql: &str,
        params: &[Param],
    ) -> Result<Ran, RdsError> {
        let s = &self.0;
        let translated = s.translate(sql, s.database(database).ok().as_deref())?;
        let _schema_change = s.schema_change(&translated);
        if let Some(created) = s.create_database(&translated) {
            return created;
        }
        let db = s.database(database)?;
        let _write = (!translated.kind.is_query())
            .then(|| s.write_lock())
            .transpose()?;
        let (outcome, generated) = s.files.with_autocommit(&db, |conn| {
            run(conn, &db, sql, &translated, params, &Cell::new(false))
        })?;
        Ok(ran(&translated, outcome, generated))
    }

    fn prepare(&self, database: Option<&str>, sql: &str) -> Result<Prepared, RdsError> {
        let s = &self.0;
        let translated = s.translate(sql, database)?;
        let _schema_change = s.schema_change(&translated);
        match s.create_database(&translated) {
            Some(created) => created.map(Prepared::Done),
            None => Ok(Prepared::Ready),
        }
    }

    fn begin(&self, database: Option<&str>) -> Result<Box<dyn Session>, RdsError> {
        let database = self.0.database(database)?;
        let conn = self.0.files.checkout(&database)?;
        storage::begin(&conn)?;
        Ok(Box::new(SqliteSession {
            conn,
            write: None,
            database,
            shared: self.0.clone(),
        }))
    }

    fn housekeeping(&self) {
        self.0.files.checkpoint();
    }

    fn catalog(&self) -> Vec<(String, Vec<String>)> {
        let files = &self.0.files;
        files
            .databases()
            .into_iter()
            .map(|db| {
                let mut tables = files
                    .connect(&db)
                    .map(|c| storage::tables(&c))
                    .unwrap_or_default();
                tables.sort();
                (db, tables)
            })
            .collect()
    }
}

/// A transaction: one pooled connection inside `BEGIN`, with the cluster's write lock once it has written.
struct SqliteSession {
    /// It comes before `write`, so that a dropped session's connection closes (rolling it back) before the lock is
    /// released.
    conn: Pooled,
    write: Option<WriteGuard>,
    database: String,
    shared: Arc<Shared>,
}

impl SqliteSession {
    /// Commits or rolls back; the connection goes back to the pool first, and then the write lock is released.
    fn end(self, end: fn(&Conn) -> Result<(), RdsError>) -> Result<(), RdsError> {
        let Self {
            conn,
            write,
            shared,
            ..
        } = self;
        let ended = end(&conn);
        shared.files.checkin(conn);
        drop(write);
        ended
    }
}

impl Session for SqliteSession {
    fn database(&self) -> &str {
        &self.database
    }

    fn execute(&mut self, sql: &str, params: &[Param]) -> Result<Ran, RdsError> {
        let s = self.shared.clone();
        let translated = s.translate(sql, Some(&self.database))?;
        let _schema_change = s.schema_change(&translated);
        if let Some(created) = s.create_database(&translated) {
            return created;
        }
        // A locking read takes the write lock in a transaction, as InnoDB's row locks would block other writers.
        if translated.kind != Kind::Query && self.write.is_none() {
            self.write = Some(s.write_lock()?);
        }
        // MySQL commits the open transaction before DDL, and the transaction goes on after it.
        // Source: https://dev.mysql.com/doc/refman/5.7/en/implicit-commit.html
        let ddl = translated.kind.is_ddl();
        if ddl {
            storage::commit(&self.conn)?;
        }
        // Set when a transaction's first write finds that its snapshot is older than the last commit.
        let stale = Cell::new(false);
        let out = run(&self.conn, &self.database, sql, &translated, params, &stale);
        if ddl {
            storage::begin(&self.conn)?;
        }
        if stale.get() {
            // InnoDB rolls the whole transaction back on a deadlock, and the next statement begins a new one.
            storage::rollback(&self.conn)?;
            storage::begin(&self.conn)?;
            self.write = None;
        }
        let (outcome, generated) = out?;
        Ok(ran(&translated, outcome, generated))
    }

    fn commit(self: Box<Self>) -> Result<(), RdsError> {
        self.end(storage::commit)
    }

    fn rollback(self: Box<Self>) -> Result<(), RdsError> {
        self.end(storage::rollback)
    }
}

fn ran(translated: &Translated, outcome: Outcome, generated_id: Option<i64>) -> Ran {
    Ran {
        query: translated.kind.is_query(),
        ddl: translated.kind.is_ddl(),
        columns: outcome.columns,
        rows: outcome.rows,
        changes: outcome.changes,
        generated_id,
    }
}

/// Runs translated statement `t` (`source` as the caller wrote it) on `conn`, whose default database is `db`: what
/// it returned, and the `AUTO_INCREMENT` value it generated. `stale` is set when it failed because the
/// transaction's snapshot is older than the last commit.
fn run(
    conn: &Conn,
    db: &str,
    source: &str,
    t: &Translated,
    params: &[Param],
    stale: &Cell<bool>,
) -> Result<(Outcome, Option<i64>), RdsError> {
    let query = t.kind.is_query();
    let fail = |e: DbError| {
        stale.set(e == DbError::Snapshot);
        mysql::error(conn, db, source, t, params, e)
    };
    // An upsert or REPLACE counts rows as MySQL does: an upsert from the rows it inserted (counted by a trigger)
    // and wrote (returned), a REPLACE from the table's rows before and after.
    // FIXME: counting a REPLACE's rows reads the whole table; a big one makes each REPLACE slower.
    let conflict = match &t.kind {
        Kind::Insert {
            table,
            conflict: Conflict::Update,
            ..
        } => Some((
            table,
            Conflict::Update,
            storage::inserted_rows(conn, table).map_err(fail)? as i64,
        )),
        Kind::Insert {
            table,
            conflict: Conflict::Replace,
            ..
        } => Some((
            table,
            Conflict::Replace,
            storage::count_rows(conn, table).map_err(fail)?,
        )),
        _ => None,
    };
    let returns = matches!(conflict, Some((_, Conflict::Update, _)));
    let mut outcome = storage::run(conn, &t.sql, params, query || returns).map_err(fail)?;
    let mut upserted_id = None;
    let inserted_rows = outcome.changes;
    if let Some((table, c, before)) = conflict {
        if c == Conflict::Update {
            // One returned rowid per row inserted or changed.
            let written = outcome.rows.len() as i64;
            let inserted = storage::inserted_rows(conn, table).map_err(fail)? as i64 - before;
            outcome.changes = (inserted + 2 * (written - inserted)).max(0) as u64;
            if inserted == 0 {
                upserted_id = outcome.rows.first().and_then(|r| match r.first() {
                    Some(Sql::Integer(id)) => Some(*id),
                    _ => None,
                });
            } else {
                outcome.last_insert_rowid = storage::last_insert_rowid(conn);
                upserted_id = Some(outcome.last_insert_rowid - inserted + 1);
            }
            outcome.rows.clear();
            outcome.columns.clear();
        } else {
            // SQLite does not count the rows REPLACE deleted; MySQL does.
            let after = storage::count_rows(conn, table).map_err(fail)?;
            let deleted = before + outcome.changes as i64 - after;
            outcome.changes += deleted.max(0) as u64;
        }
    }
    // Select items that are expressions get the MySQL type of what they compute.
    if let Some(p) = &t.projection {
        let decls = sql::decls(p, &|table, col| storage::column_decl(conn, table, col));
        for (c, d) in outcome.columns.iter_mut().zip(decls) {
            if c.decl_type.is_none() {
                c.decl_type = d;
            }
        }
    }
    for statement in &t.after {
        storage::run(conn, statement, &[], false).map_err(fail)?;
    }
    if let Kind::Truncate { table } = &t.kind
        && storage::autoincrement(conn, table)
    {
        storage::reset_autoincrement(conn, table).map_err(fail)?;
    }
    let generated = match &t.kind {
        Kind::Insert { table, .. }
            if upserted_id.is_some() && storage::autoincrement(conn, table) =>
        {
            upserted_id
        }
        Kind::Insert {
            table, conflict, ..
        } if *conflict != Conflict::Update
            && outcome.changes > 0
            && storage::autoincrement(conn, table) =>
        {
            // MySQL's LAST_INSERT_ID(): the first id of a multi-row insert.
            Some(outcome.last_insert_rowid - inserted_rows as i64 + 1)
        }
        _ => None,
    };
    Ok((outcome, generated))
}
