//! A query's rows as the Data API answers them: `records` of typed `Field`s or `formattedRecords` JSON, the
//! `columnMetadata`, and the 1 MiB limit on the answer.

use serde_json::Value;

use super::RdsError;
use super::engine::Ran;
use super::fields::{self, ResultSetOptions};
use super::wire::ExecuteStatementResponse;

/// The largest result: 1 MiB ("Database response exceeded size limit"), measured as the records' JSON.
/// Source: https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/data-api.troubleshooting.html
/// FIXME: the same page's 64 KB per row ("Packet for query is too large") is not enforced, nor is the 45 s
/// statement timeout that `continueAfterTimeout` is about.
pub const MAX_RESPONSE: usize = 1024 * 1024;

/// Adds a query's rows to `out`: `formattedRecords` when `json_records`, else `records`, and `columnMetadata`
/// when `metadata`.
pub fn rows(
    out: &mut ExecuteStatementResponse,
    ran: &Ran,
    opts: ResultSetOptions,
    json_records: bool,
    metadata: bool,
) -> Result<(), RdsError> {
    let records: Vec<Value> = ran
        .rows
        .iter()
        .map(|r| {
            r.iter()
                .zip(&ran.columns)
                .map(|(v, c)| fields::field(v, c.decl_type.as_deref(), opts))
                .collect()
        })
        .collect();
    if Value::Array(records.clone()).to_string().len() > MAX_RESPONSE {
        return Err(RdsError::BadRequest(
            "Database response exceeded size limit".into(),
        ));
    }
    if json_records {
        // Each object keeps the columns in the statement's order, as AWS's JSON does; serde_json's own maps are
        // sorted, so the objects are written here.
        let objects: Vec<String> = ran
            .rows
            .iter()
            .map(|r| {
                let members: Vec<String> = r
                    .iter()
                    .zip(&ran.columns)
                    .map(|(v, c)| {
                        format!(
                            "{}:{}",
                            Value::String(c.name.clone()),
                            fields::plain(v, c.decl_type.as_deref(), opts)
                        )
                    })
                    .collect();
                format!("{{{}}}", members.join(","))
            })
            .collect();
        out.formatted_records = Some(format!("[{}]", objects.join(",")));
    } else {
        out.records = Some(records);
    }
    if metadata {
        out.column_metadata = Some(ran.columns.iter().map(fields::column_metadata).collect());
    }
    Ok(())
}
