//! Secrets the node reads back are sealed at rest under the node's key, on both engines: the
//! database holds none of them in the clear, the node reads them, a node given a new key
//! with the old one as previous reads them too and reseals them all, and a node without the
//! right key is refused with a reason.

use pence_core::ports::prelude::*;
use pence_core::staff::{Invitation, Role, User};
use pence_core::webhook::{EventType, Subscription};
use pence_store::{SealingKey, SealingKeys, SqlStore, StoreOptions};
use pence_testkit::{Engine, TestDb};
use sqlx::Connection as _;

const NODE_SECRET: &[u8] = b"the node's own next_url key";
const TOTP: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
const SIGNING: &str = "webhook-signing-secret-in-the-clear";

async fn store(db: &TestDb, current: &str, previous: &[&str]) -> SqlStore {
    let sealing = SealingKeys {
        current: SealingKey::parse(current).unwrap(),
        previous: previous
            .iter()
            .map(|k| SealingKey::parse(k).unwrap())
            .collect(),
    };
    let options = StoreOptions {
        sealing: Some(sealing),
        ..StoreOptions::default()
    };
    pence_store::connect(&db.url, options).await.unwrap()
}

/// Every stored secret, as the database holds it.
async fn at_rest(db: &TestDb) -> Vec<Vec<u8>> {
    let queries = [
        "SELECT value AS v FROM secrets",
        "SELECT CAST(totp_secret AS BLOB) AS v FROM users",
        "SELECT CAST(secret AS BLOB) AS v FROM webhook_secrets",
    ];
    let mut out = Vec::new();
    match db.engine {
        Engine::Sqlite => {
            let raw = rusqlite::Connection::open(db.path.as_ref().unwrap()).unwrap();
            for q in queries {
                let mut stmt = raw.prepare(q).unwrap();
                let rows = stmt.query_map([], |r| r.get::<_, Vec<u8>>(0)).unwrap();
                out.extend(rows.map(Result::unwrap));
            }
        }
        Engine::Postgres => {
            let mut conn = sqlx::postgres::PgConnection::connect(&db.url)
                .await
                .unwrap();
            for q in queries {
                let q = q.replace("AS BLOB", "AS BYTEA").replace(
                    "CAST(totp_secret AS BYTEA)",
                    "convert_to(totp_secret, 'UTF8')",
                );
                let q = q.replace("CAST(secret AS BYTEA)", "convert_to(secret, 'UTF8')");
                let rows: Vec<(Vec<u8>,)> = sqlx::query_as(&q).fetch_all(&mut conn).await.unwrap();
                out.extend(rows.into_iter().map(|(v,)| v));
            }
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

pence_testkit::engine_tests!(secrets_are_sealed_at_rest_and_rotate);
async fn secrets_are_sealed_at_rest_and_rotate(engine: Engine) {
    let db = TestDb::new(engine).await;
    let (a, b) = (SealingKey::generate(), SealingKey::generate());
    let one = store(&db, &a, &[]).await;
    assert_eq!(
        one.secret("a secret", NODE_SECRET).await.unwrap(),
        NODE_SECRET
    );
    let user = User {
        id: "u1".into(),
        email: "ada@council.example".into(),
        password_hash: None,
        totp_secret: Some(TOTP.into()),
        totp_confirmed: false,
        disabled: false,
        created_ms: 1,
    };
    let invitation = Invitation {
        service_id: "svc",
        role: Role::Admin,
        link_hash: "h",
        link_expires_ms: 2,
    };
    one.insert_user(&user, &invitation, None).await.unwrap();
    let sub = Subscription {
        id: "w1".into(),
        service_id: "svc".into(),
        tag: "aaaaaa".into(),
        callback_url: "http://127.0.0.1:9/h".into(),
        description: String::new(),
        event_types: vec![EventType::Captured],
        active: true,
        secret_version: 1,
        created_ms: 1,
        updated_ms: 1,
    };
    one.insert_webhook(&sub, SIGNING, None).await.unwrap();

    let stored = at_rest(&db).await;
    assert!(stored.len() >= 3, "{stored:?}");
    for value in &stored {
        assert!(
            value.starts_with(b"sealed:v1:"),
            "{}",
            String::from_utf8_lossy(value)
        );
        for clear in [NODE_SECRET, TOTP.as_bytes(), SIGNING.as_bytes()] {
            assert!(!contains(value, clear));
        }
    }
    let read = |s: SqlStore| async move {
        (
            s.secret("a secret", b"unused").await,
            s.user("u1").await.map(|u| u.unwrap().totp_secret),
            s.webhook_secret("w1", 1).await,
        )
    };
    let (secret, totp, signing) = read(one.clone()).await;
    assert_eq!(secret.unwrap(), NODE_SECRET);
    assert_eq!(totp.unwrap().as_deref(), Some(TOTP));
    assert_eq!(signing.unwrap().as_deref(), Some(SIGNING));

    // A new key, the old one given as previous: everything reads, and is resealed.
    let two = store(&db, &b, &[&a]).await;
    let (secret, totp, _) = read(two.clone()).await;
    assert_eq!(secret.unwrap(), NODE_SECRET);
    assert_eq!(totp.unwrap().as_deref(), Some(TOTP));
    let resealed = two.reseal_secrets().await.unwrap();
    assert_eq!(resealed as usize, at_rest(&db).await.len());
    assert_eq!(
        two.reseal_secrets().await.unwrap(),
        0,
        "all under the new key"
    );

    // The new key alone reads everything; the old key alone reads nothing, and says why.
    let three = store(&db, &b, &[]).await;
    let (secret, totp, signing) = read(three).await;
    assert_eq!(secret.unwrap(), NODE_SECRET);
    assert_eq!(totp.unwrap().as_deref(), Some(TOTP));
    assert_eq!(signing.unwrap().as_deref(), Some(SIGNING));
    let options = StoreOptions {
        sealing: Some(SealingKeys {
            current: SealingKey::parse(&a).unwrap(),
            previous: Vec::new(),
        }),
        ..StoreOptions::default()
    };
    let refused = pence_store::connect(&db.url, options).await.err().unwrap();
    assert!(refused.to_string().contains("not given"), "{refused}");
}
