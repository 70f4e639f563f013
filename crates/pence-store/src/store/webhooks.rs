//! The WebhookStore port: subscriptions, their secrets, and the outbox's claims and delivery
//! log. (Outbox rows are written by `ledger`, with the changes that cause them.)

use std::collections::HashMap;

use async_trait::async_trait;
use pence_core::ledger::record::Notice;
use pence_core::staff::AuditEntry;
use pence_core::webhook::DeliveryFaults;
use pence_core::webhook::{Attempt, DeliveryStatus, EventType, Message, Subscription};
use pence_core::{StoreError, WebhookStore};

use super::staff::audited;
use super::{corrupt, SqlStore};
use pence_sql::Engine;
use pence_sql::{vals, Row, Stmt};

const WEBHOOK_COLUMNS: &str = "id, service_id, tag, callback_url, description, active, \
     secret_version, created_ms, updated_ms";
const MESSAGE_COLUMNS: &str = "id, webhook_id, payment_id, event_type, event_ms, resource, \
     secret_version, status, attempts, next_attempt_ms, created_ms, triggered, overrides";
const ATTEMPT_COLUMNS: &str =
    "message_id, at_ms, status_code, error, response_ms, response_body, fault";

/// The literal `'pending'` (not a parameter) lets both engines use the partial index.
const CLAIM_SQLITE: &str = "UPDATE webhook_messages SET claim = $1, lease_ms = $2 \
     WHERE id IN (SELECT id FROM webhook_messages WHERE webhook_id = $3 \
     AND status = 'pending' AND next_attempt_ms <= $4 AND (lease_ms IS NULL OR lease_ms <= $5) \
     ORDER BY next_attempt_ms LIMIT $6) \
     RETURNING id, webhook_id, payment_id, event_type, event_ms, resource, secret_version, \
     status, attempts, next_attempt_ms, created_ms, triggered, overrides";
/// On PostgreSQL several nodes claim at once: rows another claim is taking are skipped.
const CLAIM_POSTGRES: &str = "UPDATE webhook_messages SET claim = $1, lease_ms = $2 \
     WHERE id IN (SELECT id FROM webhook_messages WHERE webhook_id = $3 \
     AND status = 'pending' AND next_attempt_ms <= $4 AND (lease_ms IS NULL OR lease_ms <= $5) \
     ORDER BY next_attempt_ms LIMIT $6 FOR UPDATE SKIP LOCKED) \
     RETURNING id, webhook_id, payment_id, event_type, event_ms, resource, secret_version, \
     status, attempts, next_attempt_ms, created_ms, triggered, overrides";

const DELIVERY_FAULT_COLUMNS: &str =
    "webhook_id, duplicate, out_of_order, delay_ms, drop_first_attempts, wrong_secret, chaos";

pub(crate) fn delivery_faults_from(mut r: Row) -> Result<(String, DeliveryFaults), StoreError> {
    Ok((
        r.text("webhook_id")?,
        DeliveryFaults {
            duplicate: r.bool("duplicate")?,
            out_of_order: r.bool("out_of_order")?,
            delay_ms: r.i64("delay_ms")?.max(0) as u64,
            drop_first_attempts: r.i64("drop_first_attempts")?,
            wrong_secret: r.bool("wrong_secret")?,
            chaos: r
                .opt_text("chaos")?
                .map(|json| serde_json::from_str(&json))
                .transpose()
                .map_err(|e| StoreError::database(format!("a stored webhook chaos: {e}")))?,
        },
    ))
}

pub(crate) fn webhook_from(
    mut r: Row,
    event_types: Vec<EventType>,
) -> Result<Subscription, StoreError> {
    Ok(Subscription {
        id: r.text("id")?,
        service_id: r.text("service_id")?,
        tag: r.text("tag")?,
        callback_url: r.text("callback_url")?,
        description: r.text("description")?,
        event_types,
        active: r.bool("active")?,
        secret_version: r.i64("secret_version")?,
        created_ms: r.i64("created_ms")?,
        updated_ms: r.i64("updated_ms")?,
    })
}

pub(crate) fn message_from(mut r: Row) -> Result<Message, StoreError> {
    let status = r.text("status")?;
    Ok(Message {
        id: r.text("id")?,
        webhook_id: r.text("webhook_id")?,
        payment_id: r.text("payment_id")?,
        event_type: r.text("event_type")?,
        event_ms: r.i64("event_ms")?,
        resource: r.text("resource")?,
        secret_version: r.i64("secret_version")?,
        status: DeliveryStatus::parse(&status)
            .ok_or_else(|| corrupt("delivery status", &status))?,
        attempts: r.i64("attempts")?,
        next_attempt_ms: r.i64("next_attempt_ms")?,
        created_ms: r.i64("created_ms")?,
        triggered: r.bool("triggered")?,
        overrides: r.opt_text("overrides")?,
    })
}

pub(crate) fn attempt_from(mut r: Row) -> Result<Attempt, StoreError> {
    Ok(Attempt {
        message_id: r.text("message_id")?,
        at_ms: r.i64("at_ms")?,
        status_code: r
            .opt_i64("status_code")?
            .and_then(|c| u16::try_from(c).ok()),
        error: r.opt_text("error")?,
        response_ms: r.i64("response_ms")?,
        response_body: r.opt_text("response_body")?,
        fault: r.opt_text("fault")?,
    })
}

fn event_type_rows(sub: &Subscription) -> impl Iterator<Item = Stmt> + '_ {
    sub.event_types.iter().map(|t| {
        Stmt::insert(
            "webhook_event_types",
            "webhook_id, event_type",
            vals![&sub.id, t.as_str()],
        )
    })
}

impl SqlStore {
    /// Bulk import of outbox rows (benchmarks), in one transaction.
    #[cfg(feature = "bulk-load")]
    pub async fn load_webhook_messages(&self, messages: &[Message]) -> Result<(), StoreError> {
        let change = messages
            .iter()
            .map(|m| {
                Stmt::insert(
                    "webhook_messages",
                    "id, webhook_id, payment_id, event_type, event_ms, resource, secret_version, \
                     status, attempts, next_attempt_ms, created_ms, updated_ms",
                    vals![
                        &m.id,
                        &m.webhook_id,
                        &m.payment_id,
                        &m.event_type,
                        m.event_ms,
                        &m.resource,
                        m.secret_version,
                        m.status.as_str(),
                        m.attempts,
                        m.next_attempt_ms,
                        m.created_ms,
                        m.created_ms
                    ],
                )
            })
            .collect();
        self.db.apply(change).await
    }

    /// The event types of every subscription `filter` (a WHERE on `webhooks w`) selects, in
    /// one query, by subscription id.
    async fn event_types(
        &self,
        filter: &str,
        params: Vec<pence_sql::Val>,
    ) -> Result<HashMap<String, Vec<EventType>>, StoreError> {
        let sql = format!(
            "SELECT t.webhook_id, t.event_type FROM webhook_event_types t \
             JOIN webhooks w ON w.id = t.webhook_id WHERE {filter} \
             ORDER BY t.webhook_id, t.event_type"
        );
        let mut out: HashMap<String, Vec<EventType>> = HashMap::new();
        for mut r in self.db.query(&sql, params).await? {
            let t = r.text("event_type")?;
            let kind = EventType::parse(&t).ok_or_else(|| corrupt("event type", &t))?;
            out.entry(r.text("webhook_id")?).or_default().push(kind);
        }
        Ok(out)
    }
}

#[async_trait]
impl WebhookStore for SqlStore {
    async fn set_delivery_faults(
        &self,
        webhook_id: &str,
        faults: Option<&DeliveryFaults>,
    ) -> Result<(), StoreError> {
        let mut change = vec![Stmt::exec(
            "DELETE FROM webhook_delivery_faults WHERE webhook_id = $1",
            vals![webhook_id],
        )];
        if let Some(f) = faults {
            change.push(Stmt::insert(
                "webhook_delivery_faults",
                DELIVERY_FAULT_COLUMNS,
                vals![
                    webhook_id,
                    f.duplicate,
                    f.out_of_order,
                    f.delay_ms as i64,
                    f.drop_first_attempts,
                    f.wrong_secret,
                    f.chaos
                        .map(|c| serde_json::to_string(&c).expect("chaos serialises"))
                ],
            ));
        }
        self.db.apply(change).await
    }

    async fn delivery_faults_of(&self, webhook_id: &str) -> Result<DeliveryFaults, StoreError> {
        let sql = format!(
            "SELECT {DELIVERY_FAULT_COLUMNS} FROM webhook_delivery_faults WHERE webhook_id = $1"
        );
        let found = self
            .read_one(&sql, vals![webhook_id], delivery_faults_from)
            .await?;
        Ok(found.map(|(_, f)| f).unwrap_or_default())
    }

    async fn delivery_faults(&self) -> Result<Vec<(String, DeliveryFaults)>, StoreError> {
        let sql = format!("SELECT {DELIVERY_FAULT_COLUMNS} FROM webhook_delivery_faults");
        self.read(&sql, Vec::new(), delivery_faults_from).await
    }

    async fn insert_triggered_messages(
        &self,
        notice: &Notice,
        overrides: Option<&str>,
    ) -> Result<Vec<String>, StoreError> {
        let mut values = super::ledger::notice_values(notice);
        values.push(overrides.into());
        let insert = Stmt::returning(super::ledger::TRIGGERED_INSERT, values);
        self.db
            .apply_returning(vec![insert])
            .await?
            .into_iter()
            .map(|mut r| r.text("id"))
            .collect()
    }

    async fn insert_webhook(
        &self,
        sub: &Subscription,
        secret: &str,
        audit: Option<&AuditEntry>,
    ) -> Result<(), StoreError> {
        let mut change = vec![
            Stmt::insert(
                "webhooks",
                WEBHOOK_COLUMNS,
                vals![
                    &sub.id,
                    &sub.service_id,
                    &sub.tag,
                    &sub.callback_url,
                    &sub.description,
                    sub.active,
                    sub.secret_version,
                    sub.created_ms,
                    sub.updated_ms
                ],
            ),
            Stmt::insert(
                "webhook_secrets",
                "webhook_id, version, secret, created_ms",
                vals![
                    &sub.id,
                    sub.secret_version,
                    self.sealed_text(secret),
                    sub.created_ms
                ],
            ),
        ];
        change.extend(event_type_rows(sub));
        self.db.apply(audited(change, audit)).await
    }

    async fn update_webhook(
        &self,
        sub: &Subscription,
        audit: Option<&AuditEntry>,
    ) -> Result<(), StoreError> {
        let mut change = vec![
            Stmt::exec_one(
                "UPDATE webhooks SET callback_url = $1, description = $2, active = $3, \
                 updated_ms = $4 WHERE id = $5",
                vals![
                    &sub.callback_url,
                    &sub.description,
                    sub.active,
                    sub.updated_ms,
                    &sub.id
                ],
            ),
            Stmt::exec(
                "DELETE FROM webhook_event_types WHERE webhook_id = $1",
                vals![&sub.id],
            ),
        ];
        change.extend(event_type_rows(sub));
        if !sub.active {
            change.push(Stmt::exec(
                "UPDATE webhook_messages SET status = $1, claim = NULL, lease_ms = NULL, \
                 updated_ms = $2 WHERE webhook_id = $3 AND status = 'pending'",
                vals![
                    DeliveryStatus::WillNotSend.as_str(),
                    sub.updated_ms,
                    &sub.id
                ],
            ));
        }
        self.db.apply(audited(change, audit)).await
    }

    async fn rotate_webhook_secret(
        &self,
        id: &str,
        secret: &str,
        at_ms: i64,
        audit: Option<&AuditEntry>,
    ) -> Result<bool, StoreError> {
        let change = vec![
            Stmt::exec_one(
                "UPDATE webhooks SET secret_version = secret_version + 1, updated_ms = $1 \
                 WHERE id = $2",
                vals![at_ms, id],
            ),
            Stmt::exec(
                "INSERT INTO webhook_secrets (webhook_id, version, secret, created_ms) \
                 SELECT id, secret_version, $1, $2 FROM webhooks WHERE id = $3",
                vals![self.sealed_text(secret), at_ms, id],
            ),
        ];
        match self.db.apply(audited(change, audit)).await {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn webhook(&self, id: &str) -> Result<Option<Subscription>, StoreError> {
        let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1");
        let Some(row) = self.db.query(&sql, vals![id]).await?.into_iter().next() else {
            return Ok(None);
        };
        let mut types = self.event_types("w.id = $1", vals![id]).await?;
        webhook_from(row, types.remove(id).unwrap_or_default()).map(Some)
    }

    async fn webhooks(&self, service_id: Option<&str>) -> Result<Vec<Subscription>, StoreError> {
        let rows = match service_id {
            Some(service) => {
                let sql = format!(
                    "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE service_id = $1 \
                     ORDER BY created_ms, id"
                );
                self.db.query(&sql, vals![service]).await?
            }
            None => {
                let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks ORDER BY created_ms, id");
                self.db.query(&sql, vec![]).await?
            }
        };
        let mut types = match service_id {
            Some(service) => {
                self.event_types("w.service_id = $1", vals![service])
                    .await?
            }
            None => self.event_types("1 = 1", vec![]).await?,
        };
        rows.into_iter()
            .map(|row| {
                let mut sub = webhook_from(row, Vec::new())?;
                sub.event_types = types.remove(&sub.id).unwrap_or_default();
                Ok(sub)
            })
            .collect()
    }

    async fn webhook_secret(&self, id: &str, version: i64) -> Result<Option<String>, StoreError> {
        let rows = self
            .db
            .query(
                "SELECT secret FROM webhook_secrets WHERE webhook_id = $1 AND version = $2",
                vals![id, version],
            )
            .await?;
        rows.into_iter()
            .next()
            .map(|mut r| self.opened_text(r.text("secret")?))
            .transpose()
    }

    async fn claim_webhook_messages(
        &self,
        webhook_id: &str,
        due_ms: i64,
        lease_now_ms: i64,
        lease_until_ms: i64,
        claim: &str,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError> {
        let sql = if self.db.engine() == Engine::Postgres {
            CLAIM_POSTGRES
        } else {
            CLAIM_SQLITE
        };
        let rows = self
            .db
            .apply_returning(vec![Stmt::returning(
                sql,
                vals![
                    claim,
                    lease_until_ms,
                    webhook_id,
                    due_ms,
                    lease_now_ms,
                    i64::from(limit)
                ],
            )])
            .await?;
        let mut out = rows
            .into_iter()
            .map(message_from)
            .collect::<Result<Vec<_>, _>>()?;
        out.sort_by(|a, b| (a.next_attempt_ms, &a.id).cmp(&(b.next_attempt_ms, &b.id)));
        Ok(out)
    }

    async fn record_webhook_attempts(
        &self,
        claim: &str,
        outcomes: &[(Message, Attempt)],
    ) -> Result<(), StoreError> {
        // The log rows first (one multi-row insert where the engine can), then each message
        // that was not delivered, then every delivered one in one statement: the claim
        // still holds exactly those.
        let mut change: Vec<Stmt> = outcomes
            .iter()
            .map(|(_, a)| {
                Stmt::insert(
                    "webhook_attempts",
                    ATTEMPT_COLUMNS,
                    vals![
                        &a.message_id,
                        a.at_ms,
                        a.status_code.map(i64::from),
                        a.error.as_ref(),
                        a.response_ms,
                        a.response_body.as_ref(),
                        a.fault.as_ref()
                    ],
                )
            })
            .collect();
        let mut delivered_at = None;
        for (next, a) in outcomes {
            if next.status == DeliveryStatus::Successful {
                delivered_at = delivered_at.max(Some(a.at_ms));
                continue;
            }
            change.push(Stmt::exec(
                "UPDATE webhook_messages SET status = $1, attempts = $2, next_attempt_ms = $3, \
                 claim = NULL, lease_ms = NULL, updated_ms = $4 \
                 WHERE id = $5 AND claim = $6 AND status = 'pending'",
                vals![
                    next.status.as_str(),
                    next.attempts,
                    next.next_attempt_ms,
                    a.at_ms,
                    &next.id,
                    claim
                ],
            ));
        }
        if let Some(at_ms) = delivered_at {
            change.push(Stmt::exec(
                "UPDATE webhook_messages SET status = $1, attempts = attempts + 1, \
                 claim = NULL, lease_ms = NULL, updated_ms = $2 \
                 WHERE claim = $3 AND status = 'pending'",
                vals![DeliveryStatus::Successful.as_str(), at_ms, claim],
            ));
        }
        self.db.apply(change).await
    }

    async fn webhook_messages(
        &self,
        webhook_id: &str,
        status: Option<DeliveryStatus>,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError> {
        let rows = match status {
            Some(status) => {
                let sql = format!(
                    "SELECT {MESSAGE_COLUMNS} FROM webhook_messages WHERE webhook_id = $1 \
                     AND status = $2 ORDER BY created_ms DESC, id DESC LIMIT $3"
                );
                self.db
                    .query(&sql, vals![webhook_id, status.as_str(), i64::from(limit)])
                    .await?
            }
            None => {
                let sql = format!(
                    "SELECT {MESSAGE_COLUMNS} FROM webhook_messages WHERE webhook_id = $1 \
                     ORDER BY created_ms DESC, id DESC LIMIT $2"
                );
                self.db
                    .query(&sql, vals![webhook_id, i64::from(limit)])
                    .await?
            }
        };
        rows.into_iter().map(message_from).collect()
    }

    async fn payment_webhook_messages(
        &self,
        payment_id: &str,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM webhook_messages WHERE payment_id = $1 \
             ORDER BY created_ms DESC, id DESC LIMIT $2"
        );
        let rows = self
            .db
            .query(&sql, vals![payment_id, i64::from(limit)])
            .await?;
        rows.into_iter().map(message_from).collect()
    }

    async fn webhook_message(&self, id: &str) -> Result<Option<Message>, StoreError> {
        let sql = format!("SELECT {MESSAGE_COLUMNS} FROM webhook_messages WHERE id = $1");
        self.db
            .query(&sql, vals![id])
            .await?
            .into_iter()
            .next()
            .map(message_from)
            .transpose()
    }

    async fn webhook_message_ordinal(&self, m: &Message) -> Result<u64, StoreError> {
        let rows = self
            .db
            .query(
                "SELECT COUNT(*) AS n FROM webhook_messages WHERE webhook_id = $1 \
                 AND (created_ms < $2 OR (created_ms = $2 AND (event_type < $3 \
                 OR (event_type = $3 AND id < $4))))",
                vals![&m.webhook_id, m.created_ms, &m.event_type, &m.id],
            )
            .await?;
        let n = match rows.into_iter().next() {
            Some(mut r) => r.i64("n")?,
            None => 0,
        };
        Ok(n.max(0) as u64)
    }

    async fn webhook_attempts(&self, message_id: &str) -> Result<Vec<Attempt>, StoreError> {
        let sql = format!(
            "SELECT {ATTEMPT_COLUMNS} FROM webhook_attempts WHERE message_id = $1 ORDER BY at_ms"
        );
        self.db
            .query(&sql, vals![message_id])
            .await?
            .into_iter()
            .map(attempt_from)
            .collect()
    }

    async fn resend_webhook_message(&self, id: &str, now_ms: i64) -> Result<bool, StoreError> {
        let change = vec![Stmt::exec_one(
            "UPDATE webhook_messages SET status = $1, attempts = 0, next_attempt_ms = $2, \
             claim = NULL, lease_ms = NULL, updated_ms = $2, secret_version = \
             (SELECT w.secret_version FROM webhooks w WHERE w.id = webhook_messages.webhook_id) \
             WHERE id = $3",
            vals![DeliveryStatus::Pending.as_str(), now_ms, id],
        )];
        match self.db.apply(change).await {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn webhook_message_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        self.db
            .query(
                "SELECT status, COUNT(*) AS n FROM webhook_messages GROUP BY status ORDER BY status",
                vec![],
            )
            .await?
            .into_iter()
            .map(|mut r| Ok((r.text("status")?, r.i64("n")?)))
            .collect()
    }
}
