//! Plain JSON to DynamoDB's `AttributeValue` and back, as boto3's `TypeSerializer` and `TypeDeserializer` do, and
//! the SDK's output types to the JSON boto3 returns.

use std::collections::HashMap;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, ConsumedCapacity};
use base64::Engine;
use serde_json::{Map, Value, json};

use crate::failure::{Failure, Result};

/// boto3's `TypeSerializer`, for plain JSON.
pub fn to_attr(v: &Value) -> Result<AttributeValue> {
    Ok(match v {
        Value::Null => AttributeValue::Null(true),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Number(n) if n.is_i64() || n.is_u64() => AttributeValue::N(n.to_string()),
        Value::Number(_) => {
            return Err(Failure::new(
                "TypeError",
                "Float types are not supported. Use Decimal types instead.",
            ));
        }
        Value::String(s) => AttributeValue::S(s.clone()),
        Value::Array(items) => AttributeValue::L(items.iter().map(to_attr).collect::<Result<_>>()?),
        Value::Object(map) => AttributeValue::M(to_item(map)?),
    })
}

pub fn to_item(map: &Map<String, Value>) -> Result<HashMap<String, AttributeValue>> {
    map.iter()
        .map(|(k, v)| Ok((k.clone(), to_attr(v)?)))
        .collect()
}

/// A JSON number for a DynamoDB number, keeping integers exact.
fn number(n: &str) -> Value {
    if let Ok(i) = n.parse::<i64>() {
        return Value::from(i);
    }
    if let Ok(u) = n.parse::<u64>() {
        return Value::from(u);
    }
    n.parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map(Value::Number)
        .unwrap_or_else(|| Value::String(n.to_string()))
}

fn b64(b: &Blob) -> Value {
    Value::String(base64::engine::general_purpose::STANDARD.encode(b.as_ref()))
}

/// boto3's `TypeDeserializer`, to plain JSON.
pub fn from_attr(v: &AttributeValue) -> Value {
    match v {
        AttributeValue::S(s) => Value::String(s.clone()),
        AttributeValue::N(n) => number(n),
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::B(b) => b64(b),
        AttributeValue::Ss(items) => items.iter().cloned().map(Value::String).collect(),
        AttributeValue::Ns(items) => items.iter().map(|n| number(n)).collect(),
        AttributeValue::Bs(items) => items.iter().map(b64).collect(),
        AttributeValue::L(items) => items.iter().map(from_attr).collect(),
        AttributeValue::M(map) => Value::Object(from_item(map)),
        _ => Value::Null,
    }
}

pub fn from_item(item: &HashMap<String, AttributeValue>) -> Map<String, Value> {
    item.iter()
        .map(|(k, v)| (k.clone(), from_attr(v)))
        .collect()
}

/// An item as a JSON object.
pub fn item_value(item: &HashMap<String, AttributeValue>) -> Value {
    Value::Object(from_item(item))
}

pub fn capacity(c: Option<&ConsumedCapacity>) -> Option<Value> {
    c.map(|c| {
        let mut v = json!({"TableName": c.table_name()});
        if let Some(u) = c.capacity_units() {
            v["CapacityUnits"] = json!(u);
        }
        if let Some(u) = c.read_capacity_units() {
            v["ReadCapacityUnits"] = json!(u);
        }
        if let Some(u) = c.write_capacity_units() {
            v["WriteCapacityUnits"] = json!(u);
        }
        v
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_json_round_trips_through_attribute_values() {
        let v = json!({"id": "1", "n": 5, "big": 18446744073709551615u64, "ok": true, "none": null,
                       "list": [1, "a"], "map": {"x": {"y": -3}}});
        let item = to_item(v.as_object().unwrap()).unwrap();
        assert_eq!(item["n"], AttributeValue::N("5".into()));
        assert_eq!(item["none"], AttributeValue::Null(true));
        assert_eq!(Value::Object(from_item(&item)), v);
    }

    #[test]
    fn floats_are_refused_as_boto3_refuses_them() {
        let e = to_attr(&json!(1.5)).unwrap_err();
        assert_eq!(e.error_type, "TypeError");
        assert_eq!(
            e.message,
            "Float types are not supported. Use Decimal types instead."
        );
    }

    #[test]
    fn sets_numbers_and_binary_come_out_as_json() {
        assert_eq!(from_attr(&AttributeValue::N("2.50".into())), json!(2.5));
        assert_eq!(
            from_attr(&AttributeValue::Ns(vec!["1".into(), "2".into()])),
            json!([1, 2])
        );
        assert_eq!(
            from_attr(&AttributeValue::B(Blob::new("hi!!"))),
            json!("aGkhIQ==")
        );
        assert_eq!(from_attr(&AttributeValue::B(Blob::new("h"))), json!("aA=="));
        assert_eq!(
            from_attr(&AttributeValue::Bs(vec![Blob::new(""), Blob::new("ab")])),
            json!(["", "YWI="])
        );
    }
}
