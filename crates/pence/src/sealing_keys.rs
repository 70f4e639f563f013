//! The keys the node seals secrets with at rest (`pence_store::SealingKeys`): as the settings
//! give them (PENCE_SECRET_KEY, and PENCE_PREVIOUS_SECRET_KEYS after a rotation), or, for a
//! SQLite database, a key file beside it made on first use (readable by its owner only), so
//! a copy of the database alone reveals no secret. PostgreSQL's nodes share one key, which
//! should be given (without it, one is kept in `pence-data/secret.key`, with a warning).
//! `pence secrets` makes keys and moves every secret to the current one.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Subcommand;
use pence_store::{SealingKey, SealingKeys};

use crate::config::Settings;
use crate::serve::existing_store;

/// The keys for the settings' database.
pub fn resolve(settings: &Settings) -> anyhow::Result<SealingKeys> {
    let current = match &settings.secret_key {
        Some(key) => key.clone(),
        None => match pence_store::sqlite_file(&settings.database_url) {
            Some(db) => key_file(&key_path(db))?,
            None => {
                tracing::warn!(
                    "no PENCE_SECRET_KEY: secrets are sealed with the key in {POSTGRES_KEY_FILE}; \
                     give every node of a PostgreSQL database the same PENCE_SECRET_KEY \
                     (`pence secrets new-key` makes one)"
                );
                key_file(Path::new(POSTGRES_KEY_FILE))?
            }
        },
    };
    Ok(SealingKeys {
        current,
        previous: settings.previous_secret_keys.clone(),
    })
}

/// Where a PostgreSQL node given no key keeps one (one machine's nodes share it; another
/// machine's node is refused the secrets sealed with it, and says so).
const POSTGRES_KEY_FILE: &str = "pence-data/secret.key";

/// `pence.db` → `pence.db.key`.
fn key_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".key");
    PathBuf::from(name)
}

/// The key in `path`, made there (mode 0600) if there is none.
fn key_file(path: &Path) -> anyhow::Result<SealingKey> {
    if !path.exists() {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("making {}", dir.display()))?;
        }
        let made = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path);
        match made {
            Ok(mut file) => writeln!(file, "{}", SealingKey::generate())
                .with_context(|| format!("writing {}", path.display()))?,
            // Another process made it meanwhile: read theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e).with_context(|| format!("making {}", path.display())),
        }
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    SealingKey::parse(&text).with_context(|| {
        format!(
            "{} must hold a key of 64 hexadecimal digits",
            path.display()
        )
    })
}

#[derive(Subcommand)]
pub enum SecretsCommand {
    /// Print a new random key for PENCE_SECRET_KEY.
    NewKey,
    /// Seal every stored secret with the current key (after a rotation: the new key as
    /// PENCE_SECRET_KEY, the old one in PENCE_PREVIOUS_SECRET_KEYS).
    Reseal,
}

pub async fn run(settings: &Settings, cmd: SecretsCommand) -> anyhow::Result<()> {
    match cmd {
        SecretsCommand::NewKey => println!("{}", SealingKey::generate()),
        SecretsCommand::Reseal => {
            let store = existing_store(settings).await?;
            let n = pence_core::service::setup::reseal_secrets(store.as_ref()).await?;
            eprintln!("sealed {n} secrets with the current key");
        }
    }
    Ok(())
}
