//! What a node counts, for `GET /metrics` in Prometheus's text format: requests by route
//! template, method and status with their latency, payments created and their changes of
//! status and ledger events by kind, rate-limit refusals, what each sweep changed, webhook
//! attempts by outcome with their latency, the database's group commits (size, duration) and
//! connections. One `Telemetry` (one registry) a node, so several nodes in one process (tests)
//! count apart.

#![cfg_attr(not(test), warn(clippy::unwrap_used))]

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock, RwLock};
use std::time::Duration;

use pence_core::sweeps::Swept;
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

// Request labels borrow interned strings: counting a request allocates nothing.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: &'static str,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: &'static str,
    method: &'static str,
}

/// A route template as a `'static` label: the router has a few dozen, each kept once.
fn interned(route: &str) -> &'static str {
    static ROUTES: OnceLock<RwLock<HashMap<String, &'static str>>> = OnceLock::new();
    let routes = ROUTES.get_or_init(Default::default);
    if let Some(r) = routes.read().unwrap_or_else(|e| e.into_inner()).get(route) {
        return r;
    }
    let mut routes = routes.write().unwrap_or_else(|e| e.into_inner());
    routes
        .entry(route.to_string())
        .or_insert_with(|| Box::leak(route.to_string().into_boxed_str()))
}

fn method_label(method: &str) -> &'static str {
    ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
        .into_iter()
        .find(|m| *m == method)
        .unwrap_or("OTHER")
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TransitionLabels {
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventLabels {
    event: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConnectionLabels {
    state: &'static str,
}

/// What the database layer records as it commits: handles to the node's metrics, cheap to
/// clone, told of each group commit by the engine (`pence_store`).
#[derive(Clone, Debug)]
pub struct DbMetrics {
    /// Changes in each group commit.
    pub group_size: Histogram,
    /// How long each group commit took (statements and the commit's flush).
    pub commit_seconds: Histogram,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SweepLabels {
    sweep: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: String,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms to about 16 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

/// A node's metrics.
pub struct Telemetry {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    rate_limited: Counter,
    payments_created: Counter,
    transitions: Family<TransitionLabels, Counter>,
    sweep_rounds: Counter,
    swept: Family<SweepLabels, Counter>,
    webhook_attempts: Family<OutcomeLabels, Counter>,
    webhook_latency: Histogram,
    webhook_messages: Family<StatusLabels, Gauge>,
    ledger_events: Family<EventLabels, Counter>,
    db: DbMetrics,
    connections: Family<ConnectionLabels, Gauge>,
    /// Serialises renders (the message gauges are set just before).
    render: Mutex<()>,
}

impl Default for Telemetry {
    fn default() -> Self {
        Telemetry::new()
    }
}

impl Telemetry {
    pub fn new() -> Telemetry {
        let mut registry = Registry::with_prefix("pence");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route template, method and status",
            requests.clone(),
        );
        let latency = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        registry.register(
            "http_request_duration_seconds",
            "How long requests took to answer, by route template and method",
            latency.clone(),
        );
        let rate_limited = Counter::default();
        registry.register(
            "rate_limited_requests",
            "Requests refused by a rate limit (429 P0900)",
            rate_limited.clone(),
        );
        let payments_created = Counter::default();
        registry.register(
            "payments_created",
            "Payments created through the API",
            payments_created.clone(),
        );
        let transitions = Family::<TransitionLabels, Counter>::default();
        registry.register(
            "payment_transitions",
            "Payments' changes written, by the status each recorded event left the payment in",
            transitions.clone(),
        );
        let sweep_rounds = Counter::default();
        registry.register(
            "sweep_rounds",
            "Background sweep rounds run",
            sweep_rounds.clone(),
        );
        let swept = Family::<SweepLabels, Counter>::default();
        registry.register(
            "swept_payments",
            "What the sweeps changed, by sweep (captured, expired, settled...)",
            swept.clone(),
        );
        let webhook_attempts = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "webhook_attempts",
            "Webhook delivery attempts, by outcome (delivered, retried, failed)",
            webhook_attempts.clone(),
        );
        let webhook_latency = latency_histogram();
        registry.register(
            "webhook_attempt_duration_seconds",
            "How long receivers took to answer a webhook message",
            webhook_latency.clone(),
        );
        let webhook_messages = Family::<StatusLabels, Gauge>::default();
        registry.register(
            "webhook_messages",
            "Webhook messages in the outbox, by status, as last counted",
            webhook_messages.clone(),
        );
        let ledger_events = Family::<EventLabels, Counter>::default();
        registry.register(
            "ledger_events",
            "Ledger events committed, by event (REFUND_SUCCEEDED, PAYMENT_SETTLED...)",
            ledger_events.clone(),
        );
        let db = DbMetrics {
            group_size: Histogram::new(exponential_buckets(1.0, 2.0, 11)),
            commit_seconds: latency_histogram(),
        };
        registry.register(
            "db_commit_group_size",
            "Changes committed together in one transaction by a group-commit writer",
            db.group_size.clone(),
        );
        registry.register(
            "db_commit_duration_seconds",
            "How long each group commit took, its flush included",
            db.commit_seconds.clone(),
        );
        let connections = Family::<ConnectionLabels, Gauge>::default();
        registry.register(
            "db_connections",
            "The node's database connections (reads; PostgreSQL's pool), by state, when rendered",
            connections.clone(),
        );
        Telemetry {
            registry,
            ledger_events,
            db,
            connections,
            requests,
            latency,
            rate_limited,
            payments_created,
            transitions,
            sweep_rounds,
            swept,
            webhook_attempts,
            webhook_latency,
            webhook_messages,
            render: Mutex::new(()),
        }
    }

    /// A request answered: `route` is its template (`/v1/payments/{payment_id}`), or
    /// `unmatched`.
    pub fn request(&self, route: &str, method: &str, status: u16, took: Duration) {
        let (route, method) = (interned(route), method_label(method));
        self.requests
            .get_or_create(&RequestLabels {
                route,
                method,
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels { route, method })
            .observe(took.as_secs_f64());
    }

    pub fn rate_limited(&self) {
        self.rate_limited.inc();
    }

    pub fn payment_created(&self) {
        self.payments_created.inc();
    }

    /// A payment reached `status` (its internal name) by `event`, in a change now committed.
    pub fn transition(&self, status: &'static str, event: &'static str) {
        self.transitions
            .get_or_create(&TransitionLabels { status })
            .inc();
        self.ledger_events
            .get_or_create(&EventLabels { event })
            .inc();
    }

    /// Handles for the database layer's writers.
    pub fn db(&self) -> DbMetrics {
        self.db.clone()
    }

    /// One round of the sweeps and what it changed.
    pub fn swept(&self, s: &Swept) {
        self.sweep_rounds.inc();
        for (sweep, n) in [
            ("resumed", s.resumed),
            ("recurring", s.recurring),
            ("captured", s.captured),
            ("expired", s.expired),
            ("refunds", s.refunds),
            ("settled", s.settled),
            ("disputes", s.disputes),
            ("keys_forgotten", s.keys_forgotten),
            ("frozen", s.frozen),
        ] {
            if n > 0 {
                self.swept
                    .get_or_create(&SweepLabels {
                        sweep: sweep.to_string(),
                    })
                    .inc_by(n as u64);
            }
        }
    }

    /// A webhook attempt: `outcome` is delivered, retried or failed.
    pub fn webhook_attempt(&self, outcome: &str, took: Duration) {
        self.webhook_attempts
            .get_or_create(&OutcomeLabels {
                outcome: outcome.to_string(),
            })
            .inc();
        self.webhook_latency.observe(took.as_secs_f64());
    }

    /// The metrics in Prometheus's (OpenMetrics) text format, with the outbox's messages by
    /// status as counted just now.
    pub fn render(&self, messages_by_status: &[(String, i64)], connections: Connections) -> String {
        let _one_at_a_time = self.render.lock().unwrap_or_else(|e| e.into_inner());
        for (state, n) in [("in_use", connections.in_use), ("idle", connections.idle)] {
            self.connections
                .get_or_create(&ConnectionLabels { state })
                .set(n as i64);
        }
        for (status, n) in messages_by_status {
            self.webhook_messages
                .get_or_create(&StatusLabels {
                    status: status.clone(),
                })
                .set(*n);
        }
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String");
        out
    }
}

/// The node's database connections as last seen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Connections {
    pub in_use: u32,
    pub idle: u32,
}

/// The content type of `render`'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
