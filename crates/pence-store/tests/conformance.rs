//! The storage conformance suite: the same assertions against SQLite and (when
//! `PENCE_TEST_POSTGRES_URL` is set) PostgreSQL.

use std::sync::Arc;

use pence_core::ids::new_id;
use pence_core::journey::card::{Address, Brand, CardType};
use pence_core::ledger::record::Record;
use pence_core::ledger::{EventKind, LedgerEvent};
use pence_core::payment::status::Status;
use pence_core::payment::CardDetails;
use pence_core::payment::{AuthorisationMode, Language, PaymentRecord, Prefilled};
use pence_core::ports::prelude::*;
use pence_core::ports::Scope;
use pence_core::service::api_key::ApiKeyRecord;
use pence_core::service::{AcceptedTypes, CardSettings, EmailCollection, Service};
use pence_core::StoreError;
use pence_store::{SqlStore, StoreOptions};
use pence_testkit::{Engine, TestDb};
use serde_json::json;
use sqlx::Connection as _;

async fn open(engine: Engine) -> (TestDb, SqlStore) {
    let db = TestDb::new(engine).await;
    let store = pence_store::connect(&db.url, StoreOptions::default())
        .await
        .unwrap();
    (db, store)
}

fn service(live: bool) -> Service {
    Service::new_sandbox(new_id(), "svc".into(), live, 1_700_000_000_000)
}

fn payment(service_id: &str) -> PaymentRecord {
    PaymentRecord {
        id: new_id(),
        service_id: service_id.to_string(),
        amount: 1234,
        reference: "ref ✓".into(),
        description: "desc".into(),
        return_url: Some("https://example.org/r".into()),
        language: Language::Cy,
        email: Some("a@example.org".into()),
        delayed_capture: true,
        moto: false,
        authorisation_mode: AuthorisationMode::Web,
        metadata: Some(
            json!({"a": 1, "b": "two", "c": true})
                .as_object()
                .unwrap()
                .clone(),
        ),
        prefilled: Prefilled {
            cardholder_name: Some("J. Bogs".into()),
            line1: Some("1 Street".into()),
            line2: None,
            postcode: Some("AB1 2CD".into()),
            city: Some("Town".into()),
            country: Some("GB".into()),
        },
        payment_provider: "sandbox".into(),
        status: Status::Created,
        refund_submitted: 0,
        created_ms: 1_700_000_000_123,
        updated_ms: 1_700_000_000_123,
        version: 1,
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

fn expired(p: &PaymentRecord) -> PaymentRecord {
    PaymentRecord {
        status: Status::Expired,
        ..p.clone()
    }
}

fn created_event(p: &PaymentRecord) -> LedgerEvent {
    LedgerEvent::for_payment(p, EventKind::PaymentCreated, p.created_ms)
}

fn created(p: &PaymentRecord) -> Record {
    Record::one(created_event(p), p)
}

pence_testkit::engine_tests!(services_round_trip);
async fn services_round_trip(engine: Engine) {
    let (_db, store) = open(engine).await;
    assert!(store.services().await.unwrap().is_empty());
    let mut a = service(false);
    a.rate_limit_post = Some(40);
    let b = service(true);
    store.insert_service(&a).await.unwrap();
    store.insert_service(&b).await.unwrap();
    assert_eq!(store.service(&a.id).await.unwrap(), Some(a.clone()));
    assert_eq!(store.services().await.unwrap().len(), 2);
    assert!(matches!(
        store.insert_service(&a).await,
        Err(StoreError::Duplicate)
    ));
    let mut changed = a.clone();
    changed.rate_limit_get = Some(7);
    changed.rate_limit_post = None;
    changed.cards = CardSettings {
        accepted_brands: vec![Brand::Maestro, Brand::Visa],
        accepted_types: AcceptedTypes::DebitOnly,
        block_prepaid: true,
        collect_billing_address: false,
        email_collection: EmailCollection::Off,
        surcharge_credit: 250,
        surcharge_debit: 50,
        surcharge_prepaid_debit: 75,
        moto_mask_card_number: true,
        moto_mask_security_code: false,
    };
    store.update_service(&changed, None).await.unwrap();
    assert_eq!(store.service(&a.id).await.unwrap(), Some(changed));
    assert_eq!(store.service("nope").await.unwrap(), None);
    store.close().await;
}

pence_testkit::engine_tests!(keys_are_found_by_hash_and_revoked_once);
async fn keys_are_found_by_hash_and_revoked_once(engine: Engine) {
    let (_db, store) = open(engine).await;
    let s = service(false);
    store.insert_service(&s).await.unwrap();
    let key = ApiKeyRecord {
        id: new_id(),
        service_id: s.id.clone(),
        token_hash: "h".repeat(64),
        display_prefix: "api_test_abcd".into(),
        description: "d".into(),
        created_ms: 5,
        revoked_ms: None,
        last_used_ms: None,
    };
    store.insert_api_key(&key, None).await.unwrap();
    let (found, svc) = store
        .api_key_by_hash(&key.token_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((found, svc), (key.clone(), s.clone()));
    assert!(store.api_key_by_hash("other").await.unwrap().is_none());
    assert!(store.revoke_api_key(&key.id, 9, None).await.unwrap());
    assert!(!store.revoke_api_key(&key.id, 10, None).await.unwrap());
    let (found, _) = store
        .api_key_by_hash(&key.token_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.revoked_ms, Some(9));
    store.close().await;
}

pence_testkit::engine_tests!(secrets_are_created_once);
async fn secrets_are_created_once(engine: Engine) {
    let (_db, store) = open(engine).await;
    let first = store.secret("s", b"one").await.unwrap();
    let second = store.secret("s", b"two").await.unwrap();
    assert_eq!(first, b"one");
    assert_eq!(second, b"one");
    store.close().await;
}

pence_testkit::engine_tests!(payments_round_trip_scoped_by_service);
async fn payments_round_trip_scoped_by_service(engine: Engine) {
    let (_db, store) = open(engine).await;
    let p = payment("svc-a");
    store.insert_payment(&p, &created(&p)).await.unwrap();
    assert_eq!(
        store.payment("svc-a", &p.id).await.unwrap(),
        Some(p.clone())
    );
    assert_eq!(store.payment("svc-b", &p.id).await.unwrap(), None);
    assert_eq!(store.payment_events("svc-b", &p.id).await.unwrap(), vec![]);
    assert_eq!(
        store.payment_events("svc-a", &p.id).await.unwrap(),
        vec![created_event(&p)]
    );
    // A payment with nothing optional.
    let mut bare = payment("svc-a");
    bare.return_url = None;
    bare.email = None;
    bare.metadata = None;
    bare.prefilled = Prefilled::default();
    store.insert_payment(&bare, &created(&bare)).await.unwrap();
    assert_eq!(store.payment("svc-a", &bare.id).await.unwrap(), Some(bare));
    store.close().await;
}

pence_testkit::engine_tests!(
    group_commit_keeps_every_payment_with_its_event_and_isolates_a_bad_one
);
async fn group_commit_keeps_every_payment_with_its_event_and_isolates_a_bad_one(engine: Engine) {
    let (_db, store) = open(engine).await;
    let store = Arc::new(store);
    let dup = payment("svc");
    store.insert_payment(&dup, &created(&dup)).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..500 {
        let store = store.clone();
        let dup = dup.clone();
        tasks.push(tokio::spawn(async move {
            // Every 50th insert reuses an existing id: it must fail alone.
            let p = if i % 50 == 0 { dup } else { payment("svc") };
            let result = store.insert_payment(&p, &created(&p)).await;
            (p, i % 50 == 0, result)
        }));
    }
    let mut stored = 0;
    for t in tasks {
        let (p, is_dup, result) = t.await.unwrap();
        if is_dup {
            assert!(matches!(result, Err(StoreError::Duplicate)), "{result:?}");
        } else {
            result.unwrap();
            stored += 1;
            assert_eq!(
                store.payment("svc", &p.id).await.unwrap().as_ref(),
                Some(&p)
            );
            assert_eq!(store.payment_events("svc", &p.id).await.unwrap().len(), 1);
        }
    }
    assert_eq!(stored, 490);
    // The duplicate attempts added no event to the original.
    assert_eq!(store.payment_events("svc", &dup.id).await.unwrap().len(), 1);
    store.close().await;
}

pence_testkit::engine_tests!(reopening_keeps_data_and_migrations_are_idempotent);
async fn reopening_keeps_data_and_migrations_are_idempotent(engine: Engine) {
    let db = TestDb::new(engine).await;
    let store = pence_store::connect(&db.url, StoreOptions::default())
        .await
        .unwrap();
    let p = payment("svc");
    store.insert_payment(&p, &created(&p)).await.unwrap();
    store.close().await;
    let again = pence_store::connect(&db.url, StoreOptions::default())
        .await
        .unwrap();
    assert_eq!(again.payment("svc", &p.id).await.unwrap(), Some(p));
    again.close().await;
}

pence_testkit::engine_tests!(status_changes_are_conditional_and_carry_their_events);
async fn status_changes_are_conditional_and_carry_their_events(engine: Engine) {
    let (_db, store) = open(engine).await;
    let p = payment("svc");
    store.insert_payment(&p, &created(&p)).await.unwrap();
    let cancel = LedgerEvent {
        kind: EventKind::CancelledByExternalService,
        status: Status::SystemCancelled,
        created_ms: p.created_ms + 10,
        ..created_event(&p)
    };
    let cancelled = PaymentRecord {
        status: Status::SystemCancelled,
        updated_ms: p.created_ms + 10,
        ..p.clone()
    };
    store
        .update_payment(&p, &cancelled, &Record::one(cancel.clone(), &cancelled))
        .await
        .unwrap();
    let now = store.payment("svc", &p.id).await.unwrap().unwrap();
    assert_eq!(
        (now.status, now.version, now.updated_ms),
        (Status::SystemCancelled, 2, p.created_ms + 10)
    );
    // The same stale read cannot change it again, and writes no event.
    let stale = store
        .update_payment(&p, &expired(&p), &Record::one(cancel.clone(), &expired(&p)))
        .await;
    assert!(matches!(stale, Err(StoreError::Conflict)), "{stale:?}");
    assert_eq!(
        store.payment("svc", &p.id).await.unwrap().unwrap().status,
        Status::SystemCancelled
    );
    assert_eq!(
        store.payment_events("svc", &p.id).await.unwrap(),
        vec![created_event(&p), cancel]
    );
    // Nor can another service's scope.
    let mut other = now.clone();
    other.service_id = "other".into();
    let wrong = store
        .update_payment(&other, &expired(&other), &Record::default())
        .await;
    assert!(matches!(wrong, Err(StoreError::Conflict)));
    store.close().await;
}

pence_testkit::engine_tests!(journey_updates_keep_every_field_conditionally);
async fn journey_updates_keep_every_field_conditionally(engine: Engine) {
    let (_db, store) = open(engine).await;
    let p = payment("svc");
    store.insert_payment(&p, &created(&p)).await.unwrap();
    let mut next = p.clone();
    next.status = Status::AuthorisationSuccess;
    next.updated_ms += 5;
    next.email = Some("payer@example.org".into());
    next.card = Some(CardDetails {
        first_digits: "424242".into(),
        last_digits: "4242".into(),
        cardholder_name: "Ada Lovelace".into(),
        expiry: "04/31".into(),
        brand: Brand::Visa,
        card_type: CardType::Credit,
        billing_address: Some(Address {
            line1: "1 Street".into(),
            line2: None,
            postcode: "SW1A 1AA".into(),
            city: "London".into(),
            country: "GB".into(),
        }),
    });
    next.provider_id = Some("provider-1".into());
    next.three_ds_required = true;
    next.corporate_surcharge = Some(250);
    next.capture_submit_ms = Some(7);
    next.captured_ms = Some(8);
    next.settled_ms = Some(9);
    let event = LedgerEvent {
        kind: EventKind::AuthorisationSucceeded,
        status: Status::AuthorisationSuccess,
        ..created_event(&p)
    };
    store
        .update_payment(&p, &next, &Record::one(event.clone(), &next))
        .await
        .unwrap();
    let stored = store.journey_payment(&p.id).await.unwrap().unwrap();
    assert_eq!(
        stored,
        PaymentRecord {
            version: 2,
            ..next.clone()
        }
    );
    // A stale read changes nothing and writes no event.
    let stale = store
        .update_payment(&p, &p, &Record::one(event.clone(), &p))
        .await;
    assert!(matches!(stale, Err(StoreError::Conflict)), "{stale:?}");
    assert_eq!(store.payment_events("svc", &p.id).await.unwrap().len(), 2);
    // A card without type or address reads back as such.
    let mut bare = stored.clone();
    if let Some(card) = bare.card.as_mut() {
        card.card_type = CardType::CreditOrDebit;
        card.billing_address = None;
    }
    store
        .update_payment(&stored, &bare, &Record::default())
        .await
        .unwrap();
    let read = store.payment("svc", &p.id).await.unwrap().unwrap();
    assert_eq!(read.card, bare.card);
    assert_eq!(store.journey_payment("nope").await.unwrap(), None);
    store.close().await;
}

pence_testkit::engine_tests!(tokens_are_claimed_once_and_sweeps_find_due_payments);
async fn tokens_are_claimed_once_and_sweeps_find_due_payments(engine: Engine) {
    let (_db, store) = open(engine).await;
    assert!(store.claim_token("h1", "p1", 1).await.unwrap());
    assert!(!store.claim_token("h1", "p1", 2).await.unwrap());
    assert!(store.claim_token("h2", "p1", 3).await.unwrap());

    let old = payment("svc");
    let mut young = payment("svc");
    young.created_ms = old.created_ms + 1_000;
    young.updated_ms = young.created_ms;
    let mut done = payment("svc");
    done.status = Status::Captured;
    for p in [&old, &young, &done] {
        store.insert_payment(p, &created(p)).await.unwrap();
    }
    let due = |created_before, updated_before| {
        let store = &store;
        async move {
            store
                .due_payments(
                    Scope::NodeClock,
                    &[Status::Created, Status::EnteringCardDetails],
                    created_before,
                    updated_before,
                    10,
                )
                .await
                .unwrap()
                .into_iter()
                .map(|p| p.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        due(old.created_ms + 1, i64::MAX).await,
        vec![old.id.clone()]
    );
    assert_eq!(
        due(i64::MAX, i64::MAX).await,
        vec![old.id.clone(), young.id.clone()]
    );
    assert!(due(i64::MAX, old.updated_ms).await.is_empty());

    // A test service whose clock is moved has rounds of its own; a live one cannot move.
    let moved = service(false);
    store.insert_service(&moved).await.unwrap();
    let mut theirs = payment(&moved.id);
    theirs.created_ms = old.created_ms - 1;
    store
        .insert_payment(&theirs, &created(&theirs))
        .await
        .unwrap();
    assert_eq!(due(i64::MAX, i64::MAX).await.len(), 3, "not moved yet");
    assert!(store.set_clock_offset(&moved.id, 60_000).await.unwrap());
    assert_eq!(
        store.moved_clocks().await.unwrap(),
        vec![(moved.id.clone(), 60_000)]
    );
    assert_eq!(
        store
            .service(&moved.id)
            .await
            .unwrap()
            .unwrap()
            .clock_offset_ms,
        60_000
    );
    assert_eq!(due(i64::MAX, i64::MAX).await.len(), 2, "the node's round");
    // A service's own round: its due payments' ids.
    let own_due = |service_id: String| {
        let store = &store;
        async move {
            store
                .due_payments(
                    Scope::Service(&service_id),
                    &[Status::Created],
                    i64::MAX,
                    i64::MAX,
                    10,
                )
                .await
                .unwrap()
                .into_iter()
                .map(|p| p.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(own_due(moved.id.clone()).await, [theirs.id.clone()]);
    let live = service(true);
    store.insert_service(&live).await.unwrap();
    assert!(!store.set_clock_offset(&live.id, 60_000).await.unwrap());
    // A settings update keeps the clock.
    store.update_service(&moved, None).await.unwrap();
    assert_eq!(
        store
            .service(&moved.id)
            .await
            .unwrap()
            .unwrap()
            .clock_offset_ms,
        60_000
    );

    // While a fixture holds a service's sweeps, no round takes its work: neither the node's
    // (for a service on the node's clock) nor its own (a moved clock); after, both do.
    let held = service(false);
    store.insert_service(&held).await.unwrap();
    let mut waiting = payment(&held.id);
    waiting.created_ms = old.created_ms - 2;
    store
        .insert_payment(&waiting, &created(&waiting))
        .await
        .unwrap();
    assert_eq!(due(i64::MAX, i64::MAX).await.len(), 3);
    let far = pence_core::clock::system_now_ms() + 60_000;
    assert!(store.hold_sweeps(&held.id, Some(far)).await.unwrap());
    assert!(store.hold_sweeps(&moved.id, Some(far)).await.unwrap());
    assert_eq!(due(i64::MAX, i64::MAX).await.len(), 2, "held");
    assert!(store.moved_clocks().await.unwrap().is_empty(), "held");
    // The fixture's own steps still find its work.
    assert_eq!(own_due(held.id.clone()).await, [waiting.id.clone()]);
    // A hold that has run out holds nothing.
    let past = pence_core::clock::system_now_ms() - 1;
    assert!(store.hold_sweeps(&held.id, Some(past)).await.unwrap());
    assert_eq!(due(i64::MAX, i64::MAX).await.len(), 3);
    assert!(store.hold_sweeps(&moved.id, None).await.unwrap());
    assert_eq!(store.moved_clocks().await.unwrap().len(), 1);
    assert!(
        !store.hold_sweeps(&live.id, Some(far)).await.unwrap(),
        "live"
    );
    store.close().await;
}

pence_testkit::engine_tests!(text_search_and_totals_agree_with_the_rows);
/// Text filters find fragments anywhere, case-insensitively, through the trigram indexes
/// (3+ characters) or without them (shorter), with LIKE's wildcards and FTS's quotes taken
/// literally; a cardholder name set later is found; the unfiltered total is the
/// trigger-kept count, right across services and bulk loads.
async fn text_search_and_totals_agree_with_the_rows(engine: Engine) {
    use pence_core::search::PaymentFilter;
    let (_db, store) = open(engine).await;
    let (a, b) = (service(false), service(false));
    store.insert_service(&a).await.unwrap();
    store.insert_service(&b).await.unwrap();
    let mut made = Vec::new();
    for (i, reference) in ["INV-0012345", "Ref \"quoted\" 50%_off", "zz", "inv-9912345"]
        .into_iter()
        .enumerate()
    {
        let mut p = payment(&a.id);
        p.reference = reference.into();
        p.email = Some(format!("Person{i}@Example.org"));
        p.created_ms += i as i64;
        store.insert_payment(&p, &created(&p)).await.unwrap();
        made.push(p);
    }
    let other = payment(&b.id);
    store
        .load(std::slice::from_ref(&other), &[], &[])
        .await
        .unwrap();

    let find = |f: PaymentFilter| {
        let store = store.clone();
        let service = a.id.clone();
        async move {
            let (total, rows) = store.search_payments(&service, &f, 500, 0).await.unwrap();
            let refs: Vec<String> = rows.into_iter().map(|p| p.reference).collect();
            assert_eq!(total as usize, refs.len());
            refs
        }
    };
    let text = |field: &str, v: &str| {
        let mut f = PaymentFilter::default();
        let v = Some(v.to_lowercase());
        match field {
            "reference" => f.reference = v,
            "email" => f.email = v,
            _ => f.cardholder_name = v,
        }
        f
    };
    assert_eq!(
        find(text("reference", "12345")).await,
        ["inv-9912345", "INV-0012345"]
    );
    assert_eq!(find(text("reference", "INV-00")).await, ["INV-0012345"]);
    assert_eq!(
        find(text("reference", "\"quoted\" 50%_")).await,
        ["Ref \"quoted\" 50%_off"]
    );
    assert_eq!(
        find(text("reference", "0%_o")).await,
        ["Ref \"quoted\" 50%_off"]
    );
    assert!(
        find(text("reference", "5_%")).await.is_empty(),
        "wildcards are literal"
    );
    assert_eq!(
        find(text("reference", "z")).await,
        ["zz"],
        "short fragments still match"
    );
    assert_eq!(
        find(text("email", "PERSON1@")).await,
        ["Ref \"quoted\" 50%_off"]
    );
    assert!(find(text("email", "person9")).await.is_empty());

    // A name entered later is indexed too; changing it again replaces it.
    let stored = store.payment(&a.id, &made[0].id).await.unwrap().unwrap();
    let mut named = stored.clone();
    named.card = Some(CardDetails {
        first_digits: "424242".into(),
        last_digits: "4242".into(),
        cardholder_name: "Ada Lovelace".into(),
        expiry: "04/31".into(),
        brand: Brand::parse("visa").unwrap(),
        card_type: CardType::Credit,
        billing_address: None,
    });
    store
        .update_payment(&stored, &named, &Record::default())
        .await
        .unwrap();
    assert_eq!(
        find(text("cardholder_name", "lovelace")).await,
        ["INV-0012345"]
    );
    let stored = store.payment(&a.id, &made[0].id).await.unwrap().unwrap();
    let mut renamed = stored.clone();
    renamed.card.as_mut().unwrap().cardholder_name = "Grace Hopper".into();
    store
        .update_payment(&stored, &renamed, &Record::default())
        .await
        .unwrap();
    assert!(find(text("cardholder_name", "lovelace")).await.is_empty());
    assert_eq!(
        find(text("cardholder_name", "HOPPER")).await,
        ["INV-0012345"]
    );

    // Totals without a filter come from the counts: 4 here, 1 in the other service.
    let (total, rows) = store
        .search_payments(&a.id, &PaymentFilter::default(), 2, 2)
        .await
        .unwrap();
    assert_eq!(total, 4);
    let page: Vec<&str> = rows.iter().map(|p| p.reference.as_str()).collect();
    assert_eq!(
        page,
        ["Ref \"quoted\" 50%_off", "INV-0012345"],
        "oldest end, newest first"
    );
    let (total, _) = store
        .search_payments(&b.id, &PaymentFilter::default(), 500, 0)
        .await
        .unwrap();
    assert_eq!(total, 1);
}

pence_testkit::engine_tests!(the_outbox_follows_the_changes_that_commit);
/// The outbox: a change writes one message per active subscription of its service that
/// wants the event, with the payment as it stands after; a change that loses its race writes
/// none; claims never hand one message to two holders; a rotation moves later messages only.
async fn the_outbox_follows_the_changes_that_commit(engine: Engine) {
    use pence_core::webhook::{DeliveryStatus, EventType, Subscription};
    use pence_core::WebhookStore;
    let (_db, store) = open(engine).await;
    let sub = |id: &str, tag: &str, service: &str, types: &[EventType], active| Subscription {
        id: id.into(),
        service_id: service.into(),
        tag: tag.into(),
        callback_url: "http://127.0.0.1:9/h".into(),
        description: String::new(),
        event_types: types.to_vec(),
        active,
        secret_version: 1,
        created_ms: 1,
        updated_ms: 1,
    };
    let wants = sub("w1", "aaaaaa", "svc", &[EventType::Failed], true);
    store.insert_webhook(&wants, "s1", None).await.unwrap();
    for other in [
        sub("w2", "bbbbbb", "svc", &[EventType::Captured], true),
        sub("w3", "cccccc", "svc", &[EventType::Failed], false),
        sub("w4", "dddddd", "other", &[EventType::Failed], true),
    ] {
        store.insert_webhook(&other, "s", None).await.unwrap();
    }
    let dup = store
        .insert_webhook(&sub("w5", "aaaaaa", "svc", &[], true), "s", None)
        .await;
    assert!(matches!(dup, Err(StoreError::Duplicate)), "tags are unique");

    let p = payment("svc");
    store.insert_payment(&p, &created(&p)).await.unwrap();
    let cancel = LedgerEvent {
        kind: EventKind::CancelledByExternalService,
        status: Status::SystemCancelled,
        created_ms: p.created_ms + 10,
        ..created_event(&p)
    };
    let cancelled = PaymentRecord {
        status: Status::SystemCancelled,
        ..p.clone()
    };
    // Lost race first: nothing is written.
    let mut stale = p.clone();
    stale.version += 7;
    let lost = store
        .update_payment(&stale, &cancelled, &Record::one(cancel.clone(), &cancelled))
        .await;
    assert!(matches!(lost, Err(StoreError::Conflict)));
    assert!(store
        .webhook_messages("w1", None, 10)
        .await
        .unwrap()
        .is_empty());
    store
        .update_payment(&p, &cancelled, &Record::one(cancel.clone(), &cancelled))
        .await
        .unwrap();
    let messages = store.webhook_messages("w1", None, 10).await.unwrap();
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert!(m.id.len() == 26 && m.id.ends_with("aaaaaa"), "{}", m.id);
    assert_eq!(
        (
            m.event_type.as_str(),
            m.event_ms,
            m.status,
            m.secret_version
        ),
        (
            "card_payment_failed",
            cancel.created_ms,
            DeliveryStatus::Pending,
            1
        )
    );
    let resource: serde_json::Value = serde_json::from_str(&m.resource).unwrap();
    assert_eq!(resource["state"]["status"], "cancelled");
    assert_eq!(resource["payment_id"], p.id.as_str());
    for quiet in ["w2", "w3", "w4"] {
        assert!(store
            .webhook_messages(quiet, None, 10)
            .await
            .unwrap()
            .is_empty());
    }

    // Two claims at once: one gets it.
    let (a, b) = tokio::join!(
        store.claim_webhook_messages("w1", i64::MAX, 100, 1_000, "claim-a", 10),
        store.claim_webhook_messages("w1", i64::MAX, 100, 1_000, "claim-b", 10),
    );
    assert_eq!(a.unwrap().len() + b.unwrap().len(), 1);
    // Until the lease ends, nobody else; after it, again.
    assert!(store
        .claim_webhook_messages("w1", i64::MAX, 999, 2_000, "claim-c", 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .claim_webhook_messages("w1", i64::MAX, 1_000, 2_000, "claim-d", 10)
            .await
            .unwrap()
            .len(),
        1
    );
    // Not due yet: not claimed.
    assert!(store
        .claim_webhook_messages("w1", m.next_attempt_ms - 1, 5_000, 6_000, "e", 10)
        .await
        .unwrap()
        .is_empty());

    // Rotation: version 2 for messages created after it; resend re-signs.
    assert!(store
        .rotate_webhook_secret("w1", "s2", 5, None)
        .await
        .unwrap());
    assert!(!store
        .rotate_webhook_secret("nope", "s", 5, None)
        .await
        .unwrap());
    assert_eq!(
        store.webhook("w1").await.unwrap().unwrap().secret_version,
        2
    );
    assert_eq!(
        store.webhook_secret("w1", 1).await.unwrap().as_deref(),
        Some("s1")
    );
    assert_eq!(
        store.webhook_secret("w1", 2).await.unwrap().as_deref(),
        Some("s2")
    );
    assert_eq!(
        store
            .webhook_message(&m.id)
            .await
            .unwrap()
            .unwrap()
            .secret_version,
        1
    );
    assert!(store.resend_webhook_message(&m.id, 7).await.unwrap());
    assert_eq!(
        store
            .webhook_message(&m.id)
            .await
            .unwrap()
            .unwrap()
            .secret_version,
        2
    );
    assert!(!store.resend_webhook_message("nope", 7).await.unwrap());

    // Deactivating stops what is pending.
    let mut off = store.webhook("w1").await.unwrap().unwrap();
    off.active = false;
    store.update_webhook(&off, None).await.unwrap();
    assert_eq!(
        store.webhook_message(&m.id).await.unwrap().unwrap().status,
        DeliveryStatus::WillNotSend
    );
    assert_eq!(store.webhooks(Some("svc")).await.unwrap().len(), 3);
    store.close().await;
}

pence_testkit::engine_tests!(multi_thread: cached_totals_stay_exact_while_payments_finish_and_freeze);
/// Search totals count frozen payments once per node and the rest each time
/// (`store/frozen.rs`): they stay exact while payments are created, finish and are frozen by
/// two nodes at once, and a node that counted early agrees with one that counts late.
async fn cached_totals_stay_exact_while_payments_finish_and_freeze(engine: Engine) {
    use pence_core::search::PaymentFilter;
    let (db, one) = open(engine).await;
    // The second node keeps every count in the database, and one started at the end starts
    // from them: kept counts stay exact too.
    let keeping = StoreOptions {
        keep_counts_slower_than: std::time::Duration::ZERO,
        ..StoreOptions::default()
    };
    let two = pence_store::connect(&db.url, keeping.clone())
        .await
        .unwrap();
    let svc = service(false);
    one.insert_service(&svc).await.unwrap();
    let visa = || CardDetails {
        first_digits: "424242".into(),
        last_digits: "4242".into(),
        cardholder_name: "Ada Lovelace".into(),
        expiry: "04/31".into(),
        brand: Brand::parse("visa").unwrap(),
        card_type: CardType::Credit,
        billing_address: None,
    };
    // Captured with a card, waiting for capture with a card, or just created.
    let make = |i: usize, status: Status| {
        let mut p = payment(&svc.id);
        p.created_ms += i as i64;
        p.email = Some(format!("payer{i}@example.org"));
        p.status = status;
        p.card = (status != Status::Created).then(visa);
        p
    };
    let history: Vec<PaymentRecord> = (0..40)
        .map(|i| match i % 4 {
            0 | 1 => make(i, Status::Captured),
            2 => make(i, Status::CaptureApproved),
            _ => make(i, Status::Created),
        })
        .collect();
    one.load(&history, &[], &[]).await.unwrap();

    let success = Status::ALL
        .iter()
        .copied()
        .filter(|s| s.external().status == "success")
        .collect::<Vec<_>>();
    let filters = [
        PaymentFilter {
            email: Some("example".into()),
            ..Default::default()
        },
        PaymentFilter {
            card_brand: Some("visa".into()),
            ..Default::default()
        },
        PaymentFilter {
            statuses: Some(success.clone()),
            cardholder_name: Some("lovelace".into()),
            ..Default::default()
        },
    ];
    // What each filter matches among the payments as they are now.
    let expected = |all: &[PaymentRecord]| -> Vec<u64> {
        let carded = all.iter().filter(|p| p.card.is_some()).count() as u64;
        let succeeded = all.iter().filter(|p| success.contains(&p.status)).count() as u64;
        vec![all.len() as u64, carded, succeeded]
    };
    let totals = |store: SqlStore| {
        let filters = filters.clone();
        let service = svc.id.clone();
        async move {
            let mut out = Vec::new();
            for f in &filters {
                let (total, rows) = store.search_payments(&service, f, 500, 0).await.unwrap();
                assert_eq!(total as usize, rows.len(), "{f:?}");
                out.push(total);
            }
            out
        }
    };
    let mut now = history.clone();
    assert_eq!(totals(one.clone()).await, expected(&now), "first counts");
    assert_eq!(one.freeze_final_payments(1000).await.unwrap(), 20);
    assert_eq!(
        one.freeze_final_payments(1000).await.unwrap(),
        0,
        "frozen once"
    );
    assert_eq!(totals(one.clone()).await, expected(&now), "after freezing");
    assert_eq!(
        totals(one.clone()).await,
        expected(&now),
        "from the kept counts"
    );

    // Payments finish and new ones arrive while both nodes freeze and count.
    let freezing = {
        let (one, two) = (one.clone(), two.clone());
        tokio::spawn(async move {
            for _ in 0..30 {
                one.freeze_final_payments(3).await.unwrap();
                two.freeze_final_payments(2).await.unwrap();
            }
        })
    };
    for (n, p) in now.clone().iter().enumerate() {
        let stored = one.payment(&svc.id, &p.id).await.unwrap().unwrap();
        let next = match p.status {
            Status::CaptureApproved => Status::Captured,
            Status::Created => Status::Expired,
            _ => continue,
        };
        let changed = PaymentRecord {
            status: next,
            ..stored.clone()
        };
        one.update_payment(&stored, &changed, &Record::default())
            .await
            .unwrap();
        now[n] = changed;
        let fresh = make(100 + n, Status::Captured);
        one.insert_payment(&fresh, &created(&fresh)).await.unwrap();
        now.push(fresh);
        if n % 5 == 0 {
            assert_eq!(totals(two.clone()).await, expected(&now), "two, mid-way");
            assert_eq!(totals(one.clone()).await, expected(&now), "one, mid-way");
        }
    }
    freezing.await.unwrap();
    assert_eq!(totals(two.clone()).await, expected(&now), "two after");
    while one.freeze_final_payments(7).await.unwrap() > 0 {}
    assert_eq!(totals(one.clone()).await, expected(&now), "one, all frozen");
    assert_eq!(totals(two.clone()).await, expected(&now), "two, all frozen");
    let fresh = pence_store::connect(&db.url, keeping).await.unwrap();
    assert_eq!(totals(fresh).await, expected(&now), "a node counting late");
}

pence_testkit::engine_tests!(multi_thread: a_node_starts_from_the_counts_another_kept);
/// A search's count over frozen payments is kept in the database (`search_counts`, named by
/// an HMAC of the search, never its text), and a node started later takes it from there
/// rather than counting every match again: a kept count altered by hand is what the later
/// node adds to. A search nobody kept is counted in full.
async fn a_node_starts_from_the_counts_another_kept(engine: Engine) {
    use pence_core::search::PaymentFilter;
    let db = TestDb::new(engine).await;
    let keeping = StoreOptions {
        keep_counts_slower_than: std::time::Duration::ZERO,
        ..StoreOptions::default()
    };
    let one = pence_store::connect(&db.url, keeping).await.unwrap();
    let svc = service(false);
    one.insert_service(&svc).await.unwrap();
    let captured = |i: i64| {
        let mut p = payment(&svc.id);
        p.created_ms += i;
        p.email = Some(format!("payer{i}@example.org"));
        p.status = Status::Captured;
        p
    };
    let history: Vec<PaymentRecord> = (0..30).map(captured).collect();
    one.load(&history, &[], &[]).await.unwrap();
    while one.freeze_final_payments(1000).await.unwrap() > 0 {}
    let by_email = PaymentFilter {
        email: Some("example".into()),
        ..Default::default()
    };
    let total = |store: SqlStore, f: PaymentFilter| {
        let service = svc.id.clone();
        async move { store.search_payments(&service, &f, 1, 0).await.unwrap().0 }
    };
    assert_eq!(total(one.clone(), by_email.clone()).await, 30);

    // Kept in the background: wait for the row.
    let mut kept = Vec::new();
    for _ in 0..500 {
        kept = raw_query(&db, "SELECT key, n FROM search_counts").await;
        if !kept.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(kept.len(), 1, "one search, one kept count: {kept:?}");
    let (name, n) = &kept[0];
    assert_eq!(*n, 30);
    assert!(
        name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit()),
        "named by an HMAC, not the filter: {name}"
    );
    raw_exec(&db, "UPDATE search_counts SET n = n + 1000").await;
    one.close().await;

    let two = pence_store::connect(&db.url, StoreOptions::default())
        .await
        .unwrap();
    assert_eq!(
        total(two.clone(), by_email.clone()).await,
        1030,
        "the kept count, not a recount"
    );
    let more: Vec<PaymentRecord> = (30..35).map(captured).collect();
    for p in &more {
        two.insert_payment(p, &created(p)).await.unwrap();
    }
    assert_eq!(total(two.clone(), by_email.clone()).await, 1035);
    while two.freeze_final_payments(2).await.unwrap() > 0 {}
    assert_eq!(
        total(two.clone(), by_email).await,
        1035,
        "after freezing more"
    );
    let by_state = PaymentFilter {
        cardholder_name: Some("bogs".into()),
        ..Default::default()
    };
    assert_eq!(total(two.clone(), by_state).await, 0, "counted in full");
    two.close().await;
}

/// Rows of two columns (text, integer) read past the store.
async fn raw_query(db: &TestDb, sql: &str) -> Vec<(String, i64)> {
    match db.engine {
        Engine::Sqlite => {
            let raw = rusqlite::Connection::open(db.path.as_ref().unwrap()).unwrap();
            let mut stmt = raw.prepare(sql).unwrap();
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        }
        Engine::Postgres => {
            let mut conn = sqlx::postgres::PgConnection::connect(&db.url)
                .await
                .unwrap();
            sqlx::query_as(sql).fetch_all(&mut conn).await.unwrap()
        }
    }
}

/// A statement run past the store.
async fn raw_exec(db: &TestDb, sql: &str) {
    match db.engine {
        Engine::Sqlite => {
            let raw = rusqlite::Connection::open(db.path.as_ref().unwrap()).unwrap();
            raw.execute(sql, []).unwrap();
        }
        Engine::Postgres => {
            let mut conn = sqlx::postgres::PgConnection::connect(&db.url)
                .await
                .unwrap();
            sqlx::query(sql).execute(&mut conn).await.unwrap();
        }
    }
}

pence_testkit::engine_tests!(state_and_date_totals_agree_with_a_count_at_every_boundary);
// Totals of searches by state and creation dates alone come from the frozen payments' hour
// counts, their partial hours and what is not frozen (store/frozen.rs): they equal a plain
// count for ranges ending on, beside and between hour boundaries, frozen or not, before and
// after payments finish.
async fn state_and_date_totals_agree_with_a_count_at_every_boundary(engine: Engine) {
    use pence_core::search::{Dates, PaymentFilter};
    const HOUR: i64 = 3_600_000;
    let (_db, store) = open(engine).await;
    let svc = service(false);
    let other = service(false);
    store.insert_service(&svc).await.unwrap();
    store.insert_service(&other).await.unwrap();
    let base = 1_700_002_800_000 / HOUR * HOUR;
    // On each boundary of five hours, a millisecond either side, and mid-hour.
    let offsets: Vec<i64> = (0..5)
        .flat_map(|h| [-1, 0, 1, HOUR / 2].map(|d| h * HOUR + d))
        .collect();
    let statuses = [Status::Captured, Status::Created, Status::UserCancelled];
    let mut now: Vec<PaymentRecord> = Vec::new();
    for (i, offset) in offsets.iter().enumerate() {
        for j in 0..statuses.len() {
            for service_id in [&svc.id, &other.id] {
                let mut p = payment(service_id);
                p.created_ms = base + offset;
                p.status = statuses[(i + j) % 3];
                now.push(p);
            }
        }
    }
    store.load(&now, &[], &[]).await.unwrap();
    let success: Vec<Status> = Status::ALL
        .iter()
        .copied()
        .filter(|s| s.external().status == "success")
        .collect();
    let cancelled: Vec<Status> = Status::ALL
        .iter()
        .copied()
        .filter(|s| s.external().status == "cancelled")
        .collect();
    let points: Vec<Option<i64>> = std::iter::once(None)
        .chain(
            [
                -HOUR - 1,
                -1,
                0,
                1,
                HOUR / 3,
                HOUR - 1,
                HOUR,
                2 * HOUR + 1,
                4 * HOUR,
                5 * HOUR,
            ]
            .map(|d| Some(base + d)),
        )
        .collect();
    let check = |all: Vec<PaymentRecord>, when: &'static str| {
        let store = store.clone();
        let (svc_id, points, success, cancelled) = (
            svc.id.clone(),
            points.clone(),
            success.clone(),
            cancelled.clone(),
        );
        async move {
            for states in [None, Some(success.clone()), Some(cancelled.clone())] {
                for after in &points {
                    for before in &points {
                        let filter = PaymentFilter {
                            statuses: states.clone(),
                            dates: Dates {
                                created_after_ms: *after,
                                created_before_ms: *before,
                                ..Dates::default()
                            },
                            ..PaymentFilter::default()
                        };
                        let expected = all
                            .iter()
                            .filter(|p| p.service_id == svc_id)
                            .filter(|p| states.as_ref().is_none_or(|s| s.contains(&p.status)))
                            .filter(|p| after.is_none_or(|a| p.created_ms > a))
                            .filter(|p| before.is_none_or(|b| p.created_ms < b))
                            .count() as u64;
                        let (total, _) =
                            store.search_payments(&svc_id, &filter, 1, 0).await.unwrap();
                        assert_eq!(total, expected, "{when}: {filter:?}");
                    }
                }
            }
        }
    };
    check(now.clone(), "nothing frozen").await;
    assert!(store.freeze_final_payments(25).await.unwrap() > 0);
    check(now.clone(), "some frozen").await;
    while store.freeze_final_payments(1000).await.unwrap() > 0 {}
    check(now.clone(), "all final ones frozen").await;
    // The unfinished ones finish (expire) and are frozen in turn.
    for p in now.iter_mut().filter(|p| p.status == Status::Created) {
        let stored = store.payment(&p.service_id, &p.id).await.unwrap().unwrap();
        let changed = PaymentRecord {
            status: Status::Expired,
            ..stored.clone()
        };
        store
            .update_payment(&stored, &changed, &Record::default())
            .await
            .unwrap();
        *p = changed;
    }
    check(now.clone(), "finished, not yet frozen").await;
    while store.freeze_final_payments(7).await.unwrap() > 0 {}
    check(now.clone(), "finished and frozen").await;
    store.close().await;
}

pence_testkit::engine_tests!(deep_pages_start_in_their_hour_and_match_the_order);
// A deep page of a search by state and dates starts in the hour the hour counts place it in
// (store/frozen.rs): every page, from either end, holds exactly the rows of the plain order
// (newest first, id breaking ties), frozen or not.
async fn deep_pages_start_in_their_hour_and_match_the_order(engine: Engine) {
    use pence_core::search::{Dates, PaymentFilter};
    const HOUR: i64 = 3_600_000;
    let (_db, store) = open(engine).await;
    let svc = service(false);
    store.insert_service(&svc).await.unwrap();
    let base = 1_700_002_800_000 / HOUR * HOUR;
    // 12,000 payments over 30 hours, three to a millisecond, some on hour boundaries.
    let mut all: Vec<PaymentRecord> = (0..12_000i64)
        .map(|i| {
            let mut p = payment(&svc.id);
            p.created_ms = base + (i / 3) * (30 * HOUR / 4_000) - (i % 7 == 0) as i64;
            p.status = match i % 5 {
                0 => Status::Created,
                1 => Status::UserCancelled,
                _ => Status::Captured,
            };
            p
        })
        .collect();
    store.load(&all, &[], &[]).await.unwrap();
    assert!(store.freeze_final_payments(3_000).await.unwrap() > 0);
    all.sort_by(|a, b| (b.created_ms, &b.id).cmp(&(a.created_ms, &a.id)));
    let success: Vec<Status> = Status::ALL
        .iter()
        .copied()
        .filter(|s| s.external().status == "success")
        .collect();
    let filters = [
        PaymentFilter::default(),
        PaymentFilter {
            statuses: Some(success.clone()),
            ..PaymentFilter::default()
        },
        PaymentFilter {
            dates: Dates {
                created_after_ms: Some(base + HOUR / 2),
                created_before_ms: Some(base + 29 * HOUR + 1),
                ..Dates::default()
            },
            ..PaymentFilter::default()
        },
    ];
    for frozen in ["partly frozen", "all frozen"] {
        for f in &filters {
            let matching: Vec<&str> = all
                .iter()
                .filter(|p| f.statuses.as_ref().is_none_or(|s| s.contains(&p.status)))
                .filter(|p| f.dates.created_after_ms.is_none_or(|a| p.created_ms > a))
                .filter(|p| f.dates.created_before_ms.is_none_or(|b| p.created_ms < b))
                .map(|p| p.id.as_str())
                .collect();
            let n = matching.len() as u64;
            for offset in [0, 5_000, 5_123, 7_777, 10_000, 10_500, n - 5_100, n - 300] {
                let (total, page) = store
                    .search_payments(&svc.id, f, 250, offset)
                    .await
                    .unwrap();
                assert_eq!(total, n, "{frozen}: {f:?}");
                let got: Vec<&str> = page.iter().map(|p| p.id.as_str()).collect();
                let end = (offset as usize + 250).min(matching.len());
                assert_eq!(
                    got,
                    matching[(offset as usize).min(end)..end],
                    "{frozen}: page at {offset} of {f:?}"
                );
            }
        }
        while store.freeze_final_payments(1_000).await.unwrap() > 0 {}
    }
    store.close().await;
}

/// SQLite's trigram index is filled, and each service's payments counted, behind a mark by
/// the writer when idle (migrations 0031, 0032): payments above the mark are still found by
/// text searches and counted in totals, exactly, and once the writer has had a change to
/// make, they are indexed and counted, once.
#[tokio::test]
async fn text_searches_find_payments_the_trigram_index_has_not_reached() {
    use pence_core::search::PaymentFilter;
    let db = TestDb::new(Engine::Sqlite).await;
    // No search count is kept: that write would wake the writer, which would index the rows
    // this test writes past it.
    let quiet = StoreOptions {
        keep_counts_slower_than: std::time::Duration::MAX,
        ..StoreOptions::default()
    };
    let store = pence_store::connect(&db.url, quiet).await.unwrap();
    let svc = service(false);
    store.insert_service(&svc).await.unwrap();
    let history: Vec<PaymentRecord> = (0..3_000)
        .map(|i| {
            let mut p = payment(&svc.id);
            p.reference = format!("INV-{i:05}");
            p
        })
        .collect();
    store.load(&history, &[], &[]).await.unwrap();
    let raw = rusqlite::Connection::open(db.path.as_ref().unwrap()).unwrap();
    let unindexed = || -> i64 {
        raw.query_row(
            "SELECT (SELECT MAX(rowid) FROM payments) - upto FROM text_index_mark",
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    let caught_up = || async {
        for _ in 0..500 {
            if unindexed() == 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("the trigram index never caught up");
    };
    caught_up().await;
    // Written past the store (so its writer has no reason to index them): above the mark.
    raw.execute_batch(
        "CREATE TEMP TABLE copy AS SELECT * FROM payments WHERE reference LIKE 'INV-0000%'; \
         UPDATE copy SET id = 'x' || id, reference = 'LATE-' || reference; \
         INSERT INTO payments SELECT * FROM copy;",
    )
    .unwrap();
    assert_eq!(unindexed(), 10);
    let search = |reference: &str| {
        let (store, svc_id) = (store.clone(), svc.id.clone());
        let filter = PaymentFilter {
            reference: Some(reference.into()),
            ..PaymentFilter::default()
        };
        async move {
            let (total, rows) = store
                .search_payments(&svc_id, &filter, 500, 0)
                .await
                .unwrap();
            assert_eq!(total as usize, rows.len());
            let mut refs: Vec<String> = rows.into_iter().map(|p| p.reference).collect();
            refs.sort();
            refs
        }
    };
    let late: Vec<String> = (0..10).map(|i| format!("LATE-INV-{i:05}")).collect();
    assert_eq!(search("late-inv").await, late, "above the mark");
    assert_eq!(search("INV-0000").await.len(), 20, "both sides of the mark");
    assert_eq!(search("INV-0299").await.len(), 10, "indexed only");
    // The service's count (migration 0032) is kept behind the same mark: the total of an
    // unfiltered search adds what is above it.
    let total = |svc_id: String| {
        let store = store.clone();
        async move {
            let (total, _) = store
                .search_payments(&svc_id, &PaymentFilter::default(), 1, 0)
                .await
                .unwrap();
            total
        }
    };
    let counted = || -> i64 {
        raw.query_row(
            "SELECT n FROM payment_counts WHERE service_id = ?1",
            [&svc.id],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert_eq!(counted(), 3_000);
    assert_eq!(
        total(svc.id.clone()).await,
        3_010,
        "counted and above the mark"
    );
    // Any change wakes the writer, which then indexes and counts what is above the mark.
    let other = service(false);
    store.insert_service(&other).await.unwrap();
    caught_up().await;
    assert_eq!(search("late-inv").await, late, "indexed");
    assert_eq!(search("INV-0000").await.len(), 20);
    assert_eq!(counted(), 3_010, "counted once");
    assert_eq!(total(svc.id.clone()).await, 3_010);
    assert_eq!(total(other.id.clone()).await, 0);
    store.close().await;
}

pence_testkit::engine_tests!(emails_are_written_with_their_change_and_claimed_once);
/// An email written with a change is listed by service and address, claimed for sending by
/// one caller at a time, and left after its tries or once sent.
async fn emails_are_written_with_their_change_and_claimed_once(engine: Engine) {
    use pence_core::emails::{Email, EmailKind};
    let (_db, store) = open(engine).await;
    let svc = service(false);
    store.insert_service(&svc).await.unwrap();
    let p = payment(&svc.id);
    let mut record = created(&p);
    record.emails.push(Email {
        id: new_id(),
        service_id: svc.id.clone(),
        payment_id: p.id.clone(),
        kind: EmailKind::PaymentConfirmed,
        to: "Citizen@Example.org".into(),
        subject: "Your payment".into(),
        text: "Paid.".into(),
        html: "<p>Paid.</p>".into(),
        created_ms: 1_000,
    });
    store.insert_payment(&p, &record).await.unwrap();
    let listed = store
        .emails(&svc.id, Some("citizen@example.org"), 10)
        .await
        .unwrap();
    assert_eq!(listed, record.emails);
    assert!(store
        .emails(&svc.id, Some("other@example.org"), 10)
        .await
        .unwrap()
        .is_empty());
    assert!(store.emails("another", None, 10).await.unwrap().is_empty());

    let id = &record.emails[0].id;
    assert_eq!(
        store
            .claim_unsent_emails(5_000, 65_000, 2, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        store
            .claim_unsent_emails(6_000, 66_000, 2, 10)
            .await
            .unwrap()
            .is_empty(),
        "claimed"
    );
    store
        .record_email_attempt(id, None, Some("refused"))
        .await
        .unwrap();
    assert_eq!(
        store
            .claim_unsent_emails(7_000, 67_000, 2, 10)
            .await
            .unwrap()
            .len(),
        1,
        "retried"
    );
    store
        .record_email_attempt(id, None, Some("refused"))
        .await
        .unwrap();
    assert!(
        store
            .claim_unsent_emails(8_000, 68_000, 2, 10)
            .await
            .unwrap()
            .is_empty(),
        "tried out"
    );
    assert_eq!(
        store
            .claim_unsent_emails(8_000, 68_000, 5, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    store
        .record_email_attempt(id, Some(9_000), None)
        .await
        .unwrap();
    assert!(
        store
            .claim_unsent_emails(70_000, 130_000, 5, 10)
            .await
            .unwrap()
            .is_empty(),
        "sent"
    );
}

pence_testkit::engine_tests!(concurrent_creates_and_reads_of_every_shape_round_trip);
/// Creates of every shape at once (optional fields on and off, so a group's columns mix
/// values and NULLs; PostgreSQL inserts a group as one array per column), then many reads at
/// once (PostgreSQL answers them a group at a time): each read is what a lone read answers,
/// for repeated ids, unknown ids and another service's.
async fn concurrent_creates_and_reads_of_every_shape_round_trip(engine: Engine) {
    let (_db, store) = open(engine).await;
    let store = Arc::new(store);
    let shapes = |i: usize| {
        let mut p = payment(if i.is_multiple_of(7) {
            "svc-b"
        } else {
            "svc-a"
        });
        p.amount = i as i64 + 1;
        if i.is_multiple_of(2) {
            p.email = None;
        }
        if i.is_multiple_of(3) {
            p.metadata = None;
            p.return_url = None;
        }
        if i.is_multiple_of(5) {
            p.prefilled = Prefilled::default();
        }
        p.moto = i.is_multiple_of(4);
        p.delayed_capture = i.is_multiple_of(6);
        p
    };
    let mut tasks = Vec::new();
    for i in 0..300 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let p = shapes(i);
            store.insert_payment(&p, &created(&p)).await.unwrap();
            p
        }));
    }
    let mut stored = Vec::new();
    for t in tasks {
        stored.push(t.await.unwrap());
    }
    let mut reads = Vec::new();
    for round in 0..3 {
        for (i, p) in stored.iter().enumerate() {
            let (store, p) = (store.clone(), p.clone());
            reads.push(tokio::spawn(async move {
                // The owner's read, another service's, and an id nobody has.
                let other = if p.service_id == "svc-a" {
                    "svc-b"
                } else {
                    "svc-a"
                };
                let unknown = new_id();
                let (own, foreign, missing) = tokio::join!(
                    store.payment(&p.service_id, &p.id),
                    store.payment(other, &p.id),
                    store.payment(&p.service_id, &unknown),
                );
                assert_eq!(own.unwrap().as_ref(), Some(&p), "read {i} of round {round}");
                assert_eq!(foreign.unwrap(), None);
                assert_eq!(missing.unwrap(), None);
                assert_eq!(store.journey_payment(&p.id).await.unwrap(), Some(p));
            }));
        }
    }
    for r in reads {
        r.await.unwrap();
    }
    store.close().await;
}

/// PostgreSQL's connections dropped under the store (the server restarted, a proxy closed
/// them) while it waits for work: reads and changes go on, on new connections, without an
/// error. A writer checks its connection before a group when it has waited for work (here,
/// while the admin connection is made: longer than the writers' millisecond) or its last
/// group failed; grouped reads retry once on a new connection.
#[tokio::test]
async fn postgres_connections_lost_under_the_store_are_replaced() {
    if !pence_testkit::db::postgres_configured() {
        eprintln!("PENCE_TEST_POSTGRES_URL is not set: not run");
        return;
    }
    let db = TestDb::new(Engine::Postgres).await;
    let name = format!("pence_lost_{}", pence_core::ids::random_base32(8));
    let url = format!("{}&application_name={name}", db.url);
    let store = pence_store::connect(&url, StoreOptions::default())
        .await
        .unwrap();
    // One after another, so that every writer and every grouped reader (they take turns)
    // has a connection to lose.
    let mut stored = Vec::new();
    for _ in 0..8 {
        let p = payment("svc");
        store.insert_payment(&p, &created(&p)).await.unwrap();
        assert_eq!(
            store.payment("svc", &p.id).await.unwrap().as_ref(),
            Some(&p)
        );
        stored.push(p);
    }

    let mut admin = sqlx::postgres::PgConnection::connect(&db.url)
        .await
        .unwrap();
    let ended: Vec<(bool,)> = sqlx::query_as(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
    )
    .bind(&name)
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert!(ended.len() >= 2, "the store's connections: {ended:?}");

    for p in &stored {
        assert_eq!(store.payment("svc", &p.id).await.unwrap().as_ref(), Some(p));
        let q = payment("svc");
        store.insert_payment(&q, &created(&q)).await.unwrap();
        assert_eq!(store.payment("svc", &q.id).await.unwrap(), Some(q));
    }
    store.close().await;
}

pence_testkit::engine_tests!(searches_by_a_common_prefix_find_exactly_the_matches);
/// 25,000 payments whose references all start `INV-` and whose emails all start `user` and
/// end `@example.org`: on PostgreSQL the trigram index is then asked for the rare part of a
/// search only (`probes.rs`), and the answer must still be exactly the payments containing
/// the whole text, as counted here.
async fn searches_by_a_common_prefix_find_exactly_the_matches(engine: Engine) {
    use pence_core::search::PaymentFilter;
    let (db, store) = open(engine).await;
    let svc = service(false);
    store.insert_service(&svc).await.unwrap();
    let made: Vec<PaymentRecord> = (0..25_000i64)
        .map(|i| {
            let mut p = payment(&svc.id);
            p.reference = format!("INV-{:07}", i * 7_919 % 1_000_003);
            p.email = Some(format!("user{i}@example.org"));
            p.created_ms += i;
            p
        })
        .collect();
    for chunk in made.chunks(5_000) {
        store.load(chunk, &[], &[]).await.unwrap();
    }
    if engine == Engine::Postgres {
        // The table's size as PostgreSQL's planner knows it, which decides whether to sample.
        let mut conn = sqlx::postgres::PgConnection::connect(&db.url)
            .await
            .unwrap();
        sqlx::query("ANALYZE payments")
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let expected = |field: &str, text: &str| -> usize {
        made.iter()
            .filter(|p| match field {
                "reference" => p.reference.to_lowercase().contains(text),
                _ => p.email.as_deref().unwrap_or("").contains(text),
            })
            .count()
    };
    for (field, text) in [
        ("reference", "inv-0079190"),
        ("reference", "inv-00791"),
        ("reference", "v-0012"),
        ("reference", "inv-"),
        ("email", "user1234"),
        ("email", "user12345@example"),
        ("email", "r2499"),
        ("email", "@example.org"),
    ] {
        let mut f = PaymentFilter::default();
        match field {
            "reference" => f.reference = Some(text.into()),
            _ => f.email = Some(text.into()),
        }
        let (total, rows) = store.search_payments(&svc.id, &f, 500, 0).await.unwrap();
        let want = expected(field, text);
        assert_eq!(total as usize, want, "{field} {text}: total");
        assert_eq!(rows.len(), want.min(500), "{field} {text}: page");
        for p in &rows {
            let value = match field {
                "reference" => p.reference.to_lowercase(),
                _ => p.email.clone().unwrap_or_default(),
            };
            assert!(value.contains(text), "{field} {text}: {value}");
        }
    }
    store.close().await;
}

pence_testkit::engine_tests!(a_lookup_no_row_can_match_fails_no_other_lookup);
/// An id with a NUL (no stored text holds one) asked at the same moment as a real one: it
/// finds nothing, and the other is still found (PostgreSQL answers both in one query).
async fn a_lookup_no_row_can_match_fails_no_other_lookup(engine: Engine) {
    let (_db, store) = open(engine).await;
    let p = payment("svc");
    store.insert_payment(&p, &created(&p)).await.unwrap();
    let (found, nul) = tokio::join!(
        store.journey_payment(&p.id),
        store.journey_payment("1k8nkbrc82fe\0md6rq7kvrb6cm"),
    );
    assert_eq!(found.unwrap(), Some(p));
    assert_eq!(nul.unwrap(), None);
    store.close().await;
}

pence_testkit::engine_tests!(multi_thread: freezing_never_deadlocks_with_changes_to_payments);
/// The freezing sweep marks many final payments in one statement while the writers change
/// those payments in group transactions (a refund's update, on PostgreSQL several writer
/// connections at once). It takes only rows no one else holds, so neither side waits for
/// the other in a cycle: every change commits, and every payment is frozen in the end.
async fn freezing_never_deadlocks_with_changes_to_payments(engine: Engine) {
    let (db, store) = open(engine).await;
    let other_node = pence_store::connect(&db.url, StoreOptions::default())
        .await
        .unwrap();
    let svc = service(false);
    store.insert_service(&svc).await.unwrap();
    let history: Vec<PaymentRecord> = (0..1500)
        .map(|i| {
            let mut p = payment(&svc.id);
            p.created_ms += i;
            p.status = Status::Captured;
            p
        })
        .collect();
    store.load(&history, &[], &[]).await.unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let freezing = {
        let (store, stop) = (other_node.clone(), stop.clone());
        tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                store.freeze_final_payments(200).await.unwrap();
            }
        })
    };
    let mut changing = Vec::new();
    for chunk in history.chunks(10) {
        let (store, chunk, svc) = (store.clone(), chunk.to_vec(), svc.id.clone());
        changing.push(tokio::spawn(async move {
            for p in chunk {
                let stored = store.payment(&svc, &p.id).await.unwrap().unwrap();
                let changed = PaymentRecord {
                    refund_submitted: 100,
                    ..stored.clone()
                };
                store
                    .update_payment(&stored, &changed, &Record::default())
                    .await
                    .unwrap();
            }
        }));
    }
    for task in changing {
        task.await.unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    freezing.await.unwrap();
    while store.freeze_final_payments(500).await.unwrap() > 0 {}
    let (total, _) = store
        .search_payments(&svc.id, &Default::default(), 1, 0)
        .await
        .unwrap();
    assert_eq!(total, 1500);
}
