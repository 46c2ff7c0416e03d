//! Test fixtures shared by the suite and the benchmark: temporary SQLite files and throw-away PostgreSQL schemas.
#![allow(dead_code)]

use std::hash::{BuildHasher, Hasher};
use std::path::PathBuf;
use std::time::Duration;

use sqlx::Connection;

/// The PostgreSQL server the PG half runs against.
pub fn postgres_url() -> String {
    std::env::var("FUMIDAI_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// A short random lower-case name part (process-random hasher keys mixed with the time and a counter).
pub fn random_suffix() -> String {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    format!("{:016x}", h.finish())
}

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("fumidai-store-{}", random_suffix()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn db(&self) -> String {
        self.0
            .join("sub/dir/history.db")
            .to_string_lossy()
            .into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fresh schema on the test server; `url` points the store at it through `search_path`.
pub struct PgSchema {
    admin: String,
    pub schema: String,
    pub url: String,
}

impl PgSchema {
    /// `None` (after printing why) when no PostgreSQL answers at [`postgres_url`].
    pub async fn create(prefix: &str) -> Option<PgSchema> {
        let admin = postgres_url();
        let connecting = sqlx::PgConnection::connect(&admin);
        let mut conn = match tokio::time::timeout(Duration::from_secs(3), connecting).await {
            Ok(Ok(conn)) => conn,
            Ok(Err(e)) => {
                eprintln!("skipped: no PostgreSQL at {admin} ({e}); set FUMIDAI_TEST_POSTGRES to run the PG half");
                return None;
            }
            Err(_) => {
                eprintln!("skipped: no PostgreSQL at {admin} (timed out); set FUMIDAI_TEST_POSTGRES to run the PG half");
                return None;
            }
        };
        let schema = format!("{prefix}_{}", random_suffix());
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&mut conn)
            .await
            .unwrap();
        let _ = conn.close().await;
        let sep = if admin.contains('?') { '&' } else { '?' };
        let url = format!("{admin}{sep}options[search_path]={schema}");
        Some(PgSchema { admin, schema, url })
    }

    pub async fn drop_schema(self) {
        if let Ok(mut conn) = sqlx::PgConnection::connect(&self.admin).await {
            let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema);
            if let Err(e) = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut conn)
                .await
            {
                eprintln!("could not drop schema {}: {e}", self.schema);
            }
            let _ = conn.close().await;
        }
    }
}
