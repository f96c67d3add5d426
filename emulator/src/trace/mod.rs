//! Traces: what each request that entered Offcloud did. A trace is identified by the root of AWS's
//! `X-Amzn-Trace-Id` (`Root=1-<8 hex epoch seconds>-<24 hex>`) and holds spans, one per step: the API Gateway
//! request, the Lambda invocation, each DynamoDB or Data API call. A span's parent is the step that caused it.
//!
//! The trace id travels as AWS's does: API Gateway passes it to the function in `Lambda-Runtime-Trace-Id`, with its
//! own span as the `Parent`; the runtime sets `_X_AMZN_TRACE_ID`; the AWS SDKs send it back as `X-Amzn-Trace-Id` on
//! the calls the function makes, which therefore join the trace of the invocation that made them.
//! Source: https://docs.aws.amazon.com/xray/latest/devguide/xray-concepts.html#xray-concepts-tracingheader
//!
//! - [`header`] reads and writes the header.
//! - [`api`] serves the traces at `/_offcloud/api/traces`.
//! - [`otlp`] also exports them to an OpenTelemetry collector, when one is configured.
//!
//! Traces are kept in memory, in a ring of the most recent ones.

pub mod api;
pub mod header;
pub mod otlp;

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Instant;

use serde::Serialize;
use serde_json::{Map, Value};

pub use header::TraceHeader;

/// How many traces are kept by default; the oldest go first.
pub const DEFAULT_CAPACITY: usize = 1000;

/// The most spans one trace keeps: a runaway loop of calls does not grow it past this.
const MAX_SPANS: usize = 1000;

/// One step of a trace.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Span {
    /// 16 hex digits, as an X-Ray segment id.
    pub id: String,
    pub parent: Option<String>,
    /// `apigateway`, `lambda`, `dynamodb` or `rds-data`.
    pub service: String,
    /// What ran: `POST /Prod/ports`, the function's name, `TransactWriteItems`, ...
    pub name: String,
    /// When it began, by the emulator's clock, in milliseconds since the epoch.
    pub start_ms: u64,
    pub duration_us: u64,
    /// `ok` or `error`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub attributes: Map<String, Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<String>,
}

/// A span being timed: [`Pending::finish`] turns it into a [`Span`].
pub struct Pending {
    span: Span,
    started: Instant,
}

impl Pending {
    /// A span of `service` named `name`, begun now (`now_ms` by the emulator's clock).
    pub fn start(
        id: String,
        parent: Option<String>,
        service: &str,
        name: impl Into<String>,
        now_ms: u64,
    ) -> Self {
        Pending {
            span: Span {
                id,
                parent,
                service: service.to_string(),
                name: name.into(),
                start_ms: now_ms,
                duration_us: 0,
                status: "ok".into(),
                error: None,
                attributes: Map::new(),
                logs: vec![],
            },
            started: Instant::now(),
        }
    }

    pub fn id(&self) -> &str {
        &self.span.id
    }

    /// Sets an attribute.
    pub fn set(&mut self, key: &str, value: impl Into<Value>) {
        self.span.attributes.insert(key.to_string(), value.into());
    }

    /// Marks the span failed, with why.
    pub fn fail(&mut self, error: impl Into<String>) {
        self.span.status = "error".into();
        self.span.error = Some(error.into());
    }

    pub fn logs(&mut self, lines: Vec<String>) {
        self.span.logs = lines;
    }

    /// The span, timed from its start to now.
    pub fn finish(mut self) -> Span {
        self.span.duration_us = self.started.elapsed().as_micros() as u64;
        self.span
    }
}

/// One trace: its id (the header's root) and its spans, in the order they ended.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Trace {
    pub id: String,
    pub spans: Vec<Span>,
}

impl Trace {
    /// When the first span began.
    pub fn start_ms(&self) -> u64 {
        self.spans.iter().map(|s| s.start_ms).min().unwrap_or(0)
    }

    /// `error` when any span failed.
    pub fn status(&self) -> &'static str {
        if self.spans.iter().any(|s| s.status == "error") {
            "error"
        } else {
            "ok"
        }
    }

    /// The functions it invoked.
    pub fn functions(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .spans
            .iter()
            .filter(|s| s.service == "lambda")
            .map(|s| s.name.as_str())
            .collect();
        names.dedup();
        names
    }

    /// The span nobody in the trace caused: the request that began it.
    pub fn root(&self) -> Option<&Span> {
        self.spans.iter().find(|s| {
            s.parent
                .as_ref()
                .is_none_or(|p| !self.spans.iter().any(|o| &o.id == p))
        })
    }

    /// From the first span's start to the last one's end, in microseconds.
    pub fn duration_us(&self) -> u64 {
        let start = self.start_ms() * 1000;
        self.spans
            .iter()
            .map(|s| s.start_ms * 1000 + s.duration_us)
            .max()
            .unwrap_or(start)
            .saturating_sub(start)
    }
}

/// A trace as an indented tree, a line per span under the span that caused it: service, name, duration, and what
/// went wrong; an invocation's log lines follow it, marked `|`.
pub fn tree(t: &Trace) -> String {
    fn line(out: &mut String, t: &Trace, s: &Span, depth: usize) {
        let pad = "  ".repeat(depth);
        let mut text = format!(
            "{pad}{} {}  {:.3} ms",
            s.service,
            s.name,
            s.duration_us as f64 / 1000.0
        );
        if s.attributes.get("cold") == Some(&Value::Bool(true)) {
            text.push_str("  cold");
        }
        if let Some(status) = s.attributes.get("status") {
            text.push_str(&format!("  {status}"));
        }
        if let Some(e) = &s.error {
            text.push_str(&format!("  error: {e}"));
        }
        out.push_str(&text);
        out.push('\n');
        for l in &s.logs {
            out.push_str(&format!("{pad}  | {l}\n"));
        }
        for child in t
            .spans
            .iter()
            .filter(|c| c.parent.as_deref() == Some(&s.id))
        {
            line(out, t, child, depth + 1);
        }
    }
    let mut out = String::new();
    let roots = t.spans.iter().filter(|s| {
        s.parent
            .as_ref()
            .is_none_or(|p| !t.spans.iter().any(|o| &o.id == p))
    });
    for root in roots {
        line(&mut out, t, root, 0);
    }
    out
}

struct Ring {
    /// Trace ids, oldest first.
    order: VecDeque<String>,
    traces: HashMap<String, Trace>,
}

/// The most recent traces, at most `capacity` of them.
pub struct Traces {
    capacity: usize,
    ring: Mutex<Ring>,
    export: Option<otlp::Export>,
}

impl Default for Traces {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY)
    }
}

impl Traces {
    pub fn new(capacity: usize) -> Self {
        Traces {
            capacity: capacity.max(1),
            ring: Mutex::new(Ring {
                order: VecDeque::new(),
                traces: HashMap::new(),
            }),
            export: None,
        }
    }

    /// Also exports every span recorded from now on to the OTLP collector at `endpoint` (a base URL such as
    /// `http://127.0.0.1:4318`). The returned task does the exporting; it ends when these traces are dropped.
    pub fn export_to(
        &mut self,
        endpoint: &str,
    ) -> Result<tokio::task::JoinHandle<()>, otlp::OtlpError> {
        let (export, task) = otlp::start(endpoint)?;
        self.export = Some(export);
        Ok(task)
    }

    fn ring(&self) -> std::sync::MutexGuard<'_, Ring> {
        self.ring.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a finished span to trace `id`, which begins if it is new; the oldest trace goes past the capacity.
    pub fn record(&self, id: &str, span: Span) {
        if let Some(export) = &self.export {
            export.send(id, &span);
        }
        let mut ring = self.ring();
        if let Some(t) = ring.traces.get_mut(id) {
            if t.spans.len() < MAX_SPANS {
                t.spans.push(span);
            }
            return;
        }
        if ring.order.len() >= self.capacity
            && let Some(oldest) = ring.order.pop_front()
        {
            ring.traces.remove(&oldest);
        }
        ring.order.push_back(id.to_string());
        ring.traces.insert(
            id.to_string(),
            Trace {
                id: id.to_string(),
                spans: vec![span],
            },
        );
    }

    pub fn get(&self, id: &str) -> Option<Trace> {
        self.ring().traces.get(id).cloned()
    }

    /// The traces that `keep` takes, newest first, at most `limit` of them.
    pub fn list(&self, keep: impl Fn(&Trace) -> bool, limit: usize) -> Vec<Trace> {
        let ring = self.ring();
        ring.order
            .iter()
            .rev()
            .filter_map(|id| ring.traces.get(id))
            .filter(|t| keep(t))
            .take(limit)
            .cloned()
            .collect()
    }
}

/// The most of a request or response body that a span keeps.
pub const MAX_BODY: usize = 4 * 1024;

/// A body as a span keeps it: text (invalid UTF-8 replaced), cut at [`MAX_BODY`] bytes with a note of the size.
pub fn body_text(body: &[u8]) -> String {
    if body.len() <= MAX_BODY {
        return String::from_utf8_lossy(body).into_owned();
    }
    let mut cut = MAX_BODY;
    // A cut inside a UTF-8 sequence would leave a replacement character; back up to the sequence's start.
    while cut > 0 && (body[cut] & 0xC0) == 0x80 {
        cut -= 1;
    }
    format!(
        "{}… ({} bytes in all)",
        String::from_utf8_lossy(&body[..cut]),
        body.len()
    )
}

/// A span id: the last 16 hex digits of the step's request id (a UUID), so that no id is drawn for it.
pub fn span_id(request_id: &str) -> String {
    last_hex(request_id, 16)
}

/// The last `n` hex digits of an id, in lower case, padded with zeros when it has fewer.
pub fn last_hex(id: &str, n: usize) -> String {
    let hex: String = id
        .chars()
        .filter(char::is_ascii_hexdigit)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let hex = format!("{hex:0>n$}");
    hex[hex.len() - n..].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(id: &str, parent: Option<&str>, service: &str) -> Span {
        let mut p = Pending::start(id.into(), parent.map(str::to_string), service, "x", 1_000);
        if service == "dynamodb" {
            p.fail("ResourceNotFoundException");
        }
        p.finish()
    }

    #[test]
    fn spans_join_their_trace_and_the_ring_keeps_the_newest() {
        let traces = Traces::new(2);
        traces.record("a", span("1", None, "apigateway"));
        traces.record("a", span("2", Some("1"), "lambda"));
        traces.record("a", span("3", Some("2"), "dynamodb"));
        let a = traces.get("a").unwrap();
        assert_eq!(a.spans.len(), 3);
        assert_eq!(a.root().unwrap().id, "1");
        assert_eq!(a.status(), "error");
        assert_eq!(a.functions(), ["x"]);
        traces.record("b", span("4", None, "lambda"));
        traces.record("c", span("5", None, "lambda"));
        assert!(traces.get("a").is_none());
        let ids: Vec<String> = traces
            .list(|_| true, 10)
            .into_iter()
            .map(|t| t.id)
            .collect();
        assert_eq!(ids, ["c", "b"]);
        assert_eq!(traces.list(|_| true, 1).len(), 1);
    }

    #[test]
    fn a_trace_prints_as_a_tree_of_its_spans() {
        let mut gateway = Pending::start("1".into(), None, "apigateway", "POST /Prod/ports", 0);
        gateway.set("status", 200);
        let mut function = Pending::start("2".into(), Some("1".into()), "lambda", "port-master", 0);
        function.set("cold", true);
        function.logs(vec!["allocating".into()]);
        let mut call = Pending::start("3".into(), Some("2".into()), "dynamodb", "PutItem", 0);
        call.fail("ConditionalCheckFailedException: The conditional request failed");
        let t = Trace {
            id: "t".into(),
            spans: vec![call.finish(), function.finish(), gateway.finish()],
        };
        let text = tree(&t);
        let duration = regex::Regex::new(r"  \d+\.\d{3} ms").unwrap();
        let lines: Vec<String> = text
            .lines()
            .map(|l| duration.replace(l, "").to_string())
            .collect();
        assert_eq!(
            lines,
            [
                "apigateway POST /Prod/ports  200",
                "  lambda port-master  cold",
                "    | allocating",
                "    dynamodb PutItem  error: ConditionalCheckFailedException: The conditional request failed",
            ]
        );
    }

    #[test]
    fn bodies_are_kept_as_text_up_to_a_limit() {
        assert_eq!(body_text(b"{\"a\":1}"), "{\"a\":1}");
        let long = "é".repeat(MAX_BODY);
        let kept = body_text(long.as_bytes());
        assert!(
            kept.ends_with(&format!("… ({} bytes in all)", long.len())),
            "{kept}"
        );
        assert!(!kept.contains('\u{FFFD}'));
        assert!(kept.len() < MAX_BODY + 40);
    }

    #[test]
    fn span_ids_are_sixteen_hex_digits() {
        assert_eq!(
            span_id("8f3e0c2a-1b4d-4c6e-9f70-0123456789ab"),
            "9f700123456789ab"
        );
        assert_eq!(span_id("ab"), "00000000000000ab");
    }
}
