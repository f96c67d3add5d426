//! The Java methods Velocity lets a template call on strings, lists, maps and numbers, with Java's results.
//! String positions count UTF-16 code units, as Java's do.

use regex::{Captures, Regex};

use super::eval::{R, Renderer, check_len};
use super::value::{ListStyle, MapKind, Value, java_equals};

/// `$value.name`: a map key, or `empty` (Velocity's `isEmpty()` getter) on a string or list.
pub(super) fn property(value: &Value, name: &str) -> Value {
    match value {
        Value::Map(map) => map.borrow().get(name).cloned().unwrap_or(Value::Null),
        Value::String(s) if name == "empty" => Value::Bool(s.is_empty()),
        Value::List(list, _) if name == "empty" => Value::Bool(list.borrow().is_empty()),
        _ => Value::Null,
    }
}

/// `$value[index]`. Lists take integers (negative ones count from the end, as in Velocity 2); maps take keys.
pub(super) fn index(value: &Value, index: &Value) -> R<Value> {
    match value {
        Value::List(list, _) => {
            let list = list.borrow();
            let mut i = as_int(index, "a list index")?;
            if i < 0 {
                i += list.len() as i64;
            }
            let i = list_index(&Value::Int(i), list.len())?;
            Ok(list[i].clone())
        }
        Value::Map(map) if !index.is_null() => {
            let key = index.java_string()?;
            Ok(map.borrow().get(&key).cloned().unwrap_or(Value::Null))
        }
        _ => Ok(Value::Null),
    }
}

/// A valid position in a list of `len` items, or Java's `IndexOutOfBoundsException` text.
pub(super) fn list_index(index: &Value, len: usize) -> R<usize> {
    let i = as_int(index, "a list index")?;
    usize::try_from(i)
        .ok()
        .filter(|i| *i < len)
        .ok_or_else(|| format!("Index {i} out of bounds for length {len}").into())
}

fn as_int(v: &Value, what: &str) -> R<i64> {
    match v {
        Value::Int(i) => Ok(*i),
        Value::Float(f) if f.fract() == 0.0 && f.abs() < 9e15 => Ok(*f as i64),
        Value::String(s) => s
            .trim()
            .parse::<i64>()
            .map_err(|_| format!("{what} must be an integer, not {s:?}").into()),
        other => Err(format!("{what} must be an integer, not a {}", other.type_name()).into()),
    }
}

/// A method argument used as text. Velocity would fail to call a `String` method with null.
fn text(args: &[Value], i: usize) -> R<String> {
    match args.get(i) {
        Some(Value::Null) | None => Err("a method argument is null".into()),
        Some(v) => Ok(v.java_string()?),
    }
}

pub(super) fn call(r: &mut Renderer, target: &Value, name: &str, args: Vec<Value>) -> R<Value> {
    // A method called on null gives null in Velocity.
    if target.is_null() {
        return Ok(Value::Null);
    }
    match (name, args.len()) {
        ("toString", 0) => return Ok(Value::String(target.java_string()?)),
        ("equals", 1) => return Ok(Value::Bool(java_equals(target, &args[0]))),
        _ => {}
    }
    let result = match target {
        Value::String(s) => string_method(r, s, name, &args)?,
        Value::List(list, _) => list_method(list, name, &args)?,
        Value::Map(map) => map_method(map, name, &args)?,
        Value::Int(_) | Value::Float(_) => number_method(target, name, &args)?,
        Value::Bool(b) => (name == "booleanValue" && args.is_empty()).then_some(Value::Bool(*b)),
        Value::Null => Some(Value::Null),
    };
    result.ok_or_else(|| {
        format!(
            "there is no method {name}() taking {} argument{} on a {}",
            args.len(),
            if args.len() == 1 { "" } else { "s" },
            target.type_name()
        )
        .into()
    })
}

fn utf16(s: &str) -> Vec<u16> {
    s.encode_utf16().collect()
}

fn find_u16(hay: &[u16], needle: &[u16], from: usize) -> Option<usize> {
    if from > hay.len() {
        return None;
    }
    if needle.is_empty() {
        return Some(from);
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

fn java_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= ' ')
}

fn string_method(r: &mut Renderer, s: &str, name: &str, args: &[Value]) -> R<Option<Value>> {
    let n = args.len();
    let v = match (name, n) {
        ("length", 0) => Value::Int(s.encode_utf16().count() as i64),
        ("isEmpty", 0) => Value::Bool(s.is_empty()),
        ("trim", 0) => Value::str(java_trim(s)),
        ("toLowerCase", 0) => Value::String(s.to_lowercase()),
        ("toUpperCase", 0) => Value::String(s.to_uppercase()),
        ("contains", 1) => Value::Bool(s.contains(&text(args, 0)?)),
        ("startsWith", 1) => Value::Bool(s.starts_with(&text(args, 0)?)),
        ("startsWith", 2) => {
            let hay = utf16(s);
            let from = as_int(&args[1], "an offset")?;
            let prefix = utf16(&text(args, 0)?);
            Value::Bool(
                usize::try_from(from)
                    .ok()
                    .and_then(|f| hay.get(f..))
                    .is_some_and(|rest| rest.starts_with(&prefix)),
            )
        }
        ("endsWith", 1) => Value::Bool(s.ends_with(&text(args, 0)?)),
        ("indexOf", 1 | 2) => {
            let hay = utf16(s);
            let from = if n == 2 {
                as_int(&args[1], "an offset")?.max(0) as usize
            } else {
                0
            };
            let found = find_u16(&hay, &utf16(&text(args, 0)?), from);
            Value::Int(found.map_or(-1, |i| i as i64))
        }
        ("lastIndexOf", 1) => {
            let hay = utf16(s);
            let needle = utf16(&text(args, 0)?);
            let found = (0..=hay.len().saturating_sub(needle.len()))
                .rev()
                .find(|&i| hay[i..].starts_with(&needle));
            Value::Int(found.map_or(-1, |i| i as i64))
        }
        ("substring", 1 | 2) => {
            let units = utf16(s);
            let len = units.len() as i64;
            let begin = as_int(&args[0], "a substring index")?;
            let end = if n == 2 {
                as_int(&args[1], "a substring index")?
            } else {
                len
            };
            if begin < 0 || end > len || begin > end {
                return Err(format!("begin {begin}, end {end}, length {len}").into());
            }
            Value::String(String::from_utf16_lossy(
                &units[begin as usize..end as usize],
            ))
        }
        ("charAt", 1) => {
            let units = utf16(s);
            let i = as_int(&args[0], "a string index")?;
            let Some(unit) = usize::try_from(i).ok().and_then(|i| units.get(i)) else {
                return Err(format!("Index {i} out of bounds for length {}", units.len()).into());
            };
            Value::String(String::from_utf16_lossy(&[*unit]))
        }
        ("concat", 1) => {
            let joined = format!("{s}{}", text(args, 0)?);
            check_len(&joined)?;
            Value::String(joined)
        }
        ("replace", 2) => {
            let replaced = s.replace(&text(args, 0)?, &text(args, 1)?);
            check_len(&replaced)?;
            Value::String(replaced)
        }
        ("replaceAll" | "replaceFirst", 2) => {
            let re = r.regex(&text(args, 0)?)?;
            let replaced = replace_regex(&re, s, &text(args, 1)?, name == "replaceAll")?;
            check_len(&replaced)?;
            Value::String(replaced)
        }
        ("matches", 1) => {
            let re = r.regex(&format!(r"\A(?:{})\z", text(args, 0)?))?;
            Value::Bool(re.is_match(s))
        }
        ("split", 1 | 2) => {
            let re = r.regex(&text(args, 0)?)?;
            let limit = if n == 2 {
                as_int(&args[1], "a split limit")?
            } else {
                0
            };
            let parts = java_split(&re, s, limit)
                .into_iter()
                .map(Value::str)
                .collect();
            Value::list(parts, ListStyle::Java)
        }
        ("equalsIgnoreCase", 1) => Value::Bool(match &args[0] {
            Value::String(other) => {
                other.chars().count() == s.chars().count()
                    && s.chars().zip(other.chars()).all(|(a, b)| {
                        a == b
                            || a.to_uppercase().eq(b.to_uppercase())
                            || a.to_lowercase().eq(b.to_lowercase())
                    })
            }
            _ => false,
        }),
        ("compareTo", 1) => {
            let (a, b) = (utf16(s), utf16(&text(args, 0)?));
            let diff = a
                .iter()
                .zip(b.iter())
                .find(|(x, y)| x != y)
                .map_or(a.len() as i64 - b.len() as i64, |(x, y)| {
                    i64::from(*x) - i64::from(*y)
                });
            Value::Int(diff)
        }
        _ => return Ok(None),
    };
    Ok(Some(v))
}

/// Java's `String.split(regex, limit)`: a zero-width match at the start adds no leading empty string, and a
/// limit of 0 drops trailing empty strings.
fn java_split<'s>(re: &Regex, s: &'s str, limit: i64) -> Vec<&'s str> {
    let mut parts = Vec::new();
    let mut last = 0;
    let mut matched = false;
    for m in re.find_iter(s) {
        if m.end() == 0 {
            continue;
        }
        if limit > 0 && parts.len() as i64 == limit - 1 {
            break;
        }
        matched = true;
        parts.push(&s[last..m.start()]);
        last = m.end();
    }
    if !matched {
        return vec![s];
    }
    parts.push(&s[last..]);
    if limit == 0 {
        while parts.last() == Some(&"") {
            parts.pop();
        }
    }
    parts
}

enum Piece {
    Lit(String),
    Group(usize),
    Named(String),
}

/// Java's replacement syntax: `$1`, `${name}`, and `\x` for a literal `x`.
fn replacement(re: &Regex, repl: &str) -> R<Vec<Piece>> {
    let groups = re.captures_len();
    let mut pieces = Vec::new();
    let mut lit = String::new();
    let mut chars = repl.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(next) => lit.push(next),
                None => return Err("character to be escaped is missing in the replacement".into()),
            },
            '$' => {
                if !lit.is_empty() {
                    pieces.push(Piece::Lit(std::mem::take(&mut lit)));
                }
                if chars.peek() == Some(&'{') {
                    chars.next();
                    let name: String = chars.by_ref().take_while(|c| *c != '}').collect();
                    if !re.capture_names().any(|n| n == Some(name.as_str())) {
                        return Err(format!("No group with name {{{name}}}").into());
                    }
                    pieces.push(Piece::Named(name));
                    continue;
                }
                let Some(first) = chars.next().and_then(|c| c.to_digit(10)) else {
                    return Err("Illegal group reference in the replacement".into());
                };
                let mut group = first as usize;
                if group >= groups {
                    return Err(format!("No group {group}").into());
                }
                // Java keeps reading digits while the number still names a group.
                while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
                    let longer = group * 10 + d as usize;
                    if longer >= groups {
                        break;
                    }
                    group = longer;
                    chars.next();
                }
                pieces.push(Piece::Group(group));
            }
            c => lit.push(c),
        }
    }
    if !lit.is_empty() {
        pieces.push(Piece::Lit(lit));
    }
    Ok(pieces)
}

fn replace_regex(re: &Regex, s: &str, repl: &str, all: bool) -> R<String> {
    let pieces = replacement(re, repl)?;
    let mut out = String::new();
    let mut last = 0;
    for caps in re.captures_iter(s) {
        let Some(m) = caps.get(0) else { continue };
        out.push_str(&s[last..m.start()]);
        expand(&caps, &pieces, &mut out);
        last = m.end();
        check_len(&out)?;
        if !all {
            break;
        }
    }
    out.push_str(&s[last..]);
    Ok(out)
}

fn expand(caps: &Captures, pieces: &[Piece], out: &mut String) {
    for piece in pieces {
        match piece {
            Piece::Lit(text) => out.push_str(text),
            Piece::Group(i) => out.push_str(caps.get(*i).map_or("", |m| m.as_str())),
            Piece::Named(name) => out.push_str(caps.name(name).map_or("", |m| m.as_str())),
        }
    }
}

fn list_method(
    list: &std::rc::Rc<std::cell::RefCell<Vec<Value>>>,
    name: &str,
    args: &[Value],
) -> R<Option<Value>> {
    let v = match (name, args.len()) {
        ("size", 0) => Value::Int(list.borrow().len() as i64),
        ("isEmpty", 0) => Value::Bool(list.borrow().is_empty()),
        ("get", 1) => {
            let list = list.borrow();
            let i = list_index(&args[0], list.len())?;
            list[i].clone()
        }
        ("contains", 1) => Value::Bool(list.borrow().iter().any(|v| java_equals(v, &args[0]))),
        ("indexOf", 1) => {
            let found = list.borrow().iter().position(|v| java_equals(v, &args[0]));
            Value::Int(found.map_or(-1, |i| i as i64))
        }
        ("add", 1) => {
            list.borrow_mut().push(args[0].clone());
            Value::Bool(true)
        }
        ("add", 2) => {
            let mut list = list.borrow_mut();
            let i = as_int(&args[0], "a list index")?;
            let Some(i) = usize::try_from(i).ok().filter(|i| *i <= list.len()) else {
                return Err(format!("Index: {i}, Size: {}", list.len()).into());
            };
            list.insert(i, args[1].clone());
            Value::Null
        }
        ("addAll", 1) => {
            let Value::List(other, _) = &args[0] else {
                return Ok(None);
            };
            let items = other.borrow().clone();
            let changed = !items.is_empty();
            list.borrow_mut().extend(items);
            Value::Bool(changed)
        }
        ("set", 2) => {
            let mut list = list.borrow_mut();
            let i = list_index(&args[0], list.len())?;
            std::mem::replace(&mut list[i], args[1].clone())
        }
        ("remove", 1) => {
            let mut list = list.borrow_mut();
            if let Value::Int(_) = args[0] {
                let i = list_index(&args[0], list.len())?;
                list.remove(i)
            } else {
                match list.iter().position(|v| java_equals(v, &args[0])) {
                    Some(i) => {
                        list.remove(i);
                        Value::Bool(true)
                    }
                    None => Value::Bool(false),
                }
            }
        }
        ("clear", 0) => {
            list.borrow_mut().clear();
            Value::Null
        }
        _ => return Ok(None),
    };
    Ok(Some(v))
}

fn map_method(
    map: &std::rc::Rc<std::cell::RefCell<super::Map>>,
    name: &str,
    args: &[Value],
) -> R<Option<Value>> {
    // The `$foreach` scope and map entries are Java objects with getters: `hasNext()`, `getKey()`, ...
    if map.borrow().kind != MapKind::Plain && args.is_empty() {
        let m = map.borrow();
        let key = ["get", "is"]
            .iter()
            .find_map(|prefix| name.strip_prefix(prefix).filter(|rest| !rest.is_empty()))
            .map(|rest| {
                let mut chars = rest.chars();
                chars
                    .next()
                    .map_or(String::new(), |c| c.to_lowercase().chain(chars).collect())
            });
        if let Some(v) = m
            .get(name)
            .or_else(|| key.as_deref().and_then(|k| m.get(k)))
        {
            return Ok(Some(v.clone()));
        }
    }
    let key = |v: &Value| -> R<Option<String>> {
        match v {
            Value::Null => Ok(None),
            v => Ok(Some(v.java_string()?)),
        }
    };
    let v = match (name, args.len()) {
        ("get", 1) => match key(&args[0])? {
            Some(k) => map.borrow().get(&k).cloned().unwrap_or(Value::Null),
            None => Value::Null,
        },
        ("containsKey", 1) => match key(&args[0])? {
            Some(k) => Value::Bool(map.borrow().get(&k).is_some()),
            None => Value::Bool(false),
        },
        ("containsValue", 1) => Value::Bool(
            map.borrow()
                .entries
                .iter()
                .any(|(_, v)| java_equals(v, &args[0])),
        ),
        ("size", 0) => Value::Int(map.borrow().entries.len() as i64),
        ("isEmpty", 0) => Value::Bool(map.borrow().entries.is_empty()),
        ("keySet", 0) => Value::list(
            map.borrow()
                .entries
                .iter()
                .map(|(k, _)| Value::str(k.as_str()))
                .collect(),
            ListStyle::Java,
        ),
        ("values", 0) => Value::list(
            map.borrow()
                .entries
                .iter()
                .map(|(_, v)| v.clone())
                .collect(),
            ListStyle::Java,
        ),
        ("entrySet", 0) => Value::list(
            map.borrow()
                .entries
                .iter()
                .map(|(k, v)| {
                    Value::map_of(
                        vec![
                            ("key".into(), Value::str(k.as_str())),
                            ("value".into(), v.clone()),
                        ],
                        MapKind::Entry,
                    )
                })
                .collect(),
            ListStyle::Java,
        ),
        ("put", 2) => {
            let k = key(&args[0])?.unwrap_or_else(|| "null".into());
            map.borrow_mut().put(k, args[1].clone())
        }
        ("putAll", 1) => {
            let Value::Map(other) = &args[0] else {
                return Ok(None);
            };
            let entries = other.borrow().entries.clone();
            let mut map = map.borrow_mut();
            for (k, v) in entries {
                map.put(k, v);
            }
            Value::Null
        }
        ("remove", 1) => match key(&args[0])? {
            Some(k) => map.borrow_mut().remove(&k),
            None => Value::Null,
        },
        _ => return Ok(None),
    };
    Ok(Some(v))
}

fn number_method(target: &Value, name: &str, args: &[Value]) -> R<Option<Value>> {
    let f = target.as_f64().unwrap_or(0.0);
    let v = match (name, args.len()) {
        ("intValue" | "longValue", 0) => match target {
            Value::Int(i) => Value::Int(*i),
            _ => Value::Int(f as i64),
        },
        ("doubleValue" | "floatValue", 0) => Value::Float(f),
        ("compareTo", 1) => {
            let Some(other) = args[0].as_f64() else {
                return Err(
                    format!("cannot compare a number with a {}", args[0].type_name()).into(),
                );
            };
            Value::Int(match f.partial_cmp(&other) {
                Some(std::cmp::Ordering::Less) => -1,
                Some(std::cmp::Ordering::Greater) => 1,
                _ => 0,
            })
        }
        _ => return Ok(None),
    };
    Ok(Some(v))
}
