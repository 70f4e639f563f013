//! Which tables and columns a service's state holds (`TABLES`), and the statements that read,
//! delete and put back each one's rows, worked out once (`WRITTEN`).

use std::sync::LazyLock;

use pence_core::StoreError;
use pence_sql::{Row, Ty};

/// A table of a service's state.
pub(super) struct Table {
    pub(super) name: &'static str,
    /// The service's rows, `$1` its id.
    pub(super) scope: &'static str,
    /// The order rows are read, and put back, in.
    pub(super) order: &'static str,
    /// Whether the table has a `service_id` column (not kept: the service's own on insert).
    pub(super) service_id: bool,
    /// The columns kept: `name:int`, `name:text`, `name:bool`, with `?` when nullable.
    pub(super) kept: &'static [&'static str],
    /// The columns left out on purpose (see the module's words), null when put back.
    pub(super) left_out: &'static [&'static str],
    /// Reads a row back as the store's own reads do: a file's row that would fail them is
    /// refused at import, rather than failing the API later.
    pub(super) check: Option<fn(Row) -> Result<(), StoreError>>,
}

const OF_SERVICE: &str = "service_id = $1";
const OF_WEBHOOKS: &str = "webhook_id IN (SELECT id FROM webhooks WHERE service_id = $1)";

/// Every table of a service's state, parents first (the order rows are put back in; they are
/// deleted in the reverse order).
pub(super) static TABLES: &[Table] = &[
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
        check: Some(|r| crate::store::payments::payment_from(r).map(drop)),
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
        check: Some(|r| crate::store::refunds::refund_from(r).map(drop)),
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
        check: Some(|r| crate::store::disputes::dispute_from(r).map(drop)),
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
        check: Some(|r| crate::store::agreements::agreement_from(r).map(drop)),
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
        check: Some(|r| crate::store::webhooks::webhook_from(r, Vec::new()).map(drop)),
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
        check: Some(|r| crate::store::webhooks::delivery_faults_from(r).map(drop)),
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
        check: Some(|r| crate::store::webhooks::message_from(r).map(drop)),
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
        check: Some(|r| crate::store::webhooks::attempt_from(r).map(drop)),
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
        check: Some(|r| crate::store::emails::email_from(r).map(drop)),
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
        check: Some(|r| crate::store::faults::fault_from(r).map(drop)),
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
        check: Some(|r| crate::store::links::link_from(r).map(drop)),
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
        check: Some(|r| crate::store::links::link_payment_from(r).map(drop)),
    },
];

/// A kept column: its name, type and whether it may be null.
pub(super) struct Column {
    pub(super) name: &'static str,
    pub(super) ty: Ty,
    pub(super) nullable: bool,
}

/// What each table's statements are, worked out once from `TABLES`.
pub(super) struct Written {
    pub(super) columns: Vec<Column>,
    /// `SELECT kept FROM t WHERE scope ORDER BY order`.
    pub(super) select: String,
    /// `DELETE FROM t WHERE scope`.
    pub(super) delete: String,
    /// The insert's columns: the kept ones, then `service_id` where the table has one.
    pub(super) insert_columns: String,
}

pub(super) static WRITTEN: LazyLock<Vec<Written>> =
    LazyLock::new(|| TABLES.iter().map(written).collect());

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
}
