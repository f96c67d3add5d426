//! MySQL's texts for broken keys: duplicate entries and foreign keys.

use super::super::RdsError;
use super::super::sql::{self, Kind, Translated};
use super::super::storage::{self, Conn, Param, Sql};

fn text(v: &Sql) -> String {
    match v {
        Sql::Text(s) | Sql::Hinted(s, _) => s.clone(),
        Sql::Array(_) => String::new(),
        Sql::Integer(n) => n.to_string(),
        Sql::Bool(b) => i64::from(*b).to_string(),
        Sql::Real(f) => f.to_string(),
        Sql::Null => "NULL".into(),
        Sql::Blob(b) => String::from_utf8_lossy(b).into_owned(),
    }
}

/// `Duplicate entry 'v' for key 'PRIMARY'` (ER_DUP_ENTRY, 1062): the row of an INSERT that hit an existing key. A
/// composite key's values are joined with `-`, and a unique key is named after its first column, as MySQL names
/// unnamed keys.
pub fn duplicate(conn: &Conn, t: &Translated, params: &[Param], cols: &[String]) -> RdsError {
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
        ..
    } = &t.kind
    {
        // Without a column list, the values are the table's columns in order.
        let all;
        let columns = if columns.is_empty() {
            all = storage::column_names(conn, table);
            &all
        } else {
            columns
        };
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
    if let Kind::Write {
        table,
        delete: false,
        set,
        filter,
    } = &t.kind
    {
        entry = updated_entry(conn, table, set, filter.as_deref(), params, &cols);
    }
    match entry {
        Some(entry) => RdsError::BadRequest(format!("Duplicate entry '{entry}' for key '{key}'")),
        // FIXME: where we cannot work the entry out (an INSERT ... SELECT, a multi-table UPDATE), MySQL still
        // names it.
        None => RdsError::BadRequest(format!("Duplicate entry for key '{key}'")),
    }
}

/// The first key an UPDATE would have given a row that another row already has, or that it gave two rows.
fn updated_entry(
    conn: &Conn,
    table: &str,
    set: &[(String, String)],
    filter: Option<&str>,
    params: &[Param],
    cols: &[String],
) -> Option<String> {
    let exprs: Vec<String> = cols
        .iter()
        .map(|c| {
            set.iter()
                .rev()
                .find(|(col, _)| col.eq_ignore_ascii_case(c))
                .map(|(_, v)| format!("({v})"))
                .unwrap_or_else(|| format!("\"{c}\""))
        })
        .collect();
    let mut query = format!("SELECT rowid, {} FROM {table}", exprs.join(", "));
    if let Some(f) = filter {
        query.push_str(&format!(" WHERE {f}"));
    }
    let mut seen: Vec<Vec<String>> = Vec::new();
    for row in storage::rows(conn, &query, params) {
        let (rowid, values) = row.split_first()?;
        let shown: Vec<String> = values.iter().map(text).collect();
        let folded: Vec<String> = shown.iter().map(|v| v.to_lowercase()).collect();
        if seen.contains(&folded) || storage::other_row_exists(conn, table, cols, values, rowid) {
            return Some(shown.join("-"));
        }
        seen.push(folded);
    }
    None
}

/// MySQL's foreign key failures (ER_ROW_IS_REFERENCED_2, 1451, and ER_NO_REFERENCED_ROW_2, 1452), naming the
/// constraint as InnoDB names it by default.
pub fn foreign_key(conn: &Conn, db: &str, t: &Translated) -> RdsError {
    // The constraint as MySQL prints it: its declared name (or InnoDB's `<table>_ibfk_<n>`) and actions.
    let describe = |child: &str,
                    n: usize,
                    (parent, pcols, cols): &(String, Vec<String>, Vec<String>)| {
        let declared = storage::create_sql(conn, child)
            .map(|s| sql::declared_foreign_keys(&s))
            .unwrap_or_default();
        let found = declared.iter().find(|d| &d.columns == cols);
        let name = found
            .and_then(|d| d.name.clone())
            .unwrap_or_else(|| format!("{child}_ibfk_{n}"));
        let actions = found.map(|d| d.actions.clone()).unwrap_or_default();
        format!(
            "(`{db}`.`{child}`, CONSTRAINT `{name}` FOREIGN KEY (`{}`) REFERENCES `{parent}` (`{}`){actions})",
            cols.join("`, `"),
            pcols.join("`, `")
        )
    };
    match &t.kind {
        Kind::Write {
            table,
            delete: true,
            ..
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
