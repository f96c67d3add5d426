//! `just soak`: mixed traffic across every service, with faults switched on, against an `offcloud serve` that keeps
//! its data in a folder and is killed with SIGKILL and restarted halfway. It then checks that:
//! - every write that was acknowledged (DynamoDB `PutItem`, Data API `INSERT`) is still there;
//! - the restarted server's RSS and open files are flat from its warm-up to the end;
//! - no function process outlives the server;
//! - no request hung (each has 30 seconds).
//!
//! `SOAK_SECS` sets the length (600 by default) and `SOAK_CLIENTS` the concurrent clients (4). It prints a summary
//! and exits non-zero when a check fails.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use offcloud::net::Client;
use serde_json::{Value, json};

#[path = "shared/served.rs"]
#[allow(dead_code)]
mod served;
use served::{Served, rss_kb, serve_args};

const CLUSTER: &str = "arn:aws:rds:us-east-1:123456789012:cluster:ec2-inventory";
const SECRET: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ec2-inventory-admin";
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Faults in force during the traffic: a share of every service's calls fail with AWS's errors.
const FAULTS: &[&str] = &[
    r#"{"service": "dynamodb", "operation": "PutItem", "error": "ThrottlingException", "probability": 0.05}"#,
    r#"{"service": "rdsdata", "operation": "ExecuteStatement", "error": "StatementTimeoutException", "probability": 0.05}"#,
    r#"{"service": "lambda", "error": "Runtime.ExitError", "probability": 0.02}"#,
    r#"{"service": "apigateway", "status": 502, "probability": 0.02}"#,
];

#[derive(Default)]
struct Tally {
    /// DynamoDB items and Data API rows whose write was acknowledged.
    items: Vec<String>,
    rows: Vec<String>,
    statuses: BTreeMap<String, BTreeMap<u16, u64>>,
    hung: u64,
}

struct Target {
    client: Client,
    main: String,
    api: String,
}

impl Target {
    async fn send(
        &self,
        method: &str,
        url: String,
        headers: &[(&str, &str)],
        body: Value,
    ) -> Option<(u16, Value)> {
        let headers: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let body = if body.is_null() {
            Bytes::new()
        } else {
            Bytes::from(body.to_string())
        };
        let sent = self.client.send(method, &url, &headers, body);
        let r = tokio::time::timeout(REQUEST_TIMEOUT, sent)
            .await
            .ok()?
            .ok()?;
        let v = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
        Some((r.status.as_u16(), v))
    }

    async fn dynamodb(&self, op: &str, body: Value) -> Option<(u16, Value)> {
        let target = format!("DynamoDB_20120810.{op}");
        let headers = [
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amz-target", target.as_str()),
        ];
        self.send("POST", format!("http://{}/", self.main), &headers, body)
            .await
    }

    async fn sql(&self, sql: &str) -> Option<(u16, Value)> {
        let body = json!({"resourceArn": CLUSTER, "secretArn": SECRET, "database": "ec2_inventory_db", "sql": sql});
        let headers = [("content-type", "application/json")];
        self.send(
            "POST",
            format!("http://{}/Execute", self.main),
            &headers,
            body,
        )
        .await
    }

    async fn faults(&self, on: bool) {
        let url = format!("http://{}/_offcloud/faults", self.main);
        if !on {
            self.send("DELETE", url, &[], Value::Null).await;
            return;
        }
        for f in FAULTS {
            let spec: Value = serde_json::from_str(f).expect("a fault");
            self.send(
                "POST",
                url.clone(),
                &[("content-type", "application/json")],
                spec,
            )
            .await;
        }
    }
}

/// One client's traffic until `until`: each round writes to DynamoDB and the Data API, invokes a function and
/// calls two API Gateway routes.
async fn traffic(
    t: Arc<Target>,
    tally: Arc<Mutex<Tally>>,
    client: usize,
    start: usize,
    until: Instant,
) -> usize {
    let mut n = start;
    while Instant::now() < until {
        let id = format!("soak-{client}-{n}");
        let calls: [(&str, Option<(u16, Value)>); 5] = [
            ("dynamodb PutItem", t.dynamodb("PutItem", json!({"TableName": "lambda-apigateway", "Item": {"id": {"S": id}}})).await),
            ("rdsdata INSERT", t.sql(&format!("INSERT INTO ec2 (aws_instance_id, aws_region, aws_account) VALUES ('{id}', 'us-east-1', '123456789012')")).await),
            ("lambda Invoke", t.send("POST", format!("http://{}/2015-03-31/functions/epoch-time/invocations", t.main), &[], json!({})).await),
            ("apigateway GET /Prod/time", t.send("GET", format!("http://{}/Prod/time", t.api), &[], Value::Null).await),
            ("apigateway POST /Prod/ports", t.send("POST", format!("http://{}/Prod/ports", t.api), &[], json!({"service": format!("soak-{}", n % 20), "code": "SOAK"})).await),
        ];
        let mut tally = tally.lock().unwrap_or_else(|e| e.into_inner());
        for (i, (name, r)) in calls.into_iter().enumerate() {
            match r {
                None => tally.hung += 1,
                Some((status, _)) => {
                    *tally
                        .statuses
                        .entry(name.to_string())
                        .or_default()
                        .entry(status)
                        .or_default() += 1;
                    if status == 200 && i == 0 {
                        tally.items.push(id.clone());
                    }
                    if status == 200 && i == 1 {
                        tally.rows.push(id.clone());
                    }
                }
            }
        }
        n += 1;
    }
    n
}

fn open_files(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// The function processes of the servers whose AWS endpoints are `endpoints`: every function process gets its
/// server's endpoint as `AWS_ENDPOINT_URL`, so that processes of other servers on the machine are not counted.
fn function_processes(endpoints: &[String]) -> Vec<u32> {
    let wanted: Vec<String> = endpoints
        .iter()
        .map(|e| format!("AWS_ENDPOINT_URL=http://{e}"))
        .collect();
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let env = std::fs::read(e.path().join("environ")).ok()?;
            String::from_utf8_lossy(&env)
                .split('\0')
                .any(|v| wanted.iter().any(|w| w == v))
                .then_some(pid)
        })
        .collect()
}

fn start(bin: &Path, config: &Path, data: &Path) -> (Served, Arc<Target>) {
    let s = serve_args(
        bin,
        &[
            std::ffi::OsStr::new("--config"),
            config.as_os_str(),
            std::ffi::OsStr::new("--data-dir"),
            data.as_os_str(),
        ],
    );
    let t = Arc::new(Target {
        client: Client::new(),
        main: s.main.clone(),
        api: s.api.clone().unwrap_or_default(),
    });
    (s, t)
}

async fn run_clients(
    t: &Arc<Target>,
    tally: &Arc<Mutex<Tally>>,
    clients: usize,
    starts: &mut [usize],
    until: Instant,
) {
    let tasks: Vec<_> = (0..clients)
        .map(|c| tokio::spawn(traffic(t.clone(), tally.clone(), c, starts[c], until)))
        .collect();
    for (c, task) in tasks.into_iter().enumerate() {
        starts[c] = task.await.unwrap_or(starts[c]);
    }
}

/// The acknowledged writes that are missing.
async fn lost_writes(
    t: &Target,
    written: &[String],
    inserted: &[String],
) -> (Vec<String>, Vec<String>) {
    let mut items = Vec::new();
    for id in written {
        let r = t
            .dynamodb(
                "GetItem",
                json!({"TableName": "lambda-apigateway", "Key": {"id": {"S": id}}}),
            )
            .await;
        if !r.is_some_and(|(s, v)| s == 200 && v.get("Item").is_some()) {
            items.push(id.clone());
        }
    }
    let mut rows = Vec::new();
    for chunk in inserted.chunks(200) {
        let list: Vec<String> = chunk.iter().map(|id| format!("'{id}'")).collect();
        let found: HashSet<String> = match t
            .sql(&format!(
                "SELECT aws_instance_id FROM ec2 WHERE aws_instance_id IN ({})",
                list.join(",")
            ))
            .await
        {
            Some((200, v)) => v["records"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| r[0]["stringValue"].as_str().map(str::to_string))
                .collect(),
            _ => HashSet::new(),
        };
        rows.extend(chunk.iter().filter(|id| !found.contains(*id)).cloned());
    }
    (items, rows)
}

/// A bar over the soak's length in seconds, on standard error when it is a terminal (indicatif hides it
/// otherwise), with the live counts of calls, errors and hung requests; it runs until it is finished.
fn progress(total: Duration, tally: Arc<Mutex<Tally>>) -> indicatif::ProgressBar {
    let style = indicatif::ProgressStyle::with_template(
        "{prefix:>12} [{bar:30}] {pos}/{len} s  {wide_msg}",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
    .progress_chars("=> ");
    let bar = indicatif::ProgressBar::new(total.as_secs()).with_style(style);
    let shown = bar.clone();
    let began = Instant::now();
    std::thread::spawn(move || {
        while !shown.is_finished() {
            let (calls, errors, hung) = {
                let t = tally.lock().unwrap_or_else(|e| e.into_inner());
                let calls: u64 = t.statuses.values().flat_map(|s| s.values()).sum();
                let ok: u64 = t.statuses.values().filter_map(|s| s.get(&200)).sum();
                (calls, calls - ok, t.hung)
            };
            shown.set_position(began.elapsed().as_secs().min(shown.length().unwrap_or(0)));
            shown.set_message(format!("{calls} calls, {errors} not 200, {hung} hung"));
            std::thread::sleep(Duration::from_millis(250));
        }
    });
    bar
}

fn main() -> std::process::ExitCode {
    let secs: u64 = std::env::var("SOAK_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(600);
    let clients: usize = std::env::var("SOAK_CLIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4)
        .max(1);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace")
        .to_path_buf();
    let exe = std::env::current_exe().expect("the soak's own path");
    let bin = exe.with_file_name("offcloud");
    let config = root.join("fixtures/offcloud.toml");
    let data = root.join(format!("target/soak-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let rt = tokio::runtime::Runtime::new().expect("a runtime");
    let tally = Arc::new(Mutex::new(Tally::default()));
    let mut starts = vec![0; clients];
    let half = Duration::from_secs(secs / 2);
    let warm_up = Duration::from_secs((secs / 10).clamp(1, 30));
    println!(
        "offcloud soak: {secs} s, {clients} clients, faults on, SIGKILL and restart at {} s",
        half.as_secs()
    );

    let rest = Duration::from_secs(secs - half.as_secs());
    let bar = progress(half + rest.max(warm_up * 2), tally.clone());

    // First half, then SIGKILL.
    bar.set_prefix("first half");
    let (mut first, t) = start(&bin, &config, &data);
    let mut endpoints = vec![first.main.clone()];
    rt.block_on(async {
        t.faults(true).await;
        run_clients(&t, &tally, clients, &mut starts, Instant::now() + half).await;
    });
    let _ = first.child.kill();
    let _ = first.child.wait();
    drop(first);

    // Second half on the same data, measured from after its warm-up to the end.
    bar.set_prefix("restarted");
    let (second, t) = start(&bin, &config, &data);
    endpoints.push(second.main.clone());
    let pid = second.child.id();
    let (rss, fds, (lost_items, lost_rows)) = rt.block_on(async {
        t.faults(true).await;
        let end = Instant::now() + rest.max(warm_up * 2);
        run_clients(&t, &tally, clients, &mut starts, Instant::now() + warm_up).await;
        let warm = (rss_kb(pid), open_files(pid));
        run_clients(&t, &tally, clients, &mut starts, end).await;
        bar.set_prefix("checking");
        tokio::time::sleep(Duration::from_millis(500)).await;
        let last = (rss_kb(pid), open_files(pid));
        t.faults(false).await;
        let (written, inserted) = {
            let tally = tally.lock().unwrap_or_else(|e| e.into_inner());
            (tally.items.clone(), tally.rows.clone())
        };
        (
            (warm.0, last.0),
            (warm.1, last.1),
            lost_writes(&t, &written, &inserted).await,
        )
    });
    bar.finish_and_clear();
    drop(second);
    std::thread::sleep(Duration::from_secs(2));
    let orphans = function_processes(&endpoints);
    let _ = std::fs::remove_dir_all(&data);

    let tally = tally.lock().unwrap_or_else(|e| e.into_inner());
    for (name, statuses) in &tally.statuses {
        let total: u64 = statuses.values().sum();
        println!("{name:<32} {total:>7} calls  {statuses:?}");
    }
    let checks = [
        (
            format!(
                "acknowledged DynamoDB items lost: {} of {}",
                lost_items.len(),
                tally.items.len()
            ),
            lost_items.is_empty(),
        ),
        (
            format!(
                "acknowledged Data API rows lost: {} of {}",
                lost_rows.len(),
                tally.rows.len()
            ),
            lost_rows.is_empty(),
        ),
        (
            format!(
                "requests that hung (no answer in {} s): {}",
                REQUEST_TIMEOUT.as_secs(),
                tally.hung
            ),
            tally.hung == 0,
        ),
        (
            format!(
                "RSS after warm-up {:.1} MB, at the end {:.1} MB (at most 1.5x)",
                rss.0 as f64 / 1024.0,
                rss.1 as f64 / 1024.0
            ),
            rss.1 * 2 <= rss.0 * 3,
        ),
        (
            format!(
                "open files after warm-up {}, at the end {} (at most 16 more)",
                fds.0, fds.1
            ),
            fds.1 <= fds.0 + 16,
        ),
        (
            format!(
                "function processes left after the server stopped: {}",
                orphans.len()
            ),
            orphans.is_empty(),
        ),
    ];
    let mut ok = true;
    for (text, passed) in &checks {
        println!("{} {text}", if *passed { "ok  " } else { "FAIL" });
        ok &= passed;
    }
    if ok {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}
