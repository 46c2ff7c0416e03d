//! An in-memory `Store` for unit tests only (a test double of the trait; the real backends live in
//! fumidai-store and run the same `fumidai_history::checks` suites).
#![allow(dead_code)]

use async_trait::async_trait;
use fumidai_store::{
    Direction, Exchange, Lookup, PairHistory, SchemaStatus, Store, StoreError, WhitelistEntry,
};
use std::collections::HashSet;
use std::sync::Mutex;

/// (local, external, outbound, at): what makes two exchanges identical.
type Key = (String, String, bool, i64);

#[derive(Default)]
pub struct MemoryStore {
    rows: Mutex<(Vec<Exchange>, HashSet<Key>)>,
    whitelist: Mutex<Vec<WhitelistEntry>>,
}

fn reg(addr: &str) -> String {
    let d = addr.rsplit('@').next().unwrap_or(addr);
    psl::domain_str(d).unwrap_or(d).to_owned()
}

fn history<'a>(it: impl Iterator<Item = &'a Exchange>) -> Option<PairHistory> {
    let mut h: Option<PairHistory> = None;
    for e in it {
        let p = h.get_or_insert(PairHistory {
            first_seen: e.at,
            last_seen: e.at,
            outbound_count: 0,
            inbound_count: 0,
            last_outbound: None,
            last_inbound: None,
        });
        p.first_seen = p.first_seen.min(e.at);
        p.last_seen = p.last_seen.max(e.at);
        match e.direction {
            Direction::Outbound => {
                p.outbound_count += 1;
                p.last_outbound = p.last_outbound.max(Some(e.at));
            }
            Direction::Inbound => {
                p.inbound_count += 1;
                p.last_inbound = p.last_inbound.max(Some(e.at));
            }
        }
    }
    h
}

impl MemoryStore {
    pub fn len(&self) -> usize {
        self.rows.lock().unwrap().0.len()
    }

    pub fn rows(&self) -> Vec<Exchange> {
        self.rows.lock().unwrap().0.clone()
    }
}

#[async_trait]
impl Store for MemoryStore {
    fn backend(&self) -> &'static str {
        "memory"
    }
    async fn migrate(&self) -> Result<SchemaStatus, StoreError> {
        self.status().await
    }
    async fn status(&self) -> Result<SchemaStatus, StoreError> {
        Ok(SchemaStatus {
            backend: "memory",
            applied: vec![1],
            latest: 1,
        })
    }
    async fn record(&self, exchanges: &[Exchange]) -> Result<(), StoreError> {
        let mut g = self.rows.lock().unwrap();
        for e in exchanges {
            let k = (
                e.local.clone(),
                e.external.clone(),
                e.direction == Direction::Outbound,
                e.at,
            );
            if g.1.insert(k) {
                g.0.push(e.clone());
            }
        }
        Ok(())
    }
    async fn lookup(&self, local: &str, external: &str) -> Result<Lookup, StoreError> {
        let g = self.rows.lock().unwrap();
        let (lr, er) = (reg(local), reg(external));
        Ok(Lookup {
            address: history(
                g.0.iter()
                    .filter(|e| e.local == local && e.external == external),
            ),
            domain: history(
                g.0.iter()
                    .filter(|e| reg(&e.local) == lr && reg(&e.external) == er),
            ),
        })
    }
    async fn correspondent_domains(&self) -> Result<Vec<String>, StoreError> {
        let g = self.rows.lock().unwrap();
        let mut v: Vec<String> = g.0.iter().map(|e| reg(&e.external)).collect();
        v.sort();
        v.dedup();
        Ok(v)
    }
    async fn whitelist_add(&self, entry: &WhitelistEntry) -> Result<(), StoreError> {
        self.whitelist.lock().unwrap().push(entry.clone());
        Ok(())
    }
    async fn whitelist_remove(&self, pattern: &str) -> Result<bool, StoreError> {
        let mut w = self.whitelist.lock().unwrap();
        let n = w.len();
        w.retain(|e| e.pattern != pattern);
        Ok(w.len() != n)
    }
    async fn whitelist(&self) -> Result<Vec<WhitelistEntry>, StoreError> {
        Ok(self.whitelist.lock().unwrap().clone())
    }
}
