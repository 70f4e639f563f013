//! `pence sandbox …`: the control API's paying user at a terminal (`pence_core::sandbox::operations`), on
//! the database directly like the other admin commands. Test services' payments only.

use anyhow::{bail, Context};
use clap::{Subcommand, ValueEnum};
use pence_core::clock::{AdjustableClock, Clock};
use pence_core::journey::Deps;
use pence_core::payment::PaymentRecord;
use pence_core::refusal::sandbox::SandboxRefusal;
use pence_core::refusal::{Failure, Refusal};
use pence_core::sandbox::fault_rules;
use pence_core::sandbox::faults::rule::{AnswerRequest, FaultAction, RuleRequest};
use pence_core::sandbox::{
    self,
    operations::{ClockMove, PayRequest},
};
use pence_core::service::Service;
use pence_core::timefmt;
use pence_core::webhook::EventType;
use pence_core::Store;

use crate::config::Settings;
use crate::serve::existing_store;
use crate::table;

#[derive(Subcommand)]
pub enum SandboxCommand {
    /// Pay for a test service's payment as its user would on the card pages.
    Pay {
        /// The payment's id.
        payment_id: String,
        /// The card number (a test card: see the README).
        #[arg(long)]
        card: String,
        /// The answer to a 3-D Secure challenge, if the card gets one.
        #[arg(long = "3ds", value_enum, default_value_t = ThreeDs::Pass)]
        three_ds: ThreeDs,
        /// Stop at the confirm page instead of confirming.
        #[arg(long)]
        no_confirm: bool,
        /// Name on the card (default: the prefilled one, or "Sandbox Payer").
        #[arg(long)]
        cardholder_name: Option<String>,
        /// Expiry date, MM/YY (default: December, three years on).
        #[arg(long)]
        expiry: Option<String>,
        /// Security code (default 123).
        #[arg(long)]
        cvc: Option<String>,
        /// Email address (default: the payment's, or payer@example.org).
        #[arg(long)]
        email: Option<String>,
    },
    /// Pay through a test service's payment link as its payer would: its questions answered,
    /// its payment created, then paid as `pay` pays one.
    PayLink {
        /// The link's address (`…/payments/{service}/{link}`) or its id.
        address: String,
        /// The amount in pence, when the payer enters it.
        #[arg(long)]
        amount: Option<i64>,
        /// The reference, when the link asks for one.
        #[arg(long)]
        reference: Option<String>,
        /// The card number (a test card: see the README).
        #[arg(long)]
        card: String,
    },
    /// Make a test service's payments and agreements in the states a fixture file asks for
    /// (JSON or TOML, as the control API's `POST /sandbox/v1/fixtures` takes it; `-` reads
    /// standard input), each by its journey; prints each one's id and state.
    Fixture {
        file: String,
        /// The test service (default: the first sandbox test service).
        #[arg(long)]
        service: Option<String>,
    },
    /// Open a payment's card page and leave (it expires in 90 minutes).
    Abandon { payment_id: String },
    /// Press "Cancel payment" on a payment's card page.
    Cancel { payment_id: String },
    /// Send a webhook message of EVENT_TYPE for a test service's payment as it is now, to
    /// the service's active subscriptions that take that type.
    Trigger {
        payment_id: String,
        /// card_payment_succeeded, card_payment_captured, card_payment_refunded, ...
        event_type: String,
        /// Send a field of the resource with this value instead of the payment's own, as
        /// PATH=VALUE (`resource.state.status=failed`, `resource.amount=1`; a VALUE that is
        /// not JSON is a string). Repeat for more; the delivery log shows them.
        #[arg(long = "set", value_parser = parse_override)]
        overrides: Vec<(String, serde_json::Value)>,
    },
    /// The emails a test service's paying users were sent, newest first.
    Emails {
        #[arg(long)]
        service: Option<String>,
        /// Only those to this address.
        #[arg(long)]
        to: Option<String>,
        /// Print each email's text too.
        #[arg(long)]
        full: bool,
    },
    /// Save, restore, export and import a test service's whole state.
    #[command(subcommand)]
    Snapshot(crate::snapshots::SnapshotCommand),
    /// Empty a test service: no payments, agreements, webhooks, emails, fault rules or links,
    /// its clock back on real time. Its settings, keys and snapshots stay.
    Reset {
        #[arg(long)]
        service: Option<String>,
    },
    /// A test service's fault rules (a running node applies changes within a second).
    #[command(subcommand)]
    Fault(FaultCommand),
    /// Show a test service's clock, or move it (then its sweeps run on the new time).
    Clock {
        /// The test service (default: the first sandbox test service).
        #[arg(long)]
        service: Option<String>,
        /// Move it forward this many seconds.
        #[arg(long, conflicts_with_all = ["to", "reset"])]
        advance: Option<i64>,
        /// Move it forward to this time (e.g. 2026-12-24T09:00:00Z).
        #[arg(long, conflicts_with = "reset")]
        to: Option<String>,
        /// Back to real time.
        #[arg(long)]
        reset: bool,
    },
}

#[derive(Subcommand)]
pub enum FaultCommand {
    /// Add a rule: which requests (or provider calls), and what happens to them.
    Add {
        /// The test service (default: the first sandbox test service).
        #[arg(long)]
        service: Option<String>,
        /// Only requests of this method (default: any).
        #[arg(long)]
        method: Option<String>,
        /// The public API path: /v1/payments, /v1/payments/*/capture, /v1/refunds/**, or *.
        #[arg(long)]
        path: Option<String>,
        /// Fire only the next N times.
        #[arg(long)]
        next: Option<i64>,
        /// Fire on this share of the matches (0 to 1), drawn from --seed.
        #[arg(long)]
        fraction: Option<f64>,
        #[arg(long)]
        seed: Option<i64>,
        /// Seconds the rule lasts (default an hour, at most a day).
        #[arg(long)]
        expires_in: Option<i64>,
        /// Answer with this status (with --code and --description, or GOV.UK Pay's own words).
        #[arg(long)]
        status: Option<u16>,
        #[arg(long, requires = "status")]
        code: Option<String>,
        #[arg(long, requires = "status")]
        description: Option<String>,
        /// Hold the request this many milliseconds, then answer it.
        #[arg(long)]
        delay_ms: Option<u64>,
        /// Close the connection without an answer.
        #[arg(long)]
        drop_connection: bool,
        /// authorisation_timeout, capture_failure or refund_failure.
        #[arg(long)]
        provider: Option<String>,
    },
    /// The rules in force.
    List {
        #[arg(long)]
        service: Option<String>,
    },
    /// Remove a rule.
    Remove {
        id: String,
        #[arg(long)]
        service: Option<String>,
    },
}

/// `path=value`: the value as JSON when it is JSON, else as a string.
fn parse_override(s: &str) -> Result<(String, serde_json::Value), String> {
    let (path, value) = s.split_once('=').ok_or("PATH=VALUE")?;
    let value = serde_json::from_str(value).unwrap_or_else(|_| serde_json::json!(value));
    Ok((path.to_string(), value))
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ThreeDs {
    Pass,
    Fail,
}

pub async fn run(settings: &Settings, cmd: SandboxCommand) -> anyhow::Result<()> {
    let sql = existing_store(settings).await?;
    let store: &dyn Store = sql.as_ref();
    let node = AdjustableClock::default();
    let deps = Deps {
        store,
        clock: &node,
        psp: &pence_psp::Sandbox,
    };
    match cmd {
        SandboxCommand::Clock {
            service,
            advance,
            to,
            reset,
        } => {
            // A move delivers the messages due on the way, as this node's settings say.
            let delivery = settings.webhooks.clone().unwrap_or_default();
            let delivery = pence_node::delivery(sql.clone(), delivery);
            let moved = Move { advance, to, reset };
            clock(store, delivery.as_ref(), service, moved).await
        }
        SandboxCommand::Fault(cmd) => fault(store, &node, cmd).await,
        SandboxCommand::Snapshot(cmd) => {
            let service = test_service(store, cmd.service()).await?;
            crate::snapshots::run(store, &node, service, cmd).await
        }
        SandboxCommand::Reset { service } => {
            crate::snapshots::reset(store, test_service(store, service).await?).await
        }
        SandboxCommand::Emails { service, to, full } => {
            let service = test_service(store, service).await?;
            let emails = store.emails(&service.id, to.as_deref(), 100).await?;
            if full {
                for e in &emails {
                    println!(
                        "To: {}\nSubject: {}\nSent: {}\n\n{}\n",
                        e.to,
                        e.subject,
                        timefmt::date_time(e.created_ms),
                        e.text
                    );
                }
            } else {
                let mut t = table::new(&["SENT", "TO", "SUBJECT"]);
                for e in &emails {
                    t.add_row(vec![
                        table::minute(e.created_ms),
                        e.to.clone(),
                        e.subject.clone(),
                    ]);
                }
                table::print(&t);
            }
            Ok(())
        }
        SandboxCommand::Trigger {
            payment_id,
            event_type,
            overrides,
        } => {
            let service = service_of(store, &payment_id).await?;
            let event = EventType::parse(&event_type)
                .with_context(|| format!("{event_type} is not a webhook event type"))?;
            match sandbox::operations::trigger_webhook(
                store,
                sql.as_ref(),
                &node,
                &service,
                &payment_id,
                event,
                &overrides,
            )
            .await
            {
                Ok(ids) => {
                    for id in ids {
                        println!("{id}");
                    }
                    Ok(())
                }
                Err(Failure::Refused(Refusal::Sandbox(r))) => bail!("{r}"),
                Err(Failure::Refused(Refusal::NotFound)) => {
                    bail!("no payment {payment_id} in a test service")
                }
                Err(e) => Err(e.into()),
            }
        }
        SandboxCommand::Pay {
            payment_id,
            card,
            three_ds,
            no_confirm,
            cardholder_name,
            expiry,
            cvc,
            email,
        } => {
            let service = service_of(store, &payment_id).await?;
            let request = PayRequest {
                card_number: card,
                cardholder_name,
                expiry,
                cvc,
                billing_address: None,
                email,
                three_ds_passes: three_ds == ThreeDs::Pass,
                confirm: !no_confirm,
            };
            let done = sandbox::operations::pay(deps, &service, &payment_id, &request).await;
            report(store, &payment_id, done).await
        }
        SandboxCommand::PayLink {
            address,
            amount,
            reference,
            card,
        } => {
            let link = link_at(store, &address).await?;
            let service = store
                .service(&link.service_id)
                .await?
                .with_context(|| format!("no service {}", link.service_id))?;
            let request = PayRequest {
                card_number: card,
                three_ds_passes: true,
                confirm: true,
                ..Default::default()
            };
            let completion = format!("{}/payment-complete", settings.public_url);
            let done = sandbox::operations::pay_link(
                deps,
                &service,
                &link,
                amount,
                reference.as_deref(),
                &completion,
                &request,
            )
            .await;
            match done {
                Err(Failure::Refused(Refusal::Sandbox(SandboxRefusal::LinkAnswer(p)))) => {
                    let (field, message) = pence_http::link_answer_text(&link, p);
                    bail!("--{field}: {message}")
                }
                Err(Failure::Refused(Refusal::NotFound)) => {
                    bail!("{address} is a live service's link: live services have no sandbox")
                }
                done => report(store, &link.id, done).await,
            }
        }
        SandboxCommand::Fixture { file, service } => {
            let service = test_service(store, service).await?;
            let request = read_fixture(&file)?;
            let started = std::time::Instant::now();
            let made = match sandbox::fixtures::load(deps, &service, &request).await {
                Ok(made) => made,
                Err(Failure::Refused(Refusal::Sandbox(r))) => bail!("{file}: {r}"),
                Err(e) => return Err(e.into()),
            };
            let mut t = table::new(&["ENTRY", "ID", "STATE", "MADE WITH IT"]);
            for p in &made.payments {
                let mut with: Vec<String> =
                    p.refund_ids.iter().map(|r| format!("refund {r}")).collect();
                with.extend(p.dispute_id.iter().map(|d| format!("dispute {d}")));
                t.add_row(vec![
                    format!("payments[{}]", p.entry),
                    p.payment_id.clone(),
                    p.state.to_string(),
                    with.join(", "),
                ]);
            }
            for a in &made.agreements {
                t.add_row(vec![
                    format!("agreements[{}]", a.entry),
                    a.agreement_id.clone(),
                    a.status.to_string(),
                    match a.payment_ids.len() {
                        0 => String::new(),
                        n => format!("{n} payments"),
                    },
                ]);
            }
            table::print(&t);
            eprintln!(
                "made {} payments and {} agreements for {} in {} ms",
                made.payments.len()
                    + made
                        .agreements
                        .iter()
                        .map(|a| a.payment_ids.len())
                        .sum::<usize>(),
                made.agreements.len(),
                service.id,
                started.elapsed().as_millis()
            );
            Ok(())
        }
        SandboxCommand::Abandon { payment_id } => {
            let service = service_of(store, &payment_id).await?;
            let done = sandbox::operations::abandon(deps, &service, &payment_id).await;
            report(store, &payment_id, done).await
        }
        SandboxCommand::Cancel { payment_id } => {
            let service = service_of(store, &payment_id).await?;
            let done = sandbox::operations::cancel(deps, &service, &payment_id).await;
            report(store, &payment_id, done).await
        }
    }
}

/// The service a payment belongs to.
/// A fixture file: TOML when it names itself `.toml`, else JSON (`-`: standard input,
/// JSON or TOML by its first character).
fn read_fixture(file: &str) -> anyhow::Result<sandbox::fixtures::FixtureRequest> {
    let text = if file == "-" {
        std::io::read_to_string(std::io::stdin())
            .context("reading the fixture from standard input")?
    } else {
        std::fs::read_to_string(file).with_context(|| format!("reading {file}"))?
    };
    let toml = file.ends_with(".toml") || (file == "-" && !text.trim_start().starts_with('{'));
    if toml {
        toml::from_str(&text).with_context(|| format!("{file} is not a fixture in TOML"))
    } else {
        serde_json::from_str(&text).with_context(|| format!("{file} is not a fixture in JSON"))
    }
}

async fn service_of(store: &dyn Store, id: &str) -> anyhow::Result<Service> {
    let found = pence_core::journey::payment(store, id).await?;
    let service = match found {
        Some(p) => store.service(&p.service_id).await?,
        None => None,
    };
    service.with_context(|| format!("no payment {id}"))
}

/// The payment link an address (`…/payments/{service}/{link}`, with or without the node's
/// URL and a query) or an id names.
async fn link_at(
    store: &dyn Store,
    address: &str,
) -> anyhow::Result<pence_core::link::PaymentLink> {
    let path = address.split(['?', '#']).next().unwrap_or(address);
    let found = match path.split_once("/payments/") {
        Some((_, rest)) => match rest.trim_end_matches('/').split_once('/') {
            Some((service, link)) => store.payment_link_at(service, link).await?,
            None => None,
        },
        None => store.payment_link(path).await?,
    };
    found.with_context(|| format!("no payment link at {address}"))
}

/// What the paying user's step did, or why it was refused.
async fn report(
    store: &dyn Store,
    id: &str,
    done: Result<PaymentRecord, Failure>,
) -> anyhow::Result<()> {
    match done {
        Ok(p) => {
            println!("{}", summary(&p));
            Ok(())
        }
        Err(Failure::Refused(Refusal::NotFound)) => {
            bail!("no payment {id} in a test service (live services have no sandbox)")
        }
        Err(Failure::Refused(Refusal::Sandbox(SandboxRefusal::CardDetails(problems)))) => {
            let language = pence_core::journey::payment(store, id)
                .await?
                .map_or(pence_core::payment::Language::En, |p| p.language);
            for (field, problem) in problems {
                eprintln!(
                    "{}: {}",
                    field.input_id(),
                    pence_http::card_problem_text(language, problem)
                );
            }
            bail!("the card page refused the card details")
        }
        Err(Failure::Refused(Refusal::Sandbox(r))) => bail!("{r}"),
        Err(e) => Err(e.into()),
    }
}

/// `payment abc: success (CAPTURE APPROVED)`, or with GOV.UK Pay's code and message.
fn summary(p: &PaymentRecord) -> String {
    let state = p.status.external();
    match (state.code, state.message) {
        (Some(code), Some(message)) => format!(
            "payment {}: {} {code} {message} ({})",
            p.id, state.status, p.status
        ),
        _ => format!("payment {}: {} ({})", p.id, state.status, p.status),
    }
}

/// The named test service, or the first sandbox test service.
async fn test_service(store: &dyn Store, id: Option<String>) -> anyhow::Result<Service> {
    let service = match id {
        Some(id) => store
            .service(&id)
            .await?
            .with_context(|| format!("no service {id}"))?,
        None => pence_core::service::setup::default_service(store)
            .await?
            .context("no sandbox test service: name one with --service")?,
    };
    anyhow::ensure!(
        !service.live,
        "{} is a live service: it has no sandbox",
        service.id
    );
    Ok(service)
}

/// `pence sandbox fault …`.
async fn fault(store: &dyn Store, node: &dyn Clock, cmd: FaultCommand) -> anyhow::Result<()> {
    match cmd {
        FaultCommand::Add {
            service,
            method,
            path,
            next,
            fraction,
            seed,
            expires_in,
            status,
            code,
            description,
            delay_ms,
            drop_connection,
            provider,
        } => {
            let service = test_service(store, service).await?;
            let request = RuleRequest {
                method,
                path,
                next,
                fraction,
                seed,
                expires_in_seconds: expires_in,
                answer: status.map(|status| AnswerRequest {
                    status,
                    code,
                    description,
                }),
                delay_ms,
                drop_connection: drop_connection.then_some(true),
                provider,
            };
            let rule = match fault_rules::add(store, None, node, &service, request).await {
                Ok(rule) => rule,
                Err(Failure::Refused(Refusal::Sandbox(r))) => bail!("{r}"),
                Err(e) => return Err(e.into()),
            };
            println!("{}", rule.id);
        }
        FaultCommand::List { service } => {
            let service = test_service(store, service).await?;
            let rules = fault_rules::list(store, node, &service).await?;
            let mut t = table::new(&["ID", "REQUESTS", "WHAT", "LEFT", "UNTIL"]);
            for r in rules {
                let when = match (&r.method, &r.path) {
                    (_, None) => "provider".to_string(),
                    (Some(m), Some(p)) => format!("{m} {p}"),
                    (None, Some(p)) => p.clone(),
                };
                let what = match &r.action {
                    FaultAction::Answer { status, code, .. } => format!("answer {status} {code}"),
                    FaultAction::Delay { ms } => format!("delay {ms} ms"),
                    FaultAction::Drop => "drop the connection".into(),
                    FaultAction::Provider(p) => p.as_str().into(),
                };
                let mut left = r.remaining.map_or("all".into(), |n| n.to_string());
                // A rule firing on a share of its matches says so, with the seed that draws them.
                if let Some(fraction) = r.fraction {
                    left.push_str(&format!(", {}% (seed {})", fraction * 100.0, r.seed));
                }
                t.add_row(vec![
                    r.id.clone(),
                    when,
                    what,
                    left,
                    table::minute(r.expires_ms),
                ]);
            }
            table::print(&t);
        }
        FaultCommand::Remove { id, service } => {
            let service = test_service(store, service).await?;
            match fault_rules::remove(store, None, &service, &id).await {
                Ok(()) => {}
                Err(Failure::Refused(Refusal::NotFound)) => {
                    bail!("no fault rule {id} in service {}", service.id)
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
}

/// `pence sandbox clock`: shows the service's time, or moves it and says what its sweeps did.
/// How `pence sandbox clock` was asked to move the clock, if at all.
struct Move {
    advance: Option<i64>,
    to: Option<String>,
    reset: bool,
}

async fn clock(
    store: &dyn Store,
    delivery: &dyn pence_core::webhook::DueDelivery,
    service: Option<String>,
    Move { advance, to, reset }: Move,
) -> anyhow::Result<()> {
    let service = match service {
        Some(id) => id,
        None => test_service(store, None).await?.id,
    };
    let node = AdjustableClock::default();
    let how = match (advance, to, reset) {
        (Some(seconds), _, _) => Some(ClockMove::Advance {
            ms: seconds.saturating_mul(1000),
        }),
        (_, Some(to), _) => Some(ClockMove::To {
            now_ms: timefmt::parse(&to).with_context(|| {
                format!("--to {to}: not a date and time like 2026-12-24T09:00:00Z")
            })?,
        }),
        (_, _, true) => Some(ClockMove::Reset),
        _ => None,
    };
    let answer = match how {
        None => sandbox::operations::clock(store, &node, &service)
            .await
            .map(|t| (t, None)),
        Some(how) => {
            let psp = &pence_psp::Sandbox;
            sandbox::operations::move_clock(store, &node, psp, delivery, &service, how)
                .await
                .map(|(t, swept)| (t, Some(swept)))
        }
    };
    let (time, swept) = match answer {
        Ok(done) => done,
        Err(Failure::Refused(Refusal::NotFound)) => bail!("no test service {service}"),
        Err(Failure::Refused(Refusal::Sandbox(r))) => bail!("{r}"),
        Err(e) => return Err(e.into()),
    };
    println!(
        "service {service}: {} ({} s ahead of real time)",
        timefmt::date_time(time.now_ms),
        time.offset_ms / 1000
    );
    if let Some(s) = swept {
        println!(
            "swept: {} captured, {} expired, {} paid out, {} refunds, {} disputes, \
             {} agreement payments, {} webhook attempts",
            s.captured,
            s.expired,
            s.settled,
            s.refunds,
            s.disputes,
            s.recurring,
            s.webhook_attempts
        );
    }
    Ok(())
}
