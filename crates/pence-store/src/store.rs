//! `SqlStore`: the Store port's queries, written once for both engines.

use std::sync::Arc;

use async_trait::async_trait;
use pence_core::api_key::ApiKeyRecord;
use pence_core::card::{Address, Brand, CardType};
use pence_core::dispute::{DisputeRecord, DisputeStatus};
use pence_core::payment::{
    AuthorisationMode, CardDetails, Language, LedgerEvent, PaymentRecord, Prefilled,
};
use pence_core::refund::{RefundRecord, RefundStatus};
use pence_core::search::{Dates, DisputeFilter, PaymentFilter};
use pence_core::service::{AcceptedTypes, CardSettings, EmailCollection, Service};
use pence_core::status::Status;
use pence_core::webhook::{self, DeliveryStatus};
use pence_core::{ids, present, Store, StoreError};

use crate::db::Db;
use crate::value::{vals, Row, Stmt, Val};

macro_rules! service_columns {
    () => {
        "id, name, live, payment_provider, created_ms, rate_limit_post, rate_limit_get, \
         moto_enabled, moto_api_enabled, recurring_enabled, zero_amount_enabled, disabled, \
         accepted_brands, accepted_card_types, block_prepaid, collect_billing_address, \
         email_collection, surcharge_credit, surcharge_debit, surcharge_prepaid_debit"
    };
}
/// The columns a payment has from creation.
macro_rules! created_columns {
    () => {
        "id, service_id, amount, reference, description, return_url, language, email, \
         delayed_capture, moto, authorisation_mode, metadata, prefilled_cardholder_name, \
         prefilled_line1, prefilled_line2, prefilled_postcode, prefilled_city, prefilled_country, \
         payment_provider, status, refund_submitted, created_ms, updated_ms, version"
    };
}
/// The columns the journey fills in later (NULL, or false, at creation).
macro_rules! journey_columns {
    () => {
        "cardholder_name, first_digits, last_digits, card_brand, card_expiry, card_type, \
         billing_line1, billing_line2, billing_postcode, billing_city, billing_country, \
         provider_id, three_ds_required, corporate_surcharge, capture_submit_ms, captured_ms, \
         settled_ms, disputed, dispute_due_ms"
    };
}
macro_rules! payment_columns {
    () => {
        concat!(created_columns!(), ", ", journey_columns!())
    };
}
const SERVICE_COLUMNS: &str = service_columns!();
const KEY_COLUMNS: &str =
    "id, service_id, token_hash, display_prefix, description, created_ms, revoked_ms";
const PAYMENT_COLUMNS: &str = payment_columns!();
const CREATED_COLUMNS: &str = created_columns!();
const EVENT_COLUMNS: &str = "payment_id, service_id, event_type, status, created_ms";

const SELECT_SERVICES: &str = concat!("SELECT ", service_columns!(), " FROM services");
const SELECT_KEYS: &str =
    "SELECT id, service_id, token_hash, display_prefix, description, created_ms, revoked_ms FROM api_keys";
const SELECT_PAYMENT: &str = concat!(
    "SELECT ",
    payment_columns!(),
    " FROM payments WHERE id = $1 AND service_id = $2"
);
const REFUND_COLUMNS: &str = "id, payment_id, service_id, amount, status, created_ms, updated_ms";

#[derive(Clone)]
pub struct SqlStore {
    pub(crate) db: Arc<dyn Db>,
}

impl SqlStore {
    pub(crate) fn new(db: Arc<dyn Db>) -> Self {
        SqlStore { db }
    }

    /// How many rows of `table` match `w` (unless the caller knows: `total`), and the page
    /// of them at `offset`, newest first.
    async fn page_of(
        &self,
        table: &str,
        columns: &str,
        w: Where,
        total: Option<u64>,
        limit: u32,
        offset: u64,
    ) -> Result<(u64, Vec<Row>), StoreError> {
        let total = match total {
            Some(total) => total,
            None => {
                let count_sql = format!("SELECT COUNT(*) AS total FROM {table} WHERE {}", w.sql);
                self.total(&count_sql, w.params.clone()).await?
            }
        };
        if total == 0 || offset >= total {
            return Ok((total, Vec::new()));
        }
        // Pages in the older half are read from the oldest end, so the rows skipped are
        // never more than half of the matches (page 2000 of 2000 skips none).
        let limit = (limit as u64).min(total - offset);
        let from_oldest = offset + limit > total / 2 + 1;
        let (order, skip) = if from_oldest {
            ("created_ms ASC, id ASC", total - offset - limit)
        } else {
            ("created_ms DESC, id DESC", offset)
        };
        let n = w.params.len();
        let page_sql = format!(
            "SELECT {columns} FROM {table} WHERE {} ORDER BY {order} LIMIT ${} OFFSET ${}",
            w.sql,
            n + 1,
            n + 2
        );
        let mut params = w.params;
        params.push(Val::Int(limit as i64));
        params.push(Val::Int(skip as i64));
        let mut rows = self.db.query(&page_sql, params).await?;
        if from_oldest {
            rows.reverse();
        }
        Ok((total, rows))
    }

    /// The `total` column of `sql`'s one row.
    async fn total(&self, sql: &str, params: Vec<Val>) -> Result<u64, StoreError> {
        Ok(match self.db.query(sql, params).await?.into_iter().next() {
            Some(mut row) => row.opt_i64("total")?.unwrap_or(0).max(0) as u64,
            None => 0,
        })
    }

    /// Bulk import of history: payments with their events and refunds, in one transaction.
    /// `pence bench-search` loads its million payments this way.
    pub async fn load(
        &self,
        payments: &[PaymentRecord],
        events: &[LedgerEvent],
        refunds: &[RefundRecord],
    ) -> Result<(), StoreError> {
        let mut change: Vec<Stmt> = payments
            .iter()
            .map(|p| Stmt::insert("payments", PAYMENT_COLUMNS, payment_values(p, true)))
            .collect();
        change.extend(refunds.iter().map(refund_insert));
        change.extend(event_inserts(events));
        self.db.apply(change).await
    }

    /// Refreshes the planner's statistics (and, on PostgreSQL, the visibility map that
    /// index-only scans rely on), as a long-running database's maintenance would.
    pub async fn analyze(&self) -> Result<(), StoreError> {
        if self.db.engine() == "postgres" {
            self.db
                .query("VACUUM ANALYZE", Vec::new())
                .await
                .map(|_| ())
        } else {
            self.db.apply(vec![Stmt::exec("ANALYZE", Vec::new())]).await
        }
    }

    /// Closes every connection; later calls fail (the node's health turns 503).
    pub async fn close(&self) {
        self.db.close().await;
    }
}

pub(crate) fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Database(format!("bad {what} in database: {value:?}"))
}

fn service_values(s: &Service) -> Vec<Val> {
    vals![
        &s.id,
        &s.name,
        s.live,
        &s.payment_provider,
        s.created_ms,
        s.rate_limit_post.map(i64::from),
        s.rate_limit_get.map(i64::from),
        s.moto_enabled,
        s.moto_api_enabled,
        s.recurring_enabled,
        s.zero_amount_enabled,
        s.disabled,
        s.cards.brands_text(),
        s.cards.accepted_types.as_str(),
        s.cards.block_prepaid,
        s.cards.collect_billing_address,
        s.cards.email_collection.as_str(),
        s.cards.surcharge_credit,
        s.cards.surcharge_debit,
        s.cards.surcharge_prepaid_debit,
    ]
}

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
    })
}

fn key_from(mut r: Row) -> Result<ApiKeyRecord, StoreError> {
    Ok(ApiKeyRecord {
        id: r.text("id")?,
        service_id: r.text("service_id")?,
        token_hash: r.text("token_hash")?,
        display_prefix: r.text("display_prefix")?,
        description: r.text("description")?,
        created_ms: r.i64("created_ms")?,
        revoked_ms: r.opt_i64("revoked_ms")?,
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
}

/// The values of `created_columns!`, then (with `journey`) those of `journey_columns!`.
fn payment_values(p: &PaymentRecord, journey: bool) -> Vec<Val> {
    let metadata = p
        .metadata
        .as_ref()
        .map(|m| serde_json::Value::Object(m.clone()).to_string());
    let mut values = vals![
        &p.id,
        &p.service_id,
        p.amount,
        &p.reference,
        &p.description,
        p.return_url.as_ref(),
        p.language.as_str(),
        p.email.as_ref(),
        p.delayed_capture,
        p.moto,
        p.authorisation_mode.as_str(),
        metadata,
        p.prefilled.cardholder_name.as_ref(),
        p.prefilled.line1.as_ref(),
        p.prefilled.line2.as_ref(),
        p.prefilled.postcode.as_ref(),
        p.prefilled.city.as_ref(),
        p.prefilled.country.as_ref(),
        &p.payment_provider,
        p.status.as_str(),
        p.refund_submitted,
        p.created_ms,
        p.updated_ms,
        p.version,
    ];
    if journey {
        values.extend(journey_values(p));
    }
    values
}

/// The columns the journey fills in after creation, in `payment_columns!` order.
fn journey_values(p: &PaymentRecord) -> Vec<Val> {
    let card = p.card.as_ref();
    let address = card.and_then(|c| c.billing_address.as_ref());
    vals![
        card.map(|c| &c.cardholder_name),
        card.map(|c| &c.first_digits),
        card.map(|c| &c.last_digits),
        card.map(|c| c.brand.id()),
        card.map(|c| &c.expiry),
        card.and_then(|c| c.card_type.api()),
        address.map(|a| &a.line1),
        address.and_then(|a| a.line2.as_ref()),
        address.map(|a| &a.postcode),
        address.map(|a| &a.city),
        address.map(|a| &a.country),
        p.provider_id.as_ref(),
        p.three_ds_required,
        p.corporate_surcharge,
        p.capture_submit_ms,
        p.captured_ms,
        p.settled_ms,
        p.disputed,
        p.dispute_due_ms,
    ]
}

/// The conditional update of a payment's status, email and journey columns (in
/// `journey_values` order), matched by id, service and version.
static UPDATE_PAYMENT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let journey: Vec<&str> = journey_columns!().split(',').map(str::trim).collect();
    let sets: Vec<String> = journey
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{c} = ${}", 4 + i))
        .collect();
    let n = 3 + journey.len();
    format!(
        "UPDATE payments SET status = $1, version = version + 1, updated_ms = $2, email = $3, {} \
         WHERE id = ${} AND service_id = ${} AND version = ${}",
        sets.join(", "),
        n + 1,
        n + 2,
        n + 3
    )
});

fn payment_from(mut r: Row) -> Result<PaymentRecord, StoreError> {
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
    })
}

fn card_from(r: &mut Row) -> Result<Option<CardDetails>, StoreError> {
    let Some(brand) = r.opt_text("card_brand")? else {
        return Ok(None);
    };
    let billing_address = match r.opt_text("billing_line1")? {
        Some(line1) => Some(Address {
            line1,
            line2: r.opt_text("billing_line2")?,
            postcode: r.opt_text("billing_postcode")?.unwrap_or_default(),
            city: r.opt_text("billing_city")?.unwrap_or_default(),
            country: r.opt_text("billing_country")?.unwrap_or_default(),
        }),
        None => None,
    };
    Ok(Some(CardDetails {
        first_digits: r.opt_text("first_digits")?.unwrap_or_default(),
        last_digits: r.opt_text("last_digits")?.unwrap_or_default(),
        cardholder_name: r.opt_text("cardholder_name")?.unwrap_or_default(),
        expiry: r.opt_text("card_expiry")?.unwrap_or_default(),
        brand: Brand::parse(&brand).ok_or_else(|| corrupt("card_brand", &brand))?,
        card_type: CardType::parse_api(r.opt_text("card_type")?.as_deref()),
        billing_address,
    }))
}

/// `%text%` for LIKE, with LIKE's own wildcards in `text` taken literally.
fn contains_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// A WHERE clause built up with `$n` placeholders.
struct Where {
    sql: String,
    params: Vec<Val>,
}

impl Where {
    fn new(first: &str, value: Val) -> Self {
        let mut w = Where {
            sql: String::new(),
            params: Vec::new(),
        };
        w.add(first, value);
        w
    }

    /// Adds `clause`, whose `?` stands for `value`.
    fn add(&mut self, clause: &str, value: Val) {
        self.params.push(value);
        if !self.sql.is_empty() {
            self.sql.push_str(" AND ");
        }
        self.sql
            .push_str(&clause.replace('?', &format!("${}", self.params.len())));
    }

    /// The searches' date filters: creation after/before (both exclusive), settlement from
    /// (inclusive) and before.
    fn add_dates(&mut self, d: &Dates) {
        for (clause, value) in [
            ("created_ms > ?", d.created_after_ms),
            ("created_ms < ?", d.created_before_ms),
            ("settled_ms >= ?", d.settled_from_ms),
            ("settled_ms < ?", d.settled_before_ms),
        ] {
            if let Some(v) = value {
                self.add(clause, v.into());
            }
        }
    }

    fn add_in(&mut self, column: &str, values: Vec<Val>) {
        let mut marks = Vec::new();
        for v in values {
            self.params.push(v);
            marks.push(format!("${}", self.params.len()));
        }
        if marks.is_empty() {
            marks.push("NULL".into());
        }
        self.sql
            .push_str(&format!(" AND {column} IN ({})", marks.join(", ")));
    }
}

/// An FTS5 query finding the rows whose `columns` contain each text (3+ characters; shorter
/// ones cannot use trigrams and are left to the LIKE alone).
fn trigram_match<'a>(texts: impl Iterator<Item = (&'a str, &'a str)>) -> Option<String> {
    let terms: Vec<String> = texts
        .filter(|(_, v)| v.chars().count() >= 3)
        .map(|(column, v)| format!("{column} : \"{}\"", v.replace('"', "\"\"")))
        .collect();
    (!terms.is_empty()).then(|| terms.join(" AND "))
}

fn search_where(engine: &str, service_id: &str, f: &PaymentFilter) -> Where {
    let mut w = Where::new("service_id = ?", service_id.into());
    if let Some(statuses) = &f.statuses {
        w.add_in(
            "status",
            statuses.iter().map(|s| Val::from(s.as_str())).collect(),
        );
    }
    let texts = [
        ("reference", &f.reference),
        ("email", &f.email),
        ("cardholder_name", &f.cardholder_name),
    ];
    // The LIKEs decide; an index finds the candidates: on PostgreSQL the trigram indexes
    // serve the LIKEs themselves, on SQLite the trigram FTS table is asked first.
    if engine == "sqlite" {
        let given = texts
            .iter()
            .filter_map(|(c, v)| v.as_deref().map(|v| (*c, v)));
        if let Some(query) = trigram_match(given) {
            w.add(
                "rowid IN (SELECT rowid FROM payments_text WHERE payments_text MATCH ?)",
                query.into(),
            );
        }
    }
    let like = "LOWER({}) LIKE ? ESCAPE '\\'";
    for (column, value) in texts {
        if let Some(v) = value {
            w.add(&like.replace("{}", column), contains_pattern(v).into());
        }
    }
    for (clause, value) in [
        ("card_brand = ?", &f.card_brand),
        ("first_digits = ?", &f.first_digits),
        ("last_digits = ?", &f.last_digits),
        ("agreement_id = ?", &f.agreement_id),
    ] {
        if let Some(v) = value {
            w.add(clause, v.into());
        }
    }
    w.add_dates(&f.dates);
    w
}

const DISPUTE_COLUMNS: &str = "id, service_id, payment_id, status, won, reason, amount, fee, \
     net_amount, evidence_due_ms, created_ms, updated_ms, due_ms, settled_ms";

fn dispute_values(d: &DisputeRecord) -> Vec<Val> {
    vals![
        &d.id,
        &d.service_id,
        &d.payment_id,
        d.status.as_str(),
        d.won,
        &d.reason,
        d.amount,
        d.fee,
        d.net_amount,
        d.evidence_due_ms,
        d.created_ms,
        d.updated_ms,
        d.due_ms,
        d.settled_ms,
    ]
}

fn dispute_from(mut r: Row) -> Result<DisputeRecord, StoreError> {
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

/// The ledger rows of events that no webhook is told about (debug builds check).
fn event_inserts(events: &[LedgerEvent]) -> impl Iterator<Item = Stmt> + '_ {
    events.iter().map(|e| {
        debug_assert!(
            webhook::event_type(e).is_none(),
            "{} needs the payment",
            e.event_type
        );
        Stmt::insert("payment_events", EVENT_COLUMNS, event_values(e))
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

/// The ledger rows of `events` and the webhook messages they cause, whose `resource` is
/// `payment` as it stands after the change.
fn events_and_messages(events: &[LedgerEvent], payment: &PaymentRecord) -> Vec<Stmt> {
    let mut out = Vec::with_capacity(events.len() + 1);
    let mut resource = None;
    for e in events {
        out.push(Stmt::insert(
            "payment_events",
            EVENT_COLUMNS,
            event_values(e),
        ));
        let Some(kind) = webhook::event_type(e) else {
            continue;
        };
        let resource = resource.get_or_insert_with(|| {
            serde_json::to_string(&present::resource(payment)).expect("a payment serialises")
        });
        out.push(Stmt::exec(
            OUTBOX_INSERT,
            vals![
                &ids::new_id()[..20],
                &e.payment_id,
                kind.as_str(),
                e.created_ms,
                resource.as_str(),
                DeliveryStatus::Pending.as_str(),
                &e.service_id,
                true
            ],
        ));
    }
    out
}

fn refund_insert(r: &RefundRecord) -> Stmt {
    Stmt::insert(
        "refunds",
        REFUND_COLUMNS,
        vals![
            &r.id,
            &r.payment_id,
            &r.service_id,
            r.amount,
            r.status.as_str(),
            r.created_ms,
            r.created_ms,
        ],
    )
}

fn refund_from(mut r: Row) -> Result<RefundRecord, StoreError> {
    let status = r.text("status")?;
    Ok(RefundRecord {
        id: r.text("id")?,
        payment_id: r.text("payment_id")?,
        service_id: r.text("service_id")?,
        amount: r.i64("amount")?,
        status: RefundStatus::parse(&status).ok_or_else(|| corrupt("refund status", &status))?,
        created_ms: r.i64("created_ms")?,
    })
}

fn event_values(e: &LedgerEvent) -> Vec<Val> {
    vals![
        &e.payment_id,
        &e.service_id,
        &e.event_type,
        e.status.as_str(),
        e.created_ms
    ]
}

fn event_from(mut r: Row) -> Result<LedgerEvent, StoreError> {
    let status = r.text("status")?;
    Ok(LedgerEvent {
        payment_id: r.text("payment_id")?,
        service_id: r.text("service_id")?,
        event_type: r.text("event_type")?,
        status: Status::parse(&status).ok_or_else(|| corrupt("status", &status))?,
        created_ms: r.i64("created_ms")?,
    })
}

#[async_trait]
impl Store for SqlStore {
    fn engine(&self) -> &'static str {
        self.db.engine()
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.db.query("SELECT 1 AS one", vec![]).await.map(|_| ())
    }

    async fn secret(&self, name: &str, fresh: &[u8]) -> Result<Vec<u8>, StoreError> {
        self.db
            .apply(vec![Stmt::exec(
                "INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                vals![name, fresh],
            )])
            .await?;
        let rows = self
            .db
            .query("SELECT value FROM secrets WHERE name = $1", vals![name])
            .await?;
        rows.into_iter()
            .next()
            .ok_or_else(|| StoreError::Database(format!("secret {name} missing")))?
            .bytes("value")
    }

    async fn insert_service(&self, service: &Service) -> Result<(), StoreError> {
        self.db
            .apply(vec![Stmt::insert(
                "services",
                SERVICE_COLUMNS,
                service_values(service),
            )])
            .await
    }

    async fn update_service(&self, service: &Service) -> Result<(), StoreError> {
        self.db
            .apply(vec![Stmt::exec_one(
                "UPDATE services SET name = $2, live = $3, payment_provider = $4, created_ms = $5, \
                 rate_limit_post = $6, rate_limit_get = $7, moto_enabled = $8, moto_api_enabled = $9, \
                 recurring_enabled = $10, zero_amount_enabled = $11, disabled = $12, \
                 accepted_brands = $13, accepted_card_types = $14, block_prepaid = $15, \
                 collect_billing_address = $16, email_collection = $17, surcharge_credit = $18, \
                 surcharge_debit = $19, surcharge_prepaid_debit = $20 WHERE id = $1",
                service_values(service),
            )])
            .await
    }

    async fn services(&self) -> Result<Vec<Service>, StoreError> {
        let sql = concat(SELECT_SERVICES, " ORDER BY created_ms, id");
        self.db
            .query(&sql, vec![])
            .await?
            .into_iter()
            .map(service_from)
            .collect()
    }

    async fn service(&self, id: &str) -> Result<Option<Service>, StoreError> {
        let sql = concat(SELECT_SERVICES, " WHERE id = $1");
        self.db
            .query(&sql, vals![id])
            .await?
            .into_iter()
            .next()
            .map(service_from)
            .transpose()
    }

    async fn insert_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        let values = vals![
            &key.id,
            &key.service_id,
            &key.token_hash,
            &key.display_prefix,
            &key.description,
            key.created_ms,
            key.revoked_ms,
        ];
        self.db
            .apply(vec![Stmt::insert("api_keys", KEY_COLUMNS, values)])
            .await
    }

    async fn api_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let sql = concat(SELECT_KEYS, " ORDER BY created_ms, id");
        self.db
            .query(&sql, vec![])
            .await?
            .into_iter()
            .map(key_from)
            .collect()
    }

    async fn revoke_api_key(&self, id: &str, at_ms: i64) -> Result<bool, StoreError> {
        let change = vec![Stmt::exec_one(
            "UPDATE api_keys SET revoked_ms = $2 WHERE id = $1 AND revoked_ms IS NULL",
            vals![id, at_ms],
        )];
        match self.db.apply(change).await {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn api_key_by_hash(
        &self,
        hash: &str,
    ) -> Result<Option<(ApiKeyRecord, Service)>, StoreError> {
        let sql = concat(SELECT_KEYS, " WHERE token_hash = $1");
        let Some(key) = self
            .db
            .query(&sql, vals![hash])
            .await?
            .into_iter()
            .next()
            .map(key_from)
            .transpose()?
        else {
            return Ok(None);
        };
        Ok(self.service(&key.service_id).await?.map(|s| (key, s)))
    }

    async fn insert_payment(
        &self,
        payment: &PaymentRecord,
        event: &LedgerEvent,
    ) -> Result<(), StoreError> {
        self.db
            .apply(vec![
                // A new payment binds only its creation columns (the rest default), which
                // keeps the hot insert small.
                if has_journey(payment) {
                    Stmt::insert("payments", PAYMENT_COLUMNS, payment_values(payment, true))
                } else {
                    Stmt::insert("payments", CREATED_COLUMNS, payment_values(payment, false))
                },
                Stmt::insert("payment_events", EVENT_COLUMNS, event_values(event)),
            ])
            .await
    }

    async fn update_payment(
        &self,
        current: &PaymentRecord,
        next: &PaymentRecord,
        events: &[LedgerEvent],
    ) -> Result<(), StoreError> {
        let mut params = vals![next.status.as_str(), next.updated_ms, next.email.as_ref()];
        params.extend(journey_values(next));
        params.extend(vals![&current.id, &current.service_id, current.version]);
        let mut change = vec![Stmt::exec_one(&UPDATE_PAYMENT, params)];
        change.extend(events_and_messages(events, next));
        self.db.apply(change).await
    }

    async fn journey_payment(&self, id: &str) -> Result<Option<PaymentRecord>, StoreError> {
        let sql = concat!(
            "SELECT ",
            payment_columns!(),
            " FROM payments WHERE id = $1"
        );
        self.db
            .query(sql, vals![id])
            .await?
            .into_iter()
            .next()
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

    async fn due_payments(
        &self,
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
        let n = w.params.len();
        let sql = format!(
            "SELECT {PAYMENT_COLUMNS} FROM payments WHERE {} ORDER BY created_ms LIMIT ${}",
            w.sql,
            n + 1
        );
        let mut params = w.params;
        params.push(Val::Int(limit as i64));
        self.db
            .query(&sql, params)
            .await?
            .into_iter()
            .map(payment_from)
            .collect()
    }

    async fn unsettled_payments(
        &self,
        captured_before_ms: i64,
        limit: u32,
    ) -> Result<Vec<PaymentRecord>, StoreError> {
        let sql = concat!(
            "SELECT ",
            payment_columns!(),
            " FROM payments WHERE settled_ms IS NULL AND captured_ms IS NOT NULL \
             AND captured_ms < $1 ORDER BY captured_ms LIMIT $2"
        );
        self.db
            .query(sql, vals![captured_before_ms, i64::from(limit)])
            .await?
            .into_iter()
            .map(payment_from)
            .collect()
    }

    async fn insert_refund(
        &self,
        payment: &PaymentRecord,
        refund: &RefundRecord,
        events: &[LedgerEvent],
    ) -> Result<(), StoreError> {
        // The guard is in the UPDATE itself: the refund is taken only while the payment is
        // captured and the new total stays within the amount.
        let counts = if refund.status == RefundStatus::Error {
            0
        } else {
            refund.amount
        };
        let mut change = vec![
            Stmt::exec_one(
                "UPDATE payments SET refund_submitted = refund_submitted + $1, version = version + 1, \
                 updated_ms = $2 WHERE id = $3 AND service_id = $4 AND status = $5 \
                 AND refund_submitted + $1 <= amount + COALESCE(corporate_surcharge, 0) \
                 AND disputed = $6",
                vals![counts, refund.created_ms, &payment.id, &payment.service_id, Status::Captured.as_str(), false],
            ),
            refund_insert(refund),
        ];
        change.extend(event_inserts(events));
        self.db.apply(change).await
    }

    async fn finish_refund(
        &self,
        refund: &RefundRecord,
        status: RefundStatus,
        events: &[LedgerEvent],
        at_ms: i64,
        payment: &PaymentRecord,
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
        change.extend(events_and_messages(events, payment));
        self.db.apply(change).await
    }

    async fn submitted_refunds(
        &self,
        created_before_ms: i64,
        limit: u32,
    ) -> Result<Vec<RefundRecord>, StoreError> {
        self.db
            .query(
                "SELECT id, payment_id, service_id, amount, status, created_ms, updated_ms FROM refunds \
                 WHERE status = $1 AND created_ms < $2 ORDER BY created_ms LIMIT $3",
                vals![
                    RefundStatus::Submitted.as_str(),
                    created_before_ms,
                    i64::from(limit)
                ],
            )
            .await?
            .into_iter()
            .map(refund_from)
            .collect()
    }

    async fn refunds(
        &self,
        service_id: &str,
        payment_id: &str,
    ) -> Result<Vec<RefundRecord>, StoreError> {
        self.db
            .query(
                "SELECT id, payment_id, service_id, amount, status, created_ms, updated_ms FROM refunds \
                 WHERE payment_id = $1 AND service_id = $2 ORDER BY created_ms, id",
                vals![payment_id, service_id],
            )
            .await?
            .into_iter()
            .map(refund_from)
            .collect()
    }

    async fn search_payments(
        &self,
        service_id: &str,
        filter: &PaymentFilter,
        limit: u32,
        offset: u64,
    ) -> Result<(u64, Vec<PaymentRecord>), StoreError> {
        let w = search_where(self.db.engine(), service_id, filter);
        // Everything the service has: the trigger-kept count, not a million-entry scan.
        let known = if *filter == PaymentFilter::default() {
            let sql =
                "SELECT CAST(SUM(n) AS BIGINT) AS total FROM payment_counts WHERE service_id = $1";
            Some(self.total(sql, vals![service_id]).await?)
        } else {
            None
        };
        let (total, rows) = self
            .page_of("payments", PAYMENT_COLUMNS, w, known, limit, offset)
            .await?;
        Ok((
            total,
            rows.into_iter()
                .map(payment_from)
                .collect::<Result<_, _>>()?,
        ))
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
        let (total, rows) = self
            .page_of("refunds", REFUND_COLUMNS, w, None, limit, offset)
            .await?;
        Ok((
            total,
            rows.into_iter()
                .map(refund_from)
                .collect::<Result<_, _>>()?,
        ))
    }

    async fn dispute_due_payments(
        &self,
        before_ms: i64,
        limit: u32,
    ) -> Result<Vec<PaymentRecord>, StoreError> {
        let sql = concat!(
            "SELECT ",
            payment_columns!(),
            " FROM payments WHERE dispute_due_ms IS NOT NULL AND dispute_due_ms < $1 \
             ORDER BY dispute_due_ms LIMIT $2"
        );
        self.db
            .query(sql, vals![before_ms, i64::from(limit)])
            .await?
            .into_iter()
            .map(payment_from)
            .collect()
    }

    async fn raise_dispute(
        &self,
        payment: &PaymentRecord,
        dispute: &DisputeRecord,
        events: &[LedgerEvent],
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
        change.extend(event_inserts(events));
        self.db.apply(change).await
    }

    async fn due_disputes(
        &self,
        before_ms: i64,
        limit: u32,
    ) -> Result<Vec<DisputeRecord>, StoreError> {
        let sql = format!(
            "SELECT {DISPUTE_COLUMNS} FROM disputes WHERE due_ms IS NOT NULL AND due_ms < $1 \
             ORDER BY due_ms LIMIT $2"
        );
        self.db
            .query(&sql, vals![before_ms, i64::from(limit)])
            .await?
            .into_iter()
            .map(dispute_from)
            .collect()
    }

    async fn advance_dispute(
        &self,
        current: &DisputeRecord,
        next: &DisputeRecord,
        events: &[LedgerEvent],
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
        change.extend(event_inserts(events));
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
        let (total, rows) = self
            .page_of("disputes", DISPUTE_COLUMNS, w, None, limit, offset)
            .await?;
        Ok((
            total,
            rows.into_iter()
                .map(dispute_from)
                .collect::<Result<_, _>>()?,
        ))
    }

    async fn payment(
        &self,
        service_id: &str,
        id: &str,
    ) -> Result<Option<PaymentRecord>, StoreError> {
        self.db
            .query(SELECT_PAYMENT, vals![id, service_id])
            .await?
            .into_iter()
            .next()
            .map(payment_from)
            .transpose()
    }

    async fn payment_events(
        &self,
        service_id: &str,
        id: &str,
    ) -> Result<Vec<LedgerEvent>, StoreError> {
        self.db
            .query(
                "SELECT payment_id, service_id, event_type, status, created_ms FROM payment_events \
                 WHERE payment_id = $1 AND service_id = $2 ORDER BY id",
                vals![id, service_id],
            )
            .await?
            .into_iter()
            .map(event_from)
            .collect()
    }
}

/// `a` then `b`: a query with its tail.
fn concat(a: &str, b: &str) -> String {
    let mut s = String::with_capacity(a.len() + b.len());
    s.push_str(a);
    s.push_str(b);
    s
}
