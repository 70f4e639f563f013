//! `pence sandbox …`: the control API's paying user at a terminal (`usecases::sandbox`), on
//! the database directly like the other admin commands. Test services' payments only.

use anyhow::{bail, Context};
use clap::{Subcommand, ValueEnum};
use pence_core::clock::AdjustableClock;
use pence_core::journey::Deps;
use pence_core::payment::PaymentRecord;
use pence_core::refusal::{Failure, Refusal};
use pence_core::usecases::sandbox::{self, PayRequest, SandboxRefusal};
use pence_core::Store;

use crate::config::Settings;
use crate::serve::existing_store;

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
    /// Open a payment's card page and leave (it expires in 90 minutes).
    Abandon { payment_id: String },
    /// Press "Cancel payment" on a payment's card page.
    Cancel { payment_id: String },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ThreeDs {
    Pass,
    Fail,
}

pub async fn run(settings: &Settings, cmd: SandboxCommand) -> anyhow::Result<()> {
    let store = existing_store(settings).await?;
    let store: &dyn Store = store.as_ref();
    let clock = AdjustableClock::default();
    let deps = Deps {
        store,
        clock: &clock,
        psp: &pence_psp::Sandbox,
    };
    let id = match &cmd {
        SandboxCommand::Pay { payment_id, .. }
        | SandboxCommand::Abandon { payment_id }
        | SandboxCommand::Cancel { payment_id } => payment_id.clone(),
    };
    let found = pence_core::journey::payment(store, &id).await?;
    let service = match found {
        Some(p) => store.service(&p.service_id).await?,
        None => None,
    }
    .with_context(|| format!("no payment {id}"))?;
    let done = match cmd {
        SandboxCommand::Pay {
            card,
            three_ds,
            no_confirm,
            cardholder_name,
            expiry,
            cvc,
            email,
            ..
        } => {
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
            sandbox::pay(deps, &service, &id, &request).await
        }
        SandboxCommand::Abandon { .. } => sandbox::abandon(deps, &service, &id).await,
        SandboxCommand::Cancel { .. } => sandbox::cancel(deps, &service, &id).await,
    };
    match done {
        Ok(p) => {
            println!("{}", summary(&p));
            Ok(())
        }
        Err(Failure::Refused(Refusal::NotFound)) => {
            bail!("no payment {id} in a test service (live services have no sandbox)")
        }
        Err(Failure::Refused(Refusal::Sandbox(SandboxRefusal::CardDetails(problems)))) => {
            let language = pence_core::journey::payment(store, &id)
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
