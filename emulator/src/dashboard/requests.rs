//! The first page (functions and the live list of recent requests) and a trace's waterfall.

use serde::Serialize;
use serde_json::{Value, json};

use super::Dashboard;
use crate::net::WireResponse;
use crate::trace::{Span, Trace};

/// How many requests the list shows.
const RECENT: usize = 100;

/// A request in the list.
#[derive(Serialize)]
struct Row {
    id: String,
    start_ms: u64,
    duration_ms: f64,
    /// The span that began it: `apigateway POST /Prod/ports`, `lambda epoch-time`, ...
    service: String,
    name: String,
    /// The HTTP status the root step answered, when it has one.
    code: Option<Value>,
    status: &'static str,
    functions: Vec<String>,
    spans: usize,
}

fn row(t: &Trace) -> Row {
    let root = t.root();
    Row {
        id: t.id.clone(),
        start_ms: t.start_ms(),
        duration_ms: t.duration_us() as f64 / 1000.0,
        service: root.map(|s| s.service.clone()).unwrap_or_default(),
        name: root.map(|s| s.name.clone()).unwrap_or_default(),
        code: root.and_then(|s| s.attributes.get("status").cloned()),
        status: t.status(),
        functions: t.functions().into_iter().map(str::to_string).collect(),
        spans: t.spans.len(),
    }
}

/// One bar of the waterfall.
#[derive(Serialize)]
struct Bar<'a> {
    span: &'a Span,
    depth: usize,
    /// Where the bar begins and how wide it is, in percent of the trace's duration.
    offset: f64,
    width: f64,
    duration_ms: f64,
    /// The attributes other than the bodies, as text.
    attributes: Vec<(String, String)>,
    request_body: Option<String>,
    response_body: Option<String>,
}

/// The spans in tree order (each under the one that caused it, in the order they began), with their depth.
fn tree_order(t: &Trace) -> Vec<(&Span, usize)> {
    fn visit<'a>(t: &'a Trace, s: &'a Span, depth: usize, out: &mut Vec<(&'a Span, usize)>) {
        out.push((s, depth));
        let mut children: Vec<&Span> = t
            .spans
            .iter()
            .filter(|c| c.parent.as_deref() == Some(s.id.as_str()))
            .collect();
        children.sort_by_key(|c| c.start_ms);
        for c in children {
            visit(t, c, depth + 1, out);
        }
    }
    let mut roots: Vec<&Span> = t
        .spans
        .iter()
        .filter(|s| {
            s.parent
                .as_ref()
                .is_none_or(|p| !t.spans.iter().any(|o| &o.id == p))
        })
        .collect();
    roots.sort_by_key(|s| s.start_ms);
    let mut out = vec![];
    for r in roots {
        visit(t, r, 0, &mut out);
    }
    out
}

fn bars(t: &Trace) -> Vec<Bar<'_>> {
    let start_us = t.start_ms() * 1000;
    let total = t.duration_us().max(1) as f64;
    tree_order(t)
        .into_iter()
        .map(|(span, depth)| {
            let offset = (span.start_ms * 1000).saturating_sub(start_us) as f64 / total * 100.0;
            let width =
                (span.duration_us as f64 / total * 100.0).clamp(0.5, 100.0 - offset.min(99.5));
            let text = |k: &str| span.attributes.get(k).map(as_text);
            Bar {
                span,
                depth,
                offset: (offset * 100.0).round() / 100.0,
                width: (width * 100.0).round() / 100.0,
                duration_ms: span.duration_us as f64 / 1000.0,
                attributes: span
                    .attributes
                    .iter()
                    .filter(|(k, _)| *k != "requestBody" && *k != "responseBody")
                    .map(|(k, v)| (k.clone(), as_text(v)))
                    .collect(),
                request_body: text("requestBody"),
                response_body: text("responseBody"),
            }
        })
        .collect()
}

/// A value as the page prints it: strings as they are, anything else as JSON.
fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub(super) fn index(d: &Dashboard) -> WireResponse {
    let traces = d.lambda.env().traces.list(|_| true, RECENT);
    let rows: Vec<Row> = traces.iter().map(row).collect();
    d.page(
        200,
        "index.html",
        &json!({"section": "home", "functions": d.lambda.statuses(), "rows": rows}),
    )
}

/// The list's rows alone, which the page fetches every second.
pub(super) fn rows(d: &Dashboard) -> WireResponse {
    let traces = d.lambda.env().traces.list(|_| true, RECENT);
    let rows: Vec<Row> = traces.iter().map(row).collect();
    d.page(200, "requests.html", &json!({ "rows": rows }))
}

pub(super) fn trace(d: &Dashboard, id: &str) -> WireResponse {
    match d.lambda.env().traces.get(id) {
        Some(t) => d.page(
            200,
            "trace.html",
            &json!({"section": "home", "trace": row(&t), "bars": bars(&t)}),
        ),
        None => d.message(
            404,
            "No such trace",
            &format!("No trace {id} is kept; the oldest go when the ring is full."),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::Pending;

    #[test]
    fn a_waterfall_nests_spans_under_their_cause_and_places_them_in_time() {
        let mut gateway = Pending::start("g".into(), None, "apigateway", "POST /Prod/ports", 1_000);
        gateway.set("requestBody", "{\"service\":\"a\"}");
        gateway.set("status", 200);
        let function = Pending::start("f".into(), Some("g".into()), "lambda", "port-master", 1_002);
        let call = Pending::start(
            "c".into(),
            Some("f".into()),
            "dynamodb",
            "TransactWriteItems",
            1_005,
        );
        let mut spans = vec![call.finish(), function.finish(), gateway.finish()];
        spans[2].duration_us = 10_000;
        spans[1].duration_us = 6_000;
        spans[0].duration_us = 2_000;
        let t = Trace {
            id: "t".into(),
            spans,
        };
        let b = bars(&t);
        let shape: Vec<(&str, usize, f64, f64)> = b
            .iter()
            .map(|b| (b.span.name.as_str(), b.depth, b.offset, b.width))
            .collect();
        assert_eq!(
            shape,
            [
                ("POST /Prod/ports", 0, 0.0, 100.0),
                ("port-master", 1, 20.0, 60.0),
                ("TransactWriteItems", 2, 50.0, 20.0),
            ]
        );
        assert_eq!(b[0].request_body.as_deref(), Some("{\"service\":\"a\"}"));
        assert_eq!(b[0].attributes, [("status".to_string(), "200".to_string())]);
        let r = row(&t);
        assert_eq!(
            (r.service.as_str(), r.code.clone()),
            ("apigateway", Some(json!(200)))
        );
    }
}
