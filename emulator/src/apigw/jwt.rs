//! JWT checks for API Gateway: HTTP API JWT authorizers (v2) and REST Cognito user-pool authorizers (v1), plus
//! Offcloud's local issuer, which mints test tokens without Cognito.
//!
//! Sources (paraphrased in shared/notes/apigw-authorizers-validation-vtl.md §3 and §4):
//! - JWT authorizer steps: https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html
//! - The 401 body and `www-authenticate` header, and `aud` before `client_id`:
//!   https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-troubleshooting-jwt.html
//! - Claims in the v2 event: https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
//! - Cognito authorizers: https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-enable-cognito-user-pool.html
//!
//! Everything marked "unverified" below is an inference that nobody has measured against AWS.
//!
//! Offcloud accepts more than AWS here: AWS JWT authorizers verify only RSA signatures, while this module also
//! accepts ES256, ES384 and EdDSA, because the local issuer signs with ES256 (`ring` cannot generate RSA keys).
//! Symmetric (HS*) tokens and `alg: none` are refused, as they are on AWS.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use jsonwebtoken::{Algorithm, DecodingKey};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::{Map, Value, json};

/// Seconds of clock skew allowed for `exp`, `nbf` and `iat`.
///
/// AWS documents no leeway ("exp must be after now, nbf and iat before now"), so its value is unverified. Zero
/// keeps expiry tests exact (a token minted with a TTL of 1 s is refused 1 s later), and tokens minted by
/// `offcloud token` come from the same clock as the gateway, so they never need skew.
pub const LEEWAY_S: u64 = 0;

/// How one authorizer checks tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct JwtConfig {
    /// Compared byte for byte with the token's `iss`.
    pub issuer: String,
    /// Accepted `aud` (or `client_id`) values. An empty list skips the audience check, which is what a REST
    /// Cognito authorizer needs: it is configured with user pools, not app clients.
    pub audience: Vec<String>,
    pub jwks: JwksSource,
}

/// Where an authorizer's public keys come from.
#[derive(Debug, Clone, PartialEq)]
pub enum JwksSource {
    /// A JWKS JSON file.
    File(PathBuf),
    /// A JWKS, or an OpenID discovery document naming one, fetched over HTTP by [`super::jwks`].
    Url(String),
    /// A JWKS written into the configuration.
    Inline(Value),
    /// Offcloud's own key, the one `offcloud token` signs with.
    Local,
}

/// A JWKS that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    #[error("cannot read the JWKS file {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("{origin} is not valid JSON: {source}")]
    Json {
        origin: String,
        source: serde_json::Error,
    },
    #[error("{origin} {problem}")]
    Invalid { origin: String, problem: String },
    #[error("the authorizer trusts Offcloud's local issuer, but no local key was loaded")]
    NoLocalKey,
}

/// One public key from a JWKS.
#[derive(Clone)]
struct Key {
    kid: Option<String>,
    /// The algorithms this key may verify: those of its type and curve, narrowed by the JWK's `alg`.
    algs: Vec<Algorithm>,
    key: DecodingKey,
}

/// The verification keys of one issuer.
#[derive(Clone)]
pub struct KeySet {
    keys: Vec<Key>,
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kids: Vec<_> = self
            .keys
            .iter()
            .map(|k| k.kid.as_deref().unwrap_or("<no kid>"))
            .collect();
        f.debug_struct("KeySet").field("kids", &kids).finish()
    }
}

impl KeySet {
    /// Loads the keys an authorizer trusts. `local` is needed only for [`JwksSource::Local`].
    pub fn load(source: &JwksSource, local: Option<&LocalKey>) -> Result<KeySet, JwksError> {
        match source {
            JwksSource::File(path) => {
                let text = fs::read_to_string(path).map_err(|source| JwksError::Read {
                    path: path.clone(),
                    source,
                })?;
                let origin = format!("the JWKS file {}", path.display());
                let value: Value =
                    serde_json::from_str(&text).map_err(|source| JwksError::Json {
                        origin: origin.clone(),
                        source,
                    })?;
                Self::parse(&value, &origin)
            }
            JwksSource::Inline(value) => Self::parse(value, "the inline JWKS"),
            JwksSource::Url(url) => Err(JwksError::Invalid {
                origin: url.clone(),
                problem: "is fetched when a request needs it, not loaded at start-up".into(),
            }),
            JwksSource::Local => Ok(local.ok_or(JwksError::NoLocalKey)?.key_set()),
        }
    }

    /// Reads a JWKS (`{"keys": [...]}`) or a single JWK. Keys marked `"use": "enc"` are skipped.
    pub fn from_jwks(jwks: &Value) -> Result<KeySet, JwksError> {
        Self::parse(jwks, "the JWKS")
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn parse(jwks: &Value, origin: &str) -> Result<KeySet, JwksError> {
        let invalid = |problem: String| JwksError::Invalid {
            origin: origin.to_string(),
            problem,
        };
        let entries: Vec<&Value> = match jwks {
            Value::Object(o) if o.contains_key("keys") => match &o["keys"] {
                Value::Array(keys) => keys.iter().collect(),
                _ => return Err(invalid("has a \"keys\" member that is not an array".into())),
            },
            Value::Object(o) if o.contains_key("kty") => vec![jwks],
            _ => return Err(invalid("has no \"keys\" array".into())),
        };
        let mut keys = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            if let Some(key) = parse_jwk(entry).map_err(|problem| {
                let kid = entry
                    .get("kid")
                    .and_then(Value::as_str)
                    .map(|k| format!(" (kid \"{k}\")"))
                    .unwrap_or_default();
                invalid(format!("key {i}{kid}: {problem}"))
            })? {
                keys.push(key);
            }
        }
        if keys.is_empty() {
            return Err(invalid("has no signing keys".into()));
        }
        Ok(KeySet { keys })
    }
}

/// One JWK, or `None` for an encryption key. The error is the problem, without the key's position.
fn parse_jwk(jwk: &Value) -> Result<Option<Key>, String> {
    let Value::Object(o) = jwk else {
        return Err("is not a JSON object".into());
    };
    let text = |name: &str| -> Result<Option<&str>, String> {
        match o.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(format!("\"{name}\" is not a string")),
        }
    };
    let required = |name: &str| -> Result<&str, String> {
        text(name)?.ok_or_else(|| format!("has no \"{name}\""))
    };
    // A member that must be base64url of `len` bytes; checked here because jsonwebtoken checks no lengths.
    let bytes = |name: &str, len: usize| -> Result<&str, String> {
        let value = required(name)?;
        let decoded = B64URL
            .decode(value)
            .map_err(|e| format!("\"{name}\" is not base64url: {e}"))?;
        if decoded.len() != len {
            return Err(format!(
                "\"{name}\" has {} bytes where {len} are needed",
                decoded.len()
            ));
        }
        Ok(value)
    };
    if text("use")? == Some("enc") {
        return Ok(None);
    }
    let kid = text("kid")?.map(str::to_string);
    let kty = required("kty")?;
    let (algs, key) = match kty {
        "RSA" => {
            let (n, e) = (required("n")?, required("e")?);
            for (name, value) in [("n", n), ("e", e)] {
                B64URL
                    .decode(value)
                    .map_err(|err| format!("\"{name}\" is not base64url: {err}"))?;
            }
            let key =
                DecodingKey::from_rsa_components(n, e).map_err(|e| format!("bad RSA key: {e}"))?;
            (
                vec![Algorithm::RS256, Algorithm::RS384, Algorithm::RS512],
                key,
            )
        }
        "EC" => {
            let (alg, len) = match required("crv")? {
                "P-256" => (Algorithm::ES256, 32),
                "P-384" => (Algorithm::ES384, 48),
                other => {
                    return Err(format!(
                        "unsupported curve \"{other}\" (P-256 and P-384 are supported)"
                    ));
                }
            };
            let key = DecodingKey::from_ec_components(bytes("x", len)?, bytes("y", len)?)
                .map_err(|e| format!("bad EC key: {e}"))?;
            (vec![alg], key)
        }
        "OKP" => match required("crv")? {
            "Ed25519" => {
                let key = DecodingKey::from_ed_components(bytes("x", 32)?)
                    .map_err(|e| format!("bad Ed25519 key: {e}"))?;
                (vec![Algorithm::EdDSA], key)
            }
            other => {
                return Err(format!(
                    "unsupported curve \"{other}\" (Ed25519 is supported)"
                ));
            }
        },
        "oct" => return Err("symmetric (\"oct\") keys cannot verify JWT authorizer tokens".into()),
        other => {
            return Err(format!(
                "unsupported key type \"{other}\" (RSA, EC and OKP are supported)"
            ));
        }
    };
    let algs = match text("alg")? {
        None => algs,
        Some(name) => match parse_alg(name) {
            Some(alg) if algs.contains(&alg) => vec![alg],
            _ => return Err(format!("\"alg\" {name} cannot be used with this {kty} key")),
        },
    };
    Ok(Some(Key { kid, algs, key }))
}

/// The signature algorithms Offcloud verifies.
fn parse_alg(name: &str) -> Option<Algorithm> {
    Some(match name {
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        "EdDSA" => Algorithm::EdDSA,
        _ => return None,
    })
}

/// A token that passed every check.
#[derive(Debug, Clone, PartialEq)]
pub struct Claims {
    /// The payload as the issuer wrote it.
    pub claims: Map<String, Value>,
    /// The token's scopes from `scope` or `scp`, or `None` when it has neither.
    pub scopes: Option<Vec<String>>,
}

/// Why a token was refused. The `Display` text is for logs; clients get [`JwtRejection::http_api_response`] or
/// [`JwtRejection::cognito_rest_response`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtRejection {
    #[error("no token in the request")]
    MissingToken,
    #[error("malformed token: {0}")]
    Malformed(String),
    #[error("unsupported signing algorithm {0}")]
    UnsupportedAlgorithm(String),
    #[error("no key has the token's kid {0:?}")]
    UnknownKid(String),
    #[error("the token has no kid and the issuer has several keys")]
    MissingKid,
    #[error("the token's algorithm {0} does not fit its key")]
    KeyMismatch(String),
    #[error("bad signature")]
    BadSignature,
    #[error("wrong issuer {0:?}")]
    InvalidIssuer(Option<String>),
    #[error("no accepted audience in aud or client_id")]
    InvalidAudience,
    #[error("claim {0} is missing or not a number")]
    InvalidClaim(&'static str),
    #[error("the token expired at {exp}")]
    Expired { exp: u64 },
    #[error("the token is not valid before {0}")]
    NotYetValid(u64),
    #[error("the token has none of the route's scopes")]
    InsufficientScope,
}

/// A refusal as the client sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectionResponse {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

impl JwtRejection {
    /// The `error_description` in HTTP API's `www-authenticate` header. Only the audience text is documented
    /// (DG http-api-troubleshooting-jwt); the others are unverified and follow its wording.
    pub fn description(&self) -> &'static str {
        match self {
            Self::MissingToken => "the request has no token",
            Self::Malformed(_) => "the token is malformed",
            Self::UnsupportedAlgorithm(_) => "the token's signing algorithm is not supported",
            Self::UnknownKid(_) | Self::MissingKid => "the token's kid does not match any key",
            Self::KeyMismatch(_) => "the token's signing algorithm does not match its key",
            Self::BadSignature => "the token has an invalid signature",
            Self::InvalidIssuer(_) => "the token does not have a valid issuer",
            Self::InvalidAudience => "the token does not have a valid audience",
            Self::InvalidClaim(_) => "the token has an invalid claim",
            Self::Expired { .. } => "the token has expired",
            Self::NotYetValid(_) => "the token is not valid yet",
            Self::InsufficientScope => "the token does not have the required scopes",
        }
    }

    /// What an HTTP API JWT authorizer answers. Every failure is 401 `{"message":"Unauthorized"}` with
    /// `www-authenticate: Bearer scope="..." error="invalid_token" error_description="..."` (DG
    /// http-api-troubleshooting-jwt). Missing scopes give 403 `{"message":"Forbidden"}` with
    /// `error="insufficient_scope"` (unverified, widely reported). `scope` lists the route's scopes: the doc's
    /// example shows `scope=""`, which fits a route without scopes, and RFC 6750 §3 defines it as the scope
    /// needed; that it lists them is unverified. For a missing token the header carries no error, as RFC 6750
    /// §3.1 asks (unverified).
    pub fn http_api_response(&self, route_scopes: &[String]) -> RejectionResponse {
        let scope = route_scopes.join(" ");
        let (status, body, challenge) = match self {
            Self::MissingToken => (401, "Unauthorized", format!("Bearer scope=\"{scope}\"")),
            Self::InsufficientScope => (
                403,
                "Forbidden",
                format!(
                    "Bearer scope=\"{scope}\" error=\"insufficient_scope\" error_description=\"{}\"",
                    self.description()
                ),
            ),
            _ => (
                401,
                "Unauthorized",
                format!(
                    "Bearer scope=\"{scope}\" error=\"invalid_token\" error_description=\"{}\"",
                    self.description()
                ),
            ),
        };
        RejectionResponse {
            status,
            headers: vec![
                ("content-type", "application/json".into()),
                ("www-authenticate", challenge),
            ],
            body: json!({ "message": body }).to_string(),
        }
    }

    /// The message a REST Cognito authorizer puts in its 401 body (`$context.error.message` of the
    /// UNAUTHORIZED gateway response). Any failure, scopes included, is `Unauthorized` (DG
    /// apigateway-enable-cognito-user-pool); an expired token is reported as `The incoming token has expired`
    /// (real-AWS reports in aws-amplify/amplify-js issues #6060 and #10147, not in the notes).
    pub fn rest_error_message(&self) -> &'static str {
        match self {
            Self::Expired { .. } => "The incoming token has expired",
            _ => "Unauthorized",
        }
    }

    /// What a REST Cognito authorizer answers: 401 with `{"message":...}`. The `x-amzn-ErrorType` value comes
    /// from LocalStack's emulator (unverified).
    pub fn cognito_rest_response(&self) -> RejectionResponse {
        RejectionResponse {
            status: 401,
            headers: vec![
                ("content-type", "application/json".into()),
                ("x-amzn-ErrorType", "UnauthorizedException".into()),
            ],
            body: json!({ "message": self.rest_error_message() }).to_string(),
        }
    }
}

/// The token in an identity-source value: AWS takes it with or without a `Bearer ` prefix (DG
/// http-api-jwt-authorizer). The scheme is matched case-insensitively, as RFC 7235 asks.
pub fn bearer_token(value: &str) -> &str {
    let value = value.trim();
    if value.eq_ignore_ascii_case("bearer") {
        return "";
    }
    match value.get(..7) {
        Some(scheme) if scheme.eq_ignore_ascii_case("bearer ") => value[7..].trim_start(),
        _ => value,
    }
}

/// Checks a token in the order AWS documents (DG http-api-jwt-authorizer): shape, algorithm and signature
/// (key chosen by `kid`, or the only key), `iss`, `aud` or `client_id`, `exp`, `nbf` and `iat`, then scopes.
/// `token` may carry a `Bearer ` prefix. With `required_scopes` empty no scope is needed; otherwise the token
/// needs at least one of them.
pub fn validate(
    cfg: &JwtConfig,
    keys: &KeySet,
    token: &str,
    required_scopes: &[String],
    now_s: u64,
) -> Result<Claims, JwtRejection> {
    let token = bearer_token(token);
    if token.is_empty() {
        return Err(JwtRejection::MissingToken);
    }
    let malformed = |what: &str| JwtRejection::Malformed(what.to_string());
    let parts: Vec<&str> = token.split('.').collect();
    let [header_b64, payload_b64, signature_b64] = parts[..] else {
        return Err(malformed("a JWT has three dot-separated parts"));
    };
    let header = decode_json_object(header_b64)
        .ok_or_else(|| malformed("the header is not base64url JSON"))?;
    let payload = decode_json_object(payload_b64)
        .ok_or_else(|| malformed("the payload is not base64url JSON"))?;
    B64URL
        .decode(signature_b64)
        .map_err(|_| malformed("the signature is not base64url"))?;

    let alg_name = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed("the header has no alg"))?;
    let alg = parse_alg(alg_name)
        .ok_or_else(|| JwtRejection::UnsupportedAlgorithm(alg_name.to_string()))?;
    // RFC 7515 §4.1.11: a token whose critical extensions are not understood must be refused.
    if header.contains_key("crit") {
        return Err(malformed("the header has critical extensions"));
    }
    let key = match header.get("kid") {
        Some(Value::String(kid)) => {
            let mut candidates = keys
                .keys
                .iter()
                .filter(|k| k.kid.as_deref() == Some(kid.as_str()))
                .peekable();
            if candidates.peek().is_none() {
                return Err(JwtRejection::UnknownKid(kid.clone()));
            }
            candidates
                .find(|k| k.algs.contains(&alg))
                .ok_or_else(|| JwtRejection::KeyMismatch(alg_name.into()))?
        }
        Some(_) => return Err(malformed("the header's kid is not a string")),
        None => match &keys.keys[..] {
            [only] if only.algs.contains(&alg) => only,
            [_] => return Err(JwtRejection::KeyMismatch(alg_name.into())),
            _ => return Err(JwtRejection::MissingKid),
        },
    };
    let message = &token[..header_b64.len() + 1 + payload_b64.len()];
    match jsonwebtoken::crypto::verify(signature_b64, message.as_bytes(), &key.key, alg) {
        Ok(true) => {}
        _ => return Err(JwtRejection::BadSignature),
    }

    match payload.get("iss") {
        Some(Value::String(iss)) if *iss == cfg.issuer => {}
        other => {
            return Err(JwtRejection::InvalidIssuer(
                other.and_then(Value::as_str).map(str::to_string),
            ));
        }
    }
    if !cfg.audience.is_empty() {
        // `client_id` counts only when `aud` is absent (DG http-api-troubleshooting-jwt).
        let offered: Vec<&str> = match (payload.get("aud"), payload.get("client_id")) {
            (Some(Value::String(aud)), _) => vec![aud],
            (Some(Value::Array(auds)), _) => auds.iter().filter_map(Value::as_str).collect(),
            (Some(_), _) => vec![],
            (None, Some(Value::String(client_id))) => vec![client_id],
            (None, _) => vec![],
        };
        if !offered
            .iter()
            .any(|a| cfg.audience.iter().any(|want| want == a))
        {
            return Err(JwtRejection::InvalidAudience);
        }
    }
    // `exp` is required: AWS checks that it is after now, which a token without one cannot satisfy.
    let exp = numeric_date(&payload, "exp")?.ok_or(JwtRejection::InvalidClaim("exp"))?;
    if now_s >= exp.saturating_add(LEEWAY_S) {
        return Err(JwtRejection::Expired { exp });
    }
    for name in ["nbf", "iat"] {
        if let Some(t) = numeric_date(&payload, name)?
            && t > now_s.saturating_add(LEEWAY_S)
        {
            return Err(JwtRejection::NotYetValid(t));
        }
    }
    let scopes = token_scopes(&payload);
    if !required_scopes.is_empty() {
        let has = scopes.as_deref().unwrap_or_default();
        if !required_scopes.iter().any(|want| has.contains(want)) {
            return Err(JwtRejection::InsufficientScope);
        }
    }
    Ok(Claims {
        claims: payload,
        scopes,
    })
}

fn decode_json_object(part: &str) -> Option<Map<String, Value>> {
    match serde_json::from_slice(&B64URL.decode(part).ok()?).ok()? {
        Value::Object(o) => Some(o),
        _ => None,
    }
}

/// A NumericDate claim (RFC 7519 §2) as whole seconds; fractions are dropped. Negative times count as 0.
fn numeric_date(
    claims: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<u64>, JwtRejection> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(t) => Ok(Some(t)),
            None => n
                .as_f64()
                .filter(|f| f.is_finite())
                .map(|f| Some(f.max(0.0) as u64))
                .ok_or(JwtRejection::InvalidClaim(name)),
        },
        Some(_) => Err(JwtRejection::InvalidClaim(name)),
    }
}

/// Scopes from `scope` (space-separated, RFC 8693 §4.2) or, failing that, `scp`, which Okta writes as an array
/// and Microsoft as a space-separated string.
fn token_scopes(claims: &Map<String, Value>) -> Option<Vec<String>> {
    match claims.get("scope").or_else(|| claims.get("scp"))? {
        Value::String(s) => Some(s.split_whitespace().map(str::to_string).collect()),
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
        ),
        _ => None,
    }
}

/// The value of `requestContext.authorizer` in an HTTP API event: `{"jwt": {"claims": {...}, "scopes": [...]}}`
/// (DG http-api-develop-integrations-lambda). Claim values are strings, since aws-lambda-go and the Rust runtime
/// type them as string maps; see [`claim_text`]. `scopes` is null when the token has none (unverified).
pub fn claims_for_v2(claims: &Claims) -> Value {
    let text: Map<String, Value> = claims
        .claims
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(claim_text(v))))
        .collect();
    json!({ "jwt": { "claims": text, "scopes": claims.scopes } })
}

/// The value of `requestContext.authorizer` in a REST event behind a Cognito authorizer: `{"claims": {...}}`,
/// every value a string. `exp` and `iat` appear as Java date strings such as `Sun Dec 17 07:28:12 UTC 2017`, as in
/// captured events; `auth_time` and other numbers stay digits (notes §4, unverified).
pub fn claims_for_v1(claims: &Claims) -> Value {
    let text: Map<String, Value> = claims
        .claims
        .iter()
        .map(|(k, v)| {
            let s = match (k.as_str(), v.as_u64()) {
                ("exp" | "iat", Some(t)) => java_date(t),
                _ => claim_text(v),
            };
            (k.clone(), Value::String(s))
        })
        .collect();
    json!({ "claims": text })
}

/// A claim value as API Gateway hands it on. Strings pass through, numbers and booleans become their JSON text,
/// and arrays become `[a b c]` (bracketed, space-separated, elements unquoted), as reported for both gateways
/// (notes §3 and §4). Unverified choices: nested objects become compact JSON and null becomes `null`, so that a
/// typed string map still deserializes.
pub fn claim_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(claim_text).collect::<Vec<_>>().join(" ")
        ),
        other => other.to_string(),
    }
}

/// Java's `Date.toString()` in UTC: `EEE MMM dd HH:mm:ss zzz yyyy`.
fn java_date(epoch_s: u64) -> String {
    chrono::DateTime::from_timestamp(epoch_s as i64, 0)
        .unwrap_or_default()
        .format("%a %b %d %H:%M:%S UTC %Y")
        .to_string()
}

/// The local issuer's key file inside the cache directory.
pub const LOCAL_KEY_FILE: &str = "jwt-signing-key.p8";

/// The local issuer's key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LocalKeyError {
    #[error("cannot create {}: {source}", path.display())]
    Dir { path: PathBuf, source: io::Error },
    #[error("cannot read the signing key {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot write the signing key {}: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
    #[error("{} is not a PKCS#8 ECDSA P-256 private key ({reason}); delete it and Offcloud will make a new one", path.display())]
    Invalid { path: PathBuf, reason: String },
    #[error("cannot generate a signing key: the system random number generator failed")]
    Random,
}

/// Offcloud's own ES256 signing key, kept as PKCS#8 DER in the cache directory so that tokens stay valid across
/// restarts. ES256 because `ring` can generate P-256 keys (not RSA ones) and more JWT libraries read ES256 than
/// EdDSA.
pub struct LocalKey {
    pair: EcdsaKeyPair,
    kid: String,
    path: PathBuf,
}

impl fmt::Debug for LocalKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalKey")
            .field("kid", &self.kid)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl LocalKey {
    /// Reads `dir/jwt-signing-key.p8`, or makes it (mode 0600) when it does not exist. Two processes starting
    /// together agree on one key: the new file is written aside and hard-linked into place, which fails if the
    /// other process got there first, and then its key is read.
    pub fn load_or_create(dir: &Path) -> Result<LocalKey, LocalKeyError> {
        let path = dir.join(LOCAL_KEY_FILE);
        match fs::read(&path) {
            Ok(der) => return Self::from_pkcs8(&der, path),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => return Err(LocalKeyError::Read { path, source }),
        }
        fs::create_dir_all(dir).map_err(|source| LocalKeyError::Dir {
            path: dir.to_path_buf(),
            source,
        })?;
        let rng = SystemRandom::new();
        let der = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| LocalKeyError::Random)?;
        let tmp = dir.join(format!("{LOCAL_KEY_FILE}.{}.tmp", std::process::id()));
        let write = |tmp: &Path| -> io::Result<()> {
            let mut file = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(tmp)?;
            // The mode above is filtered by the umask; this makes the result exactly 0600 either way.
            file.set_permissions(fs::Permissions::from_mode(0o600))?;
            file.write_all(der.as_ref())?;
            file.sync_all()
        };
        let placed = write(&tmp).and_then(|()| fs::hard_link(&tmp, &path));
        let _ = fs::remove_file(&tmp);
        match placed {
            Ok(()) => Self::from_pkcs8(der.as_ref(), path),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let der = fs::read(&path).map_err(|source| LocalKeyError::Read {
                    path: path.clone(),
                    source,
                })?;
                Self::from_pkcs8(&der, path)
            }
            Err(source) => Err(LocalKeyError::Write { path, source }),
        }
    }

    fn from_pkcs8(der: &[u8], path: PathBuf) -> Result<LocalKey, LocalKeyError> {
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der, &SystemRandom::new())
                .map_err(|e| LocalKeyError::Invalid {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        let (x, y) = coordinates(&pair);
        // The kid is the key's RFC 7638 thumbprint: the SHA-256 of its required members in lexical order.
        let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
        let kid = B64URL.encode(ring::digest::digest(
            &ring::digest::SHA256,
            canonical.as_bytes(),
        ));
        Ok(LocalKey { pair, kid, path })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Where the private key is stored.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The public key as a JWKS, `{"keys": [{"kty": "EC", "crv": "P-256", "kid": ..., ...}]}`, fit to serve as an
    /// issuer's `jwks_uri` document.
    pub fn jwks(&self) -> Value {
        let (x, y) = coordinates(&self.pair);
        json!({ "keys": [{ "kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": self.kid, "alg": "ES256", "use": "sig" }] })
    }

    /// The keys an authorizer that trusts the local issuer verifies with.
    pub fn key_set(&self) -> KeySet {
        KeySet::parse(&self.jwks(), "the local issuer's JWKS")
            .unwrap_or_else(|e| unreachable!("{e}"))
    }

    /// Signs an ES256 token with `iss`, `aud` (left out when `audience` is empty, as in Cognito access tokens,
    /// which carry `client_id` instead), `iat = now_s` and `exp = now_s + ttl_s`. Entries of `claims` are added
    /// last and win over those, except `scope`, which is the space-separated `scopes` when any are given.
    ///
    /// Panics only if the system random number generator fails (ECDSA needs a fresh nonce per signature).
    pub fn mint(
        &self,
        issuer: &str,
        audience: &str,
        claims: BTreeMap<String, Value>,
        scopes: &[String],
        ttl_s: u64,
        now_s: u64,
    ) -> String {
        let header = json!({ "alg": "ES256", "typ": "JWT", "kid": self.kid });
        let mut payload = Map::new();
        payload.insert("iss".into(), issuer.into());
        if !audience.is_empty() {
            payload.insert("aud".into(), audience.into());
        }
        payload.insert("iat".into(), now_s.into());
        payload.insert("exp".into(), now_s.saturating_add(ttl_s).into());
        payload.extend(claims);
        if !scopes.is_empty() {
            payload.insert("scope".into(), scopes.join(" ").into());
        }
        let message = format!(
            "{}.{}",
            B64URL.encode(header.to_string()),
            B64URL.encode(Value::Object(payload).to_string())
        );
        let signature = self
            .pair
            .sign(&SystemRandom::new(), message.as_bytes())
            .expect("the system random number generator failed while signing a token");
        format!("{message}.{}", B64URL.encode(signature.as_ref()))
    }
}

/// The base64url `x` and `y` of a P-256 public key, which `ring` gives as the uncompressed point `04 || x || y`.
fn coordinates(pair: &EcdsaKeyPair) -> (String, String) {
    let point = pair.public_key().as_ref();
    (B64URL.encode(&point[1..33]), B64URL.encode(&point[33..65]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{
        ECDSA_P384_SHA384_FIXED_SIGNING, Ed25519KeyPair, RSA_PKCS1_SHA256, RSA_PKCS1_SHA384,
        RSA_PKCS1_SHA512, RsaEncoding, RsaKeyPair,
    };
    use std::sync::atomic::{AtomicU32, Ordering};

    const NOW: u64 = 1_700_000_000;
    const ISS: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Test";
    const AUD: &str = "client-a";

    /// A 2048-bit RSA test key made once with `openssl genpkey -algorithm RSA`, and its public JWK below.
    const RSA_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDRrLDST2wvi+2S
6qIx83wtrBq/q+peA60y/Z0P2fOMnCc+EmKXygjnhin3riviZ/Pz/GWKCm67mNwn
9/MUf/kbpTnut3gzisKOW2G6W6f5CX3IAG3jVO5oup3yy9aPLEUYAen/6IxOImBj
QQPmKvzFIGCnWEaA1Y/mpVN2wqH/iVSGRvoxKRFZQEIF3zwK70rcUk2GLZul7o8C
myOqwymhnVu2jAbyYrjwSzHNc0ySvyvDkZPWlfpA2ZWiwe7euXT03mVKqmI9i2pI
Y3t/ZCumdtTJAkWo7qIpTNxGJ8ar3DEoKKt0/tWrFMinVIE7oRCSk95xlICePl9x
0z9FqPChAgMBAAECggEAAnVfvk2b44sDrZ11v7y0i4sI9a5qCsWGqIkVQWrybn9h
zlojG4nDUnNIrkvztqfBxqCGX/bJkExOpnp5uFF/J2Ql47QUUrc9bG3M/pDmSXlM
D9p7vPHvbxhbYQ/8pnffMK36w0jfC+vqJVKyD8A3UL1uxDWdqYeyrKF2RHtqBetC
1YPkWVw+6miN+s8LlLRGzXPT1/WwcWBE0rCykPYtvwk/LOpZ7u9S+K5wdfGbVxSR
0eYqDDTSlQQEBOJ2yPEaxbTbqkLHrDaTAHj0XJNdrRJaoZrnt8KG0v2PoboC5A/W
VHrLml1aDeAbI1rrWEInH0WRdS+KAdjcCZuvdm3iowKBgQD+8dx3x7Qf1+xO3L5i
WClcWuzK1syoScqUfp3WQ4IILJQ/U9LFL4TtYSJQq2lnf0HVkXhvU3+weFA5Ydkm
NRqupHR5E/jxxSML6hk+3Ykf0GHVbpXJk8b6ozxtqMf9HGABgn6gQn508DQrMWZ2
Acra4JGyxoVZGqDK5LWximNjewKBgQDSitx/4oR+dsxkmdQIOZT6RVeSQIweuPI3
7a4Ce+skEij/Ml5hJdmm6WPt+QEX1Uw0xU1Wa6tA2PBkDhcqWab8ibn1y3b28jmy
iCjLztW6Xkl4cvaXSjMay6Ntr6ERxcbpZ6huZntU/9XF+cZRcIx2peGaRIxWK/zl
xKAjHOcjkwKBgQCL2USk+AlYxms8P164N8BIhyAJjJarYf8cQfB3DoUP0tRngKXH
wO9b/8KBGeYx/d6xNqEoAFe1B+qJ76DckpjWYCP8HvaaOReme33pvEByES75kzXb
Y5Ls/gox5Tn/IEeRzHGFm7QelX0ojGq2JPmP40xJExkm7bJyWc9JWq52bQKBgHqp
mEmRiSu8vtwlmxino5oj6B83J+uGSOg4u1aLJ7W+NtBnYgErciECfMvadL6T8HAW
OzaMSBvhyDwi0XBFBzq+au8++TJqcR8IoOwMtwx7fkaEhBIkkp2b4r02w5p9JaQ6
VjDr2BLvcnaDTP2JmuxNPKEKKtDRk+expLKQVkGtAoGBAPDR2DI+eKcL0igECfZo
iY1EDQQbcCaiCA0qLgy1TftHlRuL6ACTP/gMMPVDATtogHbCXYSDWZ7+f5lj9BJH
/m7FwAJHIMPnCGG7xt+11Zg3/ZyL8dNpzaOEAiwjWLWuZ6YWmVbuWGYNng7UjPu2
fVwiq0FMCRGZoPTGycy8zH9z
-----END PRIVATE KEY-----";
    const RSA_N: &str = "0ayw0k9sL4vtkuqiMfN8Lawav6vqXgOtMv2dD9nzjJwnPhJil8oI54Yp964r4mfz8_xligpuu5jcJ_fzFH_5G6U57rd4M4rCjlthulun-Ql9yABt41TuaLqd8svWjyxFGAHp_-iMTiJgY0ED5ir8xSBgp1hGgNWP5qVTdsKh_4lUhkb6MSkRWUBCBd88Cu9K3FJNhi2bpe6PApsjqsMpoZ1btowG8mK48EsxzXNMkr8rw5GT1pX6QNmVosHu3rl09N5lSqpiPYtqSGN7f2QrpnbUyQJFqO6iKUzcRifGq9wxKCirdP7VqxTIp1SBO6EQkpPecZSAnj5fcdM_RajwoQ";

    fn scratch_dir(name: &str) -> PathBuf {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "offcloud-jwt-{}-{}-{name}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    fn local() -> LocalKey {
        LocalKey::load_or_create(&scratch_dir("key")).unwrap()
    }

    fn cfg(audience: &[&str]) -> JwtConfig {
        JwtConfig {
            issuer: ISS.into(),
            audience: audience.iter().map(|a| a.to_string()).collect(),
            jwks: JwksSource::Local,
        }
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn claims(pairs: Value) -> BTreeMap<String, Value> {
        pairs.as_object().unwrap().clone().into_iter().collect()
    }

    /// A token with any header and payload, signed by `sign`.
    fn token(header: Value, payload: Value, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
        let message = format!(
            "{}.{}",
            B64URL.encode(header.to_string()),
            B64URL.encode(payload.to_string())
        );
        let signature = sign(message.as_bytes());
        format!("{message}.{}", B64URL.encode(signature))
    }

    fn payload() -> Value {
        json!({ "iss": ISS, "aud": AUD, "sub": "u-1", "iat": NOW, "exp": NOW + 600 })
    }

    fn rsa_pair() -> RsaKeyPair {
        let body: String = RSA_PEM
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        RsaKeyPair::from_pkcs8(
            &base64::engine::general_purpose::STANDARD
                .decode(body)
                .unwrap(),
        )
        .unwrap()
    }

    fn rsa_sign(pair: &RsaKeyPair, encoding: &'static dyn RsaEncoding, message: &[u8]) -> Vec<u8> {
        let mut sig = vec![0; pair.public().modulus_len()];
        pair.sign(encoding, &SystemRandom::new(), message, &mut sig)
            .unwrap();
        sig
    }

    fn rsa_jwks() -> Value {
        json!({ "keys": [
            { "kty": "EC", "crv": "P-256", "kid": "other", "use": "sig",
              "x": B64URL.encode([1u8; 32]), "y": B64URL.encode([2u8; 32]) },
            { "kty": "RSA", "kid": "rsa-1", "use": "sig", "n": RSA_N, "e": "AQAB" },
        ]})
    }

    fn check(key: &LocalKey, token: &str, scopes: &[&str]) -> Result<Claims, JwtRejection> {
        validate(
            &cfg(&[AUD, "client-b"]),
            &key.key_set(),
            token,
            &strings(scopes),
            NOW,
        )
    }

    #[test]
    fn a_locally_minted_token_validates() {
        let key = local();
        let t = key.mint(ISS, AUD, claims(json!({ "sub": "u-1" })), &[], 3600, NOW);
        let got = check(&key, &t, &[]).unwrap();
        assert_eq!(got.claims["sub"], "u-1");
        assert_eq!(got.claims["exp"], NOW + 3600);
        assert_eq!(got.scopes, None);
        // With or without the Bearer prefix, in any case.
        assert!(check(&key, &format!("Bearer {t}"), &[]).is_ok());
        assert!(check(&key, &format!("bearer  {t}"), &[]).is_ok());
    }

    #[test]
    fn the_local_key_is_stored_0600_and_reused() {
        let dir = scratch_dir("reuse");
        let a = LocalKey::load_or_create(&dir).unwrap();
        let mode = fs::metadata(dir.join(LOCAL_KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let b = LocalKey::load_or_create(&dir).unwrap();
        assert_eq!(a.kid(), b.kid());
        assert_eq!(a.jwks(), b.jwks());
        // A token from the first instance validates against the second's keys.
        let t = a.mint(ISS, AUD, BTreeMap::new(), &[], 60, NOW);
        assert!(validate(&cfg(&[AUD]), &b.key_set(), &t, &[], NOW).is_ok());
        let jwk = &a.jwks()["keys"][0];
        assert_eq!(
            (
                jwk["kty"].as_str(),
                jwk["crv"].as_str(),
                jwk["alg"].as_str()
            ),
            (Some("EC"), Some("P-256"), Some("ES256"))
        );
        assert_eq!(jwk["kid"], a.kid());
        assert!(jwk.get("d").is_none());
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn a_corrupt_key_file_is_named() {
        let dir = scratch_dir("corrupt");
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(LOCAL_KEY_FILE), b"not a key").unwrap();
        let err = LocalKey::load_or_create(&dir).unwrap_err();
        assert!(matches!(err, LocalKeyError::Invalid { .. }));
        assert!(
            err.to_string()
                .contains(&dir.join(LOCAL_KEY_FILE).display().to_string()),
            "{err}"
        );
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn mint_puts_claims_last_and_omits_an_empty_audience() {
        let key = local();
        let t = key.mint(
            ISS,
            "",
            claims(json!({ "client_id": AUD, "token_use": "access", "iat": 5 })),
            &strings(&["a", "b"]),
            60,
            NOW,
        );
        let got = check(&key, &t, &[]).unwrap();
        assert!(!got.claims.contains_key("aud"));
        assert_eq!(got.claims["iat"], 5);
        assert_eq!(got.claims["scope"], "a b");
        assert_eq!(got.scopes, Some(strings(&["a", "b"])));
    }

    #[test]
    fn wrong_issuer() {
        let key = local();
        let t = key.mint("https://elsewhere", AUD, BTreeMap::new(), &[], 60, NOW);
        assert_eq!(
            check(&key, &t, &[]),
            Err(JwtRejection::InvalidIssuer(Some(
                "https://elsewhere".into()
            )))
        );
        let t = token(
            json!({"alg": "ES256", "kid": key.kid()}),
            json!({"aud": AUD, "exp": NOW + 1}),
            |_| vec![0; 64],
        );
        // The signature is checked before the issuer.
        assert_eq!(check(&key, &t, &[]), Err(JwtRejection::BadSignature));
    }

    #[test]
    fn wrong_audience_gives_the_documented_401() {
        let key = local();
        let t = key.mint(ISS, "client-z", BTreeMap::new(), &[], 60, NOW);
        let rejection = check(&key, &t, &[]).unwrap_err();
        assert_eq!(rejection, JwtRejection::InvalidAudience);
        let r = rejection.http_api_response(&[]);
        assert_eq!(r.status, 401);
        assert_eq!(r.body, r#"{"message":"Unauthorized"}"#);
        assert_eq!(r.body.len(), 26);
        let header = r
            .headers
            .iter()
            .find(|(k, _)| *k == "www-authenticate")
            .unwrap();
        assert_eq!(
            header.1,
            r#"Bearer scope="" error="invalid_token" error_description="the token does not have a valid audience""#
        );
        let r = rejection.cognito_rest_response();
        assert_eq!(
            (r.status, r.body.as_str()),
            (401, r#"{"message":"Unauthorized"}"#)
        );
    }

    #[test]
    fn audience_from_aud_or_else_client_id() {
        let key = local();
        let access = |extra: Value| key.mint(ISS, "", claims(extra), &[], 60, NOW);
        // A Cognito access token carries client_id and no aud.
        assert!(
            check(
                &key,
                &access(json!({ "client_id": "client-b", "token_use": "access" })),
                &[]
            )
            .is_ok()
        );
        assert_eq!(
            check(&key, &access(json!({ "client_id": "nope" })), &[]),
            Err(JwtRejection::InvalidAudience)
        );
        assert_eq!(
            check(&key, &access(json!({})), &[]),
            Err(JwtRejection::InvalidAudience)
        );
        // When both are present only aud counts.
        let both = key.mint(
            ISS,
            "nope",
            claims(json!({ "client_id": AUD })),
            &[],
            60,
            NOW,
        );
        assert_eq!(check(&key, &both, &[]), Err(JwtRejection::InvalidAudience));
        // aud may be an array; one accepted member is enough.
        assert!(check(&key, &access(json!({ "aud": ["x", "client-b"] })), &[]).is_ok());
        // An empty audience list (a REST Cognito authorizer) accepts any client.
        let t = access(json!({ "aud": "anything" }));
        assert!(validate(&cfg(&[]), &key.key_set(), &t, &[], NOW).is_ok());
    }

    #[test]
    fn expiry_is_exact() {
        let key = local();
        let t = key.mint(ISS, AUD, BTreeMap::new(), &[], 60, NOW);
        let at = |now| validate(&cfg(&[AUD]), &key.key_set(), &t, &[], now);
        assert!(at(NOW + 59).is_ok());
        let rejection = at(NOW + 60).unwrap_err();
        assert_eq!(rejection, JwtRejection::Expired { exp: NOW + 60 });
        assert!(
            rejection.http_api_response(&[]).headers[1]
                .1
                .contains("error=\"invalid_token\"")
        );
        let r = rejection.cognito_rest_response();
        assert_eq!(
            (r.status, r.body.as_str()),
            (401, r#"{"message":"The incoming token has expired"}"#)
        );
        // exp is required and must be a number.
        let no_exp = key.mint(ISS, AUD, claims(json!({ "exp": null })), &[], 60, NOW);
        assert_eq!(
            check(&key, &no_exp, &[]),
            Err(JwtRejection::InvalidClaim("exp"))
        );
        let text_exp = key.mint(
            ISS,
            AUD,
            claims(json!({ "exp": "9999999999" })),
            &[],
            60,
            NOW,
        );
        assert_eq!(
            check(&key, &text_exp, &[]),
            Err(JwtRejection::InvalidClaim("exp"))
        );
        let float_exp = key.mint(
            ISS,
            AUD,
            claims(json!({ "exp": (NOW + 10) as f64 + 0.5 })),
            &[],
            60,
            NOW,
        );
        assert!(check(&key, &float_exp, &[]).is_ok());
    }

    #[test]
    fn not_yet_valid() {
        let key = local();
        let t = key.mint(ISS, AUD, claims(json!({ "nbf": NOW + 30 })), &[], 600, NOW);
        assert_eq!(
            check(&key, &t, &[]),
            Err(JwtRejection::NotYetValid(NOW + 30))
        );
        assert!(validate(&cfg(&[AUD]), &key.key_set(), &t, &[], NOW + 30).is_ok());
        let t = key.mint(ISS, AUD, claims(json!({ "iat": NOW + 5 })), &[], 600, NOW);
        assert_eq!(
            check(&key, &t, &[]),
            Err(JwtRejection::NotYetValid(NOW + 5))
        );
        let t = key.mint(ISS, AUD, claims(json!({ "nbf": "soon" })), &[], 600, NOW);
        assert_eq!(check(&key, &t, &[]), Err(JwtRejection::InvalidClaim("nbf")));
    }

    #[test]
    fn a_tampered_payload_fails_the_signature() {
        let key = local();
        let t = key.mint(ISS, AUD, claims(json!({ "role": "user" })), &[], 60, NOW);
        let parts: Vec<&str> = t.split('.').collect();
        let mut body: Value = serde_json::from_slice(&B64URL.decode(parts[1]).unwrap()).unwrap();
        body["role"] = "admin".into();
        let forged = format!(
            "{}.{}.{}",
            parts[0],
            B64URL.encode(body.to_string()),
            parts[2]
        );
        assert_eq!(check(&key, &forged, &[]), Err(JwtRejection::BadSignature));
        // A token signed by another local key, under this key's kid.
        let other = local();
        let t = other.mint(ISS, AUD, BTreeMap::new(), &[], 60, NOW);
        let resigned = token(
            json!({ "alg": "ES256", "kid": key.kid() }),
            payload(),
            |m| {
                other
                    .pair
                    .sign(&SystemRandom::new(), m)
                    .unwrap()
                    .as_ref()
                    .to_vec()
            },
        );
        assert_eq!(check(&key, &resigned, &[]), Err(JwtRejection::BadSignature));
        assert_eq!(
            check(&key, &t, &[]),
            Err(JwtRejection::UnknownKid(other.kid().into()))
        );
    }

    #[test]
    fn unknown_or_missing_kid() {
        let key = local();
        let sign = |m: &[u8]| {
            key.pair
                .sign(&SystemRandom::new(), m)
                .unwrap()
                .as_ref()
                .to_vec()
        };
        let t = token(json!({ "alg": "ES256", "kid": "nope" }), payload(), sign);
        assert_eq!(
            check(&key, &t, &[]),
            Err(JwtRejection::UnknownKid("nope".into()))
        );
        // No kid: the only key is used.
        let t = token(json!({ "alg": "ES256" }), payload(), sign);
        assert!(check(&key, &t, &[]).is_ok());
        // No kid, several keys.
        let keys = KeySet::from_jwks(&rsa_jwks()).unwrap();
        assert_eq!(keys.len(), 2);
        let t = token(json!({ "alg": "RS256" }), payload(), |m| {
            rsa_sign(&rsa_pair(), &RSA_PKCS1_SHA256, m)
        });
        assert_eq!(
            validate(&cfg(&[AUD]), &keys, &t, &[], NOW),
            Err(JwtRejection::MissingKid)
        );
    }

    #[test]
    fn alg_none_and_symmetric_algs_are_refused() {
        let key = local();
        let t = format!(
            "{}.{}.",
            B64URL.encode(json!({ "alg": "none", "kid": key.kid() }).to_string()),
            B64URL.encode(payload().to_string())
        );
        assert_eq!(
            check(&key, &t, &[]),
            Err(JwtRejection::UnsupportedAlgorithm("none".into()))
        );
        let t = token(
            json!({ "alg": "HS256", "kid": key.kid() }),
            payload(),
            |_| vec![1; 32],
        );
        assert_eq!(
            check(&key, &t, &[]),
            Err(JwtRejection::UnsupportedAlgorithm("HS256".into()))
        );
        // An RSA algorithm named for the EC key.
        let t = token(
            json!({ "alg": "RS256", "kid": key.kid() }),
            payload(),
            |m| rsa_sign(&rsa_pair(), &RSA_PKCS1_SHA256, m),
        );
        assert_eq!(
            check(&key, &t, &[]),
            Err(JwtRejection::KeyMismatch("RS256".into()))
        );
    }

    #[test]
    fn malformed_tokens() {
        let key = local();
        let good = key.mint(ISS, AUD, BTreeMap::new(), &[], 60, NOW);
        let parts: Vec<&str> = good.split('.').collect();
        let not_json = B64URL.encode("[1,2]");
        let cases = [
            "abc".to_string(),
            format!("{}.{}", parts[0], parts[1]),
            format!("{good}.extra"),
            format!("!!!.{}.{}", parts[1], parts[2]),
            format!("{}.{}.{}", parts[0], "%%%", parts[2]),
            format!("{}.{}.{}", parts[0], parts[1], "not*base64"),
            format!("{}.{not_json}.{}", parts[0], parts[2]),
            format!(
                "{}.{}.{}",
                B64URL.encode(r#"{"typ":"JWT"}"#),
                parts[1],
                parts[2]
            ),
            format!(
                "{}.{}.{}",
                B64URL.encode(r#"{"alg":"ES256","kid":7}"#),
                parts[1],
                parts[2]
            ),
            format!(
                "{}.{}.{}",
                B64URL.encode(r#"{"alg":"ES256","crit":["b64"]}"#),
                parts[1],
                parts[2]
            ),
        ];
        for case in cases {
            assert!(
                matches!(check(&key, &case, &[]), Err(JwtRejection::Malformed(_))),
                "{case}"
            );
        }
        assert_eq!(check(&key, "", &[]), Err(JwtRejection::MissingToken));
        assert_eq!(check(&key, "Bearer ", &[]), Err(JwtRejection::MissingToken));
        let r = JwtRejection::MissingToken.http_api_response(&[]);
        assert_eq!(
            (r.status, r.headers[1].1.as_str()),
            (401, r#"Bearer scope="""#)
        );
    }

    #[test]
    fn scopes() {
        let key = local();
        let t = key.mint(
            ISS,
            AUD,
            BTreeMap::new(),
            &strings(&["orders/read", "email"]),
            60,
            NOW,
        );
        assert!(check(&key, &t, &["orders/read"]).is_ok());
        assert!(check(&key, &t, &["orders/write", "email"]).is_ok());
        let rejection = check(&key, &t, &["orders/write"]).unwrap_err();
        assert_eq!(rejection, JwtRejection::InsufficientScope);
        let r = rejection.http_api_response(&strings(&["orders/write", "admin"]));
        assert_eq!(
            (r.status, r.body.as_str()),
            (403, r#"{"message":"Forbidden"}"#)
        );
        assert_eq!(
            r.headers[1].1,
            r#"Bearer scope="orders/write admin" error="insufficient_scope" error_description="the token does not have the required scopes""#
        );
        let r = rejection.cognito_rest_response();
        assert_eq!(
            (r.status, r.body.as_str()),
            (401, r#"{"message":"Unauthorized"}"#)
        );
        // No scope claim at all.
        let bare = key.mint(ISS, AUD, BTreeMap::new(), &[], 60, NOW);
        assert_eq!(
            check(&key, &bare, &["orders/read"]),
            Err(JwtRejection::InsufficientScope)
        );
        // scp, as an array or a string.
        let scp = key.mint(ISS, AUD, claims(json!({ "scp": ["a", "b"] })), &[], 60, NOW);
        assert_eq!(
            check(&key, &scp, &["b"]).unwrap().scopes,
            Some(strings(&["a", "b"]))
        );
        let scp = key.mint(ISS, AUD, claims(json!({ "scp": "a b" })), &[], 60, NOW);
        assert!(check(&key, &scp, &["b"]).is_ok());
    }

    #[test]
    fn rsa_tokens_against_a_jwks() {
        let keys = KeySet::from_jwks(&rsa_jwks()).unwrap();
        let pair = rsa_pair();
        let cases: [(&str, &'static dyn RsaEncoding); 3] = [
            ("RS256", &RSA_PKCS1_SHA256),
            ("RS384", &RSA_PKCS1_SHA384),
            ("RS512", &RSA_PKCS1_SHA512),
        ];
        for (alg, encoding) in cases {
            let t = token(
                json!({ "alg": alg, "kid": "rsa-1", "typ": "JWT" }),
                payload(),
                |m| rsa_sign(&pair, encoding, m),
            );
            let got = validate(&cfg(&[AUD]), &keys, &t, &[], NOW).unwrap();
            assert_eq!(got.claims["sub"], "u-1", "{alg}");
            // The signature of one algorithm does not pass as another.
            let wrong = token(json!({ "alg": alg, "kid": "rsa-1" }), payload(), |m| {
                rsa_sign(
                    &pair,
                    if alg == "RS256" {
                        &RSA_PKCS1_SHA512
                    } else {
                        &RSA_PKCS1_SHA256
                    },
                    m,
                )
            });
            assert_eq!(
                validate(&cfg(&[AUD]), &keys, &wrong, &[], NOW),
                Err(JwtRejection::BadSignature),
                "{alg}"
            );
        }
        // A JWK's alg limits the key to it.
        let pinned =
            KeySet::from_jwks(&json!({ "kty": "RSA", "n": RSA_N, "e": "AQAB", "alg": "RS256" }))
                .unwrap();
        let t = token(json!({ "alg": "RS384" }), payload(), |m| {
            rsa_sign(&pair, &RSA_PKCS1_SHA384, m)
        });
        assert_eq!(
            validate(&cfg(&[AUD]), &pinned, &t, &[], NOW),
            Err(JwtRejection::KeyMismatch("RS384".into()))
        );
    }

    #[test]
    fn es384_and_eddsa_tokens() {
        let rng = SystemRandom::new();
        let p384 = EcdsaKeyPair::from_pkcs8(
            &ECDSA_P384_SHA384_FIXED_SIGNING,
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &rng)
                .unwrap()
                .as_ref(),
            &rng,
        )
        .unwrap();
        let point = p384.public_key().as_ref();
        let ed = Ed25519KeyPair::from_pkcs8(Ed25519KeyPair::generate_pkcs8(&rng).unwrap().as_ref())
            .unwrap();
        let keys = KeySet::from_jwks(&json!({ "keys": [
            { "kty": "EC", "crv": "P-384", "kid": "ec", "x": B64URL.encode(&point[1..49]), "y": B64URL.encode(&point[49..]) },
            { "kty": "OKP", "crv": "Ed25519", "kid": "ed", "x": B64URL.encode(ed.public_key().as_ref()) },
        ]}))
        .unwrap();
        let es = token(json!({ "alg": "ES384", "kid": "ec" }), payload(), |m| {
            p384.sign(&rng, m).unwrap().as_ref().to_vec()
        });
        assert!(validate(&cfg(&[AUD]), &keys, &es, &[], NOW).is_ok());
        let eddsa = token(json!({ "alg": "EdDSA", "kid": "ed" }), payload(), |m| {
            ed.sign(m).as_ref().to_vec()
        });
        assert!(validate(&cfg(&[AUD]), &keys, &eddsa, &[], NOW).is_ok());
        let swapped = token(json!({ "alg": "EdDSA", "kid": "ec" }), payload(), |m| {
            ed.sign(m).as_ref().to_vec()
        });
        assert_eq!(
            validate(&cfg(&[AUD]), &keys, &swapped, &[], NOW),
            Err(JwtRejection::KeyMismatch("EdDSA".into()))
        );
    }

    #[test]
    fn jwks_errors_name_the_file_and_the_problem() {
        let dir = scratch_dir("jwks");
        fs::create_dir_all(&dir).unwrap();
        let load = |name: &str, text: Option<&str>| {
            let path = dir.join(name);
            if let Some(text) = text {
                fs::write(&path, text).unwrap();
            }
            let err = KeySet::load(&JwksSource::File(path.clone()), None)
                .unwrap_err()
                .to_string();
            assert!(err.contains(&path.display().to_string()), "{err}");
            err
        };
        assert!(load("missing.json", None).contains("cannot read"));
        assert!(load("bad.json", Some("{ keys: ")).contains("not valid JSON"));
        assert!(load("nokeys.json", Some(r#"{"kid":"x"}"#)).contains(r#"has no "keys" array"#));
        assert!(load("empty.json", Some(r#"{"keys":[]}"#)).contains("has no signing keys"));
        let err = load(
            "rsa.json",
            Some(r#"{"keys":[{"kty":"RSA","kid":"k1","e":"AQAB"}]}"#),
        );
        assert!(err.contains(r#"key 0 (kid "k1"): has no "n""#), "{err}");
        let err = load(
            "oct.json",
            Some(r#"{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}"#),
        );
        assert!(err.contains("key 0: symmetric"), "{err}");
        let err = load(
            "short.json",
            Some(r#"{"keys":[{"kty":"EC","crv":"P-256","x":"AQ","y":"AQ"}]}"#),
        );
        assert!(
            err.contains(r#""x" has 1 bytes where 32 are needed"#),
            "{err}"
        );
        let err = load(
            "curve.json",
            Some(r#"{"keys":[{"kty":"EC","crv":"secp256k1","x":"AQ","y":"AQ"}]}"#),
        );
        assert!(err.contains("unsupported curve"), "{err}");
        let err = load(
            "alg.json",
            Some(&json!({"keys":[{"kty":"RSA","n":RSA_N,"e":"AQAB","alg":"ES256"}]}).to_string()),
        );
        assert!(
            err.contains("\"alg\" ES256 cannot be used with this RSA key"),
            "{err}"
        );
        // Encryption keys are skipped; what remains must still sign.
        let mixed = json!({"keys":[{"kty":"RSA","use":"enc","n":"!","e":"AQAB"},{"kty":"RSA","kid":"s","n":RSA_N,"e":"AQAB"}]});
        let path = dir.join("mixed.json");
        fs::write(&path, mixed.to_string()).unwrap();
        assert_eq!(
            KeySet::load(&JwksSource::File(path), None).unwrap().len(),
            1
        );
        let inline = KeySet::load(&JwksSource::Inline(json!([])), None)
            .unwrap_err()
            .to_string();
        assert_eq!(inline, r#"the inline JWKS has no "keys" array"#);
        assert!(matches!(
            KeySet::load(&JwksSource::Local, None),
            Err(JwksError::NoLocalKey)
        ));
        assert_eq!(
            KeySet::load(&JwksSource::Local, Some(&local()))
                .unwrap()
                .len(),
            1
        );
        let _ = fs::remove_dir_all(dir);
    }

    fn sample_claims() -> Claims {
        Claims {
            claims: json!({
                "sub": "u-1", "email_verified": true, "auth_time": 1513492092, "exp": 1513495692, "iat": 951868799,
                "cognito:groups": ["admin", "editor"], "ratio": 1.5, "nested": { "a": [1, "b"] }, "none": null,
                "token_use": "id",
            })
            .as_object()
            .unwrap()
            .clone(),
            scopes: Some(strings(&["a", "b"])),
        }
    }

    #[test]
    fn claims_for_v2_are_strings() {
        assert_eq!(
            claims_for_v2(&sample_claims()),
            json!({ "jwt": {
                "claims": {
                    "sub": "u-1", "email_verified": "true", "auth_time": "1513492092", "exp": "1513495692",
                    "iat": "951868799", "cognito:groups": "[admin editor]", "ratio": "1.5",
                    "nested": r#"{"a":[1,"b"]}"#, "none": "null", "token_use": "id",
                },
                "scopes": ["a", "b"],
            }})
        );
        let bare = Claims {
            claims: Map::new(),
            scopes: None,
        };
        assert_eq!(
            claims_for_v2(&bare),
            json!({ "jwt": { "claims": {}, "scopes": null } })
        );
    }

    #[test]
    fn claims_for_v1_are_strings_with_java_dates() {
        let v1 = claims_for_v1(&sample_claims());
        let c = &v1["claims"];
        assert_eq!(c["exp"], "Sun Dec 17 07:28:12 UTC 2017");
        assert_eq!(c["iat"], "Tue Feb 29 23:59:59 UTC 2000");
        assert_eq!(c["auth_time"], "1513492092");
        assert_eq!(c["email_verified"], "true");
        assert_eq!(c["cognito:groups"], "[admin editor]");
        assert_eq!(java_date(0), "Thu Jan 01 00:00:00 UTC 1970");
        assert_eq!(java_date(4_102_444_800), "Fri Jan 01 00:00:00 UTC 2100");
    }

    #[test]
    fn bearer_prefix() {
        assert_eq!(bearer_token("Bearer abc"), "abc");
        assert_eq!(bearer_token("  BEARER   abc "), "abc");
        assert_eq!(bearer_token("abc"), "abc");
        assert_eq!(bearer_token("bearer"), "");
        assert_eq!(bearer_token("Bearerabc"), "Bearerabc");
        assert_eq!(bearer_token("Béarer abc"), "Béarer abc");
    }
}
