//! The real node, in-process, serving HTTP on 127.0.0.1 port 0.

use std::sync::Arc;

use pence_core::clock::AdjustableClock;
use pence_core::ports::prelude::*;
use pence_core::service::Service;
use pence_core::usecases::{self, Secrets};
use pence_http::{AppState, NodeSettings, RateLimitConfig};
use pence_store::{SqlStore, StoreOptions};
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::Value;
use tokio::sync::oneshot;

use crate::db::{Engine, TestDb};
use crate::spec;

#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub rate_limits: RateLimitConfig,
    /// 0: every request looks its key up, so revocation shows at once.
    pub auth_cache_ms: u64,
    /// Run the node's once-a-second sweeps in the background, as `pence serve` does. Off by
    /// default: tests call `sweep()` at the moment they mean, so counts are deterministic.
    pub background_sweeps: bool,
    /// The node's webhook delivery (on, polling every 50 ms, 1 s attempts); `None` for off.
    pub delivery: Option<pence_webhooks::DeliverySettings>,
}

impl Default for ServerOptions {
    /// Rate limits off: most tests send faster than GOV.UK Pay's limits allow.
    fn default() -> Self {
        ServerOptions {
            rate_limits: RateLimitConfig {
                enabled: false,
                ..RateLimitConfig::default()
            },
            auth_cache_ms: 0,
            background_sweeps: false,
            delivery: Some(pence_webhooks::DeliverySettings {
                poll: std::time::Duration::from_millis(50),
                timeout: std::time::Duration::from_secs(1),
                ..Default::default()
            }),
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
    stop: Option<oneshot::Sender<()>>,
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

    pub async fn start_with(engine: Engine, options: ServerOptions) -> TestServer {
        let db = TestDb::new(engine).await;
        let store = Arc::new(
            pence_store::connect(&db.url, StoreOptions::default())
                .await
                .expect("open test database"),
        );
        let clock = Arc::new(AdjustableClock::default());
        let secrets = usecases::secrets(store.as_ref()).await.expect("secrets");
        let (service, key) = usecases::bootstrap(store.as_ref(), clock.as_ref(), &secrets)
            .await
            .expect("bootstrap")
            .expect("fresh database");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let state = AppState::build(
            store.clone() as Arc<dyn Store>,
            clock.clone(),
            NodeSettings {
                public_url: url.clone(),
                rate_limits: options.rate_limits,
                auth_cache_ms: options.auth_cache_ms,
            },
        )
        .await
        .expect("state");
        let (stop, stopped) = oneshot::channel::<()>();
        let sweeps = options.background_sweeps.then(|| {
            pence_http::spawn_sweeps(state.clone(), std::time::Duration::from_millis(250))
        });
        let delivery = options.delivery.map(|settings| {
            pence_webhooks::spawn(
                store.clone(),
                clock.clone(),
                settings,
                Arc::new(pence_webhooks::Metrics::default()),
            )
        });
        tokio::spawn(async move {
            axum_serve(listener, state, stopped).await;
            if let Some(sweeps) = sweeps {
                sweeps.abort();
            }
            if let Some(delivery) = delivery {
                delivery.abort();
            }
        });
        TestServer {
            url,
            key,
            service,
            store,
            clock,
            secrets,
            db,
            http: reqwest::Client::new(),
            stop: Some(stop),
        }
    }

    /// One round of the node's background sweeps (capture, expiry), now.
    pub async fn sweep(&self) -> pence_core::sweeps::Swept {
        pence_core::sweeps::run_once(
            self.store.as_ref(),
            self.clock.as_ref(),
            &pence_psp::Sandbox,
        )
        .await
        .expect("sweep")
    }

    /// Another service on this node with its own key.
    pub async fn new_service(&self, live: bool) -> (Service, String) {
        let store = self.store.as_ref() as &dyn Store;
        let service = usecases::create_service(store, self.clock.as_ref(), "Other service", live)
            .await
            .expect("service");
        let (_, key) =
            usecases::create_api_key(store, self.clock.as_ref(), &self.secrets, &service, "test")
                .await
                .expect("key");
        (service, key)
    }

    /// Any request; the body is sent as given. Public-API responses are validated against
    /// the spec (a violation panics, naming it).
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
        if path.starts_with("/v1/") {
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
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.store.close().await;
    }
}

async fn axum_serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    stopped: oneshot::Receiver<()>,
) {
    let app = pence_http::router(state);
    let _ = pence_http::serve(listener, app, async {
        let _ = stopped.await;
    })
    .await;
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
