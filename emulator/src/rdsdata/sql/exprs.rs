//! Expressions and functions: MySQL's meaning in SQLite's words, or a refusal that names the construct.

use std::ops::ControlFlow;

use sqlparser::ast::{Expr, FunctionArguments, ObjectName, Value};

use super::scope::Scope;
use super::types::Ty;
use super::{call, unsupported};
use crate::rdsdata::RdsError;
use crate::rdsdata::functions::{FUNCTIONS, MAX_EXACT_DIGITS};

/// The prefix of MySQL's functions as the storage registers them with SQLite ([`FUNCTIONS`]), so that SQLite's own
/// functions of the same names keep their meaning for the storage's SQL.
pub const MYSQL_PREFIX: &str = "mysql_";

/// The collation of text columns and literals: MySQL's `utf8_general_ci`, registered by the storage.
pub const MYSQL_COLLATION: &str = "mysql_ci";

fn is_comparison(op: &sqlparser::ast::BinaryOperator) -> bool {
    use sqlparser::ast::BinaryOperator::*;
    matches!(op, Eq | NotEq | Lt | LtEq | Gt | GtEq | Spaceship)
}

fn is_column(e: &Expr) -> bool {
    matches!(e, Expr::Identifier(_) | Expr::CompoundIdentifier(_))
}

/// Arithmetic whose MySQL type is DECIMAL.
fn is_decimal_arithmetic(e: &Expr, scope: &Scope) -> bool {
    use sqlparser::ast::BinaryOperator::*;
    match e {
        Expr::Nested(inner) => is_decimal_arithmetic(inner, scope),
        Expr::BinaryOp {
            op: Plus | Minus | Multiply | Divide,
            ..
        } => matches!(scope.ty(e), Some(Ty::Decimal(_))),
        _ => false,
    }
}

/// The internal function that fails BIGINT arithmetic past BIGINT's range, as MySQL's ER_DATA_OUT_OF_RANGE (1690).
const BIGINT_CHECK: &str = "offcloud_bigint";

/// `e` as MySQL's messages show an expression: columns as `` `db`.`table`.`column` ``.
fn shown(e: &Expr, scope: &Scope) -> String {
    let mut shown = e.clone();
    let _ = sqlparser::ast::visit_expressions_mut(&mut shown, |x| {
        if let Expr::Function(f) = x
            && f.name.to_string() == BIGINT_CHECK
            && let Some(inner) = function_args(f).into_iter().next()
        {
            *x = inner;
        } else if let Some(q) = scope.qualified(x) {
            *x = Expr::Identifier(sqlparser::ast::Ident::new(q));
        }
        ControlFlow::<()>::Continue(())
    });
    shown.to_string()
}

/// Whether a number literal means the same as a double or a BIGINT: an integer in BIGINT's range, a double's
/// exponent form, or a DECIMAL of at most [`MAX_EXACT_DIGITS`] significant digits.
fn exact_number(n: &str) -> bool {
    if n.contains(['e', 'E']) || n.parse::<i64>().is_ok() {
        return true;
    }
    let digits = n.replace('.', "");
    let digits = digits.trim_start_matches(['-', '+', '0']);
    let digits = if n.contains('.') {
        digits.trim_end_matches('0')
    } else {
        digits
    };
    digits.len() <= MAX_EXACT_DIGITS
}

fn is_text_literal(e: &Expr) -> bool {
    matches!(e, Expr::Value(v) if matches!(v.value, Value::SingleQuotedString(_)))
}

fn collated(e: &Expr) -> Expr {
    Expr::Collate {
        expr: Box::new(e.clone()),
        collation: ObjectName::from(vec![sqlparser::ast::Ident::new(MYSQL_COLLATION)]),
    }
}

/// `name`'s SQLite function for `argc` arguments, if Offcloud has MySQL's; MySQL's error for a known function
/// called with the wrong number of arguments (ER_WRONG_PARAMCOUNT_TO_NATIVE_FCT, 1582).
fn mysql_function(name: &str, argc: usize) -> Option<Result<String, RdsError>> {
    let lower = name.to_ascii_lowercase();
    let mut known = FUNCTIONS.iter().filter(|f| f.name == lower).peekable();
    known.peek()?;
    if known.any(|f| f.args < 0 || f.args as usize == argc) {
        Some(Ok(format!("{MYSQL_PREFIX}{lower}")))
    } else {
        Some(Err(RdsError::BadRequest(format!(
            "Incorrect parameter count in the call to native function '{name}'"
        ))))
    }
}

fn text(s: &str) -> Expr {
    Expr::value(Value::SingleQuotedString(s.to_string()))
}

/// `INTERVAL n UNIT` as the amount and unit MySQL's `date_add` takes.
fn interval(e: &Expr) -> Option<(Expr, Expr)> {
    let Expr::Interval(i) = e else { return None };
    let unit = i
        .leading_field
        .as_ref()
        .map(|f| f.to_string())
        .unwrap_or_else(|| "SECOND".into());
    Some(((*i.value).clone(), text(&unit.to_ascii_uppercase())))
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

/// `-9223372036854775808` as one literal, BIGINT's least value, before [`rewrite_expr`] checks literals: the
/// parser reads it as a minus before a number past BIGINT's range.
pub fn fold_least_bigint(e: &mut Expr) -> ControlFlow<()> {
    if let Expr::UnaryOp {
        op: sqlparser::ast::UnaryOperator::Minus,
        expr,
    } = e
        && let Expr::Value(v) = expr.as_ref()
        && let Value::Number(n, long) = &v.value
        && format!("-{n}").parse::<i64>() == Ok(i64::MIN)
    {
        *e = Expr::value(Value::Number(format!("-{n}"), *long));
    }
    ControlFlow::Continue(())
}

/// Rewrites one expression from MySQL's meaning to SQLite's, or says why it cannot be.
pub fn rewrite_expr(e: &mut Expr, scope: &Scope) -> ControlFlow<RdsError> {
    use sqlparser::ast::BinaryOperator;
    match e {
        // MySQL reads "text" as a string (without ANSI_QUOTES); SQLite would look for a column of that name first.
        Expr::Value(v) => {
            if let Value::DoubleQuotedString(s) = &v.value {
                v.value = Value::SingleQuotedString(s.clone());
            }
            if let Value::Number(n, _) = &v.value
                && !exact_number(n)
            {
                return ControlFlow::Break(unsupported(&format!(
                    "integers past BIGINT's range or DECIMAL numbers of more than {MAX_EXACT_DIGITS} significant digits, such as {n} (it computes DECIMAL values as 64-bit floats)"
                )));
            }
            ControlFlow::Continue(())
        }
        // DECIMAL arithmetic compares on the digits a double holds exactly, as MySQL's exact arithmetic would.
        Expr::BinaryOp { op, left, right }
            if is_comparison(op)
                && *op != BinaryOperator::Spaceship
                && (is_decimal_arithmetic(left, scope) || is_decimal_arithmetic(right, scope)) =>
        {
            for side in [left, right] {
                if is_decimal_arithmetic(side, scope) {
                    **side = call("offcloud_exact", vec![(**side).clone()]);
                }
            }
            ControlFlow::Continue(())
        }
        // A string literal compared with anything but a column compares under MySQL's collation; against a column,
        // the column's collation applies, as MySQL's coercibility rules have it.
        Expr::BinaryOp { op, left, right }
            if is_comparison(op)
                && ((is_text_literal(left) && !is_column(right))
                    || (is_text_literal(right) && !is_column(left))) =>
        {
            if is_text_literal(left) {
                **left = collated(left);
            } else {
                **right = collated(right);
            }
            ControlFlow::Continue(())
        }
        // MySQL's CASTs: SQLite's CAST to DATE or SIGNED would take the leading number of the text.
        Expr::Cast {
            kind: sqlparser::ast::CastKind::Cast,
            data_type,
            expr,
            ..
        } if matches!(
            data_type,
            sqlparser::ast::DataType::Date
                | sqlparser::ast::DataType::Datetime(_)
                | sqlparser::ast::DataType::Signed
                | sqlparser::ast::DataType::SignedInteger
                | sqlparser::ast::DataType::Unsigned
                | sqlparser::ast::DataType::UnsignedInteger
                | sqlparser::ast::DataType::Char(_)
        ) =>
        {
            let x = (**expr).clone();
            *e = match data_type {
                sqlparser::ast::DataType::Date => call("mysql_date", vec![x]),
                // The date and time, normalised to `YYYY-MM-DD HH:MM:SS`.
                sqlparser::ast::DataType::Datetime(_) => call(
                    "mysql_date_add",
                    vec![
                        x,
                        Expr::value(Value::Number("0".into(), false)),
                        text("SECOND"),
                    ],
                ),
                // MySQL rounds a fraction to the nearest integer.
                sqlparser::ast::DataType::Signed | sqlparser::ast::DataType::SignedInteger => {
                    Expr::Cast {
                        kind: sqlparser::ast::CastKind::Cast,
                        expr: Box::new(call("mysql_round", vec![x])),
                        data_type: sqlparser::ast::DataType::Integer(None),
                        format: None,
                    }
                }
                sqlparser::ast::DataType::Unsigned | sqlparser::ast::DataType::UnsignedInteger => {
                    call("offcloud_cast_unsigned", vec![call("mysql_round", vec![x])])
                }
                _ => Expr::Cast {
                    kind: sqlparser::ast::CastKind::Cast,
                    expr: Box::new(x),
                    data_type: sqlparser::ast::DataType::Text,
                    format: None,
                },
            };
            ControlFlow::Continue(())
        }
        // `BINARY x` compares x byte by byte. The parser reads `BINARY a = b` as `BINARY (a = b)`, where MySQL's
        // BINARY binds tighter: it belongs to `a`.
        Expr::Cast {
            data_type: sqlparser::ast::DataType::Binary(None),
            expr,
            ..
        } => {
            let binary = |x: Expr| {
                let bare = match x {
                    Expr::Collate { expr, .. } => *expr,
                    other => other,
                };
                Expr::Collate {
                    expr: Box::new(bare),
                    collation: ObjectName::from(vec![sqlparser::ast::Ident::new("BINARY")]),
                }
            };
            *e = match expr.as_ref() {
                Expr::BinaryOp { left, op, right } if is_comparison(op) => Expr::BinaryOp {
                    left: Box::new(binary((**left).clone())),
                    op: op.clone(),
                    right: right.clone(),
                },
                other => binary(other.clone()),
            };
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
        // MySQL's `%` keeps fractions (10.5 % 3 is 1.5); SQLite's works on integers.
        Expr::BinaryOp {
            op: BinaryOperator::Modulo,
            left,
            right,
        } => {
            *e = call("mysql_mod", vec![(**left).clone(), (**right).clone()]);
            ControlFlow::Continue(())
        }
        // `d + INTERVAL n UNIT` and `d - INTERVAL n UNIT`.
        Expr::BinaryOp {
            op: op @ (BinaryOperator::Plus | BinaryOperator::Minus),
            left,
            right,
        } if interval(right).is_some() => {
            let (amount, unit) = interval(right).expect("checked above");
            let name = if *op == BinaryOperator::Plus {
                "mysql_date_add"
            } else {
                "mysql_date_sub"
            };
            *e = call(name, vec![(**left).clone(), amount, unit]);
            ControlFlow::Continue(())
        }
        // BIGINT arithmetic past BIGINT's range fails, where SQLite would give a double.
        Expr::BinaryOp {
            op: BinaryOperator::Plus | BinaryOperator::Minus | BinaryOperator::Multiply,
            ..
        } if scope.ty(e) == Some(Ty::Int) => {
            let shown = shown(e, scope);
            *e = call(BIGINT_CHECK, vec![e.clone(), text(&shown)]);
            ControlFlow::Continue(())
        }
        Expr::Ceil { expr, .. } => {
            *e = call("mysql_ceil", vec![(**expr).clone()]);
            ControlFlow::Continue(())
        }
        Expr::Floor { expr, .. } => {
            *e = call("mysql_floor", vec![(**expr).clone()]);
            ControlFlow::Continue(())
        }
        // `SUBSTRING(s FROM p FOR n)`.
        Expr::Substring {
            expr,
            substring_from,
            substring_for,
            ..
        } => {
            let mut args = vec![(**expr).clone()];
            args.extend(substring_from.as_deref().cloned());
            args.extend(substring_for.as_deref().cloned());
            *e = call("mysql_substring", args);
            ControlFlow::Continue(())
        }
        // `TRIM([LEADING|TRAILING|BOTH] [c] FROM s)`: SQLite's trims remove any of a set of characters, MySQL's a
        // whole string, which is the same for one character.
        Expr::Trim {
            expr,
            trim_where,
            trim_what,
            trim_characters: None,
        } => {
            let what = match trim_what.as_deref() {
                None => text(" "),
                Some(Expr::Value(v)) if matches!(&v.value, Value::SingleQuotedString(c) if c.chars().count() == 1) => {
                    Expr::Value(v.clone())
                }
                Some(_) => {
                    return ControlFlow::Break(unsupported(
                        "TRIM of anything but one literal character",
                    ));
                }
            };
            let name = match trim_where {
                Some(sqlparser::ast::TrimWhereField::Leading) => "ltrim",
                Some(sqlparser::ast::TrimWhereField::Trailing) => "rtrim",
                _ => "trim",
            };
            *e = call(name, vec![(**expr).clone(), what]);
            ControlFlow::Continue(())
        }
        Expr::Function(_) => rewrite_function(e, scope),
        Expr::Subquery(q) => {
            super::subquery::single_row(q);
            ControlFlow::Continue(())
        }
        _ => ControlFlow::Continue(()),
    }
}

/// The functions whose result is of MySQL's JSON type, by the names they have once translated.
const JSON_RESULTS: &[&str] = &["json_object", "json_array", "json_extract", "json_keys"];

/// Marks the arguments of JSON_OBJECT or JSON_ARRAY that MySQL takes as JSON rather than as strings: TRUE and
/// FALSE, and other JSON functions' results.
/// Source: https://dev.mysql.com/doc/refman/5.7/en/json-creation-functions.html
fn mark_json_arguments(f: &mut sqlparser::ast::Function) {
    let FunctionArguments::List(l) = &mut f.args else {
        return;
    };
    for a in &mut l.args {
        let sqlparser::ast::FunctionArg::Unnamed(sqlparser::ast::FunctionArgExpr::Expr(e)) = a
        else {
            continue;
        };
        let json = match e {
            Expr::Value(v) => match v.value {
                Value::Boolean(b) => Some(text(if b { "true" } else { "false" })),
                _ => None,
            },
            Expr::Function(g) => {
                let name = g.name.to_string().to_ascii_lowercase();
                name.strip_prefix(MYSQL_PREFIX)
                    .is_some_and(|n| JSON_RESULTS.contains(&n))
                    .then(|| e.clone())
            }
            _ => None,
        };
        if let Some(json) = json {
            *e = call("offcloud_json", vec![json]);
        }
    }
}

/// MySQL's clock functions become literals from the emulator's clock; `VALUES(col)` in an upsert is
/// `excluded.col`; functions with other names in SQLite are renamed; any other function is refused by name.
fn rewrite_function(e: &mut Expr, scope: &Scope) -> ControlFlow<RdsError> {
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
    match fname.as_str() {
        "NOW" | "UTC_TIMESTAMP" | "CURRENT_TIMESTAMP" | "SYSDATE" | "LOCALTIMESTAMP" if no_args => {
            *e = call(crate::rdsdata::storage::NOW_FUNCTION, vec![]);
        }
        "CURDATE" | "UTC_DATE" | "CURRENT_DATE" if no_args => {
            *e = call(
                "date",
                vec![call(crate::rdsdata::storage::NOW_FUNCTION, vec![])],
            );
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
        "IF" if args.len() == 3 => rename(f, "iif"),
        // A DECIMAL is text at its scale: `CONCAT('v', 2.50)` is `v2.50`, and so is a DECIMAL(8,2) column's 2.5.
        "CONCAT" | "CONCAT_WS" => {
            if let FunctionArguments::List(l) = &mut f.args {
                for a in &mut l.args {
                    let sqlparser::ast::FunctionArg::Unnamed(
                        sqlparser::ast::FunctionArgExpr::Expr(x),
                    ) = a
                    else {
                        continue;
                    };
                    if let Expr::Value(v) = x
                        && let Value::Number(n, _) = &v.value
                        && n.contains('.')
                        && !n.contains(['e', 'E'])
                    {
                        v.value = Value::SingleQuotedString(n.clone());
                    } else if let Some(Ty::Decimal(scale)) = scope.ty(x) {
                        *x = call(
                            "offcloud_decimal_text",
                            vec![
                                x.clone(),
                                Expr::value(Value::Number(scale.to_string(), false)),
                            ],
                        );
                    }
                }
            }
            if let Some(Ok(sqlite)) = mysql_function(&fname, args.len()) {
                rename(f, &sqlite);
            }
        }
        "JSON_OBJECT" | "JSON_ARRAY" => {
            mark_json_arguments(f);
            if let Some(Ok(sqlite)) = mysql_function(&fname, args.len()) {
                rename(f, &sqlite);
            }
        }
        // `GROUP_CONCAT(x ORDER BY y SEPARATOR s)` is SQLite's `group_concat(x, s ORDER BY y)`.
        "GROUP_CONCAT" => {
            if let FunctionArguments::List(l) = &mut f.args
                && let Some(i) = l
                    .clauses
                    .iter()
                    .position(|c| matches!(c, sqlparser::ast::FunctionArgumentClause::Separator(_)))
            {
                let sqlparser::ast::FunctionArgumentClause::Separator(sep) = l.clauses.remove(i)
                else {
                    unreachable!("found above")
                };
                if l.duplicate_treatment.is_some() {
                    return ControlFlow::Break(unsupported(
                        "GROUP_CONCAT(DISTINCT ... SEPARATOR ...)",
                    ));
                }
                l.args.push(sqlparser::ast::FunctionArg::Unnamed(
                    sqlparser::ast::FunctionArgExpr::Expr(Expr::Value(sep)),
                ));
            }
        }
        "LAST_INSERT_ID" if no_args => rename(f, "last_insert_rowid"),
        // `DATE_ADD(d, INTERVAL n DAY)` is `mysql_date_add(d, n, 'DAY')`.
        "DATE_ADD" | "DATE_SUB" | "ADDDATE" | "SUBDATE" if args.len() == 2 => {
            let (amount, unit) = interval(&args[1]).unwrap_or((args[1].clone(), text("DAY")));
            let add = matches!(fname.as_str(), "DATE_ADD" | "ADDDATE");
            let name = if add {
                "mysql_date_add"
            } else {
                "mysql_date_sub"
            };
            *e = call(name, vec![args[0].clone(), amount, unit]);
        }
        // The unit of TIMESTAMPDIFF is a keyword, which the parser reads as a column.
        "TIMESTAMPDIFF" if args.len() == 3 => {
            let unit = match &args[0] {
                Expr::Identifier(i) => text(&i.value.to_ascii_uppercase()),
                other => other.clone(),
            };
            *e = call(
                "mysql_timestampdiff",
                vec![unit, args[1].clone(), args[2].clone()],
            );
        }
        name => match mysql_function(name, args.len()) {
            Some(Ok(sqlite)) => rename(f, &sqlite),
            Some(Err(e)) => return ControlFlow::Break(e),
            None if SAME_IN_SQLITE.contains(&name) => {}
            None => {
                return ControlFlow::Break(unsupported(&format!("the function {name}()")));
            }
        },
    }
    ControlFlow::Continue(())
}
