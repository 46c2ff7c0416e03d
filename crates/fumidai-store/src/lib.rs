//! fumidai's storage layer: one [`Store`] trait, two backends (embedded SQLite by default, PostgreSQL when
//! several nodes share state), versioned migrations run on open.
//!
//! [`open`] picks the backend from the location: a file path or `sqlite:` URL gives SQLite (file and parent
//! directory created; WAL journal, 5 s busy timeout, `synchronous=NORMAL`: a crash may lose the last commits of
//! history, never corrupt it; a quarantined message is committed with `FULL`, see [`quarantine`]),
//! `postgres://`/`postgresql://` gives PostgreSQL (no TLS; add `?options[search_path]=myschema` to use a schema
//! other than `public`; connections use `synchronous_commit=off`, the same trade-off as SQLite's NORMAL, unless the
//! URL sets it; the quarantine's transactions turn it on). A database that is down or
//! refuses gives [`StoreError::Unavailable`] within about 5 seconds.
//!
//! # SQLite: connections, group commit, checkpoints
//!
//! A SQLite store holds its connections itself (no sqlx pool, which pings a connection's thread on every hand-back):
//! four readers, one writer, one checkpointer. Each reads the file through a memory map of up to 2 GiB
//! (`mmap_size`; a page the 16 MB page cache lacks costs no system call) — the price is SQLite's usual one: an I/O
//! error on the file becomes a crash (SIGBUS) instead of an error. Every write of the process goes through the one
//! writer connection, behind a mutex, so writers queue instead of spinning on SQLITE_BUSY and its page cache stays
//! warm. [`Store::record`] commits at once when the writer is free; calls that arrive while it is busy are
//! *group-committed*: a task takes every call waiting and commits their rows in one transaction, then answers
//! each caller, with the error if it failed. Either way a call returns only once its rows are
//! committed. The writer never checkpoints inside a commit (SQLite's default, two fsyncs in one unlucky call every
//! thousand pages): a background task copies the WAL back at most every 100 ms, and once the WAL passes 10,000
//! pages it holds writes off for one short pass so that the WAL starts over, its file cut back to 64 MB (see
//! `src/sqlite/checkpoint.rs`).
//!
//! PostgreSQL uses a sqlx pool of 8 that pings only connections idle for more than a second (the default ping on
//! every acquire doubled a lookup's round trips).
//!
//! # Schema
//!
//! Migrations are SQL files per backend under `src/migrations/{sqlite,postgres}/NNNN_name.sql`, embedded in the
//! binary and applied in order, each in its own transaction, recorded in `schema_migrations (version, name,
//! applied_at)`. Applying is idempotent; on PostgreSQL a session advisory lock (keyed by the schema) makes nodes
//! that start together apply each step once. New tables (quarantine, events, alert cases, outbound watch, API
//! access, console) are new steps, their SQL text per backend in `src/sqlite/` and `src/postgres/`; query bodies
//! that differ only in dialect (run, bind, map rows) are shared, generic over sqlx's `Database`, in `src/sql.rs`
//! and in each step's module (`src/access.rs`, `src/console.rs`, ...).
//!
//! Exchange history (step 1):
//! - `address_exchange (local_address, external_address)` — primary key, so a lookup is one B-tree probe.
//! - `domain_exchange (local_org, external_domain)` — the local organisation is the registrable domain of the
//!   local address, the external domain the registrable domain of the external address (Public Suffix List):
//!   `taro@mail.example.co.jp` belongs to `example.co.jp`. Indexed by `external_domain` too.
//! - each row: `first_seen`, `last_seen`, `outbound_count`, `inbound_count`, `last_outbound`, `last_inbound`
//!   (Unix seconds, UTC).
//! - `exchange_seen (at, key)` — dedup keys, see below. Ordered by time since step 3: keys are hashes, so
//!   ordered by key each commit wrote pages all over the table; by time, new keys go to the last pages and pruning
//!   is a range. The time is known wherever a key is probed, it is part of what the key hashes.
//!
//! Threat feeds (step 6, see [`feeds`]): `threat_indicator (kind, value, source)` and `threat_feed_import`.
//!
//! Quarantine (step 4, see [`quarantine`]): `quarantine` (one row an item: meta, size, SHA-256; indexed by
//! `received_at`), `quarantine_recipient`, `quarantine_finding` (indexed by finding) and `quarantine_release`
//! (rows in the order given), and `quarantine_chunk (id, seq, data)` holding the original in 1 MiB rows.
//!
//! Springboard alerts (step 5, see [`alerts`]): `alert_event` (one row per event id, its sample as JSON, its case,
//! an `outbox` flag with a partial index for forwarding), `alert_case` (one per `(organisation, kind)`, indexed by
//! `last_seen`; distinct source IPs, the newest samples with their times and the reporting sites as bounded JSON
//! text, folded in by the store under the writer (SQLite) or a row lock (PostgreSQL)), `alert_notification`
//! (indexed by `sent_at`), and the operator's `alert_organisation` (by normalised domain) and `alert_industry`.
//!
//! Outbound watch (step 7, see [`outbound`]): `outbound_bucket` (per account and minute, upserted by every node;
//! indexed by minute), `outbound_account` (held or not, the last hold and release) and `sent_message` (delivered
//! Message-IDs, indexed by `sent_at`).
//!
//! API access (step 8, see [`access`]): `api_token` (the SHA-256 of each secret, unique, never the secret; scopes
//! as space-separated words) and `audit_log` (ids from AUTOINCREMENT / BIGSERIAL; indexed by `at`).
//!
//! Console (step 9, see [`console`] and [`traffic`]): `console_user` (by name; the argon2id PHC string of the
//! password, never the password; the role as a word), `console_session` (the SHA-256 of each cookie's secret;
//! `user_name` references the user `ON DELETE CASCADE`, which SQLite applies because every connection turns
//! foreign keys on; indexed by `user_name`), and the dashboard's counters `traffic_hour` (messages per hour,
//! direction, verdict and action) and `finding_hour` (messages per hour and finding), both keyed by hour first,
//! upserted and pruned by hour.
//!
//! Addresses are trimmed, lower-cased and their domains IDNA-encoded (`info@例え.jp` → `info@xn--r8jz45g.jp`)
//! before they are stored or looked up; exchanges whose addresses are not `local@domain` are skipped.
//!
//! # Idempotency
//!
//! An exchange is identified by (local, external, direction, time in seconds), normalised. [`Store::record`]
//! stores the first 8 bytes of SHA-256 of that tuple, with the time, in `exchange_seen` and adds to the counts
//! only the exchanges whose key was new, atomically: on SQLite a batch (or a group of concurrent calls) is one
//! transaction of multi-row INSERTs (4,000 rows each) into the `exchange_input` view, whose INSTEAD OF trigger
//! checks the key and upserts both levels (it sees the rows before it, so a key repeated within a group counts
//! once); on PostgreSQL one statement (arrays through UNNEST, `ON CONFLICT DO NOTHING RETURNING` for the keys, then
//! grouped upserts). Re-importing the same mbox or log therefore leaves identical counts, and so does a milter that
//! retries a batch, or two nodes recording the same message. The price: two different messages between the same
//! pair in the same direction within the same second count once, which the rule does not care about. Keys cost
//! 16 bytes an exchange; [`Store::prune_dedup_keys`] drops old ones — only re-imports of data older than the
//! pruning horizon could then be counted twice, so prune well beyond any import window (e.g. keep 400 days).
//!
//! # Why inbound-only exchange does not count by default
//!
//! The store keeps both directions, but the "no exchange in the last 90 days" rule (in `fumidai-history`)
//! counts outbound mail by default: anyone can send one harmless mail to "warm up" a relationship and then send
//! the attack mail as a known correspondent; an organisation that *wrote* to an address chose to. For the same
//! reason [`Store::outbound_correspondent_domains`] exists next to [`Store::correspondent_domains`] for the
//! look-alike check: a look-alike domain that only ever sent us mail must not become a known correspondent.
//!
//! # Tests and benchmark
//!
//! `tests/store.rs` runs one suite against both backends. The PostgreSQL half connects to
//! `FUMIDAI_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432/test`), works in a fresh
//! `test_<random>` schema dropped at the end, and prints `skipped: no PostgreSQL at ...` and passes when no
//! server answers. `benches/history.rs` (`cargo bench -p fumidai-store --bench history`) fills each backend with
//! `FUMIDAI_BENCH_PAIRS` pairs (default 10 million) and prints lookup latency and recording throughput (messages a
//! second from one caller in batches of 1 and 100, and from 16 concurrent callers in batches of 1).
//!
//! Limits: no TLS to PostgreSQL; no retention of history rows (a pair seen once stays forever; the rule reads
//! `last_*`); the 64-bit dedup key can, very rarely, make two different exchanges of the same second count once.

use async_trait::async_trait;

pub mod access;
pub mod alerts;
mod batch;
pub mod console;
pub mod feeds;
pub mod migrations;
pub mod normalize;
pub mod outbound;
pub mod postgres;
pub mod quarantine;
mod sql;
pub mod sqlite;
#[cfg(feature = "testing")]
pub mod testing;
pub mod traffic;

pub use access::{ApiToken, AuditEntry, AuditFilter};
pub use alerts::{
    AuthCheck, Case, CaseFilter, CaseRules, CaseState, EventKind, EventRecorded,
    IndustryEnterprises, Notification, Organisation, Sample, SampleAttachment, SpringboardEvent,
};
pub use console::{ConsoleSession, ConsoleUser, Role};
pub use feeds::{Indicator, IndicatorKind};
pub use fumidai_core::Direction;
pub use normalize::{
    normalize_address, normalize_domain, registrable_domain, registrable_domain_of,
    registrable_domain_of_address,
};
pub use outbound::{AccountState, OutboundSeen, OutboundTally, OutboundTotals, SentMessage};
pub use postgres::PgStore;
pub use quarantine::{QuarantineFilter, QuarantineId, QuarantineItem, QuarantineMeta, Release};
pub use sqlite::SqliteStore;
pub use traffic::{FindingCount, Traffic, TrafficCount};

/// One exchange between a local and an external address at a time (Unix seconds, UTC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    /// Local address, lower-cased.
    pub local: String,
    /// External address, lower-cased.
    pub external: String,
    pub direction: Direction,
    pub at: i64,
}

/// What the store knows of one level (address pair or organisation/domain pair).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PairHistory {
    pub first_seen: i64,
    pub last_seen: i64,
    pub outbound_count: u64,
    pub inbound_count: u64,
    /// Last exchange that counts for the rule (outbound, or inbound where configured).
    pub last_outbound: Option<i64>,
    pub last_inbound: Option<i64>,
}

/// History for a (local, external) pair at the address and the domain level.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Lookup {
    pub address: Option<PairHistory>,
    pub domain: Option<PairHistory>,
}

/// An exempt sender: an address or a whole domain.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WhitelistEntry {
    /// `user@example.jp` or `example.jp`.
    pub pattern: String,
    pub comment: String,
    pub added_at: i64,
}

/// Schema state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaStatus {
    pub backend: &'static str,
    pub applied: Vec<u32>,
    pub latest: u32,
}

/// Cloneable: one failed group commit reaches every caller whose rows it held.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or refused the connection.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Database(String),
    #[error("invalid store location {0:?}: expected a SQLite file path or a postgres:// URL")]
    BadLocation(String),
    /// `quarantine_put`, `token_create`, `user_create` or `session_create` with an id (or a token hash, a user
    /// name, a session hash) already stored, given here by the id, the name or `session` (nothing was written;
    /// what is stored stays as it was).
    #[error("{0} already exists")]
    Duplicate(String),
    /// A quarantined original whose bytes do not match the size and SHA-256 stored with them.
    #[error("damaged: {0}")]
    Corrupt(String),
    /// The sink given to `quarantine_read` failed.
    #[error("cannot hand out the quarantined message: {0}")]
    Io(String),
}

/// The storage every part of fumidai uses. Both backends pass the same test suite.
#[async_trait]
pub trait Store: Send + Sync {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    async fn migrate(&self) -> Result<SchemaStatus, StoreError>;
    async fn status(&self) -> Result<SchemaStatus, StoreError>;
    /// Records exchanges (batched; idempotent for identical (local, external, direction, at) rows).
    async fn record(&self, exchanges: &[Exchange]) -> Result<(), StoreError>;
    /// History of `local` with `external`, at the address level and at the (local organisation, external
    /// registrable domain) level.
    async fn lookup(&self, local: &str, external: &str) -> Result<Lookup, StoreError>;
    /// Registrable domains the organisation has exchanged mail with (for look-alike checks).
    async fn correspondent_domains(&self) -> Result<Vec<String>, StoreError>;
    async fn whitelist_add(&self, entry: &WhitelistEntry) -> Result<(), StoreError>;
    async fn whitelist_remove(&self, pattern: &str) -> Result<bool, StoreError>;
    async fn whitelist(&self) -> Result<Vec<WhitelistEntry>, StoreError>;

    /// Quarantines `original` with `meta`: bytes (in chunks), meta, recipients and findings in one transaction,
    /// committed and synced before this returns. An id already present is [`StoreError::Duplicate`], never an
    /// overwrite; an id that is not 1–64 characters of `[A-Za-z0-9-]` is refused.
    async fn quarantine_put(
        &self,
        meta: &QuarantineMeta,
        original: bytes::Bytes,
    ) -> Result<(), StoreError>;
    /// Items matching `filter`, newest first, at most its limit.
    async fn quarantine_list(
        &self,
        filter: &QuarantineFilter,
    ) -> Result<Vec<QuarantineItem>, StoreError>;
    async fn quarantine_get(&self, id: &str) -> Result<Option<QuarantineItem>, StoreError>;
    /// Streams the original of `id` to `sink` chunk by chunk, in order, from one snapshot; false when there is no
    /// such item. The size and SHA-256 are checked at the end: a mismatch is [`StoreError::Corrupt`], and what the
    /// sink got must then be discarded (write to a temporary file, use it only on `Ok(true)`). (`for<'b>` is
    /// spelled out because async-trait would otherwise name the elided lifetime, tying the sink to one slice.)
    async fn quarantine_read(
        &self,
        id: &str,
        sink: &mut (dyn for<'b> FnMut(&'b [u8]) -> std::io::Result<()> + Send),
    ) -> Result<bool, StoreError>;
    /// Adds a release to the item's history; false when there is no such item.
    async fn quarantine_mark_released(
        &self,
        id: &str,
        release: &Release,
    ) -> Result<bool, StoreError>;
    /// Deletes an item and its bytes; false when there was none.
    async fn quarantine_delete(&self, id: &str) -> Result<bool, StoreError>;
    /// Deletes the items received before `older_than` (Unix seconds; the caller computes now - retention) and
    /// returns how many.
    async fn quarantine_purge(&self, older_than: i64) -> Result<u64, StoreError>;

    // Springboard alerts (see [`alerts`]).

    /// Records an event and folds it into its case (created, updated or reopened) in one transaction. An id
    /// already stored changes nothing (`new: false`). `outbox`: keep the event for [`Store::events_outbox`]
    /// (a node that forwards to a collector); a collector records what it receives with `false`. The organisation
    /// is stored normalised ([`normalize_domain`]); an id that is not 1–64 characters, or an organisation that is
    /// not a domain name, is refused.
    async fn event_record(
        &self,
        event: &SpringboardEvent,
        rules: &CaseRules,
        outbox: bool,
    ) -> Result<EventRecorded, StoreError>;
    /// Events recorded with `outbox` and not yet marked forwarded, oldest first, at most `limit`.
    async fn events_outbox(&self, limit: u32) -> Result<Vec<SpringboardEvent>, StoreError>;
    /// Takes events out of the outbox once the collector has them.
    async fn events_forwarded(&self, ids: &[String]) -> Result<(), StoreError>;
    /// Cases matching `filter`, most recent `last_seen` first.
    async fn cases(&self, filter: &CaseFilter) -> Result<Vec<Case>, StoreError>;
    async fn case_get(&self, id: i64) -> Result<Option<Case>, StoreError>;
    /// Sets a case's state (acknowledged, resolved, or back to new) at `at`; false when there is no such case.
    async fn case_set_state(&self, id: i64, state: CaseState, at: i64) -> Result<bool, StoreError>;
    /// Records a sent notice and, in the same transaction, moves its case to `Notified` with
    /// `last_notified_at = sent_at`; false when there is no such case.
    async fn notification_record(&self, notification: &Notification) -> Result<bool, StoreError>;
    /// Notices sent in `[since, until)` (Unix seconds), oldest first.
    async fn notifications(&self, since: i64, until: i64) -> Result<Vec<Notification>, StoreError>;
    /// Adds or replaces directory entries by domain (normalised: lower-case, IDNA); returns how many rows were
    /// written (an entry whose domain is not a usable name is skipped).
    async fn directory_import(&self, organisations: &[Organisation]) -> Result<u64, StoreError>;
    /// The whole directory, by domain.
    async fn directory(&self) -> Result<Vec<Organisation>, StoreError>;
    /// Replaces the enterprise counts of the industries given.
    async fn industry_enterprises_set(
        &self,
        rows: &[IndustryEnterprises],
    ) -> Result<(), StoreError>;
    async fn industry_enterprises(&self) -> Result<Vec<IndustryEnterprises>, StoreError>;

    /// Stores threat feed indicators of `source` in one transaction: an upsert by (kind, value, source), so
    /// importing the same list twice changes nothing; with `replace` (the file is a full snapshot) the source's
    /// indicators not in `indicators` are deleted. Records the import time; returns how many were written.
    async fn feed_import(
        &self,
        source: &str,
        indicators: &[Indicator],
        replace: bool,
    ) -> Result<u64, StoreError>;
    /// Every indicator of every source.
    async fn feed_indicators(&self) -> Result<Vec<Indicator>, StoreError>;
    /// (source, indicators held, last import in Unix seconds) of every source imported, by source.
    async fn feed_status(&self) -> Result<Vec<(String, u64, i64)>, StoreError>;

    // Outbound watch (see [`outbound`]).

    /// Adds `tally` to its account's bucket of the minute and returns the account's totals over the buckets whose
    /// minute is in `(at - window, at]` (counts up to the last release were deleted by it) and whether it is held,
    /// in one transaction. An account empty after trimming is refused.
    async fn outbound_add(
        &self,
        tally: &OutboundTally,
        window: i64,
    ) -> Result<OutboundSeen, StoreError>;
    /// Holds `account` at `at` for `reason`; true only for the call that changed it from not held to held, however
    /// many nodes call at once. An account empty after trimming is refused.
    async fn outbound_hold(&self, account: &str, at: i64, reason: &str)
        -> Result<bool, StoreError>;
    /// Lifts the hold on `account`: not held, `released_at`/`released_by` set, `counting_since = at`, and its
    /// buckets up to `at` deleted so that counting restarts, in one transaction. False when it was not held.
    async fn outbound_release(&self, account: &str, at: i64, by: &str) -> Result<bool, StoreError>;
    /// Forgets the counters and hold state of `account`, or of every account; returns how many accounts had any.
    async fn outbound_reset(&self, account: Option<&str>) -> Result<u64, StoreError>;
    /// Every account that is held or has counts in `(at - window, at]`, held ones first, then by account
    /// (bytewise), with its totals over that window.
    async fn outbound_accounts(
        &self,
        at: i64,
        window: i64,
    ) -> Result<Vec<AccountState>, StoreError>;
    /// Drops counter buckets older than `before` and remembered Message-IDs sent before `sent_before`;
    /// returns how many rows went.
    async fn outbound_prune(&self, before: i64, sent_before: i64) -> Result<u64, StoreError>;
    /// Remembers a delivered message (a Message-ID already stored is left as it was; angle brackets are taken
    /// off; an empty or over-long id is refused).
    async fn sent_record(&self, sent: &SentMessage) -> Result<(), StoreError>;
    /// The remembered messages among `message_ids` (with or without angle brackets; the first 100 are looked up,
    /// in one query), oldest first.
    async fn sent_lookup(&self, message_ids: &[String]) -> Result<Vec<SentMessage>, StoreError>;
    /// When the oldest remembered message was sent: bounces of older mail cannot be judged.
    async fn sent_since(&self) -> Result<Option<i64>, StoreError>;

    // API tokens and the audit log (see [`access`]).

    /// Stores a new token in one statement. An id or hash already stored is [`StoreError::Duplicate`] (with the
    /// id) and writes nothing; an id that is not 1–32 characters of `[A-Za-z0-9_-]`, a name that is empty or over
    /// 200 characters, a hash that is not 64 lower-case hex digits or a scope that is not 1–40 characters of
    /// `[a-z:_]` is refused.
    async fn token_create(&self, token: &ApiToken) -> Result<(), StoreError>;
    /// The token whose secret hashes to `token_hash` (exact match on the lower-case hex), revoked or not (the
    /// caller checks).
    async fn token_by_hash(&self, token_hash: &str) -> Result<Option<ApiToken>, StoreError>;
    /// Sets `last_used_at` of token `id` to `at` (nothing when there is no such token).
    async fn token_used(&self, id: &str, at: i64) -> Result<(), StoreError>;
    /// Every token, newest `created_at` first, then by id (bytewise).
    async fn tokens(&self) -> Result<Vec<ApiToken>, StoreError>;
    /// Revokes token `id` at `at`; false when there is no such token or it was revoked already.
    async fn token_revoke(&self, id: &str, at: i64) -> Result<bool, StoreError>;
    /// Appends an entry (its `id` is ignored) and returns the id given to it, distinct across every store handle
    /// and node.
    async fn audit_record(&self, entry: &AuditEntry) -> Result<i64, StoreError>;
    /// Entries matching `filter` (`since` inclusive, `until` exclusive, actor and action exact), newest first (the
    /// same second: greater id first), at most its limit.
    async fn audit_log(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError>;

    // Console users and sessions (see [`console`]).

    /// Stores a new user. A name already stored is [`StoreError::Duplicate`] (with the name) and writes nothing;
    /// a name that is not 1–64 characters of `[a-z0-9._@-]` or a hash that is not a PHC string (`$argon2...`) is
    /// refused.
    async fn user_create(&self, user: &ConsoleUser) -> Result<(), StoreError>;
    /// The user named `name` (exact match).
    async fn user_get(&self, name: &str) -> Result<Option<ConsoleUser>, StoreError>;
    /// Every user, by name (bytewise).
    async fn users(&self) -> Result<Vec<ConsoleUser>, StoreError>;
    /// Sets the password hash (and `password_changed_at` to `at`) and ends every session of the user, in one
    /// transaction; false when there is no such user.
    async fn user_set_password(
        &self,
        name: &str,
        password_hash: &str,
        at: i64,
    ) -> Result<bool, StoreError>;
    /// Sets the role; false when there is no such user. Sessions stay (the console reads the role per request).
    async fn user_set_role(&self, name: &str, role: Role) -> Result<bool, StoreError>;
    /// Sets `last_login_at`; nothing when there is no such user.
    async fn user_logged_in(&self, name: &str, at: i64) -> Result<(), StoreError>;
    /// Deletes the user and every session of it, in one transaction; false when there is no such user.
    async fn user_delete(&self, name: &str) -> Result<bool, StoreError>;
    /// Stores a new session; an `id_hash` already stored is [`StoreError::Duplicate`] (`session`); a user that
    /// does not exist is refused (a foreign key), and so is a hash that is not 64 lower-case hex digits or a CSRF
    /// token that is empty or over 128 characters.
    async fn session_create(&self, session: &ConsoleSession) -> Result<(), StoreError>;
    /// The session whose secret hashes to `id_hash`, expired or not (the caller checks).
    async fn session_get(&self, id_hash: &str) -> Result<Option<ConsoleSession>, StoreError>;
    /// Sets `last_seen_at` (nothing when there is no such session).
    async fn session_touch(&self, id_hash: &str, at: i64) -> Result<(), StoreError>;
    /// Ends one session; false when there was none.
    async fn session_delete(&self, id_hash: &str) -> Result<bool, StoreError>;
    /// Deletes sessions last seen before `idle_before` or expiring at or before `now`; returns how many.
    async fn sessions_purge(&self, idle_before: i64, now: i64) -> Result<u64, StoreError>;

    // The dashboard's counters (see [`traffic`]).

    /// Counts handled messages in their hours, in one transaction (upserts; concurrent callers on any handle or
    /// node add up exactly). A direction, verdict, action or counted finding that is not 1–64 characters refuses
    /// the whole slice; an empty slice writes nothing.
    async fn traffic_add(&self, traffic: &[Traffic]) -> Result<(), StoreError>;
    /// Counters of hours in `[since, until)`, by hour, direction, verdict, action (bytewise).
    async fn traffic(&self, since: i64, until: i64) -> Result<Vec<TrafficCount>, StoreError>;
    /// The findings carried by most messages in hours `[since, until)`, most first (ties by name, bytewise), at
    /// most `limit` (0: 10; more than 1,000 is cut to it).
    async fn top_findings(
        &self,
        since: i64,
        until: i64,
        limit: u32,
    ) -> Result<Vec<FindingCount>, StoreError>;
    /// Deletes counters of hours before `before` (both tables, in one transaction); returns how many rows.
    async fn traffic_prune(&self, before: i64) -> Result<u64, StoreError>;

    /// Registrable domains the organisation has *sent* mail to: the safer list for look-alike checks (a domain
    /// that only ever wrote to us proves nothing). Added after the first contract; the default says so.
    async fn outbound_correspondent_domains(&self) -> Result<Vec<String>, StoreError> {
        Err(StoreError::Database(format!(
            "{}: outbound_correspondent_domains not supported",
            self.backend()
        )))
    }

    /// Drops dedup keys of exchanges older than `before` (Unix seconds) and returns how many. Re-recording an
    /// exchange older than that would count it again, so keep them longer than any import window.
    async fn prune_dedup_keys(&self, before: i64) -> Result<u64, StoreError> {
        let _ = before;
        Err(StoreError::Database(format!(
            "{}: prune_dedup_keys not supported",
            self.backend()
        )))
    }
}

/// Connect/acquire timeout: a dead database must fail fast, not hang a milter.
pub const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Opens the store at `location` and applies pending migrations.
///
/// - `postgres://...` or `postgresql://...`: PostgreSQL.
/// - `sqlite:path`, `sqlite://path`, `sqlite::memory:` or a plain path: SQLite (file and directory created).
pub async fn open(location: &str) -> Result<Box<dyn Store>, StoreError> {
    let store = connect(location).await?;
    store.migrate().await?;
    Ok(store)
}

/// As [`open`], without applying migrations (for `db status`).
pub async fn connect(location: &str) -> Result<Box<dyn Store>, StoreError> {
    let trimmed = location.trim();
    let lower = trimmed.to_ascii_lowercase();
    let store: Box<dyn Store> =
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            Box::new(PgStore::connect(trimmed).await?)
        } else if let Some(path) = lower.starts_with("sqlite:").then(|| sqlite_path(trimmed)) {
            Box::new(SqliteStore::connect(path).await?)
        } else if trimmed.is_empty() || trimmed.contains("://") {
            return Err(StoreError::BadLocation(location.to_string()));
        } else {
            Box::new(SqliteStore::connect(trimmed).await?)
        };
    Ok(store)
}

/// The path inside a `sqlite:` URL (`sqlite://a/b.db`, `sqlite:a/b.db`; a `?query` is ignored).
fn sqlite_path(url: &str) -> &str {
    let rest = url.get("sqlite:".len()..).unwrap_or("");
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    rest.split_once('?').map_or(rest, |(p, _)| p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_give_their_path() {
        assert_eq!(sqlite_path("sqlite://var/db/x.db"), "var/db/x.db");
        assert_eq!(sqlite_path("sqlite:/var/x.db?mode=rwc"), "/var/x.db");
        assert_eq!(sqlite_path("sqlite::memory:"), ":memory:");
    }

    #[tokio::test]
    async fn unknown_schemes_are_bad_locations() {
        for bad in ["mysql://x/y", "", "   "] {
            assert!(
                matches!(open(bad).await, Err(StoreError::BadLocation(_))),
                "{bad}"
            );
        }
    }
}
