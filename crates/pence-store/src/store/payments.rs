//! The `payments` table: a payment as created, the columns its journey fills in later, and
//! `used_tokens` (next_url tokens exchanged). Every change of a payment is the transition
//! gate's conditional update, written with what the change records.

use std::sync::LazyLock;

use async_trait::async_trait;
use pence_core::journey::card::Address;
use pence_core::ledger::record::Record;
use pence_core::ledger::LedgerEvent;
use pence_core::payment::idempotency::IdempotencyKey;
use pence_core::payment::status::Status;
use pence_core::payment::{AuthorisationMode, Language, PaymentRecord, Prefilled};
use pence_core::ports::Scope;
use pence_core::search::PaymentFilter;
use pence_core::{PaymentStore, StoreError};

use super::cards::card_from;
use super::clause::Where;
use super::ledger::{event_from, record_rows, EVENT_COLUMNS};
use super::search::{search_where, texts, Probes};
use super::{columns, corrupt, SqlStore};
use pence_sql::ByKey;
use pence_sql::Engine;
use pence_sql::{vals, Row, Stmt, Val};

columns! {
    /// The columns a payment has from creation.
    CREATED_COLUMNS, created_values(p: &PaymentRecord) {
        id: &p.id,
        service_id: &p.service_id,
        amount: p.amount,
        reference: &p.reference,
        description: &p.description,
        return_url: p.return_url.as_ref(),
        language: p.language.as_str(),
        email: p.email.as_ref(),
        delayed_capture: p.delayed_capture,
        moto: p.moto,
        authorisation_mode: p.authorisation_mode.as_str(),
        metadata: p
            .metadata
            .as_ref()
            .map(|m| serde_json::Value::Object(m.clone()).to_string()),
        prefilled_cardholder_name: p.prefilled.cardholder_name.as_ref(),
        prefilled_line1: p.prefilled.line1.as_ref(),
        prefilled_line2: p.prefilled.line2.as_ref(),
        prefilled_postcode: p.prefilled.postcode.as_ref(),
        prefilled_city: p.prefilled.city.as_ref(),
        prefilled_country: p.prefilled.country.as_ref(),
        payment_provider: &p.payment_provider,
        status: p.status.as_str(),
        refund_submitted: p.refund_submitted,
        created_ms: p.created_ms,
        updated_ms: p.updated_ms,
        version: p.version,
        agreement_id: p.agreement_id.as_ref(),
        agreement_payment_type: p.agreement_payment_type.as_ref(),
    }
}

columns! {
    /// The columns the journey fills in later (NULL, or false, at creation).
    JOURNEY_COLUMNS, journey_values(p: &PaymentRecord) {
        cardholder_name: p.card.as_ref().map(|c| &c.cardholder_name),
        first_digits: p.card.as_ref().map(|c| &c.first_digits),
        last_digits: p.card.as_ref().map(|c| &c.last_digits),
        card_brand: p.card.as_ref().map(|c| c.brand.id()),
        card_expiry: p.card.as_ref().map(|c| &c.expiry),
        card_type: p.card.as_ref().and_then(|c| c.card_type.api()),
        billing_line1: billing(p).map(|a| &a.line1),
        billing_line2: billing(p).and_then(|a| a.line2.as_ref()),
        billing_postcode: billing(p).map(|a| &a.postcode),
        billing_city: billing(p).map(|a| &a.city),
        billing_country: billing(p).map(|a| &a.country),
        provider_id: p.provider_id.as_ref(),
        three_ds_required: p.three_ds_required,
        corporate_surcharge: p.corporate_surcharge,
        capture_submit_ms: p.capture_submit_ms,
        captured_ms: p.captured_ms,
        settled_ms: p.settled_ms,
        disputed: p.disputed,
        dispute_due_ms: p.dispute_due_ms,
        can_retry: p.can_retry,
    }
}

fn billing(p: &PaymentRecord) -> Option<&Address> {
    p.card.as_ref().and_then(|c| c.billing_address.as_ref())
}

/// Every column of a payment.
pub(crate) static PAYMENT_COLUMNS: LazyLock<&'static str> =
    LazyLock::new(|| format!("{CREATED_COLUMNS}, {JOURNEY_COLUMNS}").leak());

/// A payment by id (the hottest read: a get, each card page); the service is checked after.
static PAYMENT_BY_ID: LazyLock<ByKey> =
    LazyLock::new(|| ByKey::new(&PAYMENT_COLUMNS, "payments", "id"));

/// The columns the gate's update may write, in `update_values` order: status, time, email,
/// then the journey's.
static UPDATABLE: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    let columns: Vec<&'static str> = ["status", "updated_ms", "email"]
        .into_iter()
        .chain(JOURNEY_COLUMNS.split(',').map(str::trim))
        .collect();
    assert!(columns.len() <= 64, "a column set is a 64-bit mask");
    columns
});

fn update_values(p: &PaymentRecord) -> Vec<Val> {
    let mut values = vals![p.status.as_str(), p.updated_ms, p.email.as_ref()];
    values.extend(journey_values(p));
    values
}

/// The gate's conditional update writing the columns in `written` (a mask over
/// `UPDATABLE`) and the version, matched by id, service and the version that was read. Only
/// the columns a move changes are written, so only the indexes holding them are rewritten:
/// a pay-out rewrites one of the payments' ten indexes rather than all of them. Each set of
/// columns' statement is made once (a handful: one per kind of move).
fn update_sql(written: u64) -> &'static str {
    static MADE: LazyLock<std::sync::Mutex<std::collections::HashMap<u64, &'static str>>> =
        LazyLock::new(Default::default);
    let mut made = MADE.lock().unwrap_or_else(|e| e.into_inner());
    made.entry(written).or_insert_with(|| {
        let mut sets: Vec<String> = UPDATABLE
            .iter()
            .enumerate()
            .filter(|(i, _)| written & (1 << i) != 0)
            .enumerate()
            .map(|(n, (_, c))| format!("{c} = ${}", n + 1))
            .collect();
        let n = sets.len();
        sets.push("version = version + 1".into());
        format!(
            "UPDATE payments SET {} WHERE id = ${} AND service_id = ${} AND version = ${}",
            sets.join(", "),
            n + 1,
            n + 2,
            n + 3
        )
        .leak()
    })
}

/// Whether the journey has filled in any of its columns.
fn has_journey(p: &PaymentRecord) -> bool {
    p.card.is_some()
        || p.provider_id.is_some()
        || p.three_ds_required
        || p.corporate_surcharge.is_some()
        || p.capture_submit_ms.is_some()
        || p.captured_ms.is_some()
        || p.settled_ms.is_some()
        || p.disputed
        || p.dispute_due_ms.is_some()
        || p.can_retry.is_some()
}

/// The insert of a payment with every column (bulk loads, or a payment made mid-journey).
pub(crate) fn insert_all(p: &PaymentRecord) -> Stmt {
    let mut values = created_values(p);
    values.extend(journey_values(p));
    Stmt::insert("payments", *PAYMENT_COLUMNS, values)
}

pub(crate) fn payment_from(mut r: Row) -> Result<PaymentRecord, StoreError> {
    let language = r.text("language")?;
    let mode = r.text("authorisation_mode")?;
    let status = r.text("status")?;
    let metadata = match r.opt_text("metadata")? {
        Some(text) => Some(serde_json::from_str(&text).map_err(|_| corrupt("metadata", &text))?),
        None => None,
    };
    Ok(PaymentRecord {
        id: r.text("id")?,
        service_id: r.text("service_id")?,
        amount: r.i64("amount")?,
        reference: r.text("reference")?,
        description: r.text("description")?,
        return_url: r.opt_text("return_url")?,
        language: Language::parse(&language).ok_or_else(|| corrupt("language", &language))?,
        email: r.opt_text("email")?,
        delayed_capture: r.bool("delayed_capture")?,
        moto: r.bool("moto")?,
        authorisation_mode: AuthorisationMode::parse(&mode)
            .ok_or_else(|| corrupt("authorisation_mode", &mode))?,
        metadata,
        prefilled: Prefilled {
            cardholder_name: r.opt_text("prefilled_cardholder_name")?,
            line1: r.opt_text("prefilled_line1")?,
            line2: r.opt_text("prefilled_line2")?,
            postcode: r.opt_text("prefilled_postcode")?,
            city: r.opt_text("prefilled_city")?,
            country: r.opt_text("prefilled_country")?,
        },
        payment_provider: r.text("payment_provider")?,
        status: Status::parse(&status).ok_or_else(|| corrupt("status", &status))?,
        refund_submitted: r.i64("refund_submitted")?,
        created_ms: r.i64("created_ms")?,
        updated_ms: r.i64("updated_ms")?,
        version: r.i64("version")?,
        card: card_from(&mut r)?,
        provider_id: r.opt_text("provider_id")?,
        three_ds_required: r.bool("three_ds_required")?,
        corporate_surcharge: r.opt_i64("corporate_surcharge")?,
        capture_submit_ms: r.opt_i64("capture_submit_ms")?,
        captured_ms: r.opt_i64("captured_ms")?,
        settled_ms: r.opt_i64("settled_ms")?,
        disputed: r.bool("disputed")?,
        dispute_due_ms: r.opt_i64("dispute_due_ms")?,
        agreement_id: r.opt_text("agreement_id")?,
        agreement_payment_type: r.opt_text("agreement_payment_type")?,
        can_retry: r.opt_i64("can_retry")?.map(|v| v != 0),
    })
}

#[async_trait]
impl PaymentStore for SqlStore {
    async fn insert_payment(
        &self,
        payment: &PaymentRecord,
        record: &Record,
    ) -> Result<(), StoreError> {
        // A new payment binds only its creation columns (the rest default), which keeps the
        // hot insert small.
        let mut change = vec![if has_journey(payment) {
            insert_all(payment)
        } else {
            Stmt::insert("payments", CREATED_COLUMNS, created_values(payment))
        }];
        change.extend(record_rows(record));
        self.db.apply(change).await?;
        self.committed(record);
        Ok(())
    }

    async fn update_payment(
        &self,
        current: &PaymentRecord,
        next: &PaymentRecord,
        record: &Record,
    ) -> Result<(), StoreError> {
        // The row is `current` (its version says so), so writing what differs makes it `next`.
        let before = update_values(current);
        let mut written = 0u64;
        let mut params = Vec::new();
        for (i, (old, new)) in before.into_iter().zip(update_values(next)).enumerate() {
            if old != new {
                written |= 1 << i;
                params.push(new);
            }
        }
        params.extend(vals![&current.id, &current.service_id, current.version]);
        let mut change = vec![Stmt::exec_one(update_sql(written), params)];
        change.extend(record_rows(record));
        self.db.apply(change).await?;
        self.committed(record);
        Ok(())
    }

    async fn journey_payment(&self, id: &str) -> Result<Option<PaymentRecord>, StoreError> {
        self.db
            .read_by_key(&PAYMENT_BY_ID, id)
            .await?
            .map(payment_from)
            .transpose()
    }

    async fn claim_token(
        &self,
        token_hash: &str,
        payment_id: &str,
        at_ms: i64,
    ) -> Result<bool, StoreError> {
        let change = vec![Stmt::exec_one(
            "INSERT INTO used_tokens (token_hash, payment_id, used_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (token_hash) DO NOTHING",
            vals![token_hash, payment_id, at_ms],
        )];
        match self.db.apply(change).await {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn idempotency_key(
        &self,
        service_id: &str,
        key: &str,
    ) -> Result<Option<IdempotencyKey>, StoreError> {
        let rows = self
            .db
            .query(super::idempotency::SELECT_KEY, vals![service_id, key])
            .await?;
        rows.into_iter()
            .next()
            .map(super::idempotency::key_from)
            .transpose()
    }

    async fn purge_idempotency_keys(
        &self,
        scope: Scope<'_>,
        before_ms: i64,
    ) -> Result<u64, StoreError> {
        let purge = match scope {
            Scope::NodeClock => Stmt::returning(super::idempotency::PURGE, vals![before_ms]),
            Scope::Service(id) => {
                Stmt::returning(super::idempotency::PURGE_SERVICE, vals![before_ms, id])
            }
        };
        Ok(self.db.apply_returning(vec![purge]).await?.len() as u64)
    }

    async fn due_payments(
        &self,
        scope: Scope<'_>,
        statuses: &[Status],
        created_before_ms: i64,
        updated_before_ms: i64,
        limit: u32,
    ) -> Result<Vec<PaymentRecord>, StoreError> {
        let mut w = Where::new("created_ms < ?", created_before_ms.into());
        w.add("updated_ms < ?", updated_before_ms.into());
        w.add_in(
            "status",
            statuses.iter().map(|s| Val::from(s.as_str())).collect(),
        );
        w.add_scope(scope);
        let (sql, params) = w.select(&PAYMENT_COLUMNS, "payments", "created_ms", limit);
        self.read(&sql, params, payment_from).await
    }

    async fn unsettled_payments(
        &self,
        scope: Scope<'_>,
        captured_before_ms: i64,
        limit: u32,
    ) -> Result<Vec<PaymentRecord>, StoreError> {
        let mut w = Where::new("captured_ms < ?", captured_before_ms.into());
        w.sql
            .push_str(" AND settled_ms IS NULL AND captured_ms IS NOT NULL");
        w.add_scope(scope);
        let (sql, params) = w.select(&PAYMENT_COLUMNS, "payments", "captured_ms", limit);
        self.read(&sql, params, payment_from).await
    }

    async fn payment(
        &self,
        service_id: &str,
        id: &str,
    ) -> Result<Option<PaymentRecord>, StoreError> {
        Ok(self
            .journey_payment(id)
            .await?
            .filter(|p| p.service_id == service_id))
    }

    async fn payment_events(
        &self,
        service_id: &str,
        id: &str,
    ) -> Result<Vec<LedgerEvent>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM payment_events \
             WHERE payment_id = $1 AND service_id = $2 ORDER BY id"
        );
        self.read(&sql, vals![id, service_id], event_from).await
    }

    async fn freeze_final_payments(&self, limit: u32) -> Result<u64, StoreError> {
        self.freeze_batch(limit).await
    }

    async fn search_payments(
        &self,
        service_id: &str,
        filter: &PaymentFilter,
        limit: u32,
        offset: u64,
    ) -> Result<(u64, Vec<PaymentRecord>), StoreError> {
        let mut probes = Probes::default();
        for ((column, value), probe) in texts(filter).into_iter().zip(&mut probes) {
            if let Some(v) = value {
                *probe = self.probe(column, v).await?;
            }
        }
        let w = search_where(service_id, filter, &probes, self.engine_kind());
        let hinted = w.with_trigram_hint(self.engine_kind(), filter);
        let all = || async {
            let sql = match self.engine_kind() {
                Engine::Postgres => {
                    "SELECT CAST(SUM(n) AS BIGINT) AS total FROM payment_counts WHERE service_id = $1"
                }
                // Counted up to the indexing mark (0032); the few above it counted here, in
                // the same statement so that the writer moving the mark cannot come between.
                Engine::Sqlite => {
                    // (`+service_id`: the few rows above the mark, by rowid, not the service's
                    // every row by its index.)
                    "SELECT (SELECT COALESCE(SUM(n), 0) FROM payment_counts WHERE service_id = $1) \
                     + (SELECT COUNT(*) FROM payments WHERE +service_id = $1 \
                        AND rowid > (SELECT upto FROM text_index_mark WHERE id = 1)) AS total"
                }
            };
            self.total(sql, vals![service_id]).await
        };
        // By state and dates alone: counted by hour, which also takes a deep page straight
        // to its hour. Unfiltered, the trigger-kept count is cheaper unless the page is deep.
        let hours = if *filter != PaymentFilter::default() || offset >= DEEP {
            self.hour_counts(service_id, filter).await?
        } else {
            None
        };
        let total = if let Some(hours) = &hours {
            hours.total()
        } else if *filter == PaymentFilter::default() {
            // Everything the service has: the trigger-kept count.
            all().await?
        } else if filter.dates.settled_from_ms.is_none() && filter.dates.settled_before_ms.is_none()
        {
            self.payments_total(&w, hinted.as_ref()).await?
        } else {
            let sql = format!("SELECT COUNT(*) AS total FROM payments WHERE {}", w.sql);
            self.total(&sql, w.params.clone()).await?
        };
        // The page: the trigram hint finds few matches fast, but when most rows match, walking
        // the service's payments newest first meets a page of them sooner.
        let page_where = match hinted {
            Some(hinted) if !walk_is_shorter(total, offset, limit, all().await?) => hinted,
            _ => w,
        };
        self.page_of(
            "payments",
            &PAYMENT_COLUMNS,
            page_where,
            hours.as_ref(),
            Some(total),
            limit,
            offset,
            payment_from,
        )
        .await
    }
}

/// From this offset an unfiltered search is worth counting by hour (`hour_counts`).
const DEEP: u64 = 10_000;

/// Whether walking the service's `size` payments in order (from whichever end `page_of`
/// starts) meets the page's matches, spread evenly, sooner than the trigram index lists all
/// `total` of them (or within a few thousand rows anyway).
fn walk_is_shorter(total: u64, offset: u64, limit: u32, size: u64) -> bool {
    const WALK: u64 = 20_000;
    let skip = offset.min(total.saturating_sub(offset + limit as u64));
    total > 0 && (skip + limit as u64).saturating_mul(size) / total <= WALK.max(total)
}
