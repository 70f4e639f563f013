//! The link pages' templates (askama, auto-escaped). Each carries the card pages' `Text` for
//! the layout and the link pages' own `LinkText`; `test` shows the sandbox banner (a test
//! service's link takes no real money).

use askama::Template;

use super::text::LinkText;
use crate::pages::text::Text;

#[derive(Template)]
#[template(path = "links/start.html")]
pub struct StartPage {
    pub t: &'static Text,
    pub lt: &'static LinkText,
    pub test: bool,
    pub title: String,
    pub service_name: String,
    pub link_title: String,
    /// The details, one paragraph per blank-line-separated block.
    pub details: Vec<String>,
    pub amount: Option<String>,
    pub continue_url: String,
}

/// The reference page and the amount page: one field, its heading as its label.
#[derive(Template)]
#[template(path = "links/field.html")]
pub struct FieldPage {
    pub t: &'static Text,
    pub lt: &'static LinkText,
    pub test: bool,
    pub title: String,
    pub heading: String,
    pub hint: Option<String>,
    /// The input's id and name (GOV.UK Pay's: `payment-reference`, `payment-amount`).
    pub field: &'static str,
    pub value: String,
    pub error: Option<String>,
    /// A £ before the input (the amount page).
    pub pounds: bool,
    /// A heading and a line asking the payer to check what they entered.
    pub warning: Option<(String, String)>,
    pub action: String,
    pub back: String,
    pub csrf: String,
}

pub struct ReferenceRow {
    pub label: String,
    pub value: String,
    pub change: Option<String>,
}

#[derive(Template)]
#[template(path = "links/confirm.html")]
pub struct ConfirmPage {
    pub t: &'static Text,
    pub lt: &'static LinkText,
    pub test: bool,
    pub title: String,
    pub link_id: String,
    pub link_title: String,
    pub reference: Option<ReferenceRow>,
    pub amount: String,
    pub amount_pence: i64,
    pub change_amount: Option<String>,
    pub back: String,
    pub csrf: String,
}

#[derive(Template)]
#[template(path = "links/complete.html")]
pub struct CompletePage {
    pub t: &'static Text,
    pub lt: &'static LinkText,
    pub test: bool,
    pub title: String,
    pub paid: bool,
    pub emailed: bool,
    pub reference: String,
    pub description: String,
    pub amount: String,
    pub try_again: Option<String>,
}

/// A page that cannot go on: a prefilled link's bad value, or no such link.
#[derive(Template)]
#[template(path = "links/problem.html")]
pub struct ProblemPage {
    pub t: &'static Text,
    pub test: bool,
    pub title: String,
    pub heading: String,
    pub paragraphs: Vec<String>,
}
