//! Which clause of a statement names a column, for MySQL's texts about unknown and ambiguous columns.

use std::ops::ControlFlow;

use sqlparser::ast::{Expr, SetExpr, Statement, visit_expressions};
use sqlparser::dialect::SQLiteDialect;
use sqlparser::parser::Parser;

/// Whether `e` mentions column `col` (`name` or `table.name`).
fn mentions<T: sqlparser::ast::Visit>(node: &T, col: &str) -> bool {
    visit_expressions(node, |e| {
        let hit = match e {
            Expr::Identifier(i) => i.value.eq_ignore_ascii_case(col),
            Expr::CompoundIdentifier(parts) => {
                let joined: Vec<&str> = parts.iter().map(|p| p.value.as_str()).collect();
                joined.join(".").eq_ignore_ascii_case(col)
                    || parts
                        .last()
                        .is_some_and(|p| p.value.eq_ignore_ascii_case(col))
            }
            _ => false,
        };
        if hit {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
    .is_break()
}

/// MySQL's name for the clause of `sql` (the translated statement) that names `col`, in the order MySQL resolves
/// them: the select list, join conditions, WHERE, GROUP BY, HAVING, ORDER BY. An INSERT's or UPDATE's columns and
/// values are the `field list` too.
pub fn clause_of(sql: &str, col: &str) -> &'static str {
    let Ok(mut statements) = Parser::parse_sql(&SQLiteDialect {}, sql) else {
        return "field list";
    };
    let Some(st) = statements.pop() else {
        return "field list";
    };
    match &st {
        Statement::Query(q) => {
            if let SetExpr::Select(s) = q.body.as_ref() {
                if s.projection.iter().any(|p| mentions(p, col)) {
                    return "field list";
                }
                if s.from
                    .iter()
                    .any(|t| t.joins.iter().any(|j| mentions(&j.join_operator, col)))
                {
                    return "on clause";
                }
                if s.selection.as_ref().is_some_and(|w| mentions(w, col)) {
                    return "where clause";
                }
                if mentions(&s.group_by, col) {
                    return "group statement";
                }
                if s.having.as_ref().is_some_and(|h| mentions(h, col)) {
                    return "having clause";
                }
            }
            if q.order_by.as_ref().is_some_and(|o| mentions(o, col)) {
                return "order clause";
            }
            "field list"
        }
        Statement::Update(u) => {
            let target = |a: &sqlparser::ast::Assignment| {
                a.target
                    .to_string()
                    .trim_matches('"')
                    .eq_ignore_ascii_case(col)
            };
            if u.assignments
                .iter()
                .any(|a| target(a) || mentions(&a.value, col))
            {
                return "field list";
            }
            if u.selection.as_ref().is_some_and(|w| mentions(w, col)) {
                return "where clause";
            }
            "field list"
        }
        Statement::Delete(d) if d.selection.as_ref().is_some_and(|w| mentions(w, col)) => {
            "where clause"
        }
        _ => "field list",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clauses_are_named_as_mysql_names_them() {
        let sql =
            "SELECT a FROM t JOIN u ON u.x = t.y WHERE b = 1 GROUP BY c HAVING d > 1 ORDER BY e";
        assert_eq!(clause_of(sql, "a"), "field list");
        assert_eq!(clause_of(sql, "u.x"), "on clause");
        assert_eq!(clause_of(sql, "b"), "where clause");
        assert_eq!(clause_of(sql, "c"), "group statement");
        assert_eq!(clause_of(sql, "d"), "having clause");
        assert_eq!(clause_of(sql, "e"), "order clause");
        assert_eq!(
            clause_of("UPDATE t SET a = 1 WHERE z = 2", "z"),
            "where clause"
        );
        assert_eq!(clause_of("not sql at all", "z"), "field list");
    }
}
