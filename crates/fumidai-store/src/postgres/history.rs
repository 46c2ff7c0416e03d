//! Exchange history on PostgreSQL: a whole batch is one statement (arrays in, UNNEST), so a batch of 1 costs
//! one round trip and a batch of 10,000 too.

use sqlx::postgres::PgRow;
use sqlx::Row;

use super::PgStore;
use crate::batch::prepare;
use crate::normalize::{address_domain, normalize_address, registrable_domain};
use crate::{classify, Exchange, Lookup, PairHistory, StoreError};

/// Dedup and count in one statement: keys that were new come back from the `fresh` insert, and only their rows
/// are aggregated per pair (GROUP BY: one upsert may not touch a row twice) and upserted, in key order so that
/// concurrent nodes lock rows in the same order. GREATEST/LEAST ignore NULLs.
const RECORD: &str = "WITH input AS (
    SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::boolean[], $7::bigint[])
        AS t(key, local_address, external_address, local_org, external_domain, outbound, at)
), fresh AS (
    INSERT INTO exchange_seen (key, at) SELECT key, at FROM input ORDER BY key
    ON CONFLICT (key) DO NOTHING
    RETURNING key
), new_rows AS (
    SELECT input.* FROM input JOIN fresh ON fresh.key = input.key
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
const LOOKUP: &str = "SELECT 0::int4, first_seen, last_seen, outbound_count, inbound_count, last_outbound, last_inbound
        FROM address_exchange WHERE local_address = $1 AND external_address = $2
    UNION ALL
    SELECT 1::int4, first_seen, last_seen, outbound_count, inbound_count, last_outbound, last_inbound
        FROM domain_exchange WHERE local_org = $3 AND external_domain = $4";

/// Deadlock or serialisation failure: safe to retry, the statement had no effect.
fn retryable(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.code().is_some_and(|c| c == "40P01" || c == "40001"))
}

fn pair_history(row: &PgRow) -> Result<PairHistory, sqlx::Error> {
    let count = |v: i64| u64::try_from(v).unwrap_or(0);
    Ok(PairHistory {
        first_seen: row.try_get(1)?,
        last_seen: row.try_get(2)?,
        outbound_count: count(row.try_get(3)?),
        inbound_count: count(row.try_get(4)?),
        last_outbound: row.try_get(5)?,
        last_inbound: row.try_get(6)?,
    })
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

    pub(super) async fn lookup_pair(
        &self,
        local: &str,
        external: &str,
    ) -> Result<Lookup, StoreError> {
        let (Some(local), Some(external)) = (normalize_address(local), normalize_address(external))
        else {
            return Ok(Lookup::default());
        };
        let org = registrable_domain(address_domain(&local));
        let domain = registrable_domain(address_domain(&external));
        let rows = sqlx::query(LOOKUP)
            .bind(&local)
            .bind(&external)
            .bind(&org)
            .bind(&domain)
            .fetch_all(&self.pool)
            .await
            .map_err(classify)?;
        let mut found = Lookup::default();
        for row in &rows {
            let level: i32 = row.try_get(0).map_err(classify)?;
            let history = Some(pair_history(row).map_err(classify)?);
            if level == 0 {
                found.address = history;
            } else {
                found.domain = history;
            }
        }
        Ok(found)
    }

    pub(super) async fn domains(&self, outbound_only: bool) -> Result<Vec<String>, StoreError> {
        let sql = if outbound_only {
            "SELECT DISTINCT external_domain FROM domain_exchange WHERE outbound_count > 0 ORDER BY external_domain"
        } else {
            "SELECT DISTINCT external_domain FROM domain_exchange ORDER BY external_domain"
        };
        sqlx::query_scalar(sql)
            .fetch_all(&self.pool)
            .await
            .map_err(classify)
    }

    pub(super) async fn prune(&self, before: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM exchange_seen WHERE at < $1")
            .bind(before)
            .execute(&self.pool)
            .await
            .map_err(classify)?;
        Ok(done.rows_affected())
    }
}
