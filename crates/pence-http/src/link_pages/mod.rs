//! A payment link's own pages, for anyone it is sent to (no login), at GOV.UK Pay's paths
//! (pay-products-ui): the friendly address `/payments/{service}/{link}`, then the start page
//! `/pay/{id}`, the reference and amount pages when the link asks for them, the confirm page
//! that creates the payment and hands over to the card pages, and `/payment-complete/{id}`,
//! where the card pages send the payer back.

mod handlers;
mod session;
pub(crate) mod text;
mod views;

use axum::routing::get;
use axum::Router;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/payments/{service}/{link}", get(handlers::friendly))
        .route("/redirect/{service}/{link}", get(handlers::friendly))
        .route("/pay/{id}", get(handlers::start))
        .route(
            "/pay/{id}/reference",
            get(handlers::reference_get).post(handlers::reference_post),
        )
        .route(
            "/pay/{id}/amount",
            get(handlers::amount_get).post(handlers::amount_post),
        )
        .route(
            "/pay/{id}/confirm",
            get(handlers::confirm_get).post(handlers::confirm_post),
        )
        .route("/payment-complete/{id}", get(handlers::complete))
}
