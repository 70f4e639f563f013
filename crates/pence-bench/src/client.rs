//! `pence-bench client`: what pence-client costs per call over a plain HTTP call — the same
//! GET payment, parsed into the same pence-wire type, one at a time and from 64 tasks.

use std::time::{Duration, Instant};

use pence_client::Client;

#[derive(clap::Args, Debug)]
pub struct ClientBenchArgs {
    /// Calls of each kind.
    #[arg(long, default_value_t = 20_000)]
    calls: usize,
}

/// Concurrent callers in the throughput round.
const TASKS: usize = 64;

pub async fn run(database: Option<String>, args: ClientBenchArgs) -> anyhow::Result<()> {
    let node = crate::node::start(database).await?;
    let base = format!("http://{}", node.local_addr);
    let client = Client::new(node.key.clone()).with_base_url(&base);
    let created = client
        .create_payment(&pence_client::CreatePayment::new(
            1000,
            "BENCH",
            "Benchmark",
            "https://example.org/r",
        ))
        .await?;
    let id = created.payment_id;
    let raw = reqwest::Client::new();
    let url = format!("{base}/v1/payments/{id}");
    let key = node.key.clone();
    println!(
        "pence-bench client: GET payment, {} calls of each kind",
        args.calls
    );

    let plain = move || {
        let (raw, url, key) = (raw.clone(), url.clone(), key.clone());
        async move {
            let text = raw.get(&url).bearer_auth(&key).send().await?.text().await?;
            let p: pence_wire::Payment = serde_json::from_str(&text)?;
            anyhow::Ok(p)
        }
    };
    let typed = move || {
        let (client, id) = (client.clone(), id.clone());
        async move { anyhow::Ok(client.get_payment(&id).await?) }
    };
    for round in ["one at a time", "64 tasks"] {
        let tasks = if round == "64 tasks" { TASKS } else { 1 };
        let (plain_s, plain_p50) = time(args.calls, tasks, plain.clone()).await?;
        let (typed_s, typed_p50) = time(args.calls, tasks, typed.clone()).await?;
        println!(
            "{round:<14} plain reqwest {:>7.0}/s p50 {:>6.1} µs   pence-client {:>7.0}/s p50 {:>6.1} µs   overhead {:+.1} µs a call",
            args.calls as f64 / plain_s,
            plain_p50.as_secs_f64() * 1e6,
            args.calls as f64 / typed_s,
            typed_p50.as_secs_f64() * 1e6,
            (typed_s - plain_s) * 1e6 / args.calls as f64 * tasks as f64,
        );
    }
    Ok(())
}

/// `calls` calls from `tasks` tasks: seconds in all, and the median call.
async fn time<F, Fut>(calls: usize, tasks: usize, call: F) -> anyhow::Result<(f64, Duration)>
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = anyhow::Result<pence_wire::Payment>> + Send,
{
    let started = Instant::now();
    let mut handles = Vec::new();
    for t in 0..tasks {
        let call = call.clone();
        let n = calls / tasks + usize::from(t < calls % tasks);
        handles.push(tokio::spawn(async move {
            let mut took = Vec::with_capacity(n);
            for _ in 0..n {
                let at = Instant::now();
                call().await?;
                took.push(at.elapsed());
            }
            anyhow::Ok(took)
        }));
    }
    let mut all = Vec::with_capacity(calls);
    for h in handles {
        all.extend(h.await??);
    }
    let total = started.elapsed().as_secs_f64();
    all.sort_unstable();
    Ok((total, all[all.len() / 2]))
}
