//! Reading what the authorizer function answered, and applying it to one request.
//!
//! Sources: DG:api-gateway-lambda-authorizer-output (REST: principalId, policyDocument, context,
//! usageIdentifierKey; context values are strings, numbers or booleans, stringified); DG:http-api-lambda-authorizer
//! (HTTP APIs: an IAM policy, or with simple responses `{"isAuthorized", "context"}`). Notes §1.3, §1.7, §2.

use serde_json::{Map, Value};

use super::{
    AuthRequest, AuthorizerConfig, Decision, FunctionFailure, GatewayResponse, Policy, PolicyError,
    PolicyVerdict,
};

/// Why an authorizer's answer cannot be used: 500 (notes §1.7, §2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MalformedResult {
    #[error("the authorizer's answer is not a JSON object")]
    NotAnObject,
    #[error("the authorizer's answer has no policyDocument")]
    NoPolicy,
    #[error("could not parse policy: {0}")]
    Policy(#[from] PolicyError),
    #[error("principalId is not a string")]
    BadPrincipal,
    #[error("context is not an object")]
    BadContext,
    #[error(
        "context value {0:?} is an object or a list; only strings, numbers and booleans are allowed"
    )]
    NestedContext(String),
    #[error("usageIdentifierKey is not a string")]
    BadUsageKey,
    #[error("the simple response has no boolean isAuthorized")]
    NoIsAuthorized,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Verdict {
    Policy(Policy),
    Simple(bool),
}

/// A usable answer, as the cache keeps it: the policy (or the simple verdict), principal and context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct AuthorizerResult {
    principal_id: Option<String>,
    context: Map<String, Value>,
    usage_identifier_key: Option<String>,
    verdict: Verdict,
}

/// The function's outcome as a usable answer, or the response that ends the request.
pub(super) fn parse_outcome(
    cfg: &AuthorizerConfig,
    outcome: Result<Value, FunctionFailure>,
) -> Result<AuthorizerResult, GatewayResponse> {
    let http = cfg.kind.is_http();
    match outcome {
        Err(FunctionFailure::Unauthorized) => Err(GatewayResponse::unauthorized()),
        Err(FunctionFailure::Failed(message)) => Err(GatewayResponse {
            detail: Some(format!(
                "Execution failed due to configuration error: Authorizer error: {message}"
            )),
            ..GatewayResponse::configuration_error(http)
        }),
        Ok(v) => parse(cfg, &v).map_err(|e| GatewayResponse {
            detail: Some(format!(
                "Execution failed due to configuration error: {e}; the authorizer answered {v}"
            )),
            ..GatewayResponse::configuration_error(http)
        }),
    }
}

pub(super) fn parse(
    cfg: &AuthorizerConfig,
    v: &Value,
) -> Result<AuthorizerResult, MalformedResult> {
    let obj = v.as_object().ok_or(MalformedResult::NotAnObject)?;
    let context = parse_context(cfg, obj.get("context"))?;
    if cfg.kind.simple() {
        let allowed = obj
            .get("isAuthorized")
            .and_then(Value::as_bool)
            .ok_or(MalformedResult::NoIsAuthorized)?;
        return Ok(AuthorizerResult {
            principal_id: None,
            context,
            usage_identifier_key: None,
            verdict: Verdict::Simple(allowed),
        });
    }
    let policy = match obj.get("policyDocument") {
        None | Some(Value::Null) => return Err(MalformedResult::NoPolicy),
        Some(doc) => Policy::parse(doc)?,
    };
    // AWS's handling of a non-string principalId is not documented; numbers and booleans are read as text.
    let principal_id = match obj.get("principalId") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(v @ (Value::Number(_) | Value::Bool(_))) => Some(v.to_string()),
        Some(_) => return Err(MalformedResult::BadPrincipal),
    };
    let usage_identifier_key = match obj.get("usageIdentifierKey") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(MalformedResult::BadUsageKey),
    };
    Ok(AuthorizerResult {
        principal_id,
        context,
        usage_identifier_key,
        verdict: Verdict::Policy(policy),
    })
}

/// REST stringifies context values (`1` becomes `"1"`, `true` becomes `"true"`) and keeps null
/// (DG:api-gateway-lambda-authorizer-output; DefinitelyTyped PR #69823, a real capture). An object or a list
/// is not a valid value; AWS answers 500 (serverless-offline PR #1244, the author's experiments, unverified).
/// HTTP APIs keep values as they are: their documented examples return lists and maps, and
/// `$context.authorizer.numKey` gives `1` (DG:http-api-lambda-authorizer; DG:http-api-logging-variables).
fn parse_context(
    cfg: &AuthorizerConfig,
    context: Option<&Value>,
) -> Result<Map<String, Value>, MalformedResult> {
    let context = match context {
        None | Some(Value::Null) => return Ok(Map::new()),
        Some(Value::Object(m)) => m,
        Some(_) => return Err(MalformedResult::BadContext),
    };
    if cfg.kind.is_http() {
        return Ok(context.clone());
    }
    context
        .iter()
        .map(|(k, v)| {
            let v = match v {
                Value::String(_) | Value::Null => v.clone(),
                Value::Number(n) => Value::String(n.to_string()),
                Value::Bool(b) => Value::String(b.to_string()),
                Value::Array(_) | Value::Object(_) => {
                    return Err(MalformedResult::NestedContext(k.clone()));
                }
            };
            Ok((k.clone(), v))
        })
        .collect()
}

impl AuthorizerResult {
    /// Applies the answer to this request. A policy is evaluated against this request's method ARN, also when
    /// it was cached for another request: that is the classic pitfall of a policy that only allows the method
    /// that first triggered the authorizer (notes §1.5; KC api-gateway-lambda-authorization-errors).
    pub(super) fn evaluate(&self, cfg: &AuthorizerConfig, req: &AuthRequest) -> Decision {
        let http = cfg.kind.is_http();
        let policy = match &self.verdict {
            Verdict::Simple(false) => {
                return Decision::Deny(GatewayResponse::denied(http, false));
            }
            Verdict::Simple(true) => None,
            Verdict::Policy(p) => match p.evaluate(&req.method_arn()) {
                PolicyVerdict::Allow => Some(p.clone()),
                PolicyVerdict::ExplicitDeny => {
                    return Decision::Deny(GatewayResponse::denied(http, true));
                }
                PolicyVerdict::ImplicitDeny => {
                    return Decision::Deny(GatewayResponse::denied(http, false));
                }
            },
        };
        Decision::Allow {
            principal_id: self.principal_id.clone(),
            context: self.context.clone(),
            usage_identifier_key: self.usage_identifier_key.clone(),
            policy,
        }
    }
}
