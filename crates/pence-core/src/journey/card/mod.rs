//! Cards: identification by BIN, the card details form and its checks, billing countries.

pub mod address;
pub mod brand;
pub mod countries;
pub mod form;

pub use address::Address;
pub use brand::{identify, Brand, CardInfo, CardType, Prepaid};
pub use form::{CardForm, Field, Problem, ValidCard};
