//! The public API, `/v1/...`, behind API-key authentication.

mod agreements;
mod disputes;
mod moto;
mod payments;
mod refunds;

pub(crate) use payments::payment_response;

use axum::routing::{get, post};
use axum::{middleware, Router};

use crate::state::AppState;
use crate::{auth, errors};

/// `POST /v1/auth`, the one API route without an API key: its one-time token is the
/// credential (reference §8).
pub(crate) fn unauthenticated_routes() -> Router<AppState> {
    Router::new().route("/v1/auth", post(moto::authorise))
}

/// The API's routes, to be nested under `/v1`. Authentication wraps the fallbacks too, so
/// any `/v1/...` request without a valid key is a 401 before routing can say 404 or 405, as
/// GOV.UK Pay's authentication filter runs before its resources.
pub(crate) fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/payments", post(payments::create).get(payments::search))
        .route("/payments/{payment_id}", get(payments::get))
        .route("/refunds", get(refunds::search))
        .route("/disputes", get(disputes::search))
        .route(
            "/agreements",
            post(agreements::create).get(agreements::search),
        )
        .route("/agreements/{agreement_id}", get(agreements::get))
        .route(
            "/agreements/{agreement_id}/cancel",
            post(agreements::cancel),
        )
        .route("/payments/{payment_id}/cancel", post(payments::cancel))
        .route("/payments/{payment_id}/capture", post(payments::capture))
        .route("/payments/{payment_id}/events", get(payments::events))
        .route(
            "/payments/{payment_id}/refunds",
            post(refunds::create).get(refunds::list),
        )
        .route(
            "/payments/{payment_id}/refunds/{refund_id}",
            get(refunds::get),
        )
        .fallback(errors::not_found)
        .method_not_allowed_fallback(errors::method_not_allowed)
        // The key, the rate limit, then test services' fault rules.
        .layer(middleware::from_fn_with_state(state, auth::authenticate))
}
