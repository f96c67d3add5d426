//! The RDS Data API through `aws-sdk-rdsdata` and raw HTTP, split as dynalite splits its tests: serialization
//! (the wire), validation (refused requests) and functionality (SQL, types, transactions, durability).

use aws_sdk_rdsdata::Client;
use aws_sdk_rdsdata::error::ProvideErrorMetadata;
use aws_sdk_rdsdata::types::{Field, RecordsFormatType, SqlParameter};
use serde_json::{Value, json};

use crate::support::{Builder, Harness, header, raw};

const ARN: &str = "arn:aws:rds:us-east-1:123456789012:cluster:inventory";
const SECRET: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:admin";

fn config() -> String {
    format!(
        "[[cluster]]\narn = \"{ARN}\"\nsecret_arns = [\"{SECRET}\"]\ndatabase = \"ec2_inventory_db\"\nschema = [\"fixtures/schema/ec2-inventory.sql\"]\n"
    )
}

async fn start() -> (Harness, Client) {
    let h = Builder::new(config()).start().await;
    let c = h.rdsdata().await;
    (h, c)
}

fn p(name: &str, value: Field) -> SqlParameter {
    SqlParameter::builder().name(name).value(value).build()
}

fn s(v: &str) -> Field {
    Field::StringValue(v.into())
}

async fn exec(
    c: &Client,
    sql: &str,
    params: Vec<SqlParameter>,
) -> Result<
    aws_sdk_rdsdata::operation::execute_statement::ExecuteStatementOutput,
    aws_sdk_rdsdata::operation::execute_statement::ExecuteStatementError,
> {
    c.execute_statement()
        .resource_arn(ARN)
        .secret_arn(SECRET)
        .sql(sql)
        .set_parameters(Some(params))
        .send()
        .await
        .map_err(|e| e.into_service_error())
}

async fn add_instance(c: &Client, id: &str) {
    exec(
        c,
        "INSERT INTO ec2 (aws_instance_id, aws_region, aws_account) VALUES (:id, 'us-east-1', '123456789012')",
        vec![p("id", s(id))],
    )
    .await
    .unwrap();
}

// Serialization.

#[tokio::test]
async fn errors_are_rest_json_with_the_type_in_a_header() {
    let (h, _) = start().await;
    let addr = h.emulator.main_addr.to_string();
    let body = json!({"resourceArn": ARN, "secretArn": SECRET, "sql": "SELECT * FROM nowhere"})
        .to_string();
    let (status, headers, resp) = raw(&addr, "POST", "/Execute", &[], body.as_bytes()).await;
    assert_eq!(status, 400);
    assert_eq!(
        header(&headers, "x-amzn-errortype"),
        Some("BadRequestException")
    );
    let v: Value = serde_json::from_slice(&resp).unwrap();
    assert_eq!(
        v,
        json!({"message": "Table 'ec2_inventory_db.nowhere' doesn't exist"})
    );
    let (status, _, resp) = raw(&addr, "POST", "/Execute", &[], b"{not json").await;
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&resp));
    // Over the Data API's 4 MiB request limit.
    let big = vec![b' '; 4 * 1024 * 1024 + 1];
    let (status, headers, _) = raw(&addr, "POST", "/Execute", &[], &big).await;
    assert_eq!(status, 400);
    assert_eq!(
        header(&headers, "x-amzn-errortype"),
        Some("BadRequestException")
    );
}

#[tokio::test]
async fn legacy_execute_sql_runs_several_statements_and_answers_result_frames() {
    let (_h, c) = start().await;
    #[allow(deprecated)]
    let out = c
        .execute_sql()
        .db_cluster_or_instance_arn(ARN)
        .aws_secret_store_arn(SECRET)
        .database("ec2_inventory_db")
        .sql_statements(
            "INSERT INTO ec2 (aws_instance_id, aws_region, aws_account) VALUES ('i-1', 'r', 'a'); \
             SELECT aws_instance_id, creation_date_utc FROM ec2",
        )
        .send()
        .await
        .unwrap();
    let results = out.sql_statement_results();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0].number_of_records_updated(), 1);
    let frame = results[1].result_frame().unwrap();
    assert_eq!(frame.result_set_metadata().unwrap().column_count(), 2);
    let values = frame.records()[0].values();
    assert_eq!(
        values[0],
        aws_sdk_rdsdata::types::Value::StringValue("i-1".into())
    );
    #[allow(deprecated)]
    let e = c
        .execute_sql()
        .db_cluster_or_instance_arn(ARN)
        .aws_secret_store_arn(SECRET)
        .sql_statements(
            "INSERT INTO ec2 (aws_instance_id, aws_region, aws_account) VALUES ('i-1', 'r', 'a')",
        )
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_bad_request_exception(), "{e:?}");
    assert_eq!(e.message(), Some("Duplicate entry 'i-1' for key 'PRIMARY'"));
}

#[tokio::test]
async fn result_set_options_and_json_records() {
    let (_h, c) = start().await;
    exec(
        &c,
        "CREATE TABLE n (id BIGINT PRIMARY KEY, price DECIMAL(8,2), ok BOOLEAN)",
        vec![],
    )
    .await
    .unwrap();
    exec(&c, "INSERT INTO n VALUES (7, 2.5, TRUE)", vec![])
        .await
        .unwrap();
    let out = c
        .execute_statement()
        .resource_arn(ARN)
        .secret_arn(SECRET)
        .sql("SELECT id, price, ok FROM n")
        .result_set_options(
            aws_sdk_rdsdata::types::ResultSetOptions::builder()
                .decimal_return_type(aws_sdk_rdsdata::types::DecimalReturnType::DoubleOrLong)
                .long_return_type(aws_sdk_rdsdata::types::LongReturnType::String)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.records()[0],
        vec![s("7"), Field::DoubleValue(2.5), Field::BooleanValue(true)]
    );
    let out = c
        .execute_statement()
        .resource_arn(ARN)
        .secret_arn(SECRET)
        .sql("SELECT id, price, ok FROM n")
        .format_records_as(RecordsFormatType::Json)
        .send()
        .await
        .unwrap();
    assert!(out.records().is_empty());
    assert_eq!(
        out.formatted_records(),
        Some(r#"[{"id":7,"price":"2.50","ok":true}]"#)
    );
}

// Validation.

#[tokio::test]
async fn unknown_cluster_secret_and_transaction_are_refused() {
    let (_h, c) = start().await;
    let e = c
        .execute_statement()
        .resource_arn("arn:aws:rds:us-east-1:123456789012:cluster:other")
        .secret_arn(SECRET)
        .sql("SELECT 1")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_bad_request_exception(), "{e:?}");
    assert_eq!(
        e.message(),
        Some("HttpEndpoint isn't enabled for cluster other")
    );
    let e = c
        .execute_statement()
        .resource_arn(ARN)
        .secret_arn("arn:aws:secretsmanager:us-east-1:123456789012:secret:nobody")
        .sql("SELECT 1")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_bad_request_exception(), "{e:?}");
    let e = c
        .commit_transaction()
        .resource_arn(ARN)
        .secret_arn(SECRET)
        .transaction_id("nope")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_transaction_not_found_exception(), "{e:?}");
    assert_eq!(e.message(), Some("Transaction nope isn't found"));
}

#[tokio::test]
async fn mysql_error_texts() {
    let (_h, c) = start().await;
    add_instance(&c, "instance-002").await;
    let msg = |e: aws_sdk_rdsdata::operation::execute_statement::ExecuteStatementError| {
        assert!(e.is_bad_request_exception(), "{e:?}");
        e.message().unwrap_or_default().to_string()
    };
    // The seed's documented case.
    let e = exec(
        &c,
        "INSERT INTO ec2 (aws_instance_id, aws_region, aws_account) VALUES (:id, 'x', 'y')",
        vec![p("id", s("instance-002"))],
    )
    .await
    .unwrap_err();
    assert_eq!(msg(e), "Duplicate entry 'instance-002' for key 'PRIMARY'");
    let e = exec(
        &c,
        "INSERT INTO package (aws_instance_id, package_name, package_version) VALUES ('ghost', 'p', 'v')",
        vec![],
    )
    .await
    .unwrap_err();
    // InnoDB prints the constraint with its actions (MariaDB does the same in `tests/mysql/`).
    assert_eq!(
        msg(e),
        "Cannot add or update a child row: a foreign key constraint fails (`ec2_inventory_db`.`package`, CONSTRAINT `package_ibfk_1` FOREIGN KEY (`aws_instance_id`) REFERENCES `ec2` (`aws_instance_id`) ON DELETE CASCADE)"
    );
    let e = exec(&c, "SELECT nope FROM ec2", vec![]).await.unwrap_err();
    assert_eq!(msg(e), "Unknown column 'nope' in 'field list'");
    let e = exec(&c, "SELEC 1", vec![]).await.unwrap_err();
    assert!(msg(e).starts_with("You have an error in your SQL syntax; check the manual"));
    let e = exec(&c, "SELECT 1; SELECT 2", vec![]).await.unwrap_err();
    assert!(msg(e).contains("near 'SELECT 2' at line 1"));
    let e = exec(
        &c,
        "INSERT INTO ec2 (aws_instance_id) VALUES (NULL)",
        vec![],
    )
    .await
    .unwrap_err();
    assert_eq!(msg(e), "Column 'aws_instance_id' cannot be null");
    let e = exec(&c, &format!("SELECT '{}'", "x".repeat(70_000)), vec![])
        .await
        .unwrap_err();
    assert!(msg(e).contains("65536"));
}

// Functionality.

#[tokio::test]
async fn requests_outside_the_limits_are_refused() {
    let (h, c) = start().await;
    let msg = |e: aws_sdk_rdsdata::operation::execute_statement::ExecuteStatementError| {
        assert!(e.is_bad_request_exception(), "{e:?}");
        e.message().unwrap_or_default().to_string()
    };
    exec(&c, "CREATE TABLE big (a LONGTEXT)", vec![])
        .await
        .unwrap();
    exec(
        &c,
        "INSERT INTO big (a) VALUES (:a)",
        vec![p("a", s(&"x".repeat(600 * 1024)))],
    )
    .await
    .unwrap();
    exec(&c, "SELECT a FROM big", vec![]).await.unwrap();
    let e = exec(&c, "SELECT a, a FROM big", vec![]).await.unwrap_err();
    assert_eq!(msg(e), "Database response exceeded size limit");
    let e = exec(&c, "SELECT :a, :b", vec![p("a", s("1"))])
        .await
        .unwrap_err();
    assert_eq!(msg(e), "No value specified for parameter 2");
    let e = exec(
        &c,
        "SELECT :a",
        vec![p(
            "a",
            Field::ArrayValue(aws_sdk_rdsdata::types::ArrayValue::LongValues(vec![1])),
        )],
    )
    .await
    .unwrap_err();
    assert_eq!(msg(e), "Array parameters are not supported.");
    let e = exec(&c, "SELECT BENCHMARK(1, NOW())", vec![])
        .await
        .unwrap_err();
    assert_eq!(
        msg(e),
        "Offcloud's Data API does not support the function BENCHMARK()"
    );
    let e = c
        .execute_statement()
        .resource_arn(ARN)
        .secret_arn(SECRET)
        .sql("SELECT 1")
        .transaction_id("x".repeat(193))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(msg(e).contains("transactionId"));
    // A request without `sql` gets Coral's validation text.
    let body = json!({"resourceArn": ARN, "secretArn": SECRET}).to_string();
    let addr = h.emulator.main_addr.to_string();
    let (status, headers, resp) = raw(&addr, "POST", "/Execute", &[], body.as_bytes()).await;
    assert_eq!(status, 400);
    assert_eq!(
        header(&headers, "x-amzn-errortype"),
        Some("BadRequestException")
    );
    let v: Value = serde_json::from_slice(&resp).unwrap();
    assert_eq!(
        v["message"],
        "1 validation error detected: Value null at 'sql' failed to satisfy constraint: Member must not be null"
    );
}

#[tokio::test]
async fn text_keys_ignore_case_as_mysql_s_default_collation_does() {
    let (_h, c) = start().await;
    add_instance(&c, "instance-002").await;
    let out = exec(
        &c,
        "SELECT aws_instance_id FROM ec2 WHERE aws_instance_id = 'INSTANCE-002'",
        vec![],
    )
    .await
    .unwrap();
    assert_eq!(out.records(), &[vec![s("instance-002")]]);
    let e = exec(
        &c,
        "INSERT INTO ec2 (aws_instance_id, aws_region, aws_account) VALUES ('Instance-002', 'r', 'a')",
        vec![],
    )
    .await
    .unwrap_err();
    assert!(e.is_bad_request_exception(), "{e:?}");
    assert!(
        e.message()
            .unwrap_or_default()
            .starts_with("Duplicate entry"),
        "{e:?}"
    );
}

#[tokio::test]
async fn databases_are_schemas_and_ddl_commits_an_open_transaction() {
    let (_h, c) = start().await;
    exec(&c, "CREATE DATABASE reports", vec![]).await.unwrap();
    c.execute_statement()
        .resource_arn(ARN)
        .secret_arn(SECRET)
        .database("reports")
        .sql("CREATE TABLE daily (day DATE PRIMARY KEY, n INT)")
        .send()
        .await
        .unwrap();
    exec(
        &c,
        "INSERT INTO reports.daily VALUES ('2019-03-06', 4)",
        vec![],
    )
    .await
    .unwrap();
    let out = exec(&c, "SELECT n FROM reports.daily", vec![])
        .await
        .unwrap();
    assert_eq!(out.records(), &[vec![Field::LongValue(4)]]);
    let e = exec(&c, "CREATE DATABASE reports", vec![])
        .await
        .unwrap_err();
    assert_eq!(
        e.message(),
        Some("Can't create database 'reports'; database exists")
    );

    let tx = c
        .begin_transaction()
        .resource_arn(ARN)
        .secret_arn(SECRET)
        .send()
        .await
        .unwrap()
        .transaction_id()
        .unwrap()
        .to_string();
    let in_tx = |sql: &'static str| {
        c.execute_statement()
            .resource_arn(ARN)
            .secret_arn(SECRET)
            .transaction_id(&tx)
            .sql(sql)
            .send()
    };
    in_tx("INSERT INTO ec2 (aws_instance_id, aws_region, aws_account) VALUES ('before-ddl', 'r', 'a')")
        .await
        .unwrap();
    // MySQL commits the transaction's work before DDL.
    in_tx("CREATE TABLE extra (id INT)").await.unwrap();
    in_tx(
        "INSERT INTO ec2 (aws_instance_id, aws_region, aws_account) VALUES ('after-ddl', 'r', 'a')",
    )
    .await
    .unwrap();
    c.rollback_transaction()
        .resource_arn(ARN)
        .secret_arn(SECRET)
        .transaction_id(&tx)
        .send()
        .await
        .unwrap();
    let out = exec(&c, "SELECT aws_instance_id FROM ec2", vec![])
        .await
        .unwrap();
    assert_eq!(out.records(), &[vec![s("before-ddl")]]);
}

#[tokio::test]
async fn records_are_typed_by_column() {
    let (_h, c) = start().await;
    exec(
        &c,
        "CREATE TABLE kinds (id INT AUTO_INCREMENT PRIMARY KEY, flag TINYINT(1), price DECIMAL(10,2), ratio DOUBLE, at DATETIME, note TEXT)",
        vec![],
    )
    .await
    .unwrap();
    let out = exec(
        &c,
        "INSERT INTO kinds (flag, price, ratio, at, note) VALUES (:flag, '9.50', 0.5, '2019-03-06 02:45:32', NULL)",
        vec![p("flag", Field::BooleanValue(true))],
    )
    .await
    .unwrap();
    assert_eq!(out.number_of_records_updated(), 1);
    assert_eq!(out.generated_fields(), &[Field::LongValue(1)]);
    let out = c
        .execute_statement()
        .resource_arn(ARN)
        .secret_arn(SECRET)
        .sql("SELECT id, flag, price, ratio, at, note FROM kinds")
        .include_result_metadata(true)
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.records()[0],
        vec![
            Field::LongValue(1),
            Field::BooleanValue(true),
            Field::StringValue("9.50".into()),
            Field::DoubleValue(0.5),
            Field::StringValue("2019-03-06 02:45:32.0".into()),
            Field::IsNull(true),
        ]
    );
    let meta = out.column_metadata();
    assert_eq!(meta[4].type_name(), Some("DATETIME"));
    assert_eq!(meta[4].r#type(), 93);
    let out = c
        .execute_statement()
        .resource_arn(ARN)
        .secret_arn(SECRET)
        .sql("SELECT id, note FROM kinds")
        .format_records_as(RecordsFormatType::Json)
        .send()
        .await
        .unwrap();
    assert_eq!(out.formatted_records(), Some(r#"[{"id":1,"note":null}]"#));
}

#[tokio::test]
async fn transactions_are_isolated_committed_and_rolled_back() {
    let (_h, c) = start().await;
    let begin = || async {
        c.begin_transaction()
            .resource_arn(ARN)
            .secret_arn(SECRET)
            .send()
            .await
            .unwrap()
            .transaction_id()
            .unwrap()
            .to_string()
    };
    let count = || async {
        match &exec(&c, "SELECT COUNT(*) FROM ec2", vec![])
            .await
            .unwrap()
            .records()[0][0]
        {
            Field::LongValue(n) => *n,
            other => panic!("{other:?}"),
        }
    };
    let tx = begin().await;
    c.execute_statement()
        .resource_arn(ARN)
        .secret_arn(SECRET)
        .transaction_id(&tx)
        .sql("INSERT INTO ec2 (aws_instance_id, aws_region, aws_account) VALUES ('a', 'r', 'x')")
        .send()
        .await
        .unwrap();
    let seen_inside = c
        .execute_statement()
        .resource_arn(ARN)
        .secret_arn(SECRET)
        .transaction_id(&tx)
        .sql("SELECT COUNT(*) FROM ec2")
        .send()
        .await
        .unwrap();
    assert_eq!(
        seen_inside.records()[0][0],
        Field::LongValue(1),
        "a transaction sees its own writes"
    );
    assert_eq!(count().await, 0, "others do not, before the commit");
    let done = c
        .commit_transaction()
        .resource_arn(ARN)
        .secret_arn(SECRET)
        .transaction_id(&tx)
        .send()
        .await
        .unwrap();
    assert_eq!(done.transaction_status(), Some("Transaction Committed"));
    assert_eq!(count().await, 1);

    let tx = begin().await;
    c.execute_statement()
        .resource_arn(ARN)
        .secret_arn(SECRET)
        .transaction_id(&tx)
        .sql("INSERT INTO ec2 (aws_instance_id, aws_region, aws_account) VALUES ('b', 'r', 'x')")
        .send()
        .await
        .unwrap();
    let done = c
        .rollback_transaction()
        .resource_arn(ARN)
        .secret_arn(SECRET)
        .transaction_id(&tx)
        .send()
        .await
        .unwrap();
    assert_eq!(done.transaction_status(), Some("Rollback Complete"));
    assert_eq!(count().await, 1, "a rollback discards its writes");
}

#[tokio::test]
async fn upserts_joins_and_cascades() {
    let (_h, c) = start().await;
    add_instance(&c, "i-1").await;
    for (name, version) in [("p1", "v1"), ("p2", "v1")] {
        exec(
            &c,
            "INSERT INTO package (aws_instance_id, package_name, package_version) VALUES ('i-1', :n, :v)",
            vec![p("n", s(name)), p("v", s(version))],
        )
        .await
        .unwrap();
    }
    exec(
        &c,
        "INSERT INTO ec2 (aws_instance_id, aws_region, aws_account) VALUES ('i-1', 'eu-west-1', 'x') ON DUPLICATE KEY UPDATE aws_region = VALUES(aws_region)",
        vec![],
    )
    .await
    .unwrap();
    let out = exec(
        &c,
        "SELECT e.aws_region, COUNT(*) FROM ec2 e JOIN package p ON p.aws_instance_id = e.aws_instance_id GROUP BY e.aws_region ORDER BY 1 LIMIT 5",
        vec![],
    )
    .await
    .unwrap();
    assert_eq!(out.records()[0], vec![s("eu-west-1"), Field::LongValue(2)]);
    exec(&c, "DELETE FROM ec2 WHERE aws_instance_id = 'i-1'", vec![])
        .await
        .unwrap();
    let left = exec(&c, "SELECT COUNT(*) FROM package", vec![])
        .await
        .unwrap();
    assert_eq!(
        left.records()[0][0],
        Field::LongValue(0),
        "ON DELETE CASCADE"
    );
}

#[tokio::test]
async fn batch_execute_runs_every_parameter_set() {
    let (_h, c) = start().await;
    add_instance(&c, "i-1").await;
    let sets: Vec<Vec<SqlParameter>> = ["a", "b", "c"].iter().map(|n| vec![p("n", s(n))]).collect();
    let out = c
        .batch_execute_statement()
        .resource_arn(ARN)
        .secret_arn(SECRET)
        .sql("INSERT INTO package (aws_instance_id, package_name, package_version) VALUES ('i-1', :n, 'v1')")
        .set_parameter_sets(Some(sets))
        .send()
        .await
        .unwrap();
    let ids: Vec<_> = out
        .update_results()
        .iter()
        .map(|r| r.generated_fields()[0].clone())
        .collect();
    assert_eq!(
        ids,
        vec![
            Field::LongValue(1),
            Field::LongValue(2),
            Field::LongValue(3)
        ]
    );
}

#[tokio::test]
async fn committed_transactions_survive_sigkill_and_uncommitted_ones_leave_no_trace() {
    let dir = std::env::temp_dir().join(format!("offcloud-rds-durability-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let cfg = dir.join("offcloud.toml");
    let schema = crate::support::workspace().join("fixtures/schema/ec2-inventory.sql");
    std::fs::write(
        &cfg,
        config().replace(
            "fixtures/schema/ec2-inventory.sql",
            schema.to_str().unwrap(),
        ),
    )
    .unwrap();
    let client = |url: String| async move {
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(url)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_rdsdata::config::Credentials::new(
                "AKID", "s", None, None, "t",
            ))
            .load()
            .await;
        Client::new(&sdk)
    };
    let (mut child, url) = crate::dynamodb::serve(&cfg, &data).await;
    let c = client(url).await;
    let tx = |sql: &'static str| {
        let c = c.clone();
        async move {
            let id = c
                .begin_transaction()
                .resource_arn(ARN)
                .secret_arn(SECRET)
                .send()
                .await
                .unwrap()
                .transaction_id()
                .unwrap()
                .to_string();
            c.execute_statement()
                .resource_arn(ARN)
                .secret_arn(SECRET)
                .transaction_id(&id)
                .sql(sql)
                .send()
                .await
                .unwrap();
            id
        }
    };
    let committed =
        tx("INSERT INTO ec2 (aws_instance_id, aws_region, aws_account) VALUES ('kept', 'r', 'x')")
            .await;
    c.commit_transaction()
        .resource_arn(ARN)
        .secret_arn(SECRET)
        .transaction_id(committed)
        .send()
        .await
        .unwrap();
    let _open =
        tx("INSERT INTO ec2 (aws_instance_id, aws_region, aws_account) VALUES ('lost', 'r', 'x')")
            .await;
    child.kill().await.unwrap();
    let _ = child.wait().await;

    let (mut child, url) = crate::dynamodb::serve(&cfg, &data).await;
    let c = client(url).await;
    let out = exec(&c, "SELECT aws_instance_id FROM ec2 ORDER BY 1", vec![])
        .await
        .unwrap();
    assert_eq!(out.records(), &[vec![s("kept")]]);
    child.kill().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
