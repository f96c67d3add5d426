//! The payload's keyword arguments, checked as botocore's parameter validation checks them.

use std::collections::HashMap;
use std::fmt::Debug;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Map, Value};

use crate::convert::to_item;
use crate::failure::{Failure, Result};

/// The member the event's `tableName` fills; the payload cannot name a table of its own.
const TABLE_NAME: &str = "TableName";

/// The members of an operation's input as the wire and boto3 spell them, in the model's order. They are read from
/// the SDK's input builder, whose derived `Debug` prints every field in declaration order:
/// `XInputBuilder { table_name: None, item: None, ... }`. A member a newer SDK adds is accepted at once, and the
/// operations' tests fail until the operation passes it on.
pub fn members(input: &impl Debug) -> Vec<String> {
    let printed = format!("{input:?}");
    let Some((_, fields)) = printed.split_once(" { ") else {
        return Vec::new();
    };
    fields
        .trim_end_matches(" }")
        .split(", ")
        .filter_map(|field| field.split_once(':'))
        .map(|(name, _)| pascal_case(name))
        .collect()
}

fn pascal_case(snake: &str) -> String {
    snake
        .split('_')
        .flat_map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase())
                .into_iter()
                .chain(chars)
        })
        .collect()
}

/// The payload's keyword arguments, taken one by one so that any left over can be refused.
pub struct Args {
    op: &'static str,
    map: Map<String, Value>,
    /// The members of the operation's input, `TableName` first.
    members: Vec<String>,
}

impl Args {
    /// The payload of the boto3 call `op`, whose input `input` is the SDK's (such as `PutItemInput::builder()`).
    pub fn new(op: &'static str, payload: Option<&Value>, input: &impl Debug) -> Result<Self> {
        let map = match payload {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(other) => {
                return Err(Failure::new(
                    "TypeError",
                    format!(
                        "{op}() argument after ** must be a mapping, not {}",
                        py_type(other)
                    ),
                ));
            }
        };
        let members = members(input);
        let known = |key: &str| key != TABLE_NAME && members.iter().any(|m| m == key);
        if let Some(unknown) = map.keys().find(|k| !known(k)) {
            return Err(Failure::new(
                "ParamValidationError",
                format!(
                    "Parameter validation failed:\nUnknown parameter in input: \"{unknown}\", must be one of: {}",
                    members.join(", ")
                ),
            ));
        }
        Ok(Self { op, map, members })
    }

    fn invalid(&self, key: &str, expected: &str) -> Failure {
        Failure::new(
            "ParamValidationError",
            format!(
                "Parameter validation failed:\nInvalid type for parameter {key}, value: {}, type: {}, valid types: {expected}",
                self.map[key],
                py_type(&self.map[key])
            ),
        )
    }

    pub fn required(&self, key: &str) -> Result<()> {
        debug_assert!(self.members.iter().any(|m| m == key), "{} {key}", self.op);
        if self.map.contains_key(key) {
            Ok(())
        } else {
            Err(Failure::new(
                "ParamValidationError",
                format!(
                    "Parameter validation failed:\nMissing required parameter in input: \"{key}\""
                ),
            ))
        }
    }

    pub fn string(&self, key: &str) -> Result<Option<String>> {
        match self.map.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.invalid(key, "<class 'str'>")),
        }
    }

    pub fn boolean(&self, key: &str) -> Result<Option<bool>> {
        match self.map.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(self.invalid(key, "<class 'bool'>")),
        }
    }

    pub fn int(&self, key: &str) -> Result<Option<i32>> {
        match self.map.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| self.invalid(key, "<class 'int'>")),
        }
    }

    pub fn item(&self, key: &str) -> Result<Option<HashMap<String, AttributeValue>>> {
        match self.map.get(key) {
            None => Ok(None),
            Some(Value::Object(m)) => to_item(m).map(Some),
            Some(_) => Err(self.invalid(key, "<class 'dict'>")),
        }
    }

    pub fn names(&self) -> Result<Option<HashMap<String, String>>> {
        const KEY: &str = "ExpressionAttributeNames";
        match self.map.get(KEY) {
            None => Ok(None),
            Some(Value::Object(m)) => m
                .iter()
                .map(|(k, v)| match v {
                    Value::String(s) => Ok((k.clone(), s.clone())),
                    _ => Err(self.invalid(KEY, "<class 'str'>")),
                })
                .collect::<Result<_>>()
                .map(Some),
            Some(_) => Err(self.invalid(KEY, "<class 'dict'>")),
        }
    }

    pub fn strings(&self, key: &str) -> Result<Option<Vec<String>>> {
        match self.map.get(key) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| self.invalid(key, "<class 'list'>"))
                })
                .collect::<Result<_>>()
                .map(Some),
            Some(_) => Err(self.invalid(key, "<class 'list'>")),
        }
    }

    /// A string member of an SDK enum. Its values are DynamoDB's to check, as boto3 leaves them to it.
    pub fn parsed<T: for<'a> From<&'a str>>(&self, key: &str) -> Result<Option<T>> {
        Ok(self.string(key)?.map(|s| T::from(s.as_str())))
    }

    /// The legacy `Expected`, `AttributeUpdates` and `ScanFilter` parameters take DynamoDB's own value shapes, which boto3's
    /// resource layer also converts. They are not supported here.
    pub fn legacy(&self, key: &str) -> Result<()> {
        if self.map.contains_key(key) {
            return Err(Failure::new(
                "ParamValidationError",
                format!(
                    "Parameter validation failed:\n{key} is a legacy parameter this port does not support; use expressions"
                ),
            ));
        }
        Ok(())
    }
}

/// The Python class of a JSON value, as `type(v)` prints it.
fn py_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "<class 'NoneType'>",
        Value::Bool(_) => "<class 'bool'>",
        Value::Number(n) if n.is_f64() => "<class 'float'>",
        Value::Number(_) => "<class 'int'>",
        Value::String(_) => "<class 'str'>",
        Value::Array(_) => "<class 'list'>",
        Value::Object(_) => "<class 'dict'>",
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::operation::get_item::GetItemInput;
    use aws_sdk_dynamodb::operation::update_item::UpdateItemInput;
    use serde_json::json;

    use super::*;

    #[test]
    fn members_are_read_from_the_sdk_in_the_model_order() {
        let get = members(&GetItemInput::builder());
        assert_eq!(get[..2], ["TableName", "Key"]);
        assert!(
            get.iter().any(|m| m == "ExpressionAttributeNames"),
            "{get:?}"
        );
        let update = members(&UpdateItemInput::builder());
        assert!(
            update
                .iter()
                .any(|m| m == "ReturnValuesOnConditionCheckFailure"),
            "{update:?}"
        );
    }

    #[test]
    fn unknown_payload_keys_are_refused_like_boto3() {
        let input = GetItemInput::builder();
        for key in ["Kee", "TableName"] {
            let e = Args::new("get_item", Some(&json!({key: {}})), &input)
                .err()
                .unwrap();
            assert_eq!(e.error_type, "ParamValidationError");
            let start = format!(
                "Parameter validation failed:\nUnknown parameter in input: \"{key}\", must be one of: TableName, Key, "
            );
            assert!(e.message.starts_with(&start), "{}", e.message);
        }
    }

    #[test]
    fn a_payload_that_is_not_a_mapping_is_a_type_error() {
        let e = Args::new("scan", Some(&json!([1])), &GetItemInput::builder())
            .err()
            .unwrap();
        assert_eq!(
            (e.error_type, e.message.as_str()),
            (
                "TypeError",
                "scan() argument after ** must be a mapping, not <class 'list'>"
            )
        );
    }
}
