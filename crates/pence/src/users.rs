//! `pence user`: staff of the admin tool. Creating one prints a one-time link (the last line)
//! to set a password; sign-in then sets up the authenticator app.

use std::sync::Arc;

use anyhow::Context;
use clap::Subcommand;
use pence_core::clock::AdjustableClock;
use pence_core::service;
use pence_core::service::administer::{self, Actor};
use pence_core::staff::Role;
use pence_core::staff::{self, operations::StaffRefusal};
use pence_core::Store;

use crate::config::Settings;
use crate::serve::existing_store;
use crate::table;

#[derive(Subcommand)]
pub enum UserCommand {
    /// A user with a role on a service; prints the link to set their password (a day).
    Create {
        #[arg(long)]
        email: String,
        /// The service they work on.
        #[arg(long)]
        service: String,
        /// admin, view-and-refund or view-only.
        #[arg(long, default_value = "view-only")]
        role: String,
    },
    /// Give a user a role on another service, or change it.
    Role {
        #[arg(long)]
        email: String,
        #[arg(long)]
        service: String,
        #[arg(long)]
        role: String,
    },
    /// Every user, with their roles.
    List,
    /// Stop a user signing in (their sessions end at once).
    Disable {
        #[arg(long)]
        email: String,
    },
    /// A new one-time link to set a password (a reset, or a lost invitation).
    Link {
        #[arg(long)]
        email: String,
    },
}

fn role_of(text: &str) -> anyhow::Result<Role> {
    Role::parse(text)
        .with_context(|| format!("no role {text:?}: admin, view-and-refund or view-only"))
}

/// The set-password link: on the address users reach the nodes at (the settings', when
/// given; else the one the last node to start recorded; else the default).
async fn link(settings: &Settings, store: &dyn Store, token: &str) -> anyhow::Result<String> {
    let base = match settings.public_url_given {
        true => settings.public_url.clone(),
        false => service::public_url(store)
            .await?
            .unwrap_or_else(|| settings.public_url.clone()),
    };
    Ok(format!("{base}/admin/set-password/{token}"))
}

/// A refusal in the command line's words: the service named as given.
fn naming(service: &str) -> impl Fn(StaffRefusal) -> anyhow::Error + '_ {
    move |refusal| match refusal {
        StaffRefusal::NoSuchService => anyhow::anyhow!("no service {service}"),
        other => other.into(),
    }
}

pub async fn run(settings: &Settings, cmd: UserCommand) -> anyhow::Result<()> {
    let store: Arc<dyn Store> = existing_store(settings).await?;
    let clock = AdjustableClock::default();
    let user_of = |email: String| {
        let store = store.clone();
        async move {
            store
                .user_by_email(&email.trim().to_lowercase())
                .await?
                .with_context(|| format!("no user {email}"))
        }
    };
    match cmd {
        UserCommand::Create {
            email,
            service,
            role,
        } => {
            let role = role_of(&role)?;
            let (user, token) = administer::invite_user(
                store.as_ref(),
                &clock,
                Actor::Operator,
                &email,
                &service,
                role,
            )
            .await
            .map_err(naming(&service))?;
            println!("{} ({}) on service {service}", user.email, role.as_str());
            println!("Send them this link to set their password (it works once, for a day):");
            println!("{}", link(settings, store.as_ref(), &token).await?);
        }
        UserCommand::Role {
            email,
            service,
            role,
        } => {
            let role = role_of(&role)?;
            let user = user_of(email).await?;
            administer::set_role(
                store.as_ref(),
                &clock,
                Actor::Operator,
                &service,
                &user,
                role,
            )
            .await
            .map_err(naming(&service))?;
            eprintln!("{} is now {} on {service}", user.email, role.as_str());
        }
        UserCommand::List => {
            let mut t = table::new(&["EMAIL", "STATE", "ROLES"]);
            for user in store.users().await? {
                let roles: Vec<String> = store
                    .roles(&user.id)
                    .await?
                    .into_iter()
                    .map(|(s, r)| format!("{} on {s}", r.as_str()))
                    .collect();
                let state = if user.disabled {
                    "disabled"
                } else if user.password_hash.is_none() {
                    "invited"
                } else {
                    "active"
                };
                t.add_row(vec![user.email.clone(), state.into(), roles.join(", ")]);
            }
            table::print(&t);
        }
        UserCommand::Disable { email } => {
            let user = user_of(email).await?;
            administer::disable_user(store.as_ref(), &clock, Actor::Operator, &user).await?;
            eprintln!("disabled {}: their sessions have ended", user.email);
        }
        UserCommand::Link { email } => {
            let user = user_of(email).await?;
            let token = staff::operations::new_link(store.as_ref(), &clock, &user).await?;
            println!("{}", link(settings, store.as_ref(), &token).await?);
        }
    }
    Ok(())
}
