//! The quarantine: original messages kept whole, with what was decided about them, until released, deleted or
//! purged (migration 4).
//!
//! The bytes are stored as rows of at most [`CHUNK_BYTES`] in `quarantine_chunk (id, seq, data)`, written and read
//! one row at a time, so a 50 MB message is never bound as one parameter nor copied whole again; the size and
//! SHA-256 are computed while writing and checked at the end of every read, so a damaged item is never handed out
//! silently. [`crate::Store::quarantine_put`] stores bytes, meta, recipients and findings in one transaction that
//! is committed *and synced* before it returns, whatever the history's trade-off (SQLite: `synchronous=FULL` for
//! that commit; PostgreSQL: `synchronous_commit = on` for that transaction).
//!
//! Types, [`QuarantineId`], and the query bodies both backends share (generic over sqlx's connection, the SQL text
//! per backend in `src/sqlite/quarantine.rs` and `src/postgres/quarantine.rs`).

use bytes::Bytes;
use sha2::{Digest, Sha256};
use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Row, Type};

use crate::sql::{classify, classify_insert, RowsAffected};
use crate::{Direction, StoreError};

/// Bytes per stored chunk of an original.
pub const CHUNK_BYTES: usize = 1 << 20;

/// Items a [`QuarantineFilter`] without a limit returns at most (each holds its whole report).
pub const DEFAULT_LIST_LIMIT: u32 = 1_000;

/// Longest id accepted: a generated one is 28 characters.
const MAX_ID_LEN: usize = 64;

/// What is kept with a quarantined original (everything but the bytes). Serialises without the report (it is
/// JSON text already: a caller that shows it parses it).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct QuarantineMeta {
    /// From [`QuarantineId::generate`]; the caller makes it first, as the sanitised message's notices cite it.
    pub id: String,
    /// Unix seconds, UTC.
    pub received_at: i64,
    pub direction: Direction,
    pub mail_from: Option<String>,
    pub rcpt_to: Vec<String>,
    /// The header From.
    pub from: Option<String>,
    pub subject: Option<String>,
    pub message_id: Option<String>,
    /// `clean`, `suspicious` or `malicious`.
    pub verdict: String,
    pub score: f64,
    /// What was done to the delivered copy: `quarantine`, `sanitize`, `reject`, `tempfail`.
    pub action: String,
    /// One line: why.
    pub reason: String,
    /// Finding ids, for filtering.
    pub findings: Vec<String>,
    /// The whole scan report as JSON (opaque to the store).
    #[serde(skip_serializing)]
    pub report_json: String,
}

/// A quarantined item as listed: its meta, the size and SHA-256 (lower-case hex) of the original, and every release,
/// oldest first (empty while never released; the latest is `released.last()`). Serialises as one flat object:
/// the meta's fields, then `size`, `sha256` and `released`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct QuarantineItem {
    #[serde(flatten)]
    pub meta: QuarantineMeta,
    pub size: u64,
    pub sha256: String,
    pub released: Vec<Release>,
}

/// One release of an item.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Release {
    /// Unix seconds, UTC.
    pub at: i64,
    /// Who released it.
    pub by: String,
    /// Where it went: `smtp:host:port` or `file:/path`.
    pub to: String,
}

/// Which items [`crate::Store::quarantine_list`] returns (every condition set must hold), newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuarantineFilter {
    /// Received at or after (Unix seconds).
    pub since: Option<i64>,
    /// Received before (Unix seconds, exclusive).
    pub until: Option<i64>,
    /// A substring of MAIL FROM or the header From, case-insensitive (ASCII letters only on SQLite).
    pub sender: Option<String>,
    /// A substring of one recipient, case-insensitive as `sender`.
    pub recipient: Option<String>,
    /// A substring of any of: the id, the subject, MAIL FROM, the header From, a recipient, a finding id;
    /// case-insensitive as `sender` (the console's search box).
    pub text: Option<String>,
    /// A finding id, exactly.
    pub finding: Option<String>,
    /// An action, exactly.
    pub action: Option<String>,
    /// At most this many items; [`DEFAULT_LIST_LIMIT`] when unset.
    pub limit: Option<u32>,
}

/// Quarantine ids: `YYYYMMDDTHHMMSS-` (UTC) and 12 random Crockford base-32 characters (60 bits), e.g.
/// `20261128T024731-7KX3M9QDB2TZ`. They sort by time as strings, are unique across nodes without coordination
/// (two ids of the same second collide with odds of 2^-60), and use only `[0-9A-Z-]`, so they are safe in file
/// names and mail notices.
pub struct QuarantineId;

/// Crockford's base 32: no I, L, O, U, so an id read aloud or copied by hand stays unambiguous.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

impl QuarantineId {
    /// A new id for an item received at `now` (Unix seconds, clamped to the years 1970–9999).
    pub fn generate(now: i64) -> String {
        let random = random_u64();
        let suffix: String = (0..12)
            .map(|i| char::from(CROCKFORD[((random >> (i * 5)) & 31) as usize]))
            .collect();
        format!("{}-{suffix}", utc_stamp(now))
    }

    /// Whether `id` can be a quarantine id: 1 to 64 characters of `[A-Za-z0-9-]` (what the store accepts).
    pub fn is_valid(id: &str) -> bool {
        !id.is_empty()
            && id.len() <= MAX_ID_LEN
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    }
}

/// 64 random bits from the OS; should it fail (it does not on supported systems), std's randomly keyed hasher over
/// the time and a counter: uniqueness is what counts here, not secrecy.
fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_ok() {
        return u64::from_le_bytes(bytes);
    }
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

/// `YYYYMMDDTHHMMSS` in UTC (civil-from-days, Howard Hinnant's algorithm).
fn utc_stamp(unix: i64) -> String {
    const LAST: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z
    let unix = unix.clamp(0, LAST);
    let (days, secs) = (unix.div_euclid(86_400), unix.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}",
        secs / 3_600,
        secs / 60 % 60,
        secs % 60
    )
}

fn direction_from(name: &str) -> Result<Direction, StoreError> {
    match name {
        "inbound" => Ok(Direction::Inbound),
        "outbound" => Ok(Direction::Outbound),
        other => Err(StoreError::Database(format!(
            "quarantine: unknown direction {other:?}"
        ))),
    }
}

fn check_id(id: &str) -> Result<(), StoreError> {
    if QuarantineId::is_valid(id) {
        Ok(())
    } else {
        Err(StoreError::Database(format!(
            "invalid quarantine id {id:?}: expected 1 to {MAX_ID_LEN} characters of [A-Za-z0-9-]"
        )))
    }
}

/// The quarantine's SQL text for one backend. Parameters are numbered as listed.
pub(crate) struct QuarantineSql {
    /// Inserts an item: (id, received_at, direction, mail_from, header_from, subject, message_id, verdict, score,
    /// action, reason, report_json), size 0 and an empty sha256 until [`Self::set_digest`].
    pub insert_item: &'static str,
    /// (id, seq, address).
    pub insert_recipient: &'static str,
    /// (id, seq, finding).
    pub insert_finding: &'static str,
    /// (id, seq, data).
    pub insert_chunk: &'static str,
    /// Sets (size `$2`, sha256 `$3`) of item `$1`.
    pub set_digest: &'static str,
    /// `SELECT` of the item columns in [`item_from_row`]'s order `FROM quarantine q`, without conditions; the
    /// filters are appended.
    pub select: &'static str,
    /// The backend's `(haystack, needle)` function giving the 1-based position of a substring, 0 when absent.
    pub position: &'static str,
    /// Selects (size, sha256) of item `$1`.
    pub digest: &'static str,
    /// Selects the data of chunk (`$1`, `$2`).
    pub chunk: &'static str,
    /// Adds release (at `$2`, by `$3`, target `$4`) to item `$1` after its others; no row when there is no item.
    pub release: &'static str,
    /// Deletes item `$1` (its children cascade).
    pub delete: &'static str,
    /// Deletes items received before `$1`.
    pub purge: &'static str,
}

/// Stores `meta` and `original` on `conn`, inside the caller's transaction (which the caller commits durably).
/// An id already present is [`StoreError::Duplicate`], detected before any byte is written.
pub(crate) async fn put<C>(
    conn: &mut C,
    sql: &QuarantineSql,
    meta: &QuarantineMeta,
    original: Bytes,
) -> Result<(), StoreError>
where
    C: sqlx::Connection,
    <C::Database as Database>::Arguments: IntoArguments<C::Database>,
    <C::Database as Database>::QueryResult: RowsAffected,
    for<'c> &'c mut C: Executor<'c, Database = C::Database>,
    for<'q> String: Encode<'q, C::Database> + Type<C::Database>,
    for<'q> Option<String>: Encode<'q, C::Database> + Type<C::Database>,
    for<'q> &'q str: Encode<'q, C::Database> + Type<C::Database>,
    for<'q> &'q [u8]: Encode<'q, C::Database> + Type<C::Database>,
    for<'q> i64: Encode<'q, C::Database> + Type<C::Database>,
    for<'q> i32: Encode<'q, C::Database> + Type<C::Database>,
    for<'q> f64: Encode<'q, C::Database> + Type<C::Database>,
{
    check_id(&meta.id)?;
    let inserted = sqlx::query::<C::Database>(sql.insert_item)
        .bind(meta.id.clone())
        .bind(meta.received_at)
        .bind(Direction::as_str(meta.direction))
        .bind(meta.mail_from.clone())
        .bind(meta.from.clone())
        .bind(meta.subject.clone())
        .bind(meta.message_id.clone())
        .bind(meta.verdict.clone())
        .bind(meta.score)
        .bind(meta.action.clone())
        .bind(meta.reason.clone())
        .bind(meta.report_json.clone())
        .execute(&mut *conn)
        .await;
    inserted.map_err(|e| classify_insert(e, &meta.id))?;
    for (rows, insert) in [
        (&meta.rcpt_to, sql.insert_recipient),
        (&meta.findings, sql.insert_finding),
    ] {
        for (seq, value) in (0i32..).zip(rows.iter()) {
            sqlx::query::<C::Database>(insert)
                .bind(meta.id.clone())
                .bind(seq)
                .bind(value.clone())
                .execute(&mut *conn)
                .await
                .map_err(classify)?;
        }
    }
    let mut sha256 = Sha256::new();
    for (seq, chunk) in (0i32..).zip(original.chunks(CHUNK_BYTES)) {
        sha256.update(chunk);
        sqlx::query::<C::Database>(sql.insert_chunk)
            .bind(meta.id.clone())
            .bind(seq)
            .bind(chunk)
            .execute(&mut *conn)
            .await
            .map_err(classify)?;
    }
    let size = i64::try_from(original.len()).unwrap_or(i64::MAX);
    sqlx::query::<C::Database>(sql.set_digest)
        .bind(meta.id.clone())
        .bind(size)
        .bind(hex::encode(sha256.finalize()))
        .execute(&mut *conn)
        .await
        .map_err(classify)?;
    Ok(())
}

/// Items matching `filter`, newest first (the same second: greater id first).
pub(crate) async fn list<C>(
    conn: &mut C,
    sql: &QuarantineSql,
    filter: &QuarantineFilter,
) -> Result<Vec<QuarantineItem>, StoreError>
where
    C: sqlx::Connection,
    <C::Database as Database>::Arguments: IntoArguments<C::Database> + Default,
    for<'c> &'c mut C: Executor<'c, Database = C::Database>,
    for<'q> String: Encode<'q, C::Database> + Type<C::Database>,
    for<'q> i64: Encode<'q, C::Database> + Type<C::Database>,
    for<'r> String: Decode<'r, C::Database> + Type<C::Database>,
    for<'r> Option<String>: Decode<'r, C::Database> + Type<C::Database>,
    for<'r> i64: Decode<'r, C::Database> + Type<C::Database>,
    for<'r> f64: Decode<'r, C::Database> + Type<C::Database>,
    usize: ColumnIndex<<C::Database as Database>::Row>,
{
    let mut query = sqlx::QueryBuilder::<C::Database>::new(sql.select);
    query.push(" WHERE 1 = 1");
    if let Some(since) = filter.since {
        query.push(" AND q.received_at >= ").push_bind(since);
    }
    if let Some(until) = filter.until {
        query.push(" AND q.received_at < ").push_bind(until);
    }
    let position = sql.position;
    if let Some(sender) = &filter.sender {
        let needle = sender.to_lowercase();
        query
            .push(format_args!(" AND ({position}(lower(q.mail_from), "))
            .push_bind(needle.clone())
            .push(format_args!(") > 0 OR {position}(lower(q.header_from), "))
            .push_bind(needle)
            .push(") > 0)");
    }
    if let Some(recipient) = &filter.recipient {
        query
            .push(format_args!(
                " AND EXISTS (SELECT 1 FROM quarantine_recipient r WHERE r.id = q.id AND {position}(lower(r.address), "
            ))
            .push_bind(recipient.to_lowercase())
            .push(") > 0)");
    }
    if let Some(text) = &filter.text {
        let needle = text.to_lowercase();
        query.push(" AND (1 = 0");
        for column in ["q.id", "q.subject", "q.mail_from", "q.header_from"] {
            query
                .push(format_args!(" OR {position}(lower({column}), "))
                .push_bind(needle.clone())
                .push(") > 0");
        }
        query
            .push(format_args!(
                " OR EXISTS (SELECT 1 FROM quarantine_recipient r WHERE r.id = q.id AND {position}(lower(r.address), "
            ))
            .push_bind(needle.clone())
            .push(format_args!(
                ") > 0) OR EXISTS (SELECT 1 FROM quarantine_finding f WHERE f.id = q.id AND {position}(lower(f.finding), "
            ))
            .push_bind(needle)
            .push(") > 0))");
    }
    if let Some(finding) = &filter.finding {
        query
            .push(" AND q.id IN (SELECT f.id FROM quarantine_finding f WHERE f.finding = ")
            .push_bind(finding.clone())
            .push(")");
    }
    if let Some(action) = &filter.action {
        query.push(" AND q.action = ").push_bind(action.clone());
    }
    query
        .push(" ORDER BY q.received_at DESC, q.id DESC LIMIT ")
        .push_bind(i64::from(filter.limit.unwrap_or(DEFAULT_LIST_LIMIT)));
    let rows = query
        .build()
        .fetch_all(&mut *conn)
        .await
        .map_err(classify)?;
    rows.iter().map(item_from_row).collect()
}

/// One item, or `None`.
pub(crate) async fn get<C>(
    conn: &mut C,
    sql: &QuarantineSql,
    id: &str,
) -> Result<Option<QuarantineItem>, StoreError>
where
    C: sqlx::Connection,
    <C::Database as Database>::Arguments: IntoArguments<C::Database> + Default,
    for<'c> &'c mut C: Executor<'c, Database = C::Database>,
    for<'q> String: Encode<'q, C::Database> + Type<C::Database>,
    for<'r> String: Decode<'r, C::Database> + Type<C::Database>,
    for<'r> Option<String>: Decode<'r, C::Database> + Type<C::Database>,
    for<'r> i64: Decode<'r, C::Database> + Type<C::Database>,
    for<'r> f64: Decode<'r, C::Database> + Type<C::Database>,
    usize: ColumnIndex<<C::Database as Database>::Row>,
{
    let mut query = sqlx::QueryBuilder::<C::Database>::new(sql.select);
    query.push(" WHERE q.id = ").push_bind(id.to_string());
    let row = query
        .build()
        .fetch_optional(&mut *conn)
        .await
        .map_err(classify)?;
    row.as_ref().map(item_from_row).transpose()
}

/// An item from the columns of [`QuarantineSql::select`]: id, received_at, direction, mail_from, header_from,
/// subject, message_id, verdict, score, action, reason, report_json, size, sha256, then as JSON text the recipients
/// and findings (arrays of strings, in order) and the releases (arrays `[at, by, to]`, oldest first).
fn item_from_row<R>(row: &R) -> Result<QuarantineItem, StoreError>
where
    R: Row,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> f64: Decode<'r, R::Database> + Type<R::Database>,
    usize: ColumnIndex<R>,
{
    let text = |i: usize| row.try_get::<String, _>(i).map_err(classify);
    let optional = |i: usize| row.try_get::<Option<String>, _>(i).map_err(classify);
    let json = |i: usize| -> Result<serde_json::Value, StoreError> {
        serde_json::from_str(&text(i)?)
            .map_err(|e| StoreError::Database(format!("quarantine: bad aggregate: {e}")))
    };
    let strings = |i: usize| -> Result<Vec<String>, StoreError> {
        serde_json::from_value(json(i)?)
            .map_err(|e| StoreError::Database(format!("quarantine: bad list: {e}")))
    };
    let releases: Vec<(i64, String, String)> = serde_json::from_value(json(16)?)
        .map_err(|e| StoreError::Database(format!("quarantine: bad releases: {e}")))?;
    let size: i64 = row.try_get(12).map_err(classify)?;
    Ok(QuarantineItem {
        meta: QuarantineMeta {
            id: text(0)?,
            received_at: row.try_get(1).map_err(classify)?,
            direction: direction_from(&text(2)?)?,
            mail_from: optional(3)?,
            rcpt_to: strings(14)?,
            from: optional(4)?,
            subject: optional(5)?,
            message_id: optional(6)?,
            verdict: text(7)?,
            score: row.try_get(8).map_err(classify)?,
            action: text(9)?,
            reason: text(10)?,
            findings: strings(15)?,
            report_json: text(11)?,
        },
        size: u64::try_from(size).unwrap_or(0),
        sha256: text(13)?,
        released: releases
            .into_iter()
            .map(|(at, by, to)| Release { at, by, to })
            .collect(),
    })
}

/// Streams the original of `id` to `sink` chunk by chunk, then checks size and SHA-256; run it in a transaction
/// (one snapshot). `Ok(false)` when there is no such item. On [`StoreError::Corrupt`] the sink has seen bytes that
/// must be thrown away.
pub(crate) async fn read<C, S>(
    conn: &mut C,
    sql: &QuarantineSql,
    id: &str,
    sink: &mut S,
) -> Result<bool, StoreError>
where
    S: FnMut(&[u8]) -> std::io::Result<()> + Send + ?Sized,
    C: sqlx::Connection,
    <C::Database as Database>::Arguments: IntoArguments<C::Database>,
    for<'c> &'c mut C: Executor<'c, Database = C::Database>,
    for<'q> String: Encode<'q, C::Database> + Type<C::Database>,
    for<'q> i32: Encode<'q, C::Database> + Type<C::Database>,
    (i64, String): for<'r> sqlx::FromRow<'r, <C::Database as Database>::Row>,
    (Vec<u8>,): for<'r> sqlx::FromRow<'r, <C::Database as Database>::Row>,
{
    let digest: Option<(i64, String)> = sqlx::query_as::<C::Database, (i64, String)>(sql.digest)
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await
        .map_err(classify)?;
    let Some((size, expected)) = digest else {
        return Ok(false);
    };
    let mut sha256 = Sha256::new();
    let mut read: u64 = 0;
    for seq in 0i32.. {
        let chunk: Option<Vec<u8>> = sqlx::query_scalar::<C::Database, Vec<u8>>(sql.chunk)
            .bind(id.to_string())
            .bind(seq)
            .fetch_optional(&mut *conn)
            .await
            .map_err(classify)?;
        let Some(chunk) = chunk else {
            break;
        };
        sha256.update(&chunk);
        read += chunk.len() as u64;
        sink(&chunk).map_err(|e| StoreError::Io(format!("quarantine item {id}: {e}")))?;
    }
    let actual = hex::encode(sha256.finalize());
    if u64::try_from(size).ok() != Some(read) || actual != expected {
        return Err(StoreError::Corrupt(format!(
            "quarantine item {id}: stored {size} bytes with SHA-256 {expected}, read {read} bytes with SHA-256 {actual}"
        )));
    }
    Ok(true)
}

/// Records a release; false when there is no such item.
pub(crate) async fn mark_released<'c, DB, E>(
    executor: E,
    sql: &QuarantineSql,
    id: &str,
    release: &Release,
) -> Result<bool, StoreError>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    DB::QueryResult: RowsAffected,
    E: Executor<'c, Database = DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
{
    let done = sqlx::query::<DB>(sql.release)
        .bind(id.to_string())
        .bind(release.at)
        .bind(release.by.clone())
        .bind(release.to.clone())
        .execute(executor)
        .await
        .map_err(classify)?;
    Ok(done.rows_affected() > 0)
}

/// Deletes one item with its bytes; false when there was none.
pub(crate) async fn delete<'c, DB, E>(
    executor: E,
    sql: &QuarantineSql,
    id: &str,
) -> Result<bool, StoreError>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    DB::QueryResult: RowsAffected,
    E: Executor<'c, Database = DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
{
    let done = sqlx::query::<DB>(sql.delete)
        .bind(id.to_string())
        .execute(executor)
        .await
        .map_err(classify)?;
    Ok(done.rows_affected() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_utc_calendar_time() {
        assert_eq!(utc_stamp(0), "19700101T000000");
        assert_eq!(utc_stamp(1_795_834_051), "20261128T024731");
        assert_eq!(utc_stamp(951_782_400), "20000229T000000");
        assert_eq!(utc_stamp(-5), "19700101T000000");
        assert_eq!(utc_stamp(i64::MAX), "99991231T235959");
    }

    #[test]
    fn ids_sort_by_time_and_differ() {
        let a = QuarantineId::generate(1_795_834_051);
        let b = QuarantineId::generate(1_795_834_051);
        let later = QuarantineId::generate(1_795_834_052);
        assert_ne!(a, b);
        assert!(a < later && b < later);
        assert_eq!(a.len(), 28);
        assert!(a.starts_with("20261128T024731-"));
        for id in [&a, &b, &later] {
            assert!(QuarantineId::is_valid(id), "{id}");
        }
        for bad in ["", "a/b", "a b", "ü", &"x".repeat(65)] {
            assert!(!QuarantineId::is_valid(bad), "{bad:?}");
        }
    }
}
