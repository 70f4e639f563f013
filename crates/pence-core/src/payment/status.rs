//! The payment state machine: GOV.UK Pay connector's internal statuses, how each shows on the
//! public API (reference §3.1–3.2), and which transitions are allowed (§3.3).

use std::fmt;

macro_rules! statuses {
    ($($name:ident = $text:literal,)*) => {
        /// Internal payment status (stored as its text, e.g. `ENTERING CARD DETAILS`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Status { $($name,)* }

        impl Status {
            pub const ALL: &'static [Status] = &[$(Status::$name),*];

            pub fn as_str(self) -> &'static str {
                match self { $(Status::$name => $text,)* }
            }

            pub fn parse(text: &str) -> Option<Status> {
                match text { $($text => Some(Status::$name),)* _ => None }
            }
        }
    };
}

statuses! {
    Created = "CREATED",
    EnteringCardDetails = "ENTERING CARD DETAILS",
    AuthorisationReady = "AUTHORISATION READY",
    AuthorisationUserNotPresentQueued = "AUTHORISATION USER NOT PRESENT QUEUED",
    Authorisation3dsRequired = "AUTHORISATION 3DS REQUIRED",
    Authorisation3dsReady = "AUTHORISATION 3DS READY",
    AuthorisationSubmitted = "AUTHORISATION SUBMITTED",
    AuthorisationSuccess = "AUTHORISATION SUCCESS",
    AuthorisationRejected = "AUTHORISATION REJECTED",
    AuthorisationAborted = "AUTHORISATION ABORTED",
    AuthorisationCancelled = "AUTHORISATION CANCELLED",
    AuthorisationError = "AUTHORISATION ERROR",
    AuthorisationTimeout = "AUTHORISATION TIMEOUT",
    AuthorisationUnexpectedError = "AUTHORISATION UNEXPECTED ERROR",
    AwaitingCaptureRequest = "AWAITING CAPTURE REQUEST",
    CaptureApproved = "CAPTURE APPROVED",
    CaptureApprovedRetry = "CAPTURE APPROVED RETRY",
    CaptureReady = "CAPTURE READY",
    CaptureSubmitted = "CAPTURE SUBMITTED",
    CaptureQueued = "CAPTURE QUEUED",
    Captured = "CAPTURED",
    CaptureError = "CAPTURE ERROR",
    ExpireCancelReady = "EXPIRE CANCEL READY",
    ExpireCancelSubmitted = "EXPIRE CANCEL SUBMITTED",
    ExpireCancelFailed = "EXPIRE CANCEL FAILED",
    Expired = "EXPIRED",
    UserCancelReady = "USER CANCEL READY",
    UserCancelSubmitted = "USER CANCEL SUBMITTED",
    UserCancelled = "USER CANCELLED",
    UserCancelError = "USER CANCEL ERROR",
    SystemCancelReady = "SYSTEM CANCEL READY",
    SystemCancelSubmitted = "SYSTEM CANCEL SUBMITTED",
    SystemCancelled = "SYSTEM CANCELLED",
    SystemCancelError = "SYSTEM CANCEL ERROR",
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The public `state` a status shows as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExternalState {
    pub status: &'static str,
    pub finished: bool,
    pub code: Option<&'static str>,
    pub message: Option<&'static str>,
}

const fn open(status: &'static str) -> ExternalState {
    ExternalState {
        status,
        finished: false,
        code: None,
        message: None,
    }
}

const fn done(status: &'static str, code: &'static str, message: &'static str) -> ExternalState {
    ExternalState {
        status,
        finished: true,
        code: Some(code),
        message: Some(message),
    }
}

pub const REJECTED: ExternalState = done("failed", "P0010", "Payment method rejected");
pub const EXPIRED: ExternalState = done("failed", "P0020", "Payment expired");
pub const USER_CANCELLED: ExternalState =
    done("failed", "P0030", "Payment was cancelled by the user");
pub const SERVICE_CANCELLED: ExternalState =
    done("cancelled", "P0040", "Payment was cancelled by the service");
pub const PROVIDER_ERROR: ExternalState =
    done("error", "P0050", "Payment provider returned an error");
pub const SUCCESS: ExternalState = ExternalState {
    status: "success",
    finished: true,
    code: None,
    message: None,
};

impl Status {
    pub fn external(self) -> ExternalState {
        use Status::*;
        match self {
            Created => open("created"),
            EnteringCardDetails
            | AuthorisationReady
            | AuthorisationUserNotPresentQueued
            | Authorisation3dsRequired
            | Authorisation3dsReady => open("started"),
            AuthorisationSuccess => open("submitted"),
            AwaitingCaptureRequest => open("capturable"),
            CaptureApproved | CaptureApprovedRetry | CaptureReady | CaptureSubmitted
            | CaptureQueued | Captured => SUCCESS,
            AuthorisationRejected | AuthorisationAborted | AuthorisationCancelled => REJECTED,
            ExpireCancelReady | ExpireCancelSubmitted | ExpireCancelFailed | Expired => EXPIRED,
            UserCancelReady | UserCancelSubmitted | UserCancelled | UserCancelError => {
                USER_CANCELLED
            }
            SystemCancelReady | SystemCancelSubmitted | SystemCancelled | SystemCancelError => {
                SERVICE_CANCELLED
            }
            AuthorisationSubmitted
            | AuthorisationError
            | AuthorisationTimeout
            | AuthorisationUnexpectedError
            | CaptureError => PROVIDER_ERROR,
        }
    }

    /// Whether the public state can no longer change: every status reachable from this one
    /// shows the same state (CAPTURED, EXPIRE CANCEL READY; not CAPTURE APPROVED, which can
    /// still fail). Such payments never again match a search differently, so the store may
    /// count them once for a search's total (`PaymentStore::freeze_final_payments`).
    pub fn state_is_final(self) -> bool {
        let state = self.external().status;
        let mut reached = vec![self];
        let mut next = 0;
        while let Some(&from) = reached.get(next) {
            next += 1;
            for &to in Status::ALL {
                if from.can_become(to) && !reached.contains(&to) {
                    reached.push(to);
                }
            }
        }
        reached.iter().all(|s| s.external().status == state)
    }

    /// Statuses after which nothing moves the payment on (the connector's graph has no exit).
    pub fn is_terminal(self) -> bool {
        Status::ALL.iter().all(|to| !self.can_become(*to))
    }

    /// Whether the connector's transition graph allows `self -> to`.
    pub fn can_become(self, to: Status) -> bool {
        use Status::*;
        let allowed: &[Status] = match self {
            Created => &[
                EnteringCardDetails,
                AuthorisationReady,
                AuthorisationUserNotPresentQueued,
                AuthorisationRejected,
                Expired,
                SystemCancelled,
                UserCancelled,
            ],
            EnteringCardDetails => &[
                AuthorisationReady,
                AuthorisationAborted,
                UserCancelled,
                SystemCancelled,
                Expired,
            ],
            // SYSTEM CANCELLED is not in the connector's graph (§3.3), but §6.2 lists
            // AUTHORISATION READY among the states the service may cancel (204). Pence
            // follows §6.2: the provider's answer that arrives after the cancel is dropped
            // and an authorisation voided (journey::settle_authorisation).
            AuthorisationReady => &[
                SystemCancelled,
                AuthorisationSuccess,
                AuthorisationRejected,
                AuthorisationError,
                AuthorisationTimeout,
                AuthorisationUnexpectedError,
                Authorisation3dsRequired,
                AuthorisationCancelled,
                AuthorisationSubmitted,
                AuthorisationAborted,
                UserCancelled,
                Expired,
            ],
            AuthorisationUserNotPresentQueued => &[AuthorisationReady],
            AuthorisationSubmitted => &[
                AuthorisationSuccess,
                AuthorisationRejected,
                AuthorisationError,
                Authorisation3dsRequired,
            ],
            Authorisation3dsRequired => &[
                Authorisation3dsReady,
                AuthorisationSuccess,
                AuthorisationRejected,
                AuthorisationCancelled,
                ExpireCancelReady,
                Expired,
                UserCancelled,
                UserCancelReady,
                SystemCancelled,
                SystemCancelReady,
            ],
            Authorisation3dsReady => &[
                AuthorisationSuccess,
                AuthorisationRejected,
                Authorisation3dsRequired,
                AuthorisationError,
                AuthorisationCancelled,
                ExpireCancelReady,
                Expired,
                SystemCancelled,
                SystemCancelReady,
                UserCancelled,
                UserCancelReady,
            ],
            AuthorisationSuccess => &[
                CaptureApproved,
                CaptureReady,
                CaptureQueued,
                AwaitingCaptureRequest,
                SystemCancelReady,
                UserCancelReady,
                ExpireCancelReady,
            ],
            AwaitingCaptureRequest => &[CaptureApproved, SystemCancelReady, ExpireCancelReady],
            CaptureQueued => &[CaptureReady, CaptureError],
            CaptureApproved => &[CaptureReady, CaptureError],
            CaptureApprovedRetry => &[CaptureReady, CaptureError, Captured],
            CaptureReady => &[
                CaptureSubmitted,
                CaptureError,
                CaptureApprovedRetry,
                Captured,
            ],
            CaptureSubmitted => &[CaptureError, Captured],
            ExpireCancelReady => &[ExpireCancelSubmitted, ExpireCancelFailed, Expired],
            ExpireCancelSubmitted => &[ExpireCancelFailed, Expired],
            SystemCancelReady => &[SystemCancelSubmitted, SystemCancelError, SystemCancelled],
            SystemCancelSubmitted => &[SystemCancelError, SystemCancelled],
            UserCancelReady => &[UserCancelSubmitted, UserCancelError, UserCancelled],
            UserCancelSubmitted => &[UserCancelError, UserCancelled],
            _ => &[],
        };
        allowed.contains(&to)
    }

    /// Refund availability before money moves (reference §5.1): `pending` until captured.
    pub fn refund_pending(self) -> bool {
        use Status::*;
        matches!(
            self,
            Created
                | EnteringCardDetails
                | AuthorisationReady
                | Authorisation3dsRequired
                | Authorisation3dsReady
                | AuthorisationSubmitted
                | AuthorisationSuccess
                | CaptureReady
                | CaptureApproved
                | CaptureApprovedRetry
                | CaptureSubmitted
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_states_are_the_finished_ones_nothing_can_change() {
        for s in Status::ALL {
            if s.state_is_final() {
                assert!(s.external().finished, "{s} is final but unfinished");
            }
            if s.is_terminal() {
                assert!(s.state_is_final(), "{s} is terminal");
            }
        }
        assert!(Status::Captured.state_is_final());
        assert!(Status::ExpireCancelReady.state_is_final());
        assert!(
            !Status::CaptureApproved.state_is_final(),
            "capture can still fail"
        );
        assert!(!Status::AuthorisationSubmitted.state_is_final());
        assert!(!Status::Created.state_is_final());
    }

    #[test]
    fn text_round_trips() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(*s));
        }
    }

    #[test]
    fn finished_payments_never_reopen() {
        // A finished payment may still move internally (a capture or a PSP cancel completing),
        // but never back to an unfinished public state.
        // AUTHORISATION SUBMITTED is GOV.UK Pay's one exception: it shows as `error` while the
        // PSP has still to answer.
        for from in Status::ALL {
            if !from.external().finished || *from == Status::AuthorisationSubmitted {
                continue;
            }
            for to in Status::ALL {
                if from.can_become(*to) {
                    assert!(to.external().finished, "{from} -> {to}");
                }
            }
        }
        assert!(Status::Captured.is_terminal());
        assert!(!Status::Created.is_terminal());
    }
}
