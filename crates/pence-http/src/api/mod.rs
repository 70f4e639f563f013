//! The public API, `/v1/...`, behind API-key authentication.

mod disputes;
mod payments;
mod refunds;

use axum::routing::{get, post};
use axum::{middleware, Router};

use crate::auth;
use crate::state::AppState;

pub(crate) fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/v1/payments", post(payments::create).get(payments::search))
        .route("/v1/payments/{payment_id}", get(payments::get))
        .route("/v1/refunds", get(refunds::search))
        .route("/v1/disputes", get(disputes::search))
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
        .route_layer(middleware::from_fn_with_state(state, auth::authenticate))
}
