//! Staff take a payment over the phone (GOV.UK Pay's agent-initiated MOTO): they type the
//! amount, reference and what it is for, then the caller's card on the card pages, which for
//! a MOTO payment ask no 3-D Secure and mask what the service chooses. The payment is an
//! ordinary MOTO payment of the service, created by the create use case with the staff
//! action's audit row.

use serde_json::json;

use crate::clock::Clock;
use crate::ids;
use crate::payment::operations::{create_payment_through, Created, Extras};
use crate::payment::PaymentRecord;
use crate::ports::Store;
use crate::refusal::{Failure, Refusal};
use crate::service::Service;
use crate::staff::Actor;

/// What the member of staff types.
#[derive(Debug, Clone)]
pub struct PhonePayment {
    pub amount: i64,
    pub reference: String,
    pub description: String,
}

/// Creates the phone payment, returning afterwards to `{return_base}/{payment id}` (the
/// admin tool's page for its outcome). Refused as the API would refuse it, and with
/// `MotoNotEnabled` unless the service takes MOTO payments.
pub async fn take(
    store: &dyn Store,
    clock: &dyn Clock,
    actor: Actor<'_>,
    service: &Service,
    phone: &PhonePayment,
    return_base: &str,
) -> Result<PaymentRecord, Failure> {
    if !service.moto_enabled {
        return Err(Refusal::MotoNotEnabled.into());
    }
    let id = ids::new_id();
    let body = json!({
        "amount": phone.amount,
        "reference": phone.reference,
        "description": phone.description,
        "return_url": format!("{return_base}/{id}"),
        "moto": true,
    });
    let detail = format!("took payment {id} over the phone");
    let extras = Extras {
        id: Some(id),
        audit: actor.entry(clock, Some(&service.id), "phone payment", detail),
        ..Extras::default()
    };
    match create_payment_through(store, clock, service, &body, None, extras).await? {
        Created::New(p) | Created::Replayed(p) => Ok(p),
    }
}
