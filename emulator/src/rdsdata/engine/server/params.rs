//! A request's `:name` parameters bound into its statement as literals of the server's dialect, as the Data API's
//! JDBC drivers bind them on the client. Quoted strings, quoted identifiers, comments, PostgreSQL's `::` casts and
//! its dollar-quoted strings are left alone; a name no parameter gives stays as written, so the server reports it.

use std::fmt::Write as _;

use super::super::{Param, Sql, TypeHint};

/// The SQL dialect literals are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Mysql,
    Postgres,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn quoted(s: &str, dialect: Dialect) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match (c, dialect) {
            ('\'', _) => out.push_str("''"),
            ('\\', Dialect::Mysql) => out.push_str("\\\\"),
            ('\0', Dialect::Mysql) => out.push_str("\\0"),
            _ => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// A value as a literal. On PostgreSQL a `stringValue` is a `varchar`, as JDBC's `setString` sends it, so that a
/// string meant for a `uuid` or `json` column needs its `typeHint`, as on AWS ("The corresponding String parameter
/// value is sent as an object of UUID type to the database").
/// Source: https://docs.aws.amazon.com/rdsdataservice/latest/APIReference/API_SqlParameter.html
pub fn literal(v: &Sql, dialect: Dialect) -> String {
    match (v, dialect) {
        (Sql::Null, _) => "NULL".into(),
        (Sql::Integer(n), _) => n.to_string(),
        (Sql::Bool(b), Dialect::Mysql) => i64::from(*b).to_string(),
        (Sql::Bool(b), Dialect::Postgres) => if *b { "TRUE" } else { "FALSE" }.into(),
        (Sql::Real(f), Dialect::Mysql) => format!("{f:e}"),
        (Sql::Real(f), Dialect::Postgres) => format!("'{f}'::float8"),
        (Sql::Text(s), Dialect::Mysql) => quoted(s, dialect),
        (Sql::Text(s), Dialect::Postgres) => format!("{}::varchar", quoted(s, dialect)),
        (Sql::Blob(b), Dialect::Mysql) => format!("X'{}'", hex(b)),
        (Sql::Blob(b), Dialect::Postgres) => format!("'\\x{}'::bytea", hex(b)),
        // The hint's format was checked: a DECIMAL is digits, so it is written as the number it is.
        (Sql::Hinted(s, TypeHint::Decimal), Dialect::Mysql) => s.clone(),
        (Sql::Hinted(s, _), Dialect::Mysql) => quoted(s, dialect),
        (Sql::Hinted(s, hint), Dialect::Postgres) => {
            let ty = match hint {
                TypeHint::Json => "json",
                TypeHint::Uuid => "uuid",
                TypeHint::Timestamp => "timestamp",
                TypeHint::Date => "date",
                TypeHint::Time => "time",
                TypeHint::Decimal => "numeric",
            };
            format!("{}::{ty}", quoted(s, dialect))
        }
        (Sql::Array(items), _) => {
            let inner: Vec<String> = items.iter().map(|i| literal(i, dialect)).collect();
            format!("ARRAY[{}]", inner.join(", "))
        }
    }
}

fn is_name_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_name(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// The byte after a quoted run that started at `start` (its opening quote `q`); a doubled quote and, on MySQL, a
/// backslash escape stay inside it.
fn skip_quoted(b: &[u8], start: usize, q: u8, backslash: bool) -> usize {
    let mut i = start + 1;
    while i < b.len() {
        if backslash && b[i] == b'\\' {
            i += 2;
            continue;
        }
        if b[i] == q {
            if b.get(i + 1) == Some(&q) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    b.len()
}

/// The end of a PostgreSQL dollar-quoted string starting at `start`, if one starts there (`$$` or `$tag$`).
fn skip_dollar_quoted(sql: &str, start: usize) -> Option<usize> {
    let b = sql.as_bytes();
    let mut j = start + 1;
    while j < b.len() && is_name(b[j]) {
        j += 1;
    }
    if b.get(j) != Some(&b'$') || b.get(start + 1).is_some_and(|c| c.is_ascii_digit()) {
        return None;
    }
    let tag = &sql[start..=j];
    Some(
        sql[j + 1..]
            .find(tag)
            .map_or(sql.len(), |k| j + 1 + k + tag.len()),
    )
}

/// `sql` with each `:name` that `params` gives replaced by its literal.
pub fn bind(sql: &str, params: &[Param], dialect: Dialect) -> String {
    if params.is_empty() {
        return sql.to_string();
    }
    let b = sql.as_bytes();
    let mut out = String::with_capacity(sql.len() + 16 * params.len());
    let mut copied = 0;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        i = match c {
            b'\'' => skip_quoted(b, i, b'\'', dialect == Dialect::Mysql),
            b'"' => skip_quoted(b, i, b'"', dialect == Dialect::Mysql),
            b'`' if dialect == Dialect::Mysql => skip_quoted(b, i, b'`', false),
            b'#' if dialect == Dialect::Mysql => sql[i..].find('\n').map_or(b.len(), |k| i + k),
            b'-' if next == Some(b'-') => sql[i..].find('\n').map_or(b.len(), |k| i + k),
            b'/' if next == Some(b'*') => sql[i + 2..].find("*/").map_or(b.len(), |k| i + 4 + k),
            b'$' if dialect == Dialect::Postgres => skip_dollar_quoted(sql, i).unwrap_or(i + 1),
            b':' if next == Some(b':') => i + 2,
            b':' if next.is_some_and(is_name_start) => {
                let mut end = i + 1;
                while end < b.len() && is_name(b[end]) {
                    end += 1;
                }
                let name = &sql[i + 1..end];
                if let Some((_, v)) = params.iter().find(|(n, _)| n == name) {
                    out.push_str(&sql[copied..i]);
                    out.push_str(&literal(v, dialect));
                    copied = end;
                }
                end
            }
            _ => i + 1,
        };
    }
    out.push_str(&sql[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(name: &str, v: Sql) -> Param {
        (name.to_string(), v)
    }

    #[test]
    fn names_become_literals_outside_quotes_and_comments() {
        let params = [p("id", Sql::Text("it's".into())), p("n", Sql::Integer(-3))];
        assert_eq!(
            bind(
                "SELECT ':id', `:id`, \":id\" FROM t WHERE a = :id AND b = :n -- :id\n# :n\n/* :n */ AND c = :missing",
                &params,
                Dialect::Mysql
            ),
            "SELECT ':id', `:id`, \":id\" FROM t WHERE a = 'it''s' AND b = -3 -- :id\n# :n\n/* :n */ AND c = :missing"
        );
        assert_eq!(
            bind("SELECT 'a\\':id' , :id", &params, Dialect::Mysql),
            "SELECT 'a\\':id' , 'it''s'"
        );
    }

    #[test]
    fn postgres_keeps_casts_and_dollar_quotes_and_types_its_literals() {
        let params = [
            p("id", Sql::Hinted("6f1c...".into(), TypeHint::Uuid)),
            p("b", Sql::Bool(true)),
            p("s", Sql::Text("x".into())),
            p("f", Sql::Real(1.5)),
        ];
        assert_eq!(
            bind(
                "SELECT :id, x::int, $$ :s $$, $q$:s$q$, :b, :s, :f",
                &params,
                Dialect::Postgres
            ),
            "SELECT '6f1c...'::uuid, x::int, $$ :s $$, $q$:s$q$, TRUE, 'x'::varchar, '1.5'::float8"
        );
    }

    #[test]
    fn literals_escape_what_each_dialect_escapes() {
        assert_eq!(
            literal(&Sql::Text("a\\b\0".into()), Dialect::Mysql),
            "'a\\\\b\\0'"
        );
        assert_eq!(
            literal(&Sql::Text("a\\b".into()), Dialect::Postgres),
            "'a\\b'::varchar"
        );
        assert_eq!(literal(&Sql::Blob(vec![0, 255]), Dialect::Mysql), "X'00ff'");
        assert_eq!(
            literal(&Sql::Blob(vec![1]), Dialect::Postgres),
            "'\\x01'::bytea"
        );
        assert_eq!(literal(&Sql::Real(0.1), Dialect::Mysql), "1e-1");
        assert_eq!(
            literal(
                &Sql::Hinted("12.50".into(), TypeHint::Decimal),
                Dialect::Mysql
            ),
            "12.50"
        );
        assert_eq!(literal(&Sql::Null, Dialect::Postgres), "NULL");
    }
}
