//! Finance reconciliation: every payment and refund settled between two dates, one CSV row per
//! money movement (refunds negative), with the payments' metadata as columns, built from the
//! search API's settled-date filters so it matches what GOV.UK Pay paid out.

use std::collections::{BTreeSet, HashMap};
use std::io::Write;

use futures_util::TryStreamExt;
use pence_client::{Client, PaymentSearch, RefundSearch};
use pence_wire::Payment;
use serde_json::Value;

use crate::Error;

/// What went wrong writing a report.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error(transparent)]
    Pay(#[from] pence_client::Error),
    #[error(transparent)]
    Csv(#[from] csv::Error),
}

impl From<ReconcileError> for Error {
    fn from(e: ReconcileError) -> Self {
        match e {
            ReconcileError::Pay(e) => Error::Pay(e),
            ReconcileError::Csv(e) => Error::Database(pence_sql::StoreError::driver("csv", e)),
        }
    }
}

const FIXED: [&str; 11] = [
    "movement",
    "payment_id",
    "refund_id",
    "reference",
    "description",
    "amount",
    "fee",
    "net_amount",
    "settled_date",
    "created_date",
    "card_brand",
];

/// Writes the movements settled on or after `from` and before `to` (dates, `2026-11-30`, as
/// GOV.UK Pay's `from_settled_date` and `to_settled_date` take them) to `out` as CSV;
/// answers how many rows.
pub async fn settled_csv(
    client: &Client,
    from: &str,
    to: &str,
    out: impl Write,
) -> Result<usize, ReconcileError> {
    let payments: Vec<Payment> = client
        .search_payments_all(&PaymentSearch {
            from_settled_date: Some(from.to_string()),
            to_settled_date: Some(to.to_string()),
            ..Default::default()
        })
        .try_collect()
        .await?;
    let refunds: Vec<_> = client
        .search_refunds_all(&RefundSearch {
            from_settled_date: Some(from.to_string()),
            to_settled_date: Some(to.to_string()),
            ..Default::default()
        })
        .try_collect()
        .await?;
    // A refund's payment may have settled on another day: fetched once each.
    let mut of_refunds: HashMap<String, Payment> = HashMap::new();
    for refund in &refunds {
        if !of_refunds.contains_key(&refund.payment_id)
            && !payments.iter().any(|p| p.payment_id == refund.payment_id)
        {
            let payment = client.get_payment(&refund.payment_id).await?;
            of_refunds.insert(refund.payment_id.clone(), payment);
        }
    }
    let payment_of = |id: &str| {
        payments
            .iter()
            .find(|p| p.payment_id == id)
            .or_else(|| of_refunds.get(id))
    };
    let keys: BTreeSet<String> = payments
        .iter()
        .chain(of_refunds.values())
        .filter_map(|p| p.metadata.as_ref())
        .flat_map(|m| m.keys().cloned())
        .collect();
    let mut csv = csv::Writer::from_writer(out);
    let header = FIXED
        .iter()
        .map(|c| c.to_string())
        .chain(keys.iter().map(|k| format!("metadata.{k}")));
    csv.write_record(header)?;
    let metadata = |p: Option<&Payment>| -> Vec<String> {
        keys.iter()
            .map(
                |k| match p.and_then(|p| p.metadata.as_ref()).and_then(|m| m.get(k)) {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Null) | None => String::new(),
                    Some(other) => other.to_string(),
                },
            )
            .collect()
    };
    let opt = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
    let mut rows = 0;
    for p in &payments {
        let mut row = vec![
            "payment".to_string(),
            p.payment_id.clone(),
            String::new(),
            p.reference.clone(),
            p.description.clone(),
            p.total_amount.unwrap_or(p.amount).to_string(),
            opt(p.fee),
            opt(p.net_amount),
            p.settlement_summary
                .settled_date
                .clone()
                .unwrap_or_default(),
            p.created_date.clone(),
            p.card_details
                .as_ref()
                .map(|c| c.card_brand.clone())
                .unwrap_or_default(),
        ];
        row.extend(metadata(Some(p)));
        csv.write_record(&row)?;
        rows += 1;
    }
    for r in &refunds {
        let p = payment_of(&r.payment_id);
        let mut row = vec![
            "refund".to_string(),
            r.payment_id.clone(),
            r.refund_id.clone(),
            p.map(|p| p.reference.clone()).unwrap_or_default(),
            p.map(|p| p.description.clone()).unwrap_or_default(),
            (-r.amount).to_string(),
            String::new(),
            (-r.amount).to_string(),
            r.settlement_summary
                .settled_date
                .clone()
                .unwrap_or_default(),
            r.created_date.clone(),
            String::new(),
        ];
        row.extend(metadata(p));
        csv.write_record(&row)?;
        rows += 1;
    }
    csv.flush().map_err(csv::Error::from)?;
    Ok(rows)
}
