//! The service's pages: the start page, the return page and the journeys list.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Json, Router};
use axum_extra::extract::cookie::PrivateCookieJar;
use pence_client::CreatePayment;
use pence_connector::{Journey, RETURN_COOKIE};
use rand::Rng;
use serde::Deserialize;

use crate::{AppState, PRICE};

pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(start_page).post(start))
        .route("/start", axum::routing::post(start))
        .route("/return", get(return_by_cookie))
        .route("/return/{secret}", get(return_by_url))
        .route("/journeys", get(journeys))
        .route("/webhooks/inbox", get(inbox))
        .with_state(state)
}

#[derive(Template)]
#[template(path = "start.html")]
struct StartPage {
    price: String,
    registration: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "outcome.html")]
struct OutcomePage {
    heading: &'static str,
    outcome: &'static str,
    status: String,
    text: String,
    reference: String,
}

#[derive(Template)]
#[template(path = "refused.html")]
struct RefusedPage;

fn render(status: StatusCode, page: impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => failed(e),
    }
}

fn failed(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "request failed");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Html("<!DOCTYPE html><title>Sorry</title><h1>Sorry, there is a problem with the service</h1>"),
    )
        .into_response()
}

fn start_form(registration: String, error: Option<String>) -> StartPage {
    StartPage {
        price: format!("{}.{:02}", PRICE / 100, PRICE % 100),
        registration,
        error,
    }
}

async fn start_page() -> Response {
    render(StatusCode::OK, start_form(String::new(), None))
}

#[derive(Deserialize)]
struct StartForm {
    #[serde(default)]
    registration: String,
}

/// A permit reference the service issues: its own, never GOV.UK Pay's payment id.
fn permit_reference() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    let code: String = (0..8)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("PP-{code}")
}

async fn start(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
    Form(form): Form<StartForm>,
) -> Response {
    let registration = form.registration.trim().to_uppercase();
    if registration.is_empty() || registration.len() > 10 {
        let error = "Enter your vehicle registration, like AB12 CDE".to_string();
        return render(
            StatusCode::BAD_REQUEST,
            start_form(form.registration, Some(error)),
        );
    }
    let payment = CreatePayment::new(
        PRICE,
        permit_reference(),
        format!("Parking permit for {registration}"),
        "",
    )
    .metadata("registration", registration.clone());
    match state.connector.start_payment(payment, &state.via).await {
        Ok(started) => {
            let jar = match started.return_cookie {
                Some(cookie) => jar.add(cookie),
                None => jar,
            };
            (jar, Redirect::to(&started.next_url)).into_response()
        }
        Err(e) => failed(e),
    }
}

async fn return_by_cookie(State(state): State<AppState>, jar: PrivateCookieJar) -> Response {
    // A cookie that was altered, or sealed with another key, does not open: refused.
    match jar.get(RETURN_COOKIE) {
        Some(cookie) => returned(&state, cookie.value()).await,
        None => render(StatusCode::NOT_FOUND, RefusedPage),
    }
}

async fn return_by_url(State(state): State<AppState>, Path(secret): Path<String>) -> Response {
    returned(&state, &secret).await
}

async fn returned(state: &AppState, secret: &str) -> Response {
    match state.connector.returned(secret).await {
        Ok(Some(journey)) => render(StatusCode::OK, outcome(&journey)),
        Ok(None) => render(StatusCode::NOT_FOUND, RefusedPage),
        Err(e) => failed(e),
    }
}

fn outcome(j: &Journey) -> OutcomePage {
    let (heading, outcome, text) = match (j.status.as_str(), j.code.as_deref()) {
        ("success", _) => (
            "Payment received",
            "paid",
            format!("Paid: {} is confirmed.", j.description),
        ),
        ("capturable", _) => (
            "Payment received",
            "paid",
            "Paid: your payment will be taken when your permit is issued.".into(),
        ),
        (_, _) if !j.finished => (
            "Your payment is being processed",
            "processing",
            "Still processing: we will email you when your payment is confirmed.".into(),
        ),
        (_, Some("P0010")) => (
            "Your payment was declined",
            "not-paid",
            "Not paid: your payment was declined. No money has been taken.".into(),
        ),
        (_, Some("P0020")) => (
            "Your payment session expired",
            "not-paid",
            "Not paid: the payment session expired. No money has been taken.".into(),
        ),
        (_, Some("P0030")) => (
            "Your payment was cancelled",
            "not-paid",
            "Not paid: you cancelled the payment. No money has been taken.".into(),
        ),
        (_, Some("P0040")) => (
            "Your payment was cancelled",
            "not-paid",
            "Not paid: the service cancelled the payment. No money has been taken.".into(),
        ),
        _ => (
            "Your payment failed",
            "not-paid",
            "Not paid: there was a problem taking your payment. No money has been taken.".into(),
        ),
    };
    OutcomePage {
        heading,
        outcome,
        status: j.status.clone(),
        text,
        reference: j.reference.clone(),
    }
}

async fn journeys(State(state): State<AppState>) -> Response {
    match state.connector.journeys().await {
        Ok(journeys) => Json(journeys).into_response(),
        Err(e) => failed(e),
    }
}

async fn inbox(State(state): State<AppState>) -> Response {
    match state.consumer.inbox().await {
        Ok(report) => Json(report).into_response(),
        Err(e) => failed(e),
    }
}
