//! The DynamoDB engine: `dynoxide`, an embeddable DynamoDB on SQLite. This is the only module that names it, so
//! its version and API stay in one place and another backend could replace it.
//!
//! dynoxide's own HTTP server reads each request body through checks that are private to its `http-server`
//! feature (field-type pre-checks, the two value-validation layers, very deep nesting). We use its library API,
//! so a request those checks would refuse is refused here by the request types' own deserialisers, sometimes in
//! different words. FIXME: ask upstream to make its body dispatch public, and use it.

use std::path::Path;

use dynoxide::DynoxideError;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{DynamoError, Operation, TableSpec};

/// One DynamoDB database: every table of the emulator.
#[derive(Clone)]
pub struct Storage {
    db: dynoxide::Database,
}

impl Storage {
    /// A database that lives as long as the process.
    pub fn memory() -> Result<Self, DynamoError> {
        Ok(Self {
            db: dynoxide::Database::memory().map_err(engine)?,
        })
    }

    /// A database in one SQLite file (with its write-ahead log beside it). Every acknowledged write is committed
    /// to the file before the response is sent.
    pub fn file(path: &Path) -> Result<Self, DynamoError> {
        let path = path.to_str().ok_or_else(|| {
            DynamoError::Internal(format!("{} is not valid UTF-8", path.display()))
        })?;
        Ok(Self {
            db: dynoxide::Database::new(path).map_err(engine)?,
        })
    }

    /// Runs one operation on a request body that is valid JSON, returning the response body.
    pub fn call(&self, op: Operation, body: &str) -> Result<String, DynamoError> {
        use Operation::*;
        let db = &self.db;
        let result = match op {
            CreateTable => run(body, |r| db.create_table(r)),
            DeleteTable => run(body, |r| db.delete_table(r)),
            DescribeTable => run(body, |r| db.describe_table(r)),
            ListTables => run(body, |r| db.list_tables(r)),
            UpdateTable => run(body, |r| db.update_table(r)),
            PutItem => run(body, |r| db.put_item(r)),
            GetItem => run(body, |r| db.get_item(r)),
            DeleteItem => run(body, |r| db.delete_item(r)),
            UpdateItem => run(body, |r| db.update_item(r)),
            Query => run(body, |r| db.query(r)),
            Scan => run(body, |r| db.scan(r)),
            BatchGetItem => run(body, |r| db.batch_get_item(r)),
            BatchWriteItem => run(body, |r| db.batch_write_item(r)),
            TransactWriteItems => run(body, |r| db.transact_write_items(r)),
            TransactGetItems => run(body, |r| db.transact_get_items(r)),
            ListStreams => run(body, |r| db.list_streams(r)),
            DescribeStream => run(body, |r| db.describe_stream(r)),
            GetShardIterator => run(body, |r| db.get_shard_iterator(r)),
            GetRecords => run(body, |r| db.get_records(r)),
            UpdateTimeToLive => run(body, |r| db.update_time_to_live(r)),
            DescribeTimeToLive => run(body, |r| db.describe_time_to_live(r)),
            ExecuteStatement => run(body, |r| db.execute_statement(r)),
            ExecuteTransaction => run(body, |r| db.execute_transaction(r)),
            BatchExecuteStatement => run(body, |r| db.batch_execute_statement(r)),
            TagResource => run(body, |r| db.tag_resource(r)),
            UntagResource => run(body, |r| db.untag_resource(r)),
            ListTagsOfResource => run(body, |r| db.list_tags_of_resource(r)),
        };
        result.map_err(|e| from_engine(op, e))
    }

    /// Creates a table declared in the config file. A table that already exists (kept in `--data-dir` from an
    /// earlier run) is left as it is, with its items.
    /// Creates the table unless it exists; whether it created it.
    pub fn ensure_table(&self, spec: &TableSpec) -> Result<bool, DynamoError> {
        let body = spec.create_table_request().to_string();
        match self.call(Operation::CreateTable, &body) {
            Ok(_) => Ok(true),
            Err(DynamoError::Service { code, .. }) if code == "ResourceInUseException" => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Deletes the items whose time-to-live has passed, returning how many.
    pub fn sweep_ttl(&self) -> Result<usize, DynamoError> {
        self.db.sweep_ttl().map_err(engine)
    }
}

fn run<Req: DeserializeOwned, Resp: Serialize>(
    body: &str,
    op: impl FnOnce(Req) -> dynoxide::Result<Resp>,
) -> dynoxide::Result<String> {
    let req = serde_json::from_str(body).map_err(classify_serde_error)?;
    let resp = op(req)?;
    serde_json::to_string(&resp).map_err(|e| DynoxideError::InternalServerError(e.to_string()))
}

/// Maps a request-decoding failure to the error DynamoDB gives. dynoxide's request types mark the class of their
/// own refusals with a prefix on the serde message (its `serde_errors` module); anything unmarked is classified
/// the way dynoxide's server does: missing members, unknown enum values and nulls are validation errors, and a
/// member of the wrong JSON type is a serialization error.
fn classify_serde_error(e: serde_json::Error) -> DynoxideError {
    let msg = e.to_string();
    if let Some(rest) = msg.strip_prefix("SERIALIZATION_AS_READ:") {
        return DynoxideError::SerializationException(rest.to_string());
    }
    if let Some(rest) = msg.strip_prefix("VALIDATION_AS_READ:") {
        return DynoxideError::ValidationException(rest.to_string());
    }
    if let Some(rest) = msg.strip_prefix("SERIALIZATION:") {
        return DynoxideError::SerializationException(strip_position(rest).to_string());
    }
    if let Some(rest) = msg.strip_prefix("VALIDATION_REQUEST:") {
        return DynoxideError::EnvelopedValidation(strip_position(rest).to_string());
    }
    if let Some(rest) = msg.strip_prefix("VALIDATION:") {
        return DynoxideError::ValidationException(strip_position(rest).to_string());
    }
    if msg.contains("empty AttributeValue") {
        return DynoxideError::ValidationException(
            "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"
                .into(),
        );
    }
    if msg.contains("missing field")
        || msg.contains("unknown variant")
        || msg.contains("invalid type: null")
        || msg.contains("Supplied AttributeValue")
    {
        return DynoxideError::ValidationException(strip_position(&msg).to_string());
    }
    // FIXME: DynamoDB names the mismatch in Java's words ("NUMBER_VALUE cannot be converted to String"); this is
    // serde's wording without its position.
    DynoxideError::SerializationException(strip_position(&msg).to_string())
}

fn strip_position(msg: &str) -> &str {
    match msg.rfind(" at line ") {
        Some(i) if msg[i..].contains(" column ") => &msg[..i],
        _ => msg,
    }
}

fn engine(e: DynoxideError) -> DynamoError {
    from_engine(Operation::DescribeTable, e)
}

/// The error as DynamoDB puts it on the wire for `op`.
fn from_engine(op: Operation, e: DynoxideError) -> DynamoError {
    let e = match e {
        // PutItem, UpdateItem and DeleteItem wrap the request-validation family in the one-error envelope; every
        // other operation reports it bare (dynoxide `validation::resolve_request_validation_tag`).
        DynoxideError::EnvelopedValidation(msg) => {
            let enveloped = matches!(
                op,
                Operation::PutItem | Operation::UpdateItem | Operation::DeleteItem
            ) && !msg.contains("validation error");
            DynoxideError::ValidationException(if enveloped {
                format!("1 validation error detected: {msg}")
            } else {
                msg
            })
        }
        // ExecuteStatement returns the item of a failed condition under `Item` with a capitalised `Message`
        // (dynoxide `errors::for_operation`).
        DynoxideError::ConditionalCheckFailedException(msg, Some(item))
            if op == Operation::ExecuteStatement =>
        {
            DynoxideError::StatementConditionalCheckFailed(msg, item)
        }
        other => other,
    };
    let status = e.status_code();
    let code = e
        .error_type()
        .rsplit('#')
        .next()
        .unwrap_or("InternalServerError")
        .to_string();
    DynamoError::Service {
        status,
        code,
        message: e.to_string(),
        body: e.to_json(),
    }
}
