//! A query's rows as the Data API answers them: `records` of typed `Field`s or `formattedRecords` JSON, the
//! `columnMetadata`, and the 1 MiB limit on the answer.

use serde_json::Value;

use super::RdsError;
use super::engine::{Ran, Sql};
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
    if serde_json::to_vec(&records).map_or(0, |b| b.len()) > MAX_RESPONSE {
        return Err(RdsError::BadRequest(
            "Database response exceeded size limit".into(),
        ));
    }
    if json_records {
        let objects: Vec<Object> = ran
            .rows
            .iter()
            .map(|r| Object { ran, row: r, opts })
            .collect();
        out.formatted_records =
            Some(serde_json::to_string(&objects).map_err(|e| RdsError::Internal(e.to_string()))?);
    } else {
        out.records = Some(records);
    }
    if metadata {
        out.column_metadata = Some(ran.columns.iter().map(fields::column_metadata).collect());
    }
    Ok(())
}

/// One row of `formattedRecords`: an object whose members keep the columns in the statement's order, as AWS's
/// JSON does (serde_json's own maps are sorted), serialized member by member.
struct Object<'a> {
    ran: &'a Ran,
    row: &'a [Sql],
    opts: ResultSetOptions,
}

impl serde::Serialize for Object<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.row.len()))?;
        for (v, c) in self.row.iter().zip(&self.ran.columns) {
            map.serialize_entry(
                &c.name,
                &fields::plain(v, c.decl_type.as_deref(), self.opts),
            )?;
        }
        map.end()
    }
}
