//! `POST /sandbox/v1/fixtures` (issue 31): payments, refunds, disputes and agreements made at
//! once in the states asked for, each by its journey and dated on the service's clock, and
//! refused whole when no journey reaches what is asked.

use pence_core::ports::prelude::*;
use pence_testkit::{Engine, Reply, TestServer};
use serde_json::{json, Value};

const MINUTE_MS: i64 = 60_000;

fn ms(date: &Value) -> i64 {
    pence_core::timefmt::parse(date.as_str().expect("a date")).expect("a date and time")
}

async fn load(server: &TestServer, key: &str, fixture: Value) -> Reply {
    server.post_as(key, "/sandbox/v1/fixtures", &fixture).await
}

async fn payment(server: &TestServer, id: &str) -> Value {
    let got = server.get(&format!("/v1/payments/{id}")).await;
    assert_eq!(got.status, 200, "{}", got.text);
    got.json
}

/// The payment's public events: (state, code, when).
async fn events(server: &TestServer, id: &str) -> Vec<(String, Option<String>, i64)> {
    let got = server.get(&format!("/v1/payments/{id}/events")).await;
    got.json["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["state"]["status"].as_str().unwrap().to_string(),
                e["state"]["code"].as_str().map(str::to_string),
                ms(&e["updated"]),
            )
        })
        .collect()
}

async fn service_now(server: &TestServer) -> i64 {
    ms(&server.get("/sandbox/v1/clock").await.json["now"])
}

pence_testkit::engine_tests!(every_state_is_reached_by_its_journey);
async fn every_state_is_reached_by_its_journey(engine: Engine) {
    let server = TestServer::start(engine).await;
    let mut service = server.service.clone();
    service.recurring_enabled = true;
    server.store.update_service(&service, None).await.unwrap();
    let made = load(
        &server,
        &server.key,
        json!({
            "payments": [
                {"count": 3, "state": "success", "amount": 1000, "refunds": [200]},
                {"state": "capturable"},
                {"state": "expired"},
                {"state": "success", "dispute": "lost"},
                {"state": "success", "dispute": "won"},
                {"state": "success", "dispute": "under_review"},
                {"state": "success", "dispute": "needs_response"},
                {"state": "created"},
                {"state": "started"},
                {"state": "submitted"},
                {"state": "declined"},
                {"state": "user_cancelled"},
                {"state": "cancelled"},
                {"state": "error"},
                {"state": "success", "delayed_capture": true, "reference": "MY-REF",
                 "metadata": {"ledger_code": "AB1"}, "email": "payer@example.org"}
            ],
            "agreements": [
                {"state": "active", "payments": 2, "amount": 1500},
                {"state": "cancelled"},
                {"state": "created"}
            ]
        }),
    )
    .await;
    assert_eq!(made.status, 201, "{}", made.text);
    let now = service_now(&server).await;
    let made_payments = made.json["payments"].as_array().unwrap();
    assert_eq!(made_payments.len(), 17);

    // Each payment's public state and code, as GET shows it.
    let expected: [(&str, Option<&str>); 17] = [
        ("success", None),
        ("success", None),
        ("success", None),
        ("capturable", None),
        ("failed", Some("P0020")),
        ("success", None),
        ("success", None),
        ("success", None),
        ("success", None),
        ("created", None),
        ("started", None),
        ("submitted", None),
        ("failed", Some("P0010")),
        ("failed", Some("P0030")),
        ("cancelled", Some("P0040")),
        ("error", Some("P0050")),
        ("success", None),
    ];
    let mut ids = Vec::new();
    for (made, (status, code)) in made_payments.iter().zip(expected) {
        let id = made["payment_id"].as_str().unwrap().to_string();
        let p = payment(&server, &id).await;
        assert_eq!(p["state"]["status"], status, "{made}: {p}");
        assert_eq!(p["state"]["code"].as_str(), code, "{made}: {p}");
        assert_eq!(made["state"], status, "the answer says the state");
        // Nothing of a fixture happens after the service's present.
        for (_, _, at) in events(&server, &id).await {
            assert!(at <= now, "{made}: an event after the present");
        }
        ids.push(id);
    }

    // Refunded: £2 of £10, the refund succeeded, and £8 is left.
    for (i, id) in ids.iter().take(3).enumerate() {
        let p = payment(&server, id).await;
        assert_eq!(p["refund_summary"]["amount_available"], 800, "{p}");
        assert_eq!(p["refund_summary"]["amount_submitted"], 200);
        let refund_id = made_payments[i]["refund_ids"][0].as_str().unwrap();
        let refund = server
            .get(&format!("/v1/payments/{id}/refunds/{refund_id}"))
            .await;
        assert_eq!(refund.json["status"], "success", "{}", refund.text);
        assert_eq!(refund.json["amount"], 200);
        // Captured before it was refunded.
        let captured = ms(&p["settlement_summary"]["capture_submit_time"]);
        assert!(captured < ms(&refund.json["created_date"]));
    }

    // Expired 90 minutes after it was made, as the sweep expires one.
    let expired = events(&server, &ids[4]).await;
    let (first, last) = (expired[0].2, expired.last().unwrap().2);
    assert!(last - first >= 90 * MINUTE_MS, "{expired:?}");

    // Disputes at each stage, with their history a day and more long for decided ones.
    let disputes = server.get("/v1/disputes?display_size=50").await;
    assert_eq!(disputes.status, 200, "{}", disputes.text);
    for (i, status) in [
        (5, "lost"),
        (6, "won"),
        (7, "under_review"),
        (8, "needs_response"),
    ] {
        let dispute_id = made_payments[i]["dispute_id"].as_str().unwrap();
        let d = disputes.json["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["dispute_id"] == dispute_id)
            .unwrap_or_else(|| panic!("{dispute_id} listed: {}", disputes.text));
        assert_eq!(d["status"], status, "{d}");
        assert_eq!(d["payment_id"], ids[i].as_str());
        let p = payment(&server, &ids[i]).await;
        assert_eq!(
            p["refund_summary"]["status"], "unavailable",
            "disputed: {p}"
        );
        let captured = ms(&p["settlement_summary"]["capture_submit_time"]);
        assert!(ms(&d["created_date"]) > captured);
        if status == "lost" || status == "won" {
            assert!(now - captured > 24 * 60 * MINUTE_MS, "{p}");
            assert!(p["settlement_summary"]["settled_date"].is_string(), "{p}");
        }
        if status == "lost" {
            assert_eq!(d["net_amount"], -(1000 + 2000), "{d}");
        }
    }

    // The delayed-capture one was captured at the service's request, with what it was given.
    let delayed = payment(&server, &ids[16]).await;
    assert_eq!(delayed["delayed_capture"], true);
    assert_eq!(delayed["reference"], "MY-REF");
    assert_eq!(delayed["metadata"], json!({"ledger_code": "AB1"}));
    assert_eq!(delayed["email"], "payer@example.org");
    let states: Vec<String> = events(&server, &ids[16])
        .await
        .into_iter()
        .map(|e| e.0)
        .collect();
    assert_eq!(
        states,
        ["created", "started", "submitted", "capturable", "success"]
    );

    // Agreements: active with its set-up payment and two paid payments; cancelled; created.
    let agreements = made.json["agreements"].as_array().unwrap();
    let expected = [("active", 3), ("cancelled", 1), ("created", 0)];
    for (made, (status, payments)) in agreements.iter().zip(expected) {
        let id = made["agreement_id"].as_str().unwrap();
        let got = server.get(&format!("/v1/agreements/{id}")).await;
        assert_eq!(got.json["status"], status, "{}", got.text);
        let taken = made["payment_ids"].as_array().map_or(0, Vec::len);
        assert_eq!(taken, payments, "{made}");
        if status != "created" {
            assert_eq!(
                got.json["payment_instrument"]["card_details"]["last_digits_card_number"],
                "1111"
            );
        }
        for p in made["payment_ids"].as_array().into_iter().flatten() {
            let p = payment(&server, p.as_str().unwrap()).await;
            assert_eq!(p["state"]["status"], "success", "{p}");
            assert_eq!(p["agreement_id"], id);
        }
    }
    let recurring = payment(&server, agreements[0]["payment_ids"][1].as_str().unwrap()).await;
    assert_eq!(recurring["authorisation_mode"], "agreement");
    assert_eq!(recurring["amount"], 1500);

    // The search finds them all (17 + 4 agreements' payments).
    let all = server.get("/v1/payments?display_size=100").await;
    assert_eq!(all.json["total"], 21, "{}", all.text);

    // The sweeps are the service's again: a payment left now expires when its time comes.
    let left = server.post("/v1/payments", &super::base()).await.json["payment_id"]
        .as_str()
        .unwrap()
        .to_string();
    server.clock.advance(91 * MINUTE_MS);
    server.sweep().await;
    assert_eq!(payment(&server, &left).await["state"]["code"], "P0020");
    server.stop().await;
}

pence_testkit::engine_tests!(a_fixture_payment_is_what_the_paying_user_leaves);
/// A successful fixture payment reads as one paid by the sandbox's paying user and captured by
/// the sweep: the same fields, but for its id and times.
async fn a_fixture_payment_is_what_the_paying_user_leaves(engine: Engine) {
    let server = TestServer::start(engine).await;
    let body = json!({"amount": 2500, "reference": "SAME", "description": "Fixture payment",
        "return_url": "https://service.example/return"});
    let paid = server.post("/v1/payments", &body).await;
    let id = paid.json["payment_id"].as_str().unwrap().to_string();
    let done = server
        .post(
            &format!("/sandbox/v1/payments/{id}/pay"),
            &json!({"card_number": "4444333322221111"}),
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.text);
    server.sweep().await;
    let made = load(
        &server,
        &server.key,
        json!({"payments": [{"state": "success", "amount": 2500, "reference": "SAME"}]}),
    )
    .await;
    assert_eq!(made.status, 201, "{}", made.text);
    let fixture_id = made.json["payments"][0]["payment_id"].as_str().unwrap();
    let without_names = |mut p: Value| {
        let o = p.as_object_mut().unwrap();
        for k in [
            "payment_id",
            "created_date",
            "_links",
            "provider_id",
            "settlement_summary",
        ] {
            o.remove(k);
        }
        p
    };
    assert_eq!(
        without_names(payment(&server, fixture_id).await),
        without_names(payment(&server, &id).await)
    );
    let kinds = |e: Vec<(String, Option<String>, i64)>| {
        e.into_iter().map(|(s, c, _)| (s, c)).collect::<Vec<_>>()
    };
    assert_eq!(
        kinds(events(&server, fixture_id).await),
        kinds(events(&server, &id).await)
    );
    server.stop().await;
}

pence_testkit::engine_tests!(what_no_journey_reaches_is_refused_and_nothing_is_made);
async fn what_no_journey_reaches_is_refused_and_nothing_is_made(engine: Engine) {
    let server = TestServer::start(engine).await;
    let refused = [
        (
            json!({"payments": [{"state": "flying"}]}),
            400,
            "unknown variant",
        ),
        (
            json!({"payments": [{"count": 2}]}),
            400,
            "missing field `state`",
        ),
        (json!({"payment": []}), 400, "unknown field `payment`"),
        (json!({}), 422, "the fixture makes nothing"),
        (
            json!({"payments": [{"state": "created", "count": 0}]}),
            422,
            "payments[0].count must be at least 1",
        ),
        (
            json!({"payments": [{"state": "success"}, {"state": "created", "refunds": [100]}]}),
            422,
            "payments[1]: only a successful payment has refunds",
        ),
        (
            json!({"payments": [{"state": "success", "refunds": [600, 600]}]}),
            422,
            "payments[0].refunds: together more than the payment's amount",
        ),
        (
            json!({"payments": [{"state": "declined", "dispute": "lost"}]}),
            422,
            "payments[0]: only a successful payment is disputed",
        ),
        (
            json!({"payments": [{"state": "success", "dispute": "lost", "refunds": [1]}]}),
            422,
            "a disputed payment cannot be refunded",
        ),
        (
            json!({"payments": [{"state": "created", "count": 20001}]}),
            422,
            "at most 20000 payments",
        ),
        (
            json!({"payments": [{"state": "created", "amount": 10000001}]}),
            422,
            "payments[0].amount",
        ),
        (
            json!({"payments": [{"state": "created", "reference": "x".repeat(256)}]}),
            422,
            "payments[0].reference",
        ),
        (
            json!({"agreements": [{"payments": 1}]}),
            422,
            "agreements[0]: the service does not take recurring card payments",
        ),
    ];
    for (fixture, status, words) in refused {
        let reply = load(&server, &server.key, fixture.clone()).await;
        assert_eq!(reply.status, status, "{fixture}: {}", reply.text);
        let description = reply.json["description"].as_str().unwrap();
        assert!(description.contains(words), "{fixture}: {description}");
    }
    let all = server.get("/v1/payments").await;
    assert_eq!(all.json["total"], 0, "nothing made: {}", all.text);
    // A live service has no fixtures.
    let (_, live) = server.new_service(true).await;
    let reply = load(&server, &live, json!({"payments": [{"state": "created"}]})).await;
    assert_eq!(reply.status, 404, "{}", reply.text);
    server.stop().await;
}
