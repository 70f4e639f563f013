//! The access log's line for each request, written by the node: a host that writes the
//! process's log lines itself (`pence serve`) hands the node an [`AccessLog`], and each line
//! is written to it in the layout tracing gives every other line (JSON or text). Going
//! through tracing's own JSON formatter cost a fifth of a node's gets (it encodes the span's
//! fields, then parses them back for each line). Without one, the line is an ordinary tracing
//! event, as `request_log` (which times and counts the request) names it.

use std::fmt::Write as _;
use std::sync::Arc;

/// The target the access log's lines name, as tracing names this module's events.
pub(crate) const TARGET: &str = "pence_http::request_log";

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

    /// Writes `line` in the host's layout.
    pub(crate) fn write(&self, line: &Line<'_>) {
        let now = timestamp();
        self.writer.write_line(match self.json {
            true => line.json(&now),
            false => line.text(&now),
        });
    }
}

/// One request's line.
pub(crate) struct Line<'a> {
    pub(crate) id: &'a str,
    pub(crate) method: &'a str,
    pub(crate) path: &'a str,
    pub(crate) status: u16,
    pub(crate) ms: f64,
    pub(crate) service: Option<&'a str>,
    pub(crate) refused: Option<&'a str>,
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

    /// The line as a tracing event, for a host without a writer of its own.
    pub(crate) fn event(&self) {
        tracing::info!(
            target: TARGET,
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
