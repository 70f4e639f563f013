//! `pence-bench month`: a test service's clock moved 30 days in one control-API call, over
//! 100,000 payments made in the last hour (most captured and waiting to be paid out, one in
//! twenty never paid for) and 1,000 agreements each with a payment queued for its saved card.
//! Every timer on the way fires in order, dated when it was due (`sandbox::timeline`). Prints
//! the move's time against the 5-second target and what it did.

use std::time::Instant;

use anyhow::Context;
use pence_core::payment::status::Status;
use serde_json::{json, Value};

use crate::search::history;

#[derive(clap::Args, Debug)]
pub struct MonthBenchArgs {
    /// Payments made in the hour before the move.
    #[arg(long, default_value_t = 100_000)]
    payments: usize,
    /// Active agreements, each with a payment queued for its saved card.
    #[arg(long, default_value_t = 1_000)]
    agreements: usize,
}

const TARGET_SECONDS: f64 = 5.0;
const HOUR_MS: i64 = 3_600_000;
const BATCH: usize = 5_000;

pub async fn run(database: Option<String>, args: MonthBenchArgs) -> anyhow::Result<()> {
    let node = crate::node::start(database).await?;
    let mut service = node.service.clone();
    service.recurring_enabled = true;
    pence_core::ports::ServiceStore::update_service(node.store.as_ref(), &service, None).await?;
    println!(
        "pence-bench month: {}, {} payments, {} agreements, 30 days in one move",
        pence_core::ports::InstanceStore::engine(node.store.as_ref()),
        args.payments,
        args.agreements
    );
    let now = pence_core::clock::system_now_ms();
    let step = HOUR_MS / args.payments.max(1) as i64;
    let mut n = 0;
    while n < args.payments {
        let end = (n + BATCH).min(args.payments);
        let (mut payments, events, refunds) = history(
            &service.id,
            n..end,
            |i| now - HOUR_MS + i as i64 * step,
            now,
        );
        // Paid out a day after capture: that is one of the month's timers.
        for p in payments.iter_mut().filter(|p| p.status == Status::Captured) {
            p.settled_ms = None;
        }
        node.store
            .load(&payments, &events, &refunds)
            .await
            .context("loading payments")?;
        n = end;
    }

    let base = format!("http://{}", node.local_addr);
    let http = reqwest::Client::new();
    let call = |method: reqwest::Method, path: &str, body: Value| {
        http.request(method, format!("{base}{path}"))
            .bearer_auth(&node.key)
            .json(&body)
            .send()
    };
    let made: Value = call(
        reqwest::Method::POST,
        "/sandbox/v1/fixtures",
        json!({"agreements": [{"count": args.agreements, "state": "active"}]}),
    )
    .await?
    .error_for_status()?
    .json()
    .await?;
    let agreements = made["agreements"].as_array().context("agreements made")?;
    for a in agreements {
        call(
            reqwest::Method::POST,
            "/v1/payments",
            json!({"amount": 1200, "reference": "monthly", "description": "Monthly fee",
                   "agreement_id": a["agreement_id"], "authorisation_mode": "agreement"}),
        )
        .await?
        .error_for_status()?;
    }

    let started = Instant::now();
    let moved: Value = call(
        reqwest::Method::POST,
        "/sandbox/v1/clock",
        json!({"advance_seconds": 30 * 24 * 3600}),
    )
    .await?
    .error_for_status()?
    .json()
    .await?;
    let took = started.elapsed().as_secs_f64();
    let s = &moved["swept"];
    println!(
        "30 days: {took:.2} s (target < {TARGET_SECONDS:.0} s: {})",
        if took < TARGET_SECONDS {
            "met"
        } else {
            "not met"
        }
    );
    println!(
        "  fired: {} paid out, {} expired, {} captured, {} agreement payments, {} disputes",
        s["settled"], s["expired"], s["captured"], s["recurring"], s["disputes"]
    );
    node.node.stop().await;
    Ok(())
}
