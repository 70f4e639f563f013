//! What is read about webhooks, whatever the front-end (the admin tool, the control API, the
//! CLI): subscriptions and their messages. Given a service, a subscription is found only
//! through it; without one (the operator's CLI), any.

use crate::ports::{StoreError, WebhookStore};

use super::{Attempt, DeliveryStatus, Message, Subscription};

/// The service's subscriptions (every service's without one), oldest first.
pub async fn subscriptions(
    store: &dyn WebhookStore,
    service_id: Option<&str>,
) -> Result<Vec<Subscription>, StoreError> {
    store.webhooks(service_id).await
}

/// Subscription `id`, if it is the service's (any service's without one).
pub async fn subscription(
    store: &dyn WebhookStore,
    service_id: Option<&str>,
    id: &str,
) -> Result<Option<Subscription>, StoreError> {
    Ok(store
        .webhook(id)
        .await?
        .filter(|w| service_id.is_none_or(|s| w.service_id == s)))
}

/// Whose webhook messages to list.
#[derive(Debug, Clone, Copy)]
pub enum MessagesOf<'a> {
    /// A subscription's (found through its service first: see `subscription`), of one
    /// delivery status when given.
    Subscription(&'a str, Option<DeliveryStatus>),
    /// A payment's, to any of its service's subscriptions.
    Payment(&'a str),
}

/// Messages, newest first, `limit` at most.
pub async fn messages(
    store: &dyn WebhookStore,
    of: MessagesOf<'_>,
    limit: u32,
) -> Result<Vec<Message>, StoreError> {
    match of {
        MessagesOf::Subscription(id, status) => store.webhook_messages(id, status, limit).await,
        MessagesOf::Payment(id) => store.payment_webhook_messages(id, limit).await,
    }
}

/// Messages, newest first, `limit` at most, each with its delivery attempts.
pub async fn messages_with_attempts(
    store: &dyn WebhookStore,
    of: MessagesOf<'_>,
    limit: u32,
) -> Result<Vec<(Message, Vec<Attempt>)>, StoreError> {
    let messages = messages(store, of, limit).await?;
    let mut with_attempts = Vec::with_capacity(messages.len());
    for m in messages {
        let attempts = store.webhook_attempts(&m.id).await?;
        with_attempts.push((m, attempts));
    }
    Ok(with_attempts)
}

/// Message `id`, if it is to one of the service's subscriptions (any without one).
pub async fn message(
    store: &dyn WebhookStore,
    service_id: Option<&str>,
    id: &str,
) -> Result<Option<Message>, StoreError> {
    let Some(m) = store.webhook_message(id).await? else {
        return Ok(None);
    };
    if service_id.is_some()
        && subscription(store, service_id, &m.webhook_id)
            .await?
            .is_none()
    {
        return Ok(None);
    }
    Ok(Some(m))
}

/// One message in a subscription's delivery report: where it stands in the log, what each
/// attempt was sent as and how the receiver answered, and what the receiver got wrong.
#[derive(Debug, Clone)]
pub struct Reported {
    pub message: Message,
    pub ordinal: u64,
    pub attempts: Vec<Attempt>,
    /// `accepted_bad_signature`: the receiver answered 2xx to a message signed with a wrong
    /// or old secret, which it should have refused.
    pub flags: Vec<&'static str>,
}

/// Subscription `id`'s messages, oldest first (`limit` at most, the newest ones), each with
/// its place in the log, its attempts and what they show of the receiver: the report a team
/// reads after a chaos run.
pub async fn delivery_report(
    store: &dyn WebhookStore,
    id: &str,
    limit: u32,
) -> Result<Vec<Reported>, StoreError> {
    let mut found =
        messages_with_attempts(store, MessagesOf::Subscription(id, None), limit).await?;
    found.reverse();
    let mut report = Vec::with_capacity(found.len());
    for (message, attempts) in found {
        let ordinal = store.webhook_message_ordinal(&message).await?;
        let badly_signed = |a: &Attempt| {
            a.fault
                .as_deref()
                .is_some_and(|f| f.contains("wrong signature") || f.contains("old secret"))
        };
        let mut flags = Vec::new();
        if attempts.iter().any(|a| badly_signed(a) && a.delivered()) {
            flags.push("accepted_bad_signature");
        }
        report.push(Reported {
            message,
            ordinal,
            attempts,
            flags,
        });
    }
    Ok(report)
}
