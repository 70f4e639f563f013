//! Admin commands: services and API keys. They work on the database directly, so they can run
//! while the server does. What a script needs (an id, a key) goes alone to stdout.

use std::sync::Arc;

use anyhow::{bail, Context};
use clap::Subcommand;
use pence_core::clock::AdjustableClock;
use pence_core::journey::card::Brand;
use pence_core::service;
use pence_core::service::administer::{self, Actor, Revoked};
use pence_core::service::{AcceptedTypes, CardSettings, EmailCollection, EmailSettings, Service};
use pence_core::Store;

use crate::config::Settings;
use crate::serve::{existing_store, open_store};
use crate::table;

#[derive(Subcommand)]
pub enum ServiceCommand {
    /// Create a service; prints its id.
    Create {
        /// What the service is called (shown to staff, not to paying users).
        #[arg(long)]
        name: String,
        /// A live service (https return URLs only, api_live_ keys).
        #[arg(long)]
        live: bool,
    },
    /// List services.
    List,
    /// One service's settings.
    Show {
        /// The service's id.
        id: String,
    },
    /// Change a service's settings; options left out keep their value.
    Update {
        /// The service's id.
        id: String,
        /// POST requests a second (0: the instance default).
        #[arg(long)]
        rate_limit_post: Option<u32>,
        /// GET requests a second (0: the instance default).
        #[arg(long)]
        rate_limit_get: Option<u32>,
        /// Take recurring payments: agreements and set_up_agreement (true or false).
        #[arg(long)]
        recurring: Option<bool>,
        /// Take MOTO payments, `moto: true` (true or false).
        #[arg(long)]
        moto: Option<bool>,
        /// Take `authorisation_mode: moto_api` payments (true or false).
        #[arg(long)]
        moto_api: Option<bool>,
        #[command(flatten)]
        cards: CardOptions,
        #[command(flatten)]
        emails: EmailOptions,
    },
}

/// The emails a service's paying users get.
#[derive(clap::Args)]
pub struct EmailOptions {
    /// Email users a confirmation when they pay (true or false).
    #[arg(long)]
    email_confirmation: Option<bool>,
    /// Email users when they are refunded (true or false).
    #[arg(long)]
    email_refund: Option<bool>,
    /// A paragraph added to confirmations ($reference becomes the payment's reference; "" for
    /// none).
    #[arg(long)]
    email_custom_paragraph: Option<String>,
}

impl EmailOptions {
    fn apply(self, e: &mut EmailSettings) {
        if let Some(v) = self.email_confirmation {
            e.payment_confirmed = v;
        }
        if let Some(v) = self.email_refund {
            e.refund_issued = v;
        }
        if let Some(v) = self.email_custom_paragraph {
            e.custom_paragraph = Some(v).filter(|p| !p.trim().is_empty());
        }
    }
}

/// The card page's settings of a service.
#[derive(clap::Args)]
pub struct CardOptions {
    /// Card brands accepted, comma-separated: visa, master-card, american-express,
    /// diners-club, discover, jcb, unionpay, maestro.
    #[arg(long, value_parser = parse_brands)]
    accepted_brands: Option<Brands>,
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
    /// Surcharge on corporate credit cards, in pence.
    #[arg(long)]
    surcharge_credit: Option<u32>,
    /// Surcharge on corporate debit cards, in pence.
    #[arg(long)]
    surcharge_debit: Option<u32>,
    /// Surcharge on corporate prepaid debit cards, in pence.
    #[arg(long)]
    surcharge_prepaid_debit: Option<u32>,
    /// MOTO payments: mask the card number as it is typed (true or false).
    #[arg(long)]
    moto_mask_card_number: Option<bool>,
    /// MOTO payments: mask the security code as it is typed (true or false).
    #[arg(long)]
    moto_mask_security_code: Option<bool>,
}

/// The brands of one `--accepted-brands` list. Its own type: clap takes an
/// `Option<Vec<T>>` as a flag given many times, each value one `T`, and a parser returning
/// the whole list then fails at run time.
#[derive(Clone)]
struct Brands(Vec<Brand>);

fn parse_brands(s: &str) -> Result<Brands, String> {
    CardSettings::parse_brands(s)
        .map(Brands)
        .ok_or_else(|| format!("unknown brand in {s:?}"))
}

fn parse_types(s: &str) -> Result<AcceptedTypes, String> {
    AcceptedTypes::parse(s).ok_or_else(|| "all, debit or credit".into())
}

fn parse_email(s: &str) -> Result<EmailCollection, String> {
    EmailCollection::parse(s).ok_or_else(|| "mandatory, optional or off".into())
}

impl CardOptions {
    fn apply(self, c: &mut CardSettings) {
        if let Some(Brands(v)) = self.accepted_brands {
            c.accepted_brands = v;
        }
        if let Some(v) = self.card_types {
            c.accepted_types = v;
        }
        if let Some(v) = self.block_prepaid {
            c.block_prepaid = v;
        }
        if let Some(v) = self.moto_mask_card_number {
            c.moto_mask_card_number = v;
        }
        if let Some(v) = self.moto_mask_security_code {
            c.moto_mask_security_code = v;
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
        /// What the key is for.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List API keys by service (never the keys themselves).
    List {
        /// Only this service's.
        #[arg(long)]
        service: Option<String>,
    },
    /// Revoke an API key by its id.
    Revoke {
        /// The key's id (from `pence key list`), not the key.
        key_id: String,
    },
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
            let service = service::create_service(store.as_ref(), &clock, &name, live).await?;
            println!("{}", service.id);
        }
        ServiceCommand::List => {
            let mut t = table::new(&["ID", "MODE", "TAKES", "CREATED", "NAME"]);
            for s in store.services().await? {
                let mode = if s.live { "live" } else { "test" };
                // The kinds of payment beyond web ones the service has switched on.
                let takes = [
                    (s.recurring_enabled, "recurring"),
                    (s.moto_enabled, "moto"),
                    (s.moto_api_enabled, "moto_api"),
                ]
                .iter()
                .filter(|(on, _)| *on)
                .map(|(_, name)| *name)
                .collect::<Vec<_>>()
                .join(", ");
                let created = table::minute(s.created_ms);
                t.add_row(vec![s.id, mode.into(), takes, created, s.name]);
            }
            table::print(&t);
        }
        ServiceCommand::Show { id } => {
            let Some(s) = store.service(&id).await? else {
                bail!("no service {id}");
            };
            let c = &s.cards;
            let on = |b: bool| if b { "on" } else { "off" };
            let limit = |v: Option<u32>| v.map_or("instance default".into(), |n| format!("{n}/s"));
            let mut t = table::new(&["SETTING", "VALUE"]);
            for (k, v) in [
                ("id", s.id.clone()),
                ("name", s.name.clone()),
                ("mode", (if s.live { "live" } else { "test" }).into()),
                ("provider", s.payment_provider.clone()),
                ("created", table::minute(s.created_ms)),
                ("rate limit (POST)", limit(s.rate_limit_post)),
                ("rate limit (GET)", limit(s.rate_limit_get)),
                ("recurring payments", on(s.recurring_enabled).into()),
                ("MOTO", on(s.moto_enabled).into()),
                ("MOTO API", on(s.moto_api_enabled).into()),
                (
                    "MOTO card number masked",
                    on(c.moto_mask_card_number).into(),
                ),
                (
                    "MOTO security code masked",
                    on(c.moto_mask_security_code).into(),
                ),
                ("brands", c.brands_text()),
                ("card types", c.accepted_types.as_str().into()),
                (
                    "prepaid cards",
                    (if c.block_prepaid {
                        "refused"
                    } else {
                        "accepted"
                    })
                    .into(),
                ),
                ("billing address", on(c.collect_billing_address).into()),
                ("email", c.email_collection.as_str().into()),
                ("confirmation emails", on(s.emails.payment_confirmed).into()),
                ("refund emails", on(s.emails.refund_issued).into()),
                (
                    "email paragraph",
                    s.emails
                        .custom_paragraph
                        .clone()
                        .unwrap_or_else(|| "none".into()),
                ),
                (
                    "surcharges (pence)",
                    format!(
                        "credit {}, debit {}, prepaid debit {}",
                        c.surcharge_credit, c.surcharge_debit, c.surcharge_prepaid_debit
                    ),
                ),
            ] {
                t.add_row(vec![k.to_string(), v]);
            }
            table::print(&t);
        }
        ServiceCommand::Update {
            id,
            rate_limit_post,
            rate_limit_get,
            recurring,
            moto,
            moto_api,
            cards,
            emails,
        } => {
            let Some(mut s) = store.service(&id).await? else {
                bail!("no service {id}");
            };
            let before = s.clone();
            let limit = |v: u32| (v > 0).then_some(v);
            if let Some(v) = rate_limit_post {
                s.rate_limit_post = limit(v);
            }
            if let Some(v) = rate_limit_get {
                s.rate_limit_get = limit(v);
            }
            for (value, field) in [
                (recurring, &mut s.recurring_enabled),
                (moto, &mut s.moto_enabled),
                (moto_api, &mut s.moto_api_enabled),
            ] {
                if let Some(v) = value {
                    *field = v;
                }
            }
            cards.apply(&mut s.cards);
            emails.apply(&mut s.emails);
            administer::save_settings(store.as_ref(), &clock, Actor::Operator, &s).await?;
            eprintln!("{}", changed(&before, &s));
        }
    }
    Ok(())
}

/// What `service update` changed, in a line: the settings whose values differ.
fn changed(before: &Service, after: &Service) -> String {
    let differs = [
        (
            "POST rate limit",
            before.rate_limit_post != after.rate_limit_post,
        ),
        (
            "GET rate limit",
            before.rate_limit_get != after.rate_limit_get,
        ),
        (
            "recurring",
            before.recurring_enabled != after.recurring_enabled,
        ),
        ("moto", before.moto_enabled != after.moto_enabled),
        (
            "moto_api",
            before.moto_api_enabled != after.moto_api_enabled,
        ),
        ("card page settings", before.cards != after.cards),
        ("email settings", before.emails != after.emails),
    ];
    let names: Vec<&str> = differs
        .iter()
        .filter(|(_, d)| *d)
        .map(|(name, _)| *name)
        .collect();
    match names.is_empty() {
        true => format!("service {}: nothing changed", after.id),
        false => format!("service {}: changed {}", after.id, names.join(", ")),
    }
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
                None => service::default_service(store.as_ref())
                    .await?
                    .context("no sandbox test service: create one with `pence service create`")?,
            };
            let secrets = service::secrets(store.as_ref()).await?;
            let (_, key) = service::create_api_key(
                store.as_ref(),
                &clock,
                Actor::Operator,
                &secrets,
                &service,
                &description,
            )
            .await?;
            println!("{key}");
        }
        KeyCommand::List { service } => {
            // A table per service: the ids keep their width and the rest fits 80 columns.
            let keys = store.api_keys().await?;
            for svc in store.services().await? {
                if service.as_ref().is_some_and(|id| *id != svc.id) {
                    continue;
                }
                let mut t = table::new(&["ID", "KEY", "STATE", "DESCRIPTION"]);
                for k in keys.iter().filter(|k| k.service_id == svc.id) {
                    let state = if k.revoked_ms.is_some() {
                        "revoked"
                    } else {
                        "active"
                    };
                    t.add_row(vec![
                        k.id.clone(),
                        format!("{}…", k.display_prefix),
                        state.into(),
                        k.description.clone(),
                    ]);
                }
                if t.row_count() > 0 {
                    println!("Service {} ({})", svc.id, svc.name);
                    table::print(&t);
                }
            }
        }
        KeyCommand::Revoke { key_id } => {
            let revoked =
                administer::revoke_key(store.as_ref(), &clock, Actor::Operator, None, &key_id)
                    .await?;
            if revoked != Revoked::Now {
                bail!("no active key {key_id}");
            }
            eprintln!("revoked {key_id}");
        }
    }
    Ok(())
}
