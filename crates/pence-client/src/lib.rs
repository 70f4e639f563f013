//! A typed client for the GOV.UK Pay public API, for a service's backend in Rust. It works the
//! same against GOV.UK Pay and against Pence: only the base URL and the key differ.
//!
//! ```no_run
//! # async fn demo() -> Result<(), pence_client::Error> {
//! use pence_client::{Client, CreatePayment};
//! let pay = Client::new("api_test_...").with_base_url("http://127.0.0.1:8080");
//! let payment = pay
//!     .create_payment(&CreatePayment::new(14500, "PERMIT-7", "Parking permit", "https://example.org/done"))
//!     .await?;
//! println!("send the user to {}", payment.links.unwrap().next_url.unwrap().href);
//! # Ok(()) }
//! ```
//!
//! - Every operation of the public API, with typed requests (`requests`) and pence-wire's
//!   typed responses.
//! - Errors by GOV.UK Pay code (`Error::Api`, with `ErrorCode`), transport errors apart.
//! - Retries with backoff and jitter on 429, 5xx and connection failures for the operations
//!   safe to repeat: reads, cancel, capture, and creates that carry an `Idempotency-Key`
//!   (agreement payments get one generated, kept across their retries).
//! - Searches as streams over every page (`search_*_all`), following `next_page`.
//! - Webhook messages verified and parsed (`webhooks`).

#![cfg_attr(not(test), warn(clippy::unwrap_used))]

mod error;
mod requests;
mod retry;
pub mod webhooks;

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::stream::{self, Stream};
use pence_wire::{
    Agreement, AgreementSearchResults, DisputeForSearch, DisputeSearchResults, Payment,
    PaymentEvents, PaymentRefunds, PaymentSearchResults, Refund, RefundForSearch,
    RefundSearchResults, SearchLinks,
};
use reqwest::Method;
use serde::de::DeserializeOwned;

pub use error::{ApiFailure, Error};
pub use requests::{
    AgreementSearch, AuthoriseMoto, CreateAgreement, CreatePayment, CreateRefund, DisputeSearch,
    PaymentSearch, PrefilledCardholderDetails, RefundSearch,
};
pub use retry::RetryPolicy;

/// GOV.UK Pay's production API.
pub const GOVUK_PAY_URL: &str = "https://publicapi.payments.service.gov.uk";

/// A client for one account (one API key).
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base_url: String,
    api_key: String,
    timeout: Duration,
    retry: RetryPolicy,
}

/// How a request may be repeated after a failure that might not have reached the API.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Repeat {
    Safe,
    Never,
}

impl Client {
    /// A client of GOV.UK Pay with this API key, 30 s a request, the default retries.
    pub fn new(api_key: impl Into<String>) -> Client {
        Client {
            http: reqwest::Client::new(),
            base_url: GOVUK_PAY_URL.to_string(),
            api_key: api_key.into(),
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
        }
    }

    /// Another base URL: Pence, or GOV.UK Pay's own sandbox host.
    pub fn with_base_url(mut self, url: impl Into<String>) -> Client {
        self.base_url = url.into().trim_end_matches('/').to_string();
        self
    }

    /// How long one request may take.
    pub fn with_timeout(mut self, timeout: Duration) -> Client {
        self.timeout = timeout;
        self
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Client {
        self.retry = retry;
        self
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path_or_url: &str,
        body: Option<&(dyn erased::Body + Sync)>,
        idempotency_key: Option<&str>,
        repeat: Repeat,
    ) -> Result<Option<T>, Error> {
        let url = if path_or_url.starts_with("http") {
            path_or_url.to_string()
        } else {
            format!("{}{path_or_url}", self.base_url)
        };
        let body = body.map(|b| b.json()).transpose().map_err(Error::Encode)?;
        let mut attempt = 0;
        loop {
            let mut req = self
                .http
                .request(method.clone(), &url)
                .bearer_auth(&self.api_key)
                .timeout(self.timeout)
                .header("Accept", "application/json");
            if let Some(body) = &body {
                req = req
                    .header("Content-Type", "application/json")
                    .body(body.clone());
            }
            if let Some(key) = idempotency_key {
                req = req.header("Idempotency-Key", key);
            }
            let outcome = match req.send().await {
                Ok(resp) => error::read(resp).await,
                Err(e) => Err(Error::Transport(e)),
            };
            match outcome {
                Ok(None) => return Ok(None),
                Ok(Some(text)) => {
                    return serde_json::from_str(&text)
                        .map(Some)
                        .map_err(|e| Error::Decode(e, text))
                }
                Err(e)
                    if repeat == Repeat::Safe
                        && e.is_transient()
                        && attempt < self.retry.retries =>
                {
                    tokio::time::sleep(self.retry.delay(attempt)).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, Error> {
        self.call(Method::GET, path, None, None, Repeat::Safe)
            .await?
            .ok_or(Error::Empty)
    }

    // --- payments ---------------------------------------------------------------------

    /// `POST /v1/payments`. Retried only when it carries an `Idempotency-Key` (agreement
    /// payments get one generated), so a retry can never take the money twice.
    pub async fn create_payment(&self, p: &CreatePayment) -> Result<Payment, Error> {
        let key = p.idempotency_key_for_request();
        let repeat = if key.is_some() {
            Repeat::Safe
        } else {
            Repeat::Never
        };
        self.call(
            Method::POST,
            "/v1/payments",
            Some(p),
            key.as_deref(),
            repeat,
        )
        .await?
        .ok_or(Error::Empty)
    }

    pub async fn get_payment(&self, payment_id: &str) -> Result<Payment, Error> {
        self.get(&format!("/v1/payments/{}", segment(payment_id)))
            .await
    }

    pub async fn get_payment_events(&self, payment_id: &str) -> Result<PaymentEvents, Error> {
        self.get(&format!("/v1/payments/{}/events", segment(payment_id)))
            .await
    }

    /// `POST /v1/payments/{id}/cancel` (204). Safe to repeat: a second cancel is refused.
    pub async fn cancel_payment(&self, payment_id: &str) -> Result<(), Error> {
        let path = format!("/v1/payments/{}/cancel", segment(payment_id));
        self.call::<serde_json::Value>(Method::POST, &path, None, None, Repeat::Safe)
            .await
            .map(|_| ())
    }

    /// `POST /v1/payments/{id}/capture` (204) of a delayed-capture payment.
    pub async fn capture_payment(&self, payment_id: &str) -> Result<(), Error> {
        let path = format!("/v1/payments/{}/capture", segment(payment_id));
        self.call::<serde_json::Value>(Method::POST, &path, None, None, Repeat::Safe)
            .await
            .map(|_| ())
    }

    pub async fn search_payments(&self, s: &PaymentSearch) -> Result<PaymentSearchResults, Error> {
        self.get(&format!("/v1/payments{}", s.query())).await
    }

    /// Every payment the search finds, page after page.
    pub fn search_payments_all(
        &self,
        s: &PaymentSearch,
    ) -> impl Stream<Item = Result<Payment, Error>> + '_ {
        self.all_pages(
            format!("/v1/payments{}", s.query()),
            |p: PaymentSearchResults| (p.results, p.links),
        )
    }

    // --- refunds ------------------------------------------------------------------------

    /// `POST /v1/payments/{id}/refunds`. Not retried: a repeat could refund twice.
    pub async fn create_refund(&self, payment_id: &str, r: &CreateRefund) -> Result<Refund, Error> {
        let path = format!("/v1/payments/{}/refunds", segment(payment_id));
        self.call(Method::POST, &path, Some(r), None, Repeat::Never)
            .await?
            .ok_or(Error::Empty)
    }

    pub async fn get_refunds(&self, payment_id: &str) -> Result<PaymentRefunds, Error> {
        self.get(&format!("/v1/payments/{}/refunds", segment(payment_id)))
            .await
    }

    pub async fn get_refund(&self, payment_id: &str, refund_id: &str) -> Result<Refund, Error> {
        self.get(&format!(
            "/v1/payments/{}/refunds/{}",
            segment(payment_id),
            segment(refund_id)
        ))
        .await
    }

    pub async fn search_refunds(&self, s: &RefundSearch) -> Result<RefundSearchResults, Error> {
        self.get(&format!("/v1/refunds{}", s.query())).await
    }

    pub fn search_refunds_all(
        &self,
        s: &RefundSearch,
    ) -> impl Stream<Item = Result<RefundForSearch, Error>> + '_ {
        self.all_pages(
            format!("/v1/refunds{}", s.query()),
            |p: RefundSearchResults| (p.results, p.links),
        )
    }

    // --- disputes -----------------------------------------------------------------------

    pub async fn search_disputes(&self, s: &DisputeSearch) -> Result<DisputeSearchResults, Error> {
        self.get(&format!("/v1/disputes{}", s.query())).await
    }

    pub fn search_disputes_all(
        &self,
        s: &DisputeSearch,
    ) -> impl Stream<Item = Result<DisputeForSearch, Error>> + '_ {
        self.all_pages(
            format!("/v1/disputes{}", s.query()),
            |p: DisputeSearchResults| (p.results, p.links),
        )
    }

    // --- agreements ---------------------------------------------------------------------

    /// `POST /v1/agreements`. Not retried (GOV.UK Pay takes no Idempotency-Key here).
    pub async fn create_agreement(&self, a: &CreateAgreement) -> Result<Agreement, Error> {
        self.call(Method::POST, "/v1/agreements", Some(a), None, Repeat::Never)
            .await?
            .ok_or(Error::Empty)
    }

    pub async fn get_agreement(&self, agreement_id: &str) -> Result<Agreement, Error> {
        self.get(&format!("/v1/agreements/{}", segment(agreement_id)))
            .await
    }

    /// `POST /v1/agreements/{id}/cancel` (204).
    pub async fn cancel_agreement(&self, agreement_id: &str) -> Result<(), Error> {
        let path = format!("/v1/agreements/{}/cancel", segment(agreement_id));
        self.call::<serde_json::Value>(Method::POST, &path, None, None, Repeat::Safe)
            .await
            .map(|_| ())
    }

    pub async fn search_agreements(
        &self,
        s: &AgreementSearch,
    ) -> Result<AgreementSearchResults, Error> {
        self.get(&format!("/v1/agreements{}", s.query())).await
    }

    pub fn search_agreements_all(
        &self,
        s: &AgreementSearch,
    ) -> impl Stream<Item = Result<Agreement, Error>> + '_ {
        self.all_pages(
            format!("/v1/agreements{}", s.query()),
            |p: AgreementSearchResults| (p.results, p.links),
        )
    }

    // --- MOTO API -----------------------------------------------------------------------

    /// `POST /v1/auth`: a MOTO API payment's card, with the one-time token of its
    /// `auth_url_post` link (no API key is needed; this client sends its own anyway).
    /// Not retried: the token is spent by the first attempt.
    pub async fn authorise_moto(&self, a: &AuthoriseMoto) -> Result<(), Error> {
        self.call::<serde_json::Value>(Method::POST, "/v1/auth", Some(a), None, Repeat::Never)
            .await
            .map(|_| ())
    }

    /// A stream over every result of a search, fetching the next page (by its `next_page`
    /// link) as the last one runs out.
    fn all_pages<P, T>(
        &self,
        first: String,
        split: fn(P) -> (Vec<T>, SearchLinks),
    ) -> impl Stream<Item = Result<T, Error>> + '_
    where
        P: DeserializeOwned + 'static,
        T: 'static,
    {
        stream::try_unfold(
            (VecDeque::new(), Some(first)),
            move |(mut page, mut next)| async move {
                loop {
                    if let Some(item) = page.pop_front() {
                        return Ok(Some((item, (page, next))));
                    }
                    let Some(url) = next.take() else {
                        return Ok(None);
                    };
                    let (results, links) = split(self.get::<P>(&url).await?);
                    page.extend(results);
                    next = links.next_page.map(|h| h.href);
                }
            },
        )
    }
}

/// An id as one path segment: anything that is not a plain id character is escaped, so an
/// id can never reach another path.
fn segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Request bodies as JSON, without making `call` generic over them.
mod erased {
    pub trait Body {
        fn json(&self) -> Result<Vec<u8>, serde_json::Error>;
    }

    impl<T: serde::Serialize> Body for T {
        fn json(&self) -> Result<Vec<u8>, serde_json::Error> {
            serde_json::to_vec(self)
        }
    }
}
