//! Webhook subscriptions: where a service wants to hear about which events, and the secret
//! that signs what it hears.

use crate::clock::Clock;
use crate::ids;
use crate::payment::return_url;
use crate::ports::{StoreError, WebhookStore};
use crate::service::Service;
use crate::staff::Actor;

use super::{DeliveryFaults, EventType, Subscription};

/// What a caller may change; `None` keeps the value.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    pub callback_url: Option<String>,
    pub description: Option<String>,
    pub event_types: Option<Vec<EventType>>,
    pub active: Option<bool>,
}

#[derive(Debug, thiserror::Error)]
pub enum SubscriptionError {
    #[error("the callback URL must be an absolute http or https URL: {0}")]
    BadUrl(String),
    #[error("a live service's callback URL must use https: {0}")]
    NotHttps(String),
    #[error("no webhook {0}")]
    NotFound(String),
    #[error("no webhook message {0}")]
    NoMessage(String),
    #[error("webhook {0} is not active: activate it first")]
    Inactive(String),
    #[error("{0}")]
    BadDeliveryFaults(&'static str),
    #[error("webhook {0} is a live service's: it has no delivery faults")]
    LiveService(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A new signing secret: 160 random bits, prefixed so it is recognisable in a config file.
pub fn new_secret() -> String {
    format!("webhook_secret_{}", ids::random_base32(32))
}

fn check_url(service: &Service, url: &str) -> Result<(), SubscriptionError> {
    if !return_url::is_valid(url) {
        return Err(SubscriptionError::BadUrl(url.into()));
    }
    if service.live && !return_url::is_https(url) {
        return Err(SubscriptionError::NotHttps(url.into()));
    }
    Ok(())
}

/// Creates an active subscription of `service` (the types GOV.UK Pay sends,
/// `EventType::DEFAULT`, when `event_types` is empty); returns it with its signing secret.
pub async fn create(
    store: &dyn WebhookStore,
    clock: &dyn Clock,
    actor: Actor<'_>,
    service: &Service,
    callback_url: &str,
    description: &str,
    event_types: &[EventType],
) -> Result<(Subscription, String), SubscriptionError> {
    check_url(service, callback_url)?;
    let mut types: Vec<EventType> = if event_types.is_empty() {
        EventType::DEFAULT.to_vec()
    } else {
        event_types.to_vec()
    };
    types.sort_by_key(|t| t.as_str());
    types.dedup();
    let now = clock.now_ms();
    let secret = new_secret();
    loop {
        let sub = Subscription {
            id: ids::new_id(),
            service_id: service.id.clone(),
            tag: ids::random_base32(6),
            callback_url: callback_url.into(),
            description: description.into(),
            event_types: types.clone(),
            active: true,
            secret_version: 1,
            created_ms: now,
            updated_ms: now,
        };
        let detail = format!("added webhook {} to {}", sub.id, sub.callback_url);
        let audit = actor.entry(clock, Some(&service.id), "webhook", detail);
        match store.insert_webhook(&sub, &secret, audit.as_ref()).await {
            // A tag already taken (one in a billion): draw again.
            Err(StoreError::Duplicate) => continue,
            other => return other.map(|()| (sub, secret)).map_err(Into::into),
        }
    }
}

/// Applies `changes` to `sub`, a subscription of `service` as stored. Deactivating it stops
/// its pending messages (GOV.UK Pay's WILL_NOT_SEND).
pub async fn update(
    store: &dyn WebhookStore,
    clock: &dyn Clock,
    actor: Actor<'_>,
    service: &Service,
    mut sub: Subscription,
    changes: Changes,
) -> Result<Subscription, SubscriptionError> {
    if sub.service_id != service.id {
        return Err(SubscriptionError::NotFound(sub.id));
    }
    let what = match changes.active {
        Some(active) if active != sub.active => {
            if active {
                "activated"
            } else {
                "deactivated"
            }
        }
        _ if changes.callback_url.is_none() && changes.description.is_none() => {
            "changed the events of"
        }
        _ => "changed",
    };
    if let Some(url) = changes.callback_url {
        check_url(service, &url)?;
        sub.callback_url = url;
    }
    if let Some(d) = changes.description {
        sub.description = d;
    }
    if let Some(mut types) = changes.event_types.filter(|t| !t.is_empty()) {
        types.sort_by_key(|t| t.as_str());
        types.dedup();
        sub.event_types = types;
    }
    if let Some(active) = changes.active {
        sub.active = active;
    }
    sub.updated_ms = clock.now_ms();
    let detail = format!("{what} webhook {}", sub.id);
    let audit = actor.entry(clock, Some(&service.id), "webhook", detail);
    store.update_webhook(&sub, audit.as_ref()).await?;
    Ok(sub)
}

/// A new signing secret for subscription `id`, used for messages created from now on.
pub async fn rotate_secret(
    store: &dyn WebhookStore,
    clock: &dyn Clock,
    actor: Actor<'_>,
    sub: &Subscription,
) -> Result<String, SubscriptionError> {
    let (id, secret) = (sub.id.as_str(), new_secret());
    let detail = format!("new signing secret for webhook {id}");
    let audit = actor.entry(clock, Some(&sub.service_id), "webhook", detail);
    if !store
        .rotate_webhook_secret(id, &secret, clock.now_ms(), audit.as_ref())
        .await?
    {
        return Err(SubscriptionError::NotFound(id.into()));
    }
    Ok(secret)
}

/// Sends message `id` again now (GOV.UK Pay cannot), if its subscription is active.
pub async fn resend(
    store: &dyn WebhookStore,
    clock: &dyn Clock,
    id: &str,
) -> Result<(), SubscriptionError> {
    let m = store
        .webhook_message(id)
        .await?
        .ok_or_else(|| SubscriptionError::NoMessage(id.into()))?;
    match store.webhook(&m.webhook_id).await? {
        Some(w) if w.active => {}
        _ => return Err(SubscriptionError::Inactive(m.webhook_id)),
    }
    if !store.resend_webhook_message(id, clock.now_ms()).await? {
        return Err(SubscriptionError::NoMessage(id.into()));
    }
    Ok(())
}

/// How subscription `sub` is delivered to (all faults off when none are set).
pub async fn delivery_faults(
    store: &dyn WebhookStore,
    sub: &Subscription,
) -> Result<DeliveryFaults, SubscriptionError> {
    Ok(store.delivery_faults_of(&sub.id).await?)
}

/// Delivers to `sub`, a subscription of the test service `service`, badly on purpose as
/// `asked` says (none, or all off: as GOV.UK Pay delivers); answers the faults now set.
pub async fn set_delivery_faults(
    store: &dyn WebhookStore,
    service: &Service,
    sub: &Subscription,
    asked: Option<DeliveryFaults>,
) -> Result<DeliveryFaults, SubscriptionError> {
    if sub.service_id != service.id {
        return Err(SubscriptionError::NotFound(sub.id.clone()));
    }
    if service.live {
        return Err(SubscriptionError::LiveService(sub.id.clone()));
    }
    let asked = asked.filter(|f| *f != DeliveryFaults::default());
    if let Some(f) = &asked {
        f.check().map_err(SubscriptionError::BadDeliveryFaults)?;
    }
    store.set_delivery_faults(&sub.id, asked.as_ref()).await?;
    delivery_faults(store, sub).await
}
