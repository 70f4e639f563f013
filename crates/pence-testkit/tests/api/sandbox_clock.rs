//! `/sandbox/v1/clock` (issue 15): each test service's own time. Everything that happens to a
//! service's payments over time follows its clock, and moving it runs the service's sweeps
//! before the call returns; other services keep theirs.

use pence_testkit::{Engine, Reply, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

use super::base;

const MINUTE: i64 = 60;
const DAY: i64 = 24 * 60 * MINUTE;

async fn create_as(server: &TestServer, key: &str) -> Value {
    let reply = server.post_as(key, "/v1/payments", &base()).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.json
}

async fn advance(server: &TestServer, key: &str, body: Value) -> Reply {
    server.post_as(key, "/sandbox/v1/clock", &body).await
}

fn ms(date: &Value) -> i64 {
    pence_core::timefmt::parse(date.as_str().expect("a date")).expect("a date and time")
}

/// When the payment's latest event happened.
async fn last_event_ms(server: &TestServer, key: &str, id: &str) -> i64 {
    let events = server
        .get_as(key, &format!("/v1/payments/{id}/events"))
        .await;
    ms(&events.json["events"].as_array().unwrap().last().unwrap()["updated"])
}

pence_testkit::engine_tests!(each_test_service_has_its_own_clock);
async fn each_test_service_has_its_own_clock(engine: Engine) {
    let server = TestServer::start(engine).await;
    let a = server.key.clone();
    let (_, b) = server.new_service(false).await;
    let at_a = create_as(&server, &a).await;
    let at_b = create_as(&server, &b).await;
    let (id_a, id_b) = (
        at_a["payment_id"].as_str().unwrap(),
        at_b["payment_id"].as_str().unwrap(),
    );

    let clock = server.get_as(&a, "/sandbox/v1/clock").await;
    assert_eq!(clock.status, 200, "{}", clock.text);
    assert_eq!(clock.json["offset_ms"], 0);

    // 91 minutes on for A: its payment expires as the call returns; B's does not.
    let moved = advance(&server, &a, json!({"advance_seconds": 91 * MINUTE})).await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    assert_eq!(moved.json["offset_ms"], 91 * MINUTE * 1000);
    assert_eq!(moved.json["swept"]["expired"], 1);
    let got_a = server.get_as(&a, &format!("/v1/payments/{id_a}")).await;
    assert_eq!(got_a.json["state"]["code"], "P0020");
    let got_b = server.get_as(&b, &format!("/v1/payments/{id_b}")).await;
    assert_eq!(got_b.json["state"]["status"], "created");
    assert_eq!(
        server.get_as(&b, "/sandbox/v1/clock").await.json["offset_ms"],
        0
    );

    // A's new payments, and their events, are dated by A's clock.
    let later = create_as(&server, &a).await;
    let shown = ms(&server.get_as(&a, "/sandbox/v1/clock").await.json["now"]);
    let created = ms(&later["created_date"]);
    assert!(created > ms(&at_a["created_date"]) + 90 * MINUTE * 1000);
    assert!(created <= shown, "{created} after the clock's {shown}");
    assert!(
        last_event_ms(&server, &a, id_a).await >= ms(&at_a["created_date"]) + 90 * MINUTE * 1000
    );

    // Paid, then a day on: captured and paid out, seen when the move returns.
    let id = later["payment_id"].as_str().unwrap();
    let paid = server
        .post_as(
            &a,
            &format!("/sandbox/v1/payments/{id}/pay"),
            &json!({"card_number": "4444333322221111"}),
        )
        .await;
    assert_eq!(paid.json["state"]["status"], "success", "{}", paid.text);
    assert_eq!(server.sweep().await.captured, 1, "captured on A's clock");
    let to = shown + (DAY + MINUTE) * 1000;
    let moved = advance(
        &server,
        &a,
        json!({"now": pence_core::timefmt::date_time(to)}),
    )
    .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    assert!(
        moved.json["swept"]["settled"].as_u64().unwrap() >= 1,
        "{}",
        moved.text
    );
    let settled = server.get_as(&a, &format!("/v1/payments/{id}")).await;
    assert!(
        settled.json["settlement_summary"]["settled_date"].is_string(),
        "{}",
        settled.text
    );

    // The background sweeps keep each service on its own clock too.
    let waiting_a = create_as(&server, &a).await;
    let waiting_b = create_as(&server, &b).await;
    server.clock.advance(91 * MINUTE * 1000);
    server.sweep().await;
    for (key, p) in [(&a, &waiting_a), (&b, &waiting_b)] {
        let id = p["payment_id"].as_str().unwrap();
        let got = server.get_as(key, &format!("/v1/payments/{id}")).await;
        assert_eq!(got.json["state"]["code"], "P0020", "{}", got.text);
        assert!(
            last_event_ms(&server, key, id).await >= ms(&p["created_date"]) + 90 * MINUTE * 1000
        );
    }

    // Back to real time.
    let reset = server
        .send(Method::DELETE, "/sandbox/v1/clock", Some(&a), &[], None)
        .await;
    assert_eq!(reset.status, 200, "{}", reset.text);
    assert_eq!(reset.json["offset_ms"], 0);
    server.stop().await;
}

pence_testkit::engine_tests!(clock_moves_are_checked);
async fn clock_moves_are_checked(engine: Engine) {
    let server = TestServer::start(engine).await;
    let key = server.key.clone();
    let backwards = advance(&server, &key, json!({"advance_seconds": -1})).await;
    assert_eq!(backwards.status, 422, "{}", backwards.text);
    assert_eq!(backwards.json["code"], "S0422");
    let past = advance(&server, &key, json!({"now": "2020-01-01T00:00:00Z"})).await;
    assert_eq!(past.status, 422);
    // Past the dates the API can write: refused, not saturated (new payments were once
    // dated 1970-01-01 after this).
    for too_far in [
        json!({"advance_seconds": i64::MAX}),
        json!({"advance_seconds": 300_000_000_000i64}),
        json!({"now": "9999-06-01T00:00:00Z"}),
    ] {
        let refused = advance(&server, &key, too_far.clone()).await;
        assert_eq!(
            (refused.status, &refused.json),
            (
                422,
                &json!({"code": "S0422", "description": "The clock cannot move past 9999-01-01T00:00:00Z"})
            ),
            "{too_far}"
        );
    }
    let created = server.post("/v1/payments", &base()).await;
    assert!(
        created.json["created_date"]
            .as_str()
            .unwrap()
            .starts_with("20"),
        "{}",
        created.text
    );
    for bad in [
        json!({}),
        json!({"advance_seconds": 60, "now": "2030-01-01T00:00:00Z"}),
        json!({"advance_seconds": "60"}),
        json!({"now": "tomorrow"}),
        json!({"seconds": 60}),
    ] {
        let refused = advance(&server, &key, bad.clone()).await;
        assert_eq!(refused.status, 400, "{bad} -> {}", refused.text);
        assert_eq!(refused.json["code"], "S0400");
    }
    let clock = server.get("/sandbox/v1/clock").await;
    assert_eq!(clock.json["offset_ms"], 0, "nothing moved");

    let (_, live) = server.new_service(true).await;
    let refused = server.get_as(&live, "/sandbox/v1/clock").await;
    assert_eq!(refused.status, 404);
    let refused = advance(&server, &live, json!({"advance_seconds": 60})).await;
    assert_eq!(refused.status, 404);
    server.stop().await;
}

/// Two nodes on one PostgreSQL: a clock moved through one is the clock of the other, which
/// reads it with the service's key (here uncached, `auth_cache_ms` 0: a cached key is read
/// again within that time, a second by default).
#[tokio::test]
async fn two_nodes_agree_on_a_service_clock() {
    if !pence_testkit::db::postgres_configured() {
        eprintln!("skipped: PENCE_TEST_POSTGRES_URL is not set");
        return;
    }
    let server = TestServer::start(Engine::Postgres).await;
    let other = pence_node::Node::start(pence_node::Settings {
        auth_cache_ms: 0,
        bootstrap: false,
        sweep_every: None,
        background_delivery: false,
        ..pence_node::Settings::new(server.db.url.clone())
    })
    .await
    .expect("a second node");
    let http = reqwest::Client::new();
    let on_other = |method: Method, path: &str| {
        http.request(method, format!("{}{path}", other.public_url))
            .bearer_auth(&server.key)
    };
    let read = on_other(Method::GET, "/sandbox/v1/clock")
        .send()
        .await
        .unwrap();
    let before: Value = read.json().await.unwrap();
    assert_eq!(before["offset_ms"], 0);

    let moved = advance(&server, &server.key, json!({"advance_seconds": DAY})).await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    let read: Value = on_other(Method::GET, "/sandbox/v1/clock")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(read["offset_ms"], DAY * 1000);
    let created: Value = on_other(Method::POST, "/v1/payments")
        .json(&base())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(ms(&created["created_date"]) >= ms(&before["now"]) + DAY * 1000);
    other.stop().await;
    server.stop().await;
}
