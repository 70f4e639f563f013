//! axum routers: the GOV.UK Pay public API (`/v1/...`) and health. Thin: parse, call
//! pence-core, map errors through the one error table. No axum rejection ever reaches a
//! client as plain text.

#![cfg_attr(not(test), warn(clippy::unwrap_used))]

mod access_log;
mod admin;
mod api;
mod auth;
mod authed;
mod errors;
mod health;
mod json_refusals;
pub(crate) mod link_pages;
mod links_api;
mod open_connections;
mod pages;
mod rate_limit;
mod request_log;
mod sandbox;
mod server;
mod state;
mod telemetry;

pub use access_log::{timestamp as log_timestamp, AccessLog, LineWriter};
pub use pages::text::problem as card_problem_text;

/// A payment link answer's refusal in its page's words: the field, and what it says.
pub fn link_answer_text(
    link: &pence_core::link::PaymentLink,
    problem: pence_core::link::payer::AnswerProblem,
) -> (&'static str, String) {
    let label = link.reference.as_ref().map_or("", |r| r.label.as_str());
    link_pages::text::for_language(link.language).answer_problem(problem, label)
}
pub use rate_limit::RateLimitConfig;
pub use request_log::request_id;
pub use server::{serve, Limits};
pub use state::{AppState, AppStateParts};

use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use axum::Router;
use futures_util::FutureExt;
use tower::ServiceExt;

/// The whole HTTP surface of a Pence node, `/metrics` included.
pub fn router(state: AppState) -> Front {
    Front::new(
        routes(state.clone()).merge(metrics_router(state.clone())),
        state,
    )
}

/// `GET /metrics` alone, for a listen address of its own (kept off the public one).
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", axum::routing::get(telemetry::metrics))
        .with_state(state)
}

/// Everything but `/metrics`.
pub fn public_router(state: AppState) -> Front {
    Front::new(routes(state.clone()), state)
}

fn routes(state: AppState) -> Router {
    Router::new()
        .merge(telemetry::marked(health::routes()))
        .merge(telemetry::marked(pages::routes()))
        .merge(telemetry::marked(link_pages::routes()))
        .merge(telemetry::marked(admin::routes()))
        .merge(telemetry::marked(api::unauthenticated_routes()))
        .merge(telemetry::marked(api::routes()))
        .nest(
            "/sandbox/v1",
            telemetry::marked(sandbox::routes(state.clone())),
        )
        .nest(
            "/pence/v1",
            telemetry::marked(links_api::routes(state.clone())),
        )
        .fallback(errors::not_found)
        .method_not_allowed_fallback(errors::method_not_allowed)
        .with_state(state)
}

/// What every request passes through, around the router: the request id, the access log and
/// the metrics (`request_log`), the panic guard, and for the public API the key, the rate
/// limit and test services' fault rules (`auth::authenticate`). One service with one boxed
/// future: as axum `from_fn` layers each of these boxed what it wrapped, a `Next` and its
/// future on every request, and a layer on the API's router wrapped each of its routes.
#[derive(Clone)]
pub struct Front {
    router: Router,
    state: AppState,
    /// The connection's client, given to handlers as `ConnectInfo` (sign-in counts guesses
    /// by it).
    peer: Option<std::net::SocketAddr>,
    /// Users reach the node over https: every answer tells browsers to keep to it (HSTS).
    https: bool,
}

/// A year of https only, as browsers are told when the node is reached over https.
const HSTS: axum::http::HeaderValue = axum::http::HeaderValue::from_static("max-age=31536000");

impl Front {
    fn new(router: Router, state: AppState) -> Front {
        Front {
            https: state.public_url.starts_with("https://"),
            router,
            state,
            peer: None,
        }
    }

    /// This front for a connection from `peer`.
    pub(crate) fn for_peer(&self, peer: std::net::SocketAddr) -> Front {
        Front {
            peer: Some(peer),
            ..self.clone()
        }
    }

    async fn answer(self, req: Request) -> Response {
        let state = self.state.clone();
        request_log::logged(&state, req, |req| guarded(self.route(req))).await
    }

    async fn route(self, mut req: Request) -> Response {
        let Front {
            router,
            state,
            peer,
            https,
        } = self;
        without_trailing_slash(&mut req);
        if let Some(nowhere) = nul_in_path(req.uri().path()) {
            return nowhere;
        }
        if let Some(peer) = peer {
            req.extensions_mut()
                .insert(axum::extract::ConnectInfo(peer));
        }
        let routed = |req| async move {
            match router.oneshot(req).await {
                Ok(resp) => resp,
                Err(never) => match never {},
            }
        };
        let json_only = json_answers(req.uri().path());
        let resp = if api::gated(req.uri().path()) {
            auth::authenticate(&state, req, routed).await
        } else {
            routed(req).await
        };
        let mut resp = match json_only {
            Some(kind) => as_json(kind, resp),
            None => resp,
        };
        if https {
            resp.headers_mut()
                .insert(axum::http::header::STRICT_TRANSPORT_SECURITY, HSTS);
        }
        resp
    }
}

/// A path holding a NUL character (`%00`) names no record of the admin tool or the control
/// API (no id holds one, and PostgreSQL text cannot): their 404, before any lookup. The
/// public API's handlers check their ids, answering each endpoint's own 404.
fn nul_in_path(path: &str) -> Option<Response> {
    if !path.contains("%00") {
        return None;
    }
    if path.starts_with("/admin/") {
        Some(admin::no_such_page())
    } else if path.starts_with("/sandbox/") || path.starts_with("/pence/") {
        Some(sandbox::SandboxProblem::not_found().into_response())
    } else {
        None
    }
}

/// Which JSON errors a path's answers take: every answer of the public API and the control
/// API is JSON, refusals by the framework (a body over its limit, an unreadable one)
/// included.
#[derive(Clone, Copy)]
enum JsonErrors {
    /// Dropwizard's `{"code": 413, "message": "HTTP 413 Payload Too Large"}`.
    Api,
    /// The control API's and the links API's `{"code": "S0413", "description": ...}`.
    Sandbox,
}

fn json_answers(path: &str) -> Option<JsonErrors> {
    if path.starts_with("/v1/") || path == "/v1" || path.starts_with("/healthcheck") {
        Some(JsonErrors::Api)
    } else if path.starts_with("/sandbox/") || path.starts_with("/pence/") {
        Some(JsonErrors::Sandbox)
    } else {
        None
    }
}

/// `resp`, or for an error answered in something other than JSON, the same status in JSON.
fn as_json(kind: JsonErrors, resp: Response) -> Response {
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"application/json"));
    if status.as_u16() < 400 || is_json {
        return resp;
    }
    let reason = status.canonical_reason().unwrap_or("Error");
    match kind {
        JsonErrors::Api => {
            errors::dropwizard(status, &format!("HTTP {} {reason}", status.as_u16()))
        }
        JsonErrors::Sandbox => sandbox::SandboxProblem::new(status, reason).into_response(),
    }
}

/// `/v1/payments/` is `/v1/payments`: GOV.UK Pay's frameworks (Jersey for the API, Express
/// for the pages) match a path with one trailing slash as the path without it, and services
/// in production send it. The path keeps its query.
fn without_trailing_slash(req: &mut Request) {
    let path = req.uri().path();
    if path.len() < 2 || !path.ends_with('/') {
        return;
    }
    let trimmed = match req.uri().query() {
        Some(query) => format!("{}?{query}", &path[..path.len() - 1]),
        None => path[..path.len() - 1].to_string(),
    };
    let mut parts = req.uri().clone().into_parts();
    if let Ok(path_and_query) = trimmed.parse() {
        parts.path_and_query = Some(path_and_query);
        if let Ok(uri) = axum::http::Uri::from_parts(parts) {
            *req.uri_mut() = uri;
        }
    }
}

/// `answer`, or the 500 a panic in it gets (a handler's bug must not end the connection
/// without an answer).
async fn guarded(answer: impl Future<Output = Response>) -> Response {
    AssertUnwindSafe(answer)
        .catch_unwind()
        .await
        .unwrap_or_else(errors::panic_response)
}

impl tower::Service<Request> for Front {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let front = self.clone();
        Box::pin(async move { Ok(front.answer(req).await) })
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;

    /// Marked routes put the template they matched on their answer (the metrics' label).
    #[tokio::test]
    async fn a_marked_route_notes_its_template() {
        let routes = telemetry::marked(Router::new().route("/payments/{id}", get(|| async { "" })));
        let request = Request::get("/payments/abc").body(Body::empty()).unwrap();
        let resp = routes.oneshot(request).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let route = resp.extensions().get::<telemetry::Route>().unwrap();
        assert_eq!(route.0.as_str(), "/payments/{id}");
    }

    /// A panic while answering is a 500 with the API's error body.
    #[tokio::test]
    async fn a_panic_is_answered() {
        let resp = guarded(async { panic!("a handler's bug") }).await;
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(resp.into_body(), 1024).await.unwrap();
        assert!(
            std::str::from_utf8(&body).unwrap().contains("P0198"),
            "{body:?}"
        );
    }

    #[test]
    fn the_api_gate_covers_every_v1_path_but_auth() {
        for path in [
            "/v1",
            "/v1/",
            "/v1/payments",
            "/v1/payments/x/",
            "/v1/auth/",
            "/v1/nothing",
        ] {
            assert!(api::gated(path), "{path}");
        }
        for path in [
            "/v1/auth",
            "/v10/payments",
            "/sandbox/v1/clock",
            "/healthcheck",
            "/",
        ] {
            assert!(!api::gated(path), "{path}");
        }
    }
}
