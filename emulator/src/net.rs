//! HTTP plumbing shared by every listener: accepting with `TCP_NODELAY`, reading bodies with a limit, and the
//! plain request and response types that the wire modules decode from and encode to.
//!
//! This is the only module that knows about hyper. Everything above it sees [`WireRequest`] and [`WireResponse`].

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

mod header_case;

/// A request with its whole body read.
#[derive(Debug, Clone)]
pub struct WireRequest {
    pub method: Method,
    /// The percent-encoded path, without the query.
    pub path: String,
    /// The raw query string, without the `?`.
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub peer: SocketAddr,
    /// The body was larger than the listener's limit and was not read.
    pub too_large: bool,
    /// The header names as the client wrote them, where the listener records them (API Gateway's).
    pub header_names: Vec<String>,
}

impl WireRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// A header's name as the client wrote it, or lower-case when that is not known.
    pub fn original_name<'a>(&'a self, name: &'a str) -> &'a str {
        self.header_names
            .iter()
            .find(|n| n.eq_ignore_ascii_case(name))
            .map_or(name, String::as_str)
    }
}

/// A response ready to be written.
#[derive(Debug, Clone)]
pub struct WireResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl WireResponse {
    pub fn new(status: u16) -> Self {
        Self {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            headers: HeaderMap::new(),
            body: Bytes::new(),
        }
    }

    pub fn json(status: u16, value: &serde_json::Value) -> Self {
        Self::new(status)
            .header("content-type", "application/json")
            .body(serde_json::to_vec(value).unwrap_or_default())
    }

    /// Adds a header; a value that is not a valid header value is dropped rather than failing the response.
    pub fn header(mut self, name: &'static str, value: impl AsRef<str>) -> Self {
        if let Ok(v) = HeaderValue::from_str(value.as_ref()) {
            self.headers.append(name, v);
        }
        self
    }

    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }
}

/// What a listener does with each request.
pub trait Handler: Send + Sync + 'static {
    fn handle(&self, req: WireRequest) -> impl Future<Output = WireResponse> + Send;

    /// Whether a request's work goes on when its client disconnects. AWS runs an invocation to its end whoever
    /// waits for it, so the services do; the Runtime API does not, since a `next` call whose client is gone must
    /// not take an invocation that no one will run.
    fn outlives_client(&self) -> bool {
        true
    }

    /// The answer to a request whose handler panicked, in the service's error shape.
    fn internal_error(&self) -> WireResponse {
        WireResponse::json(
            500,
            &serde_json::json!({"message": "Internal server error"}),
        )
        .header("x-amzn-errortype", "InternalFailure")
    }
}

/// A request's work in progress. If the connection drops it before the work is done, the rest goes on in a task of
/// its own where the handler's work outlives its client, and is dropped otherwise.
struct Work {
    future: Option<Pin<Box<dyn Future<Output = WireResponse> + Send>>>,
    detach: bool,
}

impl Drop for Work {
    fn drop(&mut self) {
        if let (true, Some(future)) = (self.detach, self.future.take())
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(future);
        }
    }
}

/// Runs one request on its connection's own task (no spawn and no hand-off per request), so that a panic becomes
/// the service's 500 (logged with the request line) instead of a dropped connection, and, where the handler says
/// so, the work goes on when the client leaves.
async fn run<H: Handler>(handler: Arc<H>, req: WireRequest) -> WireResponse {
    let (method, path) = (req.method.clone(), req.path.clone());
    let detach = handler.outlives_client();
    let h = handler.clone();
    let mut work = Work {
        future: Some(Box::pin(async move { h.handle(req).await })),
        detach,
    };
    let result = std::future::poll_fn(|cx| {
        let Some(future) = work.future.as_mut() else {
            return Poll::Ready(None);
        };
        let polled = std::panic::catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx)));
        match polled {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(resp)) => {
                work.future = None;
                Poll::Ready(Some(resp))
            }
            Err(_) => {
                work.future = None;
                Poll::Ready(None)
            }
        }
    })
    .await;
    match result {
        Some(resp) => resp,
        None => {
            tracing::error!("{method} {path}: the request's handler panicked");
            handler.internal_error()
        }
    }
}

/// Binds a listener. Port 0 picks a free port.
pub async fn bind(host: &str, port: u16) -> std::io::Result<TcpListener> {
    TcpListener::bind((host, port)).await
}

/// Accepts one connection, with Nagle's algorithm off: a response written in pieces must never wait for a
/// delayed ACK (about 40 ms on Linux).
pub async fn accept(listener: &TcpListener) -> std::io::Result<(TcpStream, SocketAddr)> {
    let (stream, peer) = listener.accept().await?;
    stream.set_nodelay(true)?;
    Ok((stream, peer))
}

/// Serves HTTP/1.1 on `listener` until the returned task is aborted. Bodies over `body_limit` bytes are not read;
/// the handler sees `too_large` and answers as the service it emulates would.
pub fn serve<H: Handler>(
    listener: TcpListener,
    handler: Arc<H>,
    body_limit: usize,
) -> JoinHandle<()> {
    serve_with(listener, handler, body_limit, false)
}

/// [`serve`], recording each request's header names as the client wrote them (`WireRequest::header_names`).
pub fn serve_recording_header_case<H: Handler>(
    listener: TcpListener,
    handler: Arc<H>,
    body_limit: usize,
) -> JoinHandle<()> {
    serve_with(listener, handler, body_limit, true)
}

fn serve_with<H: Handler>(
    listener: TcpListener,
    handler: Arc<H>,
    body_limit: usize,
    record_case: bool,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        // The connections belong to the listener's task: aborting it (at shutdown) ends them too.
        let mut connections = tokio::task::JoinSet::new();
        loop {
            let accepted = tokio::select! {
                a = accept(&listener) => a,
                Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            };
            let (stream, peer) = match accepted {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                }
            };
            let handler = handler.clone();
            connections.spawn(async move {
                let heads: header_case::Heads = Arc::default();
                let names = heads.clone();
                let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let handler = handler.clone();
                    let names = names.lock().ok().and_then(|mut h| h.pop_front());
                    async move {
                        let mut req = read_request(req, peer, body_limit).await;
                        req.header_names = names.unwrap_or_default();
                        let resp = run(handler, req).await;
                        Ok::<_, Infallible>(to_hyper(resp))
                    }
                });
                let builder = http1::Builder::new().keep_alive(true).to_owned();
                let result = if record_case {
                    let io = header_case::Recorded::new(stream, heads);
                    builder.serve_connection(TokioIo::new(io), svc).await
                } else {
                    builder.serve_connection(TokioIo::new(stream), svc).await
                };
                if let Err(e) = result {
                    tracing::trace!("connection from {peer} ended: {e}");
                }
            });
        }
    })
}

async fn read_request(
    req: hyper::Request<hyper::body::Incoming>,
    peer: SocketAddr,
    body_limit: usize,
) -> WireRequest {
    let (parts, body) = req.into_parts();
    let declared_too_large = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .is_some_and(|n| n > body_limit);
    let (body, too_large) = if declared_too_large {
        // The answer goes out at once; the body is discarded in the background so that a client still writing it
        // reads the error instead of a reset connection, and a client that sent only the head is not kept waiting.
        tokio::spawn(drain(body, body_limit.saturating_mul(4)));
        (Bytes::new(), true)
    } else {
        match Limited::new(body, body_limit).collect().await {
            Ok(c) => (c.to_bytes(), false),
            Err(_) => (Bytes::new(), true),
        }
    };
    WireRequest {
        method: parts.method,
        path: parts.uri.path().to_string(),
        query: parts.uri.query().map(str::to_string),
        headers: parts.headers,
        body,
        peer,
        too_large,
        header_names: Vec::new(),
    }
}

/// Reads and discards up to `cap` bytes of a body that is too large. It gives up when the client pauses for
/// `DRAIN_IDLE`, so a client that never sends the body cannot hold the connection open.
async fn drain(mut body: hyper::body::Incoming, cap: usize) {
    const DRAIN_IDLE: std::time::Duration = std::time::Duration::from_secs(5);
    let mut seen = 0usize;
    while seen <= cap {
        match tokio::time::timeout(DRAIN_IDLE, body.frame()).await {
            Ok(Some(Ok(f))) => seen += f.data_ref().map_or(0, |d| d.len()),
            _ => break,
        }
    }
}

fn to_hyper(resp: WireResponse) -> hyper::Response<Full<Bytes>> {
    let mut out = hyper::Response::new(Full::new(resp.body));
    *out.status_mut() = resp.status;
    *out.headers_mut() = resp.headers;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn accepted_sockets_have_nodelay() {
        let listener = bind("127.0.0.1", 0).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = tokio::spawn(async move { TcpStream::connect(addr).await.unwrap() });
        let (server_side, _) = accept(&listener).await.unwrap();
        assert!(server_side.nodelay().unwrap());
        drop(client.await.unwrap());
    }

    struct Panics;

    impl Handler for Panics {
        async fn handle(&self, req: WireRequest) -> WireResponse {
            if req.path == "/panic" {
                panic!("a bug");
            }
            WireResponse::new(204)
        }
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_500_and_the_listener_goes_on() {
        let listener = bind("127.0.0.1", 0).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = serve(listener, Arc::new(Panics), 1024);
        let client = Client::new();
        let r = client
            .send("GET", &format!("http://{addr}/panic"), &[], Bytes::new())
            .await
            .unwrap();
        assert_eq!(r.status.as_u16(), 500);
        assert_eq!(&r.body[..], br#"{"message":"Internal server error"}"#);
        let r = client
            .send("GET", &format!("http://{addr}/fine"), &[], Bytes::new())
            .await
            .unwrap();
        assert_eq!(r.status.as_u16(), 204);
        server.abort();
    }

    /// Waits on `/slow` until told to go on, then counts the request as finished.
    struct Slow {
        outlives: bool,
        go_on: tokio::sync::Notify,
        started: tokio::sync::Notify,
        finished: std::sync::atomic::AtomicUsize,
    }

    impl Handler for Slow {
        fn outlives_client(&self) -> bool {
            self.outlives
        }

        async fn handle(&self, _: WireRequest) -> WireResponse {
            self.started.notify_one();
            self.go_on.notified().await;
            self.finished
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            WireResponse::new(204)
        }
    }

    /// Sends one `/slow` request, hangs up once its handler has started, lets the handler go on, and returns how
    /// many requests finished.
    async fn hang_up_during(outlives: bool) -> usize {
        use tokio::io::AsyncWriteExt;
        let listener = bind("127.0.0.1", 0).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let handler = Arc::new(Slow {
            outlives,
            go_on: tokio::sync::Notify::new(),
            started: tokio::sync::Notify::new(),
            finished: Default::default(),
        });
        let server = serve(listener, handler.clone(), 1024);
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /slow HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        handler.started.notified().await;
        drop(s);
        // hyper notices the hang-up on its next read, and drops the request's work with the connection.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        handler.go_on.notify_one();
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        server.abort();
        handler.finished.load(std::sync::atomic::Ordering::SeqCst)
    }

    #[tokio::test]
    async fn work_that_outlives_its_client_finishes_after_a_hang_up() {
        assert_eq!(hang_up_during(true).await, 1);
    }

    #[tokio::test]
    async fn work_that_does_not_outlive_its_client_ends_with_the_hang_up() {
        assert_eq!(hang_up_during(false).await, 0);
    }

    #[tokio::test]
    async fn stopping_a_listener_ends_its_open_connections() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = bind("127.0.0.1", 0).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = serve(listener, Arc::new(Panics), 1024);
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /fine HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 256];
        let n = s.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 204"));
        server.abort();
        // The kept-alive connection is closed rather than left open after shutdown.
        let n = tokio::time::timeout(std::time::Duration::from_secs(2), s.read(&mut buf))
            .await
            .expect("the connection ends")
            .unwrap_or(0);
        assert_eq!(n, 0);
    }
}

type Connector = hyper_util::client::legacy::connect::HttpConnector;
type HyperClient<C> = hyper_util::client::legacy::Client<C, Full<Bytes>>;

/// An HTTP/1.1 client for scenario steps, over plain TCP (with `TCP_NODELAY`) or TLS for live endpoints.
#[derive(Clone)]
pub struct Client {
    plain: HyperClient<Connector>,
    tls: Option<HyperClient<hyper_rustls::HttpsConnector<Connector>>>,
}

/// Why a client request failed before any response.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("invalid request: {0}")]
    Request(String),
    #[error("request failed: {0}")]
    Send(String),
}

impl Client {
    pub fn new() -> Self {
        Self::with_connect_timeout(None)
    }

    /// A client whose connection attempts give up after `timeout`, rather than the system's own (minutes).
    pub fn with_connect_timeout(timeout: Option<std::time::Duration>) -> Self {
        let mut http = Connector::new();
        http.set_connect_timeout(timeout);
        http.set_nodelay(true);
        http.enforce_http(false);
        let builder =
            || hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new());
        // The provider is named, because the process may link both ring and aws-lc-rs.
        let tls = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(rustls::crypto::ring::default_provider())
            .ok()
            .map(|b| {
                builder().build(
                    b.https_or_http()
                        .enable_http1()
                        .wrap_connector(http.clone()),
                )
            });
        Self {
            plain: builder().build(http),
            tls,
        }
    }

    pub async fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        body: Bytes,
    ) -> Result<WireResponse, ClientError> {
        let mut b = hyper::Request::builder().method(method).uri(url);
        for (k, v) in headers {
            b = b.header(k, v);
        }
        let req = b
            .body(Full::new(body))
            .map_err(|e| ClientError::Request(e.to_string()))?;
        let resp = if url.starts_with("https://") {
            let tls = self.tls.as_ref().ok_or_else(|| {
                ClientError::Send("no TLS root certificates on this machine".into())
            })?;
            tls.request(req).await
        } else {
            self.plain.request(req).await
        }
        .map_err(|e| ClientError::Send(with_causes(&e)))?;
        let (parts, body) = resp.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|e| ClientError::Send(e.to_string()))?
            .to_bytes();
        Ok(WireResponse {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }
}

/// An error and its causes, as `client error (Connect): tcp connect error: Connection refused (os error 111)`:
/// hyper's own message says only which step failed.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

impl Default for Client {
    fn default() -> Self {
        Self::new()
    }
}
