//! The `agreements` table: agreements for recurring payments and the card each is set up
//! with (the same card columns as a payment's), and `agreement_events`.

use std::sync::LazyLock;

use async_trait::async_trait;
use pence_core::agreement::{AgreementFilter, AgreementRecord, AgreementStatus};
use pence_core::ledger::record::AgreementSetUp;
use pence_core::ledger::EventKind;
use pence_core::staff::AuditEntry;
use pence_core::{AgreementStore, StoreError};

use super::cards::card_from;
use super::clause::Where;
use super::staff::audited;
use super::{columns, corrupt, count, set_clause, SqlStore};
use pence_sql::{vals, Row, Stmt};

fn card(a: &AgreementRecord) -> Option<&pence_core::payment::CardDetails> {
    a.instrument.as_ref().map(|i| &i.card)
}

fn billing(a: &AgreementRecord) -> Option<&pence_core::journey::card::Address> {
    card(a).and_then(|c| c.billing_address.as_ref())
}

columns! {
    AGREEMENT_COLUMNS, agreement_values(a: &AgreementRecord) {
        id: &a.id,
        service_id: &a.service_id,
        reference: &a.reference,
        description: &a.description,
        user_identifier: a.user_identifier.as_ref(),
        status: a.status.as_str(),
        created_ms: a.created_ms,
        cancelled_ms: a.cancelled_ms,
        version: a.version,
        instrument_created_ms: a.instrument.as_ref().map(|i| i.created_ms),
        cardholder_name: card(a).map(|c| &c.cardholder_name),
        first_digits: card(a).map(|c| &c.first_digits),
        last_digits: card(a).map(|c| &c.last_digits),
        card_brand: card(a).map(|c| c.brand.id()),
        card_expiry: card(a).map(|c| &c.expiry),
        card_type: card(a).and_then(|c| c.card_type.api()),
        billing_line1: billing(a).map(|b| &b.line1),
        billing_line2: billing(a).and_then(|b| b.line2.as_ref()),
        billing_postcode: billing(a).map(|b| &b.postcode),
        billing_city: billing(a).map(|b| &b.city),
        billing_country: billing(a).map(|b| &b.country),
    }
}

pub(crate) fn agreement_from(mut r: Row) -> Result<AgreementRecord, StoreError> {
    let status = r.text("status")?;
    let instrument_ms = r.opt_i64("instrument_created_ms")?;
    let card = card_from(&mut r)?;
    Ok(AgreementRecord {
        id: r.text("id")?,
        service_id: r.text("service_id")?,
        reference: r.text("reference")?,
        description: r.text("description")?,
        user_identifier: r.opt_text("user_identifier")?,
        status: AgreementStatus::parse(&status)
            .ok_or_else(|| corrupt("agreement status", &status))?,
        created_ms: r.i64("created_ms")?,
        cancelled_ms: r.opt_i64("cancelled_ms")?,
        instrument: match (instrument_ms, card) {
            (Some(created_ms), Some(card)) => {
                Some(pence_core::agreement::PaymentInstrument { created_ms, card })
            }
            _ => None,
        },
        version: r.i64("version")?,
    })
}

fn event(a: &AgreementRecord, kind: EventKind, at_ms: i64) -> Stmt {
    Stmt::insert(
        "agreement_events",
        "agreement_id, service_id, event_type, status, created_ms",
        vals![
            &a.id,
            &a.service_id,
            kind.as_str(),
            a.status.as_str(),
            at_ms
        ],
    )
}

/// Every column but the id, the service and the creation time saved, matched by id, service
/// and the version that was read: `$1..` are `agreement_values` in order.
static UPDATE_AGREEMENT: LazyLock<String> = LazyLock::new(|| {
    let n = count(AGREEMENT_COLUMNS);
    format!(
        "{} WHERE id = ${} AND service_id = ${} AND version = ${}",
        set_clause("agreements", AGREEMENT_COLUMNS, 1),
        n + 1,
        n + 2,
        n + 3
    )
});

#[async_trait]
impl AgreementStore for SqlStore {
    async fn insert_agreement(
        &self,
        agreement: &AgreementRecord,
        kind: EventKind,
    ) -> Result<(), StoreError> {
        self.db
            .apply(vec![
                Stmt::insert("agreements", AGREEMENT_COLUMNS, agreement_values(agreement)),
                event(agreement, kind, agreement.created_ms),
            ])
            .await
    }

    async fn agreement(
        &self,
        service_id: &str,
        id: &str,
    ) -> Result<Option<AgreementRecord>, StoreError> {
        let sql =
            format!("SELECT {AGREEMENT_COLUMNS} FROM agreements WHERE id = $1 AND service_id = $2");
        self.read_one(&sql, vals![id, service_id], agreement_from)
            .await
    }

    async fn update_agreement(
        &self,
        current: &AgreementRecord,
        next: &AgreementRecord,
        kind: EventKind,
        at_ms: i64,
        audit: Option<&AuditEntry>,
    ) -> Result<(), StoreError> {
        let mut bumped = next.clone();
        bumped.version = current.version + 1;
        let mut params = agreement_values(&bumped);
        params.extend(vals![&current.id, &current.service_id, current.version]);
        let change = vec![
            Stmt::exec_one(&UPDATE_AGREEMENT, params),
            event(&bumped, kind, at_ms),
        ];
        self.db.apply(audited(change, audit)).await
    }

    async fn search_agreements(
        &self,
        service_id: &str,
        filter: &AgreementFilter,
        limit: u32,
        offset: u64,
    ) -> Result<(u64, Vec<AgreementRecord>), StoreError> {
        let mut w = Where::new("service_id = ?", service_id.into());
        if let Some(reference) = &filter.reference {
            w.add("LOWER(reference) = ?", reference.as_str().into());
        }
        if let Some(status) = filter.status {
            w.add("status = ?", status.as_str().into());
        }
        self.page_of(
            "agreements",
            AGREEMENT_COLUMNS,
            w,
            None,
            None,
            limit,
            offset,
            agreement_from,
        )
        .await
    }
}

/// The card columns an agreement's instrument fills, in `instrument_values` order.
const INSTRUMENT_COLUMNS: &str = "instrument_created_ms, cardholder_name, first_digits, \
     last_digits, card_brand, card_expiry, card_type, billing_line1, billing_line2, \
     billing_postcode, billing_city, billing_country";

/// An agreement set up by a payment: active with the payment's card (replacing any earlier
/// one, a cancelled agreement's included), with its two events.
static SET_UP: LazyLock<String> = LazyLock::new(|| {
    let n = count(INSTRUMENT_COLUMNS);
    format!(
        "{}, status = ${}, cancelled_ms = NULL, version = version + 1 \
         WHERE id = ${} AND service_id = ${}",
        set_clause("agreements", INSTRUMENT_COLUMNS, 1),
        n + 1,
        n + 2,
        n + 3
    )
});

pub(crate) fn set_up_rows(s: &AgreementSetUp) -> Vec<Stmt> {
    let card = &s.instrument.card;
    let address = card.billing_address.as_ref();
    let mut params = vals![
        s.instrument.created_ms,
        &card.cardholder_name,
        &card.first_digits,
        &card.last_digits,
        card.brand.id(),
        &card.expiry,
        card.card_type.api(),
        address.map(|a| &a.line1),
        address.and_then(|a| a.line2.as_ref()),
        address.map(|a| &a.postcode),
        address.map(|a| &a.city),
        address.map(|a| &a.country),
    ];
    debug_assert_eq!(params.len(), count(INSTRUMENT_COLUMNS));
    params.extend(vals![
        AgreementStatus::Active.as_str(),
        &s.agreement_id,
        &s.service_id
    ]);
    let event = |kind: EventKind| {
        Stmt::insert(
            "agreement_events",
            "agreement_id, service_id, event_type, status, created_ms",
            vals![
                &s.agreement_id,
                &s.service_id,
                kind.as_str(),
                AgreementStatus::Active.as_str(),
                s.instrument.created_ms
            ],
        )
    };
    vec![
        Stmt::exec_one(&SET_UP, params),
        event(EventKind::AgreementSetUp),
        event(EventKind::PaymentInstrumentConfirmed),
    ]
}

/// An agreement whose card was refused for good: inactive (if it still was active), with its
/// event.
pub(crate) fn inactivation_rows(
    (agreement_id, service_id): &(String, String),
    at_ms: i64,
) -> Vec<Stmt> {
    vec![
        Stmt::exec(
            "UPDATE agreements SET status = $1, version = version + 1 \
             WHERE id = $2 AND service_id = $3 AND status = $4",
            vals![
                AgreementStatus::Inactive.as_str(),
                agreement_id,
                service_id,
                AgreementStatus::Active.as_str()
            ],
        ),
        Stmt::insert(
            "agreement_events",
            "agreement_id, service_id, event_type, status, created_ms",
            vals![
                agreement_id,
                service_id,
                EventKind::AgreementInactivated.as_str(),
                AgreementStatus::Inactive.as_str(),
                at_ms
            ],
        ),
    ]
}
