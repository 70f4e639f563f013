//! `pence-bench search`: loads a service with a million payments (a month of them, with their
//! events and refunds) into a node's database, then times typical `GET /v1/payments`
//! searches over HTTP, one at a time, and prints p50/p99 against the 50 ms target.

use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use pence_core::journey::card::{Brand, CardType};
use pence_core::ledger::{EventKind, LedgerEvent};
use pence_core::payment::status::Status;
use pence_core::payment::{AuthorisationMode, CardDetails, Language, PaymentRecord, Prefilled};
use pence_core::ports::prelude::*;
use pence_core::refund::{RefundRecord, RefundStatus};
use pence_core::timefmt;
use rand::Rng;

use crate::api::Client;

#[derive(clap::Args, Debug)]
pub struct SearchBenchArgs {
    /// Payments to load.
    #[arg(long, default_value_t = 1_000_000)]
    payments: usize,
    /// Searches timed of each kind.
    #[arg(long, default_value_t = 200)]
    queries: usize,
}

/// The target: every typical search's p99 under 50 ms.
const P99_TARGET_MS: f64 = 50.0;
/// Issue 26's: the first search of every kind after a restart.
const FIRST_TARGET_MS: f64 = 250.0;
const DAY_MS: i64 = 24 * 60 * 60 * 1000;
const SPAN_DAYS: i64 = 30;
/// Payments loaded per change. A change runs in one SAVEPOINT, whose in-memory sub-journal
/// SQLite walks from its start at every statement: a change of 5,000 payments spent 82% of
/// the load there (perf), and the more the larger the database.
const BATCH: usize = 500;

pub async fn run(database: Option<String>, args: SearchBenchArgs) -> anyhow::Result<()> {
    let node = crate::node::start(database).await?;
    let engine = node.store.engine();
    println!(
        "pence-bench search: {engine}, {} payments over {SPAN_DAYS} days, {} searches of each kind",
        args.payments, args.queries
    );
    let first_ms = load(&node, args.payments).await?;
    let mut client = Client::connect(node.local_addr, &node.key).await?;
    let mut rng = rand::rng();
    let count = args.payments.max(1);
    let kinds: [(&str, Query); 9] = [
        (
            "by reference",
            Box::new(move |r| format!("reference={}", reference(r.random_range(0..count)))),
        ),
        (
            "by email fragment",
            // `user4821` matches user4821, user48210–9, user482100–99…: a few to a hundred.
            Box::new(move |r| format!("email=user{}", r.random_range(1000..count.max(1001)))),
        ),
        (
            "state + date range",
            Box::new(move |r| {
                let day = first_ms + r.random_range(0..SPAN_DAYS - 1) * DAY_MS;
                format!(
                    "state=success&from_date={}&to_date={}",
                    timefmt::date_time(day).replace(".000", ""),
                    timefmt::date_time(day + DAY_MS).replace(".000", "")
                )
            }),
        ),
        (
            // Page 2000 of a million: the last; smaller loads take their last page too.
            "deep page of 500",
            Box::new(move |_| format!("page={}&display_size=500", count.div_ceil(500).min(2000))),
        ),
        // Broad filters, each matching most of the history (issue 12): the page is cheap,
        // the exact total is not.
        (
            "broad email fragment",
            Box::new(|_| "email=example".to_string()),
        ),
        ("card brand", Box::new(|_| "card_brand=visa".to_string())),
        (
            "last four digits",
            Box::new(|r| format!("last_digits_card_number={:04}", r.random_range(0..10_000))),
        ),
        (
            "broad cardholder name",
            Box::new(|_| "cardholder_name=lovelace".to_string()),
        ),
        (
            "first six digits",
            Box::new(|_| "first_digits_card_number=424242".to_string()),
        ),
    ];
    let mut worst = f64::INFINITY;
    for (name, query) in &kinds {
        let mut latencies = Vec::with_capacity(args.queries);
        let mut results = 0u64;
        for _ in 0..args.queries {
            let q = query(&mut rng);
            let (took, count) = client.search(&q).await?;
            latencies.push(took);
            results += count;
        }
        let first = latencies[0].as_secs_f64() * 1000.0;
        latencies.sort_unstable();
        let pct = |q: f64| {
            let i = ((latencies.len() as f64 * q) as usize).min(latencies.len() - 1);
            latencies[i].as_secs_f64() * 1000.0
        };
        let p99 = pct(0.99);
        worst = worst.min(P99_TARGET_MS / p99);
        // The first of a repeated search counts every match; later ones only what changed
        // since (store/frozen.rs), so it is shown on its own.
        println!(
            "{name:<21} first {first:>7.2} ms   p50 {:>7.2} ms   p99 {p99:>7.2} ms   {:>6.1} results a page   p99 target {P99_TARGET_MS:.0} ms: {:.2}x",
            pct(0.5),
            results as f64 / args.queries as f64,
            P99_TARGET_MS / p99,
        );
    }
    println!("worst search against the p99 target: {worst:.2}x (above 1 meets it)");
    // A deploy: the node's memory of its counts is gone, the counts it kept are not.
    drop(client);
    let node = node.restart().await?;
    let mut client = Client::connect(node.local_addr, &node.key).await?;
    let mut slowest = 0f64;
    println!("after a restart, the first search of each kind (target {FIRST_TARGET_MS:.0} ms):");
    for (name, query) in &kinds {
        let (took, _) = client.search(&query(&mut rng)).await?;
        let ms = took.as_secs_f64() * 1000.0;
        slowest = slowest.max(ms);
        println!("{name:<21} first {ms:>7.2} ms");
    }
    println!(
        "slowest first search after a restart: {slowest:.1} ms, against the target {:.2}x",
        FIRST_TARGET_MS / slowest
    );
    println!(
        "after the searches: {:.0} MiB resident, {:.0} MiB at most",
        crate::mem::status_mib("VmRSS"),
        crate::mem::status_mib("VmHWM"),
    );
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct LoadArgs {
    /// Payments to load.
    #[arg(long, default_value_t = 1_000_000)]
    payments: usize,
}

/// `pence-bench load`: the search benchmark's history, stored in `--database` and left there
/// (for measuring `pence serve` on a grown database, `scripts/bench-grown`).
pub async fn run_load(database: Option<String>, args: LoadArgs) -> anyhow::Result<()> {
    anyhow::ensure!(database.is_some(), "pence-bench load needs --database");
    let node = crate::node::start(database).await?;
    load(&node, args.payments).await?;
    node.node.stop().await;
    Ok(())
}

/// Loads `payments` of a month's history for the node's service and freezes what is final,
/// as a running node leaves them; the history's first creation time.
async fn load(node: &crate::node::BenchNode, payments: usize) -> anyhow::Result<i64> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as i64;
    let first_ms = now - SPAN_DAYS * DAY_MS;
    let step = (SPAN_DAYS * DAY_MS) / payments.max(1) as i64;

    let started = Instant::now();
    let mut n = 0;
    while n < payments {
        let end = (n + BATCH).min(payments);
        let (payments, events, refunds) = history(
            &node.service.id,
            n..end,
            |i| first_ms + i as i64 * step,
            now,
        );
        node.store
            .load(&payments, &events, &refunds)
            .await
            .context("loading payments")?;
        n = end;
    }
    println!(
        "loaded in {:.1} s (with ~4 events a payment and a refund on one in twenty)",
        started.elapsed().as_secs_f64()
    );
    // The freezing sweep, as a running node does it a second at a time.
    let started = Instant::now();
    let mut frozen = 0;
    loop {
        let n = pence_core::sweeps::freeze(node.store.as_ref()).await?;
        frozen += n;
        if n == 0 {
            break;
        }
    }
    node.store.analyze().await?;
    println!(
        "froze {frozen} final payments in {:.1} s ({:.0}/s)",
        started.elapsed().as_secs_f64(),
        frozen as f64 / started.elapsed().as_secs_f64()
    );

    println!(
        "database {:.2} GiB; this process (node and searcher) {:.0} MiB resident, {:.0} MiB at most",
        node.store.database_bytes().await? as f64 / (1u64 << 30) as f64,
        crate::mem::status_mib("VmRSS"),
        crate::mem::status_mib("VmHWM"),
    );
    Ok(first_ms)
}

/// Makes one search's query string.
type Query = Box<dyn Fn(&mut rand::rngs::ThreadRng) -> String>;

fn reference(n: usize) -> String {
    format!("INV-{n:07}")
}

/// Payments `range` of a month's history: mostly captured (with card, capture and settlement
/// dates), some failed, cancelled or never finished; their events; a refund on one captured
/// payment in twenty.
/// Payments `range` of the history, as a running node would have left them: one in twenty
/// never paid for (expired by the sweep unless created in the last 90 minutes).
pub(crate) fn history(
    service_id: &str,
    range: std::ops::Range<usize>,
    created: impl Fn(usize) -> i64,
    now_ms: i64,
) -> (Vec<PaymentRecord>, Vec<LedgerEvent>, Vec<RefundRecord>) {
    let mut payments = Vec::with_capacity(range.len());
    let mut events = Vec::with_capacity(range.len() * 4);
    let mut refunds = Vec::new();
    for n in range {
        let at = created(n);
        let status = match n % 20 {
            0 if at > now_ms - pence_core::sweeps::EXPIRY_MS => Status::Created,
            0 => Status::Expired,
            1 => Status::AuthorisationRejected,
            2 => Status::UserCancelled,
            _ => Status::Captured,
        };
        let paid = !matches!(status, Status::Created | Status::Expired);
        let card = paid.then(|| CardDetails {
            first_digits: "424242".into(),
            last_digits: format!("{:04}", n % 10_000),
            cardholder_name: format!("Ada Lovelace {}", n % 1000),
            expiry: "04/31".into(),
            brand: Brand::parse("visa").expect("visa"),
            card_type: CardType::Credit,
            billing_address: None,
        });
        let captured = status == Status::Captured;
        let mut p = PaymentRecord {
            id: pence_core::ids::new_id(),
            service_id: service_id.to_string(),
            amount: 1000 + (n % 50_000) as i64,
            reference: reference(n),
            description: "Pay your council tax".into(),
            return_url: Some("https://your.service.gov.uk/completed".into()),
            language: Language::En,
            email: Some(format!("user{n}@example{}.org", n % 97)),
            delayed_capture: false,
            moto: false,
            authorisation_mode: AuthorisationMode::Web,
            metadata: None,
            prefilled: Prefilled::default(),
            payment_provider: "sandbox".into(),
            status,
            refund_submitted: 0,
            created_ms: at,
            updated_ms: at + 60_000,
            version: 4,
            card,
            provider_id: paid.then(pence_core::ids::new_id),
            three_ds_required: false,
            corporate_surcharge: None,
            capture_submit_ms: captured.then_some(at + 60_000),
            captured_ms: captured.then_some(at + 61_000),
            settled_ms: captured.then_some(at + 61_000 + DAY_MS),
            disputed: false,
            dispute_due_ms: None,
            agreement_id: None,
            agreement_payment_type: None,
            can_retry: None,
        };
        let mut event = |p: &PaymentRecord, kind: EventKind, status: Status, ms: i64| {
            events.push(LedgerEvent::new(p, kind, status, ms));
        };
        event(&p, EventKind::PaymentCreated, Status::Created, at);
        if status == Status::Expired {
            let expired = at + pence_core::sweeps::EXPIRY_MS;
            event(&p, EventKind::PaymentExpired, status, expired);
        }
        if paid {
            event(
                &p,
                EventKind::PaymentStarted,
                Status::EnteringCardDetails,
                at + 10_000,
            );
            let outcome = if status.external().status == "failed" {
                EventKind::AuthorisationRejected
            } else {
                EventKind::AuthorisationSucceeded
            };
            event(&p, outcome, status, at + 60_000);
        }
        if captured {
            event(
                &p,
                EventKind::CaptureConfirmed,
                Status::Captured,
                at + 61_000,
            );
            if n % 20 == 7 {
                p.refund_submitted = 500;
                refunds.push(RefundRecord {
                    id: pence_core::ids::new_id(),
                    payment_id: p.id.clone(),
                    service_id: p.service_id.clone(),
                    amount: 500,
                    status: RefundStatus::Success,
                    created_ms: at + 2 * DAY_MS,
                    updated_ms: at + 2 * DAY_MS,
                    settled_ms: Some(at + 3 * DAY_MS),
                });
                event(
                    &p,
                    EventKind::RefundSucceeded,
                    Status::Captured,
                    at + 2 * DAY_MS,
                );
            }
        }
        payments.push(p);
    }
    (payments, events, refunds)
}

impl Client {
    /// Runs one search; how long the whole response took, and how many results it had.
    async fn search(&mut self, query: &str) -> anyhow::Result<(Duration, u64)> {
        let req = hyper::Request::get(format!("http://{}/v1/payments?{query}", self.host))
            .header("host", &self.host)
            .header("authorization", &self.auth)
            .body(Full::new(Bytes::new()))?;
        let sent = Instant::now();
        self.sender.ready().await?;
        let resp = self.sender.send_request(req).await?;
        let status = resp.status();
        let body = resp.into_body().collect().await?.to_bytes();
        let took = sent.elapsed();
        anyhow::ensure!(
            status == 200,
            "search {query} answered {status}: {}",
            String::from_utf8_lossy(&body)
        );
        let page: serde_json::Value = serde_json::from_slice(&body)?;
        Ok((took, page["count"].as_u64().unwrap_or(0)))
    }
}
