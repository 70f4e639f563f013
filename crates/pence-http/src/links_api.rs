//! The links API, `/pence/v1/payment_links` (`spec/pence-links-openapi.json`): a service's
//! payment links as code. GOV.UK Pay makes links by hand in its admin tool only; here a team
//! keeps them in version control and makes the same links in test and live. The service's
//! API key (test or live) is the credential; errors have the control API's shape. The same
//! use cases as the admin tool's and the CLI's.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use pence_core::link::operations::{self as links, LinkError};
use pence_core::link::{LinkDraft, PaymentLink, ReferenceField};
use pence_core::payment::Language;
use pence_core::staff::Actor;
use pence_core::timefmt;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth;
use crate::authed::Authed;
use crate::sandbox::SandboxProblem;
use crate::state::AppState;

/// The links API's routes, to be nested under `/pence/v1`.
pub(crate) fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/payment_links", get(list).post(create))
        .route(
            "/payment_links/{link_id}",
            get(show).put(replace).delete(remove),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state, any_service))
}

/// Any service's key, test or live: links take money for both.
async fn any_service(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match auth::service_of_key(&state, req.headers()).await {
        Ok(service) => auth::run_as(service, req, |req| next.run(req)).await,
        Err(resp) => resp,
    }
}

async fn not_found() -> Response {
    SandboxProblem::not_found().into_response()
}

async fn method_not_allowed() -> Response {
    SandboxProblem::new(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed").into_response()
}

/// A link as the API shows it; `url` is where payers open it.
fn shown(state: &AppState, l: &PaymentLink) -> Value {
    json!({
        "id": l.id,
        "title": l.title,
        "details": l.details,
        "amount": l.amount,
        "amount_hint": l.amount_hint,
        "reference": l.reference.as_ref().map(|r| json!({"label": r.label, "hint": r.hint})),
        "language": l.language.as_str(),
        "reporting_columns": l.metadata,
        "service_path": l.service_path,
        "link_path": l.link_path,
        "url": format!("{}{}", state.public_url, l.address()),
        "created_date": timefmt::date_time(l.created_ms),
        "updated_date": timefmt::date_time(l.updated_ms),
    })
}

fn failed(e: LinkError) -> SandboxProblem {
    match e {
        LinkError::Invalid(i) => {
            let mut p = SandboxProblem::new(StatusCode::UNPROCESSABLE_ENTITY, i.to_string());
            p.set_errors(json!([{"field": i.field, "message": i.message}]));
            p
        }
        LinkError::AddressTaken => SandboxProblem::new(StatusCode::CONFLICT, e.to_string()),
        LinkError::NotFound(_) => SandboxProblem::not_found(),
        LinkError::Store(e) => e.into(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReferenceBody {
    label: String,
    hint: Option<String>,
}

/// What a link is made of. `amount` left out: the payer enters it; `reference` left out:
/// Pence makes one up for each payment.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkBody {
    title: String,
    details: Option<String>,
    amount: Option<i64>,
    amount_hint: Option<String>,
    reference: Option<ReferenceBody>,
    language: Option<String>,
    reporting_columns: Option<BTreeMap<String, String>>,
    service_path: Option<String>,
    link_path: Option<String>,
}

fn draft(body: &Bytes) -> Result<LinkDraft, SandboxProblem> {
    let b: LinkBody = SandboxProblem::parse(body)?;
    let language = match b.language.as_deref() {
        None => None,
        Some(l) => Some(Language::parse(l).ok_or_else(|| {
            let mut p = SandboxProblem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "language: must be en or cy",
            );
            p.set_errors(json!([{"field": "language", "message": "must be en or cy"}]));
            p
        })?),
    };
    Ok(LinkDraft {
        title: b.title,
        details: b.details.unwrap_or_default(),
        amount: b.amount,
        amount_hint: b.amount_hint,
        reference: b.reference.map(|r| ReferenceField {
            label: r.label,
            hint: r.hint,
        }),
        language,
        metadata: b.reporting_columns.unwrap_or_default(),
        service_path: b.service_path,
        link_path: b.link_path,
    })
}

fn link_id(id: Result<Path<String>, PathRejection>) -> Result<String, SandboxProblem> {
    id.map(|Path(id)| id)
        .map_err(|_| SandboxProblem::not_found())
}

async fn create(
    State(state): State<AppState>,
    Extension(Authed(service)): Extension<Authed>,
    body: Bytes,
) -> Result<Response, SandboxProblem> {
    let draft = draft(&body)?;
    let clock = service.clock(state.clock.as_ref());
    let link = links::create(
        state.store.as_ref(),
        &clock,
        Actor::Service,
        &service,
        draft,
    )
    .await
    .map_err(failed)?;
    Ok((StatusCode::CREATED, Json(shown(&state, &link))).into_response())
}

async fn list(
    State(state): State<AppState>,
    Extension(Authed(service)): Extension<Authed>,
) -> Result<Response, SandboxProblem> {
    let found = links::list(state.store.as_ref(), &service)
        .await
        .map_err(failed)?;
    let results: Vec<Value> = found.iter().map(|l| shown(&state, l)).collect();
    Ok(Json(json!({"count": results.len(), "results": results})).into_response())
}

async fn show(
    State(state): State<AppState>,
    Extension(Authed(service)): Extension<Authed>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, SandboxProblem> {
    let id = link_id(id)?;
    let link = links::find(state.store.as_ref(), &service, &id)
        .await
        .map_err(failed)?;
    Ok(Json(shown(&state, &link)).into_response())
}

/// Replaces the link with the body (an address left out is kept).
async fn replace(
    State(state): State<AppState>,
    Extension(Authed(service)): Extension<Authed>,
    id: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<Response, SandboxProblem> {
    let id = link_id(id)?;
    let draft = draft(&body)?;
    let clock = service.clock(state.clock.as_ref());
    let store = state.store.as_ref();
    let link = links::update(store, &clock, Actor::Service, &service, &id, draft)
        .await
        .map_err(failed)?;
    Ok(Json(shown(&state, &link)).into_response())
}

async fn remove(
    State(state): State<AppState>,
    Extension(Authed(service)): Extension<Authed>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, SandboxProblem> {
    let id = link_id(id)?;
    let clock = service.clock(state.clock.as_ref());
    links::delete(state.store.as_ref(), &clock, Actor::Service, &service, &id)
        .await
        .map_err(failed)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
