//! The one gate every payment transition goes through: the API (cancel, capture), the paying
//! user's pages, the sweeps and refunds' payment moves alike.
//!
//! `apply` reads the payment, lets the caller decide what it becomes, checks the move against
//! the state machine (`Status::can_become`), and writes it conditionally with its ledger
//! events and webhook messages in one transaction. When another change got there first the
//! write matches nothing, and the payment is read and judged again, so the loser answers for
//! the state it finds. One retry rule and one version rule hold for every caller.

use crate::clock::Clock;
use crate::ledger::record::Record;
use crate::ledger::{EventKind, LedgerEvent};
use crate::payment::PaymentRecord;
use crate::ports::{Store, StoreError};
use crate::refusal::{Failure, Refusal};
use crate::status::Status;

/// How many times a change that lost a race is judged again. Each loss means another change
/// of the payment committed, so the payment is moving on; the bound only stops a request
/// from chasing a payment that changes without end.
pub(crate) const TRIES: usize = 10;

/// Which payment a transition is of.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// A payment of this service (the API: another service's payment is unknown).
    Of { service_id: &'a str, id: &'a str },
    /// A payment by id alone (the pages, whose signed token names it, and the sweeps).
    Any(&'a str),
}

impl Target<'_> {
    async fn read(self, store: &dyn Store) -> Result<Option<PaymentRecord>, StoreError> {
        let (Target::Of { id, .. } | Target::Any(id)) = self;
        if !crate::ids::could_be_id(id) {
            return Ok(None);
        }
        match self {
            Target::Of { service_id, id } => store.payment(service_id, id).await,
            Target::Any(id) => store.journey_payment(id).await,
        }
    }
}

/// A change a caller decided on: the payment as it becomes and the events recording it.
#[derive(Debug, Clone)]
pub struct Move {
    next: PaymentRecord,
    events: Vec<LedgerEvent>,
    /// The payment's agreement becomes active with its card, in the same transaction.
    sets_up_agreement: bool,
    /// The payment's agreement becomes inactive (its card refused for good), likewise.
    inactivates_agreement: bool,
    /// Emails to the paying user, written with the change.
    emails: Vec<crate::emails::Email>,
    /// The audit row of the staff action the move is, written with it.
    audit: Option<crate::staff::AuditEntry>,
}

impl Move {
    /// `p` moved to `status` at `now`, recorded by one event of `kind`. A move to the status
    /// the payment already has records something else (a pay-out, a capture time).
    pub fn to(p: &PaymentRecord, status: Status, kind: EventKind, now: i64) -> Move {
        let mut next = p.clone();
        next.status = status;
        next.updated_ms = now;
        Move {
            events: vec![LedgerEvent::new(p, kind, status, now)],
            next,
            sets_up_agreement: false,
            emails: Vec::new(),
            inactivates_agreement: false,
            audit: None,
        }
    }

    /// The move goes on from where it got to, to `status`, recorded by another event: several
    /// steps of the state machine in one transaction, each checked by the gate.
    pub fn then(mut self, status: Status, kind: EventKind, now: i64) -> Move {
        self.events
            .push(LedgerEvent::new(&self.next, kind, status, now));
        self.next.status = status;
        self
    }

    /// The move also makes the payment's agreement inactive.
    pub fn inactivating_agreement(mut self) -> Move {
        self.inactivates_agreement = true;
        self
    }

    /// The move also sets up the payment's agreement (`set_up_agreement`) with its card.
    pub fn setting_up_agreement(mut self) -> Move {
        self.sets_up_agreement = true;
        self
    }

    /// An email the move sends the paying user, if there is one.
    pub fn emailing(mut self, email: Option<crate::emails::Email>) -> Move {
        self.emails.extend(email);
        self
    }

    /// The move is a staff action (`None` when it is not): its audit row is written with it.
    pub fn audited(mut self, audit: Option<crate::staff::AuditEntry>) -> Move {
        self.audit = audit;
        self
    }

    /// Other fields the move changes (card details, provider id, capture times...).
    pub fn with(mut self, edit: impl FnOnce(&mut PaymentRecord)) -> Move {
        edit(&mut self.next);
        self
    }
}

/// The payment after `apply`, and whether this call changed it.
#[derive(Debug, Clone)]
pub struct Applied {
    pub payment: PaymentRecord,
    pub changed: bool,
}

impl Applied {
    /// The payment, if this call changed it.
    pub fn moved(self) -> Option<PaymentRecord> {
        self.changed.then_some(self.payment)
    }
}

/// Reads the payment, asks `decide` (the payment as read, the Clock's now) what it becomes
/// — `Ok(None)` to leave it as it is, `Err` to refuse — and writes the move conditionally.
/// An unknown payment is `Refusal::NotFound`; a payment that kept changing under the call
/// is `Refusal::Conflict`; a move the state machine forbids is logged and refused as
/// `Failure::Impossible`.
pub async fn apply(
    store: &dyn Store,
    clock: &dyn Clock,
    target: Target<'_>,
    decide: impl Fn(&PaymentRecord, i64) -> Result<Option<Move>, Refusal>,
) -> Result<Applied, Failure> {
    for _ in 0..TRIES {
        let Some(current) = target.read(store).await? else {
            return Err(Refusal::NotFound.into());
        };
        let now = clock.now_ms();
        let Some(Move {
            mut next,
            events,
            sets_up_agreement,
            inactivates_agreement,
            emails,
            audit,
        }) = decide(&current, now)?
        else {
            return Ok(Applied {
                payment: current,
                changed: false,
            });
        };
        let from = current.status;
        let inactivated = next
            .agreement_id
            .clone()
            .filter(|_| inactivates_agreement)
            .map(|id| (id, next.service_id.clone()));
        // Every step the events record, then the status written, must be an edge.
        let mut at = from;
        for to in events.iter().map(|e| e.status).chain([next.status]) {
            if to != at && !at.can_become(to) {
                tracing::error!(payment_id = %current.id, from = %at, %to, "impossible transition refused");
                return Err(Failure::Impossible { from: at, to });
            }
            at = to;
        }
        let mut record = Record::of(events, &next);
        record.agreement_inactivated = inactivated;
        record.emails = emails;
        record.audit = audit;
        if sets_up_agreement {
            record.agreement_set_up =
                next.agreement_id
                    .clone()
                    .zip(next.card.clone())
                    .map(
                        |(agreement_id, card)| crate::ledger::record::AgreementSetUp {
                            agreement_id,
                            service_id: next.service_id.clone(),
                            instrument: crate::agreement::PaymentInstrument {
                                created_ms: now,
                                card,
                            },
                        },
                    );
        }
        match store.update_payment(&current, &next, &record).await {
            Ok(()) => {
                next.version = current.version + 1;
                return Ok(Applied {
                    payment: next,
                    changed: true,
                });
            }
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Refusal::Conflict.into())
}

/// `apply` for callers that never refuse (the pages and the sweeps): the payment after, or
/// `None` when it does not exist.
pub async fn step(
    store: &dyn Store,
    clock: &dyn Clock,
    id: &str,
    decide: impl Fn(&PaymentRecord, i64) -> Option<Move>,
) -> Result<Option<Applied>, Failure> {
    match apply(store, clock, Target::Any(id), |p, now| Ok(decide(p, now))).await {
        Ok(applied) => Ok(Some(applied)),
        Err(Failure::Refused(Refusal::NotFound)) => Ok(None),
        Err(e) => Err(e),
    }
}
