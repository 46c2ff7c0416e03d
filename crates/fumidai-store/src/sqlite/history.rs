//! Exchange history on SQLite: the SQL, and the insert the group-commit writer runs.

use crate::batch::Row;
use crate::sql::classify;
use crate::StoreError;

/// Both levels in one statement, each a primary-key probe; column 0 says which level a row is.
pub(super) const LOOKUP: &str =
    "SELECT 0, first_seen, last_seen, outbound_count, inbound_count, last_outbound, last_inbound
        FROM address_exchange WHERE local_address = ?1 AND external_address = ?2
    UNION ALL
    SELECT 1, first_seen, last_seen, outbound_count, inbound_count, last_outbound, last_inbound
        FROM domain_exchange WHERE local_org = ?3 AND external_domain = ?4";

pub(super) const DOMAINS: &str =
    "SELECT DISTINCT external_domain FROM domain_exchange ORDER BY external_domain";
pub(super) const OUTBOUND_DOMAINS: &str = "SELECT DISTINCT external_domain FROM domain_exchange
    WHERE outbound_count > 0 ORDER BY external_domain";

/// A range at the start of the (at, key) primary key (migration 3).
pub(super) const PRUNE: &str = "DELETE FROM exchange_seen WHERE at < ?1";

/// Rows per INSERT: 7 parameters a row stays under SQLite's 32,766 bound parameters.
pub(super) const CHUNK: usize = 4_000;

/// One multi-row INSERT into the `exchange_input` view (atomic by itself; the trigger from migrations 1 and 3
/// skips exchanges whose dedup key is known and counts the others, at both levels). At most [`CHUNK`] rows.
pub(super) async fn insert_rows<'e>(
    executor: impl sqlx::SqliteExecutor<'e>,
    rows: Vec<Row>,
) -> Result<(), StoreError> {
    let mut insert = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
        "INSERT INTO exchange_input (key, local_address, external_address, local_org, external_domain, outbound, at) ",
    );
    insert.push_values(rows, |mut b, r| {
        b.push_bind(r.key)
            .push_bind(r.local)
            .push_bind(r.external)
            .push_bind(r.local_org)
            .push_bind(r.external_domain)
            .push_bind(i64::from(r.outbound))
            .push_bind(r.at);
    });
    insert.build().execute(executor).await.map_err(classify)?;
    Ok(())
}
