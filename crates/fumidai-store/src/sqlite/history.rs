//! Exchange history on SQLite.

use sqlx::sqlite::SqliteRow;
use sqlx::Row as _;

use super::SqliteStore;
use crate::batch::{prepare, Row};
use crate::normalize::{address_domain, normalize_address, registrable_domain};
use crate::{classify, Exchange, Lookup, PairHistory, StoreError};

/// Rows per INSERT: 7 parameters a row stays under SQLite's 32,766 bound parameters.
const CHUNK: usize = 4_000;

/// Both levels in one statement, each a primary-key probe; column 0 says which level a row is.
const LOOKUP: &str =
    "SELECT 0, first_seen, last_seen, outbound_count, inbound_count, last_outbound, last_inbound
        FROM address_exchange WHERE local_address = ?1 AND external_address = ?2
    UNION ALL
    SELECT 1, first_seen, last_seen, outbound_count, inbound_count, last_outbound, last_inbound
        FROM domain_exchange WHERE local_org = ?3 AND external_domain = ?4";

fn pair_history(row: &SqliteRow) -> Result<PairHistory, sqlx::Error> {
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

impl SqliteStore {
    /// A batch of up to 4,000 rows is one multi-row INSERT into the `exchange_input` view (atomic by itself; the
    /// trigger in migration 1 dedups and counts); a larger batch is several such statements in one transaction.
    pub(super) async fn record_batch(&self, exchanges: &[Exchange]) -> Result<(), StoreError> {
        let rows = prepare(exchanges);
        if rows.is_empty() {
            return Ok(());
        }
        let _writer = self.write.lock().await;
        if rows.len() <= CHUNK {
            return insert_rows(&self.pool, &rows).await;
        }
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(classify)?;
        for chunk in rows.chunks(CHUNK) {
            insert_rows(&mut *tx, chunk).await?;
        }
        tx.commit().await.map_err(classify)
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
            let level: i64 = row.try_get(0).map_err(classify)?;
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
        let _writer = self.write.lock().await;
        let done = sqlx::query("DELETE FROM exchange_seen WHERE at < ?1")
            .bind(before)
            .execute(&self.pool)
            .await
            .map_err(classify)?;
        Ok(done.rows_affected())
    }
}

async fn insert_rows<'e>(
    executor: impl sqlx::SqliteExecutor<'e>,
    rows: &[Row],
) -> Result<(), StoreError> {
    let mut insert = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
        "INSERT INTO exchange_input (key, local_address, external_address, local_org, external_domain, outbound, at) ",
    );
    insert.push_values(rows, |mut b, r| {
        b.push_bind(r.key)
            .push_bind(r.local.clone())
            .push_bind(r.external.clone())
            .push_bind(r.local_org.clone())
            .push_bind(r.external_domain.clone())
            .push_bind(i64::from(r.outbound))
            .push_bind(r.at);
    });
    insert.build().execute(executor).await.map_err(classify)?;
    Ok(())
}
