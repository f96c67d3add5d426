//! One configured API as the gateway serves it: its route table, its settings, and what each route does
//! before and after its integration, compiled once at start-up from the config.

use std::collections::BTreeMap;
use std::time::Duration;

use super::events::short_id;
use super::routes::{Lookup, Table};
use super::{auth, cors, integration, validate};
use crate::config::{ApiConfig, ApiKind, CorsConfig, IntegrationKind};
use crate::net::{WireRequest, WireResponse};

/// REST APIs time out after 29 s, HTTP APIs after 30 s (same source).
const REST_TIMEOUT: Duration = Duration::from_secs(29);
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

pub(super) struct Route {
    pub(super) function: String,
    pub(super) integration: IntegrationKind,
    pub(super) api_key_required: bool,
    pub(super) iam_auth: bool,
    pub(super) unsupported_auth: Option<String>,
    /// The authorizer in front of the route, and the scopes a JWT must carry (any one).
    pub(super) authorizer: Option<String>,
    pub(super) scopes: Vec<String>,
    /// REST request validation.
    pub(super) validation: Option<validate::MethodRules>,
    /// An HTTP API route whose integration asks for payload format 1.0.
    pub(super) payload_v1: bool,
    /// Custom and mock integrations: templates, integration responses and header mappings.
    pub(super) mapping: Option<integration::Mapping>,
    pub(super) timeout: Duration,
    pub(super) route_key: String,
}

pub(super) struct Api {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) kind: ApiKind,
    pub(super) stage: String,
    pub(super) api_keys: Vec<String>,
    /// The API key source is `AUTHORIZER`.
    pub(super) key_from_authorizer: bool,
    pub(super) binary_media_types: Vec<String>,
    pub(super) stage_variables: BTreeMap<String, String>,
    pub(super) cors: Option<CorsConfig>,
    pub(super) table: Table<Route>,
    pub(super) authorizers: auth::Authorizers,
    pub(super) models: validate::Models,
    pub(super) gateway_responses: super::gateway_responses::GatewayResponses,
}

fn method_rules(v: &crate::config::ValidationConfig) -> validate::MethodRules {
    validate::MethodRules {
        validator: Some(validate::Validator {
            body: v.body,
            parameters: v.parameters,
        }),
        required_headers: v.required_headers.clone(),
        required_query: v.required_query.clone(),
        required_path: v.required_path.clone(),
        models: v.models.clone(),
    }
}

/// Whether a REST proxy's base64 body is decoded: only when the request's first `Accept` type is one of the
/// API's binary media types, exactly or by a right-side wildcard (`application/*`); `*/*` in Accept matches
/// nothing. Source: responses recorded from real API Gateway (shared notes §11.2).
pub(super) fn first_accept_is_binary(api: &Api, req: &WireRequest) -> bool {
    let Some(first) = req
        .header("accept")
        .and_then(|a| a.split(',').next())
        .map(|a| a.split(';').next().unwrap_or("").trim())
    else {
        return false;
    };
    if first.starts_with('*') {
        return false;
    }
    api.binary_media_types
        .iter()
        .any(|t| media_matches(t, first))
}

pub(super) fn media_matches(pattern: &str, content_type: &str) -> bool {
    let ct = content_type.split(';').next().unwrap_or("").trim();
    match pattern.split_once('/') {
        _ if pattern == "*/*" => true,
        Some((t, "*")) => ct
            .split_once('/')
            .is_some_and(|(ct_t, _)| ct_t.eq_ignore_ascii_case(t)),
        _ => pattern.eq_ignore_ascii_case(ct),
    }
}

pub(super) fn build_api(c: &ApiConfig) -> Api {
    let mut table = Table::default();
    let options = cors::sam_options_routes(c);
    for r in c.routes.iter().chain(&options) {
        // The config's validation has compiled every mapping once already.
        let mapping = integration::is_mapped(r.integration)
            .then(|| integration::Mapping::compile(r).ok())
            .flatten();
        let default_timeout = match c.kind {
            ApiKind::Rest => REST_TIMEOUT,
            ApiKind::Http => HTTP_TIMEOUT,
        };
        let method = r.method.get_ref().to_ascii_uppercase();
        let route_key = if method == "ANY" && r.path == "$default" {
            "$default".into()
        } else {
            format!("{method} {}", r.path)
        };
        table.add(
            &method,
            &r.path,
            Route {
                // The config's validation has resolved every stage variable already.
                function: c
                    .function_of(r)
                    .unwrap_or_else(|_| r.function.get_ref().clone()),
                integration: r.integration,
                api_key_required: r.api_key_required,
                iam_auth: r.iam_auth,
                unsupported_auth: r.unsupported_auth.clone(),
                authorizer: r.authorizer.clone(),
                scopes: r.scopes.clone(),
                validation: r.validation.as_ref().map(method_rules),
                payload_v1: c.kind == ApiKind::Http && r.payload_format.as_deref() == Some("1.0"),
                mapping,
                timeout: r
                    .timeout_ms
                    .map(Duration::from_millis)
                    .unwrap_or(default_timeout)
                    .min(default_timeout),
                route_key,
            },
        );
    }
    Api {
        id: c.id.clone().unwrap_or_else(|| short_id(&c.name, 10)),
        name: c.name.clone(),
        kind: c.kind,
        stage: c.stage.clone().unwrap_or_default(),
        api_keys: c.api_keys.clone(),
        key_from_authorizer: c
            .api_key_source
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("authorizer")),
        binary_media_types: c.binary_media_types.clone(),
        stage_variables: c.stage_variables.clone(),
        cors: c.cors.clone(),
        table,
        authorizers: auth::Authorizers::new(c),
        // The config's validation has compiled the gateway responses and the models once already; an API
        // whose settings fail never starts.
        gateway_responses: super::gateway_responses::GatewayResponses::new(&c.gateway_responses)
            .unwrap_or_default(),
        models: validate::Models::new(&c.models).unwrap_or_else(|_| {
            validate::Models::new(&BTreeMap::new()).expect("no models compile")
        }),
    }
}

/// The gateway's own answer to an `OPTIONS` request on an API with CORS, when it gives one. A REST path's own
/// `OPTIONS` method, and any HTTP API route that matches `OPTIONS`, wins over it (DG:http-api-cors).
pub(super) fn preflight(
    api: &Api,
    cors: &CorsConfig,
    path: &str,
    req: &WireRequest,
) -> Option<WireResponse> {
    match api.kind {
        // A REST API's preflight is answered by the mock `OPTIONS` methods its CORS adds to the routes.
        ApiKind::Rest => None,
        ApiKind::Http => (cors::is_preflight(req)
            && !matches!(api.table.lookup("OPTIONS", path), Lookup::Found(_)))
        .then(|| cors::http_preflight(cors, req)),
    }
}

/// The request path with the API's stage prefix removed, if it has one.
pub(super) fn strip_stage<'a>(api: &Api, path: &'a str) -> &'a str {
    if api.stage.is_empty() {
        return path;
    }
    match path
        .strip_prefix('/')
        .and_then(|p| p.strip_prefix(api.stage.as_str()))
    {
        Some("") => "/",
        Some(rest) if rest.starts_with('/') => rest,
        _ => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_patterns_match_the_whole_message_without_dotall() {
        use super::super::selection_pattern;
        let p = selection_pattern("ParameterError.*").unwrap();
        assert!(p.is_match("ParameterError: missing service"));
        assert!(!p.is_match("Wrapped ParameterError: x"));
        assert!(!p.is_match("ParameterError: line one\nline two"));
        let p = selection_pattern("4\\d{2}").unwrap();
        assert!(p.is_match("404"));
        assert!(!p.is_match("4040"));
    }

    #[test]
    fn binary_media_types() {
        assert!(media_matches("image/*", "image/png"));
        assert!(media_matches(
            "application/octet-stream",
            "application/octet-stream; x=y"
        ));
        assert!(media_matches("*/*", "text/plain"));
        assert!(!media_matches("image/png", "image/jpeg"));
    }
}
