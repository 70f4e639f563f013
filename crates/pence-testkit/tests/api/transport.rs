//! What slow, idle, oversized and numerous clients get: timeouts that close what would stay
//! open forever, JSON answers for oversized requests, a cap on open connections. Raw TCP, so
//! nothing between the test and the node tidies the bytes up.

use std::time::{Duration, Instant};

use pence_http::Limits;
use pence_testkit::{Engine, ServerOptions, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn node(limits: Limits) -> TestServer {
    TestServer::start_with(
        Engine::Sqlite,
        ServerOptions {
            limits,
            ..ServerOptions::default()
        },
    )
    .await
}

fn short() -> Limits {
    Limits {
        header_read: Duration::from_millis(500),
        body_read: Duration::from_millis(800),
        max_connections: 64,
    }
}

async fn connect(server: &TestServer) -> TcpStream {
    TcpStream::connect(server.url.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// Everything the node writes until it closes the connection, and how long that took; panics
/// if it stays open past `limit`.
async fn until_closed(conn: &mut TcpStream, limit: Duration) -> (String, Duration) {
    let started = Instant::now();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at((started + limit).into(), conn.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => panic!(
                "still open after {limit:?}; got {:?}",
                String::from_utf8_lossy(&out)
            ),
        }
    }
    (
        String::from_utf8_lossy(&out).into_owned(),
        started.elapsed(),
    )
}

#[tokio::test]
async fn slow_and_idle_clients_are_closed() {
    let server = node(short()).await;
    // An idle connection that never sends a byte.
    let mut idle = connect(&server).await;
    until_closed(&mut idle, Duration::from_secs(3)).await;

    // Slowloris: a head trickled out a few bytes at a time, never finished.
    let mut slow = connect(&server).await;
    let trickle = tokio::spawn(async move {
        let head = b"GET /healthcheck HTTP/1.1\r\nHost: pence\r\nX-Slow: ";
        for chunk in head.chunks(4) {
            if slow.write_all(chunk).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        loop {
            if slow.write_all(b"a").await.is_err() {
                return slow;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            let mut probe = [0u8; 1];
            if let Ok(Ok(0)) =
                tokio::time::timeout(Duration::from_millis(1), slow.read(&mut probe)).await
            {
                return slow;
            }
        }
    });
    tokio::time::timeout(Duration::from_secs(5), trickle)
        .await
        .expect("a slowloris head is cut off")
        .unwrap();

    // A body trickled out a byte at a time: refused once its time is up.
    let mut trickled = connect(&server).await;
    let head = format!(
        "POST /v1/payments HTTP/1.1\r\nHost: pence\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n",
        server.key
    );
    trickled.write_all(head.as_bytes()).await.unwrap();
    let writer = tokio::spawn(async move {
        for _ in 0..100 {
            if trickled.write_all(b" ").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        trickled
    });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut trickled = writer.await.unwrap();
    let (answer, _) = until_closed(&mut trickled, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("\"code\":\"P0920\""), "{answer}");

    // A kept-alive connection that goes quiet after a request is closed too.
    let mut kept = connect(&server).await;
    kept.write_all(b"GET /healthcheck HTTP/1.1\r\nHost: pence\r\n\r\n")
        .await
        .unwrap();
    let (answer, took) = until_closed(&mut kept, Duration::from_secs(3)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(took >= Duration::from_millis(400), "{took:?}");
    server.stop().await;
}

#[tokio::test]
async fn a_body_that_never_comes_is_refused_at_once_when_too_large() {
    let server = node(Limits::default()).await;
    let mut conn = connect(&server).await;
    let head = format!(
        "POST /v1/payments HTTP/1.1\r\nHost: pence\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n{{}}",
        server.key
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    let (answer, took) = until_closed(&mut conn, Duration::from_secs(3)).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("\"code\":\"P0920\""), "{answer}");
    assert!(took < Duration::from_secs(2), "{took:?}");
    server.stop().await;
}

#[tokio::test]
async fn oversized_requests_get_json() {
    let server = node(Limits::default()).await;
    let long = format!("/v1/payments?reference={}", "r".repeat(9000));
    let reply = server.get(&long).await;
    assert_eq!(reply.status, 414, "{}", reply.text);
    assert_eq!(
        reply.json,
        serde_json::json!({"code": 414, "message": "HTTP 414 URI Too Long"})
    );
    let many: Vec<(String, String)> = (0..150)
        .map(|i| (format!("x-header-{i}"), "v".into()))
        .collect();
    let pairs: Vec<(&str, &str)> = many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let reply = server
        .send(reqwest::Method::GET, "/healthcheck", None, &pairs, None)
        .await;
    assert_eq!(reply.status, 431, "{}", reply.text);
    assert_eq!(reply.json["code"], 431);
    server.stop().await;
}

#[tokio::test]
async fn open_connections_are_capped() {
    let server = node(Limits {
        header_read: Duration::from_secs(5),
        max_connections: 2,
        ..Limits::default()
    })
    .await;
    // Two connections each with a request in flight (its body still to come).
    let busy = |server: &TestServer| {
        let head = format!(
            "POST /v1/payments HTTP/1.1\r\nHost: pence\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{",
            server.key
        );
        let url = server.url.clone();
        async move {
            let mut conn = TcpStream::connect(url.trim_start_matches("http://"))
                .await
                .unwrap();
            conn.write_all(head.as_bytes()).await.unwrap();
            conn
        }
    };
    let first = busy(&server).await;
    let _second = busy(&server).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    // The third waits: no answer while two requests are in flight.
    let mut third = connect(&server).await;
    third
        .write_all(b"GET /healthcheck HTTP/1.1\r\nHost: pence\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 64];
    assert!(
        tokio::time::timeout(Duration::from_millis(500), third.read(&mut buf))
            .await
            .is_err(),
        "served beyond the cap"
    );
    drop(first);
    let (answer, _) = until_closed(&mut third, Duration::from_secs(3)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    server.stop().await;
}

/// One client holding hundreds of connections open and idle (some having sent nothing, some
/// after one request) does not keep others waiting: at the cap the oldest idle connection is
/// closed to make room, as its idle timeout (here 30 s) would later.
#[tokio::test]
async fn idle_connections_make_room_for_other_clients() {
    let server = node(Limits {
        header_read: Duration::from_secs(30),
        max_connections: 20,
        ..Limits::default()
    })
    .await;
    let mut held = Vec::new();
    for i in 0..300 {
        let mut conn = connect(&server).await;
        if i % 2 == 0 {
            conn.write_all(b"GET /healthcheck HTTP/1.1\r\nHost: pence\r\n\r\n")
                .await
                .unwrap();
        }
        held.push(conn);
    }
    for _ in 0..20 {
        let started = Instant::now();
        let fresh = reqwest::Client::new();
        let reply = fresh
            .get(format!("{}/healthcheck", server.url))
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .expect("answered while the idle connections are held");
        assert_eq!(reply.status(), 200);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "waited {:?} behind idle connections",
            started.elapsed()
        );
    }
    drop(held);
    server.stop().await;
}

#[tokio::test]
async fn malformed_heads_get_json() {
    let server = node(Limits::default()).await;
    for head in [
        &b"GARBAGE\r\n\r\n"[..],
        b"GET / HTTP/1.1 extra\r\nHost: pence\r\n\r\n",
        b"GET /healthcheck HTTP/1.1\r\nHost: pence\r\nBad Header Line\r\n\r\n",
    ] {
        let mut conn = connect(&server).await;
        conn.write_all(head).await.unwrap();
        let (answer, _) = until_closed(&mut conn, Duration::from_secs(3)).await;
        assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
        assert!(
            answer.contains("content-type: application/json"),
            "{answer}"
        );
        assert!(
            answer.ends_with(r#"{"code":400,"message":"HTTP 400 Bad Request"}"#),
            "{answer}"
        );
    }
    server.stop().await;
}

/// `answer` is the node's JSON refusal with `status`, as Dropwizard words it.
fn assert_json_refusal(answer: &str, status: u16) {
    assert!(
        answer.starts_with(&format!("HTTP/1.1 {status}")),
        "{answer}"
    );
    assert!(
        answer.contains("content-type: application/json"),
        "{answer}"
    );
    assert!(
        answer.contains(&format!(r#"{{"code":{status},"message":"HTTP {status} "#)),
        "{answer}"
    );
}

#[tokio::test]
async fn heads_longer_than_any_limit_get_json() {
    let server = node(Limits::default()).await;
    let long_line = format!(
        "GET /v1/payments?reference={} HTTP/1.1\r\nHost: pence\r\n\r\n",
        "r".repeat(200_000)
    );
    let long_headers = format!(
        "GET /healthcheck HTTP/1.1\r\nHost: pence\r\n{}\r\n",
        (0..4000)
            .map(|i| format!("x-h-{i}: {}\r\n", "v".repeat(40)))
            .collect::<String>()
    );
    for (head, status) in [(long_line, 414), (long_headers, 431)] {
        let mut conn = connect(&server).await;
        // The node may answer and close before the whole head is written.
        let _ = conn.write_all(head.as_bytes()).await;
        let (answer, _) = until_closed(&mut conn, Duration::from_secs(3)).await;
        assert_json_refusal(&answer, status);
    }
    server.stop().await;
}

/// The same refusals on a connection that has already been answered once (keep-alive):
/// the second request's head is hyper's to read, and its refusal is JSON too.
#[tokio::test]
async fn a_bad_second_request_on_a_connection_gets_json() {
    let server = node(Limits::default()).await;
    let long_headers = format!(
        "GET /healthcheck HTTP/1.1\r\nHost: pence\r\n{}\r\n",
        (0..4000)
            .map(|i| format!("x-h-{i}: {}\r\n", "v".repeat(40)))
            .collect::<String>()
    );
    for (second, status) in [
        (b"GARBAGE\r\n\r\n".to_vec(), 400),
        (
            b"GET /healthcheck HTTP/1.1\r\nBad Header Line\r\n\r\n".to_vec(),
            400,
        ),
        (long_headers.into_bytes(), 431),
    ] {
        let mut conn = connect(&server).await;
        conn.write_all(b"GET /healthcheck HTTP/1.1\r\nHost: pence\r\n\r\n")
            .await
            .unwrap();
        // The first answer, whole, before the second request is sent.
        let mut first = Vec::new();
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&first).contains("\r\n\r\n{") {
            let n = conn.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed after {:?}", String::from_utf8_lossy(&first));
            first.extend_from_slice(&buf[..n]);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        let _ = conn.write_all(&second).await;
        let (answer, _) = until_closed(&mut conn, Duration::from_secs(3)).await;
        let answer = answer.trim_start_matches(|c| c != 'H');
        assert_json_refusal(answer, status);
    }
    server.stop().await;
}

#[tokio::test]
async fn the_control_api_answers_an_oversized_body_in_json() {
    let server = node(Limits::default()).await;
    let body = format!(
        r#"{{"callback_url": "https://example.org/h", "description": "{}"}}"#,
        "d".repeat(3 * 1024 * 1024)
    );
    let reply = server
        .send(
            reqwest::Method::POST,
            "/sandbox/v1/webhooks",
            Some(&server.key),
            &[("Content-Type", "application/json")],
            Some(body.into_bytes()),
        )
        .await;
    assert_eq!(reply.status, 413, "{}", reply.text);
    assert_eq!(reply.json["code"], "S0413", "{}", reply.text);
    server.stop().await;
}
