//! Reading a SAM or CloudFormation template: YAML or JSON text into a `serde_json::Value` with every
//! YAML short form (`!Ref`, `!Sub`, ...) rewritten to its long form, plus [`line_of`] to put a line
//! number on errors found later.

use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, IgnoredAny, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};
use serde_json::{Map, Value};
use serde_yaml_ng::Value as Yaml;
use std::fmt;

/// An error in a template file. `line` is 1-based, and 0 when it is unknown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct TemplateError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl TemplateError {
    pub fn new(file: &str, line: usize, message: impl Into<String>) -> Self {
        TemplateError {
            file: file.to_string(),
            line,
            message: message.into(),
        }
    }
}

/// The YAML short forms and their long forms. These are the short forms CloudFormation documents
/// (CFN-UG intrinsic-function-reference.md and each function's page); `!Cidr` and `!Transform` are
/// listed on the Fn::Cidr and Fn::Transform pages.
const SHORT_FORMS: &[(&str, &str)] = &[
    ("Ref", "Ref"),
    ("Condition", "Condition"),
    ("GetAtt", "Fn::GetAtt"),
    ("Sub", "Fn::Sub"),
    ("Join", "Fn::Join"),
    ("Select", "Fn::Select"),
    ("Split", "Fn::Split"),
    ("FindInMap", "Fn::FindInMap"),
    ("Base64", "Fn::Base64"),
    ("GetAZs", "Fn::GetAZs"),
    ("ImportValue", "Fn::ImportValue"),
    ("If", "Fn::If"),
    ("Equals", "Fn::Equals"),
    ("And", "Fn::And"),
    ("Or", "Fn::Or"),
    ("Not", "Fn::Not"),
    ("Cidr", "Fn::Cidr"),
    ("Transform", "Fn::Transform"),
];

fn long_form(tag: &str) -> Option<&'static str> {
    let name = tag.strip_prefix('!').unwrap_or(tag);
    SHORT_FORMS
        .iter()
        .find(|(short, _)| *short == name)
        .map(|(_, long)| *long)
}

/// Reads a template written in YAML or JSON. Short forms become long forms, non-string keys
/// (numbers, booleans) become strings, and the top level must be a mapping.
pub fn parse(file: &str, text: &str) -> Result<Value, TemplateError> {
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    let looks_like_json = body.trim_start().starts_with('{');
    let value = if looks_like_json {
        match serde_json::from_str::<Value>(body) {
            Ok(value) => value,
            // JSON is YAML, so a YAML reader may still accept what serde_json refused, for example a
            // flow mapping with a short form in it. If it refuses too, the JSON error is the clearer one.
            Err(json_error) => match parse_yaml(file, body) {
                Ok(value) => value,
                Err(_) => {
                    return Err(TemplateError::new(
                        file,
                        json_error.line(),
                        format!("invalid JSON: {json_error}"),
                    ));
                }
            },
        }
    } else {
        parse_yaml(file, body)?
    };
    if !value.is_object() {
        let what = match value {
            Value::Null => "empty",
            _ => "not a mapping",
        };
        return Err(TemplateError::new(
            file,
            if value.is_null() { 0 } else { 1 },
            format!(
                "the template is {what}; a template is a mapping with sections such as Resources"
            ),
        ));
    }
    Ok(value)
}

fn parse_yaml(file: &str, text: &str) -> Result<Value, TemplateError> {
    let yaml: Yaml = serde_yaml_ng::from_str(text).map_err(|error| {
        let line = error.location().map_or(0, |l| l.line());
        let mut message = format!("invalid YAML: {error}");
        if nested_short_form(text, line) {
            // CFN-UG intrinsic-function-reference-base64.md: a short form cannot directly wrap another.
            message.push_str(
                "; a short form cannot directly wrap another short form (`!Base64 !Sub x`): \
                 write the outer one in long form, e.g. `Fn::Base64: !Sub x`",
            );
        }
        TemplateError::new(file, line, message)
    })?;
    let converter = Converter { file, text };
    converter.convert(yaml, &mut Vec::new())
}

/// Whether line `line` (1-based) holds two short forms in a row, such as `!Base64 !Sub x`.
fn nested_short_form(text: &str, line: usize) -> bool {
    let Some(content) = line.checked_sub(1).and_then(|i| text.lines().nth(i)) else {
        return false;
    };
    let words: Vec<&str> = content.split_whitespace().collect();
    words
        .windows(2)
        .any(|pair| long_form(pair[0]).is_some() && pair[1].starts_with('!'))
}

struct Converter<'a> {
    file: &'a str,
    text: &'a str,
}

impl Converter<'_> {
    fn error(&self, path: &[String], fallback_line: usize, message: String) -> TemplateError {
        let keys: Vec<&str> = path.iter().map(String::as_str).collect();
        let line = (0..=keys.len())
            .rev()
            .find_map(|n| line_of(self.text, &keys[..n]))
            .unwrap_or(fallback_line);
        TemplateError::new(self.file, line, message)
    }

    fn convert(&self, yaml: Yaml, path: &mut Vec<String>) -> Result<Value, TemplateError> {
        Ok(match yaml {
            Yaml::Null => Value::Null,
            Yaml::Bool(b) => Value::Bool(b),
            Yaml::Number(n) => self.number(&n, path)?,
            Yaml::String(s) => Value::String(s),
            Yaml::Sequence(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (index, item) in items.into_iter().enumerate() {
                    path.push(index.to_string());
                    out.push(self.convert(item, path)?);
                    path.pop();
                }
                Value::Array(out)
            }
            Yaml::Mapping(mapping) => {
                let mut out = Map::new();
                for (key, value) in mapping {
                    let key = self.key(key, path)?;
                    path.push(key.clone());
                    if out.contains_key(&key) {
                        return Err(self.error(path, 0, format!("duplicate key `{key}`")));
                    }
                    let value = self.convert(value, path)?;
                    path.pop();
                    out.insert(key, value);
                }
                Value::Object(out)
            }
            Yaml::Tagged(tagged) => {
                let tag = tagged.tag.to_string();
                let Some(long) = long_form(&tag) else {
                    let line = tag_line(self.text, &tag);
                    return Err(self.error(
                        path,
                        line,
                        format!(
                            "unknown tag `{tag}`; the CloudFormation short forms are {}",
                            SHORT_FORMS
                                .iter()
                                .map(|(short, _)| format!("!{short}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                };
                path.push(long.to_string());
                let mut inner = self.convert(tagged.value, path)?;
                path.pop();
                // CFN-UG intrinsic-function-reference-getatt.md: `!GetAtt A.B.C` is `[A, B.C]`,
                // because an attribute name may itself contain dots.
                if long == "Fn::GetAtt"
                    && let Value::String(s) = &inner
                    && let Some((id, attribute)) = s.split_once('.')
                {
                    inner = Value::Array(vec![id.into(), attribute.into()]);
                }
                let mut out = Map::new();
                out.insert(long.to_string(), inner);
                Value::Object(out)
            }
        })
    }

    fn number(&self, n: &serde_yaml_ng::Number, path: &[String]) -> Result<Value, TemplateError> {
        if let Some(u) = n.as_u64() {
            return Ok(u.into());
        }
        if let Some(i) = n.as_i64() {
            return Ok(i.into());
        }
        // Offcloud's decision: `.inf` and `.nan` have no JSON form, and CloudFormation has no use for
        // them, so they are refused rather than silently turned into text.
        n.as_f64()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| {
                self.error(
                    path,
                    0,
                    format!(
                        "the number `{n}` cannot be used in a template; quote it if it is text"
                    ),
                )
            })
    }

    fn key(&self, key: Yaml, path: &[String]) -> Result<String, TemplateError> {
        match key {
            Yaml::String(s) => Ok(s),
            Yaml::Bool(b) => Ok(b.to_string()),
            Yaml::Number(n) => Ok(n.to_string()),
            other => {
                let kind = match other {
                    Yaml::Null => "null",
                    Yaml::Sequence(_) => "a sequence",
                    Yaml::Mapping(_) => "a mapping",
                    _ => "a tagged value",
                };
                Err(self.error(
                    path,
                    0,
                    format!("a mapping key is {kind}; keys must be text"),
                ))
            }
        }
    }
}

/// The first line holding `tag` as a tag (after a space, `[`, `{` or `,`, outside a comment and
/// outside quotes), or 0. A fallback for when [`line_of`] cannot place a tagged node.
fn tag_line(text: &str, tag: &str) -> usize {
    for (index, line) in text.lines().enumerate() {
        let mut quote: Option<char> = None;
        let mut previous = ' ';
        for (at, c) in line.char_indices() {
            match quote {
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None if c == '#' && previous.is_whitespace() => break,
                None if c == '"' || c == '\'' => quote = Some(c),
                None if c == '!' && matches!(previous, ' ' | '\t' | '[' | '{' | ',') => {
                    let rest = &line[at..];
                    let end = rest
                        .find(|c: char| c.is_whitespace() || matches!(c, ',' | ']' | '}'))
                        .unwrap_or(rest.len());
                    if &rest[..end] == tag {
                        return index + 1;
                    }
                }
                None => {}
            }
            previous = c;
        }
    }
    0
}

/// The 1-based line where the key at `path` is written, in YAML or JSON text, or `None` when the
/// path is not there or the text cannot be read.
///
/// Each element of `path` is a mapping key, an index into a sequence (`"0"`), or the long name of
/// a YAML short form (`"Fn::If"` steps into `!If [...]`). The text is read with the real YAML or
/// JSON reader, so flow style, quoted keys and comments are all handled: the reader stops with a
/// marker error at the wanted key, and that error carries the key's position.
pub fn line_of(text: &str, path: &[&str]) -> Option<usize> {
    if path.is_empty() {
        return None;
    }
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    if body.trim_start().starts_with('{') {
        let mut json = serde_json::Deserializer::from_str(body);
        let result = Find { path }.deserialize(&mut json);
        match result {
            Ok(()) => return None,
            Err(error) if is_found(&error.to_string()) => return Some(error.line()),
            // Not JSON after all: a YAML flow mapping, perhaps with short forms in it.
            Err(_) => {}
        }
    }
    let result = Find { path }.deserialize(serde_yaml_ng::Deserializer::from_str(body));
    match result {
        Err(error) if is_found(&error.to_string()) => error.location().map(|l| l.line()),
        _ => None,
    }
}

/// The text of the marker error. It holds a NUL so that no reader message can match it; the YAML
/// reader puts the path before it.
const FOUND: &str = "\u{0}offcloud: found";

fn is_found(message: &str) -> bool {
    message.contains(FOUND)
}

/// Walks a document along `path` without building it, stopping with the [`FOUND`] error. An
/// empty path means that the current node is the wanted one.
struct Find<'p> {
    path: &'p [&'p str],
}

impl Find<'_> {
    fn leaf<E: de::Error>(&self) -> Result<(), E> {
        if self.path.is_empty() {
            Err(found())
        } else {
            Ok(())
        }
    }
}

impl<'de> DeserializeSeed<'de> for Find<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Find<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.leaf()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.leaf()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.leaf()
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<(), E> {
        self.leaf()
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<(), E> {
        self.leaf()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.leaf()
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.leaf()
    }
    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<(), E> {
        self.leaf()
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.leaf()
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.leaf()
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let (head, rest) = self.path.split_first().ok_or_else(found)?;
        let wanted = head.parse::<usize>().ok();
        let mut index = 0;
        loop {
            let more = if Some(index) == wanted {
                seq.next_element_seed(Find { path: rest })?.is_some()
            } else {
                seq.next_element::<IgnoredAny>()?.is_some()
            };
            if !more {
                return Ok(());
            }
            index += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (head, rest) = self.path.split_first().ok_or_else(found)?;
        while let Some(hit) = map.next_key_seed(Key {
            wanted: head,
            last: rest.is_empty(),
        })? {
            if hit {
                map.next_value_seed(Find { path: rest })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }

    /// A YAML tagged node, `!If [...]`: the path names it by its long form.
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
        let (head, rest) = self.path.split_first().ok_or_else(found)?;
        let (tag, variant) = data.variant::<String>()?;
        if long_form(&tag) == Some(*head) {
            if rest.is_empty() {
                return Err(found());
            }
            variant.newtype_variant_seed(Find { path: rest })
        } else {
            variant.newtype_variant::<IgnoredAny>().map(|_| ())
        }
    }
}

fn found<E: de::Error>() -> E {
    E::custom(FOUND)
}

/// Matches one mapping key against the wanted one; when it is the last key of the path, a match
/// stops the walk right there, so the error carries the key's own position.
struct Key<'p> {
    wanted: &'p str,
    last: bool,
}

impl Key<'_> {
    fn check<E: de::Error>(self, key: &str) -> Result<bool, E> {
        match (key == self.wanted, self.last) {
            (true, true) => Err(found()),
            (hit, _) => Ok(hit),
        }
    }
}

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a mapping key")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        self.check(v)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
        self.check(&v.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<bool, E> {
        self.check(&v.to_string())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<bool, E> {
        self.check(&v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<bool, E> {
        self.check(&serde_yaml_ng::Number::from(v).to_string())
    }
    fn visit_i128<E>(self, _: i128) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_u128<E>(self, _: u128) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_unit<E>(self) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(false)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(false)
    }
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<bool, A::Error> {
        let (_, variant) = data.variant::<IgnoredAny>()?;
        variant.newtype_variant::<IgnoredAny>()?;
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok(text: &str) -> Value {
        parse("t.yaml", text).unwrap_or_else(|e| panic!("{e}"))
    }

    fn err(text: &str) -> TemplateError {
        parse("t.yaml", text).expect_err("should fail")
    }

    #[test]
    fn every_short_form_becomes_its_long_form() {
        let v = ok("A: !Ref x\n\
             B: !Sub 'a-${x}'\n\
             C: !Join [',', [a, b]]\n\
             D: !Select [0, !GetAZs '']\n\
             E: !Split ['|', 'a|b']\n\
             F: !FindInMap [M, K, V]\n\
             G: !Base64 hi\n\
             H: !ImportValue exported\n\
             I: !If [C, a, b]\n\
             J: !Equals [a, b]\n\
             K: !And [!Condition X, !Condition Y]\n\
             L: !Or [!Condition X, !Not [!Condition Y]]\n\
             M: !Cidr [10.0.0.0/16, 4, 8]\n\
             N: !Transform {Name: AWS::Include, Parameters: {Location: s3://b/k}}\n\
             O: !Condition X\n");
        assert_eq!(
            v,
            json!({
                "A": {"Ref": "x"},
                "B": {"Fn::Sub": "a-${x}"},
                "C": {"Fn::Join": [",", ["a", "b"]]},
                "D": {"Fn::Select": [0, {"Fn::GetAZs": ""}]},
                "E": {"Fn::Split": ["|", "a|b"]},
                "F": {"Fn::FindInMap": ["M", "K", "V"]},
                "G": {"Fn::Base64": "hi"},
                "H": {"Fn::ImportValue": "exported"},
                "I": {"Fn::If": ["C", "a", "b"]},
                "J": {"Fn::Equals": ["a", "b"]},
                "K": {"Fn::And": [{"Condition": "X"}, {"Condition": "Y"}]},
                "L": {"Fn::Or": [{"Condition": "X"}, {"Fn::Not": [{"Condition": "Y"}]}]},
                "M": {"Fn::Cidr": ["10.0.0.0/16", 4, 8]},
                "N": {"Fn::Transform": {"Name": "AWS::Include", "Parameters": {"Location": "s3://b/k"}}},
                "O": {"Condition": "X"},
            })
        );
    }

    #[test]
    fn short_forms_in_block_style_and_with_a_sub_variable_map() {
        let v = ok(
            "A: !Sub\n  - '${a}-${b}'\n  - a: !Ref P\n    b: !GetAtt R.Arn\nB: !Join\n  - ''\n  - - x\n    - !Ref AWS::Region\n",
        );
        assert_eq!(
            v,
            json!({
                "A": {"Fn::Sub": ["${a}-${b}", {"a": {"Ref": "P"}, "b": {"Fn::GetAtt": ["R", "Arn"]}}]},
                "B": {"Fn::Join": ["", ["x", {"Ref": "AWS::Region"}]]},
            })
        );
    }

    #[test]
    fn get_att_splits_at_the_first_dot_and_keeps_the_list_form() {
        let v = ok("A: !GetAtt Db.Endpoint.Address\nB: !GetAtt [Fn, Arn]\nC: !GetAtt NoDot\n");
        assert_eq!(v["A"], json!({"Fn::GetAtt": ["Db", "Endpoint.Address"]}));
        assert_eq!(v["B"], json!({"Fn::GetAtt": ["Fn", "Arn"]}));
        // Without a dot the string is kept; the resolver reports the wrong shape with its path.
        assert_eq!(v["C"], json!({"Fn::GetAtt": "NoDot"}));
    }

    #[test]
    fn an_empty_short_form_is_null() {
        assert_eq!(ok("A: !Ref\n")["A"], json!({"Ref": null}));
    }

    #[test]
    fn unknown_tag_names_the_tag_and_its_line() {
        let e = err("Resources:\n  Fn:\n    Type: X\n    Properties:\n      Name: !Reff x\n");
        assert_eq!(e.line, 5, "{e}");
        assert!(e.message.contains("unknown tag `!Reff`"), "{e}");
        assert!(e.to_string().starts_with("t.yaml:5: unknown tag `!Reff`"));
        let e = err("A:\n  - a\n  - !Length [1]\n");
        assert_eq!((e.line, e.message.contains("!Length")), (3, true), "{e}");
        let e = err("A: !If [C, !Nope x, y]\n");
        assert_eq!(e.line, 1, "{e}");
    }

    #[test]
    fn nested_short_forms_are_a_syntax_error_with_a_hint() {
        let e = err("A: 1\nB: !Base64 !Sub x\n");
        assert_eq!(e.line, 2, "{e}");
        assert!(e.message.contains("cannot directly wrap"), "{e}");
        // The long form around a short form is fine.
        assert_eq!(
            ok("B:\n  Fn::Base64: !Sub x\n")["B"],
            json!({"Fn::Base64": {"Fn::Sub": "x"}})
        );
    }

    #[test]
    fn syntax_errors_carry_the_line() {
        let e = err("A: [1,\n  2\nB: c\n");
        assert!(e.line >= 3, "{e}");
        assert!(e.message.starts_with("invalid YAML"), "{e}");
        let e = err("A: 1\n  B: 2\n");
        assert_eq!(e.line, 2, "{e}");
        let e = err("{\n  \"A\": 1,\n  \"B\" 2\n}\n");
        assert_eq!(e.line, 3, "{e}");
        assert!(e.message.starts_with("invalid JSON"), "{e}");
    }

    #[test]
    fn non_string_keys_become_strings() {
        let v = ok("M:\n  1: a\n  true: b\n  1.5: c\n  -2: d\n");
        assert_eq!(
            v["M"],
            json!({"1": "a", "true": "b", "1.5": "c", "-2": "d"})
        );
        let e = err("M:\n  1: a\n  '1': b\n");
        assert!(e.message.contains("duplicate key `1`"), "{e}");
        assert_eq!(e.line, 2, "{e}");
        let e = err("M:\n  ? [a, b]\n  : c\n");
        assert!(e.message.contains("a sequence"), "{e}");
        let e = err("M:\n  ~: c\n");
        assert!(e.message.contains("null"), "{e}");
    }

    #[test]
    fn scalars_keep_their_json_types() {
        let v = ok("A: 1\nB: -3\nC: 2.5\nD: true\nE: ~\nF: '1'\nG: 3.0\n");
        assert_eq!(
            v,
            json!({"A": 1, "B": -3, "C": 2.5, "D": true, "E": null, "F": "1", "G": 3.0})
        );
        let e = err("A:\n  B: .inf\n");
        assert!(e.message.contains("cannot be used"), "{e}");
        assert_eq!(e.line, 2);
    }

    #[test]
    fn json_templates_are_read() {
        let text = "{\n  \"Resources\": {\"A\": {\"Type\": \"X\", \"Properties\": {\"N\": {\"Ref\": \"P\"}}}}\n}\n";
        assert_eq!(
            ok(text)["Resources"]["A"]["Properties"]["N"],
            json!({"Ref": "P"})
        );
        // A flow mapping with a short form is YAML, not JSON; it is still read.
        assert_eq!(ok("{\"A\": !Ref x}"), json!({"A": {"Ref": "x"}}));
        assert_eq!(ok("\u{feff}{\"A\": 1}"), json!({"A": 1}));
    }

    #[test]
    fn the_top_level_must_be_a_mapping() {
        assert!(err("").message.contains("empty"));
        assert!(err("# only a comment\n").message.contains("empty"));
        assert!(err("- a\n- b\n").message.contains("not a mapping"));
        assert!(err("[1, 2]").message.contains("not a mapping"));
    }

    #[test]
    fn anchors_and_aliases_are_expanded() {
        let v = ok("A: &x {k: v}\nB: *x\n");
        assert_eq!(v["B"], json!({"k": "v"}));
    }

    #[test]
    fn tag_line_skips_comments_and_quotes() {
        let text = "A: '!Foo' # !Foo\nB: \"x !Foo\"\nC: [a, !Foo b]\n";
        assert_eq!(tag_line(text, "!Foo"), 3);
        assert_eq!(tag_line(text, "!Bar"), 0);
    }

    const YAML: &str = "\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
# Resources: a comment
Resources:
  MyFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler   # Resources
      \"Runtime\": python3.12
      'CodeUri': src/
      Environment:
        Variables: {TABLE: !Ref Table, 'MODE': prod}
      Layers:
        - !Ref Layer
        -
          Fn::GetAtt: [L, Arn]
      Events:
        Get:
          Type: Api
          Properties:
            Path: |
              Handler: not a key
            Method: get
  Table:
    Type: AWS::Serverless::SimpleTable
    Condition: !If
      - IsProd
      - !Ref AWS::NoValue
      - x
Outputs:
  Handler:
    Value: 1
";

    #[test]
    fn line_of_yaml_block_style() {
        let at = |path: &[&str]| line_of(YAML, path);
        assert_eq!(at(&["AWSTemplateFormatVersion"]), Some(1));
        assert_eq!(at(&["Resources"]), Some(4));
        assert_eq!(at(&["Resources", "MyFunction"]), Some(5));
        assert_eq!(
            at(&["Resources", "MyFunction", "Properties", "Handler"]),
            Some(8)
        );
        assert_eq!(
            at(&["Resources", "MyFunction", "Properties", "Runtime"]),
            Some(9)
        );
        assert_eq!(
            at(&["Resources", "MyFunction", "Properties", "CodeUri"]),
            Some(10)
        );
        assert_eq!(at(&["Resources", "Table"]), Some(24));
        assert_eq!(at(&["Outputs", "Handler"]), Some(31));
        assert_eq!(at(&["Outputs", "Handler", "Value"]), Some(32));
    }

    #[test]
    fn line_of_flow_style_sequences_and_tags() {
        let at = |path: &[&str]| line_of(YAML, path);
        let vars = [
            "Resources",
            "MyFunction",
            "Properties",
            "Environment",
            "Variables",
        ];
        assert_eq!(at(&[&vars[..], &["TABLE"]].concat()), Some(12));
        assert_eq!(at(&[&vars[..], &["MODE"]].concat()), Some(12));
        assert_eq!(at(&[&vars[..], &["TABLE", "Ref"]].concat()), Some(12));
        let layers = ["Resources", "MyFunction", "Properties", "Layers"];
        assert_eq!(at(&[&layers[..], &["0"]].concat()), Some(14));
        assert_eq!(at(&[&layers[..], &["1"]].concat()), Some(16));
        assert_eq!(at(&[&layers[..], &["1", "Fn::GetAtt"]].concat()), Some(16));
        assert_eq!(
            at(&[&layers[..], &["1", "Fn::GetAtt", "1"]].concat()),
            Some(16)
        );
        assert_eq!(at(&[&layers[..], &["2"]].concat()), None);
        assert_eq!(
            at(&["Resources", "Table", "Condition", "Fn::If", "1"]),
            Some(28)
        );
        assert_eq!(
            at(&["Resources", "Table", "Condition", "Fn::If", "2"]),
            Some(29)
        );
        assert_eq!(at(&["Resources", "Table", "Condition", "Fn::Sub"]), None);
    }

    #[test]
    fn line_of_is_none_when_absent() {
        let at = |path: &[&str]| line_of(YAML, path);
        assert_eq!(at(&[]), None);
        assert_eq!(at(&["Nope"]), None);
        assert_eq!(at(&["Resources", "Nope"]), None);
        // Keys inside a block scalar or a comment are not keys.
        assert_eq!(
            at(&[
                "Resources",
                "MyFunction",
                "Properties",
                "Events",
                "Get",
                "Properties",
                "Path",
                "Handler"
            ]),
            None
        );
        // A path through a scalar.
        assert_eq!(at(&["Transform", "X"]), None);
        assert_eq!(
            at(&["Resources", "MyFunction", "Properties", "Layers", "x"]),
            None
        );
        // Keys before a syntax error are still found; those after it are not.
        assert_eq!(line_of("A: [1,\n", &["A"]), Some(1));
        assert_eq!(line_of("A: [1,\nB: 2\n", &["B"]), None);
        assert_eq!(line_of("", &["A"]), None);
        assert_eq!(line_of("\u{0}\u{1}{{{", &["A"]), None);
    }

    #[test]
    fn line_of_json() {
        let text = r#"{
  "Resources": {
    "MyFunction": {
      "Type": "AWS::Lambda::Function",
      "Properties": {
        "Handler": "app.handler",
        "Layers": [
          "a",
          {"Ref": "L"}
        ],
        "Env": {"Variables": {"A": 1,
                              "B": 2}}
      }
    }
  }
}"#;
        let at = |path: &[&str]| line_of(text, path);
        assert_eq!(at(&["Resources"]), Some(2));
        assert_eq!(
            at(&["Resources", "MyFunction", "Properties", "Handler"]),
            Some(6)
        );
        assert_eq!(
            at(&["Resources", "MyFunction", "Properties", "Layers", "1"]),
            Some(9)
        );
        assert_eq!(
            at(&[
                "Resources",
                "MyFunction",
                "Properties",
                "Layers",
                "1",
                "Ref"
            ]),
            Some(9)
        );
        assert_eq!(
            at(&[
                "Resources",
                "MyFunction",
                "Properties",
                "Env",
                "Variables",
                "B"
            ]),
            Some(12)
        );
        assert_eq!(at(&["Resources", "MyFunction", "Properties", "Nope"]), None);
        assert_eq!(
            at(&["Resources", "MyFunction", "Properties", "Layers", "5"]),
            None
        );
    }

    #[test]
    fn line_of_json_with_tabs_and_a_flow_yaml_mapping() {
        let text = "{\n\t\"A\": {\n\t\t\"B\": 1\n\t}\n}";
        assert_eq!(line_of(text, &["A", "B"]), Some(3));
        let text = "{A: !Ref x,\n B: 2}";
        assert_eq!(line_of(text, &["B"]), Some(2));
    }

    #[test]
    fn line_of_numeric_and_boolean_keys() {
        let text = "M:\n  1: a\n  true: b\n  1.5: c\n";
        assert_eq!(line_of(text, &["M", "1"]), Some(2));
        assert_eq!(line_of(text, &["M", "true"]), Some(3));
        assert_eq!(line_of(text, &["M", "1.5"]), Some(4));
    }
}
