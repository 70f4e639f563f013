//! Metrics of each request (`pence_telemetry`) and its request id: the route template a
//! request matched, noted by the routers (`marked`), is read back by the access log, which
//! counts and times every answer; `GET /metrics` renders them.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;

use crate::state::AppState;

/// The route template a request matched, as a response extension.
#[derive(Clone, Debug)]
pub(crate) struct Route(pub MatchedPath);

async fn note_route(matched: Option<MatchedPath>, req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    if let Some(m) = matched {
        resp.extensions_mut().insert(Route(m));
    }
    resp
}

/// `router` with each of its routes noting its template for the metrics.
pub(crate) fn marked<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router.route_layer(middleware::from_fn(note_route))
}

/// `GET /metrics`: Prometheus's text format, outbox counts read now.
pub(crate) async fn metrics(State(state): State<AppState>) -> Response {
    let counts = state
        .webhooks
        .webhook_message_counts()
        .await
        .unwrap_or_default();
    let (in_use, idle) = state.store.connections();
    let connections = pence_telemetry::Connections { in_use, idle };
    let body = state.telemetry.render(&counts, connections);
    let mut resp = body.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(pence_telemetry::CONTENT_TYPE),
    );
    resp
}
