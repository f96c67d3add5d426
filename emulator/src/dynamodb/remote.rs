//! DynamoDB on another engine: the requests for a table, or the whole service, configured with `dynamodb_endpoint`
//! are forwarded to that DynamoDB-compatible endpoint (DynamoDB Local, ScyllaDB Alternator, dynoxide, another
//! Offcloud, or DynamoDB itself), signed again with SigV4.
//!
//! A request goes where the tables it names go (`TableName`, `RequestItems`, `TransactItems`, and the table of a
//! `ResourceArn` or `StreamArn`): a table's own endpoint, else the service's, else the embedded engine. A request
//! naming no table (ListTables, PartiQL statements, shard iterators) goes to the service's endpoint, or stays
//! embedded. A request naming tables on two engines, such as a BatchWriteItem across an embedded and a forwarded
//! table, is refused with a `ValidationException`: it cannot be split without losing its atomicity.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials;
use bytes::Bytes;
use serde_json::{Value, json};

use super::{Answer, DynamoError, Operation, wire};
use crate::config::Config;
use crate::net::{Client, WireResponse};

/// How long connecting to an endpoint may take. A local engine accepts in milliseconds, and one that is down on
/// loopback refuses at once; an address that never answers must not hold the caller for the system's minutes.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a whole forwarded request may take, credentials included: well over DynamoDB's slowest calls (a 1 MB
/// Scan page, a 100-item transaction), so that an endpoint that accepts but never answers fails instead of hanging.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long credentials without an expiry, or the lack of any, are kept before the chain is asked again.
const CREDENTIALS_TTL: Duration = Duration::from_secs(60);
/// How long before their expiry credentials are renewed.
const EXPIRY_MARGIN: Duration = Duration::from_secs(300);
/// The credentials a loopback engine is signed with when the chain has none: DynamoDB Local, dynoxide and Offcloud
/// accept any.
const DUMMY: &str = "offcloud";

/// Why `endpoint` cannot be a `dynamodb_endpoint`, if it cannot.
pub fn check_endpoint(endpoint: &str) -> Result<(), String> {
    let uri: http::Uri = endpoint
        .parse()
        .map_err(|e| format!("{endpoint:?} is not a URL: {e}"))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() {
        return Err(format!(
            "{endpoint:?} is not an http:// or https:// URL, such as http://127.0.0.1:8000"
        ));
    }
    if uri.query().is_some() {
        return Err(format!(
            "{endpoint:?} has a query; an endpoint is a bare URL, such as https://dynamodb.eu-west-1.amazonaws.com"
        ));
    }
    Ok(())
}

/// Which endpoint serves each table and the table-less requests.
#[derive(Default)]
pub struct Routes {
    service: Option<Arc<Remote>>,
    tables: HashMap<String, Arc<Remote>>,
}

impl Routes {
    /// The routes a config declares. Its endpoints were checked when it was parsed.
    pub fn new(config: &Config) -> Self {
        let tables = config
            .tables
            .iter()
            .filter(|t| t.dynamodb_endpoint.is_some());
        if config.dynamodb_endpoint.is_none() && tables.count() == 0 {
            return Self::default();
        }
        let client = Client::with_connect_timeout(Some(CONNECT_TIMEOUT));
        let mut remotes: HashMap<String, Arc<Remote>> = HashMap::new();
        let mut remote = |url: &str| {
            remotes
                .entry(url.to_string())
                .or_insert_with(|| Arc::new(Remote::new(url, &config.region, client.clone())))
                .clone()
        };
        let service = config
            .dynamodb_endpoint
            .as_ref()
            .map(|u| remote(u.get_ref()));
        let tables = config
            .tables
            .iter()
            .filter_map(|t| {
                let url = t.dynamodb_endpoint.as_ref()?;
                Some((t.name.get_ref().clone(), remote(url.get_ref())))
            })
            .collect();
        Self { service, tables }
    }

    /// Whether every request stays on the embedded engine.
    pub fn is_empty(&self) -> bool {
        self.service.is_none() && self.tables.is_empty()
    }

    /// The endpoint serving a table, or `None` for the embedded engine.
    pub fn of_table(&self, table: &str) -> Option<&Arc<Remote>> {
        self.tables.get(table).or(self.service.as_ref())
    }

    /// The endpoint serving a request's body, or `None` for the embedded engine.
    pub fn route(&self, body: &[u8]) -> Result<Option<&Arc<Remote>>, DynamoError> {
        let mut tables = DynamoError::tables_of(body);
        tables.extend(arn_table(body));
        let Some((first, rest)) = tables.split_first() else {
            return Ok(self.service.as_ref());
        };
        let chosen = self.of_table(first);
        let name = |r: Option<&Arc<Remote>>| {
            r.map_or("the embedded engine".to_string(), |r| r.endpoint.clone())
        };
        for table in rest {
            let other = self.of_table(table);
            if other.map(|r| &r.endpoint) != chosen.map(|r| &r.endpoint) {
                return Err(validation(format!(
                    "Offcloud cannot send one request to two engines: table {first} is served by {} and table \
                     {table} by {}; send one request per engine",
                    name(chosen),
                    name(other)
                )));
            }
        }
        Ok(chosen)
    }
}

/// The table of a `ResourceArn` (tags) or `StreamArn` (streams): `arn:aws:dynamodb:REGION:ACCOUNT:table/NAME[/...]`.
fn arn_table(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Arns {
        #[serde(rename = "ResourceArn")]
        resource: Option<String>,
        #[serde(rename = "StreamArn")]
        stream: Option<String>,
    }
    let arns: Arns = serde_json::from_slice(body).ok()?;
    let arn = arns.resource.or(arns.stream)?;
    let (_, rest) = arn.split_once(":table/")?;
    rest.split('/')
        .next()
        .filter(|t| !t.is_empty())
        .map(str::to_string)
}

fn validation(message: String) -> DynamoError {
    DynamoError::Service {
        status: 400,
        code: "ValidationException".into(),
        body:
            json!({"__type": "com.amazon.coral.validate#ValidationException", "message": message})
                .to_string(),
        message,
    }
}

/// Credentials from the chain, or the knowledge that it has none, until `until`.
struct Cached {
    credentials: Option<Credentials>,
    until: Instant,
}

/// One DynamoDB-compatible endpoint.
pub struct Remote {
    pub endpoint: String,
    /// The region requests are signed for: the one in a DynamoDB host name, else the config's.
    region: String,
    loopback: bool,
    client: Client,
    credentials: tokio::sync::Mutex<Option<Cached>>,
}

impl Remote {
    fn new(endpoint: &str, region: &str, client: Client) -> Self {
        let host = endpoint
            .parse::<http::Uri>()
            .ok()
            .and_then(|u| u.host().map(str::to_string))
            .unwrap_or_default();
        let region = host
            .strip_prefix("dynamodb.")
            .and_then(|h| h.split_once(".amazonaws.com"))
            .map_or(region, |(r, _)| r)
            .to_string();
        let loopback = host.eq_ignore_ascii_case("localhost")
            || host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        Self {
            endpoint: endpoint.to_string(),
            region,
            loopback,
            client,
            credentials: tokio::sync::Mutex::new(None),
        }
    }

    /// Forwards one operation, never for longer than [`REQUEST_TIMEOUT`].
    pub async fn call(&self, op: Operation, body: Bytes) -> Answer {
        let (result, request_id) =
            match tokio::time::timeout(REQUEST_TIMEOUT, self.send(op, body)).await {
                Ok(Ok(resp)) => {
                    let request_id = resp
                        .headers
                        .get("x-amzn-requestid")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string);
                    (self.read(resp), request_id)
                }
                Ok(Err(e)) => (Err(e), None),
                Err(_) => (
                    Err(DynamoError::Internal(format!(
                        "the DynamoDB endpoint {} did not answer within {} seconds",
                        self.endpoint,
                        REQUEST_TIMEOUT.as_secs()
                    ))),
                    None,
                ),
            };
        Answer {
            result,
            endpoint: Some(self.endpoint.clone()),
            request_id,
        }
    }

    async fn send(&self, op: Operation, body: Bytes) -> Result<WireResponse, DynamoError> {
        let credentials = match self.credentials().await {
            Some(c) => c,
            None if self.loopback => Credentials::new(DUMMY, DUMMY, None, None, "offcloud"),
            None => return Err(self.missing_credentials()),
        };
        let mut headers = vec![
            ("content-type".to_string(), wire::AMZ_JSON.to_string()),
            ("x-amz-target".to_string(), wire::target(op)),
        ];
        let signed = self.sign(credentials, &headers, &body).map_err(|e| {
            DynamoError::Internal(format!("cannot sign for {}: {e}", self.endpoint))
        })?;
        headers.extend(signed);
        self.client
            .send("POST", &self.endpoint, &headers, body)
            .await
            .map_err(|e| {
                DynamoError::Internal(format!(
                    "the DynamoDB endpoint {} cannot be reached: {e}",
                    self.endpoint
                ))
            })
    }

    /// The SigV4 headers of a request: `authorization`, `x-amz-date` and, with temporary credentials,
    /// `x-amz-security-token`.
    fn sign(
        &self,
        credentials: Credentials,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<Vec<(String, String)>, Box<dyn std::error::Error + Send + Sync>> {
        use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
        let identity = credentials.into();
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("dynamodb")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()?
            .into();
        let request = SignableRequest::new(
            "POST",
            &self.endpoint,
            headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            SignableBody::Bytes(body),
        )?;
        let (instructions, _) = sign(request, &params)?.into_parts();
        Ok(instructions
            .headers()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect())
    }

    /// The endpoint's answer: its body as it is, and its errors as DynamoDB errors with that same body.
    fn read(&self, resp: WireResponse) -> Result<String, DynamoError> {
        let status = resp.status.as_u16();
        let text = String::from_utf8(resp.body.to_vec()).map_err(|_| {
            DynamoError::Internal(format!(
                "the DynamoDB endpoint {} answered {status} with a body that is not UTF-8",
                self.endpoint
            ))
        })?;
        if resp.status.is_success() {
            return Ok(text);
        }
        let error: Value = serde_json::from_str(&text).unwrap_or_default();
        let Some(kind) = error.get("__type").and_then(Value::as_str) else {
            let mut start: String = text.chars().take(200).collect();
            if start.len() < text.len() {
                start.push('…');
            }
            return Err(DynamoError::Internal(format!(
                "the DynamoDB endpoint {} answered {status}, not as DynamoDB does: {start}",
                self.endpoint
            )));
        };
        Err(DynamoError::Service {
            status,
            code: kind.rsplit('#').next().unwrap_or(kind).to_string(),
            message: error
                .get("message")
                .or_else(|| error.get("Message"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            body: text,
        })
    }

    /// What DynamoDB answers an unsigned request (dynoxide `auth_material.rs`, whose messages mirror DynamoDB's),
    /// saying why Offcloud sent none.
    fn missing_credentials(&self) -> DynamoError {
        let message = format!(
            "Request is missing Authentication Token: Offcloud found no AWS credentials (environment, profile, SSO, \
             container or instance role) to sign its request to {}",
            self.endpoint
        );
        DynamoError::Service {
            status: 400,
            code: "MissingAuthenticationTokenException".into(),
            body: json!({
                "__type": "com.amazon.coral.service#MissingAuthenticationTokenException",
                "message": message,
            })
            .to_string(),
            message,
        }
    }

    /// Credentials from the AWS chain, kept until shortly before they expire. A loopback engine asks only the
    /// environment and the profile files: a local engine never wants an instance's role, and the instance metadata
    /// service would make each start wait for its timeouts off EC2.
    async fn credentials(&self) -> Option<Credentials> {
        let mut cached = self.credentials.lock().await;
        if let Some(c) = cached.as_ref().filter(|c| c.until > Instant::now()) {
            return c.credentials.clone();
        }
        let (loopback, region) = (self.loopback, self.region.clone());
        // The chain reads the profile files with blocking calls (aws-sdk-rust#867), so it runs on a blocking
        // thread, driving its network calls (SSO, STS, instance metadata) on the runtime from there.
        let runtime = tokio::runtime::Handle::current();
        let found = tokio::task::spawn_blocking(move || {
            runtime.block_on(async move {
                if loopback {
                    aws_config::meta::credentials::CredentialsProviderChain::first_try(
                        "Environment",
                        aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
                    )
                    .or_else(
                        "Profile",
                        aws_config::profile::ProfileFileCredentialsProvider::builder().build(),
                    )
                    .provide_credentials()
                    .await
                } else {
                    aws_config::default_provider::credentials::DefaultCredentialsChain::builder()
                        .region(aws_config::Region::new(region))
                        .build()
                        .await
                        .provide_credentials()
                        .await
                }
            })
        })
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r.map_err(|e| e.to_string()));
        let credentials = match found {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::debug!("no AWS credentials for {}: {e}", self.endpoint);
                None
            }
        };
        let keep =
            credentials
                .as_ref()
                .and_then(Credentials::expiry)
                .map_or(CREDENTIALS_TTL, |at| {
                    at.duration_since(SystemTime::now())
                        .unwrap_or_default()
                        .saturating_sub(EXPIRY_MARGIN)
                });
        *cached = Some(Cached {
            credentials: credentials.clone(),
            until: Instant::now() + keep,
        });
        credentials
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes(text: &str) -> Routes {
        Routes::new(
            &Config::parse("test.toml", text, std::path::Path::new("/nonexistent")).unwrap(),
        )
    }

    const TABLES: &str = "[[table]]\nname = \"here\"\nhash_key = { name = \"id\", type = \"S\" }\n\
        [[table]]\nname = \"there\"\nhash_key = { name = \"id\", type = \"S\" }\n\
        dynamodb_endpoint = \"http://127.0.0.1:8000\"\n";

    fn endpoint(r: Result<Option<&Arc<Remote>>, DynamoError>) -> Option<String> {
        r.unwrap().map(|r| r.endpoint.clone())
    }

    #[test]
    fn requests_go_where_their_tables_go() {
        let r = routes(TABLES);
        assert_eq!(endpoint(r.route(br#"{"TableName": "here"}"#)), None);
        assert_eq!(
            endpoint(r.route(br#"{"TableName": "there"}"#)).as_deref(),
            Some("http://127.0.0.1:8000")
        );
        assert_eq!(endpoint(r.route(br#"{"Limit": 5}"#)), None);
        let arn = br#"{"ResourceArn": "arn:aws:dynamodb:us-east-1:123456789012:table/there"}"#;
        assert!(endpoint(r.route(arn)).is_some());
        let Err(e) = r.route(br#"{"RequestItems": {"here": [], "there": []}}"#) else {
            panic!("a request across two engines is refused");
        };
        assert!(
            matches!(&e, DynamoError::Service { code, message, .. }
                if code == "ValidationException" && message.contains("http://127.0.0.1:8000")),
            "{e}"
        );
    }

    #[test]
    fn the_service_endpoint_takes_every_other_request() {
        let r = routes(&format!(
            "dynamodb_endpoint = \"http://[::1]:9000\"\n{TABLES}"
        ));
        assert_eq!(
            endpoint(r.route(br#"{"TableName": "here"}"#)).as_deref(),
            Some("http://[::1]:9000")
        );
        assert_eq!(
            endpoint(r.route(b"{}")).as_deref(),
            Some("http://[::1]:9000")
        );
        assert!(r.route(br#"{"TableName": "there"}"#).is_ok());
        assert!(routes("").is_empty());
    }

    #[test]
    fn requests_are_signed_for_dynamodb_in_the_endpoint_s_region() {
        let r = Remote::new(
            "https://dynamodb.eu-west-1.amazonaws.com",
            "us-east-1",
            Client::new(),
        );
        let headers = [
            ("content-type".to_string(), wire::AMZ_JSON.to_string()),
            (
                "x-amz-target".to_string(),
                wire::target(Operation::ListTables),
            ),
        ];
        let credentials = Credentials::new("AKID", "secret", Some("token".into()), None, "test");
        let signed = r.sign(credentials, &headers, b"{}").unwrap();
        let get = |name: &str| {
            signed
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let auth = get("authorization").unwrap();
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=AKID/"),
            "{auth}"
        );
        assert!(auth.contains("/eu-west-1/dynamodb/aws4_request"), "{auth}");
        assert!(auth.contains("x-amz-target"), "{auth}");
        assert!(get("x-amz-date").is_some());
        assert_eq!(get("x-amz-security-token"), Some("token"));
    }

    #[test]
    fn the_endpoint_s_errors_keep_its_body_unless_it_is_not_dynamodb_s() {
        let r = Remote::new("http://127.0.0.1:8000", "us-east-1", Client::new());
        let body = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"gone"}"#;
        let e = r
            .read(WireResponse::new(400).body(body.to_string()))
            .unwrap_err();
        assert!(
            matches!(&e, DynamoError::Service { status: 400, code, message, body: b }
                if code == "ResourceNotFoundException" && message == "gone" && b == body),
            "{e}"
        );
        let e = r
            .read(WireResponse::new(502).body("<html>Bad Gateway</html>"))
            .unwrap_err();
        assert!(
            matches!(&e, DynamoError::Internal(m) if m.contains("http://127.0.0.1:8000 answered 502")),
            "{e}"
        );
        assert_eq!(r.read(WireResponse::new(200).body("{}")).unwrap(), "{}");
    }

    #[test]
    fn loopback_and_the_signing_region_come_from_the_host() {
        let remote = |url: &str| Remote::new(url, "us-east-1", Client::new());
        assert!(remote("http://localhost:8000").loopback);
        assert!(remote("http://[::1]:8000").loopback);
        assert!(remote("http://127.0.0.2:8000").loopback);
        let real = remote("https://dynamodb.eu-west-1.amazonaws.com");
        assert!(!real.loopback);
        assert_eq!(real.region, "eu-west-1");
        assert_eq!(remote("http://scylla:8000").region, "us-east-1");
    }
}
