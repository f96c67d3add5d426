//! MySQL 5.7's `ONLY_FULL_GROUP_BY` for a query that aggregates without `GROUP BY`: every column of its select
//! list must then be inside an aggregate, which SQLite does not check (it picks a row).
//! Source: https://dev.mysql.com/doc/refman/5.7/en/group-by-handling.html (ER_MIX_OF_GROUP_FUNC_AND_FIELDS_V2).
//! FIXME: with a GROUP BY, a column that is neither grouped nor functionally dependent on the grouped columns is
//! not refused here, as MySQL refuses it.

use std::ops::ControlFlow;

use sqlparser::ast::{Expr, GroupByExpr, Query, SelectItem, SetExpr, TableFactor, Visit, Visitor};

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
    column: Option<Expr>,
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
            && self.column.is_none()
            && matches!(e, Expr::Identifier(_) | Expr::CompoundIdentifier(_))
        {
            self.column = Some(e.clone());
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

/// Refuses a query that aggregates without GROUP BY and selects a column outside its aggregates, as MySQL does.
/// `database` names the column as MySQL does, `database.table.column`.
pub fn check(q: &Query, database: Option<&str>) -> Result<(), RdsError> {
    let SetExpr::Select(s) = q.body.as_ref() else {
        return Ok(());
    };
    let grouped = match &s.group_by {
        GroupByExpr::Expressions(e, _) => !e.is_empty(),
        GroupByExpr::All(_) => true,
    };
    if grouped {
        return Ok(());
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
        .find_map(|(i, s)| s.column.as_ref().map(|c| (i + 1, c)))
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
