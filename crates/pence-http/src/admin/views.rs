//! The admin pages' templates (askama, auto-escaped).

use askama::Template;
use pence_core::service::Service;
use pence_wire::Payment;

use super::session::{SignedIn, Staff};

/// What every admin page has around its own content, the same on each: its title, who is
/// signed in (the header), the CSRF token its forms carry and the service it is about.
#[derive(Debug, Clone)]
pub struct Frame {
    pub title: String,
    pub signed_in: Option<SignedIn>,
    /// The session's token, or before sign-in the sign-in form's own.
    pub csrf: String,
    /// The service's id and name, on a service's pages.
    service: Option<(String, String)>,
}

impl Frame {
    /// A page about `service`, for a signed-in member of its staff.
    pub fn on(staff: &Staff, service: &Service, title: impl Into<String>) -> Frame {
        Frame {
            service: Some((service.id.clone(), service.name.clone())),
            ..Frame::signed_in(staff, title)
        }
    }

    /// A page of a signed-in user about no one service.
    pub fn signed_in(staff: &Staff, title: impl Into<String>) -> Frame {
        Frame {
            title: title.into(),
            signed_in: Some(staff.signed_in()),
            csrf: staff.session.csrf.clone(),
            service: None,
        }
    }

    /// A page on the way in (sign-in, password, second factor), whose form carries `csrf`.
    pub fn signing_in(title: impl Into<String>, csrf: String) -> Frame {
        Frame {
            title: title.into(),
            signed_in: None,
            csrf,
            service: None,
        }
    }

    /// A message page, for whoever is signed in or for nobody.
    pub fn message(signed_in: Option<SignedIn>, title: impl Into<String>) -> Frame {
        let csrf = signed_in
            .as_ref()
            .map(|s| s.csrf.clone())
            .unwrap_or_default();
        Frame {
            title: title.into(),
            signed_in,
            csrf,
            service: None,
        }
    }

    pub fn service_id(&self) -> &str {
        self.service.as_ref().map_or("", |(id, _)| id)
    }

    pub fn service_name(&self) -> &str {
        self.service.as_ref().map_or("", |(_, name)| name)
    }
}

#[derive(Template)]
#[template(path = "admin/login.html")]
pub struct LoginPage {
    pub frame: Frame,
    pub email: String,
    pub note: Option<String>,
    pub errors: Vec<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "admin/set_password.html")]
pub struct SetPasswordPage {
    pub frame: Frame,
    pub email: String,
    pub errors: Vec<(&'static str, String)>,
}

pub struct TotpSetup {
    pub secret: String,
    /// The otpauth URL as an SVG QR code (generated here, so safe to embed).
    pub qr_svg: String,
}

#[derive(Template)]
#[template(path = "admin/two_factor.html")]
pub struct TwoFactorPage {
    pub frame: Frame,
    pub setup: Option<TotpSetup>,
    pub errors: Vec<(&'static str, String)>,
}

pub struct ServiceRow {
    pub id: String,
    pub name: String,
    pub live: bool,
    pub role: &'static str,
    /// Keys, webhooks and settings are theirs to change.
    pub admin: bool,
    /// They may take payments over the phone here (their role moves money; the service
    /// takes MOTO payments).
    pub phone: bool,
}

pub struct Period {
    pub id: &'static str,
    pub name: &'static str,
    pub payments: i64,
    pub paid: String,
    pub refunds: i64,
    pub refunded: String,
    pub net: String,
}

pub struct Bar {
    pub x: i64,
    pub y: i64,
    pub w: i64,
    pub h: i64,
    pub label_x: i64,
    /// `Mon 30`, on every other bar (a label a bar would overlap its neighbours').
    pub day: Option<String>,
    /// What the bar shows, in words.
    pub label: String,
}

pub struct Chart {
    pub width: i64,
    pub height: i64,
    pub bars: Vec<Bar>,
    pub summary: String,
    /// The scale: the most in a day, at the top of the axis, and where the axis runs.
    pub most: i64,
    pub axis_x: i64,
    pub top_y: i64,
    pub base_y: i64,
}

#[derive(Template)]
#[template(path = "admin/dashboard.html")]
pub struct DashboardPage {
    pub frame: Frame,
    pub periods: Vec<Period>,
    pub chart: Chart,
}

pub struct BrandChoice {
    pub id: &'static str,
    pub label: &'static str,
    pub on: bool,
}

#[derive(Template)]
#[template(path = "admin/settings.html")]
pub struct SettingsPage {
    pub frame: Frame,
    pub brands: Vec<BrandChoice>,
    pub type_choices: [(&'static str, &'static str); 3],
    pub types: &'static str,
    pub block_prepaid: bool,
    pub billing_address: bool,
    pub email_modes: [&'static str; 3],
    pub email_collection: &'static str,
    pub surcharge_credit: String,
    pub surcharge_debit: String,
    pub surcharge_prepaid: String,
    pub moto: bool,
    pub recurring: bool,
    pub email_confirmation: bool,
    pub email_refund: bool,
    pub custom_paragraph: String,
    pub note: Option<String>,
    pub errors: Vec<(&'static str, String)>,
}

pub struct AgreementRow {
    pub id: String,
    pub reference: String,
    pub description: String,
    pub card: String,
    pub status: &'static str,
    pub created: String,
    pub cancellable: bool,
}

#[derive(Template)]
#[template(path = "admin/agreements.html")]
pub struct AgreementsPage {
    pub frame: Frame,
    pub total: u64,
    pub agreements: Vec<AgreementRow>,
    pub note: Option<String>,
    pub errors: Vec<(&'static str, String)>,
}

pub struct DisputeRow {
    pub payment_id: String,
    pub amount: String,
    pub fee: String,
    pub reason: String,
    pub status: &'static str,
    pub due: String,
}

#[derive(Template)]
#[template(path = "admin/disputes.html")]
pub struct DisputesPage {
    pub frame: Frame,
    pub total: u64,
    pub disputes: Vec<DisputeRow>,
}

pub struct AuditRow {
    pub when: String,
    pub who: String,
    pub action: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
pub struct AuditPage {
    pub frame: Frame,
    pub entries: Vec<AuditRow>,
}

pub struct MemberRow {
    pub id: String,
    pub email: String,
    pub role: &'static str,
    pub state: &'static str,
    /// Not the signed-in admin themself (an admin cannot demote themself by mistake).
    pub changeable: bool,
}

#[derive(Template)]
#[template(path = "admin/team.html")]
pub struct TeamPage {
    pub frame: Frame,
    pub members: Vec<MemberRow>,
    pub roles: [&'static str; 3],
    pub invite_link: Option<String>,
    pub invited: String,
    pub note: Option<String>,
    pub errors: Vec<(&'static str, String)>,
}

pub struct KeyRow {
    pub id: String,
    pub description: String,
    pub prefix: String,
    pub created: String,
    pub last_used: String,
    pub state: &'static str,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "admin/api_keys.html")]
pub struct ApiKeysPage {
    pub frame: Frame,
    pub keys: Vec<KeyRow>,
    pub new_key: Option<String>,
    pub note: Option<String>,
    pub errors: Vec<(&'static str, String)>,
}

pub struct WebhookRow {
    pub id: String,
    pub url: String,
    pub description: String,
    pub events: String,
    pub state: &'static str,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "admin/webhooks.html")]
pub struct WebhooksPage {
    pub frame: Frame,
    pub webhooks: Vec<WebhookRow>,
    pub new_secret: Option<String>,
    pub errors: Vec<(&'static str, String)>,
}

pub struct EventChoice {
    pub id: &'static str,
    pub on: bool,
}

pub struct MessageRow {
    pub id: String,
    pub event: String,
    pub payment_id: String,
    pub status: String,
    /// Each attempt: when, and what came back.
    pub attempts: Vec<String>,
}

#[derive(Template)]
#[template(path = "admin/webhook.html")]
pub struct WebhookPage {
    pub frame: Frame,
    pub w: WebhookRow,
    pub events: Vec<EventChoice>,
    pub messages: Vec<MessageRow>,
    pub new_secret: Option<String>,
    pub note: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/services.html")]
pub struct ServicesPage {
    pub frame: Frame,
    pub services: Vec<ServiceRow>,
}

/// The filters as given, to show them back.
#[derive(Default)]
pub struct Filters {
    pub reference: String,
    pub email: String,
    pub state: String,
    pub card_brand: String,
    pub last_digits_card_number: String,
    pub cardholder_name: String,
    pub from_date: String,
    pub to_date: String,
    pub metadata: String,
}

pub struct TransactionRow {
    pub id: String,
    pub reference: String,
    pub email: String,
    pub amount: String,
    pub card: String,
    pub state: String,
    pub date: String,
}

#[derive(Template)]
#[template(path = "admin/transactions.html")]
pub struct TransactionsPage {
    pub frame: Frame,
    /// The same filters' CSV.
    pub download_url: String,
    pub f: Filters,
    pub states: &'static [&'static str],
    pub errors: Vec<(&'static str, String)>,
    pub total: u64,
    pub rows: Vec<TransactionRow>,
    pub page: u32,
    pub pages: u64,
    pub prev_url: Option<String>,
    pub next_url: Option<String>,
}

pub struct RefundRow {
    pub id: String,
    pub amount: String,
    pub status: String,
    pub date: String,
}

pub struct EventRow {
    pub date: String,
    pub state: String,
}

#[derive(Template)]
#[template(path = "admin/payment.html")]
pub struct PaymentPage {
    pub frame: Frame,
    pub p: Payment,
    pub amount: String,
    pub refunded: String,
    pub available: String,
    /// What is left to refund, in pence, as the refund form sends it back: a form submitted
    /// twice, or after another refund, is refused rather than refunding again.
    pub available_pence: i64,
    pub metadata: Vec<(String, String)>,
    /// The payment link that took it, if one did: its title (or that it is deleted) and its
    /// page.
    pub source: Option<(String, Option<String>)>,
    pub can_refund: bool,
    pub can_capture: bool,
    pub can_cancel: bool,
    /// The payment's webhook messages, with each attempt.
    pub messages: Vec<MessageRow>,
    pub refunds: Vec<RefundRow>,
    pub events: Vec<EventRow>,
    pub note: Option<String>,
    pub errors: Vec<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "admin/message.html")]
pub struct MessagePage {
    pub frame: Frame,
    pub text: String,
}

/// A payment link in a list: its title, amount and the address payers open.
pub struct LinkRow {
    pub id: String,
    pub title: String,
    pub amount: String,
    pub url: String,
}

/// The payment link form's values (what was typed, or the link's), as the form shows them.
#[derive(Default)]
pub struct LinkForm {
    pub title: String,
    pub details: String,
    pub fixed: bool,
    pub amount: String,
    pub amount_hint: String,
    pub custom_reference: bool,
    pub reference_label: String,
    pub reference_hint: String,
    pub welsh: bool,
    /// One `header: value` a line.
    pub columns: String,
    pub link_path: String,
}

#[derive(Template)]
#[template(path = "admin/payment_links.html")]
pub struct PaymentLinksPage {
    pub frame: Frame,
    pub links: Vec<LinkRow>,
    /// Admins make and change links; other roles see them.
    pub can_change: bool,
    pub test: bool,
    pub form: LinkForm,
    pub errors: Vec<(&'static str, String)>,
}

pub struct LinkPaymentRow {
    pub id: String,
    pub date: String,
    pub reference: String,
    pub amount: String,
    pub status: &'static str,
}

#[derive(Template)]
#[template(path = "admin/payment_link.html")]
pub struct PaymentLinkPage {
    pub frame: Frame,
    pub link: LinkRow,
    pub details: String,
    pub reference: String,
    pub language: &'static str,
    pub columns: Vec<(String, String)>,
    pub payments_count: i64,
    pub succeeded: i64,
    pub total: String,
    pub payments: Vec<LinkPaymentRow>,
    pub can_change: bool,
    pub test: bool,
    pub form: LinkForm,
    pub errors: Vec<(&'static str, String)>,
    pub note: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/phone_payment.html")]
pub struct PhonePaymentPage {
    pub frame: Frame,
    pub amount: String,
    pub reference: String,
    pub description: String,
    pub errors: Vec<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "admin/phone_payment_done.html")]
pub struct PhoneOutcomePage {
    pub frame: Frame,
    pub paid: bool,
    pub payment_id: String,
    pub reference: String,
    pub description: String,
    pub amount: String,
    pub emailed: bool,
    /// GOV.UK Pay's words for how it ended, when it did not succeed.
    pub outcome: String,
}
