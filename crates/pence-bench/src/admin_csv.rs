//! `pence-bench admin-csv`: the admin tool's `#download-csv` over HTTP for a service with N
//! payments: signed in as its admin (password, then the authenticator code), the whole CSV
//! downloaded; rows/s, and the process's resident memory before and at its peak while the
//! answer streams (the node runs in this process), to show the download's memory does not
//! grow with its size.

use std::time::{Duration, Instant};

use anyhow::Context;
use pence_core::ports::prelude::*;
use pence_core::service::administer::{self, Actor};
use pence_core::staff;
use pence_core::staff::{secrets, Role};

#[derive(clap::Args, Debug)]
pub struct AdminCsvBenchArgs {
    /// Payments to load and download.
    #[arg(long, default_value_t = 100_000)]
    payments: usize,
}

fn rss_mib() -> f64 {
    crate::mem::status_mib("VmRSS")
}

fn csrf_of(page: &str) -> anyhow::Result<String> {
    let at = page
        .find("name=\"csrfToken\" value=\"")
        .context("no csrf field")?
        + 24;
    Ok(page[at..at + page[at..].find('"').context("csrf")?].to_string())
}

pub async fn run(database: Option<String>, args: AdminCsvBenchArgs) -> anyhow::Result<()> {
    const BATCH: usize = 5_000;
    let node = crate::node::start(database).await?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as i64;
    let mut n = 0;
    while n < args.payments {
        let end = (n + BATCH).min(args.payments);
        let (payments, events, refunds) =
            crate::search::history(&node.service.id, n..end, |i| now - 1000 - i as i64, now);
        node.store.load(&payments, &events, &refunds).await?;
        n = end;
    }
    let base = format!("http://{}", node.local_addr);
    let store = node.store.as_ref() as &dyn Store;
    let email = "bench@council.example";
    let password = "a bench password";
    let (_, token) = administer::invite_user(
        store,
        node.clock.as_ref(),
        Actor::Operator,
        email,
        &node.service.id,
        Role::Admin,
    )
    .await?;
    staff::operations::set_password(store, node.clock.as_ref(), &token, password, password).await?;
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let login = c
        .get(format!("{base}/admin/login"))
        .send()
        .await?
        .text()
        .await?;
    let form = [
        ("csrfToken", csrf_of(&login)?),
        ("email", email.into()),
        ("password", password.into()),
    ];
    c.post(format!("{base}/admin/login"))
        .form(&form)
        .send()
        .await?;
    let two = c
        .get(format!("{base}/admin/two-factor"))
        .send()
        .await?
        .text()
        .await?;
    let user = store.user_by_email(email).await?.context("the user")?;
    let secret = user.totp_secret.context("the authenticator secret")?;
    let code = secrets::code_at(
        &secret,
        email,
        pence_core::clock::Clock::now_ms(node.clock.as_ref()),
    )
    .context("a code")?;
    let done = c
        .post(format!("{base}/admin/two-factor"))
        .form(&[("csrfToken", csrf_of(&two)?), ("code", code)])
        .send()
        .await?;
    anyhow::ensure!(
        done.status() == 303,
        "two-factor answered {}",
        done.status()
    );

    println!(
        "pence-bench admin-csv: {}, {} payments, signed in as the service's admin",
        store.engine(),
        args.payments
    );
    let before = rss_mib();
    let started = Instant::now();
    let mut resp = c
        .get(format!(
            "{base}/admin/services/{}/transactions/download",
            node.service.id
        ))
        .send()
        .await?;
    anyhow::ensure!(resp.status() == 200, "download answered {}", resp.status());
    let (mut bytes, mut lines, mut peak, mut first) = (0usize, 0usize, before, None);
    while let Some(chunk) = resp.chunk().await? {
        first.get_or_insert_with(|| started.elapsed());
        bytes += chunk.len();
        lines += chunk.iter().filter(|b| **b == b'\n').count();
        peak = peak.max(rss_mib());
    }
    let took = started.elapsed();
    anyhow::ensure!(
        lines == args.payments + 1,
        "{lines} lines for {} payments",
        args.payments
    );
    println!(
        "downloaded {} rows ({:.1} MiB) in {:.2} s: {:.0} rows/s; first bytes after {:.0} ms",
        args.payments,
        bytes as f64 / 1048576.0,
        took.as_secs_f64(),
        args.payments as f64 / took.as_secs_f64(),
        first.unwrap_or(Duration::ZERO).as_secs_f64() * 1e3
    );
    println!(
        "resident memory: {before:.1} MiB before, {peak:.1} MiB at most while streaming (+{:.1} MiB)",
        peak - before
    );
    Ok(())
}
