//! `pence sandbox snapshot …` and `pence sandbox reset`: a test service's state saved,
//! restored, exported, imported and emptied (`pence_core::sandbox::snapshots`), on the
//! database directly like the other admin commands. A running node sees a restored clock
//! within its API-key cache time.

use anyhow::{bail, Context};
use clap::Subcommand;
use pence_core::clock::Clock;
use pence_core::refusal::{Failure, Refusal};
use pence_core::sandbox::snapshots::{self, Snapshot, SnapshotSummary};
use pence_core::service::Service;
use pence_core::Store;

use crate::table;

#[derive(Subcommand)]
pub enum SnapshotCommand {
    /// Save the service's whole state (payments, refunds, disputes, agreements, webhooks and
    /// their log, emails, fault rules, payment links, its clock) under NAME.
    Save {
        name: String,
        /// The test service (default: the first sandbox test service).
        #[arg(long)]
        service: Option<String>,
    },
    /// Put the service back as snapshot NAME has it: same ids and events, nothing made since,
    /// its clock reading again what it read then.
    Restore {
        name: String,
        #[arg(long)]
        service: Option<String>,
    },
    /// The service's snapshots.
    List {
        #[arg(long)]
        service: Option<String>,
    },
    /// Delete snapshot NAME.
    Delete {
        name: String,
        #[arg(long)]
        service: Option<String>,
    },
    /// Write snapshot NAME as a file, to import on another node or engine. It holds webhook
    /// signing secrets in the clear.
    Export {
        name: String,
        /// The file to write (default: standard output).
        #[arg(long)]
        out: Option<String>,
        #[arg(long)]
        service: Option<String>,
    },
    /// Keep a snapshot file (`-`: standard input) as a snapshot of the service, ready to
    /// restore.
    Import {
        file: String,
        /// The name to keep it under (default: the file's own).
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        service: Option<String>,
    },
}

impl SnapshotCommand {
    /// The test service named, if one is.
    pub fn service(&self) -> Option<String> {
        match self {
            SnapshotCommand::Save { service, .. }
            | SnapshotCommand::Restore { service, .. }
            | SnapshotCommand::List { service }
            | SnapshotCommand::Delete { service, .. }
            | SnapshotCommand::Export { service, .. }
            | SnapshotCommand::Import { service, .. } => service.clone(),
        }
    }
}

/// A refusal in the words the control API gives it; other failures as they are.
fn worded(e: Failure, name: &str) -> anyhow::Error {
    match e {
        Failure::Refused(Refusal::Sandbox(r)) => anyhow::anyhow!("{r}"),
        Failure::Refused(Refusal::NotFound) => anyhow::anyhow!("no snapshot {name}"),
        other => other.into(),
    }
}

fn print_summaries(kept: &[SnapshotSummary]) {
    let mut t = table::new(&[
        "NAME",
        "SAVED (SERVICE CLOCK)",
        "PAYMENTS",
        "WEBHOOK MESSAGES",
    ]);
    for s in kept {
        let rows = |table: &str| s.rows.get(table).copied().unwrap_or(0).to_string();
        t.add_row(vec![
            s.name.clone(),
            s.saved_at.clone(),
            rows("payments"),
            rows("webhook_messages"),
        ]);
    }
    table::print(&t);
}

pub async fn run(
    store: &dyn Store,
    node: &dyn Clock,
    service: Service,
    cmd: SnapshotCommand,
) -> anyhow::Result<()> {
    match cmd {
        SnapshotCommand::Save { name, .. } => {
            let saved = snapshots::save(store, node, &service, &name)
                .await
                .map_err(|e| worded(e, &name))?;
            print_summaries(&[saved]);
        }
        SnapshotCommand::Restore { name, .. } => {
            let restored = snapshots::restore(store, node, &service, &name)
                .await
                .map_err(|e| worded(e, &name))?;
            println!("{} is as it was at {}", service.id, restored.saved_at);
        }
        SnapshotCommand::List { .. } => {
            print_summaries(&snapshots::list(store, &service).await?);
        }
        SnapshotCommand::Delete { name, .. } => {
            snapshots::delete(store, &service, &name)
                .await
                .map_err(|e| worded(e, &name))?;
            println!("deleted {name}");
        }
        SnapshotCommand::Export { name, out, .. } => {
            let file = snapshots::export(store, &service, &name)
                .await
                .map_err(|e| worded(e, &name))?;
            let text = serde_json::to_string(&file)?;
            match out {
                Some(path) => {
                    std::fs::write(&path, text).with_context(|| format!("writing {path}"))?
                }
                None => println!("{text}"),
            }
        }
        SnapshotCommand::Import { file, name, .. } => {
            let text = if file == "-" {
                std::io::read_to_string(std::io::stdin()).context("reading standard input")?
            } else {
                std::fs::read_to_string(&file).with_context(|| format!("reading {file}"))?
            };
            let Ok(snapshot) = serde_json::from_str::<Snapshot>(&text) else {
                bail!("{file} is not a snapshot file (pence sandbox snapshot export makes one)");
            };
            let kept = snapshots::import(store, &service, snapshot, name.as_deref())
                .await
                .map_err(|e| worded(e, &file))?;
            print_summaries(&[kept]);
        }
    }
    Ok(())
}

/// `pence sandbox reset`.
pub async fn reset(store: &dyn Store, service: Service) -> anyhow::Result<()> {
    snapshots::reset(store, &service)
        .await
        .map_err(|e| worded(e, ""))?;
    println!("{} is empty; its snapshots stay", service.id);
    Ok(())
}
