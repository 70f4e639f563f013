//! `pence-bench journey`: complete card payments through the real pages over HTTP, as N
//! paying users at once: create (API), open next_url and the card page, submit the card,
//! confirm, return to the service. Journeys/s and the p50/p99 of each step, optionally with a
//! webhook subscriber attached (every journey then writes and delivers its messages too).

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use pence_core::webhook::subscription;

#[derive(clap::Args, Debug)]
pub struct JourneyBenchArgs {
    /// Paying users at once.
    #[arg(long, default_value_t = 16)]
    users: usize,
    /// Seconds of journeys.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Attach a webhook subscriber (a local receiver answering 200) and deliver in the
    /// background.
    #[arg(long, conflicts_with = "url")]
    webhooks: bool,
    /// Drive a node already running at this URL (`pence serve` as shipped, access log on)
    /// instead of one started in this process.
    #[arg(long, requires = "key")]
    url: Option<String>,
    /// A test API key of that node's service (`pence key create`).
    #[arg(long, requires = "url")]
    key: Option<String>,
}

const STEPS: [&str; 5] = ["create", "open", "card", "confirm", "return"];

fn csrf_of(page: &str) -> anyhow::Result<String> {
    let at = page
        .find("name=\"csrfToken\" value=\"")
        .context("no csrf field")?
        + 24;
    let len = page[at..].find('"').context("no csrf value")?;
    Ok(page[at..at + len].to_string())
}

/// Answers every request with 200 at once, counting them.
async fn receiver(count: Arc<AtomicU64>) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let count = count.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |_req| {
                    count.fetch_add(1, Ordering::Relaxed);
                    async { Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::new()))) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(url)
}

/// One journey; the time each step took.
async fn journey(c: &reqwest::Client, base: &str, key: &str) -> anyhow::Result<[Duration; 5]> {
    let mut took = [Duration::ZERO; 5];
    let at = Instant::now();
    let created: serde_json::Value = c
        .post(format!("{base}/v1/payments"))
        .bearer_auth(key)
        .json(
            &serde_json::json!({"amount": 1450, "reference": "JOURNEY", "description": "Bench",
            "return_url": "https://service.example/return"}),
        )
        .send()
        .await?
        .json()
        .await?;
    took[0] = at.elapsed();
    let id = created["payment_id"].as_str().context("no payment id")?;
    let next = created["_links"]["next_url"]["href"]
        .as_str()
        .context("no next_url")?;

    let at = Instant::now();
    let opened = c.get(next).send().await?;
    anyhow::ensure!(
        opened.status() == 303,
        "next_url answered {}",
        opened.status()
    );
    let card_page = format!("{base}/card_details/{id}");
    let page = c.get(&card_page).send().await?.text().await?;
    let csrf = csrf_of(&page)?;
    took[1] = at.elapsed();

    let at = Instant::now();
    let form = [
        ("csrfToken", csrf.as_str()),
        ("cardNo", "4444333322221111"),
        ("expiryMonth", "04"),
        ("expiryYear", "31"),
        ("cardholderName", "Ada Lovelace"),
        ("cvc", "123"),
        ("addressLine1", "1 Example Street"),
        ("addressCity", "London"),
        ("addressPostcode", "SW1A 1AA"),
        ("addressCountry", "GB"),
        ("email", "ada@example.org"),
    ];
    let submitted = c.post(&card_page).form(&form).send().await?;
    anyhow::ensure!(
        submitted.status() == 303,
        "card details answered {}",
        submitted.status()
    );
    took[2] = at.elapsed();

    let at = Instant::now();
    let confirmed = c
        .post(format!("{card_page}/confirm"))
        .form(&[("csrfToken", csrf.as_str())])
        .send()
        .await?;
    anyhow::ensure!(
        confirmed.status() == 303,
        "confirm answered {}",
        confirmed.status()
    );
    let back = confirmed.headers()["location"].to_str()?.to_string();
    took[3] = at.elapsed();

    let at = Instant::now();
    let returned = c.get(format!("{base}{back}")).send().await?;
    anyhow::ensure!(
        returned.status() == 303,
        "return answered {}",
        returned.status()
    );
    took[4] = at.elapsed();
    Ok(took)
}

pub async fn run(database: Option<String>, args: JourneyBenchArgs) -> anyhow::Result<()> {
    if let (Some(url), Some(key)) = (&args.url, &args.key) {
        println!(
            "pence-bench journey: the node at {url}, {} paying users, {} s",
            args.users, args.seconds
        );
        return journeys(url.trim_end_matches('/'), key, &args, None).await;
    }
    let node = crate::node::start(database).await?;
    let base = format!("http://{}", node.local_addr);
    let delivered = Arc::new(AtomicU64::new(0));
    if args.webhooks {
        let url = receiver(delivered.clone()).await?;
        subscription::create(
            node.store.as_ref(),
            node.clock.as_ref(),
            pence_core::staff::Actor::Operator,
            &node.service,
            &url,
            "bench",
            &[],
        )
        .await?;
        // Delivery runs beside the journeys, as on a serving node.
        let _delivering = node.deliverer.spawn();
    }
    println!(
        "pence-bench journey: {}, {} paying users, {} s{}",
        pence_core::InstanceStore::engine(node.store.as_ref()),
        args.users,
        args.seconds,
        if args.webhooks {
            ", webhook subscriber attached"
        } else {
            ""
        }
    );
    journeys(&base, &node.key, &args, args.webhooks.then_some(&delivered)).await
}

/// Runs the paying users against `base` and prints journeys/s and each step's latency.
async fn journeys(
    base: &str,
    key: &str,
    args: &JourneyBenchArgs,
    delivered: Option<&AtomicU64>,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let key = Arc::new(key.to_string());
    let mut users = Vec::new();
    for _ in 0..args.users {
        let (base, key) = (base.to_string(), key.clone());
        users.push(tokio::spawn(async move {
            let c = reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()?;
            let mut all = Vec::new();
            while Instant::now() < deadline {
                all.push(journey(&c, &base, &key).await?);
            }
            anyhow::Ok(all)
        }));
    }
    let started = Instant::now();
    let mut journeys = Vec::new();
    for u in users {
        journeys.extend(u.await??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "journeys   {:>7.0}/s  ({} complete card payments, 6 requests each)",
        journeys.len() as f64 / elapsed,
        journeys.len()
    );
    if let Some(delivered) = delivered {
        println!(
            "webhooks   {} card_payment_succeeded messages delivered while the journeys ran",
            delivered.load(Ordering::Relaxed)
        );
    }
    for (i, step) in STEPS.iter().enumerate() {
        let mut t: Vec<Duration> = journeys.iter().map(|j| j[i]).collect();
        t.sort_unstable();
        let pct = |p: f64| t[((t.len() - 1) as f64 * p) as usize].as_secs_f64() * 1e3;
        println!(
            "{step:<8} p50 {:>6.2} ms   p99 {:>6.2} ms",
            pct(0.5),
            pct(0.99)
        );
    }
    Ok(())
}
