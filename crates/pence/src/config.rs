//! Settings from the command line, the environment (`PENCE_…`) and an optional TOML file, in
//! that order of precedence, merged by figment. Unknown keys in the file are an error;
//! secrets never appear in what is printed.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args as ClapArgs;
use figment::providers::{Format, Serialized, Toml};
use figment::Figment;
use pence_core::service::RateLimits;
use pence_http::RateLimitConfig;
use serde::{Deserialize, Serialize};

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATABASE: &str = "pence-data/pence.db";

/// What every command takes: where the database and the settings file are.
#[derive(ClapArgs, Debug, Clone, Default)]
pub struct Args {
    /// Database: a SQLite file path (default pence-data/pence.db) or postgres://...
    #[arg(long, env = "PENCE_DATABASE_URL", global = true)]
    pub database: Option<String>,
    /// A TOML settings file.
    #[arg(long, env = "PENCE_CONFIG", global = true)]
    pub config: Option<PathBuf>,
}

/// What only `pence serve` takes.
#[derive(ClapArgs, Debug, Clone, Default)]
pub struct ServeArgs {
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long, env = "PENCE_LISTEN")]
    pub listen: Option<String>,
    /// The URL clients reach Pence at (default: http:// + the listen address).
    #[arg(long, env = "PENCE_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Turn rate limiting off (load testing).
    #[arg(long, env = "PENCE_NO_RATE_LIMITS")]
    pub no_rate_limits: bool,
    /// Serve /metrics on this address alone, not on --listen (e.g. 127.0.0.1:9090).
    #[arg(long, env = "PENCE_METRICS_LISTEN")]
    pub metrics_listen: Option<String>,
}

/// Every setting, as the TOML file spells it. figment layers, lowest first: these defaults,
/// the file, then the flags and their `PENCE_…` variables (clap reads both, flags winning).
/// Unknown keys anywhere are an error.
#[derive(Deserialize, Serialize, Debug)]
#[serde(deny_unknown_fields)]
struct Config {
    listen: String,
    database_url: String,
    public_url: Option<String>,
    /// Where `/metrics` is served alone; none: on `listen` with everything else.
    metrics_listen: Option<String>,
    auth_cache_ms: u64,
    /// `json` or `text`; unset: text on a terminal, JSON lines elsewhere.
    log_format: Option<LogFormat>,
    /// The key secrets are sealed with at rest (64 hexadecimal digits); unset, on SQLite, a
    /// key file beside the database (`sealing_keys.rs`). Best given as PENCE_SECRET_KEY.
    secret_key: Option<String>,
    /// Keys secrets may still be sealed with (after a rotation).
    previous_secret_keys: Vec<String>,
    rate_limits: RateLimitsConfig,
    webhooks: WebhooksConfig,
    http: HttpConfig,
    email: EmailConfig,
}

/// Passing the email sink's emails on to an SMTP server (none by default).
#[derive(Deserialize, Serialize, Debug)]
#[serde(deny_unknown_fields)]
struct EmailConfig {
    /// `smtp://host:port` (plain) or `smtps://…`; none: emails stay in the sink only.
    smtp_url: Option<String>,
    from: String,
}

#[derive(Deserialize, Serialize, Debug)]
#[serde(deny_unknown_fields)]
struct HttpConfig {
    header_read_ms: u64,
    body_read_ms: u64,
    max_connections: usize,
}

#[derive(Deserialize, Serialize, Debug)]
#[serde(deny_unknown_fields)]
struct RateLimitsConfig {
    enabled: bool,
    create_payment: u32,
    capture: u32,
    other_post: u32,
    get: u32,
}

#[derive(Deserialize, Serialize, Debug)]
#[serde(deny_unknown_fields)]
struct WebhooksConfig {
    enabled: bool,
    timeout_ms: u64,
    poll_ms: u64,
    workers: usize,
    concurrency: usize,
}

impl Default for Config {
    fn default() -> Self {
        let limits = RateLimits::default();
        let delivery = pence_webhooks::DeliverySettings::default();
        let http = pence_http::Limits::default();
        Config {
            listen: DEFAULT_LISTEN.into(),
            database_url: DEFAULT_DATABASE.into(),
            public_url: None,
            metrics_listen: None,
            auth_cache_ms: 1000,
            log_format: None,
            secret_key: None,
            previous_secret_keys: Vec::new(),
            rate_limits: RateLimitsConfig {
                enabled: true,
                create_payment: limits.create_payment,
                capture: limits.capture,
                other_post: limits.other_post,
                get: limits.get,
            },
            webhooks: WebhooksConfig {
                enabled: true,
                timeout_ms: delivery.timeout.as_millis() as u64,
                poll_ms: delivery.poll.as_millis() as u64,
                workers: delivery.workers,
                concurrency: delivery.concurrency,
            },
            http: HttpConfig {
                header_read_ms: http.header_read.as_millis() as u64,
                body_read_ms: http.body_read.as_millis() as u64,
                max_connections: http.max_connections,
            },
            email: EmailConfig {
                smtp_url: None,
                from: pence_node::DEFAULT_EMAIL_FROM.into(),
            },
        }
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: String,
    pub database_url: String,
    pub public_url: String,
    /// False when the public URL was derived from the listen address.
    pub public_url_given: bool,
    pub auth_cache_ms: u64,
    /// The log lines' layout, if the settings name one.
    pub log_format: Option<LogFormat>,
    /// The sealing key given, if any (`sealing_keys::resolve` finds one otherwise).
    pub secret_key: Option<pence_store::SealingKey>,
    /// Keys secrets may still be sealed with.
    pub previous_secret_keys: Vec<pence_store::SealingKey>,
    pub rate_limits: RateLimitConfig,
    pub limits: pence_http::Limits,
    /// None: this node sends no webhooks (others on the database may).
    pub webhooks: Option<pence_webhooks::DeliverySettings>,
    /// Where this node passes emails on to, and from whom.
    pub smtp: Option<pence_node::SmtpSettings>,
    /// Where `/metrics` is served alone, if anywhere.
    pub metrics_listen: Option<String>,
}

impl Settings {
    pub fn load(args: &Args, serve: &ServeArgs) -> anyhow::Result<Settings> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = &args.config {
            anyhow::ensure!(path.is_file(), "no settings file at {}", path.display());
            figment = figment.merge(Toml::file_exact(path));
        }
        for (key, value) in [
            ("listen", &serve.listen),
            ("database_url", &args.database),
            ("public_url", &serve.public_url),
            ("metrics_listen", &serve.metrics_listen),
        ] {
            if let Some(value) = value {
                figment = figment.merge(Serialized::default(key, value));
            }
        }
        if serve.no_rate_limits {
            figment = figment.merge(Serialized::default("rate_limits.enabled", false));
        }
        // Keys come from the environment (or the file), never a flag: a command line is
        // visible to every user of the machine.
        if let Ok(key) = std::env::var("PENCE_SECRET_KEY") {
            figment = figment.merge(Serialized::default("secret_key", key));
        }
        if let Ok(keys) = std::env::var("PENCE_PREVIOUS_SECRET_KEYS") {
            let keys: Vec<String> = keys.split(',').map(|k| k.trim().to_string()).collect();
            figment = figment.merge(Serialized::default("previous_secret_keys", keys));
        }
        let config: Config = figment.extract().map_err(|e| match &args.config {
            Some(path) => anyhow::anyhow!("{e} (settings file {})", path.display()),
            None => anyhow::anyhow!("{e}"),
        })?;
        let public_url_given = config.public_url.is_some();
        let public_url = config
            .public_url
            .unwrap_or_else(|| format!("http://{}", listen_address(&config.listen)));
        let hooks = config.webhooks;
        let delivery = pence_webhooks::DeliverySettings {
            timeout: Duration::from_millis(hooks.timeout_ms.max(1)),
            poll: Duration::from_millis(hooks.poll_ms.max(1)),
            workers: hooks.workers.max(1),
            concurrency: hooks.concurrency.max(1),
            ..Default::default()
        };
        let limits = config.rate_limits;
        let http = config.http;
        Ok(Settings {
            limits: pence_http::Limits {
                header_read: Duration::from_millis(http.header_read_ms.max(1)),
                body_read: Duration::from_millis(http.body_read_ms.max(1)),
                max_connections: http.max_connections.max(1),
            },
            database_url: config.database_url,
            public_url: public_url.trim_end_matches('/').to_string(),
            public_url_given,
            listen: listen_address(&config.listen),
            metrics_listen: config.metrics_listen,
            auth_cache_ms: config.auth_cache_ms,
            webhooks: hooks.enabled.then_some(delivery),
            smtp: config.email.smtp_url.map(|url| pence_node::SmtpSettings {
                url,
                from: config.email.from,
            }),
            log_format: config.log_format,
            secret_key: config.secret_key.as_deref().map(key).transpose()?,
            previous_secret_keys: config
                .previous_secret_keys
                .iter()
                .map(|k| key(k))
                .collect::<anyhow::Result<_>>()?,
            rate_limits: RateLimitConfig {
                enabled: limits.enabled,
                defaults: RateLimits {
                    create_payment: limits.create_payment,
                    capture: limits.capture,
                    other_post: limits.other_post,
                    get: limits.get,
                },
            },
        })
    }

    /// Whether log lines are JSON: as the settings say, else unless stderr is a terminal
    /// (where people read them).
    pub fn json_logs(&self) -> bool {
        use std::io::IsTerminal;
        match self.log_format {
            Some(format) => format == LogFormat::Json,
            None => !std::io::stderr().is_terminal(),
        }
    }

    /// The database URL with any password replaced, for printing.
    pub fn redacted_database(&self) -> String {
        redact(&self.database_url)
    }
}

/// A sealing key as given, or why it is refused (without repeating it).
fn key(text: &str) -> anyhow::Result<pence_store::SealingKey> {
    pence_store::SealingKey::parse(text).ok_or_else(|| {
        anyhow::anyhow!(
            "a secret key must be 64 hexadecimal digits (`pence secrets new-key` makes one)"
        )
    })
}

/// How log lines are written.
#[derive(Deserialize, Serialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Json,
    Text,
}

/// `8080` alone is `127.0.0.1:8080` (loopback, as the default is); anything else as given.
fn listen_address(listen: &str) -> String {
    match listen.parse::<u16>() {
        Ok(port) => format!("127.0.0.1:{port}"),
        Err(_) => listen.to_string(),
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
/// what commands print. Admin commands log warnings only. Lines are written by a thread of
/// their own, many in one write (`log_writer`), so a request never waits on stderr. Keep the
/// returned `Logging` until the end: dropping it writes what is left.
pub struct Logging {
    _flush: crate::log_writer::Flush,
    /// The node's access log, written by the node to the same writer in the same layout.
    pub access_log: pence_http::AccessLog,
    /// The writer itself, to wait for what is queued (`LogWriter::settle`).
    pub writer: crate::log_writer::LogWriter,
}

pub fn init_logging(settings: &Settings, server: bool) -> Logging {
    let default = if server { "info" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("PENCE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let (writer, flush) = crate::log_writer::LogWriter::start(std::io::stderr());
    let access_log =
        pence_http::AccessLog::new(std::sync::Arc::new(writer.clone()), settings.json_logs());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer.clone())
        .event_format(crate::log_format::Lines {
            json: settings.json_logs(),
        })
        .try_init();
    Logging {
        _flush: flush,
        access_log,
        writer,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(config: Option<PathBuf>) -> Args {
        Args {
            database: None,
            config,
        }
    }

    fn load(args: &Args) -> anyhow::Result<Settings> {
        Settings::load(args, &ServeArgs::default())
    }

    fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pence.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    /// A port alone listens on loopback; an unknown log format is refused like any bad
    /// setting.
    #[test]
    fn a_bare_port_and_a_bad_log_format() {
        let serve = ServeArgs {
            listen: Some("8080".into()),
            ..ServeArgs::default()
        };
        let s = Settings::load(&args(None), &serve).unwrap();
        assert_eq!(
            (s.listen.as_str(), s.public_url.as_str()),
            ("127.0.0.1:8080", "http://127.0.0.1:8080")
        );
        let (_dir, path) = file("log_format = \"yaml\"\n");
        let refused = load(&args(Some(path)))
            .map(|_| ())
            .expect_err("refused")
            .to_string();
        assert!(
            refused.contains("yaml") && refused.contains("log_format"),
            "{refused}"
        );
    }

    #[test]
    fn defaults_then_file_then_flags() {
        let s = load(&args(None)).unwrap();
        assert_eq!(s.listen, DEFAULT_LISTEN);
        assert_eq!(s.public_url, "http://127.0.0.1:8080");
        assert!(!s.public_url_given && s.log_format.is_none() && s.rate_limits.enabled);
        assert!(s.webhooks.is_some());
        assert!(s.smtp.is_none(), "emails stay in the sink by default");

        let (_dir, path) = file(
            "listen = \"127.0.0.1:9000\"\nlog_format = \"text\"\n\
             [rate_limits]\nget = 7\n[webhooks]\nenabled = false\n\
             [email]\nsmtp_url = \"smtp://127.0.0.1:2525\"\n",
        );
        let s = load(&args(Some(path.clone()))).unwrap();
        assert_eq!(s.listen, "127.0.0.1:9000");
        let smtp = s.smtp.clone().expect("[email] smtp_url");
        assert_eq!(smtp.url, "smtp://127.0.0.1:2525");
        assert_eq!(smtp.from, pence_node::DEFAULT_EMAIL_FROM);
        assert_eq!(s.rate_limits.defaults.get, 7);
        assert_eq!(
            s.rate_limits.defaults.create_payment, 15,
            "the rest default"
        );
        assert!(s.log_format == Some(LogFormat::Text) && s.webhooks.is_none());

        let serve = ServeArgs {
            listen: Some("127.0.0.1:9001".into()),
            no_rate_limits: true,
            ..ServeArgs::default()
        };
        let s = Settings::load(&args(Some(path)), &serve).unwrap();
        assert_eq!(s.listen, "127.0.0.1:9001", "a flag beats the file");
        assert!(!s.rate_limits.enabled);
    }

    #[test]
    fn unknown_keys_and_missing_files_are_errors() {
        for text in ["lsten = \"x\"\n", "[rate_limits]\ncreate = 3\n", "[web]\n"] {
            let (_dir, path) = file(text);
            assert!(load(&args(Some(path))).is_err(), "{text}");
        }
        assert!(load(&args(Some("/nonexistent/pence.toml".into()))).is_err());
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://pence:secret@127.0.0.1:5432/pence"),
            "postgres://pence:****@127.0.0.1:5432/pence"
        );
        assert_eq!(redact("pence-data/pence.db"), "pence-data/pence.db");
    }
}
