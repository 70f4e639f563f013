//! The storage conformance suite for disputes (`DisputeStore`), on SQLite and (when
//! `PENCE_TEST_POSTGRES_URL` is set) PostgreSQL: a captured payment whose dispute is due,
//! raised once, advanced once per step, and searched.

mod common;

use pence_core::dispute::{self, DisputeRecord, DisputeStatus};
use pence_core::ids::new_id;
use pence_core::ledger::record::Record;
use pence_core::payment::status::Status;
use pence_core::payment::PaymentRecord;
use pence_core::ports::prelude::*;
use pence_core::ports::Scope;
use pence_core::psp::DisputePlan;
use pence_core::search::DisputeFilter;
use pence_core::StoreError;
use pence_testkit::Engine;

use common::{a_payment, open};

fn conflict<T: std::fmt::Debug>(r: Result<T, StoreError>) {
    assert!(matches!(r, Err(StoreError::Conflict)), "{r:?}");
}

pence_testkit::engine_tests!(a_dispute_is_raised_once_and_advanced_once_per_step);
async fn a_dispute_is_raised_once_and_advanced_once_per_step(engine: Engine) {
    let (_db, store, service) = open(engine).await;
    let made = a_payment(&store, &service).await;
    // Captured, with a dispute announced for 1_000.
    let announced = PaymentRecord {
        status: Status::Captured,
        dispute_due_ms: Some(1_000),
        ..made.clone()
    };
    store
        .update_payment(&made, &announced, &Record::default())
        .await
        .unwrap();
    let scope = Scope::Service(&service.id);
    assert!(store
        .dispute_due_payments(scope, 1_000, 10)
        .await
        .unwrap()
        .is_empty());
    let due = store.dispute_due_payments(scope, 1_001, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    let payment = due[0].clone();

    let plan = DisputePlan {
        reason: "fraudulent",
        fee: 1500,
        won: false,
    };
    let raised = dispute::raise(&payment, &plan, 2_000);
    store
        .raise_dispute(&payment, &raised, &Record::default())
        .await
        .unwrap();
    let again = DisputeRecord {
        id: new_id(),
        ..raised.clone()
    };
    conflict(
        store
            .raise_dispute(&payment, &again, &Record::default())
            .await,
    );
    let stored = store
        .payment(&service.id, &payment.id)
        .await
        .unwrap()
        .unwrap();
    assert!(stored.disputed && stored.dispute_due_ms.is_none());
    assert_eq!(
        stored.version,
        payment.version + 1,
        "changes read before it start again"
    );
    assert!(store
        .dispute_due_payments(scope, i64::MAX, 10)
        .await
        .unwrap()
        .is_empty());

    // Its next step is due when the record says; taken once.
    let step = raised.due_ms.unwrap();
    assert!(store
        .due_disputes(scope, step, 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store.due_disputes(scope, step + 1, 10).await.unwrap(),
        std::slice::from_ref(&raised)
    );
    let (next, _) = dispute::advanced(&raised, step).expect("a step is due");
    store
        .advance_dispute(&raised, &next, &Record::default())
        .await
        .unwrap();
    conflict(
        store
            .advance_dispute(&raised, &next, &Record::default())
            .await,
    );

    let statuses =
        |page: Vec<DisputeRecord>| page.into_iter().map(|d| d.status).collect::<Vec<_>>();
    let (total, page) = store
        .search_disputes(&service.id, &DisputeFilter::default(), 10, 0)
        .await
        .unwrap();
    assert_eq!((total, statuses(page)), (1, vec![next.status]));
    let needing = DisputeFilter {
        status: Some(DisputeStatus::NeedsResponse),
        ..DisputeFilter::default()
    };
    let (total, _) = store
        .search_disputes(&service.id, &needing, 10, 0)
        .await
        .unwrap();
    assert_eq!(
        total,
        u64::from(next.status == DisputeStatus::NeedsResponse)
    );
    let all = DisputeFilter::default();
    let (total, _) = store.search_disputes("other", &all, 10, 0).await.unwrap();
    assert_eq!(total, 0, "another service's");
    store.close().await;
}
