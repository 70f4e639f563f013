//! axum routers: the GOV.UK Pay public API (`/v1/...`) and health. Thin: parse, call
//! pence-core, map errors through the one error table. No axum rejection ever reaches a
//! client as plain text.

mod admin;
mod api;
mod auth;
mod errors;
mod health;
mod pages;
mod rate_limit;
mod request_log;
mod sandbox;
mod server;
mod state;
mod telemetry;

pub use pages::text::problem as card_problem_text;
pub use rate_limit::RateLimitConfig;
pub use request_log::{AccessLog, LineWriter};
pub use server::{serve, Limits};
pub use state::{AppState, AppStateParts};

use axum::Router;

/// The whole HTTP surface of a Pence node, `/metrics` included.
pub fn router(state: AppState) -> Router {
    public_router(state.clone()).merge(metrics_router(state))
}

/// `GET /metrics` alone, for a listen address of its own (kept off the public one).
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", axum::routing::get(telemetry::metrics))
        .with_state(state)
}

/// Everything but `/metrics`.
pub fn public_router(state: AppState) -> Router {
    let routes = Router::new()
        .merge(telemetry::marked(health::routes()))
        .merge(telemetry::marked(pages::routes()))
        .merge(telemetry::marked(admin::routes()))
        .merge(telemetry::marked(api::unauthenticated_routes()))
        .nest("/v1", telemetry::marked(api::routes(state.clone())))
        .nest(
            "/sandbox/v1",
            telemetry::marked(sandbox::routes(state.clone())),
        )
        .fallback(errors::not_found)
        .method_not_allowed_fallback(errors::method_not_allowed)
        .with_state(state.clone());
    around_all(
        routes,
        tower::ServiceBuilder::new()
            .layer(tower_http::catch_panic::CatchPanicLayer::custom(
                errors::panic_response,
            ))
            .layer(axum::middleware::from_fn_with_state(
                state,
                request_log::log_request,
            )),
    )
}

/// `layer` around `router` as a whole, once. `Router::layer` wraps each route instead, and
/// axum clones the whole chain below a layer at every layer a request passes (a `from_fn`
/// layer clones what it wraps on each call): stacked per-route layers cost more with each
/// one, while a layer around the router clones only the router (a reference count).
pub(crate) fn around_all<L>(router: Router, layer: L) -> Router
where
    L: tower::Layer<Router>,
    L::Service: tower::Service<axum::extract::Request, Error = std::convert::Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    <L::Service as tower::Service<axum::extract::Request>>::Response: axum::response::IntoResponse,
    <L::Service as tower::Service<axum::extract::Request>>::Future: Send + 'static,
{
    Router::new().fallback_service(layer.layer(router))
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::extract::MatchedPath;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;

    /// A layer around the router sees every route's request, the router still matches its
    /// routes (the matched path the metrics need), and a panicking handler is caught.
    #[tokio::test]
    async fn a_layer_around_the_router_reaches_every_route_and_catches_its_panics() {
        async fn boom() -> &'static str {
            panic!("a handler's bug")
        }
        let routes = Router::new().route("/boom", get(boom)).route(
            "/payments/{id}",
            get(|m: MatchedPath| async move { m.as_str().to_string() }),
        );
        let app = around_all(
            routes,
            tower_http::catch_panic::CatchPanicLayer::custom(errors::panic_response),
        );
        let call = |path: &str| {
            let request = Request::get(path).body(Body::empty()).unwrap();
            app.clone().oneshot(request)
        };
        let matched = call("/payments/abc").await.unwrap();
        assert_eq!(matched.status(), StatusCode::OK);
        let body = axum::body::to_bytes(matched.into_body(), 1024)
            .await
            .unwrap();
        assert_eq!(&body[..], b"/payments/{id}");
        let panicked = call("/boom").await.unwrap();
        assert_eq!(panicked.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            call("/nowhere").await.unwrap().status(),
            StatusCode::NOT_FOUND
        );
    }
}
