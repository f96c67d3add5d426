//! JWT authorizers' keys fetched over HTTP: a JWKS URL, or an issuer's OpenID discovery document whose
//! `jwks_uri` names one, as API Gateway finds an issuer's keys (DG:http-api-jwt-authorizer: "API Gateway uses
//! the issuer's `/.well-known/openid-configuration` to find the JWKS"). Offline, this reaches identity providers
//! on this machine, such as a Keycloak or dex started for tests.
//!
//! Keys are fetched on the first request that needs them and kept for [`KEEP`]; a failed fetch is not kept, so
//! the next request tries again. A token whose `kid` is not among the keys refetches them once, at most every
//! [`REFETCH`], so a rotated key is picked up.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::Value;
use tokio::sync::Mutex;

use super::jwt::KeySet;
use crate::net::Client;

/// How long fetched keys are used before they are fetched again.
const KEEP: Duration = Duration::from_secs(300);
/// The shortest time between two refetches caused by an unknown `kid`.
const REFETCH: Duration = Duration::from_secs(10);
/// A document larger than this is refused.
const MAX_DOCUMENT: usize = 1 << 20;

/// One authorizer's remote keys.
#[derive(Debug)]
pub struct RemoteKeys {
    url: String,
    cached: Mutex<Option<(Arc<KeySet>, Instant)>>,
}

impl RemoteKeys {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            cached: Mutex::new(None),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The keys, fetched when none are kept or they are older than [`KEEP`], or when `stale` (a token named a
    /// `kid` they lack) and the last fetch is older than [`REFETCH`].
    pub async fn get(&self, stale: bool) -> Result<Arc<KeySet>, String> {
        let mut cached = self.cached.lock().await;
        if let Some((keys, at)) = cached.as_ref() {
            let age = at.elapsed();
            if age < KEEP && !(stale && age >= REFETCH) {
                return Ok(keys.clone());
            }
        }
        let keys = Arc::new(fetch(&self.url).await?);
        *cached = Some((keys.clone(), Instant::now()));
        Ok(keys)
    }
}

async fn get_json(client: &Client, url: &str) -> Result<Value, String> {
    let resp = tokio::time::timeout(
        Duration::from_secs(5),
        client.send(
            "GET",
            url,
            &[("accept".into(), "application/json".into())],
            Bytes::new(),
        ),
    )
    .await
    .map_err(|_| format!("{url} did not answer within 5 s"))?
    .map_err(|e| format!("{url}: {e}"))?;
    if !resp.status.is_success() {
        return Err(format!("{url} answered {}", resp.status.as_u16()));
    }
    if resp.body.len() > MAX_DOCUMENT {
        return Err(format!("{url} answered more than 1 MiB"));
    }
    serde_json::from_slice(&resp.body).map_err(|e| format!("{url} did not answer JSON: {e}"))
}

/// Fetches a JWKS, following an OpenID discovery document's `jwks_uri` once.
async fn fetch(url: &str) -> Result<KeySet, String> {
    let client = Client::new();
    let mut doc = get_json(&client, url).await?;
    if let Some(jwks_uri) = doc.get("jwks_uri").and_then(Value::as_str) {
        let jwks_uri = jwks_uri.to_string();
        doc = get_json(&client, &jwks_uri).await?;
    }
    KeySet::from_jwks(&doc).map_err(|e| format!("{url}: {e}"))
}

/// Whether an issuer runs on this machine, so that its discovery document can be fetched offline.
pub fn is_loopback_issuer(issuer: &str) -> bool {
    let Some(rest) = issuer
        .strip_prefix("http://")
        .or_else(|| issuer.strip_prefix("https://"))
    else {
        return false;
    };
    let host = rest.split('/').next().unwrap_or("");
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.split(':').next().unwrap_or(""),
    };
    host == "localhost" || host.ends_with(".localhost") || host == "::1" || host.starts_with("127.")
}

/// The keys a template's JWT or Cognito authorizer uses: an issuer on this machine is asked for its discovery
/// document, as API Gateway would; any other issuer cannot be reached offline, so the key of `offcloud token`
/// is trusted instead (`None`).
pub fn for_template(issuer: Option<&str>) -> Option<std::path::PathBuf> {
    issuer
        .filter(|i| is_loopback_issuer(i))
        .map(|i| discovery_url(i).into())
}

/// The discovery document of an issuer.
pub fn discovery_url(issuer: &str) -> String {
    format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_issuers_are_recognised() {
        assert!(is_loopback_issuer("http://localhost:8080/realms/shop"));
        assert!(is_loopback_issuer("http://127.0.0.1:9000"));
        assert!(is_loopback_issuer("https://[::1]:8443/"));
        assert!(is_loopback_issuer("http://idp.localhost/"));
        assert!(!is_loopback_issuer(
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc"
        ));
        assert!(!is_loopback_issuer("https://localhost.example.com/"));
        assert_eq!(
            for_template(Some("http://localhost:8080/realms/shop")),
            Some("http://localhost:8080/realms/shop/.well-known/openid-configuration".into())
        );
        assert_eq!(for_template(Some("https://auth.example.com")), None);
        assert_eq!(
            discovery_url("http://localhost:8080/realms/shop/"),
            "http://localhost:8080/realms/shop/.well-known/openid-configuration"
        );
    }
}
