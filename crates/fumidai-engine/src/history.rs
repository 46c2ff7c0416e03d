//! The exchange history as the engine uses it: after a message is inspected, its sender and recipients are
//! looked up (FIRST_CONTACT, NO_RECENT_EXCHANGE, LOOKALIKE_OF_CORRESPONDENT) and, when asked, recorded.
//!
//! Inspection is CPU work and stays synchronous in [`Engine::scan`](crate::Engine::scan); the history is I/O
//! against the store and is async. A front end runs the scan, then [`ExchangeHistory::assess`] and
//! [`Engine::add_findings`](crate::Engine::add_findings), then [`ExchangeHistory::record`]. The whitelist and
//! the look-alike index are loaded once and kept until [`ExchangeHistory::refresh`], so a lookup costs one
//! store query per local recipient.

use crate::{Config, Envelope, MessageReport};
use fumidai_history::{Assessment, CorrespondentIndex, HistoryConfig};
use fumidai_store::{Direction, Exchange, Store, StoreError, WhitelistEntry};
use std::sync::{Arc, RwLock};

/// Who a message is from and to, as far as the history is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parties {
    /// The header From address, else the envelope sender.
    pub sender: Option<String>,
    /// The envelope recipients (they include Bcc), else the To and Cc addresses.
    pub recipients: Vec<String>,
}

impl Parties {
    pub fn of(report: &MessageReport, envelope: &Envelope) -> Parties {
        // The header From is who the recipient believes wrote; the envelope sender is often a bounce address.
        let sender = report
            .from
            .clone()
            .or_else(|| envelope.mail_from.clone().filter(|s| !s.is_empty()));
        let recipients = if envelope.rcpt_to.is_empty() {
            report.recipients.clone()
        } else {
            envelope.rcpt_to.clone()
        };
        Parties { sender, recipients }
    }
}

/// What is reloaded by [`ExchangeHistory::refresh`].
struct Cached {
    whitelist: Vec<WhitelistEntry>,
    index: CorrespondentIndex,
}

/// The store plus the rule's settings, shared by every message a front end handles.
pub struct ExchangeHistory {
    store: Box<dyn Store>,
    cfg: HistoryConfig,
    cached: RwLock<Arc<Cached>>,
}

impl ExchangeHistory {
    /// Opens the store the configuration names (migrating it) and loads the whitelist and look-alike index.
    pub async fn open(config: &Config) -> Result<ExchangeHistory, StoreError> {
        let store = fumidai_store::open(&config.store.location()).await?;
        ExchangeHistory::with_store(store, config).await
    }

    /// As [`ExchangeHistory::open`], over a store already open.
    pub async fn with_store(
        store: Box<dyn Store>,
        config: &Config,
    ) -> Result<ExchangeHistory, StoreError> {
        let cfg = config.history();
        let cached = load(&*store, &cfg).await?;
        Ok(ExchangeHistory {
            store,
            cfg,
            cached: RwLock::new(Arc::new(cached)),
        })
    }

    /// Gives the store back (a front end that keeps it after the history is done with it).
    pub fn into_store(self) -> Box<dyn Store> {
        self.store
    }

    pub fn store(&self) -> &dyn Store {
        &*self.store
    }

    pub fn config(&self) -> &HistoryConfig {
        &self.cfg
    }

    /// Reloads the whitelist and the correspondents (after an import, a whitelist change, or periodically
    /// in a long-running front end).
    pub async fn refresh(&self) -> Result<(), StoreError> {
        let fresh = load(&*self.store, &self.cfg).await?;
        *self.cached.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(fresh);
        Ok(())
    }

    /// The history findings for an inbound message at `now` (Unix seconds). Nothing when the rule is
    /// disabled or the message has no sender.
    pub async fn assess(&self, parties: &Parties, now: i64) -> Result<Assessment, StoreError> {
        let Some(sender) = parties.sender.as_deref().filter(|_| self.cfg.enabled) else {
            return Ok(Assessment::default());
        };
        // Out of the lock: the guard must not be held across the store's awaits.
        let cached = Arc::clone(&self.cached.read().unwrap_or_else(|e| e.into_inner()));
        fumidai_history::assess_with(
            &*self.store,
            &self.cfg,
            &cached.whitelist,
            &cached.index,
            sender,
            &parties.recipients,
            now,
        )
        .await
    }

    /// The exchanges a message gives in `direction` at `at`: outbound, from a local sender to each external
    /// recipient; inbound, from an external sender to each local recipient. Needs `[sender] own_domains`.
    pub fn exchanges(&self, parties: &Parties, direction: Direction, at: i64) -> Vec<Exchange> {
        let Some(sender) = parties.sender.as_deref() else {
            return Vec::new();
        };
        let mut out = Vec::with_capacity(parties.recipients.len());
        fumidai_history::import::push_exchanges(
            &self.cfg,
            sender,
            &parties.recipients,
            at,
            &mut out,
        );
        out.retain(|e| e.direction == direction);
        out
    }

    /// Records exchanges (idempotent for identical ones).
    pub async fn record(&self, exchanges: &[Exchange]) -> Result<(), StoreError> {
        if exchanges.is_empty() {
            return Ok(());
        }
        self.store.record(exchanges).await
    }
}

async fn load(store: &dyn Store, cfg: &HistoryConfig) -> Result<Cached, StoreError> {
    Ok(Cached {
        whitelist: store.whitelist().await?,
        index: fumidai_history::build_index(store, cfg).await?,
    })
}
