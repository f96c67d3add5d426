//! The header names of each request as the client wrote them. hyper lower-cases names and keeps the original
//! casing only privately, but API Gateway hands a REST proxy integration the client's casing
//! (`Content-Type`, `tEsT-HEADeR`), and handlers index headers by it. So the bytes of a connection are watched
//! on their way to hyper, with just enough HTTP/1.1 framing to find each request head: the head's names are
//! queued, and the body (`Content-Length` or chunked) is skipped.
//!
//! Anything unexpected (a head over 64 KiB, a malformed chunk size) turns the recorder off for the rest of the
//! connection; names then stay lower-case, which is what every other client sees.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

const MAX_HEAD: usize = 64 * 1024;

/// The names of each request head seen on one connection, oldest first.
pub type Heads = Arc<Mutex<VecDeque<Vec<String>>>>;

#[derive(Debug)]
enum State {
    Head(Vec<u8>),
    Body(u64),
    ChunkSize(Vec<u8>),
    ChunkData(u64),
    ChunkEnd(u8),
    Trailers(Vec<u8>),
    Off,
}

/// Follows the framing of the bytes a client sends.
#[derive(Debug)]
pub struct Recorder {
    state: State,
    heads: Heads,
}

impl Recorder {
    pub fn new(heads: Heads) -> Self {
        Self {
            state: State::Head(Vec::new()),
            heads,
        }
    }

    pub fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let consumed = self.step(bytes);
            bytes = &bytes[consumed..];
        }
    }

    /// Consumes some of `bytes` and returns how many.
    fn step(&mut self, bytes: &[u8]) -> usize {
        match &mut self.state {
            State::Off => bytes.len(),
            State::Body(left) | State::ChunkData(left) => {
                let n = (*left).min(bytes.len() as u64);
                *left -= n;
                if *left == 0 {
                    self.state = match self.state {
                        State::Body(_) => State::Head(Vec::new()),
                        _ => State::ChunkEnd(2),
                    };
                }
                n as usize
            }
            State::ChunkEnd(left) => {
                let n = (*left as usize).min(bytes.len());
                *left -= n as u8;
                if *left == 0 {
                    self.state = State::ChunkSize(Vec::new());
                }
                n
            }
            State::Head(_) | State::ChunkSize(_) | State::Trailers(_) => {
                // A head ends at an empty line; a chunk size line and each trailer line end at CRLF.
                let end: &[u8] = if matches!(self.state, State::Head(_)) {
                    b"\r\n\r\n"
                } else {
                    b"\r\n"
                };
                let (State::Head(buf) | State::ChunkSize(buf) | State::Trailers(buf)) =
                    &mut self.state
                else {
                    unreachable!("matched above")
                };
                let before = buf.len();
                buf.extend_from_slice(bytes);
                let Some(pos) = find(buf, end) else {
                    if buf.len() > MAX_HEAD {
                        self.state = State::Off;
                    }
                    return bytes.len();
                };
                let used = pos + end.len() - before;
                let text = buf[..pos].to_vec();
                self.finish(&text);
                used
            }
        }
    }

    /// Acts on a complete head, chunk size line or trailer line.
    fn finish(&mut self, text: &[u8]) {
        self.state = match &self.state {
            State::Head(_) => {
                let text = String::from_utf8_lossy(text);
                // Clients may send blank lines between requests.
                let text = text.trim_start_matches("\r\n");
                let mut names = Vec::new();
                let (mut length, mut chunked) = (0u64, false);
                for line in text.split("\r\n").skip(1) {
                    let Some((name, value)) = line.split_once(':') else {
                        continue;
                    };
                    let name = name.trim();
                    if name.eq_ignore_ascii_case("content-length") {
                        length = value.trim().parse().unwrap_or(0);
                    } else if name.eq_ignore_ascii_case("transfer-encoding") {
                        chunked = value.to_ascii_lowercase().contains("chunked");
                    }
                    names.push(name.to_string());
                }
                if let Ok(mut heads) = self.heads.lock() {
                    heads.push_back(names);
                }
                match (chunked, length) {
                    (true, _) => State::ChunkSize(Vec::new()),
                    (false, 0) => State::Head(Vec::new()),
                    (false, n) => State::Body(n),
                }
            }
            State::ChunkSize(_) => {
                let line = String::from_utf8_lossy(text);
                let size = line.split(';').next().unwrap_or("").trim();
                match u64::from_str_radix(size, 16) {
                    Ok(0) => State::Trailers(Vec::new()),
                    Ok(n) => State::ChunkData(n),
                    Err(_) => State::Off,
                }
            }
            State::Trailers(_) if text.is_empty() => State::Head(Vec::new()),
            State::Trailers(_) => State::Trailers(Vec::new()),
            _ => State::Off,
        };
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A connection whose inbound bytes pass through a [`Recorder`].
pub struct Recorded<S> {
    inner: S,
    recorder: Recorder,
}

impl<S> Recorded<S> {
    pub fn new(inner: S, heads: Heads) -> Self {
        Self {
            inner,
            recorder: Recorder::new(heads),
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Recorded<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        let out = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = out {
            this.recorder.feed(&buf.filled()[before..]);
        }
        out
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Recorded<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heads_of(chunks: &[&[u8]]) -> Vec<Vec<String>> {
        let heads: Heads = Arc::default();
        let mut r = Recorder::new(heads.clone());
        for c in chunks {
            r.feed(c);
        }
        heads.lock().unwrap().drain(..).collect()
    }

    #[test]
    fn names_keep_their_casing_across_pipelined_requests_and_bodies() {
        let wire = b"POST /a HTTP/1.1\r\nHost: x\r\ntEsT-HEADeR: 1\r\nContent-Length: 5\r\n\r\nA: b\nGET /b HTTP/1.1\r\nX-Api-Key: k\r\n\r\n";
        // Fed whole, and fed a byte at a time: the framing does not depend on how reads split the stream.
        let one: Vec<&[u8]> = wire.chunks(1).collect();
        for chunks in [vec![&wire[..]], one] {
            assert_eq!(
                heads_of(&chunks),
                [
                    vec!["Host", "tEsT-HEADeR", "Content-Length"],
                    vec!["X-Api-Key"]
                ]
            );
        }
    }

    #[test]
    fn chunked_bodies_and_trailers_are_skipped() {
        let wire = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nab\r\n\r\n0\r\nX-Trailer: t\r\n\r\nGET / HTTP/1.1\r\nAccept: */*\r\n\r\n";
        assert_eq!(
            heads_of(&[wire]),
            [vec!["Transfer-Encoding"], vec!["Accept"]]
        );
    }

    #[test]
    fn garbage_turns_the_recorder_off_without_panicking() {
        let wire = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nGET / HTTP/1.1\r\nA: b\r\n\r\n";
        assert_eq!(heads_of(&[wire]), [vec!["Transfer-Encoding"]]);
        let huge = vec![b'a'; MAX_HEAD + 10];
        assert!(heads_of(&[&huge]).is_empty());
    }
}
