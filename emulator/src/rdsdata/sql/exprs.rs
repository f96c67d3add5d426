//! Expressions and functions: MySQL's meaning in SQLite's words, or a refusal that names the construct.

use std::ops::ControlFlow;

use sqlparser::ast::{Expr, FunctionArguments, ObjectName, Value};

use super::unsupported;
use crate::rdsdata::RdsError;

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
pub fn rewrite_expr(e: &mut Expr, now: &str) -> ControlFlow<RdsError> {
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
