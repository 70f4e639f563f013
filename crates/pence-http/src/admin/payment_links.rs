//! A service's payment links: every role sees them, their addresses and what each has
//! taken; admins make, change and delete them. The same use cases as the links API and the
//! CLI; every change is audited with it.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use pence_core::link::operations::{self as links, LinkError};
use pence_core::link::payer::pounds_and_pence;
use pence_core::link::{LinkDraft, PaymentLink, ReferenceField};
use pence_core::payment::Language;
use pence_core::staff::Actor;
use pence_core::text::money;
use pence_core::timefmt;
use serde::Deserialize;

use super::access::{Admin, OnService};
use super::views::{Frame, LinkForm, LinkPaymentRow, LinkRow, PaymentLinkPage, PaymentLinksPage};
use super::{form, not_found, page, see_other, AdminError, Answer, NoteQuery};
use crate::state::AppState;

/// Payments a link's page lists at most.
const PAYMENTS_SHOWN: u32 = 100;

fn row(state: &AppState, l: &PaymentLink) -> LinkRow {
    LinkRow {
        id: l.id.clone(),
        title: l.title.clone(),
        amount: l.amount.map_or("The payer enters it".into(), money),
        url: format!("{}{}", state.public_url, l.address()),
    }
}

/// The form showing a link's values.
fn form_of(l: &PaymentLink) -> LinkForm {
    LinkForm {
        title: l.title.clone(),
        details: l.details.clone(),
        fixed: l.amount.is_some(),
        amount: l.amount.map(pounds_and_pence).unwrap_or_default(),
        amount_hint: l.amount_hint.clone().unwrap_or_default(),
        custom_reference: l.reference.is_some(),
        reference_label: l
            .reference
            .as_ref()
            .map(|r| r.label.clone())
            .unwrap_or_default(),
        reference_hint: l
            .reference
            .as_ref()
            .and_then(|r| r.hint.clone())
            .unwrap_or_default(),
        welsh: l.language == Language::Cy,
        columns: l
            .metadata
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join("\n"),
        link_path: l.link_path.clone(),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LinkFormBody {
    #[serde(rename = "csrfToken")]
    csrf: String,
    title: String,
    details: String,
    amount_type: String,
    amount: String,
    amount_hint: String,
    reference_type: String,
    reference_label: String,
    reference_hint: String,
    language: String,
    reporting_columns: String,
    link_path: String,
}

impl LinkFormBody {
    /// The form as typed, to show it again with its errors.
    fn shown(&self) -> LinkForm {
        LinkForm {
            title: self.title.clone(),
            details: self.details.clone(),
            fixed: self.amount_type == "fixed",
            amount: self.amount.clone(),
            amount_hint: self.amount_hint.clone(),
            custom_reference: self.reference_type == "custom",
            reference_label: self.reference_label.clone(),
            reference_hint: self.reference_hint.clone(),
            welsh: self.language == "cy",
            columns: self.reporting_columns.clone(),
            link_path: self.link_path.clone(),
        }
    }

    /// The draft the form describes, or the field to mark and what it says.
    fn draft(&self) -> Result<LinkDraft, (&'static str, String)> {
        let amount = match self.amount_type.as_str() {
            "fixed" => Some(staff_amount(&self.amount)?),
            "variable" => None,
            _ => return Err(("amount-type-fixed", "Please select an option".into())),
        };
        let reference = match self.reference_type.as_str() {
            "custom" => Some(ReferenceField {
                label: self.reference_label.clone(),
                hint: Some(self.reference_hint.clone()),
            }),
            "standard" => None,
            _ => return Err(("reference-type-custom", "Please select an option".into())),
        };
        let mut metadata = BTreeMap::new();
        for line in self
            .reporting_columns
            .lines()
            .filter(|l| !l.trim().is_empty())
        {
            let Some((header, value)) = line.split_once(':') else {
                let why = "Write each reporting column as its header, a colon and its value";
                return Err(("reporting-columns", why.into()));
            };
            metadata.insert(header.trim().to_string(), value.trim().to_string());
        }
        let link_path = self.link_path.trim();
        Ok(LinkDraft {
            title: self.title.clone(),
            details: self.details.clone(),
            amount,
            amount_hint: Some(self.amount_hint.clone()),
            reference,
            language: Language::parse(&self.language),
            metadata,
            service_path: None,
            link_path: (!link_path.is_empty()).then(|| link_path.to_string()),
        })
    }
}

/// A fixed amount as staff type it, with GOV.UK Pay's admin tool's texts.
fn staff_amount(typed: &str) -> Result<i64, (&'static str, String)> {
    let field = "payment-link-amount";
    let typed = typed.trim();
    if typed.is_empty() {
        return Err((field, "Enter a payment amount".into()));
    }
    match pence_core::link::payer::parse_amount(typed) {
        Ok(pence) => Ok(pence),
        Err(pence_core::link::payer::AmountProblem::NotPoundsAndPence) => {
            Err((field, "Enter a valid payment amount".into()))
        }
        Err(_) => Err((
            field,
            "Enter a valid payment amount between £0.30 and £100000".into(),
        )),
    }
}

/// The input a refusal marks.
fn input_of(e: &LinkError) -> &'static str {
    match e {
        LinkError::Invalid(i) => match i.field {
            "title" => "payment-link-title",
            "details" => "payment-link-details",
            "amount" => "payment-link-amount",
            "amount_hint" => "payment-link-amount-hint",
            "reference_label" => "reference-label",
            "reference_hint" => "reference-hint-text",
            "metadata" => "reporting-columns",
            _ => "payment-link-path",
        },
        _ => "payment-link-path",
    }
}

/// A refusal as the form shows it; a fault is answered as one.
fn refusal(e: LinkError) -> Result<(&'static str, String), AdminError> {
    match e {
        LinkError::Store(e) => Err(AdminError::fault(e)),
        LinkError::Invalid(ref i) => Ok((input_of(&e), i.message.clone())),
        other => Ok((input_of(&other), other.to_string())),
    }
}

async fn links_page(
    state: &AppState,
    on: &OnService,
    form: LinkForm,
    errors: Vec<(&'static str, String)>,
) -> Answer {
    let found = links::list(state.store.as_ref(), &on.service)
        .await
        .map_err(AdminError::fault)?;
    let status = match errors.is_empty() {
        true => StatusCode::OK,
        false => StatusCode::BAD_REQUEST,
    };
    let view = PaymentLinksPage {
        frame: Frame::on(&on.staff, &on.service, "Payment links"),
        links: found.iter().map(|l| row(state, l)).collect(),
        can_change: on.role.can_administer(),
        test: !on.service.live,
        form,
        errors,
    };
    Ok(page(status, view))
}

pub async fn list(State(state): State<AppState>, on: OnService) -> Answer {
    let fresh = LinkForm {
        fixed: true,
        ..Default::default()
    };
    links_page(&state, &on, fresh, Vec::new()).await
}

pub async fn create(State(state): State<AppState>, Admin(on): Admin, body: Bytes) -> Answer {
    let f: LinkFormBody = form(&body);
    on.check_form(&f.csrf)?;
    let draft = match f.draft() {
        Ok(d) => d,
        Err(e) => return links_page(&state, &on, f.shown(), vec![e]).await,
    };
    let actor = Actor::Staff(&on.staff.user);
    let store = state.store.as_ref();
    match links::create(store, state.clock.as_ref(), actor, &on.service, draft).await {
        Ok(l) => Ok(see_other(&format!(
            "/admin/services/{}/payment-links/{}?note=created",
            on.service.id, l.id
        ))),
        Err(e) => {
            let error = refusal(e)?;
            links_page(&state, &on, f.shown(), vec![error]).await
        }
    }
}

async fn link_page(
    state: &AppState,
    on: &OnService,
    link_id: &str,
    form: Option<LinkForm>,
    errors: Vec<(&'static str, String)>,
    note: Option<String>,
) -> Answer {
    let found = links::with_payments(state.store.as_ref(), &on.service, link_id, PAYMENTS_SHOWN);
    let (link, payments, takings) = match found.await {
        Ok(found) => found,
        Err(LinkError::NotFound(_)) => return Err(not_found(Some(&on.staff.signed_in())).into()),
        Err(e) => return Err(AdminError::fault(e)),
    };
    let status = match errors.is_empty() {
        true => StatusCode::OK,
        false => StatusCode::BAD_REQUEST,
    };
    let view = PaymentLinkPage {
        frame: Frame::on(&on.staff, &on.service, link.title.clone()),
        link: row(state, &link),
        details: link.details.clone(),
        reference: match &link.reference {
            Some(r) => format!("The payer enters their {}", r.label),
            None => "Made up for each payment".into(),
        },
        language: match link.language {
            Language::En => "English",
            Language::Cy => "Welsh",
        },
        columns: link.metadata.clone().into_iter().collect(),
        payments_count: takings.payments,
        succeeded: takings.succeeded,
        total: money(takings.total),
        payments: payments
            .iter()
            .map(|p| LinkPaymentRow {
                id: p.id.clone(),
                date: timefmt::readable(p.created_ms),
                reference: p.reference.clone(),
                amount: money(p.amount),
                status: p.status.external().status,
            })
            .collect(),
        can_change: on.role.can_administer(),
        test: !on.service.live,
        form: form.unwrap_or_else(|| form_of(&link)),
        errors,
        note,
    };
    Ok(page(status, view))
}

pub async fn show(
    State(state): State<AppState>,
    on: OnService,
    Path((_, link_id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Answer {
    let q: NoteQuery = form(query.unwrap_or_default().as_bytes());
    let note = match q.note.as_deref() {
        Some("created") => Some("Payment link created.".to_string()),
        Some("changed") => Some("Saved.".to_string()),
        _ => None,
    };
    link_page(&state, &on, &link_id, None, Vec::new(), note).await
}

pub async fn save(
    State(state): State<AppState>,
    Admin(on): Admin,
    Path((_, link_id)): Path<(String, String)>,
    body: Bytes,
) -> Answer {
    let f: LinkFormBody = form(&body);
    on.check_form(&f.csrf)?;
    let draft = match f.draft() {
        Ok(d) => d,
        Err(e) => return link_page(&state, &on, &link_id, Some(f.shown()), vec![e], None).await,
    };
    let actor = Actor::Staff(&on.staff.user);
    let clock = state.clock.as_ref();
    match links::update(
        state.store.as_ref(),
        clock,
        actor,
        &on.service,
        &link_id,
        draft,
    )
    .await
    {
        Ok(l) => Ok(see_other(&format!(
            "/admin/services/{}/payment-links/{}?note=changed",
            on.service.id, l.id
        ))),
        Err(LinkError::NotFound(_)) => Err(not_found(Some(&on.staff.signed_in())).into()),
        Err(e) => {
            let error = refusal(e)?;
            link_page(&state, &on, &link_id, Some(f.shown()), vec![error], None).await
        }
    }
}

pub async fn delete(
    State(state): State<AppState>,
    Admin(on): Admin,
    Path((_, link_id)): Path<(String, String)>,
    body: Bytes,
) -> Answer {
    let f: LinkFormBody = form(&body);
    on.check_form(&f.csrf)?;
    let actor = Actor::Staff(&on.staff.user);
    let clock = state.clock.as_ref();
    match links::delete(state.store.as_ref(), clock, actor, &on.service, &link_id).await {
        Ok(()) => Ok(see_other(&format!(
            "/admin/services/{}/payment-links",
            on.service.id
        ))),
        Err(LinkError::NotFound(_)) => Err(not_found(Some(&on.staff.signed_in())).into()),
        Err(e) => Err(AdminError::fault(e)),
    }
}
