//! The admin tool's people: staff users with a role on each service they work on (GOV.UK
//! Pay's three), passwords (argon2id), an authenticator app's codes (TOTP), sessions that
//! expire, and an audit log of what they did.

pub mod operations;
pub mod secrets;
pub mod views;

use serde::Serialize;

use crate::clock::Clock;
use crate::ids;

/// What a user may do on a service (GOV.UK Pay's roles).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Role {
    Admin,
    ViewAndRefund,
    ViewOnly,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::ViewAndRefund, Role::ViewOnly];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::ViewAndRefund => "view-and-refund",
            Role::ViewOnly => "view-only",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Refund, capture and cancel.
    pub fn can_refund(self) -> bool {
        matches!(self, Role::Admin | Role::ViewAndRefund)
    }

    /// Keys, webhooks, settings and people.
    pub fn can_administer(self) -> bool {
        self == Role::Admin
    }
}

/// A member of staff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub email: String,
    /// argon2id PHC string; `None` until the user sets one from their link.
    pub password_hash: Option<String>,
    /// The authenticator app's shared secret (base32), once set up is started.
    pub totp_secret: Option<String>,
    /// The app gave a right code once: sign-ins now ask for one.
    pub totp_confirmed: bool,
    pub disabled: bool,
    pub created_ms: i64,
}

/// A signed-in browser: stored by the SHA-256 of the cookie's random id, so the database
/// alone cannot be used to take over a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffSession {
    pub id_hash: String,
    pub user_id: String,
    /// Every form of the session carries it.
    pub csrf: String,
    pub created_ms: i64,
    pub expires_ms: i64,
    /// When the second factor was given; until then only the code pages are open.
    pub two_factor_ms: Option<i64>,
}

/// What inviting a user writes beside them: their role on a service, and the hash of the
/// one-time link that lets them set a password.
#[derive(Debug, Clone, Copy)]
pub struct Invitation<'a> {
    pub service_id: &'a str,
    pub role: Role,
    pub link_hash: &'a str,
    pub link_expires_ms: i64,
}

/// One thing a user did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub id: String,
    pub user_id: String,
    pub service_id: Option<String>,
    pub action: String,
    pub detail: String,
    pub created_ms: i64,
}

/// Who makes a change. Only staff's changes are audited: the audit log is of what people did
/// in the admin tool, as GOV.UK Pay's is.
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    /// A member of staff, signed in to the admin tool.
    Staff(&'a User),
    /// A service's own software, through the API or the control API.
    Service,
    /// Whoever runs the command line on the node's own database.
    Operator,
}

impl Actor<'_> {
    /// The audit row of this actor's change, if it is audited.
    pub(crate) fn entry(
        &self,
        clock: &dyn Clock,
        service_id: Option<&str>,
        action: &str,
        detail: String,
    ) -> Option<AuditEntry> {
        let Actor::Staff(user) = self else {
            return None;
        };
        Some(AuditEntry {
            id: ids::new_id(),
            user_id: user.id.clone(),
            service_id: service_id.map(str::to_string),
            action: action.to_string(),
            detail,
            created_ms: clock.now_ms(),
        })
    }

    pub(crate) fn is(&self, user: &User) -> bool {
        matches!(self, Actor::Staff(me) if me.id == user.id)
    }
}
