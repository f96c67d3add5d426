//! MySQL statements, parsed with `sqlparser` (MySQL dialect), checked, and translated into SQLite's dialect.
//!
//! Translation is by syntax tree, never by text: `NOW()`, `UTC_TIMESTAMP()`, `CURRENT_TIMESTAMP()`,
//! `SYSDATE()` and `CURDATE()` become literals from the emulator's clock (and `DEFAULT CURRENT_TIMESTAMP` a call of
//! the storage's clock function), `ON DUPLICATE KEY UPDATE` becomes SQLite's upsert (with `VALUES(col)` as
//! `excluded.col`), `AUTO_INCREMENT` becomes `AUTOINCREMENT`, text columns compare without case as under MySQL's
//! default `_ci` collations, `"text"` is a string as in MySQL, `/` divides without truncating, and MySQL's table
//! options (`ENGINE=`, `CHARSET=`, ...) are dropped. Only functions that mean the same in both are let through; a
//! construct we cannot run as MySQL would fails with an error that names it, rather than giving another answer. MySQL's error texts come from the MySQL 5.7 reference manual ("Server Error Message
//! Reference"), the version behind Aurora Serverless v1, whose Data API the seed used.

use std::ops::ControlFlow;

use sqlparser::ast::{
    ObjectName, OnConflict, OnConflictAction, OnInsert, Statement, TableObject,
    visit_expressions_mut, visit_relations_mut,
};
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;

use super::RdsError;
use ddl::translate_create_table;
use exprs::rewrite_expr;

mod cache;
mod ddl;
mod dml;
mod exprs;
mod grouping;
mod labels;
mod scope;
mod stored;
mod subquery;
#[cfg(test)]
mod tests;
mod tokens;
mod types;

/// The longest SQL text the Data API takes (botocore `rds-data` model, `SqlStatement` max 65536).
pub const MAX_SQL: usize = 65_536;

/// What a statement does, as far as the Data API's answer is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// `CREATE DATABASE`: a new SQLite file, attached under its name.
    CreateDatabase { name: String, if_not_exists: bool },
    /// A statement that returns rows.
    Query,
    /// `SELECT ... FOR UPDATE` or `LOCK IN SHARE MODE`: it returns rows, and in a transaction it takes the write
    /// lock as a write would, as InnoDB's locking reads take row locks.
    LockingQuery,
    /// `INSERT` into `table`, with the column list and, per row, the value expressions as SQL text.
    Insert {
        table: String,
        columns: Vec<String>,
        rows: Vec<Vec<String>>,
        conflict: Conflict,
    },
    /// `UPDATE` or `DELETE` on `table`; an UPDATE's assignments (column, value as SQL) and row filter, which
    /// work out the entry of a duplicate key it made.
    Write {
        table: String,
        delete: bool,
        set: Vec<(String, String)>,
        filter: Option<String>,
    },
    /// `TRUNCATE TABLE`: every row deleted, and the table's `AUTO_INCREMENT` counter reset.
    Truncate { table: String },
    /// `DROP TABLE`, whose missing table MySQL words apart from other statements'.
    DropTable,
    /// Anything else that runs as it is translated (DDL).
    Other,
}

/// What an INSERT does with a row whose key is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    Fail,
    /// `INSERT IGNORE`.
    Skip,
    /// `ON DUPLICATE KEY UPDATE`: SQLite's upsert, which returns the rowids it wrote so that they can be counted
    /// as MySQL counts them (1 per inserted row, 2 per changed one).
    Update,
    /// `REPLACE`: the rows in the way are deleted, and MySQL counts them too.
    Replace,
}

impl Kind {
    /// A statement that returns rows.
    pub fn is_query(&self) -> bool {
        matches!(self, Kind::Query | Kind::LockingQuery)
    }

    /// DDL, which commits an open transaction first, and counts no rows.
    pub fn is_ddl(&self) -> bool {
        matches!(
            self,
            Kind::Other | Kind::Truncate { .. } | Kind::DropTable | Kind::CreateDatabase { .. }
        )
    }
}

/// One statement, ready for SQLite.
#[derive(Debug, Clone)]
pub struct Translated {
    pub kind: Kind,
    pub sql: String,
    /// Statements that run after `sql`, as part of it (the indexes of a new table's keys, say).
    pub after: Vec<String>,
    /// A query's select items that are expressions, whose MySQL types are worked out when it has run.
    pub projection: Option<types::Projection>,
}

pub use cache::{Cache, SchemaChange};
pub use ddl::{check_failure, declared_foreign_keys, key_of_index, unique_index_of};
pub use exprs::{MYSQL_COLLATION, MYSQL_PREFIX};
pub use scope::{Catalog, NoCatalog};
pub use subquery::SINGLE_ROW;
pub use types::decls;

/// The Coral text for SQL longer than the model allows.
pub fn too_long(member: &str) -> RdsError {
    RdsError::BadRequest(format!(
        "1 validation error detected: Value at '{member}' failed to satisfy constraint: Member must have length less than or equal to {MAX_SQL}"
    ))
}

/// MySQL's syntax error, pointing at where the parser stopped.
fn syntax_error(sql: &str, line: u64, column: u64) -> RdsError {
    let offset = sql
        .lines()
        .take(line.saturating_sub(1) as usize)
        .map(|l| l.len() + 1)
        .sum::<usize>()
        + column.saturating_sub(1) as usize;
    let near: String = sql
        .get(offset.min(sql.len())..)
        .unwrap_or("")
        .chars()
        .take(80)
        .collect();
    RdsError::BadRequest(format!(
        "You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near '{near}' at line {line}"
    ))
}

/// Where sqlparser's message says it stopped: `... at Line: 1, Column: 8`.
fn position(message: &str) -> (u64, u64) {
    let num = |key: &str| {
        message
            .rfind(key)
            .and_then(|i| {
                message[i + key.len()..]
                    .trim_start()
                    .split(|c: char| !c.is_ascii_digit())
                    .next()
                    .and_then(|n| n.parse().ok())
            })
            .unwrap_or(1)
    };
    (num("Line:"), num("Column:"))
}

/// A table of a FROM clause, and what the statement calls it: its alias, or its name without the database.
pub(crate) fn table_and_alias(
    name: &ObjectName,
    alias: Option<&sqlparser::ast::TableAlias>,
) -> (String, String) {
    let table = self::name(name);
    let called = alias
        .map(|a| a.name.value.clone())
        .unwrap_or_else(|| table.rsplit('.').next().unwrap_or(&table).to_string());
    (table, called)
}

pub(crate) fn name(o: &ObjectName) -> String {
    o.0.iter()
        .map(|p| p.to_string().trim_matches('`').to_string())
        .collect::<Vec<_>>()
        .join(".")
}

/// Parses one MySQL statement and translates it. `database` is the connection's default database, which SQLite
/// knows as `main`: `database.table` is `table`. The translation depends on nothing else but the schema that
/// `catalog` describes (the clock is read by `offcloud_now()` when the statement runs), so it can be cached by its
/// text until the schema changes.
pub fn translate(
    sql: &str,
    database: Option<&str>,
    catalog: &dyn Catalog,
) -> Result<Translated, RdsError> {
    if sql.chars().count() > MAX_SQL {
        return Err(too_long("sql"));
    }
    let rewritten = tokens::mod_operator(sql);
    let rewritten = tokens::update_comma_join(&rewritten);
    let mut statements = Parser::parse_sql(&MySqlDialect {}, &rewritten).map_err(|e| {
        let (line, column) = position(&e.to_string());
        syntax_error(sql, line, column)
    })?;
    match statements.len() {
        0 => return Err(syntax_error(sql, 1, 1)),
        1 => {}
        // The Data API runs one statement per call; MySQL, without multi-statements, stops at the second.
        _ => {
            let second = sql.find(';').map(|i| i + 1).unwrap_or(0);
            let near: String = sql[second..].trim_start().chars().take(80).collect();
            return Err(RdsError::BadRequest(format!(
                "You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near '{near}' at line 1"
            )));
        }
    }
    let mut st = statements.remove(0);
    if let Some(db) = database {
        let _ = visit_relations_mut(&mut st, |n| {
            if n.0.len() == 2 && n.0[0].to_string().trim_matches('`') == db {
                n.0.remove(0);
            }
            ControlFlow::<()>::Continue(())
        });
        if let Statement::CreateTable(t) = &mut st
            && t.name.0.len() == 2
            && t.name.0[0].to_string().trim_matches('`') == db
        {
            t.name.0.remove(0);
        }
    }
    let scope = scope::Scope::of(&st, catalog, database);
    let mut after = Vec::new();
    let mut projection = None;
    let kind = match &mut st {
        Statement::CreateDatabase {
            db_name,
            if_not_exists,
            ..
        } => {
            return Ok(Translated {
                kind: Kind::CreateDatabase {
                    name: name(db_name),
                    if_not_exists: *if_not_exists,
                },
                sql: String::new(),
                after: vec![],
                projection: None,
            });
        }
        Statement::Query(q) => {
            grouping::check(q, &scope)?;
            labels::label_select_items(sql, q);
            projection = types::projection(q);
            if q.locks.is_empty() {
                Kind::Query
            } else {
                q.locks.clear();
                Kind::LockingQuery
            }
        }
        Statement::Insert(insert) => {
            let table = match &insert.table {
                TableObject::TableName(n) => name(n),
                TableObject::TableFunction(_) | TableObject::TableQuery(_) => {
                    return Err(unsupported("INSERT into anything but a named table"));
                }
            };
            // `INSERT INTO t SET a = 1, b = 2` is `INSERT INTO t (a, b) VALUES (1, 2)`.
            if !insert.assignments.is_empty() {
                let (columns, values) = std::mem::take(&mut insert.assignments)
                    .into_iter()
                    .map(|a| match a.target {
                        sqlparser::ast::AssignmentTarget::ColumnName(n) => Ok((n, a.value)),
                        sqlparser::ast::AssignmentTarget::Tuple(_) => {
                            Err(unsupported("INSERT ... SET (a, b) = ..."))
                        }
                    })
                    .collect::<Result<(Vec<_>, Vec<_>), _>>()?;
                insert.columns = columns;
                insert.source = Some(Box::new(sqlparser::ast::Query {
                    with: None,
                    body: Box::new(sqlparser::ast::SetExpr::Values(sqlparser::ast::Values {
                        explicit_row: false,
                        value_keyword: false,
                        rows: vec![sqlparser::ast::Parens {
                            opening_token:
                                sqlparser::ast::helpers::attached_token::AttachedToken::empty(),
                            content: values,
                            closing_token:
                                sqlparser::ast::helpers::attached_token::AttachedToken::empty(),
                        }],
                    })),
                    order_by: None,
                    limit_clause: None,
                    fetch: None,
                    locks: vec![],
                    for_clause: None,
                    settings: None,
                    format_clause: None,
                    pipe_operators: vec![],
                }));
            }
            // MySQL's INSERT IGNORE skips rows that break a key, as SQLite's INSERT OR IGNORE does.
            // FIXME: MySQL's IGNORE also turns other errors (too long values, bad foreign keys) into warnings.
            let mut conflict = if insert.replace_into {
                Conflict::Replace
            } else {
                Conflict::Fail
            };
            if insert.ignore {
                insert.ignore = false;
                insert.or = Some(sqlparser::ast::SqliteOnConflict::Ignore);
                conflict = Conflict::Skip;
            }
            if let Some(OnInsert::DuplicateKeyUpdate(assignments)) = insert.on.take() {
                // A row left as it was is not written, and not counted.
                let selection = dml::changed(&assignments, None);
                insert.on = Some(OnInsert::OnConflict(OnConflict {
                    conflict_target: None,
                    action: OnConflictAction::DoUpdate(sqlparser::ast::DoUpdate {
                        assignments,
                        selection,
                    }),
                }));
                insert.returning = Some(vec![sqlparser::ast::SelectItem::UnnamedExpr(
                    sqlparser::ast::Expr::Identifier(sqlparser::ast::Ident::new("rowid")),
                )]);
                conflict = Conflict::Update;
            }
            let rows = match insert.source.as_deref().map(|q| q.body.as_ref()) {
                Some(sqlparser::ast::SetExpr::Values(v)) => v
                    .rows
                    .iter()
                    .map(|r| r.iter().map(ToString::to_string).collect())
                    .collect(),
                _ => vec![],
            };
            Kind::Insert {
                table,
                columns: insert.columns.iter().map(name).collect(),
                rows,
                conflict,
            }
        }
        Statement::Update(update) => {
            let table = dml::translate_update(update)?;
            let joined = update.from.is_some();
            Kind::Write {
                table,
                delete: false,
                set: if joined {
                    vec![]
                } else {
                    dml::assignments(update)
                },
                filter: if joined {
                    None
                } else {
                    update.selection.as_ref().map(ToString::to_string)
                },
            }
        }
        Statement::Delete(d) => Kind::Write {
            table: dml::translate_delete(d)?,
            delete: true,
            set: vec![],
            filter: None,
        },
        Statement::CreateTable(t) => {
            after = translate_create_table(t)?;
            Kind::Other
        }
        Statement::CreateIndex(c) => {
            ddl::translate_create_index(c)?;
            Kind::Other
        }
        Statement::AlterTable(a) => {
            let mut statements = ddl::translate_alter(a)?.into_iter();
            let first = statements.next().ok_or_else(|| syntax_error(sql, 1, 1))?;
            return Ok(Translated {
                kind: Kind::Other,
                sql: first,
                after: statements.collect(),
                projection: None,
            });
        }
        Statement::Truncate(t) if t.table_names.len() == 1 => {
            let table = name(&t.table_names[0].name);
            return Ok(Translated {
                sql: format!("DELETE FROM {}", t.table_names[0].name),
                kind: Kind::Truncate { table },
                after: vec![],
                projection: None,
            });
        }
        // MySQL's `DROP INDEX key ON table`.
        Statement::Drop {
            object_type: sqlparser::ast::ObjectType::Index,
            names,
            table: Some(table),
            ..
        } if names.len() == 1 => {
            return Ok(Translated {
                kind: Kind::Other,
                sql: ddl::drop_index(&name(&names[0]), &name(table)),
                after: vec![],
                projection: None,
            });
        }
        Statement::Drop {
            object_type: sqlparser::ast::ObjectType::Table,
            names,
            cascade: false,
            ..
        } if names.len() == 1 => Kind::DropTable,
        // SQLite drops one table at a time, and a MySQL database is a file here.
        Statement::Drop {
            object_type:
                sqlparser::ast::ObjectType::Table
                | sqlparser::ast::ObjectType::Index
                | sqlparser::ast::ObjectType::View,
            names,
            cascade: false,
            ..
        } if names.len() == 1 => Kind::Other,
        Statement::Drop { object_type, .. } => {
            return Err(unsupported(&format!(
                "this DROP {object_type} (one table, index or view at a time)"
            )));
        }
        Statement::StartTransaction { .. }
        | Statement::Commit { .. }
        | Statement::Rollback { .. } => {
            return Err(unsupported(
                "transaction statements in SQL; use BeginTransaction, CommitTransaction and RollbackTransaction",
            ));
        }
        other => {
            let text = other.to_string();
            let word: String = text
                .split_whitespace()
                .take(2)
                .collect::<Vec<_>>()
                .join(" ");
            return Err(unsupported(&word));
        }
    };
    // A column's `DEFAULT CURRENT_TIMESTAMP` was made a call of the storage's clock function above.
    let _ = visit_expressions_mut(&mut st, exprs::fold_least_bigint);
    if !matches!(st, Statement::CreateTable(_))
        && let ControlFlow::Break(e) = visit_expressions_mut(&mut st, |e| rewrite_expr(e, &scope))
    {
        return Err(e);
    }
    // In a write, strict mode refuses a division by zero, which a query answers with NULL.
    if matches!(st, Statement::Insert(_) | Statement::Update(_)) {
        let _ = visit_expressions_mut(&mut st, |e| {
            if let sqlparser::ast::Expr::BinaryOp {
                left,
                op: sqlparser::ast::BinaryOperator::Divide,
                right,
            } = e
            {
                *e = call(
                    "offcloud_divide_strict",
                    vec![(**left).clone(), (**right).clone()],
                );
            }
            ControlFlow::<()>::Continue(())
        });
    }
    Ok(Translated {
        kind,
        sql: st.to_string(),
        after,
        projection,
    })
}

/// A call of SQLite function `name`.
pub(crate) fn call(name: &str, args: Vec<sqlparser::ast::Expr>) -> sqlparser::ast::Expr {
    use sqlparser::ast::{
        Function, FunctionArg, FunctionArgExpr, FunctionArgumentList, FunctionArguments, Ident,
    };
    sqlparser::ast::Expr::Function(Function {
        name: ObjectName::from(vec![Ident::new(name)]),
        uses_odbc_syntax: false,
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(FunctionArgumentList {
            duplicate_treatment: None,
            args: args
                .into_iter()
                .map(|a| FunctionArg::Unnamed(FunctionArgExpr::Expr(a)))
                .collect(),
            clauses: vec![],
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: vec![],
    })
}

pub(crate) fn unsupported(what: &str) -> RdsError {
    RdsError::BadRequest(format!("Offcloud's Data API does not support {what}"))
}
/// Splits a schema file into statements, with sqlparser, so that `;` inside strings is no split.
pub fn split(script: &str) -> Result<Vec<String>, RdsError> {
    Ok(split_script(script)?.into_iter().map(|s| s.text).collect())
}

/// One statement of a script.
#[derive(Debug, PartialEq)]
pub struct Scripted {
    pub text: String,
    /// The statement only defines schema (`CREATE TABLE` without `AS SELECT`, `CREATE INDEX`, `CREATE DATABASE`,
    /// `ALTER TABLE`, `DROP`): what it leaves depends on nothing but its text, never on the clock or on chance,
    /// as a row's `DEFAULT CURRENT_TIMESTAMP` or `UUID()` would.
    pub defines: bool,
}

/// [`split`], saying of each statement whether it only defines schema.
pub fn split_script(script: &str) -> Result<Vec<Scripted>, RdsError> {
    let statements = Parser::parse_sql(&MySqlDialect {}, script).map_err(|e| {
        let (line, column) = position(&e.to_string());
        syntax_error(script, line, column)
    })?;
    Ok(statements
        .iter()
        .map(|st| Scripted {
            text: st.to_string(),
            defines: match st {
                Statement::CreateTable(t) => t.query.is_none(),
                Statement::CreateIndex(_)
                | Statement::CreateDatabase { .. }
                | Statement::AlterTable(_)
                | Statement::Drop { .. } => true,
                _ => false,
            },
        })
        .collect())
}
