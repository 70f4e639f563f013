//! Dispute shapes: a dispute in search results (`DisputeDetailForSearch`).

use serde::{Deserialize, Serialize};

use crate::payment::Link;
use crate::refund::RefundSettlementSummary;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisputeForSearch {
    pub dispute_id: String,
    pub payment_id: String,
    pub created_date: String,
    pub evidence_due_date: String,
    pub amount: i64,
    pub fee: i64,
    /// Only on a lost dispute.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub net_amount: Option<i64>,
    pub reason: String,
    pub status: String,
    /// Only on a lost dispute: when its money was taken from a payout.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub settlement_summary: Option<RefundSettlementSummary>,
    #[serde(rename = "_links")]
    pub links: DisputeLinks,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisputeLinks {
    pub payment: Link,
}
