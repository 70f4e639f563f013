//! `/sandbox/v1/webhooks…`: a test service's webhook subscriptions over HTTP (GOV.UK Pay has
//! no API for them), their delivery logs, resending a message, and triggering one.

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use pence_core::payment::Language;
use pence_core::sandbox;
use pence_core::staff::Actor;
use pence_core::timefmt;
use pence_core::webhook::queries::{self, MessagesOf};
use pence_core::webhook::subscription::{self, Changes, SubscriptionError};
use pence_core::webhook::Subscription;
use pence_core::webhook::{DeliveryFaults, DeliveryStatus, EventType, Message};
use serde::Deserialize;
use serde_json::{json, Value};

use super::SandboxProblem;
use crate::authed::Authed;
use crate::state::AppState;

/// Messages a delivery log shows at most.
const LOG_LIMIT: u32 = 500;

fn shown(s: &Subscription) -> Value {
    json!({
        "id": s.id,
        "callback_url": s.callback_url,
        "description": s.description,
        "event_types": s.event_types.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
        "active": s.active,
        "created_date": timefmt::date_time(s.created_ms),
    })
}

fn message_shown(m: &Message) -> Value {
    json!({
        "id": m.id,
        "payment_id": m.payment_id,
        "event_type": m.event_type,
        "created_date": timefmt::date_time(m.event_ms),
        "status": m.status.as_str(),
        "attempts": m.attempts,
        "next_attempt_date": (m.status == DeliveryStatus::Pending)
            .then(|| timefmt::date_time(m.next_attempt_ms)),
        "triggered": m.triggered,
        "overrides": m.overrides,
    })
}

fn failed(e: SubscriptionError) -> SandboxProblem {
    match e {
        SubscriptionError::BadUrl(_)
        | SubscriptionError::NotHttps(_)
        | SubscriptionError::BadDeliveryFaults(_)
        | SubscriptionError::LiveService(_) => {
            SandboxProblem::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string())
        }
        SubscriptionError::NotFound(_) | SubscriptionError::NoMessage(_) => {
            SandboxProblem::not_found()
        }
        SubscriptionError::Inactive(_) => SandboxProblem::new(StatusCode::CONFLICT, e.to_string()),
        SubscriptionError::Store(e) => e.into(),
    }
}

fn event_types(names: Option<Vec<String>>) -> Result<Option<Vec<EventType>>, SandboxProblem> {
    names
        .map(|names| {
            names
                .iter()
                .map(|n| {
                    EventType::parse(n).ok_or_else(|| {
                        SandboxProblem::new(
                            StatusCode::UNPROCESSABLE_ENTITY,
                            format!("{n} is not a webhook event type"),
                        )
                    })
                })
                .collect()
        })
        .transpose()
}

fn json_of<T: for<'de> Deserialize<'de>>(body: &Bytes) -> Result<T, SandboxProblem> {
    SandboxProblem::parse(body)
}

/// The service's own subscription `id`, or the 404 for it.
async fn own(
    state: &AppState,
    service_id: &str,
    id: Result<Path<String>, PathRejection>,
) -> Result<Subscription, SandboxProblem> {
    let Ok(Path(id)) = id else {
        return Err(SandboxProblem::not_found());
    };
    queries::subscription(state.webhooks.as_ref(), Some(service_id), &id)
        .await?
        .ok_or_else(SandboxProblem::not_found)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewSubscription {
    callback_url: String,
    description: Option<String>,
    event_types: Option<Vec<String>>,
}

pub(crate) async fn create(
    State(state): State<AppState>,
    Extension(Authed(service)): Extension<Authed>,
    body: Bytes,
) -> Result<Response, SandboxProblem> {
    let body: NewSubscription = json_of(&body)?;
    let types = event_types(body.event_types)?.unwrap_or_default();
    let clock = service.clock(state.clock.as_ref());
    let (sub, secret) = subscription::create(
        state.webhooks.as_ref(),
        &clock,
        Actor::Service,
        &service,
        &body.callback_url,
        body.description.as_deref().unwrap_or(""),
        &types,
    )
    .await
    .map_err(failed)?;
    let mut shown = shown(&sub);
    shown["secret"] = json!(secret);
    Ok((StatusCode::CREATED, Json(shown)).into_response())
}

pub(crate) async fn list(
    State(state): State<AppState>,
    Extension(Authed(service)): Extension<Authed>,
) -> Result<Response, SandboxProblem> {
    let subs = queries::subscriptions(state.webhooks.as_ref(), Some(&service.id)).await?;
    Ok(Json(json!({"webhooks": subs.iter().map(shown).collect::<Vec<_>>()})).into_response())
}

pub(crate) async fn get(
    State(state): State<AppState>,
    Extension(Authed(service)): Extension<Authed>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, SandboxProblem> {
    Ok(Json(shown(&own(&state, &service.id, id).await?)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Update {
    callback_url: Option<String>,
    description: Option<String>,
    event_types: Option<Vec<String>>,
    active: Option<bool>,
}

pub(crate) async fn update(
    State(state): State<AppState>,
    Extension(Authed(service)): Extension<Authed>,
    id: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<Response, SandboxProblem> {
    let sub = own(&state, &service.id, id).await?;
    let body: Update = json_of(&body)?;
    let changes = Changes {
        callback_url: body.callback_url,
        description: body.description,
        event_types: event_types(body.event_types)?,
        active: body.active,
    };
    let clock = service.clock(state.clock.as_ref());
    let webhooks = state.webhooks.as_ref();
    let sub = subscription::update(webhooks, &clock, Actor::Service, &service, sub, changes)
        .await
        .map_err(failed)?;
    Ok(Json(shown(&sub)).into_response())
}

pub(crate) async fn rotate_secret(
    State(state): State<AppState>,
    Extension(Authed(service)): Extension<Authed>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, SandboxProblem> {
    let sub = own(&state, &service.id, id).await?;
    let clock = service.clock(state.clock.as_ref());
    let secret = subscription::rotate_secret(state.webhooks.as_ref(), &clock, Actor::Service, &sub)
        .await
        .map_err(failed)?;
    Ok(Json(json!({"secret": secret})).into_response())
}

pub(crate) async fn messages(
    State(state): State<AppState>,
    Extension(Authed(service)): Extension<Authed>,
    id: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Result<Response, SandboxProblem> {
    let sub = own(&state, &service.id, id).await?;
    let status = match query.as_deref().and_then(|q| q.strip_prefix("status=")) {
        None => None,
        Some(s) => Some(
            DeliveryStatus::parse(&s.to_ascii_lowercase()).ok_or_else(|| {
                SandboxProblem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!("{s} is not a delivery status"),
                )
            })?,
        ),
    };
    let of = MessagesOf::Subscription(&sub.id, status);
    let found = queries::messages(state.webhooks.as_ref(), of, LOG_LIMIT).await?;
    let shown: Vec<Value> = found.iter().map(message_shown).collect();
    Ok(Json(json!({"messages": shown})).into_response())
}

/// `GET /sandbox/v1/webhooks/{id}/report`: every message oldest first, with its place in the
/// log, each attempt (what the delivery faults did to it, how the receiver answered) and
/// what the receiver got wrong.
pub(crate) async fn report(
    State(state): State<AppState>,
    Extension(Authed(service)): Extension<Authed>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, SandboxProblem> {
    let sub = own(&state, &service.id, id).await?;
    let report = queries::delivery_report(state.webhooks.as_ref(), &sub.id, LOG_LIMIT).await?;
    let shown: Vec<Value> = report
        .iter()
        .map(|r| {
            let attempts: Vec<Value> = r
                .attempts
                .iter()
                .map(|a| {
                    json!({
                        "date": timefmt::date_time(a.at_ms),
                        "status_code": a.status_code,
                        "error": a.error,
                        "fault": a.fault,
                    })
                })
                .collect();
            let mut m = message_shown(&r.message);
            m["ordinal"] = json!(r.ordinal);
            m["delivery"] = json!(attempts);
            m["flags"] = json!(r.flags);
            m
        })
        .collect();
    let flagged = report.iter().filter(|r| !r.flags.is_empty()).count();
    Ok(Json(json!({"messages": shown, "flagged": flagged})).into_response())
}

pub(crate) async fn resend(
    State(state): State<AppState>,
    Extension(Authed(service)): Extension<Authed>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, SandboxProblem> {
    let Ok(Path(id)) = id else {
        return Err(SandboxProblem::not_found());
    };
    queries::message(state.webhooks.as_ref(), Some(&service.id), &id)
        .await?
        .ok_or_else(SandboxProblem::not_found)?;
    let clock = service.clock(state.clock.as_ref());
    subscription::resend(state.webhooks.as_ref(), &clock, &id)
        .await
        .map_err(failed)?;
    Ok(StatusCode::ACCEPTED.into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Trigger {
    payment_id: String,
    event_type: String,
    /// Fields sent in place of the payment's own: `{"resource.amount": 1}`.
    overrides: Option<serde_json::Map<String, Value>>,
}

pub(crate) async fn trigger(
    State(state): State<AppState>,
    Extension(Authed(service)): Extension<Authed>,
    body: Bytes,
) -> Result<Response, SandboxProblem> {
    let body: Trigger = json_of(&body)?;
    let event_type = event_types(Some(vec![body.event_type]))?
        .and_then(|t| t.into_iter().next())
        .expect("one type asked, one parsed");
    let overrides: Vec<(String, Value)> = body.overrides.unwrap_or_default().into_iter().collect();
    let ids = sandbox::operations::trigger_webhook(
        state.store.as_ref(),
        state.webhooks.as_ref(),
        state.clock.as_ref(),
        &service,
        &body.payment_id,
        event_type,
        &overrides,
    )
    .await
    .map_err(|f| SandboxProblem::from_failure(f, Language::En))?;
    Ok((StatusCode::ACCEPTED, Json(json!({"message_ids": ids}))).into_response())
}

pub(crate) async fn get_faults(
    State(state): State<AppState>,
    Extension(Authed(service)): Extension<Authed>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, SandboxProblem> {
    let sub = own(&state, &service.id, id).await?;
    let faults = subscription::delivery_faults(state.webhooks.as_ref(), &sub)
        .await
        .map_err(failed)?;
    Ok(Json(faults).into_response())
}

pub(crate) async fn set_faults(
    State(state): State<AppState>,
    Extension(Authed(service)): Extension<Authed>,
    id: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<Response, SandboxProblem> {
    let sub = own(&state, &service.id, id).await?;
    let asked: DeliveryFaults = json_of(&body)?;
    let faults =
        subscription::set_delivery_faults(state.webhooks.as_ref(), &service, &sub, Some(asked))
            .await
            .map_err(failed)?;
    Ok(Json(faults).into_response())
}

pub(crate) async fn clear_faults(
    State(state): State<AppState>,
    Extension(Authed(service)): Extension<Authed>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, SandboxProblem> {
    let sub = own(&state, &service.id, id).await?;
    subscription::set_delivery_faults(state.webhooks.as_ref(), &service, &sub, None)
        .await
        .map_err(failed)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
