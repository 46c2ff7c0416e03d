//! Turns a batch of [`Exchange`]s into normalised rows with their dedup keys. Shared by both backends so that
//! they key identically; counting happens in SQL (a trigger on SQLite, one statement on PostgreSQL).

use std::collections::HashSet;

use sha2::{Digest, Sha256};

use crate::normalize::{address_domain, normalize_address, registrable_domain};
use crate::{Direction, Exchange};

/// One exchange, normalised, with both levels' keys and its dedup key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Row {
    pub key: i64,
    pub local: String,
    pub external: String,
    pub local_org: String,
    pub external_domain: String,
    pub outbound: bool,
    pub at: i64,
}

/// The dedup key of an exchange: the first 8 bytes of SHA-256 over the normalised (local, external, direction,
/// at). 64 bits keep the seen table compact (16 bytes a row with its time); as the table is keyed by (time, key),
/// only a collision between exchanges of the same second matters, and it would at worst drop one count, never add
/// one.
pub(crate) fn dedup_key(local: &str, external: &str, outbound: bool, at: i64) -> i64 {
    let mut h = Sha256::new();
    h.update(local.as_bytes());
    h.update([0u8]);
    h.update(external.as_bytes());
    h.update([0u8, u8::from(outbound)]);
    h.update(at.to_le_bytes());
    let digest = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_le_bytes(first)
}

/// Normalises a batch: rows whose addresses are not `local@domain` are dropped (they cannot be looked up
/// either), and duplicates inside the batch are removed so each key appears once.
pub(crate) fn prepare(exchanges: &[Exchange]) -> Vec<Row> {
    let mut seen = HashSet::with_capacity(exchanges.len());
    let mut rows = Vec::with_capacity(exchanges.len());
    for e in exchanges {
        let (Some(local), Some(external)) =
            (normalize_address(&e.local), normalize_address(&e.external))
        else {
            continue;
        };
        let outbound = e.direction == Direction::Outbound;
        let key = dedup_key(&local, &external, outbound, e.at);
        if !seen.insert(key) {
            continue;
        }
        let local_org = registrable_domain(address_domain(&local));
        let external_domain = registrable_domain(address_domain(&external));
        rows.push(Row {
            key,
            local,
            external,
            local_org,
            external_domain,
            outbound,
            at: e.at,
        });
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(local: &str, external: &str, direction: Direction, at: i64) -> Exchange {
        Exchange {
            local: local.into(),
            external: external.into(),
            direction,
            at,
        }
    }

    #[test]
    fn batch_duplicates_and_bad_addresses_are_dropped() {
        let rows = prepare(&[
            ex(
                "A@Org.example.co.jp",
                "b@partner.jp",
                Direction::Outbound,
                10,
            ),
            ex(
                "a@org.example.co.jp",
                "B@PARTNER.JP",
                Direction::Outbound,
                10,
            ),
            ex(
                "a@org.example.co.jp",
                "b@partner.jp",
                Direction::Inbound,
                10,
            ),
            ex("garbage", "b@partner.jp", Direction::Inbound, 10),
        ]);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].local_org, "example.co.jp");
        assert_eq!(rows[0].external_domain, "partner.jp");
        assert_ne!(rows[0].key, rows[1].key);
    }
}
