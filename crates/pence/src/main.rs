//! `pence`: the server, its admin commands and its benchmark.

mod admin;
mod bench;
mod bench_search;
mod bench_webhooks;
mod config;
mod serve;
mod webhook_admin;

use clap::{Parser, Subcommand};

// Requests allocate many small short-lived objects across threads; mimalloc handles that
// markedly better than the system allocator (measured with `pence bench`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "pence",
    version,
    about = "A payments platform that speaks the GOV.UK Pay public API"
)]
struct Cli {
    #[command(flatten)]
    settings: config::Args,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (creates a sandbox service and prints a test API key on first start).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage services (GOV.UK Pay gateway accounts).
    #[command(subcommand)]
    Service(admin::ServiceCommand),
    /// Manage API keys.
    #[command(subcommand)]
    Key(admin::KeyCommand),
    /// Manage webhook subscriptions and their messages.
    #[command(subcommand)]
    Webhook(webhook_admin::WebhookCommand),
    /// Measure create-payment and get-payment throughput and latency.
    Bench(bench::BenchArgs),
    /// Load a million payments and time typical searches (p50/p99).
    BenchSearch(bench_search::SearchBenchArgs),
    /// Deliver 100,000 pending webhook messages to a local receiver (messages/s, API latency).
    BenchWebhooks(bench_webhooks::WebhookBenchArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let settings = match config::Settings::load(&cli.settings) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("pence: {e:#}");
            return std::process::ExitCode::from(2);
        }
    };
    config::init_logging(&settings, matches!(cli.command, Command::Serve));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve => serve::run(settings).await,
            Command::Migrate => admin::migrate(&settings).await,
            Command::Service(cmd) => admin::service(&settings, cmd).await,
            Command::Key(cmd) => admin::key(&settings, cmd).await,
            Command::Webhook(cmd) => webhook_admin::run(&settings, cmd).await,
            Command::Bench(args) => bench::run(&settings, args).await,
            Command::BenchSearch(args) => bench_search::run(&settings, args).await,
            Command::BenchWebhooks(args) => bench_webhooks::run(&settings, args).await,
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pence: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
