//! The access log: one line per request at info level — method, path, status, duration, the
//! service it was made as, and why it was turned away when it was (a 401's reason). A next_url
//! token in the path is a bearer secret and is logged as `/secure/…`; query strings (search
//! filters: emails, names) and bodies (card details) never are.

use std::time::Instant;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

use crate::auth::{MadeBy, Turned};

fn loggable(path: &str) -> &str {
    if path.starts_with("/secure/") {
        "/secure/…"
    } else {
        path
    }
}

pub async fn log_request(req: Request, next: Next) -> Response {
    if !tracing::enabled!(tracing::Level::INFO) {
        return next.run(req).await;
    }
    let method = req.method().clone();
    let path = loggable(req.uri().path()).to_string();
    let started = Instant::now();
    let resp = next.run(req).await;
    let service = resp.extensions().get::<MadeBy>().map(|m| m.0.as_str());
    let refused = resp.extensions().get::<Turned>().map(|t| t.0);
    tracing::info!(
        %method,
        path,
        status = resp.status().as_u16(),
        ms = started.elapsed().as_secs_f64() * 1000.0,
        service,
        refused,
        "request"
    );
    resp
}
