//! The storage conformance suite for the instance's own rows and test services' faults
//! (`InstanceStore`, `FaultStore`, the keys' last use, webhook delivery faults), on SQLite and
//! (when `PENCE_TEST_POSTGRES_URL` is set) PostgreSQL.

mod common;

use pence_core::ids::new_id;
use pence_core::ports::prelude::*;
use pence_core::sandbox::faults::rule::{FaultAction, FaultRule};
use pence_core::service::api_key::ApiKeyRecord;
use pence_core::webhook::DeliveryFaults;
use pence_testkit::Engine;

use common::{open, subscription};
pence_testkit::engine_tests!(settings_ping_and_rate_windows);
async fn settings_ping_and_rate_windows(engine: Engine) {
    let (_db, store, _) = open(engine).await;
    store.ping().await.unwrap();
    assert_eq!(store.setting("public_url").await.unwrap(), None);
    store.put_setting("public_url", "http://a").await.unwrap();
    store.put_setting("public_url", "http://b").await.unwrap();
    assert_eq!(
        store.setting("public_url").await.unwrap().as_deref(),
        Some("http://b"),
        "the last to record it wins"
    );
    // Shared windows on PostgreSQL (several nodes), none on one node's SQLite.
    let counted = store.count_request("svc", "post", 10).await.unwrap();
    match engine {
        Engine::Sqlite => assert_eq!(counted, None),
        Engine::Postgres => {
            assert_eq!(counted, Some(1));
            assert_eq!(
                store.count_request("svc", "post", 10).await.unwrap(),
                Some(2)
            );
            assert_eq!(
                store.count_request("svc", "get", 10).await.unwrap(),
                Some(1)
            );
            store.purge_request_counts(11).await.unwrap();
            assert_eq!(
                store.count_request("svc", "post", 10).await.unwrap(),
                Some(1)
            );
        }
    }
    store.close().await;
}

pence_testkit::engine_tests!(a_key_notes_its_use_at_most_each_minute);
async fn a_key_notes_its_use_at_most_each_minute(engine: Engine) {
    let (_db, store, service) = open(engine).await;
    let key = ApiKeyRecord {
        id: new_id(),
        service_id: service.id.clone(),
        token_hash: new_id(),
        display_prefix: "api_test_abcd".into(),
        description: "d".into(),
        created_ms: 5,
        revoked_ms: None,
        last_used_ms: None,
    };
    store.insert_api_key(&key, None).await.unwrap();
    let last_used = || async { store.api_keys().await.unwrap()[0].last_used_ms };
    store.key_used(&key.id, 100_000).await.unwrap();
    assert_eq!(last_used().await, Some(100_000));
    store.key_used(&key.id, 130_000).await.unwrap();
    assert_eq!(last_used().await, Some(100_000), "within the minute");
    store.key_used(&key.id, 161_000).await.unwrap();
    assert_eq!(last_used().await, Some(161_000));
    store.close().await;
}

pence_testkit::engine_tests!(fault_rules_count_their_matches_and_run_out);
async fn fault_rules_count_their_matches_and_run_out(engine: Engine) {
    let (_db, store, service) = open(engine).await;
    let rule = |id: &str, remaining, expires_ms| FaultRule {
        id: id.into(),
        service_id: service.id.clone(),
        method: Some("POST".into()),
        path: Some("/v1/payments".into()),
        remaining,
        fraction: Some(0.5),
        seed: 7,
        matched: 0,
        action: FaultAction::Drop,
        created_ms: 1,
        expires_ms,
    };
    store
        .insert_fault_rule(&rule("r1", Some(2), 1_000))
        .await
        .unwrap();
    store
        .insert_fault_rule(&rule("r2", None, 500))
        .await
        .unwrap();
    let ids = |rules: Vec<FaultRule>| rules.into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.fault_rules(&service.id, 100).await.unwrap()),
        ["r1", "r2"]
    );
    assert_eq!(
        ids(store.fault_rules(&service.id, 600).await.unwrap()),
        ["r1"],
        "r2 expired"
    );
    assert_eq!(
        store.fault_rules(&service.id, 100).await.unwrap()[0],
        rule("r1", Some(2), 1_000)
    );

    assert_eq!(store.count_fault_match("r1", 100).await.unwrap(), Some(1));
    assert_eq!(store.count_fault_match("r1", 100).await.unwrap(), Some(2));
    assert_eq!(
        store.count_fault_match("r2", 600).await.unwrap(),
        None,
        "expired"
    );
    assert!(store.take_fault("r1").await.unwrap());
    assert!(store.take_fault("r1").await.unwrap());
    assert!(!store.take_fault("r1").await.unwrap(), "used up");
    assert_eq!(store.count_fault_match("r1", 100).await.unwrap(), None);
    assert!(store
        .fault_rules(&service.id, 100)
        .await
        .unwrap()
        .iter()
        .all(|r| r.id != "r1"));

    assert!(store.delete_fault_rule(&service.id, "r2").await.unwrap());
    assert!(!store.delete_fault_rule(&service.id, "r2").await.unwrap());
    assert!(
        !store.delete_fault_rule("other", "r1").await.unwrap(),
        "another service's"
    );
    store.close().await;
}

pence_testkit::engine_tests!(delivery_faults_are_set_read_and_cleared);
async fn delivery_faults_are_set_read_and_cleared(engine: Engine) {
    let (_db, store, service) = open(engine).await;
    let sub = subscription(&service.id, "aaaaaa");
    store.insert_webhook(&sub, "s", None).await.unwrap();
    let none = DeliveryFaults::default();
    assert_eq!(store.delivery_faults_of(&sub.id).await.unwrap(), none);
    assert!(store.delivery_faults().await.unwrap().is_empty());
    let faults = DeliveryFaults {
        duplicate: true,
        out_of_order: true,
        delay_ms: 20,
        drop_first_attempts: 2,
        wrong_secret: true,
        chaos: Some(pence_core::webhook::chaos::Chaos {
            seed: u64::MAX,
            duplicate_percent: 30,
            drop_percent: 10,
            drop_attempts: 1,
            ..Default::default()
        }),
    };
    store
        .set_delivery_faults(&sub.id, Some(&faults))
        .await
        .unwrap();
    assert_eq!(store.delivery_faults_of(&sub.id).await.unwrap(), faults);
    assert_eq!(
        store.delivery_faults().await.unwrap(),
        [(sub.id.clone(), faults)]
    );
    store.set_delivery_faults(&sub.id, None).await.unwrap();
    assert_eq!(store.delivery_faults_of(&sub.id).await.unwrap(), none);
    assert!(store.delivery_faults().await.unwrap().is_empty());
    store.close().await;
}
