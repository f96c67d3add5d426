//! Running a scenario's steps against a target: the emulator (replay) or a live endpoint (record).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use indicatif::ProgressBar;
use serde_json::{Value, json};

use super::format::{AwsCall, HttpCall, Invariant, Scenario, Step};
use super::record::{Skipped, check, join_url};
use super::redact::Redactor;
use crate::clock::{Env, SequentialIds, SystemClock};
use crate::lambda::LaunchOptions;
use crate::net::{Client, WireResponse};
use crate::server::{Emulator, Options};

/// Where steps are sent.
#[derive(Debug, Clone)]
pub struct Target {
    /// The API Gateway base URL, with the stage or without it (see [`super::record::BaseUrl::join`]).
    pub api: Option<String>,
    /// The AWS endpoint for setup calls, `invoke` and `aws` steps; see [`super::record::check`] for what happens
    /// without one.
    pub aws: Option<String>,
}

/// One step's redacted result, the content of its snapshot.
#[derive(Debug, Clone)]
pub struct StepOutcome {
    pub name: String,
    pub value: Value,
    /// The traces the step made, oldest first, when the run watched the emulator's traces.
    pub traces: Vec<crate::trace::Trace>,
}

/// What a run produced: the steps' results, and the steps that could not be sent.
#[derive(Debug, Clone, Default)]
pub struct Ran {
    pub steps: Vec<StepOutcome>,
    pub skipped: Vec<Skipped>,
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
    replay_with_progress(s, workspace, launch, &ProgressBar::hidden()).await
}

/// [`replay`], with `progress` at the number of steps done and the name of the one running.
pub async fn replay_with_progress(
    s: &Scenario,
    workspace: &Path,
    launch: LaunchOptions,
    progress: &ProgressBar,
) -> Result<Vec<StepOutcome>, String> {
    replay_with(s, workspace, launch, progress, |_| {}).await
}

/// [`replay_with_progress`] on the scenario's config as `adjust` changes it (a cluster moved onto a server, say).
pub async fn replay_with(
    s: &Scenario,
    workspace: &Path,
    launch: LaunchOptions,
    progress: &ProgressBar,
    adjust: impl FnOnce(&mut crate::config::Config),
) -> Result<Vec<StepOutcome>, String> {
    let config_path = workspace.join(s.config_path());
    let template = s.template.as_ref().map(|t| workspace.join(t));
    let options = crate::template::Options {
        stack_name: None,
        parameter_overrides: s.parameter_overrides.clone(),
    };
    let (mut config, _) =
        crate::template::load_project(&config_path, template.as_deref(), &options)
            .map_err(|e| e.to_string())?;
    adjust(&mut config);
    let env = Env {
        clock: Arc::new(SystemClock),
        ids: Arc::new(SequentialIds::default()),
        traces: Arc::default(),
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
    let traces = emulator.lambda.env().traces.clone();
    let out = run_watched(s, &target, workspace, Some(&traces), progress).await;
    emulator.shutdown();
    Ok(out?.steps)
}

/// The ids of the traces kept now.
fn trace_ids(traces: &crate::trace::Traces) -> std::collections::HashSet<String> {
    traces
        .list(|_| true, usize::MAX)
        .into_iter()
        .map(|t| t.id)
        .collect()
}

fn now_ms() -> u64 {
    use crate::clock::Clock;
    SystemClock.now_ms()
}

/// Runs the setup calls and every step in order. Without an AWS endpoint, a scenario that needs one fails before
/// anything is sent, and the steps that can do without are skipped and listed (see [`check`]).
pub async fn run(s: &Scenario, target: &Target, workspace: &Path) -> Result<Ran, String> {
    run_watched(s, target, workspace, None, &ProgressBar::hidden()).await
}

/// [`run`], and with `traces` (the emulator's own), the traces each step made.
async fn run_watched(
    s: &Scenario,
    target: &Target,
    workspace: &Path,
    traces: Option<&crate::trace::Traces>,
    progress: &ProgressBar,
) -> Result<Ran, String> {
    let skipped = check(s, target).map_err(|e| e.to_string())?;
    let client = Client::new();
    if let Some(aws) = &target.aws {
        for call in &s.setup {
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
    let mut skipped = skipped;
    for (done, step) in s.steps.iter().enumerate() {
        let st = step.get_ref();
        progress.set_position(done as u64);
        progress.set_message(st.name.clone());
        if skipped.iter().any(|k| k.step == st.name) {
            continue;
        }
        redactor.set_now(now_ms());
        let before = traces.map(trace_ids);
        let fail = |e: String| format!("step {:?}: {e}", st.name);
        let injected = match inject(&client, target, &st.faults).await {
            Ok(ids) => ids,
            Err(reason) => {
                // A live AWS endpoint cannot fail on demand: the step is not sent rather than recorded as if
                // nothing had failed.
                skipped.push(super::record::Skipped {
                    file: s.file.clone(),
                    step: st.name.clone(),
                    reason,
                });
                continue;
            }
        };
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
        remove(&client, target, &injected).await.map_err(fail)?;
        let mut value = value;
        redactor.uuids(&mut value);
        // The emulator is the scenario's own and its steps run one after another, so the traces that are new
        // since the step began are the step's.
        let mut made = match (traces, &before) {
            (Some(t), Some(before)) => t.list(|t| !before.contains(&t.id), usize::MAX),
            _ => vec![],
        };
        made.reverse();
        out.push(StepOutcome {
            name: st.name.clone(),
            value,
            traces: made,
        });
    }
    progress.set_position(s.steps.len() as u64);
    Ok(Ran {
        steps: out,
        skipped,
    })
}

/// Puts a step's faults in force at the AWS endpoint; their ids, or why they cannot be.
async fn inject(
    client: &Client,
    target: &Target,
    faults: &[crate::faults::FaultSpec],
) -> Result<Vec<u64>, String> {
    let mut ids = Vec::new();
    for f in faults {
        let aws = target.aws.as_deref().ok_or("no AWS endpoint")?;
        let url = format!(
            "{}{}",
            aws.trim_end_matches('/'),
            crate::faults::admin::PATH
        );
        let body = serde_json::to_vec(f).map_err(|e| e.to_string())?;
        let r = client
            .send(
                "POST",
                &url,
                &[("content-type".to_string(), "application/json".to_string())],
                Bytes::from(body),
            )
            .await
            .map_err(|e| format!("its faults cannot be injected at {aws}: {e}"))?;
        let id = serde_json::from_slice::<Value>(&r.body)
            .ok()
            .and_then(|v| v["id"].as_u64())
            .filter(|_| r.status.as_u16() == 201)
            .ok_or_else(|| {
                format!(
                    "its faults cannot be injected at {aws}, which answered {} to {}",
                    r.status,
                    crate::faults::admin::PATH
                )
            })?;
        ids.push(id);
    }
    Ok(ids)
}

/// Removes the faults a step put in force (a counted one may be gone already).
async fn remove(client: &Client, target: &Target, ids: &[u64]) -> Result<(), String> {
    let Some(aws) = target.aws.as_deref() else {
        return Ok(());
    };
    for id in ids {
        let url = format!(
            "{}{}/{id}",
            aws.trim_end_matches('/'),
            crate::faults::admin::PATH
        );
        client
            .send("DELETE", &url, &[], Bytes::new())
            .await
            .map_err(|e| format!("cannot remove fault {id}: {e}"))?;
    }
    Ok(())
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
        let url = format!(
            "{}/2015-03-31/functions/{}/invocations",
            aws.trim_end_matches('/'),
            inv.function
        );
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
    let url = join_url(api, &h.path).map_err(|e| e.to_string())?;
    client
        .send(&h.method, &url, &headers, body)
        .await
        .map_err(|e| e.to_string())
}

async fn send_aws(client: &Client, aws: &str, call: &AwsCall) -> Result<WireResponse, String> {
    let aws = aws.trim_end_matches('/');
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
