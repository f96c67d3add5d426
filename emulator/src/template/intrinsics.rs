//! The intrinsic-function resolver: `Ref`, `Fn::Sub`, `Fn::GetAtt`, `Fn::If` and the rest, resolved
//! against parameters, pseudo parameters, mappings, evaluated conditions and resources.
//!
//! Facts cite CFN-UG, the AWS CloudFormation User Guide (`doc_source/<page>.md`, also at
//! docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/<page>.html). Where the guide is silent,
//! a comment says that the choice is Offcloud's.

use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;

/// Looks up resources for `Ref` and `Fn::GetAtt`. The caller computes physical ids lazily and
/// detects circular references itself; its `Err` text is passed on unchanged, with the path.
pub trait Resources {
    /// `Ref` to a logical id that is not a parameter: Ok(None) when no such resource exists.
    fn reference(&self, logical_id: &str) -> Result<Option<Value>, String>;
    /// `Fn::GetAtt`: Ok(None) when no such resource exists; Err for an unknown attribute (say which ones exist).
    fn attribute(&self, logical_id: &str, attribute: &str) -> Result<Option<Value>, String>;
}

/// The pseudo parameters (CFN-UG pseudo-parameter-reference.md). `AWS::NoValue` is not here: it
/// removes the property or list item it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pseudo {
    pub region: String,
    pub account_id: String,
    pub stack_name: String,
    pub stack_id: String,
    pub partition: String,
    pub url_suffix: String,
    pub notification_arns: Vec<String>,
}

impl Pseudo {
    /// Pseudo parameters for a local stack. The stack id has the documented ARN shape with the
    /// fixed UUID SAM CLI uses locally (samcli/lib/intrinsic_resolver/intrinsics_symbol_table.py);
    /// the partition and URL suffix follow the region (CFN-UG pseudo-parameter-reference.md).
    pub fn new(region: &str, account_id: &str, stack_name: &str) -> Self {
        let (partition, url_suffix) = if region.starts_with("cn-") {
            ("aws-cn", "amazonaws.com.cn")
        } else if region.starts_with("us-gov-") {
            ("aws-us-gov", "amazonaws.com")
        } else {
            ("aws", "amazonaws.com")
        };
        Pseudo {
            region: region.to_string(),
            account_id: account_id.to_string(),
            stack_name: stack_name.to_string(),
            stack_id: format!(
                "arn:{partition}:cloudformation:{region}:{account_id}:stack/{stack_name}/51af3dc0-da77-11e4-872e-1234567db123"
            ),
            partition: partition.to_string(),
            url_suffix: url_suffix.to_string(),
            notification_arns: Vec::new(),
        }
    }

    fn get(&self, name: &str) -> Option<Value> {
        let text = |s: &String| Some(Value::String(s.clone()));
        match name {
            "AWS::Region" => text(&self.region),
            "AWS::AccountId" => text(&self.account_id),
            "AWS::StackName" => text(&self.stack_name),
            "AWS::StackId" => text(&self.stack_id),
            "AWS::Partition" => text(&self.partition),
            "AWS::URLSuffix" => text(&self.url_suffix),
            "AWS::NotificationARNs" => Some(self.notification_arns.clone().into()),
            _ => None,
        }
    }
}

/// What intrinsics are resolved against.
pub struct Context<'a> {
    /// Parameter values, validated and defaulted: a list type is an array of strings, anything else
    /// a string (CFN-UG parameters-section-structure.md: `Ref` to a `Number` gives a string).
    pub parameters: &'a BTreeMap<String, Value>,
    pub pseudo: &'a Pseudo,
    /// The `Mappings` section, or `Value::Null` when the template has none.
    pub mappings: &'a Value,
    /// Evaluated conditions, from [`evaluate_conditions`].
    pub conditions: &'a BTreeMap<String, bool>,
    pub resources: &'a dyn Resources,
}

/// A failed intrinsic: `path` holds the keys and indexes from the resolved value's root to it,
/// including the function names and argument indexes it sits under.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", Shown(path, message))]
pub struct IntrinsicError {
    pub path: Vec<String>,
    pub message: String,
}

struct Shown<'e>(&'e [String], &'e str);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str(self.1)
        } else {
            write!(f, "{}: {}", self.0.join("."), self.1)
        }
    }
}

/// Resolves every intrinsic in `value`. A value that resolves to `AWS::NoValue` as a whole gives
/// `Value::Null`; inside a mapping or a list it removes the key or the item.
pub fn resolve(value: &Value, cx: &Context<'_>) -> Result<Value, IntrinsicError> {
    Ok(resolve_optional(value, cx)?.unwrap_or(Value::Null))
}

/// Like [`resolve`], but says `None` when the whole value is `AWS::NoValue`.
pub fn resolve_optional(value: &Value, cx: &Context<'_>) -> Result<Option<Value>, IntrinsicError> {
    let mut resolver = Resolver {
        cx,
        section: None,
        path: Vec::new(),
    };
    resolver.value(value)
}

/// Evaluates a `Conditions` section. Conditions may name each other in any order; a cycle is an
/// error. Only parameters, pseudo parameters, mappings and other conditions may be used in it,
/// never a resource (CFN-UG conditions-section-structure.md). `cx.conditions` is not used.
pub fn evaluate_conditions(
    conditions: &Value,
    cx: &Context<'_>,
) -> Result<BTreeMap<String, bool>, IntrinsicError> {
    let empty = Map::new();
    let section = match conditions {
        Value::Null => &empty,
        Value::Object(map) => map,
        _ => {
            return Err(IntrinsicError {
                path: Vec::new(),
                message: "the Conditions section must be a mapping of condition names".into(),
            });
        }
    };
    let mut resolver = Resolver {
        cx,
        section: Some(Section {
            conditions: section,
            done: BTreeMap::new(),
            stack: Vec::new(),
        }),
        path: Vec::new(),
    };
    for name in section.keys() {
        resolver.condition(name)?;
    }
    Ok(resolver.section.map(|s| s.done).unwrap_or_default())
}

/// The state of evaluating a `Conditions` section.
struct Section<'v> {
    conditions: &'v Map<String, Value>,
    done: BTreeMap<String, bool>,
    /// The conditions being evaluated, outermost first, to report cycles.
    stack: Vec<String>,
}

struct Resolver<'c, 'v> {
    cx: &'c Context<'c>,
    /// Set while evaluating the Conditions section.
    section: Option<Section<'v>>,
    path: Vec<String>,
}

type Outcome<T> = Result<T, IntrinsicError>;

/// The functions of `AWS::LanguageExtensions` (CFN-UG transform-aws-languageextensions.md).
const LANGUAGE_EXTENSIONS: &[&str] = &["Fn::Length", "Fn::ToJsonString", "Fn::ForEach"];

impl<'v> Resolver<'_, 'v> {
    fn fail<T>(&self, message: impl Into<String>) -> Outcome<T> {
        Err(IntrinsicError {
            path: self.path.clone(),
            message: message.into(),
        })
    }

    /// Fails one step below the current path, at an argument or key.
    fn fail_at<T>(&self, step: &str, message: impl Into<String>) -> Outcome<T> {
        let mut path = self.path.clone();
        path.push(step.to_string());
        Err(IntrinsicError {
            path,
            message: message.into(),
        })
    }

    /// Runs `f` with `steps` pushed on the path.
    fn at<T>(&mut self, steps: &[&str], f: impl FnOnce(&mut Self) -> Outcome<T>) -> Outcome<T> {
        let depth = self.path.len();
        self.path.extend(steps.iter().map(|s| s.to_string()));
        let result = f(self);
        self.path.truncate(depth);
        result
    }

    /// Resolves a value; `None` stands for `AWS::NoValue`.
    fn value(&mut self, value: &Value) -> Outcome<Option<Value>> {
        match value {
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (index, item) in items.iter().enumerate() {
                    if let Some(v) = self.at(&[&index.to_string()], |r| r.value(item))? {
                        out.push(v);
                    }
                }
                Ok(Some(Value::Array(out)))
            }
            Value::Object(map) if map.len() == 1 => {
                let (key, argument) = map.iter().next().expect("one entry");
                if key == "Ref" || key.starts_with("Fn::") {
                    self.at(&[key], |r| r.function(key, argument))
                } else {
                    self.object(map).map(Some)
                }
            }
            Value::Object(map) => {
                // Offcloud's decision: a function key next to other keys is a mistake, not data.
                // A plain `Ref` key beside others is left alone, since it can be a real property name.
                if let Some(key) = map.keys().find(|k| k.starts_with("Fn::")) {
                    return self.fail_at(key, format!("{key} must be the only key in its mapping"));
                }
                self.object(map).map(Some)
            }
            scalar => Ok(Some(scalar.clone())),
        }
    }

    fn object(&mut self, map: &Map<String, Value>) -> Outcome<Value> {
        let mut out = Map::new();
        for (key, item) in map {
            if let Some(v) = self.at(&[key], |r| r.value(item))? {
                out.insert(key.clone(), v);
            }
        }
        Ok(Value::Object(out))
    }

    /// Resolves a function argument that must have a value.
    fn required(&mut self, value: &Value) -> Outcome<Value> {
        match self.value(value)? {
            Some(v) => Ok(v),
            None => self.fail("AWS::NoValue can only stand for a whole property or list item"),
        }
    }

    /// Resolves argument `index` of the current function.
    fn argument(&mut self, index: usize, value: &Value) -> Outcome<Value> {
        self.at(&[&index.to_string()], |r| r.required(value))
    }

    /// Resolves argument `index` to text; numbers and booleans are written out.
    fn argument_text(&mut self, index: usize, value: &Value, what: &str) -> Outcome<String> {
        self.at(&[&index.to_string()], |r| {
            let v = r.required(value)?;
            r.text(&v, what)
        })
    }

    fn text(&self, value: &Value, what: &str) -> Outcome<String> {
        match value {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            other => self.fail(format!("{what} must be a string, not {}", kind(other))),
        }
    }

    /// The argument list of `name`, which must hold `min..=max` items.
    fn list<'a>(
        &self,
        name: &str,
        argument: &'a Value,
        min: usize,
        max: usize,
        shape: &str,
    ) -> Outcome<&'a [Value]> {
        match argument {
            Value::Array(items) if (min..=max).contains(&items.len()) => Ok(items),
            _ => self.fail(format!("{name} takes {shape}")),
        }
    }

    fn function(&mut self, name: &str, argument: &Value) -> Outcome<Option<Value>> {
        let value = match name {
            "Ref" => return self.reference(argument),
            "Fn::If" => return self.condition_if(argument),
            "Fn::Sub" => self.sub(argument)?,
            "Fn::GetAtt" => self.get_att(argument)?,
            "Fn::Join" => self.join(argument)?,
            "Fn::Select" => self.select(argument)?,
            "Fn::Split" => self.split(argument)?,
            "Fn::FindInMap" => return self.find_in_map(argument),
            "Fn::Base64" => {
                let text = self.at(&[], |r| {
                    let v = r.required(argument)?;
                    r.text(&v, "the argument of Fn::Base64")
                })?;
                Value::String(base64(text.as_bytes()))
            }
            "Fn::GetAZs" => self.get_azs(argument)?,
            "Fn::Cidr" => self.cidr(argument)?,
            "Fn::Equals" => {
                let items = self.list(name, argument, 2, 2, "[value, value]")?;
                let a = self.argument(0, &items[0])?;
                let b = self.argument(1, &items[1])?;
                Value::Bool(equals(&a, &b))
            }
            "Fn::And" | "Fn::Or" => {
                // CFN-UG intrinsic-function-reference-conditions.md: from 2 to 10 conditions.
                let items = self.list(name, argument, 2, 10, "a list of 2 to 10 conditions")?;
                let mut values = Vec::with_capacity(items.len());
                for (index, item) in items.iter().enumerate() {
                    values.push(self.at(&[&index.to_string()], |r| r.boolean(item))?);
                }
                let all = name == "Fn::And";
                Value::Bool(if all {
                    values.iter().all(|b| *b)
                } else {
                    values.iter().any(|b| *b)
                })
            }
            "Fn::Not" => {
                let items =
                    self.list(name, argument, 1, 1, "a list of one condition: [condition]")?;
                Value::Bool(!self.at(&["0"], |r| r.boolean(&items[0]))?)
            }
            "Fn::ImportValue" => {
                return self.fail(
                    "Fn::ImportValue cannot be resolved offline: Offcloud runs one stack, so there \
                     are no other stacks' exports; give the value as a parameter instead",
                );
            }
            "Fn::Transform" => {
                return self.fail(
                    "Fn::Transform (macros and AWS::Include) is not supported by Offcloud; \
                     inline the included content in the template",
                );
            }
            _ if LANGUAGE_EXTENSIONS.iter().any(|f| name.starts_with(f)) => {
                return self.fail(format!(
                    "{name} needs the AWS::LanguageExtensions transform, which Offcloud does not support"
                ));
            }
            _ => {
                return self.fail(format!(
                    "{name} is not a CloudFormation function Offcloud knows"
                ));
            }
        };
        Ok(Some(value))
    }

    /// `Ref` (CFN-UG intrinsic-function-reference-ref.md, pseudo-parameter-reference.md).
    fn reference(&mut self, argument: &Value) -> Outcome<Option<Value>> {
        let Value::String(name) = argument else {
            return self.fail("Ref takes the name of a parameter, pseudo parameter or resource");
        };
        if name == "AWS::NoValue" {
            return Ok(None);
        }
        self.named(name, "Ref").map(Some)
    }

    /// What `Ref name` or `${name}` gives, for anything but `AWS::NoValue`.
    fn named(&mut self, name: &str, by: &str) -> Outcome<Value> {
        if let Some(value) = self.cx.parameters.get(name) {
            return Ok(value.clone());
        }
        if name.starts_with("AWS::") {
            return match self.cx.pseudo.get(name) {
                Some(value) => Ok(value),
                None if name == "AWS::NoValue" => {
                    self.fail(format!("{by}: AWS::NoValue cannot be used here"))
                }
                None => self.fail(format!("{by}: unknown pseudo parameter {name}")),
            };
        }
        if self.section.is_some() {
            return self.fail(format!(
                "Unresolved reference: {name}; a condition can only use parameters, pseudo \
                 parameters and mappings, never a resource"
            ));
        }
        match self.cx.resources.reference(name) {
            Ok(Some(value)) => Ok(value),
            Ok(None) => self.fail(format!(
                "Unresolved reference: {name} is not a parameter, pseudo parameter or resource"
            )),
            Err(message) => self.fail(message),
        }
    }

    /// `Fn::GetAtt`, as `[id, attribute]` or `"id.attribute"` (CFN-UG intrinsic-function-reference-getatt.md).
    fn get_att(&mut self, argument: &Value) -> Outcome<Value> {
        const SHAPE: &str = "Fn::GetAtt takes [logicalId, attribute] or \"logicalId.attribute\"";
        let (id, attribute) = match argument {
            Value::String(s) => match s.split_once('.') {
                Some((id, attribute)) => (id.to_string(), attribute.to_string()),
                None => return self.fail(SHAPE),
            },
            Value::Array(items) if items.len() == 2 => {
                let Value::String(id) = &items[0] else {
                    return self.fail_at("0", SHAPE);
                };
                // The attribute name may be a `Ref` (CFN-UG intrinsic-function-reference-getatt.md).
                let attribute = self.argument_text(1, &items[1], "the attribute of Fn::GetAtt")?;
                (id.clone(), attribute)
            }
            _ => return self.fail(SHAPE),
        };
        self.attribute(&id, &attribute, "Fn::GetAtt")
    }

    fn attribute(&mut self, id: &str, attribute: &str, by: &str) -> Outcome<Value> {
        if self.section.is_some() {
            return self.fail(format!(
                "{by}: a condition cannot use resource attributes ({id}.{attribute})"
            ));
        }
        if self.cx.parameters.contains_key(id) {
            return self.fail(format!(
                "{by}: {id} is a parameter, which has no attributes"
            ));
        }
        match self.cx.resources.attribute(id, attribute) {
            Ok(Some(value)) => Ok(value),
            Ok(None) => self.fail(format!(
                "{by}: Unresolved reference: there is no resource {id}"
            )),
            Err(message) => self.fail(message),
        }
    }

    /// `Fn::Sub` in both forms (CFN-UG intrinsic-function-reference-sub.md).
    fn sub(&mut self, argument: &Value) -> Outcome<Value> {
        const SHAPE: &str = "Fn::Sub takes a string or [string, {variables}]";
        let (template, variables) = match argument {
            Value::String(s) => (s, None),
            Value::Array(items) if items.len() == 2 => {
                // The string must be a literal; no functions are allowed in it.
                let Value::String(s) = &items[0] else {
                    return self.fail_at("0", SHAPE);
                };
                let Value::Object(map) = &items[1] else {
                    return self.fail_at("1", SHAPE);
                };
                let mut variables = BTreeMap::new();
                for (key, value) in map {
                    let text = self.at(&["1", key], |r| {
                        let v = r.required(value)?;
                        r.text(&v, "a Fn::Sub variable")
                    })?;
                    variables.insert(key.as_str(), text);
                }
                (s, Some(variables))
            }
            _ => return self.fail(SHAPE),
        };
        let mut out = String::with_capacity(template.len());
        let mut rest = template.as_str();
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            // `${!Literal}` is written as `${Literal}`: only the `!` is dropped.
            if let Some(literal) = after.strip_prefix('!') {
                out.push_str("${");
                rest = literal;
                continue;
            }
            let Some(end) = after.find('}') else {
                return self
                    .fail("Fn::Sub: `${` without a closing `}`; write `${!` for a literal `${`");
            };
            let name = &after[..end];
            // Offcloud's decision: CloudFormation's exact rule for names is not documented, and a
            // `${...}` that is not a name (spaces, `-`, shell `${A:-b}`) is refused rather than
            // silently kept, since `${!...}` writes it literally in every case.
            let valid = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':'));
            if !valid {
                return self.fail(format!(
                    "Fn::Sub: `${{{name}}}` is not a variable name; write `${{!{name}}}` for literal text"
                ));
            }
            let value = match variables.as_ref().and_then(|v| v.get(name)) {
                Some(text) => text.clone(),
                None => self.sub_name(name)?,
            };
            out.push_str(&value);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(Value::String(out))
    }

    /// What `${name}` gives when it is not a Fn::Sub variable.
    fn sub_name(&mut self, name: &str) -> Outcome<String> {
        let known = self.cx.parameters.contains_key(name) || name.starts_with("AWS::");
        let value = match name.split_once('.') {
            Some((id, attribute)) if !known => {
                self.attribute(id, attribute, &format!("Fn::Sub ${{{name}}}"))?
            }
            _ => self.named(name, &format!("Fn::Sub ${{{name}}}"))?,
        };
        match value {
            Value::Array(_) => self.fail(format!(
                "Fn::Sub: ${{{name}}} is a list; join it first with Fn::Join and pass it as a variable"
            )),
            other => self.text(&other, &format!("Fn::Sub ${{{name}}}")),
        }
    }

    /// `Fn::Join` (CFN-UG intrinsic-function-reference-join.md).
    fn join(&mut self, argument: &Value) -> Outcome<Value> {
        const SHAPE: &str = "Fn::Join takes [delimiter, [values]]";
        let items = self.list("Fn::Join", argument, 2, 2, SHAPE)?;
        let delimiter = self.argument(0, &items[0])?;
        let Value::String(delimiter) = delimiter else {
            return self.fail_at("0", format!("{SHAPE}; the delimiter must be a string"));
        };
        let values = self.argument(1, &items[1])?;
        let Value::Array(values) = values else {
            return self.fail_at("1", format!("{SHAPE}; the values must be a list"));
        };
        let mut parts = Vec::with_capacity(values.len());
        for (index, value) in values.iter().enumerate() {
            parts.push(self.at(&["1", &index.to_string()], |r| {
                r.text(value, "each value of Fn::Join")
            })?);
        }
        Ok(Value::String(parts.join(&delimiter)))
    }

    /// `Fn::Select` (CFN-UG intrinsic-function-reference-select.md).
    fn select(&mut self, argument: &Value) -> Outcome<Value> {
        const SHAPE: &str = "Fn::Select takes [index, [values]]";
        let items = self.list("Fn::Select", argument, 2, 2, SHAPE)?;
        let index = self.argument(0, &items[0])?;
        let index = match &index {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse::<u64>().ok(),
            _ => None,
        };
        let Some(index) = index else {
            return self.fail_at("0", format!("{SHAPE}; the index must be a whole number"));
        };
        let values = self.argument(1, &items[1])?;
        let Value::Array(values) = values else {
            return self.fail_at("1", format!("{SHAPE}; the values must be a list"));
        };
        match usize::try_from(index).ok().and_then(|i| values.get(i)) {
            Some(Value::Null) => self.fail(format!("Fn::Select: item {index} is null")),
            Some(value) => Ok(value.clone()),
            None => self.fail(format!(
                "Fn::Select: index {index} is out of range for a list of {}",
                values.len()
            )),
        }
    }

    /// `Fn::Split` (CFN-UG intrinsic-function-reference-split.md): empty fields are kept.
    fn split(&mut self, argument: &Value) -> Outcome<Value> {
        const SHAPE: &str = "Fn::Split takes [delimiter, string]";
        let items = self.list("Fn::Split", argument, 2, 2, SHAPE)?;
        let Value::String(delimiter) = &items[0] else {
            return self.fail_at(
                "0",
                format!("{SHAPE}; the delimiter must be a literal string"),
            );
        };
        if delimiter.is_empty() {
            return self.fail_at("0", "Fn::Split: the delimiter cannot be empty");
        }
        let source = self.argument_text(1, &items[1], "the string of Fn::Split")?;
        Ok(source.split(delimiter.as_str()).collect::<Vec<_>>().into())
    }

    /// `Fn::FindInMap`, with the optional `{DefaultValue: x}` fourth argument
    /// (CFN-UG intrinsic-function-reference-findinmap.md, -findinmap-enhancements.md). Offcloud's
    /// decision: the default is accepted without checking for the AWS::LanguageExtensions transform.
    fn find_in_map(&mut self, argument: &Value) -> Outcome<Option<Value>> {
        const SHAPE: &str = "Fn::FindInMap takes [MapName, TopLevelKey, SecondLevelKey] or [..., {DefaultValue: value}]";
        let items = self.list("Fn::FindInMap", argument, 3, 4, SHAPE)?;
        let default = match items.get(3) {
            Some(Value::Object(map)) if map.len() == 1 && map.contains_key("DefaultValue") => {
                Some(&map["DefaultValue"])
            }
            Some(_) => return self.fail_at("3", SHAPE),
            None => None,
        };
        let map_name = self.argument_text(0, &items[0], "the map name of Fn::FindInMap")?;
        let top = self.argument_text(1, &items[1], "the top-level key of Fn::FindInMap")?;
        let second = self.argument_text(2, &items[2], "the second-level key of Fn::FindInMap")?;
        let Some(mapping) = self.cx.mappings.get(&map_name) else {
            return self.fail(format!("Fn::FindInMap: there is no mapping {map_name}"));
        };
        match mapping.get(&top).and_then(|m| m.get(&second)) {
            Some(value) => Ok(Some(value.clone())),
            None => match default {
                Some(default) => self.at(&["3", "DefaultValue"], |r| r.value(default)),
                None if mapping.get(&top).is_none() => self.fail(format!(
                    "Fn::FindInMap: mapping {map_name} has no key {top}"
                )),
                None => self.fail(format!(
                    "Fn::FindInMap: mapping {map_name}.{top} has no key {second}"
                )),
            },
        }
    }

    /// `Fn::GetAZs` (CFN-UG intrinsic-function-reference-getavailabilityzones.md): `""` is the
    /// stack's region. Offcloud's decision: every region has the three zones `<region>a`, `b` and
    /// `c`, which is the fewest any commercial region has, so `Fn::Select` up to index 2 works.
    fn get_azs(&mut self, argument: &Value) -> Outcome<Value> {
        let region = self.at(&[], |r| {
            let v = r.required(argument)?;
            r.text(&v, "the region of Fn::GetAZs")
        })?;
        let region = if region.is_empty() {
            self.cx.pseudo.region.clone()
        } else {
            region
        };
        Ok(["a", "b", "c"]
            .iter()
            .map(|zone| Value::String(format!("{region}{zone}")))
            .collect())
    }

    /// `Fn::Cidr` for IPv4 (CFN-UG intrinsic-function-reference-cidr.md): `count` blocks of
    /// `cidrBits` host bits each, in order from the start of `ipBlock`. IPv6 is refused.
    fn cidr(&mut self, argument: &Value) -> Outcome<Value> {
        const SHAPE: &str = "Fn::Cidr takes [ipBlock, count, cidrBits]";
        let items = self.list("Fn::Cidr", argument, 3, 3, SHAPE)?;
        let block = self.argument_text(0, &items[0], "the ipBlock of Fn::Cidr")?;
        let count = self.argument_text(1, &items[1], "the count of Fn::Cidr")?;
        let bits = self.argument_text(2, &items[2], "the cidrBits of Fn::Cidr")?;
        let Some((address, prefix)) = parse_ipv4_block(&block) else {
            return self.fail(format!(
                "Fn::Cidr: `{block}` is not an IPv4 block such as 10.0.0.0/16 (Offcloud does not compute IPv6 blocks)"
            ));
        };
        let (Ok(count), Ok(bits)) = (count.parse::<u32>(), bits.parse::<u32>()) else {
            return self.fail(format!("{SHAPE}; count and cidrBits must be whole numbers"));
        };
        if !(1..=256).contains(&count) || bits == 0 || bits > 32 - prefix {
            return self.fail(format!(
                "Fn::Cidr: {count} blocks of {bits} host bits do not fit in {block}"
            ));
        }
        let size = 1u64 << bits;
        if u64::from(count) * size > 1u64 << (32 - prefix) {
            return self.fail(format!(
                "Fn::Cidr: {count} blocks of {bits} host bits do not fit in {block}"
            ));
        }
        let base = u64::from(address) & !((1u64 << (32 - prefix)) - 1);
        Ok((0..u64::from(count))
            .map(|i| {
                let start = base + i * size;
                let octets = (start as u32).to_be_bytes();
                let [a, b, c, d] = octets;
                Value::String(format!("{a}.{b}.{c}.{d}/{}", 32 - bits))
            })
            .collect())
    }

    /// `Fn::If` (CFN-UG intrinsic-function-reference-conditions.md). Only the chosen branch is
    /// resolved, so the other may name resources that a false condition leaves out.
    fn condition_if(&mut self, argument: &Value) -> Outcome<Option<Value>> {
        const SHAPE: &str = "Fn::If takes [conditionName, valueIfTrue, valueIfFalse]";
        let items = self.list("Fn::If", argument, 3, 3, SHAPE)?;
        let Value::String(name) = &items[0] else {
            return self.fail_at("0", format!("{SHAPE}; the condition name must be a string"));
        };
        let chosen = if self.at(&["0"], |r| r.condition(name))? {
            1
        } else {
            2
        };
        self.at(&[&chosen.to_string()], |r| r.value(&items[chosen]))
    }

    /// A condition argument of `Fn::And`, `Fn::Or` or `Fn::Not`: `{Condition: name}` or a
    /// function giving true or false.
    fn boolean(&mut self, value: &Value) -> Outcome<bool> {
        if let Value::Object(map) = value
            && let (1, Some(name)) = (map.len(), map.get("Condition"))
        {
            let Value::String(name) = name else {
                return self.fail_at("Condition", "Condition takes a condition name");
            };
            return self.at(&["Condition"], |r| r.condition(name));
        }
        match self.required(value)? {
            Value::Bool(b) => Ok(b),
            other => self.fail(format!(
                "a condition must be Fn::Equals, Fn::And, Fn::Or, Fn::Not or Condition, giving true or false; this gives {}",
                kind(&other)
            )),
        }
    }

    /// The value of the condition `name`: looked up, or evaluated in the Conditions section.
    fn condition(&mut self, name: &str) -> Outcome<bool> {
        let Some(section) = self.section.as_mut() else {
            return match self.cx.conditions.get(name) {
                Some(b) => Ok(*b),
                None => self.fail(format!("there is no condition {name}")),
            };
        };
        if let Some(b) = section.done.get(name) {
            return Ok(*b);
        }
        if let Some(at) = section.stack.iter().position(|n| n == name) {
            let mut cycle = section.stack[at..].to_vec();
            cycle.push(name.to_string());
            return self.fail(format!("circular condition: {}", cycle.join(" -> ")));
        }
        let Some(definition) = section.conditions.get(name) else {
            return self.fail(format!("there is no condition {name}"));
        };
        section.stack.push(name.to_string());
        // A condition's own errors are reported from its own definition.
        let saved = std::mem::replace(&mut self.path, vec![name.to_string()]);
        let result = self.boolean(definition);
        self.path = saved;
        let section = self.section.as_mut().expect("still evaluating the section");
        section.stack.pop();
        let value = result?;
        section.done.insert(name.to_string(), value);
        Ok(value)
    }
}

/// `Fn::Equals`. CloudFormation compares strings (CFN-UG intrinsic-function-reference-conditions.md
/// gives only string examples). Offcloud's decision: numbers and booleans compare by their text,
/// so `1` equals `"1"` and `true` equals `"true"`, as a YAML author writing `!Equals [!Ref Count, 1]`
/// expects; lists compare item by item the same way.
fn equals(a: &Value, b: &Value) -> bool {
    fn scalar(v: &Value) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
    match (a, b) {
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| equals(x, y))
        }
        _ => match (scalar(a), scalar(b)) {
            (Some(x), Some(y)) => x == y,
            _ => a == b,
        },
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

fn parse_ipv4_block(block: &str) -> Option<(u32, u32)> {
    let (address, prefix) = block.split_once('/')?;
    let prefix: u32 = prefix.parse().ok()?;
    let address: std::net::Ipv4Addr = address.parse().ok()?;
    (prefix <= 32).then_some((u32::from(address), prefix))
}

/// Standard base64 with padding (RFC 4648 section 4), as `Fn::Base64` gives.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Fake;

    impl Resources for Fake {
        fn reference(&self, id: &str) -> Result<Option<Value>, String> {
            Ok(match id {
                "Table" => Some(json!("local-Table-ABC")),
                "Queue" => Some(json!("http://localhost/q")),
                "Loop" => return Err("circular reference: Loop -> Other -> Loop".into()),
                _ => None,
            })
        }
        fn attribute(&self, id: &str, attribute: &str) -> Result<Option<Value>, String> {
            match (id, attribute) {
                ("Table", "Arn") => Ok(Some(json!(
                    "arn:aws:dynamodb:eu-west-1:123456789012:table/t"
                ))),
                ("Db", "Endpoint.Port") => Ok(Some(json!(3306))),
                ("Table", other) => Err(format!(
                    "Table has no attribute {other}; it has Arn, StreamArn"
                )),
                ("Queue", _) => Ok(Some(json!("arn:q"))),
                _ => Ok(None),
            }
        }
    }

    struct Fixture {
        parameters: BTreeMap<String, Value>,
        pseudo: Pseudo,
        mappings: Value,
        conditions: BTreeMap<String, bool>,
    }

    fn fixture() -> Fixture {
        let mut pseudo = Pseudo::new("eu-west-1", "123456789012", "local");
        pseudo.notification_arns = vec!["arn:sns:a".into(), "arn:sns:b".into()];
        Fixture {
            parameters: [
                ("Stage", json!("prod")),
                ("Count", json!("3")),
                ("Subnets", json!(["s-1", "s-2"])),
                ("Index", json!("1")),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
            pseudo,
            mappings: json!({
                "Regions": {"eu-west-1": {"Ami": "ami-1", "Zones": ["a", "b"]}},
                "Sizes": {"1": {"true": "big"}},
            }),
            conditions: [("IsProd", true), ("IsDev", false)]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        }
    }

    impl Fixture {
        fn cx(&self) -> Context<'_> {
            Context {
                parameters: &self.parameters,
                pseudo: &self.pseudo,
                mappings: &self.mappings,
                conditions: &self.conditions,
                resources: &Fake,
            }
        }
    }

    fn ok(value: Value) -> Value {
        let f = fixture();
        resolve(&value, &f.cx()).unwrap_or_else(|e| panic!("{e}"))
    }

    fn err(value: Value) -> IntrinsicError {
        let f = fixture();
        resolve(&value, &f.cx()).expect_err("should fail")
    }

    fn has(e: &IntrinsicError, text: &str) {
        assert!(e.message.contains(text), "`{}` lacks `{text}`", e.message);
    }

    #[test]
    fn plain_values_are_unchanged() {
        let v = json!({"A": [1, "x", true, null, {"B": 2.5}], "Ref2": "y"});
        assert_eq!(ok(v.clone()), v);
    }

    #[test]
    fn ref_to_parameters_pseudo_parameters_and_resources() {
        assert_eq!(ok(json!({"Ref": "Stage"})), json!("prod"));
        assert_eq!(ok(json!({"Ref": "Count"})), json!("3"));
        assert_eq!(ok(json!({"Ref": "Subnets"})), json!(["s-1", "s-2"]));
        assert_eq!(ok(json!({"Ref": "Table"})), json!("local-Table-ABC"));
        assert_eq!(ok(json!({"Ref": "AWS::Region"})), json!("eu-west-1"));
        assert_eq!(ok(json!({"Ref": "AWS::AccountId"})), json!("123456789012"));
        assert_eq!(ok(json!({"Ref": "AWS::StackName"})), json!("local"));
        assert_eq!(
            ok(json!({"Ref": "AWS::StackId"})),
            json!(
                "arn:aws:cloudformation:eu-west-1:123456789012:stack/local/51af3dc0-da77-11e4-872e-1234567db123"
            )
        );
        assert_eq!(ok(json!({"Ref": "AWS::Partition"})), json!("aws"));
        assert_eq!(ok(json!({"Ref": "AWS::URLSuffix"})), json!("amazonaws.com"));
        assert_eq!(
            ok(json!({"Ref": "AWS::NotificationARNs"})),
            json!(["arn:sns:a", "arn:sns:b"])
        );
    }

    #[test]
    fn pseudo_parameters_follow_the_partition() {
        let cn = Pseudo::new("cn-north-1", "1", "s");
        assert_eq!(
            (cn.partition.as_str(), cn.url_suffix.as_str()),
            ("aws-cn", "amazonaws.com.cn")
        );
        let gov = Pseudo::new("us-gov-west-1", "1", "s");
        assert_eq!(gov.partition, "aws-us-gov");
        assert!(
            gov.stack_id
                .starts_with("arn:aws-us-gov:cloudformation:us-gov-west-1:1:stack/s/")
        );
    }

    #[test]
    fn ref_errors() {
        let e = err(json!({"Environment": {"Variables": {"TABLE": {"Ref": "Nope"}}}}));
        assert_eq!(e.path, ["Environment", "Variables", "TABLE", "Ref"]);
        has(&e, "Unresolved reference: Nope");
        assert_eq!(
            e.to_string(),
            format!("Environment.Variables.TABLE.Ref: {}", e.message)
        );
        has(
            &err(json!({"Ref": "AWS::Nope"})),
            "unknown pseudo parameter AWS::Nope",
        );
        has(&err(json!({"Ref": ["Stage"]})), "Ref takes the name");
        let e = err(json!({"A": {"Ref": "Loop"}}));
        assert_eq!(e.message, "circular reference: Loop -> Other -> Loop");
        assert_eq!(e.path, ["A", "Ref"]);
    }

    #[test]
    fn get_att_in_both_forms() {
        let arn = json!("arn:aws:dynamodb:eu-west-1:123456789012:table/t");
        assert_eq!(ok(json!({"Fn::GetAtt": ["Table", "Arn"]})), arn);
        assert_eq!(ok(json!({"Fn::GetAtt": "Table.Arn"})), arn);
        assert_eq!(ok(json!({"Fn::GetAtt": "Db.Endpoint.Port"})), json!(3306));
        let attr = json!({"Fn::GetAtt": ["Table", {"Fn::Join": ["", ["A", "rn"]]}]});
        assert_eq!(ok(attr), arn);
    }

    #[test]
    fn get_att_errors() {
        has(
            &err(json!({"Fn::GetAtt": "Table"})),
            "Fn::GetAtt takes [logicalId, attribute]",
        );
        has(&err(json!({"Fn::GetAtt": ["Table"]})), "Fn::GetAtt takes");
        let e = err(json!({"Fn::GetAtt": [{"Ref": "Stage"}, "Arn"]}));
        assert_eq!(e.path, ["Fn::GetAtt", "0"]);
        has(
            &err(json!({"Fn::GetAtt": ["Nope", "Arn"]})),
            "there is no resource Nope",
        );
        has(
            &err(json!({"Fn::GetAtt": ["Table", "Bad"]})),
            "it has Arn, StreamArn",
        );
        has(
            &err(json!({"Fn::GetAtt": ["Stage", "Arn"]})),
            "Stage is a parameter",
        );
    }

    #[test]
    fn sub_string_form() {
        let v = json!({"Fn::Sub": "arn:${AWS::Partition}:x:${AWS::Region}:${AWS::AccountId}:${Stage}/${Table}/${Table.Arn}/${Db.Endpoint.Port}"});
        assert_eq!(
            ok(v),
            json!(
                "arn:aws:x:eu-west-1:123456789012:prod/local-Table-ABC/arn:aws:dynamodb:eu-west-1:123456789012:table/t/3306"
            )
        );
        assert_eq!(
            ok(json!({"Fn::Sub": "no variables"})),
            json!("no variables")
        );
        assert_eq!(ok(json!({"Fn::Sub": ""})), json!(""));
        assert_eq!(ok(json!({"Fn::Sub": "$x {y} $"})), json!("$x {y} $"));
    }

    #[test]
    fn sub_literal_form() {
        assert_eq!(
            ok(json!({"Fn::Sub": "${!Literal}-${Stage}"})),
            json!("${Literal}-prod")
        );
        assert_eq!(
            ok(json!({"Fn::Sub": "echo ${!HOME:-x} ${!}"})),
            json!("echo ${HOME:-x} ${}")
        );
    }

    #[test]
    fn sub_variable_map_form() {
        let v = json!({"Fn::Sub": ["${Name}-${Stage}-${Table.Arn}-${AWS::Region}", {
            "Name": {"Fn::Join": ["-", ["a", {"Ref": "Stage"}]]},
            "Stage": "overridden",
            "Table.Arn": 7,
        }]});
        assert_eq!(ok(v), json!("a-prod-overridden-7-eu-west-1"));
    }

    #[test]
    fn sub_errors() {
        let e = err(json!({"X": {"Fn::Sub": "${Nope}"}}));
        assert_eq!(e.path, ["X", "Fn::Sub"]);
        has(&e, "Unresolved reference: Nope");
        has(
            &err(json!({"Fn::Sub": "${Nope.Arn}"})),
            "there is no resource Nope",
        );
        has(
            &err(json!({"Fn::Sub": "${Table.Bad}"})),
            "Table has no attribute Bad",
        );
        has(&err(json!({"Fn::Sub": "${Subnets}"})), "is a list");
        has(
            &err(json!({"Fn::Sub": "${AWS::NoValue}"})),
            "AWS::NoValue cannot be used here",
        );
        has(
            &err(json!({"Fn::Sub": "${a b}"})),
            "not a variable name; write `${!a b}`",
        );
        has(&err(json!({"Fn::Sub": "${A:-b}"})), "not a variable name");
        has(&err(json!({"Fn::Sub": "${}"})), "not a variable name");
        has(&err(json!({"Fn::Sub": "${open"})), "without a closing");
        has(
            &err(json!({"Fn::Sub": 3})),
            "Fn::Sub takes a string or [string, {variables}]",
        );
        let e = err(json!({"Fn::Sub": [{"Ref": "Stage"}, {}]}));
        assert_eq!(e.path, ["Fn::Sub", "0"]);
        has(&err(json!({"Fn::Sub": ["x", []]})), "Fn::Sub takes");
        let e = err(json!({"Fn::Sub": ["${V}", {"V": {"Ref": "Nope"}}]}));
        assert_eq!(e.path, ["Fn::Sub", "1", "V", "Ref"]);
        has(
            &err(json!({"Fn::Sub": ["${V}", {"V": ["a"]}]})),
            "a Fn::Sub variable must be a string, not a list",
        );
        has(&err(json!({"Fn::Sub": "${Loop}"})), "circular reference");
    }

    #[test]
    fn join() {
        assert_eq!(
            ok(json!({"Fn::Join": [",", ["a", "b", "c"]]})),
            json!("a,b,c")
        );
        assert_eq!(
            ok(json!({"Fn::Join": ["", ["a", 1, true]]})),
            json!("a1true")
        );
        assert_eq!(ok(json!({"Fn::Join": [",", []]})), json!(""));
        assert_eq!(
            ok(json!({"Fn::Join": [",", {"Ref": "Subnets"}]})),
            json!("s-1,s-2")
        );
        assert_eq!(
            ok(json!({"Fn::Join": [{"Ref": "Stage"}, ["a", "b"]]})),
            json!("aprodb")
        );
    }

    #[test]
    fn join_errors() {
        has(
            &err(json!({"Fn::Join": ["a"]})),
            "Fn::Join takes [delimiter, [values]]",
        );
        has(
            &err(json!({"Fn::Join": "a"})),
            "Fn::Join takes [delimiter, [values]]",
        );
        has(
            &err(json!({"Fn::Join": [1, []]})),
            "the delimiter must be a string",
        );
        has(
            &err(json!({"Fn::Join": [",", "a"]})),
            "the values must be a list",
        );
        let e = err(json!({"Fn::Join": [",", ["a", {"k": 1}]]}));
        assert_eq!(e.path, ["Fn::Join", "1", "1"]);
        has(&e, "must be a string, not a mapping");
        let e = err(json!({"Fn::Join": [{"Ref": "AWS::NoValue"}, []]}));
        assert_eq!(e.path, ["Fn::Join", "0"]);
        has(&e, "AWS::NoValue can only stand for a whole property");
    }

    #[test]
    fn select() {
        assert_eq!(ok(json!({"Fn::Select": [1, ["a", "b"]]})), json!("b"));
        assert_eq!(ok(json!({"Fn::Select": ["0", ["a", "b"]]})), json!("a"));
        assert_eq!(
            ok(json!({"Fn::Select": [{"Ref": "Index"}, {"Ref": "Subnets"}]})),
            json!("s-2")
        );
        assert_eq!(
            ok(json!({"Fn::Select": [1, {"Ref": "AWS::NotificationARNs"}]})),
            json!("arn:sns:b")
        );
        has(
            &err(json!({"Fn::Select": [2, ["a", "b"]]})),
            "index 2 is out of range for a list of 2",
        );
        has(
            &err(json!({"Fn::Select": [-1, ["a"]]})),
            "the index must be a whole number",
        );
        has(
            &err(json!({"Fn::Select": ["x", ["a"]]})),
            "the index must be a whole number",
        );
        has(
            &err(json!({"Fn::Select": [0, "a"]})),
            "the values must be a list",
        );
        has(&err(json!({"Fn::Select": [0, [null]]})), "item 0 is null");
        has(
            &err(json!({"Fn::Select": [0]})),
            "Fn::Select takes [index, [values]]",
        );
    }

    #[test]
    fn split() {
        assert_eq!(
            ok(json!({"Fn::Split": ["|", "a||c|"]})),
            json!(["a", "", "c", ""])
        );
        assert_eq!(ok(json!({"Fn::Split": [",", ""]})), json!([""]));
        assert_eq!(
            ok(json!({"Fn::Select": [2, {"Fn::Split": [":", {"Fn::GetAtt": ["Table", "Arn"]}]}]})),
            json!("dynamodb")
        );
        has(
            &err(json!({"Fn::Split": [{"Ref": "Stage"}, "a"]})),
            "the delimiter must be a literal string",
        );
        has(&err(json!({"Fn::Split": ["", "a"]})), "cannot be empty");
        has(
            &err(json!({"Fn::Split": [",", ["a"]]})),
            "must be a string, not a list",
        );
        has(
            &err(json!({"Fn::Split": ","})),
            "Fn::Split takes [delimiter, string]",
        );
    }

    #[test]
    fn if_chooses_one_branch_and_only_resolves_it() {
        assert_eq!(ok(json!({"Fn::If": ["IsProd", "a", "b"]})), json!("a"));
        assert_eq!(ok(json!({"Fn::If": ["IsDev", "a", "b"]})), json!("b"));
        // The branch not taken may name a resource that does not exist.
        assert_eq!(
            ok(json!({"Fn::If": ["IsProd", "a", {"Ref": "Nope"}]})),
            json!("a")
        );
        let e = err(json!({"Fn::If": ["IsProd", {"Ref": "Nope"}, "b"]}));
        assert_eq!(e.path, ["Fn::If", "1", "Ref"]);
        has(
            &err(json!({"Fn::If": ["Nope", "a", "b"]})),
            "there is no condition Nope",
        );
        has(
            &err(json!({"Fn::If": [{"Condition": "IsProd"}, "a", "b"]})),
            "the condition name must be a string",
        );
        has(
            &err(json!({"Fn::If": ["IsProd", "a"]})),
            "Fn::If takes [conditionName, valueIfTrue, valueIfFalse]",
        );
    }

    #[test]
    fn no_value_removes_properties_and_list_items() {
        let v = json!({
            "Keep": 1,
            "Gone": {"Fn::If": ["IsDev", "x", {"Ref": "AWS::NoValue"}]},
            "Direct": {"Ref": "AWS::NoValue"},
            "List": ["a", {"Fn::If": ["IsProd", {"Ref": "AWS::NoValue"}, "b"]}, "c"],
            "Joined": {"Fn::Join": [",", ["a", {"Fn::If": ["IsDev", "b", {"Ref": "AWS::NoValue"}]}]]},
        });
        assert_eq!(ok(v), json!({"Keep": 1, "List": ["a", "c"], "Joined": "a"}));
        let f = fixture();
        let no_value = json!({"Ref": "AWS::NoValue"});
        assert_eq!(resolve(&no_value, &f.cx()), Ok(Value::Null));
        assert_eq!(resolve_optional(&no_value, &f.cx()), Ok(None));
    }

    #[test]
    fn sub_inside_join_inside_if() {
        let v = json!({"Env": {"Fn::If": ["IsProd",
            {"Fn::Join": ["/", [{"Fn::Sub": "${Stage}-${AWS::Region}"}, {"Fn::Sub": ["${X}", {"X": {"Ref": "Table"}}]}]]},
            "dev"]}});
        assert_eq!(ok(v), json!({"Env": "prod-eu-west-1/local-Table-ABC"}));
        let v = json!({"Env": {"Fn::If": ["IsProd",
            {"Fn::Join": ["/", ["a", {"Fn::Sub": "${Missing}"}]]}, "dev"]}});
        let e = err(v);
        assert_eq!(
            e.path,
            ["Env", "Fn::If", "1", "Fn::Join", "1", "1", "Fn::Sub"]
        );
    }

    #[test]
    fn condition_functions_in_values() {
        assert_eq!(ok(json!({"Fn::Equals": ["a", "a"]})), json!(true));
        assert_eq!(
            ok(json!({"Fn::Equals": [{"Ref": "Stage"}, "dev"]})),
            json!(false)
        );
        assert_eq!(
            ok(json!({"Fn::Equals": [{"Ref": "Count"}, 3]})),
            json!(true)
        );
        assert_eq!(ok(json!({"Fn::Equals": ["true", true]})), json!(true));
        assert_eq!(
            ok(json!({"Fn::Equals": [{"Ref": "Subnets"}, ["s-1", "s-2"]]})),
            json!(true)
        );
        assert_eq!(ok(json!({"Fn::Equals": [["a"], ["a", "b"]]})), json!(false));
        assert_eq!(ok(json!({"Fn::Equals": [{"a": 1}, {"a": 1}]})), json!(true));
        assert_eq!(ok(json!({"Fn::Equals": [null, "null"]})), json!(false));
        let and = json!({"Fn::And": [{"Condition": "IsProd"}, {"Fn::Equals": ["a", "a"]}]});
        assert_eq!(ok(and), json!(true));
        let or =
            json!({"Fn::Or": [{"Condition": "IsDev"}, {"Fn::Not": [{"Condition": "IsProd"}]}]});
        assert_eq!(ok(or), json!(false));
        assert_eq!(
            ok(json!({"Fn::Not": [{"Condition": "IsDev"}]})),
            json!(true)
        );
        // Outside condition functions, `Condition` is an ordinary key (an IAM statement's, say).
        assert_eq!(
            ok(json!({"Condition": "IsProd"})),
            json!({"Condition": "IsProd"})
        );
    }

    #[test]
    fn condition_function_errors() {
        has(
            &err(json!({"Fn::Equals": ["a"]})),
            "Fn::Equals takes [value, value]",
        );
        has(
            &err(json!({"Fn::And": [{"Condition": "IsProd"}]})),
            "a list of 2 to 10 conditions",
        );
        let eleven = vec![json!({"Condition": "IsProd"}); 11];
        has(
            &err(json!({"Fn::Or": eleven})),
            "a list of 2 to 10 conditions",
        );
        has(
            &err(json!({"Fn::Not": {"Condition": "IsProd"}})),
            "a list of one condition",
        );
        let e = err(json!({"Fn::And": [{"Condition": "IsProd"}, "yes"]}));
        assert_eq!(e.path, ["Fn::And", "1"]);
        has(&e, "a condition must be Fn::Equals");
        let e = err(json!({"Fn::Or": [{"Condition": "IsProd"}, {"Condition": "Nope"}]}));
        assert_eq!(e.path, ["Fn::Or", "1", "Condition"]);
        has(&e, "there is no condition Nope");
        has(
            &err(json!({"Fn::Not": [{"Condition": 1}]})),
            "Condition takes a condition name",
        );
    }

    #[test]
    fn find_in_map() {
        let v = json!({"Fn::FindInMap": ["Regions", {"Ref": "AWS::Region"}, "Ami"]});
        assert_eq!(ok(v), json!("ami-1"));
        assert_eq!(
            ok(json!({"Fn::FindInMap": ["Regions", "eu-west-1", "Zones"]})),
            json!(["a", "b"])
        );
        assert_eq!(
            ok(json!({"Fn::FindInMap": ["Sizes", 1, true]})),
            json!("big")
        );
        let v = json!({"Fn::FindInMap": ["Regions", "us-east-1", "Ami", {"DefaultValue": {"Ref": "Stage"}}]});
        assert_eq!(ok(v), json!("prod"));
        let v = json!({"Fn::FindInMap": ["Regions", "eu-west-1", "Ami", {"DefaultValue": "d"}]});
        assert_eq!(ok(v), json!("ami-1"));
    }

    #[test]
    fn find_in_map_errors() {
        has(
            &err(json!({"Fn::FindInMap": ["Nope", "a", "b"]})),
            "there is no mapping Nope",
        );
        has(
            &err(json!({"Fn::FindInMap": ["Regions", "x", "Ami"]})),
            "mapping Regions has no key x",
        );
        has(
            &err(json!({"Fn::FindInMap": ["Regions", "eu-west-1", "x"]})),
            "mapping Regions.eu-west-1 has no key x",
        );
        has(
            &err(json!({"Fn::FindInMap": ["Regions", "x"]})),
            "Fn::FindInMap takes [MapName",
        );
        has(
            &err(json!({"Fn::FindInMap": ["Regions", "x", "y", {"Default": 1}]})),
            "Fn::FindInMap takes",
        );
        has(
            &err(json!({"Fn::FindInMap": ["Regions", ["x"], "y"]})),
            "top-level key of Fn::FindInMap must be a string",
        );
        let f = fixture();
        let cx = Context {
            mappings: &Value::Null,
            ..f.cx()
        };
        let e = resolve(&json!({"Fn::FindInMap": ["Regions", "x", "y"]}), &cx).unwrap_err();
        has(&e, "there is no mapping Regions");
    }

    #[test]
    fn base64() {
        assert_eq!(ok(json!({"Fn::Base64": "hello"})), json!("aGVsbG8="));
        assert_eq!(ok(json!({"Fn::Base64": ""})), json!(""));
        assert_eq!(ok(json!({"Fn::Base64": "ab"})), json!("YWI="));
        assert_eq!(ok(json!({"Fn::Base64": "abc"})), json!("YWJj"));
        assert_eq!(
            ok(json!({"Fn::Base64": {"Fn::Sub": "#!/bin/sh\n${Stage}"}})),
            json!("IyEvYmluL3NoCnByb2Q=")
        );
        has(
            &err(json!({"Fn::Base64": ["a"]})),
            "the argument of Fn::Base64 must be a string",
        );
    }

    #[test]
    fn get_azs() {
        let zones = json!(["eu-west-1a", "eu-west-1b", "eu-west-1c"]);
        assert_eq!(ok(json!({"Fn::GetAZs": ""})), zones);
        assert_eq!(ok(json!({"Fn::GetAZs": {"Ref": "AWS::Region"}})), zones);
        assert_eq!(
            ok(json!({"Fn::GetAZs": "us-east-2"}))[2],
            json!("us-east-2c")
        );
        assert_eq!(
            ok(json!({"Fn::Select": [0, {"Fn::GetAZs": ""}]})),
            json!("eu-west-1a")
        );
        has(
            &err(json!({"Fn::GetAZs": ["x"]})),
            "the region of Fn::GetAZs must be a string",
        );
    }

    #[test]
    fn cidr() {
        assert_eq!(
            ok(json!({"Fn::Cidr": ["192.168.0.0/24", 6, 5]})),
            json!([
                "192.168.0.0/27",
                "192.168.0.32/27",
                "192.168.0.64/27",
                "192.168.0.96/27",
                "192.168.0.128/27",
                "192.168.0.160/27"
            ])
        );
        assert_eq!(
            ok(json!({"Fn::Cidr": ["10.0.0.0/16", "2", "8"]})),
            json!(["10.0.0.0/24", "10.0.1.0/24"])
        );
        has(
            &err(json!({"Fn::Cidr": ["10.0.0.0/24", 9, 5]})),
            "do not fit",
        );
        has(
            &err(json!({"Fn::Cidr": ["10.0.0.0/24", 1, 9]})),
            "do not fit",
        );
        has(
            &err(json!({"Fn::Cidr": ["10.0.0.0/24", 0, 4]})),
            "do not fit",
        );
        has(&err(json!({"Fn::Cidr": ["::/64", 1, 8]})), "IPv6");
        has(
            &err(json!({"Fn::Cidr": ["10.0.0.0/24", "x", 4]})),
            "whole numbers",
        );
        has(
            &err(json!({"Fn::Cidr": ["10.0.0.0/24", 1]})),
            "Fn::Cidr takes [ipBlock, count, cidrBits]",
        );
    }

    #[test]
    fn refused_functions_are_named() {
        let e = err(json!({"A": {"Fn::ImportValue": "shared-vpc"}}));
        assert_eq!(e.path, ["A", "Fn::ImportValue"]);
        has(&e, "Fn::ImportValue cannot be resolved offline");
        has(&e, "give the value as a parameter instead");
        let include = json!({"Fn::Transform": {"Name": "AWS::Include", "Parameters": {"Location": "s3://b/k"}}});
        has(
            &err(include),
            "Fn::Transform (macros and AWS::Include) is not supported",
        );
        has(
            &err(json!({"Fn::Length": [1, 2]})),
            "Fn::Length needs the AWS::LanguageExtensions transform",
        );
        has(
            &err(json!({"Fn::ToJsonString": {}})),
            "Fn::ToJsonString needs",
        );
        has(
            &err(json!({"Fn::Bogus": 1})),
            "Fn::Bogus is not a CloudFormation function",
        );
        let e = err(json!({"Res": {"Fn::ForEach::Topics": [], "Other": 1}}));
        assert_eq!(e.path, ["Res", "Fn::ForEach::Topics"]);
        has(&e, "must be the only key in its mapping");
    }

    #[test]
    fn error_display() {
        let e = IntrinsicError {
            path: vec![],
            message: "m".into(),
        };
        assert_eq!(e.to_string(), "m");
        let e = IntrinsicError {
            path: vec!["A".into(), "0".into()],
            message: "m".into(),
        };
        assert_eq!(e.to_string(), "A.0: m");
    }

    fn conditions(section: Value) -> Result<BTreeMap<String, bool>, IntrinsicError> {
        let f = fixture();
        let empty = BTreeMap::new();
        let cx = Context {
            conditions: &empty,
            ..f.cx()
        };
        evaluate_conditions(&section, &cx)
    }

    #[test]
    fn conditions_reference_each_other_in_any_order() {
        let got = conditions(json!({
            "Both": {"Fn::And": [{"Condition": "IsProd"}, {"Condition": "InEurope"}]},
            "IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]},
            "InEurope": {"Fn::Equals": [{"Fn::FindInMap": ["Regions", {"Ref": "AWS::Region"}, "Ami"]}, "ami-1"]},
            "NotProd": {"Fn::Not": [{"Condition": "IsProd"}]},
            "Alias": {"Condition": "NotProd"},
            "Either": {"Fn::Or": [{"Condition": "Alias"}, {"Fn::Equals": [{"Ref": "Count"}, "3"]}]},
            "ByIf": {"Fn::If": ["NotProd", false, true]},
        }))
        .unwrap();
        let want: BTreeMap<String, bool> = [
            ("Both", true),
            ("IsProd", true),
            ("InEurope", true),
            ("NotProd", false),
            ("Alias", false),
            ("Either", true),
            ("ByIf", true),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        assert_eq!(got, want);
        assert_eq!(conditions(Value::Null).unwrap(), BTreeMap::new());
        assert_eq!(conditions(json!({})).unwrap(), BTreeMap::new());
    }

    #[test]
    fn condition_cycles_are_reported() {
        let e = conditions(json!({
            "A": {"Fn::Not": [{"Condition": "B"}]},
            "B": {"Fn::And": [{"Condition": "IsTrue"}, {"Condition": "A"}]},
            "IsTrue": {"Fn::Equals": [1, 1]},
        }))
        .unwrap_err();
        assert_eq!(e.message, "circular condition: A -> B -> A");
        assert_eq!(e.path, ["B", "Fn::And", "1", "Condition"]);
        let e = conditions(json!({"Self": {"Condition": "Self"}})).unwrap_err();
        assert_eq!(e.message, "circular condition: Self -> Self");
        let e = conditions(json!({"A": {"Fn::If": ["A", true, false]}})).unwrap_err();
        assert_eq!(e.message, "circular condition: A -> A");
    }

    #[test]
    fn condition_errors() {
        let e = conditions(json!({"A": {"Fn::Equals": [{"Ref": "Table"}, "x"]}})).unwrap_err();
        assert_eq!(e.path, ["A", "Fn::Equals", "0", "Ref"]);
        has(&e, "never a resource");
        let e = conditions(json!({"A": {"Fn::Equals": [{"Fn::GetAtt": ["Table", "Arn"]}, "x"]}}))
            .unwrap_err();
        has(&e, "a condition cannot use resource attributes");
        let e =
            conditions(json!({"A": {"Fn::Equals": [{"Fn::Sub": "${Table}"}, "x"]}})).unwrap_err();
        has(&e, "never a resource");
        let e = conditions(json!({"A": {"Condition": "Missing"}})).unwrap_err();
        has(&e, "there is no condition Missing");
        let e = conditions(json!({"A": "yes"})).unwrap_err();
        assert_eq!(e.path, ["A"]);
        has(&e, "a condition must be Fn::Equals");
        let e = conditions(json!({"A": {"Ref": "Stage"}})).unwrap_err();
        has(&e, "this gives a string");
        let e = conditions(json!(["A"])).unwrap_err();
        has(&e, "must be a mapping");
    }
}
