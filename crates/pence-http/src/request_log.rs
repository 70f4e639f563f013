//! The access log: one line per request at info level — its request id, method, path, status,
//! duration, the service it was made as, and why it was turned away when it was (a 401's
//! reason). A next_url token in the path is a bearer secret and is logged as `/secure/…`;
//! query strings (search filters: emails, names) and bodies (card details) never are.
//!
//! Each request has an id: the client's `X-Request-Id` when it is a sensible one, else a new
//! one; it is answered in `X-Request-Id` and on every log line of the request (a span). The
//! request is counted and timed for `/metrics` here too.

use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::auth::{MadeBy, Turned};
use crate::state::AppState;
use crate::telemetry::Route;

const REQUEST_ID: &str = "x-request-id";

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

pub async fn log_request(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let id = given_id(&req).unwrap_or_else(pence_core::ids::new_id);
    let method = req.method().clone();
    let path = loggable(req.uri().path()).to_string();
    let started = Instant::now();
    let span = tracing::info_span!("request", request_id = %id);
    let mut resp = next.run(req).instrument(span.clone()).await;
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
    if tracing::enabled!(tracing::Level::INFO) {
        let service = resp.extensions().get::<MadeBy>().map(|m| m.0.as_str());
        span.in_scope(|| {
            tracing::info!(
                %method,
                path,
                status,
                ms = took.as_secs_f64() * 1000.0,
                service,
                refused,
                "request"
            )
        });
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(REQUEST_ID, value);
    }
    resp
}
