//! `pence-bench`: Pence's benchmarks, kept out of the product binary. Each starts a real node
//! (`pence_node::Node`) on loopback — a temporary SQLite file unless `--database` names
//! another — drives it over HTTP from the same machine, and prints figures and their ratio
//! to the target. Benchmarks measure; tests never assert times.

#![cfg_attr(not(test), warn(clippy::unwrap_used))]

mod admin_csv;
mod api;
mod client;
mod consumer;
mod journey;
mod mem;
mod month;
mod node;
mod search;
mod webhooks;

use clap::{Parser, Subcommand};

// As in `pence`: the node under test runs with the allocator it ships with.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "pence-bench", version, about = "Benchmarks of a Pence node")]
struct Cli {
    /// The database to run on (`postgres://…` or a SQLite path); a temporary SQLite file
    /// when not given.
    #[arg(long, env = "PENCE_DATABASE_URL", global = true)]
    database: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The admin tool's CSV download of N payments: rows/s and memory while it streams.
    AdminCsv(admin_csv::AdminCsvBenchArgs),
    /// Create-payment and get-payment throughput and latency.
    Api(api::BenchArgs),
    /// What pence-client costs per call over a plain HTTP call.
    Client(client::ClientBenchArgs),
    /// The connector's webhook consumer: messages/s accepted and processed.
    Consumer(consumer::ConsumerBenchArgs),
    /// Complete card payments through the pages over HTTP, N paying users at once.
    Journey(journey::JourneyBenchArgs),
    /// A test service's clock moved 30 days over 100,000 payments and 1,000 agreements.
    Month(month::MonthBenchArgs),
    /// Store a month of payments (a million by default) in --database, and stop.
    Load(search::LoadArgs),
    /// Load a million payments and time typical searches (p50/p99).
    Search(search::SearchBenchArgs),
    /// Deliver 100,000 pending webhook messages to a local receiver (messages/s, API latency).
    Webhooks(webhooks::WebhookBenchArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let database = cli.database;
    let result = runtime.block_on(async {
        match cli.command {
            Command::AdminCsv(args) => admin_csv::run(database, args).await,
            Command::Api(args) => api::run(database, args).await,
            Command::Client(args) => client::run(database, args).await,
            Command::Consumer(args) => consumer::run(database, args).await,
            Command::Journey(args) => journey::run(database, args).await,
            Command::Load(args) => search::run_load(database, args).await,
            Command::Month(args) => month::run(database, args).await,
            Command::Search(args) => search::run(database, args).await,
            Command::Webhooks(args) => webhooks::run(database, args).await,
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pence-bench: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
