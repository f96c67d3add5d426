//! A cluster on a MySQL or MariaDB server, through `mysql_async`. Statements run with the text protocol, as the
//! Data API's JDBC driver runs them, and each value is read by its column's type as Aurora MySQL's Data API types
//! it: `TINYINT(1)` and `BIT(1)` as booleans, `DECIMAL` as its digits, binary strings as blobs.
//! Source: https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/data-api-operations.html (the Aurora MySQL
//! types the Data API supports) and `tests/mysql/outcome.rs`, which types MariaDB's answers the same way to judge
//! the SQLite engine.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use mysql_async::consts::{ColumnFlags, ColumnType};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Pool};

use super::params::{self, Dialect};
use super::{CONNECT_TIMEOUT, Driver, STATEMENT_TIMEOUT, timed_out, unreachable};
use crate::config::{ClusterConfig, ServerUrl};
use crate::rdsdata::RdsError;
use crate::rdsdata::engine::{Column, Engine, Param, Prepared, Ran, Session, Sql};

/// One cluster's MySQL server: a bounded pool of connections for each database requests name.
pub struct Mysql(Arc<Shared>);

struct Shared {
    driver: Arc<Driver>,
    server: ServerUrl,
    /// The most connections each database's pool opens.
    max_connections: usize,
    pools: Mutex<HashMap<Option<String>, Pool>>,
}

impl Mysql {
    /// Checks that the server answers, so that a wrong address or credential fails at start-up, naming the
    /// cluster.
    pub fn open(c: &ClusterConfig, server: ServerUrl) -> Result<Self, RdsError> {
        let driver = Driver::new("offcloud-mysql")?;
        let engine = Self(Arc::new(Shared {
            driver,
            server,
            // Every open transaction holds a connection, and autocommit statements need some beside them.
            max_connections: c.max_transactions.max(1) + 4,
            pools: Mutex::default(),
        }));
        let shared = engine.0.clone();
        engine.0.driver.run(async move {
            // The server's default database: the cluster's may be one its schema creates.
            let conn = shared.connect(None).await?;
            drop(conn);
            Ok(())
        })?;
        Ok(engine)
    }
}

impl Shared {
    fn pool(&self, database: Option<String>) -> Pool {
        let mut pools = self.pools.lock().unwrap_or_else(|e| e.into_inner());
        pools
            .entry(database.clone())
            .or_insert_with(|| {
                let constraints =
                    mysql_async::PoolConstraints::new(0, self.max_connections).unwrap_or_default();
                let opts = mysql_async::OptsBuilder::default()
                    .ip_or_hostname(self.server.host.clone())
                    .tcp_port(self.server.port)
                    .user(Some(self.server.user.clone()))
                    .pass(Some(self.server.password.clone()))
                    .db_name(database)
                    .prefer_socket(false)
                    // Affected rows are the rows changed, as MySQL counts them by default.
                    .client_found_rows(false)
                    .pool_opts(mysql_async::PoolOpts::default().with_constraints(constraints));
                Pool::new(opts)
            })
            .clone()
    }

    /// A connection to `database` (the server's default when `None`), within [`CONNECT_TIMEOUT`].
    async fn connect(&self, database: Option<String>) -> Result<Conn, RdsError> {
        let pool = self.pool(database);
        match tokio::time::timeout(CONNECT_TIMEOUT, pool.get_conn()).await {
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(mysql_async::Error::Server(e))) => Err(server_error(&e)),
            Ok(Err(e)) => Err(unreachable(&self.server, e)),
            Err(_) => Err(unreachable(
                &self.server,
                format!("no connection within {} s", CONNECT_TIMEOUT.as_secs()),
            )),
        }
    }

    fn database(&self, requested: Option<&str>) -> Option<String> {
        requested
            .map(str::to_string)
            .or_else(|| self.server.database.clone())
    }
}

/// A server's error as the Data API answers it: its own text, in a `BadRequestException` as the SQLite engine
/// words MySQL's errors, or a `StatementTimeoutException` for a statement the server stopped for its time
/// (MySQL's ER_QUERY_TIMEOUT 3024, ER_QUERY_INTERRUPTED 1317 and MariaDB's ER_STATEMENT_TIMEOUT 1969).
/// Sources: https://dev.mysql.com/doc/mysql-errors/5.7/en/server-error-reference.html and
/// https://mariadb.com/kb/en/mariadb-error-codes/
fn server_error(e: &mysql_async::ServerError) -> RdsError {
    match e.code {
        3024 | 1317 | 1969 => RdsError::StatementTimeout(e.message.clone()),
        _ => RdsError::BadRequest(e.message.clone()),
    }
}

/// Runs one statement on `conn` within [`STATEMENT_TIMEOUT`]. The connection comes back unless it failed or
/// timed out, when it is dropped and with it whatever it ran.
async fn run(
    mut conn: Conn,
    server: &ServerUrl,
    sql: String,
) -> (Option<Conn>, Result<Ran, RdsError>) {
    match tokio::time::timeout(STATEMENT_TIMEOUT, query(&mut conn, &sql)).await {
        Err(_) => (None, Err(timed_out())),
        Ok(Ok(ran)) => (Some(conn), Ok(ran)),
        Ok(Err(mysql_async::Error::Server(e))) => (Some(conn), Err(server_error(&e))),
        Ok(Err(e)) => (None, Err(unreachable(server, e))),
    }
}

async fn query(conn: &mut Conn, sql: &str) -> Result<Ran, mysql_async::Error> {
    let mut result = conn.query_iter(sql).await?;
    let columns = result.columns().map(|c| c.to_vec()).unwrap_or_default();
    let rows: Vec<mysql_async::Row> = result.collect().await?;
    let changes = result.affected_rows();
    let generated_id = result.last_insert_id().map(|id| id as i64);
    // A procedure's further results, and its status, are read and let go.
    result.drop_result().await?;
    Ok(Ran {
        query: !columns.is_empty(),
        // The server's own count stands, DDL's too (an ALTER that copies rows counts them).
        ddl: false,
        rows: rows
            .iter()
            .map(|row| {
                columns
                    .iter()
                    .enumerate()
                    .map(|(i, c)| value(row.as_ref(i).unwrap_or(&mysql_async::Value::NULL), c))
                    .collect()
            })
            .collect(),
        columns: columns.iter().map(column).collect(),
        changes,
        generated_id: generated_id.filter(|id| *id != 0),
    })
}

/// Whether a statement creates or drops a database (a schema, in MySQL's words).
fn names_database(sql: &str) -> bool {
    let words: Vec<String> = sql
        .split_whitespace()
        .take(2)
        .map(str::to_ascii_uppercase)
        .collect();
    matches!(
        (
            words.first().map(String::as_str),
            words.get(1).map(String::as_str)
        ),
        (Some("CREATE" | "DROP"), Some("DATABASE" | "SCHEMA"))
    )
}

fn is_binary(c: &mysql_async::Column) -> bool {
    c.character_set() == 63 && !c.flags().contains(ColumnFlags::ENUM_FLAG)
}

/// A result column, with the MySQL type its values render as.
fn column(c: &mysql_async::Column) -> Column {
    use ColumnType::*;
    let decl = match c.column_type() {
        MYSQL_TYPE_TINY if c.column_length() == 1 => "TINYINT(1)".to_string(),
        MYSQL_TYPE_TINY => "TINYINT".into(),
        MYSQL_TYPE_SHORT => "SMALLINT".into(),
        MYSQL_TYPE_INT24 => "MEDIUMINT".into(),
        MYSQL_TYPE_LONG => "INT".into(),
        MYSQL_TYPE_LONGLONG => "BIGINT".into(),
        MYSQL_TYPE_YEAR => "YEAR".into(),
        MYSQL_TYPE_DECIMAL | MYSQL_TYPE_NEWDECIMAL => {
            format!("DECIMAL({},{})", c.column_length(), c.decimals())
        }
        MYSQL_TYPE_FLOAT => "FLOAT".into(),
        MYSQL_TYPE_DOUBLE => "DOUBLE".into(),
        MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE => "DATE".into(),
        MYSQL_TYPE_TIME | MYSQL_TYPE_TIME2 => "TIME".into(),
        MYSQL_TYPE_DATETIME | MYSQL_TYPE_DATETIME2 => "DATETIME".into(),
        MYSQL_TYPE_TIMESTAMP | MYSQL_TYPE_TIMESTAMP2 => "TIMESTAMP".into(),
        MYSQL_TYPE_JSON => "JSON".into(),
        MYSQL_TYPE_BIT => "BIT".into(),
        MYSQL_TYPE_TINY_BLOB | MYSQL_TYPE_MEDIUM_BLOB | MYSQL_TYPE_LONG_BLOB | MYSQL_TYPE_BLOB
            if is_binary(c) =>
        {
            "BLOB".into()
        }
        MYSQL_TYPE_TINY_BLOB | MYSQL_TYPE_MEDIUM_BLOB | MYSQL_TYPE_LONG_BLOB | MYSQL_TYPE_BLOB => {
            "TEXT".into()
        }
        MYSQL_TYPE_STRING if is_binary(c) => "BINARY".into(),
        MYSQL_TYPE_STRING => "CHAR".into(),
        _ if is_binary(c) => "VARBINARY".into(),
        _ => "VARCHAR".into(),
    };
    Column {
        name: c.name_str().to_string(),
        decl_type: Some(decl),
        type_name: None,
    }
}

/// A DATETIME's text with its fraction's trailing zeros dropped, as JDBC's `Timestamp.toString` prints it; the
/// fields add the `.0` a whole second has.
fn jdbc_fraction(text: &str) -> String {
    match text.split_once('.') {
        Some((whole, fraction)) => {
            let fraction = fraction.trim_end_matches('0');
            if fraction.is_empty() {
                whole.to_string()
            } else {
                format!("{whole}.{fraction}")
            }
        }
        None => text.to_string(),
    }
}

/// A text-protocol value, read by its column's type.
fn value(v: &mysql_async::Value, c: &mysql_async::Column) -> Sql {
    let bytes = match v {
        mysql_async::Value::NULL => return Sql::Null,
        mysql_async::Value::Bytes(b) => b,
        // The text protocol gives bytes alone; any other value is read as its text.
        other => return Sql::Text(other.as_sql(true).trim_matches('\'').to_string()),
    };
    let text = || String::from_utf8_lossy(bytes).into_owned();
    use ColumnType::*;
    match c.column_type() {
        MYSQL_TYPE_BIT if c.column_length() == 1 => {
            Sql::Integer(i64::from(bytes.iter().any(|b| *b != 0)))
        }
        MYSQL_TYPE_BIT => Sql::Blob(bytes.clone()),
        MYSQL_TYPE_TINY | MYSQL_TYPE_SHORT | MYSQL_TYPE_LONG | MYSQL_TYPE_INT24
        | MYSQL_TYPE_LONGLONG | MYSQL_TYPE_YEAR => {
            // An unsigned BIGINT past i64 stays its digits.
            text()
                .parse()
                .map_or_else(|_| Sql::Text(text()), Sql::Integer)
        }
        MYSQL_TYPE_FLOAT | MYSQL_TYPE_DOUBLE => {
            text().parse().map_or_else(|_| Sql::Text(text()), Sql::Real)
        }
        MYSQL_TYPE_DATETIME
        | MYSQL_TYPE_DATETIME2
        | MYSQL_TYPE_TIMESTAMP
        | MYSQL_TYPE_TIMESTAMP2 => Sql::Text(jdbc_fraction(&text())),
        // Numbers, dates and times have the binary character set too, but are text.
        MYSQL_TYPE_JSON
        | MYSQL_TYPE_DECIMAL
        | MYSQL_TYPE_NEWDECIMAL
        | MYSQL_TYPE_DATE
        | MYSQL_TYPE_NEWDATE
        | MYSQL_TYPE_TIME
        | MYSQL_TYPE_TIME2 => Sql::Text(text()),
        _ if is_binary(c) => Sql::Blob(bytes.clone()),
        _ => Sql::Text(text()),
    }
}

impl Engine for Mysql {
    fn execute(
        &self,
        database: Option<&str>,
        sql: &str,
        params: &[Param],
    ) -> Result<Ran, RdsError> {
        let shared = self.0.clone();
        let database = self.0.database(database);
        let sql = params::bind(sql, params, Dialect::Mysql);
        self.0.driver.run(async move {
            let conn = match shared.connect(database.clone()).await {
                // A database is created or dropped from a connection to none, as the one named may not exist.
                Err(RdsError::BadRequest(m))
                    if m.starts_with("Unknown database") && names_database(&sql) =>
                {
                    shared.connect(None).await?
                }
                conn => conn?,
            };
            run(conn, &shared.server, sql).await.1
        })
    }

    fn prepare(&self, _database: Option<&str>, _sql: &str) -> Result<Prepared, RdsError> {
        Ok(Prepared::Ready)
    }

    /// Every database but MySQL's own, and its tables, for the dashboard; empty when the server cannot be asked.
    fn catalog(&self) -> Vec<(String, Vec<String>)> {
        let shared = self.0.clone();
        let sql = "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema NOT IN \
                   ('mysql', 'information_schema', 'performance_schema', 'sys') ORDER BY 1, 2"
            .to_string();
        let ran = self.0.driver.run(async move {
            let conn = shared.connect(None).await?;
            run(conn, &shared.server, sql).await.1
        });
        super::group_tables(ran.map(|r| r.rows).unwrap_or_default())
    }

    fn begin(&self, database: Option<&str>) -> Result<Box<dyn Session>, RdsError> {
        let shared = self.0.clone();
        let database = self.0.database(database);
        let db = database.clone();
        let conn = self.0.driver.run(async move {
            let conn = shared.connect(db).await?;
            match run(conn, &shared.server, "START TRANSACTION".into()).await {
                (Some(conn), Ok(_)) => Ok(conn),
                (_, Err(e)) => Err(e),
                (None, Ok(_)) => Err(RdsError::Internal("the connection was lost".into())),
            }
        })?;
        Ok(Box::new(MysqlSession {
            shared: self.0.clone(),
            database: database.unwrap_or_default(),
            conn: Some(conn),
        }))
    }
}

/// One transaction: a connection of its own, from the pool, until it commits or rolls back.
struct MysqlSession {
    shared: Arc<Shared>,
    database: String,
    /// `None` once the connection failed, when the transaction is gone with it.
    conn: Option<Conn>,
}

impl MysqlSession {
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
}

impl Session for MysqlSession {
    fn database(&self) -> &str {
        &self.database
    }

    fn execute(&mut self, sql: &str, params: &[Param]) -> Result<Ran, RdsError> {
        self.run(params::bind(sql, params, Dialect::Mysql))
    }

    fn commit(mut self: Box<Self>) -> Result<(), RdsError> {
        let done = self.run("COMMIT".into()).map(drop);
        // The connection goes back to the pool as it is; a failed COMMIT leaves it for `drop` to roll back.
        if done.is_ok() {
            drop(self.conn.take());
        }
        done
    }

    fn rollback(mut self: Box<Self>) -> Result<(), RdsError> {
        let done = self.run("ROLLBACK".into()).map(drop);
        if done.is_ok() {
            drop(self.conn.take());
        }
        done
    }
}

impl Drop for MysqlSession {
    /// An abandoned transaction is rolled back before its connection goes back to the pool.
    fn drop(&mut self) {
        if let Some(mut conn) = self.conn.take() {
            self.shared.driver.spawn(async move {
                let _ = conn.query_drop("ROLLBACK").await;
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_statements_are_told_apart() {
        assert!(names_database("create database if not exists app"));
        assert!(names_database("DROP SCHEMA app"));
        assert!(!names_database("CREATE TABLE database (id int)"));
    }

    #[test]
    fn fractions_lose_their_trailing_zeros() {
        assert_eq!(jdbc_fraction("2019-03-06 02:45:32"), "2019-03-06 02:45:32");
        assert_eq!(
            jdbc_fraction("2019-03-06 02:45:32.000000"),
            "2019-03-06 02:45:32"
        );
        assert_eq!(
            jdbc_fraction("2019-03-06 02:45:32.500000"),
            "2019-03-06 02:45:32.5"
        );
    }
}
