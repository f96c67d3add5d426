//! The Data API as MySQL behaves: every statement of `corpus/` runs through Offcloud's Data API and through a
//! MariaDB server in MySQL 5.7 mode that this test starts, and the two are compared: success or error, the error's
//! text, values and their `Field` types, column labels, affected rows and the generated id.
//!
//! Each statement ends as one of three: it **agrees**; Offcloud **refuses** it by name; or it **differs**.
//! `expected.toml` says which each statement does today, and why where it is not agreement, so that a case fails
//! when its behaviour changes either way. `DIFF_BLESS=1` rewrites that file from a run (never under CI); read the
//! change before committing it.
//!
//! Every statement runs a second time through the Data API on the server backend (`url = "mysql://..."`), against
//! the same MariaDB: there each must agree, as the statements run as they are.
//!
//! Without MariaDB the test says so loudly and runs nothing, except under CI, where it fails.

mod corpus;
mod outcome;
#[path = "../servers/mod.rs"]
mod servers;

use servers::mariadb as server;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use libtest_mimic::{Arguments, Failed, Trial};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use corpus::{Case, End};
use offcloud::rdsdata::{DataApi, Operation};
use outcome::Outcome;

const ARN: &str = "arn:aws:rds:us-east-1:123456789012:cluster:diff";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Verdict {
    Agree,
    Refused,
    Differs,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Expected {
    verdict: Verdict,
    /// What differs, or what was refused: empty for agreement.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    why: String,
}

struct Sides {
    maria: server::MariaDb,
    runtime: tokio::runtime::Runtime,
}

fn here() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mysql")
}

/// A Data API of its own for each case, so that cases share nothing (and a cluster stays under SQLite's 125
/// attached databases); on the server at `url` when one is given.
fn data_api(database: &str, url: Option<String>) -> DataApi {
    let mut text = format!("[[cluster]]\narn = \"{ARN}\"\ndatabase = \"{database}\"\n");
    if let Some(url) = url {
        text.push_str(&format!("url = \"{url}\"\n"));
    }
    let config = offcloud::config::Config::parse("diff.toml", &text, Path::new("."))
        .expect("the test's config parses");
    DataApi::open(&config, None, offcloud::clock::Env::default()).expect("the Data API opens")
}

fn call(api: &DataApi, op: Operation, mut body: Value) -> Result<Value, String> {
    body["resourceArn"] = json!(ARN);
    body["secretArn"] = json!("any");
    api.call(op, &body)
        .map_err(|e| outcome::canonical(&e.to_string()))
}

impl Sides {
    /// Runs one case on both sides, in a database of its own, and judges it: through the SQLite engine, or
    /// through the server backend on the same MariaDB.
    fn judge(&self, index: usize, case: &Case, on_server: bool) -> Result<Expected, String> {
        let db = format!("{}{index}", if on_server { "s" } else { "c" });
        let url = on_server.then(|| format!("mysql://root@127.0.0.1:{}", self.maria.port));
        self.runtime.block_on(async {
            let mut conn = mysql_async::Conn::new(self.maria.opts(None))
                .await
                .map_err(|e| e.to_string())?;
            let create = outcome::from_mariadb(&mut conn, &format!("CREATE DATABASE {db}")).await;
            if let Outcome::Err(e) = create {
                return Err(e);
            }
            let _ = outcome::from_mariadb(&mut conn, &format!("USE {db}")).await;
            // On the server backend the Data API's side has a database of its own on the same server.
            let api_db = if on_server {
                format!("d{index}")
            } else {
                db.clone()
            };
            if on_server {
                let create =
                    outcome::from_mariadb(&mut conn, &format!("CREATE DATABASE {api_db}")).await;
                if let Outcome::Err(e) = create {
                    return Err(e);
                }
            }
            let api = data_api(&api_db, url);
            let judged = compare(
                &api,
                &api_db,
                case,
                &mut conn,
                on_server.then_some(db.as_str()),
            )
            .await;
            let _ = conn.disconnect().await;
            judged
        })
    }
}

async fn compare(
    api: &DataApi,
    db: &str,
    case: &Case,
    conn: &mut mysql_async::Conn,
    // On the server backend, the database MariaDB's side runs in.
    on_server: Option<&str>,
) -> Result<Expected, String> {
    let ours = |sql: &str, params: Value, tx: Option<&str>| {
        let mut body = json!({"sql": sql, "database": db, "includeResultMetadata": true,
                "parameters": params});
        if let Some(tx) = tx {
            body["transactionId"] = json!(tx);
        }
        let mut r = call(api, Operation::ExecuteStatement, body);
        // The server words its errors as MariaDB does, as the other side is worded before comparing, and names
        // its own database in them.
        if let Some(theirs) = on_server {
            r = r.map_err(|m| outcome::normalise(&m.replace(db, theirs)));
        }
        outcome::from_data_api(r)
    };
    for (i, sql) in case.setup.iter().enumerate() {
        if let Outcome::Err(e) = outcome::from_mariadb(conn, sql).await {
            return Err(format!("setup statement {} fails on MariaDB: {e}", i + 1));
        }
        let mine = ours(sql, json!([]), None);
        if matches!(mine, Outcome::Err(_)) {
            return Ok(verdict(
                &mine,
                format!("setup {}: {}", i + 1, mine.describe()),
            ));
        }
    }
    let params: Vec<Value> = case.params.iter().map(|p| p.to_data_api()).collect();
    let theirs_sql = corpus::substitute(&case.sql, &case.params);
    let (theirs, mine) = match case.transaction {
        None => (
            outcome::from_mariadb(conn, &theirs_sql).await,
            ours(&case.sql, json!(params), None),
        ),
        Some(end) => {
            outcome::from_mariadb(conn, "START TRANSACTION").await;
            let theirs = outcome::from_mariadb(conn, &theirs_sql).await;
            let finish = if end == End::Commit {
                "COMMIT"
            } else {
                "ROLLBACK"
            };
            outcome::from_mariadb(conn, finish).await;
            let begin = call(api, Operation::BeginTransaction, json!({"database": db}))?;
            let tx = begin["transactionId"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let mine = ours(&case.sql, json!(params), Some(&tx));
            let op = if end == End::Commit {
                Operation::CommitTransaction
            } else {
                Operation::RollbackTransaction
            };
            call(api, op, json!({"transactionId": tx}))?;
            (theirs, mine)
        }
    };
    if theirs != mine {
        return Ok(verdict(
            &mine,
            format!(
                "MySQL: {}; Offcloud: {}",
                theirs.describe(),
                mine.describe()
            ),
        ));
    }
    if let Some(then) = &case.then {
        let theirs = outcome::from_mariadb(conn, then).await;
        let mine = ours(then, json!([]), None);
        if theirs != mine {
            return Ok(verdict(
                &mine,
                format!(
                    "then: MySQL: {}; Offcloud: {}",
                    theirs.describe(),
                    mine.describe()
                ),
            ));
        }
    }
    Ok(Expected {
        verdict: Verdict::Agree,
        why: String::new(),
    })
}

/// A disagreement is a refusal when Offcloud's side refused by name, and a difference otherwise.
fn verdict(mine: &Outcome, why: String) -> Expected {
    let verdict = if mine.is_refusal() {
        Verdict::Refused
    } else {
        Verdict::Differs
    };
    let mut why = why;
    if why.chars().count() > 400 {
        why = why.chars().take(400).collect::<String>() + "…";
    }
    Expected { verdict, why }
}

fn read_expected(path: &Path) -> BTreeMap<String, Expected> {
    std::fs::read_to_string(path)
        .ok()
        .map(|t| toml::from_str(&t).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .unwrap_or_default()
}

fn summary(results: &BTreeMap<String, Expected>) -> String {
    let count = |v| results.values().filter(|e| e.verdict == v).count();
    let (agree, refused, differs) = (
        count(Verdict::Agree),
        count(Verdict::Refused),
        count(Verdict::Differs),
    );
    let total = results.len().max(1);
    format!(
        "MySQL differential: {} statements, {agree} agree ({:.0}%), {refused} refused by name, {differs} differ",
        results.len(),
        100.0 * agree as f64 / total as f64
    )
}

fn main() {
    let args = Arguments::from_args();
    let cases = corpus::load(&here().join("corpus")).unwrap_or_else(|e| panic!("{e}"));
    let expected_path = here().join("expected.toml");
    let expected = read_expected(&expected_path);
    let ci = std::env::var_os("CI").is_some();
    let Some((server, install)) = server::installed() else {
        eprintln!(
            "\n\n*** MariaDB is not installed: the {} MySQL differential cases did not run. ***\n\
             *** Install it with: sudo apt-get install -y mariadb-server                ***\n",
            cases.len()
        );
        if ci {
            std::process::exit(1);
        }
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let maria = runtime
        .block_on(server::MariaDb::start(&server, &install))
        .unwrap_or_else(|e| panic!("{e}"));
    let sides = Arc::new(Sides { maria, runtime });
    let results = Arc::new(Mutex::new(BTreeMap::new()));

    if std::env::var_os("DIFF_BLESS").is_some() {
        assert!(!ci, "DIFF_BLESS never runs under CI");
        let mut all = BTreeMap::new();
        for (i, (_, case)) in cases.iter().enumerate() {
            let judged = sides
                .judge(i, case, false)
                .unwrap_or_else(|e| panic!("{}: {e}", case.name));
            all.insert(case.name.clone(), judged);
        }
        let header = "# What each corpus statement does today, written by `DIFF_BLESS=1 cargo test -p offcloud \
                      --test mysql_differential`.\n# `why` names each difference from MySQL: every one is a FIXME.\n\n";
        let text = header.to_string() + &toml::to_string(&all).expect("expectations serialize");
        std::fs::write(&expected_path, text).expect("expected.toml is written");
        println!("{}", summary(&all));
        return;
    }

    let server_agreed = Arc::new(Mutex::new((0usize, 0usize)));
    let on_server: Vec<Trial> = cases
        .iter()
        .enumerate()
        .map(|(i, (file, case))| {
            let sides = sides.clone();
            let case = case.clone();
            let agreed = server_agreed.clone();
            Trial::test(format!("server::{file}::{}", case.name), move || {
                let got = sides.judge(i, &case, true).map_err(Failed::from)?;
                let mut agreed = agreed.lock().unwrap();
                agreed.1 += 1;
                if got.verdict != Verdict::Agree {
                    return Err(
                        format!("the server backend differs from MariaDB: {}", got.why).into(),
                    );
                }
                agreed.0 += 1;
                Ok(())
            })
        })
        .collect();
    let trials = cases
        .into_iter()
        .enumerate()
        .map(|(i, (file, case))| {
            let sides = sides.clone();
            let results = results.clone();
            let want = expected.get(&case.name).cloned();
            Trial::test(format!("{file}::{}", case.name), move || {
                let got = sides.judge(i, &case, false).map_err(Failed::from)?;
                results
                    .lock()
                    .unwrap()
                    .insert(case.name.clone(), got.clone());
                match want {
                    Some(w) if w == got => Ok(()),
                    Some(w) => Err(format!(
                        "expected {:?} ({}), got {:?} ({}); if this is the change you meant, run DIFF_BLESS=1",
                        w.verdict, w.why, got.verdict, got.why
                    )
                    .into()),
                    None => Err(format!(
                        "not in expected.toml: {:?} ({}); run DIFF_BLESS=1",
                        got.verdict, got.why
                    )
                    .into()),
                }
            })
        })
        .chain(on_server)
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    let results = results.lock().unwrap();
    if !results.is_empty() {
        println!("{}", summary(&results));
    }
    let (agreed, ran) = *server_agreed.lock().unwrap();
    if ran > 0 {
        println!("MySQL differential on the server backend: {ran} statements, {agreed} agree");
    }
    drop(results);
    drop(sides);
    conclusion.exit();
}
