//! The LinkStore port: payment links and the payments they took. (A link payment's row is
//! written by `ledger`, with its payment, which declares its columns.)

use std::collections::BTreeMap;
use std::sync::LazyLock;

use async_trait::async_trait;
use pence_core::link::{LinkPayment, PaymentLink, ReferenceField, Takings};
use pence_core::payment::status::Status;
use pence_core::payment::Language;
use pence_core::payment::PaymentRecord;
use pence_core::staff::AuditEntry;
use pence_core::{LinkStore, StoreError};
use pence_sql::{vals, Row, Stmt};

use super::ledger::LINK_PAYMENT_COLUMNS;
use super::staff::audited;
use super::{columns, corrupt, set_clause, SqlStore};

columns! {
    LINK_COLUMNS, link_values(l: &PaymentLink) {
        id: &l.id,
        service_id: &l.service_id,
        title: &l.title,
        details: &l.details,
        amount: l.amount,
        amount_hint: l.amount_hint.as_ref(),
        reference_label: l.reference.as_ref().map(|r| &r.label),
        reference_hint: l.reference.as_ref().and_then(|r| r.hint.as_ref()),
        language: l.language.as_str(),
        metadata: serde_json::to_string(&l.metadata).unwrap_or_else(|_| "{}".into()),
        service_path: &l.service_path,
        link_path: &l.link_path,
        created_ms: l.created_ms,
        updated_ms: l.updated_ms,
    }
}

/// Every column but the id, set by id on a link not deleted.
static UPDATE_LINK: LazyLock<String> = LazyLock::new(|| {
    let (_, rest) = LINK_COLUMNS.split_once(',').expect("id first");
    format!(
        "{} WHERE id = $1 AND deleted_ms IS NULL",
        set_clause("payment_links", rest, 2)
    )
});

/// A link's payments, their columns read from the payments table.
static PAYMENTS_OF_LINK: LazyLock<String> = LazyLock::new(|| {
    let columns: Vec<String> = super::payments::PAYMENT_COLUMNS
        .split(',')
        .map(|c| format!("p.{}", c.trim()))
        .collect();
    format!(
        "SELECT {} FROM link_payments lp JOIN payments p ON p.id = lp.payment_id \
         WHERE lp.link_id = $1 ORDER BY lp.created_ms DESC, lp.id DESC LIMIT $2",
        columns.join(", ")
    )
});

/// A link's payments counted, and those that succeeded summed (the statuses GOV.UK Pay
/// shows as `success`, written into the query: they are the gate's own names).
static TAKINGS: LazyLock<String> = LazyLock::new(|| {
    let succeeded: Vec<String> = Status::ALL
        .iter()
        .filter(|s| s.external().status == "success")
        .map(|s| format!("'{}'", s.as_str()))
        .collect();
    let succeeded = succeeded.join(", ");
    format!(
        "SELECT COUNT(*) AS payments, \
         CAST(COALESCE(SUM(CASE WHEN p.status IN ({succeeded}) THEN 1 ELSE 0 END), 0) AS BIGINT) \
         AS succeeded, \
         CAST(COALESCE(SUM(CASE WHEN p.status IN ({succeeded}) THEN p.amount ELSE 0 END), 0) \
         AS BIGINT) AS total \
         FROM link_payments lp JOIN payments p ON p.id = lp.payment_id WHERE lp.link_id = $1"
    )
});

pub(crate) fn link_from(mut r: Row) -> Result<PaymentLink, StoreError> {
    let language = r.text("language")?;
    let metadata = r.text("metadata")?;
    let label = r.opt_text("reference_label")?;
    let hint = r.opt_text("reference_hint")?;
    Ok(PaymentLink {
        id: r.text("id")?,
        service_id: r.text("service_id")?,
        title: r.text("title")?,
        details: r.text("details")?,
        amount: r.opt_i64("amount")?,
        amount_hint: r.opt_text("amount_hint")?,
        reference: label.map(|label| ReferenceField { label, hint }),
        language: Language::parse(&language).ok_or_else(|| corrupt("language", &language))?,
        metadata: serde_json::from_str::<BTreeMap<String, String>>(&metadata)
            .map_err(|_| corrupt("link metadata", &metadata))?,
        service_path: r.text("service_path")?,
        link_path: r.text("link_path")?,
        created_ms: r.i64("created_ms")?,
        updated_ms: r.i64("updated_ms")?,
    })
}

pub(crate) fn link_payment_from(mut r: Row) -> Result<LinkPayment, StoreError> {
    Ok(LinkPayment {
        id: r.text("id")?,
        link_id: r.text("link_id")?,
        payment_id: r.text("payment_id")?,
        service_id: r.text("service_id")?,
        generated_reference: r.opt_text("generated_reference")?,
        created_ms: r.i64("created_ms")?,
    })
}

#[async_trait]
impl LinkStore for SqlStore {
    async fn insert_payment_link(
        &self,
        link: &PaymentLink,
        audit: Option<&AuditEntry>,
    ) -> Result<(), StoreError> {
        let change = vec![Stmt::insert(
            "payment_links",
            LINK_COLUMNS,
            link_values(link),
        )];
        self.db.apply(audited(change, audit)).await
    }

    async fn update_payment_link(
        &self,
        link: &PaymentLink,
        audit: Option<&AuditEntry>,
    ) -> Result<bool, StoreError> {
        let change = vec![Stmt::exec_one(&UPDATE_LINK, link_values(link))];
        match self.db.apply(audited(change, audit)).await {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn delete_payment_link(
        &self,
        service_id: &str,
        id: &str,
        at_ms: i64,
        audit: Option<&AuditEntry>,
    ) -> Result<bool, StoreError> {
        let change = vec![Stmt::exec_one(
            "UPDATE payment_links SET deleted_ms = $1 \
             WHERE id = $2 AND service_id = $3 AND deleted_ms IS NULL",
            vals![at_ms, id, service_id],
        )];
        match self.db.apply(audited(change, audit)).await {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn payment_link(&self, id: &str) -> Result<Option<PaymentLink>, StoreError> {
        let sql = format!(
            "SELECT {LINK_COLUMNS} FROM payment_links WHERE id = $1 AND deleted_ms IS NULL"
        );
        self.read_one(&sql, vals![id], link_from).await
    }

    async fn payment_link_at(
        &self,
        service_path: &str,
        link_path: &str,
    ) -> Result<Option<PaymentLink>, StoreError> {
        let sql = format!(
            "SELECT {LINK_COLUMNS} FROM payment_links \
             WHERE service_path = $1 AND link_path = $2 AND deleted_ms IS NULL"
        );
        self.read_one(&sql, vals![service_path, link_path], link_from)
            .await
    }

    async fn payment_links(&self, service_id: &str) -> Result<Vec<PaymentLink>, StoreError> {
        let sql = format!(
            "SELECT {LINK_COLUMNS} FROM payment_links \
             WHERE service_id = $1 AND deleted_ms IS NULL ORDER BY created_ms DESC, id DESC"
        );
        self.read(&sql, vals![service_id], link_from).await
    }

    async fn link_payment(&self, id: &str) -> Result<Option<LinkPayment>, StoreError> {
        let sql = format!("SELECT {LINK_PAYMENT_COLUMNS} FROM link_payments WHERE id = $1");
        self.read_one(&sql, vals![id], link_payment_from).await
    }

    async fn payments_of_link(
        &self,
        link_id: &str,
        limit: u32,
    ) -> Result<Vec<PaymentRecord>, StoreError> {
        self.read(
            &PAYMENTS_OF_LINK,
            vals![link_id, i64::from(limit)],
            super::payments::payment_from,
        )
        .await
    }

    async fn link_takings(&self, link_id: &str) -> Result<Takings, StoreError> {
        let found = self
            .read_one(&TAKINGS, vals![link_id], |mut r| {
                Ok(Takings {
                    payments: r.i64("payments")?,
                    succeeded: r.i64("succeeded")?,
                    total: r.i64("total")?,
                })
            })
            .await?;
        Ok(found.unwrap_or_default())
    }

    async fn link_payment_of(&self, payment_id: &str) -> Result<Option<LinkPayment>, StoreError> {
        let sql = format!("SELECT {LINK_PAYMENT_COLUMNS} FROM link_payments WHERE payment_id = $1");
        self.read_one(&sql, vals![payment_id], link_payment_from)
            .await
    }
}
