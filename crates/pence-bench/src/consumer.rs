//! `pence-bench consumer`: the connector's webhook consumer (pence-connector) taking signed
//! messages over HTTP from 64 senders while its background processor works through them —
//! messages/s accepted (each durably stored before its 200) and processed (journey moved,
//! event recorded, message closed), on the service's own database.

use std::time::{Duration, Instant};

use anyhow::Context;
use hmac::{Hmac, Mac};
use pence_client::Client;
use pence_connector::webhooks::{ConsumerOptions, WebhookConsumer};
use pence_connector::{Connector, ReturnVia};
use sha2::Sha256;

#[derive(clap::Args, Debug)]
pub struct ConsumerBenchArgs {
    /// Messages to send.
    #[arg(long, default_value_t = 50_000)]
    messages: usize,
    /// Journeys (payments) the messages are about.
    #[arg(long, default_value_t = 1_000)]
    journeys: usize,
    /// The connector's database (`postgres://…` or a SQLite path); a temporary SQLite file
    /// when not given.
    #[arg(long)]
    connector_database: Option<String>,
}

const SENDERS: usize = 64;
const SECRET: &str = "bench-webhook-secret";

pub async fn run(database: Option<String>, args: ConsumerBenchArgs) -> anyhow::Result<()> {
    let node = crate::node::start(database).await?;
    let base = format!("http://{}", node.local_addr);
    let temp = tempfile::tempdir()?;
    let url = args.connector_database.clone().unwrap_or_else(|| {
        temp.path()
            .join("service.db")
            .to_string_lossy()
            .into_owned()
    });
    let connector = Connector::open(Client::new(node.key.clone()).with_base_url(&base), &url)
        .await
        .context("opening the connector's database")?;
    let via = ReturnVia::UrlSecret {
        base: "https://service.example/return".into(),
    };
    let mut payments = Vec::with_capacity(args.journeys);
    for i in 0..args.journeys {
        let started = connector
            .start_payment(
                pence_client::CreatePayment::new(2500, format!("B{i}"), "Bench", ""),
                &via,
            )
            .await?;
        let id = started.journey.payment_id.context("no payment id")?;
        payments.push(connector.client().get_payment(&id).await?);
    }
    // Message i is about payment i % journeys, a distinct event (its own created_date); the
    // first for each payment finishes its journey, the rest find it finished.
    let bodies: Vec<(Vec<u8>, String)> = (0..args.messages)
        .map(|i| {
            let mut resource = serde_json::to_value(&payments[i % args.journeys])?;
            resource["state"] = serde_json::json!({"status": "success", "finished": true});
            resource.as_object_mut().map(|o| o.remove("_links"));
            let body = serde_json::json!({
                "webhook_message_id": format!("bench-{i}"),
                "created_date": format!("2026-11-30T12:00:00.{:03}Z", i / args.journeys % 1000),
                "resource_id": payments[i % args.journeys].payment_id,
                "api_version": 1,
                "resource_type": "payment",
                "event_type": if i < args.journeys { "card_payment_succeeded" } else { "card_payment_captured" },
                "resource": resource,
            })
            .to_string()
            .into_bytes();
            let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes())?;
            mac.update(&body);
            let signature = data_encoding::HEXLOWER.encode(&mac.finalize().into_bytes());
            anyhow::Ok((body, signature))
        })
        .collect::<Result<_, _>>()?;

    let consumer = WebhookConsumer::new(
        connector.clone(),
        vec![SECRET.into()],
        ConsumerOptions::default(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let endpoint = format!("http://{}/webhooks", listener.local_addr()?);
    let app: axum::Router = consumer.router("/webhooks");
    tokio::spawn(async move { axum::serve(listener, app).await });
    let processor = tokio::spawn(consumer.clone().run());

    println!(
        "pence-bench consumer: {} signed messages about {} journeys, {SENDERS} senders, connector on {}",
        args.messages,
        args.journeys,
        if url.starts_with("postgres") { "PostgreSQL" } else { "SQLite" }
    );
    let http = reqwest::Client::new();
    let started = Instant::now();
    let bodies = std::sync::Arc::new(bodies);
    let mut senders = Vec::new();
    for s in 0..SENDERS {
        let (http, endpoint, bodies) = (http.clone(), endpoint.clone(), bodies.clone());
        senders.push(tokio::spawn(async move {
            let mut took = Vec::new();
            for (body, signature) in bodies.iter().skip(s).step_by(SENDERS) {
                let at = Instant::now();
                let resp = http
                    .post(&endpoint)
                    .header("Content-Type", "application/json")
                    .header("Pay-Signature", signature)
                    .body(body.clone())
                    .send()
                    .await?;
                anyhow::ensure!(resp.status() == 200, "answered {}", resp.status());
                took.push(at.elapsed());
            }
            anyhow::Ok(took)
        }));
    }
    let mut latencies = Vec::with_capacity(args.messages);
    for s in senders {
        latencies.extend(s.await??);
    }
    let accepted = started.elapsed();
    loop {
        let inbox = consumer.inbox().await?;
        if inbox.pending == 0 {
            let processed = started.elapsed();
            latencies.sort_unstable();
            let pct = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize];
            let per_s = |d: Duration| args.messages as f64 / d.as_secs_f64();
            println!(
                "accepted   {:>8.0} messages/s  (200 after commit: p50 {:.1} ms, p99 {:.1} ms)",
                per_s(accepted),
                pct(0.5).as_secs_f64() * 1e3,
                pct(0.99).as_secs_f64() * 1e3
            );
            println!(
                "processed  {:>8.0} messages/s  (first sent to last processed: {:.2} s; {} processed, {} duplicates)   target 5,000/s: {:.2}x",
                per_s(processed),
                processed.as_secs_f64(),
                inbox.processed,
                inbox.duplicate,
                per_s(processed) / 5000.0
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    processor.abort();
    Ok(())
}
