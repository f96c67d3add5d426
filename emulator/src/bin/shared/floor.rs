//! What a warm invoke costs when neither Offcloud nor the handler's runtime adds anything: a bare blocking runtime
//! client to run as a function, and a relay that makes the same two loopback exchanges an invocation makes.
//!
//! A warm invoke is two HTTP exchanges (the client's with Offcloud, and Offcloud's `/next` answer with the
//! runtime's `/response`), so its floor is the relay's round trip, not the one-hop echo baseline. And a Rust
//! handler built on `lambda_runtime` with `#[tokio::main]` hands each invocation between its main thread and a
//! worker, which is its own cost, not Offcloud's: the bare client shows Offcloud's part alone.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};

/// One keep-alive connection that sends whole requests and reads whole responses.
struct Client {
    stream: BufReader<TcpStream>,
}

/// A response's status, its `Lambda-Runtime-Aws-Request-Id` and its body.
struct Answer {
    status: u16,
    request_id: Option<String>,
    body: Vec<u8>,
}

impl Client {
    fn connect(addr: &str) -> std::io::Result<Self> {
        let s = TcpStream::connect(addr)?;
        s.set_nodelay(true)?;
        Ok(Self {
            stream: BufReader::new(s),
        })
    }

    fn exchange(&mut self, method: &str, path: &str, body: &[u8]) -> std::io::Result<Answer> {
        let mut all = format!(
            "{method} {path} HTTP/1.1\r\nhost: floor\r\ncontent-length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        all.extend_from_slice(body);
        self.stream.get_mut().write_all(&all)?;
        let mut line = String::new();
        self.stream.read_line(&mut line)?;
        let status = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let (mut len, mut request_id) = (0usize, None);
        loop {
            line.clear();
            if self.stream.read_line(&mut line)? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            if line == "\r\n" {
                break;
            }
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                len = value.parse().unwrap_or(0);
            } else if name.eq_ignore_ascii_case("lambda-runtime-aws-request-id") {
                request_id = Some(value.to_string());
            }
        }
        let mut body = vec![0; len];
        self.stream.read_exact(&mut body)?;
        Ok(Answer {
            status,
            request_id,
            body,
        })
    }
}

/// Runs as a function: takes each invocation from `/next` and answers with a proxy integration's response, on one
/// thread with one connection, until the Runtime API goes away.
pub fn runtime_client() -> ! {
    let api = std::env::var("AWS_LAMBDA_RUNTIME_API").expect("AWS_LAMBDA_RUNTIME_API is set");
    let mut c = Client::connect(&api).expect("the Runtime API answers");
    loop {
        let Ok(next) = c.exchange("GET", "/2018-06-01/runtime/invocation/next", b"") else {
            std::process::exit(0);
        };
        let id = next.request_id.expect("/next names the request id");
        let path = format!("/2018-06-01/runtime/invocation/{id}/response");
        match c.exchange("POST", &path, br#"{"statusCode":200,"body":"{}"}"#) {
            Ok(a) if a.status == 202 => {}
            _ => std::process::exit(1),
        }
    }
}

/// Reads one request from a client of a bare server and returns its body, or `None` once the client is gone.
pub fn read_request(r: &mut BufReader<TcpStream>) -> Option<Vec<u8>> {
    let mut line = String::new();
    if r.read_line(&mut line).unwrap_or(0) == 0 {
        return None;
    }
    let mut len = 0usize;
    loop {
        line.clear();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return None;
        }
        if line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).ok()?;
    Some(body)
}

/// A server that answers each request by making the same request to `upstream` on its own keep-alive connection
/// and passing the answer's body back: the two exchanges of an invocation with nothing else in them.
pub fn relay(upstream: String) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            s.set_nodelay(true).unwrap();
            let upstream = upstream.clone();
            std::thread::spawn(move || {
                let Ok(mut up) = Client::connect(&upstream) else {
                    return;
                };
                let mut r = BufReader::new(s);
                while let Some(body) = read_request(&mut r) {
                    let Ok(a) = up.exchange("POST", "/", &body) else {
                        return;
                    };
                    let mut out = format!(
                        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n",
                        a.body.len()
                    )
                    .into_bytes();
                    out.extend_from_slice(&a.body);
                    r.get_mut().write_all(&out).unwrap();
                }
            });
        }
    });
    addr
}
