//! `SqlStore`: the Store port's queries, written once for both engines.

use async_trait::async_trait;
use pence_core::api_key::ApiKeyRecord;
use pence_core::payment::{LedgerEvent, PaymentRecord};
use pence_core::service::Service;
use pence_core::{Store, StoreError};

use crate::batch::Batcher;
use crate::connect::db_err;
use crate::engine::{on_engine, Engine};
use crate::rows::{
    event_from_row, key_from_row, payment_from_row, service_from_row, EVENT_COLUMNS, KEY_COLUMNS,
    PAYMENT_COLUMNS, SERVICE_COLUMNS,
};

#[derive(Clone)]
pub struct SqlStore {
    engine: Engine,
    batcher: Batcher,
}

impl SqlStore {
    pub(crate) fn new(engine: Engine, batcher: Batcher) -> Self {
        SqlStore { engine, batcher }
    }

    /// Closes every connection (the group-commit writers stop with their runtime).
    pub async fn close(&self) {
        match &self.engine {
            Engine::Sqlite { read, write } => {
                read.close().await;
                write.close().await;
            }
            Engine::Postgres(pool) => pool.close().await,
        }
    }
}

fn opt_i64(v: Option<u32>) -> Option<i64> {
    v.map(i64::from)
}

macro_rules! bind_service {
    ($q:expr, $s:expr) => {{
        let s = $s;
        $q.bind(&s.id)
            .bind(&s.name)
            .bind(s.live)
            .bind(&s.payment_provider)
            .bind(s.created_ms)
            .bind(opt_i64(s.rate_limit_post))
            .bind(opt_i64(s.rate_limit_get))
            .bind(s.moto_enabled)
            .bind(s.moto_api_enabled)
            .bind(s.recurring_enabled)
            .bind(s.zero_amount_enabled)
            .bind(s.disabled)
    }};
}

#[async_trait]
impl Store for SqlStore {
    fn engine(&self) -> &'static str {
        match self.engine {
            Engine::Sqlite { .. } => "sqlite",
            Engine::Postgres(_) => "postgres",
        }
    }

    async fn ping(&self) -> Result<(), StoreError> {
        on_engine!(&self.engine, read pool => {
            sqlx::query("SELECT 1").execute(pool).await.map_err(db_err)?;
        });
        Ok(())
    }

    async fn secret(&self, name: &str, fresh: &[u8]) -> Result<Vec<u8>, StoreError> {
        on_engine!(&self.engine, write pool => {
            sqlx::query("INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
                .bind(name)
                .bind(fresh)
                .execute(pool)
                .await
                .map_err(db_err)?;
            let (value,): (Vec<u8>,) = sqlx::query_as("SELECT value FROM secrets WHERE name = $1")
                .bind(name)
                .fetch_one(pool)
                .await
                .map_err(db_err)?;
            Ok(value)
        })
    }

    async fn insert_service(&self, service: &Service) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO services ({SERVICE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        );
        on_engine!(&self.engine, write pool => {
            bind_service!(sqlx::query(&sql), service).execute(pool).await.map_err(db_err)?;
        });
        Ok(())
    }

    async fn update_service(&self, service: &Service) -> Result<(), StoreError> {
        let sql = "UPDATE services SET name = $2, live = $3, payment_provider = $4, created_ms = $5, \
                   rate_limit_post = $6, rate_limit_get = $7, moto_enabled = $8, moto_api_enabled = $9, \
                   recurring_enabled = $10, zero_amount_enabled = $11, disabled = $12 WHERE id = $1";
        let done = on_engine!(&self.engine, write pool => {
            bind_service!(sqlx::query(sql), service).execute(pool).await.map_err(db_err)?.rows_affected()
        });
        if done == 0 {
            return Err(StoreError::Conflict);
        }
        Ok(())
    }

    async fn services(&self) -> Result<Vec<Service>, StoreError> {
        let sql = format!("SELECT {SERVICE_COLUMNS} FROM services ORDER BY created_ms, id");
        on_engine!(&self.engine, read pool => {
            let rows = sqlx::query(&sql).fetch_all(pool).await.map_err(db_err)?;
            rows.iter().map(|r| service_from_row!(r)).collect::<Result<_, _>>().map_err(db_err)
        })
    }

    async fn service(&self, id: &str) -> Result<Option<Service>, StoreError> {
        let sql = format!("SELECT {SERVICE_COLUMNS} FROM services WHERE id = $1");
        on_engine!(&self.engine, read pool => {
            let row = sqlx::query(&sql).bind(id).fetch_optional(pool).await.map_err(db_err)?;
            row.map(|r| service_from_row!(&r)).transpose().map_err(db_err)
        })
    }

    async fn insert_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        let sql =
            format!("INSERT INTO api_keys ({KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)");
        on_engine!(&self.engine, write pool => {
            sqlx::query(&sql)
                .bind(&key.id)
                .bind(&key.service_id)
                .bind(&key.token_hash)
                .bind(&key.display_prefix)
                .bind(&key.description)
                .bind(key.created_ms)
                .bind(key.revoked_ms)
                .execute(pool)
                .await
                .map_err(db_err)?;
        });
        Ok(())
    }

    async fn api_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys ORDER BY created_ms, id");
        on_engine!(&self.engine, read pool => {
            let rows = sqlx::query(&sql).fetch_all(pool).await.map_err(db_err)?;
            rows.iter().map(|r| key_from_row!(r)).collect::<Result<_, _>>().map_err(db_err)
        })
    }

    async fn revoke_api_key(&self, id: &str, at_ms: i64) -> Result<bool, StoreError> {
        let done = on_engine!(&self.engine, write pool => {
            sqlx::query("UPDATE api_keys SET revoked_ms = $2 WHERE id = $1 AND revoked_ms IS NULL")
                .bind(id)
                .bind(at_ms)
                .execute(pool)
                .await
                .map_err(db_err)?
                .rows_affected()
        });
        Ok(done == 1)
    }

    async fn api_key_by_hash(
        &self,
        hash: &str,
    ) -> Result<Option<(ApiKeyRecord, Service)>, StoreError> {
        let key_sql = format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE token_hash = $1");
        let Some(key) = on_engine!(&self.engine, read pool => {
            let row = sqlx::query(&key_sql).bind(hash).fetch_optional(pool).await.map_err(db_err)?;
            row.map(|r| key_from_row!(&r)).transpose().map_err(db_err)?
        }) else {
            return Ok(None);
        };
        Ok(self.service(&key.service_id).await?.map(|s| (key, s)))
    }

    async fn insert_payment(
        &self,
        payment: &PaymentRecord,
        event: &LedgerEvent,
    ) -> Result<(), StoreError> {
        self.batcher.insert_payment(payment, event).await
    }

    async fn payment(
        &self,
        service_id: &str,
        id: &str,
    ) -> Result<Option<PaymentRecord>, StoreError> {
        static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let sql = SQL.get_or_init(|| {
            format!("SELECT {PAYMENT_COLUMNS} FROM payments WHERE id = $1 AND service_id = $2")
        });
        on_engine!(&self.engine, read pool => {
            let row = sqlx::query(sql)
                .bind(id)
                .bind(service_id)
                .fetch_optional(pool)
                .await
                .map_err(db_err)?;
            row.map(|r| payment_from_row!(&r)).transpose().map_err(db_err)
        })
    }

    async fn payment_events(
        &self,
        service_id: &str,
        id: &str,
    ) -> Result<Vec<LedgerEvent>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM payment_events WHERE payment_id = $1 AND service_id = $2 ORDER BY id"
        );
        on_engine!(&self.engine, read pool => {
            let rows = sqlx::query(&sql)
                .bind(id)
                .bind(service_id)
                .fetch_all(pool)
                .await
                .map_err(db_err)?;
            rows.iter().map(|r| event_from_row!(r)).collect::<Result<_, _>>().map_err(db_err)
        })
    }
}
