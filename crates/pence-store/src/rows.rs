//! Column lists and row decoding shared by both engines. Decoding is a macro because SQLite
//! and PostgreSQL rows are different types with the same `try_get` calls.

pub(crate) const SERVICE_COLUMNS: &str = "id, name, live, payment_provider, created_ms, rate_limit_post, \
     rate_limit_get, moto_enabled, moto_api_enabled, recurring_enabled, zero_amount_enabled, disabled";

pub(crate) const KEY_COLUMNS: &str =
    "id, service_id, token_hash, display_prefix, description, created_ms, revoked_ms";

pub(crate) const PAYMENT_COLUMNS: &str = "id, service_id, amount, reference, description, return_url, \
     language, email, delayed_capture, moto, authorisation_mode, metadata, prefilled_cardholder_name, \
     prefilled_line1, prefilled_line2, prefilled_postcode, prefilled_city, prefilled_country, \
     payment_provider, status, created_ms, updated_ms, version";
pub(crate) const PAYMENT_COLUMN_COUNT: usize = 23;

pub(crate) const EVENT_COLUMNS: &str = "payment_id, service_id, event_type, status, created_ms";

/// `($1, $2, …), (…)` for `rows` rows of `cols` values.
pub(crate) fn placeholders(rows: usize, cols: usize) -> String {
    let mut out = String::with_capacity(rows * cols * 5);
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for c in 0..cols {
            if c > 0 {
                out.push_str(", ");
            }
            out.push('$');
            out.push_str(&(r * cols + c + 1).to_string());
        }
        out.push(')');
    }
    out
}

pub(crate) fn corrupt(what: &str, value: &str) -> sqlx::Error {
    sqlx::Error::Decode(format!("bad {what} in database: {value:?}").into())
}

macro_rules! service_from_row {
    ($row:expr) => {{
        use sqlx::Row;
        let row = $row;
        Ok::<_, sqlx::Error>(pence_core::service::Service {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            live: row.try_get("live")?,
            payment_provider: row.try_get("payment_provider")?,
            created_ms: row.try_get("created_ms")?,
            rate_limit_post: row
                .try_get::<Option<i64>, _>("rate_limit_post")?
                .map(|v| v as u32),
            rate_limit_get: row
                .try_get::<Option<i64>, _>("rate_limit_get")?
                .map(|v| v as u32),
            moto_enabled: row.try_get("moto_enabled")?,
            moto_api_enabled: row.try_get("moto_api_enabled")?,
            recurring_enabled: row.try_get("recurring_enabled")?,
            zero_amount_enabled: row.try_get("zero_amount_enabled")?,
            disabled: row.try_get("disabled")?,
        })
    }};
}

macro_rules! key_from_row {
    ($row:expr) => {{
        use sqlx::Row;
        let row = $row;
        Ok::<_, sqlx::Error>(pence_core::api_key::ApiKeyRecord {
            id: row.try_get("id")?,
            service_id: row.try_get("service_id")?,
            token_hash: row.try_get("token_hash")?,
            display_prefix: row.try_get("display_prefix")?,
            description: row.try_get("description")?,
            created_ms: row.try_get("created_ms")?,
            revoked_ms: row.try_get("revoked_ms")?,
        })
    }};
}

macro_rules! payment_from_row {
    ($row:expr) => {{
        use pence_core::payment::{AuthorisationMode, Language, PaymentRecord, Prefilled};
        use pence_core::status::Status;
        use sqlx::Row;
        let row = $row;
        let language: String = row.try_get("language")?;
        let mode: String = row.try_get("authorisation_mode")?;
        let status: String = row.try_get("status")?;
        let metadata: Option<String> = row.try_get("metadata")?;
        Ok::<_, sqlx::Error>(PaymentRecord {
            id: row.try_get("id")?,
            service_id: row.try_get("service_id")?,
            amount: row.try_get("amount")?,
            reference: row.try_get("reference")?,
            description: row.try_get("description")?,
            return_url: row.try_get("return_url")?,
            language: Language::parse(&language)
                .ok_or_else(|| crate::rows::corrupt("language", &language))?,
            email: row.try_get("email")?,
            delayed_capture: row.try_get("delayed_capture")?,
            moto: row.try_get("moto")?,
            authorisation_mode: AuthorisationMode::parse(&mode)
                .ok_or_else(|| crate::rows::corrupt("authorisation_mode", &mode))?,
            metadata: match metadata {
                Some(text) => Some(
                    serde_json::from_str(&text)
                        .map_err(|_| crate::rows::corrupt("metadata", &text))?,
                ),
                None => None,
            },
            prefilled: Prefilled {
                cardholder_name: row.try_get("prefilled_cardholder_name")?,
                line1: row.try_get("prefilled_line1")?,
                line2: row.try_get("prefilled_line2")?,
                postcode: row.try_get("prefilled_postcode")?,
                city: row.try_get("prefilled_city")?,
                country: row.try_get("prefilled_country")?,
            },
            payment_provider: row.try_get("payment_provider")?,
            status: Status::parse(&status)
                .ok_or_else(|| crate::rows::corrupt("status", &status))?,
            created_ms: row.try_get("created_ms")?,
            updated_ms: row.try_get("updated_ms")?,
            version: row.try_get("version")?,
        })
    }};
}

macro_rules! event_from_row {
    ($row:expr) => {{
        use sqlx::Row;
        let row = $row;
        let status: String = row.try_get("status")?;
        Ok::<_, sqlx::Error>(pence_core::payment::LedgerEvent {
            payment_id: row.try_get("payment_id")?,
            service_id: row.try_get("service_id")?,
            event_type: row.try_get("event_type")?,
            status: pence_core::status::Status::parse(&status)
                .ok_or_else(|| crate::rows::corrupt("status", &status))?,
            created_ms: row.try_get("created_ms")?,
        })
    }};
}

/// Binds a payment's columns in `PAYMENT_COLUMNS` order.
macro_rules! bind_payment {
    ($q:expr, $p:expr) => {{
        let p = $p;
        $q.bind(&p.id)
            .bind(&p.service_id)
            .bind(p.amount)
            .bind(&p.reference)
            .bind(&p.description)
            .bind(&p.return_url)
            .bind(p.language.as_str())
            .bind(&p.email)
            .bind(p.delayed_capture)
            .bind(p.moto)
            .bind(p.authorisation_mode.as_str())
            .bind(
                p.metadata
                    .as_ref()
                    .map(|m| serde_json::Value::Object(m.clone()).to_string()),
            )
            .bind(&p.prefilled.cardholder_name)
            .bind(&p.prefilled.line1)
            .bind(&p.prefilled.line2)
            .bind(&p.prefilled.postcode)
            .bind(&p.prefilled.city)
            .bind(&p.prefilled.country)
            .bind(&p.payment_provider)
            .bind(p.status.as_str())
            .bind(p.created_ms)
            .bind(p.updated_ms)
            .bind(p.version)
    }};
}

/// Binds an event's columns in `EVENT_COLUMNS` order.
macro_rules! bind_event {
    ($q:expr, $e:expr) => {{
        let e = $e;
        $q.bind(&e.payment_id)
            .bind(&e.service_id)
            .bind(&e.event_type)
            .bind(e.status.as_str())
            .bind(e.created_ms)
    }};
}

pub(crate) use {
    bind_event, bind_payment, event_from_row, key_from_row, payment_from_row, service_from_row,
};
