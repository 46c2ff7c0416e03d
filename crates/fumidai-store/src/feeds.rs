//! Threat feed indicators (migration 6): URLs from URLhaus and C2 IP addresses from Feodo Tracker, imported from
//! the files those services publish (the importer in the `fumidai` CLI parses and normalises them; the engine's
//! `feeds` module matches messages against them). The store keeps one row per (kind, value, source) and the time
//! each source was last imported.
//!
//! Types and the query bodies both backends share (generic over sqlx's connection; the SQL text per backend in
//! `src/sqlite/feeds.rs` and `src/postgres/feeds.rs`).

use std::collections::BTreeMap;

use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Row, Type};

use crate::sql::classify;
use crate::StoreError;

/// Rows per INSERT statement: 6 parameters each, well under SQLite's 32,766.
const ROWS_PER_STATEMENT: usize = 1_000;

/// What an indicator names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IndicatorKind {
    /// A URL, normalised (lower-case scheme and host, no default port, no fragment).
    Url,
    /// An IPv4 or IPv6 address in its canonical text form.
    Ip,
}

impl IndicatorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IndicatorKind::Url => "url",
            IndicatorKind::Ip => "ip",
        }
    }

    fn from_stored(name: &str) -> Result<IndicatorKind, StoreError> {
        match name {
            "url" => Ok(IndicatorKind::Url),
            "ip" => Ok(IndicatorKind::Ip),
            other => Err(StoreError::Database(format!(
                "threat feeds: unknown indicator kind {other:?}"
            ))),
        }
    }
}

/// One listed URL or address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Indicator {
    pub kind: IndicatorKind,
    /// Normalised by the importer; the store compares it as is.
    pub value: String,
    /// `urlhaus` or `feodo`.
    pub source: String,
    /// What the source says it is: URLhaus's threat and tags, or Feodo Tracker's malware family.
    pub threat: String,
    /// When the source first listed it (Unix seconds, UTC), when the source says.
    pub first_seen: Option<i64>,
}

/// A feed's SQL text for one backend.
pub(crate) struct FeedSql {
    /// `INSERT INTO threat_indicator (kind, value, source, threat, first_seen, imported_at) `: the rows follow.
    pub insert: &'static str,
    /// Appended to [`Self::insert`] and its rows: updates a row already there.
    pub on_conflict: &'static str,
    /// Deletes the indicators of source `$1`.
    pub delete_source: &'static str,
    /// Sets source `$1`'s last import to `$2`.
    pub mark_imported: &'static str,
    /// Selects (kind, value, source, threat, first_seen) of every indicator.
    pub list: &'static str,
    /// Selects (source, indicator count, last import) of every source imported, by source.
    pub status: &'static str,
}

/// Stores `indicators` of `source` on `conn`, inside the caller's transaction: an upsert by (kind, value,
/// source); with `replace`, the source's indicators not in this list go. Returns how many distinct indicators
/// were written. Every indicator must carry `source` and a non-empty value: otherwise nothing is written.
pub(crate) async fn import<C>(
    conn: &mut C,
    sql: &FeedSql,
    source: &str,
    indicators: &[Indicator],
    replace: bool,
    now: i64,
) -> Result<u64, StoreError>
where
    C: sqlx::Connection,
    <C::Database as Database>::Arguments: IntoArguments<C::Database> + Default,
    for<'c> &'c mut C: Executor<'c, Database = C::Database>,
    for<'q> String: Encode<'q, C::Database> + Type<C::Database>,
    for<'q> &'q str: Encode<'q, C::Database> + Type<C::Database>,
    for<'q> i64: Encode<'q, C::Database> + Type<C::Database>,
    for<'q> Option<i64>: Encode<'q, C::Database> + Type<C::Database>,
{
    if source.is_empty() {
        return Err(StoreError::Database(
            "threat feeds: empty source name".into(),
        ));
    }
    // One statement must not touch a row twice (PostgreSQL refuses): the last of each (kind, value) wins.
    let mut unique: BTreeMap<(IndicatorKind, &str), &Indicator> = BTreeMap::new();
    for indicator in indicators {
        if indicator.source != source || indicator.value.is_empty() {
            return Err(StoreError::Database(format!(
                "threat feeds: indicator {:?} of source {:?} in an import of {source:?}",
                indicator.value, indicator.source
            )));
        }
        unique.insert((indicator.kind, &indicator.value), indicator);
    }
    if replace {
        sqlx::query::<C::Database>(sql.delete_source)
            .bind(source.to_string())
            .execute(&mut *conn)
            .await
            .map_err(classify)?;
    }
    let rows: Vec<&Indicator> = unique.into_values().collect();
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let mut query = sqlx::QueryBuilder::<C::Database>::new(sql.insert);
        query.push_values(chunk, |mut row, indicator| {
            row.push_bind(indicator.kind.as_str())
                .push_bind(indicator.value.clone())
                .push_bind(source.to_string())
                .push_bind(indicator.threat.clone())
                .push_bind(indicator.first_seen)
                .push_bind(now);
        });
        query.push(sql.on_conflict);
        query.build().execute(&mut *conn).await.map_err(classify)?;
    }
    sqlx::query::<C::Database>(sql.mark_imported)
        .bind(source.to_string())
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(classify)?;
    Ok(rows.len() as u64)
}

/// Every indicator, as [`FeedSql::list`] orders them.
pub(crate) async fn indicators<'c, DB, E>(
    executor: E,
    sql: &FeedSql,
) -> Result<Vec<Indicator>, StoreError>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    E: Executor<'c, Database = DB>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    for<'r> Option<i64>: Decode<'r, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
{
    let rows = sqlx::query::<DB>(sql.list)
        .fetch_all(executor)
        .await
        .map_err(classify)?;
    rows.iter()
        .map(|row| {
            let kind: String = row.try_get(0).map_err(classify)?;
            Ok(Indicator {
                kind: IndicatorKind::from_stored(&kind)?,
                value: row.try_get(1).map_err(classify)?,
                source: row.try_get(2).map_err(classify)?,
                threat: row.try_get(3).map_err(classify)?,
                first_seen: row.try_get(4).map_err(classify)?,
            })
        })
        .collect()
}

/// (source, indicators held, last import in Unix seconds) of every source imported, by source.
pub(crate) async fn status<'c, DB, E>(
    executor: E,
    sql: &FeedSql,
) -> Result<Vec<(String, u64, i64)>, StoreError>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    E: Executor<'c, Database = DB>,
    (String, i64, i64): for<'r> sqlx::FromRow<'r, DB::Row>,
{
    let rows: Vec<(String, i64, i64)> = sqlx::query_as::<DB, (String, i64, i64)>(sql.status)
        .fetch_all(executor)
        .await
        .map_err(classify)?;
    Ok(rows
        .into_iter()
        .map(|(source, count, at)| (source, u64::try_from(count).unwrap_or(0), at))
        .collect())
}
