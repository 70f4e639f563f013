//! Webhooks (reference §14): which ledger events a service is told about, under which event
//! type, and the `Pay-Signature` of a message body; subscriptions; messages and their
//! delivery ladder. The outbox rows are written by the Store with each change; sending them
//! is `pence-webhooks`' job.

pub mod chaos;
pub mod delivery;
pub mod queries;
pub mod subscription;

pub use delivery::{Attempt, DeliveryFaults, DeliveryStatus, Message};

/// The node's webhook delivery as a test service's clock move drives it (issue 31): the
/// messages that fall due on the way are attempted dated when each was due, and a failed
/// attempt's retry that falls due before the move ends is made too, at its rung. Delivery
/// lives in `pence-webhooks`; the clock move only needs this much of it.
#[async_trait::async_trait]
pub trait DueDelivery: Send + Sync {
    /// Attempts every pending message of `service_id` due by `until_ms` on its clock, in the
    /// order they fall due, each dated at that time (one left waiting by a stopped delivery
    /// too, as if delivery had kept up); how many attempts.
    async fn deliver_due(
        &self,
        service_id: &str,
        until_ms: i64,
    ) -> Result<usize, crate::StoreError>;
}

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::ledger::{EventKind, LedgerEvent};

/// The event types a subscription can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    /// The user opened the payment page. GOV.UK Pay defines it but never sends it; Pence does.
    Started,
    Succeeded,
    Captured,
    Refunded,
    Failed,
    Expired,
    /// The sandbox paid the money out (documented by GOV.UK Pay, not sent by its code).
    Settled,
}

impl EventType {
    pub const ALL: [EventType; 7] = [
        EventType::Started,
        EventType::Succeeded,
        EventType::Captured,
        EventType::Refunded,
        EventType::Failed,
        EventType::Expired,
        EventType::Settled,
    ];

    /// What a subscription that names no types gets: the types GOV.UK Pay sends. It defines
    /// `card_payment_started` but never sends it, so Pence sends it only when asked for.
    pub const DEFAULT: [EventType; 6] = [
        EventType::Succeeded,
        EventType::Captured,
        EventType::Refunded,
        EventType::Failed,
        EventType::Expired,
        EventType::Settled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Started => "card_payment_started",
            EventType::Succeeded => "card_payment_succeeded",
            EventType::Captured => "card_payment_captured",
            EventType::Refunded => "card_payment_refunded",
            EventType::Failed => "card_payment_failed",
            EventType::Expired => "card_payment_expired",
            EventType::Settled => "card_payment_settled",
        }
    }

    pub fn parse(s: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// The webhook event a ledger event causes, if any (§14's table). Cancels and expiries that
/// go through a provider void are recorded twice (the step before the void, then the end);
/// only the end is an event.
pub fn event_type(e: &LedgerEvent) -> Option<EventType> {
    use crate::payment::status::Status as S;
    let finished = !matches!(
        e.status,
        S::UserCancelReady
            | S::UserCancelSubmitted
            | S::SystemCancelReady
            | S::SystemCancelSubmitted
            | S::ExpireCancelReady
            | S::ExpireCancelSubmitted
    );
    use EventKind::*;
    Some(match e.kind {
        PaymentStarted => EventType::Started,
        UserApprovedForCapture | ServiceApprovedForCapture | QueuedForCapture => {
            EventType::Succeeded
        }
        CaptureConfirmed => EventType::Captured,
        RefundSucceeded => EventType::Refunded,
        AuthorisationRejected
        | AuthorisationCancelled
        | GatewayErrorDuringAuthorisation
        | GatewayTimeoutDuringAuthorisation
        | UnexpectedGatewayErrorDuringAuthorisation
        | CancelledByExternalService
        | CancelledByUser
            if finished =>
        {
            EventType::Failed
        }
        CancelledByExpiration | PaymentExpired if finished => EventType::Expired,
        PaymentSettled => EventType::Settled,
        _ => return None,
    })
}

/// `Pay-Signature`: HMAC-SHA256 of the exact body bytes, keyed with the secret's UTF-8 bytes,
/// in lower-case hex.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Where a service wants to hear about which events, and which of its secrets signs
/// what it hears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// External id, like GOV.UK Pay's.
    pub id: String,
    pub service_id: String,
    /// Six base-32 digits unique to this subscription; its messages' ids end with it, so one
    /// statement can create every subscription's message for an event with distinct ids.
    pub tag: String,
    pub callback_url: String,
    pub description: String,
    pub event_types: Vec<EventType>,
    pub active: bool,
    /// Which of its secrets signs new messages (rotation adds one).
    pub secret_version: i64,
    pub created_ms: i64,
    pub updated_ms: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payment::status::Status;

    fn event(kind: &str, status: Status) -> LedgerEvent {
        LedgerEvent {
            payment_id: "p".into(),
            service_id: "s".into(),
            kind: EventKind::parse(kind).unwrap(),
            status,
            created_ms: 0,
        }
    }

    // `Captured` and `Expired` name both a status and an event type here: the lint would
    // have them unqualified, which the compiler refuses as ambiguous.
    #[allow(unused_qualifications)]
    #[test]
    fn maps_ledger_events_as_the_reference_does() {
        use EventType::*;
        use Status::*;
        let cases = [
            ("PAYMENT_CREATED", Created, None),
            ("PAYMENT_STARTED", EnteringCardDetails, Some(Started)),
            ("AUTHORISATION_SUCCEEDED", AuthorisationSuccess, None),
            (
                "USER_APPROVED_FOR_CAPTURE",
                CaptureApproved,
                Some(Succeeded),
            ),
            (
                "USER_APPROVED_FOR_CAPTURE_AWAITING_SERVICE_APPROVAL",
                AwaitingCaptureRequest,
                None,
            ),
            (
                "SERVICE_APPROVED_FOR_CAPTURE",
                CaptureApproved,
                Some(Succeeded),
            ),
            ("CAPTURE_SUBMITTED", CaptureReady, None),
            (
                "CAPTURE_CONFIRMED",
                Status::Captured,
                Some(EventType::Captured),
            ),
            ("REFUND_CREATED_BY_SERVICE", Status::Captured, None),
            ("REFUND_SUCCEEDED", Status::Captured, Some(Refunded)),
            (
                "AUTHORISATION_REJECTED",
                AuthorisationRejected,
                Some(Failed),
            ),
            (
                "GATEWAY_ERROR_DURING_AUTHORISATION",
                AuthorisationError,
                Some(Failed),
            ),
            ("CANCELLED_BY_USER", UserCancelReady, None),
            ("CANCELLED_BY_USER", UserCancelled, Some(Failed)),
            ("CANCELLED_BY_EXTERNAL_SERVICE", SystemCancelReady, None),
            (
                "CANCELLED_BY_EXTERNAL_SERVICE",
                SystemCancelled,
                Some(Failed),
            ),
            ("PAYMENT_EXPIRED", ExpireCancelReady, None),
            ("PAYMENT_EXPIRED", Status::Expired, Some(EventType::Expired)),
            ("PAYMENT_SETTLED", Status::Captured, Some(Settled)),
            ("DISPUTE_CREATED", Status::Captured, None),
        ];
        for (kind, status, expected) in cases {
            assert_eq!(
                event_type(&event(kind, status)),
                expected,
                "{kind} {status}"
            );
        }
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
        }
    }

    #[test]
    fn signs_like_any_hmac_sha256() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
