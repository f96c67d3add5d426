//! A port of the Port Master seed: hands out host ports to ECS services from a fixed range, recording each
//! allocation in DynamoDB.
//!
//! The event is `{"service": "sample-ecs-service", "code": "SMPLESRV"}`; the answer is the port, a JSON number.
//!
//! Configuration comes from `config.json` in the function's directory (`tableName`, `rangeMin`, `rangeMax`, as in
//! the seed), and the environment overrides it: `PORT_MASTER_TABLE`, `PORT_RANGE_MIN`, `PORT_RANGE_MAX`.
//!
//! # The table
//!
//! Its hash key is `id` (S). Each allocation is two items, written together by one `TransactWriteItems` whose two
//! puts are both conditional on `attribute_not_exists(id)`:
//!
//! - `port#8000`, with `port`, `service` and `code`: the port is taken;
//! - `service#NAME`, with `port` and `code`: the service has a port.
//!
//! Allocation tries the ports from the lowest. A cancellation whose port put failed its condition moves on to the
//! next port; one whose service put failed means another invocation gave this service a port first, which is then
//! returned. Nothing is ever read and then written without a condition, so concurrent invocations never share a
//! port.
//!
//! # A second request for the same service
//!
//! It returns the port the service already has, whatever `code` it sends: allocation is idempotent, so a
//! deployment that retries cannot leak ports.
//!
//! # Errors
//!
//! `errorMessage` starts with the class, which API Gateway's integration responses match: `ParameterError: ...`
//! (400), `PortRangeError: ...` (506), `DynamoDbError: ...` (500).

use std::fmt;
use std::path::{Path, PathBuf};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use lambda_runtime::{Diagnostic, Error, LambdaEvent, run, service_fn};
use serde_json::Value;

/// How many times one port is retried when DynamoDB reports a conflicting transaction on it.
const CONFLICT_RETRIES: u32 = 10;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Config {
    table: String,
    min: u16,
    max: u16,
}

impl Config {
    /// Reads `config.json` from the first of `dirs` that has one, then applies the environment.
    fn load(dirs: &[PathBuf], env: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let file = dirs
            .iter()
            .map(|d| d.join("config.json"))
            .find(|p| p.is_file());
        let json: Value = match &file {
            Some(p) => read_json(p)?,
            None => Value::Null,
        };
        let table = env("PORT_MASTER_TABLE")
            .or_else(|| json["tableName"].as_str().map(str::to_string))
            .ok_or("no table name: set tableName in config.json or PORT_MASTER_TABLE")?;
        let port = |var: &str, key: &str| -> Result<u16, String> {
            match env(var) {
                Some(v) => v
                    .trim()
                    .parse()
                    .map_err(|_| format!("{var}={v:?} is not a port number")),
                None => json[key]
                    .as_u64()
                    .and_then(|n| u16::try_from(n).ok())
                    .ok_or_else(|| format!("no {key}: set it in config.json or {var}")),
            }
        };
        let (min, max) = (
            port("PORT_RANGE_MIN", "rangeMin")?,
            port("PORT_RANGE_MAX", "rangeMax")?,
        );
        if min > max {
            return Err(format!("the port range {min}-{max} is empty"));
        }
        Ok(Self { table, min, max })
    }
}

fn read_json(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", path.display()))
}

/// The three error classes of the seed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PortError {
    Parameter(String),
    PortRange(String),
    DynamoDb(String),
}

impl PortError {
    fn class(&self) -> &'static str {
        match self {
            Self::Parameter(_) => "ParameterError",
            Self::PortRange(_) => "PortRangeError",
            Self::DynamoDb(_) => "DynamoDbError",
        }
    }
}

impl fmt::Display for PortError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (Self::Parameter(m) | Self::PortRange(m) | Self::DynamoDb(m)) = self;
        write!(f, "{}: {m}", self.class())
    }
}

impl std::error::Error for PortError {}

impl From<PortError> for Diagnostic {
    fn from(e: PortError) -> Self {
        Diagnostic {
            error_type: e.class().to_string(),
            error_message: e.to_string(),
        }
    }
}

fn dynamo_error<E>(e: aws_sdk_dynamodb::error::SdkError<E>) -> PortError
where
    E: std::error::Error + Send + Sync + 'static,
{
    PortError::DynamoDb(DisplayErrorContext(e).to_string())
}

/// A validated request.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Request {
    service: String,
    code: String,
}

/// Checks the event: `service` is a non-empty string of at most 255 printable characters (an ECS service name
/// is at most 255), and `code` a short all-capitals identifier, `^[A-Z][A-Z0-9]{0,15}$`.
fn parse(event: &Value) -> Result<Request, PortError> {
    let service = match event.get("service") {
        None | Some(Value::Null) => {
            return Err(PortError::Parameter("service is required".into()));
        }
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        Some(_) => {
            return Err(PortError::Parameter(
                "service must be a non-empty string".into(),
            ));
        }
    };
    if service.chars().count() > 255 || service.chars().any(char::is_control) {
        return Err(PortError::Parameter(
            "service must be at most 255 printable characters".into(),
        ));
    }
    let code = match event.get("code") {
        None | Some(Value::Null) => return Err(PortError::Parameter("code is required".into())),
        Some(Value::String(c)) => c.clone(),
        Some(_) => return Err(PortError::Parameter("code must be a string".into())),
    };
    let mut chars = code.chars();
    let valid = code.len() <= 16
        && chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if !valid {
        return Err(PortError::Parameter(format!(
            "code {code:?} must be a short all-capitals identifier: a capital letter, then up to 15 capitals or digits"
        )));
    }
    Ok(Request { service, code })
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// What one allocation attempt on one port came to.
enum Attempt {
    Allocated,
    PortTaken,
    ServiceHasPort,
    Conflict,
}

struct PortMaster {
    client: Client,
    config: Config,
}

impl PortMaster {
    async fn existing_port(&self, service: &str) -> Result<Option<u16>, PortError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.config.table)
            .key("id", s(format!("service#{service}")))
            .consistent_read(true)
            .send()
            .await
            .map_err(dynamo_error)?;
        let Some(item) = out.item() else {
            return Ok(None);
        };
        match item.get("port").map(AttributeValue::as_n) {
            Some(Ok(n)) => n.parse().map(Some).map_err(|_| {
                PortError::DynamoDb(format!("service#{service} has a bad port {n:?}"))
            }),
            _ => Err(PortError::DynamoDb(format!(
                "service#{service} has no port"
            ))),
        }
    }

    async fn try_port(&self, req: &Request, port: u16) -> Result<Attempt, PortError> {
        let put = |id: String, with_service: bool| {
            let mut p = Put::builder()
                .table_name(&self.config.table)
                .item("id", s(id))
                .item("port", AttributeValue::N(port.to_string()))
                .item("code", s(&req.code))
                .condition_expression("attribute_not_exists(id)");
            if with_service {
                p = p.item("service", s(&req.service));
            }
            p.build()
                .map(|p| TransactWriteItem::builder().put(p).build())
                .map_err(|e| PortError::DynamoDb(e.to_string()))
        };
        let result = self
            .client
            .transact_write_items()
            .transact_items(put(format!("port#{port}"), true)?)
            .transact_items(put(format!("service#{}", req.service), false)?)
            .send()
            .await;
        let err = match result {
            Ok(_) => return Ok(Attempt::Allocated),
            Err(e) => e,
        };
        if let Some(TransactWriteItemsError::TransactionCanceledException(t)) =
            err.as_service_error()
        {
            let code = |i: usize| {
                t.cancellation_reasons()
                    .get(i)
                    .and_then(|r| r.code())
                    .unwrap_or("None")
            };
            return Ok(match (code(0), code(1)) {
                (_, "ConditionalCheckFailed") => Attempt::ServiceHasPort,
                ("ConditionalCheckFailed", _) => Attempt::PortTaken,
                ("TransactionConflict", _) | (_, "TransactionConflict") => Attempt::Conflict,
                _ => return Err(dynamo_error(err)),
            });
        }
        if err.code() == Some("TransactionConflictException") {
            return Ok(Attempt::Conflict);
        }
        Err(dynamo_error(err))
    }

    async fn allocate(&self, req: &Request) -> Result<u16, PortError> {
        if let Some(port) = self.existing_port(&req.service).await? {
            return Ok(port);
        }
        let Config { min, max, .. } = self.config;
        for port in min..=max {
            let mut conflicts = 0;
            loop {
                match self.try_port(req, port).await? {
                    Attempt::Allocated => return Ok(port),
                    Attempt::PortTaken => break,
                    Attempt::ServiceHasPort => {
                        return self.existing_port(&req.service).await?.ok_or_else(|| {
                            PortError::DynamoDb(format!(
                                "service#{} was claimed but cannot be read",
                                req.service
                            ))
                        });
                    }
                    Attempt::Conflict if conflicts < CONFLICT_RETRIES => {
                        conflicts += 1;
                        tokio::time::sleep(std::time::Duration::from_millis(5 << conflicts.min(5)))
                            .await;
                    }
                    Attempt::Conflict => {
                        return Err(PortError::DynamoDb(format!(
                            "port {port} stayed in conflicting transactions"
                        )));
                    }
                }
            }
        }
        Err(PortError::PortRange(format!(
            "no free port in the range {min}-{max}"
        )))
    }
}

async fn handler(pm: &PortMaster, event: LambdaEvent<Value>) -> Result<u16, PortError> {
    let req = parse(&event.payload)?;
    pm.allocate(&req).await
}

// A Lambda instance handles one event at a time, so one thread serves it; a multi-threaded runtime would only
// hand each request and response between threads.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let mut dirs = Vec::new();
    if let Ok(root) = std::env::var("LAMBDA_TASK_ROOT") {
        dirs.push(PathBuf::from(root));
    }
    if let Ok(cwd) = std::env::current_dir() {
        dirs.push(cwd);
    }
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        dirs.push(dir);
    }
    let config = Config::load(&dirs, |k| std::env::var(k).ok())?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let pm = PortMaster {
        client: Client::new(&sdk),
        config,
    };
    let pm = &pm;
    run(service_fn(move |event| handler(pm, event))).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_seed_example_is_valid() {
        let r = parse(&json!({"service": "sample-ecs-service", "code": "SMPLESRV"})).unwrap();
        assert_eq!(r.service, "sample-ecs-service");
        assert_eq!(r.code, "SMPLESRV");
    }

    #[test]
    fn bad_events_are_parameter_errors() {
        for event in [
            json!({"code": "A"}),
            json!({"service": "", "code": "A"}),
            json!({"service": 5, "code": "A"}),
            json!({"service": "s"}),
            json!({"service": "s", "code": "smplesrv"}),
            json!({"service": "s", "code": "1ABC"}),
            json!({"service": "s", "code": "ABCDEFGHIJKLMNOPQ"}),
            json!({"service": "s", "code": "AB-C"}),
        ] {
            let e = parse(&event).unwrap_err();
            assert!(
                e.to_string().starts_with("ParameterError: "),
                "{event}: {e}"
            );
        }
        assert!(parse(&json!({"service": "s", "code": "ABCDEFGHIJKLMNOP"})).is_ok());
    }

    #[test]
    fn environment_overrides_the_config_file() {
        let dir = std::env::temp_dir().join(format!("port-master-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("config.json"),
            r#"{"tableName": "ports", "rangeMin": 9000, "rangeMax": 9100}"#,
        )
        .unwrap();
        let from_file = Config::load(std::slice::from_ref(&dir), |_| None).unwrap();
        assert_eq!(
            from_file,
            Config {
                table: "ports".into(),
                min: 9000,
                max: 9100
            }
        );
        let env = |k: &str| (k == "PORT_RANGE_MAX").then(|| "9001".to_string());
        let over = Config::load(std::slice::from_ref(&dir), env).unwrap();
        assert_eq!((over.min, over.max), (9000, 9001));
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(Config::load(&[], |_| None).is_err());
    }

    #[test]
    fn messages_start_with_the_class() {
        assert_eq!(
            PortError::PortRange("full".into()).to_string(),
            "PortRangeError: full"
        );
        let d = Diagnostic::from(PortError::DynamoDb("x".into()));
        assert_eq!(d.error_type, "DynamoDbError");
        assert_eq!(d.error_message, "DynamoDbError: x");
    }
}
