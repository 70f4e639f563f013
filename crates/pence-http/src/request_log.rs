//! The access log: one line per request at info level — its request id, method, path, status,
//! duration, the service it was made as, and why it was turned away when it was (a 401's
//! reason). A next_url token in the path is a bearer secret and is logged as `/secure/…`;
//! query strings (search filters: emails, names) and bodies (card details) never are.
//!
//! Each request has an id: the client's `X-Request-Id` when it is a sensible one, else a new
//! one; it is answered in `X-Request-Id` and is on every log line of the request: the
//! request's future runs with it in a task-local ([`request_id`]), which the host's line
//! format reads (a tracing span did this, and entering it at every poll and building it cost
//! a tenth of a node's gets and more of its creates). The request is counted and timed for
//! `/metrics` here too.
//!
//! A host that writes the process's log lines itself (`pence serve`) hands the node an
//! [`AccessLog`]: each line is then written here, in the layout tracing gives every other
//! line (JSON or text), straight to that writer. Going through tracing's own JSON formatter
//! cost a fifth of a node's gets (it encodes the span's fields, then parses them back for
//! each line). Without one, the line is an ordinary tracing event.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::response::Response;

use crate::auth::{MadeBy, Turned};
use crate::state::AppState;
use crate::telemetry::Route;

const REQUEST_ID: &str = "x-request-id";

tokio::task_local! {
    static CURRENT: Arc<str>;
}

/// The id of the request being answered, for log lines written while it is (none outside a
/// request, or in a task it spawned).
pub fn request_id() -> Option<Arc<str>> {
    CURRENT.try_with(Arc::clone).ok()
}
/// The target the access log's lines name, as tracing names this module's events.
const TARGET: &str = "pence_http::request_log";

/// Where a host's log lines go: each call is one whole line, newline included, and none may
/// be dropped (the writer waits rather than lose one).
pub trait LineWriter: Send + Sync + 'static {
    fn write_line(&self, line: Vec<u8>);
}

/// The access log's lines, written by the node in the host's layout.
#[derive(Clone)]
pub struct AccessLog {
    writer: Arc<dyn LineWriter>,
    json: bool,
}

impl std::fmt::Debug for AccessLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessLog")
            .field("json", &self.json)
            .finish()
    }
}

impl AccessLog {
    /// Lines to `writer`, as JSON objects or as tracing's text lines.
    pub fn new(writer: Arc<dyn LineWriter>, json: bool) -> Self {
        AccessLog { writer, json }
    }
}

/// One request's line.
struct Line<'a> {
    id: &'a str,
    method: &'a str,
    path: &'a str,
    status: u16,
    ms: f64,
    service: Option<&'a str>,
    refused: Option<&'a str>,
}

impl Line<'_> {
    /// The line as tracing's JSON formatter lays out an event in a span.
    fn json(&self, now: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(320);
        out.extend_from_slice(b"{\"timestamp\":\"");
        out.extend_from_slice(now.as_bytes());
        out.extend_from_slice(
            b"\",\"level\":\"INFO\",\"fields\":{\"message\":\"request\",\"method\":",
        );
        json_str(&mut out, self.method);
        out.extend_from_slice(b",\"path\":");
        json_str(&mut out, self.path);
        out.extend_from_slice(b",\"status\":");
        let _ = serde_json::to_writer(&mut out, &self.status);
        out.extend_from_slice(b",\"ms\":");
        let _ = serde_json::to_writer(&mut out, &self.ms);
        for (name, value) in [("service", self.service), ("refused", self.refused)] {
            if let Some(value) = value {
                out.extend_from_slice(b",\"");
                out.extend_from_slice(name.as_bytes());
                out.extend_from_slice(b"\":");
                json_str(&mut out, value);
            }
        }
        out.extend_from_slice(b"},\"target\":\"");
        out.extend_from_slice(TARGET.as_bytes());
        out.extend_from_slice(b"\",\"span\":");
        let span = |out: &mut Vec<u8>| {
            out.extend_from_slice(b"{\"request_id\":");
            json_str(out, self.id);
            out.extend_from_slice(b",\"name\":\"request\"}");
        };
        span(&mut out);
        out.extend_from_slice(b",\"spans\":[");
        span(&mut out);
        out.extend_from_slice(b"]}\n");
        out
    }

    /// The line as tracing's text formatter writes an event in a span (no colours).
    fn text(&self, now: &str) -> Vec<u8> {
        let mut out = String::with_capacity(256);
        let _ = write!(
            out,
            "{now}  INFO request{{request_id={}}}: {TARGET}: request method={} path={} status={} ms={}",
            self.id, self.method, self.path, self.status, self.ms
        );
        for (name, value) in [("service", self.service), ("refused", self.refused)] {
            if let Some(value) = value {
                let _ = write!(out, " {name}={value}");
            }
        }
        out.push('\n');
        out.into_bytes()
    }

    fn event(&self) {
        tracing::info!(
            method = self.method,
            path = self.path,
            status = self.status,
            ms = self.ms,
            service = self.service,
            refused = self.refused,
            "request"
        );
    }
}

/// `text` as a JSON string.
fn json_str(out: &mut Vec<u8>, text: &str) {
    // Writing a &str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, text);
}

/// Now as tracing writes it: RFC 3339 in UTC with microseconds. Digits are written out
/// rather than through `write!`, which cost as much as the rest of the line.
pub fn timestamp() -> String {
    let now = time::OffsetDateTime::now_utc();
    let mut out = String::with_capacity(27);
    let digits = |out: &mut String, n: u32, width: u32| {
        for place in (0..width).rev() {
            out.push(char::from(b'0' + (n / 10u32.pow(place) % 10) as u8));
        }
    };
    digits(&mut out, now.year().clamp(0, 9999) as u32, 4);
    for (sep, n) in [
        ('-', now.month() as u32),
        ('-', u32::from(now.day())),
        ('T', u32::from(now.hour())),
        (':', u32::from(now.minute())),
        (':', u32::from(now.second())),
    ] {
        out.push(sep);
        digits(&mut out, n, 2);
    }
    out.push('.');
    digits(&mut out, now.microsecond(), 6);
    out.push('Z');
    out
}

/// The client's request id if it is one worth keeping (1–128 letters, digits, `-_.:`).
fn given_id(req: &Request) -> Option<String> {
    let id = req.headers().get(REQUEST_ID)?.to_str().ok()?;
    let fine = (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    fine.then(|| id.to_string())
}

fn loggable(path: &str) -> &str {
    if path.starts_with("/secure/") {
        "/secure/…"
    } else {
        path
    }
}

/// `handle`'s answer to `req`, counted, timed and logged, with the request's id.
pub(crate) async fn logged<F>(
    state: &AppState,
    req: Request,
    handle: impl FnOnce(Request) -> F,
) -> Response
where
    F: std::future::Future<Output = Response>,
{
    let id: Arc<str> = given_id(&req)
        .unwrap_or_else(pence_core::ids::new_id)
        .into();
    let method = req.method().clone();
    let path = loggable(req.uri().path()).to_string();
    let started = Instant::now();
    let mut resp = CURRENT.scope(id.clone(), handle(req)).await;
    let took = started.elapsed();
    let status = resp.status().as_u16();
    let route = resp
        .extensions()
        .get::<Route>()
        .map_or("unmatched", |r| r.0.as_str());
    state
        .telemetry
        .request(route, method.as_str(), status, took);
    let refused = resp.extensions().get::<Turned>().map(|t| t.0);
    if refused == Some("rate limit") {
        state.telemetry.rate_limited();
    }
    if tracing::enabled!(target: TARGET, tracing::Level::INFO) {
        let line = Line {
            id: &id,
            method: method.as_str(),
            path: &path,
            status,
            ms: took.as_secs_f64() * 1000.0,
            service: resp.extensions().get::<MadeBy>().map(|m| m.0.as_str()),
            refused,
        };
        match &state.access_log {
            Some(log) if log.json => log.writer.write_line(line.json(&timestamp())),
            Some(log) => log.writer.write_line(line.text(&timestamp())),
            // A host without a writer of its own (tests, benchmarks) gets a span.
            None => tracing::info_span!("request", request_id = %id).in_scope(|| line.event()),
        }
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(REQUEST_ID, value);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line() -> Line<'static> {
        Line {
            id: "1k975062jf8er940db9m4sqs4i",
            method: "GET",
            path: "/v1/payments/\"x\"",
            status: 401,
            ms: 0.25,
            service: None,
            refused: Some("no bearer token"),
        }
    }

    /// The line written by hand reads as tracing's JSON lines do: the fields, the target
    /// and the request's span, strings escaped.
    #[test]
    fn a_json_line_has_tracings_layout() {
        let bytes = line().json(&timestamp());
        assert_eq!(bytes.last(), Some(&b'\n'));
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(value["level"], "INFO");
        assert_eq!(value["target"], TARGET);
        assert_eq!(value["fields"]["message"], "request");
        assert_eq!(value["fields"]["path"], "/v1/payments/\"x\"");
        assert_eq!(value["fields"]["status"], 401);
        assert_eq!(value["fields"]["ms"], 0.25);
        assert_eq!(value["fields"]["refused"], "no bearer token");
        assert!(value["fields"].get("service").is_none());
        assert_eq!(value["span"]["request_id"], "1k975062jf8er940db9m4sqs4i");
        assert_eq!(value["spans"][0]["name"], "request");
        let stamp = value["timestamp"].as_str().unwrap();
        assert_eq!(stamp.len(), 27, "{stamp}");
        time::OffsetDateTime::parse(stamp, &time::format_description::well_known::Rfc3339).unwrap();
    }

    #[test]
    fn a_text_line_names_the_request_and_its_fields() {
        let text = String::from_utf8(line().text("2026-12-07T02:23:21.549107Z")).unwrap();
        assert_eq!(
            text,
            "2026-12-07T02:23:21.549107Z  INFO request{request_id=1k975062jf8er940db9m4sqs4i}: \
             pence_http::request_log: request method=GET path=/v1/payments/\"x\" status=401 \
             ms=0.25 refused=no bearer token\n"
        );
    }
}
