//! Staff actions (service settings, team, API keys, webhooks) and their audit rows commit
//! together, on both engines: an action that
//! commits is always audited, and an audit row never tells of an action that did not happen.

mod common;

use pence_core::agreement;
use pence_core::agreement::{AgreementRecord, AgreementStatus};
use pence_core::clock::AdjustableClock;
use pence_core::ids::new_id;
use pence_core::ledger::EventKind;
use pence_core::payment::status::Status;
use pence_core::payment::transition::{self, Move, Target};
use pence_core::ports::prelude::*;
use pence_core::refusal::Failure;
use pence_core::service::administer::{self, Actor, Given, Revoked};
use pence_core::service::api_key::ApiKeyRecord;
use pence_core::service::Service;
use pence_core::staff::{self, operations::StaffRefusal};
use pence_core::staff::{AuditEntry, Invitation, Role, User};
use pence_core::webhook::subscription::{self, Changes};
use pence_core::webhook::Subscription;
use pence_core::StoreError;
use pence_store::SqlStore;
use pence_testkit::Engine;

use common::{a_payment, open};
fn user(email: &str) -> User {
    User {
        id: new_id(),
        email: email.into(),
        password_hash: None,
        totp_secret: None,
        totp_confirmed: false,
        disabled: false,
        created_ms: 1,
    }
}

fn key(service_id: &str) -> ApiKeyRecord {
    ApiKeyRecord {
        id: new_id(),
        service_id: service_id.into(),
        token_hash: new_id(),
        display_prefix: "api_test_abcd".into(),
        description: "d".into(),
        created_ms: 5,
        revoked_ms: None,
        last_used_ms: None,
    }
}

fn failed<T: std::fmt::Debug>(r: Result<T, StoreError>) {
    assert!(matches!(r, Err(StoreError::Duplicate)), "{r:?}");
}

/// An admin of `service`, invited by the operator (so not audited).
async fn admin_of(store: &SqlStore, clock: &AdjustableClock, service: &Service) -> User {
    let email = "ada@council.example";
    let invited = administer::invite_user(
        store,
        clock,
        Actor::Operator,
        email,
        &service.id,
        Role::Admin,
    );
    invited.await.unwrap().0
}

/// An audit row already stored: writing another with its id fails, as any write can (a full
/// disk, a lost connection), in the middle of the action's change.
async fn taken_audit_id(store: &SqlStore, by: &User) -> AuditEntry {
    let entry = AuditEntry {
        id: new_id(),
        user_id: by.id.clone(),
        service_id: None,
        action: "earlier".into(),
        detail: String::new(),
        created_ms: 1,
    };
    store.insert_audit(&entry).await.unwrap();
    AuditEntry {
        action: "later".into(),
        ..entry
    }
}

pence_testkit::engine_tests!(an_action_whose_audit_row_fails_is_not_applied);
async fn an_action_whose_audit_row_fails_is_not_applied(engine: Engine) {
    let (_db, store, service) = open(engine).await;
    let admin = user("admin@council.example");
    let bob = user("bob@council.example");
    let invitation = |role| Invitation {
        service_id: &service.id,
        role,
        link_hash: "link",
        link_expires_ms: 10,
    };
    store
        .insert_user(&admin, &invitation(Role::Admin), None)
        .await
        .unwrap();
    let key = key(&service.id);
    store.insert_api_key(&key, None).await.unwrap();
    let clash = taken_audit_id(&store, &admin).await;

    let mut changed = service.clone();
    changed.moto_enabled = !service.moto_enabled;
    failed(store.update_service(&changed, Some(&clash)).await);
    assert_eq!(
        store.service(&service.id).await.unwrap(),
        Some(service.clone())
    );

    failed(
        store
            .set_role(&admin.id, &service.id, Role::ViewOnly, Some(&clash))
            .await,
    );
    assert_eq!(
        store.roles(&admin.id).await.unwrap(),
        [(service.id.clone(), Role::Admin)]
    );

    failed(store.revoke_api_key(&key.id, 9, Some(&clash)).await);
    assert_eq!(store.api_keys().await.unwrap()[0].revoked_ms, None);
    failed(
        store
            .insert_api_key(&self::key(&service.id), Some(&clash))
            .await,
    );
    assert_eq!(store.api_keys().await.unwrap().len(), 1);

    let invite = Invitation {
        link_hash: "other link",
        ..invitation(Role::ViewOnly)
    };
    failed(store.insert_user(&bob, &invite, Some(&clash)).await);
    assert_eq!(store.user_by_email(&bob.email).await.unwrap(), None);
    assert_eq!(store.roles(&bob.id).await.unwrap(), []);
    assert_eq!(store.link_user("other link", 0).await.unwrap(), None);

    let disabled = User {
        disabled: true,
        ..admin.clone()
    };
    failed(store.update_user(&disabled, Some(&clash)).await);
    assert!(!store.user(&admin.id).await.unwrap().unwrap().disabled);

    let (webhook, secret) = subscription::create(
        &store,
        &AdjustableClock::default(),
        Actor::Operator,
        &service,
        "https://example.org/hook",
        "",
        &[],
    )
    .await
    .unwrap();
    let mut other = webhook.clone();
    other.id = new_id();
    other.tag = "zzzzzz".into();
    failed(store.insert_webhook(&other, &secret, Some(&clash)).await);
    assert_eq!(store.webhook(&other.id).await.unwrap(), None);
    let off = Subscription {
        active: false,
        ..webhook.clone()
    };
    failed(store.update_webhook(&off, Some(&clash)).await);
    failed(
        store
            .rotate_webhook_secret(&webhook.id, "new", 9, Some(&clash))
            .await,
    );
    assert_eq!(store.webhook(&webhook.id).await.unwrap(), Some(webhook));

    // Only the row that was there before.
    assert_eq!(store.audit_log(10).await.unwrap().len(), 1);
    store.close().await;
}

pence_testkit::engine_tests!(staff_actions_are_audited_with_what_they_did_and_operators_not);
async fn staff_actions_are_audited_with_what_they_did_and_operators_not(engine: Engine) {
    let (_db, store, service) = open(engine).await;
    let clock = AdjustableClock::default();
    let (admin, _) = administer::invite_user(
        &store,
        &clock,
        Actor::Operator,
        "Admin@Council.example",
        &service.id,
        Role::Admin,
    )
    .await
    .unwrap();
    assert_eq!(admin.email, "admin@council.example");
    assert!(
        store.audit_log(10).await.unwrap().is_empty(),
        "an operator is not audited"
    );
    let staff = Actor::Staff(&admin);

    let given = administer::give_role(
        &store,
        &clock,
        staff,
        &service.id,
        "bob@council.example",
        Role::ViewOnly,
    )
    .await
    .unwrap();
    let Given::Invited(bob, token) = given else {
        panic!("bob is new: {given:?}")
    };
    assert!(!token.is_empty());
    let changed = administer::change_role(
        &store,
        &clock,
        staff,
        &service.id,
        &bob.id,
        Role::ViewAndRefund,
    )
    .await
    .unwrap();
    assert_eq!(changed.id, bob.id);
    let own = administer::change_role(
        &store,
        &clock,
        staff,
        &service.id,
        &admin.id,
        Role::ViewOnly,
    );
    assert!(matches!(own.await, Err(StaffRefusal::OwnRole)));
    let stranger =
        administer::change_role(&store, &clock, staff, &service.id, "nobody", Role::ViewOnly);
    assert!(matches!(stranger.await, Err(StaffRefusal::NoSuchUser)));

    let mut settings = service.clone();
    settings.moto_enabled = true;
    administer::save_settings(&store, &clock, staff, &settings)
        .await
        .unwrap();

    let secrets = pence_core::service::secrets(&store).await.unwrap();
    let create = pence_core::service::create_api_key;
    let (created, _) = create(&store, &clock, staff, &secrets, &service, "ops")
        .await
        .unwrap();
    let key = key(&service.id);
    store.insert_api_key(&key, None).await.unwrap();
    let revoke = || administer::revoke_key(&store, &clock, staff, Some(&service.id), &key.id);
    assert_eq!(revoke().await.unwrap(), Revoked::Now);
    assert_eq!(
        revoke().await.unwrap(),
        Revoked::Already,
        "a form sent twice acts once"
    );
    let clock_ref = &clock;
    let (hook, _) = subscription::create(
        &store,
        clock_ref,
        staff,
        &service,
        "https://example.org/hook",
        "",
        &[],
    )
    .await
    .unwrap();
    subscription::rotate_secret(&store, clock_ref, staff, &hook)
        .await
        .unwrap();
    let off = Changes {
        active: Some(false),
        ..Changes::default()
    };
    subscription::update(&store, clock_ref, staff, &service, hook.clone(), off)
        .await
        .unwrap();
    let elsewhere = administer::revoke_key(&store, &clock, staff, Some("other"), &key.id);
    assert_eq!(elsewhere.await.unwrap(), Revoked::NoSuchKey);

    let mut log: Vec<(String, String)> = store
        .service_audit_log(&service.id, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| {
            assert_eq!(e.user_id, admin.id);
            (e.action, e.detail)
        })
        .collect();
    log.sort();
    let expected = [
        ("api key", format!("created API key {} (ops)", created.id)),
        ("api key", format!("revoked API key {}", key.id)),
        ("settings", "saved the service's settings".into()),
        (
            "webhook",
            format!("added webhook {} to https://example.org/hook", hook.id),
        ),
        ("webhook", format!("deactivated webhook {}", hook.id)),
        (
            "webhook",
            format!("new signing secret for webhook {}", hook.id),
        ),
        (
            "team",
            "changed bob@council.example's role to view-and-refund".into(),
        ),
        ("team", "invited bob@council.example as view-only".into()),
    ];
    let mut expected: Vec<(String, String)> = expected
        .into_iter()
        .map(|(a, d)| (a.to_string(), d))
        .collect();
    expected.sort();
    assert_eq!(log, expected);
    assert!(
        store
            .service(&service.id)
            .await
            .unwrap()
            .unwrap()
            .moto_enabled
    );
    assert_eq!(
        store.roles(&bob.id).await.unwrap(),
        [(service.id.clone(), Role::ViewAndRefund)]
    );
    store.close().await;
}

pence_testkit::engine_tests!(signing_in_and_out_are_audited_with_the_session_change);
async fn signing_in_and_out_are_audited_with_the_session_change(engine: Engine) {
    let (_db, store, service) = open(engine).await;
    let clock = AdjustableClock::default();
    let user = admin_of(&store, &clock, &service).await;
    let (_, half) = staff::operations::start_session(&store, &clock, &user)
        .await
        .unwrap();
    let clash = taken_audit_id(&store, &user).await;
    // The second factor given: the session is replaced, and the sign-in recorded with it.
    let token = staff::operations::complete_sign_in(&store, &clock, &half, &user).await;
    let token = token.unwrap().expect("the session was live");
    let (session, _) = staff::operations::session(&store, &clock, &token)
        .await
        .unwrap()
        .unwrap();
    failed(store.delete_session(&session.id_hash, Some(&clash)).await);
    assert!(store.session(&session.id_hash).await.unwrap().is_some());

    // Two tabs sign out: the session ends, and one sign-out is recorded.
    staff::operations::sign_out(&store, &clock, &session, &user)
        .await
        .unwrap();
    staff::operations::sign_out(&store, &clock, &session, &user)
        .await
        .unwrap();
    assert!(store.session(&session.id_hash).await.unwrap().is_none());
    let log = store.audit_log(10).await.unwrap();
    let mut actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    actions.sort();
    assert_eq!(actions, ["earlier", "signed in", "signed out"]);
    store.close().await;
}

pence_testkit::engine_tests!(a_payment_move_and_its_audit_row_commit_together);
/// A payment's move through the gate carries the audit row of the staff action it is (a
/// capture, cancel or refund from the admin tool): a move whose row cannot be written does
/// not happen, and a move that finds nothing to do records nothing.
async fn a_payment_move_and_its_audit_row_commit_together(engine: Engine) {
    let (_db, store, service) = open(engine).await;
    let clock = AdjustableClock::default();
    let user = admin_of(&store, &clock, &service).await;
    let payment = a_payment(&store, &service).await;
    let target = Target::Of {
        service_id: &service.id,
        id: &payment.id,
    };
    let clash = taken_audit_id(&store, &user).await;
    let cancel = |audit: Option<AuditEntry>| {
        transition::apply(&store, &clock, target, move |p, now| {
            let to = Status::SystemCancelled;
            let kind = EventKind::CancelledByExternalService;
            Ok((p.status == Status::Created)
                .then(|| Move::to(p, to, kind, now).audited(audit.clone())))
        })
    };
    assert!(matches!(
        cancel(Some(clash.clone())).await,
        Err(Failure::Store(StoreError::Duplicate))
    ));
    let stored = store
        .payment(&service.id, &payment.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, Status::Created);
    assert_eq!(
        store
            .payment_events(&service.id, &payment.id)
            .await
            .unwrap()
            .len(),
        1
    );

    let entry = AuditEntry {
        id: new_id(),
        ..clash
    };
    assert!(cancel(Some(entry.clone())).await.unwrap().moved().is_some());
    assert!(cancel(Some(entry)).await.unwrap().moved().is_none());
    let log = store.audit_log(10).await.unwrap();
    assert_eq!(
        log.len(),
        2,
        "the earlier row and the cancel's, once: {log:?}"
    );
    store.close().await;
}

pence_testkit::engine_tests!(an_agreement_change_and_its_audit_row_commit_together);
async fn an_agreement_change_and_its_audit_row_commit_together(engine: Engine) {
    let (_db, store, mut service) = open(engine).await;
    service.recurring_enabled = true;
    store.update_service(&service, None).await.unwrap();
    let clock = AdjustableClock::default();
    let user = admin_of(&store, &clock, &service).await;
    let body = serde_json::json!({"reference": "ref", "description": "d", "user_identifier": "u"});
    let agreement = agreement::create_agreement(&store, &clock, &service, &body)
        .await
        .unwrap();
    let cancelled = AgreementRecord {
        status: AgreementStatus::Cancelled,
        cancelled_ms: Some(5),
        ..agreement.clone()
    };
    let kind = EventKind::AgreementCancelledByService;
    let clash = taken_audit_id(&store, &user).await;
    let change = store.update_agreement(&agreement, &cancelled, kind, 5, Some(&clash));
    failed(change.await);
    let found = agreement::find_agreement(&store, &service, &agreement.id).await;
    assert_eq!(found.unwrap().status, agreement.status);
    assert_eq!(store.audit_log(10).await.unwrap().len(), 1);
    store.close().await;
}
