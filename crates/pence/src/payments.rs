//! `pence payment …`: payments for a person at a terminal — a filtered list, one payment with
//! its events and refunds, and a CSV export of a filtered list in GOV.UK Pay's columns. The
//! filters are the search API's parameters as flags, checked by the same use case.

use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Args, Subcommand, ValueEnum};
use pence_core::payment::PaymentRecord;
use pence_core::payment::{self, export};
use pence_core::refusal::{Failure, Invalid, Refusal};
use pence_core::service::Service;
use pence_core::{refund, search, service, timefmt, Store};

use crate::config::Settings;
use crate::serve::existing_store;
use crate::table;

#[derive(Subcommand)]
pub enum PaymentCommand {
    /// A page of payments, newest first.
    List {
        #[command(flatten)]
        filters: Filters,
        /// Which page (1 is the newest).
        #[arg(long, default_value_t = 1)]
        page: u32,
        /// Payments a page (1 to 500).
        #[arg(long, default_value_t = 20)]
        display_size: u32,
    },
    /// One payment, its events and its refunds.
    Show {
        /// The payment's id.
        id: String,
        /// The service it belongs to (default: the first sandbox test service).
        #[arg(long)]
        service: Option<String>,
    },
    /// Every payment the filters find, as CSV on stdout.
    Export {
        #[command(flatten)]
        filters: Filters,
        /// The output format.
        #[arg(long, value_enum, default_value_t = Format::Csv)]
        format: Format,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Csv,
}

/// The search API's filters (reference §12), as flags.
#[derive(Args)]
pub struct Filters {
    /// The service whose payments (default: the first sandbox test service).
    #[arg(long)]
    service: Option<String>,
    /// Part of the reference, any case.
    #[arg(long)]
    reference: Option<String>,
    /// Part of the email address, any case.
    #[arg(long)]
    email: Option<String>,
    /// created, started, submitted, capturable, success, failed, cancelled or error.
    #[arg(long)]
    state: Option<String>,
    /// The card brand, e.g. visa.
    #[arg(long)]
    card_brand: Option<String>,
    /// The card's first six digits.
    #[arg(long)]
    first_digits_card_number: Option<String>,
    /// The card's last four digits.
    #[arg(long)]
    last_digits_card_number: Option<String>,
    /// Part of the cardholder's name, any case.
    #[arg(long)]
    cardholder_name: Option<String>,
    /// Created after this time (e.g. 2026-11-30T00:00:00Z).
    #[arg(long)]
    from_date: Option<String>,
    /// Created before this time.
    #[arg(long)]
    to_date: Option<String>,
}

impl Filters {
    /// The filters as the search API's query parameters.
    fn params(&self) -> Vec<(String, String)> {
        [
            ("reference", &self.reference),
            ("email", &self.email),
            ("state", &self.state),
            ("card_brand", &self.card_brand),
            ("first_digits_card_number", &self.first_digits_card_number),
            ("last_digits_card_number", &self.last_digits_card_number),
            ("cardholder_name", &self.cardholder_name),
            ("from_date", &self.from_date),
            ("to_date", &self.to_date),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k.to_string(), v.clone())))
        .collect()
    }
}

/// What a filter takes, for the error naming it.
fn expected(param: &str) -> Option<&'static str> {
    Some(match param {
        "from_date" | "to_date" => "a date and time like 2026-11-30T09:00:00Z",
        "state" => "created, started, submitted, capturable, success, failed, cancelled or error",
        "first_digits_card_number" => "the card's first 6 digits",
        "last_digits_card_number" => "the card's last 4 digits",
        "page" => "a page number from 1",
        "display_size" => "1 to 500",
        _ => return None,
    })
}

async fn service(store: &dyn Store, id: Option<&str>) -> anyhow::Result<Service> {
    Ok(match id {
        Some(id) => store
            .service(id)
            .await?
            .with_context(|| format!("no service {id}"))?,
        None => service::default_service(store)
            .await?
            .context("no sandbox test service: name one with --service")?,
    })
}

/// One page of the search, or what was wrong with the filters.
async fn search(
    store: &dyn Store,
    service: &Service,
    mut params: Vec<(String, String)>,
    page: u32,
    display_size: u32,
) -> anyhow::Result<(u64, Vec<PaymentRecord>)> {
    params.push(("page".into(), page.to_string()));
    params.push(("display_size".into(), display_size.to_string()));
    match search::search_payments(store, service, &params).await {
        Ok((_, total, rows)) => Ok((total, rows)),
        Err(Failure::Refused(Refusal::Invalid(Invalid::Params(bad)))) => {
            let flags: Vec<String> = bad
                .iter()
                .map(|p| match expected(p) {
                    Some(form) => format!("--{} ({form})", p.replace('_', "-")),
                    None => format!("--{}", p.replace('_', "-")),
                })
                .collect();
            bail!("invalid {}", flags.join(", "))
        }
        // A page past the end: none of its rows, but the true total (from the first page).
        Err(Failure::Refused(Refusal::PageNotFound)) => {
            params.retain(|(k, _)| k != "page" && k != "display_size");
            params.push(("display_size".into(), "1".into()));
            let total = match search::search_payments(store, service, &params).await {
                Ok((_, total, _)) => total,
                Err(_) => 0,
            };
            Ok((total, Vec::new()))
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn run(settings: &Settings, cmd: PaymentCommand) -> anyhow::Result<()> {
    let store: Arc<dyn Store> = existing_store(settings).await?;
    let store = store.as_ref();
    match cmd {
        PaymentCommand::List {
            filters,
            page,
            display_size,
        } => {
            let service = service(store, filters.service.as_deref()).await?;
            let (total, rows) =
                search(store, &service, filters.params(), page, display_size).await?;
            let mut t = table::new(&["ID", "CREATED", "AMOUNT", "STATE", "REFERENCE"]);
            for p in &rows {
                t.add_row(vec![
                    p.id.clone(),
                    table::minute(p.created_ms),
                    export::pounds(p.total()),
                    p.status.external().status.into(),
                    p.reference.clone(),
                ]);
            }
            table::print(&t);
            eprintln!("{} of {total} (page {page})", rows.len());
        }
        PaymentCommand::Show { id, service: sid } => {
            let service = service(store, sid.as_deref()).await?;
            let (p, events) = payment::payment_events(store, &service, &id)
                .await
                .map_err(|_| anyhow::anyhow!("no payment {id} in service {}", service.id))?;
            let state = p.status.external();
            let mut t = table::new(&["FIELD", "VALUE"]);
            let mut row = |k: &str, v: String| {
                t.add_row(vec![k.to_string(), v]);
            };
            row("id", p.id.clone());
            row("reference", p.reference.clone());
            row("description", p.description.clone());
            row("amount", export::pounds(p.amount));
            if let Some(s) = p.corporate_surcharge {
                row("corporate surcharge", export::pounds(s));
            }
            row(
                "state",
                match state.code {
                    Some(code) => format!("{} ({code})", state.status),
                    None => state.status.to_string(),
                },
            );
            row("internal status", p.status.to_string());
            row("created", timefmt::date_time(p.created_ms));
            if let Some(email) = &p.email {
                row("email", email.clone());
            }
            if let Some(c) = &p.card {
                row(
                    "card",
                    format!(
                        "{} ending {} expiring {}",
                        c.brand.label(),
                        c.last_digits,
                        c.expiry
                    ),
                );
                row("cardholder", c.cardholder_name.clone());
            }
            if let Some(id) = &p.provider_id {
                row("provider id", id.clone());
            }
            row("refunded", export::pounds(p.refund_submitted));
            table::print(&t);
            let mut t = table::new(&["TIME", "EVENT", "STATUS"]);
            for e in events {
                t.add_row(vec![
                    timefmt::date_time(e.created_ms),
                    e.kind.to_string(),
                    e.status.to_string(),
                ]);
            }
            println!();
            table::print(&t);
            let refunds = refund::refunds(store, &service, &id).await?;
            if !refunds.is_empty() {
                let mut t = table::new(&["REFUND", "CREATED", "AMOUNT", "STATUS"]);
                for r in refunds {
                    t.add_row(vec![
                        r.id,
                        table::minute(r.created_ms),
                        export::pounds(r.amount),
                        r.status.as_str().into(),
                    ]);
                }
                println!();
                table::print(&t);
            }
        }
        PaymentCommand::Export { filters, format } => {
            let Format::Csv = format;
            let service = service(store, filters.service.as_deref()).await?;
            export_csv(store, &service, filters.params()).await?;
        }
    }
    Ok(())
}

/// The service's payments matching `params` as GOV.UK Pay's CSV, a page at a time so a large
/// export never sits in memory whole: a first pass finds the metadata keys (the header's extra
/// columns), the second writes the rows.
async fn export_csv(
    store: &dyn Store,
    service: &Service,
    params: Vec<(String, String)>,
) -> anyhow::Result<()> {
    const PAGE: u32 = 500;
    let mut keys = std::collections::BTreeSet::new();
    for_each_page(store, service, &params, PAGE, |rows| {
        for p in rows {
            export::collect_metadata_keys(p, &mut keys);
        }
        Ok(())
    })
    .await?;
    let mut out = csv::Writer::from_writer(std::io::stdout().lock());
    out.write_record(export::csv_header(&keys))?;
    for_each_page(store, service, &params, PAGE, |rows| {
        for p in rows {
            out.write_record(export::csv_row(p, &keys))?;
        }
        out.flush()?;
        Ok(())
    })
    .await
}

/// Calls `each` with every page of the search, in order.
async fn for_each_page(
    store: &dyn Store,
    service: &Service,
    params: &[(String, String)],
    size: u32,
    mut each: impl FnMut(&[PaymentRecord]) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut page = 1;
    loop {
        let (total, rows) = search(store, service, params.to_vec(), page, size).await?;
        each(&rows)?;
        if rows.is_empty() || u64::from(page) * u64::from(size) >= total {
            return Ok(());
        }
        page += 1;
    }
}
