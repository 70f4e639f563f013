//! The storage conformance suite for refunds (`RefundStore`), on SQLite and (when
//! `PENCE_TEST_POSTGRES_URL` is set) PostgreSQL: the guard that keeps refunds within what is
//! left, their end, pay-out, and searches.

mod common;

use pence_core::ids::new_id;
use pence_core::ledger::record::Record;
use pence_core::payment::status::Status;
use pence_core::payment::PaymentRecord;
use pence_core::ports::prelude::*;
use pence_core::ports::Scope;
use pence_core::refund::{RefundRecord, RefundStatus};
use pence_core::search::Dates;
use pence_core::service::Service;
use pence_core::StoreError;
use pence_store::SqlStore;
use pence_testkit::{Engine, TestDb};

use common::{a_payment, open};

/// A store with one service and one payment of 10.00 on it, captured.
async fn captured(engine: Engine) -> (TestDb, SqlStore, Service, PaymentRecord) {
    let (db, store, service) = open(engine).await;
    let created = a_payment(&store, &service).await;
    let next = PaymentRecord {
        status: Status::Captured,
        ..created.clone()
    };
    store
        .update_payment(&created, &next, &Record::default())
        .await
        .unwrap();
    let payment = store
        .payment(&service.id, &created.id)
        .await
        .unwrap()
        .unwrap();
    (db, store, service, payment)
}

fn refund(p: &PaymentRecord, amount: i64, created_ms: i64) -> RefundRecord {
    RefundRecord {
        id: new_id(),
        payment_id: p.id.clone(),
        service_id: p.service_id.clone(),
        amount,
        status: RefundStatus::Submitted,
        created_ms,
        updated_ms: created_ms,
        settled_ms: None,
    }
}

fn conflict<T: std::fmt::Debug>(r: Result<T, StoreError>) {
    assert!(matches!(r, Err(StoreError::Conflict)), "{r:?}");
}

pence_testkit::engine_tests!(refunds_stay_within_what_is_left_and_end_once);
async fn refunds_stay_within_what_is_left_and_end_once(engine: Engine) {
    let (_db, store, service, payment) = captured(engine).await;
    let none = Record::default();
    let refunded = || async {
        let p = store
            .payment(&service.id, &payment.id)
            .await
            .unwrap()
            .unwrap();
        p.refund_submitted
    };
    let first = refund(&payment, 600, 10);
    store
        .insert_refund(&payment, &first, None, &none)
        .await
        .unwrap();
    assert_eq!(refunded().await, 600);
    conflict(
        store
            .insert_refund(&payment, &refund(&payment, 500, 11), None, &none)
            .await,
    );
    // `refund_amount_available` judged against 0 refunded: stale now.
    let second = refund(&payment, 400, 12);
    conflict(store.insert_refund(&payment, &second, Some(0), &none).await);
    store
        .insert_refund(&payment, &second, Some(600), &none)
        .await
        .unwrap();
    assert_eq!(refunded().await, 1000);
    let ids = |rs: Vec<RefundRecord>| rs.into_iter().map(|r| r.id).collect::<Vec<_>>();
    let both = [first.id.clone(), second.id.clone()];
    assert_eq!(
        ids(store.refunds(&service.id, &payment.id).await.unwrap()),
        both
    );
    assert!(store
        .refunds("other", &payment.id)
        .await
        .unwrap()
        .is_empty());
    let scope = Scope::Service(&service.id);
    assert_eq!(
        ids(store.submitted_refunds(scope, 100, 10).await.unwrap()),
        both
    );
    assert_eq!(
        ids(store.submitted_refunds(scope, 11, 10).await.unwrap()),
        [first.id.as_str()]
    );

    // One succeeds, once; the other errs and its amount is available again.
    store
        .finish_refund(&first, RefundStatus::Success, 2_000, &none)
        .await
        .unwrap();
    conflict(
        store
            .finish_refund(&first, RefundStatus::Error, 2_001, &none)
            .await,
    );
    store
        .finish_refund(&second, RefundStatus::Error, 2_002, &none)
        .await
        .unwrap();
    assert_eq!(refunded().await, 600);
    assert!(store
        .submitted_refunds(scope, 100, 10)
        .await
        .unwrap()
        .is_empty());

    // Paid out once, a day after it succeeded in the sandbox.
    assert!(store
        .unsettled_refunds(scope, 1_999, 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        ids(store.unsettled_refunds(scope, 2_001, 10).await.unwrap()),
        [first.id.as_str()]
    );
    store.settle_refund(&first, 90_000).await.unwrap();
    conflict(store.settle_refund(&first, 90_001).await);
    assert!(store
        .unsettled_refunds(scope, 100_000, 10)
        .await
        .unwrap()
        .is_empty());

    // Searches: newest first, with the total.
    let (total, page) = store
        .search_refunds(&service.id, &Dates::default(), 1, 0)
        .await
        .unwrap();
    assert_eq!((total, ids(page)), (2, vec![second.id.clone()]));
    let settled = Dates {
        settled_from_ms: Some(0),
        ..Dates::default()
    };
    let (total, page) = store
        .search_refunds(&service.id, &settled, 10, 0)
        .await
        .unwrap();
    assert_eq!((total, page[0].settled_ms), (1, Some(90_000)));
    store.close().await;
}
