//! What the two SQL backends share: connecting within the timeout, driver-error mapping, and the bodies of the
//! queries whose SQL differs between backends only in dialect (lookup, domain lists, whitelist, deletes, migration
//! bookkeeping), generic over sqlx's `Database`. Each backend passes its own SQL text; only the text is per
//! backend.

use std::future::Future;
use std::time::Duration;

use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Row, Type};

use crate::migrations::Migration;
use crate::normalize::{address_domain, normalize_address, normalize_pattern, registrable_domain};
use crate::{Lookup, PairHistory, SchemaStatus, StoreError, WhitelistEntry, CONNECT_TIMEOUT};

/// Runs `connecting` (connections being opened) within [`CONNECT_TIMEOUT`] and a second of slack;
/// a failure or a timeout is [`StoreError::Unavailable`] prefixed with `what` (which names the database).
pub(crate) async fn connect_within<T>(
    what: &str,
    connecting: impl Future<Output = Result<T, sqlx::Error>>,
) -> Result<T, StoreError> {
    match tokio::time::timeout(CONNECT_TIMEOUT + Duration::from_secs(1), connecting).await {
        Ok(Ok(connected)) => Ok(connected),
        Ok(Err(e)) => Err(StoreError::Unavailable(format!("{what}: {e}"))),
        Err(_) => Err(StoreError::Unavailable(format!("{what}: timed out"))),
    }
}

/// Maps a driver error: connection-level failures are [`StoreError::Unavailable`], the rest
/// [`StoreError::Database`].
pub(crate) fn classify(e: sqlx::Error) -> StoreError {
    let unavailable = match &e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(d) => d.code().is_some_and(|c| {
            // PostgreSQL: connection exceptions, auth, unknown database, shutting down, out of resources.
            c.starts_with("08")
                || c.starts_with("28")
                || c.starts_with("57P")
                || c.starts_with("53")
                || c == "3D000"
                // SQLite primary codes (extended codes keep them in the low byte): BUSY, LOCKED, CANTOPEN,
                // READONLY, IOERR, FULL, PERM.
                || c.parse::<u32>().is_ok_and(|n| matches!(n & 0xff, 3 | 5 | 6 | 8 | 10 | 13 | 14 | 23))
        }),
        _ => false,
    };
    if unavailable {
        StoreError::Unavailable(e.to_string())
    } else {
        StoreError::Database(e.to_string())
    }
}

/// As [`classify`], but a unique-key violation of an insert is [`StoreError::Duplicate`] naming `what` (the id
/// or name the caller gave).
pub(crate) fn classify_insert(e: sqlx::Error, what: &str) -> StoreError {
    match e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            StoreError::Duplicate(what.to_owned())
        }
        e => classify(e),
    }
}

/// The statement that begins a write transaction (`BEGIN IMMEDIATE` on SQLite), as an owned string: a
/// `&'static str` there makes the compiler lose its lifetime when it checks that the backends' futures are `Send`.
pub(crate) fn begin_statement(text: &str) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(text.to_string())
}

/// How many rows a statement changed; sqlx has no trait for it.
pub(crate) trait RowsAffected {
    fn rows_affected(&self) -> u64;
}

impl RowsAffected for sqlx::sqlite::SqliteQueryResult {
    fn rows_affected(&self) -> u64 {
        self.rows_affected()
    }
}

impl RowsAffected for sqlx::postgres::PgQueryResult {
    fn rows_affected(&self) -> u64 {
        self.rows_affected()
    }
}

/// History of a pair at both levels. `sql` selects (level, first_seen, last_seen, outbound_count,
/// inbound_count, last_outbound, last_inbound) for the address pair (`$1`, `$2`, level 0) and the
/// organisation/domain pair (`$3`, `$4`, level 1), as 64-bit integers, in one statement.
pub(crate) async fn lookup<'c, DB, E>(
    executor: E,
    sql: &'static str,
    local: &str,
    external: &str,
) -> Result<Lookup, StoreError>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    E: Executor<'c, Database = DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'r> i64: Decode<'r, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
{
    let (Some(local), Some(external)) = (normalize_address(local), normalize_address(external))
    else {
        return Ok(Lookup::default());
    };
    let org = registrable_domain(address_domain(&local));
    let domain = registrable_domain(address_domain(&external));
    let rows = sqlx::query::<DB>(sql)
        .bind(local)
        .bind(external)
        .bind(org)
        .bind(domain)
        .fetch_all(executor)
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

fn pair_history<R>(row: &R) -> Result<PairHistory, sqlx::Error>
where
    R: Row,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    usize: ColumnIndex<R>,
{
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

/// The first column of every row `sql` returns, as text (domain lists).
pub(crate) async fn strings<'c, DB, E>(
    executor: E,
    sql: &'static str,
) -> Result<Vec<String>, StoreError>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    E: Executor<'c, Database = DB>,
    (String,): for<'r> sqlx::FromRow<'r, DB::Row>,
{
    sqlx::query_scalar::<DB, String>(sql)
        .fetch_all(executor)
        .await
        .map_err(classify)
}

/// Runs `sql` with one parameter and returns how many rows it changed (pruning, deleting by key).
pub(crate) async fn execute_count<'c, DB, E, V>(
    executor: E,
    sql: &'static str,
    value: V,
) -> Result<u64, StoreError>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    DB::QueryResult: RowsAffected,
    E: Executor<'c, Database = DB>,
    V: for<'q> Encode<'q, DB> + Type<DB> + Send,
{
    let done = sqlx::query::<DB>(sql)
        .bind(value)
        .execute(executor)
        .await
        .map_err(classify)?;
    Ok(done.rows_affected())
}

/// As [`execute_count`], with two parameters (setting one column of a row found by key).
pub(crate) async fn execute_count2<'c, DB, E, A, B>(
    executor: E,
    sql: &'static str,
    first: A,
    second: B,
) -> Result<u64, StoreError>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    DB::QueryResult: RowsAffected,
    E: Executor<'c, Database = DB>,
    A: for<'q> Encode<'q, DB> + Type<DB> + Send,
    B: for<'q> Encode<'q, DB> + Type<DB> + Send,
{
    let done = sqlx::query::<DB>(sql)
        .bind(first)
        .bind(second)
        .execute(executor)
        .await
        .map_err(classify)?;
    Ok(done.rows_affected())
}

/// Adds or replaces a whitelist entry: `sql` upserts (pattern `$1`, comment `$2`, added_at `$3`).
pub(crate) async fn whitelist_add<'c, DB, E>(
    executor: E,
    sql: &'static str,
    entry: &WhitelistEntry,
) -> Result<(), StoreError>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    E: Executor<'c, Database = DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
{
    let pattern = normalize_pattern(&entry.pattern).ok_or_else(|| {
        StoreError::Database(format!("invalid whitelist pattern {:?}", entry.pattern))
    })?;
    sqlx::query::<DB>(sql)
        .bind(pattern)
        .bind(entry.comment.clone())
        .bind(entry.added_at)
        .execute(executor)
        .await
        .map_err(classify)?;
    Ok(())
}

/// Removes a whitelist entry (`sql` deletes pattern `$1`); false when there was none.
pub(crate) async fn whitelist_remove<'c, DB, E>(
    executor: E,
    sql: &'static str,
    pattern: &str,
) -> Result<bool, StoreError>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    DB::QueryResult: RowsAffected,
    E: Executor<'c, Database = DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
{
    let Some(pattern) = normalize_pattern(pattern) else {
        return Ok(false);
    };
    let done = sqlx::query::<DB>(sql)
        .bind(pattern)
        .execute(executor)
        .await
        .map_err(classify)?;
    Ok(done.rows_affected() > 0)
}

/// The whitelist: `sql` selects (pattern, comment, added_at).
pub(crate) async fn whitelist<'c, DB, E>(
    executor: E,
    sql: &'static str,
) -> Result<Vec<WhitelistEntry>, StoreError>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    E: Executor<'c, Database = DB>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    for<'r> i64: Decode<'r, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
{
    let rows = sqlx::query::<DB>(sql)
        .fetch_all(executor)
        .await
        .map_err(classify)?;
    rows.iter()
        .map(|r| {
            Ok(WhitelistEntry {
                pattern: r.try_get(0)?,
                comment: r.try_get(1)?,
                added_at: r.try_get(2)?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(classify)
}

/// The SQL a backend keeps its migration bookkeeping with.
pub(crate) struct MigrationSql {
    /// Selects the name of the `schema_migrations` table when it exists (no row, or NULL, when not).
    pub table: &'static str,
    /// Selects the versions in `schema_migrations`, in order.
    pub versions: &'static str,
    /// Selects the version column of `schema_migrations` where version = `$1`.
    pub applied: &'static str,
    /// Inserts (version `$1`, name `$2`, applied_at `$3`) into `schema_migrations`.
    pub record: &'static str,
}

/// Applies `step` on `conn` (inside the caller's transaction) unless `schema_migrations` lists it already.
pub(crate) async fn apply_step<C>(
    conn: &mut C,
    sql: &MigrationSql,
    step: &Migration,
) -> Result<(), StoreError>
where
    C: sqlx::Connection,
    <C::Database as Database>::Arguments: IntoArguments<C::Database>,
    for<'c> &'c mut C: Executor<'c, Database = C::Database>,
    for<'q> i32: Encode<'q, C::Database> + Type<C::Database>,
    for<'q> i64: Encode<'q, C::Database> + Type<C::Database>,
    for<'q> &'static str: Encode<'q, C::Database> + Type<C::Database>,
    (i32,): for<'r> sqlx::FromRow<'r, <C::Database as Database>::Row>,
{
    let version = i32::try_from(step.version).unwrap_or(i32::MAX);
    let done: Option<i32> = sqlx::query_scalar::<C::Database, i32>(sql.applied)
        .bind(version)
        .fetch_optional(&mut *conn)
        .await
        .map_err(classify)?;
    if done.is_some() {
        return Ok(());
    }
    sqlx::raw_sql(sqlx::AssertSqlSafe(step.sql))
        .execute(&mut *conn)
        .await
        .map_err(|e| {
            StoreError::Database(format!(
                "migration {} {} failed: {e}",
                step.version, step.name
            ))
        })?;
    sqlx::query::<C::Database>(sql.record)
        .bind(version)
        .bind(step.name)
        .bind(fumidai_core::unix_now())
        .execute(&mut *conn)
        .await
        .map_err(classify)?;
    Ok(())
}

/// Which of `steps` are applied, by `schema_migrations` (none while the table does not exist).
pub(crate) async fn schema_status<C>(
    conn: &mut C,
    sql: &MigrationSql,
    backend: &'static str,
    steps: &[Migration],
) -> Result<SchemaStatus, StoreError>
where
    C: sqlx::Connection,
    <C::Database as Database>::Arguments: IntoArguments<C::Database>,
    for<'c> &'c mut C: Executor<'c, Database = C::Database>,
    (Option<String>,): for<'r> sqlx::FromRow<'r, <C::Database as Database>::Row>,
    (i32,): for<'r> sqlx::FromRow<'r, <C::Database as Database>::Row>,
{
    let table: Option<Option<String>> =
        sqlx::query_scalar::<C::Database, Option<String>>(sql.table)
            .fetch_optional(&mut *conn)
            .await
            .map_err(classify)?;
    let applied = match table.flatten() {
        Some(_) => sqlx::query_scalar::<C::Database, i32>(sql.versions)
            .fetch_all(&mut *conn)
            .await
            .map_err(classify)?
            .into_iter()
            .filter_map(|v| u32::try_from(v).ok())
            .collect(),
        None => Vec::new(),
    };
    Ok(SchemaStatus {
        backend,
        applied,
        latest: crate::migrations::latest(steps),
    })
}
