//! The node a benchmark drives: started by the composition root every node uses, with rate
//! limits and background work off, and a service and key of its own.

use anyhow::Context;
use pence_core::ports::prelude::*;
use pence_core::service;
use pence_core::service::Service;
use pence_core::staff::Actor;
use pence_http::RateLimitConfig;
use pence_node::{Node, Settings};

pub(crate) struct BenchNode {
    pub node: Node,
    pub key: String,
    pub service: Service,
    /// The database the node runs on.
    url: String,
    /// Holds the temporary SQLite file while the node runs.
    _temp: tempfile::TempDir,
}

impl std::ops::Deref for BenchNode {
    type Target = Node;
    fn deref(&self) -> &Node {
        &self.node
    }
}

/// A node on `database`, or on a temporary SQLite file.
pub(crate) async fn start(database: Option<String>) -> anyhow::Result<BenchNode> {
    let temp = tempfile::tempdir()?;
    let url =
        database.unwrap_or_else(|| temp.path().join("bench.db").to_string_lossy().into_owned());
    let node = Node::start(settings(url.clone()))
        .await
        .context("starting the bench node")?;
    let store = node.store.as_ref() as &dyn Store;
    let service = service::create_service(store, node.clock.as_ref(), "bench", false).await?;
    let (_, key) = service::create_api_key(
        store,
        node.clock.as_ref(),
        Actor::Operator,
        &node.secrets,
        &service,
        "bench",
    )
    .await?;
    Ok(BenchNode {
        node,
        key,
        service,
        url,
        _temp: temp,
    })
}

impl BenchNode {
    /// Stops the node and starts another on the same database, as a deploy does: what the
    /// node kept in memory is gone, what it stored is not.
    pub(crate) async fn restart(self) -> anyhow::Result<BenchNode> {
        let BenchNode {
            node,
            key,
            service,
            url,
            _temp,
        } = self;
        node.stop().await;
        let node = Node::start(settings(url.clone()))
            .await
            .context("restarting the bench node")?;
        Ok(BenchNode {
            node,
            key,
            service,
            url,
            _temp,
        })
    }
}

/// Another node on the same (PostgreSQL) database, started as the first one is.
pub(crate) async fn another(database_url: &str) -> anyhow::Result<Node> {
    Node::start(settings(database_url))
        .await
        .context("starting another bench node")
}

/// A bench node's settings: rate limits and background work off, no bootstrap service.
fn settings(database_url: impl Into<String>) -> Settings {
    Settings {
        rate_limits: RateLimitConfig {
            enabled: false,
            ..RateLimitConfig::default()
        },
        sweep_every: None,
        background_delivery: false,
        bootstrap: false,
        ..Settings::new(database_url)
    }
}
