//! "Pay for a parking permit": an example service built only on `pence-client` and
//! `pence-connector`, as a service team would build one. It runs unchanged against Pence or
//! GOV.UK Pay; only `--pay-base-url` and `--api-key` differ.

#![cfg_attr(not(test), warn(clippy::unwrap_used))]

mod config;
mod pages;

use std::sync::Arc;

use anyhow::Context;
use axum::extract::FromRef;
use axum_extra::extract::cookie::Key;
use pence_client::Client;
use pence_connector::mop_up::MopUpOptions;
use pence_connector::webhooks::{ConsumerOptions, WebhookConsumer};
use pence_connector::{Clock, Connector, ReturnVia};
use sha2::Digest;

pub use config::{Config, ReturnMode};

/// The permit's price, in pence.
pub const PRICE: i64 = 2500;

#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) connector: Connector,
    pub(crate) consumer: WebhookConsumer,
    pub(crate) via: Arc<ReturnVia>,
    pub(crate) key: Key,
}

impl FromRef<AppState> for Key {
    fn from_ref(state: &AppState) -> Key {
        state.key.clone()
    }
}

/// A running service.
pub struct Running {
    /// The public URL (return URLs are built on it).
    pub url: String,
    /// Where it listens.
    pub local_url: String,
    pub connector: Connector,
    pub consumer: WebhookConsumer,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Stops serving and the background jobs.
    pub async fn stop(self) {
        for task in &self.tasks {
            task.abort();
        }
        self.connector.close().await;
    }

    /// Waits until the server stops (it does not, unless it fails).
    pub async fn wait(mut self) {
        if let Some(server) = self.tasks.pop() {
            let _ = server.await;
        }
    }
}

/// Starts the service on `config.listen`, with `clock` for the connector (tests move it).
pub async fn start(config: Config, clock: Clock) -> anyhow::Result<Running> {
    config.check()?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    let local = listener.local_addr()?;
    let url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{local}"));
    let client = Client::new(config.api_key.clone()).with_base_url(config.pay_base_url.clone());
    let connector = Connector::open(client, &config.database)
        .await
        .with_context(|| format!("opening the database {}", config.database))?
        .with_clock(clock);
    let consumer = WebhookConsumer::new(
        connector.clone(),
        config.webhook_secret.clone(),
        ConsumerOptions {
            process: !config.no_webhook_processing,
            lease: config.webhook_lease,
            ..ConsumerOptions::default()
        },
    );
    let via = match config.return_via {
        ReturnMode::Url => ReturnVia::UrlSecret {
            base: format!("{url}/return"),
        },
        ReturnMode::Cookie => ReturnVia::Cookie {
            url: format!("{url}/return"),
        },
    };
    let key = match &config.cookie_key {
        // Key wants 64 bytes; SHA-512 spreads any long enough secret over them.
        Some(secret) => Key::from(&sha2::Sha512::digest(secret.as_bytes())),
        None => {
            tracing::warn!("no --cookie-key: return cookies will not survive a restart");
            Key::generate()
        }
    };
    let state = AppState {
        connector: connector.clone(),
        consumer: consumer.clone(),
        via: Arc::new(via),
        key,
    };
    let app = pages::router(state).merge(consumer.router("/webhooks"));
    let mut tasks = vec![
        tokio::spawn(consumer.clone().run()),
        tokio::spawn(connector.clone().run_mop_up(MopUpOptions {
            every: config.mop_up_every,
            older_than: config.mop_up_older_than,
            ..MopUpOptions::default()
        })),
    ];
    tasks.push(tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "the server stopped");
        }
    }));
    Ok(Running {
        url,
        local_url: format!("http://{local}"),
        connector,
        consumer,
        tasks,
    })
}
