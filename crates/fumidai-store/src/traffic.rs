//! What the gateway did, counted by hour, for the console's dashboard (step 9).
//!
//! - `traffic_hour (hour, direction, verdict, action, messages)`: messages handled per hour (Unix seconds of the
//!   hour's start, UTC), way, verdict and action. Primary key is all but `messages`.
//! - `finding_hour (hour, finding, messages)`: messages in that hour that carried each finding.
//!
//! Counters, not a log: one upsert per row a message touches, pruned by hour. A call's messages are summed per
//! row first and the rows upserted in key order, in one transaction: on PostgreSQL each upsert locks its row
//! until commit, and the same order in every transaction means two of them cannot wait for each other.
//!
//! Types and the query bodies both backends share (generic over sqlx's connection; the SQL text per backend in
//! `src/sqlite/traffic.rs` and `src/postgres/traffic.rs`).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Row, Type};

use crate::sql::{begin_statement, classify, execute_count, RowsAffected};
use crate::StoreError;

/// Seconds in an hour: counters are kept per hour.
pub const HOUR: i64 = 3600;

/// Findings of one message counted at most (the strongest first, as the report orders them).
pub const MAX_FINDINGS_COUNTED: usize = 32;

/// Longest direction, verdict, action or finding name counted, in characters.
pub const MAX_WORD_LEN: usize = 64;

/// Findings [`crate::Store::top_findings`] returns when asked for 0.
pub const DEFAULT_TOP_FINDINGS: u32 = 10;

/// Findings [`crate::Store::top_findings`] returns at most, whatever is asked.
pub const MAX_TOP_FINDINGS: u32 = 1_000;

/// One message handled, to count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Traffic {
    /// When it was handled (Unix seconds); counted in the hour it falls in.
    pub at: i64,
    /// `inbound` or `outbound`.
    pub direction: String,
    /// `clean`, `suspicious`, `malicious`.
    pub verdict: String,
    /// `deliver`, `tag`, `sanitize`, `quarantine`, `tempfail`, `reject`.
    pub action: String,
    /// The names of its findings (each counted once per message, the first [`MAX_FINDINGS_COUNTED`]).
    pub findings: Vec<String>,
}

/// Messages of one hour, way, verdict and action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrafficCount {
    /// Unix seconds of the hour's start (UTC).
    pub hour: i64,
    pub direction: String,
    pub verdict: String,
    pub action: String,
    pub messages: i64,
}

/// Messages that carried one finding over a span.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingCount {
    pub finding: String,
    pub messages: i64,
}

/// The dashboard counters' SQL text for one backend. Parameters are numbered as listed.
pub(crate) struct TrafficSql {
    /// Begins a write transaction (SQLite takes the write lock at once).
    pub begin: &'static str,
    /// Adds `$5` messages to the row of (hour `$1`, direction `$2`, verdict `$3`, action `$4`), creating it.
    pub add_traffic: &'static str,
    /// Adds `$3` messages to the row of (hour `$1`, finding `$2`), creating it.
    pub add_finding: &'static str,
    /// Selects (hour, direction, verdict, action, messages) of the hours in `[$1, $2)`, ordered by the first
    /// four (text bytewise).
    pub traffic: &'static str,
    /// Selects (finding, messages summed as a 64-bit integer) over the hours in `[$1, $2)`, most first, then
    /// by finding (bytewise), at most `$3`.
    pub top_findings: &'static str,
    /// Deletes the traffic rows of hours before `$1`.
    pub prune_traffic: &'static str,
    /// Deletes the finding rows of hours before `$1`.
    pub prune_findings: &'static str,
}

/// What one call adds, summed per row and ordered by key (see the module doc).
pub(crate) struct Counts {
    traffic: BTreeMap<(i64, String, String, String), i64>,
    findings: BTreeMap<(i64, String), i64>,
}

/// The start of the hour `at` falls in.
fn hour_of(at: i64) -> i64 {
    // Saturating: a time near i64::MIN is nonsense, not a reason to panic.
    at.saturating_sub(at.rem_euclid(HOUR))
}

fn check_word(what: &str, word: &str) -> Result<(), StoreError> {
    if word.is_empty() || word.chars().count() > MAX_WORD_LEN {
        return Err(StoreError::Database(format!(
            "traffic: invalid {what} {word:?}: expected 1 to {MAX_WORD_LEN} characters"
        )));
    }
    Ok(())
}

impl Counts {
    /// Sums `traffic` per row; `None` when there is nothing to add. Refuses the whole slice if any word that
    /// would be stored is empty or too long.
    pub(crate) fn of(traffic: &[Traffic]) -> Result<Option<Counts>, StoreError> {
        if traffic.is_empty() {
            return Ok(None);
        }
        let mut counts = Counts {
            traffic: BTreeMap::new(),
            findings: BTreeMap::new(),
        };
        for message in traffic {
            check_word("direction", &message.direction)?;
            check_word("verdict", &message.verdict)?;
            check_word("action", &message.action)?;
            let hour = hour_of(message.at);
            let key = (
                hour,
                message.direction.clone(),
                message.verdict.clone(),
                message.action.clone(),
            );
            *counts.traffic.entry(key).or_default() += 1;
            // Once per message, however often a finding repeats in its report.
            let findings: BTreeSet<&String> =
                message.findings.iter().take(MAX_FINDINGS_COUNTED).collect();
            for finding in findings {
                check_word("finding", finding)?;
                *counts.findings.entry((hour, finding.clone())).or_default() += 1;
            }
        }
        Ok(Some(counts))
    }
}

/// Adds `counts` in one transaction (see [`crate::Store::traffic_add`]).
pub(crate) async fn add<C>(conn: &mut C, sql: &TrafficSql, counts: Counts) -> Result<(), StoreError>
where
    C: sqlx::Connection,
    <C::Database as Database>::Arguments: IntoArguments<C::Database>,
    for<'c> &'c mut C: Executor<'c, Database = C::Database>,
    for<'q> String: Encode<'q, C::Database> + Type<C::Database>,
    for<'q> i64: Encode<'q, C::Database> + Type<C::Database>,
{
    let mut tx = conn
        .begin_with(begin_statement(sql.begin))
        .await
        .map_err(classify)?;
    for ((hour, direction, verdict, action), messages) in counts.traffic {
        sqlx::query::<C::Database>(sql.add_traffic)
            .bind(hour)
            .bind(direction)
            .bind(verdict)
            .bind(action)
            .bind(messages)
            .execute(&mut *tx)
            .await
            .map_err(classify)?;
    }
    for ((hour, finding), messages) in counts.findings {
        sqlx::query::<C::Database>(sql.add_finding)
            .bind(hour)
            .bind(finding)
            .bind(messages)
            .execute(&mut *tx)
            .await
            .map_err(classify)?;
    }
    tx.commit().await.map_err(classify)
}

/// Counters of the hours in `[since, until)`.
pub(crate) async fn traffic<'c, DB, E>(
    executor: E,
    sql: &TrafficSql,
    since: i64,
    until: i64,
) -> Result<Vec<TrafficCount>, StoreError>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    E: Executor<'c, Database = DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    for<'r> i64: Decode<'r, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
{
    let rows = sqlx::query::<DB>(sql.traffic)
        .bind(since)
        .bind(until)
        .fetch_all(executor)
        .await
        .map_err(classify)?;
    rows.iter()
        .map(|row| {
            Ok(TrafficCount {
                hour: row.try_get(0)?,
                direction: row.try_get(1)?,
                verdict: row.try_get(2)?,
                action: row.try_get(3)?,
                messages: row.try_get(4)?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(classify)
}

/// The findings carried by most messages in the hours `[since, until)`, at most `limit`
/// ([`DEFAULT_TOP_FINDINGS`] for 0, never more than [`MAX_TOP_FINDINGS`]).
pub(crate) async fn top_findings<'c, DB, E>(
    executor: E,
    sql: &TrafficSql,
    since: i64,
    until: i64,
    limit: u32,
) -> Result<Vec<FindingCount>, StoreError>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    E: Executor<'c, Database = DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    for<'r> i64: Decode<'r, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
{
    let limit = match limit {
        0 => DEFAULT_TOP_FINDINGS,
        asked => asked.min(MAX_TOP_FINDINGS),
    };
    let rows = sqlx::query::<DB>(sql.top_findings)
        .bind(since)
        .bind(until)
        .bind(i64::from(limit))
        .fetch_all(executor)
        .await
        .map_err(classify)?;
    rows.iter()
        .map(|row| {
            Ok(FindingCount {
                finding: row.try_get(0)?,
                messages: row.try_get(1)?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(classify)
}

/// Deletes the counters of hours before `before`, in one transaction; returns how many rows went.
pub(crate) async fn prune<C>(conn: &mut C, sql: &TrafficSql, before: i64) -> Result<u64, StoreError>
where
    C: sqlx::Connection,
    <C::Database as Database>::Arguments: IntoArguments<C::Database>,
    <C::Database as Database>::QueryResult: RowsAffected,
    for<'c> &'c mut C: Executor<'c, Database = C::Database>,
    for<'q> i64: Encode<'q, C::Database> + Type<C::Database>,
{
    let mut tx = conn
        .begin_with(begin_statement(sql.begin))
        .await
        .map_err(classify)?;
    let traffic = execute_count(&mut *tx, sql.prune_traffic, before).await?;
    let findings = execute_count(&mut *tx, sql.prune_findings, before).await?;
    tx.commit().await.map_err(classify)?;
    Ok(traffic + findings)
}
