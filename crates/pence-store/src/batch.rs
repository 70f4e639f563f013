//! Group commit. Creating a payment must be durable (fsync'd) before its 201; one fsync per
//! payment caps throughput near the disk's sync rate, so concurrent inserts queue here and a
//! writer commits everything queued in one transaction: each payment still lands atomically
//! with its event, and all callers of a batch are answered after its single commit.
//!
//! Rows are written with multi-row INSERTs in a few fixed chunk sizes, so the prepared
//! statements stay few and cached.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use pence_core::payment::{LedgerEvent, PaymentRecord};
use pence_core::StoreError;
use tokio::sync::{mpsc, oneshot};

use crate::connect::db_err;
use crate::engine::{on_engine, Engine};
use crate::rows::{
    self, bind_event, bind_payment, EVENT_COLUMNS, PAYMENT_COLUMNS, PAYMENT_COLUMN_COUNT,
};

const CHUNKS: [usize; 4] = [64, 16, 4, 1];
const QUEUE: usize = 16_384;

struct Job {
    payment: PaymentRecord,
    event: LedgerEvent,
    reply: oneshot::Sender<Result<(), StoreError>>,
}

#[derive(Clone)]
pub(crate) struct Batcher {
    tx: mpsc::Sender<Job>,
}

impl Batcher {
    pub(crate) fn start(engine: Engine, max_batch: usize, writers: usize) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        for _ in 0..writers {
            tokio::spawn(writer(engine.clone(), rx.clone(), max_batch.max(1)));
        }
        Batcher { tx }
    }

    pub(crate) async fn insert_payment(
        &self,
        payment: &PaymentRecord,
        event: &LedgerEvent,
    ) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            payment: payment.clone(),
            event: event.clone(),
            reply,
        };
        let closed = || StoreError::Database("store writer stopped".into());
        self.tx.send(job).await.map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }
}

async fn writer(
    engine: Engine,
    rx: Arc<tokio::sync::Mutex<mpsc::Receiver<Job>>>,
    max_batch: usize,
) {
    loop {
        let mut batch = Vec::new();
        {
            let mut rx = rx.lock().await;
            match rx.recv().await {
                Some(job) => batch.push(job),
                None => return,
            }
            while batch.len() < max_batch {
                match rx.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
        }
        match write(&engine, &batch).await {
            Ok(()) => {
                for job in batch {
                    let _ = job.reply.send(Ok(()));
                }
            }
            // One bad row must not fail its neighbours: write each alone to find it.
            Err(_) if batch.len() > 1 => {
                for job in batch {
                    let result = write(&engine, std::slice::from_ref(&job)).await;
                    let _ = job.reply.send(result);
                }
            }
            Err(e) => {
                for job in batch {
                    let _ = job.reply.send(Err(StoreError::Database(e.to_string())));
                }
            }
        }
    }
}

/// The INSERT for `rows` rows into `table`, built once per size and kept.
fn insert_sql(
    table: &'static str,
    columns: &'static str,
    count: usize,
    rows: usize,
) -> &'static str {
    static CACHE: OnceLock<Mutex<HashMap<(&'static str, usize), &'static str>>> = OnceLock::new();
    let mut cache = CACHE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    cache.entry((table, rows)).or_insert_with(|| {
        let sql = format!(
            "INSERT INTO {table} ({columns}) VALUES {}",
            rows::placeholders(rows, count)
        );
        Box::leak(sql.into_boxed_str())
    })
}

async fn write(engine: &Engine, jobs: &[Job]) -> Result<(), StoreError> {
    on_engine!(engine, write pool => {
        let mut tx = pool.begin().await.map_err(db_err)?;
        let mut rest = jobs;
        while !rest.is_empty() {
            let n = CHUNKS.iter().copied().find(|c| *c <= rest.len()).unwrap_or(1);
            let (chunk, tail) = rest.split_at(n);
            let mut q = sqlx::query(insert_sql("payments", PAYMENT_COLUMNS, PAYMENT_COLUMN_COUNT, n));
            for job in chunk {
                q = bind_payment!(q, &job.payment);
            }
            q.execute(&mut *tx).await.map_err(db_err)?;
            let mut q = sqlx::query(insert_sql("payment_events", EVENT_COLUMNS, 5, n));
            for job in chunk {
                q = bind_event!(q, &job.event);
            }
            q.execute(&mut *tx).await.map_err(db_err)?;
            rest = tail;
        }
        tx.commit().await.map_err(db_err)
    })
}
