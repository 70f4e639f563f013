//! The composition root: `Node::start` builds one Pence node — store, clock, payment
//! provider, HTTP, the sweeps and webhook delivery — the same way for `pence serve`, the
//! test kit and the benchmarks. Background work also has a step a caller can drive
//! (`sweep`, `deliver_once`), so tests never wait on timers.

#![cfg_attr(not(test), warn(clippy::unwrap_used))]

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use pence_core::clock::AdjustableClock;
use pence_core::psp::PaymentProvider;
use pence_core::refusal::Failure;
use pence_core::sandbox::faults::{Faults, FaultyProvider};
use pence_core::service::Service;
use pence_core::service::{self, Secrets};
use pence_core::sweeps::{self, Swept};
use pence_core::{Store, StoreError};
use pence_http::{AccessLog, AppState, AppStateParts, Limits, RateLimitConfig};
use pence_store::{SqlStore, StoreOptions};
use pence_telemetry::Telemetry;
use pence_webhooks::{Delivered, Deliverer, DeliverySettings, Metrics};
use tokio::sync::oneshot;

mod mailer;

use mailer::Mailer;
pub use mailer::{MailerError, SmtpSettings, DEFAULT_EMAIL_FROM};
use tokio::task::JoinHandle;

/// What a node is started with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// A SQLite file path, or `postgres://…`.
    pub database_url: String,
    pub store: StoreOptions,
    /// Where to listen (`127.0.0.1:0` for any free port).
    pub listen: String,
    /// The URL clients reach the node at; `None` for `http://` and the bound address.
    pub public_url: Option<String>,
    pub rate_limits: RateLimitConfig,
    /// Connection limits: head and body read timeouts, open connections.
    pub limits: Limits,
    /// How long a verified API key is trusted before it is looked up again.
    pub auth_cache_ms: u64,
    /// How often the node sweeps by itself; `None` for never (tests call `Node::sweep`).
    pub sweep_every: Option<Duration>,
    /// How webhook messages are delivered.
    pub webhooks: DeliverySettings,
    /// Deliver in the background; when off, only `Node::deliver_once` sends.
    pub background_delivery: bool,
    /// On an empty database, create the sandbox service and its first test key.
    pub bootstrap: bool,
    /// Pass the email sink's emails on to this SMTP server.
    pub smtp: Option<SmtpSettings>,
    /// Serve `/metrics` here alone (and not on `listen`); `None`: on `listen`.
    pub metrics_listen: Option<String>,
    /// Where the access log's lines go; `None`: as tracing events.
    pub access_log: Option<AccessLog>,
}

impl Settings {
    /// A node on `database_url`, listening on any free loopback port, with the defaults of
    /// `pence serve`.
    pub fn new(database_url: impl Into<String>) -> Settings {
        Settings {
            database_url: database_url.into(),
            store: StoreOptions::default(),
            listen: "127.0.0.1:0".into(),
            public_url: None,
            rate_limits: RateLimitConfig::default(),
            limits: Limits::default(),
            auth_cache_ms: 1000,
            sweep_every: Some(Duration::from_secs(1)),
            metrics_listen: None,
            webhooks: DeliverySettings::default(),
            background_delivery: true,
            bootstrap: true,
            smtp: None,
            access_log: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("listening on {listen}")]
    Listen {
        listen: String,
        #[source]
        source: std::io::Error,
    },
    #[error("opening the database")]
    Store(#[from] StoreError),
    #[error("serving")]
    Serve(#[source] std::io::Error),
    #[error(transparent)]
    Mailer(#[from] MailerError),
}

/// Webhook delivery without a running node: what a command that moves a test service's
/// clock from its own process drives on the way (it delivers nothing in the background).
pub fn delivery(store: Arc<SqlStore>, settings: DeliverySettings) -> Arc<Deliverer> {
    Deliverer::new(
        store,
        Arc::new(AdjustableClock::default()),
        settings,
        Arc::new(Metrics::default()),
        Arc::new(Telemetry::new()),
    )
}

/// A running node.
pub struct Node {
    /// The URL clients reach it at, without a trailing slash.
    pub public_url: String,
    pub local_addr: SocketAddr,
    /// Where `/metrics` is served alone, when `Settings::metrics_listen` asked for it.
    pub metrics_addr: Option<SocketAddr>,
    pub store: Arc<SqlStore>,
    pub clock: Arc<AdjustableClock>,
    pub psp: Arc<dyn PaymentProvider>,
    pub secrets: Secrets,
    /// The sandbox service and its first key, when this start created them.
    pub first: Option<(Service, String)>,
    pub deliverer: Arc<Deliverer>,
    pub metrics: Arc<Metrics>,
    /// What `/metrics` shows.
    pub telemetry: Arc<Telemetry>,
    server: JoinHandle<std::io::Result<()>>,
    shutdown: Option<oneshot::Sender<()>>,
    background: Vec<JoinHandle<()>>,
}

impl Node {
    /// Binds first (so a first start that cannot listen creates no key it cannot show),
    /// then opens and migrates the database, bootstraps it if empty, and starts serving and
    /// the background work.
    pub async fn start(settings: Settings) -> Result<Node, NodeError> {
        let listener = tokio::net::TcpListener::bind(&settings.listen)
            .await
            .map_err(|source| NodeError::Listen {
                listen: settings.listen.clone(),
                source,
            })?;
        let metrics_listener = match &settings.metrics_listen {
            Some(at) => Some(tokio::net::TcpListener::bind(at).await.map_err(|source| {
                NodeError::Listen {
                    listen: at.clone(),
                    source,
                }
            })?),
            None => None,
        };
        let metrics_addr = metrics_listener.as_ref().and_then(|l| l.local_addr().ok());
        let local_addr = listener.local_addr().map_err(|source| NodeError::Listen {
            listen: settings.listen.clone(),
            source,
        })?;
        let public_url = settings
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{local_addr}"))
            .trim_end_matches('/')
            .to_string();
        let store = Arc::new(pence_store::connect(&settings.database_url, settings.store).await?);
        let clock = Arc::new(AdjustableClock::default());
        // The sandbox provider, whose answers test services' fault rules may replace.
        let faults = Faults::new(store.clone());
        let telemetry = Arc::new(Telemetry::new());
        store.count_in(telemetry.clone());
        let psp: Arc<dyn PaymentProvider> = Arc::new(FaultyProvider::new(
            pence_psp::Sandbox,
            faults.clone(),
            clock.clone(),
        ));
        let secrets = service::secrets(store.as_ref()).await?;
        service::note_public_url(store.as_ref(), &public_url).await?;
        let first = if settings.bootstrap {
            service::bootstrap(store.as_ref(), clock.as_ref(), &secrets).await?
        } else {
            None
        };
        let metrics = Arc::new(Metrics::default());
        let deliverer = Deliverer::new(
            store.clone(),
            clock.clone(),
            settings.webhooks.clone(),
            metrics.clone(),
            telemetry.clone(),
        );
        let state = AppState::new(AppStateParts {
            store: store.clone() as Arc<dyn Store>,
            webhooks: store.clone(),
            clock: clock.clone(),
            secrets: secrets.clone(),
            public_url: public_url.clone(),
            rate_limits: settings.rate_limits,
            auth_cache_ms: settings.auth_cache_ms,
            psp: psp.clone(),
            faults,
            telemetry: telemetry.clone(),
            access_log: settings.access_log.clone(),
            delivery: deliverer.clone(),
        });
        let mut background = Vec::new();
        if let Some(every) = settings.sweep_every {
            background.push(spawn_sweeps(
                store.clone(),
                clock.clone(),
                psp.clone(),
                telemetry.clone(),
                every,
            ));
        }
        if settings.background_delivery {
            background.push(deliverer.spawn());
        }
        if let Some(smtp) = &settings.smtp {
            background.push(Mailer::new(store.clone(), smtp)?.spawn());
        }
        let router = match metrics_listener {
            Some(metrics_listener) => {
                let app = pence_http::metrics_router(state.clone());
                background.push(tokio::spawn(async move {
                    if let Err(e) = axum::serve(metrics_listener, app).await {
                        tracing::error!(error = %e, "the metrics listener stopped");
                    }
                }));
                pence_http::public_router(state)
            }
            None => pence_http::router(state),
        };
        let (shutdown, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(pence_http::serve(
            listener,
            router,
            settings.limits,
            async {
                let _ = stopped.await;
            },
        ));
        Ok(Node {
            public_url,
            local_addr,
            metrics_addr,
            store,
            clock,
            psp,
            secrets,
            first,
            deliverer,
            metrics,
            telemetry,
            server,
            shutdown: Some(shutdown),
            background,
        })
    }

    /// One round of every sweep, now.
    pub async fn sweep(&self) -> Result<Swept, Failure> {
        let swept =
            sweeps::run_once(self.store.as_ref(), self.clock.as_ref(), self.psp.as_ref()).await?;
        self.telemetry.swept(&swept);
        Ok(swept)
    }

    /// One round of webhook delivery, now: a batch of every active subscription's due
    /// messages sent and recorded.
    pub async fn deliver_once(&self) -> Result<Delivered, StoreError> {
        self.deliverer.deliver_once().await
    }

    /// Serves until `signal` completes, then stops gracefully.
    pub async fn run_until(mut self, signal: impl Future<Output = ()>) -> Result<(), NodeError> {
        tokio::select! {
            _ = signal => {}
            served = &mut self.server => {
                self.abort_background();
                return match served {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(e)) => Err(NodeError::Serve(e)),
                    Err(join) => Err(NodeError::Serve(std::io::Error::other(join))),
                };
            }
        }
        self.stop().await;
        Ok(())
    }

    /// Stops taking requests, lets those in flight finish, ends the background work and
    /// closes the database.
    pub async fn stop(mut self) {
        self.abort_background();
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        let _ = (&mut self.server).await;
        self.store.close().await;
    }

    fn abort_background(&mut self) {
        for task in self.background.drain(..) {
            task.abort();
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.abort_background();
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Runs the sweeps every `every` until aborted; several nodes may sweep at once (every
/// change is conditional).
fn spawn_sweeps(
    store: Arc<SqlStore>,
    clock: Arc<AdjustableClock>,
    psp: Arc<dyn PaymentProvider>,
    telemetry: Arc<Telemetry>,
    every: Duration,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let swept = sweeps::run_once(store.as_ref(), clock.as_ref(), psp.as_ref()).await;
            if let Ok(s) = &swept {
                telemetry.swept(s);
            }
            match swept {
                Ok(s) if s != Swept::default() => tracing::info!(
                    resumed = s.resumed,
                    recurring = s.recurring,
                    captured = s.captured,
                    expired = s.expired,
                    refunds = s.refunds,
                    settled = s.settled,
                    disputes = s.disputes,
                    keys_forgotten = s.keys_forgotten,
                    "swept payments"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "sweep failed; retrying next tick"),
            }
        }
    })
}
