//! `GET /v1/refunds`: the service's refunds, newest first, validation (P1101), pages (P1100).

use pence_testkit::{Engine, TestServer};
use serde_json::json;

use super::captured_payment;

pence_testkit::engine_tests!(refunds_are_searched_newest_first_a_page_at_a_time);
async fn refunds_are_searched_newest_first_a_page_at_a_time(engine: Engine) {
    let server = TestServer::start(engine).await;
    let mut refund_ids = Vec::new();
    for amount in [100, 200, 300] {
        let id = captured_payment(&server, 1000).await;
        let r = server
            .post(
                &format!("/v1/payments/{id}/refunds"),
                &json!({"amount": amount}),
            )
            .await;
        assert_eq!(r.status, 202, "{}", r.text);
        refund_ids.push((r.json["refund_id"].as_str().unwrap().to_string(), id));
        // Distinct creation times, so the order is certain.
        server.clock.advance(10);
    }
    // Another service's refund is never seen.
    let (_, other_key) = server.new_service(false).await;
    let other = server.get_as(&other_key, "/v1/refunds").await;
    assert_eq!(other.json["total"], 0);
    assert_eq!(other.json["results"], json!([]));

    let all = server.get("/v1/refunds").await;
    assert_eq!(all.status, 200, "{}", all.text);
    assert_eq!(all.header("cache-control"), Some("no-store"));
    assert_eq!(
        (all.json["total"].clone(), all.json["count"].clone()),
        (json!(3), json!(3))
    );
    let newest = &all.json["results"][0];
    assert_eq!(newest["refund_id"], refund_ids[2].0.as_str());
    assert_eq!(newest["payment_id"], refund_ids[2].1.as_str());
    assert_eq!(newest["amount"], 300);
    assert_eq!(newest["status"], "success");
    assert!(newest["_links"]["payment"]["href"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/v1/payments/{}", refund_ids[2].1)));

    let page2 = server.get("/v1/refunds?display_size=2&page=2").await;
    assert_eq!(page2.json["count"], 1);
    assert_eq!(
        page2.json["results"][0]["refund_id"],
        refund_ids[0].0.as_str()
    );
    let links = &page2.json["_links"];
    assert!(links["prev_page"]["href"]
        .as_str()
        .unwrap()
        .contains("page=1"));
    assert!(links.get("next_page").is_none());
    assert!(links["last_page"]["href"]
        .as_str()
        .unwrap()
        .contains("page=2"));

    let past = server.get("/v1/refunds?display_size=2&page=3").await;
    assert_eq!(past.status, 404);
    assert_eq!(past.json["code"], "P1100");
    assert_eq!(past.json["description"], "Page not found");

    let bad = server
        .get("/v1/refunds?to_settled_date=2020-13-01&page=0&from_date=yesterday")
        .await;
    assert_eq!(bad.status, 422);
    assert_eq!(bad.json["code"], "P1101");
    assert_eq!(
        bad.json["description"],
        "Invalid parameters: from_date, page, to_settled_date. See Public API documentation for the correct data formats"
    );

    // Creation dates are exclusive; sandbox refunds are never paid out.
    let since = server
        .get("/v1/refunds?from_date=2000-01-01T00:00:00Z")
        .await;
    assert_eq!(since.json["total"], 3);
    let none = server
        .get("/v1/refunds?from_date=2099-01-01T00:00:00Z")
        .await;
    assert_eq!(none.json["total"], 0);
    let settled = server.get("/v1/refunds?from_settled_date=2000-01-01").await;
    assert_eq!(settled.json["total"], 0);
    server.stop().await;
}
