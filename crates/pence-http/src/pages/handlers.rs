//! The journey's handlers. Each checks the browser's session holds the payment, finds the
//! page the payment's state calls for, and either renders it or redirects there.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::cookie::PrivateCookieJar;
use bytes::Bytes;
use pence_core::clock::Clock;
use pence_core::journey;
use pence_core::journey::card::{self, countries, CardForm};
use pence_core::payment::PaymentRecord;
use pence_core::refusal::Failure;
use pence_core::service::{CardSettings, Service};
use serde::Deserialize;

use super::answer::{message, render, see_other, Answer, PageError};
use super::session::Session;
use super::text::{self, Text};
use super::views::{CardPage, ConfirmPage, FieldError, MessagePage, ThreeDsPage};
use super::{html, path_for, stage, Stage};
use crate::state::AppState;

fn texts(p: &PaymentRecord) -> &'static Text {
    text::for_language(p.language)
}

/// The session must hold the payment (the browser exchanged its token); then the payment
/// and its service.
async fn journey_of(
    state: &AppState,
    jar: &PrivateCookieJar,
    id: Result<Path<String>, PathRejection>,
) -> Result<(Session, PaymentRecord, Service), PageError> {
    let Ok(Path(id)) = id else {
        return Err(PageError::NotFound);
    };
    let session = Session::from_jar(jar);
    if !session.has(&id) {
        return Err(PageError::SessionLost {
            t: &text::EN,
            return_url: None,
        });
    }
    let (payment, service) = journey::payment_and_service(state.store.as_ref(), &id)
        .await?
        .ok_or(PageError::NotFound)?;
    Ok((session, payment, service))
}

/// The session-lost page in the payment's language, with its way back.
fn session_lost(p: &PaymentRecord) -> PageError {
    PageError::SessionLost {
        t: texts(p),
        return_url: p.return_url.clone(),
    }
}

/// A posted form with its CSRF token checked against the session.
fn form<T: for<'de> Deserialize<'de> + Default>(
    body: &Bytes,
    session: &Session,
    p: &PaymentRecord,
) -> Result<T, PageError> {
    check_csrf(body, session, p)?;
    Ok(serde_urlencoded::from_bytes(body).unwrap_or_default())
}

/// The form's `csrfToken` must be this session's.
fn check_csrf(body: &Bytes, session: &Session, p: &PaymentRecord) -> Result<(), PageError> {
    if !session.csrf_ok(&super::session::posted_csrf(body)) {
        return Err(session_lost(p));
    }
    Ok(())
}

/// Where the state says to go, as a redirect.
fn onward(p: &PaymentRecord) -> Response {
    see_other(&path_for(p), None)
}

/// After a step: on to the page the payment's new state calls for.
fn settled(after: Result<Option<PaymentRecord>, Failure>) -> Answer {
    let after = after?.ok_or(PageError::NotFound)?;
    Ok(onward(&after))
}

// --- token exchange ---------------------------------------------------------------------

async fn exchange(state: &AppState, jar: PrivateCookieJar, token: &str) -> Answer {
    let exchanged = journey::exchange_token(
        state.store.as_ref(),
        state.clock.as_ref(),
        &state.signer,
        token,
    )
    .await?
    .ok_or(PageError::NotFound)?;
    let p = exchanged.payment;
    let mut session = Session::from_jar(&jar);
    if !exchanged.first_use && !session.has(&p.id) {
        return Err(PageError::LinkUsed {
            t: texts(&p),
            return_url: p.return_url.clone(),
        });
    }
    session.add(&p.id);
    let jar = session.store(jar, state.secure_cookies);
    Ok(see_other(&format!("/card_details/{}", p.id), Some(jar)))
}

pub async fn secure_get(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
    token: Result<Path<String>, PathRejection>,
) -> Answer {
    let Ok(Path(token)) = token else {
        return Err(PageError::NotFound);
    };
    exchange(&state, jar, &token).await
}

pub async fn secure_post(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
    body: Bytes,
) -> Answer {
    #[derive(Deserialize, Default)]
    #[serde(default, rename_all = "camelCase")]
    struct Form {
        charge_token_id: String,
    }
    let form: Form = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    exchange(&state, jar, &form.charge_token_id).await
}

// --- card details ------------------------------------------------------------------------

/// The message page a finished or waiting payment shows on its card-details URL.
fn state_page(p: &PaymentRecord) -> Response {
    let t = texts(p);
    let back = p.return_url.as_deref();
    let (status, title, body) = match stage(p) {
        Stage::Declined => (StatusCode::OK, t.declined_title, t.declined_body),
        Stage::Error => (StatusCode::OK, t.error_title, t.error_body),
        Stage::Expired => (StatusCode::OK, t.expired_title, t.expired_body),
        Stage::CancelledByService => (StatusCode::OK, t.cancelled_title, t.cancelled_body),
        Stage::Waiting => {
            let page = MessagePage {
                t,
                title: t.waiting_title,
                body: t.waiting_body,
                return_url: None,
                refresh: true,
            };
            return html(StatusCode::OK, render(page), None);
        }
        _ => return onward(p),
    };
    message(status, t, title, body, back)
}

/// `template` with `{fee}` filled in.
fn with_fee(template: &str, pence: i64) -> String {
    template.replace("{fee}", &text::money(pence))
}

/// What the card page tells a user whose payment sets up an agreement: the agreement's
/// description (its card will be saved for it).
async fn agreement_notice(state: &AppState, p: &PaymentRecord) -> Result<Option<String>, Failure> {
    let agreement = journey::agreement_of(state.store.as_ref(), p).await?;
    Ok(agreement.map(|a| {
        texts(p)
            .agreement_notice
            .replace("{agreement}", &a.description)
    }))
}

fn card_form_page(
    session: &Session,
    p: &PaymentRecord,
    settings: &CardSettings,
    mut form: CardForm,
    errors: Vec<FieldError>,
    agreement_notice: Option<String>,
) -> Response {
    let t = texts(p);
    // What the user typed comes back, except the card number and security code.
    form.card_no.clear();
    form.cvc.clear();
    if form.address_country.is_empty() {
        form.address_country = "GB".into();
    }
    let max_fee = settings
        .surcharge_credit
        .max(settings.surcharge_debit)
        .max(settings.surcharge_prepaid_debit);
    let title = if errors.is_empty() {
        t.enter_card_details.to_string()
    } else {
        format!("{}: {}", t.error_summary_title, t.enter_card_details)
    };
    let page = CardPage {
        t,
        title,
        csrf: session.csrf(),
        payment_id: &p.id,
        description: &p.description,
        amount: text::money(p.amount),
        surcharge_note: (max_fee > 0).then(|| with_fee(t.corporate_fee_hint, max_fee)),
        agreement_notice,
        errors,
        form,
        accepted: settings.accepted_brands.iter().map(|b| b.label()).collect(),
        countries: countries::all().collect(),
        collect_address: settings.collect_billing_address,
        email_mode: settings.email_collection.as_str(),
        mask_card_number: p.moto && settings.moto_mask_card_number,
        mask_security_code: p.moto && settings.moto_mask_security_code,
    };
    html(StatusCode::OK, render(page), p.return_url.as_deref())
}

pub async fn card_page(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
    id: Result<Path<String>, PathRejection>,
) -> Answer {
    let (session, p, service) = journey_of(&state, &jar, id).await?;
    if stage(&p) != Stage::CardDetails {
        return Ok(state_page(&p));
    }
    let form = CardForm::prefilled(&p);
    let notice = agreement_notice(&state, &p).await?;
    Ok(card_form_page(
        &session,
        &p,
        &service.cards,
        form,
        Vec::new(),
        notice,
    ))
}

pub async fn card_submit(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
    id: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Answer {
    let (session, p, service) = journey_of(&state, &jar, id).await?;
    let form: CardForm = form(&body, &session, &p)?;
    if stage(&p) != Stage::CardDetails {
        return Ok(onward(&p));
    }
    let clock = service.clock(state.clock.as_ref());
    let ctx = card::form::Context::at(&service.cards, clock.now_ms());
    let valid = match card::form::validate(&form, &ctx) {
        Ok(valid) => valid,
        Err(problems) => {
            let errors = problems
                .into_iter()
                .map(|(field, problem)| FieldError {
                    input_id: field.input_id(),
                    error_id: field.error_id(),
                    message: text::problem(p.language, problem),
                })
                .collect();
            let notice = agreement_notice(&state, &p).await?;
            return Ok(card_form_page(
                &session,
                &p,
                &service.cards,
                form,
                errors,
                notice,
            ));
        }
    };
    settled(journey::submit_card(state.journey(&clock), &p.id, &valid, &service.cards).await)
}

// --- 3-D Secure --------------------------------------------------------------------------

fn three_ds_seal_text(p: &PaymentRecord) -> String {
    format!("3ds:{}:{}", p.id, p.provider_id.as_deref().unwrap_or(""))
}

pub async fn three_ds_page(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
    id: Result<Path<String>, PathRejection>,
) -> Answer {
    let (session, p, _) = journey_of(&state, &jar, id).await?;
    if stage(&p) != Stage::ThreeDs {
        return Ok(onward(&p));
    }
    let t = texts(&p);
    let page = ThreeDsPage {
        t,
        title: t.three_ds_title.to_string(),
        csrf: session.csrf(),
        payment_id: &p.id,
        three_ds_token: state.signer.seal(&three_ds_seal_text(&p)),
    };
    Ok(html(StatusCode::OK, render(page), p.return_url.as_deref()))
}

pub async fn three_ds_submit(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
    id: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Answer {
    #[derive(Deserialize, Default)]
    #[serde(default, rename_all = "camelCase")]
    struct Form {
        three_ds_token: String,
        result: String,
    }
    let (session, p, service) = journey_of(&state, &jar, id).await?;
    let form: Form = form(&body, &session, &p)?;
    if stage(&p) != Stage::ThreeDs {
        return Ok(onward(&p));
    }
    if !state
        .signer
        .check_seal(&three_ds_seal_text(&p), &form.three_ds_token)
    {
        return Err(session_lost(&p));
    }
    let passed = form.result == "pass";
    let clock = service.clock(state.clock.as_ref());
    settled(journey::three_ds_result(state.journey(&clock), &p.id, passed).await)
}

// --- confirm, cancel, return -------------------------------------------------------------

fn address_line(p: &PaymentRecord) -> Option<String> {
    let a = p.card.as_ref()?.billing_address.as_ref()?;
    let country = countries::name(&a.country).unwrap_or(&a.country);
    let parts = [
        Some(a.line1.as_str()),
        a.line2.as_deref(),
        Some(a.city.as_str()),
        Some(a.postcode.as_str()),
        Some(country),
    ];
    Some(
        parts
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(", "),
    )
}

pub async fn confirm_page(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
    id: Result<Path<String>, PathRejection>,
) -> Answer {
    let (session, p, _) = journey_of(&state, &jar, id).await?;
    let (Stage::Confirm, Some(card)) = (stage(&p), p.card.as_ref()) else {
        return Ok(onward(&p));
    };
    let t = texts(&p);
    let page = ConfirmPage {
        t,
        title: t.confirm_title.to_string(),
        csrf: session.csrf(),
        payment_id: &p.id,
        description: &p.description,
        amount: text::money(p.total()),
        surcharge_note: p
            .corporate_surcharge
            .filter(|s| *s > 0)
            .map(|s| with_fee(t.surcharge_notice, s)),
        brand: card.brand.label(),
        last_digits: &card.last_digits,
        expiry: &card.expiry,
        cardholder_name: &card.cardholder_name,
        address: address_line(&p),
        email: p.email.as_deref(),
    };
    Ok(html(StatusCode::OK, render(page), p.return_url.as_deref()))
}

/// The buttons that act on the payment as it stands.
enum Button {
    Confirm,
    Cancel,
}

async fn press(
    state: &AppState,
    jar: &PrivateCookieJar,
    id: Result<Path<String>, PathRejection>,
    body: &Bytes,
    button: Button,
) -> Answer {
    let (session, p, service) = journey_of(state, jar, id).await?;
    check_csrf(body, &session, &p)?;
    let clock = service.clock(state.clock.as_ref());
    let after = match button {
        Button::Confirm => journey::confirm(state.journey(&clock), &p.id).await,
        Button::Cancel => journey::user_cancel(state.journey(&clock), &p.id).await,
    };
    settled(after)
}

pub async fn confirm_submit(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
    id: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Answer {
    press(&state, &jar, id, &body, Button::Confirm).await
}

pub async fn cancel_submit(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
    id: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Answer {
    press(&state, &jar, id, &body, Button::Cancel).await
}

/// Back to the service's return_url, once the journey is over.
pub async fn return_to_service(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
    id: Result<Path<String>, PathRejection>,
) -> Answer {
    let (_, p, _) = journey_of(&state, &jar, id).await?;
    if stage(&p) != Stage::Return {
        return Ok(onward(&p));
    }
    match p.return_url.as_deref() {
        Some(url) => Ok(see_other(url, None)),
        None => {
            let t = texts(&p);
            Ok(message(StatusCode::OK, t, t.done_title, t.done_body, None))
        }
    }
}
