//! Versioned schema migrations, one SQL file per step and backend under `src/migrations/{sqlite,postgres}/`.
//! Both lists must have the same versions and names (a test checks it): a version means the same schema on
//! both backends. To add tables (quarantine, events, alert cases), add `NNNN_name.sql` to both folders and one
//! line to each list; never edit a file that has shipped.

/// One migration step.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: u32,
    pub name: &'static str,
    pub sql: &'static str,
}

macro_rules! migration {
    ($backend:literal, $version:literal, $file:literal, $name:literal) => {
        Migration {
            version: $version,
            name: $name,
            sql: include_str!(concat!(
                "migrations/",
                $backend,
                "/",
                $file,
                "_",
                $name,
                ".sql"
            )),
        }
    };
}

pub const SQLITE: &[Migration] = &[
    migration!("sqlite", 1, "0001", "exchange_history"),
    migration!("sqlite", 2, "0002", "whitelist"),
    migration!("sqlite", 3, "0003", "dedup_keys_by_time"),
    migration!("sqlite", 4, "0004", "quarantine"),
    migration!("sqlite", 5, "0005", "springboard_alerts"),
    migration!("sqlite", 6, "0006", "threat_feeds"),
    migration!("sqlite", 7, "0007", "outbound_watch"),
    migration!("sqlite", 8, "0008", "api_access"),
    migration!("sqlite", 9, "0009", "console"),
];

pub const POSTGRES: &[Migration] = &[
    migration!("postgres", 1, "0001", "exchange_history"),
    migration!("postgres", 2, "0002", "whitelist"),
    migration!("postgres", 3, "0003", "dedup_keys_by_time"),
    migration!("postgres", 4, "0004", "quarantine"),
    migration!("postgres", 5, "0005", "springboard_alerts"),
    migration!("postgres", 6, "0006", "threat_feeds"),
    migration!("postgres", 7, "0007", "outbound_watch"),
    migration!("postgres", 8, "0008", "api_access"),
    migration!("postgres", 9, "0009", "console"),
];

/// Highest version in a list.
pub fn latest(list: &[Migration]) -> u32 {
    list.iter().map(|m| m.version).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backends_have_the_same_steps_in_order() {
        assert_eq!(SQLITE.len(), POSTGRES.len());
        for (s, p) in SQLITE.iter().zip(POSTGRES) {
            assert_eq!((s.version, s.name), (p.version, p.name));
            assert!(!s.sql.trim().is_empty() && !p.sql.trim().is_empty());
        }
        for list in [SQLITE, POSTGRES] {
            assert!(list.windows(2).all(|w| w[0].version < w[1].version));
        }
        assert_eq!(latest(SQLITE), 9);
    }

    /// A store at step 2 that has counted an exchange: after step 3 re-ordered the dedup keys, recording that
    /// exchange again must not count it twice.
    #[tokio::test]
    async fn dedup_keys_survive_their_reordering() {
        use crate::testing::{PgSchema, TempDir};
        use crate::{Direction, Exchange, PgStore, SqliteStore, Store};

        const BOOKKEEPING: &str =
            "CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY,
            name TEXT NOT NULL, applied_at BIGINT NOT NULL);
            INSERT INTO schema_migrations VALUES (1, 'exchange_history', 0), (2, 'whitelist', 0)";
        let exchange = |at| Exchange {
            local: "a@x.jp".into(),
            external: "b@y.jp".into(),
            direction: Direction::Outbound,
            at,
        };
        let outbound = |found: crate::Lookup| found.address.map(|h| h.outbound_count);

        let dir = TempDir::new();
        let sqlite = SqliteStore::connect(&dir.db()).await.unwrap();
        let mut raw = <sqlx::SqliteConnection as sqlx::Connection>::connect(&dir.db())
            .await
            .unwrap();
        for step in &SQLITE[..2] {
            sqlx::raw_sql(step.sql).execute(&mut raw).await.unwrap();
        }
        sqlx::raw_sql(BOOKKEEPING).execute(&mut raw).await.unwrap();
        // Step 2's trigger takes the same rows, so the store records as it did then.
        sqlite.record(&[exchange(100)]).await.unwrap();
        sqlite.migrate().await.unwrap();
        sqlite
            .record(&[exchange(100), exchange(200)])
            .await
            .unwrap();
        let found = sqlite.lookup("a@x.jp", "b@y.jp").await.unwrap();
        assert_eq!(outbound(found), Some(2), "sqlite");

        let Some(pg) = PgSchema::create("test").await else {
            return;
        };
        let postgres = PgStore::connect(&pg.url).await.unwrap();
        let counted = async {
            let pool = postgres.pool();
            for step in &POSTGRES[..2] {
                sqlx::raw_sql(step.sql).execute(pool).await?;
            }
            sqlx::raw_sql(BOOKKEEPING).execute(pool).await?;
            // Step 2's layout, filled by hand: the key of exchange(100), as if counted then.
            sqlx::query("INSERT INTO exchange_seen (key, at) VALUES ($1, 100)")
                .bind(crate::batch::dedup_key("a@x.jp", "b@y.jp", true, 100))
                .execute(pool)
                .await?;
            Ok(())
        }
        .await
        .map_err(crate::sql::classify);
        let counted = match counted {
            Ok(()) => {
                async {
                    postgres.migrate().await?;
                    postgres.record(&[exchange(100), exchange(200)]).await?;
                    postgres.lookup("a@x.jp", "b@y.jp").await.map(outbound)
                }
                .await
            }
            Err(e) => Err(e),
        };
        pg.drop_schema().await;
        assert_eq!(counted.unwrap(), Some(1), "postgres");
    }
}
