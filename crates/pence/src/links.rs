//! `pence link …`: a service's payment links from the command line (the same use cases as the
//! admin tool and the links API), on the database directly, beside running nodes.

use std::collections::BTreeMap;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use pence_core::clock::AdjustableClock;
use pence_core::link::operations::{self as links, LinkError};
use pence_core::link::{LinkDraft, PaymentLink, ReferenceField};
use pence_core::payment::Language;
use pence_core::ports::prelude::*;
use pence_core::service::Service;
use pence_core::staff::Actor;

use crate::config::Settings;
use crate::serve::existing_store;
use crate::table;

#[derive(Subcommand)]
pub enum LinkCommand {
    /// Make a payment link; prints its id, then the address payers open.
    Create {
        /// The service it takes payments for.
        #[arg(long)]
        service: String,
        #[command(flatten)]
        fields: Fields,
    },
    /// A service's links, newest first.
    List {
        #[arg(long)]
        service: String,
    },
    /// One link: every field and its address.
    Show {
        #[arg(long)]
        service: String,
        /// The link's id.
        id: String,
    },
    /// Change a link; options left out keep their value.
    Update {
        #[arg(long)]
        service: String,
        /// The link's id.
        id: String,
        #[command(flatten)]
        fields: Fields,
        /// The payer enters the amount (the link's fixed amount is dropped).
        #[arg(long, conflicts_with = "amount")]
        payer_enters_amount: bool,
        /// Pence makes up each payment's reference (the payer is no longer asked).
        #[arg(long, conflicts_with = "reference_label")]
        made_up_reference: bool,
    },
    /// Delete a link: its address stops taking payments; its payments stay.
    Delete {
        #[arg(long)]
        service: String,
        /// The link's id.
        id: String,
    },
}

#[derive(Args)]
pub struct Fields {
    /// Shown to the payer, and each payment's description.
    #[arg(long)]
    title: Option<String>,
    /// Shown to the payer on the start page.
    #[arg(long)]
    details: Option<String>,
    /// A fixed amount in pence (left out when making a link: the payer enters it).
    #[arg(long)]
    amount: Option<i64>,
    /// Shown on the amount page.
    #[arg(long)]
    amount_hint: Option<String>,
    /// Ask the payer for the reference under this label (left out: Pence makes one up).
    #[arg(long)]
    reference_label: Option<String>,
    /// Shown under the reference's label.
    #[arg(long)]
    reference_hint: Option<String>,
    /// en or cy.
    #[arg(long, value_parser = parse_language)]
    language: Option<Language>,
    /// A reporting column added to every payment's metadata, as HEADER=VALUE (repeat for
    /// more; on update, replaces them all).
    #[arg(long = "column", value_parser = parse_column)]
    columns: Vec<(String, String)>,
    /// The address's first part (default: from the service's name).
    #[arg(long)]
    service_path: Option<String>,
    /// The address's second part (default: from the title).
    #[arg(long)]
    link_path: Option<String>,
}

fn parse_language(s: &str) -> Result<Language, String> {
    Language::parse(s).ok_or_else(|| "en or cy".into())
}

fn parse_column(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| "HEADER=VALUE".into())
}

impl Fields {
    /// `draft` with the options given applied.
    fn apply(self, mut draft: LinkDraft) -> LinkDraft {
        if let Some(t) = self.title {
            draft.title = t;
        }
        if let Some(d) = self.details {
            draft.details = d;
        }
        if self.amount.is_some() {
            draft.amount = self.amount;
        }
        if self.amount_hint.is_some() {
            draft.amount_hint = self.amount_hint;
        }
        if let Some(label) = self.reference_label {
            let hint = draft.reference.take().and_then(|r| r.hint);
            draft.reference = Some(ReferenceField { label, hint });
        }
        if let (Some(r), Some(h)) = (draft.reference.as_mut(), self.reference_hint) {
            r.hint = Some(h);
        }
        if self.language.is_some() {
            draft.language = self.language;
        }
        if !self.columns.is_empty() {
            draft.metadata = self.columns.into_iter().collect::<BTreeMap<_, _>>();
        }
        if self.service_path.is_some() {
            draft.service_path = self.service_path;
        }
        if self.link_path.is_some() {
            draft.link_path = self.link_path;
        }
        draft
    }
}

/// A link as a draft, to change some of its fields.
fn draft_of(l: PaymentLink) -> LinkDraft {
    LinkDraft {
        title: l.title,
        details: l.details,
        amount: l.amount,
        amount_hint: l.amount_hint,
        reference: l.reference,
        language: Some(l.language),
        metadata: l.metadata,
        service_path: Some(l.service_path),
        link_path: Some(l.link_path),
    }
}

fn refused(e: LinkError) -> anyhow::Error {
    match e {
        LinkError::Invalid(i) => anyhow::anyhow!("--{}: {}", i.field.replace('_', "-"), i.message),
        other => other.into(),
    }
}

pub async fn run(settings: &Settings, cmd: LinkCommand) -> anyhow::Result<()> {
    let store = existing_store(settings).await?;
    let clock = AdjustableClock::default();
    let service_of = |id: String| {
        let store = store.clone();
        async move {
            store
                .service(&id)
                .await?
                .with_context(|| format!("no service {id}"))
        }
    };
    let address = |l: &PaymentLink| format!("{}{}", settings.public_url, l.address());
    match cmd {
        LinkCommand::Create { service, fields } => {
            let service: Service = service_of(service).await?;
            if fields.title.is_none() {
                bail!("--title is needed to make a link");
            }
            let draft = fields.apply(LinkDraft::default());
            let link = links::create(store.as_ref(), &clock, Actor::Operator, &service, draft)
                .await
                .map_err(refused)?;
            println!("{}", link.id);
            println!("{}", address(&link));
        }
        LinkCommand::List { service } => {
            let service = service_of(service).await?;
            let mut t = table::new(&["ID", "AMOUNT", "TITLE", "URL"]);
            for l in links::list(store.as_ref(), &service).await? {
                let amount = l
                    .amount
                    .map_or("payer enters".into(), pence_core::text::money);
                t.add_row(vec![l.id.clone(), amount, l.title.clone(), address(&l)]);
            }
            table::print(&t);
        }
        LinkCommand::Show { service, id } => {
            let service = service_of(service).await?;
            let l = links::find(store.as_ref(), &service, &id)
                .await
                .map_err(refused)?;
            let mut t = table::new(&["FIELD", "VALUE"]);
            let columns: Vec<String> = l.metadata.iter().map(|(k, v)| format!("{k}={v}")).collect();
            for (k, v) in [
                ("id", l.id.clone()),
                ("title", l.title.clone()),
                ("details", l.details.clone()),
                (
                    "amount",
                    l.amount
                        .map_or("payer enters".into(), pence_core::text::money),
                ),
                ("amount hint", l.amount_hint.clone().unwrap_or_default()),
                (
                    "reference",
                    l.reference
                        .as_ref()
                        .map_or("made up".into(), |r| format!("payer enters: {}", r.label)),
                ),
                (
                    "reference hint",
                    l.reference
                        .as_ref()
                        .and_then(|r| r.hint.clone())
                        .unwrap_or_default(),
                ),
                ("language", l.language.as_str().into()),
                ("columns", columns.join(", ")),
                ("url", address(&l)),
                ("created", table::minute(l.created_ms)),
            ] {
                t.add_row(vec![k.to_string(), v]);
            }
            table::print(&t);
        }
        LinkCommand::Update {
            service,
            id,
            fields,
            payer_enters_amount,
            made_up_reference,
        } => {
            let service = service_of(service).await?;
            let current = links::find(store.as_ref(), &service, &id)
                .await
                .map_err(refused)?;
            let mut draft = fields.apply(draft_of(current));
            if payer_enters_amount {
                draft.amount = None;
            }
            if made_up_reference {
                draft.reference = None;
            }
            let link = links::update(
                store.as_ref(),
                &clock,
                Actor::Operator,
                &service,
                &id,
                draft,
            )
            .await
            .map_err(refused)?;
            println!("{}", address(&link));
        }
        LinkCommand::Delete { service, id } => {
            let service = service_of(service).await?;
            links::delete(store.as_ref(), &clock, Actor::Operator, &service, &id)
                .await
                .map_err(refused)?;
        }
    }
    Ok(())
}
