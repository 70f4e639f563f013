//! A webhook receiver on loopback, as a service team would run one: it records every request,
//! checks `Pay-Signature` with its own HMAC (ring's, not the one Pence signs with), and
//! answers as scripted: success, any status, slowly, or by closing the connection.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;

type Full = http_body_util::Full<hyper::body::Bytes>;

/// How the receiver answers one request.
#[derive(Debug, Clone)]
pub enum Answer {
    /// This status, with a short body.
    Status(u16),
    /// A redirect elsewhere (GOV.UK Pay does not follow it: a failure).
    Redirect,
    /// Waits this long, then answers 200.
    Slow(Duration),
    /// Drops the connection without answering.
    Close,
    /// 200 with this (long) body.
    Body(String),
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub at: Instant,
    pub body: Vec<u8>,
    pub json: Value,
    pub content_type: Option<String>,
    pub signature: Option<String>,
    /// What `Answer` it got.
    pub answer: String,
}

impl Received {
    /// True when the signature is the HMAC-SHA256 of the exact body with `secret`.
    pub fn signed_with(&self, secret: &str) -> bool {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
        let Some(hex) = &self.signature else {
            return false;
        };
        let Some(tag) = decode_hex(hex) else {
            return false;
        };
        hex.chars().all(|c| !c.is_ascii_uppercase())
            && ring::hmac::verify(&key, &self.body, &tag).is_ok()
    }

    pub fn message_id(&self) -> &str {
        self.json["webhook_message_id"].as_str().unwrap_or("")
    }

    pub fn event_type(&self) -> &str {
        self.json["event_type"].as_str().unwrap_or("")
    }
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[derive(Default)]
struct State {
    script: VecDeque<Answer>,
    received: Vec<Received>,
    /// Requests of each message being answered right now, and the most ever at once.
    in_flight: HashMap<String, usize>,
    most_at_once: usize,
}

pub struct Receiver {
    pub url: String,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    /// Listens on 127.0.0.1, port 0, path `/hook`.
    pub async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = shared.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| handle(state.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Receiver { url, state, task }
    }

    /// The next requests get these answers, in order; after them, 200.
    pub fn script(&self, answers: impl IntoIterator<Item = Answer>) {
        self.lock().script.extend(answers);
    }

    pub fn received(&self) -> Vec<Received> {
        self.lock().received.clone()
    }

    /// The most requests for one message that were ever being answered at the same moment.
    pub fn most_at_once(&self) -> usize {
        self.lock().most_at_once
    }

    /// Waits until `n` requests have come (panics after `within`).
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "expected {n} webhook requests within {within:?}, got {}: {:?}",
                got.len(),
                got.iter()
                    .map(|r| format!("{} {}", r.event_type(), r.answer))
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Debug)]
struct Closed;
impl std::fmt::Display for Closed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("closed on purpose")
    }
}
impl std::error::Error for Closed {}

async fn handle(
    state: Arc<Mutex<State>>,
    req: Request<Incoming>,
) -> Result<Response<Full>, Closed> {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let content_type = header("content-type");
    let signature = header("pay-signature");
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes().to_vec())
        .unwrap_or_default();
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let id = json["webhook_message_id"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let answer = {
        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
        let answer = s.script.pop_front().unwrap_or(Answer::Status(200));
        s.received.push(Received {
            at: Instant::now(),
            body: body.clone(),
            json,
            content_type,
            signature,
            answer: format!("{answer:?}"),
        });
        let n = s.in_flight.entry(id.clone()).or_default();
        *n += 1;
        let n = *n;
        s.most_at_once = s.most_at_once.max(n);
        answer
    };
    let reply = match answer {
        Answer::Status(code) => Ok(respond(code, "answered as scripted".into())),
        Answer::Redirect => {
            let mut r = respond(302, String::new());
            r.headers_mut().insert(
                "location",
                hyper::header::HeaderValue::from_static("/elsewhere"),
            );
            Ok(r)
        }
        Answer::Slow(wait) => {
            tokio::time::sleep(wait).await;
            Ok(respond(200, "late".into()))
        }
        Answer::Close => Err(Closed),
        Answer::Body(text) => Ok(respond(200, text)),
    };
    if let Some(n) = state
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .in_flight
        .get_mut(&id)
    {
        *n -= 1;
    }
    reply
}

fn respond(code: u16, body: String) -> Response<Full> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = hyper::StatusCode::from_u16(code).unwrap_or(hyper::StatusCode::OK);
    r
}
