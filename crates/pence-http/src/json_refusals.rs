//! hyper refuses a request it cannot parse (a malformed head, one too long, too many header
//! lines) with a head and no body, and closes. The first request on a connection is looked at
//! before hyper reads it (`server::first_head`), so it is answered in JSON like every other
//! error; a later one on a kept-alive connection is hyper's alone to read. This writer sits
//! under hyper and puts the JSON answer in place of such a bodiless refusal. Pence's own
//! answers never take that form (every error of ours has a body), so nothing else is changed.

use std::io::IoSlice;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use axum::http::StatusCode;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The JSON answer for a refusal, as Dropwizard gives it, closing the connection.
pub(crate) fn answer(status: StatusCode) -> Vec<u8> {
    let reason = status.canonical_reason().unwrap_or("Bad Request");
    let code = status.as_u16();
    let body = format!(r#"{{"code":{code},"message":"HTTP {code} {reason}"}}"#);
    format!(
        "HTTP/1.1 {code} {reason}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The refusals hyper answers without a body, by the start of their status line.
const REFUSALS: [(&[u8], StatusCode); 3] = [
    (b"HTTP/1.1 400 ", StatusCode::BAD_REQUEST),
    (b"HTTP/1.1 414 ", StatusCode::URI_TOO_LONG),
    (
        b"HTTP/1.1 431 ",
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
    ),
];

/// hyper's bodiless refusal that `written` is, if it is one. Most writes are answers that
/// succeeded, told apart by their first ten bytes.
fn refusal(written: &[u8]) -> Option<StatusCode> {
    if !written.starts_with(b"HTTP/1.1 4") {
        return None;
    }
    let (_, status) = REFUSALS
        .iter()
        .find(|(line, _)| written.starts_with(line))?;
    // The whole write is one head, with nothing of ours after it, announcing no body.
    let end = written.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&written[..end + 2]).to_ascii_lowercase();
    (written.len() == end + 4 && head.contains("\r\ncontent-length: 0\r\n")).then_some(*status)
}

/// A connection's stream, with hyper's bodiless refusals written as JSON.
pub(crate) struct JsonRefusals<S> {
    inner: S,
    /// A JSON answer still to be written in place of what hyper wrote.
    pending: Vec<u8>,
}

impl<S> JsonRefusals<S> {
    pub(crate) fn new(inner: S) -> Self {
        JsonRefusals {
            inner,
            pending: Vec::new(),
        }
    }
}

impl<S: AsyncWrite + Unpin> JsonRefusals<S> {
    /// Writes what is pending; ready once nothing is.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        while !self.pending.is_empty() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.pending))?;
            if n == 0 {
                return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into()));
            }
            self.pending.drain(..n);
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for JsonRefusals<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for JsonRefusals<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        ready!(self.drain(cx))?;
        if let Some(status) = refusal(buf) {
            self.pending = answer(status);
            // Taken whole: what hyper wrote is replaced, and written by the next flush.
            let _ = self.drain(cx)?;
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        ready!(self.drain(cx))?;
        // A refusal is a head alone: one slice (hyper writes its head and body as several).
        let mut written = bufs.iter().filter(|b| !b.is_empty());
        if let (Some(only), None) = (written.next(), written.next()) {
            if refusal(only).is_some() {
                return self.poll_write(cx, only);
            }
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bodiless_refusals_are_replaced() {
        let hypers = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        assert_eq!(refusal(hypers), Some(StatusCode::BAD_REQUEST));
        let too_long = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(
            refusal(too_long),
            Some(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
        );
        // Ours: a body follows, or is announced.
        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 2\r\n\r\n{}";
        assert_eq!(refusal(ours), None);
        let head_only = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 20\r\n\r\n";
        assert_eq!(refusal(head_only), None);
        assert_eq!(
            refusal(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"),
            None
        );
    }
}
