//! The DynamoDB endpoint through the official `aws-sdk-dynamodb` client and raw HTTP.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ReturnValue,
    ScalarAttributeType,
};
use serde_json::{Value, json};

use crate::support::{Builder, header, raw};

/// The table the DynamoDB tests use, the property tests too.
pub(crate) const TABLES: &str = r#"
[[table]]
name = "things"
hash_key = { name = "pk", type = "S" }
range_key = { name = "sk", type = "N" }

[[table.gsi]]
name = "by-colour"
hash_key = { name = "colour", type = "S" }
"#;

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// A DynamoDB request over raw HTTP, returning the status, headers and JSON body.
async fn call(addr: &str, target: &str, body: &str) -> (u16, Vec<(String, String)>, Vec<u8>) {
    raw(
        addr,
        "POST",
        "/",
        &[
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amz-target", target),
        ],
        body.as_bytes(),
    )
    .await
}

fn assert_dynamodb_headers(headers: &[(String, String)], body: &[u8]) {
    let id = header(headers, "x-amzn-requestid").expect("x-amzn-RequestId");
    assert_eq!(id.len(), 52, "{id}");
    assert!(
        id.chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()),
        "{id}"
    );
    let crc = header(headers, "x-amz-crc32").expect("x-amz-crc32");
    assert_eq!(crc, crc32fast::hash(body).to_string());
}

#[tokio::test]
async fn configured_tables_exist_at_start_up() {
    let h = Builder::new(TABLES).start().await;
    let db = h.dynamodb().await;
    let tables = db.list_tables().send().await.unwrap();
    assert_eq!(tables.table_names(), ["things"]);
    let t = db
        .describe_table()
        .table_name("things")
        .send()
        .await
        .unwrap();
    let t = t.table().unwrap();
    assert_eq!(t.key_schema().len(), 2);
    assert_eq!(
        t.global_secondary_indexes()[0].index_name(),
        Some("by-colour")
    );
    assert_eq!(
        t.billing_mode_summary().and_then(|b| b.billing_mode()),
        Some(&BillingMode::PayPerRequest)
    );
}

#[tokio::test]
async fn table_lifecycle() {
    let h = Builder::new("").start().await;
    let db = h.dynamodb().await;
    create_id_table(&db, "made").await.unwrap();
    let again = create_id_table(&db, "made").await.unwrap_err();
    assert!(again.into_service_error().is_resource_in_use_exception());
    db.delete_table().table_name("made").send().await.unwrap();
    let gone = db
        .describe_table()
        .table_name("made")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(gone.is_resource_not_found_exception(), "{gone:?}");
}

#[tokio::test]
async fn put_get_query_update_with_conditions() {
    let h = Builder::new(TABLES).start().await;
    let db = h.dynamodb().await;
    for (sk, colour) in [(1, "red"), (2, "blue"), (3, "red")] {
        db.put_item()
            .table_name("things")
            .item("pk", s("a"))
            .item("sk", n(sk))
            .item("colour", s(colour))
            .send()
            .await
            .unwrap();
    }
    let got = db
        .get_item()
        .table_name("things")
        .key("pk", s("a"))
        .key("sk", n(2))
        .send()
        .await
        .unwrap();
    assert_eq!(got.item().unwrap()["colour"], s("blue"));

    let q = db
        .query()
        .table_name("things")
        .key_condition_expression("pk = :p AND sk >= :min")
        .expression_attribute_values(":p", s("a"))
        .expression_attribute_values(":min", n(2))
        .send()
        .await
        .unwrap();
    assert_eq!(q.count(), 2);
    assert_eq!(q.items()[0]["sk"], n(2));

    let reds = db
        .query()
        .table_name("things")
        .index_name("by-colour")
        .key_condition_expression("colour = :c")
        .expression_attribute_values(":c", s("red"))
        .send()
        .await
        .unwrap();
    assert_eq!(reds.count(), 2);

    // A put that must not overwrite fails with ConditionalCheckFailedException.
    let err = db
        .put_item()
        .table_name("things")
        .item("pk", s("a"))
        .item("sk", n(1))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_conditional_check_failed_exception(), "{err:?}");
    assert_eq!(err.meta().message(), Some("The conditional request failed"));

    let up = db
        .update_item()
        .table_name("things")
        .key("pk", s("a"))
        .key("sk", n(1))
        .update_expression("SET #c = :new ADD hits :one")
        .condition_expression("#c = :old")
        .expression_attribute_names("#c", "colour")
        .expression_attribute_values(":old", s("red"))
        .expression_attribute_values(":new", s("green"))
        .expression_attribute_values(":one", n(1))
        .return_values(ReturnValue::AllNew)
        .send()
        .await
        .unwrap();
    let attrs = up.attributes().unwrap();
    assert_eq!(attrs["colour"], s("green"));
    assert_eq!(attrs["hits"], n(1));

    let failed = db
        .update_item()
        .table_name("things")
        .key("pk", s("a"))
        .key("sk", n(1))
        .update_expression("SET colour = :new")
        .condition_expression("colour = :old")
        .expression_attribute_values(":old", s("red"))
        .expression_attribute_values(":new", s("black"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(failed.is_conditional_check_failed_exception());

    let deleted = db
        .delete_item()
        .table_name("things")
        .key("pk", s("a"))
        .key("sk", n(3))
        .return_values(ReturnValue::AllOld)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.attributes().unwrap()["colour"], s("red"));
    let scan = db.scan().table_name("things").send().await.unwrap();
    assert_eq!(scan.count(), 2);
}

#[tokio::test]
async fn batches_and_transactions() {
    let h = Builder::new(TABLES).start().await;
    let db = h.dynamodb().await;
    use aws_sdk_dynamodb::types::{Put, PutRequest, TransactWriteItem, WriteRequest};
    let writes: Vec<WriteRequest> = (0..5)
        .map(|i| {
            WriteRequest::builder()
                .put_request(
                    PutRequest::builder()
                        .item("pk", s("b"))
                        .item("sk", n(i))
                        .build()
                        .unwrap(),
                )
                .build()
        })
        .collect();
    db.batch_write_item()
        .request_items("things", writes)
        .send()
        .await
        .unwrap();
    let put = |sk: i64| {
        TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name("things")
                    .item("pk", s("b"))
                    .item("sk", n(sk))
                    .condition_expression("attribute_not_exists(pk)")
                    .build()
                    .unwrap(),
            )
            .build()
    };
    let err = db
        .transact_write_items()
        .transact_items(put(10))
        .transact_items(put(1))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    let aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(t) = err else {
        panic!("{err:?}");
    };
    let codes: Vec<_> = t
        .cancellation_reasons()
        .iter()
        .map(|r| r.code().unwrap_or_default())
        .collect();
    assert_eq!(codes, ["None", "ConditionalCheckFailed"]);
    // Nothing of a cancelled transaction is written.
    let got = db
        .get_item()
        .table_name("things")
        .key("pk", s("b"))
        .key("sk", n(10))
        .send()
        .await
        .unwrap();
    assert!(got.item().is_none());
    let scan = db.scan().table_name("things").send().await.unwrap();
    assert_eq!(scan.count(), 5);
}

#[tokio::test]
async fn missing_table_is_resource_not_found_with_aws_shape() {
    let h = Builder::new("").start().await;
    let addr = h.emulator.main_addr.to_string();
    let (status, headers, body) = call(
        &addr,
        "DynamoDB_20120810.GetItem",
        r#"{"TableName":"nope","Key":{"id":{"S":"1"}}}"#,
    )
    .await;
    assert_eq!(status, 400);
    assert_dynamodb_headers(&headers, &body);
    assert_eq!(
        header(&headers, "content-type"),
        Some("application/x-amz-json-1.0")
    );
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        v["__type"],
        "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException"
    );
    assert_eq!(v["message"], "Requested resource not found");

    let err = h
        .dynamodb()
        .await
        .describe_table()
        .table_name("nope")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception());
    assert_eq!(
        err.meta().message(),
        Some("Requested resource not found: Table: nope not found")
    );
}

#[tokio::test]
async fn malformed_json_is_a_serialization_exception() {
    let h = Builder::new("").start().await;
    let addr = h.emulator.main_addr.to_string();
    let (status, headers, body) = call(&addr, "DynamoDB_20120810.ListTables", "{not json").await;
    assert_eq!(status, 400);
    assert_dynamodb_headers(&headers, &body);
    assert_eq!(
        body,
        br#"{"__type":"com.amazon.coral.service#SerializationException"}"#
    );
    // A member of the wrong JSON type is one too.
    let (status, _, body) = call(&addr, "DynamoDB_20120810.ListTables", r#"{"Limit":"x"}"#).await;
    assert_eq!(status, 400);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        v["__type"],
        "com.amazon.coral.service#SerializationException"
    );
}

#[tokio::test]
async fn unknown_target_is_an_unknown_operation_exception() {
    let h = Builder::new("").start().await;
    let addr = h.emulator.main_addr.to_string();
    for target in [
        "DynamoDB_20120810.Frobnicate",
        "DynamoDBStreams_20120810.PutItem",
        "Lambda.Invoke",
    ] {
        let (status, headers, body) = call(&addr, target, "{}").await;
        assert_eq!(status, 400, "{target}");
        assert_dynamodb_headers(&headers, &body);
        assert_eq!(
            body,
            br#"{"__type":"com.amazon.coral.service#UnknownOperationException"}"#
        );
    }
    // Another content type is not a DynamoDB request: 404, as dynalite records it.
    let (status, headers, body) = raw(
        &addr,
        "POST",
        "/",
        &[
            ("content-type", "text/plain"),
            ("x-amz-target", "DynamoDB_20120810.ListTables"),
        ],
        b"{}",
    )
    .await;
    assert_eq!(status, 404);
    assert_dynamodb_headers(&headers, &body);
    assert_eq!(body, b"<UnknownOperationException/>\n");
}

#[tokio::test]
async fn plain_json_content_type_is_accepted_and_echoed() {
    let h = Builder::new(TABLES).start().await;
    let addr = h.emulator.main_addr.to_string();
    let (status, headers, body) = raw(
        &addr,
        "POST",
        "/",
        &[
            ("content-type", "application/json"),
            ("x-amz-target", "DynamoDB_20120810.ListTables"),
        ],
        b"{}",
    )
    .await;
    assert_eq!(status, 200);
    assert_dynamodb_headers(&headers, &body);
    assert_eq!(header(&headers, "content-type"), Some("application/json"));
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v, json!({"TableNames": ["things"]}));
}

#[tokio::test]
async fn health_check_answers_with_the_region() {
    let h = Builder::new("region = \"eu-west-2\"\n").start().await;
    let addr = h.emulator.main_addr.to_string();
    let (status, headers, body) = raw(&addr, "GET", "/", &[], b"").await;
    assert_eq!(status, 200);
    assert_dynamodb_headers(&headers, &body);
    assert_eq!(body, b"healthy: dynamodb.eu-west-2.amazonaws.com ");
}

#[tokio::test]
async fn request_over_16_mb_is_413() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let h = Builder::new("").start().await;
    let addr = h.emulator.main_addr.to_string();
    let (status, headers, resp) = call(&addr, "DynamoDB_20120810.ListTables", "").await;
    assert_eq!(
        status, 400,
        "an empty body with a target is a SerializationException"
    );
    assert_dynamodb_headers(&headers, &resp);
    // The emulator answers as soon as it sees the declared length, without reading the body, so this sends only
    // the head and reads the answer.
    let mut sock = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/x-amz-json-1.0\r\nx-amz-target: DynamoDB_20120810.ListTables\r\ncontent-length: {}\r\n\r\n",
        16 * 1024 * 1024 + 1
    );
    sock.write_all(head.as_bytes()).await.unwrap();
    let mut buf = vec![0; 4096];
    let n = sock.read(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf[..n]).to_ascii_lowercase();
    assert!(text.starts_with("http/1.1 413"), "{text}");
    assert!(text.contains("x-amz-crc32: 0\r\n"), "{text}");
    assert!(text.contains("x-amzn-requestid: "), "{text}");
}

#[tokio::test]
async fn crc32_covers_every_success_body() {
    let h = Builder::new(TABLES).start().await;
    let addr = h.emulator.main_addr.to_string();
    let item = json!({"TableName": "things", "Item": {"pk": {"S": "c"}, "sk": {"N": "1"}, "text": {"S": "héllo"}}});
    let (status, headers, body) = call(&addr, "DynamoDB_20120810.PutItem", &item.to_string()).await;
    assert_eq!(status, 200);
    assert_dynamodb_headers(&headers, &body);
    let key = json!({"TableName": "things", "Key": {"pk": {"S": "c"}, "sk": {"N": "1"}}});
    let (status, headers, body) = call(&addr, "DynamoDB_20120810.GetItem", &key.to_string()).await;
    assert_eq!(status, 200);
    assert_dynamodb_headers(&headers, &body);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["Item"]["text"], json!({"S": "héllo"}));
}

#[tokio::test]
async fn lambda_invoke_still_routes_beside_dynamodb() {
    let h = Builder::seeds().start().await;
    let out = h
        .lambda()
        .await
        .invoke()
        .function_name("epoch-time")
        .send()
        .await
        .unwrap();
    assert_eq!(out.status_code(), 200);
    let tables = h.dynamodb().await.list_tables().send().await.unwrap();
    let mut names = tables.table_names().to_vec();
    names.sort();
    assert_eq!(names, ["lambda-apigateway", "port-master"]);
}

#[tokio::test]
async fn streams_record_changes() {
    let h = Builder::new(
        "[[table]]\nname = \"streamed\"\nhash_key = { name = \"id\", type = \"S\" }\nstream = \"NEW_AND_OLD_IMAGES\"\n",
    )
    .start()
    .await;
    let db = h.dynamodb().await;
    db.put_item()
        .table_name("streamed")
        .set_item(Some(HashMap::from([("id".to_string(), s("1"))])))
        .send()
        .await
        .unwrap();
    let streams = streams_wire::list(&h).await;
    assert_eq!(streams.len(), 1);
}

/// DynamoDB Streams over raw HTTP: the workspace has no Streams SDK, and its wire is the same JSON 1.0.
mod streams_wire {
    use super::*;

    pub async fn list(h: &crate::support::Harness) -> Vec<Value> {
        let addr = h.emulator.main_addr.to_string();
        let (status, headers, body) =
            call(&addr, "DynamoDBStreams_20120810.ListStreams", "{}").await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        assert_dynamodb_headers(&headers, &body);
        let v: Value = serde_json::from_slice(&body).unwrap();
        let streams = v["Streams"].as_array().unwrap().clone();
        let arn = streams[0]["StreamArn"].as_str().unwrap();
        let (status, _, body) = call(
            &addr,
            "DynamoDBStreams_20120810.DescribeStream",
            &json!({"StreamArn": arn}).to_string(),
        )
        .await;
        assert_eq!(status, 200);
        let d: Value = serde_json::from_slice(&body).unwrap();
        let shard = d["StreamDescription"]["Shards"][0]["ShardId"]
            .as_str()
            .unwrap();
        let (_, _, body) = call(
            &addr,
            "DynamoDBStreams_20120810.GetShardIterator",
            &json!({"StreamArn": arn, "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON"})
                .to_string(),
        )
        .await;
        let it: Value = serde_json::from_slice(&body).unwrap();
        let (status, _, body) = call(
            &addr,
            "DynamoDBStreams_20120810.GetRecords",
            &json!({"ShardIterator": it["ShardIterator"]}).to_string(),
        )
        .await;
        assert_eq!(status, 200);
        let r: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(r["Records"][0]["eventName"], "INSERT");
        assert_eq!(
            r["Records"][0]["dynamodb"]["NewImage"]["id"],
            json!({"S": "1"})
        );
        streams
    }
}

/// Invokes a seed function with a JSON event, returning the function error (if any) and the payload.
async fn invoke(
    client: &aws_sdk_lambda::Client,
    function: &str,
    event: Value,
) -> (Option<String>, Value) {
    let out = client
        .invoke()
        .function_name(function)
        .payload(aws_sdk_lambda::primitives::Blob::new(event.to_string()))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status_code(), 200);
    let payload = serde_json::from_slice(out.payload().unwrap().as_ref()).unwrap();
    (out.function_error().map(str::to_string), payload)
}

#[tokio::test]
async fn dynamodb_manager_runs_every_seed_operation() {
    let h = Builder::seeds().start().await;
    let lambda = h.lambda().await;
    let f = "dynamodb-manager";

    // The seed's sample requests, in its order.
    let (err, out) = invoke(
        &lambda,
        f,
        json!({"operation": "create", "tableName": "lambda-apigateway",
               "payload": {"Item": {"id": "1", "name": "Bob"}}}),
    )
    .await;
    assert_eq!(err, None, "{out}");
    assert_eq!(out["ResponseMetadata"]["HTTPStatusCode"], 200);
    assert_eq!(
        out["ResponseMetadata"]["RequestId"].as_str().unwrap().len(),
        52
    );
    assert_eq!(out.as_object().unwrap().len(), 1, "{out}");

    let (err, out) = invoke(
        &lambda,
        f,
        json!({"operation": "read", "tableName": "lambda-apigateway",
               "payload": {"Key": {"id": "1"}}}),
    )
    .await;
    assert_eq!(err, None, "{out}");
    assert_eq!(out["Item"], json!({"id": "1", "name": "Bob"}));

    let (err, out) = invoke(
        &lambda,
        f,
        json!({"operation": "create", "tableName": "lambda-apigateway",
               "payload": {"Item": {"id": "1234ABCD", "number": 5}}}),
    )
    .await;
    assert_eq!(err, None, "{out}");

    let (err, out) = invoke(
        &lambda,
        f,
        json!({"operation": "update", "tableName": "lambda-apigateway",
               "payload": {"Key": {"id": "1234ABCD"},
                           "UpdateExpression": "SET #n = #n + :inc",
                           "ConditionExpression": "attribute_exists(id)",
                           "ExpressionAttributeNames": {"#n": "number"},
                           "ExpressionAttributeValues": {":inc": 2},
                           "ReturnValues": "UPDATED_NEW"}}),
    )
    .await;
    assert_eq!(err, None, "{out}");
    assert_eq!(out["Attributes"], json!({"number": 7}));

    let (err, out) = invoke(
        &lambda,
        f,
        json!({"operation": "list", "tableName": "lambda-apigateway", "payload": {}}),
    )
    .await;
    assert_eq!(err, None, "{out}");
    assert_eq!(out["Count"], 2);
    assert_eq!(out["ScannedCount"], 2);
    let mut items = out["Items"].as_array().unwrap().clone();
    items.sort_by_key(|i| i["id"].as_str().unwrap().to_string());
    assert_eq!(
        items,
        [
            json!({"id": "1", "name": "Bob"}),
            json!({"id": "1234ABCD", "number": 7})
        ]
    );

    let (err, out) = invoke(
        &lambda,
        f,
        json!({"operation": "delete", "tableName": "lambda-apigateway",
               "payload": {"Key": {"id": "1"}, "ReturnValues": "ALL_OLD"}}),
    )
    .await;
    assert_eq!(err, None, "{out}");
    assert_eq!(out["Attributes"], json!({"id": "1", "name": "Bob"}));
    let (_, out) = invoke(
        &lambda,
        f,
        json!({"operation": "read", "tableName": "lambda-apigateway", "payload": {"Key": {"id": "1"}}}),
    )
    .await;
    assert!(out.get("Item").is_none(), "{out}");

    let echo = json!({"operation": "echo",
                      "payload": {"somekey1": "somevalue1", "somekey2": "somevalue2"}});
    let (err, out) = invoke(&lambda, f, echo).await;
    assert_eq!(err, None);
    assert_eq!(
        out,
        json!({"somekey1": "somevalue1", "somekey2": "somevalue2"})
    );

    let (err, out) = invoke(&lambda, f, json!({"operation": "ping"})).await;
    assert_eq!(err, None);
    assert_eq!(out, json!("pong"));

    let (err, out) = invoke(&lambda, f, json!({"operation": "x", "payload": {}})).await;
    assert_eq!(err.as_deref(), Some("Unhandled"));
    assert_eq!(out["errorType"], "ValueError");
    assert_eq!(out["errorMessage"], "Unrecognized operation \"x\"");

    // A failed condition is boto3's ClientError.
    let (err, out) = invoke(
        &lambda,
        f,
        json!({"operation": "create", "tableName": "lambda-apigateway",
               "payload": {"Item": {"id": "1234ABCD"}, "ConditionExpression": "attribute_not_exists(id)"}}),
    )
    .await;
    assert_eq!(err.as_deref(), Some("Unhandled"));
    assert_eq!(out["errorType"], "ClientError");
    assert_eq!(
        out["errorMessage"],
        "An error occurred (ConditionalCheckFailedException) when calling the PutItem operation: The conditional request failed"
    );
}

async fn allocate(
    lambda: &aws_sdk_lambda::Client,
    service: &str,
    code: &str,
) -> (Option<String>, Value) {
    invoke(
        lambda,
        "port-master",
        json!({"service": service, "code": code}),
    )
    .await
}

#[tokio::test]
async fn port_master_allocates_the_lowest_free_port_once_per_service() {
    let h = Builder::seeds().start().await;
    let lambda = h.lambda().await;
    assert_eq!(
        allocate(&lambda, "sample-ecs-service", "SMPLESRV").await,
        (None, json!(8000))
    );
    assert_eq!(
        allocate(&lambda, "second-service", "SECOND").await,
        (None, json!(8001))
    );
    // A repeated service gets the port it already has.
    assert_eq!(
        allocate(&lambda, "sample-ecs-service", "SMPLESRV").await,
        (None, json!(8000))
    );
    assert_eq!(
        allocate(&lambda, "third", "THIRD2").await,
        (None, json!(8002))
    );

    // Both items of an allocation are in the table.
    let got = h
        .dynamodb()
        .await
        .get_item()
        .table_name("port-master")
        .key("id", s("port#8001"))
        .send()
        .await
        .unwrap();
    let item = got.item().unwrap();
    assert_eq!(item["service"], s("second-service"));
    assert_eq!(item["code"], s("SECOND"));
    assert_eq!(item["port"], n(8001));
}

#[tokio::test]
async fn port_master_parameter_errors() {
    let h = Builder::seeds().start().await;
    let lambda = h.lambda().await;
    let cases = [
        json!({"code": "SMPLESRV"}),
        json!({"service": "s", "code": "smplesrv"}),
        json!({"service": "s"}),
        json!({"service": "", "code": "A"}),
    ];
    // API Gateway's selection pattern for 400 in the seed.
    let pattern = regex::Regex::new("^ParameterError.*").unwrap();
    for event in cases {
        let (err, out) = invoke(&lambda, "port-master", event.clone()).await;
        assert_eq!(err.as_deref(), Some("Unhandled"), "{event}");
        assert_eq!(out["errorType"], "ParameterError");
        let message = out["errorMessage"].as_str().unwrap();
        assert!(
            message.starts_with("ParameterError: "),
            "{event}: {message}"
        );
        assert!(pattern.is_match(message));
    }
}

#[tokio::test]
async fn port_master_reports_a_full_range() {
    let config =
        std::fs::read_to_string(crate::support::workspace().join("fixtures/offcloud.toml"))
            .unwrap()
            .replace("PORT_RANGE_MAX = \"8039\"", "PORT_RANGE_MAX = \"8002\"");
    crate::support::build_handlers();
    let h = Builder::new(config).start().await;
    let lambda = h.lambda().await;
    for (i, port) in (8000..=8002).enumerate() {
        let (err, out) = allocate(&lambda, &format!("svc-{i}"), "SVC").await;
        assert_eq!((err, out), (None, json!(port)));
    }
    let (err, out) = allocate(&lambda, "one-too-many", "SVC").await;
    assert_eq!(err.as_deref(), Some("Unhandled"));
    assert_eq!(out["errorType"], "PortRangeError");
    assert_eq!(
        out["errorMessage"],
        "PortRangeError: no free port in the range 8000-8002"
    );
    // A service that has a port still gets it when the range is full.
    assert_eq!(allocate(&lambda, "svc-1", "SVC").await, (None, json!(8001)));
}

#[tokio::test]
async fn port_master_reports_dynamodb_failures() {
    let config =
        std::fs::read_to_string(crate::support::workspace().join("fixtures/offcloud.toml"))
            .unwrap()
            .replace(
                "PORT_MASTER_TABLE = \"port-master\"",
                "PORT_MASTER_TABLE = \"no-such-table\"",
            );
    crate::support::build_handlers();
    let h = Builder::new(config).start().await;
    let (err, out) = allocate(&h.lambda().await, "svc", "SVC").await;
    assert_eq!(err.as_deref(), Some("Unhandled"));
    assert_eq!(out["errorType"], "DynamoDbError");
    let message = out["errorMessage"].as_str().unwrap();
    assert!(message.starts_with("DynamoDbError: "), "{message}");
    assert!(message.contains("ResourceNotFoundException"), "{message}");
}

#[tokio::test]
async fn port_master_32_concurrent_allocations_are_distinct() {
    let h = Builder::seeds().start().await;
    let lambda = h.lambda().await;
    let calls = (0..32).map(|i| {
        let lambda = lambda.clone();
        async move { allocate(&lambda, &format!("service-{i}"), "SVC").await }
    });
    let results = futures_join_all(calls).await;
    let mut ports: Vec<i64> = results
        .iter()
        .map(|(err, out)| {
            assert_eq!(err, &None, "{out}");
            out.as_i64().unwrap()
        })
        .collect();
    ports.sort();
    assert_eq!(ports, (8000..8032).collect::<Vec<_>>());
}

/// Runs futures concurrently on the test's runtime, in order of their results.
async fn futures_join_all<F: std::future::Future + Send + 'static>(
    futures: impl IntoIterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

/// Starts `offcloud serve` on free ports, returning the child and its AWS endpoint URL.
pub(crate) async fn serve(
    config: &std::path::Path,
    data_dir: &std::path::Path,
) -> (tokio::process::Child, String) {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(crate::support::offcloud_bin())
        .arg("serve")
        .arg("--config")
        .arg(config)
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--port", "0", "--api-port", "0", "--host", "127.0.0.1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let url = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(url) =
                line.strip_prefix("offcloud: AWS endpoint (Lambda, DynamoDB, RDS Data API) on ")
            {
                return url.trim().to_string();
            }
        }
        panic!("offcloud exited before printing its URL");
    })
    .await
    .expect("offcloud prints its URL");
    (child, url)
}

async fn client_for(url: &str) -> aws_sdk_dynamodb::Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(url)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "AKIDTEST", "secret", None, None, "test",
        ))
        .load()
        .await;
    aws_sdk_dynamodb::Client::new(&config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_sigkill() {
    let dir = std::env::temp_dir().join(format!(
        "offcloud-durability-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let config = dir.join("offcloud.toml");
    std::fs::write(
        &config,
        "[[table]]\nname = \"durable\"\nhash_key = { name = \"id\", type = \"S\" }\n",
    )
    .unwrap();

    let (mut child, url) = serve(&config, &data).await;
    let db = client_for(&url).await;
    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let db = db.clone();
            let acked = acked.clone();
            tokio::spawn(async move {
                for i in 0.. {
                    let id = format!("w{w}-{i}");
                    let put = db
                        .put_item()
                        .table_name("durable")
                        .item("id", s(&id))
                        .item("payload", s(&"x".repeat(200)))
                        .send()
                        .await;
                    match put {
                        Ok(_) => acked.lock().unwrap().push(id),
                        Err(_) => return,
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    child.start_kill().unwrap(); // SIGKILL on Unix.
    child.wait().await.unwrap();
    for w in writers {
        w.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() > 20,
        "only {} writes before the kill",
        acked.len()
    );

    let (_child, url) = serve(&config, &data).await;
    let db = client_for(&url).await;
    // The table declared in the config is kept with its items, not created again.
    let mut found = std::collections::HashSet::new();
    let mut start = None;
    loop {
        let page = db
            .scan()
            .table_name("durable")
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        for item in page.items() {
            found.insert(item["id"].as_s().unwrap().clone());
        }
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            break;
        }
    }
    let missing: Vec<_> = acked.iter().filter(|id| !found.contains(*id)).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged writes lost: {missing:?}",
        missing.len()
    );
    drop(_child);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Creates an on-demand table keyed by the string `id`.
async fn create_id_table(
    db: &aws_sdk_dynamodb::Client,
    name: &str,
) -> Result<
    aws_sdk_dynamodb::operation::create_table::CreateTableOutput,
    aws_sdk_dynamodb::error::SdkError<aws_sdk_dynamodb::operation::create_table::CreateTableError>,
> {
    db.create_table()
        .table_name(name)
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
}
