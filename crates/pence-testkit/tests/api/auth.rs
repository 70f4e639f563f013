//! API keys (reference §15): missing, malformed, unknown and revoked keys are refused with
//! 401 and a JSON body.

use pence_core::ports::prelude::*;
use pence_core::service::api_key;
use pence_testkit::{Engine, TestServer};
use reqwest::Method;

use crate::base;

async fn assert_unauthorized(server: &TestServer, headers: &[(&str, &str)], what: &str) {
    for (method, path) in [
        (Method::GET, "/v1/payments/abc"),
        (Method::POST, "/v1/payments"),
    ] {
        let mut all = headers.to_vec();
        all.push(("Content-Type", "application/json"));
        let reply = server
            .send(
                method.clone(),
                path,
                None,
                &all,
                Some(base().to_string().into_bytes()),
            )
            .await;
        assert_eq!(reply.status, 401, "{what}: {method} {path}");
        assert_eq!(
            reply.json,
            serde_json::json!({"code": 401, "message": "Credentials are required to access this resource."}),
            "{what}"
        );
        assert_eq!(
            reply.header("www-authenticate"),
            Some("Bearer realm=\"realm\"")
        );
    }
}

pence_testkit::engine_tests!(bad_keys_are_refused);
async fn bad_keys_are_refused(engine: Engine) {
    let server = TestServer::start(engine).await;
    let good = server.key.clone();
    let mut tampered = good.clone().into_bytes();
    tampered[10] = if tampered[10] == b'0' { b'1' } else { b'0' };
    let tampered = String::from_utf8(tampered).unwrap();
    // Well formed, right checksum, never issued.
    let unknown = api_key::generate(&server.secrets.api_key, false);
    let bearer = |k: &str| format!("Bearer {k}");
    let cases = [
        (vec![], "no header"),
        (
            vec![("Authorization", format!("Basic {good}"))],
            "wrong scheme",
        ),
        (vec![("Authorization", good.clone())], "no scheme"),
        (vec![("Authorization", "Bearer ".to_string())], "empty key"),
        (
            vec![("Authorization", bearer("api_test_short"))],
            "too short",
        ),
        (vec![("Authorization", bearer(&tampered))], "bad checksum"),
        (vec![("Authorization", bearer(&unknown))], "unknown key"),
        (
            vec![("Authorization", format!("bearer {good}"))],
            "lower-case scheme",
        ),
    ];
    for (headers, what) in cases {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_unauthorized(&server, &headers, what).await;
    }
    // The real key works.
    assert_eq!(server.post("/v1/payments", &base()).await.status, 201);
    server.stop().await;
}

pence_testkit::engine_tests!(revoked_keys_stop_working);
async fn revoked_keys_stop_working(engine: Engine) {
    let server = TestServer::start(engine).await;
    assert_eq!(server.post("/v1/payments", &base()).await.status, 201);
    let keys = server.store.api_keys().await.unwrap();
    assert_eq!(keys.len(), 1);
    assert!(server
        .store
        .revoke_api_key(&keys[0].id, 1, None)
        .await
        .unwrap());
    assert!(!server
        .store
        .revoke_api_key(&keys[0].id, 2, None)
        .await
        .unwrap());
    let bearer = format!("Bearer {}", server.key);
    assert_unauthorized(&server, &[("Authorization", bearer.as_str())], "revoked").await;
    // No key is ever stored in clear.
    assert_ne!(keys[0].token_hash, server.key);
    assert!(!keys[0].token_hash.contains(&server.key[9..30]));
    server.stop().await;
}
