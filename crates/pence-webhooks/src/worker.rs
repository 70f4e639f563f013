//! The node's delivery: a supervisor keeps `workers` tasks running per active subscription;
//! each claims, sends and records batches of that subscription's due messages.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use pence_core::clock::{system_now_ms, Clock};
use pence_core::ids;
use pence_core::webhook::chaos::{Plan, Signature};
use pence_core::webhook::{delivery, DeliveryFaults, DeliveryStatus, Message};
use pence_core::{ServiceStore, WebhookStore};

use crate::metrics::Metrics;
use crate::send;

#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// One attempt, connecting included (GOV.UK Pay: 3 s).
    pub timeout: Duration,
    /// How often idle workers look for due messages, and the supervisor for subscriptions.
    pub poll: Duration,
    /// Workers per subscription on this node.
    pub workers: usize,
    /// Messages one worker sends at once.
    pub concurrency: usize,
    /// Messages one worker claims at a time (its bounded queue).
    pub batch: u32,
    /// How often the counters are logged.
    pub log_every: Duration,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        DeliverySettings {
            timeout: Duration::from_secs(3),
            poll: Duration::from_millis(250),
            workers: 2,
            concurrency: 16,
            batch: 64,
            log_every: Duration::from_secs(10),
        }
    }
}

impl DeliverySettings {
    /// How long a claim holds its batch: every round of the batch timing out, and a margin
    /// for recording. Past it, another worker may take the messages again (at-least-once).
    pub(crate) fn lease_ms(&self) -> i64 {
        let rounds = (self.batch as usize).div_ceil(self.concurrency.max(1)) as i64;
        rounds * self.timeout.as_millis() as i64 + 10_000
    }
}

/// One subscription as its workers see it; the supervisor keeps it current.
struct Target {
    url: RwLock<String>,
    service_id: String,
    stop: AtomicBool,
}

/// What delivery reads and writes: the messages, and the services' clocks (a test service's
/// messages fall due and are retried on its own clock).
pub trait DeliveryStore: WebhookStore + ServiceStore {}
impl<T: WebhookStore + ServiceStore> DeliveryStore for T {}

/// A node's webhook delivery: what its workers share. `spawn` runs it in the background;
/// `deliver_once` is one round, for tests and tools that drive delivery step by step.
pub struct Deliverer {
    pub(crate) store: Arc<dyn DeliveryStore>,
    clock: Arc<dyn Clock>,
    http: reqwest::Client,
    pub(crate) settings: DeliverySettings,
    metrics: Arc<Metrics>,
    /// The node's `/metrics`.
    telemetry: Arc<pence_telemetry::Telemetry>,
    /// Secrets by (subscription, version): they never change once written.
    secrets: RwLock<HashMap<(String, i64), String>>,
    /// Moved test services' clock offsets, read again every poll.
    offsets: RwLock<HashMap<String, i64>>,
    /// Test subscriptions delivered to badly on purpose, read again every poll.
    faults: RwLock<HashMap<String, DeliveryFaults>>,
}

/// What one round of `deliver_once` did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    /// Messages attempted (each once).
    pub attempted: usize,
}

impl Deliverer {
    pub fn new(
        store: Arc<dyn DeliveryStore>,
        clock: Arc<dyn Clock>,
        settings: DeliverySettings,
        metrics: Arc<Metrics>,
        telemetry: Arc<pence_telemetry::Telemetry>,
    ) -> Arc<Deliverer> {
        Arc::new(Deliverer {
            http: send::client(settings.timeout),
            store,
            clock,
            settings,
            metrics,
            telemetry,
            secrets: RwLock::new(HashMap::new()),
            offsets: RwLock::new(HashMap::new()),
            faults: RwLock::new(HashMap::new()),
        })
    }

    /// Reads the moved services' clocks and the subscriptions' delivery faults again.
    pub(crate) async fn refresh(&self) {
        match self.store.moved_clocks().await {
            Ok(moved) => {
                *self.offsets.write().unwrap_or_else(|e| e.into_inner()) =
                    moved.into_iter().collect();
            }
            Err(e) => tracing::warn!(error = %e, "reading the services' clocks failed"),
        }
        match self.store.delivery_faults().await {
            Ok(faults) => {
                *self.faults.write().unwrap_or_else(|e| e.into_inner()) =
                    faults.into_iter().collect();
            }
            Err(e) => tracing::warn!(error = %e, "reading the delivery faults failed"),
        }
    }

    pub(crate) fn faults_of(&self, webhook_id: &str) -> DeliveryFaults {
        let faults = self.faults.read().unwrap_or_else(|e| e.into_inner());
        faults.get(webhook_id).copied().unwrap_or_default()
    }

    /// Now, on the clock of `service_id`.
    fn now_for(&self, service_id: &str) -> i64 {
        let offsets = self.offsets.read().unwrap_or_else(|e| e.into_inner());
        self.clock.now_ms() + offsets.get(service_id).copied().unwrap_or(0)
    }

    /// Starts delivery on this node; it runs until the handle is aborted.
    pub fn spawn(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(supervise(self.clone()))
    }

    /// One round: for every active subscription, one batch of its due messages claimed,
    /// sent and recorded, as a worker would. Repeat until it attempts nothing to drain.
    pub async fn deliver_once(&self) -> Result<Delivered, pence_core::StoreError> {
        self.refresh().await;
        let mut attempted = 0;
        for sub in self.store.webhooks(None).await? {
            if sub.active {
                attempted += one_batch(self, &sub.id, &sub.service_id, &sub.callback_url).await?;
            }
        }
        Ok(Delivered { attempted })
    }
}

async fn supervise(shared: Arc<Deliverer>) {
    let mut targets: HashMap<String, Arc<Target>> = HashMap::new();
    let mut workers = tokio::task::JoinSet::new();
    let mut logged = tokio::time::Instant::now();
    loop {
        shared.refresh().await;
        match shared.store.webhooks(None).await {
            Ok(subs) => {
                let active: HashMap<String, (String, String)> = subs
                    .into_iter()
                    .filter(|s| s.active)
                    .map(|s| (s.id, (s.callback_url, s.service_id)))
                    .collect();
                targets.retain(|id, t| {
                    let keep = active.contains_key(id);
                    if !keep {
                        t.stop.store(true, Ordering::Relaxed);
                    }
                    keep
                });
                for (id, (url, service_id)) in active {
                    match targets.get(&id) {
                        Some(t) => {
                            let mut current = t.url.write().unwrap_or_else(|e| e.into_inner());
                            if *current != url {
                                *current = url;
                            }
                        }
                        None => {
                            let t = Arc::new(Target {
                                url: RwLock::new(url),
                                service_id,
                                stop: AtomicBool::new(false),
                            });
                            for _ in 0..shared.settings.workers.max(1) {
                                workers.spawn(work(shared.clone(), id.clone(), t.clone()));
                            }
                            targets.insert(id, t);
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "listing webhook subscriptions failed"),
        }
        while workers.try_join_next().is_some() {}
        if logged.elapsed() >= shared.settings.log_every {
            logged = tokio::time::Instant::now();
            log_metrics(&shared).await;
        }
        tokio::time::sleep(shared.settings.poll).await;
    }
}

async fn log_metrics(shared: &Deliverer) {
    let s = shared.metrics.take();
    if s.attempts == 0 {
        return;
    }
    let counts = shared
        .store
        .webhook_message_counts()
        .await
        .unwrap_or_default();
    let count = |status: DeliveryStatus| {
        counts
            .iter()
            .find(|(s, _)| s == status.as_str())
            .map_or(0, |(_, n)| *n)
    };
    tracing::info!(
        attempts = s.attempts,
        delivered = s.delivered,
        retried = s.retried,
        failed = s.failed,
        mean_latency_ms = s.mean_latency_ms,
        max_latency_ms = s.max_latency_ms,
        pending = count(DeliveryStatus::Pending),
        failed_total = count(DeliveryStatus::Failed),
        "webhook delivery"
    );
}

/// One worker of subscription `id`: claim, send, record, until it is stopped.
async fn work(shared: Arc<Deliverer>, id: String, target: Arc<Target>) {
    while !target.stop.load(Ordering::Relaxed) {
        let url = target.url.read().unwrap_or_else(|e| e.into_inner()).clone();
        let attempted = match one_batch(&shared, &id, &target.service_id, &url).await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(webhook = %id, error = %e, "claiming webhook messages failed");
                0
            }
        };
        if attempted == 0 {
            tokio::time::sleep(shared.settings.poll).await;
        }
    }
}

/// Claims a batch of subscription `id`'s due messages, sends them to `url` with bounded
/// concurrency, and records every attempt; how many it attempted.
async fn one_batch(
    shared: &Deliverer,
    id: &str,
    service_id: &str,
    url: &str,
) -> Result<usize, pence_core::StoreError> {
    let s = &shared.settings;
    // Leases run on the machine's time, not the Clock: a sandbox moving its Clock forward
    // must not end a lease while the attempt is still being made.
    let wall = system_now_ms();
    let claim = ids::random_base32(26);
    let batch = shared
        .store
        .claim_webhook_messages(
            id,
            shared.now_for(service_id),
            wall,
            wall + s.lease_ms(),
            &claim,
            s.batch,
        )
        .await?;
    send_claimed(shared, id, service_id, url, &claim, batch, When::Now).await
}

/// When a claimed message's attempt is dated.
#[derive(Clone, Copy)]
pub(crate) enum When {
    /// On the service's clock as the attempt is made: the node's own delivery.
    Now,
    /// When the message fell due: a clock move's delivery, as if delivery had kept up
    /// with the service's time all along (so it reads the same however the clock moved).
    Due,
}

/// Sends a claimed batch to `url` with bounded concurrency and records every attempt under
/// `claim`; how many it attempted.
pub(crate) async fn send_claimed(
    shared: &Deliverer,
    id: &str,
    service_id: &str,
    url: &str,
    claim: &str,
    batch: Vec<Message>,
    when: When,
) -> Result<usize, pence_core::StoreError> {
    let s = &shared.settings;
    if batch.is_empty() {
        return Ok(0);
    }
    let faults = shared.faults_of(id);
    let mut planned = Vec::with_capacity(batch.len());
    for m in batch {
        let plan = plan(shared, &faults, &m).await?;
        planned.push((m, plan));
    }
    let concurrency = if faults.out_of_order {
        // Newest first, one at a time, so the receiver sees them out of order for sure.
        planned.sort_by(|(a, _), (b, _)| (b.event_ms, &b.id).cmp(&(a.event_ms, &a.id)));
        1
    } else if planned.iter().any(|(_, p)| p.reorder) {
        // Chaos's reordered messages after the rest, one at a time.
        planned.sort_by_key(|(_, p)| p.reorder);
        1
    } else {
        s.concurrency.max(1)
    };
    let outcomes: Vec<_> = stream::iter(planned)
        .map(|(m, plan)| deliver(shared, url, service_id, plan, m, when))
        .buffer_unordered(concurrency)
        .collect()
        .await;
    if let Err(e) = shared.store.record_webhook_attempts(claim, &outcomes).await {
        // The messages come back when the lease runs out: sent again, never lost.
        tracing::warn!(webhook = %id, error = %e, "recording webhook attempts failed");
    }
    Ok(outcomes.len())
}

/// What the subscription's delivery faults do to message `m`: the fixed faults for every
/// message, and the seeded chaos's for its share (by the message's place in the log).
async fn plan(
    shared: &Deliverer,
    faults: &DeliveryFaults,
    m: &Message,
) -> Result<Plan, pence_core::StoreError> {
    let fixed = Plan {
        duplicate: faults.duplicate,
        reorder: false,
        delay_ms: faults.delay_ms,
        drop_attempts: faults.drop_first_attempts,
        signature: if faults.wrong_secret {
            Signature::Wrong
        } else {
            Signature::Right
        },
    };
    let Some(chaos) = faults.chaos else {
        return Ok(fixed);
    };
    let drawn = chaos.plan(shared.store.webhook_message_ordinal(m).await?);
    Ok(Plan {
        duplicate: fixed.duplicate || drawn.duplicate,
        reorder: drawn.reorder,
        delay_ms: fixed.delay_ms.max(drawn.delay_ms),
        drop_attempts: fixed.drop_attempts.max(drawn.drop_attempts),
        signature: match (fixed.signature, drawn.signature) {
            (Signature::Wrong, _) => Signature::Wrong,
            (_, drawn) => drawn,
        },
    })
}

/// Sends one message, as its plan says; its attempt, and so its next try, is dated by the
/// service's clock.
async fn deliver(
    shared: &Deliverer,
    url: &str,
    service_id: &str,
    plan: Plan,
    m: Message,
    when: When,
) -> (Message, pence_core::webhook::Attempt) {
    let secret = match plan.signature {
        Signature::Right => secret(shared, &m.webhook_id, m.secret_version).await,
        Signature::Wrong => secret(shared, &m.webhook_id, m.secret_version)
            .await
            .map(|s| format!("{s}-not-this-one")),
        // The secret before the last rotation; before any rotation, one that never was.
        Signature::OldSecret if m.secret_version > 1 => {
            secret(shared, &m.webhook_id, m.secret_version - 1).await
        }
        Signature::OldSecret => secret(shared, &m.webhook_id, m.secret_version)
            .await
            .map(|s| format!("{s}-before-this-one")),
    };
    if plan.delay_ms > 0 {
        let ms = plan.delay_ms.min(DeliveryFaults::LONGEST_DELAY_MS);
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let at_ms = match when {
        When::Now => shared.now_for(service_id),
        When::Due => m.next_attempt_ms,
    };
    let mut attempt = if m.attempts < plan.drop_attempts {
        pence_core::webhook::Attempt {
            message_id: m.id.clone(),
            at_ms,
            status_code: None,
            error: Some("sandbox fault: the attempt was dropped".into()),
            response_ms: 0,
            response_body: None,
            fault: None,
        }
    } else {
        let first = send::attempt(&shared.http, url, secret.as_deref(), &m, at_ms).await;
        if plan.duplicate {
            send::attempt(&shared.http, url, secret.as_deref(), &m, at_ms).await;
        }
        first
    };
    attempt.fault = plan.applied(m.attempts);
    let next = delivery::after(&m, &attempt);
    let metrics = &shared.metrics;
    metrics.attempt(attempt.response_ms);
    let (counter, outcome) = match next.status {
        DeliveryStatus::Successful => (&metrics.delivered, "delivered"),
        DeliveryStatus::Failed => (&metrics.failed, "failed"),
        _ => (&metrics.retried, "retried"),
    };
    let took = Duration::from_millis(attempt.response_ms.max(0) as u64);
    shared.telemetry.webhook_attempt(outcome, took);
    counter.fetch_add(1, Ordering::Relaxed);
    if next.status == DeliveryStatus::Failed {
        tracing::warn!(message = %m.id, webhook = %m.webhook_id, "webhook message failed for good");
    }
    (next, attempt)
}

async fn secret(shared: &Deliverer, webhook_id: &str, version: i64) -> Option<String> {
    let key = (webhook_id.to_string(), version);
    if let Some(s) = shared
        .secrets
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(&key)
    {
        return Some(s.clone());
    }
    let found = shared
        .store
        .webhook_secret(webhook_id, version)
        .await
        .ok()
        .flatten()?;
    shared
        .secrets
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, found.clone());
    Some(found)
}
