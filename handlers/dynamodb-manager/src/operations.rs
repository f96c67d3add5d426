//! The seed's table operations, each the boto3 `Table` call it made: its payload in, boto3's response out.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::RequestId;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemInput;
use aws_sdk_dynamodb::operation::get_item::GetItemInput;
use aws_sdk_dynamodb::operation::put_item::PutItemInput;
use aws_sdk_dynamodb::operation::scan::ScanInput;
use aws_sdk_dynamodb::operation::update_item::UpdateItemInput;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionalOperator, ConsumedCapacity, ReturnConsumedCapacity,
    ReturnItemCollectionMetrics, ReturnValue, ReturnValuesOnConditionCheckFailure, Select,
};
use serde_json::{Map, Value, json};

use crate::convert::{capacity, item_value};
use crate::failure::{Result, sdk_error};
use crate::params::Args;

fn metadata(request_id: Option<&str>) -> Value {
    json!({
        "RequestId": request_id.unwrap_or_default(),
        "HTTPStatusCode": 200,
        "RetryAttempts": 0,
    })
}

/// boto3's response: the output members that are set, and `ResponseMetadata`.
fn response(members: Vec<(&str, Option<Value>)>, request_id: Option<&str>) -> Value {
    let mut out = Map::new();
    for (k, v) in members {
        if let Some(v) = v {
            out.insert(k.to_string(), v);
        }
    }
    out.insert("ResponseMetadata".into(), metadata(request_id));
    Value::Object(out)
}

/// Sets the options PutItem, UpdateItem and DeleteItem share on any of their request builders.
macro_rules! with_write_options {
    ($builder:expr, $a:expr) => {{
        let a = &$a;
        $builder
            .set_condition_expression(a.string("ConditionExpression")?)
            .set_expression_attribute_names(a.names()?)
            .set_expression_attribute_values(a.item("ExpressionAttributeValues")?)
            .set_return_values(a.parsed::<ReturnValue>("ReturnValues")?)
            .set_return_consumed_capacity(
                a.parsed::<ReturnConsumedCapacity>("ReturnConsumedCapacity")?,
            )
            .set_return_item_collection_metrics(
                a.parsed::<ReturnItemCollectionMetrics>("ReturnItemCollectionMetrics")?,
            )
            .set_return_values_on_condition_check_failure(
                a.parsed::<ReturnValuesOnConditionCheckFailure>(
                    "ReturnValuesOnConditionCheckFailure",
                )?,
            )
            .set_conditional_operator(a.parsed::<ConditionalOperator>("ConditionalOperator")?)
    }};
}

/// The answer of a write: its old or new attributes when asked for, and the consumed capacity.
fn attributes_response(
    attributes: Option<&HashMap<String, AttributeValue>>,
    consumed: Option<&ConsumedCapacity>,
    request_id: Option<&str>,
) -> Value {
    response(
        vec![
            ("Attributes", attributes.map(item_value)),
            ("ConsumedCapacity", capacity(consumed)),
        ],
        request_id,
    )
}

pub async fn put_item(db: &Client, table: &str, payload: Option<&Value>) -> Result<Value> {
    let a = Args::new("put_item", payload, &PutItemInput::builder())?;
    a.required("Item")?;
    a.legacy("Expected")?;
    let builder = db.put_item().table_name(table).set_item(a.item("Item")?);
    let out = with_write_options!(builder, a)
        .send()
        .await
        .map_err(|e| sdk_error("PutItem", e))?;
    Ok(attributes_response(
        out.attributes.as_ref(),
        out.consumed_capacity(),
        out.request_id(),
    ))
}

pub async fn get_item(db: &Client, table: &str, payload: Option<&Value>) -> Result<Value> {
    let a = Args::new("get_item", payload, &GetItemInput::builder())?;
    a.required("Key")?;
    let out = db
        .get_item()
        .table_name(table)
        .set_key(a.item("Key")?)
        .set_attributes_to_get(a.strings("AttributesToGet")?)
        .set_consistent_read(a.boolean("ConsistentRead")?)
        .set_return_consumed_capacity(a.parsed::<ReturnConsumedCapacity>("ReturnConsumedCapacity")?)
        .set_projection_expression(a.string("ProjectionExpression")?)
        .set_expression_attribute_names(a.names()?)
        .send()
        .await
        .map_err(|e| sdk_error("GetItem", e))?;
    Ok(response(
        vec![
            ("Item", out.item.as_ref().map(item_value)),
            ("ConsumedCapacity", capacity(out.consumed_capacity())),
        ],
        out.request_id(),
    ))
}

pub async fn update_item(db: &Client, table: &str, payload: Option<&Value>) -> Result<Value> {
    let a = Args::new("update_item", payload, &UpdateItemInput::builder())?;
    a.required("Key")?;
    a.legacy("Expected")?;
    a.legacy("AttributeUpdates")?;
    let builder = db
        .update_item()
        .table_name(table)
        .set_key(a.item("Key")?)
        .set_update_expression(a.string("UpdateExpression")?);
    let out = with_write_options!(builder, a)
        .send()
        .await
        .map_err(|e| sdk_error("UpdateItem", e))?;
    Ok(attributes_response(
        out.attributes.as_ref(),
        out.consumed_capacity(),
        out.request_id(),
    ))
}

pub async fn delete_item(db: &Client, table: &str, payload: Option<&Value>) -> Result<Value> {
    let a = Args::new("delete_item", payload, &DeleteItemInput::builder())?;
    a.required("Key")?;
    a.legacy("Expected")?;
    let builder = db.delete_item().table_name(table).set_key(a.item("Key")?);
    let out = with_write_options!(builder, a)
        .send()
        .await
        .map_err(|e| sdk_error("DeleteItem", e))?;
    Ok(attributes_response(
        out.attributes.as_ref(),
        out.consumed_capacity(),
        out.request_id(),
    ))
}

pub async fn scan(db: &Client, table: &str, payload: Option<&Value>) -> Result<Value> {
    let a = Args::new("scan", payload, &ScanInput::builder())?;
    a.legacy("ScanFilter")?;
    let out = db
        .scan()
        .table_name(table)
        .set_index_name(a.string("IndexName")?)
        .set_attributes_to_get(a.strings("AttributesToGet")?)
        .set_limit(a.int("Limit")?)
        .set_select(a.parsed::<Select>("Select")?)
        .set_conditional_operator(a.parsed::<ConditionalOperator>("ConditionalOperator")?)
        .set_exclusive_start_key(a.item("ExclusiveStartKey")?)
        .set_return_consumed_capacity(a.parsed::<ReturnConsumedCapacity>("ReturnConsumedCapacity")?)
        .set_total_segments(a.int("TotalSegments")?)
        .set_segment(a.int("Segment")?)
        .set_projection_expression(a.string("ProjectionExpression")?)
        .set_filter_expression(a.string("FilterExpression")?)
        .set_expression_attribute_names(a.names()?)
        .set_expression_attribute_values(a.item("ExpressionAttributeValues")?)
        .set_consistent_read(a.boolean("ConsistentRead")?)
        .send()
        .await
        .map_err(|e| sdk_error("Scan", e))?;
    Ok(response(
        vec![
            ("Items", Some(out.items().iter().map(item_value).collect())),
            ("Count", Some(json!(out.count()))),
            ("ScannedCount", Some(json!(out.scanned_count()))),
            (
                "LastEvaluatedKey",
                out.last_evaluated_key.as_ref().map(item_value),
            ),
            ("ConsumedCapacity", capacity(out.consumed_capacity())),
        ],
        out.request_id(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::members;

    /// Every member of each operation's SDK input is either passed on or refused: a value no parameter takes is
    /// refused by name instead of reaching DynamoDB (which this client cannot reach).
    #[tokio::test]
    async fn every_member_the_sdk_knows_is_read_from_the_payload() {
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let db = Client::new(&sdk);
        for (op, required, members) in [
            ("put_item", Some("Item"), members(&PutItemInput::builder())),
            ("get_item", Some("Key"), members(&GetItemInput::builder())),
            (
                "update_item",
                Some("Key"),
                members(&UpdateItemInput::builder()),
            ),
            (
                "delete_item",
                Some("Key"),
                members(&DeleteItemInput::builder()),
            ),
            ("scan", None, members(&ScanInput::builder())),
        ] {
            assert!(members.len() > 5, "{op}: {members:?}");
            for member in members.iter().filter(|m| *m != "TableName") {
                let mut payload = json!({});
                if let Some(required) = required {
                    payload[required] = json!({});
                }
                payload[member] = json!([[]]);
                let payload = Some(&payload);
                let e = match op {
                    "put_item" => put_item(&db, "t", payload).await,
                    "get_item" => get_item(&db, "t", payload).await,
                    "update_item" => update_item(&db, "t", payload).await,
                    "delete_item" => delete_item(&db, "t", payload).await,
                    _ => scan(&db, "t", payload).await,
                }
                .unwrap_err();
                assert_eq!(e.error_type, "ParamValidationError", "{op} {member}: {e:?}");
                assert!(e.message.contains(member.as_str()), "{op} {member}: {e:?}");
            }
        }
    }
}
