//! Embedded SQLite backend: one file, WAL journal, one writer at a time (serialised in-process by a mutex so
//! writers queue instead of spinning on SQLITE_BUSY), several readers.

mod history;
mod whitelist;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::migrations::{self, Migration};
use crate::{
    classify, Exchange, Lookup, SchemaStatus, Store, StoreError, WhitelistEntry, CONNECT_TIMEOUT,
};

const BACKEND: &str = "sqlite";
const MIGRATIONS: &[Migration] = migrations::SQLITE;

const CREATE_SCHEMA_MIGRATIONS: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at INTEGER NOT NULL
)";

/// The SQLite store. Use [`crate::open`] unless you need the concrete type.
pub struct SqliteStore {
    pool: SqlitePool,
    /// Serialises writers (see the module doc).
    write: tokio::sync::Mutex<()>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` (or `:memory:`), without migrating.
    pub async fn connect(path: &str) -> Result<Self, StoreError> {
        let unavailable = |e: &dyn std::fmt::Display| {
            StoreError::Unavailable(format!("cannot open SQLite database {path:?}: {e}"))
        };
        let in_memory = path == ":memory:";
        let options = if in_memory {
            SqliteConnectOptions::from_str("sqlite::memory:").map_err(|e| unavailable(&e))?
        } else {
            if let Some(parent) = Path::new(path)
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
            {
                std::fs::create_dir_all(parent).map_err(|e| unavailable(&e))?;
            }
            SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
        };
        // 16 MB page cache per connection: keeps the upper B-tree levels of big history tables in memory.
        let options = options
            .busy_timeout(CONNECT_TIMEOUT)
            .synchronous(SqliteSynchronous::Normal)
            .pragma("cache_size", "-16384");
        let pool_options = if in_memory {
            // One connection that never closes: each in-memory connection is its own database.
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            SqlitePoolOptions::new().max_connections(4)
        };
        let connecting = pool_options
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_with(options);
        let pool = tokio::time::timeout(CONNECT_TIMEOUT + Duration::from_secs(1), connecting)
            .await
            .map_err(|e| unavailable(&e))?
            .map_err(|e| unavailable(&e))?;
        Ok(SqliteStore {
            pool,
            write: tokio::sync::Mutex::new(()),
        })
    }

    /// The connection pool, for tools that need raw access (benchmarks, maintenance).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    async fn applied(&self) -> Result<Vec<u32>, StoreError> {
        let exists: Option<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(classify)?;
        if exists.is_none() {
            return Ok(Vec::new());
        }
        let versions: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM schema_migrations ORDER BY version")
                .fetch_all(&self.pool)
                .await
                .map_err(classify)?;
        Ok(versions
            .into_iter()
            .filter_map(|v| u32::try_from(v).ok())
            .collect())
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn migrate(&self) -> Result<SchemaStatus, StoreError> {
        let _writer = self.write.lock().await;
        for m in MIGRATIONS {
            // BEGIN IMMEDIATE takes the write lock first, so another process migrating the same file waits here
            // and then sees the step as done.
            let mut tx = self
                .pool
                .begin_with("BEGIN IMMEDIATE")
                .await
                .map_err(classify)?;
            sqlx::raw_sql(CREATE_SCHEMA_MIGRATIONS)
                .execute(&mut *tx)
                .await
                .map_err(classify)?;
            let done: Option<i64> =
                sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = ?1")
                    .bind(i64::from(m.version))
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(classify)?;
            if done.is_none() {
                sqlx::raw_sql(m.sql).execute(&mut *tx).await.map_err(|e| {
                    StoreError::Database(format!("migration {} {} failed: {e}", m.version, m.name))
                })?;
                sqlx::query(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
                )
                .bind(i64::from(m.version))
                .bind(m.name)
                .bind(crate::now())
                .execute(&mut *tx)
                .await
                .map_err(classify)?;
            }
            tx.commit().await.map_err(classify)?;
        }
        drop(_writer);
        self.status().await
    }

    async fn status(&self) -> Result<SchemaStatus, StoreError> {
        Ok(SchemaStatus {
            backend: BACKEND,
            applied: self.applied().await?,
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
