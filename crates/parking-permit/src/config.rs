//! Flags (and their environment variables).

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Parser, ValueEnum};

/// How the returning user is matched to their journey.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReturnMode {
    /// A sealed (encrypted, authenticated) cookie set before the user leaves.
    Cookie,
    /// A random secret in the return URL.
    Url,
}

#[derive(Debug, Clone, Parser)]
#[command(
    name = "parking-permit",
    about = "An example service: pay for a parking permit"
)]
pub struct Config {
    /// Where to listen.
    #[arg(long, env = "PARKING_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,
    /// The URL users reach the service at (return URLs are built on it); by default
    /// http:// and the listening address.
    #[arg(long, env = "PARKING_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// GOV.UK Pay's API, or a Pence node's URL.
    #[arg(
        long,
        env = "PAY_BASE_URL",
        default_value = "https://publicapi.payments.service.gov.uk"
    )]
    pub pay_base_url: String,
    /// The service's API key.
    #[arg(long, env = "PAY_API_KEY", hide_env_values = true)]
    pub api_key: String,
    /// The webhook signing secret; several, comma-separated, while rotating.
    #[arg(
        long,
        env = "PAY_WEBHOOK_SECRET",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub webhook_secret: Vec<String>,
    /// The service's database: a SQLite file or a postgres:// URL.
    #[arg(long, env = "PARKING_DATABASE", default_value = "parking-permit.db")]
    pub database: String,
    /// How often the mop-up job runs.
    #[arg(long, env = "PARKING_MOP_UP_EVERY", default_value = "30m", value_parser = humantime::parse_duration)]
    pub mop_up_every: Duration,
    /// Journeys younger than this are left to the user and webhooks.
    #[arg(long, env = "PARKING_MOP_UP_OLDER_THAN", default_value = "3h", value_parser = humantime::parse_duration)]
    pub mop_up_older_than: Duration,
    /// How returning users are matched to their journey.
    #[arg(long, env = "PARKING_RETURN_VIA", value_enum, default_value = "cookie")]
    pub return_via: ReturnMode,
    /// The secret return cookies are sealed with (32 characters or more); random at each
    /// start when not given.
    #[arg(long, env = "PARKING_COOKIE_KEY", hide_env_values = true)]
    pub cookie_key: Option<String>,
    /// Store and acknowledge webhook messages without processing them.
    #[arg(long, env = "PARKING_NO_WEBHOOK_PROCESSING")]
    pub no_webhook_processing: bool,
    /// How long an instance holds webhook messages it is processing (another instance, or
    /// this one restarted, takes them after that).
    #[arg(long, env = "PARKING_WEBHOOK_LEASE", default_value = "30s", value_parser = humantime::parse_duration)]
    pub webhook_lease: Duration,
}

impl Config {
    /// Refuses settings that would be unsafe: a live key sent, or users returned, over http.
    pub fn check(&self) -> anyhow::Result<()> {
        let live = self.api_key.starts_with("api_live_");
        if live && !self.pay_base_url.starts_with("https://") {
            anyhow::bail!(
                "refusing to send a live API key over http: --pay-base-url must be https://"
            );
        }
        if live
            && self
                .public_url
                .as_deref()
                .is_none_or(|u| !u.starts_with("https://"))
        {
            anyhow::bail!(
                "refusing to take live payments over http: --public-url must be https://"
            );
        }
        if let Some(key) = &self.cookie_key {
            if key.len() < 32 {
                anyhow::bail!("--cookie-key must be at least 32 characters");
            }
        }
        Ok(())
    }
}
