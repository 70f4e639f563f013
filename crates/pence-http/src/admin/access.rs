//! Who may see and do what in the admin tool, checked in one place: a signed-in member of staff
//! with a role on the service a path names (`OnService`; a service they have none on is not
//! found), that service's admins (`Admin`), money-moving actions by role, and every form's CSRF
//! token.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::PrivateCookieJar;
use pence_core::service::Service;
use pence_core::staff;
use pence_core::staff::Role;

use super::session::{require, Staff};
use super::{failed, message, not_found, AdminError};
use crate::state::AppState;

/// A member of staff at work on a service, with their role there.
pub(super) struct OnService {
    pub(super) staff: Staff,
    pub(super) role: Role,
    pub(super) service: Service,
}

impl OnService {
    /// Records what this member of staff did on this service (the audit log); a failure to
    /// record is logged, not shown.
    pub(super) async fn audit(&self, state: &AppState, action: &str, detail: &str) {
        let recorded = staff::operations::audit(
            state.store.as_ref(),
            state.clock.as_ref(),
            &self.staff.user,
            Some(&self.service.id),
            action,
            detail,
        )
        .await;
        if let Err(e) = recorded {
            tracing::error!(error = %e, action, "could not record an admin action");
        }
    }
}

/// Taken from a request under `/admin/services/{service_id}/…`: the signed-in member of staff
/// with a role on that service, or the page to answer instead (sign-in, or not found).
impl FromRequestParts<AppState> for OnService {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let jar =
            PrivateCookieJar::<axum_extra::extract::cookie::Key>::from_request_parts(parts, state)
                .await
                .map_err(IntoResponse::into_response)?;
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|_| not_found(None))?;
        let service_id = params.get("service_id").ok_or_else(|| not_found(None))?;
        on_service(state, &jar, service_id).await
    }
}

impl OnService {
    /// A form post's CSRF token checked: refused with the page saying the form has expired
    /// when it is not the session's.
    pub(super) fn check_form(&self, sent: &str) -> Result<(), AdminError> {
        if self.staff.csrf_ok(sent) {
            return Ok(());
        }
        Err(message(
            StatusCode::FORBIDDEN,
            Some(&self.staff.signed_in()),
            "This form has expired",
            "Go back, reload the page and try again.",
        )
        .into())
    }

    /// A money-moving action (refund, capture, cancel): refused unless the role allows it
    /// and the form's CSRF token is the session's.
    pub(super) fn action_refused(&self, sent: &str) -> Option<Response> {
        if self.role.can_refund() && self.staff.csrf_ok(sent) {
            return None;
        }
        Some(message(
            StatusCode::FORBIDDEN,
            Some(&self.staff.signed_in()),
            "You cannot do this",
            "Your role on this service, or this form, does not allow it.",
        ))
    }
}

/// The member of staff, their role and the service, or the page to answer instead (a
/// service they have no role on is not found, as if it did not exist).
async fn on_service(
    state: &AppState,
    jar: &PrivateCookieJar,
    service_id: &str,
) -> Result<OnService, Response> {
    let staff = require(state, jar).await?;
    match staff::views::on_service(state.store.as_ref(), &staff.user.id, service_id).await {
        Ok(Some((service, role))) => Ok(OnService {
            staff,
            role,
            service,
        }),
        Ok(None) => Err(not_found(Some(&staff.signed_in()))),
        Err(e) => Err(failed(e)),
    }
}

/// A service's admin (settings, keys, webhooks and the team are theirs alone); other roles
/// get a page saying so.
pub(super) struct Admin(pub(super) OnService);

impl FromRequestParts<AppState> for Admin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let on = OnService::from_request_parts(parts, state).await?;
        if !on.role.can_administer() {
            return Err(message(
                StatusCode::FORBIDDEN,
                Some(&on.staff.signed_in()),
                "Only admins can do this",
                "Ask an admin of this service.",
            ));
        }
        Ok(Admin(on))
    }
}
