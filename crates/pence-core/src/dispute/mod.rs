//! Disputes: a paying user challenges a captured payment through their bank. GOV.UK Pay's
//! sandbox has none; Pence's sandbox raises them for two cards (`psp::DisputePlan`) and runs
//! them through Stripe's lifecycle on the Clock, so a test moves time instead of waiting:
//! raised (`needs_response`) a minute after capture, `under_review` an hour later (the sandbox
//! answers for the service), then `won` or `lost` a day after that.

use crate::ledger::EventKind;
use crate::payment::PaymentRecord;
use crate::psp::DisputePlan;

const MINUTE_MS: i64 = 60 * 1000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;
/// A captured payment's dispute is raised this long after capture.
pub const RAISED_AFTER_MS: i64 = MINUTE_MS;
/// Evidence is due this long after the dispute is raised.
pub const EVIDENCE_DUE_MS: i64 = 7 * DAY_MS;
/// The sandbox submits evidence, and the dispute goes under review, this long after it is raised.
pub const REVIEWED_AFTER_MS: i64 = HOUR_MS;
/// The bank decides this long after review starts.
pub const DECIDED_AFTER_MS: i64 = DAY_MS;

/// Public dispute status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisputeStatus {
    NeedsResponse,
    UnderReview,
    Won,
    Lost,
}

impl DisputeStatus {
    pub const ALL: [DisputeStatus; 4] = [
        DisputeStatus::NeedsResponse,
        DisputeStatus::UnderReview,
        DisputeStatus::Won,
        DisputeStatus::Lost,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DisputeStatus::NeedsResponse => "needs_response",
            DisputeStatus::UnderReview => "under_review",
            DisputeStatus::Won => "won",
            DisputeStatus::Lost => "lost",
        }
    }

    pub fn parse(s: &str) -> Option<DisputeStatus> {
        DisputeStatus::ALL.into_iter().find(|d| d.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisputeRecord {
    pub id: String,
    pub service_id: String,
    pub payment_id: String,
    pub status: DisputeStatus,
    /// How the bank will decide (the sandbox knows from the start).
    pub won: bool,
    pub reason: String,
    /// The disputed amount: everything the user paid, surcharge included.
    pub amount: i64,
    pub fee: i64,
    /// What the provider takes back when the dispute is lost (negative); absent otherwise.
    pub net_amount: Option<i64>,
    pub evidence_due_ms: i64,
    pub created_ms: i64,
    pub updated_ms: i64,
    /// When the next lifecycle step is due; `None` once decided.
    pub due_ms: Option<i64>,
    /// When a lost dispute's money was taken from a payout.
    pub settled_ms: Option<i64>,
}

/// The dispute the provider announced for `payment`, raised at `now`.
pub fn raise(payment: &PaymentRecord, plan: &DisputePlan, now: i64) -> DisputeRecord {
    DisputeRecord {
        id: crate::ids::new_id(),
        service_id: payment.service_id.clone(),
        payment_id: payment.id.clone(),
        status: DisputeStatus::NeedsResponse,
        won: plan.won,
        reason: plan.reason.to_string(),
        amount: payment.total(),
        fee: plan.fee,
        net_amount: None,
        evidence_due_ms: now + EVIDENCE_DUE_MS,
        created_ms: now,
        updated_ms: now,
        due_ms: Some(now + REVIEWED_AFTER_MS),
        settled_ms: None,
    }
}

/// The dispute's next step at `now` with its ledger event type, if one is due.
pub fn advanced(d: &DisputeRecord, now: i64) -> Option<(DisputeRecord, EventKind)> {
    if d.due_ms.is_none_or(|due| due > now) {
        return None;
    }
    let mut next = DisputeRecord {
        updated_ms: now,
        due_ms: None,
        ..d.clone()
    };
    let event = match d.status {
        DisputeStatus::NeedsResponse => {
            next.status = DisputeStatus::UnderReview;
            next.due_ms = Some(now + DECIDED_AFTER_MS);
            EventKind::DisputeEvidenceSubmitted
        }
        DisputeStatus::UnderReview if d.won => {
            next.status = DisputeStatus::Won;
            EventKind::DisputeWon
        }
        DisputeStatus::UnderReview => {
            // A lost dispute costs the amount and the fee, taken from the day's payout.
            next.status = DisputeStatus::Lost;
            next.net_amount = Some(-(d.amount + d.fee));
            next.settled_ms = Some(now);
            EventKind::DisputeLost
        }
        DisputeStatus::Won | DisputeStatus::Lost => return None,
    };
    Some((next, event))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dispute(won: bool) -> DisputeRecord {
        DisputeRecord {
            id: "d".into(),
            service_id: "s".into(),
            payment_id: "p".into(),
            status: DisputeStatus::NeedsResponse,
            won,
            reason: "fraudulent".into(),
            amount: 1000,
            fee: 2000,
            net_amount: None,
            evidence_due_ms: EVIDENCE_DUE_MS,
            created_ms: 0,
            updated_ms: 0,
            due_ms: Some(REVIEWED_AFTER_MS),
            settled_ms: None,
        }
    }

    #[test]
    fn lifecycle_follows_the_clock() {
        for won in [true, false] {
            let d = dispute(won);
            assert!(advanced(&d, REVIEWED_AFTER_MS - 1).is_none(), "not yet");
            let (review, e) = advanced(&d, REVIEWED_AFTER_MS).unwrap();
            assert_eq!(
                (review.status, e),
                (
                    DisputeStatus::UnderReview,
                    EventKind::DisputeEvidenceSubmitted
                )
            );
            let at = REVIEWED_AFTER_MS + DECIDED_AFTER_MS;
            assert!(advanced(&review, at - 1).is_none());
            let (done, _) = advanced(&review, at).unwrap();
            assert_eq!(done.due_ms, None);
            assert!(advanced(&done, i64::MAX).is_none(), "decided is final");
            if won {
                assert_eq!(done.status, DisputeStatus::Won);
                assert_eq!((done.net_amount, done.settled_ms), (None, None));
            } else {
                assert_eq!(done.status, DisputeStatus::Lost);
                assert_eq!(done.net_amount, Some(-3000));
                assert_eq!(done.settled_ms, Some(at));
            }
        }
    }

    #[test]
    fn statuses_round_trip() {
        for s in DisputeStatus::ALL {
            assert_eq!(DisputeStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(DisputeStatus::parse("open"), None);
    }
}
