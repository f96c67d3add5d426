//! The small builder every integration test starts from: a config, an emulator on loopback, and clients.

use std::path::PathBuf;
use std::sync::OnceLock;

use offcloud::clock::Env;
use offcloud::config::Config;
use offcloud::lambda::LaunchOptions;
use offcloud::server::{Emulator, Options};

pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

pub fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// The `offcloud` binary. The scenario tests also use it as the parent-death shim, through `offcloud __exec`.
pub fn offcloud_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_offcloud"))
}

/// The small parent-death shim `offcloud serve` uses when it lies beside it.
pub fn shim_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_offcloud-exec"))
}

/// Checks that the workspace's binaries are built. `just test` builds them first; running cargo from inside a
/// test would contend for the build directory's lock with the `cargo test` that runs it.
pub fn build_handlers() {
    static CHECKED: OnceLock<()> = OnceLock::new();
    CHECKED.get_or_init(|| {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace().join("target"));
        for bin in [
            "epoch-time",
            "server-status",
            "dynamodb-manager",
            "port-master",
            "ec2-inventory",
        ] {
            if workspace().join("handlers").join(bin).exists() {
                let path = target.join("debug").join(bin);
                assert!(
                    path.exists(),
                    "{} is missing: run `cargo build --workspace --bins` first (`just test` does)",
                    path.display()
                );
            }
        }
    });
}

/// A TOML function entry for the fault-injection runtime.
pub fn faulty(name: &str, extra: &str) -> String {
    format!(
        "[[function]]\nname = \"{name}\"\ncommand = [\"python3\", \"{}\"]\n{extra}\n",
        fixture("faulty_runtime.py").display()
    )
}

/// A temporary folder, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let d = std::env::temp_dir().join(format!("offcloud-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Self(d)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub struct Builder {
    config: String,
    env: Env,
    token: Option<String>,
}

impl Builder {
    pub fn new(config: impl Into<String>) -> Self {
        Self {
            config: config.into(),
            env: Env::default(),
            token: None,
        }
    }

    /// The seed config, `fixtures/offcloud.toml`.
    pub fn seeds() -> Self {
        build_handlers();
        Self::new(std::fs::read_to_string(workspace().join("fixtures/offcloud.toml")).unwrap())
    }

    /// Exports traces to the OTLP collector at `url`, as `otlp_endpoint` in the config does.
    #[allow(dead_code)]
    pub fn otlp_endpoint(mut self, url: &str) -> Self {
        self.config = format!("otlp_endpoint = {url:?}\n{}", self.config);
        self
    }

    /// Asks for `token` on Offcloud's own endpoints, as `serve --host` beyond loopback does.
    #[allow(dead_code)]
    pub fn token(mut self, token: &str) -> Self {
        self.token = Some(token.to_string());
        self
    }

    #[allow(dead_code)]
    pub fn env(mut self, env: Env) -> Self {
        self.env = env;
        self
    }

    pub async fn start(self) -> Harness {
        let dir = workspace().join("fixtures");
        let config = Config::parse("test.toml", &self.config, &dir).expect("config parses");
        let opts = Options {
            launch: LaunchOptions {
                shim: Some(shim_bin()),
                endpoint_url: None,
                build_missing: false,
                release: false,
                target_dir: None,
            },
            dashboard_token: self.token,
            ..Options::default()
        };
        let emulator = Emulator::start(&config, self.env, opts)
            .await
            .expect("emulator starts");
        Harness { emulator }
    }
}

/// An emulator serving a project as `offcloud serve --config C --template T` would: missing Cargo packages are
/// built.
#[allow(dead_code)]
pub async fn start_project(
    config: &std::path::Path,
    template: Option<&std::path::Path>,
) -> (Harness, Option<offcloud::template::Summary>) {
    let (config, summary) = offcloud::template::load_project(config, template, &Default::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let opts = Options {
        launch: LaunchOptions {
            shim: Some(shim_bin()),
            endpoint_url: None,
            build_missing: true,
            release: false,
            target_dir: None,
        },
        ..Options::default()
    };
    let emulator = Emulator::start(&config, Env::default(), opts)
        .await
        .expect("emulator starts");
    (Harness { emulator }, summary)
}

pub struct Harness {
    pub emulator: Emulator,
}

impl Harness {
    #[allow(dead_code)]
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.emulator.endpoint_url())
    }

    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(self.emulator.endpoint_url())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_lambda::config::Credentials::new(
                "AKIDTEST", "secret", None, None, "test",
            ))
            .load()
            .await
    }

    pub async fn lambda(&self) -> aws_sdk_lambda::Client {
        aws_sdk_lambda::Client::new(&self.sdk_config().await)
    }

    /// A synchronous invoke of `function` with `payload`, through the SDK.
    #[allow(dead_code)]
    pub async fn invoke(
        &self,
        function: &str,
        payload: impl Into<Vec<u8>>,
    ) -> aws_sdk_lambda::operation::invoke::InvokeOutput {
        self.invoke_with(function, payload, None).await
    }

    /// [`Harness::invoke`] asking for the log tail (`X-Amz-Log-Type: Tail`).
    #[allow(dead_code)]
    pub async fn invoke_tail(
        &self,
        function: &str,
        payload: impl Into<Vec<u8>>,
    ) -> aws_sdk_lambda::operation::invoke::InvokeOutput {
        let tail = aws_sdk_lambda::types::LogType::Tail;
        self.invoke_with(function, payload, Some(tail)).await
    }

    async fn invoke_with(
        &self,
        function: &str,
        payload: impl Into<Vec<u8>>,
        log_type: Option<aws_sdk_lambda::types::LogType>,
    ) -> aws_sdk_lambda::operation::invoke::InvokeOutput {
        self.lambda()
            .await
            .invoke()
            .function_name(function)
            .set_log_type(log_type)
            .payload(aws_sdk_lambda::primitives::Blob::new(payload))
            .send()
            .await
            .unwrap()
    }

    #[allow(dead_code)]
    pub async fn rdsdata(&self) -> aws_sdk_rdsdata::Client {
        aws_sdk_rdsdata::Client::new(&self.sdk_config().await)
    }

    pub async fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk_config().await)
    }
}

/// A raw HTTP/1.1 exchange on a fresh connection, for checking exact status codes and headers.
pub async fn raw(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete response");
    let head = String::from_utf8_lossy(&buf[..split]).to_string();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers, buf[split + 4..].to_vec())
}

pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A response as the raw client returns it: status, headers and body.
pub type Resp = (u16, Vec<(String, String)>, Vec<u8>);

/// One request to the harness's main port (the AWS endpoint and Offcloud's own `/_offcloud/` paths).
#[allow(dead_code)]
pub async fn main_call(
    h: &Harness,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Resp {
    raw(
        &h.emulator.main_addr.to_string(),
        method,
        path,
        headers,
        body,
    )
    .await
}

/// One request to the harness's API Gateway port.
pub async fn api_call(
    h: &Harness,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Resp {
    raw(
        &h.emulator.api_addr.expect("an API port").to_string(),
        method,
        path,
        headers,
        body,
    )
    .await
}

/// A response's body as JSON; the panic shows the body when it is not.
pub fn json_of(r: &Resp) -> serde_json::Value {
    serde_json::from_slice(&r.2)
        .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&r.2)))
}

/// Starts a synchronous invocation of `function` that sleeps `ms`, and waits until it holds an instance, however
/// loaded the machine is. Returns the invocation and the function.
#[allow(dead_code)]
pub async fn occupy(
    h: &Harness,
    function: &str,
    ms: u64,
) -> (
    tokio::task::JoinHandle<
        Result<
            aws_sdk_lambda::operation::invoke::InvokeOutput,
            aws_sdk_lambda::error::SdkError<aws_sdk_lambda::operation::invoke::InvokeError>,
        >,
    >,
    std::sync::Arc<offcloud::lambda::Function>,
) {
    let client = h.lambda().await;
    let name = function.to_string();
    let slow = tokio::spawn(async move {
        client
            .invoke()
            .function_name(name)
            .payload(aws_sdk_lambda::primitives::Blob::new(format!(
                r#"{{"action":"sleep","ms":{ms}}}"#
            )))
            .send()
            .await
    });
    let f = h.emulator.lambda.resolve(function, None).unwrap().clone();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while f.invocations() == 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    (slow, f)
}
