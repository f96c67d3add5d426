//! `/_offcloud/api/traces` on the main port: the traces kept, newest first.
//!
//! - `GET /_offcloud/api/traces` lists them in brief: `{"traces": [{"id", "startMs", "durationUs", "status",
//!   "root", "functions", "spans"}]}`. Filters, each optional: `function=NAME` (traces that invoked it),
//!   `status=ok|error`, `since=MS` and `until=MS` (the trace's start, by the emulator's clock), and `limit=N`
//!   (100 unless given).
//! - `GET /_offcloud/api/traces/ID` is one trace with all its spans: `{"id", "spans": [...]}`.
//!
//! Errors are 400, 404 or 405 with `{"message": ...}`.

use http::Method;
use serde_json::{Value, json};

use super::{Trace, Traces};
use crate::net::{WireRequest, WireResponse};

pub const PATH: &str = "/_offcloud/api/traces";

/// How many traces a list gives unless `limit` says.
const DEFAULT_LIMIT: usize = 100;

/// Whether a request is for the endpoint.
pub fn is_traces(path: &str) -> bool {
    path == PATH || path.strip_prefix(PATH).is_some_and(|r| r.starts_with('/'))
}

fn message(status: u16, text: impl Into<String>) -> WireResponse {
    WireResponse::json(status, &json!({ "message": text.into() }))
}

/// A list's filters.
#[derive(Default)]
struct Filter {
    function: Option<String>,
    status: Option<String>,
    since: Option<u64>,
    until: Option<u64>,
    limit: usize,
}

impl Filter {
    fn parse(query: Option<&str>) -> Result<Self, String> {
        let mut f = Filter {
            limit: DEFAULT_LIMIT,
            ..Filter::default()
        };
        for (k, v) in crate::apigw::events::query_pairs(query, true) {
            let number = || {
                v.parse::<u64>()
                    .map_err(|_| format!("{k} must be a whole number, not {v:?}"))
            };
            match k.as_str() {
                "function" => f.function = Some(v.to_string()),
                "status" if v == "ok" || v == "error" => f.status = Some(v.to_string()),
                "status" => return Err(format!("status must be ok or error, not {v:?}")),
                "since" => f.since = Some(number()?),
                "until" => f.until = Some(number()?),
                "limit" => f.limit = number()? as usize,
                // The token that Offcloud's endpoints need beyond loopback, checked before this.
                "token" => {}
                other => {
                    return Err(format!(
                        "Unknown filter {other:?}; use function, status, since, until or limit"
                    ));
                }
            }
        }
        Ok(f)
    }

    fn keeps(&self, t: &Trace) -> bool {
        self.function
            .as_deref()
            .is_none_or(|f| t.functions().contains(&f))
            && self.status.as_deref().is_none_or(|s| t.status() == s)
            && self.since.is_none_or(|s| t.start_ms() >= s)
            && self.until.is_none_or(|u| t.start_ms() <= u)
    }
}

/// A trace in brief, for lists.
fn brief(t: &Trace) -> Value {
    json!({
        "id": t.id,
        "startMs": t.start_ms(),
        "durationUs": t.duration_us(),
        "status": t.status(),
        "root": t.root().map(|s| format!("{} {}", s.service, s.name)),
        "functions": t.functions(),
        "spans": t.spans.len(),
    })
}

pub fn handle(traces: &Traces, req: &WireRequest) -> WireResponse {
    if req.method != Method::GET {
        return message(
            405,
            format!("{} {} is not served; use GET", req.method, req.path),
        );
    }
    let id = req
        .path
        .strip_prefix(PATH)
        .and_then(|r| r.strip_prefix('/'))
        .filter(|r| !r.is_empty());
    match id {
        Some(id) => match traces.get(id) {
            Some(t) => WireResponse::json(200, &serde_json::to_value(&t).unwrap_or_default()),
            None => message(404, format!("No trace {id}")),
        },
        None => match Filter::parse(req.query.as_deref()) {
            Ok(f) => {
                let list: Vec<Value> = traces
                    .list(|t| f.keeps(t), f.limit)
                    .iter()
                    .map(brief)
                    .collect();
                WireResponse::json(200, &json!({ "traces": list }))
            }
            Err(e) => message(400, e),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::Pending;

    fn get(traces: &Traces, path: &str, query: Option<&str>) -> (u16, Value) {
        let req = WireRequest {
            method: Method::GET,
            path: path.into(),
            query: query.map(str::to_string),
            headers: http::HeaderMap::new(),
            body: bytes::Bytes::new(),
            peer: "127.0.0.1:1".parse().unwrap(),
            too_large: false,
            header_names: vec![],
        };
        let resp = handle(traces, &req);
        (
            resp.status.as_u16(),
            serde_json::from_slice(&resp.body).unwrap_or(Value::Null),
        )
    }

    #[test]
    fn traces_are_listed_filtered_and_shown() {
        let traces = Traces::default();
        let mut a = Pending::start("1".into(), None, "lambda", "port-master", 1_000);
        a.set("cold", true);
        traces.record("t1", a.finish());
        let mut b = Pending::start("2".into(), None, "lambda", "ec2-inventory", 2_000);
        b.fail("Unhandled");
        traces.record("t2", b.finish());

        let (status, all) = get(&traces, PATH, None);
        assert_eq!(status, 200);
        assert_eq!(all["traces"].as_array().unwrap().len(), 2);
        assert_eq!(all["traces"][0]["id"], "t2");
        assert_eq!(all["traces"][0]["root"], "lambda ec2-inventory");
        let (_, errors) = get(&traces, PATH, Some("status=error"));
        assert_eq!(errors["traces"].as_array().unwrap().len(), 1);
        let (_, by_function) = get(&traces, PATH, Some("function=port-master&since=500"));
        assert_eq!(by_function["traces"][0]["id"], "t1");
        let (_, later) = get(&traces, PATH, Some("since=1500"));
        assert_eq!(later["traces"].as_array().unwrap().len(), 1);
        let (_, one) = get(&traces, PATH, Some("limit=1"));
        assert_eq!(one["traces"].as_array().unwrap().len(), 1);

        let (status, t1) = get(&traces, &format!("{PATH}/t1"), None);
        assert_eq!(status, 200);
        assert_eq!(t1["spans"][0]["attributes"]["cold"], true);
        assert_eq!(get(&traces, &format!("{PATH}/nope"), None).0, 404);
        let (status, bad) = get(&traces, PATH, Some("status=maybe"));
        assert_eq!(status, 400);
        assert_eq!(bad["message"], "status must be ok or error, not \"maybe\"");
        assert_eq!(get(&traces, PATH, Some("color=red")).0, 400);
    }
}
