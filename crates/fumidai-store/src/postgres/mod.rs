//! PostgreSQL backend, for several nodes sharing one history. Writes are single statements (atomic on their own),
//! so concurrent nodes never double-count and never see half a batch.

mod access;
mod alerts;
mod console;
mod feeds;
mod history;
mod outbound;
mod quarantine;
mod traffic;

use std::str::FromStr;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Connection, PgConnection};

use crate::access::{ApiToken, AuditEntry, AuditFilter};
use crate::alerts::{
    Case, CaseFilter, CaseRules, CaseState, EventRecorded, IndustryEnterprises, Notification,
    Organisation, SpringboardEvent,
};
use crate::console::{ConsoleSession, ConsoleUser, Role};
use crate::feeds::Indicator;
use crate::migrations::{self, Migration};
use crate::outbound::{AccountState, OutboundSeen, OutboundTally, SentMessage};
use crate::quarantine::{QuarantineFilter, QuarantineItem, QuarantineMeta, Release};
use crate::sql::{self, classify, MigrationSql};
use crate::traffic::{Counts, FindingCount, Traffic, TrafficCount};
use crate::{Exchange, Lookup, SchemaStatus, Store, StoreError, WhitelistEntry, CONNECT_TIMEOUT};

const BACKEND: &str = "postgres";
const MIGRATIONS: &[Migration] = migrations::POSTGRES;

const CREATE_SCHEMA_MIGRATIONS: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at BIGINT NOT NULL
)";

const MIGRATION_SQL: MigrationSql = MigrationSql {
    table: "SELECT to_regclass('schema_migrations')::text",
    versions: "SELECT version FROM schema_migrations ORDER BY version",
    applied: "SELECT version FROM schema_migrations WHERE version = $1",
    record: "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
};

const WHITELIST_ADD: &str = "INSERT INTO whitelist (pattern, comment, added_at) VALUES ($1, $2, $3)
    ON CONFLICT (pattern) DO UPDATE SET comment = excluded.comment, added_at = excluded.added_at";
const WHITELIST_REMOVE: &str = "DELETE FROM whitelist WHERE pattern = $1";
const WHITELIST_LIST: &str = "SELECT pattern, comment, added_at FROM whitelist ORDER BY pattern";

/// Advisory lock key: per schema, so that stores in different schemas of one database migrate independently.
const LOCK_KEY: &str = "hashtext('fumidai-store migrations ' || coalesce(current_schema(), ''))";

/// A pooled connection idle longer than this is pinged before use (see `connect`).
const PING_AFTER_IDLE: std::time::Duration = std::time::Duration::from_secs(1);

/// The PostgreSQL store. Use [`crate::open`] unless you need the concrete type.
pub struct PgStore {
    pool: PgPool,
    options: PgConnectOptions,
}

/// The start of an unavailability message: `host:port/database` (never the password).
fn unreachable(options: &PgConnectOptions) -> String {
    format!(
        "cannot connect to PostgreSQL at {}:{}/{}",
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
        // sqlx pings a connection before handing it out, by default: a round trip that doubled the time of a
        // lookup and put its 99th percentile at milliseconds. Only a connection that sat idle a while can have
        // been dropped by the server or the network, so only such a connection is pinged.
        let connecting = PgPoolOptions::new()
            .max_connections(8)
            .test_before_acquire(false)
            .before_acquire(|conn, idle| {
                Box::pin(async move {
                    if idle.idle_for > PING_AFTER_IDLE {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_with(options.clone());
        let pool = sql::connect_within(&unreachable(&options), connecting).await?;
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
        for step in MIGRATIONS {
            let mut tx = conn.begin().await.map_err(classify)?;
            sql::apply_step(&mut *tx, &MIGRATION_SQL, step).await?;
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
        let mut conn = sql::connect_within(&unreachable(&self.options), connecting).await?;
        let result = Self::migrate_on(&mut conn).await;
        // Closing also releases the advisory lock if a step failed while holding it.
        let _ = conn.close().await;
        result?;
        self.status().await
    }

    async fn status(&self) -> Result<SchemaStatus, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(classify)?;
        sql::schema_status(&mut *conn, &MIGRATION_SQL, BACKEND, MIGRATIONS).await
    }

    async fn record(&self, exchanges: &[Exchange]) -> Result<(), StoreError> {
        self.record_batch(exchanges).await
    }

    async fn lookup(&self, local: &str, external: &str) -> Result<Lookup, StoreError> {
        sql::lookup(&self.pool, history::LOOKUP, local, external).await
    }

    async fn correspondent_domains(&self) -> Result<Vec<String>, StoreError> {
        sql::strings(&self.pool, history::DOMAINS).await
    }

    async fn outbound_correspondent_domains(&self) -> Result<Vec<String>, StoreError> {
        sql::strings(&self.pool, history::OUTBOUND_DOMAINS).await
    }

    async fn prune_dedup_keys(&self, before: i64) -> Result<u64, StoreError> {
        sql::execute_count(&self.pool, history::PRUNE, before).await
    }

    async fn whitelist_add(&self, entry: &WhitelistEntry) -> Result<(), StoreError> {
        sql::whitelist_add(&self.pool, WHITELIST_ADD, entry).await
    }

    async fn whitelist_remove(&self, pattern: &str) -> Result<bool, StoreError> {
        sql::whitelist_remove(&self.pool, WHITELIST_REMOVE, pattern).await
    }

    async fn whitelist(&self) -> Result<Vec<WhitelistEntry>, StoreError> {
        sql::whitelist(&self.pool, WHITELIST_LIST).await
    }

    async fn feed_import(
        &self,
        source: &str,
        indicators: &[Indicator],
        replace: bool,
    ) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await.map_err(classify)?;
        let now = fumidai_core::unix_now();
        let written =
            crate::feeds::import(&mut *tx, &feeds::SQL, source, indicators, replace, now).await?;
        tx.commit().await.map_err(classify)?;
        Ok(written)
    }

    async fn feed_indicators(&self) -> Result<Vec<Indicator>, StoreError> {
        crate::feeds::indicators(&self.pool, &feeds::SQL).await
    }

    async fn feed_status(&self) -> Result<Vec<(String, u64, i64)>, StoreError> {
        crate::feeds::status(&self.pool, &feeds::SQL).await
    }

    async fn quarantine_put(
        &self,
        meta: &QuarantineMeta,
        original: bytes::Bytes,
    ) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await.map_err(classify)?;
        quarantine::put_durably(&mut conn, meta, original).await
    }

    async fn quarantine_list(
        &self,
        filter: &QuarantineFilter,
    ) -> Result<Vec<QuarantineItem>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(classify)?;
        crate::quarantine::list(&mut *conn, &quarantine::SQL, filter).await
    }

    async fn quarantine_get(&self, id: &str) -> Result<Option<QuarantineItem>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(classify)?;
        crate::quarantine::get(&mut *conn, &quarantine::SQL, id).await
    }

    async fn quarantine_read(
        &self,
        id: &str,
        sink: &mut (dyn for<'b> FnMut(&'b [u8]) -> std::io::Result<()> + Send),
    ) -> Result<bool, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(classify)?;
        // One snapshot for every chunk, whatever other nodes write meanwhile.
        let mut tx = conn
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
            .map_err(classify)?;
        let found = crate::quarantine::read(&mut *tx, &quarantine::SQL, id, sink).await?;
        tx.commit().await.map_err(classify)?;
        Ok(found)
    }

    async fn quarantine_mark_released(
        &self,
        id: &str,
        release: &Release,
    ) -> Result<bool, StoreError> {
        crate::quarantine::mark_released(&self.pool, &quarantine::SQL, id, release).await
    }

    async fn quarantine_delete(&self, id: &str) -> Result<bool, StoreError> {
        crate::quarantine::delete(&self.pool, &quarantine::SQL, id).await
    }

    async fn quarantine_purge(&self, older_than: i64) -> Result<u64, StoreError> {
        sql::execute_count(&self.pool, quarantine::SQL.purge, older_than).await
    }

    async fn event_record(
        &self,
        event: &SpringboardEvent,
        rules: &CaseRules,
        outbox: bool,
    ) -> Result<EventRecorded, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(classify)?;
        crate::alerts::event_record(&mut *conn, &alerts::SQL, event, rules, outbox).await
    }

    async fn events_outbox(&self, limit: u32) -> Result<Vec<SpringboardEvent>, StoreError> {
        crate::alerts::events_outbox(&self.pool, &alerts::SQL, limit).await
    }

    async fn events_forwarded(&self, ids: &[String]) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await.map_err(classify)?;
        crate::alerts::events_forwarded(&mut *conn, &alerts::SQL, ids).await
    }

    async fn cases(&self, filter: &CaseFilter) -> Result<Vec<Case>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(classify)?;
        crate::alerts::cases(&mut *conn, &alerts::SQL, filter).await
    }

    async fn case_get(&self, id: i64) -> Result<Option<Case>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(classify)?;
        crate::alerts::case_get(&mut *conn, &alerts::SQL, id).await
    }

    async fn case_set_state(&self, id: i64, state: CaseState, at: i64) -> Result<bool, StoreError> {
        crate::alerts::case_set_state(&self.pool, &alerts::SQL, id, state, at).await
    }

    async fn notification_record(&self, notification: &Notification) -> Result<bool, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(classify)?;
        crate::alerts::notification_record(&mut *conn, &alerts::SQL, notification).await
    }

    async fn notifications(&self, since: i64, until: i64) -> Result<Vec<Notification>, StoreError> {
        crate::alerts::notifications(&self.pool, &alerts::SQL, since, until).await
    }

    async fn directory_import(&self, organisations: &[Organisation]) -> Result<u64, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(classify)?;
        crate::alerts::directory_import(&mut *conn, &alerts::SQL, organisations).await
    }

    async fn directory(&self) -> Result<Vec<Organisation>, StoreError> {
        crate::alerts::directory(&self.pool, &alerts::SQL).await
    }

    async fn industry_enterprises_set(
        &self,
        rows: &[IndustryEnterprises],
    ) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await.map_err(classify)?;
        crate::alerts::industry_enterprises_set(&mut *conn, &alerts::SQL, rows).await
    }

    async fn industry_enterprises(&self) -> Result<Vec<IndustryEnterprises>, StoreError> {
        crate::alerts::industry_enterprises(&self.pool, &alerts::SQL).await
    }

    async fn outbound_add(
        &self,
        tally: &OutboundTally,
        window: i64,
    ) -> Result<OutboundSeen, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(classify)?;
        crate::outbound::add(&mut *conn, &outbound::SQL, tally, window).await
    }

    async fn outbound_hold(
        &self,
        account: &str,
        at: i64,
        reason: &str,
    ) -> Result<bool, StoreError> {
        crate::outbound::hold(&self.pool, &outbound::SQL, account, at, reason).await
    }

    async fn outbound_release(&self, account: &str, at: i64, by: &str) -> Result<bool, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(classify)?;
        crate::outbound::release(&mut *conn, &outbound::SQL, account, at, by).await
    }

    async fn outbound_reset(&self, account: Option<&str>) -> Result<u64, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(classify)?;
        crate::outbound::reset(&mut *conn, &outbound::SQL, account).await
    }

    async fn outbound_accounts(
        &self,
        at: i64,
        window: i64,
    ) -> Result<Vec<AccountState>, StoreError> {
        crate::outbound::accounts(&self.pool, &outbound::SQL, at, window).await
    }

    async fn outbound_prune(&self, before: i64, sent_before: i64) -> Result<u64, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(classify)?;
        crate::outbound::prune(&mut *conn, &outbound::SQL, before, sent_before).await
    }

    async fn sent_record(&self, sent: &SentMessage) -> Result<(), StoreError> {
        crate::outbound::sent_record(&self.pool, &outbound::SQL, sent).await
    }

    async fn sent_lookup(&self, message_ids: &[String]) -> Result<Vec<SentMessage>, StoreError> {
        crate::outbound::sent_lookup(&self.pool, &outbound::SQL, message_ids).await
    }

    async fn sent_since(&self) -> Result<Option<i64>, StoreError> {
        crate::outbound::sent_since(&self.pool, &outbound::SQL).await
    }

    async fn token_create(&self, token: &ApiToken) -> Result<(), StoreError> {
        crate::access::token_create(&self.pool, &access::SQL, token).await
    }

    async fn token_by_hash(&self, token_hash: &str) -> Result<Option<ApiToken>, StoreError> {
        crate::access::token_by_hash(&self.pool, &access::SQL, token_hash).await
    }

    async fn token_used(&self, id: &str, at: i64) -> Result<(), StoreError> {
        crate::access::token_used(&self.pool, &access::SQL, id, at).await
    }

    async fn tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        crate::access::tokens(&self.pool, &access::SQL).await
    }

    async fn token_revoke(&self, id: &str, at: i64) -> Result<bool, StoreError> {
        crate::access::token_revoke(&self.pool, &access::SQL, id, at).await
    }

    async fn audit_record(&self, entry: &AuditEntry) -> Result<i64, StoreError> {
        crate::access::audit_record(&self.pool, &access::SQL, entry).await
    }

    async fn audit_log(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        crate::access::audit_log(&self.pool, &access::SQL, filter).await
    }

    async fn user_create(&self, user: &ConsoleUser) -> Result<(), StoreError> {
        crate::console::user_create(&self.pool, &console::SQL, user).await
    }

    async fn user_get(&self, name: &str) -> Result<Option<ConsoleUser>, StoreError> {
        crate::console::user_get(&self.pool, &console::SQL, name).await
    }

    async fn users(&self) -> Result<Vec<ConsoleUser>, StoreError> {
        crate::console::users(&self.pool, &console::SQL).await
    }

    async fn user_set_password(
        &self,
        name: &str,
        password_hash: &str,
        at: i64,
    ) -> Result<bool, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(classify)?;
        crate::console::user_set_password(&mut *conn, &console::SQL, name, password_hash, at).await
    }

    async fn user_set_role(&self, name: &str, role: Role) -> Result<bool, StoreError> {
        crate::console::user_set_role(&self.pool, &console::SQL, name, role).await
    }

    async fn user_logged_in(&self, name: &str, at: i64) -> Result<(), StoreError> {
        crate::console::user_logged_in(&self.pool, &console::SQL, name, at).await
    }

    async fn user_delete(&self, name: &str) -> Result<bool, StoreError> {
        crate::console::user_delete(&self.pool, &console::SQL, name).await
    }

    async fn session_create(&self, session: &ConsoleSession) -> Result<(), StoreError> {
        crate::console::session_create(&self.pool, &console::SQL, session).await
    }

    async fn session_get(&self, id_hash: &str) -> Result<Option<ConsoleSession>, StoreError> {
        crate::console::session_get(&self.pool, &console::SQL, id_hash).await
    }

    async fn session_touch(&self, id_hash: &str, at: i64) -> Result<(), StoreError> {
        crate::console::session_touch(&self.pool, &console::SQL, id_hash, at).await
    }

    async fn session_delete(&self, id_hash: &str) -> Result<bool, StoreError> {
        crate::console::session_delete(&self.pool, &console::SQL, id_hash).await
    }

    async fn sessions_purge(&self, idle_before: i64, now: i64) -> Result<u64, StoreError> {
        crate::console::sessions_purge(&self.pool, &console::SQL, idle_before, now).await
    }

    async fn traffic_add(&self, traffic: &[Traffic]) -> Result<(), StoreError> {
        let Some(counts) = Counts::of(traffic)? else {
            return Ok(());
        };
        let mut conn = self.pool.acquire().await.map_err(classify)?;
        crate::traffic::add(&mut *conn, &traffic::SQL, counts).await
    }

    async fn traffic(&self, since: i64, until: i64) -> Result<Vec<TrafficCount>, StoreError> {
        crate::traffic::traffic(&self.pool, &traffic::SQL, since, until).await
    }

    async fn top_findings(
        &self,
        since: i64,
        until: i64,
        limit: u32,
    ) -> Result<Vec<FindingCount>, StoreError> {
        crate::traffic::top_findings(&self.pool, &traffic::SQL, since, until, limit).await
    }

    async fn traffic_prune(&self, before: i64) -> Result<u64, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(classify)?;
        crate::traffic::prune(&mut *conn, &traffic::SQL, before).await
    }
}
