//! How `pence serve` writes a tracing event: the layout tracing-subscriber gives (JSON:
//! `timestamp`, `level`, `fields`, `target`, and `span`/`spans` inside a request; text:
//! `timestamp LEVEL request{request_id=…}: target: message k=v`), with the request id taken
//! from the request being answered (`pence_http::request_id`) rather than from a tracing span,
//! which cost every request more than the line it labelled. The access log writes its own
//! lines in the same layout (`pence_http::AccessLog`).

use std::fmt::{self, Write as _};

use serde_json::Value;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// JSON or text lines.
pub struct Lines {
    pub json: bool,
}

/// An event's fields, in the order recorded.
#[derive(Default)]
struct Fields(Vec<(&'static str, Value)>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .push((field.name(), Value::String(format!("{value:?}"))));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0
            .push((field.name(), Value::String(value.to_string())));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.push((field.name(), value.into()));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.push((field.name(), value.into()));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.push((field.name(), value.into()));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.push((field.name(), value.into()));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0
            .push((field.name(), Value::String(value.to_string())));
    }
}

impl<S, N> FormatEvent<S, N> for Lines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let meta = event.metadata();
        let request = pence_http::request_id();
        let line = if self.json {
            json_line(
                meta.level().as_str(),
                meta.target(),
                fields,
                request.as_deref(),
            )
        } else {
            text_line(
                meta.level().as_str(),
                meta.target(),
                fields,
                request.as_deref(),
            )
        };
        writeln!(writer, "{line}")
    }
}

fn json_line(level: &str, target: &str, fields: Fields, request: Option<&str>) -> String {
    // Written in order (a `serde_json::Map` would sort the keys): tracing's layout.
    let text = |v: &str| Value::from(v).to_string();
    let mut line = format!(
        "{{\"timestamp\":{},\"level\":{},\"fields\":{{",
        text(&pence_http::log_timestamp()),
        text(level)
    );
    for (i, (name, value)) in fields.0.iter().enumerate() {
        let comma = if i == 0 { "" } else { "," };
        let _ = write!(line, "{comma}{}:{value}", text(name));
    }
    let _ = write!(line, "}},\"target\":{}", text(target));
    if let Some(id) = request {
        let span = format!("{{\"request_id\":{},\"name\":\"request\"}}", text(id));
        let _ = write!(line, ",\"span\":{span},\"spans\":[{span}]");
    }
    line.push('}');
    line
}

fn text_line(level: &str, target: &str, fields: Fields, request: Option<&str>) -> String {
    let mut line = format!("{} {level:>5} ", pence_http::log_timestamp());
    if let Some(id) = request {
        let _ = write!(line, "request{{request_id={id}}}: ");
    }
    let _ = write!(line, "{target}:");
    for (name, value) in fields.0 {
        let value = match value {
            Value::String(s) => s,
            other => other.to_string(),
        };
        match name {
            "message" => {
                let _ = write!(line, " {value}");
            }
            _ => {
                let _ = write!(line, " {name}={value}");
            }
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> Fields {
        Fields(vec![
            ("message", "API key lookup failed".into()),
            ("error", "the database is closed".into()),
            ("tries", 3.into()),
        ])
    }

    /// Inside a request a line names it as tracing named the request's span.
    #[test]
    fn a_json_line_inside_a_request_names_it() {
        let line = json_line("ERROR", "pence_http::auth", fields(), Some("abc"));
        let value: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["level"], "ERROR");
        assert_eq!(value["target"], "pence_http::auth");
        assert_eq!(value["fields"]["message"], "API key lookup failed");
        assert_eq!(value["fields"]["tries"], 3);
        assert_eq!(value["span"]["request_id"], "abc");
        assert_eq!(value["spans"][0]["name"], "request");
        let outside = json_line("INFO", "pence::serve", fields(), None);
        let value: Value = serde_json::from_str(&outside).unwrap();
        assert!(value.get("span").is_none());
    }

    #[test]
    fn a_text_line_reads_as_tracings() {
        let line = text_line("WARN", "pence_http::auth", fields(), Some("abc"));
        let (_, rest) = line.split_once(' ').unwrap();
        assert_eq!(
            rest,
            " WARN request{request_id=abc}: pence_http::auth: API key lookup failed \
             error=the database is closed tries=3"
        );
    }
}
