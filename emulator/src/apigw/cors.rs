//! CORS as each kind of API does it.
//!
//! REST APIs have no CORS setting of their own: SAM's `Cors` (and Offcloud's `cors` on a REST API) adds an
//! `OPTIONS` method with a mock integration to each path, which answers 200, `application/json` and `{}` with
//! static `Access-Control-Allow-*` headers, whatever the request's `Origin`. Other answers get no CORS headers:
//! a proxy function must add them itself. Sources: SAM `swagger/swagger.py` `add_cors` and
//! `_options_method_response_for_cors`; DG:how-to-cors ("a proxy integration doesn't return an integration
//! response"), confirmed by the real responses in serverless/serverless#4681 (shared notes §9.1).
//!
//! HTTP APIs' `CorsConfiguration` is the gateway's: a preflight (`OPTIONS` with `Origin` and
//! `Access-Control-Request-Method`) that no route matches is answered by the gateway, and every other answer to
//! a request with an allowed `Origin` gets `Access-Control-Allow-Origin` (plus `Expose-Headers` and
//! `Allow-Credentials` when configured), replacing any CORS headers the backend sent. Source: DG:http-api-cors.
//! Real answers show `*` for a `*` configuration and the echoed origin with `vary: origin` for a listed one
//! (captures of `*.execute-api` answers found by the research for issue 10). The preflight's 204 and empty body
//! are what users report; no recorded AWS answer confirms them.

use std::collections::BTreeMap;

use http::HeaderValue;

use crate::config::{
    ApiConfig, ApiKind, CorsConfig, IntegrationKind, IntegrationResponseConfig, RouteConfig,
};
use crate::net::{WireRequest, WireResponse};

/// Every method, as SAM expands `ANY` for `Access-Control-Allow-Methods`.
const ALL_METHODS: [&str; 7] = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"];

/// The `Access-Control-Allow-Methods` SAM writes by default: the path's methods and `OPTIONS`, upper-case,
/// de-duplicated, sorted and joined without spaces.
pub fn sam_default_methods<'a>(methods: impl Iterator<Item = &'a str>) -> String {
    let mut all: Vec<String> = vec!["OPTIONS".into()];
    for m in methods {
        if m.eq_ignore_ascii_case("ANY") {
            all.extend(ALL_METHODS.iter().map(|m| m.to_string()));
        } else {
            all.push(m.to_ascii_uppercase());
        }
    }
    all.sort();
    all.dedup();
    all.join(",")
}

/// The `OPTIONS` methods SAM's `Cors` adds to a REST API: one mock integration per path that has no `OPTIONS`
/// method of its own, answering 200 with `{}` and the configured headers as static values, behind the API's
/// default authorizer and API key unless SAM was told otherwise (`AddDefaultAuthorizerToCorsPreflight`,
/// `AddApiKeyRequiredToCorsPreflight`).
pub fn sam_options_routes(api: &ApiConfig) -> Vec<RouteConfig> {
    let Some(cors) = api.cors.as_ref().filter(|_| api.kind == ApiKind::Rest) else {
        return Vec::new();
    };
    let mut paths: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for r in &api.routes {
        paths
            .entry(r.path.as_str())
            .or_default()
            .push(r.method.get_ref());
    }
    let quoted = |v: &str| format!("'{v}'");
    paths
        .into_iter()
        .filter(|(_, methods)| !methods.iter().any(|m| m.eq_ignore_ascii_case("OPTIONS")))
        .map(|(path, methods)| {
            // A static header holds one value; with several origins configured, the first is sent, as SAM
            // allows only one `AllowOrigin` expression.
            let origin = cors.allow_origins.first().map_or("*", String::as_str);
            let mut headers =
                BTreeMap::from([("Access-Control-Allow-Origin".to_string(), quoted(origin))]);
            if !cors.allow_headers.is_empty() {
                headers.insert(
                    "Access-Control-Allow-Headers".into(),
                    quoted(&cors.allow_headers.join(",")),
                );
            }
            let allowed = if cors.allow_methods.is_empty() {
                sam_default_methods(methods.into_iter())
            } else {
                cors.allow_methods.join(",")
            };
            headers.insert("Access-Control-Allow-Methods".into(), quoted(&allowed));
            if let Some(age) = cors.max_age {
                headers.insert("Access-Control-Max-Age".into(), quoted(&age.to_string()));
            }
            if cors.allow_credentials {
                headers.insert("Access-Control-Allow-Credentials".into(), quoted("true"));
            }
            let mut r = RouteConfig::proxy("OPTIONS", path, "");
            r.integration = IntegrationKind::Mock;
            r.request_templates = BTreeMap::from([(
                "application/json".into(),
                "{\n  \"statusCode\" : 200\n}\n".into(),
            )]);
            r.responses = vec![IntegrationResponseConfig {
                pattern: None,
                status: 200,
                templates: BTreeMap::from([("application/json".into(), "{}\n".into())]),
                headers,
            }];
            r.authorizer = cors.authorizer.clone();
            r.api_key_required = cors.api_key_required;
            r
        })
        .collect()
}

/// Whether an HTTP API request is a CORS preflight.
pub fn is_preflight(req: &WireRequest) -> bool {
    req.method == http::Method::OPTIONS
        && req.header("origin").is_some()
        && req.header("access-control-request-method").is_some()
}

/// The `Access-Control-Allow-Origin` an HTTP API sends for a request's `Origin`: `*` when every origin is
/// allowed (the origin itself when credentials are allowed too, since browsers refuse `*` with credentials),
/// the origin when it is listed or matches a `https://*` / `http://*` pattern, and nothing otherwise.
fn allowed_origin(cors: &CorsConfig, origin: &str) -> Option<String> {
    let listed = cors.allow_origins.iter().any(|o| {
        o.eq_ignore_ascii_case(origin)
            || o.strip_suffix('*').is_some_and(|scheme| {
                scheme.ends_with("://")
                    && origin
                        .to_ascii_lowercase()
                        .starts_with(&scheme.to_ascii_lowercase())
            })
    });
    if listed {
        return Some(origin.to_string());
    }
    cors.allow_origins.iter().any(|o| o == "*").then(|| {
        if cors.allow_credentials {
            origin.to_string()
        } else {
            "*".into()
        }
    })
}

/// An HTTP API's own preflight answer: 204, no body, and the configured headers when the origin is allowed.
pub fn http_preflight(cors: &CorsConfig, req: &WireRequest) -> WireResponse {
    let mut r = WireResponse::new(204);
    let Some(origin) = req.header("origin").and_then(|o| allowed_origin(cors, o)) else {
        return r;
    };
    let echoed = origin != "*";
    r = r.header("access-control-allow-origin", origin);
    let methods = if cors.allow_methods.is_empty() {
        req.header("access-control-request-method")
            .unwrap_or("*")
            .to_string()
    } else {
        cors.allow_methods.join(",")
    };
    r = r.header("access-control-allow-methods", methods);
    if !cors.allow_headers.is_empty() {
        r = r.header("access-control-allow-headers", cors.allow_headers.join(","));
    } else if let Some(asked) = req.header("access-control-request-headers") {
        // FIXME: whether AWS echoes the requested headers when allowHeaders is empty is unverified.
        r = r.header("access-control-allow-headers", asked);
    }
    if let Some(age) = cors.max_age {
        r = r.header("access-control-max-age", age.to_string());
    }
    if cors.allow_credentials {
        r = r.header("access-control-allow-credentials", "true");
    }
    if echoed {
        r = r.header("vary", "origin");
    }
    r
}

/// Adds an HTTP API's CORS headers to an ordinary answer, replacing the backend's own.
pub fn http_decorate(cors: &CorsConfig, req: &WireRequest, mut resp: WireResponse) -> WireResponse {
    let Some(origin) = req.header("origin").and_then(|o| allowed_origin(cors, o)) else {
        return resp;
    };
    let backend: Vec<_> = resp
        .headers
        .keys()
        .filter(|k| k.as_str().starts_with("access-control-"))
        .cloned()
        .collect();
    for k in backend {
        resp.headers.remove(k);
    }
    if origin != "*"
        && let Ok(v) = HeaderValue::from_str("origin")
    {
        resp.headers.append(http::header::VARY, v);
    }
    resp = resp.header("access-control-allow-origin", origin);
    if !cors.expose_headers.is_empty() {
        resp = resp.header(
            "access-control-expose-headers",
            cors.expose_headers.join(","),
        );
    }
    if cors.allow_credentials {
        resp = resp.header("access-control-allow-credentials", "true");
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cors(origins: &[&str], credentials: bool) -> CorsConfig {
        CorsConfig {
            allow_origins: origins.iter().map(|o| o.to_string()).collect(),
            allow_credentials: credentials,
            ..CorsConfig::default()
        }
    }

    #[test]
    fn origins_are_matched_exactly_by_scheme_wildcard_or_star() {
        let c = cors(&["https://app.example.com", "http://*"], false);
        assert_eq!(
            allowed_origin(&c, "https://app.example.com").as_deref(),
            Some("https://app.example.com")
        );
        assert_eq!(
            allowed_origin(&c, "http://localhost:5173").as_deref(),
            Some("http://localhost:5173")
        );
        assert_eq!(allowed_origin(&c, "https://evil.example.net"), None);
        assert_eq!(
            allowed_origin(&cors(&["*"], false), "https://a.b").as_deref(),
            Some("*")
        );
        assert_eq!(
            allowed_origin(&cors(&["*"], true), "https://a.b").as_deref(),
            Some("https://a.b")
        );
    }

    #[test]
    fn sam_default_methods_expand_any_and_sort() {
        assert_eq!(
            sam_default_methods(["post", "GET"].into_iter()),
            "GET,OPTIONS,POST"
        );
        assert_eq!(
            sam_default_methods(["ANY"].into_iter()),
            "DELETE,GET,HEAD,OPTIONS,PATCH,POST,PUT"
        );
    }
}
