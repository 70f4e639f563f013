//! Payment links' use cases: staff make, change and delete them (admin tool, CLI and links
//! API call the same functions), and a payer takes a payment through one.

use serde_json::json;

use crate::clock::Clock;
use crate::ids;
use crate::payment::operations::{create_payment_through, Created, Extras};
use crate::payment::{Language, PaymentRecord};
use crate::ports::{LinkStore, Store, StoreError};
use crate::refusal::Failure;
use crate::service::Service;
use crate::staff::Actor;

use super::{
    check, generated_reference, LinkDraft, LinkInvalid, LinkPayment, PaymentLink, Takings,
};

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error(transparent)]
    Invalid(#[from] LinkInvalid),
    /// GOV.UK Pay's text when another link has the address.
    #[error("The website address is already taken")]
    AddressTaken,
    #[error("no payment link {0}")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A draft checked and made a link of `service`, keeping `id` and `created_ms`.
fn link_from(
    service: &Service,
    mut draft: LinkDraft,
    id: String,
    created_ms: i64,
    now: i64,
) -> Result<PaymentLink, LinkError> {
    check(&mut draft)?;
    let service_path = draft
        .service_path
        .unwrap_or_else(|| super::slugify(&service.name));
    let link_path = draft
        .link_path
        .unwrap_or_else(|| super::slugify(&draft.title));
    if service_path.is_empty() || link_path.is_empty() {
        return Err(LinkInvalid {
            field: if service_path.is_empty() {
                "service_path"
            } else {
                "link_path"
            },
            message: "Enter a payment link address".into(),
        }
        .into());
    }
    Ok(PaymentLink {
        id,
        service_id: service.id.clone(),
        title: draft.title,
        details: draft.details,
        amount: draft.amount,
        amount_hint: draft.amount.map_or(draft.amount_hint, |_| None),
        reference: draft.reference,
        language: draft.language.unwrap_or(Language::En),
        metadata: draft.metadata,
        service_path,
        link_path,
        created_ms,
        updated_ms: now,
    })
}

/// Makes a link of `service` from `draft`.
pub async fn create(
    store: &dyn LinkStore,
    clock: &dyn Clock,
    actor: Actor<'_>,
    service: &Service,
    draft: LinkDraft,
) -> Result<PaymentLink, LinkError> {
    let now = clock.now_ms();
    let link = link_from(service, draft, ids::new_id(), now, now)?;
    let detail = format!("created payment link {} at {}", link.id, link.address());
    let audit = actor.entry(clock, Some(&service.id), "payment link", detail);
    match store.insert_payment_link(&link, audit.as_ref()).await {
        Err(StoreError::Duplicate) => Err(LinkError::AddressTaken),
        other => other.map(|()| link).map_err(Into::into),
    }
}

/// The service's link `id`.
pub async fn find(
    store: &dyn LinkStore,
    service: &Service,
    id: &str,
) -> Result<PaymentLink, LinkError> {
    let found = match ids::could_be_id(id) {
        true => store.payment_link(id).await?,
        false => None,
    };
    found
        .filter(|l| l.service_id == service.id)
        .ok_or_else(|| LinkError::NotFound(id.into()))
}

/// The service's link `id` with what it has taken: its newest `limit` payments, and the
/// count and sum of them all.
pub async fn with_payments(
    store: &dyn LinkStore,
    service: &Service,
    id: &str,
    limit: u32,
) -> Result<(PaymentLink, Vec<PaymentRecord>, Takings), LinkError> {
    let link = find(store, service, id).await?;
    let payments = store.payments_of_link(&link.id, limit).await?;
    let takings = store.link_takings(&link.id).await?;
    Ok((link, payments, takings))
}

/// The service's links, newest first.
pub async fn list(store: &dyn LinkStore, service: &Service) -> Result<Vec<PaymentLink>, LinkError> {
    Ok(store.payment_links(&service.id).await?)
}

/// Replaces link `id` of `service` with `draft` (an address left out is kept).
pub async fn update(
    store: &dyn LinkStore,
    clock: &dyn Clock,
    actor: Actor<'_>,
    service: &Service,
    id: &str,
    mut draft: LinkDraft,
) -> Result<PaymentLink, LinkError> {
    let current = find(store, service, id).await?;
    draft.service_path.get_or_insert(current.service_path);
    draft.link_path.get_or_insert(current.link_path);
    let link = link_from(
        service,
        draft,
        current.id,
        current.created_ms,
        clock.now_ms(),
    )?;
    let detail = format!("changed payment link {} at {}", link.id, link.address());
    let audit = actor.entry(clock, Some(&service.id), "payment link", detail);
    match store.update_payment_link(&link, audit.as_ref()).await {
        Ok(true) => Ok(link),
        Ok(false) => Err(LinkError::NotFound(id.into())),
        Err(StoreError::Duplicate) => Err(LinkError::AddressTaken),
        Err(e) => Err(e.into()),
    }
}

/// Deletes link `id` of `service`: its address stops taking payments and may be used again.
pub async fn delete(
    store: &dyn LinkStore,
    clock: &dyn Clock,
    actor: Actor<'_>,
    service: &Service,
    id: &str,
) -> Result<(), LinkError> {
    let link = find(store, service, id).await?;
    let detail = format!("deleted payment link {} at {}", link.id, link.address());
    let audit = actor.entry(clock, Some(&service.id), "payment link", detail);
    match store
        .delete_payment_link(&service.id, &link.id, clock.now_ms(), audit.as_ref())
        .await?
    {
        true => Ok(()),
        false => Err(LinkError::NotFound(id.into())),
    }
}

/// The link a payer opened, by its address or its id (`/pay/{id}`), with its service, if
/// both still exist and the service takes payments.
pub async fn open(
    store: &dyn Store,
    address: Address<'_>,
) -> Result<Option<(PaymentLink, Service)>, StoreError> {
    let link = match address {
        Address::Paths(service_path, link_path)
            if super::could_be_path(service_path) && super::could_be_path(link_path) =>
        {
            store.payment_link_at(service_path, link_path).await?
        }
        Address::Paths(..) => None,
        Address::Id(id) if ids::could_be_id(id) => store.payment_link(id).await?,
        Address::Id(_) => None,
    };
    let Some(link) = link else {
        return Ok(None);
    };
    Ok(store
        .service(&link.service_id)
        .await?
        .filter(|s| !s.disabled)
        .map(|s| (link, s)))
}

/// How a payer names a link.
#[derive(Debug, Clone, Copy)]
pub enum Address<'a> {
    Paths(&'a str, &'a str),
    Id(&'a str),
}

/// What the payer settled on before paying: the amount when the link has none, the
/// reference when the link asks for one.
#[derive(Debug, Clone, Default)]
pub struct Choices {
    pub amount: Option<i64>,
    pub reference: Option<String>,
}

/// A link payment and the payment it created.
#[derive(Debug, Clone)]
pub struct Taken {
    pub link_payment: LinkPayment,
    pub payment: PaymentRecord,
}

/// Creates the payment the payer of `link` (of `service`) asked for, as GOV.UK Pay's
/// products service does through its public API: the link's title as description, the
/// payer's or a made-up reference, the link's language and reporting columns, and a return
/// to the link's completion page `{completion_base}/{link payment id}`.
pub async fn take_payment(
    store: &dyn Store,
    clock: &dyn Clock,
    service: &Service,
    link: &PaymentLink,
    choices: Choices,
    completion_base: &str,
) -> Result<Taken, Failure> {
    let amount = link.amount.or(choices.amount);
    let payer_reference = match &link.reference {
        Some(_) => choices.reference,
        None => None,
    };
    // A made-up reference that another link payment of the service has is drawn again,
    // three times at most, as GOV.UK Pay does.
    let mut tries = 0;
    loop {
        tries += 1;
        let generated = payer_reference.is_none().then(generated_reference);
        let reference = payer_reference.clone().or(generated.clone());
        let link_payment = LinkPayment {
            id: ids::new_id(),
            link_id: link.id.clone(),
            payment_id: String::new(),
            service_id: service.id.clone(),
            generated_reference: generated,
            created_ms: clock.now_ms(),
        };
        let body = json!({
            "amount": amount,
            "reference": reference,
            "description": link.title,
            "return_url": format!("{completion_base}/{}", link_payment.id),
            "language": link.language.as_str(),
            "metadata": link.metadata,
        });
        let extras = Extras {
            link: Some(link_payment.clone()),
            ..Extras::default()
        };
        match create_payment_through(store, clock, service, &body, None, extras).await {
            Ok(Created::New(payment) | Created::Replayed(payment)) => {
                let mut link_payment = link_payment;
                link_payment.payment_id = payment.id.clone();
                return Ok(Taken {
                    link_payment,
                    payment,
                });
            }
            Err(Failure::Store(StoreError::Duplicate)) if tries < 3 => continue,
            Err(e) => return Err(e),
        }
    }
}

/// How staff see where a payment came from: the link payment that took payment `payment_id`
/// of `service`, if a link did, with its link (`None` once the link is deleted).
pub async fn source_of(
    store: &dyn Store,
    service: &Service,
    payment_id: &str,
) -> Result<Option<(LinkPayment, Option<PaymentLink>)>, StoreError> {
    let Some(lp) = store.link_payment_of(payment_id).await? else {
        return Ok(None);
    };
    if lp.service_id != service.id {
        return Ok(None);
    }
    let link = store.payment_link(&lp.link_id).await?;
    Ok(Some((lp, link)))
}

/// The link payment a completion page names, with its link (even if since deleted: the
/// payer still sees how their payment went) and payment.
pub async fn completed(
    store: &dyn Store,
    id: &str,
) -> Result<Option<(LinkPayment, PaymentRecord)>, StoreError> {
    if !ids::could_be_id(id) {
        return Ok(None);
    }
    let Some(lp) = store.link_payment(id).await? else {
        return Ok(None);
    };
    let payment = store.payment(&lp.service_id, &lp.payment_id).await?;
    Ok(payment.map(|p| (lp, p)))
}
