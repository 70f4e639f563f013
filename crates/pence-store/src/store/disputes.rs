//! The `disputes` table: disputes raised against captured payments, and the mark on the
//! payment that stops refunds.

use async_trait::async_trait;
use pence_core::dispute::{DisputeRecord, DisputeStatus};
use pence_core::ledger::record::Record;
use pence_core::payment::PaymentRecord;
use pence_core::ports::Scope;
use pence_core::search::DisputeFilter;
use pence_core::{DisputeStore, StoreError};

use super::clause::Where;
use super::ledger::record_rows;
use super::payments::{payment_from, PAYMENT_COLUMNS};
use super::{columns, corrupt, SqlStore};
use pence_sql::{vals, Row, Stmt};

columns! {
    DISPUTE_COLUMNS, dispute_values(d: &DisputeRecord) {
        id: &d.id,
        service_id: &d.service_id,
        payment_id: &d.payment_id,
        status: d.status.as_str(),
        won: d.won,
        reason: &d.reason,
        amount: d.amount,
        fee: d.fee,
        net_amount: d.net_amount,
        evidence_due_ms: d.evidence_due_ms,
        created_ms: d.created_ms,
        updated_ms: d.updated_ms,
        due_ms: d.due_ms,
        settled_ms: d.settled_ms,
    }
}

pub(crate) fn dispute_from(mut r: Row) -> Result<DisputeRecord, StoreError> {
    let status = r.text("status")?;
    Ok(DisputeRecord {
        id: r.text("id")?,
        service_id: r.text("service_id")?,
        payment_id: r.text("payment_id")?,
        status: DisputeStatus::parse(&status).ok_or_else(|| corrupt("dispute status", &status))?,
        won: r.bool("won")?,
        reason: r.text("reason")?,
        amount: r.i64("amount")?,
        fee: r.i64("fee")?,
        net_amount: r.opt_i64("net_amount")?,
        evidence_due_ms: r.i64("evidence_due_ms")?,
        created_ms: r.i64("created_ms")?,
        updated_ms: r.i64("updated_ms")?,
        due_ms: r.opt_i64("due_ms")?,
        settled_ms: r.opt_i64("settled_ms")?,
    })
}

#[async_trait]
impl DisputeStore for SqlStore {
    async fn dispute_due_payments(
        &self,
        scope: Scope<'_>,
        before_ms: i64,
        limit: u32,
    ) -> Result<Vec<PaymentRecord>, StoreError> {
        let mut w = Where::new("dispute_due_ms < ?", before_ms.into());
        w.sql.push_str(" AND dispute_due_ms IS NOT NULL");
        w.add_scope(scope);
        let (sql, params) = w.select(&PAYMENT_COLUMNS, "payments", "dispute_due_ms", limit);
        self.read(&sql, params, payment_from).await
    }

    async fn raise_dispute(
        &self,
        payment: &PaymentRecord,
        dispute: &DisputeRecord,
        record: &Record,
    ) -> Result<(), StoreError> {
        let mut change = vec![
            Stmt::exec_one(
                // Not conditional on the version: refunds (which only add to
                // refund_submitted) must not hold a dispute back. The version still moves, so
                // any change read before the dispute fails and is judged again.
                "UPDATE payments SET disputed = $1, dispute_due_ms = NULL, version = version + 1, \
                 updated_ms = $2 WHERE id = $3 AND service_id = $4 AND disputed = $5",
                vals![
                    true,
                    dispute.created_ms,
                    &payment.id,
                    &payment.service_id,
                    false
                ],
            ),
            Stmt::insert("disputes", DISPUTE_COLUMNS, dispute_values(dispute)),
        ];
        change.extend(record_rows(record));
        self.db.apply(change).await
    }

    async fn due_disputes(
        &self,
        scope: Scope<'_>,
        before_ms: i64,
        limit: u32,
    ) -> Result<Vec<DisputeRecord>, StoreError> {
        let mut w = Where::new("due_ms < ?", before_ms.into());
        w.sql.push_str(" AND due_ms IS NOT NULL");
        w.add_scope(scope);
        let (sql, params) = w.select(DISPUTE_COLUMNS, "disputes", "due_ms", limit);
        self.read(&sql, params, dispute_from).await
    }

    async fn advance_dispute(
        &self,
        current: &DisputeRecord,
        next: &DisputeRecord,
        record: &Record,
    ) -> Result<(), StoreError> {
        let mut change = vec![Stmt::exec_one(
            "UPDATE disputes SET status = $1, net_amount = $2, due_ms = $3, settled_ms = $4, \
             updated_ms = $5 WHERE id = $6 AND status = $7",
            vals![
                next.status.as_str(),
                next.net_amount,
                next.due_ms,
                next.settled_ms,
                next.updated_ms,
                &current.id,
                current.status.as_str()
            ],
        )];
        change.extend(record_rows(record));
        self.db.apply(change).await
    }

    async fn search_disputes(
        &self,
        service_id: &str,
        filter: &DisputeFilter,
        limit: u32,
        offset: u64,
    ) -> Result<(u64, Vec<DisputeRecord>), StoreError> {
        let mut w = Where::new("service_id = ?", service_id.into());
        w.add_dates(&filter.dates);
        if let Some(status) = filter.status {
            w.add("status = ?", status.as_str().into());
        }
        self.page_of(
            "disputes",
            DISPUTE_COLUMNS,
            w,
            None,
            None,
            limit,
            offset,
            dispute_from,
        )
        .await
    }
}
