//! A service's settings, for its admins: the card brands and types it takes, prepaid cards,
//! what the paying user is asked (billing address, email), corporate card surcharges, MOTO and
//! recurring payments, and the emails paying users get. The same `Service` fields the CLI's
//! `pence service update` changes, saved the same way.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use pence_core::journey::card::Brand;
use pence_core::service::administer::{self, Actor};
use pence_core::service::{AcceptedTypes, EmailCollection, Service};

use super::access::Admin;
use super::access::OnService;
use super::transactions::pence_of;
use super::views::{BrandChoice, Frame, SettingsPage};
use super::{page, see_other, Answer};
use crate::state::AppState;

/// Pounds with two decimals (`0.00` for nothing), as the surcharge inputs show them.
fn pounds(pence: i64) -> String {
    format!("{}.{:02}", pence / 100, pence % 100)
}

fn view(
    on: &OnService,
    s: &Service,
    note: Option<String>,
    errors: Vec<(&'static str, String)>,
) -> SettingsPage {
    let c = &s.cards;
    SettingsPage {
        frame: Frame::on(&on.staff, s, "Settings"),
        brands: Brand::ALL
            .iter()
            .map(|b| BrandChoice {
                id: b.id(),
                label: b.label(),
                on: c.accepted_brands.contains(b),
            })
            .collect(),
        type_choices: [
            ("all", "Debit and credit cards"),
            ("debit", "Debit cards only"),
            ("credit", "Credit cards only"),
        ],
        types: c.accepted_types.as_str(),
        block_prepaid: c.block_prepaid,
        billing_address: c.collect_billing_address,
        email_modes: ["mandatory", "optional", "off"],
        email_collection: c.email_collection.as_str(),
        surcharge_credit: pounds(c.surcharge_credit),
        surcharge_debit: pounds(c.surcharge_debit),
        surcharge_prepaid: pounds(c.surcharge_prepaid_debit),
        moto: s.moto_enabled,
        recurring: s.recurring_enabled,
        email_confirmation: s.emails.payment_confirmed,
        email_refund: s.emails.refund_issued,
        custom_paragraph: s.emails.custom_paragraph.clone().unwrap_or_default(),
        note,
        errors,
    }
}

pub async fn settings(Admin(on): Admin, RawQuery(query): RawQuery) -> Answer {
    let saved = query.as_deref() == Some("note=saved");
    let note = saved.then(|| "Your settings are saved.".to_string());
    Ok(page(
        StatusCode::OK,
        view(&on, &on.service, note, Vec::new()),
    ))
}

/// A surcharge in pounds: blank or `0` is none.
fn surcharge(text: &str) -> Option<i64> {
    let t = text.trim().trim_start_matches('£');
    if t.is_empty() || t.chars().all(|c| c == '0' || c == '.') {
        return Some(0);
    }
    pence_of(t)
}

pub async fn save(State(state): State<AppState>, Admin(on): Admin, body: Bytes) -> Answer {
    let fields: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let one = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    on.check_form(one("csrfToken"))?;
    let mut s = on.service.clone();
    let mut errors = Vec::new();
    let brands: Vec<Brand> = fields
        .iter()
        .filter(|(k, _)| k == "brand")
        .filter_map(|(_, v)| Brand::parse(v))
        .collect();
    if brands.is_empty() {
        errors.push(("brand-visa", "Choose at least one card brand".to_string()));
    }
    let checked = |name: &str| one(name) == "true";
    let mut surcharges = [0i64; 3];
    for (i, (name, id)) in [
        ("surchargeCredit", "surcharge-credit"),
        ("surchargeDebit", "surcharge-debit"),
        ("surchargePrepaid", "surcharge-prepaid"),
    ]
    .into_iter()
    .enumerate()
    {
        match surcharge(one(name)) {
            Some(p) => surcharges[i] = p,
            None => errors.push((
                id,
                "Enter a surcharge in pounds and pence, like 2.50".into(),
            )),
        }
    }
    if !errors.is_empty() {
        return Ok(page(
            StatusCode::BAD_REQUEST,
            view(&on, &on.service, None, errors),
        ));
    }
    s.cards.accepted_brands = brands;
    s.cards.accepted_types = AcceptedTypes::parse(one("types")).unwrap_or(s.cards.accepted_types);
    s.cards.block_prepaid = checked("blockPrepaid");
    s.cards.collect_billing_address = checked("billingAddress");
    s.cards.email_collection =
        EmailCollection::parse(one("emailCollection")).unwrap_or(s.cards.email_collection);
    [
        s.cards.surcharge_credit,
        s.cards.surcharge_debit,
        s.cards.surcharge_prepaid_debit,
    ] = surcharges;
    s.moto_enabled = checked("moto");
    s.recurring_enabled = checked("recurring");
    s.emails.payment_confirmed = checked("emailConfirmation");
    s.emails.refund_issued = checked("emailRefund");
    let paragraph = one("customParagraph").trim();
    s.emails.custom_paragraph = (!paragraph.is_empty()).then(|| paragraph.to_string());
    let (store, clock) = (state.store.as_ref(), state.clock.as_ref());
    let actor = Actor::Staff(&on.staff.user);
    administer::save_settings(store, clock, actor, &s).await?;
    Ok(see_other(&format!(
        "/admin/services/{}/settings?note=saved",
        s.id
    )))
}
