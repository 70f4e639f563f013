//! `pence payment …`: payments for a person at a terminal — a filtered list, one payment with
//! its events and refunds, and a CSV export of a filtered list in GOV.UK Pay's columns. The
//! filters are the search API's parameters as flags, checked by the same use case.

use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Args, Subcommand, ValueEnum};
use pence_core::payment::PaymentRecord;
use pence_core::refusal::{Failure, Invalid, Refusal};
use pence_core::service::Service;
use pence_core::{timefmt, usecases, Store};

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

async fn service(store: &dyn Store, id: Option<&str>) -> anyhow::Result<Service> {
    Ok(match id {
        Some(id) => store
            .service(id)
            .await?
            .with_context(|| format!("no service {id}"))?,
        None => usecases::default_service(store)
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
    match usecases::search_payments(store, service, &params).await {
        Ok((_, total, rows)) => Ok((total, rows)),
        Err(Failure::Refused(Refusal::Invalid(Invalid::Params(bad)))) => {
            let flags: Vec<String> = bad
                .iter()
                .map(|p| format!("--{}", p.replace('_', "-")))
                .collect();
            bail!("invalid {}", flags.join(", "))
        }
        Err(Failure::Refused(Refusal::PageNotFound)) => Ok((0, Vec::new())),
        Err(e) => Err(e.into()),
    }
}

/// `£1.23` as GOV.UK Pay's CSV writes amounts: `1.23`.
fn pounds(pence: i64) -> String {
    let sign = if pence < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", pence.abs() / 100, pence.abs() % 100)
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
            let mut t = table::new(&["ID", "CREATED", "AMOUNT", "STATE", "REFERENCE"], &[0]);
            for p in &rows {
                t.add_row(vec![
                    p.id.clone(),
                    table::minute(p.created_ms),
                    pounds(p.total()),
                    p.status.external().status.into(),
                    p.reference.clone(),
                ]);
            }
            table::print(&t);
            eprintln!("{} of {total} (page {page})", rows.len());
        }
        PaymentCommand::Show { id, service: sid } => {
            let service = service(store, sid.as_deref()).await?;
            let (p, events) = usecases::payment_events(store, &service, &id)
                .await
                .map_err(|_| anyhow::anyhow!("no payment {id} in service {}", service.id))?;
            let state = p.status.external();
            let mut t = table::new(&["FIELD", "VALUE"], &[]);
            let mut row = |k: &str, v: String| {
                t.add_row(vec![k.to_string(), v]);
            };
            row("id", p.id.clone());
            row("reference", p.reference.clone());
            row("description", p.description.clone());
            row("amount", pounds(p.amount));
            if let Some(s) = p.corporate_surcharge {
                row("corporate surcharge", pounds(s));
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
            row("refunded", pounds(p.refund_submitted));
            table::print(&t);
            let mut t = table::new(&["TIME", "EVENT", "STATUS"], &[]);
            for e in events {
                t.add_row(vec![
                    timefmt::date_time(e.created_ms),
                    e.kind.to_string(),
                    e.status.to_string(),
                ]);
            }
            println!();
            table::print(&t);
            let refunds = usecases::refunds(store, &service, &id).await?;
            if !refunds.is_empty() {
                let mut t = table::new(&["REFUND", "CREATED", "AMOUNT", "STATUS"], &[0]);
                for r in refunds {
                    t.add_row(vec![
                        r.id,
                        table::minute(r.created_ms),
                        pounds(r.amount),
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

/// GOV.UK Pay's transaction CSV columns (its ledger's download), a page at a time so a large
/// export never sits in memory whole.
const CSV_COLUMNS: [&str; 21] = [
    "Reference",
    "Description",
    "Email",
    "Amount",
    "Card Brand",
    "Cardholder Name",
    "Card Expiry Date",
    "Card Number",
    "State",
    "Finished",
    "Error Code",
    "Error Message",
    "Provider ID",
    "GOV.UK Payment ID",
    "Issued By",
    "Date Created",
    "Time Created",
    "Corporate Card Surcharge",
    "Total Amount",
    "Wallet Type",
    "Card Type",
];

/// How GOV.UK Pay's CSV names a payment's state.
fn csv_state(p: &PaymentRecord) -> &'static str {
    let s = p.status.external();
    match (s.status, s.code) {
        ("success", _) => "Success",
        ("failed", Some("P0010")) => "Declined",
        ("failed", Some("P0020")) => "Timed out",
        ("failed", _) | ("cancelled", _) => "Cancelled",
        ("error", _) => "Error",
        _ => "In progress",
    }
}

async fn export_csv(
    store: &dyn Store,
    service: &Service,
    params: Vec<(String, String)>,
) -> anyhow::Result<()> {
    const PAGE: u32 = 500;
    let mut out = csv::Writer::from_writer(std::io::stdout().lock());
    out.write_record(CSV_COLUMNS)?;
    let mut page = 1;
    loop {
        let (total, rows) = search(store, service, params.clone(), page, PAGE).await?;
        for p in &rows {
            let s = p.status.external();
            let card = p.card.as_ref();
            let created = timefmt::date_time(p.created_ms);
            let date = time_parts(&created);
            out.write_record([
                p.reference.as_str(),
                p.description.as_str(),
                p.email.as_deref().unwrap_or(""),
                &pounds(p.amount),
                card.map_or("", |c| c.brand.label()),
                card.map_or("", |c| c.cardholder_name.as_str()),
                card.map_or("", |c| c.expiry.as_str()),
                card.map_or("", |c| c.last_digits.as_str()),
                csv_state(p),
                if s.finished { "true" } else { "false" },
                s.code.unwrap_or(""),
                s.message.unwrap_or(""),
                p.provider_id.as_deref().unwrap_or(""),
                p.id.as_str(),
                "",
                &date.0,
                &date.1,
                &pounds(p.corporate_surcharge.unwrap_or(0)),
                &pounds(p.total()),
                "",
                card.and_then(|c| c.card_type.api()).unwrap_or(""),
            ])?;
        }
        out.flush()?;
        if rows.is_empty() || u64::from(page) * u64::from(PAGE) >= total {
            break;
        }
        page += 1;
    }
    Ok(())
}

/// `12 Mar 2018` and `16:25:01` from an ISO date-time, as GOV.UK Pay's CSV writes them.
fn time_parts(iso: &str) -> (String, String) {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month: usize = iso[5..7].parse().unwrap_or(1);
    let date = format!(
        "{} {} {}",
        &iso[8..10],
        MONTHS[month.clamp(1, 12) - 1],
        &iso[..4]
    );
    (date, iso[11..19].to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn amounts_and_dates_as_gov_uk_pay_writes_them() {
        assert_eq!(super::pounds(123), "1.23");
        assert_eq!(super::pounds(5), "0.05");
        assert_eq!(super::pounds(-2000), "-20.00");
        assert_eq!(
            super::time_parts("2018-03-12T16:25:01.000Z"),
            ("12 Mar 2018".to_string(), "16:25:01".to_string())
        );
    }
}
