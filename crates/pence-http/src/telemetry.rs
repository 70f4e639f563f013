//! Metrics of each request (`pence_telemetry`) and its request id: the route template a
//! request matched, noted by the routers (`marked`), is read back by the access log, which
//! counts and times every answer; `GET /metrics` renders them.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Router;

use crate::state::AppState;

/// The route template a request matched, as a response extension.
#[derive(Clone, Debug)]
pub(crate) struct Route(pub MatchedPath);

/// `router` with each of its routes noting its template for the metrics.
pub(crate) fn marked<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router.route_layer(tower::layer::layer_fn(|inner| NoteRoute { inner }))
}

/// A route that copies the template it matched onto its answer. Written out rather than
/// as an axum `from_fn` layer, which boxes what it wraps and its future on every request.
#[derive(Clone)]
pub(crate) struct NoteRoute<S> {
    inner: S,
}

impl<S> tower::Service<Request> for NoteRoute<S>
where
    S: tower::Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Noted<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let matched = req.extensions().get::<MatchedPath>().cloned();
        Noted {
            inner: self.inner.call(req),
            matched,
        }
    }
}

pin_project_lite::pin_project! {
    /// A route's answer, to be marked with its template.
    pub(crate) struct Noted<F> {
        #[pin]
        inner: F,
        matched: Option<MatchedPath>,
    }
}

impl<F, E> Future for Noted<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut resp = std::task::ready!(this.inner.poll(cx))?;
        if let Some(m) = this.matched.take() {
            resp.extensions_mut().insert(Route(m));
        }
        Poll::Ready(Ok(resp))
    }
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
