//! The pages' templates (askama, auto-escaped) and what each shows.

use askama::Template;
use pence_core::journey::card::CardForm;

use super::text::Text;

/// One refused field: where the summary links and what it says.
pub struct FieldError {
    pub input_id: &'static str,
    pub error_id: &'static str,
    pub message: String,
}

#[derive(Template)]
#[template(path = "card_details.html")]
pub struct CardPage<'a> {
    pub t: &'static Text,
    pub title: String,
    pub csrf: &'a str,
    pub payment_id: &'a str,
    pub description: &'a str,
    pub amount: String,
    pub surcharge_note: Option<String>,
    /// The card will be saved for this agreement (a payment that sets one up).
    pub agreement_notice: Option<String>,
    pub errors: Vec<FieldError>,
    pub form: CardForm,
    pub accepted: Vec<&'static str>,
    pub countries: Vec<(&'static str, &'static str)>,
    pub collect_address: bool,
    pub email_mode: &'static str,
    /// A MOTO payment whose service masks these inputs as they are typed.
    pub mask_card_number: bool,
    pub mask_security_code: bool,
}

impl CardPage<'_> {
    /// The message for the field whose error element is `#error-{id}`.
    pub fn error(&self, id: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.error_id == id)
            .map(|e| e.message.as_str())
    }
}

#[derive(Template)]
#[template(path = "confirm.html")]
pub struct ConfirmPage<'a> {
    pub t: &'static Text,
    pub title: String,
    pub csrf: &'a str,
    pub payment_id: &'a str,
    pub description: &'a str,
    pub amount: String,
    pub surcharge_note: Option<String>,
    pub brand: &'static str,
    pub last_digits: &'a str,
    pub expiry: &'a str,
    pub cardholder_name: &'a str,
    pub address: Option<String>,
    pub email: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "three_ds.html")]
pub struct ThreeDsPage<'a> {
    pub t: &'static Text,
    pub title: String,
    pub csrf: &'a str,
    pub payment_id: &'a str,
    pub three_ds_token: String,
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage<'a> {
    pub t: &'static Text,
    pub title: &'a str,
    pub body: &'a str,
    pub return_url: Option<&'a str>,
    /// Reload every few seconds (a payment the provider is still deciding).
    pub refresh: bool,
}
