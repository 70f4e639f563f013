#![cfg_attr(not(test), warn(clippy::unwrap_used))]
use clap::Parser;
use parking_permit::Config;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let config = Config::parse();
    let running = parking_permit::start(config, pence_connector::Clock::system()).await?;
    println!("parking-permit listening on {}", running.url);
    tokio::select! {
        _ = running.wait() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}
