//! Running a scenario's steps against a target: the emulator (replay) or a live endpoint (record).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use serde_json::{Value, json};

use super::format::{AwsCall, HttpCall, Invariant, Scenario, Step};
use super::redact::Redactor;
use crate::clock::{Env, SequentialIds, SystemClock};
use crate::lambda::LaunchOptions;
use crate::net::{Client, WireResponse};
use crate::server::{Emulator, Options};

/// Where steps are sent.
#[derive(Debug, Clone)]
pub struct Target {
    /// The API Gateway base URL (with the stage, for a live REST API).
    pub api: Option<String>,
    /// The AWS endpoint for `invoke` and `aws` steps; `None` skips them.
    pub aws: Option<String>,
}

/// One step's redacted result, the content of its snapshot.
#[derive(Debug, Clone)]
pub struct StepOutcome {
    pub name: String,
    pub value: Value,
}

/// Headers worth a snapshot; the rest (dates, request ids, lengths) change or say nothing.
const KEPT_HEADERS: &[&str] = &[
    "content-type",
    "x-amz-function-error",
    "x-amzn-errortype",
    "set-cookie",
    "access-control-allow-origin",
];

/// Starts a fresh emulator for the scenario, with its own in-memory stores and sequential ids, and runs it.
pub async fn replay(
    s: &Scenario,
    workspace: &Path,
    launch: LaunchOptions,
) -> Result<Vec<StepOutcome>, String> {
    let config_path = workspace.join(s.config_path());
    let template = s.template.as_ref().map(|t| workspace.join(t));
    let options = crate::template::Options {
        stack_name: None,
        parameter_overrides: s.parameter_overrides.clone(),
    };
    let (config, _) = crate::template::load_project(&config_path, template.as_deref(), &options)
        .map_err(|e| e.to_string())?;
    let env = Env {
        clock: Arc::new(SystemClock),
        ids: Arc::new(SequentialIds::default()),
    };
    let emulator = Emulator::start(
        &config,
        env,
        Options {
            launch,
            ..Options::default()
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    let target = Target {
        api: emulator.api_url(),
        aws: Some(emulator.endpoint_url()),
    };
    let out = run(s, &target, workspace).await;
    emulator.shutdown();
    out
}

fn now_ms() -> u64 {
    use crate::clock::Clock;
    SystemClock.now_ms()
}

/// Runs the setup calls and every step in order.
pub async fn run(
    s: &Scenario,
    target: &Target,
    workspace: &Path,
) -> Result<Vec<StepOutcome>, String> {
    let client = Client::new();
    for call in &s.setup {
        if let Some(aws) = &target.aws {
            let r = send_aws(&client, aws, call.get_ref()).await?;
            if !r.status.is_success() {
                return Err(format!(
                    "setup {} failed with {}: {}",
                    call.get_ref().operation,
                    r.status,
                    String::from_utf8_lossy(&r.body)
                ));
            }
        }
    }
    let mut redactor = Redactor::new(now_ms());
    let mut out = Vec::new();
    for step in &s.steps {
        let st = step.get_ref();
        if (st.invoke.is_some() || st.aws.is_some()) && target.aws.is_none() {
            tracing::warn!("step {}: skipped, no AWS endpoint given", st.name);
            continue;
        }
        redactor.set_now(now_ms());
        let fail = |e: String| format!("step {:?}: {e}", st.name);
        let value = match st.concurrent {
            Some(n) => concurrent(&client, target, workspace, st, n)
                .await
                .map_err(fail)?,
            None => {
                let mut v = once(&client, target, workspace, st).await.map_err(fail)?;
                for rule in &st.redact {
                    redactor.apply(&mut v, rule).map_err(fail)?;
                }
                v
            }
        };
        let mut value = value;
        redactor.uuids(&mut value);
        out.push(StepOutcome {
            name: st.name.clone(),
            value,
        });
    }
    Ok(out)
}

async fn once(
    client: &Client,
    target: &Target,
    workspace: &Path,
    st: &Step,
) -> Result<Value, String> {
    if let Some(h) = &st.http {
        let api = target
            .api
            .as_deref()
            .ok_or("no API Gateway is configured")?;
        return Ok(result(send_http(client, api, h).await?, &st.keep_headers));
    }
    let aws = target.aws.as_deref().ok_or("no AWS endpoint")?;
    if let Some(inv) = &st.invoke {
        let event = match (&inv.event, &inv.event_file) {
            (_, Some(f)) => std::fs::read(workspace.join(f))
                .map_err(|e| format!("cannot read {}: {e}", f.display()))?,
            (Some(e), None) => e.to_string().into_bytes(),
            (None, None) => b"{}".to_vec(),
        };
        let url = format!("{aws}/2015-03-31/functions/{}/invocations", inv.function);
        let r = client
            .send("POST", &url, &[], Bytes::from(event))
            .await
            .map_err(|e| e.to_string())?;
        return Ok(result(r, &st.keep_headers));
    }
    let call = st.aws.as_ref().ok_or("no call")?;
    Ok(result(send_aws(client, aws, call).await?, &st.keep_headers))
}

async fn concurrent(
    client: &Client,
    target: &Target,
    workspace: &Path,
    st: &Step,
    n: usize,
) -> Result<Value, String> {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let (client, target, workspace, st) = (
                client.clone(),
                target.clone(),
                workspace.to_path_buf(),
                numbered(st, i),
            );
            tokio::spawn(async move { once(&client, &target, &workspace, &st).await })
        })
        .collect();
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.map_err(|e| e.to_string())??);
    }
    let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
    for r in &results {
        *statuses.entry(r["status"].to_string()).or_default() += 1;
    }
    let verdict = match &st.invariant {
        Some(Invariant::Distinct(path)) => {
            let segments: Vec<&str> = path.split('.').collect();
            let values: Vec<String> = results
                .iter()
                .map(|r| dig(r, &segments).to_string())
                .collect();
            let unique: std::collections::BTreeSet<&String> = values.iter().collect();
            if unique.len() == values.len() && !values.iter().any(|v| v == "null") {
                format!("all {n} values of {path} are distinct")
            } else {
                return Err(format!(
                    "invariant violated: values of {path} are not all distinct: {values:?}"
                ));
            }
        }
        Some(Invariant::Exactly { status, count }) => {
            let got = results
                .iter()
                .filter(|r| r["status"] == json!(status))
                .count();
            if got == *count {
                format!("exactly {count} of {n} answered {status}")
            } else {
                return Err(format!(
                    "invariant violated: {got} of {n} answered {status}, expected {count}"
                ));
            }
        }
        None => "none".into(),
    };
    Ok(json!({"copies": n, "statuses": statuses, "invariant": verdict}))
}

/// Copy `i` of a concurrent step: every `{n}` in its path, bodies and events becomes `i`, so that copies can
/// differ (for example one service name each).
fn numbered(st: &Step, i: usize) -> Step {
    fn walk(v: &mut Value, i: &str) {
        match v {
            Value::String(s) => *s = s.replace("{n}", i),
            Value::Array(a) => a.iter_mut().for_each(|x| walk(x, i)),
            Value::Object(o) => o.values_mut().for_each(|x| walk(x, i)),
            _ => {}
        }
    }
    let i = i.to_string();
    let mut st = st.clone();
    if let Some(h) = &mut st.http {
        h.path = h.path.replace("{n}", &i);
        if let Some(b) = &mut h.body {
            *b = b.replace("{n}", &i);
        }
        if let Some(j) = &mut h.json {
            walk(j, &i);
        }
    }
    if let Some(e) = st.invoke.as_mut().and_then(|inv| inv.event.as_mut()) {
        walk(e, &i);
    }
    if let Some(a) = &mut st.aws {
        walk(&mut a.body, &i);
    }
    st
}

fn dig<'a>(v: &'a Value, segments: &[&str]) -> std::borrow::Cow<'a, Value> {
    let Some((first, rest)) = segments.split_first() else {
        return std::borrow::Cow::Borrowed(v);
    };
    match v {
        Value::Object(o) => o
            .get(*first)
            .map(|x| dig(x, rest))
            .unwrap_or(std::borrow::Cow::Owned(Value::Null)),
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(parsed) => std::borrow::Cow::Owned(dig(&parsed, segments).into_owned()),
            Err(_) => std::borrow::Cow::Owned(Value::Null),
        },
        _ => std::borrow::Cow::Owned(Value::Null),
    }
}

async fn send_http(client: &Client, api: &str, h: &HttpCall) -> Result<WireResponse, String> {
    let mut headers: Vec<(String, String)> = h
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let body = match (&h.json, &h.body) {
        (Some(j), _) => {
            if !h
                .headers
                .keys()
                .any(|k| k.eq_ignore_ascii_case("content-type"))
            {
                headers.push(("content-type".into(), "application/json".into()));
            }
            Bytes::from(j.to_string())
        }
        (None, Some(b)) => Bytes::from(b.clone()),
        (None, None) => Bytes::new(),
    };
    let url = format!("{}{}", api.trim_end_matches('/'), h.path);
    client
        .send(&h.method, &url, &headers, body)
        .await
        .map_err(|e| e.to_string())
}

async fn send_aws(client: &Client, aws: &str, call: &AwsCall) -> Result<WireResponse, String> {
    let body = Bytes::from(call.body.to_string());
    match call.service.as_str() {
        "dynamodb" => {
            let headers = [
                (
                    "content-type".to_string(),
                    "application/x-amz-json-1.0".to_string(),
                ),
                (
                    "x-amz-target".to_string(),
                    format!("DynamoDB_20120810.{}", call.operation),
                ),
            ];
            client
                .send("POST", &format!("{aws}/"), &headers, body)
                .await
                .map_err(|e| e.to_string())
        }
        "rds-data" => {
            let path = match call.operation.as_str() {
                "ExecuteStatement" => "Execute",
                "BatchExecuteStatement" => "BatchExecute",
                other => other,
            };
            let headers = [("content-type".to_string(), "application/json".to_string())];
            client
                .send("POST", &format!("{aws}/{path}"), &headers, body)
                .await
                .map_err(|e| e.to_string())
        }
        other => Err(format!("unknown service {other}")),
    }
}

/// A response as a snapshot value: the status, the headers that matter, and the body (parsed when JSON).
fn result(r: WireResponse, extra: &[String]) -> Value {
    let mut headers = serde_json::Map::new();
    let extra = extra.iter().map(|h| h.to_ascii_lowercase());
    let names: Vec<String> = KEPT_HEADERS
        .iter()
        .map(|h| h.to_string())
        .chain(extra)
        .collect();
    for name in &names {
        let values: Vec<&str> = r
            .headers
            .get_all(name.as_str())
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        match values.as_slice() {
            [] => {}
            [one] => {
                headers.insert(name.clone(), Value::from(*one));
            }
            many => {
                headers.insert(name.clone(), json!(many));
            }
        }
    }
    let body = if r.body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&r.body)
            .unwrap_or_else(|_| Value::from(String::from_utf8_lossy(&r.body).into_owned()))
    };
    json!({"status": r.status.as_u16(), "headers": headers, "body": body})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_of_a_concurrent_step_are_numbered() {
        let st: Step = toml::from_str(
            r#"
name = "many"
http = { method = "POST", path = "/x/{n}", json = { service = "svc-{n}", list = ["{n}"] } }
concurrent = 3
invariant = { distinct = "body" }
"#,
        )
        .unwrap();
        let two = numbered(&st, 2);
        let h = two.http.unwrap();
        assert_eq!(h.path, "/x/2");
        assert_eq!(h.json.unwrap(), json!({"service": "svc-2", "list": ["2"]}));
        // The original is untouched, so every copy starts from it.
        assert_eq!(st.http.unwrap().path, "/x/{n}");
    }
}
