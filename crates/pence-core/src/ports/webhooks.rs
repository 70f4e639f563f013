//! The WebhookStore port, in a file of its own for its size.

use async_trait::async_trait;

use super::StoreError;

/// Webhook subscriptions and their outbox. The outbox rows themselves are written by the
/// `Store`'s changes (in the same transaction as the ledger events that cause them).
#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// Stores a new subscription with its first secret (version 1), and the audit row of the
    /// staff action that added it. `Duplicate` when its tag is taken.
    async fn insert_webhook(
        &self,
        sub: &crate::webhook::Subscription,
        secret: &str,
        audit: Option<&crate::staff::AuditEntry>,
    ) -> Result<(), StoreError>;
    /// Saves the subscription's url, description, event types and active flag; deactivating
    /// marks its pending messages `will_not_send` in the same transaction, as is the audit row.
    async fn update_webhook(
        &self,
        sub: &crate::webhook::Subscription,
        audit: Option<&crate::staff::AuditEntry>,
    ) -> Result<(), StoreError>;
    /// Adds `secret` as the subscription's newest version, with the audit row; false (and no
    /// audit row) when there is no such subscription.
    async fn rotate_webhook_secret(
        &self,
        id: &str,
        secret: &str,
        at_ms: i64,
        audit: Option<&crate::staff::AuditEntry>,
    ) -> Result<bool, StoreError>;
    async fn webhook(&self, id: &str) -> Result<Option<crate::webhook::Subscription>, StoreError>;
    /// Every subscription (of one service when given), oldest first.
    async fn webhooks(
        &self,
        service_id: Option<&str>,
    ) -> Result<Vec<crate::webhook::Subscription>, StoreError>;
    async fn webhook_secret(&self, id: &str, version: i64) -> Result<Option<String>, StoreError>;
    /// Takes up to `limit` of the subscription's pending messages due by `due_ms` (Clock
    /// time) that no lease holds at `lease_now_ms`, holding them under `claim` until
    /// `lease_until_ms`. Leases are in wall-clock time, so moving the Clock cannot end one
    /// early: two claims never get the same message while its lease runs.
    async fn claim_webhook_messages(
        &self,
        webhook_id: &str,
        due_ms: i64,
        lease_now_ms: i64,
        lease_until_ms: i64,
        claim: &str,
        limit: u32,
    ) -> Result<Vec<crate::webhook::Message>, StoreError>;
    /// Logs each attempt and saves its message's next state (still held under `claim` and
    /// pending, else only the log), in one transaction. `outcomes` covers every message the
    /// claim took.
    async fn record_webhook_attempts(
        &self,
        claim: &str,
        outcomes: &[(crate::webhook::Message, crate::webhook::Attempt)],
    ) -> Result<(), StoreError>;
    /// The subscription's messages, newest first, optionally of one status.
    async fn webhook_messages(
        &self,
        webhook_id: &str,
        status: Option<crate::webhook::DeliveryStatus>,
        limit: u32,
    ) -> Result<Vec<crate::webhook::Message>, StoreError>;
    async fn webhook_message(
        &self,
        id: &str,
    ) -> Result<Option<crate::webhook::Message>, StoreError>;
    /// A payment's messages (to any of its service's subscriptions), newest first.
    async fn payment_webhook_messages(
        &self,
        payment_id: &str,
        limit: u32,
    ) -> Result<Vec<crate::webhook::Message>, StoreError>;
    /// Where `message` stands in its subscription's log: how many of the subscription's
    /// messages came before it (by creation time, then event type, then id). Seeded chaos
    /// plans each message by it, so a run made again is delivered alike.
    async fn webhook_message_ordinal(
        &self,
        message: &crate::webhook::Message,
    ) -> Result<u64, StoreError>;
    /// A message's attempts, oldest first.
    async fn webhook_attempts(
        &self,
        message_id: &str,
    ) -> Result<Vec<crate::webhook::Attempt>, StoreError>;
    /// Schedules the message again now, from the first rung of the ladder, signed with the
    /// subscription's current secret; false when there is no such message.
    async fn resend_webhook_message(&self, id: &str, now_ms: i64) -> Result<bool, StoreError>;
    /// How many messages there are of each status.
    async fn webhook_message_counts(&self) -> Result<Vec<(String, i64)>, StoreError>;
    /// Sets (or with `None` clears) how a subscription is delivered to badly on purpose.
    async fn set_delivery_faults(
        &self,
        webhook_id: &str,
        faults: Option<&crate::webhook::DeliveryFaults>,
    ) -> Result<(), StoreError>;
    /// How a subscription is delivered to (all faults off when none are set).
    async fn delivery_faults_of(
        &self,
        webhook_id: &str,
    ) -> Result<crate::webhook::DeliveryFaults, StoreError>;
    /// Every subscription delivered to badly on purpose, with how.
    async fn delivery_faults(
        &self,
    ) -> Result<Vec<(String, crate::webhook::DeliveryFaults)>, StoreError>;
    /// Writes `notice`'s messages, marked triggered (the control API) and with the
    /// `overrides` it was sent with, for the service's active subscriptions that take its
    /// event type; their ids.
    async fn insert_triggered_messages(
        &self,
        notice: &crate::ledger::record::Notice,
        overrides: Option<&str>,
    ) -> Result<Vec<String>, StoreError>;
}
