//! API Gateway mapping templates: the Apache Velocity (VTL) subset that REST API non-proxy integrations use,
//! with API Gateway's `$input`, `$context`, `$stageVariables` and `$util` variables.
//!
//! Behaviour follows the notes in `shared/notes/apigw-authorizers-validation-vtl.md` §8 (variables, template
//! selection, integration responses) and §12 (stage variables), which cite the API Gateway Developer Guide
//! (`api-gateway-mapping-template-reference`, `apigateway-override-request-response-parameters`,
//! `request-response-data-mappings`, `aws-api-gateway-stage-variables-reference`) and LocalStack snapshots
//! recorded against AWS. Where neither says what AWS does, this module follows Velocity 1.7, and the choice is
//! written next to the code.
//!
//! A template is parsed once ([`parse`]) and rendered per request ([`Template::render`]). Parsing refuses the
//! directives Offcloud does not implement (`#macro`, `#include`, `#parse`, `#evaluate`, `#define`,
//! `#literal`) and any syntax error, with the line, so a template never renders partly or wrongly.
//!
//! Decisions worth knowing:
//! - A reference whose variable was never set renders as written (`$foo`), as in Velocity; `$!foo` renders
//!   nothing. A reference to a set variable that evaluates to null (a missing key, a JSONPath that matches
//!   nothing, `$context.authorizer.x` without an authorizer) renders as empty text, as AWS was recorded doing
//!   for `$input.path` (notes §8.1).
//! - `$x == ""` is true when `$x` is null (recorded, notes §8.1). Otherwise `==` is Velocity 1.7's: numbers by
//!   value, same types by `equals`, different types by their string forms.
//! - `#if` follows Velocity 1.7: only null and `false` are false.
//! - Whitespace: a line holding only directives and comments leaves nothing behind (Velocity 2's default;
//!   which Velocity API Gateway runs is not documented, notes §8.3).
//! - Names hold letters, digits and `_` (Velocity 2), so `$h.X-Y` is `$h.X` then `-Y`; write `$h['X-Y']`.
//! - Directives and comments inside double-quoted strings are refused, not evaluated.
//! - `$input.body` and `$input.json` read an empty body as `{}` (recorded, notes §8.1); `$input.path` finds
//!   nothing in it (LocalStack PR 12774, checked in the AWS console, not recorded).
//! - A body that is not JSON fails `$input.json` and `$input.path` with [`VtlError::InvalidJson`]; AWS answers
//!   such requests with 400 and `Could not parse request body into json: ...` (users' reports; unverified).
//! - `$input.json` of a path that matches nothing renders as empty text (unverified).

mod block;
mod eval;
mod expr;
mod input;
mod methods;
mod parse;
mod value;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

pub use value::{ListStyle, Map, MapKind, Value};

/// Why a template could not be parsed or rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VtlError {
    /// A Velocity directive that Offcloud does not implement.
    #[error("line {line}: #{directive} is not supported by Offcloud's VTL")]
    Unsupported { line: usize, directive: String },
    #[error("line {line}: {message}")]
    Syntax { line: usize, message: String },
    /// A failure while rendering: an unknown method, an index out of range, a bad regex, and so on. API
    /// Gateway answers these with a 500.
    #[error("line {line}: {message}")]
    Render { line: usize, message: String },
    /// `$input.json` or `$input.path` met a body that is not JSON. For a request template this is a client
    /// error (400, `Could not parse request body into json: <message>`).
    #[error("line {line}: Could not parse request body into json: {message}")]
    InvalidJson { line: usize, message: String },
    /// `$context.responseOverride.status` was set to something that is not an HTTP status.
    #[error("$context.responseOverride.status is not an HTTP status code: {0}")]
    BadStatusOverride(String),
}

/// What a template can see of the request (or, for a response template, of the integration's response).
#[derive(Debug, Clone, Default)]
pub struct RenderContext {
    /// The payload, `$input.body`.
    pub body: String,
    /// `$input.params().path`.
    pub path: BTreeMap<String, String>,
    /// `$input.params().querystring`.
    pub querystring: BTreeMap<String, String>,
    /// `$input.params().header`. `$input.params('name')` finds headers case-insensitively.
    pub header: BTreeMap<String, String>,
    /// `$context`: `requestId`, `httpMethod`, `resourcePath`, `stage`, `identity`, `authorizer`, and so on.
    /// `responseOverride` and `requestOverride` are added when missing so that templates can set them.
    pub context: serde_json::Value,
    /// `$stageVariables`.
    pub stage_variables: BTreeMap<String, String>,
}

/// A rendered template, with what it set in `$context.responseOverride` and `$context.requestOverride`
/// (DG:apigateway-override-request-response-parameters, notes §8.3).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rendered {
    pub body: String,
    pub status_override: Option<u16>,
    pub header_overrides: BTreeMap<String, String>,
    pub request_overrides: RequestOverrides,
}

/// `$context.requestOverride.{header,path,querystring}`, which a request template may set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestOverrides {
    pub header: BTreeMap<String, String>,
    pub path: BTreeMap<String, String>,
    pub querystring: BTreeMap<String, String>,
}

/// A parsed template. It holds no shared state and can be rendered from many threads.
#[derive(Debug, Clone)]
pub struct Template {
    nodes: Vec<parse::Node>,
}

/// Parses a mapping template.
pub fn parse(source: &str) -> Result<Template, VtlError> {
    Ok(Template {
        nodes: parse::parse_template(source)?,
    })
}

impl Template {
    /// Renders the template against one request.
    pub fn render(&self, cx: &RenderContext) -> Result<Rendered, VtlError> {
        eval::render(&self.nodes, cx)
    }
}
