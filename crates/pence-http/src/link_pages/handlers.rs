//! The link pages' handlers: parse, call `link::operations`, answer. What the payer entered
//! rides in the link session between pages; the payment is created only on the confirm
//! page's post, through the same use case as the API's.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::PrivateCookieJar;
use bytes::Bytes;
use pence_core::clock::Clock;
use pence_core::link::operations::{self as links, Address, Choices};
use pence_core::link::payer::{self, pounds_and_pence};
use pence_core::link::PaymentLink;
use pence_core::service::Service;
use serde::Deserialize;

use super::session::{Answers, LinkSession};
use super::text::{self as link_text, LinkText};
use super::views::{CompletePage, ConfirmPage, FieldPage, ProblemPage, ReferenceRow, StartPage};
use crate::pages::answer::{render, see_other};
use crate::pages::html;
use crate::pages::text::{self, money};
use crate::state::AppState;

/// Why a link page shows a problem instead of what was asked for.
pub(crate) enum Problem {
    /// No such link, or a page the link does not have (404).
    NotFound(&'static LinkText, &'static text::Text),
    /// The form's token is not this browser's (its session ended, or another browser's
    /// form): back to the start of the link (by its id).
    Expired(String),
    /// A step failed below the page (503), logged with its cause.
    Failed(String),
}

impl<E: std::fmt::Display> From<E> for Problem
where
    E: Into<pence_core::refusal::Failure>,
{
    fn from(e: E) -> Self {
        Problem::Failed(e.to_string())
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        match self {
            Problem::NotFound(lt, t) => problem(
                StatusCode::NOT_FOUND,
                t,
                false,
                lt.not_found_title,
                vec![lt.not_found_body.to_string()],
            ),
            Problem::Expired(link_id) => see_other(&format!("/pay/{link_id}"), None),
            Problem::Failed(cause) => {
                tracing::error!(error = %cause, "payment link step failed");
                let t = &text::EN;
                problem(
                    StatusCode::SERVICE_UNAVAILABLE,
                    t,
                    false,
                    t.error_title,
                    vec![t.error_body.to_string()],
                )
            }
        }
    }
}

fn problem(
    status: StatusCode,
    t: &'static text::Text,
    test: bool,
    heading: &str,
    paragraphs: Vec<String>,
) -> Response {
    let page = ProblemPage {
        t,
        test,
        title: heading.to_string(),
        heading: heading.to_string(),
        paragraphs,
    };
    html(status, render(page), None)
}

type Answer = Result<Response, Problem>;

fn not_found() -> Problem {
    Problem::NotFound(&link_text::EN, &text::EN)
}

/// A link's words, in its language.
fn words(link: &PaymentLink) -> (&'static LinkText, &'static text::Text) {
    (
        link_text::for_language(link.language),
        text::for_language(link.language),
    )
}

async fn opened(state: &AppState, id: &str) -> Result<(PaymentLink, Service), Problem> {
    links::open(state.store.as_ref(), Address::Id(id))
        .await?
        .ok_or_else(not_found)
}

fn page(body: String, jar: Option<PrivateCookieJar>) -> Response {
    let resp = html(StatusCode::OK, body, None);
    match jar {
        Some(jar) => (jar, resp).into_response(),
        None => resp,
    }
}

fn title(link: &PaymentLink, heading: &str) -> String {
    format!("{heading} - {}", link.title)
}

/// `/payments/{service}/{link}` (GOV.UK Pay's friendly address, and its `/redirect/...`):
/// on to the link's start page, its query kept.
pub(crate) async fn friendly(
    State(state): State<AppState>,
    Path((service_path, link_path)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Answer {
    let address = Address::Paths(&service_path, &link_path);
    let (link, _) = links::open(state.store.as_ref(), address)
        .await?
        .ok_or_else(not_found)?;
    let to = match query.filter(|q| !q.is_empty()) {
        Some(q) => format!("/pay/{}?{q}", link.id),
        None => format!("/pay/{}", link.id),
    };
    Ok(see_other(&to, None))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct Prefill {
    reference: Option<String>,
    amount: Option<String>,
    change: Option<String>,
}

/// The next page for what the payer still has to give.
fn next_page(link: &PaymentLink, a: &Answers) -> String {
    if link.reference.is_some() && a.reference.is_none() {
        format!("/pay/{}/reference", link.id)
    } else if link.amount.is_none() && a.amount.is_none() {
        format!("/pay/{}/amount", link.id)
    } else {
        format!("/pay/{}/confirm", link.id)
    }
}

/// The start page. A prefilled link (`?reference=…&amount=…`, the amount in pence) starts
/// afresh with those values, which the payer then cannot change; a bad one shows GOV.UK
/// Pay's "problem with the link" page.
pub(crate) async fn start(
    State(state): State<AppState>,
    Path(id): Path<String>,
    jar: PrivateCookieJar,
    query: Result<Query<Prefill>, QueryRejection>,
) -> Answer {
    let (link, service) = opened(&state, &id).await?;
    let (lt, t) = words(&link);
    let test = !service.live;
    let prefill = prefill(query);
    let mut session = LinkSession::from_jar(&jar);
    let mut answers = session.answers(&link.id);
    if prefill.reference.is_some() || prefill.amount.is_some() {
        answers = Answers {
            link_id: link.id.clone(),
            ..Default::default()
        };
    }
    let link_problem = |message: &str| {
        let paragraphs = vec![lt.link_problem.to_string(), message.to_string()];
        problem(StatusCode::OK, t, test, lt.link_error_title, paragraphs)
    };
    if let (Some(_), Some(r)) = (&link.reference, &prefill.reference) {
        match payer::check_reference(r) {
            Ok(r) => {
                answers.reference = Some(r);
                answers.reference_prefilled = true;
            }
            Err(_) => return Ok(link_problem(lt.invalid_prefilled_reference)),
        }
    }
    if let (None, Some(a)) = (link.amount, &prefill.amount) {
        match payer::prefilled_amount(a) {
            Some(a) => {
                answers.amount = Some(a);
                answers.amount_prefilled = true;
            }
            None => return Ok(link_problem(lt.invalid_prefilled_amount)),
        }
    }
    // Only prefilled answers carry over to a fresh start; typed ones are asked again.
    if !answers.reference_prefilled {
        answers.reference = None;
    }
    if !answers.amount_prefilled {
        answers.amount = None;
    }
    let continue_url = next_page(&link, &answers);
    session.save(answers);
    let view = StartPage {
        t,
        lt,
        test,
        title: title(&link, lt.start_title),
        service_name: service.name.clone(),
        link_title: link.title.clone(),
        details: link
            .details
            .split("\n\n")
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect(),
        amount: link.amount.map(money),
        continue_url,
    };
    Ok(page(
        render(view),
        Some(session.store(jar, state.secure_cookies)),
    ))
}

/// A posted form's fields, its CSRF token checked against the link session.
fn form<T: for<'de> Deserialize<'de> + Default>(
    body: &Bytes,
    session: &LinkSession,
    link: &PaymentLink,
) -> Result<T, Problem> {
    if !session.csrf_ok(&crate::pages::session::posted_csrf(body)) {
        return Err(Problem::Expired(link.id.clone()));
    }
    Ok(serde_urlencoded::from_bytes(body).unwrap_or_default())
}

/// The query's answers; one that does not parse is none.
fn prefill(q: Result<Query<Prefill>, QueryRejection>) -> Prefill {
    q.map(|Query(p)| p).unwrap_or_default()
}

/// `?change=…`: the payer came from the confirm page to change an answer.
fn changing(q: Result<Query<Prefill>, QueryRejection>) -> bool {
    prefill(q).change.is_some()
}

struct Field {
    value: String,
    error: Option<String>,
    change: bool,
    /// The reference looks like a card number: ask the payer to check it first.
    card_number_warning: bool,
}

fn reference_page(
    link: &PaymentLink,
    test: bool,
    session: &LinkSession,
    field: Field,
) -> Result<String, Problem> {
    let (lt, t) = words(link);
    let label = link.reference.as_ref().ok_or_else(not_found)?;
    let heading = format!("{} {}", lt.enter_your, label.label);
    let back = match field.change {
        true => format!("/pay/{}/confirm", link.id),
        false => format!("/pay/{}", link.id),
    };
    let change_q = if field.change { "?change=true" } else { "" };
    Ok(render(FieldPage {
        t,
        lt,
        test,
        title: title(link, &heading),
        heading,
        hint: label.hint.clone(),
        field: "payment-reference",
        value: field.value,
        error: field.error,
        pounds: false,
        warning: field.card_number_warning.then(|| {
            (
                lt.card_number_title.to_string(),
                lt.card_number_body.to_string(),
            )
        }),
        action: format!("/pay/{}/reference{change_q}", link.id),
        back,
        csrf: session.csrf().to_string(),
    }))
}

/// The two questions a link may ask before the confirm page.
#[derive(Clone, Copy)]
enum Asked {
    Reference,
    Amount,
}

/// The page asking `asked`, showing the payer's answer so far.
async fn ask(
    state: AppState,
    id: String,
    jar: PrivateCookieJar,
    query: Result<Query<Prefill>, QueryRejection>,
    asked: Asked,
) -> Answer {
    let (link, service) = opened(&state, &id).await?;
    let session = LinkSession::from_jar(&jar);
    let answers = session.answers(&link.id);
    let value = match asked {
        Asked::Reference => answers.reference.unwrap_or_default(),
        Asked::Amount => answers.amount.map(pounds_and_pence).unwrap_or_default(),
    };
    let field = Field {
        value,
        error: None,
        change: changing(query),
        card_number_warning: false,
    };
    let body = match asked {
        Asked::Reference => reference_page(&link, !service.live, &session, field)?,
        Asked::Amount => amount_page(&link, !service.live, &session, field)?,
    };
    Ok(page(body, Some(session.store(jar, state.secure_cookies))))
}

pub(crate) async fn reference_get(
    State(state): State<AppState>,
    Path(id): Path<String>,
    jar: PrivateCookieJar,
    query: Result<Query<Prefill>, QueryRejection>,
) -> Answer {
    ask(state, id, jar, query, Asked::Reference).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ReferenceForm {
    #[serde(rename = "payment-reference")]
    reference: String,
    /// Sent back once the payer has seen the card-number warning for this reference.
    #[serde(rename = "reference-checked")]
    checked: String,
}

pub(crate) async fn reference_post(
    State(state): State<AppState>,
    Path(id): Path<String>,
    jar: PrivateCookieJar,
    query: Result<Query<Prefill>, QueryRejection>,
    body: Bytes,
) -> Answer {
    let (link, service) = opened(&state, &id).await?;
    let label = link.reference.clone().ok_or_else(not_found)?;
    let mut session = LinkSession::from_jar(&jar);
    let posted: ReferenceForm = form(&body, &session, &link)?;
    let mut answers = session.answers(&link.id);
    let change = changing(query);
    if answers.reference_prefilled {
        return Ok(see_other(&format!("/pay/{}/confirm", link.id), None));
    }
    match payer::check_reference(&posted.reference) {
        Err(p) => {
            let (lt, _) = words(&link);
            let field = Field {
                error: Some(lt.reference_problem(p, &label.label)),
                value: posted.reference,
                change,
                card_number_warning: false,
            };
            let body = reference_page(&link, !service.live, &session, field)?;
            Ok(page(body, None))
        }
        // GOV.UK Pay asks the payer to check a reference that looks like a card number
        // before it is used; sent again unchanged, it stands.
        Ok(reference)
            if payer::looks_like_card_number(&reference) && posted.checked != reference =>
        {
            let field = Field {
                error: None,
                value: reference,
                change,
                card_number_warning: true,
            };
            let body = reference_page(&link, !service.live, &session, field)?;
            Ok(page(body, None))
        }
        Ok(reference) => {
            answers.reference = Some(reference);
            let next = match link.amount.is_some() || change || answers.amount_prefilled {
                true => format!("/pay/{}/confirm", link.id),
                false => format!("/pay/{}/amount", link.id),
            };
            session.save(answers);
            Ok(see_other(
                &next,
                Some(session.store(jar, state.secure_cookies)),
            ))
        }
    }
}

fn amount_page(
    link: &PaymentLink,
    test: bool,
    session: &LinkSession,
    field: Field,
) -> Result<String, Problem> {
    if link.amount.is_some() {
        return Err(not_found());
    }
    let (lt, t) = words(link);
    let answers = session.answers(&link.id);
    let back = if field.change {
        format!("/pay/{}/confirm", link.id)
    } else if link.reference.is_some() && !answers.reference_prefilled {
        format!("/pay/{}/reference", link.id)
    } else {
        format!("/pay/{}", link.id)
    };
    let change_q = if field.change { "?change=true" } else { "" };
    Ok(render(FieldPage {
        t,
        lt,
        test,
        title: title(link, lt.enter_amount),
        heading: lt.enter_amount.to_string(),
        hint: link.amount_hint.clone(),
        field: "payment-amount",
        value: field.value,
        error: field.error,
        pounds: true,
        warning: None,
        action: format!("/pay/{}/amount{change_q}", link.id),
        back,
        csrf: session.csrf().to_string(),
    }))
}

pub(crate) async fn amount_get(
    State(state): State<AppState>,
    Path(id): Path<String>,
    jar: PrivateCookieJar,
    query: Result<Query<Prefill>, QueryRejection>,
) -> Answer {
    ask(state, id, jar, query, Asked::Amount).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AmountForm {
    #[serde(rename = "payment-amount")]
    amount: String,
}

pub(crate) async fn amount_post(
    State(state): State<AppState>,
    Path(id): Path<String>,
    jar: PrivateCookieJar,
    query: Result<Query<Prefill>, QueryRejection>,
    body: Bytes,
) -> Answer {
    let (link, service) = opened(&state, &id).await?;
    let mut session = LinkSession::from_jar(&jar);
    let posted: AmountForm = form(&body, &session, &link)?;
    let mut answers = session.answers(&link.id);
    if link.amount.is_some() || answers.amount_prefilled {
        return Ok(see_other(&format!("/pay/{}/confirm", link.id), None));
    }
    match payer::parse_amount(&posted.amount) {
        Err(p) => {
            let (lt, _) = words(&link);
            let field = Field {
                error: Some(lt.amount_problem(p).to_string()),
                value: posted.amount,
                change: changing(query),
                card_number_warning: false,
            };
            let body = amount_page(&link, !service.live, &session, field)?;
            Ok(page(body, None))
        }
        Ok(pence) => {
            answers.amount = Some(pence);
            session.save(answers);
            Ok(see_other(
                &format!("/pay/{}/confirm", link.id),
                Some(session.store(jar, state.secure_cookies)),
            ))
        }
    }
}

/// The payer's answers when they are complete for `link`; else where to start again.
fn complete_answers(link: &PaymentLink, a: &Answers) -> Result<(i64, Option<String>), String> {
    let start = format!("/pay/{}", link.id);
    let amount = link.amount.or(a.amount).ok_or_else(|| start.clone())?;
    match &link.reference {
        Some(_) => match &a.reference {
            Some(r) => Ok((amount, Some(r.clone()))),
            None => Err(start),
        },
        None => Ok((amount, None)),
    }
}

pub(crate) async fn confirm_get(
    State(state): State<AppState>,
    Path(id): Path<String>,
    jar: PrivateCookieJar,
) -> Answer {
    let (link, service) = opened(&state, &id).await?;
    let (lt, t) = words(&link);
    let session = LinkSession::from_jar(&jar);
    let answers = session.answers(&link.id);
    let (amount, reference) = match complete_answers(&link, &answers) {
        Ok(done) => done,
        Err(start) => return Ok(see_other(&start, None)),
    };
    let can_change_amount = link.amount.is_none() && !answers.amount_prefilled;
    let can_change_reference = link.reference.is_some() && !answers.reference_prefilled;
    let back = if can_change_amount {
        format!("/pay/{}/amount", link.id)
    } else if can_change_reference {
        format!("/pay/{}/reference", link.id)
    } else {
        format!("/pay/{}", link.id)
    };
    let view = ConfirmPage {
        t,
        lt,
        test: !service.live,
        title: title(&link, lt.check_details),
        link_id: link.id.clone(),
        link_title: link.title.clone(),
        reference: link
            .reference
            .as_ref()
            .zip(reference)
            .map(|(f, value)| ReferenceRow {
                label: f.label.clone(),
                value,
                change: can_change_reference
                    .then(|| format!("/pay/{}/reference?change=true", link.id)),
            }),
        amount: money(amount),
        amount_pence: amount,
        change_amount: can_change_amount.then(|| format!("/pay/{}/amount?change=true", link.id)),
        back,
        csrf: session.csrf().to_string(),
    };
    Ok(page(
        render(view),
        Some(session.store(jar, state.secure_cookies)),
    ))
}

/// Creates the payment from the answers in the session (not the form's hidden copies, which
/// a payer could edit) and sends the payer to its card page.
pub(crate) async fn confirm_post(
    State(state): State<AppState>,
    Path(id): Path<String>,
    jar: PrivateCookieJar,
    body: Bytes,
) -> Answer {
    let (link, service) = opened(&state, &id).await?;
    let session = LinkSession::from_jar(&jar);
    let _: Csrf = form(&body, &session, &link)?;
    let answers = session.answers(&link.id);
    let (amount, reference) = match complete_answers(&link, &answers) {
        Ok(done) => done,
        Err(start) => return Ok(see_other(&start, None)),
    };
    let clock = service.clock(state.clock.as_ref());
    let choices = Choices {
        amount: Some(amount),
        reference,
    };
    let completion = format!("{}/payment-complete", state.public_url);
    let taken = links::take_payment(
        state.store.as_ref(),
        &clock,
        &service,
        &link,
        choices,
        &completion,
    )
    .await?;
    state.telemetry.payment_created();
    let token = state.signer.mint(&taken.payment.id, clock.now_ms());
    Ok(see_other(&format!("/secure/{token}"), None))
}

#[derive(Deserialize, Default)]
struct Csrf {}

/// The link's own page once the card pages send the payer back: paid, or declined with a
/// way to try again.
pub(crate) async fn complete(State(state): State<AppState>, Path(id): Path<String>) -> Answer {
    let (lp, payment) = links::completed(state.store.as_ref(), &id)
        .await?
        .ok_or_else(not_found)?;
    let service = state.store.service(&lp.service_id).await?;
    let lt = link_text::for_language(payment.language);
    let t = text::for_language(payment.language);
    let paid = payment.status.external().status == "success";
    let still_open = links::open(state.store.as_ref(), Address::Id(&lp.link_id))
        .await?
        .is_some();
    let emails_on = service.as_ref().is_some_and(|s| s.emails.payment_confirmed);
    let view = CompletePage {
        t,
        lt,
        test: service.as_ref().is_none_or(|s| !s.live),
        title: if paid {
            lt.success_title.to_string()
        } else {
            lt.failed_title.to_string()
        },
        paid,
        emailed: paid && emails_on && payment.email.is_some(),
        reference: payment.reference.clone(),
        description: payment.description.clone(),
        amount: money(payment.amount),
        try_again: (!paid && still_open).then(|| format!("/pay/{}", lp.link_id)),
    };
    Ok(page(render(view), None))
}
