//! The storage conformance suite for the admin tool's people (`StaffStore`), on SQLite and
//! (when `PENCE_TEST_POSTGRES_URL` is set) PostgreSQL: users, roles, links, sessions, sign-in
//! guesses and authenticator codes.

mod common;

use pence_core::ids::new_id;
use pence_core::ports::prelude::*;
use pence_core::service::Service;
use pence_core::staff::{Invitation, Role, StaffSession, User};
use pence_store::SqlStore;
use pence_testkit::Engine;

use common::open;
/// A user invited to `service_id` with `role`, and a link `link` live until 100.
async fn invited(store: &SqlStore, email: &str, service_id: &str, role: Role, link: &str) -> User {
    let user = User {
        id: new_id(),
        email: email.into(),
        password_hash: None,
        totp_secret: Some("JBSWY3DPEHPK3PXP".into()),
        totp_confirmed: false,
        disabled: false,
        created_ms: 1,
    };
    let invitation = Invitation {
        service_id,
        role,
        link_hash: link,
        link_expires_ms: 100,
    };
    store.insert_user(&user, &invitation, None).await.unwrap();
    user
}

fn session(user: &User, id_hash: &str) -> StaffSession {
    StaffSession {
        id_hash: id_hash.into(),
        user_id: user.id.clone(),
        csrf: "c".into(),
        created_ms: 10,
        expires_ms: 1_000,
        two_factor_ms: None,
    }
}

pence_testkit::engine_tests!(users_roles_and_links);
async fn users_roles_and_links(engine: Engine) {
    let (_db, store, service) = open(engine).await;
    let other = Service::new_sandbox(new_id(), "other".into(), false, 1);
    store.insert_service(&other).await.unwrap();
    let bob = invited(&store, "bob@x.example", &service.id, Role::ViewOnly, "l1").await;
    let ada = invited(&store, "ada@x.example", &service.id, Role::Admin, "l2").await;
    // The secret is sealed at rest and read back as it was.
    assert_eq!(store.user(&bob.id).await.unwrap(), Some(bob.clone()));
    assert_eq!(
        store.user_by_email("ada@x.example").await.unwrap(),
        Some(ada.clone())
    );
    let emails: Vec<String> = store
        .users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.email)
        .collect();
    assert_eq!(emails, ["ada@x.example", "bob@x.example"], "by email");
    let taken = invited_again(&store, &bob, &service.id).await;
    assert!(matches!(taken, Err(pence_core::StoreError::Duplicate)));

    store
        .set_role(&bob.id, &other.id, Role::ViewAndRefund, None)
        .await
        .unwrap();
    store
        .set_role(&bob.id, &service.id, Role::Admin, None)
        .await
        .unwrap();
    let mut expected = vec![
        (service.id.clone(), Role::Admin),
        (other.id.clone(), Role::ViewAndRefund),
    ];
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(store.roles(&bob.id).await.unwrap(), expected);
    let members: Vec<(String, Role)> = store
        .members(&service.id)
        .await
        .unwrap()
        .into_iter()
        .map(|(u, r)| (u.email, r))
        .collect();
    assert_eq!(
        members,
        [
            ("ada@x.example".to_string(), Role::Admin),
            ("bob@x.example".to_string(), Role::Admin)
        ]
    );

    // Links: live until they expire or are spent.
    assert_eq!(
        store.link_user("l1", 99).await.unwrap(),
        Some(bob.id.clone())
    );
    assert_eq!(store.link_user("l1", 100).await.unwrap(), None, "expired");
    store.insert_link("l3", &bob.id, 500).await.unwrap();
    assert!(store
        .set_password(&bob.id, "hash", "l3", 200, None)
        .await
        .unwrap());
    assert!(
        !store
            .set_password(&bob.id, "again", "l3", 201, None)
            .await
            .unwrap(),
        "a link sets a password once"
    );
    let stored = store.user(&bob.id).await.unwrap().unwrap();
    assert_eq!(stored.password_hash.as_deref(), Some("hash"));
    store.close().await;
}

async fn invited_again(
    store: &SqlStore,
    user: &User,
    service_id: &str,
) -> Result<(), pence_core::StoreError> {
    let again = User {
        id: new_id(),
        ..user.clone()
    };
    let invitation = Invitation {
        service_id,
        role: Role::ViewOnly,
        link_hash: "other",
        link_expires_ms: 1,
    };
    store.insert_user(&again, &invitation, None).await
}

pence_testkit::engine_tests!(sessions_are_replaced_once_and_end_with_a_new_password);
async fn sessions_are_replaced_once_and_end_with_a_new_password(engine: Engine) {
    let (_db, store, service) = open(engine).await;
    let ada = invited(&store, "ada@x.example", &service.id, Role::Admin, "l1").await;
    let first = session(&ada, "s1");
    store.insert_session(&first).await.unwrap();
    assert_eq!(store.session("s1").await.unwrap(), Some(first.clone()));
    let signed_in = StaffSession {
        id_hash: "s2".into(),
        two_factor_ms: Some(20),
        ..first.clone()
    };
    assert!(store.replace_session("s1", &signed_in, None).await.unwrap());
    assert!(
        !store.replace_session("s1", &signed_in, None).await.unwrap(),
        "replaced once"
    );
    assert_eq!(store.session("s1").await.unwrap(), None);
    assert_eq!(store.session("s2").await.unwrap(), Some(signed_in));
    // Setting a password ends every session of the user.
    assert!(store
        .set_password(&ada.id, "h", "l1", 50, None)
        .await
        .unwrap());
    assert_eq!(store.session("s2").await.unwrap(), None);
    store.insert_session(&session(&ada, "s3")).await.unwrap();
    store.delete_session("s3", None).await.unwrap();
    assert_eq!(store.session("s3").await.unwrap(), None);
    store.close().await;
}

pence_testkit::engine_tests!(guesses_lock_and_codes_sign_in_once);
async fn guesses_lock_and_codes_sign_in_once(engine: Engine) {
    let (_db, store, service) = open(engine).await;
    let ada = invited(&store, "ada@x.example", &service.id, Role::Admin, "l1").await;
    // Three guesses allowed: the third locks until 1_000 + 500.
    for _ in 0..3 {
        assert!(store.claim_sign_in("k", 1_000, 3, 500).await.unwrap());
    }
    assert!(
        !store.claim_sign_in("k", 1_200, 3, 500).await.unwrap(),
        "locked"
    );
    assert!(
        store.claim_sign_in("other", 1_200, 3, 500).await.unwrap(),
        "per key"
    );
    assert!(
        store.claim_sign_in("k", 1_600, 3, 500).await.unwrap(),
        "unlocked"
    );
    store.clear_sign_in("k").await.unwrap();
    for _ in 0..2 {
        assert!(store.claim_sign_in("k", 1_700, 3, 500).await.unwrap());
    }
    // An authenticator code's time step signs in once; an older one never again.
    assert!(store.spend_totp_step(&ada.id, 100).await.unwrap());
    assert!(!store.spend_totp_step(&ada.id, 100).await.unwrap());
    assert!(!store.spend_totp_step(&ada.id, 99).await.unwrap());
    assert!(store.spend_totp_step(&ada.id, 101).await.unwrap());
    store.close().await;
}
