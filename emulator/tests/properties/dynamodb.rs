//! DynamoDB: arbitrary bodies and targets answer JSON, or a 4xx with a `__type`.

use super::*;

// DynamoDB: arbitrary JSON bodies and targets answer 200 with JSON, or a 4xx with a JSON `__type`.

const DDB_OPERATIONS: &[&str] = &[
    "CreateTable",
    "DeleteTable",
    "DescribeTable",
    "ListTables",
    "UpdateTable",
    "PutItem",
    "GetItem",
    "DeleteItem",
    "UpdateItem",
    "Query",
    "Scan",
    "BatchGetItem",
    "BatchWriteItem",
    "TransactWriteItems",
    "TransactGetItems",
    "UpdateTimeToLive",
    "DescribeTimeToLive",
    "ExecuteStatement",
    "ExecuteTransaction",
    "BatchExecuteStatement",
    "TagResource",
    "UntagResource",
    "ListTagsOfResource",
    "DescribeEndpoints",
    "DescribeLimits",
    "ListStreams",
    "GetRecords",
];

const DDB_STREAMS_OPERATIONS: &[&str] = &[
    "ListStreams",
    "DescribeStream",
    "GetShardIterator",
    "GetRecords",
    "PutItem",
];

const DDB_KEYS: &[&str] = &[
    "TableName",
    "Key",
    "Item",
    "AttributeUpdates",
    "Expected",
    "KeyConditionExpression",
    "KeyConditions",
    "FilterExpression",
    "ConditionExpression",
    "UpdateExpression",
    "ProjectionExpression",
    "ExpressionAttributeNames",
    "ExpressionAttributeValues",
    "ReturnValues",
    "ReturnConsumedCapacity",
    "ReturnItemCollectionMetrics",
    "Limit",
    "ExclusiveStartKey",
    "IndexName",
    "Select",
    "ConsistentRead",
    "ScanIndexForward",
    "Segment",
    "TotalSegments",
    "RequestItems",
    "PutRequest",
    "DeleteRequest",
    "Keys",
    "TransactItems",
    "Put",
    "Update",
    "Delete",
    "ConditionCheck",
    "Get",
    "KeySchema",
    "AttributeDefinitions",
    "AttributeName",
    "AttributeType",
    "KeyType",
    "BillingMode",
    "ProvisionedThroughput",
    "GlobalSecondaryIndexes",
    "GlobalSecondaryIndexUpdates",
    "Projection",
    "ProjectionType",
    "StreamSpecification",
    "TimeToLiveSpecification",
    "Enabled",
    "Statement",
    "Parameters",
    "Statements",
    "NextToken",
    "StreamArn",
    "ShardId",
    "ShardIteratorType",
    "ShardIterator",
    "ResourceArn",
    "Tags",
    "TagKeys",
    "ClientRequestToken",
    "ExclusiveStartTableName",
    "pk",
    "sk",
    "colour",
];

const DDB_STRINGS: &[&str] = &[
    "things",
    "nope",
    "",
    "pk",
    "sk",
    "colour",
    "by-colour",
    "pk = :p",
    "pk = :p AND sk > :s",
    "pk = :p AND begins_with(sk, :s)",
    "#n = :v",
    "SET #n = :v",
    "SET n = n + :one",
    "REMOVE a",
    "ADD n :one",
    "DELETE s :v",
    "attribute_exists(pk)",
    "attribute_not_exists(pk) OR size(pk) > :n",
    "begins_with(pk, :p)",
    "contains(colour, :v)",
    ":p",
    ":v",
    "#n",
    "ALL_OLD",
    "ALL_NEW",
    "UPDATED_OLD",
    "NONE",
    "TOTAL",
    "COUNT",
    "ALL_ATTRIBUTES",
    "ALL_PROJECTED_ATTRIBUTES",
    "SPECIFIC_ATTRIBUTES",
    "HASH",
    "RANGE",
    "S",
    "N",
    "B",
    "PAY_PER_REQUEST",
    "PROVISIONED",
    "NEW_AND_OLD_IMAGES",
    "TRIM_HORIZON",
    "LATEST",
    "SELECT * FROM things",
    "SELECT * FROM \"things\" WHERE pk = ?",
    "INSERT INTO things VALUE {'pk': 'a', 'sk': 1}",
    "UPDATE things SET colour = 'red' WHERE pk = 'a' AND sk = 1",
    "DELETE FROM things WHERE pk = ?",
    "1",
    "-1",
    "1e10",
    "0.5",
    "1E+400",
    "99999999999999999999999999999999999999999",
    "abc",
    "AAEC",
    "arn:aws:dynamodb:us-east-1:123456789012:table/things",
];

fn ddb_key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(DDB_KEYS).prop_map(String::from),
        1 => select(&["S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"][..]).prop_map(String::from),
        1 => "[A-Za-z:#_]{1,8}",
    ]
}

fn ddb_string() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(DDB_STRINGS).prop_map(String::from),
        1 => "\\PC{0,12}",
    ]
}

fn ddb_number() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => any::<i64>().prop_map(|n| n.to_string()),
        1 => any::<f64>().prop_map(|f| f.to_string()),
        1 => ddb_string(),
    ]
}

/// An `AttributeValue`, valid or nearly.
fn attribute_value(inner: BoxedStrategy<Value>) -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => ddb_string().prop_map(|s| json!({ "S": s })),
        3 => ddb_number().prop_map(|n| json!({ "N": n })),
        1 => vec(any::<u8>(), 0..8).prop_map(|b| json!({ "B": B64.encode(b) })),
        1 => any::<bool>().prop_map(|b| json!({ "BOOL": b })),
        1 => any::<bool>().prop_map(|b| json!({ "NULL": b })),
        1 => vec(ddb_string(), 0..3).prop_map(|s| json!({ "SS": s })),
        1 => vec(ddb_number(), 0..3).prop_map(|s| json!({ "NS": s })),
        1 => vec(vec(any::<u8>(), 0..4).prop_map(|b| B64.encode(b)), 0..3).prop_map(|s| json!({ "BS": s })),
        1 => vec(inner.clone(), 0..3).prop_map(|l| json!({ "L": l })),
        1 => btree_map(ddb_key(), inner.clone(), 0..3).prop_map(|m| json!({ "M": object(m) })),
        1 => Just(json!({})),
        1 => Just(json!({"S": 1})),
        1 => Just(json!({"S": "a", "N": "1"})),
        1 => Just(json!({"B": "not base64!"})),
        1 => inner.prop_map(|v| json!({ "S": v })),
    ]
}

fn ddb_value() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        4 => ddb_string().prop_map(Value::from),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<bool>().prop_map(Value::from),
        1 => Just(Value::Null),
        1 => (-1e3f64..1e3).prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            2 => attribute_value(inner.clone()),
            2 => btree_map(ddb_key(), inner.clone(), 0..5).prop_map(object),
            1 => vec(inner, 0..4).prop_map(Value::Array),
        ]
    })
    .boxed()
}

#[derive(Debug, Clone)]
struct DynamoCall {
    target: Option<String>,
    body: Bytes,
}

fn dynamo_call() -> impl Strategy<Value = DynamoCall> {
    let target = prop_oneof![
        8 => select(DDB_OPERATIONS).prop_map(|op| Some(format!("DynamoDB_20120810.{op}"))),
        1 => select(DDB_STREAMS_OPERATIONS).prop_map(|op| Some(format!("DynamoDBStreams_20120810.{op}"))),
        1 => "[!-~]{0,30}".prop_map(Some),
        1 => "DynamoDB_20120810\\.[!-~]{0,12}".prop_map(Some),
        1 => Just(None),
    ];
    // Mostly a request on the table that exists, with members DynamoDB knows.
    let shaped = (
        prop::option::weighted(0.8, ddb_string()),
        btree_map(ddb_key(), ddb_value(), 0..6),
    )
        .prop_map(|(table, mut members)| {
            if let Some(t) = table {
                members.insert("TableName".into(), Value::from(t));
            }
            object(members).to_string().into_bytes()
        });
    let body = prop_oneof![
        6 => shaped,
        2 => ddb_value().prop_map(|v| v.to_string().into_bytes()),
        1 => json_value().prop_map(|v| v.to_string().into_bytes()),
        1 => vec(any::<u8>(), 0..32),
        1 => Just(Vec::new()),
    ];
    (target, body).prop_map(|(target, body)| DynamoCall {
        target,
        body: Bytes::from(body),
    })
}

async fn dynamo_exchange(h: &Harness, call: &DynamoCall) -> Result<Reply, NoReply> {
    let mut headers = vec![(
        "content-type".to_string(),
        "application/x-amz-json-1.0".to_string(),
    )];
    if let Some(t) = &call.target {
        headers.push(("x-amz-target".into(), t.clone()));
    }
    exchange(
        &h.emulator.main_addr.to_string(),
        "POST",
        "/",
        &headers,
        &call.body,
        Duration::from_secs(20),
    )
    .await
}

async fn dynamo_case(h: &Harness, call: DynamoCall) -> Result<(), TestCaseError> {
    // The table comes back if an earlier case deleted it, so that item operations meet a real table.
    let create = DynamoCall {
        target: Some("DynamoDB_20120810.CreateTable".into()),
        body: json!({
            "TableName": "things",
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"}],
        })
        .to_string()
        .into(),
    };
    dynamo_exchange(h, &create)
        .await
        .map_err(|e| fail(format!("CreateTable: {e}")))?;
    let r = dynamo_exchange(h, &call)
        .await
        .map_err(|e| fail(format!("no well-formed response: {e}")))?;
    prop_assert!(
        r.status == 200 || (400..500).contains(&r.status),
        "status {}: {}",
        r.status,
        r.text()
    );
    let crc = crc32fast::hash(&r.body).to_string();
    prop_assert_eq!(r.header("x-amz-crc32"), Some(crc.as_str()));
    if r.status == 413 {
        return Ok(());
    }
    let v = r
        .json()
        .ok_or_else(|| fail(format!("status {}, not JSON: {}", r.status, r.text())))?;
    if r.status != 200 {
        prop_assert!(
            v["__type"].as_str().is_some_and(|t| t.contains('#')),
            "status {} without a __type: {}",
            r.status,
            r.text()
        );
    }
    Ok(())
}

#[test]
fn dynamodb_answers_any_body_and_target_with_json_or_a_typed_4xx() {
    let rt = runtime();
    let h = rt.block_on(Builder::new(crate::dynamodb::TABLES).start());
    check(
        "dynamodb_answers_any_body_and_target_with_json_or_a_typed_4xx",
        256,
        dynamo_call(),
        |call| rt.block_on(dynamo_case(&h, call)),
    );
    let _guard = rt.enter();
    drop(h);
}
