//! What one change writes beside the payment: its ledger events, the webhook messages they
//! cause, and what it does to an agreement, an idempotency key and the paying user's emails.

use super::LedgerEvent;
use crate::payment::PaymentRecord;
use crate::webhook::{self, EventType};

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
    pub idempotency_key: Option<crate::payment::idempotency::IdempotencyKey>,
    /// Emails to the paying user the change causes (`emails`).
    pub emails: Vec<crate::emails::Email>,
    /// The audit row of the staff action the change is (a refund, capture or cancel from
    /// the admin tool): written with it, so neither stands without the other.
    pub audit: Option<crate::staff::AuditEntry>,
    /// The payment link a new payment was taken through.
    pub link: Option<crate::link::LinkPayment>,
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
                        serde_json::to_string(&crate::payment::present::resource(after))
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
            audit: None,
            link: None,
        }
    }

    /// One event of a change that left the payment as `after`.
    pub fn one(event: LedgerEvent, after: &PaymentRecord) -> Record {
        Record::of(vec![event], after)
    }
}
