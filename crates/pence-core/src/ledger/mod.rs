//! The ledger: what happened to a payment, one event per change, written in the same
//! transaction as the change (GOV.UK Pay's ledger event names), and the record a change
//! leaves: its events and the webhook messages they cause.

pub mod record;

use crate::payment::status::Status;
use crate::payment::PaymentRecord;

macro_rules! kinds {
    ($($name:ident = $text:literal,)*) => {
        /// A ledger event's name, stored as its text (e.g. `PAYMENT_CREATED`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum EventKind { $($name,)* }

        impl EventKind {
            pub const ALL: &'static [EventKind] = &[$(EventKind::$name),*];

            pub fn as_str(self) -> &'static str {
                match self { $(EventKind::$name => $text,)* }
            }

            pub fn parse(text: &str) -> Option<EventKind> {
                match text { $($text => Some(EventKind::$name),)* _ => None }
            }
        }
    };
}

kinds! {
    PaymentCreated = "PAYMENT_CREATED",
    PaymentStarted = "PAYMENT_STARTED",
    PaymentDetailsEntered = "PAYMENT_DETAILS_ENTERED",
    PaymentDetailsSubmittedByApi = "PAYMENT_DETAILS_SUBMITTED_BY_API",
    GatewayRequires3dsAuthorisation = "GATEWAY_REQUIRES_3DS_AUTHORISATION",
    ThreeDsResultReceived = "3DS_RESULT_RECEIVED",
    AuthorisationSucceeded = "AUTHORISATION_SUCCEEDED",
    AuthorisationRejected = "AUTHORISATION_REJECTED",
    AuthorisationCancelled = "AUTHORISATION_CANCELLED",
    GatewayErrorDuringAuthorisation = "GATEWAY_ERROR_DURING_AUTHORISATION",
    GatewayTimeoutDuringAuthorisation = "GATEWAY_TIMEOUT_DURING_AUTHORISATION",
    UnexpectedGatewayErrorDuringAuthorisation = "UNEXPECTED_GATEWAY_ERROR_DURING_AUTHORISATION",
    UserApprovedForCapture = "USER_APPROVED_FOR_CAPTURE",
    UserApprovedForCaptureAwaitingServiceApproval =
        "USER_APPROVED_FOR_CAPTURE_AWAITING_SERVICE_APPROVAL",
    ServiceApprovedForCapture = "SERVICE_APPROVED_FOR_CAPTURE",
    QueuedForCapture = "QUEUED_FOR_CAPTURE",
    CaptureSubmitted = "CAPTURE_SUBMITTED",
    CaptureConfirmed = "CAPTURE_CONFIRMED",
    CancelledByUser = "CANCELLED_BY_USER",
    CancelledByExternalService = "CANCELLED_BY_EXTERNAL_SERVICE",
    CancelledByExpiration = "CANCELLED_BY_EXPIRATION",
    PaymentExpired = "PAYMENT_EXPIRED",
    PaymentSettled = "PAYMENT_SETTLED",
    RefundCreatedByService = "REFUND_CREATED_BY_SERVICE",
    RefundSucceeded = "REFUND_SUCCEEDED",
    RefundError = "REFUND_ERROR",
    DisputeCreated = "DISPUTE_CREATED",
    DisputeEvidenceSubmitted = "DISPUTE_EVIDENCE_SUBMITTED",
    DisputeWon = "DISPUTE_WON",
    DisputeLost = "DISPUTE_LOST",
    AgreementCreated = "AGREEMENT_CREATED",
    AgreementCancelledByService = "AGREEMENT_CANCELLED_BY_SERVICE",
    AgreementSetUp = "AGREEMENT_SET_UP",
    AgreementInactivated = "AGREEMENT_INACTIVATED",
    AuthorisationUserNotPresentQueued = "AUTHORISATION_USER_NOT_PRESENT_QUEUED",
    PaymentDetailsTakenFromPaymentInstrument = "PAYMENT_DETAILS_TAKEN_FROM_PAYMENT_INSTRUMENT",
    PaymentInstrumentConfirmed = "PAYMENT_INSTRUMENT_CONFIRMED",
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happened to a payment, written in the same transaction as the change it records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEvent {
    pub payment_id: String,
    pub service_id: String,
    pub kind: EventKind,
    /// The internal status the payment moved to.
    pub status: Status,
    pub created_ms: i64,
}

impl LedgerEvent {
    /// An event of `p` recording its move to `status`.
    pub fn new(p: &PaymentRecord, kind: EventKind, status: Status, at_ms: i64) -> Self {
        LedgerEvent {
            payment_id: p.id.clone(),
            service_id: p.service_id.clone(),
            kind,
            status,
            created_ms: at_ms,
        }
    }

    /// An event of `p` in the status it has.
    pub fn for_payment(p: &PaymentRecord, kind: EventKind, at_ms: i64) -> Self {
        Self::new(p, kind, p.status, at_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.as_str()), Some(*k));
        }
        assert_eq!(EventKind::parse("NOT_AN_EVENT"), None);
    }
}
