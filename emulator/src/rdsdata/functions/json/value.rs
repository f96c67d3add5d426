//! The JSON value as MySQL holds it, and its text: a parser with RapidJSON's messages, and MySQL's printer.

use crate::rdsdata::functions::{Val, fmt_double};

/// A JSON value as MySQL holds it. An object's members are kept in MySQL's normalized order (shorter keys
/// first, then bytewise) with the first of duplicate keys kept, as 5.7 does.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Json {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Double(f64),
    Str(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

/// MySQL's limit on nesting (ER_JSON_DOCUMENT_TOO_DEEP, 3157).
const JSON_MAX_DEPTH: usize = 100;

pub(super) fn json_object_of(mut pairs: Vec<(String, Json)>) -> Json {
    pairs.sort_by(|a, b| {
        a.0.len()
            .cmp(&b.0.len())
            .then_with(|| a.0.as_bytes().cmp(b.0.as_bytes()))
    });
    pairs.dedup_by(|later, first| later.0 == first.0);
    Json::Object(pairs)
}

/// Why a JSON text did not parse: the parser's message and byte position, or too deep a document.
#[derive(Debug, PartialEq)]
pub(super) enum JsonError {
    Syntax(&'static str, usize),
    TooDeep,
}

/// A JSON text parser with the messages of the RapidJSON parser MySQL uses.
pub(super) struct Parser<'a> {
    pub(super) b: &'a [u8],
    pub(super) s: &'a str,
    pub(super) i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn err<T>(&self, msg: &'static str) -> Result<T, JsonError> {
        Err(JsonError::Syntax(msg, self.i))
    }

    fn value(&mut self, depth: usize) -> Result<Json, JsonError> {
        if depth > JSON_MAX_DEPTH {
            return Err(JsonError::TooDeep);
        }
        match self.b.get(self.i) {
            Some(b'n') => self.literal("null", Json::Null),
            Some(b't') => self.literal("true", Json::Bool(true)),
            Some(b'f') => self.literal("false", Json::Bool(false)),
            Some(b'"') => self.string().map(Json::Str),
            Some(b'[') => {
                self.i += 1;
                self.ws();
                let mut items = Vec::new();
                if self.b.get(self.i) == Some(&b']') {
                    self.i += 1;
                    return Ok(Json::Array(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    match self.b.get(self.i) {
                        Some(b',') => {
                            self.i += 1;
                            self.ws();
                        }
                        Some(b']') => {
                            self.i += 1;
                            return Ok(Json::Array(items));
                        }
                        _ => return self.err("Missing a comma or ']' after an array element."),
                    }
                }
            }
            Some(b'{') => {
                self.i += 1;
                self.ws();
                let mut pairs = Vec::new();
                if self.b.get(self.i) == Some(&b'}') {
                    self.i += 1;
                    return Ok(json_object_of(pairs));
                }
                loop {
                    if self.b.get(self.i) != Some(&b'"') {
                        return self.err("Missing a name for object member.");
                    }
                    let key = self.string()?;
                    self.ws();
                    if self.b.get(self.i) != Some(&b':') {
                        return self.err("Missing a colon after a name of object member.");
                    }
                    self.i += 1;
                    self.ws();
                    pairs.push((key, self.value(depth + 1)?));
                    self.ws();
                    match self.b.get(self.i) {
                        Some(b',') => {
                            self.i += 1;
                            self.ws();
                        }
                        Some(b'}') => {
                            self.i += 1;
                            return Ok(json_object_of(pairs));
                        }
                        _ => return self.err("Missing a comma or '}' after an object member."),
                    }
                }
            }
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => self.err("Invalid value."),
        }
    }

    fn literal(&mut self, word: &str, v: Json) -> Result<Json, JsonError> {
        if self.b[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            Ok(v)
        } else {
            self.err("Invalid value.")
        }
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let h = self
            .b
            .get(self.i..self.i + 4)
            .and_then(|h| std::str::from_utf8(h).ok());
        match h.filter(|h| h.bytes().all(|c| c.is_ascii_hexdigit())) {
            Some(h) => {
                self.i += 4;
                Ok(u32::from_str_radix(h, 16).unwrap_or(0))
            }
            None => self.err("Incorrect hex digit after \\u escape in string."),
        }
    }

    pub(super) fn string(&mut self) -> Result<String, JsonError> {
        self.i += 1;
        let mut out = String::new();
        loop {
            let start = self.i;
            while self.i < self.b.len() && !matches!(self.b[self.i], b'"' | b'\\' | 0..=0x1f) {
                self.i += 1;
            }
            out.push_str(&self.s[start..self.i]);
            match self.b.get(self.i) {
                None | Some(0) => return self.err("Missing a closing quotation mark in string."),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.i += 1;
                    let c = self.b.get(self.i).copied();
                    self.i += 1;
                    match c {
                        Some(b'"') => out.push('"'),
                        Some(b'\\') => out.push('\\'),
                        Some(b'/') => out.push('/'),
                        Some(b'b') => out.push('\u{8}'),
                        Some(b'f') => out.push('\u{c}'),
                        Some(b'n') => out.push('\n'),
                        Some(b'r') => out.push('\r'),
                        Some(b't') => out.push('\t'),
                        Some(b'u') => {
                            let mut cp = self.hex4()?;
                            if (0xD800..0xDC00).contains(&cp) {
                                if self.b.get(self.i) != Some(&b'\\')
                                    || self.b.get(self.i + 1) != Some(&b'u')
                                {
                                    return self.err("The surrogate pair in string is invalid.");
                                }
                                self.i += 2;
                                let low = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&low) {
                                    return self.err("The surrogate pair in string is invalid.");
                                }
                                cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                            }
                            match char::from_u32(cp) {
                                Some(c) => out.push(c),
                                None => {
                                    return self.err("The surrogate pair in string is invalid.");
                                }
                            }
                        }
                        _ => {
                            self.i -= 1;
                            return self.err("Invalid escape character in string.");
                        }
                    }
                }
                Some(_) => return self.err("Invalid encoding in string."),
            }
        }
    }

    fn number(&mut self) -> Result<Json, JsonError> {
        let start = self.i;
        let digits = |p: &mut Self| {
            let s = p.i;
            while p.i < p.b.len() && p.b[p.i].is_ascii_digit() {
                p.i += 1;
            }
            p.i > s
        };
        if self.b[self.i] == b'-' {
            self.i += 1;
        }
        match self.b.get(self.i) {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                digits(self);
            }
            _ => return self.err("Invalid value."),
        }
        let mut integer = true;
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            integer = false;
            if !digits(self) {
                return self.err("Miss fraction part in number.");
            }
        }
        if matches!(self.b.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            integer = false;
            if matches!(self.b.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !digits(self) {
                return self.err("Miss exponent in number.");
            }
        }
        let t = &self.s[start..self.i];
        if integer {
            if let Ok(n) = t.parse::<i64>() {
                return Ok(Json::Int(n));
            }
            if let Ok(n) = t.parse::<u64>() {
                return Ok(Json::UInt(n));
            }
        }
        match t.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(Json::Double(x)),
            _ => Err(JsonError::Syntax(
                "Number too big to be stored in double.",
                start,
            )),
        }
    }
}

pub(super) fn parse_json(s: &str) -> Result<Json, JsonError> {
    let mut p = Parser {
        b: s.as_bytes(),
        s,
        i: 0,
    };
    p.ws();
    if p.i == p.b.len() {
        return p.err("The document is empty.");
    }
    let v = p.value(1)?;
    p.ws();
    if p.i != p.b.len() {
        return p.err("The document root must not be followed by other values.");
    }
    Ok(v)
}

/// A string as a JSON string literal, escaped as MySQL escapes it.
pub(super) fn json_quoted(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The JSON value as MySQL prints it: `[1, 2]`, `{"a": 1, "b": "x"}`, doubles as `my_gcvt()` prints them with
/// `.0` added to integral ones.
fn json_write(v: &Json, out: &mut String) {
    match v {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Int(n) => out.push_str(&n.to_string()),
        Json::UInt(n) => out.push_str(&n.to_string()),
        Json::Double(x) => {
            let s = fmt_double(*x);
            let integral = !s.contains(['.', 'e']);
            out.push_str(&s);
            if integral {
                out.push_str(".0");
            }
        }
        Json::Str(s) => json_quoted(s, out),
        Json::Array(items) => {
            out.push('[');
            for (k, item) in items.iter().enumerate() {
                if k > 0 {
                    out.push_str(", ");
                }
                json_write(item, out);
            }
            out.push(']');
        }
        Json::Object(pairs) => {
            out.push('{');
            for (k, (key, item)) in pairs.iter().enumerate() {
                if k > 0 {
                    out.push_str(", ");
                }
                json_quoted(key, out);
                out.push_str(": ");
                json_write(item, out);
            }
            out.push('}');
        }
    }
}

pub(super) fn json_text(v: &Json) -> Val {
    let mut out = String::new();
    json_write(v, &mut out);
    Val::Text(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_parsing_and_printing() {
        let p = |s: &str| {
            parse_json(s).map(|j| match json_text(&j) {
                Val::Text(s) => s,
                _ => unreachable!(),
            })
        };
        assert_eq!(
            p(r#"{"name":"x","id":1}"#),
            Ok(r#"{"id": 1, "name": "x"}"#.into())
        );
        assert_eq!(
            p(r#"{"b":1,"a":2,"aa":3,"a":4}"#),
            Ok(r#"{"a": 2, "b": 1, "aa": 3}"#.into())
        );
        assert_eq!(
            p("[1.5, 1e20, 2.0, -0.5e-3, 18446744073709551615, true, null]"),
            Ok("[1.5, 1e20, 2.0, -0.0005, 18446744073709551615, true, null]".into())
        );
        assert_eq!(
            p(r#""a\"b\\c\n\u00e9\ud83d\ude00""#),
            Ok(r#""a\"b\\c\né😀""#.into())
        );
        assert_eq!(p(""), Err(JsonError::Syntax("The document is empty.", 0)));
        assert_eq!(p("[1,]"), Err(JsonError::Syntax("Invalid value.", 3)));
        assert_eq!(
            p("[1 2]"),
            Err(JsonError::Syntax(
                "Missing a comma or ']' after an array element.",
                3
            ))
        );
        assert_eq!(
            p("{1:2}"),
            Err(JsonError::Syntax("Missing a name for object member.", 1))
        );
        assert_eq!(
            p(r#"{"a" 2}"#),
            Err(JsonError::Syntax(
                "Missing a colon after a name of object member.",
                5
            ))
        );
        assert_eq!(
            p(r#"{"a":2 "#),
            Err(JsonError::Syntax(
                "Missing a comma or '}' after an object member.",
                7
            ))
        );
        assert_eq!(
            p(r#""abc"#),
            Err(JsonError::Syntax(
                "Missing a closing quotation mark in string.",
                4
            ))
        );
        assert_eq!(
            p("1 2"),
            Err(JsonError::Syntax(
                "The document root must not be followed by other values.",
                2
            ))
        );
        assert_eq!(
            p("1."),
            Err(JsonError::Syntax("Miss fraction part in number.", 2))
        );
        assert_eq!(
            p("1e"),
            Err(JsonError::Syntax("Miss exponent in number.", 2))
        );
        assert_eq!(
            p(r#""\x""#),
            Err(JsonError::Syntax("Invalid escape character in string.", 2))
        );
        assert_eq!(p(&"[".repeat(101)), Err(JsonError::TooDeep));
        assert!(p(&format!("{}{}", "[".repeat(100), "]".repeat(100))).is_ok());
    }
}
