//! DynamoDB's tables, a paged item browser and an item's view, through the service's own operations (`ListTables`,
//! `DescribeTable`, `Scan` with `ExclusiveStartKey`, `GetItem`), as a client's calls would run them.

use serde_json::{Map, Value, json};

use super::Dashboard;
use crate::dynamodb::Operation;
use crate::net::{WireRequest, WireResponse};

/// Items per page of the browser.
const PAGE: usize = 25;

/// The longest text a cell of the browser shows.
const CELL: usize = 80;

impl Dashboard {
    /// Runs one DynamoDB operation on a JSON request; its JSON answer or the error's text.
    async fn dynamodb(&self, op: Operation, request: Value) -> Result<Value, String> {
        let body = bytes::Bytes::from(request.to_string());
        let out = self
            .dynamodb
            .call(op, body)
            .await
            .map_err(|e| e.to_string())?;
        serde_json::from_str(&out).map_err(|e| e.to_string())
    }
}

fn query(req: &WireRequest, key: &str) -> Option<String> {
    crate::apigw::events::query_pairs(req.query.as_deref(), true)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

pub(super) async fn tables(d: &Dashboard) -> WireResponse {
    let mut names = vec![];
    let mut start: Option<Value> = None;
    loop {
        let mut request = json!({});
        if let Some(s) = start.take() {
            request["ExclusiveStartTableName"] = s;
        }
        match d.dynamodb(Operation::ListTables, request).await {
            Ok(out) => {
                names.extend(
                    out["TableNames"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|n| n.as_str().map(str::to_string)),
                );
                match out.get("LastEvaluatedTableName") {
                    Some(next) if !next.is_null() => start = Some(next.clone()),
                    _ => break,
                }
            }
            Err(e) => return d.message(500, "ListTables failed", &e),
        }
    }
    let mut tables = vec![];
    for name in names {
        match d
            .dynamodb(Operation::DescribeTable, json!({ "TableName": name }))
            .await
        {
            Ok(out) => tables.push(summary(&out["Table"])),
            Err(e) => tables.push(json!({"name": name, "error": e})),
        }
    }
    d.page(
        200,
        "tables.html",
        &json!({"section": "dynamodb", "tables": tables}),
    )
}

/// A key schema as text: `id (S, HASH), sk (N, RANGE)`.
fn keys(schema: &Value, definitions: &Value) -> String {
    schema
        .as_array()
        .into_iter()
        .flatten()
        .map(|k| {
            let name = k["AttributeName"].as_str().unwrap_or("");
            let ty = definitions
                .as_array()
                .into_iter()
                .flatten()
                .find(|d| d["AttributeName"] == name)
                .and_then(|d| d["AttributeType"].as_str())
                .unwrap_or("?");
            format!("{name} ({ty}, {})", k["KeyType"].as_str().unwrap_or(""))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// What the table list shows of a `DescribeTable` answer.
fn summary(t: &Value) -> Value {
    let defs = &t["AttributeDefinitions"];
    let indexes = |kind: &str, member: &str| -> Vec<Value> {
        t[member]
            .as_array()
            .into_iter()
            .flatten()
            .map(|i| {
                json!({
                    "kind": kind,
                    "name": i["IndexName"],
                    "keys": keys(&i["KeySchema"], defs),
                    "projection": i["Projection"]["ProjectionType"],
                })
            })
            .collect()
    };
    let mut all = indexes("global", "GlobalSecondaryIndexes");
    all.extend(indexes("local", "LocalSecondaryIndexes"));
    json!({
        "name": t["TableName"],
        "keys": keys(&t["KeySchema"], defs),
        "items": t["ItemCount"],
        "status": t["TableStatus"],
        "stream": t["StreamSpecification"]["StreamViewType"],
        "indexes": all,
    })
}

/// An attribute value in brief, for a cell: strings and numbers as they are, others as JSON, cut short.
fn cell(v: &Value) -> String {
    let text = match v.as_object().and_then(|o| o.iter().next()) {
        Some((ty, inner)) if ty == "S" || ty == "N" => inner.as_str().unwrap_or("").to_string(),
        Some((ty, inner)) if ty == "BOOL" || ty == "NULL" => inner.to_string(),
        _ => v.to_string(),
    };
    if text.chars().count() > CELL {
        let cut: String = text.chars().take(CELL).collect();
        format!("{cut}…")
    } else {
        text
    }
}

/// The key attribute names of a table, partition key first.
async fn key_names(d: &Dashboard, table: &str) -> Result<Vec<String>, String> {
    let out = d
        .dynamodb(Operation::DescribeTable, json!({ "TableName": table }))
        .await?;
    Ok(out["Table"]["KeySchema"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|k| k["AttributeName"].as_str().map(str::to_string))
        .collect())
}

pub(super) async fn items(d: &Dashboard, table: &str, req: &WireRequest) -> WireResponse {
    let key_names = match key_names(d, table).await {
        Ok(k) => k,
        Err(e) => return d.message(404, "No such table", &e),
    };
    let mut request = json!({"TableName": table, "Limit": PAGE});
    if let Some(start) = query(req, "start") {
        match serde_json::from_str::<Value>(&start) {
            Ok(v) => request["ExclusiveStartKey"] = v,
            Err(e) => return d.message(400, "Bad start key", &e.to_string()),
        }
    }
    let out = match d.dynamodb(Operation::Scan, request).await {
        Ok(out) => out,
        Err(e) => return d.message(500, "Scan failed", &e),
    };
    let items: Vec<&Map<String, Value>> = out["Items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .collect();
    // The keys first, then every other attribute any item of the page has, by name.
    let mut columns = key_names.clone();
    let mut others: Vec<&String> = items
        .iter()
        .flat_map(|i| i.keys())
        .filter(|k| !key_names.contains(*k))
        .collect();
    others.sort();
    others.dedup();
    columns.extend(others.into_iter().cloned());
    let rows: Vec<Value> = items
        .iter()
        .map(|i| {
            let key: Map<String, Value> = key_names
                .iter()
                .filter_map(|k| i.get(k).map(|v| (k.clone(), v.clone())))
                .collect();
            json!({
                "key": Value::Object(key).to_string(),
                "cells": columns.iter().map(|c| i.get(c).map(cell).unwrap_or_default()).collect::<Vec<_>>(),
            })
        })
        .collect();
    let next = out
        .get("LastEvaluatedKey")
        .filter(|k| !k.is_null())
        .map(Value::to_string);
    d.page(
        200,
        "items.html",
        &json!({
            "section": "dynamodb",
            "table": table,
            "columns": columns,
            "rows": rows,
            "next": next,
            "paged": query(req, "start").is_some(),
        }),
    )
}

pub(super) async fn item(d: &Dashboard, table: &str, req: &WireRequest) -> WireResponse {
    let Some(key) = query(req, "key").and_then(|k| serde_json::from_str::<Value>(&k).ok()) else {
        return d.message(
            400,
            "Bad key",
            "Give the item's key as ?key= and its DynamoDB JSON.",
        );
    };
    match d
        .dynamodb(Operation::GetItem, json!({"TableName": table, "Key": key}))
        .await
    {
        Ok(out) => d.page(
            200,
            "item.html",
            &json!({
                "section": "dynamodb",
                "table": table,
                "key": key.to_string(),
                "found": out.get("Item").is_some(),
                "item": serde_json::to_string_pretty(&out["Item"]).unwrap_or_default(),
            }),
        ),
        Err(e) => d.message(500, "GetItem failed", &e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_s_keys_and_indexes_read_as_text() {
        let t = json!({
            "TableName": "t",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            "AttributeDefinitions": [
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "N"},
                {"AttributeName": "g", "AttributeType": "S"}
            ],
            "GlobalSecondaryIndexes": [{"IndexName": "by-g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}],
            "ItemCount": 3
        });
        let s = summary(&t);
        assert_eq!(s["keys"], "pk (S, HASH), sk (N, RANGE)");
        assert_eq!(s["indexes"][0]["keys"], "g (S, HASH)");
        assert_eq!(s["indexes"][0]["kind"], "global");
        assert_eq!(cell(&json!({"S": "port#8000"})), "port#8000");
        assert_eq!(cell(&json!({"N": "8000"})), "8000");
        assert_eq!(cell(&json!({"BOOL": true})), "true");
        assert_eq!(cell(&json!({"L": [{"S": "a"}]})), "{\"L\":[{\"S\":\"a\"}]}");
        assert!(cell(&json!({"S": "x".repeat(200)})).ends_with('…'));
    }
}
