//! The webhook consumer a service mounts: every message's `Pay-Signature` is checked against
//! the service's signing secrets, the raw message is committed to the inbox, and only then
//! does GOV.UK Pay get its 200. Processing runs in the background, from the inbox: each message
//! moves its payment's journey forward, records the event and keeps the refund summary, in
//! one transaction. A message seen before (same message id, or the same resource, event type
//! and date) changes nothing; a failure is retried with backoff and stays visible in the inbox.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use pence_sql::StoreError;
use pence_sql::{Stmt, Val};
use pence_wire::WebhookMessage;
use serde::Serialize;
use tokio::sync::Notify;

use crate::journeys::advance;
use crate::{Connector, Error};

/// How the consumer behaves.
#[derive(Debug, Clone)]
pub struct ConsumerOptions {
    /// `false`: store and acknowledge messages without processing them (state `held`), e.g.
    /// while the service's own processing is switched off.
    pub process: bool,
    /// How long one instance holds messages it is processing before another may take them
    /// (after a crash, for instance).
    pub lease: Duration,
    /// Tries before a message that keeps failing is left `failed` (or `unmatched`, when no
    /// journey has its payment).
    pub max_attempts: i64,
    /// Messages taken at a time.
    pub batch: usize,
}

impl Default for ConsumerOptions {
    fn default() -> Self {
        ConsumerOptions {
            process: true,
            lease: Duration::from_secs(30),
            max_attempts: 6,
            batch: 256,
        }
    }
}

/// The consumer: cheap to clone; share one between the router and the processor.
#[derive(Clone)]
pub struct WebhookConsumer {
    connector: Connector,
    secrets: Arc<RwLock<Vec<String>>>,
    options: ConsumerOptions,
    wake: Arc<Notify>,
}

/// What the inbox holds, for a status page or an alert.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InboxReport {
    pub pending: i64,
    pub processed: i64,
    pub duplicate: i64,
    pub unmatched: i64,
    pub failed: i64,
    pub held: i64,
    /// Deliveries of messages already received (each one changes nothing).
    pub redelivered: i64,
    /// Messages that failed at least once and are not done, with their last error.
    pub failing: Vec<Failing>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failing {
    pub message_id: String,
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
}

#[derive(Serialize)]
struct Refusal {
    error: String,
}

fn refuse(status: StatusCode, error: impl ToString) -> Response {
    let body = Refusal {
        error: error.to_string(),
    };
    (status, Json(body)).into_response()
}

impl WebhookConsumer {
    /// A consumer checking signatures against `secrets` (several during a rotation).
    pub fn new(connector: Connector, secrets: Vec<String>, options: ConsumerOptions) -> Self {
        WebhookConsumer {
            connector,
            secrets: Arc::new(RwLock::new(secrets)),
            options,
            wake: Arc::default(),
        }
    }

    /// Replaces the signing secrets (after rotating them on GOV.UK Pay).
    pub fn set_secrets(&self, secrets: Vec<String>) {
        *self.secrets.write().unwrap_or_else(|e| e.into_inner()) = secrets;
    }

    /// A router answering `POST {path}` with the consumer.
    pub fn router<S: Clone + Send + Sync + 'static>(&self, path: &str) -> Router<S> {
        Router::new()
            .route(path, post(receive))
            .with_state(self.clone())
    }

    /// Stores a signed message; `Ok(())` means it is durably in the inbox.
    pub async fn accept(&self, body: &[u8], signature: Option<&str>) -> Result<(), Response> {
        let message = {
            let secrets = self.secrets.read().unwrap_or_else(|e| e.into_inner());
            let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
            pence_client::webhooks::verify(body, signature, &secrets)
        };
        let message = message.map_err(|e| match e {
            pence_client::webhooks::WebhookError::NotAMessage(_) => {
                refuse(StatusCode::BAD_REQUEST, e)
            }
            _ => refuse(StatusCode::UNAUTHORIZED, e),
        })?;
        let body = String::from_utf8_lossy(body).into_owned();
        let now = self.connector.clock.now_ms();
        let state = if self.options.process {
            "pending"
        } else {
            "held"
        };
        let stored = self
            .connector
            .db
            .apply(vec![Stmt::exec(
                "INSERT INTO pence_webhook_inbox (message_id, body, received_ms, state, next_ms) \
                 VALUES ($1, $2, $3, $4, $3) ON CONFLICT (message_id) \
                 DO UPDATE SET deliveries = pence_webhook_inbox.deliveries + 1",
                vec![
                    Val::from(message.webhook_message_id),
                    Val::from(body),
                    Val::from(now),
                    Val::from(state),
                ],
            )])
            .await;
        if let Err(e) = stored {
            tracing::error!(error = %e, "a webhook message could not be stored");
            return Err(refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "the message could not be stored; send it again",
            ));
        }
        self.wake.notify_one();
        Ok(())
    }

    /// Processes what is due in the inbox, a batch at a time; answers how many messages it
    /// took.
    pub async fn process_once(&self) -> Result<usize, Error> {
        let now = self.connector.clock.now_ms();
        let claimed = self
            .connector
            .db
            .apply_returning(vec![Stmt::returning(
                "UPDATE pence_webhook_inbox SET lease_until_ms = $1, attempts = attempts + 1 \
                 WHERE message_id IN (SELECT message_id FROM pence_webhook_inbox \
                   WHERE state = 'pending' AND next_ms <= $2 AND lease_until_ms <= $2 \
                   ORDER BY next_ms LIMIT $3) \
                 AND state = 'pending' AND lease_until_ms <= $2 \
                 RETURNING message_id, body, attempts",
                vec![
                    Val::from(now + self.options.lease.as_millis() as i64),
                    Val::from(now),
                    Val::from(self.options.batch as i64),
                ],
            )])
            .await?;
        let count = claimed.len();
        let work = claimed.into_iter().map(|mut row| async move {
            let (id, body, attempts) = (
                row.text("message_id")?,
                row.text("body")?,
                row.i64("attempts")?,
            );
            self.process(&id, &body, attempts).await
        });
        for outcome in futures_util::future::join_all(work).await {
            outcome?;
        }
        Ok(count)
    }

    /// Processes one claimed message; its own failures are recorded on it, not returned.
    async fn process(&self, id: &str, body: &str, attempts: i64) -> Result<(), Error> {
        let db = &self.connector.db;
        let now = self.connector.clock.now_ms();
        let message: WebhookMessage = match serde_json::from_str(body) {
            Ok(m) => m,
            Err(e) => return self.finish(id, "failed", Some(e.to_string())).await,
        };
        let journey = db
            .query(
                "SELECT journey_id FROM pence_journeys WHERE payment_id = $1",
                vec![Val::from(message.resource_id.as_str())],
            )
            .await;
        let journey_id = match journey {
            Ok(rows) => match rows.into_iter().next() {
                Some(mut row) => row.text("journey_id")?,
                // Its journey may not have its payment id yet (the message overtook the
                // create call's answer): try again later, then leave it visible.
                None => {
                    let why = format!("no journey has payment {}", message.resource_id);
                    return self.retry(id, attempts, "unmatched", why).await;
                }
            },
            Err(e) => return self.retry(id, attempts, "failed", e.to_string()).await,
        };
        let mut change = vec![Stmt::insert(
            "pence_webhook_events",
            "message_id, resource_id, event_type, created_date, journey_id, status, processed_ms",
            vec![
                Val::from(id),
                Val::from(message.resource_id.as_str()),
                Val::from(message.event_type.as_str()),
                Val::from(message.created_date.as_str()),
                Val::from(journey_id),
                Val::from(message.resource.state.status.as_str()),
                Val::from(now),
            ],
        )];
        change.extend(advance(
            &message.resource_id,
            &message.resource.state,
            &message.resource.refund_summary,
            &message.created_date,
            "webhook",
            now,
        ));
        change.push(done(id, "processed", None, now));
        match db.apply(change).await {
            Ok(()) => Ok(()),
            Err(StoreError::Duplicate) => self.finish(id, "duplicate", None).await,
            Err(e) => self.retry(id, attempts, "failed", e.to_string()).await,
        }
    }

    async fn finish(&self, id: &str, state: &str, error: Option<String>) -> Result<(), Error> {
        let now = self.connector.clock.now_ms();
        Ok(self
            .connector
            .db
            .apply(vec![done(id, state, error, now)])
            .await?)
    }

    /// Puts a message back for a later try (backoff doubling from 1 s, at most 5 minutes), or
    /// leaves it in `last_state` after the last one.
    async fn retry(
        &self,
        id: &str,
        attempts: i64,
        last_state: &str,
        error: String,
    ) -> Result<(), Error> {
        tracing::warn!(
            message_id = id,
            attempts,
            error,
            "webhook message not processed"
        );
        if attempts >= self.options.max_attempts {
            return self.finish(id, last_state, Some(error)).await;
        }
        let backoff = (1000i64 << attempts.clamp(0, 20)).min(300_000);
        let now = self.connector.clock.now_ms();
        Ok(self
            .connector
            .db
            .apply(vec![Stmt::exec(
                "UPDATE pence_webhook_inbox SET lease_until_ms = 0, next_ms = $1, last_error = $2 \
                 WHERE message_id = $3",
                vec![Val::from(now + backoff), Val::from(error), Val::from(id)],
            )])
            .await?)
    }

    /// Processes the inbox until the task is dropped: woken by each accepted message, and
    /// every second for retries and for messages another instance left.
    pub async fn run(self) {
        loop {
            match self.process_once().await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "the webhook inbox could not be read"),
            }
            let _ = tokio::time::timeout(Duration::from_secs(1), self.wake.notified()).await;
        }
    }

    /// Counts by state, and what is failing.
    pub async fn inbox(&self) -> Result<InboxReport, Error> {
        let db = &self.connector.db;
        let mut report = InboxReport::default();
        let rows = db
            .query(
                "SELECT state, COUNT(*) AS n, CAST(SUM(deliveries - 1) AS BIGINT) AS again \
                 FROM pence_webhook_inbox GROUP BY state",
                vec![],
            )
            .await?;
        for mut row in rows {
            let n = row.i64("n")?;
            report.redelivered += row.i64("again")?;
            match row.text("state")?.as_str() {
                "pending" => report.pending = n,
                "processed" => report.processed = n,
                "duplicate" => report.duplicate = n,
                "unmatched" => report.unmatched = n,
                "failed" => report.failed = n,
                "held" => report.held = n,
                _ => {}
            }
        }
        let rows = db
            .query(
                "SELECT message_id, state, attempts, last_error FROM pence_webhook_inbox \
                 WHERE last_error IS NOT NULL AND state <> 'processed' \
                 ORDER BY received_ms DESC LIMIT 100",
                vec![],
            )
            .await?;
        for mut row in rows {
            report.failing.push(Failing {
                message_id: row.text("message_id")?,
                state: row.text("state")?,
                attempts: row.i64("attempts")?,
                last_error: row.opt_text("last_error")?,
            });
        }
        Ok(report)
    }

    /// How many events the consumer recorded for `message_id` (0 or 1), for checks.
    pub async fn events_of_payment(&self, payment_id: &str) -> Result<Vec<String>, Error> {
        let rows = self
            .connector
            .db
            .query(
                "SELECT message_id FROM pence_webhook_events WHERE resource_id = $1 \
                 ORDER BY created_date, message_id",
                vec![Val::from(payment_id)],
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|mut r| r.text("message_id"))
            .collect::<Result<_, _>>()?)
    }
}

fn done(id: &str, state: &str, error: Option<String>, now: i64) -> Stmt {
    Stmt::exec(
        "UPDATE pence_webhook_inbox SET state = $1, last_error = COALESCE($2, last_error), \
         processed_ms = $3, lease_until_ms = 0 WHERE message_id = $4",
        vec![
            Val::from(state),
            Val::from(error),
            Val::from(now),
            Val::from(id),
        ],
    )
}

async fn receive(
    State(consumer): State<WebhookConsumer>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let signature = headers.get("Pay-Signature").and_then(|v| v.to_str().ok());
    match consumer.accept(&body, signature).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(refused) => refused,
    }
}
