//! kill -9 while payments change and webhooks go out: after a restart, every change a client
//! was told about has its message delivered (duplicates allowed, losses not), and no message
//! speaks of a change that did not happen. On SQLite and PostgreSQL.

use std::collections::HashSet;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pence_testkit::{Answer, Engine, Receiver, TestDb};

mod common;

use common::{field, pence, start, PENCE};

pence_testkit::engine_tests!(a_crash_loses_no_acknowledged_message);
async fn a_crash_loses_no_acknowledged_message(engine: Engine) {
    let db = TestDb::new(engine).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("pence.toml");
    // Short attempts so a lease held by the killed node runs out soon after the restart.
    std::fs::write(
        &config,
        "[rate_limits]\nenabled = false\n[webhooks]\npoll_ms = 50\ntimeout_ms = 500\n",
    )
    .unwrap();
    let (node, banner) = start(&db.url, &config);
    let key = field(&banner, "test API key:");
    let service = field(&banner, "service id:");
    let receiver = Receiver::start().await;
    // Slow answers keep deliveries in flight when the node dies.
    receiver.script((0..100_000).map(|_| Answer::Slow(Duration::from_millis(5))));
    let created = pence(
        &db.url,
        &[
            "webhook",
            "create",
            "--service",
            &service,
            "--url",
            &receiver.url,
            "--event",
            "card_payment_failed",
        ],
    );
    let (webhook, secret) = {
        let mut l = created.lines();
        (l.next().unwrap().to_string(), l.next().unwrap().to_string())
    };

    // Eight clients create and cancel payments until the node is killed.
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let mut clients = Vec::new();
    for _ in 0..8 {
        let (http, url, key, acked) = (
            http.clone(),
            node.url.clone(),
            key.clone(),
            acknowledged.clone(),
        );
        clients.push(tokio::spawn(async move {
            let body = serde_json::json!({"amount": 100, "reference": "crash", "description": "d", "return_url": "https://example.org/r"});
            loop {
                let Ok(r) = http.post(format!("{url}/v1/payments")).bearer_auth(&key).json(&body).send().await else {
                    return;
                };
                let Ok(p) = r.json::<serde_json::Value>().await else { return };
                let id = p["payment_id"].as_str().unwrap().to_string();
                let Ok(r) = http.post(format!("{url}/v1/payments/{id}/cancel")).bearer_auth(&key).send().await else {
                    return;
                };
                if r.status() == 204 {
                    acked.lock().unwrap().push(id);
                }
            }
        }));
    }
    while acknowledged.lock().unwrap().len() < 300 || receiver.received().len() < 100 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(node); // SIGKILL
    for c in clients {
        let _ = c.await;
    }
    let acked: HashSet<String> = acknowledged.lock().unwrap().iter().cloned().collect();
    let before = receiver.received().len();

    let (node, _) = start(&db.url, &config);
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let got: HashSet<String> = receiver
            .received()
            .iter()
            .map(|r| r.json["resource_id"].as_str().unwrap_or("").to_string())
            .collect();
        let missing = acked.difference(&got).count();
        if missing == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{missing} of {} acknowledged cancels never reached the receiver",
            acked.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Cancels committed but never acknowledged (the kill came first) have messages too:
    // every message is delivered in the end, none is left pending.
    loop {
        let pending = pence(
            &db.url,
            &["webhook", "messages", &webhook, "--status", "pending"],
        );
        if pending.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "still pending: {pending}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Nothing for a change that did not happen: every message's payment is cancelled.
    let received = receiver.received();
    for r in &received {
        assert!(r.signed_with(&secret));
        assert_eq!(r.json["resource"]["state"]["status"], "cancelled");
        let id = r.json["resource_id"].as_str().unwrap();
        let now: serde_json::Value = http
            .get(format!("{}/v1/payments/{id}", node.url))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(now["state"]["status"], "cancelled", "{id}");
    }
    eprintln!(
        "{engine:?}: {} acknowledged before the kill, {before} requests before, {} after the restart",
        acked.len(),
        received.len() - before
    );

    // The delivery log and a resend, from the command line.
    let messages = pence(&db.url, &["webhook", "messages", &webhook, "--limit", "1"]);
    assert!(
        messages.contains("successful") && messages.contains("HTTP 200"),
        "{messages}"
    );
    assert_eq!(
        pence(
            &db.url,
            &["webhook", "messages", &webhook, "--status", "failed"]
        ),
        ""
    );
    // The table's first row, under its header: the newest message.
    let message = messages
        .lines()
        .nth(1)
        .and_then(|row| row.split_whitespace().next())
        .unwrap()
        .to_string();
    let count = receiver.received().len();
    let out = Command::new(PENCE)
        .args(["webhook", "resend", &message])
        .env("PENCE_DATABASE_URL", &db.url)
        .output()
        .unwrap();
    assert!(out.status.success());
    let again = receiver.wait_for(count + 1, Duration::from_secs(20)).await;
    assert!(again[count..].iter().any(|r| r.message_id() == message));
    drop(node);
}
