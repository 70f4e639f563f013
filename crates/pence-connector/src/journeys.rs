//! Payment journeys: recorded before the user is redirected, matched on return by secret,
//! and moved forward (never back) by whichever of the return, a webhook or the mop-up learns
//! the payment's state first.

use axum_extra::extract::cookie::Cookie;
use pence_client::CreatePayment;
use pence_sql::StoreError;
use pence_sql::{Row, Stmt, Val};
use pence_wire::{PaymentState, RefundSummary};
use serde::Serialize;

use crate::returns::{self, ReturnVia};
use crate::{Connector, Error};

/// What the service asks for; the connector sets the return URL.
pub type StartPayment = CreatePayment;

/// A journey as the service's database holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Journey {
    pub journey_id: String,
    /// The service's own reference (the payment's `reference`).
    pub reference: String,
    pub description: String,
    pub amount: i64,
    /// GOV.UK Pay's payment id, once the payment exists.
    pub payment_id: Option<String>,
    /// `created` until the payment exists, then the payment's `state.status` as last learnt.
    pub status: String,
    pub finished: bool,
    /// The payment's `state.code` and `state.message` when it did not succeed.
    pub code: Option<String>,
    pub message: Option<String>,
    pub started_ms: i64,
    pub updated_ms: i64,
    /// What finished it: `return`, `webhook` or `mop_up`.
    pub resolved_by: Option<String>,
    /// The payment's refund summary as last learnt (`available`, `full`, `pending`,
    /// `unavailable`…).
    pub refund_status: Option<String>,
    pub refund_amount_available: Option<i64>,
    pub refund_amount_submitted: Option<i64>,
}

/// A started journey: send the user to `next_url` (and set `return_cookie` first when
/// returning by cookie).
#[derive(Debug)]
pub struct Started {
    pub journey: Journey,
    pub next_url: String,
    pub return_cookie: Option<Cookie<'static>>,
}

/// Statuses in the order a payment moves through them; the finished ones share the top rank,
/// so a journey never leaves one finished status for another.
pub(crate) fn rank(status: &str, finished: bool) -> i64 {
    match status {
        _ if finished => 4,
        "created" => 0,
        "started" => 1,
        "submitted" => 2,
        "capturable" => 3,
        _ => 1,
    }
}

const COLUMNS: &str = "journey_id, reference, description, amount, payment_id, status, rank, \
    code, message, started_ms, updated_ms, resolved_by, refund_status, refund_available, \
    refund_submitted";

fn journey(mut r: Row) -> Result<Journey, StoreError> {
    Ok(Journey {
        journey_id: r.text("journey_id")?,
        reference: r.text("reference")?,
        description: r.text("description")?,
        amount: r.i64("amount")?,
        payment_id: r.opt_text("payment_id")?,
        status: r.text("status")?,
        finished: r.i64("rank")? == 4,
        code: r.opt_text("code")?,
        message: r.opt_text("message")?,
        started_ms: r.i64("started_ms")?,
        updated_ms: r.i64("updated_ms")?,
        resolved_by: r.opt_text("resolved_by")?,
        refund_status: r.opt_text("refund_status")?,
        refund_amount_available: r.opt_i64("refund_available")?,
        refund_amount_submitted: r.opt_i64("refund_submitted")?,
    })
}

/// The statements that move a payment's journey to `state` (if that is forward) and keep its
/// refund summary (if `at` is newer than the one held). `by` names what learnt it.
pub(crate) fn advance(
    payment_id: &str,
    state: &PaymentState,
    refunds: &RefundSummary,
    at: &str,
    by: &str,
    now_ms: i64,
) -> Vec<Stmt> {
    let rank = rank(&state.status, state.finished);
    vec![
        Stmt::exec(
            "UPDATE pence_journeys SET status = $1, rank = $2, code = $3, message = $4, \
             updated_ms = $5, resolved_by = $6 WHERE payment_id = $7 AND rank < $2",
            vec![
                Val::from(state.status.as_str()),
                Val::from(rank),
                Val::from(state.code.clone()),
                Val::from(state.message.clone()),
                Val::from(now_ms),
                Val::from((rank == 4).then_some(by)),
                Val::from(payment_id),
            ],
        ),
        Stmt::exec(
            "UPDATE pence_journeys SET refund_status = $1, refund_available = $2, \
             refund_submitted = $3, refund_at = $4 \
             WHERE payment_id = $5 AND (refund_at IS NULL OR refund_at < $4)",
            vec![
                Val::from(refunds.status.as_str()),
                Val::from(refunds.amount_available),
                Val::from(refunds.amount_submitted),
                Val::from(at),
                Val::from(payment_id),
            ],
        ),
    ]
}

impl Connector {
    /// Records a journey, creates its payment (returning to `via`) and answers where to send
    /// the user. The journey is stored before the payment is created, so a payment never
    /// exists without one; if creating fails the journey ends in `error` with GOV.UK Pay's
    /// code and description.
    pub async fn start_payment(
        &self,
        mut payment: StartPayment,
        via: &ReturnVia,
    ) -> Result<Started, Error> {
        let secret = returns::new_secret();
        let journey_id = returns::new_journey_id();
        let now = self.clock.now_ms();
        payment.return_url = Some(via.return_url(&secret));
        self.db
            .apply(vec![Stmt::insert(
                "pence_journeys",
                "journey_id, reference, description, amount, return_hash, status, rank, \
                 started_ms, updated_ms",
                vec![
                    Val::from(journey_id.as_str()),
                    Val::from(payment.reference.as_str()),
                    Val::from(payment.description.as_str()),
                    Val::from(payment.amount),
                    Val::from(returns::hash(&secret)),
                    Val::from("created"),
                    Val::from(0),
                    Val::from(now),
                    Val::from(now),
                ],
            )])
            .await?;
        let created = match self.client.create_payment(&payment).await {
            Ok(created) => created,
            Err(e) => {
                let (code, message) = match &e {
                    pence_client::Error::Api(failure) => (
                        Some(failure.raw_code.clone()),
                        Some(failure.description.clone()),
                    ),
                    other => (None, Some(other.to_string())),
                };
                self.db
                    .apply(vec![Stmt::exec(
                        "UPDATE pence_journeys SET status = 'error', rank = 4, code = $1, \
                         message = $2, updated_ms = $3, resolved_by = 'start' \
                         WHERE journey_id = $4",
                        vec![
                            Val::from(code),
                            Val::from(message),
                            Val::from(self.clock.now_ms()),
                            Val::from(journey_id.as_str()),
                        ],
                    )])
                    .await?;
                return Err(e.into());
            }
        };
        self.db
            .apply(vec![Stmt::exec(
                "UPDATE pence_journeys SET payment_id = $1, updated_ms = $2 WHERE journey_id = $3",
                vec![
                    Val::from(created.payment_id.as_str()),
                    Val::from(self.clock.now_ms()),
                    Val::from(journey_id.as_str()),
                ],
            )])
            .await?;
        self.apply_payment(&created, "start").await?;
        let next_url = created
            .links
            .as_ref()
            .and_then(|l| l.next_url.as_ref())
            .map(|l| l.href.clone())
            .unwrap_or_default();
        let return_cookie = matches!(via, ReturnVia::Cookie { .. }).then(|| {
            let secure = via_is_https(via);
            returns::cookie(secret, secure)
        });
        let journey = self.journey(&journey_id).await?.ok_or_else(|| {
            Error::Database(StoreError::database("the journey just recorded is gone"))
        })?;
        Ok(Started {
            journey,
            next_url,
            return_cookie,
        })
    }

    /// The user came back with `secret` (from the return URL, or the opened return cookie):
    /// their journey, its payment's state checked by API, or `None` if no journey has that
    /// secret (a guess or a tampered value).
    pub async fn returned(&self, secret: &str) -> Result<Option<Journey>, Error> {
        let rows = self
            .db
            .query(
                "SELECT journey_id, payment_id, rank FROM pence_journeys WHERE return_hash = $1",
                vec![Val::from(returns::hash(secret))],
            )
            .await?;
        let Some(mut row) = rows.into_iter().next() else {
            return Ok(None);
        };
        let journey_id = row.text("journey_id")?;
        if let (Some(payment_id), false) = (row.opt_text("payment_id")?, row.i64("rank")? == 4) {
            let payment = self.client.get_payment(&payment_id).await?;
            self.apply_payment(&payment, "return").await?;
        }
        self.journey(&journey_id).await
    }

    /// Moves the payment's journey to what GOV.UK Pay says now (`by` names who asked).
    pub(crate) async fn apply_payment(
        &self,
        payment: &pence_wire::Payment,
        by: &str,
    ) -> Result<(), Error> {
        let stmts = advance(
            &payment.payment_id,
            &payment.state,
            &payment.refund_summary,
            &self.clock.now_iso(),
            by,
            self.clock.now_ms(),
        );
        Ok(self.db.apply(stmts).await?)
    }

    pub async fn journey(&self, journey_id: &str) -> Result<Option<Journey>, Error> {
        let sql = format!("SELECT {COLUMNS} FROM pence_journeys WHERE journey_id = $1");
        let rows = self.db.query(&sql, vec![Val::from(journey_id)]).await?;
        Ok(rows.into_iter().next().map(journey).transpose()?)
    }

    pub async fn journey_of_payment(&self, payment_id: &str) -> Result<Option<Journey>, Error> {
        let sql = format!("SELECT {COLUMNS} FROM pence_journeys WHERE payment_id = $1");
        let rows = self.db.query(&sql, vec![Val::from(payment_id)]).await?;
        Ok(rows.into_iter().next().map(journey).transpose()?)
    }

    /// Every journey, newest first.
    pub async fn journeys(&self) -> Result<Vec<Journey>, Error> {
        let sql = format!(
            "SELECT {COLUMNS} FROM pence_journeys ORDER BY started_ms DESC, journey_id DESC"
        );
        let rows = self.db.query(&sql, vec![]).await?;
        Ok(rows.into_iter().map(journey).collect::<Result<_, _>>()?)
    }
}

fn via_is_https(via: &ReturnVia) -> bool {
    match via {
        ReturnVia::UrlSecret { base } => base.starts_with("https://"),
        ReturnVia::Cookie { url } => url.starts_with("https://"),
    }
}
