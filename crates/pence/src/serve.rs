//! `pence serve`: migrate, bootstrap a sandbox service on an empty database, listen, and stop
//! gracefully on Ctrl-C or SIGTERM.

use std::sync::Arc;

use anyhow::Context;
use pence_core::clock::AdjustableClock;
use pence_core::usecases;
use pence_core::Store;
use pence_http::{AppState, NodeSettings};
use pence_store::{SqlStore, StoreOptions};

use crate::config::Settings;

pub async fn open_store(settings: &Settings) -> anyhow::Result<Arc<dyn Store>> {
    Ok(open_sql_store(settings).await?)
}

/// The store with every port it implements (the webhook admin and delivery need more than
/// the `Store`).
pub async fn open_sql_store(settings: &Settings) -> anyhow::Result<Arc<SqlStore>> {
    let store = pence_store::connect(&settings.database_url, StoreOptions::default())
        .await
        .with_context(|| format!("opening database {}", settings.redacted_database()))?;
    Ok(Arc::new(store))
}

pub async fn run(mut settings: Settings) -> anyhow::Result<()> {
    tracing::info!(
        listen = %settings.listen,
        database = %settings.redacted_database(),
        public_url = %settings.public_url,
        rate_limits = settings.rate_limits.enabled,
        "starting pence"
    );
    let sql_store = open_sql_store(&settings).await?;
    let store: Arc<dyn Store> = sql_store.clone();
    let clock = Arc::new(AdjustableClock::default());
    let secrets = usecases::secrets(store.as_ref()).await?;
    let first = usecases::bootstrap(store.as_ref(), clock.as_ref(), &secrets).await?;
    let listener = tokio::net::TcpListener::bind(&settings.listen)
        .await
        .with_context(|| format!("listening on {}", settings.listen))?;
    if !settings.public_url_given {
        // With port 0 the real port is known only now.
        settings.public_url = format!("http://{}", listener.local_addr()?);
    }
    let clock_for_delivery = clock.clone();
    let state = AppState::build(
        store.clone(),
        clock,
        NodeSettings {
            public_url: settings.public_url.clone(),
            rate_limits: settings.rate_limits,
            auth_cache_ms: settings.auth_cache_ms,
        },
    )
    .await?;
    print_banner(&settings, first);
    let sweeps = pence_http::spawn_sweeps(state.clone(), std::time::Duration::from_secs(1));
    let delivery = settings.webhooks.clone().map(|delivery| {
        pence_webhooks::spawn(
            sql_store,
            clock_for_delivery,
            delivery,
            Arc::new(pence_webhooks::Metrics::default()),
        )
    });
    pence_http::serve(listener, pence_http::router(state), shutdown_signal())
        .await
        .context("serving")?;
    sweeps.abort();
    if let Some(delivery) = delivery {
        delivery.abort();
    }
    tracing::info!("stopped");
    Ok(())
}

fn print_banner(settings: &Settings, first: Option<(pence_core::service::Service, String)>) {
    println!("Pence is running at {}", settings.public_url);
    match first {
        Some((service, key)) => {
            println!("Created a sandbox service on this new database:");
            println!("  service id:   {}", service.id);
            println!("  test API key: {key}");
            println!("The key is shown only now: keep it. More with `pence key create`.");
            println!(
                "Try: curl -X POST {}/v1/payments -H \"Authorization: Bearer {key}\" \\\n       -H 'Content-Type: application/json' \\\n       -d '{{\"amount\":14500,\"reference\":\"12345\",\"description\":\"Pay your council tax\",\"return_url\":\"https://your.service.gov.uk/completed\"}}'",
                settings.public_url
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
