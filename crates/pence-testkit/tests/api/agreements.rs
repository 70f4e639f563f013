//! Agreements for recurring payments (reference §7): every rule of the create body in GOV.UK
//! Pay's order, the service switch, get, search and cancel with their codes, per service.

use pence_core::ports::prelude::*;
use pence_testkit::{Engine, TestServer};
use serde_json::{json, Value};

async fn recurring_server(engine: Engine) -> TestServer {
    let server = TestServer::start(engine).await;
    let mut service = server.service.clone();
    service.recurring_enabled = true;
    server.store.update_service(&service, None).await.unwrap();
    server
}

fn body() -> Value {
    json!({"reference": "CT-22-23-0001", "description": "Council tax subscription", "user_identifier": "user-1"})
}

fn with(field: &str, value: Value) -> Value {
    let mut b = body();
    b[field] = value;
    b
}

fn without(field: &str) -> Value {
    let mut b = body();
    b.as_object_mut().unwrap().remove(field);
    b
}

pence_testkit::engine_tests!(create_rules_in_order);
async fn create_rules_in_order(engine: Engine) {
    let server = recurring_server(engine).await;
    let missing = |f: &str| {
        (
            400,
            json!({"field": f, "code": "P2101", "description": format!("Missing mandatory attribute: {f}")}),
        )
    };
    let format = |f: &str, m: &str| {
        (
            400,
            json!({"field": f, "code": "P2102", "description": format!("Invalid attribute value: {f}. {m}")}),
        )
    };
    let too_long = |f: &str| {
        (
            422,
            json!({"field": f, "code": "P0102", "description": format!("Invalid attribute value: {f}. Must be less than or equal to 255 characters length")}),
        )
    };
    let cases: Vec<(Value, (u16, Value))> = vec![
        (without("reference"), missing("reference")),
        (with("reference", Value::Null), missing("reference")),
        (with("reference", json!("")), missing("reference")),
        (with("reference", json!("   ")), missing("reference")),
        (
            with("reference", json!(12)),
            format("reference", "Must be a valid string format"),
        ),
        (
            with("reference", json!("a|b")),
            format("reference", "Must be a valid string format"),
        ),
        (without("description"), missing("description")),
        (
            with("description", json!(["x"])),
            format("description", "Must be a valid string format"),
        ),
        (
            with("description", json!("<script>")),
            format("description", "Must be a valid string format"),
        ),
        (
            with("user_identifier", json!(5)),
            format("user_identifier", "Field must be a string"),
        ),
        (
            with("reference", json!("r".repeat(256))),
            too_long("reference"),
        ),
        (
            with("description", json!("d".repeat(256))),
            too_long("description"),
        ),
        (
            with("user_identifier", json!("u".repeat(256))),
            too_long("user_identifier"),
        ),
        // GOV.UK Pay's quirk: an empty user_identifier is "too long".
        (
            with("user_identifier", json!("")),
            too_long("user_identifier"),
        ),
    ];
    for (body, (status, expected)) in cases {
        let reply = server.post("/v1/agreements", &body).await;
        assert_eq!((reply.status, &reply.json), (status, &expected), "{body}");
    }
    let unparseable = server
        .send(
            reqwest::Method::POST,
            "/v1/agreements",
            Some(&server.key),
            &[("Content-Type", "application/json")],
            Some(b"{nope".to_vec()),
        )
        .await;
    assert_eq!(
        (unparseable.status, &unparseable.json),
        (
            400,
            &json!({"code": "P2197", "description": "Unable to parse JSON"})
        )
    );
    // The longest allowed values are fine, and no user_identifier is fine.
    let longest = json!({"reference": "r".repeat(255), "description": "d".repeat(255)});
    assert_eq!(server.post("/v1/agreements", &longest).await.status, 201);
    server.stop().await;
}

pence_testkit::engine_tests!(recurring_must_be_enabled);
async fn recurring_must_be_enabled(engine: Engine) {
    let server = TestServer::start(engine).await;
    let reply = server.post("/v1/agreements", &body()).await;
    assert_eq!(reply.status, 422);
    assert_eq!(reply.json["code"], "P0942");
    // A bad body is refused first, as GOV.UK Pay's API checks before its connector.
    let reply = server.post("/v1/agreements", &without("reference")).await;
    assert_eq!(
        (reply.status, reply.json["code"].as_str()),
        (400, Some("P2101"))
    );
    server.stop().await;
}

pence_testkit::engine_tests!(create_get_search_cancel);
async fn create_get_search_cancel(engine: Engine) {
    let server = recurring_server(engine).await;
    let created = server.post("/v1/agreements", &body()).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let a = &created.json;
    let id = a["agreement_id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 26);
    assert_eq!(a["status"], "created");
    assert_eq!(a["reference"], "CT-22-23-0001");
    assert_eq!(a["user_identifier"], "user-1");
    assert!(a.get("payment_instrument").is_none() && a.get("cancelled_date").is_none());
    let created_date = a["created_date"].as_str().unwrap();
    assert!(
        created_date.ends_with('Z') && created_date.len() == 24,
        "{created_date}"
    );

    let got = server.get(&format!("/v1/agreements/{id}")).await;
    assert_eq!((got.status, &got.json), (200, a));
    let unknown = server.get("/v1/agreements/nosuchagreement").await;
    assert_eq!(
        (unknown.status, &unknown.json),
        (404, &json!({"code": "P2200", "description": "Not found"}))
    );
    // Another service's agreement is not found either.
    let (_, other_key) = server.new_service(false).await;
    let theirs = server
        .get_as(&other_key, &format!("/v1/agreements/{id}"))
        .await;
    assert_eq!(theirs.status, 404);

    // A created agreement has no card to stop using: GOV.UK Pay refuses to cancel it.
    let cancel = server
        .post(&format!("/v1/agreements/{id}/cancel"), &json!({}))
        .await;
    assert_eq!(
        (cancel.status, &cancel.json),
        (
            400,
            &json!({"code": "P2501", "description": "Cancellation of agreement failed"})
        )
    );
    let cancel = server
        .post("/v1/agreements/nosuchagreement/cancel", &json!({}))
        .await;
    assert_eq!(
        (cancel.status, &cancel.json),
        (404, &json!({"code": "P2500", "description": "Not found"}))
    );

    // Search: exact reference in any case, status, paging.
    let second = server
        .post("/v1/agreements", &with("reference", json!("OTHER-1")))
        .await;
    assert_eq!(second.status, 201);
    let found = server.get("/v1/agreements?reference=ct-22-23-0001").await;
    assert_eq!(found.status, 200, "{}", found.text);
    assert_eq!(
        (found.json["total"].as_u64(), found.json["count"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(found.json["results"][0]["agreement_id"], id.as_str());
    let partial = server.get("/v1/agreements?reference=CT-22").await;
    assert_eq!(partial.json["total"], 0, "an exact match, not a fragment");
    let all = server
        .get("/v1/agreements?status=created&display_size=1")
        .await;
    assert_eq!(all.json["total"], 2);
    assert_eq!(
        all.json["results"][0]["reference"], "OTHER-1",
        "newest first"
    );
    let links = &all.json["_links"];
    assert!(links["next_page"]["href"]
        .as_str()
        .unwrap()
        .ends_with("/v1/agreements?status=created&page=2&display_size=1"));
    assert!(links.get("prev_page").is_none());
    let past = server.get("/v1/agreements?page=5&display_size=1").await;
    assert_eq!(
        (past.status, &past.json),
        (
            404,
            &json!({"code": "P2402", "description": "Page not found"})
        )
    );
    let invalid = server
        .get("/v1/agreements?status=open&display_size=0")
        .await;
    assert_eq!(
        (invalid.status, &invalid.json),
        (
            422,
            &json!({"code": "P2401", "description": "Invalid parameters: status, display_size. See Public API documentation for the correct data formats"})
        )
    );
    let unknown = server.get("/v1/agreements?colour=red&status=open").await;
    assert_eq!(
        (unknown.status, &unknown.json),
        (
            400,
            &json!({"code": "P2401", "description": "Invalid parameters: colour. See Public API documentation for the correct data formats"})
        )
    );
    let theirs = server.get_as(&other_key, "/v1/agreements").await;
    assert_eq!(theirs.json["total"], 0, "per service");
    server.stop().await;
}
