//! Whitelist on PostgreSQL.

use sqlx::Row;

use super::PgStore;
use crate::normalize::normalize_pattern;
use crate::{classify, StoreError, WhitelistEntry};

impl PgStore {
    /// Adds an entry, or replaces the comment and time of an existing pattern.
    pub(super) async fn whitelist_insert(&self, entry: &WhitelistEntry) -> Result<(), StoreError> {
        let pattern = normalize_pattern(&entry.pattern).ok_or_else(|| {
            StoreError::Database(format!("invalid whitelist pattern {:?}", entry.pattern))
        })?;
        sqlx::query(
            "INSERT INTO whitelist (pattern, comment, added_at) VALUES ($1, $2, $3)
             ON CONFLICT (pattern) DO UPDATE SET comment = excluded.comment, added_at = excluded.added_at",
        )
        .bind(pattern)
        .bind(&entry.comment)
        .bind(entry.added_at)
        .execute(&self.pool)
        .await
        .map_err(classify)?;
        Ok(())
    }

    pub(super) async fn whitelist_delete(&self, pattern: &str) -> Result<bool, StoreError> {
        let Some(pattern) = normalize_pattern(pattern) else {
            return Ok(false);
        };
        let done = sqlx::query("DELETE FROM whitelist WHERE pattern = $1")
            .bind(pattern)
            .execute(&self.pool)
            .await
            .map_err(classify)?;
        Ok(done.rows_affected() > 0)
    }

    pub(super) async fn whitelist_list(&self) -> Result<Vec<WhitelistEntry>, StoreError> {
        let rows = sqlx::query("SELECT pattern, comment, added_at FROM whitelist ORDER BY pattern")
            .fetch_all(&self.pool)
            .await
            .map_err(classify)?;
        rows.iter()
            .map(|r| {
                Ok(WhitelistEntry {
                    pattern: r.try_get(0)?,
                    comment: r.try_get(1)?,
                    added_at: r.try_get(2)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(classify)
    }
}
