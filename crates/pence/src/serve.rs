//! `pence serve`: migrate, bootstrap a sandbox service on an empty database, listen, and stop
//! gracefully on Ctrl-C or SIGTERM.

use std::sync::Arc;

use anyhow::Context;
use pence_core::Store;
use pence_node::Node;
use pence_store::{SqlStore, StoreOptions};

use crate::config::Settings;

pub async fn open_store(settings: &Settings) -> anyhow::Result<Arc<dyn Store>> {
    Ok(open_sql_store(settings).await?)
}

/// The database an admin command works on: it must exist already (a mistyped path must not
/// quietly become a new, empty database).
pub async fn existing_store(settings: &Settings) -> anyhow::Result<Arc<SqlStore>> {
    if let Some(file) = pence_store::sqlite_file(&settings.database_url) {
        anyhow::ensure!(
            file.is_file(),
            "no database at {}: start one with `pence serve` (or `pence migrate`), \
             or name yours with --database or PENCE_DATABASE_URL",
            file.display()
        );
    }
    open_sql_store(settings).await
}

/// The store with every port it implements (the webhook admin and delivery need more than
/// the `Store`).
pub async fn open_sql_store(settings: &Settings) -> anyhow::Result<Arc<SqlStore>> {
    let options = StoreOptions {
        sealing: Some(crate::sealing_keys::resolve(settings)?),
        ..StoreOptions::default()
    };
    let store = pence_store::connect(&settings.database_url, options)
        .await
        .with_context(|| format!("opening database {}", settings.redacted_database()))?;
    Ok(Arc::new(store))
}

pub async fn run(settings: Settings, logging: &crate::config::Logging) -> anyhow::Result<()> {
    let access_log = logging.access_log.clone();
    tracing::info!(
        listen = %settings.listen,
        database = %settings.redacted_database(),
        public_url = %settings.public_url,
        rate_limits = settings.rate_limits.enabled,
        "starting pence"
    );
    let node = Node::start(pence_node::Settings {
        access_log: Some(access_log),
        ..node_settings(&settings)?
    })
    .await
    .with_context(|| format!("starting on {}", settings.redacted_database()))?;
    // The banner, with the one-time key, comes last: after the start's log lines.
    logging.writer.settle();
    print_banner(&node, &settings);
    node.run_until(shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// The node `pence serve` runs, from its settings.
pub fn node_settings(settings: &Settings) -> anyhow::Result<pence_node::Settings> {
    Ok(pence_node::Settings {
        store: StoreOptions {
            sealing: Some(crate::sealing_keys::resolve(settings)?),
            ..StoreOptions::default()
        },
        listen: settings.listen.clone(),
        public_url: settings
            .public_url_given
            .then(|| settings.public_url.clone()),
        rate_limits: settings.rate_limits,
        limits: settings.limits,
        auth_cache_ms: settings.auth_cache_ms,
        webhooks: settings.webhooks.clone().unwrap_or_default(),
        background_delivery: settings.webhooks.is_some(),
        smtp: settings.smtp.clone(),
        metrics_listen: settings.metrics_listen.clone(),
        ..pence_node::Settings::new(settings.database_url.clone())
    })
}

fn print_banner(node: &Node, settings: &Settings) {
    println!("Pence is running at {}", node.public_url);
    if let Some(at) = node.metrics_addr {
        println!("Metrics at http://{at}/metrics");
    }
    match &node.first {
        Some((service, key)) => {
            println!("Created a sandbox service on this new database:");
            println!("  service id:   {}", service.id);
            println!("  test API key: {key}");
            println!("The key is shown only now: keep it. More with `pence key create`.");
            println!(
                "Try: curl -X POST {}/v1/payments -H \"Authorization: Bearer {key}\" \\\n       -H 'Content-Type: application/json' \\\n       -d '{{\"amount\":14500,\"reference\":\"12345\",\"description\":\"Pay your council tax\",\"return_url\":\"https://your.service.gov.uk/completed\"}}'",
                node.public_url
            );
        }
        None => println!(
            "Database: {} (make a key with `pence key create`)",
            settings.redacted_database()
        ),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
