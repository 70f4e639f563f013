//! The admin tool under `/admin/`: staff sign in (password, then an authenticator code), see
//! the services they have a role on, find payments with the API's filters, and refund them
//! through the same use case as the API. Server-rendered (askama), no JavaScript, the card
//! pages' protections (CSP, no-store, no framing), CSRF on every form.

mod access;
mod agreements;
mod api_keys;
mod dashboard;
mod disputes;
mod download;
mod payment_links;
mod phone_payments;
mod session;
mod settings;
mod sign_in;
mod team;
mod transactions;
mod views;
mod webhooks;

use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin", get(transactions::services))
        .route(
            "/admin/login",
            get(sign_in::login_page).post(sign_in::login),
        )
        .route(
            "/admin/two-factor",
            get(sign_in::two_factor_page).post(sign_in::two_factor),
        )
        .route("/admin/logout", post(sign_in::logout))
        .route(
            "/admin/set-password/{token}",
            get(sign_in::set_password_page).post(sign_in::set_password),
        )
        .route(
            "/admin/services/{service_id}/transactions",
            get(transactions::list),
        )
        .route(
            "/admin/services/{service_id}/api-keys",
            get(api_keys::api_keys).post(api_keys::create_api_key),
        )
        .route(
            "/admin/services/{service_id}/api-keys/{key_id}/revoke",
            post(api_keys::revoke_api_key),
        )
        .route(
            "/admin/services/{service_id}/agreements",
            get(agreements::agreements),
        )
        .route(
            "/admin/services/{service_id}/agreements/{agreement_id}/cancel",
            post(agreements::cancel),
        )
        .route(
            "/admin/services/{service_id}/disputes",
            get(disputes::disputes),
        )
        .route(
            "/admin/services/{service_id}/payment-links",
            get(payment_links::list).post(payment_links::create),
        )
        .route(
            "/admin/services/{service_id}/payment-links/{link_id}",
            get(payment_links::show).post(payment_links::save),
        )
        .route(
            "/admin/services/{service_id}/payment-links/{link_id}/delete",
            post(payment_links::delete),
        )
        .route(
            "/admin/services/{service_id}/phone-payments",
            get(phone_payments::start).post(phone_payments::take),
        )
        .route(
            "/admin/services/{service_id}/phone-payments/{payment_id}",
            get(phone_payments::outcome),
        )
        .route(
            "/admin/services/{service_id}/dashboard",
            get(dashboard::dashboard),
        )
        .route(
            "/admin/services/{service_id}/settings",
            get(settings::settings).post(settings::save),
        )
        .route("/admin/services/{service_id}/audit", get(team::audit))
        .route(
            "/admin/services/{service_id}/team",
            get(team::team).post(team::invite),
        )
        .route(
            "/admin/services/{service_id}/team/{user_id}/role",
            post(team::change_role),
        )
        .route(
            "/admin/services/{service_id}/webhooks",
            get(webhooks::webhooks).post(webhooks::create_webhook),
        )
        .route(
            "/admin/services/{service_id}/webhooks/{webhook_id}",
            get(webhooks::webhook),
        )
        .route(
            "/admin/services/{service_id}/webhooks/{webhook_id}/rotate",
            post(webhooks::rotate_webhook_secret),
        )
        .route(
            "/admin/services/{service_id}/webhooks/{webhook_id}/events",
            post(webhooks::webhook_events),
        )
        .route(
            "/admin/services/{service_id}/webhooks/{webhook_id}/toggle",
            post(webhooks::toggle_webhook),
        )
        .route(
            "/admin/services/{service_id}/webhooks/{webhook_id}/messages/{message_id}/resend",
            post(webhooks::resend_message),
        )
        .route(
            "/admin/services/{service_id}/transactions/download",
            get(download::csv),
        )
        .route(
            "/admin/services/{service_id}/transactions/{payment_id}",
            get(transactions::payment),
        )
        .route(
            "/admin/services/{service_id}/transactions/{payment_id}/refund",
            post(transactions::refund),
        )
        .route(
            "/admin/services/{service_id}/transactions/{payment_id}/capture",
            post(transactions::capture),
        )
        .route(
            "/admin/services/{service_id}/transactions/{payment_id}/cancel",
            post(transactions::cancel),
        )
}

/// What an admin handler answers instead of its own page, so that handlers use `?` as the
/// API's do: a fault (logged; the problem page, 500) or another page (sign-in, not found, a
/// refused form).
pub(super) enum AdminError {
    Fault(String),
    // Boxed: a Response is large, and this is the error of every admin handler.
    Page(Box<Response>),
}

impl AdminError {
    /// A fault of any kind: logged, answered with the problem page.
    pub(super) fn fault(e: impl std::fmt::Display) -> Self {
        AdminError::Fault(e.to_string())
    }
}

/// An admin handler's answer.
pub(super) type Answer = Result<Response, AdminError>;

impl From<pence_core::StoreError> for AdminError {
    fn from(e: pence_core::StoreError) -> Self {
        AdminError::Fault(e.to_string())
    }
}

/// A use case's failure that the handler did not answer itself (its refusals come first).
impl From<pence_core::refusal::Failure> for AdminError {
    fn from(e: pence_core::refusal::Failure) -> Self {
        AdminError::Fault(e.to_string())
    }
}

impl From<Response> for AdminError {
    fn from(page: Response) -> Self {
        AdminError::Page(Box::new(page))
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        match self {
            AdminError::Fault(e) => failed(e),
            AdminError::Page(page) => *page,
        }
    }
}

/// A page with the card pages' protections.
/// A form that names a thing: a key's or a webhook's description, a webhook's URL.
#[derive(serde::Deserialize, Default)]
pub struct SettingsForm {
    #[serde(default, rename = "csrfToken")]
    csrf: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    url: String,
}

/// A page's `?note=` after a change (what was done, said on the page).
#[derive(serde::Deserialize, Default)]
pub struct NoteQuery {
    #[serde(default)]
    note: Option<String>,
}

fn page(status: StatusCode, view: impl Template) -> Response {
    match view.render() {
        Ok(body) => crate::pages::html(status, body, None),
        Err(e) => failed(e),
    }
}

fn failed(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "admin page failed");
    message(
        StatusCode::INTERNAL_SERVER_ERROR,
        None,
        "Sorry, there is a problem",
        "Try again later.",
    )
}

fn message(
    status: StatusCode,
    signed_in: Option<&session::SignedIn>,
    title: &str,
    text: &str,
) -> Response {
    let view = views::MessagePage {
        frame: views::Frame::message(signed_in.cloned(), title),
        text: text.to_string(),
    };
    match view.render() {
        Ok(body) => crate::pages::html(status, body, None),
        Err(_) => (status, title.to_string()).into_response(),
    }
}

fn not_found(signed_in: Option<&session::SignedIn>) -> Response {
    message(
        StatusCode::NOT_FOUND,
        signed_in,
        "Page not found",
        "There is no such page, or you do not have access to it.",
    )
}

/// A form's fields; anything unreadable is empty (and then refused by its checks, with the
/// page's own words rather than a framework's plain-text rejection).
/// A value holding a NUL character (which no stored text holds, and PostgreSQL text cannot)
/// is read as empty.
fn form<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> T {
    let has_nul = body.contains(&0) || body.windows(3).any(|w| w == b"%00");
    if !has_nul {
        return serde_urlencoded::from_bytes(body).unwrap_or_default();
    }
    let cleaned: Vec<(String, String)> = form_urlencoded::parse(body)
        .map(|(k, v)| {
            let v = if v.contains('\0') { "" } else { v.as_ref() };
            (k.into_owned(), v.to_string())
        })
        .collect();
    serde_urlencoded::to_string(&cleaned)
        .ok()
        .and_then(|text| serde_urlencoded::from_str(&text).ok())
        .unwrap_or_default()
}

/// The admin tool's page for a path holding a NUL character (`%00`): none names anything.
pub(crate) fn no_such_page() -> Response {
    not_found(None)
}

/// A redirect carrying the admin pages' protections.
fn see_other(to: &str) -> Response {
    let mut resp = Redirect::to(to).into_response();
    crate::pages::protect(resp.headers_mut());
    resp
}
