//! Unknown routes, wrong methods and health answer JSON, never axum's plain text.

use pence_testkit::{Engine, TestServer};
use reqwest::Method;
use serde_json::json;

pence_testkit::engine_tests!(unknown_routes_and_methods_answer_json);
async fn unknown_routes_and_methods_answer_json(engine: Engine) {
    let server = TestServer::start(engine).await;
    let key = server.key.clone();
    let cases = [
        (
            Method::GET,
            "/nothing-here",
            404,
            json!({"code": 404, "message": "HTTP 404 Not Found"}),
        ),
        (
            Method::GET,
            "/v1/nothing",
            404,
            json!({"code": 404, "message": "HTTP 404 Not Found"}),
        ),
        (
            Method::DELETE,
            "/v1/payments",
            405,
            json!({"code": 405, "message": "HTTP 405 Method Not Allowed"}),
        ),
        (
            Method::PUT,
            "/v1/payments/abc",
            405,
            json!({"code": 405, "message": "HTTP 405 Method Not Allowed"}),
        ),
        (
            Method::POST,
            "/healthcheck",
            405,
            json!({"code": 405, "message": "HTTP 405 Method Not Allowed"}),
        ),
    ];
    for (method, path, status, body) in cases {
        let reply = server
            .send(method.clone(), path, Some(&key), &[], None)
            .await;
        assert_eq!(
            (reply.status, &reply.json),
            (status, &body),
            "{method} {path}: {}",
            reply.text
        );
        assert!(reply
            .header("content-type")
            .unwrap()
            .starts_with("application/json"));
    }
    server.stop().await;
}

pence_testkit::engine_tests!(unauthenticated_requests_are_refused_before_routing);
/// Without a valid key every `/v1/...` request is a 401, before routing could say 404 or 405
/// (GOV.UK Pay's authentication filter runs first).
async fn unauthenticated_requests_are_refused_before_routing(engine: Engine) {
    let server = TestServer::start(engine).await;
    let unauthorized =
        json!({"code": 401, "message": "Credentials are required to access this resource."});
    for (method, path) in [
        (Method::GET, "/v1/nothing"),
        (Method::DELETE, "/v1/payments"),
        (Method::GET, "/v1/payments/abc/nowhere"),
        (Method::GET, "/v1/payments"),
    ] {
        for key in [None, Some("api_test_not-a-real-key")] {
            let reply = server.send(method.clone(), path, key, &[], None).await;
            assert_eq!(
                (reply.status, &reply.json),
                (401, &unauthorized),
                "{method} {path} {key:?}"
            );
        }
    }
    server.stop().await;
}

pence_testkit::engine_tests!(healthcheck_names_the_database_state);
async fn healthcheck_names_the_database_state(engine: Engine) {
    let server = TestServer::start(engine).await;
    let reply = server
        .send(Method::GET, "/healthcheck", None, &[], None)
        .await;
    let name = match engine {
        Engine::Sqlite => "sqlite",
        Engine::Postgres => "postgres",
    };
    // GOV.UK Pay's shape, which clients read as `ping.healthy && deadlocks.healthy`.
    assert_eq!(
        (reply.status, &reply.json),
        (
            200,
            &json!({
                "ping": {"healthy": true},
                "deadlocks": {"healthy": true},
                "database": {"healthy": true, "engine": name}
            })
        )
    );
    // With the database gone, the node says so.
    server.store.close().await;
    let reply = server
        .send(Method::GET, "/healthcheck", None, &[], None)
        .await;
    assert_eq!(reply.status, 503);
    assert_eq!(reply.json["ping"]["healthy"], false);
    assert_eq!(reply.json["deadlocks"]["healthy"], true);
    assert_eq!(reply.json["database"]["healthy"], false);
    // ...and API calls answer GOV.UK Pay's 503 / downstream errors, not a hang or panic.
    let reply = server.get("/v1/payments/abc").await;
    assert!(
        reply.status == 503 || reply.status == 500,
        "{}",
        reply.status
    );
}

pence_testkit::engine_tests!(a_trailing_slash_names_the_same_route);
/// A path with one trailing slash is the path without it, on the public API, the control API
/// and the health check: GOV.UK Pay's API framework (Jersey) matches it so, and services in
/// production add the slash to every URL. Two slashes name nothing.
async fn a_trailing_slash_names_the_same_route(engine: Engine) {
    let server = TestServer::start(engine).await;
    let created = server
        .post(
            "/v1/payments/",
            &json!({"amount": 14500, "reference": "slash-1", "description": "Council tax",
                    "return_url": "https://your.service.gov.uk/completed"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.json["payment_id"].as_str().unwrap().to_string();
    let fetched = server.get(&format!("/v1/payments/{id}/")).await;
    assert_eq!(
        (fetched.status, &fetched.json["payment_id"]),
        (200, &json!(id))
    );
    let events = server.get(&format!("/v1/payments/{id}/events/")).await;
    assert_eq!(events.status, 200, "{}", events.text);
    let found = server.get("/v1/payments/?reference=slash-1").await;
    assert_eq!((found.status, &found.json["total"]), (200, &json!(1)));

    let paid = server
        .post(
            &format!("/sandbox/v1/payments/{id}/pay/"),
            &json!({"card_number": "4444333322221111"}),
        )
        .await;
    assert_eq!(paid.json["state"]["status"], "success", "{}", paid.text);
    server.sweep().await; // the capture
    let refund = server
        .post(
            &format!("/v1/payments/{id}/refunds/"),
            &json!({"amount": 100, "refund_amount_available": 14500}),
        )
        .await;
    assert_eq!(refund.status, 202, "{}", refund.text);
    let refund_id = refund.json["refund_id"].as_str().unwrap();
    for path in [
        format!("/v1/payments/{id}/refunds/"),
        format!("/v1/payments/{id}/refunds/{refund_id}/"),
        "/v1/refunds/?page=1".to_string(),
        "/sandbox/v1/clock/".to_string(),
    ] {
        let reply = server.get(&path).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.text);
    }
    let health = server
        .send(Method::GET, "/healthcheck/", None, &[], None)
        .await;
    assert_eq!(health.status, 200);

    let twice = server
        .send(Method::GET, "/healthcheck//", None, &[], None)
        .await;
    assert_eq!(
        (twice.status, &twice.json),
        (404, &json!({"code": 404, "message": "HTTP 404 Not Found"}))
    );
    server.stop().await;
}

pence_testkit::engine_tests!(https_nodes_tell_browsers_to_keep_to_https);
/// A node reached over https sends HSTS on every answer (API, pages, errors); one reached
/// over plain http does not (browsers ignore it there, and it would be a promise not kept).
async fn https_nodes_tell_browsers_to_keep_to_https(engine: Engine) {
    let https = TestServer::start_with(
        engine,
        pence_testkit::ServerOptions {
            public_url: Some("https://pay.council.example".into()),
            ..Default::default()
        },
    )
    .await;
    for path in ["/healthcheck", "/v1/payments", "/admin/login", "/nowhere"] {
        let reply = https.get(path).await;
        assert_eq!(
            reply.header("strict-transport-security"),
            Some("max-age=31536000"),
            "{path}"
        );
    }
    https.stop().await;
    let http = TestServer::start(engine).await;
    let reply = http.get("/v1/payments").await;
    assert_eq!(reply.header("strict-transport-security"), None);
    http.stop().await;
}
