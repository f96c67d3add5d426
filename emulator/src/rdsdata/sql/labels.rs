//! Column labels as MySQL gives them: an expression without an alias is labelled with its text as the statement
//! wrote it (`1+1`, `COUNT( * )`), and a string literal with its value. SQLite would label the translated text
//! instead, so each such select item gets its MySQL label as an alias before it is translated.
//! Source: https://dev.mysql.com/doc/refman/5.7/en/problems-with-alias.html and MySQL's own result metadata,
//! compared in `tests/mysql/`.

use sqlparser::ast::{Expr, Ident, Query, SelectItem, SetExpr, Value};
use sqlparser::tokenizer::Location;

/// The byte offset of a 1-based line and character column in `sql`.
pub(super) fn offset(sql: &str, at: Location) -> Option<usize> {
    let mut line_start = 0;
    for _ in 1..at.line {
        line_start += sql[line_start..].find('\n')? + 1;
    }
    let line = &sql[line_start..];
    let col = (at.column as usize).checked_sub(1)?;
    let within = line
        .char_indices()
        .nth(col)
        .map(|(i, _)| i)
        .unwrap_or(line.len());
    Some(line_start + within)
}

/// The select list's items as written, from just after `SELECT` at byte `from`: split at commas outside
/// brackets and quotes, up to the clause keyword that ends the list. (The parser's spans stop short for some
/// expressions, such as a call's arguments or a CAST, so the text is cut here instead.)
fn items(sql: &str, from: usize) -> Vec<&str> {
    let rest = &sql[from..];
    let bytes = rest.as_bytes();
    let mut out = Vec::new();
    let (mut depth, mut quote, mut start) = (0i32, None::<u8>, 0);
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match quote {
            Some(q) if c == b'\\' && q != b'`' => i += 1,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                b'\'' | b'"' | b'`' => quote = Some(c),
                b'(' => depth += 1,
                b')' if depth == 0 => break,
                b')' => depth -= 1,
                b',' if depth == 0 => {
                    out.push(&rest[start..i]);
                    start = i + 1;
                }
                b';' if depth == 0 => break,
                _ if depth == 0 && ends_item(rest, i) => break,
                _ => {}
            },
        }
        i += 1;
    }
    out.push(&rest[start..i.min(rest.len())]);
    out.into_iter().map(str::trim).collect()
}

/// A first item without the SELECT modifiers before it (`DISTINCT`, `SQL_NO_CACHE`, ...).
fn without_modifiers(mut item: &str) -> &str {
    loop {
        let word = item.split_whitespace().next().unwrap_or("");
        let upper = word.to_ascii_uppercase();
        if matches!(
            upper.as_str(),
            "DISTINCT" | "ALL" | "DISTINCTROW" | "HIGH_PRIORITY" | "STRAIGHT_JOIN"
        ) || upper.starts_with("SQL_")
        {
            item = item[word.len()..].trim_start();
        } else {
            return item;
        }
    }
}

/// MySQL's label for an unaliased select item written as `text`, if SQLite's would differ.
fn label(e: &Expr, text: &str) -> Option<String> {
    match e {
        Expr::Identifier(_) | Expr::CompoundIdentifier(_) => None,
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => Some(s.clone()),
            _ => Some(text.to_string()),
        },
        _ => (!text.is_empty()).then(|| text.to_string()),
    }
}

/// Whether a clause keyword that ends a select list starts at byte `i` of `s`, as a whole word.
fn ends_item(s: &str, i: usize) -> bool {
    const WORDS: &[&str] = &[
        "FROM", "WHERE", "GROUP", "HAVING", "ORDER", "LIMIT", "UNION", "INTO", "FOR", "LOCK",
        "WINDOW",
    ];
    let before_ok =
        i == 0 || !s.as_bytes()[i - 1].is_ascii_alphanumeric() && s.as_bytes()[i - 1] != b'_';
    before_ok
        && WORDS.iter().any(|w| {
            s.get(i..i + w.len())
                .is_some_and(|x| x.eq_ignore_ascii_case(w))
                && s.as_bytes()
                    .get(i + w.len())
                    .is_none_or(|b| !b.is_ascii_alphanumeric() && *b != b'_')
        })
}

/// Gives each unaliased expression of `q`'s first SELECT its MySQL label.
pub fn label_select_items(sql: &str, q: &mut Query) {
    let mut body = q.body.as_mut();
    loop {
        match body {
            SetExpr::SetOperation { left, .. } => body = left.as_mut(),
            SetExpr::Query(inner) => body = inner.body.as_mut(),
            _ => break,
        }
    }
    let SetExpr::Select(select) = body else {
        return;
    };
    let Some(at) = offset(sql, select.select_token.0.span.end) else {
        return;
    };
    let mut texts = items(sql, at);
    if texts.len() != select.projection.len() {
        return;
    }
    texts[0] = without_modifiers(texts[0]);
    for (item, text) in select.projection.iter_mut().zip(texts) {
        if let SelectItem::UnnamedExpr(e) = item
            && let Some(l) = label(e, text)
        {
            *item = SelectItem::ExprWithAlias {
                expr: e.clone(),
                alias: Ident::with_quote('"', l),
            };
        }
    }
}
