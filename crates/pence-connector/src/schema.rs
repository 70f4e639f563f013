//! The connector's tables, kept beside the service's own (their versions are recorded in
//! `pence_connector_migrations`, so they never mix with the service's migrations).

use pence_sql::Schema;

const COMMON: &[(i64, &str)] = &[(1, include_str!("migrations/0001_connector.sql"))];

pub(crate) static SCHEMA: Schema = Schema {
    table: "pence_connector_migrations",
    lock_key: 0x70636f6e6e, // "pconn"
    common: COMMON,
    sqlite: &[],
    postgres: &[],
    sqlite_idle: &[],
};
