//! The Data API's clusters, databases and tables, and a SQL console whose statements run through the Data API's
//! `ExecuteStatement`, as a client's would.

use serde_json::{Value, json};

use super::Dashboard;
use crate::net::{WireRequest, WireResponse};
use crate::rdsdata::fields::ResultSetOptions;
use crate::rdsdata::wire::{
    Call, ExecuteStatementRequest, RecordsFormat, Request, Response, Target,
};
use crate::rdsdata::{ClusterCatalog, RdsError};

/// The console's form.
#[derive(Debug, Default, PartialEq)]
struct Form {
    cluster: String,
    database: String,
    sql: String,
}

impl Form {
    fn parse(body: &[u8]) -> Self {
        let text = String::from_utf8_lossy(body);
        let mut f = Form::default();
        for (k, v) in crate::apigw::events::query_pairs(Some(&text), true) {
            match k.as_str() {
                "cluster" => f.cluster = v,
                "database" => f.database = v,
                "sql" => f.sql = v,
                _ => {}
            }
        }
        f
    }
}

/// A field of a record as text: its one member's value (`stringValue`, `longValue`, ...), `NULL` for `isNull`.
fn field(v: &Value) -> String {
    match v.as_object().and_then(|o| o.iter().next()) {
        Some((k, _)) if k == "isNull" => "NULL".into(),
        Some((_, Value::String(s))) => s.clone(),
        Some((_, other)) => other.to_string(),
        None => v.to_string(),
    }
}

/// What the console shows of an answer: column names, rows, and how many rows changed.
fn result(response: &Response) -> Value {
    let Response::ExecuteStatement(r) = response else {
        return json!({});
    };
    let columns: Vec<String> = r
        .column_metadata
        .iter()
        .flatten()
        .map(|c| {
            c["label"]
                .as_str()
                .or(c["name"].as_str())
                .unwrap_or("")
                .to_string()
        })
        .collect();
    let rows: Vec<Vec<String>> = r
        .records
        .iter()
        .flatten()
        .map(|rec| rec.as_array().into_iter().flatten().map(field).collect())
        .collect();
    json!({
        "columns": columns,
        "rows": rows,
        "query": r.records.is_some(),
        "updated": r.number_of_records_updated,
    })
}

/// Runs `form`'s statement with `ExecuteStatement` on its cluster.
async fn execute(d: &Dashboard, catalog: &[ClusterCatalog], form: &Form) -> Result<Value, String> {
    let cluster = catalog
        .iter()
        .find(|c| c.arn == form.cluster)
        .ok_or_else(|| format!("No cluster {}", form.cluster))?;
    let call = Call {
        fault_cluster: cluster.arn.clone(),
        target: Ok(Target {
            cluster_arn: cluster.arn.clone(),
            secret_arn: cluster.secret_arn.clone(),
        }),
        request: Ok(Request::ExecuteStatement(ExecuteStatementRequest {
            sql: form.sql.clone(),
            parameters: vec![],
            transaction_id: None,
            database: Some(form.database.clone()).filter(|db| !db.is_empty()),
            include_result_metadata: true,
            result_set_options: ResultSetOptions::default(),
            format_records_as: RecordsFormat::None,
        })),
    };
    let api = d.rdsdata.clone();
    let answer = tokio::task::spawn_blocking(move || api.handle(call))
        .await
        .unwrap_or_else(|e| Err(RdsError::Internal(e.to_string())));
    answer
        .map(|r| result(&r))
        .map_err(|e| format!("{}: {e}", e.code()))
}

/// The catalog, and the console with the answer to `req`'s statement when it posted one.
pub(super) async fn console(d: &Dashboard, req: Option<&WireRequest>) -> WireResponse {
    let api = d.rdsdata.clone();
    let catalog = tokio::task::spawn_blocking(move || api.catalog())
        .await
        .unwrap_or_default();
    let form = match req {
        Some(req) => Form::parse(&req.body),
        None => Form {
            cluster: catalog.first().map(|c| c.arn.clone()).unwrap_or_default(),
            database: catalog
                .first()
                .and_then(|c| c.databases.first())
                .map(|(db, _)| db.clone())
                .unwrap_or_default(),
            sql: String::new(),
        },
    };
    let (outcome, error) = match req {
        Some(_) => match execute(d, &catalog, &form).await {
            Ok(r) => (Some(r), None),
            Err(e) => (None, Some(e)),
        },
        None => (None, None),
    };
    d.page(
        200,
        "sql.html",
        &json!({
            "section": "rds",
            "clusters": catalog,
            "form": {"cluster": form.cluster, "database": form.database, "sql": form.sql},
            "result": outcome,
            "error": error,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_and_the_fields_read_as_text() {
        let f = Form::parse(
            b"cluster=arn%3Aaws%3Ards%3Ax&database=db&sql=SELECT+*+FROM+t+WHERE+a+%3D+%271%27",
        );
        assert_eq!(
            f,
            Form {
                cluster: "arn:aws:rds:x".into(),
                database: "db".into(),
                sql: "SELECT * FROM t WHERE a = '1'".into(),
            }
        );
        assert_eq!(field(&json!({"stringValue": "i-1"})), "i-1");
        assert_eq!(field(&json!({"longValue": 7})), "7");
        assert_eq!(field(&json!({"isNull": true})), "NULL");
    }
}
