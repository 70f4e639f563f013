//! How the journey's handlers answer: a rendered page, a redirect, or, when a page cannot go
//! on, the message page its `PageError` calls for. Handlers return `Answer` and use `?`, as
//! the API's and the admin tool's do.

use askama::Template;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::PrivateCookieJar;
use pence_core::refusal::Failure;

use super::text::{self, Text};
use super::views::MessagePage;
use super::{html, protect};

pub(crate) type Answer = Result<Response, PageError>;

/// Why a page shows a message instead of what was asked for.
pub(crate) enum PageError {
    /// No such page or payment (404), in English: without the payment its language is
    /// unknown.
    NotFound,
    /// The browser's session does not hold the payment, or a form's token is not this
    /// session's (403).
    SessionLost {
        t: &'static Text,
        return_url: Option<String>,
    },
    /// The payment's link was used before, by another browser (403).
    LinkUsed {
        t: &'static Text,
        return_url: Option<String>,
    },
    /// A step failed below the page (503); logged with its cause.
    Failed(Failure),
}

impl From<Failure> for PageError {
    fn from(e: Failure) -> Self {
        PageError::Failed(e)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let en = &text::EN;
        match self {
            PageError::NotFound => message(
                StatusCode::NOT_FOUND,
                en,
                en.not_found_title,
                en.not_found_body,
                None,
            ),
            PageError::SessionLost { t, return_url } => message(
                StatusCode::FORBIDDEN,
                t,
                t.session_title,
                t.session_body,
                return_url.as_deref(),
            ),
            PageError::LinkUsed { t, return_url } => message(
                StatusCode::FORBIDDEN,
                t,
                t.used_title,
                t.used_body,
                return_url.as_deref(),
            ),
            PageError::Failed(e) => {
                tracing::error!(error = %crate::errors::chain(&e), "journey step failed");
                message(
                    StatusCode::SERVICE_UNAVAILABLE,
                    en,
                    en.error_title,
                    en.error_body,
                    None,
                )
            }
        }
    }
}

pub(crate) fn render(t: impl Template) -> String {
    t.render().unwrap_or_else(|e| {
        tracing::error!(error = %e, "template failed");
        String::from("Internal error")
    })
}

/// The message page: a title, a line, and the way back to the service when there is one.
pub(crate) fn message(
    status: StatusCode,
    t: &'static Text,
    title: &str,
    body: &str,
    return_url: Option<&str>,
) -> Response {
    let page = MessagePage {
        t,
        title,
        body,
        return_url,
        refresh: false,
    };
    html(status, render(page), return_url)
}

/// A redirect with the journey's protections, setting the session's cookie when given.
pub(crate) fn see_other(to: &str, jar: Option<PrivateCookieJar>) -> Response {
    let mut resp = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    protect(resp.headers_mut());
    match jar {
        Some(jar) => (jar, resp).into_response(),
        None => resp,
    }
}
