//! What a database's tables look like and hold, read for MySQL's error texts and counts: keys, columns and
//! declared types, rows that collide.

use super::{Conn, DbError, Param, Sql, run};
use rusqlite::types::ValueRef;

/// Whether `table`'s primary key is an `AUTOINCREMENT` column.
pub fn autoincrement(conn: &Conn, table: &str) -> bool {
    let (schema, name) = split_table(table);
    conn.0
        .prepare_cached(&format!(
            "SELECT sql FROM \"{schema}\".sqlite_master WHERE type = 'table' AND name = ?1"
        ))
        .and_then(|mut st| st.query_row([name], |r| r.get::<_, String>(0)))
        .map(|sql| sql.to_ascii_uppercase().contains("AUTOINCREMENT"))
        .unwrap_or(false)
}

pub(super) fn split_table(table: &str) -> (&str, &str) {
    table.split_once('.').unwrap_or(("main", table))
}

/// The name of the unique index of `table` over exactly `columns`, and whether it is the primary key.
pub fn unique_index(conn: &Conn, table: &str, columns: &[String]) -> Option<(String, bool)> {
    let (schema, name) = split_table(table);
    let mut st = conn
        .0
        .prepare(&format!("PRAGMA \"{schema}\".index_list(\"{name}\")"))
        .ok()?;
    let indexes: Vec<(String, bool, String)> = st
        .query_map([], |r| Ok((r.get(1)?, r.get::<_, i64>(2)? == 1, r.get(3)?)))
        .map(|rows| rows.flatten().collect())
        .unwrap_or_default();
    for (index, unique, origin) in indexes {
        if !unique {
            continue;
        }
        let Ok(mut info) = conn
            .0
            .prepare(&format!("PRAGMA \"{schema}\".index_info(\"{index}\")"))
        else {
            continue;
        };
        let cols: Vec<String> = info
            .query_map([], |r| r.get::<_, String>(2))
            .map(|rows| rows.flatten().collect())
            .unwrap_or_default();
        if cols == columns {
            return Some((index, origin == "pk"));
        }
    }
    None
}

/// The first value of `columns` that two rows of `table` share, which stops a unique index being made.
pub fn first_duplicate(conn: &Conn, table: &str, columns: &[String]) -> Option<Vec<Sql>> {
    let (schema, name) = split_table(table);
    let cols: Vec<String> = columns.iter().map(|c| format!("\"{c}\"")).collect();
    let cols = cols.join(", ");
    let sql = format!(
        "SELECT {cols} FROM \"{schema}\".\"{name}\" GROUP BY {cols} HAVING count(*) > 1 ORDER BY min(rowid) LIMIT 1"
    );
    let mut st = conn.0.prepare(&sql).ok()?;
    let n = columns.len();
    st.query_row([], |r| {
        (0..n)
            .map(|i| {
                Ok(match r.get_ref(i)? {
                    ValueRef::Null => Sql::Null,
                    ValueRef::Integer(v) => Sql::Integer(v),
                    ValueRef::Real(v) => Sql::Real(v),
                    ValueRef::Text(t) => Sql::Text(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(b) => Sql::Blob(b.to_vec()),
                })
            })
            .collect()
    })
    .ok()
}

/// Sets `table`'s next `AUTO_INCREMENT` value back to 1 (`TRUNCATE TABLE`).
pub fn reset_autoincrement(conn: &Conn, table: &str) -> Result<(), DbError> {
    let (schema, name) = split_table(table);
    conn.0.execute(
        &format!("DELETE FROM \"{schema}\".sqlite_sequence WHERE name = ?1"),
        [name],
    )?;
    Ok(())
}

/// The primary key columns of `table`, in key order.
pub fn primary_key(conn: &Conn, table: &str) -> Vec<String> {
    let (schema, name) = split_table(table);
    let Ok(mut st) = conn
        .0
        .prepare(&format!("PRAGMA \"{schema}\".table_info(\"{name}\")"))
    else {
        return vec![];
    };
    let mut cols: Vec<(i64, String)> = st
        .query_map([], |r| Ok((r.get::<_, i64>(5)?, r.get::<_, String>(1)?)))
        .map(|rows| rows.flatten().filter(|(pk, _)| *pk > 0).collect())
        .unwrap_or_default();
    cols.sort();
    cols.into_iter().map(|(_, c)| c).collect()
}

/// The foreign keys of `table`: (referenced table, its columns, our columns).
pub fn foreign_keys(conn: &Conn, table: &str) -> Vec<(String, Vec<String>, Vec<String>)> {
    let (schema, name) = split_table(table);
    let Ok(mut st) = conn
        .0
        .prepare(&format!("PRAGMA \"{schema}\".foreign_key_list(\"{name}\")"))
    else {
        return vec![];
    };
    let rows: Vec<(i64, String, String, String)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(2)?, r.get(3)?, r.get(4)?)))
        .map(|rows| rows.flatten().collect())
        .unwrap_or_default();
    let mut out: Vec<(String, Vec<String>, Vec<String>)> = Vec::new();
    let mut last = -1;
    for (id, parent, from, to) in rows {
        if id != last {
            out.push((parent, vec![], vec![]));
            last = id;
        }
        let fk = out.last_mut().expect("pushed above");
        fk.1.push(to);
        fk.2.push(from);
    }
    out
}

/// The tables of the connection's `main` database.
pub fn tables(conn: &Conn) -> Vec<String> {
    let Ok(mut st) = conn.0.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    ) else {
        return vec![];
    };
    st.query_map([], |r| r.get::<_, String>(0))
        .map(|rows| rows.flatten().collect())
        .unwrap_or_default()
}

/// Evaluates `SELECT <exprs>` with the statement's parameters, to learn the values an INSERT row held.
pub fn evaluate(conn: &Conn, exprs: &[String], params: &[Param]) -> Option<Vec<Sql>> {
    let sql = format!("SELECT {}", exprs.join(", "));
    run(conn, &sql, params, true).ok()?.rows.into_iter().next()
}

/// The rows of a query, for working out an error's details.
pub fn rows(conn: &Conn, sql: &str, params: &[Param]) -> Vec<Vec<Sql>> {
    run(conn, sql, params, true)
        .map(|o| o.rows)
        .unwrap_or_default()
}

/// The declared type of `table`'s column `column`.
pub fn column_decl(conn: &Conn, table: &str, column: &str) -> Option<String> {
    let (schema, name) = split_table(table);
    let mut st = conn
        .0
        .prepare_cached("SELECT type FROM pragma_table_info(?1, ?2) WHERE name = ?3 COLLATE NOCASE")
        .ok()?;
    st.query_row((name, schema, column), |r| r.get(0)).ok()
}

/// How many rows `table` has.
pub fn count_rows(conn: &Conn, table: &str) -> Result<i64, DbError> {
    let (schema, name) = split_table(table);
    Ok(conn.0.query_row(
        &format!("SELECT count(*) FROM \"{schema}\".\"{name}\""),
        [],
        |r| r.get(0),
    )?)
}

/// The columns of `table`, in order.
pub fn column_names(conn: &Conn, table: &str) -> Vec<String> {
    let (schema, name) = split_table(table);
    let Ok(mut st) = conn
        .0
        .prepare(&format!("PRAGMA \"{schema}\".table_info(\"{name}\")"))
    else {
        return vec![];
    };
    st.query_map([], |r| r.get::<_, String>(1))
        .map(|rows| rows.flatten().collect())
        .unwrap_or_default()
}

/// `table`'s `CREATE TABLE` statement, as SQLite keeps it.
pub fn create_sql(conn: &Conn, table: &str) -> Option<String> {
    let (schema, name) = split_table(table);
    conn.0
        .query_row(
            &format!(
                "SELECT sql FROM \"{schema}\".sqlite_master WHERE type = 'table' AND name = ?1"
            ),
            [name],
            |r| r.get(0),
        )
        .ok()
}

/// Whether a row other than `rowid` has these values in these columns.
pub fn other_row_exists(
    conn: &Conn,
    table: &str,
    columns: &[String],
    values: &[Sql],
    rowid: &Sql,
) -> bool {
    let mut cond: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| format!("\"{c}\" IS ?{}", i + 1))
        .collect();
    cond.push(format!("rowid IS NOT ?{}", columns.len() + 1));
    let (schema, name) = split_table(table);
    let sql = format!(
        "SELECT 1 FROM \"{schema}\".\"{name}\" WHERE {}",
        cond.join(" AND ")
    );
    conn.0
        .query_row(
            &sql,
            rusqlite::params_from_iter(values.iter().chain(std::iter::once(rowid))),
            |_| Ok(()),
        )
        .is_ok()
}

/// Whether a row with these values in these columns exists.
pub fn row_exists(conn: &Conn, table: &str, columns: &[String], values: &[Sql]) -> bool {
    let cond: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| format!("\"{c}\" IS ?{}", i + 1))
        .collect();
    let (schema, name) = split_table(table);
    let sql = format!(
        "SELECT 1 FROM \"{schema}\".\"{name}\" WHERE {}",
        cond.join(" AND ")
    );
    conn.0
        .query_row(&sql, rusqlite::params_from_iter(values.iter()), |_| Ok(()))
        .is_ok()
}
