//! A webhook message as GOV.UK Pay posts it to a service (signed with `Pay-Signature`).

use serde::{Deserialize, Serialize};

use crate::payment::Payment;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookMessage {
    pub webhook_message_id: String,
    pub created_date: String,
    pub resource_id: String,
    pub api_version: u32,
    pub resource_type: String,
    pub event_type: String,
    /// The payment as it was when the event happened (no `_links`).
    pub resource: Payment,
}
