//! The services a user works on, their transactions (the API's search, with its filters as
//! query parameters of the same names, so every filtered list has a URL), a payment's page,
//! and refunds through the API's own use case.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum_extra::extract::cookie::PrivateCookieJar;
use pence_core::payment::present::{self, LinkContext};
use pence_core::refusal::{Failure, Refusal};
use pence_core::service::Service;
use pence_core::staff::{self, Actor};
use pence_core::timefmt;
use pence_core::webhook::queries::MessagesOf;
use pence_core::{payment, refund, search};
use serde::Deserialize;
use serde_json::{json, Value};

use super::access::OnService;
use super::session::require;
use super::views::{
    EventRow, Filters, Frame, PaymentPage, RefundRow, ServiceRow, ServicesPage, TransactionRow,
    TransactionsPage,
};
use super::{message, not_found, page, see_other, AdminError, Answer};
use crate::pages::text::money;
use crate::state::AppState;

/// Rows a page of transactions shows.
const PAGE_SIZE: &str = "50";

const STATES: &[&str] = &[
    "created",
    "started",
    "submitted",
    "capturable",
    "success",
    "failed",
    "cancelled",
    "error",
];

/// The filters the list takes, named as the API's.
const FILTERS: &[&str] = &[
    "reference",
    "email",
    "state",
    "card_brand",
    "last_digits_card_number",
    "cardholder_name",
    "from_date",
    "to_date",
    "metadata",
    "page",
];

/// The list's search: the API's (its filters, validation and errors), and a metadata filter
/// the API does not have.
pub(super) async fn search(
    state: &AppState,
    service: &Service,
    params: &[(String, String)],
) -> Result<search::Found<search::PaymentFilter, payment::PaymentRecord>, Failure> {
    search::search_payments_with_metadata(state.store.as_ref(), service, params).await
}

pub async fn services(State(state): State<AppState>, jar: PrivateCookieJar) -> Answer {
    let staff = require(&state, &jar).await?;
    let services = staff::views::services_of(state.store.as_ref(), &staff.user.id).await?;
    let services = services
        .into_iter()
        .map(|(s, role)| ServiceRow {
            id: s.id,
            name: s.name,
            live: s.live,
            role: role.as_str(),
            admin: role.can_administer(),
            phone: role.can_refund() && s.moto_enabled,
        })
        .collect();
    let view = ServicesPage {
        frame: Frame::signed_in(&staff, "Your services"),
        services,
    };
    Ok(page(StatusCode::OK, view))
}

fn list_url(service_id: &str, params: &[(String, String)], page: u32) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params.iter().filter(|(k, _)| k != "page") {
        q.append_pair(k, v);
    }
    if page > 1 {
        q.append_pair("page", &page.to_string());
    }
    let q = q.finish();
    let base = format!("/admin/services/{service_id}/transactions");
    if q.is_empty() {
        base
    } else {
        format!("{base}?{q}")
    }
}

/// The list's filters in a query string: those the list takes, non-blank.
pub(super) fn filters_of(query: Option<String>) -> Vec<(String, String)> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .filter(|(k, v)| FILTERS.contains(&k.as_str()) && !v.trim().is_empty())
        .collect()
}

pub async fn list(
    State(state): State<AppState>,
    on: OnService,
    RawQuery(query): RawQuery,
) -> Answer {
    let OnService { staff, service, .. } = on;
    let given = filters_of(query);
    let mut f = Filters::default();
    for (k, v) in &given {
        let slot = match k.as_str() {
            "reference" => &mut f.reference,
            "email" => &mut f.email,
            "state" => &mut f.state,
            "card_brand" => &mut f.card_brand,
            "last_digits_card_number" => &mut f.last_digits_card_number,
            "cardholder_name" => &mut f.cardholder_name,
            "from_date" => &mut f.from_date,
            "to_date" => &mut f.to_date,
            "metadata" => &mut f.metadata,
            _ => continue,
        };
        *slot = v.clone();
    }
    let mut params = given.clone();
    params.push(("display_size".into(), PAGE_SIZE.into()));
    let download = {
        let filters: Vec<_> = given.iter().filter(|(k, _)| k != "page").cloned().collect();
        list_url(&service.id, &filters, 1).replacen("/transactions", "/transactions/download", 1)
    };
    let mut view = TransactionsPage {
        download_url: download,
        frame: Frame::on(&staff, &service, "Transactions"),
        f,
        states: STATES,
        errors: Vec::new(),
        total: 0,
        rows: Vec::new(),
        page: 1,
        pages: 1,
        prev_url: None,
        next_url: None,
    };
    match search(&state, &service, &params).await {
        Ok((search, total, rows)) => {
            let size = u64::from(search.display_size.max(1));
            view.total = total;
            view.page = search.page;
            view.pages = total.div_ceil(size).max(1);
            let filters: Vec<(String, String)> = given;
            if search.page > 1 {
                view.prev_url = Some(list_url(&service.id, &filters, search.page - 1));
            }
            if u64::from(search.page) < view.pages {
                view.next_url = Some(list_url(&service.id, &filters, search.page + 1));
            }
            view.rows = rows
                .iter()
                .map(|p| TransactionRow {
                    id: p.id.clone(),
                    reference: p.reference.clone(),
                    email: p.email.clone().unwrap_or_default(),
                    amount: money(p.total()),
                    card: p
                        .card
                        .as_ref()
                        .map(|c| format!("{} •••• {}", c.brand.label(), c.last_digits))
                        .unwrap_or_default(),
                    state: p.status.external().status.to_string(),
                    date: timefmt::readable(p.created_ms),
                })
                .collect();
        }
        Err(Failure::Refused(r)) => {
            let answer = crate::errors::SEARCH_PAYMENTS.answer(&r);
            view.errors.push(("reference", answer.body.description));
        }
        Err(e) => return Err(AdminError::fault(e)),
    }
    Ok(page(StatusCode::OK, view))
}

#[derive(Deserialize, Default)]
pub struct NoteQuery {
    #[serde(default)]
    note: Option<String>,
}

/// A payment's page, with `errors` about the refund form if a refund was just refused.
async fn payment_view(
    state: &AppState,
    on: &OnService,
    payment_id: &str,
    note: Option<String>,
    errors: Vec<(&'static str, String)>,
    status: StatusCode,
) -> Answer {
    let OnService {
        staff,
        role,
        service,
    } = on;
    let store = state.store.as_ref();
    let (payment, ledger) = match payment::payment_events(store, service, payment_id).await {
        Ok(x) => x,
        Err(Failure::Refused(_)) => return Ok(not_found(Some(&staff.signed_in()))),
        Err(e) => return Err(AdminError::fault(e)),
    };
    let refunds = match refund::refunds(store, service, payment_id).await {
        Ok(r) => r,
        Err(e) => return Err(AdminError::fault(e)),
    };
    let messages = super::webhooks::message_rows(state, MessagesOf::Payment(payment_id)).await?;
    let source = pence_core::link::operations::source_of(store, service, payment_id)
        .await?
        .map(|(lp, link)| match link {
            Some(l) => (
                format!("Payment link: {}", l.title),
                Some(format!(
                    "/admin/services/{}/payment-links/{}",
                    service.id, lp.link_id
                )),
            ),
            None => ("Payment link (since deleted)".to_string(), None),
        });
    let ctx = LinkContext {
        base_url: &state.public_url,
        signer: &state.signer,
        now_ms: state.clock.now_ms(),
        in_search: true,
    };
    let p = present::payment(&payment, &ctx);
    let available = p.refund_summary.amount_available;
    let can_refund = role.can_refund() && p.refund_summary.status == "available";
    let can_capture = role.can_refund() && p.state.status == "capturable";
    let can_cancel = role.can_refund() && !p.state.finished;
    let metadata = p
        .metadata
        .as_ref()
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    let shown = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.clone(), shown)
                })
                .collect()
        })
        .unwrap_or_default();
    let view = PaymentPage {
        frame: Frame::on(staff, service, format!("Transaction {}", payment.reference)),
        amount: money(payment.total()),
        refunded: money(payment.refund_submitted),
        available: money(available),
        available_pence: available,
        metadata,
        source,
        can_refund,
        can_capture,
        can_cancel,
        messages,
        refunds: refunds
            .iter()
            .map(|r| RefundRow {
                id: r.id.clone(),
                amount: money(r.amount),
                status: r.status.as_str().to_string(),
                date: timefmt::readable(r.created_ms),
            })
            .collect(),
        events: present::events(&payment, &ledger, &state.public_url)
            .events
            .into_iter()
            .map(|e| EventRow {
                date: e.updated,
                state: e.state.status,
            })
            .collect(),
        p,
        note,
        errors,
    };
    Ok(page(status, view))
}

pub async fn payment(
    State(state): State<AppState>,
    on: OnService,
    Path((_, payment_id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Answer {
    let q: NoteQuery = super::form(query.unwrap_or_default().as_bytes());
    let note = match q.note.as_deref() {
        Some("refunded") => Some("Refund submitted.".to_string()),
        Some("captured") => Some("Payment captured.".to_string()),
        Some("cancelled") => Some("Payment cancelled.".to_string()),
        _ => None,
    };
    payment_view(&state, &on, &payment_id, note, Vec::new(), StatusCode::OK).await
}

/// `12.50`, `£12.50` or `12` as pence; `None` unless a positive amount with at most 2
/// decimals.
pub(super) fn pence_of(pounds: &str) -> Option<i64> {
    let s = pounds.trim().trim_start_matches('£').replace(',', "");
    let (whole, frac) = s.split_once('.').unwrap_or((&s, ""));
    if whole.is_empty() && frac.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 2
        || whole.len() > 8
    {
        return None;
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let frac: i64 = format!("{frac:0<2}").parse().ok()?;
    Some(whole * 100 + frac).filter(|p| *p > 0)
}

#[derive(Deserialize, Default)]
/// A form of a payment-page action: its CSRF token, and the amount of a refund.
pub(super) struct ActionForm {
    #[serde(default, rename = "csrfToken")]
    csrf: String,
    #[serde(default)]
    amount: String,
    /// What the page said was left to refund, in pence.
    #[serde(default)]
    refund_amount_available: String,
}

impl ActionForm {
    pub(super) fn csrf(&self) -> &str {
        &self.csrf
    }
}

pub async fn refund(
    State(state): State<AppState>,
    on: OnService,
    Path((_, payment_id)): Path<(String, String)>,
    body: Bytes,
) -> Answer {
    let form: ActionForm = super::form(&body);
    let OnService {
        staff,
        role,
        service,
    } = &on;
    if !role.can_refund() {
        return Ok(message(
            StatusCode::FORBIDDEN,
            Some(&staff.signed_in()),
            "You cannot refund payments",
            "Your role on this service lets you view payments only.",
        ));
    }
    if !staff.csrf_ok(&form.csrf) {
        return Ok(message(
            StatusCode::FORBIDDEN,
            Some(&staff.signed_in()),
            "This form has expired",
            "Go back, reload the page and try again.",
        ));
    }
    let refused = |text: String| {
        let (state, on, payment_id) = (&state, &on, &payment_id);
        async move {
            let errors = vec![("refund-amount", text)];
            payment_view(state, on, payment_id, None, errors, StatusCode::BAD_REQUEST).await
        }
    };
    let Some(amount) = pence_of(&form.amount) else {
        return refused("Enter an amount in pounds and pence, like 12.50".into()).await;
    };
    // The API's guard against refunding twice: the refund is made only while what is left
    // is what the page showed (a double click, a resubmit or another tab finds it changed).
    let Ok(available) = form.refund_amount_available.parse::<i64>() else {
        return refused(CHANGED_SINCE.into()).await;
    };
    let store = state.store.as_ref();
    let service_clock = service.clock(state.clock.as_ref());
    let clock = &service_clock;
    let body = json!({ "amount": amount, "refund_amount_available": available });
    match refund::create_refund(
        store,
        clock,
        state.psp.as_ref(),
        Actor::Staff(&on.staff.user),
        service,
        &payment_id,
        &body,
    )
    .await
    {
        Ok(_) => Ok(see_other(&format!(
            "/admin/services/{}/transactions/{payment_id}?note=refunded",
            service.id
        ))),
        Err(Failure::Refused(Refusal::RefundAmountMismatch)) => refused(CHANGED_SINCE.into()).await,
        Err(Failure::Refused(r)) => {
            let answer = crate::errors::CREATE_REFUND.answer(&r);
            refused(answer.body.description).await
        }
        Err(e) => Err(AdminError::fault(e)),
    }
}

/// A refund form whose amount left to refund is no longer true.
const CHANGED_SINCE: &str =
    "This payment has been refunded since the page was loaded. Check its refunds below before refunding again.";

/// Capture or cancel, from the payment's page: the API's use cases.
async fn act(
    state: &AppState,
    on: OnService,
    payment_id: &str,
    body: &[u8],
    capture: bool,
) -> Answer {
    let f: ActionForm = super::form(body);
    if let Some(to) = on.action_refused(&f.csrf) {
        return Err(to.into());
    }
    let store = state.store.as_ref();
    let clock = on.service.clock(state.clock.as_ref());
    let (actor, service, psp) = (
        Actor::Staff(&on.staff.user),
        &on.service,
        state.psp.as_ref(),
    );
    let done = if capture {
        payment::capture_payment(store, &clock, actor, service, payment_id).await
    } else {
        payment::cancel_payment(store, &clock, psp, actor, service, payment_id).await
    };
    let (action, note) = if capture {
        ("capture", "captured")
    } else {
        ("cancel", "cancelled")
    };
    match done {
        Ok(()) => Ok(see_other(&format!(
            "/admin/services/{}/transactions/{payment_id}?note={note}",
            on.service.id
        ))),
        Err(Failure::Refused(r)) => {
            let endpoint = if capture {
                crate::errors::CAPTURE_PAYMENT
            } else {
                crate::errors::CANCEL_PAYMENT
            };
            let text = endpoint.answer(&r).body.description;
            let errors = vec![(action, text)];
            payment_view(
                state,
                &on,
                payment_id,
                None,
                errors,
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(e) => Err(AdminError::fault(e)),
    }
}

pub async fn capture(
    State(state): State<AppState>,
    on: OnService,
    Path((_, payment_id)): Path<(String, String)>,
    body: Bytes,
) -> Answer {
    act(&state, on, &payment_id, &body, true).await
}

pub async fn cancel(
    State(state): State<AppState>,
    on: OnService,
    Path((_, payment_id)): Path<(String, String)>,
    body: Bytes,
) -> Answer {
    act(&state, on, &payment_id, &body, false).await
}

#[cfg(test)]
mod tests {
    use super::pence_of;

    #[test]
    fn pounds_to_pence() {
        for (given, pence) in [
            ("12.50", 1250),
            ("£12.5", 1250),
            ("12", 1200),
            ("0.01", 1),
            ("1,000.00", 100_000),
            (".5", 50),
        ] {
            assert_eq!(pence_of(given), Some(pence), "{given}");
        }
        for bad in ["", "0", "0.00", "12.505", "-1", "1e3", "abc", "£", "."] {
            assert_eq!(pence_of(bad), None, "{bad}");
        }
    }
}
