//! The sandbox's paying user without a browser (issue 15): a test service drives its own
//! payment's card journey over the control API, through the same steps, rules and
//! conditional changes as the card pages (`journey`), so what it gets is what a browser would.

use crate::clock::Clock;
use crate::journey::card::form::{self, CardForm};
use crate::journey::{self, Deps};
use crate::ledger::EventKind;
use crate::payment::status::Status;
use crate::payment::transition::{self, Move};
use crate::payment::{AuthorisationMode, PaymentRecord};
use crate::refusal::sandbox::{SandboxRefusal, LATEST_CLOCK_MS};
use crate::refusal::{Failure, Refusal};
use crate::service::{EmailCollection, Service};

/// A billing address as the sandbox's paying user types it.
#[derive(Debug, Clone, Default)]
pub struct AddressInput {
    pub line1: Option<String>,
    pub line2: Option<String>,
    pub city: Option<String>,
    pub postcode: Option<String>,
    pub country: Option<String>,
}

/// What the paying user types and chooses. Omitted fields get what a tester would type
/// (the service's prefilled values first); a field given, even empty, is typed as given, so
/// a test can provoke the page's own errors.
#[derive(Clone, Default)]
pub struct PayRequest {
    pub card_number: String,
    pub cardholder_name: Option<String>,
    /// `MM/YY`.
    pub expiry: Option<String>,
    pub cvc: Option<String>,
    pub billing_address: Option<AddressInput>,
    pub email: Option<String>,
    /// The answer to a 3-D Secure challenge, if the card gets one (default: passed).
    pub three_ds_passes: bool,
    /// Press "Confirm payment" after authorisation (default), or stop at the confirm page.
    pub confirm: bool,
}

/// Never prints the card number or the security code.
impl std::fmt::Debug for PayRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayRequest")
            .field("three_ds_passes", &self.three_ds_passes)
            .field("confirm", &self.confirm)
            .finish_non_exhaustive()
    }
}

fn refused(r: SandboxRefusal) -> Failure {
    Failure::Refused(Refusal::Sandbox(r))
}

/// A test service's own payment with card pages; anything else is not found.
async fn web_payment(
    deps: Deps<'_>,
    service: &Service,
    id: &str,
) -> Result<PaymentRecord, Failure> {
    if service.live {
        return Err(Refusal::NotFound.into());
    }
    let p = crate::payment::operations::find_payment(deps.store, service, id).await?;
    if p.authorisation_mode != AuthorisationMode::Web {
        return Err(refused(SandboxRefusal::NoCardPages));
    }
    Ok(p)
}

/// Opens the card page, as following next_url does: a new payment starts.
async fn open(deps: Deps<'_>, p: PaymentRecord) -> Result<PaymentRecord, Failure> {
    if p.status != Status::Created {
        return Ok(p);
    }
    let started = transition::step(deps.store, deps.clock, &p.id, |p, now| {
        (p.status == Status::Created).then(|| {
            Move::to(
                p,
                Status::EnteringCardDetails,
                EventKind::PaymentStarted,
                now,
            )
        })
    })
    .await?;
    Ok(started.map(|a| a.payment).unwrap_or(p))
}

/// The card form as the user fills it in.
fn typed(p: &PaymentRecord, service: &Service, req: &PayRequest, clock: &dyn Clock) -> CardForm {
    let mut f = CardForm::prefilled(p);
    f.card_no = req.card_number.clone();
    let (month, year) = match &req.expiry {
        Some(e) => match e.split_once('/') {
            Some((m, y)) => (m.to_string(), y.to_string()),
            None => (e.clone(), String::new()),
        },
        None => {
            let year = time::OffsetDateTime::from_unix_timestamp(clock.now_ms() / 1000)
                .map(|t| t.year())
                .unwrap_or(2030);
            ("12".into(), format!("{:02}", (year + 3) % 100))
        }
    };
    (f.expiry_month, f.expiry_year) = (month, year);
    f.cvc = req.cvc.clone().unwrap_or_else(|| "123".into());
    f.cardholder_name = match &req.cardholder_name {
        Some(name) => name.clone(),
        None if f.cardholder_name.is_empty() => "Sandbox Payer".into(),
        None => f.cardholder_name,
    };
    if service.cards.collect_billing_address {
        let a = req.billing_address.clone().unwrap_or_default();
        let or = |given: Option<String>, prefilled: String, default: &str| {
            given.unwrap_or(if prefilled.is_empty() {
                default.into()
            } else {
                prefilled
            })
        };
        f.address_line1 = or(a.line1, f.address_line1, "1 Sandbox Street");
        f.address_line2 = a.line2.unwrap_or(f.address_line2);
        f.address_city = or(a.city, f.address_city, "London");
        f.address_postcode = or(a.postcode, f.address_postcode, "SW1A 1AA");
        f.address_country = or(a.country, f.address_country, "GB");
    }
    f.email = match &req.email {
        Some(email) => email.clone(),
        None if f.email.is_empty()
            && service.cards.email_collection == EmailCollection::Mandatory =>
        {
            "payer@example.org".into()
        }
        None => f.email,
    };
    f
}

/// Each of these runs on the service's own clock (`deps.clock` is the node's).
///
/// Pays: opens the card page, submits the card (refused as the page would refuse it),
/// answers a 3-D Secure challenge, and confirms unless told not to. Answers the payment as
/// it then is (declined, at the confirm page, or confirmed).
pub async fn pay(
    deps: Deps<'_>,
    service: &Service,
    id: &str,
    req: &PayRequest,
) -> Result<PaymentRecord, Failure> {
    let clock = service.clock(deps.clock);
    let deps = Deps {
        clock: &clock,
        ..deps
    };
    pay_on(deps, service, id, req).await
}

/// `pay`, with `deps.clock` already the time it happens at (the service's clock, or a
/// fixture's moment on it).
pub(crate) async fn pay_on(
    deps: Deps<'_>,
    service: &Service,
    id: &str,
    req: &PayRequest,
) -> Result<PaymentRecord, Failure> {
    let p = opened(deps, service, id).await?;
    let form = typed(&p, service, req, deps.clock);
    let ctx = form::Context::at(&service.cards, deps.clock.now_ms());
    let card = form::validate(&form, &ctx).map_err(|e| refused(SandboxRefusal::CardDetails(e)))?;
    let mut p = journey::submit_card(deps, &p.id, &card, &service.cards)
        .await?
        .unwrap_or(p);
    if p.status == Status::Authorisation3dsRequired {
        p = journey::three_ds_result(deps, &p.id, req.three_ds_passes)
            .await?
            .unwrap_or(p);
    }
    if p.status == Status::AuthorisationSuccess && req.confirm {
        p = journey::confirm(deps, &p.id).await?.unwrap_or(p);
    }
    Ok(p)
}

/// The payer of a test service's payment link without a browser: the link's questions
/// answered by its pages' rules, its payment taken as the confirm page takes it (returning
/// to `completion_base/{link payment id}`), then paid as `pay` pays it.
pub async fn pay_link(
    deps: Deps<'_>,
    service: &Service,
    link: &crate::link::PaymentLink,
    amount: Option<i64>,
    reference: Option<&str>,
    completion_base: &str,
    req: &PayRequest,
) -> Result<PaymentRecord, Failure> {
    if link.service_id != service.id || service.live {
        return Err(Refusal::NotFound.into());
    }
    let choices = crate::link::payer::check_answers(link, amount, reference)
        .map_err(|p| refused(SandboxRefusal::LinkAnswer(p)))?;
    let clock = service.clock(deps.clock);
    let taken = crate::link::operations::take_payment(
        deps.store,
        &clock,
        service,
        link,
        choices,
        completion_base,
    )
    .await?;
    pay(deps, service, &taken.payment.id, req).await
}

/// The user opens the card page and leaves: the payment is started and left to expire.
pub async fn abandon(
    deps: Deps<'_>,
    service: &Service,
    id: &str,
) -> Result<PaymentRecord, Failure> {
    let clock = service.clock(deps.clock);
    let deps = Deps {
        clock: &clock,
        ..deps
    };
    opened(deps, service, id).await
}

/// The card page opened on the service's web payment `id`: started, and refused unless it
/// now waits for card details.
pub(crate) async fn opened(
    deps: Deps<'_>,
    service: &Service,
    id: &str,
) -> Result<PaymentRecord, Failure> {
    let p = open(deps, web_payment(deps, service, id).await?).await?;
    if p.status != Status::EnteringCardDetails {
        return Err(refused(SandboxRefusal::NotAwaitingCard {
            status: p.status,
        }));
    }
    Ok(p)
}

/// The user presses "Cancel payment" on the card page or the confirm page.
pub async fn cancel(deps: Deps<'_>, service: &Service, id: &str) -> Result<PaymentRecord, Failure> {
    let clock = service.clock(deps.clock);
    let deps = Deps {
        clock: &clock,
        ..deps
    };
    cancel_on(deps, service, id).await
}

/// `cancel`, with `deps.clock` already the time it happens at.
pub(crate) async fn cancel_on(
    deps: Deps<'_>,
    service: &Service,
    id: &str,
) -> Result<PaymentRecord, Failure> {
    let p = open(deps, web_payment(deps, service, id).await?).await?;
    use Status::*;
    if !matches!(
        p.status,
        EnteringCardDetails | AuthorisationSuccess | Authorisation3dsRequired
    ) {
        return Err(refused(SandboxRefusal::NotAwaitingCard {
            status: p.status,
        }));
    }
    Ok(journey::user_cancel(deps, &p.id).await?.unwrap_or(p))
}

/// A test service's time: the node's, `offset_ms` ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceTime {
    pub now_ms: i64,
    pub offset_ms: i64,
}

/// How a test service's clock is moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockMove {
    /// Forward by this much.
    Advance { ms: i64 },
    /// Forward to this time.
    To { now_ms: i64 },
    /// Back to the node's time.
    Reset,
}

/// Sweep rounds run for a service right after its clock moves, so the caller sees what the
/// move caused (capture, then settlement, then a dispute...) when the call returns.
const ROUNDS_AFTER_A_MOVE: usize = 10;

/// Runs the service's sweep rounds on its clock at `offset_ms` until they find nothing to do.
async fn settle_all(
    store: &dyn crate::ports::Store,
    node: &dyn Clock,
    psp: &dyn crate::psp::PaymentProvider,
    service_id: &str,
    offset_ms: i64,
) -> Result<crate::sweeps::Swept, Failure> {
    let at = crate::clock::Offset {
        base: node,
        offset_ms,
    };
    let scope = if offset_ms == 0 {
        crate::ports::Scope::NodeClock
    } else {
        crate::ports::Scope::Service(service_id)
    };
    let mut swept = crate::sweeps::Swept::default();
    for _ in 0..ROUNDS_AFTER_A_MOVE {
        let round = crate::sweeps::round(store, &at, psp, scope).await?;
        if round == crate::sweeps::Swept::default() {
            break;
        }
        swept += round;
    }
    Ok(swept)
}

/// A test service's time, read afresh (another node may have moved it).
pub async fn clock(
    store: &dyn crate::ports::Store,
    node: &dyn Clock,
    service_id: &str,
) -> Result<ServiceTime, Failure> {
    let service = store
        .service(service_id)
        .await?
        .filter(|s| !s.live)
        .ok_or(Failure::Refused(Refusal::NotFound))?;
    Ok(ServiceTime {
        now_ms: service.clock(node).now_ms(),
        offset_ms: service.clock_offset_ms,
    })
}

/// Moves a test service's clock. What is due now happens now; then every timer that falls
/// due before the new time fires in order, dated when it was due (`timeline`), while every
/// node's sweeps keep off the service, and the webhook messages due on the way are attempted
/// at their times (`DueDelivery`); then the new time is stored and its sweeps run on it.
/// The service's time after, and what the timers, deliveries and sweeps did.
pub async fn move_clock(
    store: &dyn crate::ports::Store,
    node: &dyn Clock,
    psp: &dyn crate::psp::PaymentProvider,
    delivery: &dyn crate::webhook::DueDelivery,
    service_id: &str,
    how: ClockMove,
) -> Result<(ServiceTime, crate::sweeps::Swept), Failure> {
    let before = clock(store, node, service_id).await?;
    // What is due now happens now (a confirmed payment is captured at the time it was due),
    // then the rest at the new time.
    let mut swept = settle_all(store, node, psp, service_id, before.offset_ms).await?;
    let to_ms = match how {
        ClockMove::Advance { ms } if ms >= 0 => before.now_ms.checked_add(ms),
        ClockMove::To { now_ms } if now_ms >= before.now_ms => Some(now_ms),
        ClockMove::Reset => Some(before.now_ms - before.offset_ms),
        _ => return Err(refused(SandboxRefusal::ClockBackwards)),
    };
    let Some(to_ms) = to_ms.filter(|t| *t <= LATEST_CLOCK_MS) else {
        return Err(refused(SandboxRefusal::ClockTooFar));
    };
    if to_ms > before.now_ms {
        let lease = crate::clock::system_now_ms() + super::HOLD_SWEEPS_MS;
        if !store.hold_sweeps(service_id, Some(lease)).await? {
            return Err(Refusal::NotFound.into());
        }
        let timers =
            super::timeline::fire_until(store, psp, service_id, before.now_ms, to_ms).await;
        // The messages those timers made, and any already waiting, on their retry ladder.
        // Delivery changes no payment, so it can follow the timers rather than interleave.
        let delivered = match &timers {
            Ok(_) => delivery
                .deliver_due(service_id, to_ms)
                .await
                .map_err(Failure::from),
            Err(_) => Ok(0),
        };
        store.hold_sweeps(service_id, None).await?;
        swept += timers?;
        swept.webhook_attempts = delivered?;
    }
    let offset_ms = before.offset_ms + (to_ms - before.now_ms);
    if !store.set_clock_offset(service_id, offset_ms).await? {
        return Err(Refusal::NotFound.into());
    }
    swept += settle_all(store, node, psp, service_id, offset_ms).await?;
    // The time it was moved to (the node's clock has gone on a little since).
    let now_ms = before.now_ms + (offset_ms - before.offset_ms);
    Ok((ServiceTime { now_ms, offset_ms }, swept))
}

/// Sends a webhook message of `event_type` for the payment as it is now, dated by the
/// service's clock, to the service's active subscriptions that take that type (marked as
/// triggered in their delivery logs); the messages' ids.
pub async fn trigger_webhook(
    store: &dyn crate::ports::Store,
    webhooks: &dyn crate::ports::WebhookStore,
    node: &dyn Clock,
    service: &Service,
    payment_id: &str,
    event_type: crate::webhook::EventType,
    overrides: &[(String, serde_json::Value)],
) -> Result<Vec<String>, Failure> {
    if service.live {
        return Err(Refusal::NotFound.into());
    }
    let p = crate::payment::operations::find_payment(store, service, payment_id).await?;
    let mut resource =
        serde_json::to_value(crate::payment::present::resource(&p)).expect("a payment serialises");
    for (path, value) in overrides {
        set_at(&mut resource, path, value.clone())
            .map_err(|why| refused(SandboxRefusal::BadOverride(why)))?;
    }
    let notice = crate::ledger::record::Notice {
        event_type,
        payment_id: p.id.clone(),
        service_id: service.id.clone(),
        at_ms: service.clock(node).now_ms(),
        resource: resource.to_string(),
    };
    let shown: Vec<String> = overrides.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let shown = (!shown.is_empty()).then(|| shown.join(", "));
    let ids = webhooks
        .insert_triggered_messages(&notice, shown.as_deref())
        .await?;
    if ids.is_empty() {
        return Err(refused(SandboxRefusal::NoSubscription(event_type)));
    }
    Ok(ids)
}

/// Sets `value` at `path` (`resource.state.status`) in a message's resource, making the
/// objects on the way; only `resource.…` can be overridden.
fn set_at(
    resource: &mut serde_json::Value,
    path: &str,
    value: serde_json::Value,
) -> Result<(), String> {
    let Some(inner) = path.strip_prefix("resource.") else {
        return Err(format!(
            "{path}: only the resource's fields can be overridden (resource.…)"
        ));
    };
    let mut at = resource;
    let mut parts = inner.split('.').peekable();
    while let Some(part) = parts.next() {
        if part.is_empty() {
            return Err(format!("{path}: an empty field name"));
        }
        let serde_json::Value::Object(fields) = at else {
            return Err(format!(
                "{path}: {part} is inside a value that is not an object"
            ));
        };
        if parts.peek().is_none() {
            fields.insert(part.to_string(), value);
            return Ok(());
        }
        at = fields
            .entry(part.to_string())
            .or_insert_with(|| serde_json::Value::Object(Default::default()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn overrides_set_a_resource_field_making_objects_on_the_way() {
        let mut r = json!({"amount": 100, "state": {"status": "success"}});
        super::set_at(&mut r, "resource.state.status", json!("failed")).unwrap();
        super::set_at(&mut r, "resource.amount", json!(1)).unwrap();
        super::set_at(&mut r, "resource.metadata.ward", json!("B")).unwrap();
        assert_eq!(
            r,
            json!({"amount": 1, "state": {"status": "failed"}, "metadata": {"ward": "B"}})
        );
        assert!(super::set_at(&mut r, "event_type", json!("x")).is_err());
        assert!(super::set_at(&mut r, "resource.amount.x", json!(1)).is_err());
        assert!(super::set_at(&mut r, "resource..x", json!(1)).is_err());
    }
}
