//! Outbound watch (step 7): per-account rolling counters, held accounts, and the Message-IDs the organisation
//! sent.
//!
//! - `outbound_bucket (account, minute, messages, recipients, new_recipients, risky)`: one row per account and
//!   minute (Unix seconds rounded down to 60), added to by [`crate::Store::outbound_add`] with an upsert, so
//!   nodes sharing a PostgreSQL store count into the same rows. A window's totals are the sum of its buckets: a
//!   bucket counts for `(at - window, at]` when its minute is in that range, so the window moves a minute at a
//!   time. Indexed by minute too, for the status listing and pruning.
//! - `outbound_account (account, held, held_at, reason, released_at, released_by, counting_since)`: whether an
//!   account is held. Holding is a conditional upsert (`... WHERE NOT held RETURNING`), so of two nodes that see
//!   the threshold crossed at once exactly one is told it held the account, and the alert goes out once.
//!   Releasing deletes the account's buckets up to the release time in the same transaction, so the counts that
//!   held the account do not hold it again at once. (A cut-off inside a minute's bucket cannot be applied to its
//!   sum, and rounding it either way would keep the counts before the release or drop those after it; messages
//!   of the release's minute added after it start a fresh bucket.) `counting_since` records that time for
//!   display; the totals do not read it.
//! - `sent_message (message_id, account, sent_at, recipient_domains)`: Message-IDs of delivered outbound mail,
//!   for hijack-by-reference and backscatter checks; pruned after `[outbound] remember_sent_days`. The recipient
//!   domains are a JSON array in text (as the alert tables keep their lists), at most
//!   [`MAX_RECIPIENT_DOMAINS`].
//!
//! Accounts are trimmed and lower-cased (an account empty after that is refused where a row would be written);
//! Message-IDs are stored without angle brackets, as given otherwise, and at most [`MAX_MESSAGE_ID_LEN`] bytes.
//!
//! Types and the query bodies both backends share (generic over sqlx's connection; the SQL text per backend in
//! `src/sqlite/outbound.rs` and `src/postgres/outbound.rs`).

use serde::{Deserialize, Serialize};
use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Row, Type};

use crate::sql::{begin_statement, classify, execute_count, RowsAffected};
use crate::StoreError;

/// Registrable domains a [`SentMessage`] keeps; more are dropped when it is recorded.
pub const MAX_RECIPIENT_DOMAINS: usize = 50;

/// Longest Message-ID stored or looked up, in bytes (RFC 5322's line limit; a longer one is no real id and
/// would not fit PostgreSQL's index entries).
pub const MAX_MESSAGE_ID_LEN: usize = 998;

/// Message-IDs [`crate::Store::sent_lookup`] looks up at most (the first ones given).
pub const MAX_LOOKUP: usize = 100;

/// One outbound message's contribution to its account's counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundTally {
    /// The SASL login, else the envelope sender.
    pub account: String,
    /// Unix seconds UTC.
    pub at: i64,
    pub messages: u32,
    pub recipients: u32,
    /// Recipients the sender had never written to (from the exchange history).
    pub new_recipients: u32,
    /// Suspicious or malicious verdicts.
    pub risky: u32,
}

/// An account's counts over a window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboundTotals {
    pub messages: u64,
    pub recipients: u64,
    pub new_recipients: u64,
    pub risky: u64,
}

/// What [`crate::Store::outbound_add`] saw after adding a tally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundSeen {
    /// The account's totals over the window, this tally included (a release deleted the counts before it).
    pub totals: OutboundTotals,
    /// The account is held (before this tally; holding is [`crate::Store::outbound_hold`]).
    pub held: bool,
}

/// An account as `fumidai outbound status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountState {
    pub account: String,
    pub held: bool,
    /// When it was last held, and why (which threshold).
    pub held_at: Option<i64>,
    pub reason: String,
    pub released_at: Option<i64>,
    pub released_by: Option<String>,
    /// When counting restarted: the last release (its counts were deleted then); 0 when never released
    /// since the account's last reset.
    pub counting_since: i64,
    /// Totals over the window ending at the time asked for.
    pub totals: OutboundTotals,
}

/// A delivered outbound message, remembered by its Message-ID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentMessage {
    /// Without angle brackets.
    pub message_id: String,
    pub account: String,
    pub sent_at: i64,
    /// Registrable domains of the recipients, at most [`MAX_RECIPIENT_DOMAINS`] (the rest are not stored).
    pub recipient_domains: Vec<String>,
}

/// The outbound watch's SQL text for one backend. Parameters are numbered as listed; totals are selected as
/// 64-bit integers (messages, recipients, new_recipients, risky).
pub(crate) struct OutboundSql {
    /// Begins a write transaction (SQLite takes the write lock at once).
    pub begin: &'static str,
    /// Adds (messages `$3`, recipients `$4`, new_recipients `$5`, risky `$6`) to the bucket of (account `$1`,
    /// minute `$2`), creating it.
    pub add: &'static str,
    /// Selects account `$1`'s totals over the buckets with minute in (`$2`, `$3`], then whether it is held.
    pub seen: &'static str,
    /// Holds account `$1` at `$2` for reason `$3` unless it is held; returns a row only when it changed it.
    pub hold: &'static str,
    /// Releases held account `$1` at `$2` by `$3` (`counting_since = $2`); changes nothing when not held.
    pub release: &'static str,
    /// Deletes account `$1`'s buckets with minute up to `$2`.
    pub forget_counts: &'static str,
    /// Counts the accounts with buckets or an account row: account `$1`, or every one when `$1` is NULL.
    pub reset_count: &'static str,
    /// Deletes the buckets of account `$1`, or of every account when `$1` is NULL.
    pub reset_buckets: &'static str,
    /// Deletes the account row of `$1`, or every one when `$1` is NULL.
    pub reset_accounts: &'static str,
    /// Selects account, held, held_at, reason, released_at, released_by, counting_since and the totals over the
    /// buckets with minute in (`$1`, `$2`] of every account held or with such buckets; held first, then by
    /// account (bytewise).
    pub accounts: &'static str,
    /// Deletes the buckets with minute before `$1`.
    pub prune_buckets: &'static str,
    /// Deletes the remembered messages sent before `$1`.
    pub prune_sent: &'static str,
    /// Inserts a sent message (message_id, account, sent_at, recipient_domains as JSON); nothing when the id is
    /// stored.
    pub sent_insert: &'static str,
    /// Selects (message_id, account, sent_at, recipient_domains) of the sent messages `WHERE message_id IN `: the
    /// id list and the order are appended.
    pub sent_select: &'static str,
    /// Selects the earliest `sent_at` (NULL when none).
    pub sent_since: &'static str,
}

fn invalid(what: &str, value: &str) -> StoreError {
    StoreError::Database(format!("outbound: invalid {what} {value:?}"))
}

/// An account as stored: trimmed and lower-cased.
fn account_key(account: &str) -> String {
    account.trim().to_lowercase()
}

/// The account to write a row for; an empty one is refused.
fn account_to_store(account: &str) -> Result<String, StoreError> {
    let key = account_key(account);
    if key.is_empty() {
        return Err(invalid("account", account));
    }
    Ok(key)
}

/// A Message-ID as stored: trimmed, without its angle brackets; `None` when empty or too long.
fn message_id_key(message_id: &str) -> Option<&str> {
    let trimmed = message_id.trim();
    let bare = trimmed.strip_prefix('<').unwrap_or(trimmed);
    let bare = bare.strip_suffix('>').unwrap_or(bare);
    (!bare.is_empty() && bare.len() <= MAX_MESSAGE_ID_LEN).then_some(bare)
}

/// The minute bucket of `at`: Unix seconds rounded down to 60.
fn minute_of(at: i64) -> i64 {
    at.saturating_sub(at.rem_euclid(60))
}

/// A stored sum back as a count (a negative one, which the store never writes, as 0).
fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// Totals from four integer columns starting at `first`.
fn totals_from<R>(row: &R, first: usize) -> Result<OutboundTotals, sqlx::Error>
where
    R: Row,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    usize: ColumnIndex<R>,
{
    Ok(OutboundTotals {
        messages: count(row.try_get(first)?),
        recipients: count(row.try_get(first + 1)?),
        new_recipients: count(row.try_get(first + 2)?),
        risky: count(row.try_get(first + 3)?),
    })
}

/// Adds `tally` to its bucket and reads the account's totals over `(at - window, at]` and its hold, in one
/// transaction (see [`crate::Store::outbound_add`]). On PostgreSQL the upsert locks the bucket until commit, so
/// concurrent adds to one account and minute, from any node, see each other's counts in turn.
pub(crate) async fn add<C>(
    conn: &mut C,
    sql: &OutboundSql,
    tally: &OutboundTally,
    window: i64,
) -> Result<OutboundSeen, StoreError>
where
    C: sqlx::Connection,
    C::Database: Database<Connection = C>,
    <C::Database as Database>::Arguments: IntoArguments<C::Database>,
    for<'c> &'c mut C: Executor<'c, Database = C::Database>,
    for<'q> String: Encode<'q, C::Database> + Type<C::Database>,
    for<'q> i64: Encode<'q, C::Database> + Type<C::Database>,
    for<'r> i64: Decode<'r, C::Database> + Type<C::Database>,
    for<'r> bool: Decode<'r, C::Database> + Type<C::Database>,
    usize: ColumnIndex<<C::Database as Database>::Row>,
{
    let account = account_to_store(&tally.account)?;
    let mut tx = conn
        .begin_with(begin_statement(sql.begin))
        .await
        .map_err(classify)?;
    sqlx::query::<C::Database>(sql.add)
        .bind(account.clone())
        .bind(minute_of(tally.at))
        .bind(i64::from(tally.messages))
        .bind(i64::from(tally.recipients))
        .bind(i64::from(tally.new_recipients))
        .bind(i64::from(tally.risky))
        .execute(&mut *tx)
        .await
        .map_err(classify)?;
    let row = sqlx::query::<C::Database>(sql.seen)
        .bind(account)
        .bind(tally.at.saturating_sub(window))
        .bind(tally.at)
        .fetch_one(&mut *tx)
        .await
        .map_err(classify)?;
    let seen = OutboundSeen {
        totals: totals_from(&row, 0).map_err(classify)?,
        held: row.try_get(4).map_err(classify)?,
    };
    tx.commit().await.map_err(classify)?;
    Ok(seen)
}

/// Holds `account`; true only when this call changed it from not held (see [`OutboundSql::hold`]).
pub(crate) async fn hold<'c, DB, E>(
    executor: E,
    sql: &OutboundSql,
    account: &str,
    at: i64,
    reason: &str,
) -> Result<bool, StoreError>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    E: Executor<'c, Database = DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
{
    let changed = sqlx::query::<DB>(sql.hold)
        .bind(account_to_store(account)?)
        .bind(at)
        .bind(reason.to_string())
        .fetch_optional(executor)
        .await
        .map_err(classify)?;
    Ok(changed.is_some())
}

/// Releases a held account and deletes its counts up to `at`, in one transaction; false (nothing changed) when
/// it was not held.
pub(crate) async fn release<C>(
    conn: &mut C,
    sql: &OutboundSql,
    account: &str,
    at: i64,
    by: &str,
) -> Result<bool, StoreError>
where
    C: sqlx::Connection,
    C::Database: Database<Connection = C>,
    <C::Database as Database>::Arguments: IntoArguments<C::Database>,
    <C::Database as Database>::QueryResult: RowsAffected,
    for<'c> &'c mut C: Executor<'c, Database = C::Database>,
    for<'q> String: Encode<'q, C::Database> + Type<C::Database>,
    for<'q> i64: Encode<'q, C::Database> + Type<C::Database>,
{
    let account = account_key(account);
    let mut tx = conn
        .begin_with(begin_statement(sql.begin))
        .await
        .map_err(classify)?;
    let released = sqlx::query::<C::Database>(sql.release)
        .bind(account.clone())
        .bind(at)
        .bind(by.to_string())
        .execute(&mut *tx)
        .await
        .map_err(classify)?;
    if released.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query::<C::Database>(sql.forget_counts)
        .bind(account)
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(classify)?;
    tx.commit().await.map_err(classify)?;
    Ok(true)
}

/// Deletes the buckets and the account rows of `account` (every account when `None`), in one transaction, and
/// returns how many distinct accounts had any.
pub(crate) async fn reset<C>(
    conn: &mut C,
    sql: &OutboundSql,
    account: Option<&str>,
) -> Result<u64, StoreError>
where
    C: sqlx::Connection,
    C::Database: Database<Connection = C>,
    <C::Database as Database>::Arguments: IntoArguments<C::Database>,
    for<'c> &'c mut C: Executor<'c, Database = C::Database>,
    for<'q> Option<String>: Encode<'q, C::Database> + Type<C::Database>,
    (i64,): for<'r> sqlx::FromRow<'r, <C::Database as Database>::Row>,
{
    let account = account.map(account_key);
    let mut tx = conn
        .begin_with(begin_statement(sql.begin))
        .await
        .map_err(classify)?;
    let had: i64 = sqlx::query_scalar::<C::Database, i64>(sql.reset_count)
        .bind(account.clone())
        .fetch_one(&mut *tx)
        .await
        .map_err(classify)?;
    for delete in [sql.reset_buckets, sql.reset_accounts] {
        sqlx::query::<C::Database>(delete)
            .bind(account.clone())
            .execute(&mut *tx)
            .await
            .map_err(classify)?;
    }
    tx.commit().await.map_err(classify)?;
    Ok(count(had))
}

/// Every account held or with counts in `(at - window, at]`, held first, then by account.
pub(crate) async fn accounts<'c, DB, E>(
    executor: E,
    sql: &OutboundSql,
    at: i64,
    window: i64,
) -> Result<Vec<AccountState>, StoreError>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    E: Executor<'c, Database = DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    for<'r> Option<String>: Decode<'r, DB> + Type<DB>,
    for<'r> i64: Decode<'r, DB> + Type<DB>,
    for<'r> Option<i64>: Decode<'r, DB> + Type<DB>,
    for<'r> bool: Decode<'r, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
{
    let rows = sqlx::query::<DB>(sql.accounts)
        .bind(at.saturating_sub(window))
        .bind(at)
        .fetch_all(executor)
        .await
        .map_err(classify)?;
    rows.iter()
        .map(|row| {
            Ok(AccountState {
                account: row.try_get(0)?,
                held: row.try_get(1)?,
                held_at: row.try_get(2)?,
                reason: row.try_get(3)?,
                released_at: row.try_get(4)?,
                released_by: row.try_get(5)?,
                counting_since: row.try_get(6)?,
                totals: totals_from(row, 7)?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(classify)
}

/// Deletes buckets with minute before `before` and remembered messages sent before `sent_before`; returns how
/// many rows went.
pub(crate) async fn prune<C>(
    conn: &mut C,
    sql: &OutboundSql,
    before: i64,
    sent_before: i64,
) -> Result<u64, StoreError>
where
    C: sqlx::Connection,
    <C::Database as Database>::Arguments: IntoArguments<C::Database>,
    <C::Database as Database>::QueryResult: RowsAffected,
    for<'c> &'c mut C: Executor<'c, Database = C::Database>,
    for<'q> i64: Encode<'q, C::Database> + Type<C::Database>,
{
    let buckets = execute_count(&mut *conn, sql.prune_buckets, before).await?;
    let sent = execute_count(&mut *conn, sql.prune_sent, sent_before).await?;
    Ok(buckets + sent)
}

/// Remembers `sent` unless its Message-ID is stored (see [`OutboundSql::sent_insert`]).
pub(crate) async fn sent_record<'c, DB, E>(
    executor: E,
    sql: &OutboundSql,
    sent: &SentMessage,
) -> Result<(), StoreError>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    E: Executor<'c, Database = DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
{
    let message_id =
        message_id_key(&sent.message_id).ok_or_else(|| invalid("Message-ID", &sent.message_id))?;
    let domains =
        &sent.recipient_domains[..sent.recipient_domains.len().min(MAX_RECIPIENT_DOMAINS)];
    let domains = serde_json::to_string(domains)
        .map_err(|e| StoreError::Database(format!("outbound: recipient domains: {e}")))?;
    sqlx::query::<DB>(sql.sent_insert)
        .bind(message_id.to_string())
        .bind(account_key(&sent.account))
        .bind(sent.sent_at)
        .bind(domains)
        .execute(executor)
        .await
        .map_err(classify)?;
    Ok(())
}

/// The remembered messages among the first [`MAX_LOOKUP`] of `message_ids` (with or without angle brackets), in
/// one query, oldest first.
pub(crate) async fn sent_lookup<'c, DB, E>(
    executor: E,
    sql: &OutboundSql,
    message_ids: &[String],
) -> Result<Vec<SentMessage>, StoreError>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB> + Default,
    E: Executor<'c, Database = DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    for<'r> i64: Decode<'r, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
{
    let keys: Vec<&str> = message_ids
        .iter()
        .take(MAX_LOOKUP)
        .filter_map(|id| message_id_key(id))
        .collect();
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let mut query = sqlx::QueryBuilder::<DB>::new(sql.sent_select);
    query.push("(");
    let mut list = query.separated(", ");
    for key in keys {
        list.push_bind(key.to_string());
    }
    query.push(") ORDER BY sent_at, message_id");
    let rows = query.build().fetch_all(executor).await.map_err(classify)?;
    rows.iter()
        .map(|row| {
            let domains: String = row.try_get(3).map_err(classify)?;
            Ok(SentMessage {
                message_id: row.try_get(0).map_err(classify)?,
                account: row.try_get(1).map_err(classify)?,
                sent_at: row.try_get(2).map_err(classify)?,
                recipient_domains: serde_json::from_str(&domains).map_err(|e| {
                    StoreError::Database(format!("outbound: bad recipient domains: {e}"))
                })?,
            })
        })
        .collect()
}

/// When the oldest remembered message was sent.
pub(crate) async fn sent_since<'c, DB, E>(
    executor: E,
    sql: &OutboundSql,
) -> Result<Option<i64>, StoreError>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    E: Executor<'c, Database = DB>,
    (Option<i64>,): for<'r> sqlx::FromRow<'r, DB::Row>,
{
    sqlx::query_scalar::<DB, Option<i64>>(sql.sent_since)
        .fetch_one(executor)
        .await
        .map_err(classify)
}
