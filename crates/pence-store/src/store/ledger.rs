//! The `payment_events` table (the ledger), the webhook outbox rows and a payment link's
//! payment: what every change records, written in the change's own transaction. Which events cause which messages is
//! pence-core's decision (`ledger::record::Record`); here they are only written.

use pence_core::ledger::record::{Notice, Record};
use pence_core::ledger::{EventKind, LedgerEvent};
use pence_core::link::LinkPayment;
use pence_core::payment::status::Status;
use pence_core::webhook::DeliveryStatus;
use pence_core::{ids, StoreError};

use super::{columns, corrupt};
use pence_sql::{vals, Row, Stmt};

columns! {
    EVENT_COLUMNS, event_values(e: &LedgerEvent) {
        payment_id: &e.payment_id,
        service_id: &e.service_id,
        event_type: e.kind.as_str(),
        status: e.status.as_str(),
        created_ms: e.created_ms,
    }
}

columns! {
    LINK_PAYMENT_COLUMNS, link_payment_values(p: &LinkPayment) {
        id: &p.id,
        link_id: &p.link_id,
        payment_id: &p.payment_id,
        service_id: &p.service_id,
        generated_reference: p.generated_reference.as_ref(),
        created_ms: p.created_ms,
    }
}

/// The row a payment taken through a link adds to its payment's transaction.
fn link_payment_insert(p: &LinkPayment) -> Stmt {
    Stmt::insert(
        "link_payments",
        LINK_PAYMENT_COLUMNS,
        link_payment_values(p),
    )
}

pub(crate) fn event_insert(e: &LedgerEvent) -> Stmt {
    Stmt::insert("payment_events", EVENT_COLUMNS, event_values(e))
}

pub(crate) fn event_from(mut r: Row) -> Result<LedgerEvent, StoreError> {
    let status = r.text("status")?;
    let kind = r.text("event_type")?;
    Ok(LedgerEvent {
        payment_id: r.text("payment_id")?,
        service_id: r.text("service_id")?,
        kind: EventKind::parse(&kind).ok_or_else(|| corrupt("event type", &kind))?,
        status: Status::parse(&status).ok_or_else(|| corrupt("status", &status))?,
        created_ms: r.i64("created_ms")?,
    })
}

/// One outbox row per active subscription of the payment's service that wants this event
/// type, written by the database in the change's transaction, so a subscription's state and
/// current secret are those at commit. Ids end with the subscription's tag to stay distinct.
const OUTBOX_INSERT: &str = "INSERT INTO webhook_messages (id, webhook_id, payment_id, \
    event_type, event_ms, resource, secret_version, status, attempts, next_attempt_ms, \
    created_ms, updated_ms) \
    SELECT $1 || w.tag, w.id, $2, $3, $4, $5, w.secret_version, $6, 0, $4, $4, $4 \
    FROM webhooks w JOIN webhook_event_types t ON t.webhook_id = w.id AND t.event_type = $3 \
    WHERE w.service_id = $7 AND w.active = $8";

/// A message a test service asked for (the control API): `OUTBOX_INSERT`, marked
/// triggered, answering the messages' ids.
pub(crate) const TRIGGERED_INSERT: &str = "INSERT INTO webhook_messages (id, webhook_id, \
    payment_id, event_type, event_ms, resource, secret_version, status, attempts, \
    next_attempt_ms, created_ms, updated_ms, triggered, overrides) \
    SELECT $1 || w.tag, w.id, $2, $3, $4, $5, w.secret_version, $6, 0, $4, $4, $4, TRUE, $9 \
    FROM webhooks w JOIN webhook_event_types t ON t.webhook_id = w.id AND t.event_type = $3 \
    WHERE w.service_id = $7 AND w.active = $8 RETURNING id";

/// The values `OUTBOX_INSERT` and `TRIGGERED_INSERT` write `n` with.
pub(crate) fn notice_values(n: &Notice) -> Vec<pence_sql::Val> {
    vals![
        &ids::new_id()[..20],
        &n.payment_id,
        n.event_type.as_str(),
        n.at_ms,
        n.resource.as_str(),
        DeliveryStatus::Pending.as_str(),
        &n.service_id,
        true
    ]
}

/// The rows a change's record adds: its ledger events, then its webhook messages.
pub(crate) fn record_rows(record: &Record) -> impl Iterator<Item = Stmt> + '_ {
    let events = record.events.iter().map(event_insert);
    let messages = record
        .notices
        .iter()
        .map(|n| Stmt::exec(OUTBOX_INSERT, notice_values(n)));
    let set_up = record
        .agreement_set_up
        .iter()
        .flat_map(super::agreements::set_up_rows);
    let at_ms = record.events.first().map_or(0, |e| e.created_ms);
    let inactivated = record
        .agreement_inactivated
        .iter()
        .flat_map(move |a| super::agreements::inactivation_rows(a, at_ms));
    let key = record
        .idempotency_key
        .iter()
        .flat_map(super::idempotency::key_rows);
    let emails = record.emails.iter().map(super::emails::insert);
    let audit = record.audit.iter().map(super::staff::audit_insert);
    let link = record.link.iter().map(link_payment_insert);
    events
        .chain(messages)
        .chain(set_up)
        .chain(inactivated)
        .chain(key)
        .chain(emails)
        .chain(audit)
        .chain(link)
}
