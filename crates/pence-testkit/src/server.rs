//! The real node, in-process, serving HTTP on 127.0.0.1 port 0.

use std::sync::Arc;

use pence_core::clock::AdjustableClock;
use pence_core::service::Service;
use pence_core::service::{self, Secrets};
use pence_core::staff::Actor;
use pence_core::Store;
use pence_http::RateLimitConfig;
use pence_node::{Node, Settings};
use pence_store::SqlStore;
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::Value;

use crate::db::{Engine, TestDb};
use crate::spec;

#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub rate_limits: RateLimitConfig,
    /// Connection limits (the node's defaults unless a test shortens them).
    pub limits: pence_http::Limits,
    /// 0: every request looks its key up, so revocation shows at once.
    pub auth_cache_ms: u64,
    /// Run the node's once-a-second sweeps in the background, as `pence serve` does. Off by
    /// default: tests call `sweep()` at the moment they mean, so counts are deterministic.
    pub background_sweeps: bool,
    /// How the node delivers webhooks (polling every 50 ms, 1 s attempts).
    pub delivery: pence_webhooks::DeliverySettings,
    /// Deliver in the background; off, the test drives delivery (`deliver_once`).
    pub background_delivery: bool,
    /// The address users reach the node at, when a test names one (links show it; the
    /// test still talks to the node's own address).
    pub public_url: Option<String>,
}

impl ServerOptions {
    /// No webhook delivery in the background: the test drives it (`deliver_once`,
    /// `drain_webhooks`), so what was sent is known exactly when the call returns.
    pub fn driven_delivery() -> ServerOptions {
        ServerOptions {
            background_delivery: false,
            ..ServerOptions::default()
        }
    }
}

impl Default for ServerOptions {
    /// Rate limits off: most tests send faster than GOV.UK Pay's limits allow.
    fn default() -> Self {
        ServerOptions {
            rate_limits: RateLimitConfig {
                enabled: false,
                ..RateLimitConfig::default()
            },
            limits: pence_http::Limits::default(),
            auth_cache_ms: 0,
            background_sweeps: false,
            delivery: pence_webhooks::DeliverySettings {
                poll: std::time::Duration::from_millis(50),
                timeout: std::time::Duration::from_secs(1),
                ..Default::default()
            },
            background_delivery: true,
            public_url: None,
        }
    }
}

/// A running node with its own fresh database, the sandbox service and a test key.
pub struct TestServer {
    pub url: String,
    pub key: String,
    pub service: Service,
    pub store: Arc<SqlStore>,
    pub clock: Arc<AdjustableClock>,
    pub secrets: Secrets,
    pub db: TestDb,
    pub http: reqwest::Client,
    node: Option<Node>,
}

/// A response, its body parsed as JSON (`Value::Null` when empty or not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl TestServer {
    pub async fn start(engine: Engine) -> TestServer {
        Self::start_with(engine, ServerOptions::default()).await
    }

    /// A node started by the composition root every node uses (`pence_node::Node`), on a
    /// fresh database.
    pub async fn start_with(engine: Engine, options: ServerOptions) -> TestServer {
        let db = TestDb::new(engine).await;
        let node = Node::start(Settings {
            rate_limits: options.rate_limits,
            limits: options.limits,
            auth_cache_ms: options.auth_cache_ms,
            sweep_every: options
                .background_sweeps
                .then(|| std::time::Duration::from_millis(250)),
            webhooks: options.delivery,
            background_delivery: options.background_delivery,
            public_url: options.public_url,
            ..Settings::new(db.url.clone())
        })
        .await
        .expect("start the node");
        let (service, key) = node.first.clone().expect("fresh database");
        TestServer {
            url: format!("http://{}", node.local_addr),
            key,
            service,
            store: node.store.clone(),
            clock: node.clock.clone(),
            secrets: node.secrets.clone(),
            db,
            http: reqwest::Client::new(),
            node: Some(node),
        }
    }

    fn node(&self) -> &Node {
        self.node.as_ref().expect("running")
    }

    /// One round of the node's background sweeps (capture, expiry...), now.
    pub async fn sweep(&self) -> pence_core::sweeps::Swept {
        self.node().sweep().await.expect("sweep")
    }

    /// One round of the node's webhook delivery, now; how many messages it attempted.
    pub async fn deliver_once(&self) -> usize {
        self.node().deliver_once().await.expect("deliver").attempted
    }

    /// Delivers every due webhook message, round after round, until a round attempts none;
    /// how many attempts that made. Each attempt is recorded when this returns.
    pub async fn drain_webhooks(&self) -> usize {
        let mut total = 0;
        loop {
            match self.deliver_once().await {
                0 => return total,
                n => total += n,
            }
        }
    }

    /// Another service on this node with its own key.
    pub async fn new_service(&self, live: bool) -> (Service, String) {
        let store = self.store.as_ref() as &dyn Store;
        let service = service::create_service(store, self.clock.as_ref(), "Other service", live)
            .await
            .expect("service");
        let (_, key) = service::create_api_key(
            store,
            self.clock.as_ref(),
            Actor::Operator,
            &self.secrets,
            &service,
            "test",
        )
        .await
        .expect("key");
        (service, key)
    }

    /// Any request; the body is sent as given. Public-API and control-API responses are
    /// validated against their specs (a violation panics, naming it).
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Reply {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.url));
        if let Some(key) = key {
            req = req.header("Authorization", format!("Bearer {key}"));
        }
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if let Some(body) = body {
            req = req.body(body);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body");
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        if path.starts_with("/v1/")
            || path.starts_with("/sandbox/v1/")
            || path.starts_with("/pence/v1/")
        {
            if let Err(e) = spec::validate_response(method.as_str(), path, status, &json) {
                panic!("{method} {path} -> {status} breaks the spec {e}\nbody: {text}");
            }
        }
        Reply {
            status,
            headers,
            text,
            json,
        }
    }

    /// POSTs JSON with the server's test key.
    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.post_as(&self.key, path, body).await
    }

    pub async fn post_as(&self, key: &str, path: &str, body: &Value) -> Reply {
        self.send(
            Method::POST,
            path,
            Some(key),
            &[("Content-Type", "application/json")],
            Some(body.to_string().into_bytes()),
        )
        .await
    }

    /// GETs with the server's test key.
    pub async fn get(&self, path: &str) -> Reply {
        self.get_as(&self.key, path).await
    }

    pub async fn get_as(&self, key: &str, path: &str) -> Reply {
        self.send(Method::GET, path, Some(key), &[], None).await
    }

    /// Stops serving and closes the database.
    pub async fn stop(mut self) {
        if let Some(node) = self.node.take() {
            node.stop().await;
        }
    }
}
