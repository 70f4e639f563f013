//! One attempt: POST the exact body with its `Pay-Signature`, and what came back.

use std::time::{Duration, Instant};

use pence_core::webhook::{self, delivery, Attempt, Message};

/// How much of a receiver's answer the delivery log keeps.
const LOGGED_BODY_BYTES: usize = 1024;

/// A client for receivers: no redirects (a 3xx is a failed attempt, as on GOV.UK Pay), the
/// whole attempt bounded by `timeout`, header names written as GOV.UK Pay writes them
/// (`Pay-Signature`, `Content-Type`: receivers that read headers case-sensitively, such as
/// PHP's `getallheaders()`, find them).
pub(crate) fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .http1_title_case_headers()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout)
        .pool_max_idle_per_host(64)
        .user_agent(concat!("pence/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("an HTTP client")
}

/// Sends `m` to `url`, signed with `secret` (`None`: the secret is gone, which is logged as
/// the attempt's error).
pub(crate) async fn attempt(
    http: &reqwest::Client,
    url: &str,
    secret: Option<&str>,
    m: &Message,
    at_ms: i64,
) -> Attempt {
    let started = Instant::now();
    let mut a = Attempt {
        message_id: m.id.clone(),
        at_ms,
        status_code: None,
        error: None,
        response_ms: 0,
        response_body: None,
        fault: None,
    };
    let body = match (secret, delivery::body(m)) {
        (Some(secret), Ok(body)) => Some((webhook::signature(secret, body.as_bytes()), body)),
        (None, _) => {
            a.error = Some("the subscription's signing secret is missing".into());
            None
        }
        (_, Err(e)) => {
            a.error = Some(format!("the stored resource is not JSON: {e}"));
            None
        }
    };
    if let Some((signature, body)) = body {
        let sent = http
            .post(url)
            .header("Content-Type", "application/json")
            .header("Pay-Signature", signature)
            .body(body)
            .send()
            .await;
        match sent {
            Ok(mut resp) => {
                a.status_code = Some(resp.status().as_u16());
                let mut kept = Vec::new();
                loop {
                    match resp.chunk().await {
                        Ok(Some(chunk)) => {
                            kept.extend_from_slice(&chunk);
                            if kept.len() >= LOGGED_BODY_BYTES {
                                break;
                            }
                        }
                        Ok(None) => break,
                        Err(e) => {
                            a.error = Some(describe(&e));
                            break;
                        }
                    }
                }
                a.response_body = Some(delivery::excerpt(&kept, LOGGED_BODY_BYTES));
            }
            Err(e) => a.error = Some(describe(&e)),
        }
    }
    a.response_ms = started.elapsed().as_millis() as i64;
    a
}

/// What a receiver answered a body sent to it on its own (`send_signed`).
#[derive(Debug, Clone)]
pub struct Answered {
    pub status_code: Option<u16>,
    pub headers: Vec<(String, String)>,
    /// The answer's body, its first 64 KiB (lossy UTF-8).
    pub body: String,
    pub response_ms: i64,
    /// Why no answer came (could not connect, timed out…).
    pub error: Option<String>,
}

/// POSTs `body` to `url` exactly as a webhook message is sent (the same client, headers and
/// limits), signed with `secret`: the tool to develop a receiver before any payment exists.
pub async fn send_signed(url: &str, secret: &str, body: Vec<u8>, timeout: Duration) -> Answered {
    const KEPT: usize = 64 * 1024;
    let started = Instant::now();
    let sent = client(timeout)
        .post(url)
        .header("Content-Type", "application/json")
        .header("Pay-Signature", webhook::signature(secret, &body))
        .body(body)
        .send()
        .await;
    let mut answered = Answered {
        status_code: None,
        headers: Vec::new(),
        body: String::new(),
        response_ms: 0,
        error: None,
    };
    match sent {
        Ok(mut resp) => {
            answered.status_code = Some(resp.status().as_u16());
            answered.headers = resp
                .headers()
                .iter()
                .map(|(k, v)| (k.to_string(), String::from_utf8_lossy(v.as_bytes()).into()))
                .collect();
            let mut kept = Vec::new();
            loop {
                match resp.chunk().await {
                    Ok(Some(chunk)) if kept.len() < KEPT => kept.extend_from_slice(&chunk),
                    Ok(Some(_)) | Ok(None) => break,
                    Err(e) => {
                        answered.error = Some(describe(&e));
                        break;
                    }
                }
            }
            kept.truncate(KEPT);
            answered.body = String::from_utf8_lossy(&kept).into_owned();
        }
        Err(e) => answered.error = Some(describe(&e)),
    }
    answered.response_ms = started.elapsed().as_millis() as i64;
    answered
}

/// A short reason for the delivery log, with the underlying cause.
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "the response broke off"
    } else {
        "the request failed"
    };
    let mut cause = String::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        cause = s.to_string();
        source = s.source();
    }
    if cause.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}: {cause}")
    }
}
