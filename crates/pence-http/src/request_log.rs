//! One debug log line per request: method, path, status, duration. A next_url token in the
//! path is a bearer secret and is logged as `/secure/…`. Bodies (card details) never are.

use std::time::Instant;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

fn loggable(path: &str) -> &str {
    if path.starts_with("/secure/") {
        "/secure/…"
    } else {
        path
    }
}

pub async fn log_request(req: Request, next: Next) -> Response {
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return next.run(req).await;
    }
    let method = req.method().clone();
    let path = loggable(req.uri().path()).to_string();
    let started = Instant::now();
    let resp = next.run(req).await;
    tracing::debug!(
        %method,
        path,
        status = resp.status().as_u16(),
        micros = started.elapsed().as_micros() as u64,
        "request"
    );
    resp
}
