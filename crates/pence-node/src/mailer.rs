//! Passes the email sink's emails (`pence_core::emails`) on to an SMTP server, when the node
//! has one (`[email] smtp_url`): claimed a few at a time, like webhook messages, so several
//! nodes send each once; tried a few times, then left in the sink with the error.

use std::sync::Arc;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use pence_core::clock::system_now_ms;
use pence_core::emails::Email;
use pence_core::EmailStore;

/// Where emails go, and from whom.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    /// `smtp://host:port` (plain) or `smtps://host:port`.
    pub url: String,
    pub from: String,
}

/// The From of emails unless the settings say otherwise.
pub const DEFAULT_EMAIL_FROM: &str = "Pence sandbox <no-reply@pence.invalid>";

/// Emails one round claims.
const BATCH: u32 = 20;
/// A claim outlasts a slow SMTP server.
const CLAIM_MS: i64 = 60_000;
/// Tries before an email is left unsent.
const TRIES: i64 = 5;
const POLL: Duration = Duration::from_millis(250);

#[derive(Debug, thiserror::Error)]
pub enum MailerError {
    #[error("[email] smtp_url {0:?}: {1}")]
    Url(String, String),
    #[error("[email] from {0:?}: {1}")]
    From(String, String),
}

pub(crate) struct Mailer {
    store: Arc<dyn EmailStore>,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    pub(crate) fn new(
        store: Arc<dyn EmailStore>,
        settings: &SmtpSettings,
    ) -> Result<Mailer, MailerError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&settings.url)
            .map_err(|e| MailerError::Url(settings.url.clone(), e.to_string()))?
            .build();
        let from = settings
            .from
            .parse()
            .map_err(|e: lettre::address::AddressError| {
                MailerError::From(settings.from.clone(), e.to_string())
            })?;
        Ok(Mailer {
            store,
            transport,
            from,
        })
    }

    pub(crate) fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                match self.send_once().await {
                    Ok(0) => tokio::time::sleep(POLL).await,
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "claiming emails failed");
                        tokio::time::sleep(POLL).await;
                    }
                }
            }
        })
    }

    /// One round: claims, sends and records a batch; how many it tried.
    pub(crate) async fn send_once(&self) -> Result<usize, pence_core::StoreError> {
        let now = system_now_ms();
        let batch = self
            .store
            .claim_unsent_emails(now, now + CLAIM_MS, TRIES, BATCH)
            .await?;
        for email in &batch {
            let (sent, error) = match self.send(email).await {
                Ok(()) => (Some(system_now_ms()), None),
                Err(e) => {
                    tracing::warn!(email = %email.id, error = %e, "passing an email on failed");
                    (None, Some(e))
                }
            };
            self.store
                .record_email_attempt(&email.id, sent, error.as_deref())
                .await?;
        }
        Ok(batch.len())
    }

    async fn send(&self, e: &Email) -> Result<(), String> {
        let to: Mailbox =
            e.to.parse()
                .map_err(|err| format!("the address {:?}: {err}", e.to))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(e.subject.as_str())
            .multipart(MultiPart::alternative_plain_html(
                e.text.clone(),
                e.html.clone(),
            ))
            .map_err(|err| err.to_string())?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|err| err.to_string())
    }
}
