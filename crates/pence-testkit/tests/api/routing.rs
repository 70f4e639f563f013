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
        pence_testkit::Engine::Sqlite => "sqlite",
        pence_testkit::Engine::Postgres => "postgres",
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
