//! A port of the EC2 inventory seed (`Simple EC2 Inventory Serverless API`): Aurora Serverless MySQL through the
//! RDS Data API, behind API Gateway.
//!
//! - `POST /ec2/{aws_instance_id}` with `{"aws_region", "aws_account", "packages": [{"package_name",
//!   "package_version"}]}` writes the instance and its packages in one transaction and answers
//!   `{"new_record": {...}}`.
//! - `GET /ec2/{aws_instance_id}` answers `{"record": {..., "creation_date_utc", "packages": [...]}, "record_found":
//!   true}`, or `{"record": {}, "record_found": false}`.
//! - Any failure answers 400 `{"error_message": "..."}`. A Data API error reads as boto3 printed it in the seed:
//!   `An error occurred (BadRequestException) when calling the ExecuteStatement operation: Duplicate entry
//!   'instance-002' for key 'PRIMARY'` (the seed called the older `ExecuteSql`).
//!
//! The cluster, its secret and the database come from `CLUSTER_ARN`, `SECRET_ARN` and `DATABASE_NAME`. Packages
//! come back ordered by name and version.

use aws_sdk_rdsdata::Client;
use aws_sdk_rdsdata::error::ProvideErrorMetadata;
use aws_sdk_rdsdata::types::{Field, SqlParameter};
use lambda_http::{Body, Error, Request, RequestExt, Response, run, service_fn};
use serde_json::{Value, json};

struct Db {
    client: Client,
    cluster: String,
    secret: String,
    database: String,
}

type Result<T> = std::result::Result<T, String>;

/// boto3's `ClientError` text.
fn sdk_error<E: ProvideErrorMetadata>(op: &str, e: aws_sdk_rdsdata::error::SdkError<E>) -> String {
    match e.as_service_error() {
        Some(s) => format!(
            "An error occurred ({}) when calling the {op} operation: {}",
            s.code().unwrap_or("Unknown"),
            s.message().unwrap_or_default()
        ),
        None => format!("Could not reach the Data API: {e}"),
    }
}

fn param(name: &str, value: &str) -> SqlParameter {
    SqlParameter::builder()
        .name(name)
        .value(Field::StringValue(value.to_string()))
        .build()
}

fn text(f: &Field) -> Value {
    match f {
        Field::StringValue(s) => Value::String(s.clone()),
        Field::LongValue(n) => json!(n),
        Field::IsNull(_) => Value::Null,
        other => Value::String(format!("{other:?}")),
    }
}

/// A required string member of the request body.
fn member<'a>(body: &'a Value, key: &str) -> Result<&'a str> {
    body.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("Missing field: {key}"))
}

impl Db {
    async fn execute(
        &self,
        sql: &str,
        params: Vec<SqlParameter>,
        tx: Option<&str>,
    ) -> Result<aws_sdk_rdsdata::operation::execute_statement::ExecuteStatementOutput> {
        self.client
            .execute_statement()
            .resource_arn(&self.cluster)
            .secret_arn(&self.secret)
            .database(&self.database)
            .sql(sql)
            .set_parameters(Some(params))
            .set_transaction_id(tx.map(str::to_string))
            .send()
            .await
            .map_err(|e| sdk_error("ExecuteStatement", e))
    }

    async fn add(&self, id: &str, body: &Value) -> Result<Value> {
        let region = member(body, "aws_region")?;
        let account = member(body, "aws_account")?;
        // The seed lists packages with every instance; an instance without the member has none.
        let list = match body.get("packages") {
            None | Some(Value::Null) => &vec![],
            Some(Value::Array(list)) => list,
            Some(_) => return Err("packages must be a list".to_string()),
        };
        let mut packages = Vec::new();
        for p in list {
            packages.push((member(p, "package_name")?, member(p, "package_version")?));
        }
        let tx = self
            .client
            .begin_transaction()
            .resource_arn(&self.cluster)
            .secret_arn(&self.secret)
            .database(&self.database)
            .send()
            .await
            .map_err(|e| sdk_error("BeginTransaction", e))?;
        let tx = tx.transaction_id().unwrap_or_default().to_string();
        let written = self.write(&tx, id, region, account, &packages).await;
        let end = if written.is_ok() {
            self.client
                .commit_transaction()
                .resource_arn(&self.cluster)
                .secret_arn(&self.secret)
                .transaction_id(&tx)
                .send()
                .await
                .map(drop)
                .map_err(|e| sdk_error("CommitTransaction", e))
        } else {
            self.client
                .rollback_transaction()
                .resource_arn(&self.cluster)
                .secret_arn(&self.secret)
                .transaction_id(&tx)
                .send()
                .await
                .map(drop)
                .map_err(|e| sdk_error("RollbackTransaction", e))
        };
        written?;
        end?;
        let packages: Vec<Value> = packages
            .iter()
            .map(|(n, v)| json!({"package_name": n, "package_version": v}))
            .collect();
        Ok(
            json!({"new_record": {"aws_account": account, "aws_region": region, "packages": packages}}),
        )
    }

    async fn write(
        &self,
        tx: &str,
        id: &str,
        region: &str,
        account: &str,
        packages: &[(&str, &str)],
    ) -> Result<()> {
        self.execute(
            "INSERT INTO ec2 (aws_instance_id, aws_region, aws_account) VALUES (:id, :region, :account)",
            vec![param("id", id), param("region", region), param("account", account)],
            Some(tx),
        )
        .await?;
        for (name, version) in packages {
            self.execute(
                "INSERT INTO package (aws_instance_id, package_name, package_version) VALUES (:id, :name, :version)",
                vec![param("id", id), param("name", name), param("version", version)],
                Some(tx),
            )
            .await?;
        }
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Value> {
        let out = self
            .execute(
                "SELECT aws_instance_id, aws_region, aws_account, creation_date_utc FROM ec2 WHERE aws_instance_id = :id",
                vec![param("id", id)],
                None,
            )
            .await?;
        let Some(row) = out.records().first() else {
            return Ok(json!({"record": {}, "record_found": false}));
        };
        let names = [
            "aws_instance_id",
            "aws_region",
            "aws_account",
            "creation_date_utc",
        ];
        let mut record: serde_json::Map<String, Value> = names
            .iter()
            .zip(row)
            .map(|(n, f)| (n.to_string(), text(f)))
            .collect();
        let packages = self
            .execute(
                "SELECT package_name, package_version FROM package WHERE aws_instance_id = :id ORDER BY package_name, package_version",
                vec![param("id", id)],
                None,
            )
            .await?;
        let packages: Vec<Value> = packages
            .records()
            .iter()
            .map(|r| json!({"package_name": text(&r[0]), "package_version": text(&r[1])}))
            .collect();
        record.insert("packages".into(), Value::Array(packages));
        Ok(json!({"record": record, "record_found": true}))
    }
}

fn respond(status: u16, body: &Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("Content-Type", "application/json")
        .body(Body::Text(body.to_string()))
        .expect("a static response")
}

async fn handle(db: &Db, req: Request) -> std::result::Result<Response<Body>, Error> {
    let id = req
        .path_parameters_ref()
        .and_then(|p| p.first("aws_instance_id"))
        .map(str::to_string);
    let result = match (req.method().as_str(), id) {
        (_, None) => Err("Missing path parameter: aws_instance_id".to_string()),
        ("GET", Some(id)) => db.get(&id).await,
        ("POST", Some(id)) => match serde_json::from_slice::<Value>(req.body().as_ref()) {
            Ok(body) => db.add(&id, &body).await,
            Err(e) => Err(format!("The request body is not JSON: {e}")),
        },
        (method, _) => Err(format!("Unsupported method: {method}")),
    };
    Ok(match result {
        Ok(v) => respond(200, &v),
        Err(message) => respond(400, &json!({"error_message": message})),
    })
}

// A Lambda instance handles one event at a time, so one thread serves it; a multi-threaded runtime would only
// hand each request and response between threads.
#[tokio::main(flavor = "current_thread")]
async fn main() -> std::result::Result<(), Error> {
    let env = |k: &str| std::env::var(k).map_err(|_| format!("{k} is not set"));
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let db = Db {
        client: Client::new(&sdk),
        cluster: env("CLUSTER_ARN")?,
        secret: env("SECRET_ARN")?,
        database: env("DATABASE_NAME")?,
    };
    let db = &db;
    run(service_fn(move |req: Request| handle(db, req))).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_members_are_named() {
        assert_eq!(
            member(&json!({"aws_region": "x"}), "aws_account").unwrap_err(),
            "Missing field: aws_account"
        );
        assert_eq!(
            member(&json!({"aws_region": "x"}), "aws_region").unwrap(),
            "x"
        );
    }

    #[test]
    fn fields_read_as_json() {
        assert_eq!(text(&Field::StringValue("a".into())), json!("a"));
        assert_eq!(text(&Field::LongValue(3)), json!(3));
        assert_eq!(text(&Field::IsNull(true)), Value::Null);
    }
}
