//! A test service's state as rows (`SnapshotStore`, issue 31): read from every table of the
//! service in one snapshot of the database, kept as JSON in `snapshots` (migration 0040), and
//! put back in one transaction that deletes the service's rows and inserts the kept ones.
//!
//! `TABLES` names every table a state holds and which of its columns; a test
//! (`every_column_is_kept_or_left_out_on_purpose`) fails when a migration adds a column that
//! is in neither list. Left out: `service_id` (always the service's own, so a state moves to
//! a service of another node), and the node's working state that a put-back row must not
//! carry — what the freezing sweep froze (`frozen_seq`: a restored payment is frozen again,
//! its hour counts with it), and the claims of a message or email being sent. Event ids are
//! not kept either: rows are put back in their order and numbered anew, so they cannot clash
//! on another node.
//!
//! What the node derives is made true again by the same transaction: the service's frozen
//! hour counts go (nothing of it is frozen any more); `payment_counts` and SQLite's text index
//! follow the deletes and inserts by their triggers and mark (`LOWER_TEXT_MARK`); and `services.state_generation`
//! is raised, which retires every search count taken of the old state (`frozen.rs`) and gives
//! each restored versioned row a version no writer can have read before the restore (the
//! generation above bit 40), so a change in flight across a restore conflicts rather than
//! applies to the restored row.

use std::sync::{Arc, LazyLock};

use async_trait::async_trait;
use pence_core::ports::SnapshotStore;
use pence_core::sandbox::snapshots::{ServiceState, SnapshotSummary, TableRows};
use pence_core::StoreError;
use pence_sql::{vals, Engine, Row, Stmt, Ty, Val};
use serde_json::Value;

use super::SqlStore;

/// A table of a service's state.
struct Table {
    name: &'static str,
    /// The service's rows, `$1` its id.
    scope: &'static str,
    /// The order rows are read, and put back, in.
    order: &'static str,
    /// Whether the table has a `service_id` column (not kept: the service's own on insert).
    service_id: bool,
    /// The columns kept: `name:int`, `name:text`, `name:bool`, with `?` when nullable.
    kept: &'static [&'static str],
    /// The columns left out on purpose (see the module's words), null when put back.
    left_out: &'static [&'static str],
    /// Reads a row back as the store's own reads do: a file's row that would fail them is
    /// refused at import, rather than failing the API later.
    check: Option<fn(Row) -> Result<(), StoreError>>,
}

const OF_SERVICE: &str = "service_id = $1";
const OF_WEBHOOKS: &str = "webhook_id IN (SELECT id FROM webhooks WHERE service_id = $1)";

/// Every table of a service's state, parents first (the order rows are put back in; they are
/// deleted in the reverse order).
static TABLES: &[Table] = &[
    Table {
        name: "payments",
        scope: OF_SERVICE,
        order: "created_ms, id",
        service_id: true,
        kept: &[
            "id:text",
            "amount:int",
            "reference:text",
            "description:text",
            "return_url:text?",
            "language:text",
            "email:text?",
            "delayed_capture:bool",
            "moto:bool",
            "authorisation_mode:text",
            "metadata:text?",
            "prefilled_cardholder_name:text?",
            "prefilled_line1:text?",
            "prefilled_line2:text?",
            "prefilled_postcode:text?",
            "prefilled_city:text?",
            "prefilled_country:text?",
            "payment_provider:text",
            "status:text",
            "created_ms:int",
            "updated_ms:int",
            "version:int",
            "refund_submitted:int",
            "cardholder_name:text?",
            "first_digits:text?",
            "last_digits:text?",
            "card_brand:text?",
            "settled_ms:int?",
            "agreement_id:text?",
            "card_expiry:text?",
            "card_type:text?",
            "billing_line1:text?",
            "billing_line2:text?",
            "billing_postcode:text?",
            "billing_city:text?",
            "billing_country:text?",
            "provider_id:text?",
            "three_ds_required:bool",
            "corporate_surcharge:int?",
            "capture_submit_ms:int?",
            "captured_ms:int?",
            "disputed:bool",
            "dispute_due_ms:int?",
            "agreement_payment_type:text?",
            "can_retry:bool?",
        ],
        left_out: &["frozen_seq"],
        check: Some(|r| super::payments::payment_from(r).map(drop)),
    },
    Table {
        name: "payment_events",
        scope: OF_SERVICE,
        order: "id",
        service_id: true,
        kept: &[
            "payment_id:text",
            "event_type:text",
            "status:text",
            "created_ms:int",
        ],
        left_out: &["id"],
        check: None,
    },
    Table {
        name: "refunds",
        scope: OF_SERVICE,
        order: "created_ms, id",
        service_id: true,
        kept: &[
            "id:text",
            "payment_id:text",
            "amount:int",
            "status:text",
            "created_ms:int",
            "updated_ms:int",
            "settled_ms:int?",
        ],
        left_out: &[],
        check: Some(|r| super::refunds::refund_from(r).map(drop)),
    },
    Table {
        name: "used_tokens",
        scope: "payment_id IN (SELECT id FROM payments WHERE service_id = $1)",
        order: "token_hash",
        service_id: false,
        kept: &["token_hash:text", "payment_id:text", "used_ms:int"],
        left_out: &[],
        check: None,
    },
    Table {
        name: "disputes",
        scope: OF_SERVICE,
        order: "created_ms, id",
        service_id: true,
        kept: &[
            "id:text",
            "payment_id:text",
            "status:text",
            "won:bool",
            "reason:text",
            "amount:int",
            "fee:int",
            "net_amount:int?",
            "evidence_due_ms:int",
            "created_ms:int",
            "updated_ms:int",
            "due_ms:int?",
            "settled_ms:int?",
        ],
        left_out: &[],
        check: Some(|r| super::disputes::dispute_from(r).map(drop)),
    },
    Table {
        name: "agreements",
        scope: OF_SERVICE,
        order: "created_ms, id",
        service_id: true,
        kept: &[
            "id:text",
            "reference:text",
            "description:text",
            "user_identifier:text?",
            "status:text",
            "created_ms:int",
            "cancelled_ms:int?",
            "version:int",
            "instrument_created_ms:int?",
            "cardholder_name:text?",
            "first_digits:text?",
            "last_digits:text?",
            "card_brand:text?",
            "card_expiry:text?",
            "card_type:text?",
            "billing_line1:text?",
            "billing_line2:text?",
            "billing_postcode:text?",
            "billing_city:text?",
            "billing_country:text?",
        ],
        left_out: &[],
        check: Some(|r| super::agreements::agreement_from(r).map(drop)),
    },
    Table {
        name: "agreement_events",
        scope: OF_SERVICE,
        order: "created_ms, agreement_id, event_type",
        service_id: true,
        kept: &[
            "agreement_id:text",
            "event_type:text",
            "status:text",
            "created_ms:int",
        ],
        left_out: &[],
        check: None,
    },
    Table {
        name: "idempotency_keys",
        scope: OF_SERVICE,
        order: "created_ms, idempotency_key",
        service_id: true,
        kept: &[
            "idempotency_key:text",
            "fingerprint:text",
            "payment_id:text",
            "created_ms:int",
        ],
        left_out: &[],
        check: None,
    },
    Table {
        name: "webhooks",
        scope: OF_SERVICE,
        order: "created_ms, id",
        service_id: true,
        kept: &[
            "id:text",
            "tag:text",
            "callback_url:text",
            "description:text",
            "active:bool",
            "secret_version:int",
            "created_ms:int",
            "updated_ms:int",
        ],
        left_out: &[],
        check: Some(|r| super::webhooks::webhook_from(r, Vec::new()).map(drop)),
    },
    Table {
        name: "webhook_event_types",
        scope: OF_WEBHOOKS,
        order: "webhook_id, event_type",
        service_id: false,
        kept: &["webhook_id:text", "event_type:text"],
        left_out: &[],
        check: None,
    },
    Table {
        name: "webhook_secrets",
        scope: OF_WEBHOOKS,
        order: "webhook_id, version",
        service_id: false,
        kept: &[
            "webhook_id:text",
            "version:int",
            "secret:text",
            "created_ms:int",
        ],
        left_out: &[],
        check: None,
    },
    Table {
        name: "webhook_delivery_faults",
        scope: OF_WEBHOOKS,
        order: "webhook_id",
        service_id: false,
        kept: &[
            "webhook_id:text",
            "duplicate:bool",
            "out_of_order:bool",
            "delay_ms:int",
            "drop_first_attempts:int",
            "wrong_secret:bool",
            "chaos:text?",
        ],
        left_out: &[],
        check: Some(|r| super::webhooks::delivery_faults_from(r).map(drop)),
    },
    Table {
        name: "webhook_messages",
        scope: OF_WEBHOOKS,
        order: "created_ms, id",
        service_id: false,
        kept: &[
            "id:text",
            "webhook_id:text",
            "payment_id:text",
            "event_type:text",
            "event_ms:int",
            "resource:text",
            "secret_version:int",
            "status:text",
            "attempts:int",
            "next_attempt_ms:int",
            "created_ms:int",
            "updated_ms:int",
            "triggered:bool",
            "overrides:text?",
        ],
        left_out: &["claim", "lease_ms"],
        check: Some(|r| super::webhooks::message_from(r).map(drop)),
    },
    Table {
        name: "webhook_attempts",
        scope: "message_id IN (SELECT id FROM webhook_messages WHERE webhook_id IN \
                (SELECT id FROM webhooks WHERE service_id = $1))",
        order: "message_id, at_ms",
        service_id: false,
        kept: &[
            "message_id:text",
            "at_ms:int",
            "status_code:int?",
            "error:text?",
            "response_ms:int",
            "response_body:text?",
            "fault:text?",
        ],
        left_out: &[],
        check: Some(|r| super::webhooks::attempt_from(r).map(drop)),
    },
    Table {
        name: "emails",
        scope: OF_SERVICE,
        order: "created_ms, id",
        service_id: true,
        kept: &[
            "id:text",
            "payment_id:text",
            "kind:text",
            "to_address:text",
            "subject:text",
            "text_body:text",
            "html_body:text",
            "created_ms:int",
            "sent_ms:int?",
            "tries:int",
            "last_error:text?",
        ],
        left_out: &["claim_until_ms"],
        check: Some(|r| super::emails::email_from(r).map(drop)),
    },
    Table {
        name: "fault_rules",
        scope: OF_SERVICE,
        order: "created_ms, id",
        service_id: true,
        kept: &[
            "id:text",
            "method:text?",
            "path:text?",
            "remaining:int?",
            "fraction_ppm:int?",
            "seed:int",
            "matched:int",
            "action:text",
            "status:int?",
            "code:text?",
            "description:text?",
            "delay_ms:int?",
            "provider:text?",
            "created_ms:int",
            "expires_ms:int",
        ],
        left_out: &[],
        check: Some(|r| super::faults::fault_from(r).map(drop)),
    },
    Table {
        name: "payment_links",
        scope: OF_SERVICE,
        order: "created_ms, id",
        service_id: true,
        kept: &[
            "id:text",
            "title:text",
            "details:text",
            "amount:int?",
            "amount_hint:text?",
            "reference_label:text?",
            "reference_hint:text?",
            "language:text",
            "metadata:text",
            "service_path:text",
            "link_path:text",
            "created_ms:int",
            "updated_ms:int",
            "deleted_ms:int?",
        ],
        left_out: &[],
        check: Some(|r| super::links::link_from(r).map(drop)),
    },
    Table {
        name: "link_payments",
        scope: OF_SERVICE,
        order: "created_ms, id",
        service_id: true,
        kept: &[
            "id:text",
            "link_id:text",
            "payment_id:text",
            "generated_reference:text?",
            "created_ms:int",
        ],
        left_out: &[],
        check: Some(|r| super::links::link_payment_from(r).map(drop)),
    },
];

/// SQLite numbers a new row one past the highest row left, so once the newest payments are
/// deleted, rows put back could take numbers at or below the text index's mark (0031) and
/// never be indexed or counted. Every row above the highest left was deleted (its index
/// entries and count with it), so the mark comes down to it.
const LOWER_TEXT_MARK: &str = "UPDATE text_index_mark SET upto = \
     MIN(upto, COALESCE((SELECT MAX(rowid) FROM payments), 0)) WHERE id = 1";

/// Tables whose `version` column a writer's conditional change names.
const VERSIONED: [&str; 2] = ["payments", "agreements"];
/// Where a restore's generation goes in a restored row's version.
const GENERATION_SHIFT: u32 = 40;
/// Tables with a secret sealed at rest, and its column.
const SEALED: [(&str, &str); 1] = [("webhook_secrets", "secret")];

/// A kept column: its name, type and whether it may be null.
struct Column {
    name: &'static str,
    ty: Ty,
    nullable: bool,
}

/// What each table's statements are, worked out once from `TABLES`.
struct Written {
    columns: Vec<Column>,
    /// `SELECT kept FROM t WHERE scope ORDER BY order`.
    select: String,
    /// `DELETE FROM t WHERE scope`.
    delete: String,
    /// The insert's columns: the kept ones, then `service_id` where the table has one.
    insert_columns: String,
}

static WRITTEN: LazyLock<Vec<Written>> = LazyLock::new(|| TABLES.iter().map(written).collect());

fn written(t: &Table) -> Written {
    let columns: Vec<Column> = t
        .kept
        .iter()
        .map(|spec| {
            let (name, ty) = spec.split_once(':').expect("name:type");
            let (ty, nullable) = ty.strip_suffix('?').map_or((ty, false), |ty| (ty, true));
            let ty = match ty {
                "int" => Ty::Int,
                "text" => Ty::Text,
                "bool" => Ty::Bool,
                other => panic!("no column type {other}"),
            };
            Column { name, ty, nullable }
        })
        .collect();
    let names: Vec<&str> = columns.iter().map(|c| c.name).collect();
    let mut insert = names.join(", ");
    if t.service_id {
        insert.push_str(", service_id");
    }
    Written {
        select: format!(
            "SELECT {} FROM {} WHERE {} ORDER BY {}",
            names.join(", "),
            t.name,
            t.scope,
            t.order
        ),
        delete: format!("DELETE FROM {} WHERE {}", t.name, t.scope),
        insert_columns: insert,
        columns,
    }
}

fn bad(why: impl Into<String>) -> StoreError {
    StoreError::database(why.into())
}

/// A column's value as a snapshot keeps it (SQLite's booleans are integers).
fn to_json(c: &Column, v: Val) -> Value {
    match (v, c.ty) {
        (Val::Null(_), _) => Value::Null,
        (Val::Int(i), Ty::Bool) => Value::Bool(i != 0),
        (Val::Int(i), _) => Value::from(i),
        (Val::Bool(b), _) => Value::Bool(b),
        (Val::Text(s), _) => Value::String(s),
        (Val::Bytes(b), _) => Value::String(String::from_utf8_lossy(&b).into_owned()),
    }
}

/// A kept value as the column's own type, or why not.
fn to_val(c: &Column, v: &Value) -> Result<Val, String> {
    Ok(match (v, c.ty) {
        (Value::Null, ty) if c.nullable => Val::Null(ty),
        (Value::Number(n), Ty::Int) => n
            .as_i64()
            .map(Val::Int)
            .ok_or_else(|| format!("{} must be a whole number", c.name))?,
        (Value::String(s), Ty::Text) if !s.contains('\0') => Val::Text(s.clone()),
        (Value::Bool(b), Ty::Bool) => Val::Bool(*b),
        (_, ty) => {
            let kind = match ty {
                Ty::Int => "a whole number",
                Ty::Text => "a string",
                Ty::Bool => "true or false",
            };
            let or_null = if c.nullable { " or null" } else { "" };
            return Err(format!("{} must be {kind}{or_null}", c.name));
        }
    })
}

/// A stored version put back under `generation`.
fn restored_version(saved: i64, generation: i64) -> i64 {
    (saved & ((1 << GENERATION_SHIFT) - 1)) | (generation << GENERATION_SHIFT)
}

impl SqlStore {
    /// Applies `f` to every value of the sealed columns of `state`.
    fn map_sealed(
        mut state: ServiceState,
        f: impl Fn(String) -> Result<String, StoreError>,
    ) -> Result<ServiceState, StoreError> {
        for (table, column) in SEALED {
            let Some(rows) = state.get_mut(table) else {
                continue;
            };
            let Some(i) = rows.columns.iter().position(|c| c == column) else {
                continue;
            };
            for row in &mut rows.rows {
                if let Some(Value::String(s)) = row.get_mut(i) {
                    *s = f(std::mem::take(s))?;
                }
            }
        }
        Ok(state)
    }

    /// The insert statements putting `state` back as `service_id`'s, restored versions under
    /// `generation`.
    fn insert_rows(
        state: &ServiceState,
        service_id: &str,
        generation: i64,
    ) -> Result<Vec<Stmt>, StoreError> {
        let mut out = Vec::new();
        for (t, w) in TABLES.iter().zip(WRITTEN.iter()) {
            let Some(rows) = state.get(t.name) else {
                continue;
            };
            let names: Vec<&str> = w.columns.iter().map(|c| c.name).collect();
            if rows.columns != names {
                return Err(bad(format!("a snapshot's {} has other columns", t.name)));
            }
            let version = VERSIONED
                .contains(&t.name)
                .then(|| names.iter().position(|n| *n == "version"))
                .flatten();
            for row in &rows.rows {
                let mut values = Vec::with_capacity(row.len() + 1);
                for (c, v) in w.columns.iter().zip(row) {
                    values.push(to_val(c, v).map_err(bad)?);
                }
                if let Some(Val::Int(v)) = version.and_then(|i| values.get_mut(i)) {
                    *v = restored_version(*v, generation);
                }
                if t.service_id {
                    values.push(Val::from(service_id));
                }
                out.push(Stmt::insert(t.name, &w.insert_columns, values));
            }
        }
        Ok(out)
    }
}

#[async_trait]
impl SnapshotStore for SqlStore {
    async fn service_state(&self, service_id: &str) -> Result<ServiceState, StoreError> {
        let queries = WRITTEN
            .iter()
            .map(|w| (w.select.clone(), vals![service_id]))
            .collect();
        let tables = self.db.query_together(queries).await?;
        let mut state = ServiceState::new();
        for ((t, w), rows) in TABLES.iter().zip(WRITTEN.iter()).zip(tables) {
            let rows = rows
                .into_iter()
                .map(|r| {
                    w.columns
                        .iter()
                        .zip(r.into_values())
                        .map(|(c, v)| to_json(c, v))
                        .collect()
                })
                .collect();
            let columns = w.columns.iter().map(|c| c.name.to_string()).collect();
            state.insert(t.name.to_string(), TableRows { columns, rows });
        }
        Ok(state)
    }

    async fn replace_service_state(
        &self,
        service_id: &str,
        state: &ServiceState,
        clock_offset_ms: i64,
    ) -> Result<bool, StoreError> {
        // The generation is raised only from the one read here, so a restore racing another
        // of the same service conflicts and reads again.
        for _ in 0..5 {
            let rows = self
                .db
                .query(
                    "SELECT state_generation FROM services WHERE id = $1 AND NOT live",
                    vals![service_id],
                )
                .await?;
            let Some(mut row) = rows.into_iter().next() else {
                return Ok(false);
            };
            let before = row.i64("state_generation")?;
            let mut change = vec![Stmt::exec_one(
                "UPDATE services SET state_generation = $1, clock_offset_ms = $2 \
                 WHERE id = $3 AND NOT live AND state_generation = $4",
                vals![before + 1, clock_offset_ms, service_id, before],
            )];
            change.extend(
                WRITTEN
                    .iter()
                    .rev()
                    .map(|w| Stmt::exec(&w.delete, vals![service_id])),
            );
            change.push(Stmt::exec(
                "DELETE FROM frozen_hour_counts WHERE service_id = $1",
                vals![service_id],
            ));
            if self.engine_kind() == Engine::Sqlite {
                change.push(Stmt::exec(LOWER_TEXT_MARK, Vec::new()));
            }
            change.extend(Self::insert_rows(state, service_id, before + 1)?);
            match self.db.apply(change).await {
                Err(StoreError::Conflict) => continue,
                other => return other.map(|()| true),
            }
        }
        Err(StoreError::Conflict)
    }

    async fn save_snapshot(
        &self,
        service_id: &str,
        name: &str,
        saved_ms: i64,
        state: &ServiceState,
    ) -> Result<SnapshotSummary, StoreError> {
        let summary = SnapshotSummary::of(name, saved_ms, state);
        let rows = serde_json::to_string(&summary.rows).map_err(|e| bad(e.to_string()))?;
        let body = serde_json::to_string(state).map_err(|e| bad(e.to_string()))?;
        self.db
            .apply(vec![
                Stmt::exec(
                    "DELETE FROM snapshots WHERE service_id = $1 AND name = $2",
                    vals![service_id, name],
                ),
                Stmt::exec(
                    "INSERT INTO snapshots (service_id, name, saved_ms, rows_by_table, state) \
                     VALUES ($1, $2, $3, $4, $5)",
                    vals![service_id, name, saved_ms, rows, body],
                ),
            ])
            .await?;
        Ok(summary)
    }

    async fn snapshot(
        &self,
        service_id: &str,
        name: &str,
    ) -> Result<Option<(i64, ServiceState)>, StoreError> {
        let rows = self
            .db
            .query(
                "SELECT saved_ms, state FROM snapshots WHERE service_id = $1 AND name = $2",
                vals![service_id, name],
            )
            .await?;
        let Some(mut row) = rows.into_iter().next() else {
            return Ok(None);
        };
        let saved_ms = row.i64("saved_ms")?;
        let state = serde_json::from_str(&row.text("state")?)
            .map_err(|e| bad(format!("a kept snapshot does not read: {e}")))?;
        Ok(Some((saved_ms, state)))
    }

    async fn snapshots(&self, service_id: &str) -> Result<Vec<SnapshotSummary>, StoreError> {
        let rows = self
            .db
            .query(
                "SELECT name, saved_ms, rows_by_table FROM snapshots WHERE service_id = $1 \
                 ORDER BY name",
                vals![service_id],
            )
            .await?;
        rows.into_iter()
            .map(|mut r| {
                Ok(SnapshotSummary {
                    name: r.text("name")?,
                    saved_at: pence_core::timefmt::date_time(r.i64("saved_ms")?),
                    rows: serde_json::from_str(&r.text("rows_by_table")?)
                        .map_err(|e| bad(e.to_string()))?,
                })
            })
            .collect()
    }

    async fn delete_snapshot(&self, service_id: &str, name: &str) -> Result<bool, StoreError> {
        let gone = self
            .db
            .apply_returning(vec![Stmt::returning(
                "DELETE FROM snapshots WHERE service_id = $1 AND name = $2 RETURNING name",
                vals![service_id, name],
            )])
            .await?;
        Ok(!gone.is_empty())
    }

    fn opened_state(&self, state: ServiceState) -> Result<ServiceState, StoreError> {
        Self::map_sealed(state, |s| self.opened_text(s))
    }

    fn checked_state(&self, mut state: ServiceState) -> Result<ServiceState, String> {
        if let Some(unknown) = state.keys().find(|k| !TABLES.iter().any(|t| t.name == *k)) {
            return Err(format!("tables.{unknown} is not a table a snapshot holds"));
        }
        for (t, w) in TABLES.iter().zip(WRITTEN.iter()) {
            let Some(rows) = state.get_mut(t.name) else {
                continue;
            };
            checked_table(t, w, rows)?;
        }
        Self::map_sealed(state, |s| Ok(self.sealed_text(&s))).map_err(|e| e.to_string())
    }
}

/// One table of a file's state: its columns those kept (in any order; put in the kept order
/// here), every value of its column's type, every row one the store reads back.
fn checked_table(t: &Table, w: &Written, rows: &mut TableRows) -> Result<(), String> {
    let at = |what: String| format!("tables.{}.{what}", t.name);
    let mut order = Vec::with_capacity(w.columns.len());
    for c in &w.columns {
        let i = rows
            .columns
            .iter()
            .position(|n| n == c.name)
            .ok_or_else(|| at(format!("columns lacks {}", c.name)))?;
        order.push(i);
    }
    if rows.columns.len() != w.columns.len() {
        let extra = rows
            .columns
            .iter()
            .find(|n| !w.columns.iter().any(|c| c.name == n.as_str()))
            .map_or("a column twice", String::as_str);
        return Err(at(format!(
            "columns has {extra}, which a snapshot does not hold"
        )));
    }
    let names: Arc<[String]> = w
        .columns
        .iter()
        .map(|c| c.name)
        .chain(t.left_out.iter().copied())
        .chain(["service_id"])
        .map(str::to_string)
        .collect();
    for (n, row) in rows.rows.iter_mut().enumerate() {
        if row.len() != order.len() {
            return Err(at(format!(
                "rows[{n}] has {} values, not {}",
                row.len(),
                order.len()
            )));
        }
        let mut ordered: Vec<Value> = order.iter().map(|i| row[*i].take()).collect();
        let mut values = Vec::with_capacity(names.len());
        for (c, v) in w.columns.iter().zip(&ordered) {
            values.push(to_val(c, v).map_err(|why| at(format!("rows[{n}].{why}")))?);
        }
        if let Some(check) = t.check {
            values.extend(t.left_out.iter().map(|_| Val::Null(Ty::Text)));
            values.push(Val::from(""));
            check(Row::new(names.clone(), values))
                .map_err(|_| at(format!("rows[{n}] is not a row Pence reads back")))?;
        }
        std::mem::swap(row, &mut ordered);
    }
    rows.columns = w.columns.iter().map(|c| c.name.to_string()).collect();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every column of every table is kept or left out on purpose, as the migrations make
    /// them (read from a fresh SQLite database of the whole schema).
    #[tokio::test]
    async fn every_column_is_kept_or_left_out_on_purpose() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.db");
        let store = crate::connect(path.to_str().unwrap(), Default::default())
            .await
            .unwrap();
        drop(store);
        let conn = rusqlite::Connection::open(&path).unwrap();
        for t in TABLES {
            let mut stmt = conn
                .prepare(&format!("SELECT name FROM pragma_table_info('{}')", t.name))
                .unwrap();
            let actual: Vec<String> = stmt
                .query_map([], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            let mut ours: Vec<String> = t
                .kept
                .iter()
                .map(|k| k.split(':').next().unwrap().to_string())
                .chain(t.left_out.iter().map(|s| s.to_string()))
                .chain(t.service_id.then(|| "service_id".to_string()))
                .collect();
            let mut actual_sorted = actual.clone();
            actual_sorted.sort();
            ours.sort();
            assert_eq!(
                ours, actual_sorted,
                "{}: kept + left out = the table",
                t.name
            );
        }
    }

    /// The tables that are not a service's state, and why: a new table must be put in
    /// `TABLES` or here.
    const NOT_STATE: &[(&str, &str)] = &[
        ("schema_migrations", "the schema's"),
        ("secrets", "the instance's"),
        (
            "services",
            "settings stay; the clock and generation are set by the restore",
        ),
        ("api_keys", "a restore must not lock the test out"),
        ("payment_counts", "kept by triggers"),
        (
            "payments_text",
            "SQLite's text index, kept by triggers and its mark",
        ),
        ("text_index_mark", "SQLite's text index"),
        ("freeze_state", "the freezing sweep's"),
        (
            "frozen_hour_counts",
            "deleted by a restore; rebuilt by the freezing sweep",
        ),
        ("search_counts", "retired by the service's generation"),
        ("sign_in_attempts", "the admin tool's"),
        ("users", "the admin tool's staff"),
        ("user_roles", "the admin tool's staff"),
        ("user_links", "the admin tool's staff"),
        ("staff_sessions", "the admin tool's staff"),
        ("audit_log", "what staff did stays on record"),
        ("instance_settings", "the instance's"),
        ("rate_windows", "the rate limiter's"),
        ("snapshots", "the snapshots themselves"),
        ("sqlite_sequence", "SQLite's"),
    ];

    #[tokio::test]
    async fn every_table_is_state_or_not_on_purpose() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.db");
        drop(
            crate::connect(path.to_str().unwrap(), Default::default())
                .await
                .unwrap(),
        );
        let conn = rusqlite::Connection::open(&path).unwrap();
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
            .unwrap();
        let tables: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        for table in tables {
            let decided = TABLES.iter().any(|t| t.name == table)
                || NOT_STATE.iter().any(|(t, _)| *t == table)
                || table.starts_with("payments_text_");
            assert!(decided, "{table}: put it in TABLES or NOT_STATE");
        }
    }

    #[test]
    fn a_restored_version_is_above_every_version_of_an_earlier_generation() {
        let v = restored_version(7, 3);
        assert!(v > restored_version((1 << GENERATION_SHIFT) - 1, 2));
        assert_eq!(
            restored_version(v, 3),
            v,
            "a restored row kept and restored again"
        );
        assert_eq!(v & ((1 << GENERATION_SHIFT) - 1), 7);
    }
}
