//! A REST API's customised gateway responses: the status, headers and body of the answers API Gateway writes
//! itself (401 from an authorizer, 400 from a validator, 403 for a missing route, 504 for a timeout, ...), as
//! SAM `GatewayResponses`, `AWS::ApiGateway::GatewayResponse` and `x-amazon-apigateway-gateway-responses` set
//! them. Their most common use is CORS headers on 4XX answers, which the browser otherwise hides.
//!
//! Behaviour follows the shared notes `apigw-authorizers-validation-vtl.md` §10 (DG:supported-gateway-response-
//! types, DG:api-gateway-gatewayResponse-definition and LocalStack snapshots recorded against AWS): a type without
//! its own settings falls back to `DEFAULT_4XX` or `DEFAULT_5XX`, a status set there applies to the types that
//! fall back to it, and header values are `'static'`, `method.request.{header|querystring|path}.x`,
//! `stageVariables.x` or `context.x`. Templates may use `$context.error.message`, `messageString` (the quoted
//! form) and `responseType`, `$context.requestId` and the like, and `$stageVariables`; AWS substitutes these
//! without running VTL, and Offcloud renders them with its VTL, which gives the same text for substitutions.

use std::collections::BTreeMap;

use http::{HeaderName, HeaderValue};
use serde_json::{Value, json};

use super::vtl;
use crate::config::GatewayResponseConfig;
use crate::net::{WireRequest, WireResponse};

/// Every gateway response type (DG:supported-gateway-response-types).
pub const TYPES: &[&str] = &[
    "ACCESS_DENIED",
    "API_CONFIGURATION_ERROR",
    "AUTHORIZER_CONFIGURATION_ERROR",
    "AUTHORIZER_FAILURE",
    "BAD_REQUEST_BODY",
    "BAD_REQUEST_PARAMETERS",
    "DEFAULT_4XX",
    "DEFAULT_5XX",
    "EXPIRED_TOKEN",
    "INTEGRATION_FAILURE",
    "INTEGRATION_TIMEOUT",
    "INVALID_API_KEY",
    "INVALID_SIGNATURE",
    "MISSING_AUTHENTICATION_TOKEN",
    "QUOTA_EXCEEDED",
    "REQUEST_TOO_LARGE",
    "RESOURCE_NOT_FOUND",
    "THROTTLED",
    "UNAUTHORIZED",
    "UNSUPPORTED_MEDIA_TYPE",
    "WAF_FILTERED",
];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    Static(String),
    Request { place: String, name: String },
    StageVariable(String),
    Context(Vec<String>),
}

#[derive(Debug)]
struct Compiled {
    status: Option<u16>,
    headers: Vec<(HeaderName, Source)>,
    templates: Vec<(String, vtl::Template)>,
}

/// One API's customised gateway responses, compiled at start-up.
#[derive(Debug, Default)]
pub struct GatewayResponses {
    by_type: BTreeMap<String, Compiled>,
}

fn source(expr: &str) -> Result<Source, String> {
    let expr = expr.trim();
    if expr.len() >= 2 && expr.starts_with('\'') && expr.ends_with('\'') {
        return Ok(Source::Static(expr[1..expr.len() - 1].to_string()));
    }
    if let Some(rest) = expr.strip_prefix("method.request.")
        && let Some((place, name)) = rest.split_once('.')
        && ["header", "querystring", "path"].contains(&place)
    {
        return Ok(Source::Request {
            place: place.into(),
            name: name.into(),
        });
    }
    if let Some(v) = expr.strip_prefix("stageVariables.") {
        return Ok(Source::StageVariable(v.into()));
    }
    if let Some(c) = expr.strip_prefix("context.") {
        return Ok(Source::Context(c.split('.').map(str::to_string).collect()));
    }
    Err(format!(
        "{expr:?} is not a gateway response value: use 'static', method.request.header.x, \
         method.request.querystring.x, method.request.path.x, stageVariables.x or context.x"
    ))
}

impl GatewayResponses {
    /// Compiles an API's settings; the error names the type and what is wrong.
    pub fn new(config: &BTreeMap<String, GatewayResponseConfig>) -> Result<Self, String> {
        let mut by_type = BTreeMap::new();
        for (kind, c) in config {
            if !TYPES.contains(&kind.as_str()) {
                return Err(format!(
                    "gateway response type {kind:?} is not one of API Gateway's ({})",
                    TYPES.join(", ")
                ));
            }
            let at = |e: String| format!("gateway response {kind}: {e}");
            let mut headers = Vec::new();
            for (name, expr) in &c.headers {
                let bare = name.strip_prefix("gatewayresponse.header.").unwrap_or(name);
                let header = HeaderName::from_bytes(bare.as_bytes())
                    .map_err(|_| at(format!("{name:?} is not a valid header name")))?;
                headers.push((header, source(expr).map_err(at)?));
            }
            let templates = c
                .templates
                .iter()
                .map(|(ct, t)| {
                    vtl::parse(t)
                        .map(|t| (ct.to_ascii_lowercase(), t))
                        .map_err(|e| at(format!("template for {ct}: {e}")))
                })
                .collect::<Result<_, _>>()?;
            by_type.insert(
                kind.clone(),
                Compiled {
                    status: c.status,
                    headers,
                    templates,
                },
            );
        }
        Ok(Self { by_type })
    }

    pub fn is_empty(&self) -> bool {
        self.by_type.is_empty()
    }

    /// Rewrites one of the gateway's own answers (one carrying `x-amzn-errortype`) as the API's settings say;
    /// any other answer passes unchanged.
    pub fn apply(
        &self,
        mut resp: WireResponse,
        req: &WireRequest,
        stage: &str,
        stage_variables: &BTreeMap<String, String>,
    ) -> WireResponse {
        let Some(error_type) = resp
            .headers
            .get("x-amzn-errortype")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
        else {
            return resp;
        };
        let status = resp.status.as_u16();
        let kind = response_type(status, &error_type, &resp.body);
        let default = if status < 500 {
            "DEFAULT_4XX"
        } else {
            "DEFAULT_5XX"
        };
        let (own, fallback) = (self.by_type.get(kind), self.by_type.get(default));
        if own.is_none() && fallback.is_none() {
            return resp;
        }
        let message = serde_json::from_slice::<Value>(&resp.body)
            .ok()
            .and_then(|v| {
                v.get("message")
                    .or_else(|| v.get("Message"))
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_default();
        let request_id = resp
            .headers
            .get("x-amzn-requestid")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let context = json!({
            "requestId": request_id,
            "stage": stage,
            "httpMethod": req.method.as_str(),
            "path": req.path,
            "error": {
                "message": message,
                "messageString": Value::from(message.as_str()).to_string(),
                "responseType": kind,
            },
        });
        if let Some(s) = own
            .and_then(|c| c.status)
            .or(fallback.and_then(|c| c.status))
            && let Ok(s) = http::StatusCode::from_u16(s)
        {
            resp.status = s;
        }
        let templates = own
            .filter(|c| !c.templates.is_empty())
            .or(fallback)
            .map(|c| &c.templates);
        if let Some(templates) = templates
            && let Some((ct, t)) = templates
                .iter()
                .find(|(k, _)| k == "application/json")
                .or_else(|| templates.first())
        {
            let cx = vtl::RenderContext {
                context: context.clone(),
                stage_variables: stage_variables.clone(),
                ..Default::default()
            };
            match t.render(&cx) {
                Ok(r) => {
                    resp.body = r.body.into();
                    if let Ok(v) = HeaderValue::from_str(ct) {
                        resp.headers.insert(http::header::CONTENT_TYPE, v);
                    }
                }
                Err(e) => tracing::warn!("gateway response {kind}: its template failed: {e}"),
            }
        }
        // The default's headers first, so that the type's own win.
        for c in fallback.into_iter().chain(own) {
            for (name, src) in &c.headers {
                if let Some(v) = value(src, req, stage_variables, &context)
                    && let Ok(v) = HeaderValue::from_str(&v)
                {
                    resp.headers.insert(name.clone(), v);
                }
            }
        }
        resp
    }
}

fn value(
    src: &Source,
    req: &WireRequest,
    stage_variables: &BTreeMap<String, String>,
    context: &Value,
) -> Option<String> {
    match src {
        Source::Static(s) => Some(s.clone()),
        Source::Request { place, name } => match place.as_str() {
            "header" => req.header(&name.to_ascii_lowercase()).map(str::to_string),
            "querystring" => super::events::query_pairs(req.query.as_deref(), true)
                .into_iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v),
            // FIXME: path parameters are not known once the gateway has answered; AWS fills them in.
            _ => None,
        },
        Source::StageVariable(v) => stage_variables.get(v).cloned(),
        Source::Context(path) => {
            let mut v = context;
            for key in path {
                v = v.get(key)?;
            }
            match v {
                Value::String(s) => Some(s.clone()),
                Value::Null => None,
                other => Some(other.to_string()),
            }
        }
    }
}

/// Which gateway response type one of the gateway's answers is, from its status, `x-amzn-errortype` and body.
/// A 502 for a failed or malformed proxy answer has no type of its own and is `DEFAULT_5XX`.
fn response_type(status: u16, error_type: &str, body: &[u8]) -> &'static str {
    let says = |text: &str| body.windows(text.len()).any(|w| w == text.as_bytes());
    match (status, error_type) {
        (401, _) => "UNAUTHORIZED",
        (403, "AccessDeniedException") => "ACCESS_DENIED",
        (403, "MissingAuthenticationTokenException") => "MISSING_AUTHENTICATION_TOKEN",
        (403, "ForbiddenException") => "INVALID_API_KEY",
        (500, "AuthorizerConfigurationException") => "AUTHORIZER_CONFIGURATION_ERROR",
        (400, _) if says("Missing required request parameters") => "BAD_REQUEST_PARAMETERS",
        (400, _) => "BAD_REQUEST_BODY",
        (413, _) => "REQUEST_TOO_LARGE",
        (415, _) => "UNSUPPORTED_MEDIA_TYPE",
        (429, _) => "THROTTLED",
        (504, _) => "INTEGRATION_TIMEOUT",
        (s, _) if s < 500 => "DEFAULT_4XX",
        _ => "DEFAULT_5XX",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> WireRequest {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            "origin",
            HeaderValue::from_static("https://app.example.com"),
        );
        WireRequest {
            method: http::Method::GET,
            path: "/private".into(),
            query: Some("lang=de".into()),
            headers,
            body: Default::default(),
            peer: "127.0.0.1:1".parse().unwrap(),
            too_large: false,
            header_names: vec![],
        }
    }

    /// A type, its status, its headers and its JSON template.
    type Entry<'a> = (
        &'a str,
        Option<u16>,
        &'a [(&'a str, &'a str)],
        Option<&'a str>,
    );

    fn config(entries: &[Entry<'_>]) -> GatewayResponses {
        let map = entries
            .iter()
            .map(|(kind, status, headers, template)| {
                (
                    kind.to_string(),
                    GatewayResponseConfig {
                        status: *status,
                        headers: headers
                            .iter()
                            .map(|(k, v)| (k.to_string(), v.to_string()))
                            .collect(),
                        templates: template
                            .map(|t| [("application/json".to_string(), t.to_string())].into())
                            .unwrap_or_default(),
                    },
                )
            })
            .collect();
        GatewayResponses::new(&map).unwrap()
    }

    fn unauthorized() -> WireResponse {
        WireResponse::json(401, &json!({"message": "Unauthorized"}))
            .header("x-amzn-errortype", "UnauthorizedException")
            .header("x-amzn-requestid", "req-1")
    }

    #[test]
    fn defaults_add_headers_and_a_type_overrides_status_and_body() {
        let g = config(&[
            (
                "DEFAULT_4XX",
                None,
                &[("Access-Control-Allow-Origin", "'*'")],
                None,
            ),
            (
                "UNAUTHORIZED",
                Some(403),
                &[(
                    "gatewayresponse.header.X-Lang",
                    "method.request.querystring.lang",
                )],
                Some(
                    r#"{"error": $context.error.messageString, "type": "$context.error.responseType", "id": "$context.requestId"}"#,
                ),
            ),
        ]);
        let r = g.apply(unauthorized(), &request(), "Prod", &BTreeMap::new());
        assert_eq!(r.status.as_u16(), 403);
        assert_eq!(r.headers["access-control-allow-origin"], "*");
        assert_eq!(r.headers["x-lang"], "de");
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(
            body,
            json!({"error": "Unauthorized", "type": "UNAUTHORIZED", "id": "req-1"})
        );
        // Another 4XX takes only the default's headers and keeps its own status and body.
        let missing = WireResponse::json(403, &json!({"message": "Missing Authentication Token"}))
            .header("x-amzn-errortype", "MissingAuthenticationTokenException");
        let r = g.apply(missing, &request(), "Prod", &BTreeMap::new());
        assert_eq!(r.status.as_u16(), 403);
        assert_eq!(r.headers["access-control-allow-origin"], "*");
        assert_eq!(
            &r.body[..],
            br#"{"message":"Missing Authentication Token"}"#
        );
    }

    #[test]
    fn answers_of_functions_are_left_alone() {
        let g = config(&[("DEFAULT_4XX", Some(418), &[], None)]);
        let r = g.apply(WireResponse::new(404), &request(), "Prod", &BTreeMap::new());
        assert_eq!(r.status.as_u16(), 404);
    }

    #[test]
    fn unknown_types_and_values_are_refused() {
        let bad = |kind: &str, value: &str| {
            let map = [(
                kind.to_string(),
                GatewayResponseConfig {
                    status: None,
                    headers: [("X".to_string(), value.to_string())].into(),
                    templates: BTreeMap::new(),
                },
            )]
            .into();
            GatewayResponses::new(&map).unwrap_err()
        };
        assert!(bad("DEFAULT_6XX", "'x'").contains("is not one of API Gateway's"));
        assert!(
            bad("DEFAULT_4XX", "integration.response.body")
                .contains("is not a gateway response value")
        );
    }

    #[test]
    fn types_follow_the_gateways_own_answers() {
        assert_eq!(
            response_type(
                400,
                "BadRequestException",
                br#"{"message": "Missing required request parameters: [q]"}"#
            ),
            "BAD_REQUEST_PARAMETERS"
        );
        assert_eq!(
            response_type(
                400,
                "BadRequestException",
                br#"{"message": "Invalid request body"}"#
            ),
            "BAD_REQUEST_BODY"
        );
        assert_eq!(
            response_type(403, "AccessDeniedException", b""),
            "ACCESS_DENIED"
        );
        assert_eq!(
            response_type(502, "InternalServerErrorException", b""),
            "DEFAULT_5XX"
        );
        assert_eq!(
            response_type(504, "InternalServerErrorException", b""),
            "INTEGRATION_TIMEOUT"
        );
    }
}
