//! The seam between the Data API's operations and the database that runs their statements. An [`Engine`] is one
//! cluster's database: it runs a statement on its own (autocommit) or begins a [`Session`], one transaction.
//! The operation layer knows nothing else of it: it keeps the open transactions ([`super::transactions`]) and
//! turns a [`Ran`] into the Data API's answer.
//!
//! - [`sqlite`] is MySQL translated for embedded SQLite, with an emulated write lock ([`lock`]) in place of
//!   InnoDB's row locks.
//! - [`server`] is a MySQL, MariaDB or PostgreSQL server, which runs each statement as it is.

pub mod lock;
pub mod server;
pub mod sqlite;

use super::RdsError;

/// A SQL value: SQLite's storage classes, which the results' fields read by their column's declared MySQL type.
#[derive(Debug, Clone, PartialEq)]
pub enum Sql {
    Null,
    Integer(i64),
    /// A `booleanValue` parameter, which SQLite and MySQL take as 1 or 0.
    Bool(bool),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
    /// A parameter's string with its `typeHint`, which a server binds as that type and SQLite as text.
    Hinted(String, TypeHint),
    /// A PostgreSQL array, whose elements render as the column's declared type (`arrayValue`).
    Array(Vec<Sql>),
}

/// A parameter's `typeHint`: how a `stringValue` is sent to the database.
/// Source: https://docs.aws.amazon.com/rdsdataservice/latest/APIReference/API_SqlParameter.html
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeHint {
    Json,
    Uuid,
    Timestamp,
    Date,
    Time,
    Decimal,
}

/// A value bound to a `:name` parameter.
pub type Param = (String, Sql);

/// One column of a result, with its declared MySQL type when it comes straight from a table.
#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    /// How the column's values render: its declared MySQL type, or the MySQL type a server's type renders as.
    pub decl_type: Option<String>,
    /// The server's own name for the type, which `columnMetadata` reports where it differs from the declared
    /// type (PostgreSQL's `int4`, `_text`).
    pub type_name: Option<String>,
}

/// What one statement did, as MySQL would tell it.
#[derive(Debug, Default)]
pub struct Ran {
    /// Whether it returns rows: its `columns` and `rows` are the answer's records.
    pub query: bool,
    /// Whether it was DDL, which counts no rows.
    pub ddl: bool,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Sql>>,
    /// The rows it affected, as MySQL counts them.
    pub changes: u64,
    /// The `AUTO_INCREMENT` value it generated, as MySQL's `LAST_INSERT_ID()` gives it.
    pub generated_id: Option<i64>,
}

/// What an engine does with a statement of a transaction before the transaction is taken to run it.
pub enum Prepared {
    /// The statement runs in the transaction's [`Session`].
    Ready,
    /// The statement ran already, outside the transaction.
    Done(Ran),
}

/// One cluster's database.
pub trait Engine: Send + Sync {
    /// Runs one statement on its own (autocommit), on `database` or the cluster's default.
    fn execute(&self, database: Option<&str>, sql: &str, params: &[Param])
    -> Result<Ran, RdsError>;

    /// Looks at a statement of a transaction whose default database is `database`, before the transaction is
    /// taken: what the engine refuses here is refused before the transaction is looked up, and what it runs here
    /// runs outside the transaction. SQLite translates the statement here (the translation is cached, so its
    /// session finds it again) and creates a database here, since that makes a file.
    fn prepare(&self, database: Option<&str>, sql: &str) -> Result<Prepared, RdsError>;

    /// Begins a transaction on `database` (or the cluster's default).
    fn begin(&self, database: Option<&str>) -> Result<Box<dyn Session>, RdsError>;

    /// Periodic housekeeping, off the write path (SQLite: WAL checkpoints).
    fn housekeeping(&self) {}

    /// Every database and its tables, sorted by name: for the dashboard.
    fn catalog(&self) -> Vec<(String, Vec<String>)> {
        vec![]
    }
}

/// One open transaction. Dropping it rolls it back, and it lets go of whatever it holds only after that.
pub trait Session: Send {
    /// The default database of its statements.
    fn database(&self) -> &str;

    /// Runs one statement in the transaction.
    fn execute(&mut self, sql: &str, params: &[Param]) -> Result<Ran, RdsError>;

    fn commit(self: Box<Self>) -> Result<(), RdsError>;

    fn rollback(self: Box<Self>) -> Result<(), RdsError>;
}
