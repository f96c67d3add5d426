//! MySQL's error texts for SQLite's failures. The texts are MySQL 5.7's ("Server Error Message Reference",
//! https://dev.mysql.com/doc/mysql-errors/5.7/en/server-error-reference.html), the version behind Aurora Serverless
//! v1, whose Data API the seed used.

use super::RdsError;
use super::sql::{self, Kind, Translated};
use super::storage::{self, Conn, DbError, Param, Sql};

/// SQLite's failure of `t`, in MySQL's words. `db` is the connection's default database.
pub fn error(conn: &Conn, db: &str, t: &Translated, params: &[Param], e: DbError) -> RdsError {
    let bad = RdsError::BadRequest;
    match e {
        DbError::Unique(cols) => duplicate(conn, t, params, &cols),
        DbError::ForeignKey => foreign_key(conn, db, t),
        // ER_BAD_NULL_ERROR (1048).
        DbError::NotNull(col) => bad(format!("Column '{col}' cannot be null")),
        // ER_NO_SUCH_TABLE (1146).
        // ER_BAD_TABLE_ERROR (1051).
        DbError::NoSuchTable(table) if t.kind == Kind::DropTable => {
            let table = if table.contains('.') {
                table
            } else {
                format!("{db}.{table}")
            };
            bad(format!("Unknown table '{table}'"))
        }
        DbError::NoSuchTable(table) if table.contains('.') => {
            bad(format!("Table '{table}' doesn't exist"))
        }
        DbError::NoSuchTable(table) => bad(format!("Table '{db}.{table}' doesn't exist")),
        // ER_BAD_FIELD_ERROR (1054).
        // FIXME: MySQL names the clause ('where clause', 'order clause', ...); we always say 'field list'.
        DbError::NoSuchColumn(col) => bad(format!("Unknown column '{col}' in 'field list'")),
        // ER_TABLE_EXISTS_ERROR (1050).
        DbError::TableExists(table) => bad(format!("Table '{table}' already exists")),
        // ER_SP_DOES_NOT_EXIST (1305).
        DbError::NoSuchFunction(f) => bad(format!("FUNCTION {db}.{f} does not exist")),
        // MySQL Connector/J's text for an unset parameter (the Data API runs `:name` parameters through JDBC).
        DbError::Unbound(i) => bad(format!("No value specified for parameter {i}")),
        // ER_LOCK_WAIT_TIMEOUT (1205). Writers wait for the cluster's write lock before they reach SQLite, so
        // this is only SQLite's own busy timeout running out.
        DbError::Busy => bad("Lock wait timeout exceeded; try restarting transaction".into()),
        // ER_LOCK_DEADLOCK (1213). FIXME: InnoDB lets a transaction that read before another's commit write the
        // newest rows; SQLite's snapshot cannot, so the transaction is rolled back as InnoDB does on a deadlock.
        DbError::Snapshot => {
            bad("Deadlock found when trying to get lock; try restarting transaction".into())
        }
        DbError::ResultTooLarge => bad("Database response exceeded size limit".into()),
        // ER_DUP_FIELDNAME (1060).
        DbError::DuplicateColumn(col) => bad(format!("Duplicate column name '{col}'")),
        DbError::Check(name) => bad(sql::check_failure(&name)
            .unwrap_or_else(|| format!("Check constraint '{name}' is violated."))),
        // FIXME: other SQLite failures keep SQLite's words.
        DbError::Other(text) => bad(text),
    }
}

fn text(v: &Sql) -> String {
    match v {
        Sql::Text(s) => s.clone(),
        Sql::Integer(n) => n.to_string(),
        Sql::Real(f) => f.to_string(),
        Sql::Null => "NULL".into(),
        Sql::Blob(b) => String::from_utf8_lossy(b).into_owned(),
    }
}

/// `Duplicate entry 'v' for key 'PRIMARY'` (ER_DUP_ENTRY, 1062): the row of an INSERT that hit an existing key. A
/// composite key's values are joined with `-`, and a unique key is named after its first column, as MySQL names
/// unnamed keys.
fn duplicate(conn: &Conn, t: &Translated, params: &[Param], cols: &[String]) -> RdsError {
    let cols: Vec<String> = cols
        .iter()
        .map(|c| c.rsplit('.').next().unwrap_or(c).to_string())
        .collect();
    let mut entry = None;
    let mut key = cols.first().cloned().unwrap_or_default();
    // A unique index that could not be made over rows that break it (`ALTER TABLE ... ADD UNIQUE KEY`, `CREATE
    // UNIQUE INDEX`) names the first value two rows share.
    if let Some((table, key)) = std::iter::once(&t.sql)
        .chain(&t.after)
        .find_map(|s| sql::unique_index_of(s, &cols))
    {
        let entry = storage::first_duplicate(conn, &table, &cols)
            .map(|v| v.iter().map(text).collect::<Vec<_>>().join("-"))
            .unwrap_or_default();
        return RdsError::BadRequest(format!("Duplicate entry '{entry}' for key '{key}'"));
    }
    let table = match &t.kind {
        Kind::Insert { table, .. } | Kind::Write { table, .. } => Some(table),
        _ => None,
    };
    // The key's MySQL name: PRIMARY, a named key's own name, or an unnamed one's first column.
    if let Some(table) = table {
        match storage::unique_index(conn, table, &cols) {
            Some((_, true)) => key = "PRIMARY".into(),
            Some((index, false)) => {
                let bare = table.rsplit('.').next().unwrap_or(table);
                if let Some(k) = sql::key_of_index(bare, &index) {
                    key = k.to_string();
                }
            }
            None if storage::primary_key(conn, table) == cols => key = "PRIMARY".into(),
            None => {}
        }
    }
    if let Kind::Insert {
        table,
        columns,
        rows,
    } = &t.kind
    {
        let positions: Option<Vec<usize>> = cols
            .iter()
            .map(|c| columns.iter().position(|x| x == c))
            .collect();
        if let Some(positions) = positions {
            // The first row whose key is taken: by a row already there, or by an earlier row of this INSERT.
            let mut seen: Vec<Vec<String>> = Vec::new();
            for row in rows {
                let exprs: Option<Vec<String>> =
                    positions.iter().map(|&p| row.get(p).cloned()).collect();
                let Some(values) = exprs.and_then(|e| storage::evaluate(conn, &e, params)) else {
                    continue;
                };
                let shown: Vec<String> = values.iter().map(text).collect();
                let folded: Vec<String> = shown.iter().map(|v| v.to_lowercase()).collect();
                if seen.contains(&folded) || storage::row_exists(conn, table, &cols, &values) {
                    entry = Some(shown.join("-"));
                    break;
                }
                seen.push(folded);
            }
        }
    }
    match entry {
        Some(entry) => RdsError::BadRequest(format!("Duplicate entry '{entry}' for key '{key}'")),
        // FIXME: outside a plain INSERT of existing values (an UPDATE, two equal rows in one INSERT) we cannot
        // name the entry, which MySQL does.
        None => RdsError::BadRequest(format!("Duplicate entry for key '{key}'")),
    }
}

/// MySQL's foreign key failures (ER_ROW_IS_REFERENCED_2, 1451, and ER_NO_REFERENCED_ROW_2, 1452), naming the
/// constraint as InnoDB names it by default.
fn foreign_key(conn: &Conn, db: &str, t: &Translated) -> RdsError {
    let describe = |child: &str,
                    n: usize,
                    (parent, pcols, cols): &(String, Vec<String>, Vec<String>)| {
        format!(
            "(`{db}`.`{child}`, CONSTRAINT `{child}_ibfk_{n}` FOREIGN KEY (`{}`) REFERENCES `{parent}` (`{}`))",
            cols.join("`, `"),
            pcols.join("`, `")
        )
    };
    match &t.kind {
        Kind::Write {
            table,
            delete: true,
        } => {
            let parent = table.rsplit('.').next().unwrap_or(table);
            for child in storage::tables(conn) {
                let fks = storage::foreign_keys(conn, &child);
                if let Some((n, fk)) = fks.iter().enumerate().find(|(_, fk)| fk.0 == parent) {
                    return RdsError::BadRequest(format!(
                        "Cannot delete or update a parent row: a foreign key constraint fails {}",
                        describe(&child, n + 1, fk)
                    ));
                }
            }
            RdsError::BadRequest(
                "Cannot delete or update a parent row: a foreign key constraint fails".into(),
            )
        }
        Kind::Insert { table, .. } | Kind::Write { table, .. } => {
            let child = table.rsplit('.').next().unwrap_or(table);
            match storage::foreign_keys(conn, table).first() {
                Some(fk) => RdsError::BadRequest(format!(
                    "Cannot add or update a child row: a foreign key constraint fails {}",
                    describe(child, 1, fk)
                )),
                None => RdsError::BadRequest(
                    "Cannot add or update a child row: a foreign key constraint fails".into(),
                ),
            }
        }
        _ => RdsError::BadRequest(
            "Cannot add or update a child row: a foreign key constraint fails".into(),
        ),
    }
}
