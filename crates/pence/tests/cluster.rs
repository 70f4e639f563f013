//! Three `pence serve` processes on one PostgreSQL, as behind a load balancer: a payment
//! created on one node is paid through another's pages and refunded on the third; sweeps
//! and webhook delivery run on all three and change or send each thing once; the rate limit
//! holds across them; and a node killed -9 mid-traffic loses nothing it acknowledged, its
//! leased webhook messages going out from the others once the lease runs out.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pence_testkit::{Engine, Receiver, TestDb};
use serde_json::{json, Value};

mod common;

use common::{field, pence, start};

struct Api {
    http: reqwest::Client,
    key: String,
}

impl Api {
    /// A request; `None` when no answer came (a dead node).
    async fn try_call(
        &self,
        method: reqwest::Method,
        url: String,
        body: Option<Value>,
    ) -> Option<(u16, Value)> {
        let mut req = self.http.request(method, url).bearer_auth(&self.key);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.ok()?;
        let status = resp.status().as_u16();
        let text = resp.text().await.ok()?;
        Some((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    async fn call(
        &self,
        method: reqwest::Method,
        url: String,
        body: Option<Value>,
    ) -> (u16, Value) {
        self.try_call(method, url, body).await.expect("an answer")
    }

    fn create_body(reference: &str) -> Value {
        json!({"amount": 2000, "reference": reference, "description": "cluster",
            "return_url": "https://service.example/return"})
    }

    async fn create(&self, node: &str, reference: &str) -> (u16, Value) {
        let body = json!({"amount": 2000, "reference": reference, "description": "cluster",
            "return_url": "https://service.example/return"});
        self.call(
            reqwest::Method::POST,
            format!("{node}/v1/payments"),
            Some(body),
        )
        .await
    }

    async fn get(&self, node: &str, path: &str) -> Value {
        let (status, body) = self
            .call(reqwest::Method::GET, format!("{node}{path}"), None)
            .await;
        assert_eq!(status, 200, "{path}: {body}");
        body
    }

    /// Waits until `path` on `node` satisfies `what` (the sweeps run every second).
    async fn wait(&self, node: &str, path: &str, what: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let body = self.get(node, path).await;
            if what(&body) {
                return body;
            }
            assert!(Instant::now() < deadline, "{path} never got there: {body}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Sleeps to just after the top of the next second: a burst then fits one rate window.
async fn top_of_second() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let wait = 1_000_000_000 - u64::from(now.subsec_nanos()) + 5_000_000;
    tokio::time::sleep(Duration::from_nanos(wait)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn three_nodes_on_one_postgres_behave_as_one() {
    if !pence_testkit::db::postgres_configured() {
        eprintln!("skipped: PENCE_TEST_POSTGRES_URL is not set");
        return;
    }
    let db = TestDb::new(Engine::Postgres).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("pence.toml");
    // GOV.UK Pay's create limit (15 a second); short attempts, so a killed node's lease runs
    // out soon.
    std::fs::write(
        &config,
        "[rate_limits]\ncreate_payment = 15\nother_post = 1000\nget = 1000\n\
         [webhooks]\npoll_ms = 50\ntimeout_ms = 500\n",
    )
    .unwrap();
    let (a, banner) = start(&db.url, &config);
    let (b, _) = start(&db.url, &config);
    let (c, _) = start(&db.url, &config);
    let api = Api {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap(),
        key: field(&banner, "test API key:"),
    };
    let service = field(&banner, "service id:");
    let receiver = Receiver::start().await;
    pence(
        &db.url,
        &[
            "webhook",
            "create",
            "--service",
            &service,
            "--url",
            &receiver.url,
        ],
    );

    // Created on A, paid through B's pages, refunded on C, read back from each.
    let mut ids = Vec::new();
    for i in 0..6 {
        let (status, created) = api.create(&a.url, &format!("cluster-{i}")).await;
        assert_eq!(status, 201, "{created}");
        let id = created["payment_id"].as_str().unwrap().to_string();
        let next = created["_links"]["next_url"]["href"].as_str().unwrap();
        assert!(next.starts_with(&a.url));
        let back = pence_testkit::paying_user::pay_on(&b.url, next, &id, "4444333322221111").await;
        assert_eq!(back, "https://service.example/return");
        ids.push(id);
    }
    for id in &ids {
        let path = format!("/v1/payments/{id}");
        api.wait(&c.url, &path, |p| {
            p["refund_summary"]["status"] == "available"
        })
        .await;
        let (status, refund) = api
            .call(
                reqwest::Method::POST,
                format!("{}{path}/refunds", c.url),
                Some(json!({"amount": 500})),
            )
            .await;
        assert_eq!(status, 202, "{refund}");
        for node in [&a.url, &b.url, &c.url] {
            let p = api.get(node, &path).await;
            assert_eq!(p["state"]["status"], "success");
            assert_eq!(p["refund_summary"]["amount_submitted"], 500);
        }
        // The three nodes' sweeps captured it once: one of each event.
        let events = api.get(&b.url, &format!("{path}/events")).await;
        let states: Vec<&str> = events["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["state"]["status"].as_str().unwrap())
            .collect();
        assert_eq!(
            states,
            ["created", "started", "submitted", "success"],
            "{id}"
        );
    }
    // Webhooks: each event of each payment sent once, by whichever node claimed it.
    let got = receiver
        .wait_for(ids.len() * 3, Duration::from_secs(30))
        .await;
    let mut by_payment: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in &got {
        by_payment
            .entry(r.json["resource_id"].as_str().unwrap().to_string())
            .or_default()
            .push(r.event_type().to_string());
    }
    for id in &ids {
        let mut events = by_payment.remove(id).unwrap_or_default();
        events.sort();
        assert_eq!(
            events,
            [
                "card_payment_captured",
                "card_payment_refunded",
                "card_payment_succeeded"
            ],
            "{id}"
        );
    }
    let distinct: HashSet<&str> = got.iter().map(|r| r.message_id()).collect();
    assert_eq!(distinct.len(), got.len(), "a message was sent twice");

    // The create limit holds across the three: 45 creates in one second, 15 on each node.
    top_of_second().await;
    let burst = (0..45).map(|i| {
        let node = [&a.url, &b.url, &c.url][i % 3].clone();
        let api = &api;
        async move { api.create(&node, "burst").await.0 }
    });
    let statuses = futures_util::future::join_all(burst).await;
    let created = statuses.iter().filter(|s| **s == 201).count();
    assert_eq!(created + statuses.iter().filter(|s| **s == 429).count(), 45);
    assert!(
        (15..=30).contains(&created),
        "{created} created: {statuses:?}"
    );

    // Traffic over all three; B is killed -9 in the middle of it.
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let api = Arc::new(api);
    let nodes = [a.url.clone(), b.url.clone(), c.url.clone()];
    let mut clients = Vec::new();
    for n in 0..3 {
        let (api, acked, nodes) = (api.clone(), acked.clone(), nodes.clone());
        clients.push(tokio::spawn(async move {
            let deadline = Instant::now() + Duration::from_secs(4);
            let mut turn = n;
            while Instant::now() < deadline {
                turn += 1;
                let node = &nodes[turn % 3];
                let url = format!("{node}/v1/payments");
                let body = Some(Api::create_body("traffic"));
                let Some(created) = api.try_call(reqwest::Method::POST, url, body).await else {
                    continue; // the killed node
                };
                if created.0 != 201 {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
                let id = created.1["payment_id"].as_str().unwrap().to_string();
                let cancel = api
                    .http
                    .post(format!("{node}/v1/payments/{id}/cancel"))
                    .bearer_auth(&api.key)
                    .send()
                    .await;
                if matches!(cancel, Ok(r) if r.status() == 204) {
                    acked.lock().unwrap().push(id);
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    drop(b);
    for client in clients {
        client.await.unwrap();
    }
    let acked: Vec<String> = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 10,
        "only {} cancels acknowledged",
        acked.len()
    );
    for id in &acked {
        let p = api.get(&c.url, &format!("/v1/payments/{id}")).await;
        assert_eq!(p["state"]["status"], "cancelled", "{id}");
    }
    // Every acknowledged cancel's message arrives, B's leased ones from A or C after the
    // lease.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let failed: HashSet<String> = receiver
            .received()
            .iter()
            .filter(|r| r.event_type() == "card_payment_failed")
            .map(|r| r.json["resource_id"].as_str().unwrap().to_string())
            .collect();
        let missing = acked.iter().filter(|id| !failed.contains(*id)).count();
        if missing == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{missing} of {} cancels never sent",
            acked.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop((a, c));
}
