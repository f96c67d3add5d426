//! The Runtime API: arbitrary calls in any order against a live instance.

use super::*;

// The Runtime API: arbitrary calls in any order against a live instance. The instance's process only sleeps, so
// the test is its runtime; a model of the instance says what each call must answer.

const RUNTIME_PREFIX: &str = "/2018-06-01/runtime/";

#[derive(Debug, Clone)]
enum Target {
    /// The invocation the test has taken with `next`, if any.
    Current,
    /// An id from an earlier invocation, of this instance or another.
    Stale(usize),
    Random(String),
}

#[derive(Debug, Clone)]
enum RuntimeBody {
    Bytes(Bytes),
    Json(Value),
    /// One byte over the Runtime API's limit.
    Large,
}

impl RuntimeBody {
    fn bytes(&self) -> Vec<u8> {
        match self {
            Self::Bytes(b) => b.to_vec(),
            Self::Json(v) => v.to_string().into_bytes(),
            Self::Large => vec![b'x'; offcloud::lambda::runtime_api::MAX_RESPONSE + 1],
        }
    }
}

#[derive(Debug, Clone)]
enum RuntimeCall {
    Next,
    Response {
        target: Target,
        body: RuntimeBody,
        headers: Vec<(String, String)>,
    },
    Error {
        target: Target,
        body: RuntimeBody,
        headers: Vec<(String, String)>,
    },
    InitError {
        body: RuntimeBody,
        headers: Vec<(String, String)>,
    },
    /// Another invocation of the sleeping function, when none is in flight.
    Invoke(Value),
    Unknown {
        method: String,
        target: String,
        body: Bytes,
    },
}

fn runtime_body() -> impl Strategy<Value = RuntimeBody> {
    prop_oneof![
        6 => vec(any::<u8>(), 0..48).prop_map(|b| RuntimeBody::Bytes(Bytes::from(b))),
        6 => json_value().prop_map(RuntimeBody::Json),
        1 => Just(RuntimeBody::Large),
    ]
}

fn runtime_headers() -> impl Strategy<Value = Vec<(String, String)>> {
    let name = prop_oneof![
        3 => select(&[
            "Lambda-Runtime-Function-Error-Type",
            "Content-Type",
            "Lambda-Runtime-Function-XRay-Error-Cause",
            "X-Amzn-Trace-Id",
            "Accept",
        ][..])
        .prop_map(String::from),
        1 => "[xX]-[rR]-[A-Za-z0-9-]{1,10}",
    ];
    vec((name, header_value()), 0..4)
}

fn request_id_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[A-Za-z0-9._~-]{1,40}",
        1 => "[A-Za-z0-9._~!$&'()*+,;=:@/%-]{1,40}",
        1 => Just("00000000-0000-4000-8000-000000000000".to_string()),
    ]
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        4 => Just(Target::Current),
        2 => any::<usize>().prop_map(Target::Stale),
        2 => request_id_text().prop_map(Target::Random),
    ]
}

/// The route the Runtime API serves at `method` and `path`, as AWS's runtime interface emulator routes.
fn runtime_route(method: &str, target: &str) -> bool {
    let path = target.split(['?', '#']).next().unwrap_or("");
    let Some(rest) = path.strip_prefix(RUNTIME_PREFIX) else {
        return false;
    };
    match (method, rest) {
        ("GET", "invocation/next") | ("POST", "init/error") => true,
        ("POST", r) => r
            .strip_prefix("invocation/")
            .and_then(|r| r.rsplit_once('/'))
            .is_some_and(|(id, action)| {
                !id.is_empty() && (action == "response" || action == "error")
            }),
        _ => false,
    }
}

fn unknown_call() -> impl Strategy<Value = RuntimeCall> {
    let suffix = prop_oneof![
        select(
            &[
                "invocation/next",
                "invocation/next/",
                "init/error",
                "init/error/",
                "invocation//response",
                "invocation//error",
                "invocation/x/response",
                "invocation/x/error",
                "invocation/x/other",
                "invocation",
                "invocation/",
                "",
                "init",
            ][..]
        )
        .prop_map(|s| format!("{RUNTIME_PREFIX}{s}")),
        "[A-Za-z0-9._~/-]{0,30}".prop_map(|s| format!("{RUNTIME_PREFIX}{s}")),
        select(
            &[
                "/",
                "/2018-06-01/runtime",
                "/2018-06-01/Runtime/invocation/next",
                "/2018-06-02/runtime/invocation/next",
                "//2018-06-01/runtime/invocation/next",
                "/2018-06-01/runtime//invocation/next",
                "/2018-06-01/runtime/invocation/%6Eext",
                "/2020-01-01/extension/register",
                "/2020-08-15/logs",
            ][..]
        )
        .prop_map(String::from),
        "/[A-Za-z0-9._~!$&'()*+,;=:@%/-]{0,30}",
    ];
    let query = prop::option::weighted(0.2, "[A-Za-z0-9=&]{0,10}");
    (method(), suffix, query, vec(any::<u8>(), 0..16))
        .prop_map(|(method, path, query, body)| RuntimeCall::Unknown {
            method,
            target: match query {
                Some(q) => format!("{path}?{q}"),
                None => path,
            },
            body: Bytes::from(body),
        })
        .prop_filter("a route the Runtime API serves", |c| {
            !matches!(c, RuntimeCall::Unknown { method, target, .. } if runtime_route(method, target))
        })
}

fn runtime_call() -> impl Strategy<Value = RuntimeCall> {
    prop_oneof![
        3 => Just(RuntimeCall::Next),
        4 => (target(), runtime_body(), runtime_headers())
            .prop_map(|(target, body, headers)| RuntimeCall::Response { target, body, headers }),
        2 => (target(), runtime_body(), runtime_headers())
            .prop_map(|(target, body, headers)| RuntimeCall::Error { target, body, headers }),
        1 => (runtime_body(), runtime_headers())
            .prop_map(|(body, headers)| RuntimeCall::InitError { body, headers }),
        2 => json_value().prop_map(RuntimeCall::Invoke),
        2 => unknown_call(),
    ]
}

/// What the test knows of the sleeping function's instance, across cases.
#[derive(Default)]
struct InstanceModel {
    /// The instance's pid and Runtime API address.
    instance: Option<(u32, String)>,
    /// `next` has been called: the init phase is over.
    ready: bool,
    /// The ids this instance finished, as many as it remembers.
    completed: VecDeque<String>,
    /// Every finished id, of every instance.
    seen: Vec<String>,
    /// The last case failed: its instance may hold an invocation that never ends.
    dirty: bool,
}

/// An invocation of the sleeping function in flight: its task, its payload, and its id once `next` gave it.
struct InFlight {
    task: tokio::task::JoinHandle<
        Result<offcloud::lambda::InvokeOutput, offcloud::lambda::LambdaError>,
    >,
    payload: Vec<u8>,
    id: Option<String>,
}

fn start_invocation(h: &Harness, payload: &Value) -> InFlight {
    let lambda = h.emulator.lambda.clone();
    let payload = payload.to_string().into_bytes();
    let input = offcloud::lambda::InvokeInput::new("sleeper", payload.clone());
    InFlight {
        task: tokio::spawn(async move { lambda.invoke(input).await }),
        payload,
        id: None,
    }
}

async fn finished(flight: InFlight) -> Result<offcloud::lambda::InvokeOutput, TestCaseError> {
    match tokio::time::timeout(Duration::from_secs(20), flight.task).await {
        Ok(Ok(Ok(out))) => Ok(out),
        Ok(Ok(Err(e))) => Err(fail(format!("the invocation failed: {e}"))),
        Ok(Err(e)) => Err(fail(format!("the invocation panicked: {e}"))),
        Err(_) => Err(fail("the invocation never ended".into())),
    }
}

/// The Runtime API address of the function's one live instance, from its process's environment.
async fn instance_of(f: &offcloud::lambda::Function) -> Result<(u32, String), TestCaseError> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let pids = f.pids();
        if let [pid] = pids.as_slice()
            && let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ"))
            && let Some(api) = environ
                .split(|b| *b == 0)
                .find_map(|kv| kv.strip_prefix(b"AWS_LAMBDA_RUNTIME_API="))
        {
            return Ok((*pid, String::from_utf8_lossy(api).into_owned()));
        }
        if Instant::now() > deadline {
            return Err(fail(format!("no single live instance: pids {pids:?}")));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn instance_gone(f: &offcloud::lambda::Function) -> Result<(), TestCaseError> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !f.pids().is_empty() {
        if Instant::now() > deadline {
            return Err(fail(format!(
                "the failed instance still runs: {:?}",
                f.pids()
            )));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(())
}

/// A Runtime API answer: `status`, with the JSON body AWS's emulator gives.
fn expect_runtime(r: &Reply, status: u16, error_type: Option<&str>) -> Result<(), TestCaseError> {
    prop_assert_eq!(r.status, status, "body: {}", r.text());
    let v = r
        .json()
        .ok_or_else(|| fail(format!("status {}, not JSON: {}", r.status, r.text())))?;
    match error_type {
        None => prop_assert_eq!(v, json!({"status": "OK"})),
        Some(t) => {
            prop_assert_eq!(v["errorType"].as_str(), Some(t), "{}", r.text());
            prop_assert!(v["errorMessage"].is_string(), "{}", r.text());
        }
    }
    Ok(())
}

/// How many finished request ids an instance remembers, to answer 403 rather than 400 for them.
const REMEMBERED_IDS: usize = 64;

struct RuntimeCase<'a> {
    h: &'a Harness,
    api: String,
    model: &'a mut InstanceModel,
    flight: Option<InFlight>,
    /// An `/init/error` ended the instance.
    gone: bool,
}

impl RuntimeCase<'_> {
    async fn call(
        &self,
        method: &str,
        target: &str,
        headers: &[(String, String)],
        body: &[u8],
        wait: Duration,
    ) -> Result<Reply, NoReply> {
        exchange(&self.api, method, target, headers, body, wait).await
    }

    async fn next(&mut self) -> Result<(), TestCaseError> {
        self.model.ready = true;
        let target = format!("{RUNTIME_PREFIX}invocation/next");
        let waiting = self.flight.as_ref().is_some_and(|f| f.id.is_none());
        if !waiting {
            // Nothing to deliver: `next` long-polls, and the client gives up.
            let r = self
                .call("GET", &target, &[], b"", Duration::from_millis(150))
                .await;
            prop_assert!(
                matches!(r, Err(NoReply::Timeout)),
                "next with nothing pending answered: {:?}",
                r
            );
            // FIXME: a `next` whose client has gone stays queued until the server notices the closed connection,
            // and an invocation dispatched before then is handed to it and lost until the function's timeout.
            // AWS's Runtime API has one client per instance, which never abandons `next`; the wait keeps the
            // cases off that race until the delivery is put back when its answer cannot be written.
            tokio::time::sleep(Duration::from_millis(250)).await;
            return Ok(());
        }
        let r = self
            .call("GET", &target, &[], b"", Duration::from_secs(5))
            .await
            .map_err(|e| fail(format!("next with an invocation pending: {e}")))?;
        prop_assert_eq!(r.status, 200, "body: {}", r.text());
        let id = r
            .header("lambda-runtime-aws-request-id")
            .filter(|id| !id.is_empty())
            .ok_or_else(|| fail(format!("no request id in {:?}", r.headers)))?
            .to_string();
        prop_assert!(
            r.header("lambda-runtime-deadline-ms")
                .and_then(|d| d.parse::<u64>().ok())
                .is_some(),
            "deadline {:?}",
            r.header("lambda-runtime-deadline-ms")
        );
        prop_assert!(
            r.header("lambda-runtime-invoked-function-arn")
                .is_some_and(|a| a.ends_with(":function:sleeper")),
            "arn {:?}",
            r.header("lambda-runtime-invoked-function-arn")
        );
        let flight = self.flight.as_mut().expect("an invocation in flight");
        prop_assert_eq!(&r.body, &flight.payload, "the event");
        flight.id = Some(id);
        Ok(())
    }

    fn id_of(&self, target: &Target) -> String {
        let current = self.flight.as_ref().and_then(|f| f.id.clone());
        match target {
            Target::Current => current.unwrap_or_else(|| "never-issued".into()),
            Target::Stale(i) if !self.model.seen.is_empty() => {
                self.model.seen[i % self.model.seen.len()].clone()
            }
            Target::Stale(_) => "never-issued-either".into(),
            Target::Random(s) => s.clone(),
        }
    }

    /// `/response` or `/error` for an id: accepted for the invocation in flight, 403 for one this instance
    /// finished, 400 for any other.
    async fn post(
        &mut self,
        error: bool,
        target: &Target,
        body: &RuntimeBody,
        headers: &[(String, String)],
    ) -> Result<(), TestCaseError> {
        let id = self.id_of(target);
        let action = if error { "error" } else { "response" };
        let bytes = body.bytes();
        let r = self
            .call(
                "POST",
                &format!("{RUNTIME_PREFIX}invocation/{id}/{action}"),
                headers,
                &bytes,
                Duration::from_secs(20),
            )
            .await
            .map_err(|e| fail(format!("{action} for {id:?}: {e}")))?;
        let in_flight = self.flight.as_ref().and_then(|f| f.id.as_deref()) == Some(id.as_str());
        if !in_flight {
            return if self.model.completed.contains(&id) {
                expect_runtime(&r, 403, Some("InvalidStateTransition"))
            } else {
                expect_runtime(&r, 400, Some("InvalidRequestID"))
            };
        }
        let large = matches!(body, RuntimeBody::Large);
        if large && !error {
            expect_runtime(&r, 413, Some("RequestEntityTooLarge"))?;
        } else {
            expect_runtime(&r, 202, None)?;
        }
        let out = finished(self.flight.take().expect("in flight")).await?;
        self.model.completed.push_back(id.clone());
        if self.model.completed.len() > REMEMBERED_IDS {
            self.model.completed.pop_front();
        }
        self.model.seen.push(id);
        if !error && !large {
            prop_assert_eq!(out.function_error, None);
            prop_assert_eq!(&out.payload[..], &bytes[..], "the invocation's result");
            return Ok(());
        }
        prop_assert_eq!(out.function_error.as_deref(), Some("Unhandled"));
        let doc: Value = serde_json::from_slice(&out.payload)
            .map_err(|_| fail(format!("the error document is not JSON: {:?}", out.payload)))?;
        if large && !error {
            prop_assert_eq!(
                doc["errorType"].as_str(),
                Some("Function.ResponseSizeTooLarge")
            );
        } else if !large && serde_json::from_slice::<Value>(&bytes).is_ok_and(|v| v.is_object()) {
            prop_assert_eq!(
                &out.payload[..],
                &bytes[..],
                "an error object passes as it is"
            );
        } else {
            prop_assert!(doc["errorType"].is_string(), "{}", doc);
            if !large {
                prop_assert_eq!(
                    doc["errorMessage"].as_str(),
                    Some(&*String::from_utf8_lossy(&bytes))
                );
            }
        }
        Ok(())
    }

    /// `/init/error`: accepted before the first `next`, when it fails the invocation and ends the instance; 403
    /// after.
    async fn init_error(
        &mut self,
        body: &RuntimeBody,
        headers: &[(String, String)],
    ) -> Result<(), TestCaseError> {
        let r = self
            .call(
                "POST",
                &format!("{RUNTIME_PREFIX}init/error"),
                headers,
                &body.bytes(),
                Duration::from_secs(20),
            )
            .await
            .map_err(|e| fail(format!("init/error: {e}")))?;
        if self.model.ready {
            return expect_runtime(&r, 403, Some("InvalidStateTransition"));
        }
        expect_runtime(&r, 202, None)?;
        let flight = self
            .flight
            .take()
            .ok_or_else(|| fail("an instance before its first next has an invocation".into()))?;
        let out = finished(flight).await?;
        prop_assert_eq!(out.function_error.as_deref(), Some("Unhandled"));
        prop_assert!(serde_json::from_slice::<Value>(&out.payload).is_ok_and(|v| v.is_object()));
        self.gone = true;
        Ok(())
    }

    async fn run(&mut self, call: &RuntimeCall) -> Result<(), TestCaseError> {
        match call {
            RuntimeCall::Next => self.next().await,
            RuntimeCall::Response {
                target,
                body,
                headers,
            } => self.post(false, target, body, headers).await,
            RuntimeCall::Error {
                target,
                body,
                headers,
            } => self.post(true, target, body, headers).await,
            RuntimeCall::InitError { body, headers } => self.init_error(body, headers).await,
            RuntimeCall::Invoke(payload) => {
                if self.flight.is_none() {
                    self.flight = Some(start_invocation(self.h, payload));
                }
                Ok(())
            }
            RuntimeCall::Unknown {
                method,
                target,
                body,
            } => {
                let r = self
                    .call(method, target, &[], body, Duration::from_secs(20))
                    .await
                    .map_err(|e| fail(format!("{method} {target}: {e}")))?;
                if method == "HEAD" {
                    prop_assert_eq!(r.status, 404);
                    return Ok(());
                }
                expect_runtime(&r, 404, Some("NotFound"))
            }
        }
    }

    /// Ends the invocation in flight as a runtime would, so that the instance is idle for the next case.
    async fn settle(&mut self) -> Result<(), TestCaseError> {
        if self.flight.is_none() {
            return Ok(());
        }
        if self.flight.as_ref().is_some_and(|f| f.id.is_none()) {
            self.next().await?;
        }
        let body = RuntimeBody::Json(json!("done"));
        self.post(false, &Target::Current, &body, &[]).await
    }
}

async fn runtime_case(
    h: &Harness,
    f: &offcloud::lambda::Function,
    model: &tokio::sync::Mutex<InstanceModel>,
    payload: Value,
    calls: Vec<RuntimeCall>,
) -> Result<(), TestCaseError> {
    let mut model = model.lock().await;
    if model.dirty {
        // A failed case leaves its instance in a state the model does not know (shrinking runs on after it):
        // end the instance, which ends its invocation, and start again from a new one.
        for pid in f.pids() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        instance_gone(f).await?;
        model.instance = None;
    }
    model.dirty = true;
    let flight = start_invocation(h, &payload);
    let instance = instance_of(f).await?;
    if model.instance.as_ref() != Some(&instance) {
        model.instance = Some(instance.clone());
        model.ready = false;
        model.completed.clear();
    }
    let mut case = RuntimeCase {
        h,
        api: instance.1,
        model: &mut model,
        flight: Some(flight),
        gone: false,
    };
    for call in &calls {
        if case.gone {
            break;
        }
        case.run(call).await?;
    }
    if case.gone {
        instance_gone(f).await?;
        model.instance = None;
    } else {
        case.settle().await?;
    }
    // The emulator still serves another function.
    let probe = json!({"probe": calls.len()});
    let r = exchange(
        &h.emulator.main_addr.to_string(),
        "POST",
        "/2015-03-31/functions/echo/invocations",
        &[],
        probe.to_string().as_bytes(),
        Duration::from_secs(20),
    )
    .await
    .map_err(|e| fail(format!("invoking another function: {e}")))?;
    prop_assert_eq!(r.status, 200, "{}", r.text());
    prop_assert_eq!(r.json().map(|v| v["event"].clone()), Some(probe));
    model.dirty = false;
    Ok(())
}

#[test]
fn runtime_api_calls_in_any_order_answer_2xx_or_4xx() {
    let rt = runtime();
    let config = format!(
        "[[function]]\nname = \"sleeper\"\ncommand = [\"sleep\", \"600\"]\ntimeout = 60\nmax_concurrency = 1\n{}",
        faulty("echo", "")
    );
    let h = rt.block_on(Builder::new(config).start());
    let f: Arc<offcloud::lambda::Function> =
        h.emulator.lambda.resolve("sleeper", None).unwrap().clone();
    let model = tokio::sync::Mutex::new(InstanceModel::default());
    check(
        "runtime_api_calls_in_any_order_answer_2xx_or_4xx",
        32,
        (json_value(), vec(runtime_call(), 1..12)),
        |(payload, calls)| rt.block_on(runtime_case(&h, &f, &model, payload, calls)),
    );
    let _guard = rt.enter();
    drop(h);
}
