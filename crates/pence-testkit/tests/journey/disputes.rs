//! Beyond GOV.UK Pay's sandbox: disputes. Payments made with 4000000000000259 are disputed
//! (and lost), with 4000000000002685 disputed (and won), a minute after capture; the
//! lifecycle runs on the Clock. `GET /v1/disputes` and the refund refusal of §5.2.

use pence_core::clock::Clock;
use pence_core::ports::prelude::*;
use pence_testkit::{Engine, ServiceSite, TestServer};
use serde_json::{json, Value};

use super::http::paid_with;
use super::payment;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

async fn disputes(server: &TestServer, query: &str) -> Value {
    let reply = server.get(&format!("/v1/disputes{query}")).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json
}

/// The only dispute the service has.
async fn the_dispute(server: &TestServer) -> Value {
    let page = disputes(server, "").await;
    assert_eq!(page["total"], 1, "{page}");
    page["results"][0].clone()
}

fn date_of(ms: i64) -> String {
    pence_core::timefmt::date(ms)
}

/// `value` is a GOV.UK Pay date-time between `from` and `to` (the strings sort as times do).
fn within(value: &Value, from: i64, to: i64) {
    let v = value.as_str().expect("a date-time");
    let (from, to) = (
        pence_core::timefmt::date_time(from),
        pence_core::timefmt::date_time(to),
    );
    assert!(
        from.as_str() <= v && v <= to.as_str(),
        "{v} not in {from}..{to}"
    );
}

pence_testkit::engine_tests!(a_disputed_payment_is_lost_on_the_clock);
async fn a_disputed_payment_is_lost_on_the_clock(engine: Engine) {
    let server = TestServer::start(engine).await;
    let site = ServiceSite::start().await;
    let id = paid_with(&server, &site, "4000000000000259").await;
    let paid = payment(&server, &id).await;
    assert_eq!(paid["refund_summary"]["status"], "available");
    assert_eq!(
        disputes(&server, "").await["total"],
        0,
        "not before a minute"
    );

    server.clock.advance(MINUTE);
    let before = server.clock.now_ms();
    assert_eq!(server.sweep().await.disputes, 1);
    let after = server.clock.now_ms();
    assert_eq!(server.sweep().await.disputes, 0, "raised once");
    let d = the_dispute(&server).await;
    assert_eq!(d["payment_id"], id.as_str());
    assert_eq!(d["status"], "needs_response");
    assert_eq!(d["amount"], 14500);
    assert_eq!(d["fee"], 2000);
    assert_eq!(d["reason"], "fraudulent");
    assert_eq!(d["dispute_id"].as_str().unwrap().len(), 26);
    within(&d["created_date"], before, after);
    within(&d["evidence_due_date"], before + 7 * DAY, after + 7 * DAY);
    assert!(d.get("net_amount").is_none() && d.get("settlement_summary").is_none());
    assert_eq!(
        d["_links"]["payment"],
        json!({"href": format!("{}/v1/payments/{id}", server.url), "method": "GET"})
    );

    // Disputed: no refund, with §5.2's words.
    let summary = &payment(&server, &id).await["refund_summary"];
    assert_eq!(summary["status"], "unavailable");
    let refused = server
        .post(
            &format!("/v1/payments/{id}/refunds"),
            &json!({"amount": 100}),
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    assert_eq!(
        refused.json,
        json!({"code": "P0603", "description": "The payment is disputed and cannot be refunded"})
    );

    server.clock.advance(HOUR);
    assert_eq!(server.sweep().await.disputes, 1);
    assert_eq!(the_dispute(&server).await["status"], "under_review");

    server.clock.advance(DAY - MINUTE);
    assert_eq!(server.sweep().await.disputes, 0, "not decided yet");
    server.clock.advance(MINUTE);
    let before = server.clock.now_ms();
    assert_eq!(server.sweep().await.disputes, 1);
    let after = server.clock.now_ms();
    let d = the_dispute(&server).await;
    assert_eq!(d["status"], "lost");
    assert_eq!(d["net_amount"], -16500);
    let settled = d["settlement_summary"]["settled_date"].as_str().unwrap();
    assert!(
        settled == date_of(before) || settled == date_of(after),
        "{d}"
    );
    assert_eq!(d["settlement_summary"].as_object().unwrap().len(), 1);
    server.clock.advance(30 * DAY);
    assert_eq!(server.sweep().await.disputes, 0, "lost is final");
    assert_eq!(the_dispute(&server).await["status"], "lost");
    assert_eq!(
        payment(&server, &id).await["state"]["status"],
        "success",
        "the payment itself stays a success"
    );
    server.stop().await;
}

pence_testkit::engine_tests!(the_other_dispute_card_wins_and_other_cards_are_never_disputed);
async fn the_other_dispute_card_wins_and_other_cards_are_never_disputed(engine: Engine) {
    let server = TestServer::start(engine).await;
    let site = ServiceSite::start().await;
    let won = paid_with(&server, &site, "4000000000002685").await;
    let plain = paid_with(&server, &site, "4242424242424242").await;
    server.clock.advance(MINUTE);
    server.sweep().await;
    server.clock.advance(HOUR);
    server.sweep().await;
    server.clock.advance(DAY);
    server.sweep().await;
    let d = the_dispute(&server).await;
    assert_eq!(d["payment_id"], won.as_str());
    assert_eq!(d["status"], "won");
    assert!(d.get("net_amount").is_none() && d.get("settlement_summary").is_none());
    assert_eq!(
        payment(&server, &won).await["refund_summary"]["status"],
        "unavailable"
    );
    assert_eq!(
        payment(&server, &plain).await["refund_summary"]["status"],
        "available"
    );
    server.stop().await;
}

pence_testkit::engine_tests!(search_disputes);
/// Filters, newest first, pagination `links`, P0402, P0401 and another service's view.
async fn search_disputes(engine: Engine) {
    let server = TestServer::start(engine).await;
    let site = ServiceSite::start().await;
    // Three disputes raised a minute apart: two to be lost, one won.
    let mut ids = Vec::new();
    for card in ["4000000000000259", "4000000000002685", "4000000000000259"] {
        ids.push(paid_with(&server, &site, card).await);
        server.clock.advance(MINUTE);
        assert_eq!(server.sweep().await.disputes, 1);
    }
    let all = disputes(&server, "").await;
    let results = all["results"].as_array().unwrap();
    let order: Vec<&str> = results
        .iter()
        .map(|d| d["payment_id"].as_str().unwrap())
        .collect();
    assert_eq!(order, [&ids[2], &ids[1], &ids[0]], "newest first");
    let created: Vec<&str> = results
        .iter()
        .map(|d| d["created_date"].as_str().unwrap())
        .collect();

    let count = |page: &Value| page["total"].as_u64().unwrap();
    assert_eq!(count(&disputes(&server, "?status=needs_response").await), 3);
    assert_eq!(count(&disputes(&server, "?status=under_review").await), 0);
    // Creation dates are exclusive at both ends, like the other searches.
    let window = format!("?from_date={}&to_date={}", created[2], created[0]);
    let between = disputes(&server, &window).await;
    assert_eq!(count(&between), 1, "{between}");
    assert_eq!(between["results"][0]["payment_id"], ids[1].as_str());

    server.clock.advance(HOUR);
    assert_eq!(server.sweep().await.disputes, 3);
    assert_eq!(count(&disputes(&server, "?status=under_review").await), 3);
    assert_eq!(count(&disputes(&server, "?status=lost").await), 0);

    // Decided: the two lost are settled today, and found by settlement date.
    server.clock.advance(DAY);
    assert_eq!(server.sweep().await.disputes, 3);
    let today = date_of(server.clock.now_ms());
    let settled = disputes(&server, &format!("?from_settled_date={today}")).await;
    assert_eq!(count(&settled), 2, "{settled}");
    let none = disputes(&server, &format!("?to_settled_date={today}")).await;
    assert_eq!(count(&none), 0, "to_settled_date is exclusive");
    assert_eq!(count(&disputes(&server, "?status=won").await), 1);
    assert_eq!(count(&disputes(&server, "?status=lost").await), 2);

    // Pages of one: links named `links`, with the filter kept.
    let page = disputes(&server, "?status=lost&display_size=1&page=2").await;
    assert_eq!(
        (page["count"].as_u64(), page["page"].as_u64()),
        (Some(1), Some(2))
    );
    let base = format!("{}/v1/disputes?status=lost", server.url);
    assert_eq!(
        page["links"],
        json!({
            "self": {"href": format!("{base}&page=2&display_size=1")},
            "first_page": {"href": format!("{base}&page=1&display_size=1")},
            "last_page": {"href": format!("{base}&page=2&display_size=1")},
            "prev_page": {"href": format!("{base}&page=1&display_size=1")},
        })
    );
    let past = server
        .get("/v1/disputes?status=lost&display_size=1&page=3")
        .await;
    assert_eq!(past.status, 404);
    assert_eq!(
        past.json,
        json!({"code": "P0402", "description": "Page not found"})
    );

    let bad = server
        .get("/v1/disputes?display_size=0&status=open&to_date=x&from_settled_date=2022-02-30")
        .await;
    assert_eq!(bad.status, 422, "{}", bad.text);
    assert_eq!(
        bad.json,
        json!({"code": "P0401", "description": "Invalid parameters: to_date, from_settled_date, status, display_size. See Public API documentation for the correct data formats"})
    );

    let (_, other_key) = server.new_service(false).await;
    let theirs = server.get_as(&other_key, "/v1/disputes").await;
    assert_eq!(theirs.json["total"], 0, "another service sees none");
    server.stop().await;
}

pence_testkit::engine_tests!(refunds_racing_a_dispute);
/// Refunds racing the dispute: each refund is either taken before the dispute is raised or
/// refused as disputed, never after; the dispute is raised exactly once whatever the races.
/// Rounds start the sweeps at different moments among the refunds.
async fn refunds_racing_a_dispute(engine: Engine) {
    let server = TestServer::start(engine).await;
    let site = ServiceSite::start().await;
    let (mut taken_total, mut refused_total) = (0, 0);
    for delay_ms in [0, 1, 2, 3, 4, 5, 6, 8, 10, 12] {
        let id = paid_with(&server, &site, "4000000000000259").await;
        server.clock.advance(MINUTE);
        let path = format!("/v1/payments/{id}/refunds");
        let body = json!({"amount": 100});
        let refunds = (0..20).map(|_| server.post(&path, &body));
        let sweeps = async {
            tokio::time::sleep(std::time::Duration::from_millis(delay_ms)).await;
            futures_util::future::join_all((0..3).map(|_| server.sweep())).await
        };
        let (replies, _) = tokio::join!(futures_util::future::join_all(refunds), sweeps);
        // Sweeps that lost a race to a refund try again next round.
        while server.sweep().await.disputes > 0 {}
        let mut taken = 0;
        for r in &replies {
            match r.status {
                202 => taken += 1,
                400 => assert_eq!(
                    r.json["description"],
                    "The payment is disputed and cannot be refunded"
                ),
                other => panic!("{other}: {}", r.text),
            }
        }
        taken_total += taken;
        refused_total += replies.len() - taken;
        let refunds = server.get(&path).await;
        let rows = refunds.json["_embedded"]["refunds"].as_array().unwrap();
        assert_eq!(
            rows.len(),
            taken,
            "every accepted refund is stored, no other"
        );
        let summary = &payment(&server, &id).await["refund_summary"];
        assert_eq!(summary["amount_submitted"], 100 * taken as i64);
        assert_eq!(summary["status"], "unavailable");
        // The ledger, in commit order: no refund after the dispute.
        let ledger: Vec<String> = server
            .store
            .payment_events(&server.service.id, &id)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind.as_str().to_string())
            .collect();
        let raised = ledger.iter().position(|e| e == "DISPUTE_CREATED").unwrap();
        assert!(
            !ledger[raised..]
                .iter()
                .any(|e| e.starts_with("REFUND_CREATED")),
            "{ledger:?}"
        );
        assert_eq!(ledger.iter().filter(|e| *e == "DISPUTE_CREATED").count(), 1);
    }
    eprintln!("{engine:?}: {taken_total} refunds taken, {refused_total} refused as disputed");
    let all = disputes(&server, "").await;
    assert_eq!(all["total"], 10);
    server.stop().await;
}
