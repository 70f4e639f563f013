//! The `services` table: a service (GOV.UK Pay's gateway account) and its settings.

use std::sync::LazyLock;

use async_trait::async_trait;
use pence_core::service::{AcceptedTypes, CardSettings, EmailCollection, EmailSettings, Service};
use pence_core::staff::AuditEntry;
use pence_core::{ServiceStore, StoreError};

use super::staff::audited;
use super::{columns, corrupt, count, set_clause, SqlStore};
use pence_sql::{vals, Row, Stmt};

columns! {
    SERVICE_COLUMNS, service_values(s: &Service) {
        id: &s.id,
        name: &s.name,
        live: s.live,
        payment_provider: &s.payment_provider,
        created_ms: s.created_ms,
        rate_limit_post: s.rate_limit_post.map(i64::from),
        rate_limit_get: s.rate_limit_get.map(i64::from),
        moto_enabled: s.moto_enabled,
        moto_api_enabled: s.moto_api_enabled,
        recurring_enabled: s.recurring_enabled,
        zero_amount_enabled: s.zero_amount_enabled,
        disabled: s.disabled,
        accepted_brands: s.cards.brands_text(),
        accepted_card_types: s.cards.accepted_types.as_str(),
        block_prepaid: s.cards.block_prepaid,
        collect_billing_address: s.cards.collect_billing_address,
        email_collection: s.cards.email_collection.as_str(),
        surcharge_credit: s.cards.surcharge_credit,
        surcharge_debit: s.cards.surcharge_debit,
        surcharge_prepaid_debit: s.cards.surcharge_prepaid_debit,
        moto_mask_card_number: s.cards.moto_mask_card_number,
        moto_mask_security_code: s.cards.moto_mask_security_code,
        email_payment_confirmed: s.emails.payment_confirmed,
        email_refund_issued: s.emails.refund_issued,
        email_custom_paragraph: s.emails.custom_paragraph.as_ref(),
    }
}

/// What a service is read with: its saved columns and its clock, which only
/// `set_clock_offset` writes.
static READ_COLUMNS: LazyLock<String> =
    LazyLock::new(|| format!("{SERVICE_COLUMNS}, clock_offset_ms"));

fn service_from(mut r: Row) -> Result<Service, StoreError> {
    let brands = r.text("accepted_brands")?;
    let types = r.text("accepted_card_types")?;
    let email = r.text("email_collection")?;
    let cards = CardSettings {
        accepted_brands: CardSettings::parse_brands(&brands)
            .ok_or_else(|| corrupt("accepted_brands", &brands))?,
        accepted_types: AcceptedTypes::parse(&types)
            .ok_or_else(|| corrupt("accepted_card_types", &types))?,
        block_prepaid: r.bool("block_prepaid")?,
        collect_billing_address: r.bool("collect_billing_address")?,
        email_collection: EmailCollection::parse(&email)
            .ok_or_else(|| corrupt("email_collection", &email))?,
        surcharge_credit: r.i64("surcharge_credit")?,
        surcharge_debit: r.i64("surcharge_debit")?,
        surcharge_prepaid_debit: r.i64("surcharge_prepaid_debit")?,
        moto_mask_card_number: r.bool("moto_mask_card_number")?,
        moto_mask_security_code: r.bool("moto_mask_security_code")?,
    };
    Ok(Service {
        cards,
        id: r.text("id")?,
        name: r.text("name")?,
        live: r.bool("live")?,
        payment_provider: r.text("payment_provider")?,
        created_ms: r.i64("created_ms")?,
        rate_limit_post: r.opt_i64("rate_limit_post")?.map(|v| v as u32),
        rate_limit_get: r.opt_i64("rate_limit_get")?.map(|v| v as u32),
        moto_enabled: r.bool("moto_enabled")?,
        moto_api_enabled: r.bool("moto_api_enabled")?,
        recurring_enabled: r.bool("recurring_enabled")?,
        zero_amount_enabled: r.bool("zero_amount_enabled")?,
        disabled: r.bool("disabled")?,
        clock_offset_ms: r.i64("clock_offset_ms")?,
        emails: EmailSettings {
            payment_confirmed: r.bool("email_payment_confirmed")?,
            refund_issued: r.bool("email_refund_issued")?,
            custom_paragraph: r.opt_text("email_custom_paragraph")?,
        },
    })
}

/// Every column saved, matched by id: `$1..` are `service_values` (id first), so the id
/// binds the WHERE.
static UPDATE_SERVICE: LazyLock<String> = LazyLock::new(|| {
    let (_, rest) = SERVICE_COLUMNS.split_once(',').expect("id first");
    debug_assert_eq!(count(rest) + 1, count(SERVICE_COLUMNS));
    format!("{} WHERE id = $1", set_clause("services", rest, 2))
});

#[async_trait]
impl ServiceStore for SqlStore {
    async fn insert_service(&self, service: &Service) -> Result<(), StoreError> {
        self.db
            .apply(vec![Stmt::insert(
                "services",
                SERVICE_COLUMNS,
                service_values(service),
            )])
            .await
    }

    async fn update_service(
        &self,
        service: &Service,
        audit: Option<&AuditEntry>,
    ) -> Result<(), StoreError> {
        let change = vec![Stmt::exec_one(&UPDATE_SERVICE, service_values(service))];
        self.db.apply(audited(change, audit)).await
    }

    async fn services(&self) -> Result<Vec<Service>, StoreError> {
        let sql = format!(
            "SELECT {} FROM services ORDER BY created_ms, id",
            *READ_COLUMNS
        );
        self.read(&sql, vec![], service_from).await
    }

    async fn service(&self, id: &str) -> Result<Option<Service>, StoreError> {
        let sql = format!("SELECT {} FROM services WHERE id = $1", *READ_COLUMNS);
        self.read_one(&sql, vals![id], service_from).await
    }

    async fn set_clock_offset(&self, service_id: &str, offset_ms: i64) -> Result<bool, StoreError> {
        let set = Stmt::returning(
            "UPDATE services SET clock_offset_ms = $1 WHERE id = $2 AND NOT live RETURNING id",
            vals![offset_ms, service_id],
        );
        Ok(!self.db.apply_returning(vec![set]).await?.is_empty())
    }

    async fn moved_clocks(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = self
            .db
            .query(
                "SELECT id, clock_offset_ms FROM services WHERE clock_offset_ms <> 0 \
                 AND (sweeps_held_until_ms IS NULL OR sweeps_held_until_ms <= $1) ORDER BY id",
                vals![pence_core::clock::system_now_ms()],
            )
            .await?;
        rows.into_iter()
            .map(|mut r| Ok((r.text("id")?, r.i64("clock_offset_ms")?)))
            .collect()
    }

    async fn hold_sweeps(
        &self,
        service_id: &str,
        until_ms: Option<i64>,
    ) -> Result<bool, StoreError> {
        let set = Stmt::returning(
            "UPDATE services SET sweeps_held_until_ms = $1 WHERE id = $2 AND NOT live RETURNING id",
            vals![until_ms, service_id],
        );
        Ok(!self.db.apply_returning(vec![set]).await?.is_empty())
    }
}
