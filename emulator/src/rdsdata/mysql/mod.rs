//! MySQL's error texts for SQLite's failures. The texts are MySQL 5.7's ("Server Error Message Reference",
//! https://dev.mysql.com/doc/mysql-errors/5.7/en/server-error-reference.html), the version behind Aurora Serverless
//! v1, whose Data API the seed used.

use super::RdsError;
use super::sql::{Kind, Translated};
use super::storage::{Conn, DbError, Param};

mod clauses;
mod keys;

/// MySQL's syntax error (ER_PARSE_ERROR, 1064) for SQLite's parser stopping at `token` of the translated statement:
/// from the same token in what the caller wrote.
fn syntax(source: &str, token: &str) -> String {
    let lower = source.to_ascii_lowercase();
    let near = lower
        .find(&token.to_ascii_lowercase())
        .map(|i| &source[i..])
        .unwrap_or("");
    let near: String = near.chars().take(80).collect();
    format!(
        "You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near '{near}' at line 1"
    )
}

/// SQLite's failure of `t`, in MySQL's words. `db` is the connection's default database, and `source` the
/// statement as the caller wrote it.
pub fn error(
    conn: &Conn,
    db: &str,
    source: &str,
    t: &Translated,
    params: &[Param],
    e: DbError,
) -> RdsError {
    let e = mysql_error(conn, db, source, t, params, e);
    // MySQL's INSERT IGNORE stores a value that strict mode refuses clamped to its type, or cut, with a warning.
    // Source: https://dev.mysql.com/doc/refman/5.7/en/sql-mode.html#ignore-strict-comparison
    if let (
        Kind::Insert {
            conflict: super::sql::Conflict::Skip,
            ..
        },
        RdsError::BadRequest(message),
    ) = (&t.kind, &e)
        && STRICT_ERRORS.iter().any(|p| message.starts_with(p))
    {
        return RdsError::BadRequest(format!(
            "Offcloud's Data API does not support INSERT IGNORE of a value that strict mode refuses, which MySQL stores clamped or cut with a warning: {message}"
        ));
    }
    e
}

/// The beginnings of strict mode's errors for a value that does not fit its column (1264, 1265, 1292, 1366, 1406).
const STRICT_ERRORS: &[&str] = &[
    "Out of range value for column",
    "Data truncated for column",
    "Data too long for column",
    "Incorrect integer value",
    "Incorrect decimal value",
    "Incorrect date value",
    "Incorrect datetime value",
    "Incorrect time value",
];

fn mysql_error(
    conn: &Conn,
    db: &str,
    source: &str,
    t: &Translated,
    params: &[Param],
    e: DbError,
) -> RdsError {
    let bad = RdsError::BadRequest;
    match e {
        DbError::Unique(cols) => keys::duplicate(conn, t, params, &cols),
        DbError::ForeignKey => keys::foreign_key(conn, db, t),
        // ER_NO_DEFAULT_FOR_FIELD (1364): an INSERT that left out a NOT NULL column without a default.
        DbError::NotNull(col)
            if matches!(&t.kind, Kind::Insert { columns, .. }
                if !columns.is_empty() && !columns.iter().any(|c| c.eq_ignore_ascii_case(&col))) =>
        {
            bad(format!("Field '{col}' doesn't have a default value"))
        }
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
        // ER_BAD_FIELD_ERROR (1054), naming the clause the column is in.
        DbError::NoSuchColumn(col) => bad(format!(
            "Unknown column '{col}' in '{}'",
            clauses::clause_of(&t.sql, &col)
        )),
        // ER_NON_UNIQ_ERROR (1052).
        DbError::Ambiguous(col) => bad(format!(
            "Column '{col}' in {} is ambiguous",
            clauses::clause_of(&t.sql, &col)
        )),
        // ER_WRONG_VALUE_COUNT_ON_ROW (1136).
        DbError::ColumnCount => bad("Column count doesn't match value count at row 1".into()),
        DbError::Syntax(token) => bad(syntax(source, &token)),
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
        DbError::Check(name) => bad(super::sql::check_failure(&name)
            .unwrap_or_else(|| format!("Check constraint '{name}' is violated."))),
        // FIXME: other SQLite failures keep SQLite's words.
        DbError::Other(text) => bad(text),
    }
}
