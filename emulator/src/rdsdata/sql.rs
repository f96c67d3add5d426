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
    ColumnOption, CreateTableOptions, Expr, FunctionArguments, ObjectName, OnConflict,
    OnConflictAction, OnInsert, Statement, TableObject, Value, visit_expressions_mut,
    visit_relations_mut,
};
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;

use super::RdsError;

/// The longest SQL text the Data API takes (botocore `rds-data` model, `SqlStatement` max 65536).
pub const MAX_SQL: usize = 65_536;

/// What a statement does, as far as the Data API's answer is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// `CREATE DATABASE`: a new SQLite file, attached under its name.
    CreateDatabase { name: String, if_not_exists: bool },
    /// A statement that returns rows.
    Query,
    /// `INSERT` into `table`, with the column list and, per row, the value expressions as SQL text.
    Insert {
        table: String,
        columns: Vec<String>,
        rows: Vec<Vec<String>>,
    },
    /// `UPDATE` or `DELETE` on `table`.
    Write { table: String, delete: bool },
    /// Anything else that runs as it is translated (DDL).
    Other,
}

/// One statement, ready for SQLite.
#[derive(Debug, Clone)]
pub struct Translated {
    pub kind: Kind,
    pub sql: String,
}

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

fn name(o: &ObjectName) -> String {
    o.0.iter()
        .map(|p| p.to_string().trim_matches('`').to_string())
        .collect::<Vec<_>>()
        .join(".")
}

/// Parses one MySQL statement and translates it. `now` is `YYYY-MM-DD HH:MM:SS` from the emulator's clock, and
/// `database` the connection's default database, which SQLite knows as `main`: `database.table` is `table`.
pub fn translate(sql: &str, now: &str, database: Option<&str>) -> Result<Translated, RdsError> {
    if sql.chars().count() > MAX_SQL {
        return Err(too_long("sql"));
    }
    let mut statements = Parser::parse_sql(&MySqlDialect {}, sql).map_err(|e| {
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
            });
        }
        Statement::Query(_) => Kind::Query,
        Statement::Insert(insert) => {
            let table = match &insert.table {
                TableObject::TableName(n) => name(n),
                TableObject::TableFunction(_) | TableObject::TableQuery(_) => {
                    return Err(unsupported("INSERT into anything but a named table"));
                }
            };
            // MySQL's INSERT IGNORE skips rows that break a key, as SQLite's INSERT OR IGNORE does.
            // FIXME: MySQL's IGNORE also turns other errors (too long values, bad foreign keys) into warnings.
            if insert.ignore {
                insert.ignore = false;
                insert.or = Some(sqlparser::ast::SqliteOnConflict::Ignore);
            }
            if let Some(OnInsert::DuplicateKeyUpdate(assignments)) = insert.on.take() {
                insert.on = Some(OnInsert::OnConflict(OnConflict {
                    conflict_target: None,
                    action: OnConflictAction::DoUpdate(sqlparser::ast::DoUpdate {
                        assignments,
                        selection: None,
                    }),
                }));
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
            }
        }
        Statement::Update(update) => Kind::Write {
            table: update
                .table
                .relation
                .to_string()
                .trim_matches('`')
                .to_string(),
            delete: false,
        },
        Statement::Delete(d) => {
            let tables = match &d.from {
                sqlparser::ast::FromTable::WithFromKeyword(t)
                | sqlparser::ast::FromTable::WithoutKeyword(t) => t,
            };
            Kind::Write {
                table: tables
                    .first()
                    .map(|t| t.relation.to_string().trim_matches('`').to_string())
                    .unwrap_or_default(),
                delete: true,
            }
        }
        Statement::CreateTable(t) => {
            translate_create_table(t)?;
            Kind::Other
        }
        Statement::CreateIndex(_) => Kind::Other,
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
    if !matches!(st, Statement::CreateTable(_))
        && let ControlFlow::Break(e) = visit_expressions_mut(&mut st, |e| rewrite_expr(e, now))
    {
        return Err(e);
    }
    Ok(Translated {
        kind,
        sql: st.to_string(),
    })
}

fn unsupported(what: &str) -> RdsError {
    RdsError::BadRequest(format!("Offcloud's Data API does not support {what}"))
}

/// Functions that SQLite has under the same name with MySQL's meaning (for these arguments' types).
/// Source: https://dev.mysql.com/doc/refman/5.7/en/functions.html and https://sqlite.org/lang_corefunc.html
const SAME_IN_SQLITE: &[&str] = &[
    "ABS",
    "AVG",
    "COALESCE",
    "CONCAT_WS",
    "COUNT",
    "DATE",
    "GROUP_CONCAT",
    "IFNULL",
    "LOWER",
    "LTRIM",
    "MAX",
    "MIN",
    "NULLIF",
    "REPLACE",
    "ROUND",
    "RTRIM",
    "SUBSTR",
    "SUBSTRING",
    "SUM",
    "TRIM",
    "UPPER",
];

fn function_args(f: &sqlparser::ast::Function) -> Vec<Expr> {
    match &f.args {
        FunctionArguments::List(l) => l
            .args
            .iter()
            .filter_map(|a| match a {
                sqlparser::ast::FunctionArg::Unnamed(sqlparser::ast::FunctionArgExpr::Expr(e)) => {
                    Some(e.clone())
                }
                _ => None,
            })
            .collect(),
        _ => vec![],
    }
}

fn rename(f: &mut sqlparser::ast::Function, to: &str) {
    f.name = ObjectName::from(vec![sqlparser::ast::Ident::new(to)]);
}

/// Rewrites one expression from MySQL's meaning to SQLite's, or says why it cannot be.
fn rewrite_expr(e: &mut Expr, now: &str) -> ControlFlow<RdsError> {
    use sqlparser::ast::BinaryOperator;
    match e {
        // MySQL reads "text" as a string (without ANSI_QUOTES); SQLite would look for a column of that name first.
        Expr::Value(v) => {
            if let Value::DoubleQuotedString(s) = &v.value {
                v.value = Value::SingleQuotedString(s.clone());
            }
            ControlFlow::Continue(())
        }
        // MySQL's `/` never truncates (7 / 2 is 3.5000); SQLite's does on integers.
        Expr::BinaryOp {
            op: BinaryOperator::Divide,
            left,
            ..
        } => {
            let l = std::mem::replace(left.as_mut(), Expr::value(Value::Null));
            **left = Expr::Cast {
                kind: sqlparser::ast::CastKind::Cast,
                expr: Box::new(Expr::Nested(Box::new(l))),
                data_type: sqlparser::ast::DataType::Real,
                format: None,
            };
            ControlFlow::Continue(())
        }
        // MySQL's integer division.
        Expr::BinaryOp {
            op: BinaryOperator::MyIntegerDivide,
            left,
            right,
        } => {
            let div = Expr::BinaryOp {
                left: left.clone(),
                op: BinaryOperator::Divide,
                right: right.clone(),
            };
            *e = Expr::Cast {
                kind: sqlparser::ast::CastKind::Cast,
                expr: Box::new(Expr::Nested(Box::new(div))),
                data_type: sqlparser::ast::DataType::Integer(None),
                format: None,
            };
            ControlFlow::Continue(())
        }
        // In MySQL `||` is OR (without PIPES_AS_CONCAT); in SQLite it concatenates.
        Expr::BinaryOp {
            op: BinaryOperator::StringConcat,
            ..
        } => ControlFlow::Break(unsupported("the || operator; use OR or CONCAT()")),
        Expr::Function(_) => rewrite_function(e, now),
        _ => ControlFlow::Continue(()),
    }
}

/// MySQL's clock functions become literals from the emulator's clock; `VALUES(col)` in an upsert is
/// `excluded.col`; functions with other names in SQLite are renamed; any other function is refused by name.
fn rewrite_function(e: &mut Expr, now: &str) -> ControlFlow<RdsError> {
    let Expr::Function(f) = e else {
        return ControlFlow::Continue(());
    };
    let fname = f.name.to_string().trim_matches('`').to_ascii_uppercase();
    let args = function_args(f);
    let no_args = match &f.args {
        FunctionArguments::None => true,
        FunctionArguments::List(l) => l.args.is_empty(),
        FunctionArguments::Subquery(_) => false,
    };
    let literal = |s: String| Expr::Value(Value::SingleQuotedString(s).into());
    match fname.as_str() {
        "NOW" | "UTC_TIMESTAMP" | "CURRENT_TIMESTAMP" | "SYSDATE" | "LOCALTIMESTAMP" if no_args => {
            *e = literal(now.to_string());
        }
        "CURDATE" | "UTC_DATE" | "CURRENT_DATE" if no_args => {
            *e = literal(now.get(..10).unwrap_or(now).to_string());
        }
        "VALUES" => match args.as_slice() {
            [Expr::Identifier(col)] => {
                *e = Expr::CompoundIdentifier(vec![
                    sqlparser::ast::Ident::new("excluded"),
                    col.clone(),
                ]);
            }
            _ => return ControlFlow::Break(unsupported("VALUES() of anything but a column")),
        },
        // MySQL's CONCAT is NULL when any argument is; SQLite's concat() skips NULLs, and `||` does not.
        "CONCAT" if !args.is_empty() => {
            let mut it = args.into_iter();
            let first = it.next().unwrap_or(Expr::value(Value::Null));
            let joined = it.fold(first, |acc, x| Expr::BinaryOp {
                left: Box::new(acc),
                op: sqlparser::ast::BinaryOperator::StringConcat,
                right: Box::new(x),
            });
            *e = Expr::Nested(Box::new(joined));
        }
        "IF" if args.len() == 3 => rename(f, "iif"),
        // MySQL's LENGTH counts bytes, CHAR_LENGTH characters.
        "LENGTH" | "OCTET_LENGTH" => rename(f, "octet_length"),
        "CHAR_LENGTH" | "CHARACTER_LENGTH" => rename(f, "length"),
        "LAST_INSERT_ID" if no_args => rename(f, "last_insert_rowid"),
        name if SAME_IN_SQLITE.contains(&name) => {}
        name => {
            return ControlFlow::Break(unsupported(&format!("the function {name}()")));
        }
    }
    ControlFlow::Continue(())
}

/// MySQL's `CREATE TABLE` as SQLite takes it. Declared types are kept, because they choose each column's Data API
/// field type; `AUTO_INCREMENT` becomes `INTEGER PRIMARY KEY AUTOINCREMENT`.
fn translate_create_table(t: &mut sqlparser::ast::CreateTable) -> Result<(), RdsError> {
    t.table_options = CreateTableOptions::None;
    t.comment = None;
    let table_pk: Vec<String> = t
        .constraints
        .iter()
        .find_map(|c| match c {
            sqlparser::ast::TableConstraint::PrimaryKey(pk) => Some(
                pk.columns
                    .iter()
                    .map(|c| c.to_string().trim_matches('`').to_string())
                    .collect(),
            ),
            _ => None,
        })
        .unwrap_or_default();
    let mut auto_pk = None;
    for col in &mut t.columns {
        let auto = col.options.iter().any(|o| {
            matches!(&o.option, ColumnOption::DialectSpecific(tokens)
                if tokens.iter().any(|t| t.to_string().eq_ignore_ascii_case("AUTO_INCREMENT")))
        });
        if col
            .options
            .iter()
            .any(|o| matches!(o.option, ColumnOption::OnUpdate(_)))
        {
            return Err(unsupported("ON UPDATE column defaults"));
        }
        // MySQL's default collations (`utf8_general_ci`, ...) compare text without case, in keys too; `_bin`
        // collations and BINARY compare bytes, as SQLite does by default.
        let binary = col.options.iter().any(|o| {
            matches!(&o.option, ColumnOption::Collation(c)
                if c.to_string().to_ascii_lowercase().trim_matches('`').ends_with("_bin"))
        });
        col.options.retain(|o| {
            !matches!(
                o.option,
                ColumnOption::CharacterSet(_)
                    | ColumnOption::Collation(_)
                    | ColumnOption::Comment(_)
                    | ColumnOption::DialectSpecific(_)
            )
        });
        let textual = matches!(
            col.data_type,
            sqlparser::ast::DataType::Char(_)
                | sqlparser::ast::DataType::Varchar(_)
                | sqlparser::ast::DataType::Text
                | sqlparser::ast::DataType::TinyText
                | sqlparser::ast::DataType::MediumText
                | sqlparser::ast::DataType::LongText
                | sqlparser::ast::DataType::Enum(..)
        );
        if textual && !binary {
            col.options.push(sqlparser::ast::ColumnOptionDef {
                name: None,
                option: ColumnOption::Collation(ObjectName::from(vec![
                    sqlparser::ast::Ident::new("NOCASE"),
                ])),
            });
        }
        // Rows get their time from the emulator's clock, through the storage's clock function.
        for o in &mut col.options {
            if let ColumnOption::Default(d) = &mut o.option
                && let Expr::Function(f) = d
                && matches!(
                    f.name.to_string().to_ascii_uppercase().as_str(),
                    "CURRENT_TIMESTAMP" | "NOW" | "LOCALTIMESTAMP"
                )
            {
                *d = Expr::Nested(Box::new(Expr::Function(sqlparser::ast::Function {
                    name: ObjectName::from(vec![sqlparser::ast::Ident::new(
                        super::storage::NOW_FUNCTION,
                    )]),
                    uses_odbc_syntax: false,
                    parameters: FunctionArguments::None,
                    args: FunctionArguments::List(sqlparser::ast::FunctionArgumentList {
                        duplicate_treatment: None,
                        args: vec![],
                        clauses: vec![],
                    }),
                    filter: None,
                    null_treatment: None,
                    over: None,
                    within_group: vec![],
                })));
            }
        }
        if auto {
            let inline_pk = col
                .options
                .iter()
                .any(|o| matches!(o.option, ColumnOption::PrimaryKey(_)));
            let name = col.name.value.clone();
            if !inline_pk && table_pk != [name.clone()] {
                return Err(unsupported(
                    "AUTO_INCREMENT on a column that is not the whole primary key",
                ));
            }
            // SQLite only auto-increments an `INTEGER PRIMARY KEY`; the MySQL type is kept in a comment-free way
            // by naming the type `INTEGER`, which the Data API reads as a long, as MySQL's INT is.
            col.data_type = sqlparser::ast::DataType::Integer(None);
            col.options
                .retain(|o| !matches!(o.option, ColumnOption::PrimaryKey(_)));
            auto_pk = Some(name);
        }
    }
    if let Some(name) = auto_pk {
        t.constraints
            .retain(|c| !matches!(c, sqlparser::ast::TableConstraint::PrimaryKey(_)));
        let col = t
            .columns
            .iter_mut()
            .find(|c| c.name.value == name)
            .expect("the column was found above");
        col.options.push(sqlparser::ast::ColumnOptionDef {
            name: None,
            option: ColumnOption::DialectSpecific(vec![
                sqlparser::tokenizer::Token::make_keyword("PRIMARY"),
                sqlparser::tokenizer::Token::make_keyword("KEY"),
                sqlparser::tokenizer::Token::make_keyword("AUTOINCREMENT"),
            ]),
        });
    }
    Ok(())
}

/// Splits a schema file into statements, with sqlparser, so that `;` inside strings is no split.
pub fn split(script: &str) -> Result<Vec<String>, RdsError> {
    let statements = Parser::parse_sql(&MySqlDialect {}, script).map_err(|e| {
        let (line, column) = position(&e.to_string());
        syntax_error(script, line, column)
    })?;
    Ok(statements.iter().map(ToString::to_string).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: &str = "2026-11-22 10:00:00";

    #[test]
    fn create_table_drops_mysql_options_and_keeps_types() {
        let t = translate(
            "CREATE TABLE ec2 (id VARCHAR(70) NOT NULL, n INT, created DATETIME DEFAULT CURRENT_TIMESTAMP, PRIMARY KEY (id)) ENGINE=InnoDB DEFAULT CHARSET=utf8",
            NOW,
            None,
        )
        .unwrap();
        assert_eq!(t.kind, Kind::Other);
        assert!(!t.sql.contains("ENGINE"), "{}", t.sql);
        assert!(
            t.sql.contains("VARCHAR(70) NOT NULL COLLATE NOCASE"),
            "{}",
            t.sql
        );
        assert!(t.sql.contains("PRIMARY KEY (id)"), "{}", t.sql);
    }

    #[test]
    fn auto_increment_becomes_sqlite_autoincrement() {
        let t = translate(
            "CREATE TABLE p (id INT NOT NULL AUTO_INCREMENT, name TEXT, PRIMARY KEY (id))",
            NOW,
            None,
        )
        .unwrap();
        assert!(
            t.sql
                .contains("id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT"),
            "{}",
            t.sql
        );
        assert!(!t.sql.contains("PRIMARY KEY (id)"), "{}", t.sql);
    }

    #[test]
    fn the_default_database_is_sqlite_s_main() {
        let t = translate(
            "SELECT * FROM ec2_inventory_db.ec2 JOIN other.t ON 1",
            NOW,
            Some("ec2_inventory_db"),
        )
        .unwrap();
        assert_eq!(t.sql, "SELECT * FROM ec2 JOIN other.t ON 1");
        let t = translate(
            "CREATE TABLE ec2_inventory_db.ec2 (id INT, at DATETIME DEFAULT CURRENT_TIMESTAMP)",
            NOW,
            Some("ec2_inventory_db"),
        )
        .unwrap();
        assert_eq!(
            t.sql,
            "CREATE TABLE ec2 (id INT, at DATETIME DEFAULT (offcloud_now()))"
        );
    }

    #[test]
    fn clock_functions_come_from_the_emulator_clock() {
        let t = translate("SELECT NOW(), UTC_TIMESTAMP(), CURDATE()", NOW, None).unwrap();
        assert_eq!(
            t.sql,
            "SELECT '2026-11-22 10:00:00', '2026-11-22 10:00:00', '2026-11-22'"
        );
    }

    #[test]
    fn on_duplicate_key_update_is_an_upsert() {
        let t = translate(
            "INSERT INTO t (id, n) VALUES (:id, 1) ON DUPLICATE KEY UPDATE n = VALUES(n) + 1",
            NOW,
            None,
        )
        .unwrap();
        assert!(
            t.sql
                .ends_with("ON CONFLICT DO UPDATE SET n = excluded.n + 1"),
            "{}",
            t.sql
        );
        assert_eq!(
            t.kind,
            Kind::Insert {
                table: "t".into(),
                columns: vec!["id".into(), "n".into()],
                rows: vec![vec![":id".into(), "1".into()]],
            }
        );
    }

    #[test]
    fn syntax_errors_read_as_mysql_s() {
        let e = translate("SELEC * FROM t", NOW, None).unwrap_err();
        assert!(
            e.to_string().starts_with("You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near 'SELEC * FROM t' at line 1"),
            "{e}"
        );
        let e = translate("SELECT 1; SELECT 2", NOW, None).unwrap_err();
        assert!(e.to_string().contains("near 'SELECT 2' at line 1"), "{e}");
    }

    #[test]
    fn unsupported_constructs_are_named() {
        let e = translate("GRANT ALL ON *.* TO x", NOW, None).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("Offcloud's Data API does not support GRANT"),
            "{e}"
        );
        let e = translate(&"x".repeat(MAX_SQL + 1), NOW, None).unwrap_err();
        assert!(e.to_string().contains("65536"), "{e}");
    }

    #[test]
    fn mysql_meanings_are_kept_or_refused() {
        let t = |sql: &str| translate(sql, NOW, None).map(|t| t.sql);
        assert_eq!(t("SELECT 7 / 2").unwrap(), "SELECT CAST((7) AS REAL) / 2");
        assert_eq!(
            t("SELECT 7 DIV 2").unwrap(),
            "SELECT CAST((7 / 2) AS INTEGER)"
        );
        assert_eq!(t("SELECT \"a\" FROM t").unwrap(), "SELECT 'a' FROM t");
        assert_eq!(
            t("SELECT CONCAT(a, '-', b) FROM t").unwrap(),
            "SELECT (a || '-' || b) FROM t"
        );
        assert_eq!(
            t("SELECT IF(a, 1, 2), LENGTH(a) FROM t").unwrap(),
            "SELECT iif(a, 1, 2), octet_length(a) FROM t"
        );
        let e = t("SELECT DATE_FORMAT(a, '%Y') FROM t").unwrap_err();
        assert_eq!(
            e.to_string(),
            "Offcloud's Data API does not support the function DATE_FORMAT()"
        );
        let e = t("SELECT a || b FROM t").unwrap_err();
        assert!(e.to_string().contains("the || operator"), "{e}");
        let binary =
            translate("CREATE TABLE t (a VARCHAR(5) COLLATE utf8_bin)", NOW, None).unwrap();
        assert!(!binary.sql.contains("NOCASE"), "{}", binary.sql);
    }

    #[test]
    fn insert_ignore_and_drops() {
        let t = |sql: &str| translate(sql, NOW, None).map(|t| t.sql);
        assert_eq!(
            t("INSERT IGNORE INTO t (a) VALUES (1)").unwrap(),
            "INSERT OR IGNORE INTO t (a) VALUES (1)"
        );
        assert_eq!(
            t("DROP TABLE IF EXISTS t").unwrap(),
            "DROP TABLE IF EXISTS t"
        );
        let e = t("DROP DATABASE x").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("Offcloud's Data API does not support this DROP DATABASE"),
            "{e}"
        );
    }
}
