//! Embedded SQLite backend: one file, WAL journal, a few reader connections and one writer ([`writer`]: its own
//! connection, group commit for `record`, checkpoints in the background by [`checkpoint`]).
//!
//! The connections are held here rather than in a sqlx pool: the pool pings a connection's thread each time one
//! is handed back (a round trip and a spawned task per query), and a local file does not drop connections.

mod access;
mod alerts;
mod checkpoint;
mod console;
mod feeds;
mod history;
mod outbound;
mod quarantine;
mod traffic;
mod writer;

use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteSynchronous};
use sqlx::Connection;
use tokio::sync::{Mutex, MutexGuard};

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
use writer::{WriteTo, Writer};

const BACKEND: &str = "sqlite";
const MIGRATIONS: &[Migration] = migrations::SQLITE;

const CREATE_SCHEMA_MIGRATIONS: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at INTEGER NOT NULL
)";

const MIGRATION_SQL: MigrationSql = MigrationSql {
    table: "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
    versions: "SELECT version FROM schema_migrations ORDER BY version",
    applied: "SELECT version FROM schema_migrations WHERE version = ?1",
    record: "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
};

const WHITELIST_ADD: &str = "INSERT INTO whitelist (pattern, comment, added_at) VALUES (?1, ?2, ?3)
    ON CONFLICT (pattern) DO UPDATE SET comment = excluded.comment, added_at = excluded.added_at";
const WHITELIST_REMOVE: &str = "DELETE FROM whitelist WHERE pattern = ?1";
const WHITELIST_LIST: &str = "SELECT pattern, comment, added_at FROM whitelist ORDER BY pattern";

/// Reader connections of a file store: lookups at once before one waits.
const READERS: usize = 4;

/// Page cache per connection (SQLite's unit: negative means KiB): the upper B-tree levels of big history tables
/// stay in memory.
const CACHE_KIB: &str = "-16384";

/// Bytes of the file each connection reads through a memory map instead of read calls: a page that is not in the
/// connection's cache then costs a page-table entry on memory the OS already holds, not a system call and a copy.
/// This is SQLite's cap (2 GiB), about the size of the tables for 10 million pairs; pages beyond it are read as
/// usual. The map is address space, not memory: the pages are the OS's file cache, shared by every connection.
const MMAP_BYTES: &str = "2147418112";

/// The SQLite store. Use [`crate::open`] unless you need the concrete type.
pub struct SqliteStore {
    readers: Readers,
    writer: Writer,
}

/// Connections for reading, each used by one query at a time.
struct Readers {
    connections: Vec<Arc<Mutex<SqliteConnection>>>,
    /// Which one to wait for when all are busy, in turn.
    next: AtomicUsize,
}

impl Readers {
    async fn get(&self) -> MutexGuard<'_, SqliteConnection> {
        if let Some(free) = self.connections.iter().find_map(|c| c.try_lock().ok()) {
            return free;
        }
        let turn = self.next.fetch_add(1, Ordering::Relaxed) % self.connections.len();
        self.connections[turn].lock().await
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` (or `:memory:`), without migrating.
    pub async fn connect(path: &str) -> Result<Self, StoreError> {
        let what = format!("cannot open SQLite database {path:?}");
        let unavailable =
            |e: &dyn std::fmt::Display| StoreError::Unavailable(format!("{what}: {e}"));
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
                .pragma("mmap_size", MMAP_BYTES)
        };
        let options = options
            // sqlx's default, spelled out: quarantine rows and console sessions go with their parent by
            // ON DELETE CASCADE, which SQLite applies only with foreign keys on.
            .foreign_keys(true)
            .busy_timeout(CONNECT_TIMEOUT)
            .synchronous(SqliteSynchronous::Normal)
            .pragma("cache_size", CACHE_KIB);
        let opening = async {
            if in_memory {
                // One connection for everything: each in-memory connection is a database of its own.
                let only = Arc::new(Mutex::new(SqliteConnection::connect_with(&options).await?));
                return Ok((
                    vec![Arc::clone(&only)],
                    Writer::start(WriteTo::Shared(only), None),
                ));
            }
            // The writer leaves checkpoints to a connection of their own (see `checkpoint`).
            let own = options
                .clone()
                .pragma("wal_autocheckpoint", "0")
                .pragma("journal_size_limit", checkpoint::WAL_FILE_LIMIT);
            let own = SqliteConnection::connect_with(&own).await?;
            let checkpointer = SqliteConnection::connect_with(&options).await?;
            let mut connections = Vec::with_capacity(READERS);
            for _ in 0..READERS {
                let reader = SqliteConnection::connect_with(&options).await?;
                connections.push(Arc::new(Mutex::new(reader)));
            }
            Ok((
                connections,
                Writer::start(WriteTo::Own(own), Some(checkpointer)),
            ))
        };
        let (connections, writer) = sql::connect_within(&what, opening).await?;
        Ok(SqliteStore {
            readers: Readers {
                connections,
                next: AtomicUsize::new(0),
            },
            writer,
        })
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn migrate(&self) -> Result<SchemaStatus, StoreError> {
        let mut writer = self.writer.lock().await;
        let mut conn = writer.connection().await;
        for step in MIGRATIONS {
            // BEGIN IMMEDIATE takes the write lock first, so another process migrating the same file waits here
            // and then sees the step as done.
            let mut tx = conn.begin_with("BEGIN IMMEDIATE").await.map_err(classify)?;
            sqlx::raw_sql(CREATE_SCHEMA_MIGRATIONS)
                .execute(&mut *tx)
                .await
                .map_err(classify)?;
            sql::apply_step(&mut *tx, &MIGRATION_SQL, step).await?;
            tx.commit().await.map_err(classify)?;
        }
        drop(conn);
        drop(writer);
        self.status().await
    }

    async fn status(&self) -> Result<SchemaStatus, StoreError> {
        let mut reader = self.readers.get().await;
        sql::schema_status(&mut *reader, &MIGRATION_SQL, BACKEND, MIGRATIONS).await
    }

    async fn record(&self, exchanges: &[Exchange]) -> Result<(), StoreError> {
        self.writer.record(exchanges).await
    }

    async fn lookup(&self, local: &str, external: &str) -> Result<Lookup, StoreError> {
        sql::lookup(
            &mut *self.readers.get().await,
            history::LOOKUP,
            local,
            external,
        )
        .await
    }

    async fn correspondent_domains(&self) -> Result<Vec<String>, StoreError> {
        sql::strings(&mut *self.readers.get().await, history::DOMAINS).await
    }

    async fn outbound_correspondent_domains(&self) -> Result<Vec<String>, StoreError> {
        sql::strings(&mut *self.readers.get().await, history::OUTBOUND_DOMAINS).await
    }

    async fn prune_dedup_keys(&self, before: i64) -> Result<u64, StoreError> {
        let mut writer = self.writer.lock().await;
        let mut conn = writer.connection().await;
        sql::execute_count(&mut *conn, history::PRUNE, before).await
    }

    async fn whitelist_add(&self, entry: &WhitelistEntry) -> Result<(), StoreError> {
        let mut writer = self.writer.lock().await;
        let mut conn = writer.connection().await;
        sql::whitelist_add(&mut *conn, WHITELIST_ADD, entry).await
    }

    async fn whitelist_remove(&self, pattern: &str) -> Result<bool, StoreError> {
        let mut writer = self.writer.lock().await;
        let mut conn = writer.connection().await;
        sql::whitelist_remove(&mut *conn, WHITELIST_REMOVE, pattern).await
    }

    async fn whitelist(&self) -> Result<Vec<WhitelistEntry>, StoreError> {
        sql::whitelist(&mut *self.readers.get().await, WHITELIST_LIST).await
    }

    async fn feed_import(
        &self,
        source: &str,
        indicators: &[Indicator],
        replace: bool,
    ) -> Result<u64, StoreError> {
        let mut writer = self.writer.lock().await;
        let mut conn = writer.connection().await;
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await.map_err(classify)?;
        let now = fumidai_core::unix_now();
        let written =
            crate::feeds::import(&mut *tx, &feeds::SQL, source, indicators, replace, now).await?;
        tx.commit().await.map_err(classify)?;
        Ok(written)
    }

    async fn feed_indicators(&self) -> Result<Vec<Indicator>, StoreError> {
        crate::feeds::indicators(&mut *self.readers.get().await, &feeds::SQL).await
    }

    async fn feed_status(&self) -> Result<Vec<(String, u64, i64)>, StoreError> {
        crate::feeds::status(&mut *self.readers.get().await, &feeds::SQL).await
    }

    async fn quarantine_put(
        &self,
        meta: &QuarantineMeta,
        original: bytes::Bytes,
    ) -> Result<(), StoreError> {
        let mut writer = self.writer.lock().await;
        let stored = quarantine::put_durably(&mut *writer.connection().await, meta, original).await;
        drop(writer);
        self.writer.wake_checkpoints();
        stored
    }

    async fn quarantine_list(
        &self,
        filter: &QuarantineFilter,
    ) -> Result<Vec<QuarantineItem>, StoreError> {
        crate::quarantine::list(&mut *self.readers.get().await, &quarantine::SQL, filter).await
    }

    async fn quarantine_get(&self, id: &str) -> Result<Option<QuarantineItem>, StoreError> {
        crate::quarantine::get(&mut *self.readers.get().await, &quarantine::SQL, id).await
    }

    async fn quarantine_read(
        &self,
        id: &str,
        sink: &mut (dyn for<'b> FnMut(&'b [u8]) -> std::io::Result<()> + Send),
    ) -> Result<bool, StoreError> {
        let mut reader = self.readers.get().await;
        // One read transaction: every chunk from the same snapshot, whatever is written meanwhile.
        let mut tx = reader.begin().await.map_err(classify)?;
        let found = crate::quarantine::read(&mut *tx, &quarantine::SQL, id, sink).await?;
        tx.commit().await.map_err(classify)?;
        Ok(found)
    }

    async fn quarantine_mark_released(
        &self,
        id: &str,
        release: &Release,
    ) -> Result<bool, StoreError> {
        let mut writer = self.writer.lock().await;
        let mut conn = writer.connection().await;
        crate::quarantine::mark_released(&mut *conn, &quarantine::SQL, id, release).await
    }

    async fn quarantine_delete(&self, id: &str) -> Result<bool, StoreError> {
        let mut writer = self.writer.lock().await;
        let mut conn = writer.connection().await;
        crate::quarantine::delete(&mut *conn, &quarantine::SQL, id).await
    }

    async fn quarantine_purge(&self, older_than: i64) -> Result<u64, StoreError> {
        let mut writer = self.writer.lock().await;
        let mut conn = writer.connection().await;
        sql::execute_count(&mut *conn, quarantine::SQL.purge, older_than).await
    }

    async fn event_record(
        &self,
        event: &SpringboardEvent,
        rules: &CaseRules,
        outbox: bool,
    ) -> Result<EventRecorded, StoreError> {
        let mut writer = self.writer.lock().await;
        let recorded = crate::alerts::event_record(
            &mut *writer.connection().await,
            &alerts::SQL,
            event,
            rules,
            outbox,
        )
        .await;
        drop(writer);
        self.writer.wake_checkpoints();
        recorded
    }

    async fn events_outbox(&self, limit: u32) -> Result<Vec<SpringboardEvent>, StoreError> {
        crate::alerts::events_outbox(&mut *self.readers.get().await, &alerts::SQL, limit).await
    }

    async fn events_forwarded(&self, ids: &[String]) -> Result<(), StoreError> {
        let mut writer = self.writer.lock().await;
        let forwarded =
            crate::alerts::events_forwarded(&mut *writer.connection().await, &alerts::SQL, ids)
                .await;
        drop(writer);
        self.writer.wake_checkpoints();
        forwarded
    }

    async fn cases(&self, filter: &CaseFilter) -> Result<Vec<Case>, StoreError> {
        crate::alerts::cases(&mut *self.readers.get().await, &alerts::SQL, filter).await
    }

    async fn case_get(&self, id: i64) -> Result<Option<Case>, StoreError> {
        crate::alerts::case_get(&mut *self.readers.get().await, &alerts::SQL, id).await
    }

    async fn case_set_state(&self, id: i64, state: CaseState, at: i64) -> Result<bool, StoreError> {
        let mut writer = self.writer.lock().await;
        let mut conn = writer.connection().await;
        crate::alerts::case_set_state(&mut *conn, &alerts::SQL, id, state, at).await
    }

    async fn notification_record(&self, notification: &Notification) -> Result<bool, StoreError> {
        let mut writer = self.writer.lock().await;
        let mut conn = writer.connection().await;
        // The notice has left: its record must survive a crash, or the case would be notified again.
        set_synchronous(&mut conn, Synchronous::Full).await?;
        let recorded =
            crate::alerts::notification_record(&mut *conn, &alerts::SQL, notification).await;
        let restored = set_synchronous(&mut conn, Synchronous::Normal).await;
        recorded.and_then(|r| restored.map(|()| r))
    }

    async fn notifications(&self, since: i64, until: i64) -> Result<Vec<Notification>, StoreError> {
        crate::alerts::notifications(&mut *self.readers.get().await, &alerts::SQL, since, until)
            .await
    }

    async fn directory_import(&self, organisations: &[Organisation]) -> Result<u64, StoreError> {
        let mut writer = self.writer.lock().await;
        let written = crate::alerts::directory_import(
            &mut *writer.connection().await,
            &alerts::SQL,
            organisations,
        )
        .await;
        drop(writer);
        self.writer.wake_checkpoints();
        written
    }

    async fn directory(&self) -> Result<Vec<Organisation>, StoreError> {
        crate::alerts::directory(&mut *self.readers.get().await, &alerts::SQL).await
    }

    async fn industry_enterprises_set(
        &self,
        rows: &[IndustryEnterprises],
    ) -> Result<(), StoreError> {
        let mut writer = self.writer.lock().await;
        let mut conn = writer.connection().await;
        crate::alerts::industry_enterprises_set(&mut *conn, &alerts::SQL, rows).await
    }

    async fn industry_enterprises(&self) -> Result<Vec<IndustryEnterprises>, StoreError> {
        crate::alerts::industry_enterprises(&mut *self.readers.get().await, &alerts::SQL).await
    }

    async fn outbound_add(
        &self,
        tally: &OutboundTally,
        window: i64,
    ) -> Result<OutboundSeen, StoreError> {
        let mut writer = self.writer.lock().await;
        let mut conn = writer.connection().await;
        crate::outbound::add(&mut *conn, &outbound::SQL, tally, window).await
    }

    async fn outbound_hold(
        &self,
        account: &str,
        at: i64,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let mut writer = self.writer.lock().await;
        let mut conn = writer.connection().await;
        crate::outbound::hold(&mut *conn, &outbound::SQL, account, at, reason).await
    }

    async fn outbound_release(&self, account: &str, at: i64, by: &str) -> Result<bool, StoreError> {
        let mut writer = self.writer.lock().await;
        let mut conn = writer.connection().await;
        crate::outbound::release(&mut *conn, &outbound::SQL, account, at, by).await
    }

    async fn outbound_reset(&self, account: Option<&str>) -> Result<u64, StoreError> {
        let mut writer = self.writer.lock().await;
        let mut conn = writer.connection().await;
        crate::outbound::reset(&mut *conn, &outbound::SQL, account).await
    }

    async fn outbound_accounts(
        &self,
        at: i64,
        window: i64,
    ) -> Result<Vec<AccountState>, StoreError> {
        crate::outbound::accounts(&mut *self.readers.get().await, &outbound::SQL, at, window).await
    }

    async fn outbound_prune(&self, before: i64, sent_before: i64) -> Result<u64, StoreError> {
        let mut writer = self.writer.lock().await;
        let mut conn = writer.connection().await;
        crate::outbound::prune(&mut *conn, &outbound::SQL, before, sent_before).await
    }

    async fn sent_record(&self, sent: &SentMessage) -> Result<(), StoreError> {
        let mut writer = self.writer.lock().await;
        let mut conn = writer.connection().await;
        crate::outbound::sent_record(&mut *conn, &outbound::SQL, sent).await
    }

    async fn sent_lookup(&self, message_ids: &[String]) -> Result<Vec<SentMessage>, StoreError> {
        crate::outbound::sent_lookup(&mut *self.readers.get().await, &outbound::SQL, message_ids)
            .await
    }

    async fn sent_since(&self) -> Result<Option<i64>, StoreError> {
        crate::outbound::sent_since(&mut *self.readers.get().await, &outbound::SQL).await
    }

    async fn token_create(&self, token: &ApiToken) -> Result<(), StoreError> {
        let mut writer = self.writer.lock().await;
        let mut conn = writer.connection().await;
        crate::access::token_create(&mut *conn, &access::SQL, token).await
    }

    async fn token_by_hash(&self, token_hash: &str) -> Result<Option<ApiToken>, StoreError> {
        crate::access::token_by_hash(&mut *self.readers.get().await, &access::SQL, token_hash).await
    }

    async fn token_used(&self, id: &str, at: i64) -> Result<(), StoreError> {
        let mut writer = self.writer.lock().await;
        let mut conn = writer.connection().await;
        crate::access::token_used(&mut *conn, &access::SQL, id, at).await
    }

    async fn tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        crate::access::tokens(&mut *self.readers.get().await, &access::SQL).await
    }

    async fn token_revoke(&self, id: &str, at: i64) -> Result<bool, StoreError> {
        let mut writer = self.writer.lock().await;
        let mut conn = writer.connection().await;
        crate::access::token_revoke(&mut *conn, &access::SQL, id, at).await
    }

    async fn audit_record(&self, entry: &AuditEntry) -> Result<i64, StoreError> {
        let mut writer = self.writer.lock().await;
        let mut conn = writer.connection().await;
        crate::access::audit_record(&mut *conn, &access::SQL, entry).await
    }

    async fn audit_log(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        crate::access::audit_log(&mut *self.readers.get().await, &access::SQL, filter).await
    }
    async fn user_create(&self, user: &ConsoleUser) -> Result<(), StoreError> {
        let mut writer = self.writer.lock().await;
        let mut conn = writer.connection().await;
        crate::console::user_create(&mut *conn, &console::SQL, user).await
    }

    async fn user_get(&self, name: &str) -> Result<Option<ConsoleUser>, StoreError> {
        crate::console::user_get(&mut *self.readers.get().await, &console::SQL, name).await
    }

    async fn users(&self) -> Result<Vec<ConsoleUser>, StoreError> {
        crate::console::users(&mut *self.readers.get().await, &console::SQL).await
    }

    async fn user_set_password(
        &self,
        name: &str,
        password_hash: &str,
        at: i64,
    ) -> Result<bool, StoreError> {
        let mut writer = self.writer.lock().await;
        let mut conn = writer.connection().await;
        crate::console::user_set_password(&mut *conn, &console::SQL, name, password_hash, at).await
    }

    async fn user_set_role(&self, name: &str, role: Role) -> Result<bool, StoreError> {
        let mut writer = self.writer.lock().await;
        let mut conn = writer.connection().await;
        crate::console::user_set_role(&mut *conn, &console::SQL, name, role).await
    }

    async fn user_logged_in(&self, name: &str, at: i64) -> Result<(), StoreError> {
        let mut writer = self.writer.lock().await;
        let mut conn = writer.connection().await;
        crate::console::user_logged_in(&mut *conn, &console::SQL, name, at).await
    }

    async fn user_delete(&self, name: &str) -> Result<bool, StoreError> {
        let mut writer = self.writer.lock().await;
        let mut conn = writer.connection().await;
        crate::console::user_delete(&mut *conn, &console::SQL, name).await
    }

    async fn session_create(&self, session: &ConsoleSession) -> Result<(), StoreError> {
        let mut writer = self.writer.lock().await;
        let mut conn = writer.connection().await;
        crate::console::session_create(&mut *conn, &console::SQL, session).await
    }

    async fn session_get(&self, id_hash: &str) -> Result<Option<ConsoleSession>, StoreError> {
        crate::console::session_get(&mut *self.readers.get().await, &console::SQL, id_hash).await
    }

    async fn session_touch(&self, id_hash: &str, at: i64) -> Result<(), StoreError> {
        let mut writer = self.writer.lock().await;
        let mut conn = writer.connection().await;
        crate::console::session_touch(&mut *conn, &console::SQL, id_hash, at).await
    }

    async fn session_delete(&self, id_hash: &str) -> Result<bool, StoreError> {
        let mut writer = self.writer.lock().await;
        let mut conn = writer.connection().await;
        crate::console::session_delete(&mut *conn, &console::SQL, id_hash).await
    }

    async fn sessions_purge(&self, idle_before: i64, now: i64) -> Result<u64, StoreError> {
        let mut writer = self.writer.lock().await;
        let mut conn = writer.connection().await;
        crate::console::sessions_purge(&mut *conn, &console::SQL, idle_before, now).await
    }

    async fn traffic_add(&self, traffic: &[Traffic]) -> Result<(), StoreError> {
        let Some(counts) = Counts::of(traffic)? else {
            return Ok(());
        };
        let mut writer = self.writer.lock().await;
        let mut conn = writer.connection().await;
        crate::traffic::add(&mut *conn, &traffic::SQL, counts).await
    }

    async fn traffic(&self, since: i64, until: i64) -> Result<Vec<TrafficCount>, StoreError> {
        crate::traffic::traffic(&mut *self.readers.get().await, &traffic::SQL, since, until).await
    }

    async fn top_findings(
        &self,
        since: i64,
        until: i64,
        limit: u32,
    ) -> Result<Vec<FindingCount>, StoreError> {
        crate::traffic::top_findings(
            &mut *self.readers.get().await,
            &traffic::SQL,
            since,
            until,
            limit,
        )
        .await
    }

    async fn traffic_prune(&self, before: i64) -> Result<u64, StoreError> {
        let mut writer = self.writer.lock().await;
        let mut conn = writer.connection().await;
        crate::traffic::prune(&mut *conn, &traffic::SQL, before).await
    }
}

/// The writer's `synchronous` level: `Full` for the one commit that must survive a crash (a quarantined original,
/// a notice sent), `Normal` for everything else (see the crate doc).
#[derive(Clone, Copy)]
enum Synchronous {
    Full,
    Normal,
}

async fn set_synchronous(
    conn: &mut SqliteConnection,
    level: Synchronous,
) -> Result<(), StoreError> {
    let pragma = match level {
        Synchronous::Full => "PRAGMA synchronous = FULL",
        Synchronous::Normal => "PRAGMA synchronous = NORMAL",
    };
    sqlx::raw_sql(pragma)
        .execute(conn)
        .await
        .map(drop)
        .map_err(classify)
}
