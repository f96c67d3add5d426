//! Identity sources: reading them from the request, and the `identityValidationExpression` check.
//!
//! Sources: API_Authorizer (identitySource, identityValidationExpression); DG:http-api-lambda-authorizer
//! ("Identity sources"); DG:configure-api-gateway-lambda-authorization-with-console. Notes §1.1, §1.5, §1.6, §2.

use super::{AuthRequest, AuthorizerConfig, AuthorizerKind};
use crate::whole_match::WholeMatch;

/// An identity source expression and the name it reads. The flag is true for the HTTP API syntax
/// (`$request.header.X`), false for REST's (`method.request.header.X`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source<'a> {
    Header(&'a str, bool),
    Query(&'a str, bool),
    StageVariable(&'a str, bool),
    Context(&'a str, bool),
    Unknown,
}

impl<'a> Source<'a> {
    pub(super) fn parse(s: &'a str) -> Self {
        let s = s.trim();
        let (http, rest) = match s.strip_prefix('$') {
            Some(r) => (true, r),
            None => (false, s),
        };
        let named = |p: &str| rest.strip_prefix(p).filter(|n| !n.is_empty());
        let (header, query) = if http {
            ("request.header.", "request.querystring.")
        } else {
            ("method.request.header.", "method.request.querystring.")
        };
        if let Some(n) = named(header) {
            Source::Header(n, http)
        } else if let Some(n) = named(query) {
            Source::Query(n, http)
        } else if let Some(n) = named("stageVariables.") {
            Source::StageVariable(n, http)
        } else if let Some(n) = named("context.") {
            Source::Context(n, http)
        } else {
            Source::Unknown
        }
    }

    pub(super) fn http_syntax(self) -> bool {
        match self {
            Source::Header(_, h)
            | Source::Query(_, h)
            | Source::StageVariable(_, h)
            | Source::Context(_, h) => h,
            Source::Unknown => false,
        }
    }
}

/// The value of one identity source; `None` when it is missing or empty, which API Gateway treats alike
/// (API_Authorizer identitySource: "present, not null and non-empty"). REST keeps the last value of a
/// repeated header or query parameter, as its `headers` map does; HTTP APIs join them with commas, as the
/// 2.0 event does (notes §11.1, §11.4). HTTP query names are case-sensitive, headers are not
/// (DG:http-api-lambda-authorizer).
pub(super) fn resolve(cfg: &AuthorizerConfig, req: &AuthRequest, source: &str) -> Option<String> {
    let http = cfg.kind.is_http();
    let pick = |mut values: Vec<&str>| -> Option<String> {
        if http {
            (!values.is_empty()).then(|| values.join(","))
        } else {
            values.pop().map(str::to_string)
        }
    };
    let value = match Source::parse(source) {
        Source::Header(n, _) => pick(req.header_values(n).collect()),
        Source::Query(n, _) => pick(req.query_values(n).collect()),
        Source::StageVariable(n, _) => req.stage_variables.get(n).cloned(),
        Source::Context(n, _) => req.context_var(n, http),
        Source::Unknown => None,
    };
    value.filter(|v| !v.is_empty())
}

/// The identity source values in configured order, or `None` when one is missing.
fn identity_values(cfg: &AuthorizerConfig, req: &AuthRequest) -> Option<Vec<String>> {
    cfg.identity_sources
        .iter()
        .map(|s| resolve(cfg, req, s))
        .collect()
}

/// A regex that, like Java's `String.matches`, must match the whole input. Whether AWS anchors
/// `identityValidationExpression` is not documented (notes §1.6); the doc examples carry their own `^`.
pub(super) fn full_match_regex(expr: &str) -> Result<WholeMatch, String> {
    WholeMatch::new(expr)
}

/// What the request's identity sources say, before any function is invoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityOutcome {
    /// A configured identity source is missing or empty: answer 401 without invoking the function
    /// (API_Authorizer identitySource; DG:http-api-lambda-authorizer "Identity sources").
    Missing,
    /// The `TOKEN` value fails `identityValidationExpression`: 401 without invoking the function
    /// (API_Authorizer identityValidationExpression).
    Invalid,
    /// Invoke the authorizer, or use a cached result under `cache_key`.
    Present { cache_key: String },
}

/// Reads the request's identity. A `REQUEST` authorizer checks its configured sources also when caching is
/// off: API_Authorizer describes the check without a condition, and users report that only an empty
/// identity source avoids it (serverless-offline PR #1720). With no sources configured the function is
/// always invoked.
pub fn identity(cfg: &AuthorizerConfig, req: &AuthRequest) -> IdentityOutcome {
    let values = match cfg.kind {
        // A TOKEN authorizer has one header; an empty list is a configuration error that finds no token.
        AuthorizerKind::Token => match cfg
            .identity_sources
            .first()
            .and_then(|s| resolve(cfg, req, s))
        {
            Some(token) => vec![token],
            None => return IdentityOutcome::Missing,
        },
        _ => match identity_values(cfg, req) {
            Some(v) => v,
            None => return IdentityOutcome::Missing,
        },
    };
    if cfg.kind == AuthorizerKind::Token
        && let Some(expr) = &cfg.identity_validation_expression
    {
        // An expression that does not compile lets no token through; `validate` reports it at start-up.
        let ok = WholeMatch::memoized(expr).is_ok_and(|re| re.is_match(&values[0]));
        if !ok {
            return IdentityOutcome::Invalid;
        }
    }
    // The values are encoded as a JSON list so that no two different lists share a key.
    let cache_key = serde_json::to_string(&values).unwrap_or_default();
    IdentityOutcome::Present { cache_key }
}
