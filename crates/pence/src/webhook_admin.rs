//! `pence webhook …`: subscriptions, their secrets, their messages and delivery log. Like the
//! other admin commands they work on the database directly, beside running nodes.

use anyhow::{bail, Context};
use clap::Subcommand;
use pence_core::clock::{AdjustableClock, Clock};
use pence_core::ports::prelude::*;
use pence_core::timefmt;
use pence_core::webhook::subscription::{self, Changes};
use pence_core::webhook::{DeliveryStatus, EventType};

use crate::config::Settings;
use crate::serve::existing_store;

#[derive(Subcommand)]
pub enum WebhookCommand {
    /// Subscribe a service's callback URL; prints the subscription id, then its signing secret.
    Create {
        #[arg(long)]
        service: String,
        #[arg(long)]
        url: String,
        /// An event type it wants (repeat for more; default: every type GOV.UK Pay sends, which
        /// leaves out card_payment_started).
        #[arg(long = "event", value_parser = parse_event)]
        events: Vec<EventType>,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List subscriptions.
    List {
        #[arg(long)]
        service: Option<String>,
    },
    /// Change a subscription; options left out keep their value.
    Update {
        id: String,
        #[arg(long)]
        url: Option<String>,
        /// The event types it wants, replacing the current ones (repeat for more).
        #[arg(long = "event", value_parser = parse_event)]
        events: Vec<EventType>,
        #[arg(long)]
        description: Option<String>,
        /// Turn it on or off (true or false).
        #[arg(long)]
        active: Option<bool>,
    },
    /// A new signing secret for messages created from now on; prints it.
    RotateSecret { id: String },
    /// Stop sending: pending messages become will_not_send.
    Deactivate { id: String },
    /// A subscription's messages, newest first, each with its delivery log.
    Messages {
        id: String,
        /// pending, successful, failed or will_not_send.
        #[arg(long, value_parser = parse_status)]
        status: Option<DeliveryStatus>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Send a message again now (from the first rung of the retry ladder).
    Resend { message_id: String },
}

fn parse_event(s: &str) -> Result<EventType, String> {
    EventType::parse(s).ok_or_else(|| {
        let all: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
        format!("one of {}", all.join(", "))
    })
}

fn parse_status(s: &str) -> Result<DeliveryStatus, String> {
    DeliveryStatus::parse(s).ok_or_else(|| "pending, successful, failed or will_not_send".into())
}

pub async fn run(settings: &Settings, cmd: WebhookCommand) -> anyhow::Result<()> {
    let store = existing_store(settings).await?;
    let clock = AdjustableClock::default();
    match cmd {
        WebhookCommand::Create {
            service,
            url,
            events,
            description,
        } => {
            let service = store
                .service(&service)
                .await?
                .with_context(|| format!("no service {service}"))?;
            let (sub, secret) = subscription::create(
                store.as_ref(),
                &clock,
                &service,
                &url,
                &description,
                &events,
            )
            .await?;
            println!("{}", sub.id);
            println!("{secret}");
            eprintln!("the signing secret is shown only now and on rotation: keep it");
        }
        WebhookCommand::List { service } => {
            println!(
                "{:<26}  {:<26}  {:<8}  {:<24}  EVENTS / URL / DESCRIPTION",
                "ID", "SERVICE", "STATE", "CREATED"
            );
            for w in store.webhooks(service.as_deref()).await? {
                let events: Vec<&str> = w.event_types.iter().map(|t| t.as_str()).collect();
                println!(
                    "{:<26}  {:<26}  {:<8}  {:<24}  {}",
                    w.id,
                    w.service_id,
                    if w.active { "active" } else { "inactive" },
                    timefmt::date_time(w.created_ms),
                    events.join(",")
                );
                println!("{:<92}{}", "", w.callback_url);
                if !w.description.is_empty() {
                    println!("{:<92}{}", "", w.description);
                }
            }
        }
        WebhookCommand::Update {
            id,
            url,
            events,
            description,
            active,
        } => {
            let changes = Changes {
                callback_url: url,
                description,
                event_types: (!events.is_empty()).then_some(events),
                active,
            };
            update(store.as_ref(), &clock, &id, changes).await?;
        }
        WebhookCommand::RotateSecret { id } => {
            println!(
                "{}",
                subscription::rotate_secret(store.as_ref(), &clock, &id).await?
            );
        }
        WebhookCommand::Deactivate { id } => {
            let changes = Changes {
                active: Some(false),
                ..Changes::default()
            };
            update(store.as_ref(), &clock, &id, changes).await?;
            eprintln!("deactivated {id}");
        }
        WebhookCommand::Messages { id, status, limit } => {
            if store.webhook(&id).await?.is_none() {
                bail!("no webhook {id}");
            }
            for m in store.webhook_messages(&id, status, limit).await? {
                println!(
                    "{}  {:<21}  payment {}  {:<13}  attempts {}  created {}{}",
                    m.id,
                    m.event_type,
                    m.payment_id,
                    m.status.as_str(),
                    m.attempts,
                    timefmt::date_time(m.created_ms),
                    if m.status == DeliveryStatus::Pending {
                        format!("  next {}", timefmt::date_time(m.next_attempt_ms))
                    } else {
                        String::new()
                    }
                );
                for a in store.webhook_attempts(&m.id).await? {
                    let outcome = match (a.status_code, &a.error) {
                        (Some(code), None) => format!("HTTP {code}"),
                        (Some(code), Some(e)) => format!("HTTP {code}, {e}"),
                        (None, Some(e)) => e.clone(),
                        (None, None) => "no answer".into(),
                    };
                    println!(
                        "    {}  {}  {} ms  {:?}",
                        timefmt::date_time(a.at_ms),
                        outcome,
                        a.response_ms,
                        a.response_body.unwrap_or_default()
                    );
                }
            }
        }
        WebhookCommand::Resend { message_id } => {
            subscription::resend(store.as_ref(), &clock, &message_id).await?;
            eprintln!("{message_id} will be sent again");
        }
    }
    Ok(())
}

async fn update(
    store: &pence_store::SqlStore,
    clock: &dyn Clock,
    id: &str,
    changes: Changes,
) -> anyhow::Result<()> {
    let sub = store
        .webhook(id)
        .await?
        .with_context(|| format!("no webhook {id}"))?;
    let service = store
        .service(&sub.service_id)
        .await?
        .with_context(|| format!("no service {}", sub.service_id))?;
    subscription::update(store, clock, &service, sub, changes).await?;
    Ok(())
}
