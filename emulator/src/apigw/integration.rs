//! REST APIs' non-proxy integrations: Lambda custom (`AWS`) and mock (`MOCK`). A request template writes what the
//! integration receives, an integration response is chosen by `selectionPattern`, and its template and header
//! mappings write what the client gets.
//!
//! Behaviour follows the shared notes `apigw-authorizers-validation-vtl.md` §8.2 (template selection, passthrough)
//! and §8.3 (integration responses, header mappings, overrides), which cite the API Gateway Developer Guide
//! (`request-response-data-mappings`, `integration-passthrough-behaviors`, `handle-errors-in-lambda-integration`,
//! `apigateway-override-request-response-parameters`) and LocalStack snapshots recorded against AWS.

use std::collections::BTreeMap;

use bytes::Bytes;
use http::{HeaderName, HeaderValue};
use serde_json::Value;

use super::vtl::{self, RenderContext, Rendered, VtlError};
use crate::config::{IntegrationKind, IntegrationResponseConfig, RouteConfig};
use crate::net::{WireRequest, WireResponse};

/// `passthroughBehavior`: what happens to a request whose content type has no template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Passthrough {
    /// The body goes to the integration unchanged (AWS's default).
    WhenNoMatch,
    /// Unchanged only when the integration has no templates at all; otherwise 415.
    WhenNoTemplates,
    /// 415 whenever no template matches.
    Never,
}

/// A route's compiled mapping: its templates are parsed once, at start-up.
#[derive(Debug)]
pub struct Mapping {
    request_templates: Vec<(String, vtl::Template)>,
    passthrough: Passthrough,
    responses: Vec<Response>,
}

#[derive(Debug)]
struct Response {
    pattern: Option<crate::whole_match::WholeMatch>,
    status: u16,
    templates: Vec<(String, vtl::Template)>,
    headers: Vec<(HeaderName, Source)>,
}

/// Where a method response header's value comes from (DG:request-response-data-mappings).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    Static(String),
    Body,
    BodyPath(Vec<String>),
    /// A Lambda or mock integration answers with no headers, so this maps to nothing.
    IntegrationHeader,
    StageVariable(String),
    Context(Vec<String>),
}

/// What the integration receives after the request template.
#[derive(Debug)]
pub struct Mapped {
    pub payload: Bytes,
    /// `$context.responseOverride` set by the request template; it still applies to the answer (recorded for
    /// mock integrations, notes §8.3).
    pub overrides: Rendered,
}

/// What the integration answered.
pub struct Answer<'a> {
    pub payload: &'a [u8],
    /// The Lambda function failed (`X-Amz-Function-Error`).
    pub failed: bool,
}

/// The gateway response for a template that failed to render: 500 and AWS's generic body, the reason in the log.
fn render_failed(e: &VtlError) -> WireResponse {
    tracing::warn!("Execution failed due to configuration error: mapping template: {e}");
    super::gateway(500, "InternalServerErrorException", "Internal server error")
}

/// The MIME type alone, lower-cased: `application/json; charset=UTF-8` is `application/json`.
fn mime(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn compile_templates(
    templates: &BTreeMap<String, String>,
    what: &str,
) -> Result<Vec<(String, vtl::Template)>, String> {
    templates
        .iter()
        .map(|(ct, text)| {
            vtl::parse(text)
                .map(|t| (mime(ct), t))
                .map_err(|e| format!("{what} template for {ct}: {e}"))
        })
        .collect()
}

fn source(expr: &str) -> Result<Source, String> {
    let expr = expr.trim();
    if expr.len() >= 2 && expr.starts_with('\'') && expr.ends_with('\'') {
        return Ok(Source::Static(expr[1..expr.len() - 1].to_string()));
    }
    let dotted = |rest: &str| -> Vec<String> { rest.split('.').map(str::to_string).collect() };
    if expr == "integration.response.body" {
        Ok(Source::Body)
    } else if let Some(rest) = expr.strip_prefix("integration.response.body.") {
        Ok(Source::BodyPath(dotted(rest)))
    } else if expr.starts_with("integration.response.header.")
        || expr.starts_with("integration.response.multivalueheader.")
    {
        Ok(Source::IntegrationHeader)
    } else if let Some(rest) = expr.strip_prefix("stageVariables.") {
        Ok(Source::StageVariable(rest.to_string()))
    } else if let Some(rest) = expr.strip_prefix("context.") {
        Ok(Source::Context(dotted(rest)))
    } else {
        Err(format!(
            "{expr:?} is not a response mapping API Gateway knows: use 'static', integration.response.body[.path], \
             integration.response.header.X, stageVariables.x or context.x"
        ))
    }
}

fn compile_response(r: &IntegrationResponseConfig) -> Result<Response, String> {
    let pattern = r
        .pattern
        .as_ref()
        .map(|p| super::selection_pattern(p.get_ref()))
        .transpose()
        .map_err(|e| format!("invalid selection pattern: {e}"))?;
    let mut headers = Vec::new();
    for (name, expr) in &r.headers {
        let bare = name.strip_prefix("method.response.header.").unwrap_or(name);
        let header = HeaderName::from_bytes(bare.as_bytes())
            .map_err(|_| format!("{name:?} is not a valid header name"))?;
        headers.push((
            header,
            source(expr).map_err(|e| format!("header {bare}: {e}"))?,
        ));
    }
    Ok(Response {
        pattern,
        status: r.status,
        templates: compile_templates(&r.templates, &format!("the {} response's", r.status))?,
        headers,
    })
}

impl Mapping {
    /// Compiles a custom or mock route's templates, patterns and header mappings; the error names what is wrong.
    pub fn compile(route: &RouteConfig) -> Result<Self, String> {
        let passthrough = match route
            .passthrough
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("when_no_match") => Passthrough::WhenNoMatch,
            Some("when_no_templates") => Passthrough::WhenNoTemplates,
            Some("never") => Passthrough::Never,
            Some(other) => {
                return Err(format!(
                    "passthrough {other:?} must be when_no_match, when_no_templates or never"
                ));
            }
        };
        Ok(Self {
            request_templates: compile_templates(&route.request_templates, "the request")?,
            passthrough,
            responses: route
                .responses
                .iter()
                .map(compile_response)
                .collect::<Result<_, _>>()?,
        })
    }

    /// Applies the request template that the request's Content-Type selects (a missing one counts as
    /// `application/json`), or the passthrough behaviour when none does. `cx` holds everything but the body.
    pub fn request(
        &self,
        req: &WireRequest,
        mut cx: RenderContext,
    ) -> Result<Mapped, Box<WireResponse>> {
        let ct = req
            .header("content-type")
            .map_or_else(|| "application/json".to_string(), mime);
        let Some((_, template)) = self.request_templates.iter().find(|(k, _)| *k == ct) else {
            let passes = match self.passthrough {
                Passthrough::WhenNoMatch => true,
                Passthrough::WhenNoTemplates => self.request_templates.is_empty(),
                Passthrough::Never => false,
            };
            if !passes {
                // The UNSUPPORTED_MEDIA_TYPE gateway response. FIXME: the body text is LocalStack's; AWS's is
                // unverified (notes §8.2).
                return Err(Box::new(super::gateway(
                    415,
                    "UnsupportedMediaTypeException",
                    "Unsupported Media Type",
                )));
            }
            let payload = if req.body.iter().all(u8::is_ascii_whitespace) {
                Bytes::from_static(b"{}")
            } else {
                req.body.clone()
            };
            return Ok(Mapped {
                payload,
                overrides: Rendered::default(),
            });
        };
        cx.body = String::from_utf8_lossy(&req.body).into_owned();
        match template.render(&cx) {
            Ok(mut rendered) => Ok(Mapped {
                payload: Bytes::from(std::mem::take(&mut rendered.body)),
                overrides: rendered,
            }),
            Err(VtlError::InvalidJson { message, .. }) => {
                tracing::warn!("Could not parse request body into json: {message}");
                Err(Box::new(super::gateway(
                    400,
                    "BadRequestException",
                    &format!("Could not parse request body into json: {message}"),
                )))
            }
            Err(e) => Err(Box::new(render_failed(&e))),
        }
    }

    /// The integration response a Lambda answer selects: an error's `errorMessage` against each pattern, whole,
    /// in order, else the default response. A success takes the default response.
    fn select_lambda(&self, answer: &Answer<'_>) -> Option<&Response> {
        let default = self.responses.iter().find(|r| r.pattern.is_none());
        if !answer.failed {
            return default;
        }
        let message = serde_json::from_slice::<Value>(answer.payload)
            .ok()
            .and_then(|v| {
                v.get("errorMessage")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_default();
        self.responses
            .iter()
            .find(|r| r.pattern.as_ref().is_some_and(|p| p.is_match(&message)))
            .or(default)
    }

    /// A mock integration's response: the request template's `statusCode` is matched against each pattern.
    fn select_mock(&self, status: u16) -> Option<&Response> {
        let status = status.to_string();
        self.responses
            .iter()
            .find(|r| r.pattern.as_ref().is_some_and(|p| p.is_match(&status)))
            .or_else(|| self.responses.iter().find(|r| r.pattern.is_none()))
    }

    /// Writes the client's answer from a Lambda custom integration's result.
    pub fn lambda_response(
        &self,
        answer: &Answer<'_>,
        accept: Option<&str>,
        cx: RenderContext,
        request: &Rendered,
    ) -> WireResponse {
        match self.select_lambda(answer) {
            Some(r) => respond(r, r.status, answer.payload, accept, cx, request),
            // Without any integration response, a success still answers 200 with the result as it is.
            None if !answer.failed && self.responses.is_empty() => WireResponse::new(200)
                .header("content-type", "application/json")
                .body(Bytes::copy_from_slice(answer.payload)),
            None => {
                tracing::warn!(
                    "Execution failed due to configuration error: No match for output mapping and no default output mapping configured"
                );
                super::gateway(500, "InternalServerErrorException", "Internal server error")
            }
        }
    }

    /// Writes a mock integration's answer. Its request template must give `{"statusCode": N}`.
    pub fn mock_response(
        &self,
        mapped: &Mapped,
        accept: Option<&str>,
        cx: RenderContext,
    ) -> WireResponse {
        let status = serde_json::from_slice::<Value>(&mapped.payload)
            .ok()
            .and_then(|v| {
                let s = v.get("statusCode")?;
                s.as_u64().or_else(|| s.as_str()?.trim().parse().ok())
            });
        // FIXME: what AWS answers to a mock request template without `statusCode` is unverified; Offcloud
        // answers 500 and names the cause in the log.
        let Some(status) = status
            .and_then(|s| u16::try_from(s).ok())
            .filter(|s| (100..600).contains(s))
        else {
            tracing::warn!(
                "Execution failed due to configuration error: the mock integration's request template gave no statusCode"
            );
            return super::gateway(500, "InternalServerErrorException", "Internal server error");
        };
        match self.select_mock(status) {
            Some(r) => respond(r, r.status, b"", accept, cx, &mapped.overrides),
            None => {
                tracing::warn!(
                    "Execution failed due to configuration error: no integration response matches status {status}"
                );
                super::gateway(500, "InternalServerErrorException", "Internal server error")
            }
        }
    }
}

/// The response template the request's Accept selects: the first Accept type with a template, else (Accept
/// missing) `application/json`, else the first template (DG:request-response-data-mappings, notes §8.2).
fn pick_template<'a>(
    templates: &'a [(String, vtl::Template)],
    accept: Option<&str>,
) -> Option<&'a (String, vtl::Template)> {
    let wanted: Vec<String> = match accept {
        Some(a) if !a.trim().is_empty() => a.split(',').map(mime).collect(),
        _ => vec!["application/json".into()],
    };
    wanted
        .iter()
        .find_map(|w| templates.iter().find(|(k, _)| k == w))
        .or_else(|| templates.first())
}

fn respond(
    r: &Response,
    status: u16,
    body: &[u8],
    accept: Option<&str>,
    mut cx: RenderContext,
    request: &Rendered,
) -> WireResponse {
    let (content_type, out_body, rendered) = match pick_template(&r.templates, accept) {
        Some((ct, template)) => {
            cx.body = String::from_utf8_lossy(body).into_owned();
            match template.render(&cx) {
                Ok(mut rendered) => (
                    ct.clone(),
                    Bytes::from(std::mem::take(&mut rendered.body)),
                    Some(rendered),
                ),
                Err(e) => return render_failed(&e),
            }
        }
        None => (
            "application/json".to_string(),
            Bytes::copy_from_slice(body),
            None,
        ),
    };
    // Overrides are applied after the mappings and are final; the response template's win over the request's.
    let status = rendered
        .as_ref()
        .and_then(|r| r.status_override)
        .or(request.status_override)
        .unwrap_or(status);
    let mut resp = WireResponse::new(status)
        .header("content-type", &content_type)
        .body(out_body);
    for (name, src) in &r.headers {
        if let Some(v) = header_value(src, body, &cx)
            && let Ok(v) = HeaderValue::from_str(&v)
        {
            resp.headers.insert(name.clone(), v);
        }
    }
    let overrides = request
        .header_overrides
        .iter()
        .chain(rendered.iter().flat_map(|r| r.header_overrides.iter()));
    for (name, value) in overrides {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            resp.headers.insert(n, v);
        }
    }
    resp
}

fn walk<'a>(mut v: &'a Value, path: &[String]) -> Option<&'a Value> {
    for key in path {
        v = match v {
            Value::Array(a) => a.get(key.parse::<usize>().ok()?)?,
            _ => v.get(key)?,
        };
    }
    Some(v)
}

fn header_value(src: &Source, body: &[u8], cx: &RenderContext) -> Option<String> {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match src {
        Source::Static(s) => Some(s.clone()),
        Source::Body => Some(String::from_utf8_lossy(body).into_owned()),
        Source::BodyPath(path) => {
            let json: Value = serde_json::from_slice(body).ok()?;
            walk(&json, path).filter(|v| !v.is_null()).map(text)
        }
        Source::IntegrationHeader => None,
        Source::StageVariable(name) => cx.stage_variables.get(name).cloned(),
        Source::Context(path) => walk(&cx.context, path).filter(|v| !v.is_null()).map(text),
    }
}

/// Whether a route's integration goes through mapping templates.
pub fn is_mapped(kind: IntegrationKind) -> bool {
    matches!(kind, IntegrationKind::Lambda | IntegrationKind::Mock)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(toml_text: &str) -> RouteConfig {
        toml::from_str(toml_text).unwrap()
    }

    #[test]
    fn header_sources_parse_and_unknown_ones_are_refused() {
        assert_eq!(source("'*'").unwrap(), Source::Static("*".into()));
        assert_eq!(source("integration.response.body").unwrap(), Source::Body);
        assert_eq!(
            source("integration.response.body.a.b").unwrap(),
            Source::BodyPath(vec!["a".into(), "b".into()])
        );
        assert_eq!(
            source("stageVariables.v").unwrap(),
            Source::StageVariable("v".into())
        );
        assert!(
            source("method.request.header.x")
                .unwrap_err()
                .contains("not a response mapping")
        );
    }

    #[test]
    fn templates_are_chosen_by_accept_then_json_then_first() {
        let r = route(
            r#"method = "GET"
path = "/x"
function = "f"
[[response]]
status = 200
templates = { "application/xml" = "<x/>", "text/plain" = "plain" }
"#,
        );
        let m = Mapping::compile(&r).unwrap();
        let t = &m.responses[0].templates;
        assert_eq!(
            pick_template(t, Some("text/plain, */*")).unwrap().0,
            "text/plain"
        );
        // No application/json template: the first one (by content type) is used.
        assert_eq!(pick_template(t, None).unwrap().0, "application/xml");
        assert_eq!(
            pick_template(t, Some("image/png")).unwrap().0,
            "application/xml"
        );
    }

    #[test]
    fn a_bad_template_or_passthrough_is_named_at_compile_time() {
        let e = Mapping::compile(&route(
            "method = \"GET\"\npath = \"/x\"\nfunction = \"f\"\nrequest_templates = { \"application/json\" = \"ok\\n#macro(m)#end\" }\n",
        ))
        .unwrap_err();
        assert_eq!(
            e,
            "the request template for application/json: line 2: #macro is not supported by Offcloud's VTL"
        );
        let e = Mapping::compile(&route(
            "method = \"GET\"\npath = \"/x\"\nfunction = \"f\"\npassthrough = \"sometimes\"\n",
        ))
        .unwrap_err();
        assert!(e.contains("when_no_match"), "{e}");
    }

    #[test]
    fn header_values_come_from_the_body_context_and_stage() {
        let cx = RenderContext {
            context: serde_json::json!({"requestId": "r-1", "authorizer": {"principalId": "u"}}),
            stage_variables: [("v".to_string(), "sv".to_string())].into(),
            ..RenderContext::default()
        };
        let body = br#"{"a": {"b": "deep", "n": 3}}"#;
        let get = |s: &str| header_value(&source(s).unwrap(), body, &cx);
        assert_eq!(
            get("integration.response.body.a.b").as_deref(),
            Some("deep")
        );
        assert_eq!(get("integration.response.body.a.n").as_deref(), Some("3"));
        assert_eq!(get("integration.response.body.a.zz"), None);
        assert_eq!(get("context.authorizer.principalId").as_deref(), Some("u"));
        assert_eq!(get("stageVariables.v").as_deref(), Some("sv"));
        assert_eq!(get("'fixed'").as_deref(), Some("fixed"));
    }
}
