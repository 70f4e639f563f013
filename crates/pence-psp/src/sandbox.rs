//! The sandbox PSP. Authorisation looks the full card number up, in GOV.UK Pay's order: error
//! cards, then declined cards, then the good list; any other number is a gateway error
//! (reference §4.1). Beyond GOV.UK Pay's sandbox: 4000002500003155 asks for 3-D Secure,
//! refunds of payments made with 4000000000005126 fail at the provider, and payments made
//! with 4000000000000259 / 4000000000002685 are disputed after capture (lost / won).

use async_trait::async_trait;
use pence_core::journey::card::ValidCard;
use pence_core::payment::status::Status;
use pence_core::payment::PaymentRecord;
use pence_core::psp::{Authorisation, DisputePlan, PaymentProvider, RefundOutcome};

/// Gateway error: the sandbox's own message, typo included.
const ERROR_CARDS: &[&str] = &["4000000000000119"];
/// Declined, expired-card and CVC-error cards all end as a plain rejection.
const DECLINED_CARDS: &[&str] = &["4000000000000002", "4000000000000069", "4000000000000127"];
const GOOD_CARDS: &[&str] = &[
    "4444333322221111",
    "4242424242424242",
    "4000056655665556",
    "4917610000000000003",
    "371449635398431",
    "3566002020360505",
    "6011000990139424",
    "36148900647913",
    "5105105105105100",
    "222100000000000",
    "4000000000000010",
    "4000160000000004",
    "4000020000000000",
    "4988080000000000",
    "4111111111111111",
    "4293189100000008",
    "5101180000000007",
    "4131840000000003",
    "4000180000000002",
    "5200828282828210",
    "6759649826438453",
    // Pence's own: authorised, then their payments get disputes or failing refunds (#4).
    "4000000000000259",
    "4000000000002685",
    "4000000000005126",
];
const THREE_DS_CARD: &str = "4000002500003155";
/// First six and last four of the card GOV.UK Pay's sandbox always refuses for recurring
/// payments.
const RECURRING_DECLINED_CARD: (&str, &str) = ("510510", "5100");
/// First six and last four of the card whose refunds fail.
const REFUND_ERROR_CARD: (&str, &str) = ("400000", "5126");
/// First six and last four of the cards whose payments are disputed (Stripe's test cards:
/// both fraudulent, the first lost and the second won), and whether the service wins.
const DISPUTE_CARDS: [((&str, &str), bool); 2] =
    [(("400000", "0259"), false), (("400000", "2685"), true)];
/// Stripe's dispute fee in the UK, £20.
const DISPUTE_FEE: i64 = 2000;

#[derive(Debug, Default, Clone)]
pub struct Sandbox;

/// The first six and last four digits the payment was made with.
fn digits(payment: &PaymentRecord) -> Option<(&str, &str)> {
    let c = payment.card.as_ref()?;
    Some((c.first_digits.as_str(), c.last_digits.as_str()))
}

fn refund_fails(payment: &PaymentRecord) -> bool {
    digits(payment) == Some(REFUND_ERROR_CARD)
}

fn transaction_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The sandbox's decision for a card number.
pub fn decide(number: &str) -> Authorisation {
    if ERROR_CARDS.contains(&number) {
        Authorisation::Error {
            message: "This transaction could be not be processed.".into(),
        }
    } else if DECLINED_CARDS.contains(&number) {
        Authorisation::Rejected {
            provider_id: transaction_id(),
        }
    } else if number == THREE_DS_CARD {
        Authorisation::ThreeDsRequired {
            provider_id: transaction_id(),
        }
    } else if GOOD_CARDS.contains(&number) {
        Authorisation::Authorised {
            provider_id: transaction_id(),
        }
    } else {
        Authorisation::Error {
            message: "Unsupported card details.".into(),
        }
    }
}

/// Mail and telephone orders are outside 3-D Secure (strong customer authentication does not
/// apply to them, and nobody could answer the challenge): the challenge card is authorised.
fn without_challenge_for_moto(payment: &PaymentRecord, decided: Authorisation) -> Authorisation {
    match decided {
        Authorisation::ThreeDsRequired { provider_id } if payment.moto => {
            Authorisation::Authorised { provider_id }
        }
        other => other,
    }
}

#[async_trait]
impl PaymentProvider for Sandbox {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    async fn authorise(&self, payment: &PaymentRecord, card: &ValidCard) -> Authorisation {
        without_challenge_for_moto(payment, decide(&card.number))
    }

    async fn authorise_3ds(&self, payment: &PaymentRecord, passed: bool) -> Authorisation {
        let provider_id = payment.provider_id.clone().unwrap_or_else(transaction_id);
        if passed {
            Authorisation::Authorised { provider_id }
        } else {
            Authorisation::Rejected { provider_id }
        }
    }

    /// Decides by the saved card's first six and last four, like a first payment, except that
    /// 5105105105105100 is always refused for recurring payments (GOV.UK Pay's sandbox), and
    /// the 3-D Secure card is authorised (no challenge with the user away).
    async fn authorise_recurring(&self, payment: &PaymentRecord) -> Authorisation {
        if digits(payment) == Some(RECURRING_DECLINED_CARD) {
            return Authorisation::Rejected {
                provider_id: transaction_id(),
            };
        }
        match self.authorisation_status(payment).await {
            Authorisation::ThreeDsRequired { provider_id } => {
                Authorisation::Authorised { provider_id }
            }
            other => other,
        }
    }

    /// The sandbox keeps nothing: it decides again from the card the payment keeps (its test
    /// cards differ in their first six and last four digits). A 3-D Secure answer it never
    /// recorded is asked for again: the payment goes back to the challenge.
    async fn authorisation_status(&self, payment: &PaymentRecord) -> Authorisation {
        if payment.status == Status::Authorisation3dsReady {
            return Authorisation::ThreeDsRequired {
                provider_id: payment.provider_id.clone().unwrap_or_else(transaction_id),
            };
        }
        let card = digits(payment).and_then(|(first, last)| {
            ERROR_CARDS
                .iter()
                .chain(DECLINED_CARDS)
                .chain(GOOD_CARDS)
                .chain([&THREE_DS_CARD])
                .find(|n| n.starts_with(first) && n.ends_with(last))
        });
        match card {
            Some(number) => without_challenge_for_moto(payment, decide(number)),
            None => Authorisation::Error {
                message: "Unsupported card details.".into(),
            },
        }
    }

    async fn capture(&self, _payment: &PaymentRecord) -> Result<(), String> {
        Ok(())
    }

    async fn cancel(&self, _payment: &PaymentRecord) -> Result<(), String> {
        Ok(())
    }

    /// Refunds succeed at once, like GOV.UK Pay's sandbox; those of the refund-error card
    /// stay pending and then fail.
    async fn refund(&self, payment: &PaymentRecord, _amount: i64) -> RefundOutcome {
        if refund_fails(payment) {
            RefundOutcome::Pending
        } else {
            RefundOutcome::Succeeded
        }
    }

    async fn refund_result(&self, payment: &PaymentRecord, _amount: i64) -> RefundOutcome {
        if refund_fails(payment) {
            RefundOutcome::Failed
        } else {
            RefundOutcome::Succeeded
        }
    }

    fn dispute(&self, payment: &PaymentRecord) -> Option<DisputePlan> {
        let used = digits(payment)?;
        DISPUTE_CARDS
            .iter()
            .find(|(card, _)| *card == used)
            .map(|&(_, won)| DisputePlan {
                reason: "fraudulent",
                fee: DISPUTE_FEE,
                won,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decides_like_gov_uk_pay_sandbox() {
        assert!(matches!(
            decide("4444333322221111"),
            Authorisation::Authorised { .. }
        ));
        assert!(matches!(
            decide("4000000000000002"),
            Authorisation::Rejected { .. }
        ));
        assert!(matches!(
            decide("4000000000000069"),
            Authorisation::Rejected { .. }
        ));
        assert!(matches!(
            decide("4000000000000127"),
            Authorisation::Rejected { .. }
        ));
        assert_eq!(
            decide("4000000000000119"),
            Authorisation::Error {
                message: "This transaction could be not be processed.".into()
            }
        );
        assert!(matches!(
            decide("4000002500003155"),
            Authorisation::ThreeDsRequired { .. }
        ));
        assert_eq!(
            decide("4012888888881881"),
            Authorisation::Error {
                message: "Unsupported card details.".into()
            }
        );
        for card in GOOD_CARDS.iter().chain(DECLINED_CARDS).chain(ERROR_CARDS) {
            assert!(pence_core::journey::card::brand::luhn_ok(card), "{card}");
            assert!(
                pence_core::journey::card::identify(card).is_some(),
                "{card}"
            );
        }
        let Authorisation::Authorised { provider_id } = decide("4242424242424242") else {
            unreachable!()
        };
        assert_eq!(provider_id.len(), 36);
        // Asked again from first six and last four, every test card decides as before.
        let all: Vec<&str> = GOOD_CARDS
            .iter()
            .chain(DECLINED_CARDS)
            .chain(ERROR_CARDS)
            .chain([&THREE_DS_CARD])
            .copied()
            .collect();
        for card in &all {
            let same = all
                .iter()
                .filter(|o| o[..6] == card[..6] && o[o.len() - 4..] == card[card.len() - 4..])
                .count();
            assert_eq!(same, 1, "{card} shares its first six and last four");
        }
    }
}
