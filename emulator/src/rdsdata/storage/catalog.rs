//! The schema as translation asks about it ([`crate::rdsdata::sql::Catalog`]), read from a database's SQLite
//! catalog through a pooled connection, taken at the first question and given back when done.

use std::cell::OnceCell;

use super::{ClusterFiles, Conn, Pooled, column_decl, primary_key, split_table};
use crate::rdsdata::sql::Catalog;

/// The catalog of database `db` of a cluster.
pub struct SchemaCatalog<'a> {
    files: &'a ClusterFiles,
    db: &'a str,
    conn: OnceCell<Option<Pooled>>,
}

impl<'a> SchemaCatalog<'a> {
    pub fn new(files: &'a ClusterFiles, db: &'a str) -> Self {
        SchemaCatalog {
            files,
            db,
            conn: OnceCell::new(),
        }
    }

    fn conn(&self) -> Option<&Conn> {
        self.conn
            .get_or_init(|| self.files.checkout(self.db).ok())
            .as_deref()
    }
}

impl Drop for SchemaCatalog<'_> {
    fn drop(&mut self) {
        if let Some(Some(c)) = self.conn.take() {
            self.files.checkin(c);
        }
    }
}

impl Catalog for SchemaCatalog<'_> {
    fn column_type(&self, table: &str, column: &str) -> Option<String> {
        column_decl(self.conn()?, table, column)
    }

    fn unique_keys(&self, table: &str) -> Vec<Vec<String>> {
        let Some(conn) = self.conn() else {
            return vec![];
        };
        unique_keys(conn, table)
    }
}

/// The keys of `table` that no two rows share: its primary key, and each unique index whose columns are all
/// NOT NULL.
pub fn unique_keys(conn: &Conn, table: &str) -> Vec<Vec<String>> {
    let (schema, name) = split_table(table);
    let mut keys = vec![];
    let pk = primary_key(conn, table);
    if !pk.is_empty() {
        keys.push(pk);
    }
    let not_null: Vec<String> = conn
        .0
        .prepare(&format!("PRAGMA \"{schema}\".table_info(\"{name}\")"))
        .and_then(|mut st| {
            st.query_map([], |r| {
                Ok((r.get::<_, String>(1)?, r.get::<_, i64>(3)? == 1))
            })
            .map(|rows| {
                rows.flatten()
                    .filter(|(_, nn)| *nn)
                    .map(|(c, _)| c)
                    .collect()
            })
        })
        .unwrap_or_default();
    let indexes: Vec<String> = conn
        .0
        .prepare(&format!("PRAGMA \"{schema}\".index_list(\"{name}\")"))
        .and_then(|mut st| {
            st.query_map([], |r| {
                Ok((r.get::<_, String>(1)?, r.get::<_, i64>(2)? == 1))
            })
            .map(|rows| rows.flatten().filter(|(_, u)| *u).map(|(i, _)| i).collect())
        })
        .unwrap_or_default();
    for index in indexes {
        let columns: Vec<String> = conn
            .0
            .prepare(&format!("PRAGMA \"{schema}\".index_info(\"{index}\")"))
            .and_then(|mut st| {
                st.query_map([], |r| r.get::<_, String>(2))
                    .map(|rows| rows.flatten().collect())
            })
            .unwrap_or_default();
        if !columns.is_empty()
            && columns
                .iter()
                .all(|c| not_null.iter().any(|n| n.eq_ignore_ascii_case(c)))
        {
            keys.push(columns);
        }
    }
    keys
}
