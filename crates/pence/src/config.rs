//! Settings from the command line, the environment (`PENCE_…`) and an optional TOML file, in
//! that order of precedence. Unknown keys in the file are an error; secrets never appear in
//! what is printed.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args as ClapArgs;
use pence_core::service::RateLimits;
use pence_http::RateLimitConfig;
use serde::Deserialize;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATABASE: &str = "pence-data/pence.db";

#[derive(ClapArgs, Debug, Clone)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, env = "PENCE_LISTEN", global = true)]
    pub listen: Option<String>,
    /// Database: a SQLite file path (default pence-data/pence.db) or postgres://...
    #[arg(long, env = "PENCE_DATABASE_URL", global = true)]
    pub database: Option<String>,
    /// The URL clients reach Pence at (default: http:// + the listen address).
    #[arg(long, env = "PENCE_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,
    /// A TOML settings file.
    #[arg(long, env = "PENCE_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Turn rate limiting off (load testing).
    #[arg(long, env = "PENCE_NO_RATE_LIMITS", global = true)]
    pub no_rate_limits: bool,
}

/// The optional TOML file.
#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    listen: Option<String>,
    database_url: Option<String>,
    public_url: Option<String>,
    auth_cache_ms: Option<u64>,
    log_format: Option<String>,
    rate_limits: Option<FileRateLimits>,
    webhooks: Option<FileWebhooks>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
struct FileWebhooks {
    enabled: Option<bool>,
    timeout_ms: Option<u64>,
    poll_ms: Option<u64>,
    workers: Option<usize>,
    concurrency: Option<usize>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
struct FileRateLimits {
    enabled: Option<bool>,
    create_payment: Option<u32>,
    capture: Option<u32>,
    other_post: Option<u32>,
    get: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: String,
    pub database_url: String,
    pub public_url: String,
    /// False when the public URL was derived from the listen address.
    pub public_url_given: bool,
    pub auth_cache_ms: u64,
    pub json_logs: bool,
    pub rate_limits: RateLimitConfig,
    /// None: this node sends no webhooks (others on the database may).
    pub webhooks: Option<pence_webhooks::DeliverySettings>,
}

impl Settings {
    pub fn load(args: &Args) -> anyhow::Result<Settings> {
        let file: FileSettings = match &args.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                toml::from_str(&text).with_context(|| format!("in {}", path.display()))?
            }
            None => FileSettings::default(),
        };
        let listen = args
            .listen
            .clone()
            .or(file.listen)
            .unwrap_or_else(|| DEFAULT_LISTEN.to_string());
        let given = args.public_url.clone().or(file.public_url);
        let public_url_given = given.is_some();
        let public_url = given.unwrap_or_else(|| format!("http://{listen}"));
        let file_limits = file.rate_limits.unwrap_or_default();
        let hooks = file.webhooks.unwrap_or_default();
        let mut delivery = pence_webhooks::DeliverySettings::default();
        if let Some(ms) = hooks.timeout_ms {
            delivery.timeout = std::time::Duration::from_millis(ms.max(1));
        }
        if let Some(ms) = hooks.poll_ms {
            delivery.poll = std::time::Duration::from_millis(ms.max(1));
        }
        if let Some(n) = hooks.workers {
            delivery.workers = n.max(1);
        }
        if let Some(n) = hooks.concurrency {
            delivery.concurrency = n.max(1);
        }
        let defaults = RateLimits::default();
        Ok(Settings {
            database_url: args
                .database
                .clone()
                .or(file.database_url)
                .unwrap_or_else(|| DEFAULT_DATABASE.to_string()),
            public_url: public_url.trim_end_matches('/').to_string(),
            public_url_given,
            listen,
            auth_cache_ms: file.auth_cache_ms.unwrap_or(1000),
            webhooks: hooks.enabled.unwrap_or(true).then_some(delivery),
            json_logs: file.log_format.as_deref() != Some("text"),
            rate_limits: RateLimitConfig {
                enabled: !args.no_rate_limits && file_limits.enabled.unwrap_or(true),
                defaults: RateLimits {
                    create_payment: file_limits
                        .create_payment
                        .unwrap_or(defaults.create_payment),
                    capture: file_limits.capture.unwrap_or(defaults.capture),
                    other_post: file_limits.other_post.unwrap_or(defaults.other_post),
                    get: file_limits.get.unwrap_or(defaults.get),
                },
            },
        })
    }

    /// The database URL with any password replaced, for printing.
    pub fn redacted_database(&self) -> String {
        redact(&self.database_url)
    }
}

fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:****{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Logs go to stderr (JSON unless the file says `log_format = "text"`); stdout is kept for
/// what commands print. Admin commands log warnings only.
pub fn init_logging(settings: &Settings, server: bool) {
    let default = if server { "info" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("PENCE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if settings.json_logs {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            super::redact("postgres://pence:secret@127.0.0.1:5432/pence"),
            "postgres://pence:****@127.0.0.1:5432/pence"
        );
        assert_eq!(super::redact("pence-data/pence.db"), "pence-data/pence.db");
    }
}
