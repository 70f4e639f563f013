//! Webhook messages and their delivery (reference §14): the exact body, the retry ladder,
//! and what one attempt's outcome does to a message.

use serde::Serialize;
use serde_json::value::RawValue;

use crate::timefmt;

/// Waits after failed attempts 1 to 5; the 6th failure is final.
pub const RETRY_DELAYS_MS: [i64; 5] = [
    60_000,
    5 * 60_000,
    60 * 60_000,
    24 * 60 * 60_000,
    2 * 24 * 60 * 60_000,
];

/// How a test service's subscription is delivered to badly on purpose (the control API,
/// issue 15), so its receiver's handling of real-world delivery can be tested.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeliveryFaults {
    /// Every message is sent twice.
    pub duplicate: bool,
    /// A batch's messages go newest first.
    pub out_of_order: bool,
    /// Each message waits this long before it is sent (at most `LONGEST_DELAY_MS`).
    pub delay_ms: u64,
    /// Each message's first N attempts are dropped (the receiver never sees them).
    pub drop_first_attempts: i64,
    /// Messages are signed with a secret that is not the subscription's.
    pub wrong_secret: bool,
    /// Faults for a share of the messages each, drawn from a seed (`chaos`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chaos: Option<super::chaos::Chaos>,
}

impl DeliveryFaults {
    pub const LONGEST_DELAY_MS: u64 = 10_000;

    /// Whether these faults can be applied, or why not.
    pub fn check(&self) -> Result<(), &'static str> {
        if self.delay_ms > Self::LONGEST_DELAY_MS {
            return Err("delay_ms must be at most 10000");
        }
        if self.drop_first_attempts < 0 {
            return Err("drop_first_attempts must be 0 or more");
        }
        self.chaos
            .as_ref()
            .map_or(Ok(()), super::chaos::Chaos::check)
    }
}

/// GOV.UK Pay's delivery statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    Pending,
    Successful,
    Failed,
    /// The subscription was deactivated before the message went.
    WillNotSend,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Successful => "successful",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::WillNotSend => "will_not_send",
        }
    }

    pub fn parse(s: &str) -> Option<DeliveryStatus> {
        [
            DeliveryStatus::Pending,
            DeliveryStatus::Successful,
            DeliveryStatus::Failed,
            DeliveryStatus::WillNotSend,
        ]
        .into_iter()
        .find(|d| d.as_str() == s)
    }
}

/// One message to one subscription, as the outbox keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// `webhook_message_id`.
    pub id: String,
    pub webhook_id: String,
    pub payment_id: String,
    pub event_type: String,
    /// When the change happened: `created_date`.
    pub event_ms: i64,
    /// The payment as the public API showed it at that moment (JSON, no `_links`).
    pub resource: String,
    /// The subscription's secret that signs it.
    pub secret_version: i64,
    pub status: DeliveryStatus,
    /// Attempts since it was (re)scheduled.
    pub attempts: i64,
    pub next_attempt_ms: i64,
    pub created_ms: i64,
    /// Asked for through the control API rather than caused by a change.
    pub triggered: bool,
    /// The fields a triggered message was sent with in place of the payment's own
    /// (`resource.amount=1, …`), for the delivery log.
    pub overrides: Option<String>,
}

#[derive(Serialize)]
struct Body<'a> {
    webhook_message_id: &'a str,
    created_date: String,
    resource_id: &'a str,
    api_version: u32,
    resource_type: &'static str,
    event_type: &'a str,
    resource: &'a RawValue,
}

/// The exact bytes POSTed (and signed), in GOV.UK Pay's key order.
pub fn body(m: &Message) -> Result<String, serde_json::Error> {
    let resource: &RawValue = serde_json::from_str(&m.resource)?;
    serde_json::to_string(&Body {
        webhook_message_id: &m.id,
        created_date: timefmt::date_time(m.event_ms),
        resource_id: &m.payment_id,
        api_version: 1,
        resource_type: "payment",
        event_type: &m.event_type,
        resource,
    })
}

/// How one attempt went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub message_id: String,
    pub at_ms: i64,
    /// The receiver's HTTP status, when it answered.
    pub status_code: Option<u16>,
    /// Why there was no answer (timeout, refused, closed), or why it does not count.
    pub error: Option<String>,
    pub response_ms: i64,
    /// The first 1 KiB of what the receiver answered.
    pub response_body: Option<String>,
    /// What a test subscription's delivery faults did to this attempt (`dropped`,
    /// `duplicate, wrong signature`...).
    pub fault: Option<String>,
}

impl Attempt {
    /// Any 2xx is a delivery.
    pub fn delivered(&self) -> bool {
        self.status_code.is_some_and(|s| (200..300).contains(&s))
    }
}

impl Message {
    /// How the delivery log marks a message no change caused: `triggered`, or with what it
    /// overrode; `None` for an ordinary message.
    pub fn origin(&self) -> Option<String> {
        match (&self.overrides, self.triggered) {
            (Some(o), _) => Some(format!("triggered with overrides: {o}")),
            (None, true) => Some("triggered".into()),
            (None, false) => None,
        }
    }
}

/// The message after `attempt`: delivered, or rescheduled along the ladder, or failed for good.
pub fn after(m: &Message, attempt: &Attempt) -> Message {
    let mut next = m.clone();
    next.attempts += 1;
    if attempt.delivered() {
        next.status = DeliveryStatus::Successful;
    } else {
        match RETRY_DELAYS_MS.get((next.attempts - 1) as usize) {
            Some(delay) => next.next_attempt_ms = attempt.at_ms + delay,
            None => next.status = DeliveryStatus::Failed,
        }
    }
    next
}

/// The first `max` bytes of a response body as text (cut on a character boundary).
pub fn excerpt(body: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(max)]).into_owned();
    text.trim_end_matches('\u{fffd}').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> Message {
        Message {
            id: "m1".into(),
            webhook_id: "w".into(),
            payment_id: "p1".into(),
            event_type: "card_payment_captured".into(),
            event_ms: 1_563_000_000_000,
            resource: r#"{"amount":100, "state":{"status":"success"}}"#.into(),
            secret_version: 1,
            status: DeliveryStatus::Pending,
            attempts: 0,
            next_attempt_ms: 0,
            created_ms: 0,
            triggered: false,
            overrides: None,
        }
    }

    fn attempt(at_ms: i64, status: Option<u16>) -> Attempt {
        Attempt {
            message_id: "m1".into(),
            at_ms,
            status_code: status,
            error: status.is_none().then(|| "timed out".into()),
            response_ms: 3,
            response_body: None,
            fault: None,
        }
    }

    #[test]
    fn body_has_the_keys_in_order_and_the_resource_verbatim() {
        assert_eq!(
            body(&message()).unwrap(),
            r#"{"webhook_message_id":"m1","created_date":"2019-07-13T06:40:00.000Z","resource_id":"p1","api_version":1,"resource_type":"payment","event_type":"card_payment_captured","resource":{"amount":100, "state":{"status":"success"}}}"#
        );
    }

    #[test]
    fn climbs_the_ladder_then_fails() {
        let mut m = message();
        let mut at = 1_000;
        for delay in RETRY_DELAYS_MS {
            for failure in [None, Some(500), Some(302), Some(404)] {
                let next = after(&m, &attempt(at, failure));
                assert_eq!(next.status, DeliveryStatus::Pending);
                assert_eq!(next.next_attempt_ms, at + delay);
            }
            m = after(&m, &attempt(at, Some(503)));
            at = m.next_attempt_ms;
        }
        assert_eq!(m.attempts, 5);
        assert_eq!(after(&m, &attempt(at, None)).status, DeliveryStatus::Failed);
        let ok = after(&m, &attempt(at, Some(204)));
        assert_eq!((ok.status, ok.attempts), (DeliveryStatus::Successful, 6));
        assert_eq!(
            after(&message(), &attempt(0, Some(299))).status,
            DeliveryStatus::Successful
        );
    }

    #[test]
    fn excerpts_cut_on_characters() {
        assert_eq!(excerpt("héllo".as_bytes(), 2), "h");
        assert_eq!(excerpt(b"abc", 1024), "abc");
    }
}
