//! `pence-bench webhooks`: 100,000 pending webhook messages to a fast receiver on loopback.
//! Prints messages delivered a second against the 5,000/s target, and the public API's GET
//! latency while delivery runs against before it.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use pence_core::clock::Clock;
use pence_core::ports::prelude::*;
use pence_core::webhook::subscription;
use pence_core::webhook::{DeliveryStatus, Message};
use pence_core::{ids, payment::present};

use crate::api::phase;

#[derive(clap::Args, Debug)]
pub struct WebhookBenchArgs {
    /// Pending messages to deliver.
    #[arg(long, default_value_t = 100_000)]
    messages: usize,
    /// API clients measuring GET latency.
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// Delivery workers per subscription (default: the node's).
    #[arg(long)]
    workers: Option<usize>,
    /// Messages a worker sends at once (default: the node's).
    #[arg(long)]
    concurrency: Option<usize>,
    /// Messages a worker claims at a time (default: the node's).
    #[arg(long)]
    batch: Option<u32>,
}

const TARGET_PER_SECOND: f64 = 5_000.0;
const BATCH: usize = 5_000;

/// Answers every POST with 200 at once, counting them.
async fn receiver() -> anyhow::Result<(String, Arc<AtomicU64>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    let count = Arc::new(AtomicU64::new(0));
    let counted = count.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            let counted = counted.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |_req| {
                    counted.fetch_add(1, Ordering::Relaxed);
                    async { Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::new()))) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok((url, count))
}

pub async fn run(database: Option<String>, args: WebhookBenchArgs) -> anyhow::Result<()> {
    let node = crate::node::start(database).await?;
    let store = node.store.clone();
    let clock = node.clock.clone();
    println!(
        "pence-bench webhooks: {}, {} pending messages, GET latency from {} clients",
        store.engine(),
        args.messages,
        args.clients
    );
    let key = Arc::new(node.key.clone());
    let created = phase(
        node.local_addr,
        key.clone(),
        4,
        Duration::from_secs(1),
        None,
    )
    .await?;
    anyhow::ensure!(!created.ids.is_empty(), "no payment was created");
    let ids = Arc::new(created.ids);
    let payment = store
        .payment(&node.service.id, &ids[0])
        .await?
        .context("a created payment")?;
    let resource = serde_json::to_string(&present::resource(&payment))?;

    let (url, received) = receiver().await?;
    let (sub, _) = subscription::create(
        store.as_ref(),
        clock.as_ref(),
        pence_core::staff::Actor::Operator,
        &node.service,
        &url,
        "bench",
        &[],
    )
    .await?;
    let now = clock.now_ms();
    let started = Instant::now();
    let mut n = 0;
    while n < args.messages {
        let end = (n + BATCH).min(args.messages);
        let batch: Vec<Message> = (n..end)
            .map(|i| Message {
                id: ids::new_id(),
                webhook_id: sub.id.clone(),
                payment_id: ids[i % ids.len()].clone(),
                event_type: "card_payment_captured".into(),
                event_ms: now,
                resource: resource.clone(),
                secret_version: 1,
                status: DeliveryStatus::Pending,
                attempts: 0,
                next_attempt_ms: now,
                created_ms: now,
                triggered: false,
                overrides: None,
            })
            .collect();
        store.load_webhook_messages(&batch).await?;
        n = end;
    }
    println!(
        "loaded {} messages in {:.1} s",
        args.messages,
        started.elapsed().as_secs_f64()
    );

    let before = phase(
        node.local_addr,
        key.clone(),
        args.clients,
        Duration::from_secs(3),
        Some(ids.clone()),
    )
    .await?;
    let mut delivery = pence_webhooks::DeliverySettings::default();
    delivery.workers = args.workers.unwrap_or(delivery.workers);
    delivery.concurrency = args.concurrency.unwrap_or(delivery.concurrency);
    delivery.batch = args.batch.unwrap_or(delivery.batch);
    println!(
        "delivery: {} workers, {} at once each, batches of {}",
        delivery.workers, delivery.concurrency, delivery.batch
    );
    let delivery = pence_webhooks::Deliverer::new(
        store.clone(),
        clock.clone(),
        delivery,
        Arc::new(pence_webhooks::Metrics::default()),
        Arc::new(pence_telemetry::Telemetry::new()),
    )
    .spawn();
    let started = Instant::now();
    let during = phase(
        node.local_addr,
        key,
        args.clients,
        Duration::from_secs(3),
        Some(ids),
    )
    .await?;
    let want = args.messages as u64;
    while received.load(Ordering::Relaxed) < want {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(600),
            "only {} of {want} delivered in 10 minutes",
            received.load(Ordering::Relaxed)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed();
    // Every message's outcome is recorded, too.
    loop {
        let pending = store
            .webhook_message_counts()
            .await?
            .into_iter()
            .find(|(s, _)| s == "pending")
            .map_or(0, |(_, n)| n);
        if pending == 0 {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(660),
            "{pending} still pending"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let recorded = started.elapsed();
    delivery.abort();
    let rate = want as f64 / elapsed.as_secs_f64();
    println!(
        "delivered {want} in {:.2} s (all recorded at {:.2} s): {rate:.0} messages/s   target {TARGET_PER_SECOND:.0}/s: {:.2}x",
        elapsed.as_secs_f64(),
        recorded.as_secs_f64(),
        rate / TARGET_PER_SECOND
    );
    println!(
        "GET payment before: p50 {:.2} ms  p99 {:.2} ms ({:.0} req/s);  during delivery: p50 {:.2} ms  p99 {:.2} ms ({:.0} req/s)",
        before.percentile_ms(0.5),
        before.percentile_ms(0.99),
        before.ok as f64 / before.elapsed.as_secs_f64(),
        during.percentile_ms(0.5),
        during.percentile_ms(0.99),
        during.ok as f64 / during.elapsed.as_secs_f64(),
    );
    Ok(())
}
