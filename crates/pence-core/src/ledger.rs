//! The ledger: what happened to a payment, one event per change, written in the same
//! transaction as the change (GOV.UK Pay's ledger event names), and the record a change
//! leaves: its events and the webhook messages they cause.

use crate::payment::PaymentRecord;
use crate::status::Status;
use crate::webhook::{self, EventType};

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

/// A webhook message a change causes: its type and the payment as the change left it (the
/// message's `resource`). The Store writes one outbox row per subscription that wants it.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub event_type: EventType,
    pub payment_id: String,
    pub service_id: String,
    pub at_ms: i64,
    /// The `resource` JSON: the payment as `GET /v1/payments/{id}` shows it, without links.
    pub resource: String,
}

/// An agreement a payment sets up: it becomes active with the payment's card, in the same
/// transaction as the payment's confirmation (reference §7).
#[derive(Debug, Clone, PartialEq)]
pub struct AgreementSetUp {
    pub agreement_id: String,
    pub service_id: String,
    pub instrument: crate::agreement::PaymentInstrument,
}

/// What one change records, in its own transaction: the ledger events and the webhook
/// messages they cause, and an agreement it sets up. Built here, so the Store never decides
/// what a service is told.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Record {
    pub events: Vec<LedgerEvent>,
    pub notices: Vec<Notice>,
    pub agreement_set_up: Option<AgreementSetUp>,
    /// An agreement whose card can no longer be used (`(agreement id, service id)`): a
    /// payment taken under it was refused for good.
    pub agreement_inactivated: Option<(String, String)>,
    /// The `Idempotency-Key` a new payment was created with.
    pub idempotency_key: Option<crate::idempotency::IdempotencyKey>,
    /// Emails to the paying user the change causes (`emails`).
    pub emails: Vec<crate::emails::Email>,
}

impl Record {
    /// `events` of a change that left the payment as `after`.
    pub fn of(events: Vec<LedgerEvent>, after: &PaymentRecord) -> Record {
        let mut resource = None;
        let notices = events
            .iter()
            .filter_map(|e| {
                let event_type = webhook::event_type(e)?;
                let resource = resource
                    .get_or_insert_with(|| {
                        serde_json::to_string(&crate::present::resource(after))
                            .expect("a payment serialises")
                    })
                    .clone();
                Some(Notice {
                    event_type,
                    payment_id: e.payment_id.clone(),
                    service_id: e.service_id.clone(),
                    at_ms: e.created_ms,
                    resource,
                })
            })
            .collect();
        Record {
            events,
            notices,
            agreement_set_up: None,
            agreement_inactivated: None,
            idempotency_key: None,
            emails: Vec::new(),
        }
    }

    /// One event of a change that left the payment as `after`.
    pub fn one(event: LedgerEvent, after: &PaymentRecord) -> Record {
        Record::of(vec![event], after)
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
