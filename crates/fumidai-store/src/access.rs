//! Who may use the HTTP API, and what they did (step 8).
//!
//! - `api_token (id, name, token_hash, scopes, created_at, last_used_at, revoked_at)`: one row per token. The
//!   secret itself is never stored: `token_hash` is the hex SHA-256 of it (a token is 256 random bits, so a
//!   fast hash is enough), unique, and a request's token is looked up by its hash. `scopes` are stored as
//!   space-separated words.
//! - `audit_log (id, at, actor, action, target, detail)`: releases, deletions and edits made through the API
//!   (and later the console), newest first when read. Indexed by `at`.
//!
//! Types and the query bodies both backends share (generic over sqlx's connection; the SQL text per backend in
//! `src/sqlite/access.rs` and `src/postgres/access.rs`).

use serde::{Deserialize, Serialize};
use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Row, Type};

use crate::sql::{classify, classify_insert, execute_count2, RowsAffected};
use crate::StoreError;

/// Longest token id, in characters of `[A-Za-z0-9_-]`.
pub const MAX_TOKEN_ID_LEN: usize = 32;

/// Longest token name, in characters.
pub const MAX_TOKEN_NAME_LEN: usize = 200;

/// Longest scope word, in characters of `[a-z:_]`.
pub const MAX_SCOPE_LEN: usize = 40;

/// Entries [`crate::Store::audit_log`] returns when the filter's limit is 0.
pub const DEFAULT_AUDIT_LIMIT: u32 = 100;

/// Entries [`crate::Store::audit_log`] returns at most, whatever the filter asks.
pub const MAX_AUDIT_LIMIT: u32 = 10_000;

/// An API token as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    /// Short public id (shown in lists and the audit log; never the secret).
    pub id: String,
    /// What the token is for, as its creator named it.
    pub name: String,
    /// Lower-case hex SHA-256 of the secret.
    #[serde(skip_serializing)]
    pub token_hash: String,
    /// Scope words (`scan`, `quarantine:read`, ...).
    pub scopes: Vec<String>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// One thing done through the API or console.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Assigned by the store (0 in an entry to record).
    pub id: i64,
    /// Unix seconds UTC.
    pub at: i64,
    /// `token:<id>` or `user:<name>`.
    pub actor: String,
    /// `quarantine.release`, `whitelist.add`, ...
    pub action: String,
    /// What it was done to (a quarantine id, a pattern, a case id).
    pub target: String,
    /// One line more (where a message was released to, why).
    pub detail: String,
}

/// Which audit entries [`crate::Store::audit_log`] returns, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub actor: Option<String>,
    pub action: Option<String>,
    /// At most this many (0: [`DEFAULT_AUDIT_LIMIT`]; more than [`MAX_AUDIT_LIMIT`] is cut to it).
    pub limit: u32,
}

/// The SQL text of tokens and the audit log for one backend. Parameters are numbered as listed; tokens are
/// selected as (id, name, token_hash, scopes, created_at, last_used_at, revoked_at).
pub(crate) struct AccessSql {
    /// Inserts a token (id, name, token_hash, scopes, created_at); the unique id and hash refuse a second one.
    pub token_insert: &'static str,
    /// Selects the token whose hash is `$1`.
    pub token_by_hash: &'static str,
    /// Sets `last_used_at` of token `$1` to `$2`.
    pub token_used: &'static str,
    /// Selects every token, newest `created_at` first, then by id (bytewise).
    pub tokens: &'static str,
    /// Sets `revoked_at` of token `$1` to `$2` unless it is revoked.
    pub token_revoke: &'static str,
    /// Inserts an entry (at, actor, action, target, detail) and returns its id.
    pub audit_insert: &'static str,
    /// `SELECT id, at, actor, action, target, detail FROM audit_log`, without conditions: the filter and the order
    /// are appended.
    pub audit_select: &'static str,
}

fn invalid(what: &str, value: &str, expected: &str) -> StoreError {
    StoreError::Database(format!(
        "API token: invalid {what} {value:?}: expected {expected}"
    ))
}

/// Refuses a token whose id, name, hash or scopes could not be shown, matched or stored as space-separated words.
fn check_token(token: &ApiToken) -> Result<(), StoreError> {
    let id_ok = (1..=MAX_TOKEN_ID_LEN).contains(&token.id.len())
        && token
            .id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !id_ok {
        return Err(invalid(
            "id",
            &token.id,
            &format!("1 to {MAX_TOKEN_ID_LEN} characters of [A-Za-z0-9_-]"),
        ));
    }
    if token.name.trim().is_empty() || token.name.chars().count() > MAX_TOKEN_NAME_LEN {
        return Err(invalid(
            "name",
            &token.name,
            &format!("1 to {MAX_TOKEN_NAME_LEN} characters, not only spaces"),
        ));
    }
    // A hash in any other form would never equal the one a request's token is looked up by.
    let hash_ok = token.token_hash.len() == 64
        && token
            .token_hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !hash_ok {
        return Err(invalid(
            "hash",
            &token.token_hash,
            "64 lower-case hex digits (SHA-256)",
        ));
    }
    for scope in &token.scopes {
        let scope_ok = (1..=MAX_SCOPE_LEN).contains(&scope.len())
            && scope
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b':' || b == b'_');
        if !scope_ok {
            return Err(invalid(
                "scope",
                scope,
                &format!("1 to {MAX_SCOPE_LEN} characters of [a-z:_]"),
            ));
        }
    }
    Ok(())
}

fn token_from_row<R>(row: &R) -> Result<ApiToken, sqlx::Error>
where
    R: Row,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
    usize: ColumnIndex<R>,
{
    let scopes: String = row.try_get(3)?;
    Ok(ApiToken {
        id: row.try_get(0)?,
        name: row.try_get(1)?,
        token_hash: row.try_get(2)?,
        scopes: scopes.split_whitespace().map(str::to_string).collect(),
        created_at: row.try_get(4)?,
        last_used_at: row.try_get(5)?,
        revoked_at: row.try_get(6)?,
    })
}

/// Stores a new token in one statement: an id or hash already stored is [`StoreError::Duplicate`] (with the id)
/// and writes nothing.
pub(crate) async fn token_create<'c, DB, E>(
    executor: E,
    sql: &AccessSql,
    token: &ApiToken,
) -> Result<(), StoreError>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    E: Executor<'c, Database = DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
{
    check_token(token)?;
    let inserted = sqlx::query::<DB>(sql.token_insert)
        .bind(token.id.clone())
        .bind(token.name.clone())
        .bind(token.token_hash.clone())
        .bind(token.scopes.join(" "))
        .bind(token.created_at)
        .execute(executor)
        .await;
    inserted
        .map(drop)
        .map_err(|e| classify_insert(e, &token.id))
}

/// The token with hash `token_hash` (exactly as stored: lower-case hex), revoked or not.
pub(crate) async fn token_by_hash<'c, DB, E>(
    executor: E,
    sql: &AccessSql,
    token_hash: &str,
) -> Result<Option<ApiToken>, StoreError>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    E: Executor<'c, Database = DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    for<'r> i64: Decode<'r, DB> + Type<DB>,
    for<'r> Option<i64>: Decode<'r, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
{
    let row = sqlx::query::<DB>(sql.token_by_hash)
        .bind(token_hash.to_string())
        .fetch_optional(executor)
        .await
        .map_err(classify)?;
    row.as_ref()
        .map(token_from_row)
        .transpose()
        .map_err(classify)
}

/// Sets `last_used_at` of token `id` (nothing when there is no such token).
pub(crate) async fn token_used<'c, DB, E>(
    executor: E,
    sql: &AccessSql,
    id: &str,
    at: i64,
) -> Result<(), StoreError>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    DB::QueryResult: RowsAffected,
    E: Executor<'c, Database = DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
{
    execute_count2(executor, sql.token_used, id.to_string(), at)
        .await
        .map(drop)
}

/// Revokes token `id` at `at`; false when there is no such token or it is revoked already.
pub(crate) async fn token_revoke<'c, DB, E>(
    executor: E,
    sql: &AccessSql,
    id: &str,
    at: i64,
) -> Result<bool, StoreError>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    DB::QueryResult: RowsAffected,
    E: Executor<'c, Database = DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
{
    Ok(execute_count2(executor, sql.token_revoke, id.to_string(), at).await? > 0)
}

/// Every token, newest first.
pub(crate) async fn tokens<'c, DB, E>(
    executor: E,
    sql: &AccessSql,
) -> Result<Vec<ApiToken>, StoreError>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    E: Executor<'c, Database = DB>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    for<'r> i64: Decode<'r, DB> + Type<DB>,
    for<'r> Option<i64>: Decode<'r, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
{
    let rows = sqlx::query::<DB>(sql.tokens)
        .fetch_all(executor)
        .await
        .map_err(classify)?;
    rows.iter()
        .map(token_from_row)
        .collect::<Result<_, sqlx::Error>>()
        .map_err(classify)
}

/// Appends `entry` (its id ignored) and returns the id the database gave it.
pub(crate) async fn audit_record<'c, DB, E>(
    executor: E,
    sql: &AccessSql,
    entry: &AuditEntry,
) -> Result<i64, StoreError>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    E: Executor<'c, Database = DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    (i64,): for<'r> sqlx::FromRow<'r, DB::Row>,
{
    sqlx::query_scalar::<DB, i64>(sql.audit_insert)
        .bind(entry.at)
        .bind(entry.actor.clone())
        .bind(entry.action.clone())
        .bind(entry.target.clone())
        .bind(entry.detail.clone())
        .fetch_one(executor)
        .await
        .map_err(classify)
}

/// Entries matching `filter`, newest first (the same second: greater id first), at most its limit
/// ([`DEFAULT_AUDIT_LIMIT`] for 0, never more than [`MAX_AUDIT_LIMIT`]).
pub(crate) async fn audit_log<'c, DB, E>(
    executor: E,
    sql: &AccessSql,
    filter: &AuditFilter,
) -> Result<Vec<AuditEntry>, StoreError>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB> + Default,
    E: Executor<'c, Database = DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    for<'r> i64: Decode<'r, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
{
    let mut query = sqlx::QueryBuilder::<DB>::new(sql.audit_select);
    query.push(" WHERE 1 = 1");
    if let Some(since) = filter.since {
        query.push(" AND at >= ").push_bind(since);
    }
    if let Some(until) = filter.until {
        query.push(" AND at < ").push_bind(until);
    }
    if let Some(actor) = &filter.actor {
        query.push(" AND actor = ").push_bind(actor.clone());
    }
    if let Some(action) = &filter.action {
        query.push(" AND action = ").push_bind(action.clone());
    }
    let limit = match filter.limit {
        0 => DEFAULT_AUDIT_LIMIT,
        asked => asked.min(MAX_AUDIT_LIMIT),
    };
    query
        .push(" ORDER BY at DESC, id DESC LIMIT ")
        .push_bind(i64::from(limit));
    let rows = query.build().fetch_all(executor).await.map_err(classify)?;
    rows.iter()
        .map(|row| {
            Ok(AuditEntry {
                id: row.try_get(0)?,
                at: row.try_get(1)?,
                actor: row.try_get(2)?,
                action: row.try_get(3)?,
                target: row.try_get(4)?,
                detail: row.try_get(5)?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(classify)
}
