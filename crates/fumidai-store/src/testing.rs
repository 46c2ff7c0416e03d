//! Test fixtures for every crate that tests against a real store (feature `testing`, dev-dependencies only):
//! temporary SQLite files, throw-away PostgreSQL schemas, and [`each_backend`] to run one body on both.

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

impl Default for TempDir {
    fn default() -> Self {
        Self::new()
    }
}

impl TempDir {
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("fumidai-store-{}", random_suffix()));
        std::fs::create_dir_all(&dir).expect("create a temporary directory");
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
            .expect("create a test schema");
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

/// Runs `body` on a fresh SQLite store (a temporary file) and then, when a server answers at
/// [`postgres_url`], on a fresh PostgreSQL schema (dropped afterwards, also when the body panics). The body gets
/// the opened store and the location it was opened from.
pub async fn each_backend<F, Fut>(body: F)
where
    F: Fn(Box<dyn crate::Store>, String) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let dir = TempDir::new();
    let location = dir.db();
    let store = crate::open(&location).await.expect("open sqlite");
    body(store, location).await;
    let Some(pg) = PgSchema::create("test").await else {
        return;
    };
    let store = crate::open(&pg.url).await.expect("open postgres");
    // In a task, so that a failed assertion still drops the schema.
    let outcome = tokio::spawn(body(store, pg.url.clone())).await;
    pg.drop_schema().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}
