//! Fault injection: DynamoDB, the Data API, Lambda and API Gateway fail on demand, with AWS's own errors, so that
//! tests can reach a handler's error paths. Faults come from the config's `[[fault]]` tables, from scenario steps,
//! and from the admin endpoint `/_offcloud/faults` on the main port ([`admin`]).
//!
//! A fault matches calls by service, and optionally by operation and by resource (a table, a cluster, a function,
//! an API). It hits every matching call, a share of them (`probability`, drawn from a seeded generator so that a
//! run can be repeated), or the next `count` of them. The first fault that hits a call decides what happens to it.

pub mod admin;
pub mod spec;

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

pub use spec::{FaultSpec, Service};

/// What a call that a fault hit must do.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Hit {
    /// The AWS error to fail with.
    pub error: Option<String>,
    /// API Gateway: the status to answer with.
    pub status: Option<u16>,
    /// Waited before the call is served.
    pub latency: Duration,
    /// Lambda: start a new instance for this invocation.
    pub cold_start: bool,
}

/// A fault, as listed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Listed {
    pub id: u64,
    #[serde(flatten)]
    pub spec: FaultSpec,
    /// How many more calls it hits, when it is counted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remaining: Option<u64>,
}

struct Rule {
    id: u64,
    spec: FaultSpec,
    remaining: Option<u64>,
    /// Matching calls still to let pass.
    passing: u64,
}

struct State {
    next_id: u64,
    rules: Vec<Rule>,
    /// splitmix64's state.
    seed: u64,
}

/// Every fault in force.
pub struct Faults {
    state: Mutex<State>,
    /// How many rules there are, so that calls skip the lock when there are none.
    count: AtomicUsize,
}

impl Default for Faults {
    fn default() -> Self {
        Self::new(0)
    }
}

impl Faults {
    /// No faults; `seed` starts the generator behind `probability`.
    pub fn new(seed: u64) -> Self {
        Self {
            state: Mutex::new(State {
                next_id: 1,
                rules: Vec::new(),
                seed,
            }),
            count: AtomicUsize::new(0),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a fault; its id, or why it cannot be honoured.
    pub fn add(&self, spec: FaultSpec) -> Result<u64, String> {
        if let Some(problem) = spec.problem() {
            return Err(problem);
        }
        let mut s = self.state();
        let id = s.next_id;
        s.next_id += 1;
        s.rules.push(Rule {
            id,
            remaining: spec.count,
            passing: spec.after.unwrap_or(0),
            spec,
        });
        self.count.store(s.rules.len(), Ordering::SeqCst);
        Ok(id)
    }

    /// Removes fault `id`; whether there was one.
    pub fn remove(&self, id: u64) -> bool {
        let mut s = self.state();
        let before = s.rules.len();
        s.rules.retain(|r| r.id != id);
        self.count.store(s.rules.len(), Ordering::SeqCst);
        s.rules.len() < before
    }

    pub fn clear(&self) {
        self.state().rules.clear();
        self.count.store(0, Ordering::SeqCst);
    }

    pub fn list(&self) -> Vec<Listed> {
        self.state()
            .rules
            .iter()
            .map(|r| Listed {
                id: r.id,
                spec: r.spec.clone(),
                remaining: r.remaining,
            })
            .collect()
    }

    /// Whether any fault is in force: callers skip the work of naming a call's resources when none is.
    pub fn is_armed(&self) -> bool {
        self.count.load(Ordering::SeqCst) > 0
    }

    /// Whether call `operation` of `service` on `resources` (the tables, cluster, function or API it touches) is
    /// hit by a fault, and how.
    pub fn check(&self, service: Service, operation: &str, resources: &[&str]) -> Option<Hit> {
        if !self.is_armed() {
            return None;
        }
        let mut s = self.state();
        let mut hit = None;
        for i in 0..s.rules.len() {
            if !matches(&s.rules[i].spec, service, operation, resources) {
                continue;
            }
            if s.rules[i].passing > 0 {
                s.rules[i].passing -= 1;
                continue;
            }
            if let Some(p) = s.rules[i].spec.probability
                && next_unit(&mut s.seed) >= p
            {
                continue;
            }
            let rule = &mut s.rules[i];
            hit = Some(Hit {
                error: rule.spec.error.clone(),
                status: rule.spec.status,
                latency: Duration::from_millis(rule.spec.latency_ms.unwrap_or(0)),
                cold_start: rule.spec.cold_start,
            });
            if let Some(n) = &mut rule.remaining {
                *n -= 1;
                if *n == 0 {
                    s.rules.remove(i);
                    self.count.store(s.rules.len(), Ordering::SeqCst);
                }
            }
            break;
        }
        hit
    }
}

fn matches(spec: &FaultSpec, service: Service, operation: &str, resources: &[&str]) -> bool {
    if spec.service != service {
        return false;
    }
    if spec.operation.as_ref().is_some_and(|o| o != operation) {
        return false;
    }
    let wanted = spec
        .table
        .as_deref()
        .or(spec.cluster.as_deref())
        .or(spec.function.as_deref())
        .or(spec.api.as_deref());
    match wanted {
        None => true,
        // A cluster is named by its ARN or by the ARN's last part.
        Some(w) => resources
            .iter()
            .any(|r| *r == w || r.rsplit(':').next() == Some(w)),
    }
}

/// The next number in [0, 1) from splitmix64.
fn next_unit(state: &mut u64) -> f64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: serde_json::Value) -> FaultSpec {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn a_fault_hits_its_service_operation_and_resource_only() {
        let f = Faults::default();
        f.add(spec(serde_json::json!({
            "service": "dynamodb", "operation": "PutItem", "table": "ports",
            "error": "ProvisionedThroughputExceededException"
        })))
        .unwrap();
        assert!(f.check(Service::Dynamodb, "GetItem", &["ports"]).is_none());
        assert!(f.check(Service::Dynamodb, "PutItem", &["other"]).is_none());
        assert!(f.check(Service::Rdsdata, "PutItem", &["ports"]).is_none());
        let hit = f.check(Service::Dynamodb, "PutItem", &["ports"]).unwrap();
        assert_eq!(
            hit.error.as_deref(),
            Some("ProvisionedThroughputExceededException")
        );
    }

    #[test]
    fn a_counted_fault_hits_the_next_n_calls_and_is_gone() {
        let f = Faults::default();
        f.add(spec(serde_json::json!({
            "service": "rdsdata", "cluster": "ec2-inventory", "error": "ServiceUnavailableError", "count": 2
        })))
        .unwrap();
        let arn = "arn:aws:rds:us-east-1:123456789012:cluster:ec2-inventory";
        assert!(
            f.check(Service::Rdsdata, "ExecuteStatement", &[arn])
                .is_some()
        );
        assert_eq!(f.list()[0].remaining, Some(1));
        assert!(
            f.check(Service::Rdsdata, "BeginTransaction", &[arn])
                .is_some()
        );
        assert!(
            f.check(Service::Rdsdata, "ExecuteStatement", &[arn])
                .is_none()
        );
        assert!(f.list().is_empty());
    }

    #[test]
    fn a_fault_after_n_lets_the_first_n_calls_pass() {
        let f = Faults::default();
        f.add(spec(serde_json::json!({
            "service": "rdsdata", "operation": "ExecuteStatement", "error": "StatementTimeoutException",
            "after": 1, "count": 1
        })))
        .unwrap();
        let hits: Vec<bool> = (0..3)
            .map(|_| {
                f.check(Service::Rdsdata, "ExecuteStatement", &["c"])
                    .is_some()
            })
            .collect();
        assert_eq!(hits, [false, true, false]);
    }

    #[test]
    fn a_probability_hits_about_that_share_and_repeats_with_the_seed() {
        let run = || {
            let f = Faults::new(7);
            f.add(spec(serde_json::json!({
                "service": "lambda", "error": "TooManyRequestsException", "probability": 0.25
            })))
            .unwrap();
            (0..4000)
                .map(|_| f.check(Service::Lambda, "Invoke", &["f"]).is_some())
                .collect::<Vec<_>>()
        };
        let hits = run();
        let share = hits.iter().filter(|h| **h).count() as f64 / hits.len() as f64;
        assert!((0.22..0.28).contains(&share), "{share}");
        assert_eq!(hits, run(), "the same seed hits the same calls");
    }

    #[test]
    fn faults_that_cannot_be_honoured_are_refused_with_the_reason() {
        let f = Faults::default();
        let refused = |json| f.add(spec(json)).unwrap_err();
        assert_eq!(
            refused(serde_json::json!({"service": "dynamodb", "error": "Boom"})),
            "unknown dynamodb error \"Boom\"; expected one of: ProvisionedThroughputExceededException, ThrottlingException, InternalServerError, TransactionConflictException"
        );
        assert_eq!(
            refused(serde_json::json!({"service": "lambda", "table": "t", "latency_ms": 5})),
            "`table` is for dynamodb faults, not lambda"
        );
        assert_eq!(
            refused(serde_json::json!({"service": "apigateway", "status": 404})),
            "an API Gateway fault's status must be one of 500, 502, 503 or 504, not 404"
        );
        assert_eq!(
            refused(serde_json::json!({"service": "dynamodb"})),
            "a fault needs an effect: `error`, `status`, `latency_ms` or `cold_start`"
        );
        assert!(f.list().is_empty());
    }
}
