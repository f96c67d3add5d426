//! JSON paths as MySQL 5.7 parses them, and the values they reach.

use super::value::{Json, Parser};
use crate::rdsdata::functions::{Val, text};

/// One leg of a JSON path.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Leg {
    Key(String),
    AnyKey,
    Index(usize),
    AnyIndex,
    Ellipsis,
}

/// A path as MySQL 5.7 parses it: `$`, then `.key`, `."quoted key"`, `.*`, `[n]`, `[*]` and `**`, with spaces
/// between them. An error is ER_INVALID_JSON_PATH (3143).
fn parse_path(s: &str) -> Result<Vec<Leg>, String> {
    let b = s.as_bytes();
    let bad = |i: usize| {
        Err(format!(
            "Invalid JSON path expression. The error is around character position {i}."
        ))
    };
    let ws = |i: &mut usize| {
        while *i < b.len() && b[*i].is_ascii_whitespace() {
            *i += 1;
        }
    };
    let mut i = 0;
    ws(&mut i);
    if b.get(i) != Some(&b'$') {
        return bad(i);
    }
    i += 1;
    let mut legs = Vec::new();
    loop {
        ws(&mut i);
        match b.get(i) {
            None => break,
            Some(b'.') => {
                i += 1;
                ws(&mut i);
                match b.get(i) {
                    Some(b'*') => {
                        i += 1;
                        legs.push(Leg::AnyKey);
                    }
                    Some(b'"') => {
                        let mut p = Parser { b, s, i };
                        match p.string() {
                            Ok(k) => legs.push(Leg::Key(k)),
                            Err(_) => return bad(i),
                        }
                        i = p.i;
                    }
                    _ => {
                        let rest = &s[i..];
                        let len: usize = rest
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '$')
                            .map(char::len_utf8)
                            .sum();
                        if len == 0 || rest.starts_with(|c: char| c.is_ascii_digit()) {
                            return bad(i);
                        }
                        legs.push(Leg::Key(rest[..len].to_string()));
                        i += len;
                    }
                }
            }
            Some(b'[') => {
                i += 1;
                ws(&mut i);
                if b.get(i) == Some(&b'*') {
                    i += 1;
                    legs.push(Leg::AnyIndex);
                } else {
                    let start = i;
                    while i < b.len() && b[i].is_ascii_digit() {
                        i += 1;
                    }
                    match s[start..i].parse::<usize>() {
                        Ok(n) => legs.push(Leg::Index(n)),
                        Err(_) => return bad(start),
                    }
                }
                ws(&mut i);
                if b.get(i) != Some(&b']') {
                    return bad(i);
                }
                i += 1;
            }
            Some(b'*') if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                legs.push(Leg::Ellipsis);
            }
            Some(_) => return bad(i),
        }
    }
    if legs.last() == Some(&Leg::Ellipsis) {
        return bad(b.len());
    }
    Ok(legs)
}

pub(super) fn has_wildcard(legs: &[Leg]) -> bool {
    legs.iter()
        .any(|l| matches!(l, Leg::AnyKey | Leg::AnyIndex | Leg::Ellipsis))
}

/// Every value `legs` reaches from `v`, in document order.
pub(super) fn seek<'a>(v: &'a Json, legs: &[Leg], out: &mut Vec<&'a Json>) {
    let Some((leg, rest)) = legs.split_first() else {
        out.push(v);
        return;
    };
    match (leg, v) {
        (Leg::Key(k), Json::Object(pairs)) => {
            if let Some((_, c)) = pairs.iter().find(|(key, _)| key == k) {
                seek(c, rest, out);
            }
        }
        (Leg::AnyKey, Json::Object(pairs)) => pairs.iter().for_each(|(_, c)| seek(c, rest, out)),
        (Leg::Index(n), Json::Array(items)) => {
            if let Some(c) = items.get(*n) {
                seek(c, rest, out);
            }
        }
        (Leg::AnyIndex, Json::Array(items)) => items.iter().for_each(|c| seek(c, rest, out)),
        (Leg::Ellipsis, _) => {
            seek(v, rest, out);
            match v {
                Json::Array(items) => items.iter().for_each(|c| seek(c, legs, out)),
                Json::Object(pairs) => pairs.iter().for_each(|(_, c)| seek(c, legs, out)),
                _ => {}
            }
        }
        _ => {}
    }
}

/// A path argument: NULL is `None`.
pub(super) fn json_path(v: &Val) -> Result<Option<Vec<Leg>>, String> {
    match text(v) {
        None => Ok(None),
        Some(s) => parse_path(&s).map(Some),
    }
}

/// The one value a wildcard-free path reaches, for the functions that refuse wildcards (ER_INVALID_JSON_PATH_WILDCARD,
/// 3149).
pub(super) fn json_at<'a>(doc: &'a Json, legs: &[Leg]) -> Result<Option<&'a Json>, String> {
    if has_wildcard(legs) {
        return Err(
            "In this situation, path expressions may not contain the * and ** tokens.".into(),
        );
    }
    let mut out = Vec::new();
    seek(doc, legs, &mut out);
    Ok(out.first().copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_paths() {
        assert_eq!(
            parse_path("$.a.b"),
            Ok(vec![Leg::Key("a".into()), Leg::Key("b".into())])
        );
        assert_eq!(
            parse_path("$ . \"key with space\" [ 2 ]"),
            Ok(vec![Leg::Key("key with space".into()), Leg::Index(2)])
        );
        assert_eq!(
            parse_path("$**.a[*].*"),
            Ok(vec![
                Leg::Ellipsis,
                Leg::Key("a".into()),
                Leg::AnyIndex,
                Leg::AnyKey
            ])
        );
        let bad = |n: usize| {
            Err(format!(
                "Invalid JSON path expression. The error is around character position {n}."
            ))
        };
        assert_eq!(parse_path("a"), bad(0));
        assert_eq!(parse_path("$."), bad(2));
        assert_eq!(parse_path("$[x]"), bad(2));
        assert_eq!(parse_path("$.1a"), bad(2));
        assert_eq!(parse_path("$**"), bad(3));
    }
}
