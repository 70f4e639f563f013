//! `pence webhook …`: subscriptions, their secrets, their messages and delivery log. Like the
//! other admin commands they work on the database directly, beside running nodes.

use anyhow::{bail, Context};
use clap::Subcommand;
use pence_core::clock::{AdjustableClock, Clock};
use pence_core::ports::prelude::*;
use pence_core::staff::Actor;
use pence_core::webhook::chaos::Chaos;
use pence_core::webhook::queries::{self, MessagesOf};
use pence_core::webhook::subscription::{self, Changes};
use pence_core::webhook::{DeliveryFaults, DeliveryStatus, EventType};

use crate::config::Settings;
use crate::serve::existing_store;
use crate::table;

/// `seed=42,duplicate=30,...`: a chaos profile, shares in percent.
fn parse_chaos(s: &str) -> Result<Chaos, String> {
    let mut c = Chaos::default();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = part
            .split_once('=')
            .ok_or_else(|| format!("{part}: give KEY=VALUE"))?;
        let number = |v: &str| {
            v.parse::<u64>()
                .map_err(|_| format!("{key}: {v} is not a whole number"))
        };
        let share = |v: &str| -> Result<u8, String> {
            u8::try_from(number(v)?).map_err(|_| format!("{key}: a percentage, 0 to 100"))
        };
        match key {
            "seed" => c.seed = number(value)?,
            "duplicate" => c.duplicate_percent = share(value)?,
            "reorder" => c.reorder_percent = share(value)?,
            "delay" => c.delay_percent = share(value)?,
            "delay_ms" => c.delay_ms = number(value)?,
            "drop" => c.drop_percent = share(value)?,
            "drop_attempts" => c.drop_attempts = number(value)? as i64,
            "wrong_signature" => c.wrong_signature_percent = share(value)?,
            "old_secret" => c.old_secret_percent = share(value)?,
            other => {
                return Err(format!(
                    "{other}: not a chaos key (seed, duplicate, reorder, delay, delay_ms, drop, \
                     drop_attempts, wrong_signature, old_secret)"
                ))
            }
        }
    }
    c.check().map_err(str::to_string)?;
    Ok(c)
}

#[derive(Subcommand)]
pub enum WebhookCommand {
    /// Subscribe a service's callback URL; prints the subscription id, then its signing secret.
    Create {
        /// The service it belongs to.
        #[arg(long)]
        service: String,
        /// Where messages are POSTed (https for live services).
        #[arg(long)]
        url: String,
        /// An event type it wants (repeat for more; default: every type GOV.UK Pay sends, which
        /// leaves out card_payment_started).
        #[arg(long = "event", value_parser = parse_event)]
        events: Vec<EventType>,
        /// What it is for.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List subscriptions.
    List {
        /// Only this service's.
        #[arg(long)]
        service: Option<String>,
    },
    /// One subscription: its URL, event types, state.
    Show {
        /// The subscription's id.
        id: String,
    },
    /// Change a subscription; options left out keep their value.
    Update {
        /// The subscription's id.
        id: String,
        /// A new callback URL.
        #[arg(long)]
        url: Option<String>,
        /// The event types it wants, replacing the current ones (repeat for more).
        #[arg(long = "event", value_parser = parse_event)]
        events: Vec<EventType>,
        /// A new description.
        #[arg(long)]
        description: Option<String>,
        /// Turn it on or off (true or false).
        #[arg(long)]
        active: Option<bool>,
    },
    /// Deliver to a test service's subscription badly on purpose (the control API's delivery
    /// faults); with no option, show how it is delivered to.
    Faults {
        /// The subscription's id.
        id: String,
        /// Send every message twice.
        #[arg(long)]
        duplicate: bool,
        /// Send a batch newest first.
        #[arg(long)]
        out_of_order: bool,
        /// Hold each message this long first (at most 10000).
        #[arg(long, default_value_t = 0)]
        delay_ms: u64,
        /// Drop each message's first N attempts.
        #[arg(long, default_value_t = 0)]
        drop_first_attempts: i64,
        /// Sign with another secret.
        #[arg(long)]
        wrong_secret: bool,
        /// Seeded chaos: each fault for a share of the messages, the same ones for the same
        /// seed, e.g. `seed=42,duplicate=30,reorder=20,drop=10,drop_attempts=1,
        /// wrong_signature=5,old_secret=5,delay=10,delay_ms=2000` (shares in percent).
        #[arg(long, value_parser = parse_chaos)]
        chaos: Option<Chaos>,
        /// Deliver properly again.
        #[arg(long, conflicts_with_all = ["duplicate", "out_of_order", "delay_ms", "drop_first_attempts", "wrong_secret", "chaos"])]
        clear: bool,
    },
    /// A new signing secret for messages created from now on; prints it.
    RotateSecret {
        /// The subscription's id.
        id: String,
    },
    /// Stop sending: pending messages become will_not_send.
    Deactivate {
        /// The subscription's id.
        id: String,
    },
    /// A subscription's messages, newest first, each with its delivery log.
    Messages {
        /// The subscription's id.
        id: String,
        /// pending, successful, failed or will_not_send.
        #[arg(long, value_parser = parse_status)]
        status: Option<DeliveryStatus>,
        /// At most this many, newest first.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Send a message again now (from the first rung of the retry ladder).
    Resend {
        /// The message's id (from `pence webhook messages`).
        message_id: String,
    },
    /// POST any body to any URL signed as GOV.UK Pay signs messages (`Pay-Signature`), and
    /// show the receiver's answer: to develop a receiver before any payment exists.
    Send {
        /// Where to POST it.
        #[arg(long)]
        url: String,
        /// The signing secret the receiver checks with.
        #[arg(long)]
        secret: String,
        /// The file whose bytes are sent as they are (`-`: standard input).
        #[arg(long)]
        body: std::path::PathBuf,
        /// Give up after this many milliseconds.
        #[arg(long, default_value_t = 10_000)]
        timeout_ms: u64,
    },
}

/// `pence webhook send`: the receiver's status, time, headers and body; an error when it gave
/// no answer.
async fn send(
    url: &str,
    secret: &str,
    file: &std::path::Path,
    timeout_ms: u64,
) -> anyhow::Result<()> {
    use std::io::Read;
    let mut body = Vec::new();
    if file.as_os_str() == "-" {
        std::io::stdin().read_to_end(&mut body)?;
    } else {
        body = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    }
    let timeout = std::time::Duration::from_millis(timeout_ms);
    let answered = pence_webhooks::send_signed(url, secret, body, timeout).await;
    let Some(status) = answered.status_code else {
        let why = answered.error.unwrap_or_else(|| "no answer".into());
        bail!("{url}: {why} (after {} ms)", answered.response_ms);
    };
    println!("HTTP {status} in {} ms", answered.response_ms);
    for (name, value) in &answered.headers {
        println!("{name}: {value}");
    }
    println!();
    println!("{}", answered.body);
    if let Some(e) = answered.error {
        eprintln!("the answer broke off: {e}");
    }
    Ok(())
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
    // Sending a body needs no database.
    if let WebhookCommand::Send {
        url,
        secret,
        body,
        timeout_ms,
    } = cmd
    {
        return send(&url, &secret, &body, timeout_ms).await;
    }
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
                Actor::Operator,
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
            // A table per service: the ids keep their width and the URLs get the rest.
            let subs = queries::subscriptions(store.as_ref(), service.as_deref()).await?;
            for svc in store.services().await? {
                let mut t = table::new(&["ID", "STATE", "URL"]);
                for w in subs.iter().filter(|w| w.service_id == svc.id) {
                    let state = if w.active { "active" } else { "inactive" };
                    t.add_row(vec![w.id.clone(), state.into(), w.callback_url.clone()]);
                }
                if t.row_count() > 0 {
                    println!("Service {} ({})", svc.id, svc.name);
                    table::print(&t);
                }
            }
        }
        WebhookCommand::Show { id } => {
            let w = store
                .webhook(&id)
                .await?
                .with_context(|| format!("no webhook {id}"))?;
            let events: Vec<&str> = w.event_types.iter().map(|t| t.as_str()).collect();
            let mut t = table::new(&["FIELD", "VALUE"]);
            for (k, v) in [
                ("id", w.id.clone()),
                ("service", w.service_id.clone()),
                ("url", w.callback_url.clone()),
                (
                    "state",
                    (if w.active { "active" } else { "inactive" }).into(),
                ),
                ("events", events.join(", ")),
                ("description", w.description.clone()),
                ("secret version", w.secret_version.to_string()),
                ("created", table::minute(w.created_ms)),
            ] {
                t.add_row(vec![k.to_string(), v]);
            }
            table::print(&t);
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
        WebhookCommand::Faults {
            id,
            duplicate,
            out_of_order,
            delay_ms,
            drop_first_attempts,
            wrong_secret,
            chaos,
            clear,
        } => {
            let w = queries::subscription(store.as_ref(), None, &id)
                .await?
                .with_context(|| format!("no webhook {id}"))?;
            let service = store
                .service(&w.service_id)
                .await?
                .with_context(|| format!("no service {}", w.service_id))?;
            let asked = DeliveryFaults {
                duplicate,
                out_of_order,
                delay_ms,
                drop_first_attempts,
                wrong_secret,
                chaos,
            };
            let now = if clear {
                subscription::set_delivery_faults(store.as_ref(), &service, &w, None).await?
            } else if asked != DeliveryFaults::default() {
                subscription::set_delivery_faults(store.as_ref(), &service, &w, Some(asked)).await?
            } else {
                subscription::delivery_faults(store.as_ref(), &w).await?
            };
            println!(
                "duplicate {}, out of order {}, delay {} ms, first attempts dropped {}, wrong secret {}",
                now.duplicate, now.out_of_order, now.delay_ms, now.drop_first_attempts, now.wrong_secret
            );
            if let Some(c) = now.chaos {
                println!(
                    "chaos with seed {}: duplicate {}%, reorder {}%, delay {}% by {} ms, \
                     drop {}% for {} attempts, wrong signature {}%, old secret {}%",
                    c.seed,
                    c.duplicate_percent,
                    c.reorder_percent,
                    c.delay_percent,
                    c.delay_ms,
                    c.drop_percent,
                    c.drop_attempts,
                    c.wrong_signature_percent,
                    c.old_secret_percent
                );
            }
        }
        WebhookCommand::RotateSecret { id } => {
            let sub = store
                .webhook(&id)
                .await?
                .with_context(|| format!("no webhook {id}"))?;
            let secret =
                subscription::rotate_secret(store.as_ref(), &clock, Actor::Operator, &sub).await?;
            println!("{secret}");
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
            if queries::subscription(store.as_ref(), None, &id)
                .await?
                .is_none()
            {
                bail!("no webhook {id}");
            }
            let of = MessagesOf::Subscription(&id, status);
            let messages = queries::messages_with_attempts(store.as_ref(), of, limit).await?;
            let mut t = table::new(&["MESSAGE", "EVENT", "STATUS", "TRIES", "PAYMENT"]);
            let mut log = table::new(&["MESSAGE", "AT", "OUTCOME", "MS"]);
            for (m, attempts) in &messages {
                t.add_row(vec![
                    m.id.clone(),
                    match m.origin() {
                        Some(origin) => {
                            format!(
                                "{} ({origin})",
                                m.event_type.trim_start_matches("card_payment_")
                            )
                        }
                        None => m.event_type.trim_start_matches("card_payment_").to_string(),
                    },
                    m.status.as_str().into(),
                    m.attempts.to_string(),
                    m.payment_id.clone(),
                ]);
                for a in attempts {
                    let mut outcome = match (a.status_code, &a.error) {
                        (Some(code), None) => format!("HTTP {code}"),
                        (Some(code), Some(e)) => format!("HTTP {code}, {e}"),
                        (None, Some(e)) => e.clone(),
                        (None, None) => "no answer".into(),
                    };
                    if let Some(fault) = &a.fault {
                        outcome = format!("{outcome} (sandbox: {fault})");
                    }
                    log.add_row(vec![
                        m.id.clone(),
                        table::minute(a.at_ms),
                        outcome,
                        a.response_ms.to_string(),
                    ]);
                }
            }
            table::print(&t);
            if log.row_count() > 0 {
                println!("\nDelivery log (newest message first):");
                table::print(&log);
            }
        }
        WebhookCommand::Send {
            url,
            secret,
            body,
            timeout_ms,
        } => send(&url, &secret, &body, timeout_ms).await?,
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
    subscription::update(store, clock, Actor::Operator, &service, sub, changes).await?;
    Ok(())
}
