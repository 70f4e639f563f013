//! The emails GOV.UK Pay sends paying users (through GOV.UK Notify): a confirmation when a
//! payment is confirmed and a note when a refund is issued, in the payment's language, if
//! the service sends them and the user gave an address (GOV.UK Pay's rules:
//! `UserNotificationService`). Pence writes them with the change that causes them; the
//! sandbox shows them (`GET /sandbox/v1/emails`) and may pass them to an SMTP server.
//! The wording is Pence's own; the facts in it are GOV.UK Pay's (service name, reference,
//! date, amount with any corporate card fee, description, the service's paragraph).

use crate::ids;
use crate::payment::{Language, PaymentRecord};
use crate::service::{EmailCollection, Service};

/// Which email.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailKind {
    PaymentConfirmed,
    RefundIssued,
}

impl EmailKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EmailKind::PaymentConfirmed => "payment_confirmed",
            EmailKind::RefundIssued => "refund_issued",
        }
    }

    pub fn parse(s: &str) -> Option<EmailKind> {
        [EmailKind::PaymentConfirmed, EmailKind::RefundIssued]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// One email to a paying user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub id: String,
    pub service_id: String,
    pub payment_id: String,
    pub kind: EmailKind,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub created_ms: i64,
}

/// £ amounts as the emails show them: `145.00`.
fn pounds(pence: i64) -> String {
    format!("{}.{:02}", pence / 100, pence % 100)
}

/// `30 November 2026 - 18:42:15 UTC` (GOV.UK Pay's user-friendly date, in UTC).
fn friendly(ms: i64, language: Language) -> String {
    const EN: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    const CY: [&str; 12] = [
        "Ionawr",
        "Chwefror",
        "Mawrth",
        "Ebrill",
        "Mai",
        "Mehefin",
        "Gorffennaf",
        "Awst",
        "Medi",
        "Hydref",
        "Tachwedd",
        "Rhagfyr",
    ];
    let t = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let months = if language == Language::Cy { CY } else { EN };
    format!(
        "{} {} {} - {:02}:{:02}:{:02} UTC",
        t.day(),
        months[usize::from(u8::from(t.month())) - 1],
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Text as HTML: escaped, a paragraph a line.
fn html_of(text: &str) -> String {
    text.split("\n\n")
        .map(|para| {
            let escaped = para
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;")
                .replace('\'', "&#39;")
                .replace('\n', "<br>");
            format!("<p>{escaped}</p>")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The address it goes to, if GOV.UK Pay would send one at all.
fn recipient(service: &Service, p: &PaymentRecord, enabled: bool) -> Option<String> {
    let address = p
        .email
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())?;
    (enabled && service.cards.email_collection != EmailCollection::Off).then(|| address.to_string())
}

fn email(
    service: &Service,
    p: &PaymentRecord,
    kind: EmailKind,
    to: String,
    subject: String,
    text: String,
    now_ms: i64,
) -> Email {
    Email {
        id: ids::new_id(),
        service_id: service.id.clone(),
        payment_id: p.id.clone(),
        kind,
        to,
        subject,
        html: html_of(&text),
        text,
        created_ms: now_ms,
    }
}

/// The confirmation of payment `p`, as it is confirmed.
pub fn payment_confirmed(service: &Service, p: &PaymentRecord, now_ms: i64) -> Option<Email> {
    let to = recipient(service, p, service.emails.payment_confirmed)?;
    let cy = p.language == Language::Cy;
    let name = &service.name;
    let subject = if cy {
        format!("Eich taliad i {name}")
    } else {
        format!("Your payment to {name}")
    };
    let mut lines = vec![if cy {
        format!("Rydych wedi talu {name}.")
    } else {
        format!("You have paid {name}.")
    }];
    let facts = if cy {
        ["Cyfeirnod y taliad", "Dyddiad", "Swm", "Disgrifiad"]
    } else {
        ["Payment reference", "Date", "Amount", "Description"]
    };
    lines.push(format!(
        "{}: {}\n{}: {}\n{}: £{}\n{}: {}",
        facts[0],
        p.reference,
        facts[1],
        friendly(p.created_ms, p.language),
        facts[2],
        pounds(p.total()),
        facts[3],
        p.description
    ));
    if let Some(fee) = p.corporate_surcharge.filter(|f| *f > 0) {
        lines.push(if cy {
            format!(
                "Mae eich taliad yn cynnwys ffi o £{} am ddefnyddio cerdyn corfforaethol.",
                pounds(fee)
            )
        } else {
            format!(
                "Your payment includes a fee of £{} for using a corporate card.",
                pounds(fee)
            )
        });
    }
    if let Some(paragraph) = service
        .emails
        .custom_paragraph
        .as_deref()
        .filter(|t| !t.trim().is_empty())
    {
        lines.push(paragraph.replace("$reference", &p.reference));
    }
    Some(email(
        service,
        p,
        EmailKind::PaymentConfirmed,
        to,
        subject,
        lines.join("\n\n"),
        now_ms,
    ))
}

/// The note that `amount` of payment `p` was refunded.
pub fn refund_issued(
    service: &Service,
    p: &PaymentRecord,
    amount: i64,
    now_ms: i64,
) -> Option<Email> {
    let to = recipient(service, p, service.emails.refund_issued)?;
    let cy = p.language == Language::Cy;
    let name = &service.name;
    let (subject, opening, facts) = if cy {
        (
            format!("Eich ad-daliad gan {name}"),
            format!("Mae {name} wedi ad-dalu £{} i chi.", pounds(amount)),
            ["Cyfeirnod y taliad", "Dyddiad y taliad", "Disgrifiad"],
        )
    } else {
        (
            format!("Your refund from {name}"),
            format!("{name} has refunded you £{}.", pounds(amount)),
            ["Payment reference", "Date of payment", "Description"],
        )
    };
    let text = format!(
        "{opening}\n\n{}: {}\n{}: {}\n{}: {}",
        facts[0],
        p.reference,
        facts[1],
        friendly(p.created_ms, p.language),
        facts[2],
        p.description
    );
    Some(email(
        service,
        p,
        EmailKind::RefundIssued,
        to,
        subject,
        text,
        now_ms,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_html_are_written_for_people() {
        assert_eq!(
            friendly(1_764_527_535_000, Language::En),
            "30 November 2025 - 18:32:15 UTC"
        );
        assert_eq!(
            friendly(1_764_527_535_000, Language::Cy),
            "30 Tachwedd 2025 - 18:32:15 UTC"
        );
        assert_eq!(
            html_of("a <b>\nc\n\nd & e"),
            "<p>a &lt;b&gt;<br>c</p>\n<p>d &amp; e</p>"
        );
        assert_eq!(pounds(14500), "145.00");
        assert_eq!(pounds(5), "0.05");
    }
}
