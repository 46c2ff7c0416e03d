//! Exchange history on PostgreSQL: a whole batch is one statement (arrays in, UNNEST), so a batch of 1 costs
//! one round trip and a batch of 10,000 too.

use super::PgStore;
use crate::batch::prepare;
use crate::sql::classify;
use crate::{Exchange, StoreError};

/// Dedup and count in one statement: keys that were new come back from the `fresh` insert, and only their rows
/// are aggregated per pair (GROUP BY: one upsert may not touch a row twice) and upserted, each in primary-key
/// order so that concurrent nodes lock rows in the same order. GREATEST/LEAST ignore NULLs.
const RECORD: &str = "WITH input AS (
    SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::boolean[], $7::bigint[])
        AS t(key, local_address, external_address, local_org, external_domain, outbound, at)
), fresh AS (
    INSERT INTO exchange_seen (key, at) SELECT key, at FROM input ORDER BY at, key
    ON CONFLICT (at, key) DO NOTHING
    RETURNING key, at
), new_rows AS (
    SELECT input.* FROM input JOIN fresh ON fresh.key = input.key AND fresh.at = input.at
), address_upsert AS (
    INSERT INTO address_exchange AS h (local_address, external_address, first_seen, last_seen,
        outbound_count, inbound_count, last_outbound, last_inbound)
    SELECT local_address, external_address, min(at), max(at),
        count(*) FILTER (WHERE outbound), count(*) FILTER (WHERE NOT outbound),
        max(at) FILTER (WHERE outbound), max(at) FILTER (WHERE NOT outbound)
    FROM new_rows GROUP BY local_address, external_address ORDER BY local_address, external_address
    ON CONFLICT (local_address, external_address) DO UPDATE SET
        first_seen = LEAST(h.first_seen, EXCLUDED.first_seen),
        last_seen = GREATEST(h.last_seen, EXCLUDED.last_seen),
        outbound_count = h.outbound_count + EXCLUDED.outbound_count,
        inbound_count = h.inbound_count + EXCLUDED.inbound_count,
        last_outbound = GREATEST(h.last_outbound, EXCLUDED.last_outbound),
        last_inbound = GREATEST(h.last_inbound, EXCLUDED.last_inbound)
    RETURNING 1
)
INSERT INTO domain_exchange AS h (local_org, external_domain, first_seen, last_seen,
    outbound_count, inbound_count, last_outbound, last_inbound)
SELECT local_org, external_domain, min(at), max(at),
    count(*) FILTER (WHERE outbound), count(*) FILTER (WHERE NOT outbound),
    max(at) FILTER (WHERE outbound), max(at) FILTER (WHERE NOT outbound)
FROM new_rows GROUP BY local_org, external_domain ORDER BY local_org, external_domain
ON CONFLICT (local_org, external_domain) DO UPDATE SET
    first_seen = LEAST(h.first_seen, EXCLUDED.first_seen),
    last_seen = GREATEST(h.last_seen, EXCLUDED.last_seen),
    outbound_count = h.outbound_count + EXCLUDED.outbound_count,
    inbound_count = h.inbound_count + EXCLUDED.inbound_count,
    last_outbound = GREATEST(h.last_outbound, EXCLUDED.last_outbound),
    last_inbound = GREATEST(h.last_inbound, EXCLUDED.last_inbound)";

/// Both levels in one round trip, each a primary-key probe; column 0 says which level a row is.
pub(super) const LOOKUP: &str = "SELECT 0::int8, first_seen, last_seen, outbound_count, inbound_count, last_outbound, last_inbound
        FROM address_exchange WHERE local_address = $1 AND external_address = $2
    UNION ALL
    SELECT 1::int8, first_seen, last_seen, outbound_count, inbound_count, last_outbound, last_inbound
        FROM domain_exchange WHERE local_org = $3 AND external_domain = $4";

pub(super) const DOMAINS: &str =
    "SELECT DISTINCT external_domain FROM domain_exchange ORDER BY external_domain";
pub(super) const OUTBOUND_DOMAINS: &str = "SELECT DISTINCT external_domain FROM domain_exchange
    WHERE outbound_count > 0 ORDER BY external_domain";

/// A range scan of the (at, key) primary key (migration 3).
pub(super) const PRUNE: &str = "DELETE FROM exchange_seen WHERE at < $1";

/// Deadlock or serialisation failure: safe to retry, the statement had no effect.
fn retryable(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.code().is_some_and(|c| c == "40P01" || c == "40001"))
}

impl PgStore {
    pub(super) async fn record_batch(&self, exchanges: &[Exchange]) -> Result<(), StoreError> {
        let rows = prepare(exchanges);
        if rows.is_empty() {
            return Ok(());
        }
        let n = rows.len();
        let (mut keys, mut locals, mut externals) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        let (mut orgs, mut domains, mut outbound, mut at) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        for r in rows {
            keys.push(r.key);
            locals.push(r.local);
            externals.push(r.external);
            orgs.push(r.local_org);
            domains.push(r.external_domain);
            outbound.push(r.outbound);
            at.push(r.at);
        }
        let mut attempt = 0;
        loop {
            let result = sqlx::query(RECORD)
                .bind(&keys)
                .bind(&locals)
                .bind(&externals)
                .bind(&orgs)
                .bind(&domains)
                .bind(&outbound)
                .bind(&at)
                .execute(&self.pool)
                .await;
            match result {
                Ok(_) => return Ok(()),
                Err(e) if attempt < 3 && retryable(&e) => attempt += 1,
                Err(e) => return Err(classify(e)),
            }
        }
    }
}
