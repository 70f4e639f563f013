//! Admin commands: services and API keys. They work on the database directly, so they can run
//! while the server does. What a script needs (an id, a key) goes alone to stdout.

use std::sync::Arc;

use anyhow::{bail, Context};
use clap::Subcommand;
use pence_core::card::Brand;
use pence_core::clock::{AdjustableClock, Clock};
use pence_core::service::{AcceptedTypes, CardSettings, EmailCollection};
use pence_core::timefmt;
use pence_core::usecases;
use pence_core::Store;

use crate::config::Settings;
use crate::serve::{existing_store, open_store};

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
    /// Change a service's settings; options left out keep their value.
    Update {
        id: String,
        /// POST requests a second (0: the instance default).
        #[arg(long)]
        rate_limit_post: Option<u32>,
        /// GET requests a second (0: the instance default).
        #[arg(long)]
        rate_limit_get: Option<u32>,
        #[command(flatten)]
        cards: CardOptions,
    },
}

/// The card page's settings of a service.
#[derive(clap::Args)]
pub struct CardOptions {
    /// Card brands accepted, comma-separated: visa, master-card, american-express,
    /// diners-club, discover, jcb, unionpay, maestro.
    #[arg(long, value_parser = parse_brands)]
    accepted_brands: Option<Vec<Brand>>,
    /// all, debit or credit.
    #[arg(long, value_parser = parse_types)]
    card_types: Option<AcceptedTypes>,
    /// Refuse prepaid cards (true or false).
    #[arg(long)]
    block_prepaid: Option<bool>,
    /// Ask for the billing address (true or false).
    #[arg(long)]
    billing_address: Option<bool>,
    /// Email on the card page: mandatory, optional or off.
    #[arg(long, value_parser = parse_email)]
    email_collection: Option<EmailCollection>,
    /// Corporate card surcharges, in pence.
    #[arg(long)]
    surcharge_credit: Option<u32>,
    #[arg(long)]
    surcharge_debit: Option<u32>,
    #[arg(long)]
    surcharge_prepaid_debit: Option<u32>,
}

fn parse_brands(s: &str) -> Result<Vec<Brand>, String> {
    CardSettings::parse_brands(s).ok_or_else(|| format!("unknown brand in {s:?}"))
}

fn parse_types(s: &str) -> Result<AcceptedTypes, String> {
    AcceptedTypes::parse(s).ok_or_else(|| "all, debit or credit".into())
}

fn parse_email(s: &str) -> Result<EmailCollection, String> {
    EmailCollection::parse(s).ok_or_else(|| "mandatory, optional or off".into())
}

impl CardOptions {
    fn apply(self, c: &mut CardSettings) {
        if let Some(v) = self.accepted_brands {
            c.accepted_brands = v;
        }
        if let Some(v) = self.card_types {
            c.accepted_types = v;
        }
        if let Some(v) = self.block_prepaid {
            c.block_prepaid = v;
        }
        if let Some(v) = self.billing_address {
            c.collect_billing_address = v;
        }
        if let Some(v) = self.email_collection {
            c.email_collection = v;
        }
        for (value, field) in [
            (self.surcharge_credit, &mut c.surcharge_credit),
            (self.surcharge_debit, &mut c.surcharge_debit),
            (self.surcharge_prepaid_debit, &mut c.surcharge_prepaid_debit),
        ] {
            if let Some(v) = value {
                *field = i64::from(v);
            }
        }
    }
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
    let store: Arc<dyn Store> = existing_store(settings).await?;
    let clock = AdjustableClock::default();
    match cmd {
        ServiceCommand::Create { name, live } => {
            let service = usecases::create_service(store.as_ref(), &clock, &name, live).await?;
            println!("{}", service.id);
        }
        ServiceCommand::List => {
            println!(
                "{:<26}  {:<4}  {:<8}  {:<24}  {:<40}  NAME",
                "ID", "MODE", "PROVIDER", "CREATED", "CARD PAGE"
            );
            for s in store.services().await? {
                let c = &s.cards;
                let card_page = format!(
                    "email {}, address {}, types {}{}, surcharges {}/{}/{}",
                    c.email_collection.as_str(),
                    if c.collect_billing_address {
                        "on"
                    } else {
                        "off"
                    },
                    c.accepted_types.as_str(),
                    if c.block_prepaid { " no prepaid" } else { "" },
                    c.surcharge_credit,
                    c.surcharge_debit,
                    c.surcharge_prepaid_debit,
                );
                println!(
                    "{:<26}  {:<4}  {:<8}  {:<24}  {:<40}  {}",
                    s.id,
                    if s.live { "live" } else { "test" },
                    s.payment_provider,
                    timefmt::date_time(s.created_ms),
                    card_page,
                    s.name
                );
                println!("{:<26}  brands: {}", "", c.brands_text());
            }
        }
        ServiceCommand::Update {
            id,
            rate_limit_post,
            rate_limit_get,
            cards,
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
            cards.apply(&mut s.cards);
            store.update_service(&s).await?;
        }
    }
    Ok(())
}

pub async fn key(settings: &Settings, cmd: KeyCommand) -> anyhow::Result<()> {
    let store: Arc<dyn Store> = existing_store(settings).await?;
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
