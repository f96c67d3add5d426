//! What one statement did, in one shape for both sides: the Data API's answer, and MariaDB's result typed as
//! Aurora MySQL's Data API types it.

use base64::Engine;
use mysql_async::consts::{ColumnFlags, ColumnType};
use mysql_async::prelude::Queryable;
use serde_json::{Value, json};

/// The text every refusal by name starts with.
pub const REFUSAL: &str = "Offcloud's Data API does not support ";

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Ok {
        labels: Vec<String>,
        records: Vec<Vec<Value>>,
        updated: u64,
        /// The auto-increment id the statement generated.
        generated: Option<i64>,
    },
    Err(String),
}

impl Outcome {
    pub fn is_refusal(&self) -> bool {
        matches!(self, Outcome::Err(m) if m.starts_with(REFUSAL))
    }

    /// A short description, for the expectations file and failures.
    pub fn describe(&self) -> String {
        match self {
            Outcome::Err(m) => format!("error {m:?}"),
            Outcome::Ok {
                labels,
                records,
                updated,
                generated,
            } => {
                let mut s = String::new();
                if !labels.is_empty() {
                    s.push_str(&format!("{labels:?} {}", Value::from(records.clone())));
                }
                if *updated > 0 {
                    s.push_str(&format!(" {updated} updated"));
                }
                if let Some(id) = generated {
                    s.push_str(&format!(" id {id}"));
                }
                if s.is_empty() {
                    s.push_str("ok");
                }
                s.trim().to_string()
            }
        }
    }
}

/// The Data API's answer to `ExecuteStatement` with `includeResultMetadata`.
pub fn from_data_api(r: Result<Value, String>) -> Outcome {
    let v = match r {
        Ok(v) => v,
        Err(m) => return Outcome::Err(m),
    };
    let labels = v["columnMetadata"]
        .as_array()
        .map(|cols| {
            cols.iter()
                .map(|c| c["label"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default();
    let records = v["records"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|r| r.as_array().cloned().unwrap_or_default())
                .collect()
        })
        .unwrap_or_default();
    let generated = v["generatedFields"]
        .as_array()
        .and_then(|g| g.first())
        .and_then(|f| f["longValue"].as_i64());
    Outcome::Ok {
        labels,
        records,
        updated: v["numberOfRecordsUpdated"].as_u64().unwrap_or(0),
        generated,
    }
}

/// Runs `sql` on MariaDB with the text protocol, as the Data API's driver does.
pub async fn from_mariadb(conn: &mut mysql_async::Conn, sql: &str) -> Outcome {
    let mut result = match conn.query_iter(sql).await {
        Ok(r) => r,
        Err(e) => return Outcome::Err(error_text(e)),
    };
    let columns = result.columns();
    let rows: Vec<mysql_async::Row> = match result.collect().await {
        Ok(rows) => rows,
        Err(e) => return Outcome::Err(error_text(e)),
    };
    let updated = result.affected_rows();
    let generated = result.last_insert_id().map(|id| id as i64);
    if let Err(e) = result.drop_result().await {
        return Outcome::Err(error_text(e));
    }
    let columns = columns.map(|c| c.to_vec()).unwrap_or_default();
    let labels = columns.iter().map(|c| c.name_str().to_string()).collect();
    let records = rows
        .iter()
        .map(|row| {
            columns
                .iter()
                .enumerate()
                .map(|(i, c)| field(row.as_ref(i).unwrap_or(&mysql_async::Value::NULL), c))
                .collect()
        })
        .collect();
    Outcome::Ok {
        labels,
        records,
        updated: if columns.is_empty() { updated } else { 0 },
        generated: generated.filter(|id| *id != 0),
    }
}

fn error_text(e: mysql_async::Error) -> String {
    match e {
        mysql_async::Error::Server(s) => normalise(&s.message),
        other => format!("client error: {other}"),
    }
}

/// MariaDB's wording made MySQL 5.7's, one named rule at a time.
pub fn normalise(message: &str) -> String {
    let mut m = canonical(message);
    // MariaDB names the clause of an unknown column by its keyword (`in 'WHERE'`); MySQL 5.7 by its old names.
    for (maria, mysql) in [
        ("'WHERE'", "'where clause'"),
        ("'ORDER BY'", "'order clause'"),
        ("'GROUP BY'", "'group statement'"),
        ("'HAVING'", "'having clause'"),
        ("'ON'", "'on clause'"),
        ("'SELECT'", "'field list'"),
        ("'INSERT INTO'", "'field list'"),
        ("'SET'", "'field list'"),
    ] {
        if m.starts_with("Unknown column ") && m.ends_with(&format!(" in {maria}")) {
            m = format!("{}{mysql}", &m[..m.len() - maria.len()]);
        }
        // And of an ambiguous one, unquoted: "Column 'id' in SELECT is ambiguous".
        let bare = |s: &str| s.trim_matches('\'').to_string();
        let ambiguous = format!(" in {} is ambiguous", bare(maria));
        if m.starts_with("Column ") && m.ends_with(&ambiguous) {
            m = format!(
                "{} in {} is ambiguous",
                &m[..m.len() - ambiguous.len()],
                bare(mysql)
            );
        }
    }
    // MariaDB names itself in syntax errors.
    m = m.replace("MariaDB server version", "MySQL server version");
    // MariaDB qualifies the column in strict-mode conversion errors (`for column `db`.`t`.`c` at row 1`); MySQL
    // 5.7 names the column alone ('c').
    if let Some(start) = m.find("for column `") {
        let rest = &m[start + "for column ".len()..];
        if let Some(end) = rest.find(" at row") {
            let name = rest[..end]
                .rsplit('.')
                .next()
                .unwrap_or("")
                .trim_matches('`');
            m = format!("{}for column '{name}'{}", &m[..start], &rest[end..]);
        }
    }
    m
}

/// One wording for errors that MySQL 5.7 and MariaDB put differently and that cannot be turned into each other,
/// applied to both sides.
pub fn canonical(message: &str) -> String {
    // An aggregate beside a column without GROUP BY: MySQL 5.7 says "In aggregated query without GROUP BY,
    // expression #1 of SELECT list contains nonaggregated column 'db.t.id'; this is incompatible with
    // sql_mode=only_full_group_by", MariaDB "Mixing of GROUP columns (MIN(),MAX(),COUNT(),...) with no GROUP
    // columns is illegal if there is no GROUP BY clause".
    if message.starts_with("In aggregated query without GROUP BY")
        || message.starts_with("Mixing of GROUP columns")
    {
        return "a column beside an aggregate without GROUP BY".into();
    }
    // ONLY_FULL_GROUP_BY: MySQL 5.7 says "Expression #2 of SELECT list is not in GROUP BY clause and contains
    // nonaggregated column 'db.t.v' which is not functionally dependent on columns in GROUP BY clause; this is
    // incompatible with sql_mode=only_full_group_by", MariaDB "'db.t.v' isn't in GROUP BY".
    if let Some(rest) = message.split("nonaggregated column ").nth(1)
        && let Some(col) = rest.split(' ').next()
    {
        return format!("{col} isn't in GROUP BY");
    }
    message.to_string()
}

/// A value typed as the Data API types its column: decimals as strings (`decimalReturnType` STRING, the
/// default), `TINYINT(1)` and `BIT(1)` as booleans (the JDBC driver's `tinyInt1isBit`), binary strings as blobs.
/// Source: https://docs.aws.amazon.com/rdsdataservice/latest/APIReference/API_ResultSetOptions.html
fn field(v: &mysql_async::Value, c: &mysql_async::Column) -> Value {
    let bytes = match v {
        mysql_async::Value::NULL => return json!({"isNull": true}),
        mysql_async::Value::Bytes(b) => b,
        other => panic!("the text protocol gave {other:?}"),
    };
    let text = String::from_utf8_lossy(bytes).to_string();
    let binary = c.character_set() == 63;
    use ColumnType::*;
    match c.column_type() {
        MYSQL_TYPE_TINY if c.column_length() == 1 => json!({"booleanValue": text != "0"}),
        MYSQL_TYPE_BIT if c.column_length() == 1 => {
            json!({"booleanValue": bytes.iter().any(|b| *b != 0)})
        }
        MYSQL_TYPE_TINY | MYSQL_TYPE_SHORT | MYSQL_TYPE_LONG | MYSQL_TYPE_INT24
        | MYSQL_TYPE_LONGLONG | MYSQL_TYPE_YEAR => match text.parse::<i64>() {
            Ok(n) => json!({"longValue": n}),
            Err(_) => json!({"stringValue": text}),
        },
        MYSQL_TYPE_DATETIME | MYSQL_TYPE_TIMESTAMP => json!({"stringValue": jdbc_timestamp(&text)}),
        MYSQL_TYPE_FLOAT | MYSQL_TYPE_DOUBLE => match text.parse::<f64>() {
            Ok(f) => json!({"doubleValue": f}),
            Err(_) => json!({"stringValue": text}),
        },
        MYSQL_TYPE_BLOB
        | MYSQL_TYPE_TINY_BLOB
        | MYSQL_TYPE_MEDIUM_BLOB
        | MYSQL_TYPE_LONG_BLOB
        | MYSQL_TYPE_VAR_STRING
        | MYSQL_TYPE_STRING
        | MYSQL_TYPE_VARCHAR
        | MYSQL_TYPE_BIT
            if binary && !c.flags().contains(ColumnFlags::ENUM_FLAG) =>
        {
            json!({"blobValue": base64::engine::general_purpose::STANDARD.encode(bytes)})
        }
        _ => json!({"stringValue": text}),
    }
}

/// A DATETIME or TIMESTAMP as the Data API's JDBC driver prints it (`java.sql.Timestamp.toString`): the fraction
/// without its trailing zeros, and at least `.0`. The seeds' recorded answers have `2019-03-06 02:45:32.0`.
fn jdbc_timestamp(text: &str) -> String {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let fraction = fraction.trim_end_matches('0');
    format!(
        "{whole}.{}",
        if fraction.is_empty() { "0" } else { fraction }
    )
}
