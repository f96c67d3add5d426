//! Values as a template sees them, and Java's rules for turning them into text.

use std::cell::RefCell;
use std::rc::Rc;

/// How deep a value may nest before rendering or comparing it gives up. A map that contains itself would
/// otherwise recurse without end.
const MAX_DEPTH: usize = 100;

/// A value inside a template. Lists and maps are shared and mutable, as Java objects are: `#set($b = $a)`
/// followed by `$b.put(..)` changes `$a` too.
#[derive(Debug, Clone)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    List(Rc<RefCell<Vec<Value>>>, ListStyle),
    Map(Rc<RefCell<Map>>),
}

/// How a list prints. A list that came from JSON (`$input.path`, `$util.parseJson`) is a json-smart
/// `JSONArray` in API Gateway and prints as JSON, `[{"foo":"bar"}]`; a list made by the template is a
/// `java.util.ArrayList` and prints as `[1, 2]` (recorded by LocalStack against AWS,
/// test_apigateway_common::test_input_path_template_formatting, notes §8.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListStyle {
    Java,
    Json,
}

/// What a map stands for. Velocity exposes some Java objects whose getters read like map keys: the
/// `$foreach` loop scope and the entries of `entrySet()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapKind {
    Plain,
    Entry,
    Scope,
}

/// An insertion-ordered map, as Java's `LinkedHashMap`, which json-smart also uses for JSON objects.
#[derive(Debug, Clone)]
pub struct Map {
    pub entries: Vec<(String, Value)>,
    pub kind: MapKind,
}

impl Map {
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Inserts or replaces, and returns the previous value as Java's `put` does.
    pub fn put(&mut self, key: String, value: Value) -> Value {
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some((_, old)) => std::mem::replace(old, value),
            None => {
                self.entries.push((key, value));
                Value::Null
            }
        }
    }

    pub fn remove(&mut self, key: &str) -> Value {
        match self.entries.iter().position(|(k, _)| k == key) {
            Some(i) => self.entries.remove(i).1,
            None => Value::Null,
        }
    }
}

impl Value {
    pub fn str(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }

    pub fn list(items: Vec<Value>, style: ListStyle) -> Value {
        Value::List(Rc::new(RefCell::new(items)), style)
    }

    pub fn map(entries: Vec<(String, Value)>) -> Value {
        Value::map_of(entries, MapKind::Plain)
    }

    pub fn map_of(entries: Vec<(String, Value)>, kind: MapKind) -> Value {
        Value::Map(Rc::new(RefCell::new(Map { entries, kind })))
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Velocity 1.7's truth rule: null and `false` are false, every other value is true, including `""`,
    /// `0` and an empty list.
    pub fn truthy(&self) -> bool {
        !matches!(self, Value::Null | Value::Bool(false))
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) => "integer",
            Value::Float(_) => "number",
            Value::String(_) => "string",
            Value::List(..) => "list",
            Value::Map(_) => "map",
        }
    }

    /// Converts a JSON value. Objects become maps (in `serde_json`'s key order) and arrays print as JSON.
    pub fn from_json(json: &serde_json::Value) -> Value {
        match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => Value::str(s.as_str()),
            serde_json::Value::Array(items) => Value::list(
                items.iter().map(Value::from_json).collect(),
                ListStyle::Json,
            ),
            serde_json::Value::Object(map) => Value::map(
                map.iter()
                    .map(|(k, v)| (k.clone(), Value::from_json(v)))
                    .collect(),
            ),
        }
    }

    /// Converts to JSON. Non-finite floats become null; nesting deeper than the limit is cut to null.
    pub fn to_json(&self) -> serde_json::Value {
        self.to_json_at(0)
    }

    fn to_json_at(&self, depth: usize) -> serde_json::Value {
        if depth > MAX_DEPTH {
            return serde_json::Value::Null;
        }
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::List(items, _) => serde_json::Value::Array(
                items
                    .borrow()
                    .iter()
                    .map(|v| v.to_json_at(depth + 1))
                    .collect(),
            ),
            Value::Map(map) => serde_json::Value::Object(
                map.borrow()
                    .entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json_at(depth + 1)))
                    .collect(),
            ),
        }
    }

    /// A copy that shares nothing with `self`.
    pub fn deep_clone(&self) -> Value {
        self.deep_clone_at(0)
    }

    fn deep_clone_at(&self, depth: usize) -> Value {
        if depth > MAX_DEPTH {
            return Value::Null;
        }
        match self {
            Value::List(items, style) => Value::list(
                items
                    .borrow()
                    .iter()
                    .map(|v| v.deep_clone_at(depth + 1))
                    .collect(),
                *style,
            ),
            Value::Map(map) => {
                let map = map.borrow();
                Value::map_of(
                    map.entries
                        .iter()
                        .map(|(k, v)| (k.clone(), v.deep_clone_at(depth + 1)))
                        .collect(),
                    map.kind,
                )
            }
            other => other.clone(),
        }
    }

    /// Java's `String.valueOf(value)`: `null`, `true`, `1`, `1.5`, `{a=1, b=2}`, `[1, 2]`, or JSON for a list
    /// that came from JSON.
    pub fn java_string(&self) -> Result<String, String> {
        let mut out = String::new();
        self.write_java(&mut out, 0)?;
        Ok(out)
    }

    fn write_java(&self, out: &mut String, depth: usize) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err(too_deep());
        }
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) => out.push_str(&i.to_string()),
            Value::Float(f) => out.push_str(&java_double(*f)),
            Value::String(s) => out.push_str(s),
            Value::List(_, ListStyle::Json) => self.write_json(out, depth)?,
            Value::List(items, ListStyle::Java) => {
                out.push('[');
                for (i, item) in items.borrow().iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    item.write_java(out, depth + 1)?;
                }
                out.push(']');
            }
            Value::Map(map) => {
                let map = map.borrow();
                if map.kind == MapKind::Entry {
                    // Java's `Map.Entry.toString()` is `key=value`.
                    if let (Some(k), Some(v)) = (map.get("key"), map.get("value")) {
                        k.write_java(out, depth + 1)?;
                        out.push('=');
                        return v.write_java(out, depth + 1);
                    }
                }
                out.push('{');
                for (i, (k, v)) in map.entries.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(k);
                    out.push('=');
                    v.write_java(out, depth + 1)?;
                }
                out.push('}');
            }
        }
        Ok(())
    }

    /// Compact JSON text, the form `$input.json(..)` returns. Floats use Java's `Double.toString`, as
    /// json-smart writes them.
    pub fn json_string(&self) -> Result<String, String> {
        let mut out = String::new();
        self.write_json(&mut out, 0)?;
        Ok(out)
    }

    fn write_json(&self, out: &mut String, depth: usize) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err(too_deep());
        }
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(_) | Value::Int(_) => self.write_java(out, depth)?,
            Value::Float(f) if f.is_finite() => out.push_str(&java_double(*f)),
            Value::Float(_) => out.push_str("null"),
            Value::String(s) => write_json_string(out, s),
            Value::List(items, _) => {
                out.push('[');
                for (i, item) in items.borrow().iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write_json(out, depth + 1)?;
                }
                out.push(']');
            }
            Value::Map(map) => {
                out.push('{');
                for (i, (k, v)) in map.borrow().entries.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_json_string(out, k);
                    out.push(':');
                    v.write_json(out, depth + 1)?;
                }
                out.push('}');
            }
        }
        Ok(())
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }
}

fn too_deep() -> String {
    "a value nests too deeply to print (does a map or list contain itself?)".to_string()
}

fn write_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Java's `Double.toString`: `1.0`, `0.001`, `1.0E7`, `1.0E-4`, `NaN`, `Infinity`.
pub fn java_double(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let abs = f.abs();
    if abs == 0.0 || (1e-3..1e7).contains(&abs) {
        let s = format!("{f}");
        return if s.contains('.') { s } else { format!("{s}.0") };
    }
    // Rust writes `1.5e20` and `1e-5`; Java writes `1.5E20` and `1.0E-5`.
    let s = format!("{f:e}");
    let (mantissa, exponent) = s.split_once('e').unwrap_or((&s, "0"));
    let mantissa = if mantissa.contains('.') {
        mantissa.to_string()
    } else {
        format!("{mantissa}.0")
    };
    format!("{mantissa}E{exponent}")
}

/// Java's `equals`, with Velocity's `==` added on top by the caller. Lists and maps compare element-wise.
pub fn java_equals(a: &Value, b: &Value) -> bool {
    equals_at(a, b, 0)
}

fn equals_at(a: &Value, b: &Value, depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::List(x, _), Value::List(y, _)) => {
            if Rc::ptr_eq(x, y) {
                return true;
            }
            let (x, y) = (x.borrow(), y.borrow());
            x.len() == y.len()
                && x.iter()
                    .zip(y.iter())
                    .all(|(a, b)| equals_at(a, b, depth + 1))
        }
        (Value::Map(x), Value::Map(y)) => {
            if Rc::ptr_eq(x, y) {
                return true;
            }
            let (x, y) = (x.borrow(), y.borrow());
            x.entries.len() == y.entries.len()
                && x.entries
                    .iter()
                    .all(|(k, v)| y.get(k).is_some_and(|other| equals_at(v, other, depth + 1)))
        }
        _ => false,
    }
}
