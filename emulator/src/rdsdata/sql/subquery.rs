//! Scalar subqueries: MySQL fails one that returns more than one row (ER_SUBQUERY_NO_1_ROW, 1242, "Subquery returns
//! more than 1 row"), where SQLite takes the first. The subquery becomes the input of an aggregate that fails on a
//! second row: `(SELECT offcloud_single(v) FROM (SELECT x AS v ...))`. An empty one is still NULL.
//! Source: https://dev.mysql.com/doc/refman/5.7/en/subquery-errors.html

use sqlparser::ast::{
    Expr, GroupByExpr, Ident, LimitClause, Query, SelectItem, SetExpr, TableFactor, TableWithJoins,
    Value,
};

use super::grouping::is_aggregate;

/// The aggregate that the storage registers: the one value it is given, or MySQL's error on a second.
pub const SINGLE_ROW: &str = "offcloud_single";

/// The column the inner query's one item is renamed to.
const VALUE: &str = "offcloud_value";

/// Whether `q` returns at most one row whatever the data: `LIMIT 0` or `LIMIT 1`, or aggregates without GROUP BY.
fn at_most_one_row(q: &Query) -> bool {
    if let Some(LimitClause::LimitOffset {
        limit: Some(Expr::Value(v)),
        ..
    }) = &q.limit_clause
        && matches!(&v.value, Value::Number(n, _) if n == "0" || n == "1")
    {
        return true;
    }
    let SetExpr::Select(s) = q.body.as_ref() else {
        return false;
    };
    let grouped = match &s.group_by {
        GroupByExpr::Expressions(e, _) => !e.is_empty(),
        GroupByExpr::All(_) => true,
    };
    !grouped
        && s.having.is_none()
        && s.projection.iter().any(|i| match i {
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                is_aggregate(e)
            }
            _ => false,
        })
}

/// Makes scalar subquery `q` fail as MySQL's does on a second row. A subquery of more than one column, or of a
/// wildcard, is left for SQLite to refuse.
pub fn single_row(q: &mut Box<Query>) {
    if at_most_one_row(q) {
        return;
    }
    let SetExpr::Select(s) = q.body.as_mut() else {
        return;
    };
    let [item] = s.projection.as_mut_slice() else {
        return;
    };
    let expr = match item {
        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => e.clone(),
        _ => return,
    };
    *item = SelectItem::ExprWithAlias {
        expr,
        alias: Ident::new(VALUE),
    };
    let inner = (**q).clone();
    **q = outer(inner);
}

/// `SELECT offcloud_single(offcloud_value) FROM (inner) AS offcloud_rows`.
fn outer(inner: Query) -> Query {
    let text = format!("SELECT {SINGLE_ROW}({VALUE}) FROM (SELECT 1) AS offcloud_rows");
    let parsed = sqlparser::parser::Parser::parse_sql(&sqlparser::dialect::MySqlDialect {}, &text);
    let Ok(mut statements) = parsed else {
        unreachable!("the wrapper is valid SQL")
    };
    let sqlparser::ast::Statement::Query(mut q) = statements.remove(0) else {
        unreachable!("the wrapper is a query")
    };
    if let SetExpr::Select(s) = q.body.as_mut()
        && let Some(TableWithJoins {
            relation: TableFactor::Derived { subquery, .. },
            ..
        }) = s.from.first_mut()
    {
        **subquery = inner;
    }
    *q
}
