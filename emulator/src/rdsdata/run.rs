//! Running one statement: its translation (cached), the write lock, the transaction it belongs to, and MySQL's
//! view of what it did (affected rows, generated ids, result types).

use std::sync::Arc;

use serde_json::{Value, json};

use super::lock::WriteGuard;
use super::sql::{self, Conflict, Kind, Translated};
use super::storage::{self, Conn, DbError, Outcome, Param};
use super::{DataApi, RdsError, mysql};

/// What one statement gave back.
pub(super) struct Ran {
    pub translated: Arc<Translated>,
    pub outcome: Outcome,
    pub generated: Vec<Value>,
}

impl DataApi {
    /// Waits for cluster `i`'s write lock, as InnoDB waits for a row lock: ER_LOCK_WAIT_TIMEOUT (1205) past the
    /// cluster's `innodb_lock_wait_timeout`.
    pub(super) fn write_lock(&self, i: usize) -> Result<WriteGuard, RdsError> {
        let c = &self.clusters[i];
        c.lock.acquire(c.lock_wait).ok_or_else(|| {
            RdsError::BadRequest("Lock wait timeout exceeded; try restarting transaction".into())
        })
    }

    pub(super) fn database(&self, i: usize, requested: Option<&str>) -> Result<String, RdsError> {
        requested
            .map(str::to_string)
            .or_else(|| self.clusters[i].database.clone())
            // ER_NO_DB_ERROR (1046).
            .ok_or_else(|| RdsError::BadRequest("No database selected".into()))
    }

    /// Translates and runs one statement, in a transaction or on its own.
    pub(super) fn run_one(
        &self,
        i: usize,
        database: Option<&str>,
        tx: Option<&str>,
        sql: &str,
        params: &[Param],
    ) -> Result<Ran, RdsError> {
        let files = &self.clusters[i].files;
        let default_db = match tx {
            Some(id) => self.transactions.database(id),
            None => self.database(i, database).ok(),
        };
        let translated = match default_db.as_deref() {
            Some(db) => {
                let catalog = storage::SchemaCatalog::new(files, db);
                self.translations.translate(sql, Some(db), &catalog)?
            }
            None => self.translations.translate(sql, None, &sql::NoCatalog)?,
        };
        // Translations made before a DDL statement may depend on the schema it changes: once it has run (or
        // failed), they are not used again.
        let _schema_change = translated
            .kind
            .is_ddl()
            .then(|| sql::SchemaChange(&self.translations));
        if let Kind::CreateDatabase {
            name,
            if_not_exists,
        } = &translated.kind
        {
            files.create_database(name, *if_not_exists)?;
            return Ok(Ran {
                translated,
                outcome: Outcome::default(),
                generated: vec![],
            });
        }
        // Set when a transaction's first write finds that its snapshot is older than the last commit.
        let stale = std::cell::Cell::new(false);
        let run = |conn: &Conn, db: &str| {
            let query = translated.kind.is_query();
            let fail = |e: DbError| {
                stale.set(e == DbError::Snapshot);
                mysql::error(conn, db, sql, &translated, params, e)
            };
            // An upsert or REPLACE counts rows as MySQL does: an upsert from the rows it inserted (counted by a
            // trigger) and wrote (returned), a REPLACE from the table's rows before and after.
            // FIXME: counting a REPLACE's rows reads the whole table; a big one makes each REPLACE slower.
            let conflict = match &translated.kind {
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
            let mut outcome =
                storage::run(conn, &translated.sql, params, query || returns).map_err(fail)?;
            let mut upserted_id = None;
            let inserted_rows = outcome.changes;
            if let Some((table, c, before)) = conflict {
                if c == Conflict::Update {
                    // One returned rowid per row inserted or changed.
                    let written = outcome.rows.len() as i64;
                    let inserted =
                        storage::inserted_rows(conn, table).map_err(fail)? as i64 - before;
                    outcome.changes = (inserted + 2 * (written - inserted)).max(0) as u64;
                    if inserted == 0 {
                        upserted_id = outcome.rows.first().and_then(|r| match r.first() {
                            Some(storage::Sql::Integer(id)) => Some(*id),
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
            if let Some(p) = &translated.projection {
                let decls = sql::decls(p, &|table, col| storage::column_decl(conn, table, col));
                for (c, d) in outcome.columns.iter_mut().zip(decls) {
                    if c.decl_type.is_none() {
                        c.decl_type = d;
                    }
                }
            }
            for statement in &translated.after {
                storage::run(conn, statement, &[], false).map_err(fail)?;
            }
            if let Kind::Truncate { table } = &translated.kind
                && storage::autoincrement(conn, table)
            {
                storage::reset_autoincrement(conn, table).map_err(fail)?;
            }
            let generated = match &translated.kind {
                Kind::Insert { table, .. }
                    if upserted_id.is_some() && storage::autoincrement(conn, table) =>
                {
                    vec![json!({"longValue": upserted_id})]
                }
                Kind::Insert {
                    table, conflict, ..
                } if *conflict != Conflict::Update
                    && outcome.changes > 0
                    && storage::autoincrement(conn, table) =>
                {
                    // MySQL's LAST_INSERT_ID(): the first id of a multi-row insert.
                    vec![json!({"longValue": outcome.last_insert_rowid - inserted_rows as i64 + 1})]
                }
                _ => vec![],
            };
            Ok((outcome, generated))
        };
        // A locking read takes the write lock in a transaction, as InnoDB's row locks would block other writers.
        let writes =
            translated.kind != Kind::Query && (tx.is_some() || !translated.kind.is_query());
        let (outcome, generated) = match tx {
            None => {
                let db = self.database(i, database)?;
                let _write = writes.then(|| self.write_lock(i)).transpose()?;
                files.with_autocommit(&db, |conn| run(conn, &db))?
            }
            Some(id) => {
                let mut lease = self.transactions.take(id, i)?;
                let result = (|| {
                    if writes && lease.write.is_none() {
                        lease.write = Some(self.write_lock(i)?);
                    }
                    // MySQL commits the open transaction before DDL, and the transaction goes on after it.
                    // Source: https://dev.mysql.com/doc/refman/5.7/en/implicit-commit.html
                    let ddl = translated.kind.is_ddl();
                    if ddl {
                        storage::commit(&lease.conn)?;
                    }
                    let out = run(&lease.conn, &lease.database);
                    if ddl {
                        storage::begin(&lease.conn)?;
                    }
                    if stale.get() {
                        // InnoDB rolls the whole transaction back on a deadlock, and the next statement begins
                        // a new one.
                        storage::rollback(&lease.conn)?;
                        storage::begin(&lease.conn)?;
                        lease.write = None;
                    }
                    out
                })();
                self.transactions
                    .put_back(id, lease, self.env.clock.now_ms());
                result?
            }
        };
        Ok(Ran {
            translated,
            outcome,
            generated,
        })
    }
}
