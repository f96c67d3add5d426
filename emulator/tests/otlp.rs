//! OTLP export: with `otlp_endpoint`, the spans of a trace reach an OpenTelemetry collector over OTLP/HTTP, with the
//! trace id, ids and parents that `/_offcloud/api/traces` shows; a collector that cannot be reached fails nothing.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use serde_json::{Value, json};

use crate::support::{Builder, api_call, json_of, main_call};
use crate::traces::span;

/// A tiny OTLP/HTTP collector on a loopback port: it keeps every `POST /v1/traces` protobuf request it decodes and
/// answers 200 with an empty response.
struct Collector {
    addr: SocketAddr,
    received: Arc<Mutex<Vec<ExportTraceServiceRequest>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Collector {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let kept = received.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let kept = kept.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let kept = kept.clone();
                        async move {
                            let ok = req.method() == hyper::Method::POST
                                && req.uri().path() == "/v1/traces"
                                && req.headers().get("content-type").map(|v| v.as_bytes())
                                    == Some(b"application/x-protobuf");
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            let status = match ExportTraceServiceRequest::decode(body) {
                                Ok(export) if ok => {
                                    kept.lock().unwrap().push(export);
                                    200
                                }
                                _ => 400,
                            };
                            Ok::<_, Infallible>(
                                hyper::Response::builder()
                                    .status(status)
                                    .header("content-type", "application/x-protobuf")
                                    .body(Full::new(Bytes::new()))
                                    .unwrap(),
                            )
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            addr,
            received,
            task,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every span received so far, with its resource's `service.name`.
    fn spans(&self) -> Vec<(String, Span)> {
        let mut out = vec![];
        for export in self.received.lock().unwrap().iter() {
            for rs in &export.resource_spans {
                let service = rs
                    .resource
                    .iter()
                    .flat_map(|r| &r.attributes)
                    .find(|kv| kv.key == "service.name")
                    .and_then(|kv| kv.value.as_ref()?.value.as_ref())
                    .map(|v| match v {
                        any_value::Value::StringValue(s) => s.clone(),
                        other => format!("{other:?}"),
                    })
                    .unwrap_or_default();
                for ss in &rs.scope_spans {
                    for s in &ss.spans {
                        out.push((service.clone(), s.clone()));
                    }
                }
            }
        }
        out
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn attribute(span: &Span, key: &str) -> Option<any_value::Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref()?.value.clone())
}

/// The traces `/_offcloud/api/traces` lists for `port-master`.
async fn port_master_traces(h: &crate::support::Harness) -> Value {
    let path = "/_offcloud/api/traces?function=port-master";
    json_of(&main_call(h, "GET", path, &[], b"").await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_request_s_spans_reach_the_collector_as_one_trace() {
    let collector = Collector::start().await;
    let h = Builder::seeds()
        .otlp_endpoint(&collector.url())
        .start()
        .await;
    let body = json!({"service": "otlp-service", "code": "OTLP"}).to_string();
    let resp = api_call(&h, "POST", "/Prod/ports", &[], body.as_bytes()).await;
    assert_eq!(resp.0, 200, "{}", String::from_utf8_lossy(&resp.2));

    let list = port_master_traces(&h).await;
    let id = list["traces"][0]["id"]
        .as_str()
        .expect("a trace")
        .to_string();
    let trace =
        json_of(&main_call(&h, "GET", &format!("/_offcloud/api/traces/{id}"), &[], b"").await);
    let gateway = span(&trace, "apigateway", "POST /Prod/ports");
    let function = span(&trace, "lambda", "port-master");
    let write = span(&trace, "dynamodb", "TransactWriteItems");
    let wanted: Vec<&str> = [gateway, function, write]
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();

    let deadline = Instant::now() + Duration::from_secs(10);
    let spans = loop {
        let spans = collector.spans();
        let ids: Vec<String> = spans.iter().map(|(_, s)| hex(&s.span_id)).collect();
        if wanted.iter().all(|w| ids.iter().any(|i| i == w)) {
            break spans;
        }
        assert!(
            Instant::now() < deadline,
            "the collector has spans {ids:?}, not all of {wanted:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let exported = |ours: &Value| {
        spans
            .iter()
            .find(|(_, s)| hex(&s.span_id) == ours["id"].as_str().unwrap())
            .unwrap()
    };
    let trace_id = id.trim_start_matches("1-").replace('-', "");
    for (service, span) in [exported(gateway), exported(function), exported(write)] {
        assert_eq!(service, "offcloud");
        assert_eq!(hex(&span.trace_id), trace_id, "{span:?}");
    }
    let (_, g) = exported(gateway);
    let (_, f) = exported(function);
    let (_, w) = exported(write);
    assert_eq!(g.name, "POST /Prod/ports");
    assert!(g.parent_span_id.is_empty(), "{g:?}");
    assert_eq!(
        attribute(g, "offcloud.service"),
        Some(any_value::Value::StringValue("apigateway".into()))
    );
    assert_eq!(
        attribute(g, "status"),
        Some(any_value::Value::IntValue(200))
    );
    assert_eq!(f.name, "port-master");
    assert_eq!(hex(&f.parent_span_id), hex(&g.span_id));
    assert_eq!(w.name, "TransactWriteItems");
    assert_eq!(hex(&w.parent_span_id), hex(&f.span_id));
    assert_eq!(
        attribute(w, "offcloud.service"),
        Some(any_value::Value::StringValue("dynamodb".into()))
    );
    // The times are ours: a span starts at its `startMs` and lasts its `durationUs`.
    let start = gateway["startMs"].as_u64().unwrap() * 1_000_000;
    assert_eq!(g.start_time_unix_nano, start);
    assert_eq!(
        g.end_time_unix_nano - g.start_time_unix_nano,
        gateway["durationUs"].as_u64().unwrap() * 1000
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_collector_fails_no_request() {
    // A port that was free a moment ago: nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let h = Builder::seeds()
        .otlp_endpoint(&format!("http://{closed}"))
        .start()
        .await;
    for code in ["UNREACH1", "UNREACH2"] {
        let body = json!({"service": code.to_lowercase(), "code": code}).to_string();
        let resp = api_call(&h, "POST", "/Prod/ports", &[], body.as_bytes()).await;
        assert_eq!(resp.0, 200, "{}", String::from_utf8_lossy(&resp.2));
    }
    let list = port_master_traces(&h).await;
    assert_eq!(list["traces"].as_array().unwrap().len(), 2, "{list:#}");
}
