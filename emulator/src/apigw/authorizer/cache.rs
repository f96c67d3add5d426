//! The authorizer result cache.
//!
//! With a TTL above 0, API Gateway keeps the policy, principalId and context under the identity source values
//! (the token for `TOKEN`), and reuses them for every method that uses the same authorizer until the TTL ends
//! (DG:configure-api-gateway-lambda-authorization-with-console; DG:http-api-lambda-authorizer "Caching"; notes
//! §1.5, §2). Only usable answers are kept, Allow and Deny alike: "For a valid policy, API Gateway caches the
//! returned policy" (DG:apigateway-use-lambda-authorizer). A function failing with `Unauthorized`, any other
//! failure, and an unusable answer are not kept, so the next request invokes the function again.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use serde_json::Value;

use super::result::{AuthorizerResult, parse_outcome};
use super::{AuthRequest, AuthorizerConfig, Decision, FunctionFailure};

/// (authorizer name, cache key from [`super::identity`]).
type Key = (String, String);

struct Entry {
    /// The insertion order, to evict the oldest entry first.
    seq: u64,
    expires_at_ms: u64,
    result: AuthorizerResult,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<Key, Entry>,
    order: BTreeMap<u64, Key>,
    next_seq: u64,
}

impl Inner {
    fn remove(&mut self, key: &Key) {
        if let Some(e) = self.entries.remove(key) {
            self.order.remove(&e.seq);
        }
    }
}

/// Authorizer results by authorizer and identity, shared by all requests. Time is passed in (`now_ms`), so
/// the gateway's clock decides expiry.
pub struct AuthorizerCache {
    inner: Mutex<Inner>,
    capacity: usize,
}

impl Default for AuthorizerCache {
    fn default() -> Self {
        Self::new()
    }
}

impl AuthorizerCache {
    /// Past this many entries the oldest is evicted.
    pub const DEFAULT_CAPACITY: usize = 10_000;

    pub fn new() -> Self {
        Self::with_capacity(Self::DEFAULT_CAPACITY)
    }

    pub fn with_capacity(capacity: usize) -> Self {
        AuthorizerCache {
            inner: Mutex::new(Inner::default()),
            capacity,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the maps inconsistent in a way that matters here.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A result cached for this authorizer and identity, evaluated for this request: a cached policy is
    /// checked against this request's method ARN. `None` when nothing fresh is cached or caching is off.
    pub fn lookup(
        &self,
        cfg: &AuthorizerConfig,
        req: &AuthRequest,
        cache_key: &str,
        now_ms: u64,
    ) -> Option<Decision> {
        if cfg.ttl_seconds() == 0 {
            return None;
        }
        let key = (cfg.name.clone(), cache_key.to_string());
        let mut inner = self.lock();
        let entry = inner.entries.get(&key)?;
        if now_ms >= entry.expires_at_ms {
            inner.remove(&key);
            return None;
        }
        Some(entry.result.evaluate(cfg, req))
    }

    /// Decides like [`super::decide`] and keeps a usable answer for the authorizer's TTL.
    pub fn decide(
        &self,
        cfg: &AuthorizerConfig,
        req: &AuthRequest,
        cache_key: &str,
        function_result: Result<Value, FunctionFailure>,
        now_ms: u64,
    ) -> Decision {
        match parse_outcome(cfg, function_result) {
            Ok(result) => {
                let decision = result.evaluate(cfg, req);
                self.store(cfg, cache_key, result, now_ms);
                decision
            }
            Err(response) => Decision::Deny(response),
        }
    }

    fn store(
        &self,
        cfg: &AuthorizerConfig,
        cache_key: &str,
        result: AuthorizerResult,
        now_ms: u64,
    ) {
        let ttl = cfg.ttl_seconds();
        if ttl == 0 || self.capacity == 0 {
            return;
        }
        let key = (cfg.name.clone(), cache_key.to_string());
        let mut inner = self.lock();
        inner.remove(&key);
        let seq = inner.next_seq;
        inner.next_seq += 1;
        inner.order.insert(seq, key.clone());
        inner.entries.insert(
            key,
            Entry {
                seq,
                expires_at_ms: now_ms.saturating_add(u64::from(ttl) * 1000),
                result,
            },
        );
        while inner.entries.len() > self.capacity {
            let Some((_, oldest)) = inner.order.pop_first() else {
                break;
            };
            inner.entries.remove(&oldest);
        }
    }

    /// The number of entries, expired ones included until they are looked up or evicted.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets everything, e.g. when the configuration is reloaded.
    pub fn clear(&self) {
        *self.lock() = Inner::default();
    }
}
