//! Cards: identification by BIN, the card details form and its checks, billing countries.

pub mod brand;
pub mod countries;
pub mod form;

pub use brand::{identify, Brand, CardInfo, CardType, Prepaid};
pub use form::{Address, CardForm, Field, Problem, ValidCard};
