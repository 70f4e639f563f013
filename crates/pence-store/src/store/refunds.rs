//! The `refunds` table: refunds of payments, and the guarded update of the payment's
//! refunded total that takes each one.

use async_trait::async_trait;
use pence_core::ledger::record::Record;
use pence_core::payment::status::Status;
use pence_core::payment::PaymentRecord;
use pence_core::ports::Scope;
use pence_core::refund::{RefundRecord, RefundStatus};
use pence_core::search::Dates;
use pence_core::{RefundStore, StoreError};

use super::clause::Where;
use super::ledger::record_rows;
use super::{columns, corrupt, SqlStore};
use pence_sql::{vals, Row, Stmt};

columns! {
    REFUND_COLUMNS, refund_values(r: &RefundRecord) {
        id: &r.id,
        payment_id: &r.payment_id,
        service_id: &r.service_id,
        amount: r.amount,
        status: r.status.as_str(),
        created_ms: r.created_ms,
        updated_ms: r.updated_ms,
        settled_ms: r.settled_ms,
    }
}

pub(crate) fn insert(r: &RefundRecord) -> Stmt {
    Stmt::insert("refunds", REFUND_COLUMNS, refund_values(r))
}

pub(crate) fn refund_from(mut r: Row) -> Result<RefundRecord, StoreError> {
    let status = r.text("status")?;
    Ok(RefundRecord {
        id: r.text("id")?,
        payment_id: r.text("payment_id")?,
        service_id: r.text("service_id")?,
        amount: r.i64("amount")?,
        status: RefundStatus::parse(&status).ok_or_else(|| corrupt("refund status", &status))?,
        created_ms: r.i64("created_ms")?,
        updated_ms: r.i64("updated_ms")?,
        settled_ms: r.opt_i64("settled_ms")?,
    })
}

/// The refund's guard, in the UPDATE itself: taken only while the payment is captured and
/// undisputed and the new total stays within the amount; `$7`, when not NULL, is the
/// refunded total the request was judged against (`refund_amount_available`), which must
/// still hold.
const TAKE_REFUND: &str = "UPDATE payments SET refund_submitted = refund_submitted + $1, \
     version = version + 1, updated_ms = $2 WHERE id = $3 AND service_id = $4 AND status = $5 \
     AND refund_submitted + $1 <= amount + COALESCE(corporate_surcharge, 0) \
     AND disputed = $6 AND ($7 IS NULL OR refund_submitted = $7)";

#[async_trait]
impl RefundStore for SqlStore {
    async fn insert_refund(
        &self,
        payment: &PaymentRecord,
        refund: &RefundRecord,
        judged_total: Option<i64>,
        record: &Record,
    ) -> Result<(), StoreError> {
        let counts = if refund.status == RefundStatus::Error {
            0
        } else {
            refund.amount
        };
        let mut change = vec![
            Stmt::exec_one(
                TAKE_REFUND,
                vals![
                    counts,
                    refund.created_ms,
                    &payment.id,
                    &payment.service_id,
                    Status::Captured.as_str(),
                    false,
                    judged_total
                ],
            ),
            insert(refund),
        ];
        change.extend(record_rows(record));
        self.db.apply(change).await
    }

    async fn finish_refund(
        &self,
        refund: &RefundRecord,
        status: RefundStatus,
        at_ms: i64,
        record: &Record,
    ) -> Result<(), StoreError> {
        let mut change = vec![Stmt::exec_one(
            "UPDATE refunds SET status = $1, updated_ms = $2 WHERE id = $3 AND status = $4",
            vals![
                status.as_str(),
                at_ms,
                &refund.id,
                RefundStatus::Submitted.as_str()
            ],
        )];
        if status == RefundStatus::Error {
            change.push(Stmt::exec_one(
                "UPDATE payments SET refund_submitted = refund_submitted - $1, \
                 version = version + 1, updated_ms = $2 WHERE id = $3 AND service_id = $4",
                vals![refund.amount, at_ms, &refund.payment_id, &refund.service_id],
            ));
        }
        change.extend(record_rows(record));
        self.db.apply(change).await
    }

    async fn submitted_refunds(
        &self,
        scope: Scope<'_>,
        created_before_ms: i64,
        limit: u32,
    ) -> Result<Vec<RefundRecord>, StoreError> {
        let mut w = Where::new("status = ?", RefundStatus::Submitted.as_str().into());
        w.add("created_ms < ?", created_before_ms.into());
        w.add_scope(scope);
        let (sql, params) = w.select(REFUND_COLUMNS, "refunds", "created_ms", limit);
        self.read(&sql, params, refund_from).await
    }

    async fn unsettled_refunds(
        &self,
        scope: Scope<'_>,
        succeeded_before_ms: i64,
        limit: u32,
    ) -> Result<Vec<RefundRecord>, StoreError> {
        // The partial index refunds_to_settle holds exactly these rows.
        let mut w = Where::new("status = ?", RefundStatus::Success.as_str().into());
        w.add(
            "settled_ms IS NULL AND updated_ms < ?",
            succeeded_before_ms.into(),
        );
        w.add_scope(scope);
        let (sql, params) = w.select(REFUND_COLUMNS, "refunds", "updated_ms", limit);
        self.read(&sql, params, refund_from).await
    }

    async fn settle_refund(
        &self,
        refund: &RefundRecord,
        settled_ms: i64,
    ) -> Result<(), StoreError> {
        self.db
            .apply(vec![Stmt::exec_one(
                "UPDATE refunds SET settled_ms = $1 \
                 WHERE id = $2 AND status = $3 AND settled_ms IS NULL",
                vals![settled_ms, &refund.id, RefundStatus::Success.as_str()],
            )])
            .await
    }

    async fn refunds(
        &self,
        service_id: &str,
        payment_id: &str,
    ) -> Result<Vec<RefundRecord>, StoreError> {
        let sql = format!(
            "SELECT {REFUND_COLUMNS} FROM refunds WHERE payment_id = $1 AND service_id = $2 \
             ORDER BY created_ms, id"
        );
        self.read(&sql, vals![payment_id, service_id], refund_from)
            .await
    }

    async fn search_refunds(
        &self,
        service_id: &str,
        filter: &Dates,
        limit: u32,
        offset: u64,
    ) -> Result<(u64, Vec<RefundRecord>), StoreError> {
        let mut w = Where::new("service_id = ?", service_id.into());
        w.add_dates(filter);
        self.page_of(
            "refunds",
            REFUND_COLUMNS,
            w,
            None,
            None,
            limit,
            offset,
            refund_from,
        )
        .await
    }
}
