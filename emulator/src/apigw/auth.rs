//! Lambda authorizers in front of routes: the configured authorizers of one API, their result cache, and the
//! one step the gateway calls per request. The decisions themselves live in [`super::authorizer`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use serde_json::Value;

use super::authorizer::{
    self, AuthRequest, AuthorizerCache, AuthorizerConfig, AuthorizerKind, Decision,
    FunctionFailure, GatewayResponse, IdentityOutcome, PayloadFormat,
};
use super::events::query_pairs;
use super::jwt::{self, JwksSource, JwtConfig, KeySet, LocalKey};
use crate::config::{ApiConfig, ApiKind, LambdaAuthorizerConfig};
use crate::lambda::{InvokeInput, Lambda};
use crate::net::{WireRequest, WireResponse};

/// What checks a request for one `[[api.authorizer]]`.
pub enum Checker {
    /// A Lambda authorizer.
    Lambda(AuthorizerConfig),
    /// A JWT authorizer (HTTP APIs, `v2`) or a Cognito user-pool authorizer (REST APIs).
    Jwt {
        config: JwtConfig,
        keys: JwtKeys,
        v2: bool,
        /// The header that carries the token.
        header: String,
    },
}

/// Where a JWT authorizer's keys are: loaded at start-up, or fetched over HTTP when first needed.
pub enum JwtKeys {
    Loaded(Arc<KeySet>),
    Remote(super::jwks::RemoteKeys),
}

/// The directory of Offcloud's local token issuer's key, which `offcloud token` signs with.
pub fn local_key_dir() -> std::path::PathBuf {
    crate::lambda::runtimes::cache_dir().join("jwt")
}

/// Turns a config's `[[api.authorizer]]` into what checks requests, or says what is wrong with it.
pub fn authorizer_config(kind: ApiKind, a: &LambdaAuthorizerConfig) -> Result<Checker, String> {
    let name = a.name.get_ref().clone();
    let jwt = match (kind, a.kind.to_ascii_lowercase().as_str()) {
        (ApiKind::Http, "jwt") => Some(true),
        (ApiKind::Rest, "cognito") => Some(false),
        _ => None,
    };
    if let Some(v2) = jwt {
        let issuer = a
            .issuer
            .clone()
            .ok_or_else(|| format!("authorizer {name}: a {} authorizer needs `issuer`", a.kind))?;
        // `jwks` is a file, or an http(s) URL of a JWKS or of an OpenID discovery document.
        let url = a
            .jwks
            .as_ref()
            .and_then(|p| p.to_str())
            .filter(|p| p.starts_with("http://") || p.starts_with("https://"));
        let (jwks, keys) = match (url, &a.jwks) {
            (Some(url), _) => (
                JwksSource::Url(url.to_string()),
                JwtKeys::Remote(super::jwks::RemoteKeys::new(url)),
            ),
            (None, Some(path)) => {
                let source = JwksSource::File(path.clone());
                let keys =
                    KeySet::load(&source, None).map_err(|e| format!("authorizer {name}: {e}"))?;
                (source, JwtKeys::Loaded(Arc::new(keys)))
            }
            (None, None) => {
                let local = LocalKey::load_or_create(&local_key_dir())
                    .map_err(|e| format!("authorizer {name}: {e}"))?;
                let keys = KeySet::load(&JwksSource::Local, Some(&local))
                    .map_err(|e| format!("authorizer {name}: {e}"))?;
                (JwksSource::Local, JwtKeys::Loaded(Arc::new(keys)))
            }
        };
        // The token's header: `$request.header.Authorization` (HTTP) or `method.request.header.Authorization`
        // (REST), Authorization by default. Source: DG http-api-jwt-authorizer, apigateway-integrate-with-cognito.
        let header = a
            .identity_source
            .first()
            .and_then(|s| s.rsplit_once("header.").map(|(_, h)| h.to_string()))
            .unwrap_or_else(|| "Authorization".into());
        return Ok(Checker::Jwt {
            config: JwtConfig {
                issuer,
                audience: a.audience.clone(),
                jwks,
            },
            keys,
            v2,
            header,
        });
    }
    let kind = match (kind, a.kind.to_ascii_lowercase().as_str()) {
        (ApiKind::Rest, "token") => AuthorizerKind::Token,
        (ApiKind::Rest, "request") => AuthorizerKind::Request,
        (ApiKind::Http, "request" | "token") => AuthorizerKind::HttpRequest {
            payload_format: match a.payload_format.as_deref() {
                None | Some("2.0") => PayloadFormat::V2,
                Some("1.0") => PayloadFormat::V1,
                Some(other) => {
                    return Err(format!(
                        "authorizer {name}: payload_format {other:?} is not \"1.0\" or \"2.0\""
                    ));
                }
            },
            simple_responses: a.simple_responses,
        },
        (_, other) => {
            return Err(format!(
                "authorizer {name}: type {other:?} is not one of \"token\", \"request\" (Lambda), \"jwt\" \
                 (HTTP APIs) or \"cognito\" (REST APIs)"
            ));
        }
    };
    let function = a
        .function
        .as_ref()
        .map(|f| f.get_ref().clone())
        .ok_or_else(|| format!("authorizer {name}: a Lambda authorizer needs `function`"))?;
    let identity_sources = a
        .identity_source
        .iter()
        .flat_map(|s| AuthorizerConfig::split_identity_sources(s))
        .collect();
    let cfg = AuthorizerConfig {
        name,
        kind,
        identity_sources,
        identity_validation_expression: a.validation_expression.clone(),
        result_ttl_seconds: a.ttl_seconds,
        function,
    };
    cfg.validate().map_err(|e| e.to_string())?;
    Ok(Checker::Lambda(cfg))
}

/// The authorizers of one API and their cache.
pub struct Authorizers {
    by_name: HashMap<String, Checker>,
    cache: AuthorizerCache,
}

/// What the gateway knows of a request that the authorizer needs besides the HTTP request.
pub struct Target<'a> {
    pub api_id: &'a str,
    pub account_id: &'a str,
    pub region: &'a str,
    pub stage: &'a str,
    pub path: &'a str,
    pub resource: &'a str,
    pub route_key: &'a str,
    pub path_params: &'a std::collections::BTreeMap<String, String>,
    pub stage_variables: &'a std::collections::BTreeMap<String, String>,
    pub request_id: &'a str,
    pub now_ms: u64,
    /// The trace the authorizer's invocation is a step of.
    pub trace: &'a crate::trace::TraceHeader,
}

impl Authorizers {
    /// The API's authorizers; the config has been validated, so each converts.
    pub fn new(api: &ApiConfig) -> Self {
        let by_name = api
            .authorizers
            .iter()
            .filter_map(|a| {
                let checker = authorizer_config(api.kind, a).ok()?;
                Some((a.name.get_ref().clone(), checker))
            })
            .collect();
        Self {
            by_name,
            cache: AuthorizerCache::new(),
        }
    }

    /// Runs authorizer `name` for a request: `Ok` with the integration event's `requestContext.authorizer`, or
    /// `Err` with the gateway's answer to the client.
    pub async fn authorize(
        &self,
        name: &str,
        scopes: &[String],
        lambda: &Arc<Lambda>,
        req: &WireRequest,
        t: &Target<'_>,
    ) -> Result<Authorized, WireResponse> {
        let cfg = match self.by_name.get(name) {
            Some(Checker::Lambda(cfg)) => cfg,
            Some(Checker::Jwt {
                config,
                keys,
                v2,
                header,
            }) => {
                let token = req.header(&header.to_ascii_lowercase()).unwrap_or("");
                let now_s = t.now_ms / 1000;
                let checked = match keys {
                    JwtKeys::Loaded(keys) => jwt::validate(config, keys, token, scopes, now_s),
                    JwtKeys::Remote(remote) => {
                        let mut checked = Err(jwt::JwtRejection::MissingToken);
                        // A `kid` the keys lack refetches them once, for a rotated key.
                        for stale in [false, true] {
                            let keys = match remote.get(stale).await {
                                Ok(k) => k,
                                Err(e) => {
                                    tracing::warn!("authorizer {name}: cannot fetch its keys: {e}");
                                    return Err(wire(GatewayResponse::unauthorized()));
                                }
                            };
                            checked = jwt::validate(config, &keys, token, scopes, now_s);
                            if !matches!(checked, Err(jwt::JwtRejection::UnknownKid(_))) {
                                break;
                            }
                        }
                        checked
                    }
                };
                return match checked {
                    Ok(claims) if *v2 => Ok(Authorized::context(jwt::claims_for_v2(&claims))),
                    Ok(claims) => Ok(Authorized::context(jwt::claims_for_v1(&claims))),
                    Err(rejection) => {
                        tracing::warn!("authorizer {name}: {}", rejection.description());
                        let r = if *v2 {
                            rejection.http_api_response(scopes)
                        } else {
                            rejection.cognito_rest_response()
                        };
                        let mut out = WireResponse::new(r.status)
                            .header("content-type", "application/json")
                            .body(r.body);
                        for (k, v) in r.headers {
                            out = out.header(k, v);
                        }
                        Err(out)
                    }
                };
            }
            None => return Err(wire(GatewayResponse::unauthorized())),
        };
        let areq = auth_request(req, t);
        let key = match authorizer::identity(cfg, &areq) {
            IdentityOutcome::Missing | IdentityOutcome::Invalid => {
                return Err(wire(GatewayResponse::unauthorized()));
            }
            IdentityOutcome::Present { cache_key } => cache_key,
        };
        let (decision, latency) = match self.cache.lookup(cfg, &areq, &key, t.now_ms) {
            Some(d) => (d, 0),
            None => {
                let started = Instant::now();
                let event = authorizer::event(cfg, &areq).to_string();
                let result = match lambda
                    .invoke(InvokeInput::new(cfg.function.clone(), event).in_trace(t.trace.clone()))
                    .await
                {
                    Ok(out) => {
                        authorizer::function_result(&out.payload, out.function_error.is_some())
                    }
                    Err(e) => Err(FunctionFailure::Failed(e.to_string())),
                };
                let d = self.cache.decide(cfg, &areq, &key, result, t.now_ms);
                (d, started.elapsed().as_millis() as u64)
            }
        };
        match &decision {
            Decision::Deny(r) => {
                if let Some(detail) = &r.detail {
                    tracing::warn!("authorizer {name}: {detail}");
                }
                Err(wire(r.clone()))
            }
            Decision::Allow {
                usage_identifier_key,
                ..
            } => Ok(Authorized {
                context: authorizer::proxy_authorizer_context(cfg, &decision, latency),
                usage_identifier_key: usage_identifier_key.clone(),
            }),
        }
    }
}

/// What an authorizer let through: `requestContext.authorizer` for the event, and the API key a Lambda
/// authorizer named for an API whose key source is `AUTHORIZER`.
#[derive(Debug, Default)]
pub struct Authorized {
    pub context: Option<Value>,
    pub usage_identifier_key: Option<String>,
}

impl Authorized {
    fn context(context: Value) -> Self {
        Self {
            context: Some(context),
            usage_identifier_key: None,
        }
    }
}

fn auth_request(req: &WireRequest, t: &Target<'_>) -> AuthRequest {
    let headers = req
        .headers
        .iter()
        .map(|(k, v)| {
            (
                req.original_name(k.as_str()).to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    AuthRequest {
        method: req.method.as_str().to_string(),
        path: t.path.to_string(),
        raw_path: req.path.clone(),
        resource_path: t.resource.to_string(),
        route_key: t.route_key.to_string(),
        headers,
        query: query_pairs(req.query.as_deref(), true),
        raw_query_string: req.query.clone().unwrap_or_default(),
        path_params: t.path_params.clone(),
        stage_variables: t.stage_variables.clone(),
        stage: t.stage.to_string(),
        api_id: t.api_id.to_string(),
        account_id: t.account_id.to_string(),
        region: t.region.to_string(),
        request_id: t.request_id.to_string(),
        source_ip: req.peer.ip().to_string(),
        domain_name: req.header("host").unwrap_or_default().to_string(),
        resource_id: super::events::short_id(t.resource, 6),
        now_ms: t.now_ms,
    }
}

fn wire(r: GatewayResponse) -> WireResponse {
    WireResponse::json(r.status, &r.body).header("x-amzn-errortype", r.error_type)
}
