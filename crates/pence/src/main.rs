//! `pence`: the server and its admin commands (benchmarks are `pence-bench`).

#![cfg_attr(not(test), warn(clippy::unwrap_used))]

mod admin;
mod config;
mod links;
mod log_format;
mod log_writer;
mod payments;
mod sandbox;
mod sealing_keys;
mod serve;
mod snapshots;
mod table;
mod users;
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
    Serve(config::ServeArgs),
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
    /// Payment links: make, list, show, change and delete a service's links.
    #[command(subcommand)]
    Link(links::LinkCommand),
    /// Look payments up, and export them as CSV.
    #[command(subcommand)]
    Payment(payments::PaymentCommand),
    /// Drive test services' payments as their paying user would, without a browser.
    #[command(subcommand)]
    Sandbox(sandbox::SandboxCommand),
    /// Staff of the admin tool (/admin): create with a role, list, disable.
    #[command(subcommand)]
    User(users::UserCommand),
    /// The key secrets are sealed with at rest: make one, move every secret to it.
    #[command(subcommand)]
    Secrets(sealing_keys::SecretsCommand),
}

fn main() -> std::process::ExitCode {
    quiet_on_closed_stdout();
    let cli = Cli::parse();
    let serve_args = match &cli.command {
        Command::Serve(args) => args.clone(),
        _ => config::ServeArgs::default(),
    };
    let settings = match config::Settings::load(&cli.settings, &serve_args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("pence: {e:#}");
            return std::process::ExitCode::from(2);
        }
    };
    let logging = config::init_logging(&settings, matches!(cli.command, Command::Serve(_)));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(_) => serve::run(settings, &logging).await,
            Command::Migrate => admin::migrate(&settings).await,
            Command::Service(cmd) => admin::service(&settings, cmd).await,
            Command::Key(cmd) => admin::key(&settings, cmd).await,
            Command::Webhook(cmd) => webhook_admin::run(&settings, cmd).await,
            Command::Link(cmd) => links::run(&settings, cmd).await,
            Command::Payment(cmd) => payments::run(&settings, cmd).await,
            Command::Sandbox(cmd) => sandbox::run(&settings, cmd).await,
            Command::User(cmd) => users::run(&settings, cmd).await,
            Command::Secrets(cmd) => sealing_keys::run(&settings, cmd).await,
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

/// `pence … | head` closes the command's output before it is all printed: end there, as other
/// command-line tools do (with the status a SIGPIPE gives), not with a panic's backtrace.
/// Rust ignores SIGPIPE, so printing meets the closed pipe as an error, which `println!`
/// turns into a panic.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .unwrap_or_default();
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info)
    }));
}
