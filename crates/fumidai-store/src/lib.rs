//! fumidai's storage layer: one [`Store`] trait, two backends (embedded SQLite by default, PostgreSQL when
//! several nodes share state), versioned migrations run on open.

use async_trait::async_trait;

/// Which way a message went, seen from the organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From a local user to an external address.
    Outbound,
    /// From an external address to a local user.
    Inbound,
}

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
#[derive(Debug, Clone, PartialEq, Eq)]
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
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Lookup {
    pub address: Option<PairHistory>,
    pub domain: Option<PairHistory>,
}

/// An exempt sender: an address or a whole domain.
#[derive(Debug, Clone, PartialEq, Eq)]
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

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or refused the connection.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Database(String),
    #[error("invalid store location {0:?}: expected a SQLite file path or a postgres:// URL")]
    BadLocation(String),
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
}
