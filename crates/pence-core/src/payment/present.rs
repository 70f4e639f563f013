//! A stored payment in GOV.UK Pay's public shape, with the links its state allows.

use pence_wire::{
    AuthorisationSummary, Link, Payment, PaymentEvent, PaymentEvents, PaymentLinks, PaymentState,
    PaymentUrlLink, PostLink, RefundSummary, SelfLink, SettlementSummary, ThreeDSecure,
};

use crate::journey::next_url::TokenSigner;
use crate::ledger::LedgerEvent;
use crate::payment::status::ExternalState;
use crate::payment::status::Status;
use crate::payment::{AuthorisationMode, PaymentRecord};
use crate::refund;
use crate::timefmt;

/// Where links point: the public API and the card pages share one base URL in Pence.
pub struct LinkContext<'a> {
    pub base_url: &'a str,
    pub signer: &'a TokenSigner,
    pub now_ms: i64,
    /// Search results carry no next_url (reference §11).
    pub in_search: bool,
}

fn refund_summary(p: &PaymentRecord) -> RefundSummary {
    let a = refund::availability(p);
    RefundSummary {
        status: a.status.into(),
        amount_available: a.amount_available,
        amount_submitted: a.amount_submitted,
    }
}

/// GOV.UK Pay mints a next_url for unfinished web payments that are not awaiting capture.
fn needs_next_url(p: &PaymentRecord) -> bool {
    p.authorisation_mode == AuthorisationMode::Web
        && !p.status.external().finished
        && p.status != Status::AwaitingCaptureRequest
}

fn state(ext: ExternalState) -> PaymentState {
    PaymentState {
        status: ext.status.into(),
        finished: ext.finished,
        message: ext.message.map(Into::into),
        code: ext.code.map(Into::into),
        can_retry: None,
    }
}

/// The public events of a payment (reference §13): one per distinct public state, at its
/// first occurrence, oldest first.
pub fn events(p: &PaymentRecord, ledger: &[LedgerEvent], base_url: &str) -> PaymentEvents {
    let self_href = format!("{base_url}/v1/payments/{}", p.id);
    let mut seen: Vec<ExternalState> = Vec::new();
    let mut ordered: Vec<&LedgerEvent> = ledger.iter().collect();
    ordered.sort_by_key(|e| e.created_ms);
    let mut out = Vec::new();
    for e in ordered {
        let ext = e.status.external();
        if seen.contains(&ext) {
            continue;
        }
        seen.push(ext);
        out.push(PaymentEvent {
            payment_id: p.id.clone(),
            state: state(ext),
            updated: timefmt::date_time(e.created_ms),
            links: PaymentUrlLink {
                payment_url: Link::get(self_href.clone()),
            },
        });
    }
    PaymentEvents {
        payment_id: p.id.clone(),
        events: out,
        links: SelfLink {
            self_link: Link::get(format!("{self_href}/events")),
        },
    }
}

fn card_details(c: &crate::payment::CardDetails) -> pence_wire::CardDetails {
    pence_wire::CardDetails {
        last_digits_card_number: Some(c.last_digits.clone()),
        first_digits_card_number: Some(c.first_digits.clone()),
        cardholder_name: Some(c.cardholder_name.clone()),
        expiry_date: Some(c.expiry.clone()),
        billing_address: c.billing_address.as_ref().map(|a| pence_wire::Address {
            line1: Some(a.line1.clone()),
            line2: a.line2.clone(),
            postcode: Some(a.postcode.clone()),
            city: Some(a.city.clone()),
            country: Some(a.country.clone()),
        }),
        card_brand: c.brand.label().into(),
        card_type: c.card_type.api().map(str::to_string),
    }
}

pub fn payment(p: &PaymentRecord, ctx: &LinkContext<'_>) -> Payment {
    Payment {
        links: Some(links(p, ctx)),
        ..resource(p)
    }
}

/// The links a payment's state allows (next_url only outside searches). Each href is
/// joined with `concat` (one allocation of the right size): a read builds up to seven, and
/// `format!` machinery took a twentieth of a get's instructions.
fn links(p: &PaymentRecord, ctx: &LinkContext<'_>) -> PaymentLinks {
    let base = ctx.base_url;
    let self_href = [base, "/v1/payments/", &p.id].concat();
    let mut links = PaymentLinks {
        events: Link::get([&self_href, "/events"].concat()),
        refunds: Link::get([&self_href, "/refunds"].concat()),
        self_link: Link::get(self_href.clone()),
        next_url: None,
        next_url_post: None,
        auth_url_post: None,
        cancel: None,
        capture: None,
    };
    if needs_next_url(p) && !ctx.in_search {
        let token = ctx.signer.mint(&p.id, ctx.now_ms);
        links.next_url = Some(Link::get([base, "/secure/", &token].concat()));
        links.next_url_post = Some(PostLink::with_param(
            [base, "/secure"].concat(),
            "application/x-www-form-urlencoded",
            "chargeTokenId",
            token,
        ));
    }
    // The staff's link for the card of a MOTO API payment: a fresh token on every read.
    if p.authorisation_mode == AuthorisationMode::MotoApi
        && !p.status.external().finished
        && !ctx.in_search
    {
        links.auth_url_post = Some(PostLink::with_param(
            [base, "/v1/auth"].concat(),
            "application/json",
            "one_time_token",
            ctx.signer.mint(&p.id, ctx.now_ms),
        ));
    }
    if !p.status.external().finished && p.authorisation_mode != AuthorisationMode::Agreement {
        links.cancel = Some(PostLink::post([&self_href, "/cancel"].concat()));
    }
    if p.status == Status::AwaitingCaptureRequest {
        links.capture = Some(PostLink::post([&self_href, "/capture"].concat()));
    }
    links
}

/// The payment without `_links`: a webhook message's `resource` (GOV.UK Pay's messages carry
/// none, and a next_url in a message would hand out the card page).
pub fn resource(p: &PaymentRecord) -> Payment {
    let ext = p.status.external();
    let surcharge = p.corporate_surcharge.filter(|s| *s > 0);
    Payment {
        amount: p.amount,
        description: p.description.clone(),
        reference: p.reference.clone(),
        language: p.language.as_str().into(),
        email: p.email.clone(),
        // `can_retry` only on a refused agreement payment (reference §7).
        state: PaymentState {
            can_retry: p.can_retry.filter(|_| ext.finished),
            ..state(ext)
        },
        payment_id: p.id.clone(),
        payment_provider: p.payment_provider.clone(),
        created_date: timefmt::date_time(p.created_ms),
        refund_summary: refund_summary(p),
        settlement_summary: SettlementSummary {
            capture_submit_time: p.capture_submit_ms.map(timefmt::date_time),
            captured_date: p.captured_ms.map(timefmt::date),
            settled_date: p.settled_ms.map(timefmt::date),
        },
        card_details: p.card.as_ref().map(card_details),
        delayed_capture: p.delayed_capture,
        moto: p.moto,
        corporate_card_surcharge: surcharge,
        total_amount: surcharge.map(|_| p.total()),
        fee: None,
        net_amount: None,
        provider_id: p.provider_id.clone(),
        metadata: p.metadata.clone(),
        return_url: p.return_url.clone(),
        // Only when 3-D Secure was required: GOV.UK Pay's public API drops the summary when
        // `three_d_secure.required` is false or absent (pay-publicapi's
        // `AuthorisationSummaryHelper.includeAuthorisationSummaryWhen3dsRequired`), so a
        // payment without 3-D Secure never shows `required: false`.
        authorisation_summary: p.three_ds_required.then_some(AuthorisationSummary {
            three_d_secure: ThreeDSecure { required: true },
        }),
        agreement_id: p.agreement_id.clone(),
        authorisation_mode: p.authorisation_mode.as_str().into(),
        agreement_payment_type: p.agreement_payment_type.clone(),
        card_brand: p.card.as_ref().map(|c| c.brand.label().to_string()),
        links: None,
    }
}

fn refund_view(r: &refund::RefundRecord, base_url: &str) -> pence_wire::Refund {
    let payment = format!("{base_url}/v1/payments/{}", r.payment_id);
    pence_wire::Refund {
        refund_id: r.id.clone(),
        created_date: timefmt::date_time(r.created_ms),
        amount: r.amount,
        status: r.status.as_str().into(),
        settlement_summary: pence_wire::RefundSettlementSummary {
            settled_date: r.settled_ms.map(timefmt::date),
        },
        links: pence_wire::RefundLinks {
            self_link: Link::get(format!("{payment}/refunds/{}", r.id)),
            payment: Link::get(payment),
        },
    }
}

/// One refund, as `POST .../refunds` and `GET .../refunds/{id}` answer it.
pub fn refund(r: &refund::RefundRecord, base_url: &str) -> pence_wire::Refund {
    refund_view(r, base_url)
}

/// A payment's refunds, oldest first, as `GET .../refunds` answers them.
pub fn refunds(
    payment_id: &str,
    list: &[refund::RefundRecord],
    base_url: &str,
) -> pence_wire::PaymentRefunds {
    let payment = format!("{base_url}/v1/payments/{payment_id}");
    pence_wire::PaymentRefunds {
        payment_id: payment_id.to_string(),
        links: pence_wire::RefundLinks {
            self_link: Link::get(format!("{payment}/refunds")),
            payment: Link::get(payment),
        },
        embedded: pence_wire::EmbeddedRefunds {
            refunds: list.iter().map(|r| refund_view(r, base_url)).collect(),
        },
    }
}

/// One page of search results with its navigation links (reference §11).
/// A search page's navigation links (reference §11): the filter parameters, then page and
/// display_size; prev/next only where such a page exists.
fn search_links(
    url: &str,
    params: &[(String, String)],
    page: u64,
    display_size: u32,
    total: u64,
) -> pence_wire::SearchLinks {
    let last = crate::search::last_page(total, display_size);
    let href = |n: u64| {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in params {
            q.append_pair(k, v);
        }
        q.append_pair("page", &n.to_string());
        q.append_pair("display_size", &display_size.to_string());
        pence_wire::Href {
            href: format!("{url}?{}", q.finish()),
        }
    };
    pence_wire::SearchLinks {
        self_link: href(page),
        first_page: href(1),
        last_page: href(last),
        prev_page: (page > 1).then(|| href(page - 1)),
        next_page: (page < last).then(|| href(page + 1)),
    }
}

pub fn payment_search(
    search: &crate::search::PaymentSearch,
    total: u64,
    rows: &[PaymentRecord],
    ctx: &LinkContext<'_>,
) -> pence_wire::PaymentSearchResults {
    let page = search.page as u64;
    pence_wire::PaymentSearchResults {
        total,
        count: rows.len() as u64,
        page,
        results: rows.iter().map(|p| payment(p, ctx)).collect(),
        links: search_links(
            &format!("{}/v1/payments", ctx.base_url),
            &search.params,
            page,
            search.display_size,
            total,
        ),
    }
}

/// `GET /v1/refunds`: one page of refunds.
pub fn refund_search(
    search: &crate::search::RefundSearch,
    total: u64,
    rows: &[refund::RefundRecord],
    base_url: &str,
) -> pence_wire::RefundSearchResults {
    let page = search.page as u64;
    pence_wire::RefundSearchResults {
        total,
        count: rows.len() as u64,
        page,
        results: rows
            .iter()
            .map(|r| {
                let v = refund_view(r, base_url);
                pence_wire::RefundForSearch {
                    refund_id: v.refund_id,
                    payment_id: r.payment_id.clone(),
                    created_date: v.created_date,
                    amount: v.amount,
                    status: v.status,
                    settlement_summary: v.settlement_summary,
                    links: v.links,
                }
            })
            .collect(),
        links: search_links(
            &format!("{base_url}/v1/refunds"),
            &search.params,
            page,
            search.display_size,
            total,
        ),
    }
}

/// `GET /v1/disputes`' page.
pub fn dispute_search(
    search: &crate::search::DisputeSearch,
    total: u64,
    rows: &[crate::dispute::DisputeRecord],
    base_url: &str,
) -> pence_wire::DisputeSearchResults {
    let page = search.page as u64;
    pence_wire::DisputeSearchResults {
        total,
        count: rows.len() as u64,
        page,
        results: rows
            .iter()
            .map(|d| pence_wire::DisputeForSearch {
                dispute_id: d.id.clone(),
                payment_id: d.payment_id.clone(),
                created_date: timefmt::date_time(d.created_ms),
                evidence_due_date: timefmt::date_time(d.evidence_due_ms),
                amount: d.amount,
                fee: d.fee,
                net_amount: d.net_amount,
                reason: d.reason.clone(),
                status: d.status.as_str().into(),
                settlement_summary: d.settled_ms.map(|ms| pence_wire::RefundSettlementSummary {
                    settled_date: Some(timefmt::date(ms)),
                }),
                links: pence_wire::DisputeLinks {
                    payment: Link::get(format!("{base_url}/v1/payments/{}", d.payment_id)),
                },
            })
            .collect(),
        links: search_links(
            &format!("{base_url}/v1/disputes"),
            &search.params,
            page,
            search.display_size,
            total,
        ),
    }
}

/// An agreement as GOV.UK Pay shows it.
pub fn agreement(a: &crate::agreement::AgreementRecord) -> pence_wire::Agreement {
    pence_wire::Agreement {
        agreement_id: a.id.clone(),
        reference: a.reference.clone(),
        description: a.description.clone(),
        status: a.status.as_str().into(),
        created_date: timefmt::date_time(a.created_ms),
        user_identifier: a.user_identifier.clone(),
        payment_instrument: a
            .instrument
            .as_ref()
            .map(|i| pence_wire::PaymentInstrument {
                kind: "card".into(),
                created_date: timefmt::date_time(i.created_ms),
                card_details: card_details(&i.card),
            }),
        cancelled_date: a.cancelled_ms.map(timefmt::date_time),
    }
}

/// `GET /v1/agreements`' page, with navigation links like the other searches.
pub fn agreement_search(
    search: &crate::agreement::AgreementSearch,
    total: u64,
    rows: &[crate::agreement::AgreementRecord],
    base_url: &str,
) -> pence_wire::AgreementSearchResults {
    pence_wire::AgreementSearchResults {
        total,
        count: rows.len() as u64,
        page: search.page as u64,
        results: rows.iter().map(agreement).collect(),
        links: search_links(
            &format!("{base_url}/v1/agreements"),
            &search.params,
            search.page as u64,
            search.display_size,
            total,
        ),
    }
}
