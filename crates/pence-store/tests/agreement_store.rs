//! The storage conformance suite for agreements (`AgreementStore`) and the payments'
//! `Idempotency-Key`s, on SQLite and (when `PENCE_TEST_POSTGRES_URL` is set) PostgreSQL.

mod common;

use pence_core::agreement::{AgreementFilter, AgreementRecord, AgreementStatus};
use pence_core::ids::new_id;
use pence_core::ledger::record::Record;
use pence_core::ledger::EventKind;
use pence_core::payment::idempotency::IdempotencyKey;
use pence_core::payment::PaymentRecord;
use pence_core::ports::prelude::*;
use pence_core::ports::Scope;
use pence_testkit::Engine;

use common::{a_payment, open};
pence_testkit::engine_tests!(agreements_are_found_by_their_service_and_searched);
async fn agreements_are_found_by_their_service_and_searched(engine: Engine) {
    let (_db, store, service) = open(engine).await;
    let first = AgreementRecord {
        id: new_id(),
        service_id: service.id.clone(),
        reference: "Ref-One".into(),
        description: "d".into(),
        user_identifier: Some("u1".into()),
        status: AgreementStatus::Created,
        created_ms: 10,
        cancelled_ms: None,
        instrument: None,
        version: 1,
    };
    let second = AgreementRecord {
        id: new_id(),
        reference: "ref-two".into(),
        user_identifier: None,
        created_ms: 20,
        ..first.clone()
    };
    for a in [&first, &second] {
        store
            .insert_agreement(a, EventKind::AgreementCreated)
            .await
            .unwrap();
    }
    assert_eq!(
        store.agreement(&service.id, &first.id).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(store.agreement("other", &first.id).await.unwrap(), None);
    let ids = |page: Vec<AgreementRecord>| page.into_iter().map(|a| a.id).collect::<Vec<_>>();
    let all = AgreementFilter::default();
    let (total, page) = store
        .search_agreements(&service.id, &all, 1, 0)
        .await
        .unwrap();
    assert_eq!(
        (total, ids(page)),
        (2, vec![second.id.clone()]),
        "newest first"
    );
    let by_reference = AgreementFilter {
        reference: Some("ref-one".into()),
        ..AgreementFilter::default()
    };
    let (total, page) = store
        .search_agreements(&service.id, &by_reference, 10, 0)
        .await
        .unwrap();
    assert_eq!((total, ids(page)), (1, vec![first.id.clone()]), "any case");
    let active = AgreementFilter {
        status: Some(AgreementStatus::Active),
        ..AgreementFilter::default()
    };
    let (total, _) = store
        .search_agreements(&service.id, &active, 10, 0)
        .await
        .unwrap();
    assert_eq!(total, 0);
    store.close().await;
}
pence_testkit::engine_tests!(idempotency_keys_are_kept_with_their_payment_and_purged_by_age);
async fn idempotency_keys_are_kept_with_their_payment_and_purged_by_age(engine: Engine) {
    let (_db, store, service) = open(engine).await;
    let made = a_payment(&store, &service).await;
    let payment = PaymentRecord {
        id: new_id(),
        ..made
    };
    let key = IdempotencyKey {
        service_id: service.id.clone(),
        key: "k-1".into(),
        fingerprint: "f".into(),
        payment_id: payment.id.clone(),
        created_ms: 100,
    };
    let record = Record {
        idempotency_key: Some(key.clone()),
        ..Record::default()
    };
    store.insert_payment(&payment, &record).await.unwrap();
    assert_eq!(
        store.idempotency_key(&service.id, "k-1").await.unwrap(),
        Some(key)
    );
    assert_eq!(store.idempotency_key("other", "k-1").await.unwrap(), None);
    let scope = Scope::Service(&service.id);
    assert_eq!(store.purge_idempotency_keys(scope, 100).await.unwrap(), 0);
    assert_eq!(store.purge_idempotency_keys(scope, 101).await.unwrap(), 1);
    assert_eq!(
        store.idempotency_key(&service.id, "k-1").await.unwrap(),
        None
    );
    store.close().await;
}

pence_testkit::engine_tests!(captured_payments_wait_to_be_paid_out);
async fn captured_payments_wait_to_be_paid_out(engine: Engine) {
    let (_db, store, service) = open(engine).await;
    let made = a_payment(&store, &service).await;
    let captured = PaymentRecord {
        captured_ms: Some(500),
        ..made.clone()
    };
    store
        .update_payment(&made, &captured, &Record::default())
        .await
        .unwrap();
    let scope = Scope::Service(&service.id);
    assert!(store
        .unsettled_payments(scope, 500, 10)
        .await
        .unwrap()
        .is_empty());
    let due = store.unsettled_payments(scope, 501, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    let stored = due[0].clone();
    let settled = PaymentRecord {
        settled_ms: Some(600),
        ..stored.clone()
    };
    store
        .update_payment(&stored, &settled, &Record::default())
        .await
        .unwrap();
    assert!(store
        .unsettled_payments(scope, 10_000, 10)
        .await
        .unwrap()
        .is_empty());
    store.close().await;
}
