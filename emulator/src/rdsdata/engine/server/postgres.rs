//! A cluster on a PostgreSQL server, through `tokio-postgres`, in Aurora PostgreSQL's flavour of the Data API.
//! Each statement is prepared, for its result's column types, and then run with the simple query protocol, whose
//! values come as PostgreSQL's text; each value is read by its column's type:
//! - `bool` as `booleanValue`; `int2`, `int4`, `int8` as `longValue`; `float4`, `float8` as `doubleValue`;
//! - `numeric` as its digits in a `stringValue` (or a number with `decimalReturnType` `DOUBLE_OR_LONG`);
//! - `bytea` as `blobValue`;
//! - arrays as `arrayValue`, their elements typed the same way;
//! - every other type (`text`, `uuid`, `json`, `jsonb`, `date`, `time`, `timestamp`, ...) as PostgreSQL prints it,
//!   in a `stringValue`.
//!
//! `columnMetadata` names PostgreSQL's types (`int4`, `_text`) with the JDBC codes PostgreSQL's driver reports.
//! Source: https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/data-api-operations.html (the Aurora
//! PostgreSQL types the Data API supports, arrays among them).
//! Aurora PostgreSQL gives no `generatedFields`; a statement returns what it generates with `RETURNING`.
//! Source: https://docs.aws.amazon.com/rdsdataservice/latest/APIReference/API_ExecuteStatement.html

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_postgres::types::{Kind, Type};
use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

use super::params::{self, Dialect};
use super::{CONNECT_TIMEOUT, Driver, STATEMENT_TIMEOUT, timed_out, unreachable};
use crate::config::{ClusterConfig, ServerUrl};
use crate::rdsdata::RdsError;
use crate::rdsdata::engine::{Column, Engine, Param, Prepared, Ran, Session, Sql};

/// One cluster's PostgreSQL server: a bounded pool of connections for each database requests name.
pub struct Postgres(Arc<Shared>);

struct Shared {
    driver: Arc<Driver>,
    server: ServerUrl,
    max_connections: usize,
    pools: Mutex<HashMap<Option<String>, Arc<Pool>>>,
}

/// Idle connections to one database, and a permit for each connection open.
struct Pool {
    idle: Mutex<Vec<Client>>,
    permits: Arc<Semaphore>,
}

/// A connection taken from its pool; it goes back with [`Shared::give_back`].
struct Conn {
    client: Client,
    pool: Arc<Pool>,
    _permit: OwnedSemaphorePermit,
}

impl Postgres {
    /// Connects once, so that a wrong address or credential fails at start-up, naming the cluster.
    pub fn open(c: &ClusterConfig, server: ServerUrl) -> Result<Self, RdsError> {
        let driver = Driver::new("offcloud-postgres")?;
        let engine = Self(Arc::new(Shared {
            driver,
            server,
            max_connections: c.max_transactions.max(1) + 4,
            pools: Mutex::default(),
        }));
        let shared = engine.0.clone();
        engine.0.driver.run(async move {
            // The server's default database: the cluster's may be one its schema creates.
            let conn = shared.connect(None).await?;
            give_back(conn);
            Ok(())
        })?;
        Ok(engine)
    }
}

fn give_back(conn: Conn) {
    if !conn.client.is_closed() {
        conn.pool
            .idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(conn.client);
    }
}

impl Shared {
    fn pool(&self, database: &Option<String>) -> Arc<Pool> {
        let mut pools = self.pools.lock().unwrap_or_else(|e| e.into_inner());
        pools
            .entry(database.clone())
            .or_insert_with(|| {
                Arc::new(Pool {
                    idle: Mutex::default(),
                    permits: Arc::new(Semaphore::new(self.max_connections)),
                })
            })
            .clone()
    }

    /// A connection to `database` (the user's own when `None`), within [`CONNECT_TIMEOUT`].
    async fn connect(&self, database: Option<String>) -> Result<Conn, RdsError> {
        let pool = self.pool(&database);
        let work = async {
            let permit = pool
                .permits
                .clone()
                .acquire_owned()
                .await
                .map_err(|e| unreachable(&self.server, e))?;
            let idle = pool.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let client = match idle {
                Some(client) if !client.is_closed() => client,
                _ => {
                    let mut config = tokio_postgres::Config::new();
                    config
                        .host(&self.server.host)
                        .port(self.server.port)
                        .user(&self.server.user)
                        .password(&self.server.password)
                        .connect_timeout(CONNECT_TIMEOUT)
                        .application_name("offcloud");
                    if let Some(db) = &database {
                        config.dbname(db);
                    }
                    let (client, connection) = config.connect(NoTls).await.map_err(|e| match e
                        .as_db_error()
                    {
                        Some(db) => server_error(db),
                        None => unreachable(&self.server, e),
                    })?;
                    tokio::spawn(async move {
                        let _ = connection.await;
                    });
                    client
                }
            };
            Ok(Conn {
                client,
                pool: pool.clone(),
                _permit: permit,
            })
        };
        tokio::time::timeout(CONNECT_TIMEOUT, work)
            .await
            .unwrap_or_else(|_| {
                Err(unreachable(
                    &self.server,
                    format!("no connection within {} s", CONNECT_TIMEOUT.as_secs()),
                ))
            })
    }

    fn database(&self, requested: Option<&str>) -> Option<String> {
        requested
            .map(str::to_string)
            .or_else(|| self.server.database.clone())
    }
}

/// PostgreSQL's error as PostgreSQL's JDBC driver words it (`ServerErrorMessage`: the severity, the message and
/// the position), with its SQLState, in a `BadRequestException`; a statement cancelled for its time (57014) is a
/// `StatementTimeoutException`.
/// FIXME: Aurora Serverless v2 and provisioned clusters answer `DatabaseErrorException`, as for MySQL.
fn server_error(e: &tokio_postgres::error::DbError) -> RdsError {
    let mut text = format!("{}: {}", e.severity(), e.message());
    if let Some(tokio_postgres::error::ErrorPosition::Original(p)) = e.position() {
        text.push_str(&format!("\n  Position: {p}"));
    }
    text.push_str(&format!("; SQLState: {}", e.code().code()));
    if e.code() == &tokio_postgres::error::SqlState::QUERY_CANCELED {
        return RdsError::StatementTimeout(text);
    }
    RdsError::BadRequest(text)
}

fn failure(server: &ServerUrl, e: tokio_postgres::Error) -> RdsError {
    match e.as_db_error() {
        Some(db) => server_error(db),
        None => unreachable(server, e),
    }
}

/// Runs one statement on `conn` within [`STATEMENT_TIMEOUT`]; a connection that failed or timed out is closed.
async fn run(conn: Conn, server: &ServerUrl, sql: String) -> (Option<Conn>, Result<Ran, RdsError>) {
    let work = async {
        let statement = conn.client.prepare(&sql).await?;
        let types: Vec<Type> = statement
            .columns()
            .iter()
            .map(|c| c.type_().clone())
            .collect();
        let names: Vec<String> = statement
            .columns()
            .iter()
            .map(|c| c.name().to_string())
            .collect();
        let messages = conn.client.simple_query(&sql).await?;
        Ok::<_, tokio_postgres::Error>((types, names, messages))
    };
    match tokio::time::timeout(STATEMENT_TIMEOUT, work).await {
        Err(_) => (None, Err(timed_out())),
        Ok(Err(e)) => {
            let closed = conn.client.is_closed();
            (
                if closed { None } else { Some(conn) },
                Err(failure(server, e)),
            )
        }
        Ok(Ok((types, names, messages))) => {
            let mut rows = Vec::new();
            let mut changes = 0;
            for m in messages {
                match m {
                    SimpleQueryMessage::Row(row) => rows.push(
                        types
                            .iter()
                            .enumerate()
                            .map(|(i, ty)| row.get(i).map_or(Sql::Null, |t| value(t, ty)))
                            .collect(),
                    ),
                    SimpleQueryMessage::CommandComplete(n) => changes = n,
                    _ => {}
                }
            }
            let ran = Ran {
                query: !types.is_empty(),
                // The server's own count stands, DDL's too.
                ddl: false,
                columns: names
                    .into_iter()
                    .zip(&types)
                    .map(|(name, ty)| column(name, ty))
                    .collect(),
                rows,
                changes,
                generated_id: None,
            };
            (Some(conn), Ok(ran))
        }
    }
}

/// The element type of an array type, or the type itself.
fn element(ty: &Type) -> &Type {
    match ty.kind() {
        Kind::Array(e) => element(e),
        _ => ty,
    }
}

/// The MySQL type a PostgreSQL type's values render as (see the module's documentation).
fn rendering(ty: &Type) -> &'static str {
    match element(ty).name() {
        "bool" => "BOOL",
        "int2" | "int4" | "int8" | "oid" => "BIGINT",
        "float4" | "float8" => "DOUBLE",
        "numeric" => "DECIMAL",
        "bytea" => "BLOB",
        _ => "VARCHAR",
    }
}

fn column(name: String, ty: &Type) -> Column {
    Column {
        name,
        decl_type: Some(rendering(ty).into()),
        type_name: Some(ty.name().to_string()),
    }
}

/// One value from PostgreSQL's text.
fn value(text: &str, ty: &Type) -> Sql {
    if let Kind::Array(e) = ty.kind() {
        return parse_array(text, e).unwrap_or_else(|| Sql::Text(text.to_string()));
    }
    match rendering(ty) {
        "BOOL" => Sql::Integer(i64::from(text == "t")),
        "BIGINT" => text
            .parse()
            .map_or_else(|_| Sql::Text(text.into()), Sql::Integer),
        "DOUBLE" => text
            .parse()
            .map_or_else(|_| Sql::Text(text.into()), Sql::Real),
        "BLOB" => text
            .strip_prefix("\\x")
            .and_then(unhex)
            .map_or_else(|| Sql::Text(text.into()), Sql::Blob),
        _ => Sql::Text(text.to_string()),
    }
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

/// An array's text (`{1,2,NULL}`, `{{"a b",c},{d,e}}`), its elements read as `element` values.
fn parse_array(text: &str, element: &Type) -> Option<Sql> {
    // A lower bound other than 1 is printed first (`[0:1]={1,2}`); the elements are the same.
    let text = text
        .split_once('=')
        .filter(|_| text.starts_with('['))
        .map_or(text, |(_, t)| t);
    let mut chars = text.chars().peekable();
    let parsed = array(&mut chars, element)?;
    chars.next().is_none().then_some(parsed)
}

fn array(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, element: &Type) -> Option<Sql> {
    if chars.next()? != '{' {
        return None;
    }
    let mut items = Vec::new();
    if chars.peek() == Some(&'}') {
        chars.next();
        return Some(Sql::Array(items));
    }
    loop {
        match chars.peek()? {
            '{' => items.push(array(chars, element)?),
            '"' => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next()? {
                        '\\' => s.push(chars.next()?),
                        '"' => break,
                        c => s.push(c),
                    }
                }
                items.push(value(&s, element));
            }
            _ => {
                let mut s = String::new();
                while let Some(c) = chars.peek().filter(|c| !matches!(c, ',' | '}')) {
                    s.push(*c);
                    chars.next();
                }
                items.push(if s == "NULL" {
                    Sql::Null
                } else {
                    value(&s, element)
                });
            }
        }
        match chars.next()? {
            ',' => continue,
            '}' => return Some(Sql::Array(items)),
            _ => return None,
        }
    }
}

impl Engine for Postgres {
    fn execute(
        &self,
        database: Option<&str>,
        sql: &str,
        params: &[Param],
    ) -> Result<Ran, RdsError> {
        let shared = self.0.clone();
        let database = self.0.database(database);
        let sql = params::bind(sql, params, Dialect::Postgres);
        self.0.driver.run(async move {
            let conn = shared.connect(database).await?;
            let (conn, ran) = run(conn, &shared.server, sql).await;
            conn.into_iter().for_each(give_back);
            ran
        })
    }

    fn prepare(&self, _database: Option<&str>, _sql: &str) -> Result<Prepared, RdsError> {
        Ok(Prepared::Ready)
    }

    /// The cluster's database and its tables (`schema.table` outside `public`), for the dashboard; empty when the
    /// server cannot be asked.
    fn catalog(&self) -> Vec<(String, Vec<String>)> {
        let shared = self.0.clone();
        let database = self.0.server.database.clone();
        let sql = "SELECT current_database(), CASE WHEN table_schema = 'public' THEN table_name \
                   ELSE table_schema || '.' || table_name END FROM information_schema.tables \
                   WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 2"
            .to_string();
        let ran = self.0.driver.run(async move {
            let conn = shared.connect(database).await?;
            let (conn, ran) = run(conn, &shared.server, sql).await;
            conn.into_iter().for_each(give_back);
            ran
        });
        super::group_tables(ran.map(|r| r.rows).unwrap_or_default())
    }

    fn begin(&self, database: Option<&str>) -> Result<Box<dyn Session>, RdsError> {
        let shared = self.0.clone();
        let database = self.0.database(database);
        let db = database.clone();
        let conn = self.0.driver.run(async move {
            let conn = shared.connect(db).await?;
            match run(conn, &shared.server, "BEGIN".into()).await {
                (Some(conn), Ok(_)) => Ok(conn),
                (conn, Err(e)) => {
                    conn.into_iter().for_each(give_back);
                    Err(e)
                }
                (None, Ok(_)) => Err(RdsError::Internal("the connection was lost".into())),
            }
        })?;
        Ok(Box::new(PostgresSession {
            shared: self.0.clone(),
            database: database.unwrap_or_default(),
            conn: Some(conn),
        }))
    }
}

/// One transaction: a connection of its own until it commits or rolls back.
struct PostgresSession {
    shared: Arc<Shared>,
    database: String,
    conn: Option<Conn>,
}

impl PostgresSession {
    fn run(&mut self, sql: String) -> Result<Ran, RdsError> {
        let conn = self.conn.take().ok_or_else(|| {
            RdsError::BadRequest("The transaction's connection to the server was lost".into())
        })?;
        let server = self.shared.server.clone();
        let (conn, ran) = self.shared.driver.run(async move {
            let (conn, ran) = run(conn, &server, sql).await;
            Ok((conn, ran))
        })?;
        self.conn = conn;
        ran
    }

    fn end(mut self: Box<Self>, sql: &str) -> Result<(), RdsError> {
        let done = self.run(sql.into()).map(drop);
        if done.is_ok()
            && let Some(conn) = self.conn.take()
        {
            give_back(conn);
        }
        done
    }
}

impl Session for PostgresSession {
    fn database(&self) -> &str {
        &self.database
    }

    fn execute(&mut self, sql: &str, params: &[Param]) -> Result<Ran, RdsError> {
        self.run(params::bind(sql, params, Dialect::Postgres))
    }

    fn commit(self: Box<Self>) -> Result<(), RdsError> {
        self.end("COMMIT")
    }

    fn rollback(self: Box<Self>) -> Result<(), RdsError> {
        self.end("ROLLBACK")
    }
}

impl Drop for PostgresSession {
    /// An abandoned transaction is rolled back before its connection goes back to the pool.
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.shared.driver.spawn(async move {
                if conn.client.batch_execute("ROLLBACK").await.is_ok() {
                    give_back(conn);
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_read_their_elements_by_type() {
        assert_eq!(
            value("{1,NULL,3}", &Type::INT4_ARRAY),
            Sql::Array(vec![Sql::Integer(1), Sql::Null, Sql::Integer(3)])
        );
        assert_eq!(
            value(r#"{"a b","c\"d",e}"#, &Type::TEXT_ARRAY),
            Sql::Array(vec![
                Sql::Text("a b".into()),
                Sql::Text("c\"d".into()),
                Sql::Text("e".into())
            ])
        );
        assert_eq!(
            value("{{t,f},{f,t}}", &Type::BOOL_ARRAY),
            Sql::Array(vec![
                Sql::Array(vec![Sql::Integer(1), Sql::Integer(0)]),
                Sql::Array(vec![Sql::Integer(0), Sql::Integer(1)])
            ])
        );
        assert_eq!(value("{}", &Type::INT8_ARRAY), Sql::Array(vec![]));
        assert_eq!(
            value("[0:1]={5,6}", &Type::INT8_ARRAY),
            Sql::Array(vec![Sql::Integer(5), Sql::Integer(6)])
        );
    }

    #[test]
    fn scalars_read_by_type() {
        assert_eq!(value("t", &Type::BOOL), Sql::Integer(1));
        assert_eq!(value("12.50", &Type::NUMERIC), Sql::Text("12.50".into()));
        assert_eq!(value("\\x00ff", &Type::BYTEA), Sql::Blob(vec![0, 255]));
        assert_eq!(value("1.5", &Type::FLOAT8), Sql::Real(1.5));
        assert_eq!(
            column("id".into(), &Type::UUID).type_name.as_deref(),
            Some("uuid")
        );
    }
}
