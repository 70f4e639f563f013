//! `emails`: what paying users were sent (migration 0022), written with the change that
//! caused each (`ledger::record_rows`).

use std::sync::LazyLock;

use async_trait::async_trait;
use pence_core::emails::{Email, EmailKind};
use pence_core::{EmailStore, StoreError};

use super::{columns, corrupt, SqlStore};
use pence_sql::{vals, Row, Stmt};

columns! {
    /// An email's columns.
    EMAIL_COLUMNS, email_values(e: &Email) {
        id: &e.id,
        service_id: &e.service_id,
        payment_id: &e.payment_id,
        kind: e.kind.as_str(),
        to_address: &e.to,
        subject: &e.subject,
        text_body: &e.text,
        html_body: &e.html,
        created_ms: e.created_ms,
    }
}

/// Claims unsent emails; the partial index's condition (`sent_ms IS NULL`) is repeated word
/// for word. On PostgreSQL rows another node is claiming are skipped.
fn claim_sql(skip_locked: &str) -> String {
    format!(
        "UPDATE emails SET claim_until_ms = $1 WHERE id IN (SELECT id FROM emails \
         WHERE sent_ms IS NULL AND (claim_until_ms IS NULL OR claim_until_ms <= $2) \
         AND tries < $3 ORDER BY created_ms LIMIT $4{skip_locked}) RETURNING {EMAIL_COLUMNS}"
    )
}
static CLAIM_SQLITE: LazyLock<String> = LazyLock::new(|| claim_sql(""));
static CLAIM_POSTGRES: LazyLock<String> = LazyLock::new(|| claim_sql(" FOR UPDATE SKIP LOCKED"));

pub(crate) fn insert(e: &Email) -> Stmt {
    Stmt::insert("emails", EMAIL_COLUMNS, email_values(e))
}

pub(crate) fn email_from(mut r: Row) -> Result<Email, StoreError> {
    let kind = r.text("kind")?;
    Ok(Email {
        id: r.text("id")?,
        service_id: r.text("service_id")?,
        payment_id: r.text("payment_id")?,
        kind: EmailKind::parse(&kind).ok_or_else(|| corrupt("email kind", &kind))?,
        to: r.text("to_address")?,
        subject: r.text("subject")?,
        text: r.text("text_body")?,
        html: r.text("html_body")?,
        created_ms: r.i64("created_ms")?,
    })
}

#[async_trait]
impl EmailStore for SqlStore {
    async fn emails(
        &self,
        service_id: &str,
        to: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Email>, StoreError> {
        let (sql, params) = match to {
            Some(to) => (
                format!(
                    "SELECT {EMAIL_COLUMNS} FROM emails WHERE service_id = $1 \
                     AND LOWER(to_address) = LOWER($2) ORDER BY created_ms DESC, id LIMIT $3"
                ),
                vals![service_id, to, i64::from(limit)],
            ),
            None => (
                format!(
                    "SELECT {EMAIL_COLUMNS} FROM emails WHERE service_id = $1 \
                     ORDER BY created_ms DESC, id LIMIT $2"
                ),
                vals![service_id, i64::from(limit)],
            ),
        };
        self.read(&sql, params, email_from).await
    }

    async fn claim_unsent_emails(
        &self,
        now_ms: i64,
        claim_until_ms: i64,
        max_tries: i64,
        limit: u32,
    ) -> Result<Vec<Email>, StoreError> {
        let sql: &'static str = match self.engine_kind() {
            pence_sql::Engine::Sqlite => CLAIM_SQLITE.as_str(),
            pence_sql::Engine::Postgres => CLAIM_POSTGRES.as_str(),
        };
        let claim = Stmt::returning(
            sql,
            vals![claim_until_ms, now_ms, max_tries, i64::from(limit)],
        );
        self.db
            .apply_returning(vec![claim])
            .await?
            .into_iter()
            .map(email_from)
            .collect()
    }

    async fn record_email_attempt(
        &self,
        id: &str,
        sent_ms: Option<i64>,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        self.db
            .apply(vec![Stmt::exec(
                "UPDATE emails SET sent_ms = $2, last_error = $3, tries = tries + 1, \
                 claim_until_ms = NULL WHERE id = $1",
                vals![id, sent_ms, error],
            )])
            .await
    }
}
