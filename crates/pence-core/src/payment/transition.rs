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
use crate::payment::status::Status;
use crate::payment::PaymentRecord;
use crate::ports::{PaymentStore, StoreError};
use crate::refusal::{Failure, Refusal};

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
    /// A payment the caller has just read (a sweep's listing): the first try decides on it
    /// as it is, sparing a read; a conflict reads it afresh, by id alone.
    Read(&'a PaymentRecord),
}

impl Target<'_> {
    async fn read(self, store: &dyn PaymentStore) -> Result<Option<PaymentRecord>, StoreError> {
        let id = match self {
            Target::Of { id, .. } | Target::Any(id) => id,
            Target::Read(p) => &p.id,
        };
        if !crate::ids::could_be_id(id) {
            return Ok(None);
        }
        match self {
            Target::Of { service_id, id } => store.payment(service_id, id).await,
            Target::Any(_) | Target::Read(_) => store.journey_payment(id).await,
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
    store: &dyn PaymentStore,
    clock: &dyn Clock,
    target: Target<'_>,
    decide: impl Fn(&PaymentRecord, i64) -> Result<Option<Move>, Refusal>,
) -> Result<Applied, Failure> {
    let mut known = match target {
        Target::Read(p) => Some(p.clone()),
        Target::Of { .. } | Target::Any(_) => None,
    };
    for _ in 0..TRIES {
        let current = match known.take() {
            Some(p) => p,
            None => match target.read(store).await? {
                Some(p) => p,
                None => return Err(Refusal::NotFound.into()),
            },
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
    store: &dyn PaymentStore,
    clock: &dyn Clock,
    id: &str,
    decide: impl Fn(&PaymentRecord, i64) -> Option<Move>,
) -> Result<Option<Applied>, Failure> {
    step_on(store, clock, Target::Any(id), decide).await
}

/// `step` on any target (a payment just read, for one).
pub async fn step_on(
    store: &dyn PaymentStore,
    clock: &dyn Clock,
    target: Target<'_>,
    decide: impl Fn(&PaymentRecord, i64) -> Option<Move>,
) -> Result<Option<Applied>, Failure> {
    match apply(store, clock, target, |p, now| Ok(decide(p, now))).await {
        Ok(applied) => Ok(Some(applied)),
        Err(Failure::Refused(Refusal::NotFound)) => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    //! The gate against a small in-memory `PaymentStore`: the store's own behaviour on both
    //! engines is the conformance suite's; here, what the gate does with its answers.

    use std::future::Future;
    use std::sync::Mutex;
    use std::task::{Context, Poll, Waker};

    use async_trait::async_trait;

    use super::*;
    use crate::clock::AdjustableClock;
    use crate::payment::idempotency::IdempotencyKey;
    use crate::payment::{AuthorisationMode, Language, Prefilled};
    use crate::ports::Scope;

    /// One payment; `update_payment` answers `Conflict` `losses` times first (another
    /// change got there), then compares versions as the real stores do.
    struct OnePayment {
        stored: Mutex<PaymentRecord>,
        losses: Mutex<usize>,
        writes: Mutex<Vec<Record>>,
        tries: Mutex<usize>,
    }

    impl OnePayment {
        fn new(losses: usize) -> OnePayment {
            OnePayment {
                stored: Mutex::new(payment()),
                losses: Mutex::new(losses),
                writes: Mutex::new(Vec::new()),
                tries: Mutex::new(0),
            }
        }
    }

    #[async_trait]
    impl PaymentStore for OnePayment {
        async fn update_payment(
            &self,
            current: &PaymentRecord,
            next: &PaymentRecord,
            record: &Record,
        ) -> Result<(), StoreError> {
            *self.tries.lock().unwrap() += 1;
            let mut losses = self.losses.lock().unwrap();
            let mut stored = self.stored.lock().unwrap();
            if *losses > 0 || stored.version != current.version {
                *losses = losses.saturating_sub(1);
                return Err(StoreError::Conflict);
            }
            *stored = PaymentRecord {
                version: current.version + 1,
                ..next.clone()
            };
            self.writes.lock().unwrap().push(record.clone());
            Ok(())
        }
        async fn payment(
            &self,
            service_id: &str,
            id: &str,
        ) -> Result<Option<PaymentRecord>, StoreError> {
            let p = self.stored.lock().unwrap().clone();
            Ok((p.service_id == service_id && p.id == id).then_some(p))
        }
        async fn journey_payment(&self, id: &str) -> Result<Option<PaymentRecord>, StoreError> {
            let p = self.stored.lock().unwrap().clone();
            Ok((p.id == id).then_some(p))
        }
        async fn insert_payment(&self, _: &PaymentRecord, _: &Record) -> Result<(), StoreError> {
            unreachable!("the gate never inserts")
        }
        async fn idempotency_key(
            &self,
            _: &str,
            _: &str,
        ) -> Result<Option<IdempotencyKey>, StoreError> {
            unreachable!("not the gate's")
        }
        async fn purge_idempotency_keys(&self, _: Scope<'_>, _: i64) -> Result<u64, StoreError> {
            unreachable!("not the gate's")
        }
        async fn claim_token(&self, _: &str, _: &str, _: i64) -> Result<bool, StoreError> {
            unreachable!("not the gate's")
        }
        async fn due_payments(
            &self,
            _: Scope<'_>,
            _: &[Status],
            _: i64,
            _: i64,
            _: u32,
        ) -> Result<Vec<PaymentRecord>, StoreError> {
            unreachable!("not the gate's")
        }
        async fn unsettled_payments(
            &self,
            _: Scope<'_>,
            _: i64,
            _: u32,
        ) -> Result<Vec<PaymentRecord>, StoreError> {
            unreachable!("not the gate's")
        }
        async fn payment_events(&self, _: &str, _: &str) -> Result<Vec<LedgerEvent>, StoreError> {
            unreachable!("not the gate's")
        }
        async fn freeze_final_payments(&self, _: u32) -> Result<u64, StoreError> {
            unreachable!("not the gate's")
        }
        async fn search_payments(
            &self,
            _: &str,
            _: &crate::search::PaymentFilter,
            _: u32,
            _: u64,
        ) -> Result<(u64, Vec<PaymentRecord>), StoreError> {
            unreachable!("not the gate's")
        }
    }

    fn payment() -> PaymentRecord {
        PaymentRecord {
            id: "p1".into(),
            service_id: "s1".into(),
            amount: 1000,
            reference: "r".into(),
            description: "d".into(),
            return_url: None,
            language: Language::En,
            email: None,
            delayed_capture: true,
            moto: false,
            authorisation_mode: AuthorisationMode::Web,
            metadata: None,
            prefilled: Prefilled::default(),
            payment_provider: "sandbox".into(),
            status: Status::AwaitingCaptureRequest,
            refund_submitted: 0,
            created_ms: 1,
            updated_ms: 1,
            version: 7,
            card: None,
            provider_id: None,
            three_ds_required: false,
            corporate_surcharge: None,
            capture_submit_ms: None,
            captured_ms: None,
            settled_ms: None,
            disputed: false,
            dispute_due_ms: None,
            agreement_id: None,
            agreement_payment_type: None,
            can_retry: None,
        }
    }

    /// Runs a future that never waits (the fake answers at once).
    fn run<F: Future>(f: F) -> F::Output {
        let mut f = std::pin::pin!(f);
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(out) = f.as_mut().poll(&mut cx) {
                return out;
            }
        }
    }

    const TARGET: Target<'static> = Target::Of {
        service_id: "s1",
        id: "p1",
    };

    fn approve(store: &OnePayment) -> Result<Applied, Failure> {
        let clock = AdjustableClock::default();
        run(apply(store, &clock, TARGET, |p, now| {
            let kind = EventKind::ServiceApprovedForCapture;
            Ok(Some(Move::to(p, Status::CaptureApproved, kind, now)))
        }))
    }

    #[test]
    fn a_move_returns_the_payment_with_the_stored_version() {
        let store = OnePayment::new(2);
        let applied = approve(&store).unwrap();
        let stored = store.stored.lock().unwrap().clone();
        assert!(applied.changed);
        assert_eq!(applied.payment, stored);
        assert_eq!(
            (stored.version, stored.status),
            (8, Status::CaptureApproved)
        );
        assert_eq!(
            *store.tries.lock().unwrap(),
            3,
            "two lost races, then the move"
        );
        let writes = store.writes.lock().unwrap();
        assert_eq!(writes.len(), 1);
        assert_eq!(writes[0].events[0].status, Status::CaptureApproved);
    }

    #[test]
    fn lost_races_end_in_conflict_after_the_retry_budget() {
        let store = OnePayment::new(usize::MAX);
        let lost = approve(&store);
        assert!(
            matches!(lost, Err(Failure::Refused(Refusal::Conflict))),
            "{lost:?}"
        );
        assert_eq!(*store.tries.lock().unwrap(), TRIES);
        assert_eq!(store.stored.lock().unwrap().version, 7, "nothing written");
    }

    #[test]
    fn an_impossible_move_is_refused_before_anything_is_written() {
        let store = OnePayment::new(0);
        let clock = AdjustableClock::default();
        let refused = run(apply(&store, &clock, TARGET, |p, now| {
            Ok(Some(Move::to(
                p,
                Status::Created,
                EventKind::PaymentCreated,
                now,
            )))
        }));
        assert!(
            matches!(
                refused,
                Err(Failure::Impossible {
                    from: Status::AwaitingCaptureRequest,
                    to: Status::Created
                })
            ),
            "{refused:?}"
        );
        assert_eq!(*store.tries.lock().unwrap(), 0);
    }

    #[test]
    fn a_refusal_or_nothing_to_do_writes_nothing() {
        let store = OnePayment::new(0);
        let clock = AdjustableClock::default();
        let refused = run(apply(&store, &clock, TARGET, |_, _| {
            Err(Refusal::NotCapturable)
        }));
        assert!(matches!(
            refused,
            Err(Failure::Refused(Refusal::NotCapturable))
        ));
        let idle = run(apply(&store, &clock, TARGET, |_, _| Ok(None))).unwrap();
        assert!(!idle.changed && idle.payment.version == 7);
        let other = Target::Of {
            service_id: "s2",
            id: "p1",
        };
        let unknown = run(apply(&store, &clock, other, |_, _| Ok(None)));
        assert!(matches!(unknown, Err(Failure::Refused(Refusal::NotFound))));
        assert_eq!(*store.tries.lock().unwrap(), 0);
    }
}
