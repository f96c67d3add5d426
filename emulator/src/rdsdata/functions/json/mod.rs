//! JSON: https://dev.mysql.com/doc/refman/5.7/en/json-functions.html and
//! https://dev.mysql.com/doc/refman/5.7/en/json.html (normalization, path syntax, output format).
//!
//! - [`value`] is the JSON value, and its text as MySQL parses and prints it.
//! - [`path`] is MySQL's JSON path: its syntax and the values it reaches.

mod path;
mod value;

use super::{Val, param_count, text};
use path::{has_wildcard, json_at, json_path, seek};
use value::{Json, JsonError, json_object_of, json_quoted, json_text, parse_json};

/// A document argument: NULL is `None`; a string is parsed, with ER_INVALID_JSON_TEXT_IN_PARAM (3141) when it
/// is not JSON; a number is ER_INVALID_TYPE_FOR_JSON (3146).
fn json_doc(v: &Val, arg: usize, func: &str) -> Result<Option<Json>, String> {
    let s = match v {
        Val::Null => return Ok(None),
        Val::Int(_) | Val::Real(_) => {
            return Err(format!(
                "Invalid data type for JSON data in argument {arg} to function {func}; a JSON string or JSON type is required."
            ));
        }
        Val::Text(s) => s.clone(),
        Val::Blob(b) => String::from_utf8_lossy(b).into_owned(),
    };
    match parse_json(&s) {
        Ok(j) => Ok(Some(j)),
        Err(JsonError::Syntax(msg, pos)) => Err(format!(
            "Invalid JSON text in argument {arg} to function {func}: \"{msg}\" at position {pos}."
        )),
        Err(JsonError::TooDeep) => {
            Err("The JSON document exceeds the maximum depth of 100.".into())
        }
    }
}

/// What `offcloud_json(x)` puts before a JSON value's text, so that JSON_OBJECT and JSON_ARRAY embed it as JSON
/// rather than as a string, as MySQL does with an argument of the JSON type (another JSON function's result, or
/// TRUE and FALSE). The translation calls it only on such arguments, so the marked text never reaches a result.
const JSON_MARK: char = '\u{1}';

/// `offcloud_json(x)`: `x`, a JSON text, marked as JSON.
pub(super) fn mark(a: &[Val]) -> Result<Val, String> {
    Ok(match &a[0] {
        Val::Null => Val::Null,
        v => Val::Text(format!("{JSON_MARK}{}", text(v).unwrap_or_default())),
    })
}

/// A SQL value as a JSON value, as JSON_OBJECT and JSON_ARRAY take their arguments. A binary string becomes
/// MySQL's opaque `base64:type15:` string.
fn to_json(v: &Val) -> Json {
    if let Val::Text(s) = v
        && let Some(marked) = s.strip_prefix(JSON_MARK)
        && let Ok(j) = parse_json(marked)
    {
        return j;
    }
    match v {
        Val::Null => Json::Null,
        Val::Int(n) => Json::Int(*n),
        Val::Real(x) => Json::Double(*x),
        Val::Text(s) => Json::Str(s.clone()),
        Val::Blob(b) => Json::Str(format!("base64:type15:{}", base64(b))),
    }
}

fn base64(b: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in b.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (k, &c)| n | u32::from(c) << (16 - 8 * k));
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(A[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// JSON_EXTRACT(json_doc, path[, path] ...): https://dev.mysql.com/doc/refman/5.7/en/json-search-functions.html#function_json-extract
/// One wildcard-free path gives the value it reaches; several paths, or wildcards, give an array of every value
/// reached. Nothing reached is NULL.
pub(super) fn json_extract(a: &[Val]) -> Result<Val, String> {
    if a.len() < 2 {
        return Err(param_count("json_extract"));
    }
    let doc = json_doc(&a[0], 1, "json_extract")?;
    let mut paths = Vec::new();
    for v in &a[1..] {
        match json_path(v)? {
            None => return Ok(Val::Null),
            Some(p) => paths.push(p),
        }
    }
    let Some(doc) = doc else {
        return Ok(Val::Null);
    };
    let mut found = Vec::new();
    for p in &paths {
        seek(&doc, p, &mut found);
    }
    let wrap = paths.len() > 1 || has_wildcard(&paths[0]);
    Ok(match (found.len(), wrap) {
        (0, _) => Val::Null,
        // A number comes back as a number, so that `JSON_EXTRACT(doc, '$.age') > 30` compares numbers as
        // MySQL's JSON comparison does; the Data API still shows it as JSON text.
        (_, false) => match found[0] {
            Json::Int(n) => Val::Int(*n),
            Json::Double(x) => Val::Real(*x),
            other => json_text(other),
        },
        (_, true) => json_text(&Json::Array(found.into_iter().cloned().collect())),
    })
}

/// JSON_UNQUOTE(json_val): https://dev.mysql.com/doc/refman/5.7/en/json-modification-functions.html#function_json-unquote
/// Only a string that starts and ends with a double quote is unquoted; anything else is returned as it is.
pub(super) fn json_unquote(a: &[Val]) -> Result<Val, String> {
    let Some(s) = text(&a[0]) else {
        return Ok(Val::Null);
    };
    if s.len() < 2 || !s.starts_with('"') || !s.ends_with('"') {
        return Ok(Val::Text(s));
    }
    match json_doc(&Val::Text(s), 1, "json_unquote")? {
        Some(Json::Str(u)) => Ok(Val::Text(u)),
        other => Ok(other.as_ref().map_or(Val::Null, json_text)),
    }
}

/// JSON_OBJECT([key, val[, key, val] ...]): https://dev.mysql.com/doc/refman/5.7/en/json-creation-functions.html#function_json-object
pub(super) fn json_object(a: &[Val]) -> Result<Val, String> {
    if !a.len().is_multiple_of(2) {
        return Err(param_count("json_object"));
    }
    let mut pairs = Vec::new();
    for kv in a.chunks(2) {
        let Some(k) = text(&kv[0]) else {
            return Err("JSON documents may not contain NULL member names.".into());
        };
        pairs.push((k, to_json(&kv[1])));
    }
    Ok(json_text(&json_object_of(pairs)))
}

/// JSON_ARRAY([val[, val] ...]): https://dev.mysql.com/doc/refman/5.7/en/json-creation-functions.html#function_json-array
pub(super) fn json_array(a: &[Val]) -> Result<Val, String> {
    Ok(json_text(&Json::Array(a.iter().map(to_json).collect())))
}

/// JSON_VALID(val): https://dev.mysql.com/doc/refman/5.7/en/json-attribute-functions.html#function_json-valid
pub(super) fn json_valid(a: &[Val]) -> Result<Val, String> {
    Ok(match &a[0] {
        Val::Null => Val::Null,
        Val::Int(_) | Val::Real(_) => Val::Int(0),
        v => Val::Int(i64::from(parse_json(&text(v).unwrap_or_default()).is_ok())),
    })
}

/// The value at `a`'s optional path (the whole document by default) in its document: `None` when either is NULL
/// or the path finds nothing.
fn value_at(a: &[Val], function: &str) -> Result<Option<Json>, String> {
    let doc = json_doc(&a[0], 1, function)?;
    let path = match a.get(1) {
        None => Some(Vec::new()),
        Some(p) => json_path(p)?,
    };
    let (Some(doc), Some(path)) = (doc, path) else {
        return Ok(None);
    };
    Ok(json_at(&doc, &path)?.cloned())
}

/// JSON_LENGTH(json_doc[, path]): https://dev.mysql.com/doc/refman/5.7/en/json-attribute-functions.html#function_json-length
/// A scalar's length is 1.
pub(super) fn json_length(a: &[Val]) -> Result<Val, String> {
    let Some(found) = value_at(a, "json_length")? else {
        return Ok(Val::Null);
    };
    Ok(match found {
        Json::Array(items) => Val::Int(items.len() as i64),
        Json::Object(pairs) => Val::Int(pairs.len() as i64),
        _ => Val::Int(1),
    })
}

/// JSON_KEYS(json_doc[, path]): https://dev.mysql.com/doc/refman/5.7/en/json-search-functions.html#function_json-keys
/// NULL unless the value is an object.
pub(super) fn json_keys(a: &[Val]) -> Result<Val, String> {
    let Some(found) = value_at(a, "json_keys")? else {
        return Ok(Val::Null);
    };
    Ok(match found {
        Json::Object(pairs) => json_text(&Json::Array(
            pairs.iter().map(|(k, _)| Json::Str(k.clone())).collect(),
        )),
        _ => Val::Null,
    })
}

/// JSON_TYPE(json_val): https://dev.mysql.com/doc/refman/5.7/en/json-attribute-functions.html#function_json-type
pub(super) fn json_type(a: &[Val]) -> Result<Val, String> {
    let Some(doc) = json_doc(&a[0], 1, "json_type")? else {
        return Ok(Val::Null);
    };
    let t = match doc {
        Json::Null => "NULL",
        Json::Bool(_) => "BOOLEAN",
        Json::Int(_) => "INTEGER",
        Json::UInt(_) => "UNSIGNED INTEGER",
        Json::Double(_) => "DOUBLE",
        Json::Str(_) => "STRING",
        Json::Array(_) => "ARRAY",
        Json::Object(_) => "OBJECT",
    };
    Ok(Val::Text(t.into()))
}

/// JSON_QUOTE(string): https://dev.mysql.com/doc/refman/5.7/en/json-creation-functions.html#function_json-quote
pub(super) fn json_quote(a: &[Val]) -> Result<Val, String> {
    Ok(text(&a[0]).map_or(Val::Null, |s| {
        let mut out = String::new();
        json_quoted(&s, &mut out);
        Val::Text(out)
    }))
}

#[cfg(test)]
mod tests {
    use crate::rdsdata::functions::Val;
    use crate::rdsdata::functions::testing::{N, check, fails, i, r, t};

    #[test]
    fn json_extract() {
        let doc = t(
            r#"{"id": 1, "name": "Ann", "tags": ["a", "b"], "o": {"x": {"y": 2.5}}, "key with space": null}"#,
        );
        check!("json_extract", [doc.clone(), t("$.name")] => t(r#""Ann""#));
        // Numbers come back as numbers, to compare as numbers.
        check!("json_extract", [doc.clone(), t("$.id")] => i(1));
        check!("json_extract", [doc.clone(), t("$.tags[1]")] => t(r#""b""#));
        check!("json_extract", [doc.clone(), t("$.tags")] => t(r#"["a", "b"]"#));
        check!("json_extract", [doc.clone(), t("$.o.x.y")] => r(2.5));
        check!("json_extract", [doc.clone(), t(r#"$."key with space""#)] => t("null"));
        check!("json_extract", [doc.clone(), t("$.missing")] => N);
        check!("json_extract", [doc.clone(), t("$.tags[5]")] => N);
        check!("json_extract", [doc.clone(), t("$.id"), t("$.name")] => t(r#"[1, "Ann"]"#));
        check!("json_extract", [doc.clone(), t("$.id"), t("$.nope")] => t("[1]"));
        check!("json_extract", [doc.clone(), t("$.tags[*]")] => t(r#"["a", "b"]"#));
        check!("json_extract", [doc.clone(), t("$**.y")] => t("[2.5]"));
        check!("json_extract", [t("[10, 20, [30, 40]]"), t("$[2][1]")] => i(40));
        check!("json_extract", [t("[10, 20, [30, 40]]"), t("$[0]")] => i(10));
        check!("json_extract", [t(r#"{"a": {"b": 1}}"#), t("$.a")] => t(r#"{"b": 1}"#));
        check!("json_extract", [N, t("$.a")] => N);
        check!("json_extract", [doc.clone(), N] => N);
        fails!("json_extract", [t("nope"), t("$.a")]
            => r#"Invalid JSON text in argument 1 to function json_extract: "Invalid value." at position 0."#);
        fails!("json_extract", [t("{}"), t("a")]
            => "Invalid JSON path expression. The error is around character position 0.");
        fails!("json_extract", [i(1), t("$")]
            => "Invalid data type for JSON data in argument 1 to function json_extract; a JSON string or JSON type is required.");
        fails!("json_extract", [doc] => "Incorrect parameter count in the call to native function 'json_extract'");
    }

    #[test]
    fn json_unquote() {
        check!("json_unquote", [t(r#""abc""#)] => t("abc"));
        check!("json_unquote", [t(r#""\t\u0032""#)] => t("\t2"));
        check!("json_unquote", [t("[1, 2]")] => t("[1, 2]"));
        check!("json_unquote", [t("abc")] => t("abc"));
        check!("json_unquote", [t("\"")] => t("\""));
        check!("json_unquote", [N] => N);
        fails!("json_unquote", [t(r#""a"b""#)]
            => r#"Invalid JSON text in argument 1 to function json_unquote: "The document root must not be followed by other values." at position 3."#);
    }

    #[test]
    fn json_arguments_are_embedded_as_json() {
        use super::{json_array, mark};
        let marked = |s: &str| mark(&[Val::Text(s.into())]).unwrap();
        assert_eq!(
            json_array(&[marked("true"), marked("[1, 2]"), Val::Text("[1, 2]".into())]),
            Ok(Val::Text(r#"[true, [1, 2], "[1, 2]"]"#.into()))
        );
        assert_eq!(mark(&[Val::Null]), Ok(Val::Null));
    }

    #[test]
    fn json_object_and_array() {
        check!("json_object", [t("id"), i(87), t("name"), t("carrot")] => t(r#"{"id": 87, "name": "carrot"}"#));
        check!("json_object", [t("name"), t("x"), t("id"), i(1)] => t(r#"{"id": 1, "name": "x"}"#));
        check!("json_object", [] => t("{}"));
        check!("json_object", [t("a"), N, t("b"), r(1.5), t("c"), r(2.0)] => t(r#"{"a": null, "b": 1.5, "c": 2.0}"#));
        check!("json_object", [t("k"), i(1), t("k"), i(2)] => t(r#"{"k": 1}"#));
        check!("json_object", [i(1), t("q\"")] => t(r#"{"1": "q\""}"#));
        fails!("json_object", [t("a")] => "Incorrect parameter count in the call to native function 'json_object'");
        fails!("json_object", [N, i(1)] => "JSON documents may not contain NULL member names.");
        check!("json_array", [i(1), t("abc"), N, r(1e20)] => t(r#"[1, "abc", null, 1e20]"#));
        check!("json_array", [] => t("[]"));
        check!("json_array", [t("[1]")] => t(r#"["[1]"]"#));
        check!("json_array", [Val::Blob(vec![1])] => t(r#"["base64:type15:AQ=="]"#));
    }

    #[test]
    fn json_valid() {
        check!("json_valid", [t(r#"{"a": 1}"#)] => i(1));
        check!("json_valid", [t("hello")] => i(0));
        check!("json_valid", [t(r#""hello""#)] => i(1));
        check!("json_valid", [t("")] => i(0));
        check!("json_valid", [i(1)] => i(0));
        check!("json_valid", [N] => N);
    }

    #[test]
    fn json_length() {
        check!("json_length", [t(r#"[1, 2, {"a": 3}]"#)] => i(3));
        check!("json_length", [t(r#"{"a": 1, "b": {"c": 30}}"#)] => i(2));
        check!("json_length", [t(r#"{"a": 1, "b": {"c": 30}}"#), t("$.b")] => i(1));
        check!("json_length", [t(r#""x""#)] => i(1));
        check!("json_length", [t(r#"{"a": 1}"#), t("$.z")] => N);
        check!("json_length", [N] => N);
        check!("json_length", [t("[]"), N] => N);
        fails!("json_length", [t("[1]"), t("$[*]")]
            => "In this situation, path expressions may not contain the * and ** tokens.");
        fails!("json_length", [t("[1")]
            => r#"Invalid JSON text in argument 1 to function json_length: "Missing a comma or ']' after an array element." at position 2."#);
    }

    #[test]
    fn json_keys() {
        check!("json_keys", [t(r#"{"a": 1, "b": {"c": 30}}"#)] => t(r#"["a", "b"]"#));
        check!("json_keys", [t(r#"{"a": 1, "b": {"c": 30}}"#), t("$.b")] => t(r#"["c"]"#));
        check!("json_keys", [t(r#"{"bb": 1, "a": 2}"#)] => t(r#"["a", "bb"]"#));
        check!("json_keys", [t("[1, 2]")] => N);
        check!("json_keys", [t("{}")] => t("[]"));
        check!("json_keys", [N] => N);
        check!("json_keys", [t("{}"), t("$.x")] => N);
    }

    #[test]
    fn json_type() {
        check!("json_type", [t(r#"{"a": [10, true]}"#)] => t("OBJECT"));
        check!("json_type", [t("[10, true]")] => t("ARRAY"));
        check!("json_type", [t("true")] => t("BOOLEAN"));
        check!("json_type", [t("1")] => t("INTEGER"));
        check!("json_type", [t("18446744073709551615")] => t("UNSIGNED INTEGER"));
        check!("json_type", [t("1.5")] => t("DOUBLE"));
        check!("json_type", [t(r#""x""#)] => t("STRING"));
        check!("json_type", [t("null")] => t("NULL"));
        check!("json_type", [N] => N);
        fails!("json_type", [t("x")]
            => r#"Invalid JSON text in argument 1 to function json_type: "Invalid value." at position 0."#);
    }

    #[test]
    fn json_quote() {
        check!("json_quote", [t("null")] => t(r#""null""#));
        check!("json_quote", [t(r#""null""#)] => t(r#""\"null\"""#));
        check!("json_quote", [t("[1, 2, 3]")] => t(r#""[1, 2, 3]""#));
        check!("json_quote", [t("a\tb\u{1}")] => t(r#""a\tb\u0001""#));
        check!("json_quote", [N] => N);
    }
}
