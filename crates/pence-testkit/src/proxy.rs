//! A checking proxy in front of a node, for clients the tests do not write the requests of
//! (`pence-client`, the connector, the example service): every public-API and control-API
//! response passing through is validated against its spec. A response that breaks it is
//! replaced by a 502 naming the violation, so whatever made the call fails loudly, and is
//! kept for `violations()`.

use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::spec;

#[derive(Clone)]
struct Upstream {
    target: String,
    http: reqwest::Client,
    violations: Arc<Mutex<Vec<String>>>,
}

pub struct SpecProxy {
    /// Point clients here instead of at the node.
    pub url: String,
    violations: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl SpecProxy {
    /// A proxy to `target` (a node's URL) on a free loopback port.
    pub async fn start(target: &str) -> SpecProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let violations = Arc::new(Mutex::new(Vec::new()));
        let upstream = Upstream {
            target: target.trim_end_matches('/').to_string(),
            http: reqwest::Client::new(),
            violations: violations.clone(),
        };
        let app = axum::Router::new().fallback(forward).with_state(upstream);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        SpecProxy {
            url,
            violations,
            task,
        }
    }

    /// The violations seen so far.
    pub fn violations(&self) -> Vec<String> {
        self.violations.lock().unwrap().clone()
    }
}

impl Drop for SpecProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

const HOP_BY_HOP: [&str; 4] = ["connection", "transfer-encoding", "content-length", "host"];

fn copy_headers(from: &HeaderMap) -> HeaderMap {
    let mut to = HeaderMap::new();
    for (name, value) in from {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            to.append(HeaderName::from(name), value.clone());
        }
    }
    to
}

async fn forward(State(up): State<Upstream>, req: Request) -> Response {
    let method = req.method().clone();
    let path_and_query = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let path = req.uri().path().to_string();
    let headers = copy_headers(req.headers());
    let body: Bytes = match axum::body::to_bytes(req.into_body(), 16 << 20).await {
        Ok(b) => b,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    let sent = up
        .http
        .request(method.clone(), format!("{}{path_and_query}", up.target))
        .headers(headers)
        .body(body)
        .send()
        .await;
    let resp = match sent {
        Ok(r) => r,
        Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    };
    let status = resp.status();
    let headers = copy_headers(resp.headers());
    let bytes = resp.bytes().await.unwrap_or_default();
    if path.starts_with("/v1/") || path.starts_with("/sandbox/v1/") {
        let json: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if let Err(e) = spec::validate_response(method.as_str(), &path, status.as_u16(), &json) {
            let violation = format!("{method} {path} -> {status} breaks the spec {e}");
            up.violations.lock().unwrap().push(violation.clone());
            let body = json!({"code": "SPEC", "description": violation});
            return (StatusCode::BAD_GATEWAY, axum::Json(body)).into_response();
        }
    }
    let mut out = Response::new(Body::from(bytes));
    *out.status_mut() = status;
    *out.headers_mut() = headers;
    out
}
