//! `fault_rules`: test services' fault rules (migration 0019). Matches are counted, and
//! firings taken, by conditional updates, so every node sees one count.

use async_trait::async_trait;
use pence_core::sandbox::faults::rule::{FaultAction, FaultRule, ProviderFault};
use pence_core::{FaultStore, StoreError};

use super::{columns, corrupt, SqlStore};
use pence_sql::{vals, Row, Stmt};

/// A fraction is kept in parts per million (the engines share no float type here).
const PPM: f64 = 1_000_000.0;

/// An action as its columns.
struct ActionColumns<'a> {
    kind: &'static str,
    status: Option<i64>,
    code: Option<&'a str>,
    description: Option<&'a str>,
    delay_ms: Option<i64>,
    provider: Option<&'static str>,
}

fn action_columns(a: &FaultAction) -> ActionColumns<'_> {
    let none = ActionColumns {
        kind: "drop",
        status: None,
        code: None,
        description: None,
        delay_ms: None,
        provider: None,
    };
    match a {
        FaultAction::Answer {
            status,
            code,
            description,
        } => ActionColumns {
            kind: "answer",
            status: Some(i64::from(*status)),
            code: Some(code),
            description: Some(description),
            ..none
        },
        FaultAction::Delay { ms } => ActionColumns {
            kind: "delay",
            delay_ms: Some(*ms as i64),
            ..none
        },
        FaultAction::Drop => none,
        FaultAction::Provider(p) => ActionColumns {
            kind: "provider",
            provider: Some(p.as_str()),
            ..none
        },
    }
}

columns! {
    /// A rule's columns.
    FAULT_COLUMNS, fault_values(r: &FaultRule) {
        id: &r.id,
        service_id: &r.service_id,
        method: r.method.as_ref(),
        path: r.path.as_ref(),
        remaining: r.remaining,
        fraction_ppm: r.fraction.map(|f| (f * PPM).round() as i64),
        seed: r.seed,
        matched: r.matched,
        action: action_columns(&r.action).kind,
        status: action_columns(&r.action).status,
        code: action_columns(&r.action).code,
        description: action_columns(&r.action).description,
        delay_ms: action_columns(&r.action).delay_ms,
        provider: action_columns(&r.action).provider,
        created_ms: r.created_ms,
        expires_ms: r.expires_ms,
    }
}

pub(crate) fn fault_from(mut r: Row) -> Result<FaultRule, StoreError> {
    let kind = r.text("action")?;
    let action = match kind.as_str() {
        "answer" => FaultAction::Answer {
            status: r.i64("status")? as u16,
            code: r.text("code")?,
            description: r.text("description")?,
        },
        "delay" => FaultAction::Delay {
            ms: r.i64("delay_ms")?.max(0) as u64,
        },
        "drop" => FaultAction::Drop,
        "provider" => {
            let p = r.text("provider")?;
            FaultAction::Provider(
                ProviderFault::parse(&p).ok_or_else(|| corrupt("provider fault", &p))?,
            )
        }
        other => return Err(corrupt("fault action", other)),
    };
    Ok(FaultRule {
        id: r.text("id")?,
        service_id: r.text("service_id")?,
        method: r.opt_text("method")?,
        path: r.opt_text("path")?,
        remaining: r.opt_i64("remaining")?,
        fraction: r.opt_i64("fraction_ppm")?.map(|p| p as f64 / PPM),
        seed: r.i64("seed")?,
        matched: r.i64("matched")?,
        action,
        created_ms: r.i64("created_ms")?,
        expires_ms: r.i64("expires_ms")?,
    })
}

#[async_trait]
impl FaultStore for SqlStore {
    async fn insert_fault_rule(&self, rule: &FaultRule) -> Result<(), StoreError> {
        self.db
            .apply(vec![Stmt::insert(
                "fault_rules",
                FAULT_COLUMNS,
                fault_values(rule),
            )])
            .await
    }

    async fn fault_rules(
        &self,
        service_id: &str,
        now_ms: i64,
    ) -> Result<Vec<FaultRule>, StoreError> {
        let sql = format!(
            "SELECT {FAULT_COLUMNS} FROM fault_rules WHERE service_id = $1 AND expires_ms > $2 \
             AND (remaining IS NULL OR remaining > 0) ORDER BY created_ms, id"
        );
        self.read(&sql, vals![service_id, now_ms], fault_from).await
    }

    async fn delete_fault_rule(&self, service_id: &str, id: &str) -> Result<bool, StoreError> {
        let delete = Stmt::returning(
            "DELETE FROM fault_rules WHERE service_id = $1 AND id = $2 RETURNING id",
            vals![service_id, id],
        );
        Ok(!self.db.apply_returning(vec![delete]).await?.is_empty())
    }

    async fn count_fault_match(&self, id: &str, now_ms: i64) -> Result<Option<i64>, StoreError> {
        let count = Stmt::returning(
            "UPDATE fault_rules SET matched = matched + 1 WHERE id = $1 AND expires_ms > $2 \
             AND (remaining IS NULL OR remaining > 0) RETURNING matched",
            vals![id, now_ms],
        );
        match self
            .db
            .apply_returning(vec![count])
            .await?
            .into_iter()
            .next()
        {
            Some(mut row) => Ok(Some(row.i64("matched")?)),
            None => Ok(None),
        }
    }

    async fn take_fault(&self, id: &str) -> Result<bool, StoreError> {
        let take = Stmt::returning(
            "UPDATE fault_rules SET remaining = remaining - 1 WHERE id = $1 AND remaining > 0 \
             RETURNING id",
            vals![id],
        );
        Ok(!self.db.apply_returning(vec![take]).await?.is_empty())
    }
}
