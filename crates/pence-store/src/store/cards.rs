//! A card's columns as payments and agreements keep them (never the full number or the
//! security code), read back into `CardDetails`.

use pence_core::journey::card::{Address, Brand, CardType};
use pence_core::payment::CardDetails;
use pence_core::StoreError;

use super::corrupt;
use pence_sql::Row;

/// The card of a row, if it has one.
pub(super) fn card_from(r: &mut Row) -> Result<Option<CardDetails>, StoreError> {
    let Some(brand) = r.opt_text("card_brand")? else {
        return Ok(None);
    };
    let billing_address = match r.opt_text("billing_line1")? {
        Some(line1) => Some(Address {
            line1,
            line2: r.opt_text("billing_line2")?,
            postcode: r.opt_text("billing_postcode")?.unwrap_or_default(),
            city: r.opt_text("billing_city")?.unwrap_or_default(),
            country: r.opt_text("billing_country")?.unwrap_or_default(),
        }),
        None => None,
    };
    Ok(Some(CardDetails {
        first_digits: r.opt_text("first_digits")?.unwrap_or_default(),
        last_digits: r.opt_text("last_digits")?.unwrap_or_default(),
        cardholder_name: r.opt_text("cardholder_name")?.unwrap_or_default(),
        expiry: r.opt_text("card_expiry")?.unwrap_or_default(),
        brand: Brand::parse(&brand).ok_or_else(|| corrupt("card_brand", &brand))?,
        card_type: CardType::parse_api(r.opt_text("card_type")?.as_deref()),
        billing_address,
    }))
}
