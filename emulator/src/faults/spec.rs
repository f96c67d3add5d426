//! What a fault is, as the config's `[[fault]]` tables, scenario steps and `POST /_offcloud/faults` declare it,
//! and which errors each service can be made to fail with.

use serde::{Deserialize, Serialize};

/// The service a fault is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    Dynamodb,
    Rdsdata,
    Lambda,
    Apigateway,
}

/// One fault: which calls it hits, what happens to them, and how often.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    pub service: Service,
    /// The operation (`PutItem`, `ExecuteStatement`, ...); every operation when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// A DynamoDB table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    /// A Data API cluster, by ARN or by its name (the ARN's last part).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// A Lambda function.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    /// An API Gateway API, by its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<String>,
    /// The error, by AWS's own name for it; see [`ERRORS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// API Gateway: the 5xx status the gateway answers with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Lambda: the invocation starts a new instance, as after an idle instance was reclaimed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cold_start: bool,
    /// Added before the call is served (and before the error, if there is one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// The chance, from 0 to 1, that a matching call is hit; every matching call when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// Only the next `count` matching calls are hit; then the fault is gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// The first `after` matching calls pass untouched: the second statement of a transaction can fail while
    /// the first succeeds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<u64>,
}

/// The errors each service can be made to fail with, by AWS's names.
pub const ERRORS: &[(Service, &[&str])] = &[
    (
        Service::Dynamodb,
        &[
            "ProvisionedThroughputExceededException",
            "ThrottlingException",
            "InternalServerError",
            "TransactionConflictException",
        ],
    ),
    (
        Service::Rdsdata,
        &["StatementTimeoutException", "ServiceUnavailableError"],
    ),
    // A throttle (429), the function's timeout and a crash of its process.
    (
        Service::Lambda,
        &[
            "TooManyRequestsException",
            "Sandbox.Timedout",
            "Runtime.ExitError",
        ],
    ),
    (Service::Apigateway, &[]),
];

/// The statuses an API Gateway fault can answer with.
pub const GATEWAY_STATUSES: &[u16] = &[500, 502, 503, 504];

impl FaultSpec {
    /// Why the fault cannot be honoured, if it cannot.
    pub fn problem(&self) -> Option<String> {
        let service = self.service;
        let only = |set: bool, key: &str, owner: Service| {
            (set && service != owner).then(|| {
                format!(
                    "`{key}` is for {} faults, not {}",
                    owner.name(),
                    service.name()
                )
            })
        };
        if let Some(p) = only(self.table.is_some(), "table", Service::Dynamodb)
            .or_else(|| only(self.cluster.is_some(), "cluster", Service::Rdsdata))
            .or_else(|| only(self.function.is_some(), "function", Service::Lambda))
            .or_else(|| only(self.api.is_some(), "api", Service::Apigateway))
            .or_else(|| only(self.status.is_some(), "status", Service::Apigateway))
            .or_else(|| only(self.cold_start, "cold_start", Service::Lambda))
        {
            return Some(p);
        }
        if let Some(e) = &self.error {
            let known = ERRORS
                .iter()
                .find(|(s, _)| *s == service)
                .map_or(&[][..], |(_, e)| e);
            if !known.contains(&e.as_str()) {
                return Some(if known.is_empty() {
                    format!("{} faults take no `error`; use `status`", service.name())
                } else {
                    format!(
                        "unknown {} error {e:?}; expected one of: {}",
                        service.name(),
                        known.join(", ")
                    )
                });
            }
        }
        if let Some(s) = self.status
            && !GATEWAY_STATUSES.contains(&s)
        {
            return Some(format!(
                "an API Gateway fault's status must be one of 500, 502, 503 or 504, not {s}"
            ));
        }
        if let Some(p) = self.probability
            && !(0.0..=1.0).contains(&p)
        {
            return Some(format!("probability must be between 0 and 1, not {p}"));
        }
        if self.count == Some(0) {
            return Some("count must be at least 1".into());
        }
        if self.error.is_none()
            && self.status.is_none()
            && self.latency_ms.is_none()
            && !self.cold_start
        {
            return Some(
                "a fault needs an effect: `error`, `status`, `latency_ms` or `cold_start`".into(),
            );
        }
        None
    }
}

impl Service {
    /// The name the config uses.
    pub fn name(self) -> &'static str {
        match self {
            Self::Dynamodb => "dynamodb",
            Self::Rdsdata => "rdsdata",
            Self::Lambda => "lambda",
            Self::Apigateway => "apigateway",
        }
    }
}
