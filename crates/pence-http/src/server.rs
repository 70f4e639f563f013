//! Serving connections with limits a public node needs: a request's head must arrive in time
//! (slowloris), its body too (a body trickled a byte a second), an idle kept-alive connection
//! is closed, and open connections are capped. Requests over the size limits get JSON
//! answers like every other error (hyper's own, for what it refuses before us, have no body,
//! so hyper's limits are set above ours). Graceful shutdown closes idle connections at once.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use futures_util::future::{ready, Either, Ready};
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::sync::Semaphore;

use crate::json_refusals::{self, JsonRefusals};
use crate::open_connections::{Counted, Open};

/// How long and how much a client may take.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// A request's head must arrive within this; it is also how long a kept-alive
    /// connection may sit idle before the next request.
    pub header_read: Duration,
    /// A request's body must arrive within this, all of it.
    pub body_read: Duration,
    /// Connections open at once; more wait in the listen backlog.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read: Duration::from_secs(10),
            body_read: Duration::from_secs(30),
            max_connections: 4096,
        }
    }
}

/// The longest request target answered (longer: 414).
const MAX_URI: usize = 8 * 1024;
/// The most header bytes and header lines answered (more: 431).
const MAX_HEADER_BYTES: usize = 16 * 1024;
const MAX_HEADERS: usize = 100;
/// The most header lines hyper reads (past it, hyper answers without a body).
const HYPER_HEADERS: usize = MAX_HEADERS * 4;
/// The most of a head hyper reads (past it, hyper answers without a body).
const HYPER_READS: usize = MAX_URI + MAX_HEADER_BYTES + 64 * 1024;

/// How long a stopping node waits for requests in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Serves `app` on `listener` until `shutdown` completes; then stops accepting, lets requests
/// in flight finish (idle connections close at once; `SHUTDOWN_GRACE` at most) and returns.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: crate::Front,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read)
        // Above our own limits, so that we, not hyper, answer (with a body); a first head
        // longer still is answered by `first_head`.
        .max_buf_size(HYPER_READS)
        .max_headers(HYPER_HEADERS);
    let open = Arc::new(Open::default());
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: pause rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // At the cap, the oldest connection with nothing in flight makes room (an idle
        // keep-alive one, or one that has sent nothing), rather than this one waiting behind
        // connections that may never send anything.
        let permit = match permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                open.evict_idle();
                tokio::select! {
                    _ = &mut shutdown => break,
                    permit = permits.clone().acquire_owned() => permit.expect("never closed"),
                }
            }
        };
        let _ = stream.set_nodelay(true);
        let opened = open.add();
        let service = TowerToHyperService::new(Counted {
            inner: Limited {
                inner: app.for_peer(peer),
                limits,
            },
            conn: opened.conn(),
        });
        let builder = builder.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let served = async {
                match first_head(&stream, limits.header_read).await {
                    Head::Malformed => refuse(stream, StatusCode::BAD_REQUEST).await,
                    Head::TooLong(status) => refuse(stream, status).await,
                    Head::Gone => {}
                    Head::Ok => {
                        let io = TokioIo::new(JsonRefusals::new(stream));
                        let connection = builder.serve_connection(io, service);
                        let _ = watcher.watch(connection).await;
                    }
                }
            };
            opened.serve(served).await;
            drop(opened);
            drop(permit);
        });
    }
    drop(listener);
    // Requests in flight get a few seconds to finish; one held longer (a test service's
    // delay fault can hold a request a minute) does not keep the node from stopping.
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight after the shutdown grace: dropped");
    }
    Ok(())
}

/// What the first request's head on a connection looks like.
enum Head {
    /// Well formed, or not all here yet (hyper reads it, under its own timeout).
    Ok,
    /// Not HTTP/1: answered with a JSON 400 here, as hyper's own has no body.
    Malformed,
    /// Longer than hyper reads: answered here with a JSON 414 (the request line alone is
    /// too long) or 431, as hyper's own have no body.
    TooLong(StatusCode),
    /// The client went away (or sent nothing in time).
    Gone,
}

/// Looks at (without taking) the first request's head, so that a malformed request line or
/// header line gets a JSON answer like every other error.
async fn first_head(stream: &tokio::net::TcpStream, wait: Duration) -> Head {
    let deadline = tokio::time::Instant::now() + wait;
    // Most heads fit in 8 KiB; the buffer grows to what hyper reads only for one that does
    // not (a connection that has sent nothing holds 8 KiB, not 88).
    let mut buf = vec![0u8; 8 * 1024];
    loop {
        let n = match tokio::time::timeout_at(deadline, stream.peek(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return Head::Gone,
            Ok(Ok(n)) => n,
        };
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        match httparse::Request::new(&mut headers).parse(&buf[..n]) {
            Ok(httparse::Status::Complete(_)) => return Head::Ok,
            // Too many headers: ours to answer (431) once hyper, whose limit is higher, has
            // read them; past hyper's limit too, here.
            Err(httparse::Error::TooManyHeaders) if n == buf.len() && n < HYPER_READS => {
                buf.resize(HYPER_READS, 0);
            }
            Err(httparse::Error::TooManyHeaders) => {
                let head = &buf[..n];
                let end = head.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(n);
                let lines = head[..end].windows(2).filter(|w| *w == b"\r\n").count();
                return match lines >= HYPER_HEADERS {
                    true => Head::TooLong(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE),
                    false => Head::Ok,
                };
            }
            Err(_) => return Head::Malformed,
            Ok(httparse::Status::Partial) if n == buf.len() && n < HYPER_READS => {
                buf.resize(HYPER_READS, 0);
            }
            // As much as hyper takes and still not all of it: hyper would refuse it without
            // a body.
            Ok(httparse::Status::Partial) if n == buf.len() => {
                let line_ends = buf.windows(2).any(|w| w == b"\r\n");
                return Head::TooLong(if line_ends {
                    StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
                } else {
                    StatusCode::URI_TOO_LONG
                });
            }
            // More is on its way: look again shortly (peeking does not wait for new bytes).
            Ok(httparse::Status::Partial) => {
                if tokio::time::Instant::now() >= deadline {
                    return Head::Gone;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }
}

/// Answers a request hyper would refuse without a body (Dropwizard's JSON, as every other
/// error), and closes the connection.
async fn refuse(mut stream: tokio::net::TcpStream, status: StatusCode) {
    use tokio::io::AsyncWriteExt;
    let _ = stream.write_all(&json_refusals::answer(status)).await;
    let _ = stream.shutdown().await;
}

/// `inner` behind the size limits (answered with a JSON body) and the body's time limit.
/// A service of its own rather than an axum `from_fn` layer, which boxes what it wraps and
/// its future on every request.
#[derive(Clone)]
struct Limited<S> {
    inner: S,
    limits: Limits,
}

impl<S, B> tower::Service<axum::http::Request<B>> for Limited<S>
where
    S: tower::Service<Request, Response = Response, Error = std::convert::Infallible>,
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = Either<Ready<Result<Response, Self::Error>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: axum::http::Request<B>) -> Self::Future {
        let req = req.map(Body::new);
        match oversized(&req) {
            Some(refused) => Either::Left(ready(Ok(refused))),
            None => Either::Right(self.inner.call(in_time(req, self.limits))),
        }
    }
}

/// The answer refusing an oversized request, if it is one.
fn oversized(req: &Request) -> Option<Response> {
    if uri_len(req.uri()) > MAX_URI {
        return Some(crate::errors::dropwizard(
            StatusCode::URI_TOO_LONG,
            "HTTP 414 URI Too Long",
        ));
    }
    let headers = req.headers();
    let header_bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    (headers.len() > MAX_HEADERS || header_bytes > MAX_HEADER_BYTES).then(|| {
        crate::errors::dropwizard(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "HTTP 431 Request Header Fields Too Large",
        )
    })
}

/// The request with its body bounded in time.
fn in_time(req: Request, limits: Limits) -> Request {
    // A request with no body (a GET) has nothing to time.
    if req.body().is_end_stream() {
        return req;
    }
    let deadline = tokio::time::Instant::now() + limits.body_read;
    req.map(|body| Body::new(Deadline::new(body, deadline)))
}

/// The length of the request target as the client sent it (origin form, or absolute form
/// with its scheme and authority), without writing it out.
fn uri_len(uri: &axum::http::Uri) -> usize {
    let scheme = uri.scheme_str().map_or(0, |s| s.len() + 3);
    let authority = uri.authority().map_or(0, |a| a.as_str().len());
    let rest = uri.path_and_query().map_or(0, |p| p.as_str().len());
    scheme + authority + rest
}

/// A request body that fails once its deadline has passed, however slowly it trickles.
struct Deadline {
    body: Body,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl Deadline {
    fn new(body: Body, deadline: tokio::time::Instant) -> Self {
        Deadline {
            body,
            sleep: Box::pin(tokio::time::sleep_until(deadline)),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the request body took too long")]
struct TooSlow;

impl HttpBody for Deadline {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.body).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        match self.sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(TooSlow.into()))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::uri_len;

    /// The length counted is the length of the URI as written, in each form a client may send.
    #[test]
    fn a_uri_is_measured_as_written() {
        for uri in [
            "/v1/payments",
            "/v1/payments?reference=a%20b&page=2",
            "http://node.example:8080/v1/payments/abc?x=1",
            "https://node.example/",
            "node.example:443",
            "*",
        ] {
            let parsed: axum::http::Uri = uri.parse().unwrap();
            assert_eq!(uri_len(&parsed), parsed.to_string().len(), "{uri}");
        }
    }
}
