//! The public API, `/v1/...`, behind API-key authentication.

mod agreements;
mod disputes;
mod moto;
mod payments;
mod refunds;

pub(crate) use payments::payment_response;

use axum::routing::{get, post};
use axum::Router;

use crate::state::AppState;

/// `POST /v1/auth`, the one API route without an API key: its one-time token is the
/// credential (reference §8).
pub(crate) fn unauthenticated_routes() -> Router<AppState> {
    Router::new().route("/v1/auth", post(moto::authorise))
}

/// Whether `path` is behind the API's key (`auth::authenticate`): every `/v1/...` path but
/// `/v1/auth`, whether a route matches it or not, so that a request without a valid key is
/// a 401 before routing can say 404 or 405, as GOV.UK Pay's authentication filter runs
/// before its resources.
pub(crate) fn gated(path: &str) -> bool {
    (path == "/v1" || path.starts_with("/v1/")) && path != "/v1/auth"
}

/// The API's routes, by their whole paths (nesting under `/v1` would rewrite every request's
/// URI to take the prefix off).
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/payments", post(payments::create).get(payments::search))
        .route("/v1/payments/{payment_id}", get(payments::get))
        .route("/v1/refunds", get(refunds::search))
        .route("/v1/disputes", get(disputes::search))
        .route(
            "/v1/agreements",
            post(agreements::create).get(agreements::search),
        )
        .route("/v1/agreements/{agreement_id}", get(agreements::get))
        .route(
            "/v1/agreements/{agreement_id}/cancel",
            post(agreements::cancel),
        )
        .route("/v1/payments/{payment_id}/cancel", post(payments::cancel))
        .route("/v1/payments/{payment_id}/capture", post(payments::capture))
        .route("/v1/payments/{payment_id}/events", get(payments::events))
        .route(
            "/v1/payments/{payment_id}/refunds",
            post(refunds::create).get(refunds::list),
        )
        .route(
            "/v1/payments/{payment_id}/refunds/{refund_id}",
            get(refunds::get),
        )
}
