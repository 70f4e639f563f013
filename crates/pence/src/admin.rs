//! Admin commands: services and API keys. They work on the database directly, so they can run
//! while the server does. What a script needs (an id, a key) goes alone to stdout.

use anyhow::{bail, Context};
use clap::Subcommand;
use pence_core::clock::{AdjustableClock, Clock};
use pence_core::timefmt;
use pence_core::usecases;

use crate::config::Settings;
use crate::serve::open_store;

#[derive(Subcommand)]
pub enum ServiceCommand {
    /// Create a service; prints its id.
    Create {
        #[arg(long)]
        name: String,
        /// A live service (https return URLs only, api_live_ keys).
        #[arg(long)]
        live: bool,
    },
    /// List services.
    List,
    /// Change a service's rate limits (requests a second; omit to keep, 0 to use the default).
    Update {
        id: String,
        #[arg(long)]
        rate_limit_post: Option<u32>,
        #[arg(long)]
        rate_limit_get: Option<u32>,
    },
}

#[derive(Subcommand)]
pub enum KeyCommand {
    /// Create an API key; prints the key, once.
    Create {
        /// The service (default: the first sandbox test service).
        #[arg(long)]
        service: Option<String>,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List API keys (never the keys themselves).
    List,
    /// Revoke an API key by its id.
    Revoke { key_id: String },
}

pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    open_store(settings).await?;
    eprintln!("database {} is up to date", settings.redacted_database());
    Ok(())
}

pub async fn service(settings: &Settings, cmd: ServiceCommand) -> anyhow::Result<()> {
    let store = open_store(settings).await?;
    let clock = AdjustableClock::default();
    match cmd {
        ServiceCommand::Create { name, live } => {
            let service = usecases::create_service(store.as_ref(), &clock, &name, live).await?;
            println!("{}", service.id);
        }
        ServiceCommand::List => {
            println!(
                "{:<26}  {:<4}  {:<8}  {:<24}  NAME",
                "ID", "MODE", "PROVIDER", "CREATED"
            );
            for s in store.services().await? {
                println!(
                    "{:<26}  {:<4}  {:<8}  {:<24}  {}",
                    s.id,
                    if s.live { "live" } else { "test" },
                    s.payment_provider,
                    timefmt::date_time(s.created_ms),
                    s.name
                );
            }
        }
        ServiceCommand::Update {
            id,
            rate_limit_post,
            rate_limit_get,
        } => {
            let Some(mut s) = store.service(&id).await? else {
                bail!("no service {id}");
            };
            let limit = |v: u32| (v > 0).then_some(v);
            if let Some(v) = rate_limit_post {
                s.rate_limit_post = limit(v);
            }
            if let Some(v) = rate_limit_get {
                s.rate_limit_get = limit(v);
            }
            store.update_service(&s).await?;
        }
    }
    Ok(())
}

pub async fn key(settings: &Settings, cmd: KeyCommand) -> anyhow::Result<()> {
    let store = open_store(settings).await?;
    let clock = AdjustableClock::default();
    match cmd {
        KeyCommand::Create {
            service,
            description,
        } => {
            let service = match service {
                Some(id) => store
                    .service(&id)
                    .await?
                    .with_context(|| format!("no service {id}"))?,
                None => usecases::default_service(store.as_ref())
                    .await?
                    .context("no sandbox test service: create one with `pence service create`")?,
            };
            let secrets = usecases::secrets(store.as_ref()).await?;
            let (_, key) =
                usecases::create_api_key(store.as_ref(), &clock, &secrets, &service, &description)
                    .await?;
            println!("{key}");
        }
        KeyCommand::List => {
            println!(
                "{:<26}  {:<26}  {:<13}  {:<8}  DESCRIPTION",
                "ID", "SERVICE", "KEY", "STATE"
            );
            for k in store.api_keys().await? {
                println!(
                    "{:<26}  {:<26}  {:<13}  {:<8}  {}",
                    k.id,
                    k.service_id,
                    format!("{}…", k.display_prefix),
                    if k.revoked_ms.is_some() {
                        "revoked"
                    } else {
                        "active"
                    },
                    k.description
                );
            }
        }
        KeyCommand::Revoke { key_id } => {
            if !store.revoke_api_key(&key_id, clock.now_ms()).await? {
                bail!("no active key {key_id}");
            }
            eprintln!("revoked {key_id}");
        }
    }
    Ok(())
}
