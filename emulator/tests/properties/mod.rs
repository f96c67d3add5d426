//! Property tests: arbitrary input through each wire gets a correct answer or a well-formed 4xx, never a panic, a
//! hang or a 5xx. Each property starts one emulator and runs its cases against it.
//!
//! `just test` runs a few cases of each; `just fuzz` runs many (`PROPTEST_CASES`). A failure prints the shrunk
//! input and the seed that replays the run (`PROPTEST_RNG_SEED`); nothing is written to the work tree.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Debug;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayV2httpRequest};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestError, TestRunner};
use serde_json::{Map, Value, json};

use crate::support::{Builder, Harness, faulty};

mod data_api;
mod dynamodb;
mod gateway_requests;
mod gateway_results;
mod runtime_api;

// The runner.

/// Runs `test` on `strategy`'s values: `default_cases` of them, or `PROPTEST_CASES`. The seed is
/// `PROPTEST_RNG_SEED` when set, so that a failure's seed replays the same inputs.
fn check<S>(
    name: &str,
    default_cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) where
    S: Strategy,
    S::Value: Debug,
{
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_cases);
    let seed = std::env::var("PROPTEST_RNG_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            use std::hash::BuildHasher;
            std::collections::hash_map::RandomState::new().hash_one(std::time::SystemTime::now())
        });
    let config = Config {
        cases,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(seed),
        max_shrink_iters: 1024,
        max_shrink_time: 60_000,
        ..Config::default()
    };
    match TestRunner::new(config).run(&strategy, test) {
        Ok(()) => {}
        Err(TestError::Fail(why, input)) => panic!(
            "{name}: {why}\nminimal failing input: {input:#?}\nreplay: PROPTEST_RNG_SEED={seed} PROPTEST_CASES={cases} \
             cargo test -p offcloud --test integration properties::{name}"
        ),
        Err(TestError::Abort(why)) => panic!("{name}: aborted: {why} (PROPTEST_RNG_SEED={seed})"),
    }
}

/// The emulator's runtime: its listeners and function processes go on between cases.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn fail(message: String) -> TestCaseError {
    TestCaseError::fail(message)
}

// A raw HTTP/1.1 client that checks the response's framing and never waits without end.

#[derive(Debug)]
enum NoReply {
    Timeout,
    Failed(String),
}

impl std::fmt::Display for NoReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Timeout => f.write_str("no answer in time"),
            Self::Failed(why) => f.write_str(why),
        }
    }
}

#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn headers(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body[..self.body.len().min(2000)]).into_owned()
    }
}

/// One request on a fresh connection, answered within `wait`.
async fn exchange(
    addr: &str,
    method: &str,
    target: &str,
    headers: &[(String, String)],
    body: &[u8],
    wait: Duration,
) -> Result<Reply, NoReply> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let work = async {
        let mut s = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| NoReply::Failed(format!("cannot connect: {e}")))?;
        let mut head = format!(
            "{method} {target} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-length: {}\r\n",
            body.len()
        )
        .into_bytes();
        for (k, v) in headers {
            head.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
        }
        head.extend_from_slice(b"\r\n");
        // A server may answer before it has read a large body: its answer is what counts, not the write.
        let mut wrote = s.write_all(&head).await;
        if wrote.is_ok() {
            wrote = s.write_all(body).await;
        }
        let mut buf = Vec::new();
        let read = s.read_to_end(&mut buf).await;
        parse_response(&buf, method == "HEAD")
            .map_err(|e| NoReply::Failed(format!("{e} (write: {wrote:?}, read: {read:?})")))
    };
    tokio::time::timeout(wait, work)
        .await
        .unwrap_or(Err(NoReply::Timeout))
}

fn parse_response(buf: &[u8], head_request: bool) -> Result<Reply, String> {
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| {
            format!(
                "no complete response in {} bytes: {:?}",
                buf.len(),
                String::from_utf8_lossy(&buf[..buf.len().min(300)])
            )
        })?;
    let head =
        std::str::from_utf8(&buf[..split]).map_err(|_| "a response head that is not UTF-8")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line
        .strip_prefix("HTTP/1.1 ")
        .and_then(|r| r.get(..3))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let mut headers = Vec::new();
    for line in lines {
        let (k, v) = line
            .split_once(':')
            .ok_or_else(|| format!("bad header line {line:?}"))?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    let raw = &buf[split + 4..];
    let lengths: Vec<&str> = headers
        .iter()
        .filter(|(k, _)| k == "content-length")
        .map(|(_, v)| v.as_str())
        .collect();
    let encoding: Vec<&str> = headers
        .iter()
        .filter(|(k, _)| k == "transfer-encoding")
        .map(|(_, v)| v.as_str())
        .collect();
    let body = if head_request || status == 204 || status == 304 || status < 200 {
        if !raw.is_empty() {
            return Err(format!(
                "{} body bytes in a response that has no body",
                raw.len()
            ));
        }
        Vec::new()
    } else if !encoding.is_empty() {
        if encoding.len() > 1 || !encoding[0].eq_ignore_ascii_case("chunked") || !lengths.is_empty()
        {
            return Err(format!(
                "transfer-encoding {encoding:?} with content-length {lengths:?}"
            ));
        }
        dechunk(raw)?
    } else {
        match lengths.as_slice() {
            [] => raw.to_vec(),
            [n] => {
                let n: usize = n.parse().map_err(|_| format!("content-length {n:?}"))?;
                if raw.len() != n {
                    return Err(format!(
                        "content-length {n} but {} body bytes: {:?}",
                        raw.len(),
                        String::from_utf8_lossy(&raw[..raw.len().min(300)])
                    ));
                }
                raw.to_vec()
            }
            more => {
                return Err(format!(
                    "content-length given {} times: {more:?}",
                    more.len()
                ));
            }
        }
    };
    Ok(Reply {
        status,
        headers,
        body,
    })
}

fn dechunk(mut raw: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let eol = raw
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("a chunk size line without its end")?;
        let line = std::str::from_utf8(&raw[..eol]).map_err(|_| "a chunk size that is not text")?;
        let size = usize::from_str_radix(line.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| format!("chunk size {line:?}"))?;
        raw = &raw[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        if raw.len() < size + 2 || &raw[size..size + 2] != b"\r\n" {
            return Err("a chunk shorter than its size".into());
        }
        out.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
}

// Strategies shared by the properties.

/// Any JSON value, a few levels deep.
fn json_value() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON has no NaN or infinity", |f| f.is_finite())
            .prop_map(Value::from),
        "\\PC{0,16}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            btree_map("\\PC{0,8}", inner, 0..6).prop_map(object),
        ]
    })
    .boxed()
}

fn object(m: BTreeMap<String, Value>) -> Value {
    Value::Object(m.into_iter().collect::<Map<_, _>>())
}

/// A header value as clients send them: visible characters with inner spaces, sometimes beyond ASCII.
fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        5 => "[!-~]([ !-~]{0,30}[!-~])?",
        1 => "[!-~\u{a0}-\u{d7ff}\u{e000}-\u{10ffff}]{1,12}",
    ]
}

/// `s` with every byte percent-encoded.
fn percent_all(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

/// `s` percent-encoded where a query string needs it: unreserved characters and most sub-delimiters stay.
fn query_encode(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-._~!$'()*,;:@/?".contains(c) {
                c.to_string()
            } else {
                percent_all(c.encode_utf8(&mut [0; 4]))
            }
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// A REST API (stage `Prod`) or an HTTP API with one `ANY /{proxy+}` route, in front of the proxy-mode fault
/// runtime.
fn gateway_config(kind: &str) -> String {
    let stage = if kind == "rest" {
        "stage = \"Prod\"\n"
    } else {
        ""
    };
    format!(
        "{}\n[[api]]\nname = \"p\"\ntype = \"{kind}\"\n{stage}[[api.route]]\nmethod = \"ANY\"\npath = \"/{{proxy+}}\"\nfunction = \"f\"\n",
        faulty(
            "f",
            "environment = { FAULT_MODE = \"proxy\" }\ntimeout = 10"
        )
    )
}

fn method() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(METHODS).prop_map(String::from),
        1 => "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}"
            .prop_filter("CONNECT takes an authority, not a path", |m| m != "CONNECT"),
    ]
}

/// The gateway's own error: `status` and `{"message": ...}`, whose body a `HEAD` answer leaves out.
fn expect_gateway_error(
    r: &Reply,
    method: &str,
    status: u16,
    message: &str,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(r.status, status, "body: {}", r.text());
    if method == "HEAD" {
        return Ok(());
    }
    prop_assert_eq!(
        r.json(),
        Some(json!({ "message": message })),
        "the gateway's own {} answer; got body {:?} with headers {:?}",
        status,
        r.text(),
        r.headers
    );
    Ok(())
}

const METHODS: &[&str] = &[
    "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE",
];
