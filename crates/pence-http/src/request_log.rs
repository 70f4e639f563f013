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
//! The line itself is written by `access_log`.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::response::Response;

use crate::access_log::{Line, TARGET};
use crate::authed::{MadeBy, Turned};
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
            Some(log) => log.write(&line),
            // A host without a writer of its own (tests, benchmarks) gets a span.
            None => tracing::info_span!("request", request_id = %id).in_scope(|| line.event()),
        }
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(REQUEST_ID, value);
    }
    resp
}
