//! Redactions: values that change between runs become numbered placeholders (`[uuid-1]`), so a snapshot still
//! shows when two fields held the same value. A redaction may check its value first, e.g. "within 5 minutes of now".
//!
//! Clock readings (`epoch_s`, `epoch_ms`, `datetime`) are the exception: they become `[epoch_s]` with no number.
//! Whether two of them are equal depends on where a second boundary falls during the run, so numbering them
//! would make a golden fail now and then.

use std::collections::HashMap;

use serde_json::Value;

use super::format::{Redaction, RedactionKind};

/// Numbers placeholders per label, in order of first appearance, across one scenario run.
pub struct Redactor {
    now_ms: u64,
    seen: HashMap<(String, String), usize>,
    next: HashMap<String, usize>,
}

fn uuid_re() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(
            r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
        )
        .expect("valid")
    })
}

impl Redactor {
    pub fn new(now_ms: u64) -> Self {
        Self {
            now_ms,
            seen: HashMap::new(),
            next: HashMap::new(),
        }
    }

    /// Sets the instant that time checks compare against.
    pub fn set_now(&mut self, now_ms: u64) {
        self.now_ms = now_ms;
    }

    fn placeholder(&mut self, label: &str, original: &str) -> String {
        let key = (label.to_string(), original.to_string());
        let n = match self.seen.get(&key) {
            Some(n) => *n,
            None => {
                let n = self.next.entry(label.to_string()).or_insert(0);
                *n += 1;
                self.seen.insert(key, *n);
                *n
            }
        };
        format!("[{label}-{n}]")
    }

    /// Replaces every UUID inside every string.
    pub fn uuids(&mut self, v: &mut Value) {
        match v {
            Value::String(s) => {
                let found: Vec<String> = uuid_re()
                    .find_iter(s)
                    .map(|m| m.as_str().to_string())
                    .collect();
                for u in found {
                    let p = self.placeholder("uuid", &u.to_ascii_lowercase());
                    *s = s.replace(&u, &p);
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|x| self.uuids(x)),
            Value::Object(o) => o.values_mut().for_each(|x| self.uuids(x)),
            _ => {}
        }
    }

    /// Applies one rule. A missing path or a failed check is an error naming the path.
    pub fn apply(&mut self, v: &mut Value, rule: &Redaction) -> Result<(), String> {
        let segments: Vec<&str> = rule.path.split('.').collect();
        let original = lookup(v, &segments)
            .ok_or_else(|| format!("redaction path {:?} is not in the result", rule.path))?;
        self.check(rule, &original)?;
        let text = match &original {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let p = match rule.kind {
            RedactionKind::Any => self.placeholder(rule.kind.label(), &text),
            RedactionKind::EpochS | RedactionKind::EpochMs | RedactionKind::Datetime => {
                format!("[{}]", rule.kind.label())
            }
        };
        replace(v, &segments, &original, &p);
        Ok(())
    }

    fn check(&self, rule: &Redaction, v: &Value) -> Result<(), String> {
        let now = self.now_ms as i64;
        let fail = |what: &str| Err(format!("{}: {v} is not {what}", rule.path));
        match rule.kind {
            RedactionKind::Any => Ok(()),
            // Five minutes, as for date-times: a scenario on a loaded machine reads values written by earlier
            // steps, and the check is there to catch wrong units and made-up values, which miss by far more.
            RedactionKind::EpochS => match v.as_i64() {
                Some(s) if (s * 1000 - now).abs() <= 300_000 => Ok(()),
                _ => fail("an epoch in seconds within 5 minutes of now"),
            },
            RedactionKind::EpochMs => match v.as_i64() {
                Some(ms) if (ms - now).abs() <= 300_000 => Ok(()),
                _ => fail("an epoch in milliseconds within 5 minutes of now"),
            },
            RedactionKind::Datetime => {
                let s = v.as_str().unwrap_or_default();
                let parsed = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f")
                    .or_else(|_| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.fZ"));
                match parsed {
                    Ok(t) if (t.and_utc().timestamp_millis() - now).abs() <= 300_000 => Ok(()),
                    _ => fail("a UTC date and time within 5 minutes of now"),
                }
            }
        }
    }
}

/// Follows a dotted path; a segment may step into a string holding JSON.
fn lookup(v: &Value, segments: &[&str]) -> Option<Value> {
    let Some((first, rest)) = segments.split_first() else {
        return Some(v.clone());
    };
    match v {
        Value::Object(o) => lookup(o.get(*first)?, rest),
        Value::Array(a) => lookup(a.get(first.parse::<usize>().ok()?)?, rest),
        Value::String(s) => lookup(&serde_json::from_str::<Value>(s).ok()?, segments),
        _ => None,
    }
}

/// Replaces the value at a path with `placeholder`. Inside a string holding JSON, the value's text is replaced
/// in place, keeping the string's own formatting.
fn replace(v: &mut Value, segments: &[&str], original: &Value, placeholder: &str) {
    let Some((first, rest)) = segments.split_first() else {
        *v = Value::String(placeholder.to_string());
        return;
    };
    match v {
        Value::Object(o) => {
            if let Some(x) = o.get_mut(*first) {
                replace(x, rest, original, placeholder);
            }
        }
        Value::Array(a) => {
            if let Some(x) = first.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
                replace(x, rest, original, placeholder);
            }
        }
        Value::String(s) => {
            let text = original.to_string();
            *s = s.replacen(&text, &format!("\"{placeholder}\""), 1);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(path: &str, kind: RedactionKind) -> Redaction {
        Redaction {
            path: path.into(),
            kind,
        }
    }

    #[test]
    fn uuids_are_numbered_by_first_appearance() {
        let mut r = Redactor::new(0);
        let a = "8f3e0c2a-1b4d-4c6e-9f70-0123456789ab";
        let b = "00000000-0000-4000-8000-000000000001";
        let mut v = json!({"x": a, "y": format!("RequestId: {b} Error"), "z": a});
        r.uuids(&mut v);
        assert_eq!(
            v,
            json!({"x": "[uuid-1]", "y": "RequestId: [uuid-2] Error", "z": "[uuid-1]"})
        );
    }

    #[test]
    fn epoch_inside_a_json_string_keeps_the_formatting() {
        let now = 1_700_000_000_000;
        let mut r = Redactor::new(now);
        let mut v = json!({"body": {"body": "{\"The current epoch time\": 1700000001}"}});
        r.apply(
            &mut v,
            &rule("body.body.The current epoch time", RedactionKind::EpochS),
        )
        .unwrap();
        assert_eq!(
            v,
            json!({"body": {"body": "{\"The current epoch time\": \"[epoch_s]\"}"}})
        );
    }

    #[test]
    fn clock_readings_are_not_numbered_but_other_values_are() {
        let now = 1_700_000_000_000;
        let mut r = Redactor::new(now);
        // A start time and a later reading: equal in most runs, a second apart when a boundary falls between.
        let mut v =
            json!({"start": 1_700_000_000, "now": 1_700_000_001, "a": "x", "b": "y", "c": "x"});
        for path in ["start", "now"] {
            r.apply(&mut v, &rule(path, RedactionKind::EpochS)).unwrap();
        }
        for path in ["a", "b", "c"] {
            r.apply(&mut v, &rule(path, RedactionKind::Any)).unwrap();
        }
        assert_eq!(
            v,
            json!({"start": "[epoch_s]", "now": "[epoch_s]",
                   "a": "[redacted-1]", "b": "[redacted-2]", "c": "[redacted-1]"})
        );
    }

    #[test]
    fn checks_fail_with_the_path() {
        let mut r = Redactor::new(1_700_000_000_000);
        let mut v = json!({"t": 5});
        let e = r
            .apply(&mut v, &rule("t", RedactionKind::EpochS))
            .unwrap_err();
        assert!(e.contains("within 5 minutes of now"), "{e}");
        assert!(
            r.apply(&mut v, &rule("missing", RedactionKind::Any))
                .is_err()
        );
    }

    #[test]
    fn datetimes_as_the_data_api_gives_them() {
        let now = chrono::NaiveDate::from_ymd_opt(2019, 3, 6)
            .unwrap()
            .and_hms_opt(2, 45, 0)
            .unwrap()
            .and_utc()
            .timestamp_millis() as u64;
        let mut r = Redactor::new(now);
        let mut v = json!({"d": "2019-03-06 02:45:32.0"});
        r.apply(&mut v, &rule("d", RedactionKind::Datetime))
            .unwrap();
        assert_eq!(v, json!({"d": "[datetime]"}));
    }
}
