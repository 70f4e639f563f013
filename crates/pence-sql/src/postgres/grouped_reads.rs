//! PostgreSQL's grouped key lookups: a row read by its key (a payment by id, the hottest read)
//! waits in a queue with the others asked for at the same moment, and a few reader tasks each
//! take what is queued and answer it with one `key = ANY($1)` query. As the writers' group
//! commits do for changes, this turns many round trips (a send, a wake-up of a backend, a
//! parse-bind-execute, a reply each) into one under load; alone, a lookup is still one query.

use std::collections::HashMap;
use std::sync::Arc;

use pence_store_error::StoreError;
use tokio::sync::{mpsc, oneshot, Mutex};

use super::{connection_lost, decode_all, err, next_group, Own};
use crate::db::ByKey;
use crate::value::{Row, Val};

/// The most keys one query asks for.
const MOST: usize = 256;

type Answer = oneshot::Sender<Result<Option<Row>, StoreError>>;

/// The queue of one `ByKey` and its reader tasks.
pub(crate) struct Grouped {
    tx: mpsc::Sender<(String, Answer)>,
}

impl Grouped {
    /// Starts `readers` tasks answering `by`'s lookups through `pool`.
    pub(crate) fn start(pool: sqlx::PgPool, by: &'static ByKey, readers: usize) -> Grouped {
        let (tx, rx) = mpsc::channel(16_384);
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..readers.max(1) {
            tokio::spawn(reader(pool.clone(), by, rx.clone()));
        }
        Grouped { tx }
    }

    pub(crate) async fn read(&self, key: &str) -> Result<Option<Row>, StoreError> {
        let (answer, answered) = oneshot::channel();
        let gone = || StoreError::database("the database is closed");
        self.tx
            .send((key.to_string(), answer))
            .await
            .map_err(|_| gone())?;
        answered.await.map_err(|_| gone())?
    }
}

async fn reader(
    pool: sqlx::PgPool,
    by: &'static ByKey,
    rx: Arc<Mutex<mpsc::Receiver<(String, Answer)>>>,
) {
    let mut own = Own::new(&pool);
    while let Some(mut asked) = next_group(&rx, MOST).await {
        let mut keys: Vec<&str> = asked.iter().map(|(k, _)| k.as_str()).collect();
        keys.sort_unstable();
        keys.dedup();
        let rows = read_keys(&mut own, by, &keys).await;
        match rows {
            Ok(rows) => {
                let mut found: HashMap<String, Row> = HashMap::with_capacity(rows.len());
                for row in rows {
                    if let Some(Val::Text(key)) = row.get(by.key) {
                        found.insert(key.clone(), row);
                    }
                }
                // The same key asked twice gets a copy; the last asker takes the row.
                asked.sort_unstable_by(|a, b| a.0.cmp(&b.0));
                let mut asks = asked.into_iter().peekable();
                while let Some((key, answer)) = asks.next() {
                    let again = asks.peek().is_some_and(|(next, _)| *next == key);
                    let row = if again {
                        found.get(&key).cloned()
                    } else {
                        found.remove(&key)
                    };
                    let _ = answer.send(Ok(row));
                }
            }
            Err(e) => {
                let e: Arc<dyn std::error::Error + Send + Sync> = Arc::new(e);
                for (_, answer) in asked {
                    let _ = answer.send(Err(StoreError::shared("postgres: read", e.clone())));
                }
            }
        }
    }
}

/// The rows of `keys` on the reader's own connection; a lost connection is replaced and the
/// read tried once more.
async fn read_keys(own: &mut Own, by: &ByKey, keys: &[&str]) -> Result<Vec<Row>, StoreError> {
    let mut tried = false;
    loop {
        let conn = own.get().await?;
        let rows = if let [key] = keys {
            sqlx::query(&by.one).bind(*key).fetch_all(conn).await
        } else {
            sqlx::query(&by.many).bind(keys).fetch_all(conn).await
        };
        match rows {
            Ok(rows) => return decode_all(&rows),
            Err(e) if connection_lost(&e) => {
                own.lost();
                if tried {
                    return Err(err(e));
                }
                tried = true;
            }
            Err(e) => return Err(err(e)),
        }
    }
}
