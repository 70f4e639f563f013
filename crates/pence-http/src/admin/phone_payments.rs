//! Staff take a payment over the phone (GOV.UK Pay's agent-initiated MOTO), if their role
//! moves money and the service takes MOTO payments: the amount, reference and description
//! here, the caller's card on the card pages, then back here for how it went.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use pence_core::clock::Clock;
use pence_core::payment::find_payment;
use pence_core::payment::phone::{self, PhonePayment};
use pence_core::refusal::{Failure, Invalid, Refusal};
use pence_core::staff::Actor;
use pence_core::text::money;
use serde::Deserialize;

use super::access::OnService;
use super::transactions::pence_of;
use super::views::{Frame, PhoneOutcomePage, PhonePaymentPage};
use super::{form, message, page, see_other, AdminError, Answer};
use crate::state::AppState;

/// Staff whose role moves money, on a service that takes MOTO payments; else the page
/// saying why not.
fn may_take(on: &OnService) -> Result<(), AdminError> {
    if !on.role.can_refund() {
        let why = "Your role on this service does not allow it.";
        let page = message(
            StatusCode::FORBIDDEN,
            Some(&on.staff.signed_in()),
            "You cannot do this",
            why,
        );
        return Err(page.into());
    }
    if !on.service.moto_enabled {
        let why = "An admin can turn on payments over the phone (MOTO) in the service's settings.";
        let title = "This service does not take payments over the phone";
        return Err(message(
            StatusCode::FORBIDDEN,
            Some(&on.staff.signed_in()),
            title,
            why,
        )
        .into());
    }
    Ok(())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PhoneForm {
    #[serde(rename = "csrfToken")]
    csrf: String,
    amount: String,
    reference: String,
    description: String,
}

fn form_page(on: &OnService, f: &PhoneForm, errors: Vec<(&'static str, String)>) -> Answer {
    let status = match errors.is_empty() {
        true => StatusCode::OK,
        false => StatusCode::BAD_REQUEST,
    };
    let view = PhonePaymentPage {
        frame: Frame::on(&on.staff, &on.service, "Take a payment over the phone"),
        amount: f.amount.clone(),
        reference: f.reference.clone(),
        description: f.description.clone(),
        errors,
    };
    Ok(page(status, view))
}

pub async fn start(on: OnService) -> Answer {
    may_take(&on)?;
    form_page(&on, &PhoneForm::default(), Vec::new())
}

/// The input a refusal of the create use case marks, and what it says there.
fn refusal_text(i: &Invalid) -> (&'static str, String) {
    let input = |field: &str| match field {
        "amount" => "phone-amount",
        "reference" => "phone-reference",
        _ => "phone-description",
    };
    match i {
        Invalid::Missing(f) => (input(f), format!("Enter the {f}")),
        Invalid::Malformed { field, message } | Invalid::Violates { field, message } => {
            (input(field), format!("The {field}: {message}"))
        }
        other => ("phone-description", format!("{other:?}")),
    }
}

pub async fn take(State(state): State<AppState>, on: OnService, body: Bytes) -> Answer {
    let f: PhoneForm = form(&body);
    on.check_form(&f.csrf)?;
    may_take(&on)?;
    let Some(amount) = pence_of(&f.amount) else {
        let why = "Enter the amount in pounds and pence, like 12.50".to_string();
        return form_page(&on, &f, vec![("phone-amount", why)]);
    };
    let phone = PhonePayment {
        amount,
        reference: f.reference.trim().to_string(),
        description: f.description.trim().to_string(),
    };
    let clock = on.service.clock(state.clock.as_ref());
    let back = format!(
        "{}/admin/services/{}/phone-payments",
        state.public_url, on.service.id
    );
    let actor = Actor::Staff(&on.staff.user);
    match phone::take(
        state.store.as_ref(),
        &clock,
        actor,
        &on.service,
        &phone,
        &back,
    )
    .await
    {
        Ok(p) => {
            state.telemetry.payment_created();
            let token = state.signer.mint(&p.id, clock.now_ms());
            Ok(see_other(&format!("/secure/{token}")))
        }
        Err(Failure::Refused(Refusal::Invalid(i))) => form_page(&on, &f, vec![refusal_text(&i)]),
        Err(e) => Err(AdminError::fault(e)),
    }
}

pub async fn outcome(
    State(state): State<AppState>,
    on: OnService,
    Path((_, payment_id)): Path<(String, String)>,
) -> Answer {
    let p = match find_payment(state.store.as_ref(), &on.service, &payment_id).await {
        Ok(p) => p,
        Err(Failure::Refused(Refusal::NotFound)) => {
            return Err(super::not_found(Some(&on.staff.signed_in())).into())
        }
        Err(e) => return Err(AdminError::fault(e)),
    };
    let external = p.status.external();
    let view = PhoneOutcomePage {
        frame: Frame::on(&on.staff, &on.service, "Payment over the phone"),
        paid: external.status == "success",
        payment_id: p.id.clone(),
        reference: p.reference.clone(),
        description: p.description.clone(),
        amount: money(p.amount),
        emailed: on.service.emails.payment_confirmed && p.email.is_some(),
        outcome: external.message.unwrap_or(external.status).to_string(),
    };
    Ok(page(StatusCode::OK, view))
}
