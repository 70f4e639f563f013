//! The paying user's pages behind next_url (reference §3.5), server-rendered, working
//! without JavaScript: token exchange, card details, 3-D Secure, confirm, cancel, return.
//! GOV.UK Pay's paths, element ids and field names, so existing browser tests run unchanged.
//! Each page first finds where the payment's state says the user should be, so the back
//! button, a reload or a second tab always lands on the right page.

pub(crate) mod answer;
mod handlers;
pub(crate) mod session;
pub(crate) mod text;
mod views;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use pence_core::payment::status::Status;
use pence_core::payment::PaymentRecord;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/secure/{token}", get(handlers::secure_get))
        .route("/secure", post(handlers::secure_post))
        .route(
            "/card_details/{id}",
            get(handlers::card_page).post(handlers::card_submit),
        )
        .route(
            "/card_details/{id}/3ds_required",
            get(handlers::three_ds_page),
        )
        .route(
            "/card_details/{id}/3ds_required_in",
            post(handlers::three_ds_submit),
        )
        .route(
            "/card_details/{id}/confirm",
            get(handlers::confirm_page).post(handlers::confirm_submit),
        )
        .route("/card_details/{id}/cancel", post(handlers::cancel_submit))
        .route("/return/{id}", get(handlers::return_to_service))
        .route("/assets/pence.css", get(stylesheet))
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../templates/pence.css"),
    )
        .into_response()
}

/// Where a payment's state sends the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    CardDetails,
    Waiting,
    ThreeDs,
    Confirm,
    /// Back to the service: paid, awaiting the service's capture, or cancelled by the user.
    Return,
    Declined,
    Error,
    Expired,
    CancelledByService,
}

pub(crate) fn stage(p: &PaymentRecord) -> Stage {
    use Status::*;
    match p.status {
        Created | EnteringCardDetails => Stage::CardDetails,
        AuthorisationReady | Authorisation3dsReady | AuthorisationSubmitted => Stage::Waiting,
        Authorisation3dsRequired => Stage::ThreeDs,
        AuthorisationSuccess => Stage::Confirm,
        s => match s.external().status {
            "success" | "capturable" => Stage::Return,
            "cancelled" => Stage::CancelledByService,
            "error" => Stage::Error,
            _ => match s.external().code {
                Some("P0020") => Stage::Expired,
                Some("P0030") => Stage::Return,
                _ => Stage::Declined,
            },
        },
    }
}

/// The page a stage lives on.
pub(crate) fn path_for(p: &PaymentRecord) -> String {
    match stage(p) {
        Stage::ThreeDs => format!("/card_details/{}/3ds_required", p.id),
        Stage::Confirm => format!("/card_details/{}/confirm", p.id),
        Stage::Return => format!("/return/{}", p.id),
        _ => format!("/card_details/{}", p.id),
    }
}

/// The origin of a URL (`scheme://host[:port]`), for the CSP's form-action.
fn origin(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some(&url[..url.len() - rest.len() + end])
}

/// An HTML page with the card pages' protections: never cached, no framing, a CSP that
/// allows only our stylesheet and form posts to us (and redirects on to the service).
pub(crate) fn html(status: StatusCode, body: String, return_url: Option<&str>) -> Response {
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    protect(h);
    // Chromium applies form-action to the redirect after Confirm, so the service's origin
    // is allowed too on pages with a form that leads back to it.
    if let Some(o) = return_url.and_then(origin) {
        if let Ok(v) = HeaderValue::from_str(&csp(&format!("'self' {o}"))) {
            h.insert(header::CONTENT_SECURITY_POLICY, v);
        }
    }
    resp
}

fn csp(form_action: &str) -> String {
    format!(
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action {form_action}; \
         frame-ancestors 'none'; base-uri 'none'"
    )
}

/// Headers every journey response carries, redirects included: never cached, no framing,
/// no sniffing, no referrer, and the strict CSP.
pub(crate) fn protect(h: &mut axum::http::HeaderMap) {
    if let Ok(v) = HeaderValue::from_str(&csp("'self'")) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

#[cfg(test)]
mod tests {
    #[test]
    fn origin() {
        assert_eq!(
            super::origin("https://a.b:8080/x?y"),
            Some("https://a.b:8080")
        );
        assert_eq!(super::origin("http://a.b"), Some("http://a.b"));
        assert_eq!(super::origin("nope"), None);
    }
}
