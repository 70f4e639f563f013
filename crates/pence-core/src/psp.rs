//! The payment-provider port: what the journey asks of a PSP. The sandbox implements it in
//! `pence-psp`. The journey always stores the state it is about to ask for before calling
//! (reference: persist before calling a PSP), so a crash in between is recoverable.

use async_trait::async_trait;

use crate::journey::card::ValidCard;
use crate::payment::PaymentRecord;

/// A provider's answer to an authorisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorisation {
    Authorised {
        provider_id: String,
    },
    /// The issuer wants the cardholder to pass a 3-D Secure challenge first.
    ThreeDsRequired {
        provider_id: String,
    },
    Rejected {
        provider_id: String,
    },
    /// The provider failed; `message` is its own words, for logs only.
    Error {
        message: String,
    },
}

/// Where a refund stands at the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundOutcome {
    Succeeded,
    /// Accepted; the result comes later (`refund_result`).
    Pending,
    Failed,
}

/// A dispute the provider will raise on a captured payment (the sandbox's dispute cards).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DisputePlan {
    pub reason: &'static str,
    /// The provider's dispute fee, in pence.
    pub fee: i64,
    /// Whether the service will win it.
    pub won: bool,
}

#[async_trait]
pub trait PaymentProvider: Send + Sync {
    /// The `payment_provider` value of payments it takes.
    fn name(&self) -> &'static str;
    async fn authorise(&self, payment: &PaymentRecord, card: &ValidCard) -> Authorisation;
    /// The result of the 3-D Secure challenge the provider asked for.
    async fn authorise_3ds(&self, payment: &PaymentRecord, passed: bool) -> Authorisation;
    /// What became of an authorisation the provider was asked for whose answer was never
    /// recorded (a crash between storing AUTHORISATION READY or 3DS READY and the answer):
    /// asked again from what the payment keeps (first six and last four, provider id).
    async fn authorisation_status(&self, payment: &PaymentRecord) -> Authorisation;
    /// Authorises a payment of an agreement with the card saved on it, the user not present
    /// (reference §7). A refusal of such a payment is for good (`can_retry: false`).
    async fn authorise_recurring(&self, payment: &PaymentRecord) -> Authorisation;
    async fn capture(&self, payment: &PaymentRecord) -> Result<(), String>;
    async fn cancel(&self, payment: &PaymentRecord) -> Result<(), String>;
    async fn refund(&self, payment: &PaymentRecord, amount: i64) -> RefundOutcome;
    /// The result of a refund that was `Pending`.
    async fn refund_result(&self, payment: &PaymentRecord, amount: i64) -> RefundOutcome;
    /// The dispute the paying user's bank will raise once `payment` is captured, if any.
    fn dispute(&self, payment: &PaymentRecord) -> Option<DisputePlan>;
}
