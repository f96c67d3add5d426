//! The Data API: arbitrary statements and parameters are refused or answered, never a 500.

use super::*;

// The Data API: arbitrary MySQL statements and parameters are refused or answered, never a 500.

const ARN: &str = "arn:aws:rds:us-east-1:123456789012:cluster:inventory";
const SECRET: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:admin";

fn data_api_config() -> String {
    format!(
        "[[cluster]]\narn = \"{ARN}\"\nsecret_arns = [\"{SECRET}\"]\ndatabase = \"ec2_inventory_db\"\nschema = [\"fixtures/schema/ec2-inventory.sql\"]\nlock_wait_timeout = 2\n"
    )
}

const SQL_WORDS: &[&str] = &[
    "SELECT",
    "SELECT",
    "INSERT INTO",
    "INSERT IGNORE INTO",
    "VALUES",
    "UPDATE",
    "SET",
    "DELETE FROM",
    "FROM",
    "WHERE",
    "AND",
    "OR",
    "NOT",
    "NULL",
    "IS",
    "IN",
    "LIKE",
    "BETWEEN",
    "ORDER BY",
    "GROUP BY",
    "HAVING",
    "LIMIT",
    "OFFSET",
    "JOIN",
    "LEFT JOIN",
    "ON",
    "AS",
    "DISTINCT",
    "UNION",
    "ALL",
    "CREATE TABLE",
    "CREATE INDEX",
    "IF NOT EXISTS",
    "IF EXISTS",
    "ON DUPLICATE KEY UPDATE",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "DIV",
    "MOD",
    "ASC",
    "DESC",
    "WITH",
    "EXISTS",
    "REPLACE",
    "SHOW TABLES",
    "DESCRIBE",
    "EXPLAIN",
    "USE",
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    "CREATE DATABASE",
    "PRIMARY KEY",
    "AUTO_INCREMENT",
    "DEFAULT",
    "CURRENT_TIMESTAMP",
    "INT",
    "VARCHAR(10)",
    "TEXT",
    "DATETIME",
    "DECIMAL(10,2)",
    "BIGINT",
    "BLOB",
    "UNIQUE",
    "FOREIGN KEY",
    "REFERENCES",
    "COLLATE utf8_bin",
    "ENGINE=InnoDB",
    "FOR UPDATE",
    "INTERVAL 1 DAY",
    "BINARY",
    "CAST",
    "CONVERT",
    "*",
];

const SQL_NAMES: &[&str] = &[
    "ec2",
    "package",
    "aws_instance_id",
    "aws_region",
    "aws_account",
    "creation_date_utc",
    "id",
    "package_name",
    "package_version",
    "ec2_inventory_db.ec2",
    "ec2_inventory_db.package",
    "other_db.t",
    "`ec2`",
    "`weird name`",
    "nowhere",
    "t",
    "x",
    "excluded",
    "main",
    "sqlite_master",
    "rowid",
];

const SQL_LITERALS: &[&str] = &[
    "'i-1'",
    "'i-2'",
    "'us-east-1'",
    "''",
    "'it''s'",
    "'a\\'b'",
    "\"dq\"",
    "0",
    "1",
    "-1",
    "3.14",
    "1e308",
    "-9223372036854775808",
    "18446744073709551616",
    "NULL",
    "TRUE",
    "FALSE",
    "X'00ff'",
    "0x1F",
    "b'101'",
    "DATE '2020-01-01'",
    "'2020-02-30 25:61:61'",
    "'%'",
    "N'x'",
    "_utf8'x'",
];

const SQL_OPERATORS: &[&str] = &[
    "=",
    "<>",
    "!=",
    "<",
    ">",
    "<=",
    ">=",
    "<=>",
    "+",
    "-",
    "*",
    "/",
    "%",
    "||",
    "&&",
    "!",
    "~",
    "&",
    "|",
    "^",
    "<<",
    ">>",
    ",",
    ",",
    ";",
    ".",
    "(",
    "(",
    ")",
    ")",
    "?",
    "@x",
    "@@version",
    "--",
    "/*",
    "*/",
    "#",
];

const SQL_FUNCTIONS: &[&str] = &[
    "NOW()",
    "CURDATE()",
    "UTC_TIMESTAMP()",
    "CONCAT(",
    "CONCAT_WS(",
    "COUNT(*)",
    "COUNT(",
    "SUM(",
    "MAX(",
    "IFNULL(",
    "COALESCE(",
    "LENGTH(",
    "CHAR_LENGTH(",
    "SUBSTRING(",
    "ROUND(",
    "IF(",
    "VALUES(",
    "LAST_INSERT_ID()",
    "UPPER(",
    "LOWER(",
    "DATE_FORMAT(",
    "GROUP_CONCAT(",
    "NULLIF(",
    "ABS(",
    "JSON_EXTRACT(",
    "UUID()",
    "RAND()",
    "SLEEP(0)",
];

const SQL_PARAMETERS: &[&str] = &[
    ":id", ":name", ":n", ":p0", ":p1", ":missing", ":", "::x", ":1", ":_",
];

fn sql_token() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        3 => select(SQL_WORDS),
        3 => select(SQL_NAMES),
        2 => select(SQL_LITERALS),
        3 => select(SQL_OPERATORS),
        1 => select(SQL_FUNCTIONS),
        1 => select(SQL_PARAMETERS),
    ]
}

/// An expression: a few tokens of names, literals, operators, functions and parameters.
fn sql_expression() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        3 => select(SQL_NAMES),
        3 => select(SQL_LITERALS),
        2 => select(SQL_OPERATORS),
        1 => select(SQL_FUNCTIONS),
        2 => select(SQL_PARAMETERS),
    ];
    prop_oneof![
        2 => (select(SQL_NAMES), select(&["=", "<>", "<", ">=", "LIKE", "IS NOT"][..]), select(SQL_LITERALS))
            .prop_map(|(a, op, b)| format!("{a} {op} {b}")),
        1 => (select(SQL_NAMES), select(SQL_PARAMETERS)).prop_map(|(a, p)| format!("{a} = {p}")),
        2 => vec(token, 1..6).prop_map(|t| t.join(" ")),
    ]
}

fn sql() -> impl Strategy<Value = String> {
    let e = sql_expression;
    prop_oneof![
        2 => (select(&["*", "aws_instance_id", "COUNT(*)", "aws_region, aws_account", "id, package_name"][..]), select(&["ec2", "package", "ec2_inventory_db.ec2", "nowhere"][..]), e())
            .prop_map(|(cols, t, w)| format!("SELECT {cols} FROM {t} WHERE {w}")),
        1 => e().prop_map(|x| format!("SELECT {x}")),
        2 => (e(), e(), e()).prop_map(|(a, b, c)| {
            format!("INSERT INTO ec2 (aws_instance_id, aws_region, aws_account) VALUES ({a}, {b}, {c})")
        }),
        1 => (e(), e(), e()).prop_map(|(a, b, c)| {
            format!("INSERT INTO package (aws_instance_id, package_name, package_version) VALUES ({a}, {b}, {c}) ON DUPLICATE KEY UPDATE package_version = VALUES(package_version)")
        }),
        1 => (e(), e()).prop_map(|(v, w)| format!("UPDATE ec2 SET aws_region = {v} WHERE {w}")),
        1 => e().prop_map(|w| format!("DELETE FROM package WHERE {w}")),
        3 => vec(sql_token(), 1..20).prop_map(|t| t.join(" ")),
        1 => vec(sql_token(), 1..12).prop_map(|t| t.concat()),
        1 => "\\PC{0,40}",
        1 => "[ -~]{0,60}",
    ]
}

/// A `Field`, well-formed or not.
fn field() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => "\\PC{0,12}".prop_map(|s| json!({ "stringValue": s })),
        2 => any::<i64>().prop_map(|n| json!({ "longValue": n })),
        1 => any::<f64>()
            .prop_filter("JSON has no NaN or infinity", |f| f.is_finite())
            .prop_map(|f| json!({ "doubleValue": f })),
        1 => any::<bool>().prop_map(|b| json!({ "booleanValue": b })),
        1 => any::<bool>().prop_map(|b| json!({ "isNull": b })),
        1 => vec(any::<u8>(), 0..12).prop_map(|b| json!({ "blobValue": B64.encode(b) })),
        1 => select(vec![
            json!({"blobValue": "not base64!"}),
            json!({"longValue": 1.5}),
            json!({"longValue": 1e30}),
            json!({"longValue": 18446744073709551615u64}),
            json!({"arrayValue": {"longValues": [1, 2]}}),
            json!({}),
            json!({"stringValue": "a", "longValue": 1}),
            json!({"stringValue": null, "longValue": 1}),
            json!({"nope": 1}),
            json!({"stringValue": 1}),
            json!({"isNull": "yes"}),
            json!("a string"),
            json!(null),
        ]),
        1 => json_value(),
    ]
}

fn sql_parameter() -> impl Strategy<Value = Value> {
    let name = prop_oneof![
        4 => select(&["id", "name", "n", "p0", "p1", "missing", "", "1"][..]).prop_map(Value::from),
        1 => "[a-z_]{1,6}".prop_map(Value::from),
        1 => json_value(),
    ];
    let hint = select(
        &[
            "DATE",
            "TIME",
            "TIMESTAMP",
            "DECIMAL",
            "JSON",
            "UUID",
            "nope",
        ][..],
    );
    (name, field(), prop::option::weighted(0.2, hint)).prop_map(|(name, value, hint)| {
        let mut p = json!({"name": name, "value": value});
        if let Some(h) = hint {
            p["typeHint"] = Value::from(h);
        }
        p
    })
}

fn sql_parameters() -> impl Strategy<Value = Value> {
    prop_oneof![
        8 => vec(sql_parameter(), 0..4).prop_map(Value::Array),
        1 => json_value(),
    ]
}

fn optional_member(
    strategy: impl Strategy<Value = Value>,
    p: f64,
) -> impl Strategy<Value = Option<Value>> {
    prop::option::weighted(p, strategy)
}

#[derive(Debug, Clone)]
struct DataCall {
    path: &'static str,
    body: Value,
}

fn data_call() -> impl Strategy<Value = DataCall> {
    let arn = prop_oneof![
        12 => Just(Value::from(ARN)),
        1 => Just(Value::from("arn:aws:rds:us-east-1:123456789012:cluster:other")),
        1 => json_value(),
    ];
    let secret = prop_oneof![12 => Just(Value::from(SECRET)), 1 => json_value()];
    let database = prop_oneof![
        3 => Just(Value::from("ec2_inventory_db")),
        1 => "[a-z_]{1,8}".prop_map(Value::from),
        1 => json_value(),
    ];
    let members = (
        prop::option::weighted(0.97, arn),
        prop::option::weighted(0.97, secret),
        optional_member(database, 0.3),
        sql(),
        optional_member(sql_parameters(), 0.6),
        optional_member(
            prop_oneof![3 => any::<bool>().prop_map(Value::from), 1 => json_value()],
            0.3,
        ),
        optional_member(
            prop_oneof![3 => select(&["NONE", "JSON"][..]).prop_map(Value::from), 1 => json_value()],
            0.3,
        ),
        optional_member(
            prop_oneof![
                3 => (
                    select(&["STRING", "DOUBLE_OR_LONG", "nope"][..]),
                    select(&["LONG", "STRING", "nope"][..]),
                )
                    .prop_map(|(d, l)| json!({"decimalReturnType": d, "longReturnType": l})),
                1 => json_value(),
            ],
            0.2,
        ),
        optional_member("[A-Za-z0-9+/=]{1,40}".prop_map(Value::from), 0.03),
    );
    let op = select(
        &[
            "/Execute",
            "/Execute",
            "/Execute",
            "/Execute",
            "/Execute",
            "/Execute",
            "/BatchExecute",
            "/ExecuteSql",
        ][..],
    );
    (op, members, sql(), vec(sql_parameters(), 0..3)).prop_map(
        |(
            path,
            (arn, secret, database, sql, params, metadata, format, options, tx),
            second,
            sets,
        )| {
            let mut body = Map::new();
            let mut put = |k: &str, v: Option<Value>| {
                if let Some(v) = v {
                    body.insert(k.to_string(), v);
                }
            };
            match path {
                "/ExecuteSql" => {
                    put("dbClusterOrInstanceArn", arn);
                    put("awsSecretStoreArn", secret);
                    put(
                        "sqlStatements",
                        Some(Value::from(format!("{sql}; {second}"))),
                    );
                    put("database", database);
                }
                _ => {
                    put("resourceArn", arn);
                    put("secretArn", secret);
                    put("sql", Some(Value::from(sql)));
                    put("database", database);
                    put("transactionId", tx);
                    if path == "/BatchExecute" {
                        put("parameterSets", Some(Value::Array(sets)));
                    } else {
                        put("parameters", params);
                        put("includeResultMetadata", metadata);
                        put("formatRecordsAs", format);
                        put("resultSetOptions", options);
                    }
                }
            }
            DataCall {
                path,
                body: Value::Object(body),
            }
        },
    )
}

async fn data_exchange(h: &Harness, path: &str, body: &Value) -> Result<Reply, TestCaseError> {
    exchange(
        &h.emulator.main_addr.to_string(),
        "POST",
        path,
        &[("content-type".into(), "application/json".into())],
        body.to_string().as_bytes(),
        Duration::from_secs(20),
    )
    .await
    .map_err(|e| fail(format!("no well-formed response: {e}")))
}

/// A few rows in both tables, put back before each case, so that statements meet data.
async fn seed_rows(h: &Harness) -> Result<(), TestCaseError> {
    for sql in [
        "INSERT IGNORE INTO ec2 (aws_instance_id, aws_region, aws_account) VALUES ('i-1', 'us-east-1', '123456789012'), ('i-2', 'eu-west-1', '123456789012'), ('I-3', 'us-east-1', 'x')",
        "INSERT IGNORE INTO package (aws_instance_id, package_name, package_version) VALUES ('i-1', 'bash', '5.1'), ('i-1', 'curl', '8.0'), ('i-2', 'bash', '5.2')",
    ] {
        let r = data_exchange(
            h,
            "/Execute",
            &json!({"resourceArn": ARN, "secretArn": SECRET, "sql": sql}),
        )
        .await?;
        prop_assert_eq!(r.status, 200, "seeding: {}", r.text());
    }
    Ok(())
}

async fn data_case(h: &Harness, call: DataCall) -> Result<(), TestCaseError> {
    seed_rows(h).await?;
    let r = data_exchange(h, call.path, &call.body).await?;
    let v = r
        .json()
        .ok_or_else(|| fail(format!("status {}, not JSON: {}", r.status, r.text())))?;
    match r.status {
        200 => prop_assert!(v.is_object(), "{}", r.text()),
        400 | 404 => {
            prop_assert!(v["message"].is_string(), "{}", r.text());
            prop_assert!(
                r.header("x-amzn-errortype")
                    .is_some_and(|t| t.ends_with("Exception")),
                "error type {:?}",
                r.header("x-amzn-errortype")
            );
        }
        other => prop_assert!(false, "status {}: {}", other, r.text()),
    }
    Ok(())
}

#[test]
fn data_api_refuses_or_answers_any_statement_and_parameters() {
    let rt = runtime();
    let h = rt.block_on(Builder::new(data_api_config()).start());
    check(
        "data_api_refuses_or_answers_any_statement_and_parameters",
        256,
        data_call(),
        |call| rt.block_on(data_case(&h, call)),
    );
    let _guard = rt.enter();
    drop(h);
}
