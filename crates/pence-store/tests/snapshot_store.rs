//! A service's state copied out and put back on both engines (`SnapshotStore`): the rows come
//! back as they were and nothing else of the service stays; search totals a node counted
//! before are not reused (kept ones included); a writer that read a payment before a restore
//! cannot change the restored one; another service is not touched; live services refuse.

mod common;

use pence_core::ledger::record::Record;
use pence_core::payment::status::Status;
use pence_core::payment::PaymentRecord;
use pence_core::ports::prelude::*;
use pence_core::sandbox::snapshots::ServiceState;
use pence_core::search::PaymentFilter;
use pence_core::service::Service;
use pence_core::StoreError;
use pence_store::{SqlStore, StoreOptions};
use pence_testkit::Engine;

use common::{a_payment, open};

async fn finish(store: &SqlStore, p: &PaymentRecord, status: Status) -> PaymentRecord {
    let stored = store.payment(&p.service_id, &p.id).await.unwrap().unwrap();
    let changed = PaymentRecord {
        status,
        ..stored.clone()
    };
    store
        .update_payment(&stored, &changed, &Record::default())
        .await
        .unwrap();
    store.payment(&p.service_id, &p.id).await.unwrap().unwrap()
}

/// `state` with its rows' versions at what they count (a restore raises the bits above).
fn without_versions(mut state: ServiceState) -> ServiceState {
    for t in state.values_mut() {
        if let Some(i) = t.columns.iter().position(|c| c == "version") {
            for row in &mut t.rows {
                row[i] = (row[i].as_i64().unwrap() & ((1 << 40) - 1)).into();
            }
        }
    }
    state
}

/// (every payment, the expired ones) as a search totals them.
async fn totals(store: &SqlStore, service: &Service) -> (u64, u64) {
    let all = store
        .search_payments(&service.id, &PaymentFilter::default(), 500, 0)
        .await
        .unwrap()
        .0;
    let expired = PaymentFilter {
        statuses: Some(vec![Status::Expired]),
        reference: Some("r".into()),
        ..Default::default()
    };
    let (n, rows) = store
        .search_payments(&service.id, &expired, 500, 0)
        .await
        .unwrap();
    assert_eq!(n as usize, rows.len());
    (all, n)
}

pence_testkit::engine_tests!(a_state_comes_back_as_it_was_and_counts_start_again);
async fn a_state_comes_back_as_it_was_and_counts_start_again(engine: Engine) {
    let (db, store, service) = open(engine).await;
    // A second node keeping every count it takes in the database.
    let keeping = StoreOptions {
        keep_counts_slower_than: std::time::Duration::ZERO,
        ..StoreOptions::default()
    };
    let other_node = pence_store::connect(&db.url, keeping).await.unwrap();
    let mut other = Service::new_sandbox("other".into(), "other".into(), false, 1);
    other.name = "Other".into();
    store.insert_service(&other).await.unwrap();
    let theirs = a_payment(&store, &other).await;

    let mut kept = Vec::new();
    for i in 0..6 {
        let p = a_payment(&store, &service).await;
        kept.push(if i % 2 == 0 {
            finish(&store, &p, Status::Expired).await
        } else {
            p
        });
    }
    while store.freeze_final_payments(100).await.unwrap() > 0 {}
    assert_eq!(totals(&store, &service).await, (6, 3));
    assert_eq!(totals(&other_node, &service).await, (6, 3));

    let state = store.service_state(&service.id).await.unwrap();
    assert_eq!(state["payments"].rows.len(), 6);
    let summary = store
        .save_snapshot(&service.id, "six", 42, &state)
        .await
        .unwrap();
    assert_eq!(summary.rows["payments"], 6);
    let listed = store.snapshots(&service.id).await.unwrap();
    assert_eq!(listed, vec![summary]);
    let (saved_ms, back) = store.snapshot(&service.id, "six").await.unwrap().unwrap();
    assert_eq!((saved_ms, &back), (42, &state));

    // Later: more payments expire and are frozen, and both nodes count them.
    let read_before = store
        .payment(&service.id, &kept[1].id)
        .await
        .unwrap()
        .unwrap();
    for p in &kept[1..4] {
        if p.status == Status::Created {
            finish(&store, p, Status::Expired).await;
        }
    }
    for _ in 0..3 {
        let p = a_payment(&store, &service).await;
        finish(&store, &p, Status::Expired).await;
    }
    while store.freeze_final_payments(100).await.unwrap() > 0 {}
    assert_eq!(totals(&store, &service).await, (9, 8));
    assert_eq!(totals(&other_node, &service).await, (9, 8));

    assert!(store
        .replace_service_state(&service.id, &back, -5_000)
        .await
        .unwrap());
    let now = store.service_state(&service.id).await.unwrap();
    assert_eq!(without_versions(now), without_versions(state.clone()));
    assert_eq!(
        store
            .service(&service.id)
            .await
            .unwrap()
            .unwrap()
            .clock_offset_ms,
        -5_000
    );
    assert_eq!(totals(&store, &service).await, (6, 3), "counted again");
    assert_eq!(
        totals(&other_node, &service).await,
        (6, 3),
        "kept counts too"
    );
    let late = pence_store::connect(&db.url, StoreOptions::default())
        .await
        .unwrap();
    assert_eq!(
        totals(&late, &service).await,
        (6, 3),
        "a node starting later"
    );
    while store.freeze_final_payments(100).await.unwrap() > 0 {}
    assert_eq!(totals(&store, &service).await, (6, 3), "frozen again");

    // A writer that read the payment before the restore conflicts with the restored row,
    // although the row's public state is the same as what it read.
    let restored = store
        .payment(&service.id, &kept[1].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(restored.status, read_before.status);
    let stale = PaymentRecord {
        status: Status::Expired,
        ..read_before.clone()
    };
    let lost = store
        .update_payment(&read_before, &stale, &Record::default())
        .await;
    assert!(matches!(lost, Err(StoreError::Conflict)), "{lost:?}");

    // Emptied: nothing of the service; the other service as it was.
    assert!(store
        .replace_service_state(&service.id, &ServiceState::new(), 0)
        .await
        .unwrap());
    assert!(store
        .service_state(&service.id)
        .await
        .unwrap()
        .values()
        .all(|t| t.rows.is_empty()));
    assert_eq!(totals(&store, &service).await, (0, 0));
    assert_eq!(totals(&other_node, &service).await, (0, 0));
    assert_eq!(
        store.payment(&other.id, &theirs.id).await.unwrap().unwrap(),
        theirs
    );

    assert!(store.delete_snapshot(&service.id, "six").await.unwrap());
    assert!(!store.delete_snapshot(&service.id, "six").await.unwrap());
    assert!(store.snapshot(&service.id, "six").await.unwrap().is_none());

    // A live service's state is never replaced.
    let live = Service::new_sandbox("live".into(), "live".into(), true, 1);
    store.insert_service(&live).await.unwrap();
    assert!(!store
        .replace_service_state(&live.id, &state, 0)
        .await
        .unwrap());
}

pence_testkit::engine_tests!(a_file_is_checked_and_its_secrets_sealed_again);
async fn a_file_is_checked_and_its_secrets_sealed_again(engine: Engine) {
    let (_db, store, service) = open(engine).await;
    let sub = common::subscription(&service.id, "t1");
    store.insert_webhook(&sub, "s3cret", None).await.unwrap();
    let state = store.service_state(&service.id).await.unwrap();
    let opened = store.opened_state(state.clone()).unwrap();
    let secret = |s: &ServiceState| s["webhook_secrets"].rows[0][2].clone();
    assert_eq!(secret(&opened), "s3cret");
    let checked = store.checked_state(opened).unwrap();
    assert!(store
        .replace_service_state(&service.id, &checked, 0)
        .await
        .unwrap());
    assert_eq!(
        store.webhook_secret(&sub.id, 1).await.unwrap().as_deref(),
        Some("s3cret")
    );
    let mut unknown = state.clone();
    unknown.insert("staff".into(), Default::default());
    assert!(store
        .checked_state(unknown)
        .unwrap_err()
        .contains("tables.staff"));
}
