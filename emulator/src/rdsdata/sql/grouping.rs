//! MySQL 5.7's `ONLY_FULL_GROUP_BY`, which SQLite does not check (it picks a row):
//! - a query that aggregates without `GROUP BY` must have every column of its select list inside an aggregate
//!   (ER_MIX_OF_GROUP_FUNC_AND_FIELDS_V2);
//! - with a `GROUP BY`, a column of the select list outside aggregates must be grouped, or functionally dependent
//!   on the grouped columns: through a primary or unique NOT NULL key of its table, or an equality in `WHERE` or
//!   `ON` with a grouped column or a constant (ER_WRONG_FIELD_WITH_GROUP_V2).
//!
//! Source: https://dev.mysql.com/doc/refman/5.7/en/group-by-handling.html and
//! https://dev.mysql.com/doc/refman/5.7/en/group-by-functional-dependence.html
//! FIXME: `HAVING` and `ORDER BY` are not checked, and a column of a derived table is taken as dependent; MySQL
//! checks both and follows dependence into derived tables.

use std::ops::ControlFlow;

use sqlparser::ast::{Expr, GroupByExpr, Query, SelectItem, SetExpr, TableFactor, Visit, Visitor};

use super::scope::Scope;
use crate::rdsdata::RdsError;

const AGGREGATES: &[&str] = &[
    "COUNT",
    "SUM",
    "AVG",
    "MIN",
    "MAX",
    "GROUP_CONCAT",
    "BIT_AND",
    "BIT_OR",
    "BIT_XOR",
    "STD",
    "STDDEV",
    "STDDEV_POP",
    "STDDEV_SAMP",
    "VARIANCE",
    "VAR_POP",
    "VAR_SAMP",
    "JSON_ARRAYAGG",
    "JSON_OBJECTAGG",
];

pub(super) fn is_aggregate(e: &Expr) -> bool {
    matches!(e, Expr::Function(f) if AGGREGATES.contains(&f.name.to_string().to_ascii_uppercase().as_str()))
}

/// Finds aggregates, and the first column outside them, outside subqueries.
#[derive(Default)]
struct Scan {
    inside_aggregate: usize,
    inside_query: usize,
    aggregates: bool,
    /// The columns outside aggregates, in order.
    columns: Vec<Expr>,
}

impl Visitor for Scan {
    type Break = ();

    fn pre_visit_query(&mut self, _: &Query) -> ControlFlow<()> {
        self.inside_query += 1;
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, _: &Query) -> ControlFlow<()> {
        self.inside_query -= 1;
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
        if self.inside_query > 0 {
            return ControlFlow::Continue(());
        }
        if is_aggregate(e) {
            self.aggregates = true;
            self.inside_aggregate += 1;
        } else if self.inside_aggregate == 0
            && matches!(e, Expr::Identifier(_) | Expr::CompoundIdentifier(_))
        {
            self.columns.push(e.clone());
        }
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
        if self.inside_query == 0 && is_aggregate(e) {
            self.inside_aggregate -= 1;
        }
        ControlFlow::Continue(())
    }
}

/// Refuses a query whose select list has a column that is neither aggregated nor determined by its GROUP BY, as
/// MySQL does. Columns are named as MySQL names them, `database.table.column`.
pub fn check(q: &Query, scope: &Scope) -> Result<(), RdsError> {
    let database = scope.database;
    let SetExpr::Select(s) = q.body.as_ref() else {
        return Ok(());
    };
    let grouped = match &s.group_by {
        GroupByExpr::Expressions(e, _) => !e.is_empty(),
        GroupByExpr::All(_) => true,
    };
    if grouped {
        return check_grouped(s, scope);
    }
    let mut scans = Vec::new();
    for item in &s.projection {
        let mut scan = Scan::default();
        if let SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } = item {
            let _ = e.visit(&mut scan);
        }
        scans.push(scan);
    }
    if !scans.iter().any(|s| s.aggregates) {
        return Ok(());
    }
    let Some((n, column)) = scans
        .iter()
        .enumerate()
        .find_map(|(i, s)| s.columns.first().map(|c| (i + 1, c)))
    else {
        return Ok(());
    };
    // The column's table: its qualifier, or the only table of the FROM clause.
    let tables: Vec<String> = s
        .from
        .iter()
        .flat_map(|t| std::iter::once(&t.relation).chain(t.joins.iter().map(|j| &j.relation)))
        .filter_map(|f| match f {
            TableFactor::Table { name, .. } => Some(super::name(name)),
            _ => None,
        })
        .collect();
    let (table, col) = match column {
        Expr::CompoundIdentifier(p) if p.len() >= 2 => {
            (p[p.len() - 2].value.clone(), p[p.len() - 1].value.clone())
        }
        Expr::Identifier(i) if tables.len() == 1 => (tables[0].clone(), i.value.clone()),
        _ => return Ok(()),
    };
    let qualified = match database {
        Some(db) if !table.contains('.') => format!("{db}.{table}.{col}"),
        _ => format!("{table}.{col}"),
    };
    Err(RdsError::BadRequest(format!(
        "In aggregated query without GROUP BY, expression #{n} of SELECT list contains nonaggregated column '{qualified}'; this is incompatible with sql_mode=only_full_group_by"
    )))
}

/// The conjuncts of `e`: `a AND b AND c` is `[a, b, c]`.
fn conjuncts(e: &Expr) -> Vec<&Expr> {
    match e {
        Expr::BinaryOp {
            left,
            op: sqlparser::ast::BinaryOperator::And,
            right,
        } => {
            let mut all = conjuncts(left);
            all.extend(conjuncts(right));
            all
        }
        Expr::Nested(inner) => conjuncts(inner),
        e => vec![e],
    }
}

fn is_constant(e: &Expr) -> bool {
    match e {
        Expr::Value(_) => true,
        Expr::Nested(inner) | Expr::UnaryOp { expr: inner, .. } => is_constant(inner),
        _ => false,
    }
}

/// ER_WRONG_FIELD_WITH_GROUP_V2 (1055) for a grouped query's select list.
fn check_grouped(s: &sqlparser::ast::Select, scope: &Scope) -> Result<(), RdsError> {
    let GroupByExpr::Expressions(group_by, _) = &s.group_by else {
        return Ok(());
    };
    // A GROUP BY item may name a select item by its alias.
    let aliased = |e: &Expr| -> Expr {
        if let Expr::Identifier(i) = e {
            for item in &s.projection {
                if let SelectItem::ExprWithAlias { expr, alias } = item
                    && alias.value.eq_ignore_ascii_case(&i.value)
                {
                    return expr.clone();
                }
            }
        }
        e.clone()
    };
    let group_by: Vec<Expr> = group_by.iter().map(aliased).collect();
    let grouped_text: Vec<String> = group_by.iter().map(ToString::to_string).collect();
    // The determined columns: the grouped ones, and those equal to one or to a constant, and every column of a
    // table whose unique key is determined, until nothing more is.
    let mut determined: Vec<(String, String)> =
        group_by.iter().filter_map(|e| scope.column(e)).collect();
    let mut equalities = Vec::new();
    let conditions = s
        .selection
        .iter()
        .chain(
            s.from
                .iter()
                .flat_map(|t| &t.joins)
                .filter_map(|j| match &j.join_operator {
                    sqlparser::ast::JoinOperator::Join(c)
                    | sqlparser::ast::JoinOperator::Inner(c)
                    | sqlparser::ast::JoinOperator::Left(c)
                    | sqlparser::ast::JoinOperator::LeftOuter(c) => match c {
                        sqlparser::ast::JoinConstraint::On(e) => Some(e),
                        _ => None,
                    },
                    _ => None,
                }),
        );
    for condition in conditions {
        for c in conjuncts(condition) {
            if let Expr::BinaryOp {
                left,
                op: sqlparser::ast::BinaryOperator::Eq,
                right,
            } = c
            {
                match (scope.column(left), scope.column(right)) {
                    (Some(a), Some(b)) => equalities.push((a, b)),
                    (Some(a), None) if is_constant(right) => determined.push(a),
                    (None, Some(b)) if is_constant(left) => determined.push(b),
                    _ => {}
                }
            }
        }
    }
    let same = |a: &(String, String), b: &(String, String)| {
        a.0.eq_ignore_ascii_case(&b.0) && a.1.eq_ignore_ascii_case(&b.1)
    };
    let mut whole_tables: Vec<String> = Vec::new();
    loop {
        let before = (determined.len(), whole_tables.len());
        for (a, b) in &equalities {
            let (known_a, known_b) = (
                determined.iter().any(|d| same(d, a)) || whole_tables.contains(&a.0),
                determined.iter().any(|d| same(d, b)) || whole_tables.contains(&b.0),
            );
            if known_a && !known_b {
                determined.push(b.clone());
            } else if known_b && !known_a {
                determined.push(a.clone());
            }
        }
        for (table, _) in &scope.tables {
            if whole_tables.contains(table) {
                continue;
            }
            let keyed = scope.catalog.unique_keys(table).iter().any(|key| {
                key.iter().all(|col| {
                    determined
                        .iter()
                        .any(|d| same(d, &(table.clone(), col.clone())))
                })
            });
            if keyed {
                whole_tables.push(table.clone());
            }
        }
        if (determined.len(), whole_tables.len()) == before {
            break;
        }
    }
    for (i, item) in s.projection.iter().enumerate() {
        let (SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. }) = item else {
            continue;
        };
        if grouped_text.contains(&e.to_string()) {
            continue;
        }
        let mut scan = Scan::default();
        let _ = e.visit(&mut scan);
        for column in &scan.columns {
            let Some(c) = scope.column(column) else {
                continue;
            };
            if whole_tables.contains(&c.0) || determined.iter().any(|d| same(d, &c)) {
                continue;
            }
            let qualified = match (scope.database, c.0.contains('.')) {
                (Some(db), false) => format!("{db}.{}.{}", c.0, c.1),
                _ => format!("{}.{}", c.0, c.1),
            };
            return Err(RdsError::BadRequest(format!(
                "Expression #{} of SELECT list is not in GROUP BY clause and contains nonaggregated column '{qualified}' which is not functionally dependent on columns in GROUP BY clause; this is incompatible with sql_mode=only_full_group_by",
                i + 1
            )));
        }
    }
    Ok(())
}
