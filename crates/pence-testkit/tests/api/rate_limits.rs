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
    server.store.update_service(&other).await.unwrap();
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
