//! `UPDATE` and `DELETE` as MySQL runs them: multi-table forms, `ORDER BY ... LIMIT`, assignments that see the
//! ones before them, and affected rows that count only the rows an UPDATE changed.
//!
//! Source: https://dev.mysql.com/doc/refman/5.7/en/update.html ("the second assignment ... uses the updated
//! value"; "If you set a column to the value it currently has, MySQL notices this and does not update it") and
//! https://dev.mysql.com/doc/refman/5.7/en/delete.html.

use std::ops::ControlFlow;

use sqlparser::ast::{
    AssignmentTarget, BinaryOperator, Delete, Expr, FromTable, Ident, JoinConstraint, JoinOperator,
    ObjectName, TableFactor, TableWithJoins, Update, UpdateTableFromKind, visit_expressions_mut,
};
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;

use super::unsupported;
use crate::rdsdata::RdsError;

/// A table's name, and what the statement calls it (its alias, or the name).
fn names(t: &TableFactor) -> Result<(String, String), RdsError> {
    match t {
        TableFactor::Table { name, alias, .. } => {
            let n = super::name(name);
            let called = alias
                .as_ref()
                .map(|a| a.name.value.clone())
                .unwrap_or_else(|| n.rsplit('.').next().unwrap_or(&n).to_string());
            Ok((n, called))
        }
        _ => Err(unsupported(
            "UPDATE or DELETE of anything but a named table",
        )),
    }
}

fn and(a: Option<Expr>, b: Expr) -> Expr {
    match a {
        None => b,
        Some(a) => Expr::BinaryOp {
            left: Box::new(Expr::Nested(Box::new(a))),
            op: BinaryOperator::And,
            right: Box::new(Expr::Nested(Box::new(b))),
        },
    }
}

/// `rowid IN (SELECT <rowid> FROM <from> WHERE ... ORDER BY ... LIMIT ...)`.
fn rowids(
    rowid: &str,
    from: &str,
    selection: Option<&Expr>,
    order_by: &[sqlparser::ast::OrderByExpr],
    limit: Option<&Expr>,
) -> Result<Expr, RdsError> {
    let mut text = format!("SELECT {rowid} FROM {from}");
    if let Some(s) = selection {
        text.push_str(&format!(" WHERE {s}"));
    }
    if !order_by.is_empty() {
        let o: Vec<String> = order_by.iter().map(ToString::to_string).collect();
        text.push_str(&format!(" ORDER BY {}", o.join(", ")));
    }
    if let Some(l) = limit {
        text.push_str(&format!(" LIMIT {l}"));
    }
    let query = Parser::new(&MySqlDialect {})
        .try_with_sql(&text)
        .and_then(|mut p| p.parse_query())
        .map_err(|e| RdsError::Internal(format!("{text}: {e}")))?;
    Ok(Expr::InSubquery {
        expr: Box::new(Expr::Identifier(Ident::new("rowid"))),
        subquery: query,
        negated: false,
    })
}

/// Whether `e` names column `col` of the table the statement calls `table`.
fn is_column(e: &Expr, table: &str, col: &str) -> bool {
    match e {
        Expr::Identifier(i) => i.value.eq_ignore_ascii_case(col),
        Expr::CompoundIdentifier(parts) if parts.len() == 2 => {
            parts[0].value.eq_ignore_ascii_case(table) && parts[1].value.eq_ignore_ascii_case(col)
        }
        _ => false,
    }
}

/// Rewrites an UPDATE for SQLite and returns the table it writes.
pub fn translate_update(u: &mut Update) -> Result<String, RdsError> {
    let (table, called) = names(&u.table.relation)?;
    let joined = !u.table.joins.is_empty() || u.from.is_some();
    // SQLite wants `AS` before the target's alias.
    if let TableFactor::Table {
        alias: Some(alias), ..
    } = &mut u.table.relation
    {
        alias.explicit = true;
    }
    // SQLite sets columns of the target alone, unqualified.
    let mut targets = Vec::new();
    for a in &mut u.assignments {
        let AssignmentTarget::ColumnName(n) = &mut a.target else {
            return Err(unsupported("UPDATE ... SET (a, b) = ..."));
        };
        if n.0.len() == 2 {
            let q = n.0[0].to_string();
            if !q.trim_matches('`').eq_ignore_ascii_case(&called) {
                return Err(unsupported(
                    "an UPDATE that sets columns of more than one table",
                ));
            }
            n.0.remove(0);
        }
        targets.push(n.to_string().trim_matches('`').to_string());
    }
    // `UPDATE a JOIN b ON ... SET` is SQLite's `UPDATE a SET ... FROM b WHERE ...`.
    if !u.table.joins.is_empty() {
        if u.from.is_some() {
            return Err(unsupported("UPDATE with both JOIN and FROM"));
        }
        let mut from = Vec::new();
        let mut on = None;
        for j in std::mem::take(&mut u.table.joins) {
            let constraint = match j.join_operator {
                JoinOperator::Join(c) | JoinOperator::Inner(c) | JoinOperator::CrossJoin(c) => c,
                _ => return Err(unsupported("UPDATE with an outer JOIN")),
            };
            match constraint {
                JoinConstraint::On(e) => on = Some(and(on, e)),
                JoinConstraint::None | JoinConstraint::Natural => {}
                JoinConstraint::Using(_) => return Err(unsupported("UPDATE ... JOIN ... USING")),
            }
            from.push(TableWithJoins {
                relation: j.relation,
                joins: vec![],
            });
        }
        u.from = Some(UpdateTableFromKind::AfterSet(from));
        if let Some(on) = on {
            u.selection = Some(match u.selection.take() {
                Some(s) => and(Some(on), s),
                None => on,
            });
        }
    }
    // Each assignment sees the ones before it, as MySQL's single-table UPDATE does.
    if !joined {
        for i in 1..u.assignments.len() {
            let (before, rest) = u.assignments.split_at_mut(i);
            let value = &mut rest[0].value;
            let _ = visit_expressions_mut(value, |e| {
                if let Some((j, _)) = targets[..i]
                    .iter()
                    .enumerate()
                    .rev()
                    .find(|(_, c)| is_column(e, &called, c))
                {
                    *e = Expr::Nested(Box::new(before[j].value.clone()));
                }
                ControlFlow::<()>::Continue(())
            });
        }
    }
    // `ORDER BY ... LIMIT n`: the first n matching rows, by rowid.
    if !u.order_by.is_empty() || u.limit.is_some() {
        if joined {
            return Err(unsupported("ORDER BY or LIMIT in a multi-table UPDATE"));
        }
        let from = u.table.relation.to_string();
        let limit = u.limit.take();
        let order_by = std::mem::take(&mut u.order_by);
        u.selection = Some(rowids(
            "rowid",
            &from,
            u.selection.as_ref(),
            &order_by,
            limit.as_ref(),
        )?);
    }
    // Only rows that change count, and are written: a column set to its own value is no change.
    if let Some(changed) = changed(&u.assignments, joined.then_some(called.as_str())) {
        u.selection = Some(and(u.selection.take(), changed));
    }
    Ok(table)
}

/// Rewrites a DELETE for SQLite and returns the table it deletes from.
pub fn translate_delete(d: &mut Delete) -> Result<String, RdsError> {
    let from = match &d.from {
        FromTable::WithFromKeyword(t) | FromTable::WithoutKeyword(t) => t.clone(),
    };
    if d.using.is_some() {
        return Err(unsupported("DELETE ... USING"));
    }
    // `DELETE t FROM t JOIN u ON ... WHERE ...`: the rows of t that the join finds.
    if !d.tables.is_empty() || from.len() > 1 || from.iter().any(|t| !t.joins.is_empty()) {
        if d.tables.len() != 1 {
            return Err(unsupported("a DELETE from more than one table"));
        }
        let target = super::name(&d.tables[0]);
        let mut found = None;
        for t in &from {
            for f in std::iter::once(&t.relation).chain(t.joins.iter().map(|j| &j.relation)) {
                let (name, called) = names(f)?;
                if called.eq_ignore_ascii_case(&target) || name.eq_ignore_ascii_case(&target) {
                    found = Some((name, called));
                }
            }
        }
        let Some((table, called)) = found else {
            return Err(RdsError::BadRequest(format!(
                "Unknown table '{target}' in MULTI DELETE"
            )));
        };
        let sources: Vec<String> = from.iter().map(ToString::to_string).collect();
        let selection = rowids(
            &format!("{called}.rowid"),
            &sources.join(", "),
            d.selection.as_ref(),
            &d.order_by,
            d.limit.as_ref(),
        )?;
        d.tables.clear();
        d.order_by.clear();
        d.limit = None;
        d.from = FromTable::WithFromKeyword(vec![TableWithJoins {
            relation: TableFactor::Table {
                name: ObjectName::from(vec![Ident::new(&table)]),
                alias: None,
                args: None,
                with_hints: vec![],
                version: None,
                with_ordinality: false,
                partitions: vec![],
                json_path: None,
                sample: None,
                index_hints: vec![],
            },
            joins: vec![],
        }]);
        d.selection = Some(selection);
        return Ok(table);
    }
    let relation = &from
        .first()
        .ok_or_else(|| unsupported("DELETE without a table"))?
        .relation;
    let (table, _) = names(relation)?;
    if !d.order_by.is_empty() || d.limit.is_some() {
        let order_by = std::mem::take(&mut d.order_by);
        let limit = d.limit.take();
        d.selection = Some(rowids(
            "rowid",
            &relation.to_string(),
            d.selection.as_ref(),
            &order_by,
            limit.as_ref(),
        )?);
    }
    Ok(table)
}

/// An UPDATE's assignments as (column, value) SQL text.
pub fn assignments(u: &Update) -> Vec<(String, String)> {
    u.assignments
        .iter()
        .map(|a| {
            (
                a.target.to_string().trim_matches('`').to_string(),
                a.value.to_string(),
            )
        })
        .collect()
}

/// Whether assignments change a row: any column set to a value it does not hold, byte for byte. `table` qualifies
/// the columns where the statement joins others.
pub fn changed(assignments: &[sqlparser::ast::Assignment], table: Option<&str>) -> Option<Expr> {
    assignments
        .iter()
        .filter_map(|a| {
            let AssignmentTarget::ColumnName(n) = &a.target else {
                return None;
            };
            let col = n.0.last()?.as_ident()?.clone();
            let column = match table {
                Some(t) => Expr::CompoundIdentifier(vec![Ident::new(t), col]),
                None => Expr::Identifier(col),
            };
            Some(Expr::IsDistinctFrom(
                Box::new(column),
                Box::new(Expr::Collate {
                    expr: Box::new(Expr::Nested(Box::new(a.value.clone()))),
                    collation: ObjectName::from(vec![Ident::new("BINARY")]),
                }),
            ))
        })
        .reduce(|a, b| Expr::BinaryOp {
            left: Box::new(a),
            op: BinaryOperator::Or,
            right: Box::new(b),
        })
}
