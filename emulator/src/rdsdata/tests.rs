//! The operation layer's own behaviour: transactions, their expiry, locks and the clock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::json;

use super::*;
use crate::clock::{Clock, SequentialIds};

/// A clock that stands still until a test moves it.
struct Manual(AtomicU64);

impl Clock for Manual {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

const ARN: &str = "arn:aws:rds:us-east-1:123456789012:cluster:c";

fn setup() -> (Config, Env, Arc<Manual>) {
    // 2019-03-06 02:45:32 UTC.
    let clock = Arc::new(Manual(AtomicU64::new(1_551_840_332_000)));
    let env = Env {
        clock: clock.clone(),
        ids: Arc::new(SequentialIds::default()),
        traces: Arc::default(),
    };
    let text = format!("[[cluster]]\narn = \"{ARN}\"\ndatabase = \"db\"\n");
    let config = Config::parse("t.toml", &text, Path::new(".")).unwrap();
    (config, env, clock)
}

fn api() -> (DataApi, Arc<Manual>) {
    let (config, env, clock) = setup();
    (DataApi::open(&config, None, env).unwrap(), clock)
}

/// A cluster whose SQLite engine the test holds too, so that it can set the lock wait and look at the write lock.
fn sqlite_api(lock_wait: Option<Duration>) -> (DataApi, Arc<Manual>, Arc<Sqlite>) {
    let (config, env, clock) = setup();
    let mut api = DataApi::open(&config, None, env.clone()).unwrap();
    let mut engine = Sqlite::open(&config.clusters[0], None, &env).unwrap();
    if let Some(wait) = lock_wait {
        engine.set_lock_wait(wait);
    }
    let engine = Arc::new(engine);
    api.clusters[0].engine = engine.clone();
    (api, clock, engine)
}

fn call(api: &DataApi, op: Operation, mut body: Value) -> Result<Value, RdsError> {
    body["resourceArn"] = json!(ARN);
    body["secretArn"] = json!("any");
    api.call(op, &body)
}

#[tokio::test]
async fn idle_transactions_expire_without_a_request() {
    let (api, clock) = api();
    let api = Arc::new(api);
    call(
        &api,
        Operation::ExecuteStatement,
        json!({"sql": "CREATE TABLE t (id INT PRIMARY KEY)"}),
    )
    .unwrap();
    call(&api, Operation::BeginTransaction, json!({})).unwrap();
    let open = |api: &DataApi| api.transactions.open_count();
    assert_eq!(open(&api), 1);
    let sweeper = api.spawn_housekeeping(std::time::Duration::from_millis(10));
    clock.0.fetch_add(transactions::IDLE_MS, Ordering::Relaxed);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while open(&api) > 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    sweeper.abort();
    assert_eq!(open(&api), 0, "the sweeper ended the idle transaction");
}

#[test]
fn idle_transactions_expire_after_three_minutes_of_the_emulator_clock() {
    let (api, clock) = api();
    call(
        &api,
        Operation::ExecuteStatement,
        json!({"sql": "CREATE TABLE t (id INT PRIMARY KEY)"}),
    )
    .unwrap();
    let begin = call(&api, Operation::BeginTransaction, json!({})).unwrap();
    let tx = begin["transactionId"].as_str().unwrap().to_string();
    let insert = json!({"sql": "INSERT INTO t (id) VALUES (1)", "transactionId": tx});
    call(&api, Operation::ExecuteStatement, insert.clone()).unwrap();
    clock
        .0
        .fetch_add(transactions::IDLE_MS - 1, Ordering::Relaxed);
    let count = json!({"sql": "SELECT COUNT(*) FROM t", "transactionId": tx});
    assert_eq!(
        call(&api, Operation::ExecuteStatement, count.clone()).unwrap()["records"],
        json!([[{"longValue": 1}]]),
        "each use restarts the idle time"
    );
    clock.0.fetch_add(transactions::IDLE_MS, Ordering::Relaxed);
    let e = call(&api, Operation::ExecuteStatement, count).unwrap_err();
    assert!(matches!(e, RdsError::TransactionNotFound(_)), "{e:?}");
    assert_eq!(e.status(), 404);
    let left = call(
        &api,
        Operation::ExecuteStatement,
        json!({"sql": "SELECT COUNT(*) FROM t"}),
    )
    .unwrap();
    assert_eq!(
        left["records"],
        json!([[{"longValue": 0}]]),
        "an expired transaction is rolled back"
    );
}

#[test]
fn default_current_timestamp_and_now_come_from_the_emulator_clock() {
    let (api, _clock) = api();
    call(
        &api,
        Operation::ExecuteStatement,
        json!({"sql": "CREATE TABLE t (id INT, at DATETIME DEFAULT CURRENT_TIMESTAMP, d DATE)"}),
    )
    .unwrap();
    call(
        &api,
        Operation::ExecuteStatement,
        json!({"sql": "INSERT INTO t (id, d) VALUES (1, CURDATE())"}),
    )
    .unwrap();
    let out = call(
        &api,
        Operation::ExecuteStatement,
        json!({"sql": "SELECT at, d, NOW() FROM t"}),
    )
    .unwrap();
    assert_eq!(
        out["records"],
        json!([[
            {"stringValue": "2019-03-06 02:45:32.0"},
            {"stringValue": "2019-03-06"},
            {"stringValue": "2019-03-06 02:45:32"},
        ]])
    );
}

#[test]
fn a_second_statement_while_one_runs_in_the_transaction_is_a_database_error() {
    let (api, clock) = api();
    let begin = call(&api, Operation::BeginTransaction, json!({})).unwrap();
    let tx = begin["transactionId"].as_str().unwrap().to_string();
    // A statement running on the transaction holds its connection.
    let running = api.transactions.take(&tx, 0).unwrap();
    let e = call(
        &api,
        Operation::ExecuteStatement,
        json!({"sql": "SELECT 1", "transactionId": tx}),
    )
    .unwrap_err();
    assert_eq!(e.code(), "DatabaseErrorException");
    assert_eq!(e.to_string(), "Transaction is still running a query");
    let e = call(
        &api,
        Operation::CommitTransaction,
        json!({"transactionId": tx}),
    )
    .unwrap_err();
    assert_eq!(e.code(), "DatabaseErrorException");
    api.transactions.put_back(&tx, running, clock.now_ms());
    call(
        &api,
        Operation::CommitTransaction,
        json!({"transactionId": tx}),
    )
    .unwrap();
}

/// The statements of these tests: a table, a transaction that writes to it, and what the others see meanwhile.
fn sql(api: &DataApi, sql: &str, tx: Option<&str>) -> Result<Value, RdsError> {
    let mut body = json!({ "sql": sql });
    if let Some(tx) = tx {
        body["transactionId"] = json!(tx);
    }
    call(api, Operation::ExecuteStatement, body)
}

fn begin(api: &DataApi) -> Result<String, RdsError> {
    let out = call(api, Operation::BeginTransaction, json!({}))?;
    Ok(out["transactionId"].as_str().unwrap().to_string())
}

fn commit(api: &DataApi, tx: &str) {
    call(
        api,
        Operation::CommitTransaction,
        json!({ "transactionId": tx }),
    )
    .unwrap();
}

fn ids(api: &DataApi) -> Vec<i64> {
    let out = sql(api, "SELECT id FROM t ORDER BY id", None).unwrap();
    out["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[0]["longValue"].as_i64().unwrap())
        .collect()
}

/// A cluster with table `t` holding row 1, and a transaction that has inserted row 2 and holds the write lock.
fn writing_transaction(lock_wait: Duration) -> (Arc<DataApi>, Arc<Sqlite>, String) {
    let (api, _, engine) = sqlite_api(Some(lock_wait));
    sql(&api, "CREATE TABLE t (id INT PRIMARY KEY)", None).unwrap();
    sql(&api, "INSERT INTO t (id) VALUES (1)", None).unwrap();
    let tx = begin(&api).unwrap();
    sql(&api, "INSERT INTO t (id) VALUES (2)", Some(&tx)).unwrap();
    (Arc::new(api), engine, tx)
}

#[test]
fn reads_do_not_wait_for_a_writing_transaction_and_see_the_last_commit() {
    let (api, _, tx) = writing_transaction(Duration::from_secs(50));
    let started = std::time::Instant::now();
    assert_eq!(ids(&api), vec![1]);
    assert!(started.elapsed() < Duration::from_secs(5));
    commit(&api, &tx);
    assert_eq!(ids(&api), vec![1, 2]);
}

#[test]
fn a_write_waits_for_the_transaction_before_it_and_then_runs() {
    let (api, engine, tx) = writing_transaction(Duration::from_secs(50));
    let writer = {
        let api = api.clone();
        std::thread::spawn(move || sql(&api, "INSERT INTO t (id) VALUES (3)", None))
    };
    // The writer queues behind the transaction's lock.
    while !engine.lock().is_held() || engine.lock().waiting() == 0 {
        std::thread::yield_now();
    }
    assert!(!writer.is_finished());
    commit(&api, &tx);
    writer
        .join()
        .unwrap()
        .expect("the write ran after the commit");
    assert_eq!(ids(&api), vec![1, 2, 3]);
}

#[test]
fn a_write_that_waits_past_the_lock_wait_timeout_fails_as_mysql_does() {
    let (api, _, tx) = writing_transaction(Duration::from_millis(100));
    let e = sql(&api, "INSERT INTO t (id) VALUES (3)", None).unwrap_err();
    assert_eq!(e.code(), "BadRequestException");
    assert_eq!(
        e.to_string(),
        "Lock wait timeout exceeded; try restarting transaction"
    );
    // A second transaction's write waits and fails the same way, and its transaction goes on.
    let other = begin(&api).unwrap();
    let e = sql(&api, "INSERT INTO t (id) VALUES (4)", Some(&other)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Lock wait timeout exceeded; try restarting transaction"
    );
    commit(&api, &tx);
    sql(&api, "INSERT INTO t (id) VALUES (4)", Some(&other)).unwrap();
    commit(&api, &other);
    assert_eq!(ids(&api), vec![1, 2, 4]);
}

#[test]
fn an_expired_transaction_rolls_back_and_frees_the_lock() {
    let (api, clock, engine) = sqlite_api(None);
    let api = Arc::new(api);
    sql(&api, "CREATE TABLE t (id INT PRIMARY KEY)", None).unwrap();
    let tx = begin(&api).unwrap();
    sql(&api, "INSERT INTO t (id) VALUES (2)", Some(&tx)).unwrap();
    assert!(engine.lock().is_held());
    clock.0.fetch_add(transactions::IDLE_MS, Ordering::Relaxed);
    api.expire_transactions();
    assert!(!engine.lock().is_held());
    sql(&api, "INSERT INTO t (id) VALUES (3)", None).unwrap();
    assert_eq!(ids(&api), vec![3]);
}

#[test]
fn a_transaction_that_read_before_another_commit_cannot_write_and_is_rolled_back() {
    let (api, _, engine) = sqlite_api(None);
    sql(&api, "CREATE TABLE t (id INT PRIMARY KEY)", None).unwrap();
    let tx = begin(&api).unwrap();
    sql(&api, "INSERT INTO t (id) VALUES (9)", None).unwrap();
    sql(&api, "SELECT id FROM t", Some(&tx)).unwrap();
    sql(&api, "INSERT INTO t (id) VALUES (1)", None).unwrap();
    let e = sql(&api, "INSERT INTO t (id) VALUES (2)", Some(&tx)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Deadlock found when trying to get lock; try restarting transaction"
    );
    assert!(!engine.lock().is_held(), "the rollback freed the lock");
    // The transaction begins again, and now sees the newest rows.
    sql(&api, "INSERT INTO t (id) VALUES (2)", Some(&tx)).unwrap();
    commit(&api, &tx);
    assert_eq!(ids(&api), vec![1, 2, 9]);
}

#[test]
fn open_transactions_are_capped_with_the_data_apis_connection_error() {
    let (mut api, _) = api();
    api.clusters[0].max_transactions = 2;
    let first = begin(&api).unwrap();
    begin(&api).unwrap();
    let e = begin(&api).unwrap_err();
    assert_eq!(e.code(), "StatementTimeoutException");
    assert_eq!(e.status(), 400);
    assert_eq!(
        e.to_string(),
        "Connection is not available, request timed out"
    );
    commit(&api, &first);
    begin(&api).expect("a slot is free again");
}

#[test]
fn now_is_read_when_a_cached_statement_runs() {
    let (api, clock) = api();
    call(
        &api,
        Operation::ExecuteStatement,
        json!({"sql": "CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, at DATETIME)"}),
    )
    .unwrap();
    let insert = json!({"sql": "INSERT INTO t (at) VALUES (NOW()), (NOW())"});
    call(&api, Operation::ExecuteStatement, insert.clone()).unwrap();
    clock.0.fetch_add(61_000, Ordering::Relaxed);
    call(&api, Operation::ExecuteStatement, insert).unwrap();
    let rows = call(
        &api,
        Operation::ExecuteStatement,
        json!({"sql": "SELECT at FROM t ORDER BY id"}),
    )
    .unwrap();
    let at: Vec<&str> = rows["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[0]["stringValue"].as_str().unwrap())
        .collect();
    assert_eq!(
        at,
        [
            "2019-03-06 02:45:32.0",
            "2019-03-06 02:45:32.0",
            "2019-03-06 02:46:33.0",
            "2019-03-06 02:46:33.0"
        ]
    );
}

#[test]
fn a_cluster_holds_more_databases_than_sqlite_s_default_attach_limit() {
    let (api, _) = api();
    for i in 0..20 {
        call(
            &api,
            Operation::ExecuteStatement,
            json!({"sql": format!("CREATE DATABASE d{i}")}),
        )
        .unwrap();
        call(
            &api,
            Operation::ExecuteStatement,
            json!({"sql": format!("CREATE TABLE d{i}.t (n INT)")}),
        )
        .unwrap();
    }
    let r = call(
        &api,
        Operation::ExecuteStatement,
        json!({"sql": "SELECT COUNT(*) FROM d19.t JOIN d0.t", "database": "d7"}),
    )
    .unwrap();
    assert_eq!(r["records"], json!([[{"longValue": 0}]]));
}

#[test]
fn an_unknown_cluster_is_answered_before_a_wrong_member() {
    let (api, _) = api();
    let body = json!({"resourceArn": "arn:aws:rds:us-east-1:123456789012:cluster:other", "secretArn": "any"});
    let e = api.call(Operation::ExecuteStatement, &body).unwrap_err();
    assert_eq!(
        e.to_string(),
        "HttpEndpoint isn't enabled for cluster other"
    );
    let e = call(&api, Operation::ExecuteStatement, json!({})).unwrap_err();
    assert_eq!(
        e.to_string(),
        "1 validation error detected: Value null at 'sql' failed to satisfy constraint: Member must not be null"
    );
}

#[test]
fn a_statement_that_cannot_be_translated_is_refused_before_its_transaction_is_looked_up() {
    let (api, _) = api();
    let e = sql(&api, "GRANT ALL ON *.* TO x", Some("nope")).unwrap_err();
    assert_eq!(e.code(), "BadRequestException", "{e}");
    let e = sql(&api, "SELECT 1", Some("nope")).unwrap_err();
    assert!(matches!(e, RdsError::TransactionNotFound(_)), "{e:?}");
}
