//! `POST /sandbox/v1/payments/{paymentId}/pay`, `/abandon` and `/cancel`: the paying user
//! without a browser (`pence_core::sandbox::operations`), answered with the payment as GET shows it.

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use pence_core::payment::find_payment;
use pence_core::payment::Language;
use pence_core::refusal::sandbox::SandboxRefusal;
use pence_core::refusal::{Failure, Refusal};
use pence_core::sandbox;
use serde::Deserialize;

use super::SandboxProblem;
use crate::api::payment_response;
use crate::authed::Authed;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Address {
    line1: Option<String>,
    line2: Option<String>,
    city: Option<String>,
    postcode: Option<String>,
    country: Option<String>,
}

#[derive(Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
enum ThreeDs {
    Pass,
    Fail,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PayBody {
    card_number: String,
    cardholder_name: Option<String>,
    expiry: Option<String>,
    cvc: Option<String>,
    billing_address: Option<Address>,
    email: Option<String>,
    three_d_secure: Option<ThreeDs>,
    confirm: Option<bool>,
}

impl From<PayBody> for sandbox::operations::PayRequest {
    fn from(b: PayBody) -> Self {
        sandbox::operations::PayRequest {
            card_number: b.card_number,
            cardholder_name: b.cardholder_name,
            expiry: b.expiry,
            cvc: b.cvc,
            billing_address: b
                .billing_address
                .map(|a| sandbox::operations::AddressInput {
                    line1: a.line1,
                    line2: a.line2,
                    city: a.city,
                    postcode: a.postcode,
                    country: a.country,
                }),
            email: b.email,
            three_ds_passes: b.three_d_secure != Some(ThreeDs::Fail),
            confirm: b.confirm.unwrap_or(true),
        }
    }
}

/// A payment link's answers, given beside the card as `pay` takes it: the amount (in pence)
/// when the payer enters it, the reference when the link asks for one.
#[derive(Deserialize)]
struct LinkAnswers {
    amount: Option<i64>,
    reference: Option<String>,
}

/// `POST /sandbox/v1/payment_links/{linkId}/pay`: a test service's payment link paid as a
/// payer would through its pages and the card pages; answered with the payment.
pub(crate) async fn pay_link(
    State(state): State<AppState>,
    Extension(authed): Extension<Authed>,
    id: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<Response, SandboxProblem> {
    let Ok(Path(id)) = id else {
        return Err(SandboxProblem::not_found());
    };
    // The answers come out of the body; what is left is the card, as `pay` reads it.
    let mut card: serde_json::Value = SandboxProblem::parse(&body)?;
    let mut answers = serde_json::Map::new();
    if let Some(fields) = card.as_object_mut() {
        for key in ["amount", "reference"] {
            if let Some(v) = fields.remove(key) {
                answers.insert(key.into(), v);
            }
        }
    }
    let answers: LinkAnswers = SandboxProblem::from_value(serde_json::Value::Object(answers))?;
    let card: PayBody = SandboxProblem::from_value(card)?;
    let link = pence_core::link::operations::find(state.store.as_ref(), &authed.0, &id)
        .await
        .map_err(|_| SandboxProblem::not_found())?;
    let (amount, reference) = (answers.amount, answers.reference);
    let request = sandbox::operations::PayRequest::from(card);
    let completion = format!("{}/payment-complete", state.public_url);
    let paid = sandbox::operations::pay_link(
        state.journey(state.clock.as_ref()),
        &authed.0,
        &link,
        amount,
        reference.as_deref(),
        &completion,
        &request,
    )
    .await;
    match paid {
        Ok(p) => Ok(payment_response(&state, StatusCode::OK, &p)),
        Err(Failure::Refused(Refusal::Sandbox(SandboxRefusal::LinkAnswer(problem)))) => {
            let (field, message) = crate::link_answer_text(&link, problem);
            let mut p = SandboxProblem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                SandboxRefusal::LinkAnswer(problem).to_string(),
            );
            p.set_errors(serde_json::json!([{"field": field, "message": message}]));
            Err(p)
        }
        Err(f) => Err(SandboxProblem::from_failure(f, link.language)),
    }
}

/// The payment's language, for the page's words in card-details errors.
async fn language(state: &AppState, authed: &Authed, id: &str) -> Language {
    find_payment(state.store.as_ref(), &authed.0, id)
        .await
        .map(|p| p.language)
        .unwrap_or(Language::En)
}

pub(crate) async fn pay(
    State(state): State<AppState>,
    Extension(authed): Extension<Authed>,
    id: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<Response, SandboxProblem> {
    let Ok(Path(id)) = id else {
        return Err(SandboxProblem::not_found());
    };
    let body: PayBody = SandboxProblem::parse(&body)?;
    let request = sandbox::operations::PayRequest::from(body);
    match sandbox::operations::pay(
        state.journey(state.clock.as_ref()),
        &authed.0,
        &id,
        &request,
    )
    .await
    {
        Ok(p) => Ok(payment_response(&state, StatusCode::OK, &p)),
        // Card details are refused in the words of the payment's own page.
        Err(f) => Err(SandboxProblem::from_failure(
            f,
            language(&state, &authed, &id).await,
        )),
    }
}

/// The paying user's other two choices: leave, or press "Cancel payment".
#[derive(Clone, Copy)]
enum Choice {
    Abandon,
    Cancel,
}

pub(crate) async fn abandon(
    state: State<AppState>,
    authed: Extension<Authed>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, SandboxProblem> {
    choose(state, authed, id, Choice::Abandon).await
}

pub(crate) async fn cancel(
    state: State<AppState>,
    authed: Extension<Authed>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, SandboxProblem> {
    choose(state, authed, id, Choice::Cancel).await
}

async fn choose(
    State(state): State<AppState>,
    Extension(authed): Extension<Authed>,
    id: Result<Path<String>, PathRejection>,
    choice: Choice,
) -> Result<Response, SandboxProblem> {
    let Ok(Path(id)) = id else {
        return Err(SandboxProblem::not_found());
    };
    let done = match choice {
        Choice::Abandon => {
            sandbox::operations::abandon(state.journey(state.clock.as_ref()), &authed.0, &id).await
        }
        Choice::Cancel => {
            sandbox::operations::cancel(state.journey(state.clock.as_ref()), &authed.0, &id).await
        }
    };
    Ok(payment_response(&state, StatusCode::OK, &done?))
}
