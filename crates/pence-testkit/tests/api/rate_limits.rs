//! Rate limits per service in fixed one-second windows (reference §10).

use pence_core::ports::prelude::*;
use pence_core::service::RateLimits;
use pence_http::RateLimitConfig;
use pence_testkit::{Engine, ServerOptions, TestServer};
use serde_json::json;
use std::sync::Arc;

use crate::base;

fn limited(create: u32, get: u32) -> ServerOptions {
    ServerOptions {
        rate_limits: RateLimitConfig {
            enabled: true,
            defaults: RateLimits {
                create_payment: create,
                capture: create,
                other_post: create,
                get,
            },
        },
        ..ServerOptions::default()
    }
}

/// Sends `n` requests at once; returns (allowed, refused) after checking each 429 body.
async fn burst(server: &Arc<TestServer>, n: usize, key: &str, create: bool) -> (usize, usize) {
    let mut tasks = Vec::new();
    for _ in 0..n {
        let server = server.clone();
        let key = key.to_string();
        tasks.push(tokio::spawn(async move {
            if create {
                server.post_as(&key, "/v1/payments", &base()).await
            } else {
                server
                    .get_as(&key, "/v1/payments/unknown00000000000000000000")
                    .await
            }
        }));
    }
    let (mut ok, mut refused) = (0, 0);
    for t in tasks {
        let reply = t.await.unwrap();
        if reply.status == 429 {
            refused += 1;
            assert_eq!(
                reply.json,
                json!({"code": "P0900", "description": "Too many requests"})
            );
            assert_eq!(
                reply.header("content-type"),
                Some("application/json; charset=utf-8")
            );
        } else {
            ok += 1;
        }
    }
    (ok, refused)
}

pence_testkit::engine_tests!(over_the_limit_answers_p0900);
async fn over_the_limit_answers_p0900(engine: Engine) {
    let server = Arc::new(TestServer::start_with(engine, limited(5, 8)).await);
    // 11 creates within well under a second span at most two windows of 5: at least one
    // is refused, at most 10 pass.
    let (ok, refused) = burst(&server, 11, &server.key, true).await;
    assert!(refused >= 1 && ok <= 10, "ok {ok}, refused {refused}");
    let (ok, refused) = burst(&server, 17, &server.key, false).await;
    assert!(refused >= 1 && ok <= 16, "ok {ok}, refused {refused}");
    // Another service has its own buckets, and its own override.
    let (mut other, other_key) = server.new_service(false).await;
    other.rate_limit_post = Some(1000);
    server.store.update_service(&other, None).await.unwrap();
    let (ok, refused) = burst(&server, 11, &other_key, true).await;
    assert_eq!((ok, refused), (11, 0));
}

// `POST /v1/auth` carries no API key: GOV.UK Pay counts it under an empty account, one
// bucket for all services at the default "other POST" limit.
pence_testkit::engine_tests!(moto_api_authorisations_are_limited_too);
async fn moto_api_authorisations_are_limited_too(engine: Engine) {
    let server = Arc::new(TestServer::start_with(engine, limited(5, 8)).await);
    let mut tasks = Vec::new();
    for _ in 0..11 {
        let server = server.clone();
        tasks.push(tokio::spawn(async move {
            let body = json!({"one_time_token": "unknown", "card_number": "4444333322221111", "cvc": "123", "expiry_date": "12/30", "cardholder_name": "A"});
            server
                .send(
                    reqwest::Method::POST,
                    "/v1/auth",
                    None,
                    &[("Content-Type", "application/json")],
                    Some(body.to_string().into_bytes()),
                )
                .await
        }));
    }
    let (mut refused, mut answered) = (0, 0);
    for t in tasks {
        let reply = t.await.unwrap();
        match reply.status {
            429 => {
                refused += 1;
                assert_eq!(
                    reply.json,
                    json!({"code": "P0900", "description": "Too many requests"})
                );
            }
            400 => answered += 1,
            other => panic!("{other}: {}", reply.text),
        }
    }
    assert!(
        refused >= 1 && answered <= 10,
        "answered {answered}, refused {refused}"
    );
}

/// Three nodes on one PostgreSQL count one window between them: 45 creates spread over the
/// three (each node alone would allow 15 of them, 45 in all) get at most 15 a second through.
#[tokio::test(flavor = "multi_thread")]
async fn nodes_on_one_postgres_share_the_limit() {
    if !pence_testkit::db::postgres_configured() {
        eprintln!("skipped: PENCE_TEST_POSTGRES_URL is not set");
        return;
    }
    let server = TestServer::start_with(Engine::Postgres, limited(15, 100)).await;
    let mut nodes = vec![server.url.clone()];
    let mut others = Vec::new();
    for _ in 0..2 {
        let node = pence_node::Node::start(pence_node::Settings {
            bootstrap: false,
            sweep_every: None,
            background_delivery: false,
            rate_limits: limited(15, 100).rate_limits,
            ..pence_node::Settings::new(server.db.url.clone())
        })
        .await
        .expect("another node");
        nodes.push(node.public_url.clone());
        others.push(node);
    }
    // Start at the top of a second, so the burst most likely fits one window (and spans two
    // at most).
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_nanos(
        1_000_000_000 - u64::from(now.subsec_nanos()) + 5_000_000,
    ))
    .await;
    let http = reqwest::Client::new();
    let creates = (0..45).map(|i| {
        let (http, key, url) = (http.clone(), server.key.clone(), nodes[i % 3].clone());
        async move {
            http.post(format!("{url}/v1/payments"))
                .bearer_auth(key)
                .json(&base())
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    });
    let statuses = futures_util::future::join_all(creates).await;
    let ok = statuses.iter().filter(|s| **s == 201).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(ok + refused, 45, "{statuses:?}");
    assert!((15..=30).contains(&ok), "{ok} created: {statuses:?}");
    for node in others {
        node.stop().await;
    }
    server.stop().await;
}
