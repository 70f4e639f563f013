//! `/sandbox/v1/faults` (issue 15): a test service's requests and provider calls made to go
//! wrong on purpose: answers, delays, dropped connections, provider failures; the next N or
//! a seeded fraction; rules expire and can be removed; nobody else is touched.

use std::time::{Duration, Instant};

use pence_testkit::{Engine, Reply, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

use super::base;

async fn rule(server: &TestServer, body: Value) -> String {
    let reply = server.post("/sandbox/v1/faults", &body).await;
    assert_eq!(reply.status, 201, "{body} -> {}", reply.text);
    reply.json["id"].as_str().unwrap().to_string()
}

/// DELETEs a rule; the answer's status.
async fn remove(server: &TestServer, id: &str) -> u16 {
    let path = format!("/sandbox/v1/faults/{id}");
    server
        .send(Method::DELETE, &path, Some(&server.key), &[], None)
        .await
        .status
}

async fn create(server: &TestServer) -> Reply {
    server.post("/v1/payments", &base()).await
}

pence_testkit::engine_tests!(rules_answer_delay_drop_and_are_removed);
async fn rules_answer_delay_drop_and_are_removed(engine: Engine) {
    let server = TestServer::start(engine).await;
    let (_, other_key) = server.new_service(false).await;

    // The next create answers 503 P0999; then creates work again.
    let id = rule(
        &server,
        json!({"method": "POST", "path": "/v1/payments", "next": 1,
               "answer": {"status": 503, "code": "P0999", "description": "GOV.UK Pay is unavailable"}}),
    )
    .await;
    let refused = create(&server).await;
    assert_eq!(refused.status, 503);
    assert_eq!(
        refused.json,
        json!({"code": "P0999", "description": "GOV.UK Pay is unavailable"})
    );
    assert_eq!(create(&server).await.status, 201, "used up");
    let listed = server.get("/sandbox/v1/faults").await;
    assert_eq!(listed.json["faults"], json!([]), "{}", listed.text);
    let gone = remove(&server, &id).await;
    assert_eq!(gone, 204, "a used-up rule can still be removed");
    let again = remove(&server, &id).await;
    assert_eq!(again, 404);

    // Every GET of a payment answers 429 (GOV.UK Pay's own words by default), for this
    // service only, until the rule is removed.
    let paid = create(&server).await;
    let path = format!("/v1/payments/{}", paid.json["payment_id"].as_str().unwrap());
    let id = rule(
        &server,
        json!({"method": "get", "path": "/v1/payments/*", "answer": {"status": 429}}),
    )
    .await;
    for _ in 0..2 {
        let limited = server.get(&path).await;
        assert_eq!(limited.status, 429);
        assert_eq!(
            limited.json,
            json!({"code": "P0900", "description": "Too many requests"})
        );
    }
    let others = server.post_as(&other_key, "/v1/payments", &base()).await;
    let theirs = format!(
        "/v1/payments/{}",
        others.json["payment_id"].as_str().unwrap()
    );
    assert_eq!(
        server.get_as(&other_key, &theirs).await.status,
        200,
        "others untouched"
    );
    let listed = server.get("/sandbox/v1/faults").await;
    assert_eq!(listed.json["faults"][0]["matched"], 2, "{}", listed.text);
    let removed = remove(&server, &id).await;
    assert_eq!(removed, 204);
    assert_eq!(server.get(&path).await.status, 200);

    // A delay, then the real answer.
    rule(
        &server,
        json!({"path": "/v1/payments/*", "delay_ms": 300, "next": 1}),
    )
    .await;
    let started = Instant::now();
    assert_eq!(server.get(&path).await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));

    // A dropped connection: no answer at all.
    rule(
        &server,
        json!({"path": "*", "drop_connection": true, "next": 1}),
    )
    .await;
    let dropped = reqwest::Client::new()
        .get(format!("{}{path}", server.url))
        .bearer_auth(&server.key)
        .send()
        .await;
    let failed = match dropped {
        Err(_) => true,
        Ok(resp) => resp.bytes().await.is_err(),
    };
    assert!(failed, "the connection was answered");
    assert_eq!(server.get(&path).await.status, 200);

    // Rules expire.
    rule(
        &server,
        json!({"path": "*", "answer": {"status": 500}, "expires_in_seconds": 1}),
    )
    .await;
    assert_eq!(server.get(&path).await.status, 500);
    server.clock.advance(1_500);
    assert_eq!(server.get(&path).await.status, 200, "expired");
    server.stop().await;
}

pence_testkit::engine_tests!(a_seeded_fraction_repeats_itself);
async fn a_seeded_fraction_repeats_itself(engine: Engine) {
    let server = TestServer::start(engine).await;
    let paid = create(&server).await;
    let path = format!("/v1/payments/{}", paid.json["payment_id"].as_str().unwrap());
    let mut runs = Vec::new();
    for _ in 0..2 {
        let id = rule(
            &server,
            json!({"method": "GET", "path": "/v1/payments/*", "fraction": 0.5, "seed": 7,
                   "answer": {"status": 500, "code": "P0198", "description": "Downstream system error"}}),
        )
        .await;
        let mut run = Vec::new();
        for _ in 0..20 {
            run.push(server.get(&path).await.status);
        }
        remove(&server, &id).await;
        runs.push(run);
    }
    assert_eq!(runs[0], runs[1], "the same seed, the same failures");
    let failures = runs[0].iter().filter(|s| **s == 500).count();
    assert!(
        (3..=17).contains(&failures),
        "{failures} of 20 at 0.5: {:?}",
        runs[0]
    );
    server.stop().await;
}

pence_testkit::engine_tests!(provider_faults_fail_authorisation_capture_and_refund);
async fn provider_faults_fail_authorisation_capture_and_refund(engine: Engine) {
    let server = TestServer::start(engine).await;
    let pay = |id: String| {
        let server = &server;
        async move {
            server
                .post(
                    &format!("/sandbox/v1/payments/{id}/pay"),
                    &json!({"card_number": "4444333322221111"}),
                )
                .await
        }
    };
    let id_of = |r: &Reply| r.json["payment_id"].as_str().unwrap().to_string();

    rule(
        &server,
        json!({"provider": "authorisation_timeout", "next": 1}),
    )
    .await;
    let timed_out = pay(id_of(&create(&server).await)).await;
    assert_eq!(
        timed_out.json["state"]["code"], "P0050",
        "{}",
        timed_out.text
    );

    rule(&server, json!({"provider": "capture_failure", "next": 1})).await;
    let id = id_of(&create(&server).await);
    assert_eq!(pay(id.clone()).await.json["state"]["status"], "success");
    assert_eq!(
        server.sweep().await.captured,
        0,
        "the provider failed the capture"
    );
    assert_eq!(server.sweep().await.captured, 1, "and took the retry");

    rule(&server, json!({"provider": "refund_failure", "next": 1})).await;
    let refund = server
        .post(
            &format!("/v1/payments/{id}/refunds"),
            &json!({"amount": 100, "refund_amount_available": 1000}),
        )
        .await;
    assert_eq!(refund.status, 202, "{}", refund.text);
    assert_eq!(refund.json["status"], "error", "{}", refund.text);
    server.stop().await;
}

pence_testkit::engine_tests!(fault_rules_are_checked);
async fn fault_rules_are_checked(engine: Engine) {
    let server = TestServer::start(engine).await;
    for (body, status) in [
        (json!({"path": "/v1/payments"}), 422),
        (
            json!({"path": "/v1/payments", "answer": {"status": 200}}),
            422,
        ),
        (
            json!({"path": "/v1/payments", "delay_ms": 10, "drop_connection": true}),
            422,
        ),
        (json!({"path": "payments", "answer": {"status": 500}}), 422),
        (
            json!({"provider": "capture_failure", "path": "/v1/payments"}),
            422,
        ),
        (json!({"provider": "nothing"}), 422),
        (
            json!({"path": "*", "answer": {"status": 500}, "next": 0}),
            422,
        ),
        (
            json!({"path": "*", "answer": {"status": 500}, "fraction": 2.0}),
            422,
        ),
        (
            json!({"path": "*", "answer": {"status": 500}, "expires_in_seconds": 0}),
            422,
        ),
        (json!({"path": "*", "delay_ms": 600000}), 422),
        (json!({"path": "*", "answer": {"status": "500"}}), 400),
        (json!({"path": "*", "oops": 1}), 400),
    ] {
        let refused = server.post("/sandbox/v1/faults", &body).await;
        assert_eq!(refused.status, status, "{body} -> {}", refused.text);
    }
    assert_eq!(
        server.get("/sandbox/v1/faults").await.json["faults"],
        json!([])
    );
    let (_, live) = server.new_service(true).await;
    let refused = server
        .post_as(
            &live,
            "/sandbox/v1/faults",
            &json!({"path": "*", "answer": {"status": 500}}),
        )
        .await;
    assert_eq!(refused.status, 404);
    server.stop().await;
}

/// Two nodes on one PostgreSQL: "the next N" is counted in the database, so a rule fires N
/// times in all, whichever node the requests reach.
#[tokio::test(flavor = "multi_thread")]
async fn the_next_n_hold_across_nodes() {
    if !pence_testkit::db::postgres_configured() {
        eprintln!("skipped: PENCE_TEST_POSTGRES_URL is not set");
        return;
    }
    let server = TestServer::start(Engine::Postgres).await;
    let other = pence_node::Node::start(pence_node::Settings {
        bootstrap: false,
        sweep_every: None,
        background_delivery: false,
        rate_limits: pence_http::RateLimitConfig {
            enabled: false,
            ..Default::default()
        },
        ..pence_node::Settings::new(server.db.url.clone())
    })
    .await
    .expect("a second node");
    let paid = create(&server).await;
    let path = format!("/v1/payments/{}", paid.json["payment_id"].as_str().unwrap());
    rule(
        &server,
        json!({"method": "GET", "path": "/v1/payments/*", "next": 5, "answer": {"status": 503}}),
    )
    .await;
    let http = reqwest::Client::new();
    let calls = (0..20).map(|i| {
        let base = if i % 2 == 0 {
            server.url.clone()
        } else {
            other.public_url.clone()
        };
        let (http, key, path) = (http.clone(), server.key.clone(), path.clone());
        async move {
            http.get(format!("{base}{path}"))
                .bearer_auth(key)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    });
    let statuses = futures_util::future::join_all(calls).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 503).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 15);
    other.stop().await;
    server.stop().await;
}
