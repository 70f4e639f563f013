//! The control API, `/sandbox/v1/...` (issue 15; `spec/pence-sandbox-openapi.json`): what a
//! test suite needs that GOV.UK Pay's sandbox cannot do, for test services only. A test
//! service's API key is the credential; a live service's key, like an unknown route, is
//! answered 404, so nothing here exists for live money. Calls are not rate limited: a test
//! suite's control calls must not use up the limits its API calls are testing.

mod clock;
mod emails;
mod errors;
pub(crate) mod faults;
mod fixtures;
mod pay;
mod snapshots;
mod webhooks;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{delete, get, post};
use axum::Router;

use crate::auth;
use crate::state::AppState;

pub(crate) use errors::SandboxProblem;

/// The control API's routes, to be nested under `/sandbox/v1`.
pub(crate) fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/clock",
            get(clock::get).post(clock::advance).delete(clock::reset),
        )
        .route("/emails", get(emails::list))
        .route("/faults", post(faults::create).get(faults::list))
        .route("/faults/{fault_id}", delete(faults::remove))
        .route("/fixtures", post(fixtures::create))
        .route("/reset", post(snapshots::reset))
        .route("/snapshots", get(snapshots::list).post(snapshots::save))
        .route(
            "/snapshots/{name}",
            get(snapshots::export)
                .put(snapshots::import)
                .delete(snapshots::remove)
                .layer(DefaultBodyLimit::max(snapshots::IMPORT_LIMIT)),
        )
        .route("/snapshots/{name}/restore", post(snapshots::restore))
        .route("/webhooks", post(webhooks::create).get(webhooks::list))
        .route("/webhooks/trigger", post(webhooks::trigger))
        .route(
            "/webhooks/messages/{message_id}/resend",
            post(webhooks::resend),
        )
        .route(
            "/webhooks/{webhook_id}",
            get(webhooks::get).patch(webhooks::update),
        )
        .route(
            "/webhooks/{webhook_id}/rotate-secret",
            post(webhooks::rotate_secret),
        )
        .route("/webhooks/{webhook_id}/messages", get(webhooks::messages))
        .route("/webhooks/{webhook_id}/report", get(webhooks::report))
        .route(
            "/webhooks/{webhook_id}/faults",
            get(webhooks::get_faults)
                .put(webhooks::set_faults)
                .delete(webhooks::clear_faults),
        )
        .route("/payments/{payment_id}/pay", post(pay::pay))
        .route("/payment_links/{link_id}/pay", post(pay::pay_link))
        .route("/payments/{payment_id}/abandon", post(pay::abandon))
        .route("/payments/{payment_id}/cancel", post(pay::cancel))
        .fallback(errors::not_found)
        .method_not_allowed_fallback(errors::method_not_allowed)
        .layer(middleware::from_fn_with_state(state, test_services_only))
}

/// A test service's key, or no control API at all.
async fn test_services_only(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match auth::service_of_key(&state, req.headers()).await {
        Ok(service) if !service.live => auth::run_as(service, req, |req| next.run(req)).await,
        Ok(_) => errors::not_found().await,
        Err(resp) => resp,
    }
}
