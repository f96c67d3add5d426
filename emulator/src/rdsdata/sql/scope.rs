//! What a statement's translation may know of the schema: the declared types and keys of the tables it names,
//! asked of a [`Catalog`] (the storage's, when a statement runs). Types decide what MySQL would do with a value,
//! such as comparing DECIMAL arithmetic exactly or writing a DECIMAL column into a string at its scale.
//!
//! A translation that asked the catalog depends on the schema, so translations are kept only until the next DDL
//! statement (see `cache`).

use std::ops::ControlFlow;

use sqlparser::ast::{Expr, Ident, Statement, TableFactor, Visit, Visitor};

use super::types::Ty;

/// The schema, as translation needs it.
pub trait Catalog {
    /// The declared type of `column` of `table` (`db.table` for another database than the default), if both
    /// exist.
    fn column_type(&self, table: &str, column: &str) -> Option<String>;
    /// The keys of `table` that no two rows share: its primary key, and each unique key whose columns are all
    /// NOT NULL.
    fn unique_keys(&self, table: &str) -> Vec<Vec<String>>;
}

/// A catalog that knows no table: translation without a schema.
pub struct NoCatalog;

impl Catalog for NoCatalog {
    fn column_type(&self, _: &str, _: &str) -> Option<String> {
        None
    }

    fn unique_keys(&self, _: &str) -> Vec<Vec<String>> {
        vec![]
    }
}

/// The tables a statement names, with what it calls them, and the catalog to ask about them.
pub struct Scope<'a> {
    /// (table, what the statement calls it: its alias, or its name without the database).
    pub tables: Vec<(String, String)>,
    pub catalog: &'a dyn Catalog,
    /// The default database, which MySQL's messages name columns by.
    pub database: Option<&'a str>,
}

#[derive(Default)]
struct Tables(Vec<(String, String)>);

impl Visitor for Tables {
    type Break = ();

    fn pre_visit_table_factor(&mut self, f: &TableFactor) -> ControlFlow<()> {
        if let TableFactor::Table { name, alias, .. } = f {
            self.0.push(super::table_and_alias(name, alias.as_ref()));
        }
        ControlFlow::Continue(())
    }
}

impl<'a> Scope<'a> {
    /// The scope of `st`: every table it names, in subqueries too.
    pub fn of(st: &Statement, catalog: &'a dyn Catalog, database: Option<&'a str>) -> Self {
        let mut tables = Tables::default();
        let _ = st.visit(&mut tables);
        Scope {
            tables: tables.0,
            catalog,
            database,
        }
    }

    /// The table a column reference is of, and the column's name: by its qualifier, or else the one table of the
    /// statement that has such a column.
    pub fn column(&self, e: &Expr) -> Option<(String, String)> {
        let (qualifier, col): (Option<&Ident>, &Ident) = match e {
            Expr::Identifier(i) => (None, i),
            Expr::CompoundIdentifier(parts) => {
                (parts.len().checked_sub(2).map(|i| &parts[i]), parts.last()?)
            }
            _ => return None,
        };
        let mut found = self.tables.iter().filter(|(table, called)| {
            qualifier.is_none_or(|q| q.value.eq_ignore_ascii_case(called))
                && self.catalog.column_type(table, &col.value).is_some()
        });
        let (table, _) = found.next()?;
        if qualifier.is_none() && found.any(|(other, _)| other != table) {
            return None;
        }
        Some((table.clone(), col.value.clone()))
    }

    /// A column reference's MySQL type.
    pub fn column_ty(&self, e: &Expr) -> Option<Ty> {
        let (table, col) = self.column(e)?;
        Ty::from_decl(&self.catalog.column_type(&table, &col)?)
    }

    /// An expression's MySQL type, from its literals and the declared types of its columns.
    pub fn ty(&self, e: &Expr) -> Option<Ty> {
        super::types::infer(e, &|c| self.column_ty(c))
    }

    /// A column as MySQL's messages name it: `` `db`.`table`.`column` ``.
    pub fn qualified(&self, e: &Expr) -> Option<String> {
        let (table, col) = self.column(e)?;
        let (db, table) = match table.split_once('.') {
            Some((db, t)) => (Some(db), t),
            None => (self.database, table.as_str()),
        };
        Some(match db {
            Some(db) => format!("`{db}`.`{table}`.`{col}`"),
            None => format!("`{table}`.`{col}`"),
        })
    }
}
