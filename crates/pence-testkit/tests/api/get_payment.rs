//! `GET /v1/payments/{paymentId}`.

use pence_testkit::{Engine, TestServer};
use serde_json::json;

use crate::base;

pence_testkit::engine_tests!(get_returns_the_payment_with_a_new_next_url_each_time);
async fn get_returns_the_payment_with_a_new_next_url_each_time(engine: Engine) {
    let server = TestServer::start(engine).await;
    let created = server.post("/v1/payments", &base()).await;
    let id = created.json["payment_id"].as_str().unwrap();
    let a = server.get(&format!("/v1/payments/{id}")).await;
    let b = server.get(&format!("/v1/payments/{id}")).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.header("pragma"), Some("no-cache"));
    assert_eq!(a.header("cache-control"), Some("no-store"));
    assert!(a.header("location").is_none());
    // Everything but the next_url token is the same as the create said.
    let strip = |v: &serde_json::Value| {
        let mut v = v.clone();
        v["_links"].as_object_mut().unwrap().remove("next_url");
        v["_links"].as_object_mut().unwrap().remove("next_url_post");
        v
    };
    assert_eq!(strip(&a.json), strip(&created.json));
    let next = |r: &pence_testkit::Reply| {
        r.json["_links"]["next_url"]["href"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_ne!(next(&a), next(&b));
    assert_ne!(next(&a), next(&created));
    assert_eq!(
        a.json["_links"]["next_url_post"]["params"]["chargeTokenId"]
            .as_str()
            .unwrap(),
        next(&a).rsplit('/').next().unwrap()
    );
    server.stop().await;
}

pence_testkit::engine_tests!(unknown_and_other_services_payments_are_not_found);
async fn unknown_and_other_services_payments_are_not_found(engine: Engine) {
    let not_found = json!({"code": "P0200", "description": "Not found"});
    let server = TestServer::start(engine).await;
    let (_, other_key) = server.new_service(false).await;
    let theirs = server.post_as(&other_key, "/v1/payments", &base()).await;
    let their_id = theirs.json["payment_id"].as_str().unwrap();
    for path in [
        format!("/v1/payments/{their_id}"),
        "/v1/payments/doesnotexist0000000000000".to_string(),
        "/v1/payments/%20%3Cscript%3E".to_string(),
        "/v1/payments/%FF".to_string(),
        format!("/v1/payments/{}", "z".repeat(300)),
    ] {
        let reply = server.get(&path).await;
        assert_eq!((reply.status, &reply.json), (404, &not_found), "{path}");
    }
    // The owner still sees it.
    assert_eq!(
        server
            .get_as(&other_key, &format!("/v1/payments/{their_id}"))
            .await
            .status,
        200
    );
    server.stop().await;
}
