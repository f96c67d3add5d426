//! OTLP export: with `--otlp-endpoint URL` (or `otlp_endpoint` in the config), finished spans are also sent to an
//! OpenTelemetry collector over OTLP/HTTP with protobuf bodies, so that Jaeger or any OpenTelemetry backend shows
//! the traces.
//!
//! Recording a span stays cheap: [`Export::send`] only tries to queue it on a bounded channel, and a full channel
//! drops the span (the in-memory ring still has it) and counts it. A background task takes what is queued, turns it
//! into `opentelemetry_sdk` `SpanData` and exports it with `opentelemetry-otlp`'s HTTP exporter, whose requests go
//! through Offcloud's own HTTP client. A failed export is logged once per streak of failures, and its spans are
//! lost to the collector.
//!
//! Mapping: the trace id is the 32 hex digits of the X-Ray root `1-xxxxxxxx-yyyyyyyyyyyyyyyyyyyyyyyy`, so the
//! collector's trace id reads as the root without its version and hyphens; span ids and parents are ours (16 hex
//! digits). Every span is of the one resource `service.name = offcloud`; which of Offcloud's services it is
//! (`apigateway`, `lambda`, `dynamodb`, `rds-data`) is the span's `offcloud.service` attribute, and its name is
//! ours (`POST /Prod/ports`, the function's name, the operation). Our attributes keep their keys, a failed span has
//! an error status with its message, and an invocation's log lines are events named `log`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use opentelemetry::trace::{
    Event, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{InstrumentationScope, KeyValue, Value as OtelValue};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanExporter, SpanLinks};
use serde_json::Value;
use tokio::sync::mpsc;

use super::{Span, last_hex};

/// How many finished spans wait for the exporter before new ones are dropped.
pub const QUEUE: usize = 4096;

/// The most spans one export request carries.
const BATCH: usize = 512;

/// How long one export request may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Why OTLP export cannot start.
#[derive(Debug, thiserror::Error)]
pub enum OtlpError {
    #[error("OTLP endpoint: {1}")]
    Endpoint(String, String),
    #[error("cannot build the OTLP exporter: {0}")]
    Exporter(String),
}

/// The URL that traces are posted to: the endpoint's base URL with OTLP's `/v1/traces` path, unless it ends with
/// that already. Only `http` and `https` URLs with a host are taken.
pub fn traces_url(endpoint: &str) -> Result<String, String> {
    let uri: http::Uri = endpoint.parse().map_err(|e| format!("{e}"))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() {
        return Err(format!(
            "{endpoint:?} is not an http:// or https:// URL, such as http://127.0.0.1:4318"
        ));
    }
    let base = endpoint.trim_end_matches('/');
    Ok(if base.ends_with("/v1/traces") {
        base.to_string()
    } else {
        format!("{base}/v1/traces")
    })
}

/// The recording side: queues finished spans for the background task.
pub struct Export {
    queue: mpsc::Sender<(String, Span)>,
    dropped: Arc<AtomicU64>,
}

impl Export {
    /// Queues a copy of `span` of trace `root`, or drops it when the queue is full. Never waits.
    pub fn send(&self, root: &str, span: &Span) {
        if self
            .queue
            .try_send((root.to_string(), span.clone()))
            .is_err()
        {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Starts exporting to the collector at `endpoint` (a base URL, see [`traces_url`]): the recording side and the
/// background task, which ends when the recording side is dropped.
pub fn start(endpoint: &str) -> Result<(Export, tokio::task::JoinHandle<()>), OtlpError> {
    let url = traces_url(endpoint).map_err(|e| OtlpError::Endpoint(endpoint.to_string(), e))?;
    let mut exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(Client::default())
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(url.clone())
        .with_timeout(TIMEOUT)
        .build()
        .map_err(|e| OtlpError::Exporter(e.to_string()))?;
    exporter.set_resource(&resource());
    tracing::info!("exporting traces over OTLP/HTTP to {url}");
    let (queue, spans) = mpsc::channel(QUEUE);
    let dropped = Arc::new(AtomicU64::new(0));
    let task = tokio::spawn(run(exporter, url, spans, dropped.clone()));
    Ok((Export { queue, dropped }, task))
}

fn resource() -> Resource {
    Resource::builder_empty()
        .with_service_name("offcloud")
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Exports what is queued, a batch at a time, until the recording side is gone.
async fn run(
    exporter: impl SpanExporter,
    url: String,
    mut spans: mpsc::Receiver<(String, Span)>,
    dropped: Arc<AtomicU64>,
) {
    let scope = InstrumentationScope::builder("offcloud")
        .with_version(env!("CARGO_PKG_VERSION"))
        .build();
    let mut failing = false;
    let mut batch = Vec::with_capacity(BATCH);
    while spans.recv_many(&mut batch, BATCH).await > 0 {
        let data = batch
            .drain(..)
            .map(|(root, span)| span_data(&root, &span, &scope))
            .collect();
        match exporter.export(data).await {
            Ok(()) if failing => {
                tracing::info!("OTLP export to {url} works again");
                failing = false;
            }
            Ok(()) => {}
            Err(e) if !failing => {
                tracing::warn!(
                    "OTLP export to {url} failed: {e}; spans are dropped until it works again (they are still at /_offcloud/api/traces)"
                );
                failing = true;
            }
            Err(_) => {}
        }
        let lost = dropped.swap(0, Ordering::Relaxed);
        if lost > 0 {
            tracing::warn!(
                "OTLP export: the queue of {QUEUE} spans was full, dropped {lost} (they are still at /_offcloud/api/traces)"
            );
        }
    }
}

/// The OpenTelemetry span of our `span`, in trace `root`.
pub fn span_data(root: &str, span: &Span, scope: &InstrumentationScope) -> SpanData {
    let trace_id = TraceId::from_hex(&last_hex(root.strip_prefix("1-").unwrap_or(root), 32))
        .unwrap_or(TraceId::INVALID);
    let id = |hex: &str| SpanId::from_hex(&last_hex(hex, 16)).unwrap_or(SpanId::INVALID);
    let start_time = SystemTime::UNIX_EPOCH + Duration::from_millis(span.start_ms);
    let end_time = start_time + Duration::from_micros(span.duration_us);
    let mut attributes = vec![KeyValue::new("offcloud.service", span.service.clone())];
    attributes.extend(
        span.attributes
            .iter()
            .map(|(k, v)| KeyValue::new(k.clone(), value(v))),
    );
    let mut events = SpanEvents::default();
    events.events = span
        .logs
        .iter()
        .map(|line| {
            Event::new(
                "log",
                end_time,
                vec![KeyValue::new("message", line.clone())],
                0,
            )
        })
        .collect();
    SpanData {
        span_context: SpanContext::new(
            trace_id,
            id(&span.id),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        ),
        parent_span_id: span.parent.as_deref().map_or(SpanId::INVALID, id),
        parent_span_is_remote: false,
        span_kind: SpanKind::Server,
        name: span.name.clone().into(),
        start_time,
        end_time,
        attributes,
        dropped_attributes_count: 0,
        events,
        links: SpanLinks::default(),
        status: match &span.error {
            Some(e) => Status::error(e.clone()),
            None if span.status == "error" => Status::error(""),
            None => Status::Unset,
        },
        instrumentation_scope: scope.clone(),
    }
}

/// A JSON attribute as an OpenTelemetry value: booleans, numbers, strings and arrays of strings as themselves,
/// anything else as its JSON text.
fn value(v: &Value) -> OtelValue {
    match v {
        Value::Bool(b) => OtelValue::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => OtelValue::I64(i),
            None => OtelValue::F64(n.as_f64().unwrap_or_default()),
        },
        Value::String(s) => OtelValue::String(s.clone().into()),
        Value::Array(items) if items.iter().all(Value::is_string) => {
            OtelValue::Array(opentelemetry::Array::String(
                items
                    .iter()
                    .filter_map(|i| i.as_str())
                    .map(|s| s.to_string().into())
                    .collect(),
            ))
        }
        other => OtelValue::String(other.to_string().into()),
    }
}

/// The exporter's HTTP client: Offcloud's own, with TLS for `https` collectors. It is made on the first export,
/// off the async workers, because it reads the machine's root certificates.
#[derive(Clone, Default)]
struct Client(Arc<tokio::sync::OnceCell<crate::net::Client>>);

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("offcloud::net::Client")
    }
}

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for Client {
    async fn send_bytes(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, opentelemetry_http::HttpError> {
        let (parts, body) = request.into_parts();
        let headers: Vec<(String, String)> = parts
            .headers
            .iter()
            .filter_map(|(k, v)| Some((k.to_string(), v.to_str().ok()?.to_string())))
            .collect();
        let url = parts.uri.to_string();
        let client = self
            .0
            .get_or_try_init(|| tokio::task::spawn_blocking(crate::net::Client::new))
            .await?;
        let sent = client.send(parts.method.as_str(), &url, &headers, body);
        let resp = tokio::time::timeout(TIMEOUT, sent)
            .await
            .map_err(|_| format!("no answer from {url} in {TIMEOUT:?}"))??;
        let mut out = http::Response::new(resp.body);
        *out.status_mut() = resp.status;
        *out.headers_mut() = resp.headers;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::Pending;

    #[test]
    fn the_traces_url_is_the_base_with_otlp_s_path() {
        assert_eq!(
            traces_url("http://127.0.0.1:4318").unwrap(),
            "http://127.0.0.1:4318/v1/traces"
        );
        assert_eq!(
            traces_url("https://collector.example/otlp/").unwrap(),
            "https://collector.example/otlp/v1/traces"
        );
        assert_eq!(
            traces_url("http://jaeger:4318/v1/traces").unwrap(),
            "http://jaeger:4318/v1/traces"
        );
        assert!(traces_url("127.0.0.1:4318").is_err());
        assert!(traces_url("ftp://x/").is_err());
    }

    #[test]
    fn a_span_maps_to_otlp_with_the_x_ray_root_as_trace_id() {
        let mut p = Pending::start(
            "9f700123456789ab".into(),
            Some("53995c3f42cd8ad8".into()),
            "dynamodb",
            "PutItem",
            1_700_000_000_123,
        );
        p.set("tables", serde_json::json!(["port-master"]));
        p.set("status", 400);
        p.set("cold", true);
        p.set("nested", serde_json::json!({"a": 1}));
        p.logs(vec!["a line".into()]);
        p.fail("ConditionalCheckFailedException: no");
        let span = p.finish();
        let scope = InstrumentationScope::builder("offcloud").build();
        let d = span_data("1-5759e988-bd862e3fe1be46a994272793", &span, &scope);
        assert_eq!(
            d.span_context.trace_id().to_string(),
            "5759e988bd862e3fe1be46a994272793"
        );
        assert_eq!(d.span_context.span_id().to_string(), "9f700123456789ab");
        assert_eq!(d.parent_span_id.to_string(), "53995c3f42cd8ad8");
        assert_eq!(d.name, "PutItem");
        assert_eq!(
            d.start_time,
            SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123)
        );
        assert!(d.end_time >= d.start_time);
        assert_eq!(
            d.status,
            Status::error("ConditionalCheckFailedException: no")
        );
        let attr = |k: &str| {
            d.attributes
                .iter()
                .find(|kv| kv.key.as_str() == k)
                .map(|kv| kv.value.clone())
        };
        assert_eq!(attr("offcloud.service"), Some("dynamodb".into()));
        assert_eq!(attr("status"), Some(OtelValue::I64(400)));
        assert_eq!(attr("cold"), Some(OtelValue::Bool(true)));
        assert_eq!(
            attr("tables"),
            Some(OtelValue::Array(opentelemetry::Array::String(vec![
                "port-master".into()
            ])))
        );
        assert_eq!(attr("nested"), Some(r#"{"a":1}"#.into()));
        assert_eq!(d.events.events.len(), 1);
        assert_eq!(d.events.events[0].name, "log");

        let root = Pending::start("1".into(), None, "apigateway", "GET /", 0).finish();
        let d = span_data("1-5759e988-bd862e3fe1be46a994272793", &root, &scope);
        assert_eq!(d.parent_span_id, SpanId::INVALID);
        assert_eq!(d.status, Status::Unset);
    }

    #[tokio::test]
    async fn a_full_queue_drops_and_counts_without_waiting() {
        let (queue, _spans) = mpsc::channel(1);
        let export = Export {
            queue,
            dropped: Arc::default(),
        };
        let span = Pending::start("1".into(), None, "lambda", "f", 0).finish();
        for _ in 0..3 {
            export.send("1-00000000-000000000000000000000001", &span);
        }
        assert_eq!(export.dropped.load(Ordering::Relaxed), 2);
    }
}
