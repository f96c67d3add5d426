//! The MySQL type of a select item that is an expression rather than a column, which chooses its Data API `Field`
//! (a DECIMAL is a `stringValue` at its scale, a DATETIME a timestamp). SQLite gives types only for columns, so the
//! select items are kept as MySQL wrote them, and their types worked out when the statement has run, from the
//! declared types of the columns they use.
//!
//! Source: https://dev.mysql.com/doc/refman/5.7/en/arithmetic-functions.html (results of `+ - *` and `/`, with
//! `div_precision_increment` 4), https://dev.mysql.com/doc/refman/5.7/en/group-by-functions.html (SUM and AVG of
//! exact values are DECIMAL), https://dev.mysql.com/doc/refman/5.7/en/precision-math-decimal-characteristics.html.

use sqlparser::ast::{
    BinaryOperator, CastKind, DataType, Expr, FunctionArg, FunctionArgExpr, FunctionArguments,
    Query, SelectItem, SetExpr, TableFactor, UnaryOperator, Value,
};

/// The select items of a statement's first SELECT that need a type worked out, and the tables they can name.
#[derive(Debug, Clone, Default)]
pub struct Projection {
    /// One per select item: the expression as MySQL wrote it, or `None` for a column (or `*`).
    pub items: Vec<Option<Expr>>,
    /// The FROM tables: (name, what the statement calls it).
    pub tables: Vec<(String, String)>,
}

impl Projection {
    pub fn is_empty(&self) -> bool {
        self.items.iter().all(Option::is_none)
    }
}

/// `q`'s projection, before it is translated, when an item is an expression.
pub fn projection(q: &Query) -> Option<Projection> {
    let SetExpr::Select(select) = q.body.as_ref() else {
        return None;
    };
    let mut items = Vec::new();
    for item in &select.projection {
        items.push(match item {
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => match e {
                Expr::Identifier(_) | Expr::CompoundIdentifier(_) => None,
                e => Some(e.clone()),
            },
            // `*` stands for several columns, whose types SQLite knows.
            _ => return None,
        });
    }
    let mut tables = Vec::new();
    for t in &select.from {
        for f in std::iter::once(&t.relation).chain(t.joins.iter().map(|j| &j.relation)) {
            if let TableFactor::Table { name, alias, .. } = f {
                tables.push(super::table_and_alias(name, alias.as_ref()));
            }
        }
    }
    let p = Projection { items, tables };
    (!p.is_empty()).then_some(p)
}

/// A MySQL result type, as far as the Data API's choice of `Field` goes.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Ty {
    Json,
    Int,
    Decimal(u32),
    Double,
    Date,
    DateTime,
    Text,
}

impl Ty {
    /// A declared type that the field rendering reads as this type.
    fn decl(&self) -> String {
        match self {
            Ty::Json => "JSON".into(),
            Ty::Int => "BIGINT".into(),
            Ty::Decimal(s) => format!("DECIMAL(65,{s})"),
            Ty::Double => "DOUBLE".into(),
            Ty::Date => "DATE".into(),
            Ty::DateTime => "DATETIME".into(),
            Ty::Text => "TEXT".into(),
        }
    }

    pub(super) fn from_decl(decl: &str) -> Option<Ty> {
        let upper = decl.to_ascii_uppercase();
        let base = upper.split('(').next().unwrap_or("").trim();
        Some(match base {
            "DECIMAL" | "NUMERIC" | "DEC" | "FIXED" => Ty::Decimal(
                upper
                    .split_once(',')
                    .and_then(|(_, s)| s.trim_end_matches(')').trim().parse().ok())
                    .unwrap_or(0),
            ),
            "TINYINT" | "SMALLINT" | "MEDIUMINT" | "INT" | "INTEGER" | "BIGINT" | "YEAR" => Ty::Int,
            "FLOAT" | "DOUBLE" | "REAL" => Ty::Double,
            "DATE" => Ty::Date,
            "DATETIME" | "TIMESTAMP" => Ty::DateTime,
            "" => return None,
            _ => Ty::Text,
        })
    }
}

fn args(f: &sqlparser::ast::Function) -> Vec<&Expr> {
    match &f.args {
        FunctionArguments::List(l) => l
            .args
            .iter()
            .filter_map(|a| match a {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
                _ => None,
            })
            .collect(),
        _ => vec![],
    }
}

fn literal_scale(n: &str) -> Option<Ty> {
    if n.contains(['e', 'E']) {
        return Some(Ty::Double);
    }
    Some(match n.split_once('.') {
        Some((_, fraction)) => Ty::Decimal(fraction.len() as u32),
        None => Ty::Int,
    })
}

fn int_arg(e: Option<&&Expr>) -> Option<i64> {
    match e {
        Some(Expr::Value(v)) => match &v.value {
            Value::Number(n, _) => n.parse().ok(),
            _ => None,
        },
        Some(Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        }) => int_arg(Some(&&**expr)).map(|n| -n),
        _ => None,
    }
}

/// The type of `e`, given the declared types of the columns it names.
pub(super) fn infer(e: &Expr, column: &dyn Fn(&Expr) -> Option<Ty>) -> Option<Ty> {
    Some(match e {
        Expr::Identifier(_) | Expr::CompoundIdentifier(_) => column(e)?,
        Expr::Nested(inner) => infer(inner, column)?,
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => literal_scale(n)?,
            Value::SingleQuotedString(_) | Value::DoubleQuotedString(_) => Ty::Text,
            _ => return None,
        },
        Expr::UnaryOp {
            op: UnaryOperator::Minus | UnaryOperator::Plus,
            expr,
        } => infer(expr, column)?,
        // `d + INTERVAL n UNIT` keeps a DATETIME's type; a DATE's depends on the unit.
        Expr::BinaryOp {
            left,
            op: BinaryOperator::Plus | BinaryOperator::Minus,
            right,
        } if matches!(right.as_ref(), Expr::Interval(_)) => match infer(left, column)? {
            Ty::DateTime => Ty::DateTime,
            _ => return None,
        },
        Expr::BinaryOp { left, op, right } => {
            let (l, r) = (infer(left, column)?, infer(right, column)?);
            // Strings in arithmetic are read as doubles.
            let as_number = |t: Ty| match t {
                Ty::Text | Ty::Date | Ty::DateTime => Ty::Double,
                t => t,
            };
            let (l, r) = (as_number(l), as_number(r));
            let scale = |t: &Ty| match t {
                Ty::Decimal(s) => *s,
                _ => 0,
            };
            match op {
                BinaryOperator::Plus
                | BinaryOperator::Minus
                | BinaryOperator::Multiply
                | BinaryOperator::Modulo => match (&l, &r) {
                    (Ty::Double, _) | (_, Ty::Double) => Ty::Double,
                    (Ty::Int, Ty::Int) => Ty::Int,
                    _ if *op == BinaryOperator::Multiply => Ty::Decimal(scale(&l) + scale(&r)),
                    _ => Ty::Decimal(scale(&l).max(scale(&r))),
                },
                BinaryOperator::Divide => match (&l, &r) {
                    (Ty::Double, _) | (_, Ty::Double) => Ty::Double,
                    _ => Ty::Decimal(scale(&l) + 4),
                },
                _ => return None,
            }
        }
        // The translation's own `CAST(x AS REAL)`, which makes `/` divide without truncating, keeps x's type.
        Expr::Cast {
            data_type: DataType::Real,
            expr,
            ..
        } => infer(expr, column)?,
        Expr::Cast {
            kind: CastKind::Cast | CastKind::DoubleColon,
            data_type,
            ..
        } => match data_type {
            DataType::Decimal(info) | DataType::Numeric(info) | DataType::Dec(info) => match info {
                sqlparser::ast::ExactNumberInfo::PrecisionAndScale(_, s) => Ty::Decimal(*s as u32),
                _ => Ty::Decimal(0),
            },
            DataType::Date => Ty::Date,
            DataType::Datetime(_) | DataType::Timestamp(..) => Ty::DateTime,
            DataType::Signed | DataType::SignedInteger => Ty::Int,
            DataType::Char(_) | DataType::Text => Ty::Text,
            _ => return None,
        },
        Expr::Floor { .. } | Expr::Ceil { .. } => Ty::Int,
        Expr::Function(f) => {
            // A function already translated has MySQL's name behind the prefix.
            let name = f.name.to_string().to_ascii_uppercase();
            let name = name.strip_prefix("MYSQL_").unwrap_or(&name).to_string();
            let a = args(f);
            let first = || a.first().and_then(|x| infer(x, column));
            match name.as_str() {
                "SUM" => match first()? {
                    Ty::Int => Ty::Decimal(0),
                    Ty::Decimal(s) => Ty::Decimal(s),
                    _ => Ty::Double,
                },
                "AVG" => match first()? {
                    Ty::Int => Ty::Decimal(4),
                    Ty::Decimal(s) => Ty::Decimal(s + 4),
                    _ => Ty::Double,
                },
                "MIN" | "MAX" | "ABS" => first()?,
                // MOD(N, M) is `N % M`.
                "MOD" if a.len() == 2 => infer(
                    &Expr::BinaryOp {
                        left: Box::new((*a[0]).clone()),
                        op: BinaryOperator::Modulo,
                        right: Box::new((*a[1]).clone()),
                    },
                    column,
                )?,
                "COUNT" => Ty::Int,
                "ROUND" | "TRUNCATE" => {
                    let d = int_arg(a.get(1)).unwrap_or(0);
                    match first()? {
                        Ty::Decimal(_) => Ty::Decimal(d.max(0) as u32),
                        Ty::Int => Ty::Int,
                        _ => Ty::Double,
                    }
                }
                "FLOOR" | "CEIL" | "CEILING" => match first()? {
                    Ty::Double => Ty::Double,
                    _ => Ty::Int,
                },
                "FROM_UNIXTIME" if a.len() == 1 => Ty::DateTime,
                "JSON_EXTRACT" => Ty::Json,
                "STR_TO_DATE" => {
                    let format = match a.get(1) {
                        Some(Expr::Value(v)) => match &v.value {
                            Value::SingleQuotedString(f) => f.clone(),
                            _ => return None,
                        },
                        _ => return None,
                    };
                    let timed = [
                        "%H", "%k", "%h", "%I", "%l", "%i", "%s", "%S", "%T", "%r", "%f", "%p",
                    ]
                    .iter()
                    .any(|t| format.contains(t));
                    if timed { Ty::DateTime } else { Ty::Date }
                }
                "GREATEST" | "LEAST" => {
                    let types: Vec<Ty> = a.iter().filter_map(|x| infer(x, column)).collect();
                    if types.len() != a.len() {
                        return None;
                    }
                    if types.iter().all(|t| *t == Ty::Int) {
                        Ty::Int
                    } else if types.iter().all(|t| matches!(t, Ty::Int | Ty::Decimal(_))) {
                        Ty::Decimal(
                            types
                                .iter()
                                .map(|t| if let Ty::Decimal(s) = t { *s } else { 0 })
                                .max()
                                .unwrap_or(0),
                        )
                    } else if types.iter().all(|t| *t == Ty::Text) {
                        Ty::Text
                    } else {
                        Ty::Double
                    }
                }
                "DATE_ADD" | "DATE_SUB" | "ADDDATE" | "SUBDATE" => match first()? {
                    Ty::DateTime => Ty::DateTime,
                    _ => return None,
                },
                _ => return None,
            }
        }
        _ => return None,
    })
}

/// The declared type to read each select item's values by: `None` where SQLite's own will do, or the type could
/// not be worked out. `column_decl(table, column)` gives a table's declared column type.
pub fn decls(
    p: &Projection,
    column_decl: &dyn Fn(&str, &str) -> Option<String>,
) -> Vec<Option<String>> {
    let column = |e: &Expr| -> Option<Ty> {
        let (qualifier, col) = match e {
            Expr::Identifier(i) => (None, i.value.as_str()),
            Expr::CompoundIdentifier(parts) => (
                parts.len().checked_sub(2).map(|i| parts[i].value.as_str()),
                parts.last()?.value.as_str(),
            ),
            _ => return None,
        };
        p.tables
            .iter()
            .filter(|(_, called)| qualifier.is_none_or(|q| q.eq_ignore_ascii_case(called)))
            .find_map(|(table, _)| column_decl(table, col))
            .and_then(|d| Ty::from_decl(&d))
    };
    p.items
        .iter()
        .map(|item| {
            item.as_ref()
                .and_then(|e| infer(e, &column))
                .map(|t| t.decl())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::dialect::MySqlDialect;
    use sqlparser::parser::Parser;

    fn types(sql: &str) -> Vec<Option<String>> {
        let st = Parser::parse_sql(&MySqlDialect {}, sql).unwrap().remove(0);
        let sqlparser::ast::Statement::Query(q) = st else {
            panic!("a query")
        };
        let p = projection(&q).unwrap_or_default();
        decls(&p, &|table, col| match (table, col) {
            ("t", "d") => Some("DECIMAL(10,2)".into()),
            ("t", "n") => Some("INT".into()),
            ("t", "f") => Some("DOUBLE".into()),
            ("t", "dt") => Some("DATETIME".into()),
            _ => None,
        })
    }

    #[test]
    fn decimal_results_have_mysql_s_scale() {
        let s = |v: &str| Some(v.to_string());
        assert_eq!(
            types(
                "SELECT SUM(d), AVG(d), AVG(n), SUM(n), d / 3, d * 3, n, 1.005, 0.1 + 0.2, 7 / 2 FROM t"
            ),
            [
                s("DECIMAL(65,2)"),
                s("DECIMAL(65,6)"),
                s("DECIMAL(65,4)"),
                s("DECIMAL(65,0)"),
                s("DECIMAL(65,6)"),
                s("DECIMAL(65,2)"),
                None,
                s("DECIMAL(65,3)"),
                s("DECIMAL(65,1)"),
                s("DECIMAL(65,4)"),
            ]
        );
        assert_eq!(
            types(
                "SELECT f + 1, '1' + 1, COUNT(*), ROUND(d, 1), FLOOR(d), dt + INTERVAL 1 DAY, UPPER(x) FROM t"
            ),
            [
                s("DOUBLE"),
                s("DOUBLE"),
                s("BIGINT"),
                s("DECIMAL(65,1)"),
                s("BIGINT"),
                s("DATETIME"),
                None
            ]
        );
        assert!(types("SELECT * FROM t").is_empty());
    }
}
