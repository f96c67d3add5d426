//! `$input` and `$util` (DG:api-gateway-mapping-template-reference, notes §8.1), with the JSON reader and
//! the JSONPath subset they need.

use base64::Engine;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::eval::{R, Renderer, check_len};
use super::value::{ListStyle, Value};

/// The body as `$input.body` gives it: an empty body reads as `{}` (recorded, notes §8.1).
pub(super) fn body_text(body: &str) -> &str {
    if body.trim().is_empty() { "{}" } else { body }
}

fn arg_text(name: &str, args: &[Value]) -> R<String> {
    match args.first() {
        Some(Value::Null) | None => Err(format!("{name} needs a string argument").into()),
        Some(v) => Ok(v.java_string()?),
    }
}

pub(super) fn input(r: &mut Renderer, name: &str, args: &[Value]) -> R<Value> {
    match (name, args.len()) {
        ("body", 0) => Ok(Value::str(body_text(&r.cx.body))),
        ("json", 1) => {
            let path = parse_path(&arg_text("$input.json", args)?)?;
            let root = r.body_json()?;
            match select(&root, &path) {
                Some(v) => Ok(Value::String(v.json_string()?)),
                None => Ok(Value::str("")),
            }
        }
        ("path", 1) => {
            let path = parse_path(&arg_text("$input.path", args)?)?;
            // With an empty body `$input.path` finds nothing, unlike `$input.body` and `$input.json('$')`, which
            // read it as `{}` (LocalStack PR 12774, checked against the AWS console; not recorded).
            if r.cx.body.trim().is_empty() {
                return Ok(Value::Null);
            }
            let root = r.body_json()?;
            Ok(select(&root, &path).map_or(Value::Null, |v| v.deep_clone()))
        }
        ("params", 0) => {
            let cx = r.cx;
            let map = |m: &std::collections::BTreeMap<String, String>| {
                Value::map(m.iter().map(|(k, v)| (k.clone(), Value::str(v.as_str()))).collect())
            };
            Ok(Value::map(vec![
                ("path".into(), map(&cx.path)),
                ("querystring".into(), map(&cx.querystring)),
                ("header".into(), map(&cx.header)),
            ]))
        }
        ("params", 1) => {
            // Path, then query string, then header (DG:api-gateway-mapping-template-reference); "" if absent.
            let name = arg_text("$input.params", args)?;
            let cx = r.cx;
            let found = cx
                .path
                .get(&name)
                .or_else(|| cx.querystring.get(&name))
                .or_else(|| cx.header.get(&name))
                .or_else(|| {
                    cx.header
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(&name))
                        .map(|(_, v)| v)
                });
            Ok(Value::str(found.map_or("", String::as_str)))
        }
        _ => Err(format!(
            "$input.{name} with {} argument(s) is not supported (API Gateway has $input.body, $input.json(path), \
             $input.path(path), $input.params() and $input.params(name))",
            args.len()
        )
        .into()),
    }
}

/// `application/x-www-form-urlencoded` as Java's `URLEncoder` writes it: letters, digits and `.-*_` stay,
/// space becomes `+` (recorded `%7B%22some%22%3A+%22value%22%7D`, notes §8.1).
const FORM: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'.')
    .remove(b'-')
    .remove(b'*')
    .remove(b'_');

pub(super) fn util(name: &str, args: &[Value]) -> R<Value> {
    let known = [
        "escapeJavaScript",
        "parseJson",
        "urlEncode",
        "urlDecode",
        "base64Encode",
        "base64Decode",
    ];
    if args.len() == 1 && args[0].is_null() && known.contains(&name) {
        return Ok(Value::Null);
    }
    let what = format!("$util.{name}");
    let out = match (name, args.len()) {
        ("escapeJavaScript", 1) => escape_javascript(&arg_text(&what, args)?),
        ("parseJson", 1) => {
            return parse_json(&arg_text(&what, args)?)
                .map_err(|e| format!("$util.parseJson: {e}").into());
        }
        ("urlEncode", 1) => utf8_percent_encode(&arg_text(&what, args)?, FORM)
            .to_string()
            .replace("%20", "+"),
        ("urlDecode", 1) => url_decode(&arg_text(&what, args)?)?,
        ("base64Encode", 1) => {
            base64::engine::general_purpose::STANDARD.encode(arg_text(&what, args)?)
        }
        ("base64Decode", 1) => {
            let text: String = arg_text(&what, args)?
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            let engine = base64::engine::general_purpose::STANDARD;
            let bytes = engine
                .decode(&text)
                .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(&text))
                .map_err(|e| format!("$util.base64Decode: {e}"))?;
            String::from_utf8_lossy(&bytes).into_owned()
        }
        _ => {
            return Err(format!(
                "$util.{name} with {} argument(s) is not supported (API Gateway's $util has escapeJavaScript, \
                 parseJson, urlEncode, urlDecode, base64Encode and base64Decode)",
                args.len()
            )
            .into());
        }
    };
    check_len(&out)?;
    Ok(Value::String(out))
}

/// Commons Lang's `StringEscapeUtils.escapeJavaScript`: quotes, backslash and `/` get a backslash, control
/// characters their short escapes or `\u00XX`, and everything beyond ASCII `\uXXXX` (UTF-16, upper-case hex).
/// The single quote becomes `\'`, which is not valid JSON (notes §8.1).
fn escape_javascript(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for unit in s.encode_utf16() {
        match unit {
            0x27 => out.push_str("\\'"),
            0x22 => out.push_str("\\\""),
            0x5c => out.push_str("\\\\"),
            0x2f => out.push_str("\\/"),
            0x08 => out.push_str("\\b"),
            0x0a => out.push_str("\\n"),
            0x09 => out.push_str("\\t"),
            0x0c => out.push_str("\\f"),
            0x0d => out.push_str("\\r"),
            u if !(0x20..0x7f).contains(&u) => out.push_str(&format!("\\u{u:04X}")),
            u => out.push(char::from(u as u8)),
        }
    }
    out
}

/// Java's `URLDecoder.decode(s, "UTF-8")`.
fn url_decode(s: &str) -> R<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                let Some(b) = hex else {
                    return Err("$util.urlDecode: incomplete or illegal % escape".into());
                };
                out.push(b);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// One step of a JSONPath.
#[derive(Debug, PartialEq)]
enum Step {
    Child(String),
    Index(i64),
    Wildcard,
    /// `..name`, or `..*` with `None`.
    Deep(Option<String>),
}

/// The JSONPath subset API Gateway templates use: `$`, `.a`, `['a']`, `[0]`, `[*]`, `.*`, `..a`. A path
/// without the leading `$` is read from the root, as Jayway JsonPath does.
fn parse_path(path: &str) -> R<Vec<Step>> {
    let path = path.trim();
    let chars: Vec<char> = match path.strip_prefix('$') {
        Some(rest) => rest.chars().collect(),
        None if path.starts_with('.') || path.starts_with('[') => path.chars().collect(),
        None => format!(".{path}").chars().collect(),
    };
    let bad = || {
        format!(
            "the JSONPath {path:?} is not supported by Offcloud (filters, slices and unions are not)"
        )
    };
    let mut steps = Vec::new();
    let mut i = 0;
    let name_end = |from: usize| {
        let mut end = from;
        while end < chars.len() && chars[end] != '.' && chars[end] != '[' {
            end += 1;
        }
        end
    };
    while i < chars.len() {
        match chars[i] {
            '.' if chars.get(i + 1) == Some(&'.') => {
                i += 2;
                if chars.get(i) == Some(&'*') {
                    steps.push(Step::Deep(None));
                    i += 1;
                } else {
                    let end = name_end(i);
                    if end == i {
                        return Err(bad().into());
                    }
                    steps.push(Step::Deep(Some(chars[i..end].iter().collect())));
                    i = end;
                }
            }
            '.' => {
                i += 1;
                if chars.get(i) == Some(&'*') {
                    steps.push(Step::Wildcard);
                    i += 1;
                } else {
                    let end = name_end(i);
                    if end == i {
                        return Err(bad().into());
                    }
                    steps.push(Step::Child(chars[i..end].iter().collect()));
                    i = end;
                }
            }
            '[' => {
                let close = (i..chars.len())
                    .find(|&j| chars[j] == ']')
                    .ok_or_else(bad)?;
                let inner: String = chars[i + 1..close].iter().collect();
                let inner = inner.trim();
                let quoted =
                    |q: char| inner.len() >= 2 && inner.starts_with(q) && inner.ends_with(q);
                if inner == "*" {
                    steps.push(Step::Wildcard);
                } else if quoted('\'') || quoted('"') {
                    steps.push(Step::Child(inner[1..inner.len() - 1].to_string()));
                } else if let Ok(n) = inner.parse::<i64>() {
                    steps.push(Step::Index(n));
                } else {
                    return Err(bad().into());
                }
                i = close + 1;
            }
            _ => return Err(bad().into()),
        }
    }
    Ok(steps)
}

/// What a path selects: the value for a definite path (`None` when nothing matches), or a JSON list of all
/// matches for a path with `*` or `..`, as Jayway returns.
fn select(root: &Value, steps: &[Step]) -> Option<Value> {
    let definite = !steps
        .iter()
        .any(|s| matches!(s, Step::Wildcard | Step::Deep(_)));
    let mut current = vec![root.clone()];
    for step in steps {
        let mut next = Vec::new();
        for value in &current {
            match (step, value) {
                (Step::Child(name), Value::Map(map)) => {
                    next.extend(map.borrow().get(name).cloned())
                }
                (Step::Index(i), Value::List(list, _)) => {
                    let list = list.borrow();
                    let i = if *i < 0 { *i + list.len() as i64 } else { *i };
                    next.extend(usize::try_from(i).ok().and_then(|i| list.get(i)).cloned());
                }
                (Step::Wildcard, Value::Map(map)) => {
                    next.extend(map.borrow().entries.iter().map(|(_, v)| v.clone()));
                }
                (Step::Wildcard, Value::List(list, _)) => {
                    next.extend(list.borrow().iter().cloned())
                }
                (Step::Deep(name), _) => descend(value, name.as_deref(), &mut next, 0),
                _ => {}
            }
        }
        current = next;
    }
    if definite {
        current.into_iter().next()
    } else {
        Some(Value::list(current, ListStyle::Json))
    }
}

fn descend(value: &Value, name: Option<&str>, out: &mut Vec<Value>, depth: usize) {
    if depth > 200 {
        return;
    }
    let children: Vec<Value> = match value {
        Value::Map(map) => {
            let map = map.borrow();
            if let Some(name) = name {
                out.extend(map.get(name).cloned());
            }
            map.entries.iter().map(|(_, v)| v.clone()).collect()
        }
        Value::List(list, _) => list.borrow().clone(),
        _ => return,
    };
    for child in &children {
        if name.is_none() {
            out.push(child.clone());
        }
        descend(child, name, out, depth + 1);
    }
}

/// Reads JSON into values, keeping object keys in document order as json-smart does.
pub(super) fn parse_json(text: &str) -> Result<Value, String> {
    let mut p = JsonParser {
        b: text.as_bytes(),
        i: 0,
    };
    p.ws();
    let value = p.value(0)?;
    p.ws();
    if p.i < p.b.len() {
        return Err(p.unexpected());
    }
    Ok(value)
}

struct JsonParser<'a> {
    b: &'a [u8],
    i: usize,
}

impl JsonParser<'_> {
    fn ws(&mut self) {
        while self
            .b
            .get(self.i)
            .is_some_and(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r'))
        {
            self.i += 1;
        }
    }

    fn unexpected(&self) -> String {
        match std::str::from_utf8(&self.b[self.i.min(self.b.len())..])
            .ok()
            .and_then(|s| s.chars().next())
        {
            Some(c) => format!(
                "Unexpected character ('{c}' (code {})) at offset {}",
                c as u32, self.i
            ),
            None if self.i >= self.b.len() => {
                format!("Unexpected end of input at offset {}", self.i)
            }
            None => format!("Invalid UTF-8 at offset {}", self.i),
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, String> {
        if depth > 200 {
            return Err("JSON nests too deeply".into());
        }
        match self.b.get(self.i) {
            Some(b'{') => {
                self.i += 1;
                let mut entries: Vec<(String, Value)> = Vec::new();
                self.ws();
                if self.b.get(self.i) == Some(&b'}') {
                    self.i += 1;
                    return Ok(Value::map(entries));
                }
                loop {
                    self.ws();
                    if self.b.get(self.i) != Some(&b'"') {
                        return Err(self.unexpected());
                    }
                    let key = self.string()?;
                    self.ws();
                    if self.b.get(self.i) != Some(&b':') {
                        return Err(self.unexpected());
                    }
                    self.i += 1;
                    self.ws();
                    let value = self.value(depth + 1)?;
                    // A repeated key keeps its first position and its last value, as in a LinkedHashMap.
                    match entries.iter_mut().find(|(k, _)| *k == key) {
                        Some((_, old)) => *old = value,
                        None => entries.push((key, value)),
                    }
                    self.ws();
                    match self.b.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            return Ok(Value::map(entries));
                        }
                        _ => return Err(self.unexpected()),
                    }
                }
            }
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.b.get(self.i) == Some(&b']') {
                    self.i += 1;
                    return Ok(Value::list(items, ListStyle::Json));
                }
                loop {
                    self.ws();
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    match self.b.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            return Ok(Value::list(items, ListStyle::Json));
                        }
                        _ => return Err(self.unexpected()),
                    }
                }
            }
            Some(b'"') => Ok(Value::String(self.string()?)),
            Some(b't') => self.word("true", Value::Bool(true)),
            Some(b'f') => self.word("false", Value::Bool(false)),
            Some(b'n') => self.word("null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.unexpected()),
        }
    }

    fn word(&mut self, word: &str, value: Value) -> Result<Value, String> {
        if self.b[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            Ok(value)
        } else {
            Err(self.unexpected())
        }
    }

    fn number(&mut self) -> Result<Value, String> {
        let start = self.i;
        if self.b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        let digits = |p: &mut Self| {
            let from = p.i;
            while p.b.get(p.i).is_some_and(u8::is_ascii_digit) {
                p.i += 1;
            }
            p.i > from
        };
        if !digits(self) {
            return Err(self.unexpected());
        }
        let mut float = false;
        if self.b.get(self.i) == Some(&b'.') {
            float = true;
            self.i += 1;
            if !digits(self) {
                return Err(self.unexpected());
            }
        }
        if matches!(self.b.get(self.i), Some(b'e' | b'E')) {
            float = true;
            self.i += 1;
            if matches!(self.b.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !digits(self) {
                return Err(self.unexpected());
            }
        }
        let text = std::str::from_utf8(&self.b[start..self.i]).map_err(|e| e.to_string())?;
        if !float && let Ok(i) = text.parse::<i64>() {
            return Ok(Value::Int(i));
        }
        text.parse::<f64>()
            .map(Value::Float)
            .map_err(|_| format!("bad number {text}"))
    }

    fn hex4(&mut self) -> Result<u16, String> {
        let hex = self
            .b
            .get(self.i..self.i + 4)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u16::from_str_radix(h, 16).ok())
            .ok_or_else(|| format!("bad \\u escape at offset {}", self.i))?;
        self.i += 4;
        Ok(hex)
    }

    fn string(&mut self) -> Result<String, String> {
        self.i += 1;
        let mut out: Vec<u8> = Vec::new();
        loop {
            match self.b.get(self.i) {
                None => {
                    return Err(format!(
                        "Unexpected end of input in a string at offset {}",
                        self.i
                    ));
                }
                Some(b'"') => {
                    self.i += 1;
                    return String::from_utf8(out)
                        .map_err(|_| "Invalid UTF-8 in a string".to_string());
                }
                Some(b'\\') => {
                    self.i += 1;
                    let Some(&c) = self.b.get(self.i) else {
                        return Err(self.unexpected());
                    };
                    self.i += 1;
                    let ch = match c {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let first = self.hex4()?;
                            let mut units = vec![first];
                            if (0xd800..0xdc00).contains(&first)
                                && self.b[self.i..].starts_with(b"\\u")
                            {
                                self.i += 2;
                                units.push(self.hex4()?);
                            }
                            let decoded = String::from_utf16_lossy(&units);
                            out.extend_from_slice(decoded.as_bytes());
                            continue;
                        }
                        _ => {
                            self.i -= 1;
                            return Err(self.unexpected());
                        }
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                Some(&c) if c < 0x20 => return Err(self.unexpected()),
                Some(&c) => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
    }
}
