//! A service's webhooks, for its admins: added with their signing secret shown once, the
//! delivery log with each attempt, a new secret, the events sent, deactivation, resending a
//! message. The same use cases as the CLI and the control API.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use pence_core::staff::Actor;
use pence_core::timefmt;
use pence_core::webhook::queries::{self, MessagesOf};
use pence_core::webhook::subscription::{self, Changes};
use pence_core::webhook::Subscription;

use super::access::{Admin, OnService};
use super::views::{
    EventChoice, Frame, MessagePage, MessageRow, WebhookPage, WebhookRow, WebhooksPage,
};
use super::{
    form, message, not_found, page, see_other, AdminError, Answer, NoteQuery, SettingsForm,
};
use crate::state::AppState;
use pence_core::webhook::EventType;

fn webhook_row(w: &Subscription) -> WebhookRow {
    WebhookRow {
        id: w.id.clone(),
        url: w.callback_url.clone(),
        description: w.description.clone(),
        events: w
            .event_types
            .iter()
            .map(|e| e.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        state: if w.active { "active" } else { "inactive" },
        active: w.active,
    }
}

async fn webhooks_page(
    state: &AppState,
    on: &OnService,
    new_secret: Option<String>,
    errors: Vec<(&'static str, String)>,
) -> Answer {
    let subs = queries::subscriptions(state.webhooks.as_ref(), Some(&on.service.id)).await?;
    let view = WebhooksPage {
        frame: Frame::on(&on.staff, &on.service, "Webhooks"),
        webhooks: subs.iter().map(webhook_row).collect(),
        new_secret,
        errors,
    };
    Ok(page(StatusCode::OK, view))
}

pub async fn webhooks(State(state): State<AppState>, Admin(on): Admin) -> Answer {
    webhooks_page(&state, &on, None, Vec::new()).await
}

pub async fn create_webhook(
    State(state): State<AppState>,
    Admin(on): Admin,
    body: Bytes,
) -> Answer {
    let f: SettingsForm = form(&body);
    on.check_form(&f.csrf)?;
    let clock = state.clock.as_ref();
    let created = subscription::create(
        state.webhooks.as_ref(),
        clock,
        Actor::Staff(&on.staff.user),
        &on.service,
        f.url.trim(),
        f.description.trim(),
        &[],
    )
    .await;
    match created {
        Ok((_, secret)) => webhooks_page(&state, &on, Some(secret), Vec::new()).await,
        Err(subscription::SubscriptionError::Store(e)) => Err(AdminError::fault(e)),
        Err(e) => webhooks_page(&state, &on, None, vec![("webhook-url", e.to_string())]).await,
    }
}

/// Messages with their attempts in words, newest first, 50 at most.
pub(super) async fn message_rows(
    state: &AppState,
    of: MessagesOf<'_>,
) -> Result<Vec<MessageRow>, AdminError> {
    let messages = queries::messages_with_attempts(state.webhooks.as_ref(), of, 50).await?;
    let mut rows = Vec::new();
    for (m, attempts) in messages {
        rows.push(MessageRow {
            id: m.id.clone(),
            event: match m.origin() {
                Some(origin) => format!("{} ({origin})", m.event_type),
                None => m.event_type.clone(),
            },
            payment_id: m.payment_id.clone(),
            status: m.status.as_str().to_string(),
            attempts: attempts
                .iter()
                .map(|a| {
                    let outcome = match (a.status_code, &a.error) {
                        (Some(code), _) => format!("HTTP {code}"),
                        (None, Some(e)) => e.clone(),
                        (None, None) => "no answer".into(),
                    };
                    let fault = a
                        .fault
                        .as_ref()
                        .map(|f| format!(" (sandbox: {f})"))
                        .unwrap_or_default();
                    format!(
                        "{}: {outcome} in {} ms{fault}",
                        timefmt::readable(a.at_ms),
                        a.response_ms
                    )
                })
                .collect(),
        });
    }
    Ok(rows)
}

/// A form post about one of the service's subscriptions, by its admin: both, or the page to
/// answer instead.
async fn posted_subscription(
    state: &AppState,
    on: &OnService,
    webhook_id: &str,
    sent_csrf: &str,
) -> Result<Subscription, AdminError> {
    on.check_form(sent_csrf)?;
    subscription_of(state, on, webhook_id).await
}

/// The subscription, if it is this service's.
async fn subscription_of(
    state: &AppState,
    on: &OnService,
    webhook_id: &str,
) -> Result<Subscription, AdminError> {
    let found =
        queries::subscription(state.webhooks.as_ref(), Some(&on.service.id), webhook_id).await?;
    found.ok_or_else(|| not_found(Some(&on.staff.signed_in())).into())
}

async fn webhook_page(
    state: &AppState,
    on: &OnService,
    w: &Subscription,
    new_secret: Option<String>,
    note: Option<String>,
) -> Answer {
    let rows = message_rows(state, MessagesOf::Subscription(&w.id, None)).await?;
    let events = EventType::ALL
        .iter()
        .map(|e| EventChoice {
            id: e.as_str(),
            on: w.event_types.contains(e),
        })
        .collect();
    let view = WebhookPage {
        events,
        frame: Frame::on(&on.staff, &on.service, "Webhook"),
        w: webhook_row(w),
        messages: rows,
        new_secret,
        note,
    };
    Ok(page(StatusCode::OK, view))
}

pub async fn webhook(
    State(state): State<AppState>,
    Admin(on): Admin,
    Path((_, webhook_id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Answer {
    let w = subscription_of(&state, &on, &webhook_id).await?;
    let q: NoteQuery = form(query.unwrap_or_default().as_bytes());
    let note = match q.note.as_deref() {
        Some("resent") => Some("The message will be sent again now.".to_string()),
        Some("changed") => Some("Saved.".to_string()),
        _ => None,
    };
    webhook_page(&state, &on, &w, None, note).await
}

pub async fn rotate_webhook_secret(
    State(state): State<AppState>,
    Admin(on): Admin,
    Path((_, webhook_id)): Path<(String, String)>,
    body: Bytes,
) -> Answer {
    let f: SettingsForm = form(&body);
    let w = posted_subscription(&state, &on, &webhook_id, &f.csrf).await?;
    let clock = state.clock.as_ref();
    let actor = Actor::Staff(&on.staff.user);
    match subscription::rotate_secret(state.webhooks.as_ref(), clock, actor, &w).await {
        Ok(secret) => webhook_page(&state, &on, &w, Some(secret), None).await,
        Err(e) => Err(AdminError::fault(e)),
    }
}

/// Saves `changes` to a subscription; back to its page.
async fn change_subscription(
    state: &AppState,
    on: &OnService,
    w: Subscription,
    changes: Changes,
) -> Answer {
    let (clock, actor) = (state.clock.as_ref(), Actor::Staff(&on.staff.user));
    let webhooks = state.webhooks.as_ref();
    match subscription::update(webhooks, clock, actor, &on.service, w, changes).await {
        Ok(w) => Ok(see_other(&format!(
            "/admin/services/{}/webhooks/{}?note=changed",
            on.service.id, w.id
        ))),
        Err(e) => Err(AdminError::fault(e)),
    }
}

pub async fn webhook_events(
    State(state): State<AppState>,
    Admin(on): Admin,
    Path((_, webhook_id)): Path<(String, String)>,
    body: Bytes,
) -> Answer {
    let fields: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let csrf = fields
        .iter()
        .find(|(k, _)| k == "csrfToken")
        .map_or("", |(_, v)| v.as_str());
    let w = posted_subscription(&state, &on, &webhook_id, csrf).await?;
    let chosen: Vec<EventType> = fields
        .iter()
        .filter(|(k, _)| k == "event")
        .filter_map(|(_, v)| EventType::parse(v))
        .collect();
    if chosen.is_empty() {
        return Ok(message(
            StatusCode::BAD_REQUEST,
            Some(&on.staff.signed_in()),
            "Choose at least one event",
            "A webhook sends at least one kind of event: go back and choose one, or deactivate it.",
        ));
    }
    let changes = Changes {
        event_types: Some(chosen),
        ..Changes::default()
    };
    change_subscription(&state, &on, w, changes).await
}

pub async fn toggle_webhook(
    State(state): State<AppState>,
    Admin(on): Admin,
    Path((_, webhook_id)): Path<(String, String)>,
    body: Bytes,
) -> Answer {
    let f: SettingsForm = form(&body);
    let w = posted_subscription(&state, &on, &webhook_id, &f.csrf).await?;
    let active = !w.active;
    let changes = Changes {
        active: Some(active),
        ..Changes::default()
    };
    change_subscription(&state, &on, w, changes).await
}

pub async fn resend_message(
    State(state): State<AppState>,
    Admin(on): Admin,
    Path((_, webhook_id, message_id)): Path<(String, String, String)>,
    body: Bytes,
) -> Answer {
    let f: SettingsForm = form(&body);
    let w = posted_subscription(&state, &on, &webhook_id, &f.csrf).await?;
    let store = state.webhooks.as_ref();
    match queries::message(store, Some(&on.service.id), &message_id).await {
        Ok(Some(m)) if m.webhook_id == w.id => {}
        Ok(_) => return Ok(not_found(Some(&on.staff.signed_in()))),
        Err(e) => return Err(AdminError::fault(e)),
    }
    match subscription::resend(store, state.clock.as_ref(), &message_id).await {
        Ok(()) => Ok(see_other(&format!(
            "/admin/services/{}/webhooks/{}?note=resent",
            on.service.id, w.id
        ))),
        Err(e) => {
            let view = MessagePage {
                frame: Frame::signed_in(&on.staff, "The message cannot be sent again"),
                text: e.to_string(),
            };
            Ok(page(StatusCode::CONFLICT, view))
        }
    }
}
