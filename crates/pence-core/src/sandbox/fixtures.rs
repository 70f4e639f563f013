//! Fixtures (issue 31): a test service's payments and agreements made at once in the states a
//! test needs, each by the journey that reaches that state: created by the create use case,
//! paid by the sandbox's paying user, captured, refunded, disputed and expired by the same
//! steps the sweeps take, through the one gate. A state that takes time to reach (an expired
//! payment, a decided dispute) is reached by running its journey earlier on the service's
//! clock, each step dated when it would have happened, so the fixture ends at the service's
//! present. While a fixture loads, the nodes' sweeps leave the service alone
//! (`ServiceStore::hold_sweeps`), so none of its steps is taken at another time.

use futures_util::stream::StreamExt;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::agreement::operations::{cancel_agreement, create_agreement};
use crate::clock::{Clock, Offset};
use crate::dispute::{DECIDED_AFTER_MS, RAISED_AFTER_MS, REVIEWED_AFTER_MS};
use crate::journey::Deps;
use crate::payment::operations::{cancel_payment, capture_payment, create_payment, Created};
use crate::payment::status::Status;
use crate::payment::transition::Target;
use crate::payment::PaymentRecord;
use crate::psp::PaymentProvider;
use crate::refusal::sandbox::SandboxRefusal;
use crate::refusal::{Failure, Invalid, Refusal};
use crate::service::Service;
use crate::staff::Actor;
use crate::sweeps;

use super::operations::{cancel_on, opened, pay_on, PayRequest};

/// The most payments (agreements' included) one fixture makes.
pub const MOST_PAYMENTS: u32 = 20_000;
/// Fixtures' journeys run this many at a time, so their changes share commits.
const AT_ONCE: usize = 48;
const MINUTE_MS: i64 = 60 * 1000;
/// A fixture's journeys that take time end this long before the service's present (a
/// sweep takes a captured payment's next step within a second; the margin keeps every
/// step of the past apart from what a test does next).
const MARGIN_MS: i64 = 10 * MINUTE_MS;

/// What one fixture makes.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixtureRequest {
    #[serde(default)]
    pub payments: Vec<PaymentFixture>,
    #[serde(default)]
    pub agreements: Vec<AgreementFixture>,
}

/// `count` payments in one state.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentFixture {
    #[serde(default = "one")]
    pub count: u32,
    pub state: PaymentState,
    #[serde(default = "default_amount")]
    pub amount: i64,
    /// Default `FIXTURE-{entry}-{n}`.
    pub reference: Option<String>,
    pub description: Option<String>,
    pub email: Option<String>,
    /// `en` or `cy`.
    pub language: Option<String>,
    pub metadata: Option<Map<String, Value>>,
    pub return_url: Option<String>,
    pub cardholder_name: Option<String>,
    /// A delayed-capture payment (`capturable` ones always are); a successful one was
    /// captured by the service's capture request.
    #[serde(default)]
    pub delayed_capture: bool,
    /// Refunds of a successful payment, oldest first, in pence.
    #[serde(default)]
    pub refunds: Vec<i64>,
    /// A successful payment disputed by the paying user's bank, at this stage.
    pub dispute: Option<DisputeStage>,
}

/// The states a fixture payment can be left in: GOV.UK Pay's public states, with `failed`
/// by its three causes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentState {
    /// Made, its card page never opened.
    Created,
    /// The paying user opened the card page and is there.
    Started,
    /// Authorised, waiting for the user to confirm.
    Submitted,
    /// Authorised, waiting for the service's capture request (delayed capture).
    Capturable,
    /// Paid and captured.
    Success,
    /// Failed: the card was declined (P0010).
    Declined,
    /// Failed: left unpaid until it expired (P0020).
    Expired,
    /// Failed: the user pressed "Cancel payment" (P0030).
    UserCancelled,
    /// Cancelled by the service (P0040).
    Cancelled,
    /// The provider failed (P0050).
    Error,
}

impl PaymentState {
    /// The card the paying user pays with.
    fn card(self, dispute: Option<DisputeStage>) -> &'static str {
        match (self, dispute) {
            (_, Some(DisputeStage::Won)) => "4000000000002685",
            (_, Some(_)) => "4000000000000259",
            (PaymentState::Declined, _) => "4000000000000002",
            (PaymentState::Error, _) => "4000000000000119",
            _ => "4444333322221111",
        }
    }
}

/// How far a fixture payment's dispute has gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DisputeStage {
    NeedsResponse,
    UnderReview,
    Won,
    Lost,
}

/// `count` agreements.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgreementFixture {
    #[serde(default = "one")]
    pub count: u32,
    #[serde(default = "active")]
    pub state: AgreementState,
    /// Default `FIXTURE-AGREEMENT-{entry}-{n}`.
    pub reference: Option<String>,
    pub description: Option<String>,
    pub user_identifier: Option<String>,
    /// Payments taken under it with the saved card (an active or cancelled agreement), each
    /// successful.
    #[serde(default)]
    pub payments: u32,
    /// The set-up payment's amount and each payment's.
    #[serde(default = "default_amount")]
    pub amount: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgreementState {
    /// Made, never set up.
    Created,
    /// Set up by a paid payment: its card is saved.
    Active,
    /// Set up, then cancelled by the service.
    Cancelled,
}

fn one() -> u32 {
    1
}
fn default_amount() -> i64 {
    1000
}
fn active() -> AgreementState {
    AgreementState::Active
}

/// What a fixture made.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Made {
    pub payments: Vec<MadePayment>,
    pub agreements: Vec<MadeAgreement>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct MadePayment {
    pub payment_id: String,
    /// Its place in the fixture's `payments`.
    pub entry: usize,
    /// Its public state now (`success`, `failed`...).
    pub state: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub refund_ids: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dispute_id: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct MadeAgreement {
    pub agreement_id: String,
    pub entry: usize,
    pub status: &'static str,
    /// The set-up payment first, then the payments taken under it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub payment_ids: Vec<String>,
}

fn bad(why: impl Into<String>) -> Failure {
    Failure::Refused(Refusal::Sandbox(SandboxRefusal::BadFixture(why.into())))
}

/// A refusal of one of the fixture's payments, in words, at `at` (`payments[2]`).
fn refused_at(at: &str, refusal: Refusal) -> Failure {
    let why = match refusal {
        Refusal::Invalid(Invalid::Missing(f)) => format!("{at}.{f} is missing"),
        Refusal::Invalid(Invalid::Malformed { field, message })
        | Refusal::Invalid(Invalid::Violates { field, message }) => {
            format!("{at}.{field}: {message}")
        }
        Refusal::Invalid(Invalid::Unexpected(f)) => format!("{at}: {f} is not taken here"),
        Refusal::RecurringNotEnabled => {
            format!("{at}: the service does not take recurring card payments (turn them on first)")
        }
        Refusal::AccountDisabled => "the service is disabled".into(),
        Refusal::Sandbox(r) => format!("{at}: {r}"),
        other => format!("{at}: refused ({other:?})"),
    };
    bad(why)
}

/// A use case's failure for the fixture's entry at `at`: a refusal in words naming it.
fn at_entry(at: &str) -> impl Fn(Failure) -> Failure + '_ {
    move |e| match e {
        Failure::Refused(r) => refused_at(at, r),
        e => e,
    }
}

/// The create-payment body of fixture payment `n` of entry `entry`.
fn payment_body(f: &PaymentFixture, entry: usize, n: u32) -> Value {
    let mut body = json!({
        "amount": f.amount,
        "reference": f.reference.clone().unwrap_or_else(|| format!("FIXTURE-{}-{}", entry + 1, n + 1)),
        "description": f.description.clone().unwrap_or_else(|| "Fixture payment".into()),
        "return_url": f.return_url.clone().unwrap_or_else(|| "https://service.example/return".into()),
        "delayed_capture": f.delayed_capture || f.state == PaymentState::Capturable,
    });
    if let Some(email) = &f.email {
        body["email"] = json!(email);
    }
    if let Some(language) = &f.language {
        body["language"] = json!(language);
    }
    if let Some(metadata) = &f.metadata {
        body["metadata"] = Value::Object(metadata.clone());
    }
    if let Some(name) = &f.cardholder_name {
        body["prefilled_cardholder_details"] = json!({"cardholder_name": name});
    }
    body
}

/// How long before the service's present a payment's journey starts, so that it has reached
/// its state by `-MARGIN_MS`.
fn lead_ms(f: &PaymentFixture) -> i64 {
    match (f.state, f.dispute) {
        (PaymentState::Expired, _) => sweeps::EXPIRY_MS + MARGIN_MS,
        (_, Some(DisputeStage::NeedsResponse)) => RAISED_AFTER_MS + MARGIN_MS,
        (_, Some(DisputeStage::UnderReview)) => RAISED_AFTER_MS + REVIEWED_AFTER_MS + MARGIN_MS,
        (_, Some(DisputeStage::Won | DisputeStage::Lost)) => {
            RAISED_AFTER_MS + REVIEWED_AFTER_MS + DECIDED_AFTER_MS + MARGIN_MS
        }
        (PaymentState::Success, None) => 2 * MARGIN_MS,
        _ => 0,
    }
}

/// Refuses what no journey reaches, before anything is made.
fn check(req: &FixtureRequest, service: &Service) -> Result<(), Failure> {
    if service.live {
        return Err(Refusal::NotFound.into());
    }
    let total: u64 = req
        .payments
        .iter()
        .map(|p| u64::from(p.count))
        .chain(
            req.agreements
                .iter()
                .map(|a| u64::from(a.count) * (1 + u64::from(a.payments))),
        )
        .sum();
    for (i, f) in req.payments.iter().enumerate() {
        let at = format!("payments[{i}]");
        if f.count == 0 {
            return Err(bad(format!("{at}.count must be at least 1")));
        }
        let success = f.state == PaymentState::Success;
        if !f.refunds.is_empty() && !success {
            return Err(bad(format!("{at}: only a successful payment has refunds")));
        }
        if f.dispute.is_some() && !success {
            return Err(bad(format!("{at}: only a successful payment is disputed")));
        }
        if f.dispute.is_some() && !f.refunds.is_empty() {
            return Err(bad(format!(
                "{at}: a disputed payment cannot be refunded; make its refunds a payment of its own"
            )));
        }
        if f.refunds.iter().any(|r| *r < 1) {
            return Err(bad(format!(
                "{at}.refunds: each refund is at least 1 penny"
            )));
        }
        if f.refunds.iter().sum::<i64>() > f.amount {
            return Err(bad(format!(
                "{at}.refunds: together more than the payment's amount"
            )));
        }
        if f.amount == 0
            && !matches!(
                f.state,
                PaymentState::Created | PaymentState::Started | PaymentState::Cancelled
            )
        {
            return Err(bad(format!("{at}: a payment of 0 is never paid by card")));
        }
        let body = payment_body(f, i, 0);
        let request = crate::payment::create::parse_request(&body)
            .map_err(|r| refused_at(&at, Refusal::Invalid(r)))?;
        crate::payment::create::check_for_service(&request, service)
            .map_err(|r| refused_at(&at, r))?;
    }
    for (i, a) in req.agreements.iter().enumerate() {
        let at = format!("agreements[{i}]");
        if a.count == 0 {
            return Err(bad(format!("{at}.count must be at least 1")));
        }
        if a.payments > 0 && a.state == AgreementState::Created {
            return Err(bad(format!(
                "{at}: an agreement never set up has no payments"
            )));
        }
        if a.amount < 1 {
            return Err(bad(format!("{at}.amount must be at least 1")));
        }
        if !service.recurring_enabled {
            return Err(refused_at(&at, Refusal::RecurringNotEnabled));
        }
    }
    if total == 0 {
        return Err(bad(
            "the fixture makes nothing: give payments or agreements",
        ));
    }
    if total > u64::from(MOST_PAYMENTS) {
        return Err(bad(format!(
            "a fixture makes at most {MOST_PAYMENTS} payments; this one makes {total}"
        )));
    }
    Ok(())
}

/// What a fixture's journeys share: the service and its clock at any moment.
struct Run<'a> {
    deps: Deps<'a>,
    service: &'a Service,
}

impl<'a> Run<'a> {
    /// The service's clock `rel_ms` from its present (negative: earlier).
    fn at(&self, rel_ms: i64) -> Offset<'a> {
        Offset {
            base: self.deps.clock,
            offset_ms: self.service.clock_offset_ms + rel_ms,
        }
    }

    fn deps_at<'c>(&self, clock: &'c dyn Clock) -> Deps<'c>
    where
        'a: 'c,
    {
        Deps {
            store: self.deps.store,
            clock,
            psp: self.deps.psp,
        }
    }

    fn psp(&self) -> &'a dyn PaymentProvider {
        self.deps.psp
    }

    async fn create(
        &self,
        body: &Value,
        clock: &dyn Clock,
        at: &str,
    ) -> Result<PaymentRecord, Failure> {
        match create_payment(self.deps.store, clock, self.service, body, None)
            .await
            .map_err(at_entry(at))?
        {
            Created::New(p) | Created::Replayed(p) => Ok(p),
        }
    }

    async fn current(&self, id: &str) -> Result<PaymentRecord, Failure> {
        crate::payment::operations::find_payment(self.deps.store, self.service, id).await
    }

    /// Pays `id` with `card` at `clock`'s time, confirming unless told not to.
    async fn pay(
        &self,
        id: &str,
        card: &str,
        confirm: bool,
        clock: &dyn Clock,
    ) -> Result<PaymentRecord, Failure> {
        let req = PayRequest {
            card_number: card.into(),
            three_ds_passes: true,
            confirm,
            ..Default::default()
        };
        pay_on(self.deps_at(clock), self.service, id, &req).await
    }

    /// One fixture payment, by its journey.
    async fn payment(
        &self,
        f: &PaymentFixture,
        entry: usize,
        n: u32,
    ) -> Result<MadePayment, Failure> {
        let at = format!("payments[{entry}]");
        let start = -lead_ms(f);
        let begin = self.at(start);
        let p = self.create(&payment_body(f, entry, n), &begin, &at).await?;
        let id = p.id.clone();
        let mut made = MadePayment {
            payment_id: id.clone(),
            entry,
            state: "",
            refund_ids: Vec::new(),
            dispute_id: None,
        };
        let card = f.state.card(f.dispute);
        match f.state {
            PaymentState::Created => {}
            PaymentState::Started => {
                opened(self.deps_at(&begin), self.service, &id).await?;
            }
            PaymentState::Submitted => {
                self.pay(&id, card, false, &begin).await?;
            }
            PaymentState::Capturable | PaymentState::Declined | PaymentState::Error => {
                self.pay(&id, card, true, &begin).await?;
            }
            PaymentState::UserCancelled => {
                cancel_on(self.deps_at(&begin), self.service, &id).await?;
            }
            PaymentState::Cancelled => {
                cancel_payment(
                    self.deps.store,
                    &begin,
                    self.psp(),
                    Actor::Service,
                    self.service,
                    &id,
                )
                .await?;
            }
            PaymentState::Expired => {
                sweeps::expire_payment(
                    self.deps.store,
                    &self.at(-MARGIN_MS),
                    self.psp(),
                    Target::Any(&id),
                )
                .await?;
            }
            PaymentState::Success => {
                self.success(f, &id, start, card, &mut made).await?;
            }
        }
        made.state = self.current(&id).await?.status.external().status;
        Ok(made)
    }

    /// A payment's way to success from `start`: paid, captured (at the service's request
    /// first when it is delayed), refunded, disputed.
    async fn success(
        &self,
        f: &PaymentFixture,
        id: &str,
        start: i64,
        card: &str,
        made: &mut MadePayment,
    ) -> Result<(), Failure> {
        let store = self.deps.store;
        let paid = self.pay(id, card, true, &self.at(start)).await?;
        let mut now = start;
        if paid.status == Status::AwaitingCaptureRequest {
            now += MINUTE_MS;
            capture_payment(store, &self.at(now), Actor::Service, self.service, id).await?;
        }
        sweeps::capture_payment(store, &self.at(now), self.psp(), Target::Any(id)).await?;
        for (k, amount) in f.refunds.iter().enumerate() {
            let clock = self.at(-MARGIN_MS + k as i64 * 1000);
            let body = json!({"amount": amount});
            let refund = crate::refund::operations::create_refund(
                store,
                &clock,
                self.psp(),
                Actor::Service,
                self.service,
                id,
                &body,
            )
            .await
            .map_err(at_entry(&format!("payments[{}].refunds[{k}]", made.entry)))?;
            made.refund_ids.push(refund.id);
        }
        let Some(stage) = f.dispute else {
            return Ok(());
        };
        let captured = self.current(id).await?;
        let present = self.at(0).now_ms();
        let raised_at = captured.dispute_due_ms.unwrap_or(present) - present;
        let dispute = sweeps::raise_dispute(store, &self.at(raised_at), self.psp(), &captured)
            .await?
            .ok_or_else(|| bad("the sandbox raised no dispute for the dispute card"))?;
        made.dispute_id = Some(dispute.id.clone());
        if stage == DisputeStage::NeedsResponse {
            return Ok(());
        }
        // The sandbox pays the payment out a day after capture, before the bank decides.
        if matches!(stage, DisputeStage::Won | DisputeStage::Lost) {
            sweeps::settle_payment(
                store,
                &self.at(now + sweeps::SETTLE_AFTER_MS),
                Target::Any(id),
            )
            .await?;
        }
        let reviewed_at = dispute.due_ms.unwrap_or(present) - present;
        let under_review = sweeps::advance_dispute(store, &self.at(reviewed_at), &dispute)
            .await?
            .ok_or_else(|| bad("the dispute did not go under review"))?;
        if stage == DisputeStage::UnderReview {
            return Ok(());
        }
        let decided = under_review.due_ms.unwrap_or(present) - present;
        sweeps::advance_dispute(store, &self.at(decided), &under_review).await?;
        Ok(())
    }

    /// One fixture agreement, set up by a paid payment, with its payments.
    async fn agreement(
        &self,
        a: &AgreementFixture,
        entry: usize,
        n: u32,
    ) -> Result<MadeAgreement, Failure> {
        let at = format!("agreements[{entry}]");
        let store = self.deps.store;
        let start = if a.state == AgreementState::Created {
            0
        } else {
            -2 * MARGIN_MS
        };
        let begin = self.at(start);
        let reference = a
            .reference
            .clone()
            .unwrap_or_else(|| format!("FIXTURE-AGREEMENT-{}-{}", entry + 1, n + 1));
        let mut body = json!({
            "reference": reference,
            "description": a.description.clone().unwrap_or_else(|| "Fixture agreement".into()),
        });
        if let Some(user) = &a.user_identifier {
            body["user_identifier"] = json!(user);
        }
        let agreement = create_agreement(store, &begin, self.service, &body)
            .await
            .map_err(at_entry(&at))?;
        let mut made = MadeAgreement {
            agreement_id: agreement.id.clone(),
            entry,
            status: "",
            payment_ids: Vec::new(),
        };
        if a.state != AgreementState::Created {
            let set_up = json!({
                "amount": a.amount,
                "reference": reference,
                "description": "Set up the agreement",
                "return_url": "https://service.example/return",
                "set_up_agreement": agreement.id,
            });
            let p = self.create(&set_up, &begin, &at).await?;
            self.pay(&p.id, "4444333322221111", true, &begin).await?;
            sweeps::capture_payment(store, &begin, self.psp(), Target::Any(&p.id)).await?;
            made.payment_ids.push(p.id);
            for k in 0..a.payments {
                let clock = self.at(start + MINUTE_MS + i64::from(k) * 1000);
                let body = json!({
                    "amount": a.amount,
                    "reference": format!("{reference}-{}", k + 1),
                    "description": "Agreement payment",
                    "agreement_id": agreement.id,
                    "authorisation_mode": "agreement",
                });
                let p = self.create(&body, &clock, &at).await?;
                crate::agreement::recurring::authorise(self.deps_at(&clock), p.clone()).await?;
                sweeps::capture_payment(store, &clock, self.psp(), Target::Any(&p.id)).await?;
                made.payment_ids.push(p.id);
            }
        }
        if a.state == AgreementState::Cancelled {
            cancel_agreement(
                store,
                &self.at(-MARGIN_MS),
                Actor::Service,
                self.service,
                &agreement.id,
            )
            .await?;
        }
        let now = crate::agreement::operations::find_agreement(store, self.service, &agreement.id)
            .await?;
        made.status = now.status.as_str();
        Ok(made)
    }
}

/// Makes `req`'s payments and agreements for test service `service`, each by its journey,
/// dated on the service's clock. Nothing is made when the fixture asks for what no journey
/// reaches; a failure half way leaves what was made so far.
pub async fn load(
    deps: Deps<'_>,
    service: &Service,
    req: &FixtureRequest,
) -> Result<Made, Failure> {
    check(req, service)?;
    let store = deps.store;
    let until = crate::clock::system_now_ms() + super::HOLD_SWEEPS_MS;
    if !store.hold_sweeps(&service.id, Some(until)).await? {
        return Err(Refusal::NotFound.into());
    }
    let run = Run { deps, service };
    let made = make(&run, req).await;
    store.hold_sweeps(&service.id, None).await?;
    made
}

async fn make(run: &Run<'_>, req: &FixtureRequest) -> Result<Made, Failure> {
    let payments = req
        .payments
        .iter()
        .enumerate()
        .flat_map(|(i, f)| (0..f.count).map(move |n| (i, f, n)))
        .map(|(i, f, n)| run.payment(f, i, n));
    let payments = at_once(payments).await?;
    let agreements = req
        .agreements
        .iter()
        .enumerate()
        .flat_map(|(i, a)| (0..a.count).map(move |n| (i, a, n)))
        .map(|(i, a, n)| run.agreement(a, i, n));
    let agreements = at_once(agreements).await?;
    Ok(Made {
        payments,
        agreements,
    })
}

/// Runs `journeys` `AT_ONCE` at a time, in order, each made only when it starts: a journey's
/// future is large, and 10,000 of them made up front held some 300 MB.
async fn at_once<T>(
    mut journeys: impl Iterator<Item = impl std::future::Future<Output = Result<T, Failure>>>,
) -> Result<Vec<T>, Failure> {
    let mut running = futures_util::stream::FuturesOrdered::new();
    let mut done = Vec::new();
    loop {
        while running.len() < AT_ONCE {
            match journeys.next() {
                Some(journey) => running.push_back(journey),
                None => break,
            }
        }
        match running.next().await {
            Some(made) => done.push(made?),
            None => return Ok(done),
        }
    }
}
