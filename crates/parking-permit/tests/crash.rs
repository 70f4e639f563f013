//! The webhook consumer survives `kill -9`: the service binary is killed while signed messages
//! pour in; restarted on the same database, it processes every message it answered 200 to,
//! exactly once in effect, and GOV.UK Pay's redeliveries change nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use pence_testkit::{Engine, TestServer};
use serde_json::{json, Value};
use sha2::Sha256;

const SECRET: &str = "crash-test-webhook-secret";
const PAYMENTS: usize = 60;

/// The service's process, killed if the test fails.
struct Service(Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Service {
    /// SIGKILL: no chance to finish anything.
    fn kill_9(&mut self) {
        self.0.kill().unwrap();
        self.0.wait().unwrap();
    }
}

/// Starts the service binary; answers the process and its URL (read from what it prints).
fn spawn(server: &TestServer, database: &str) -> (Service, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_parking-permit"))
        .args(["--listen", "127.0.0.1:0", "--return-via", "url"])
        .args(["--pay-base-url", &server.url, "--api-key", &server.key])
        .args(["--webhook-secret", SECRET, "--database", database])
        .args(["--webhook-lease", "1s"])
        .args([
            "--cookie-key",
            "a cookie key for the kill -9 test, long enough",
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start parking-permit");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("parking-permit listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    (Service(child), url)
}

fn sign(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body);
    data_encoding::HEXLOWER.encode(&mac.finalize().into_bytes())
}

async fn deliver(http: &reqwest::Client, url: &str, body: &[u8]) -> bool {
    let sent = http
        .post(format!("{url}/webhooks"))
        .header("Content-Type", "application/json")
        .header("Pay-Signature", sign(body))
        .body(body.to_vec())
        .send()
        .await;
    matches!(sent, Ok(r) if r.status() == 200)
}

async fn journeys(url: &str) -> Vec<Value> {
    reqwest::get(format!("{url}/journeys"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn inbox(url: &str) -> Value {
    reqwest::get(format!("{url}/webhooks/inbox"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn wait_until_processed(url: &str) -> Value {
    for _ in 0..1000 {
        let inbox = inbox(url).await;
        if inbox["pending"] == 0 {
            return inbox;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("never processed: {}", inbox(url).await);
}

/// Events recorded, per message id, read from the service's database file.
fn events(database: &str) -> BTreeMap<String, i64> {
    let conn = rusqlite::Connection::open(database).unwrap();
    let mut stmt = conn
        .prepare("SELECT message_id, COUNT(*) FROM pence_webhook_events GROUP BY message_id")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_acknowledged_message_is_processed_once_after_a_kill_9() {
    let server = TestServer::start(Engine::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("parking.db").to_string_lossy().into_owned();
    let (mut child, url) = spawn(&server, &database);

    // Journeys started through the service, then paid.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for i in 0..PAYMENTS {
        let started = http
            .post(format!("{url}/start"))
            .form(&[("registration", format!("CR{i:02} ASH"))])
            .send()
            .await
            .unwrap();
        assert_eq!(started.status(), 303);
    }
    let started = journeys(&url).await;
    let mut messages = Vec::new();
    for j in &started {
        let id = j["payment_id"].as_str().unwrap();
        let paid = server
            .post(
                &format!("/sandbox/v1/payments/{id}/pay"),
                &json!({"card_number": "4444333322221111"}),
            )
            .await;
        assert_eq!(paid.status, 200, "{}", paid.text);
        let mut resource = server.get(&format!("/v1/payments/{id}")).await.json;
        resource.as_object_mut().unwrap().remove("_links");
        let body = json!({
            "webhook_message_id": format!("msg-{id}"),
            "created_date": "2026-11-30T12:00:00.000Z",
            "resource_id": id,
            "api_version": 1,
            "resource_type": "payment",
            "event_type": "card_payment_succeeded",
            "resource": resource,
        });
        messages.push((format!("msg-{id}"), body.to_string().into_bytes()));
    }

    // Deliveries 8 at a time; the process is killed once a third have been acknowledged.
    let acked = Arc::new(std::sync::Mutex::new(BTreeSet::new()));
    let count = Arc::new(AtomicUsize::new(0));
    let (h, u, a, c) = (http.clone(), url.clone(), acked.clone(), count.clone());
    let sends = messages.clone().into_iter().map(move |(id, body)| {
        let (http, url, acked, count) = (h.clone(), u.clone(), a.clone(), c.clone());
        async move {
            if deliver(&http, &url, &body).await {
                acked.lock().unwrap().insert(id);
                count.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    let delivering = tokio::spawn(async move {
        use futures_util::StreamExt;
        futures_util::stream::iter(sends)
            .buffer_unordered(8)
            .collect::<Vec<()>>()
            .await;
    });
    while count.load(Ordering::SeqCst) < PAYMENTS / 3 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    child.kill_9();
    delivering.await.unwrap();
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= PAYMENTS / 3 && acked.len() < PAYMENTS,
        "{}",
        acked.len()
    );
    eprintln!("{} of {PAYMENTS} acknowledged before the kill", acked.len());

    // Restarted: everything acknowledged is processed, once.
    let (child, url) = spawn(&server, &database);
    let report = wait_until_processed(&url).await;
    let recorded = events(&database);
    for id in &acked {
        assert_eq!(
            recorded.get(id),
            Some(&1),
            "{id} acknowledged but not processed once"
        );
    }
    assert_eq!(
        report["processed"].as_i64().unwrap() as usize,
        recorded.len()
    );

    // GOV.UK Pay sends everything again (the unanswered ones, and some answered ones whose
    // 200 it never saw): every journey paid, every event once.
    for (_, body) in &messages {
        assert!(deliver(&http, &url, body).await);
    }
    let report = wait_until_processed(&url).await;
    let recorded = events(&database);
    assert_eq!(recorded.len(), PAYMENTS);
    assert!(recorded.values().all(|n| *n == 1));
    assert_eq!(report["processed"], PAYMENTS);
    let journeys = journeys(&url).await;
    assert!(
        journeys.iter().all(|j| j["status"] == "success"),
        "{journeys:?}"
    );
    drop(child);
    server.stop().await;
}
