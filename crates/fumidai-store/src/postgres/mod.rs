//! PostgreSQL backend, for several nodes sharing one history. Writes are single statements (atomic on their own),
//! so concurrent nodes never double-count and never see half a batch.

mod history;
mod whitelist;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Connection, PgConnection};

use crate::migrations::{self, Migration};
use crate::{
    classify, Exchange, Lookup, SchemaStatus, Store, StoreError, WhitelistEntry, CONNECT_TIMEOUT,
};

const BACKEND: &str = "postgres";
const MIGRATIONS: &[Migration] = migrations::POSTGRES;

const CREATE_SCHEMA_MIGRATIONS: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at BIGINT NOT NULL
)";

/// Advisory lock key: per schema, so that stores in different schemas of one database migrate independently.
const LOCK_KEY: &str = "hashtext('fumidai-store migrations ' || coalesce(current_schema(), ''))";

/// The PostgreSQL store. Use [`crate::open`] unless you need the concrete type.
pub struct PgStore {
    pool: PgPool,
    options: PgConnectOptions,
}

/// `host:port/database`, for messages (never the password).
fn describe(options: &PgConnectOptions) -> String {
    format!(
        "{}:{}/{}",
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or("(default)")
    )
}

impl PgStore {
    /// Connects to `url` (`postgres://user@host:port/db`, optionally `?options[search_path]=schema`), without
    /// migrating. Fails with [`StoreError::Unavailable`] within about 5 seconds when the server is unreachable.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|_| StoreError::BadLocation(url.to_string()))?;
        // Like SQLite's synchronous=NORMAL: a server crash may lose the last fraction of a second of history,
        // never corrupt it, and a milter recording one message at a time does not wait for a WAL flush.
        // Writes that must be durable (the quarantine, later) run `SET LOCAL synchronous_commit = on`.
        // A URL that sets synchronous_commit itself wins.
        let options = if options
            .get_options()
            .is_some_and(|o| o.contains("synchronous_commit"))
        {
            options
        } else {
            options.options([("synchronous_commit", "off")])
        };
        let connecting = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_with(options.clone());
        let pool = match tokio::time::timeout(CONNECT_TIMEOUT + Duration::from_secs(1), connecting)
            .await
        {
            Ok(Ok(pool)) => pool,
            Ok(Err(e)) => {
                return Err(StoreError::Unavailable(format!(
                    "cannot connect to PostgreSQL at {}: {e}",
                    describe(&options)
                )))
            }
            Err(_) => {
                return Err(StoreError::Unavailable(format!(
                    "cannot connect to PostgreSQL at {}: timed out",
                    describe(&options)
                )))
            }
        };
        Ok(PgStore { pool, options })
    }

    /// The connection pool, for tools that need raw access (benchmarks, maintenance).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn migrate_on(conn: &mut PgConnection) -> Result<(), StoreError> {
        // A session lock held across all steps: a node that starts at the same time waits, then finds every step
        // applied. It is released by the unlock below or, on any error, by closing the connection.
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT pg_advisory_lock({LOCK_KEY})"
        )))
        .execute(&mut *conn)
        .await
        .map_err(classify)?;
        sqlx::raw_sql(CREATE_SCHEMA_MIGRATIONS)
            .execute(&mut *conn)
            .await
            .map_err(classify)?;
        for m in MIGRATIONS {
            let mut tx = conn.begin().await.map_err(classify)?;
            let done: Option<i32> =
                sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = $1")
                    .bind(i32::try_from(m.version).unwrap_or(i32::MAX))
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(classify)?;
            if done.is_some() {
                continue;
            }
            sqlx::raw_sql(m.sql).execute(&mut *tx).await.map_err(|e| {
                StoreError::Database(format!("migration {} {} failed: {e}", m.version, m.name))
            })?;
            sqlx::query(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            )
            .bind(i32::try_from(m.version).unwrap_or(i32::MAX))
            .bind(m.name)
            .bind(crate::now())
            .execute(&mut *tx)
            .await
            .map_err(classify)?;
            tx.commit().await.map_err(classify)?;
        }
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT pg_advisory_unlock({LOCK_KEY})"
        )))
        .execute(&mut *conn)
        .await
        .map_err(classify)?;
        Ok(())
    }
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn migrate(&self) -> Result<SchemaStatus, StoreError> {
        let connecting = PgConnection::connect_with(&self.options);
        let mut conn = match tokio::time::timeout(CONNECT_TIMEOUT, connecting).await {
            Ok(conn) => conn.map_err(classify)?,
            Err(_) => {
                return Err(StoreError::Unavailable(format!(
                    "cannot connect to PostgreSQL at {}: timed out",
                    describe(&self.options)
                )))
            }
        };
        let result = Self::migrate_on(&mut conn).await;
        // Closing also releases the advisory lock if a step failed while holding it.
        let _ = conn.close().await;
        result?;
        self.status().await
    }

    async fn status(&self) -> Result<SchemaStatus, StoreError> {
        let exists: Option<String> =
            sqlx::query_scalar("SELECT to_regclass('schema_migrations')::text")
                .fetch_one(&self.pool)
                .await
                .map_err(classify)?;
        let applied = if exists.is_some() {
            let versions: Vec<i32> =
                sqlx::query_scalar("SELECT version FROM schema_migrations ORDER BY version")
                    .fetch_all(&self.pool)
                    .await
                    .map_err(classify)?;
            versions
                .into_iter()
                .filter_map(|v| u32::try_from(v).ok())
                .collect()
        } else {
            Vec::new()
        };
        Ok(SchemaStatus {
            backend: BACKEND,
            applied,
            latest: migrations::latest(MIGRATIONS),
        })
    }

    async fn record(&self, exchanges: &[Exchange]) -> Result<(), StoreError> {
        self.record_batch(exchanges).await
    }

    async fn lookup(&self, local: &str, external: &str) -> Result<Lookup, StoreError> {
        self.lookup_pair(local, external).await
    }

    async fn correspondent_domains(&self) -> Result<Vec<String>, StoreError> {
        self.domains(false).await
    }

    async fn outbound_correspondent_domains(&self) -> Result<Vec<String>, StoreError> {
        self.domains(true).await
    }

    async fn prune_dedup_keys(&self, before: i64) -> Result<u64, StoreError> {
        self.prune(before).await
    }

    async fn whitelist_add(&self, entry: &WhitelistEntry) -> Result<(), StoreError> {
        self.whitelist_insert(entry).await
    }

    async fn whitelist_remove(&self, pattern: &str) -> Result<bool, StoreError> {
        self.whitelist_delete(pattern).await
    }

    async fn whitelist(&self) -> Result<Vec<WhitelistEntry>, StoreError> {
        self.whitelist_list().await
    }
}
