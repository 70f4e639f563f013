//! The `api_keys` table: API keys, kept as hashes.

use async_trait::async_trait;
use pence_core::service::api_key::ApiKeyRecord;
use pence_core::service::Service;
use pence_core::staff::AuditEntry;
use pence_core::{KeyStore, ServiceStore, StoreError};

use super::staff::audited;
use super::{columns, SqlStore};
use pence_sql::{vals, Row, Stmt};

columns! {
    KEY_COLUMNS, key_values(k: &ApiKeyRecord) {
        id: &k.id,
        service_id: &k.service_id,
        token_hash: &k.token_hash,
        display_prefix: &k.display_prefix,
        description: &k.description,
        created_ms: k.created_ms,
        revoked_ms: k.revoked_ms,
        last_used_ms: k.last_used_ms,
    }
}

fn key_from(mut r: Row) -> Result<ApiKeyRecord, StoreError> {
    Ok(ApiKeyRecord {
        id: r.text("id")?,
        service_id: r.text("service_id")?,
        token_hash: r.text("token_hash")?,
        display_prefix: r.text("display_prefix")?,
        description: r.text("description")?,
        created_ms: r.i64("created_ms")?,
        revoked_ms: r.opt_i64("revoked_ms")?,
        last_used_ms: r.opt_i64("last_used_ms")?,
    })
}

#[async_trait]
impl KeyStore for SqlStore {
    async fn key_used(&self, id: &str, at_ms: i64) -> Result<(), StoreError> {
        self.db
            .apply(vec![Stmt::exec(
                "UPDATE api_keys SET last_used_ms = $2 \
                 WHERE id = $1 AND (last_used_ms IS NULL OR last_used_ms < $2 - 60000)",
                vals![id, at_ms],
            )])
            .await
    }

    async fn insert_api_key(
        &self,
        key: &ApiKeyRecord,
        audit: Option<&AuditEntry>,
    ) -> Result<(), StoreError> {
        let change = vec![Stmt::insert("api_keys", KEY_COLUMNS, key_values(key))];
        self.db.apply(audited(change, audit)).await
    }

    async fn api_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys ORDER BY created_ms, id");
        self.read(&sql, vec![], key_from).await
    }

    async fn revoke_api_key(
        &self,
        id: &str,
        at_ms: i64,
        audit: Option<&AuditEntry>,
    ) -> Result<bool, StoreError> {
        let change = vec![Stmt::exec_one(
            "UPDATE api_keys SET revoked_ms = $2 WHERE id = $1 AND revoked_ms IS NULL",
            vals![id, at_ms],
        )];
        match self.db.apply(audited(change, audit)).await {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn api_key_by_hash(
        &self,
        hash: &str,
    ) -> Result<Option<(ApiKeyRecord, Service)>, StoreError> {
        let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE token_hash = $1");
        let Some(key) = self.read_one(&sql, vals![hash], key_from).await? else {
            return Ok(None);
        };
        Ok(self.service(&key.service_id).await?.map(|s| (key, s)))
    }
}
