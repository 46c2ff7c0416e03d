//! Who may use the web console, and their sessions (step 9).
//!
//! - `console_user (name, password_hash, role, created_at, password_changed_at, last_login_at)`: one row per
//!   user. The password is kept only as the PHC string of its argon2id hash (the console hashes; the store never
//!   sees a password).
//! - `console_session (id_hash, user_name, csrf, created_at, last_seen_at, expires_at, peer)`: one row per
//!   signed-in browser. Like an API token, the cookie's secret is never stored: `id_hash` is its hex SHA-256.
//!   Sessions go with their user: deleting a user or changing the password ends them.
//!
//! Types and the query bodies both backends share (generic over sqlx's connection; the SQL text per backend in
//! `src/sqlite/console.rs` and `src/postgres/console.rs`). A session's `user_name` references its user with
//! `ON DELETE CASCADE` (SQLite connections enforce foreign keys), so deleting a user is one statement and a
//! session cannot be stored for a user that does not exist.

use serde::{Deserialize, Serialize};
use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Row, Type};

use crate::sql::{
    begin_statement, classify, classify_insert, execute_count, execute_count2, RowsAffected,
};
use crate::StoreError;

/// Longest user name, in characters of `[a-z0-9._@-]`.
pub const MAX_USER_NAME_LEN: usize = 64;

/// Longest CSRF token of a session, in characters.
pub const MAX_CSRF_LEN: usize = 128;

/// What a console user may do; each role may do everything the one before it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads everything but the originals and attachments of quarantined mail.
    Viewer,
    /// Also releases, deletes and downloads quarantined mail, edits the whitelist and cases.
    Operator,
    /// Also manages users and reads the audit log.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Operator, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    pub fn parse(word: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == word)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A console user as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleUser {
    /// 1–64 characters of `[a-z0-9._@-]` (the console lower-cases what is typed).
    pub name: String,
    /// The PHC string of the password's argon2id hash (`$argon2id$v=19$...`); never shown.
    #[serde(skip_serializing)]
    pub password_hash: String,
    pub role: Role,
    pub created_at: i64,
    pub password_changed_at: i64,
    pub last_login_at: Option<i64>,
}

/// A signed-in browser as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleSession {
    /// Lower-case hex SHA-256 of the cookie's secret.
    pub id_hash: String,
    pub user_name: String,
    /// The token every form of this session must carry back (random, URL-safe; not a credential on its own).
    pub csrf: String,
    pub created_at: i64,
    /// Last request (written at most once a minute).
    pub last_seen_at: i64,
    /// Ends here whatever its use.
    pub expires_at: i64,
    /// The client address it signed in from.
    pub peer: String,
}

/// The SQL text of console users and sessions for one backend. Parameters are numbered as listed; users are
/// selected as (name, password_hash, role, created_at, password_changed_at, last_login_at), sessions as
/// (id_hash, user_name, csrf, created_at, last_seen_at, expires_at, peer).
pub(crate) struct ConsoleSql {
    /// Begins a write transaction (SQLite takes the write lock at once).
    pub begin: &'static str,
    /// Inserts a user (its six columns, in order); the primary key refuses a second one of the name.
    pub user_insert: &'static str,
    /// Selects the user named `$1`.
    pub user_get: &'static str,
    /// Selects every user, by name (bytewise).
    pub users: &'static str,
    /// Sets `password_hash = $2` and `password_changed_at = $3` of user `$1`.
    pub user_set_password: &'static str,
    /// Deletes every session of user `$1`.
    pub user_sessions_delete: &'static str,
    /// Sets `role = $2` of user `$1`.
    pub user_set_role: &'static str,
    /// Sets `last_login_at = $2` of user `$1`.
    pub user_logged_in: &'static str,
    /// Deletes user `$1` (its sessions go with it, by the cascade).
    pub user_delete: &'static str,
    /// Inserts a session (its seven columns, in order).
    pub session_insert: &'static str,
    /// Selects the session whose hash is `$1`.
    pub session_get: &'static str,
    /// Sets `last_seen_at = $2` of session `$1`.
    pub session_touch: &'static str,
    /// Deletes session `$1`.
    pub session_delete: &'static str,
    /// Deletes the sessions with `last_seen_at < $1` or `expires_at <= $2`.
    pub sessions_purge: &'static str,
}

fn invalid(what: &str, value: &str, expected: &str) -> StoreError {
    StoreError::Database(format!(
        "console: invalid {what} {value:?}: expected {expected}"
    ))
}

fn check_name(name: &str) -> Result<(), StoreError> {
    let ok = (1..=MAX_USER_NAME_LEN).contains(&name.len())
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'@' | b'-')
        });
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "user name",
            name,
            &format!("1 to {MAX_USER_NAME_LEN} characters of [a-z0-9._@-]"),
        ))
    }
}

/// Only the start is checked: the console verifies the whole string, and a hash stored in another form could
/// never be verified, so no password would open the account.
fn check_password_hash(hash: &str) -> Result<(), StoreError> {
    if hash.starts_with("$argon2") {
        Ok(())
    } else {
        // Not the value: it is a password hash.
        Err(invalid(
            "password hash",
            "(not shown)",
            "a PHC string ($argon2...)",
        ))
    }
}

fn check_session(session: &ConsoleSession) -> Result<(), StoreError> {
    check_name(&session.user_name)?;
    // A hash in any other form would never equal the one a request's cookie is looked up by.
    let hash_ok = session.id_hash.len() == 64
        && session
            .id_hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !hash_ok {
        return Err(invalid(
            "session hash",
            &session.id_hash,
            "64 lower-case hex digits (SHA-256)",
        ));
    }
    if session.csrf.is_empty() || session.csrf.chars().count() > MAX_CSRF_LEN {
        return Err(invalid(
            "CSRF token",
            &session.csrf,
            &format!("1 to {MAX_CSRF_LEN} characters"),
        ));
    }
    Ok(())
}

fn user_from_row<R>(row: &R) -> Result<ConsoleUser, StoreError>
where
    R: Row,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
    usize: ColumnIndex<R>,
{
    let name: String = row.try_get(0).map_err(classify)?;
    let role: String = row.try_get(2).map_err(classify)?;
    // Written by a newer version, or by hand: the user cannot be served, the store carries on.
    let role = Role::parse(&role).ok_or_else(|| {
        StoreError::Database(format!("console user {name:?}: unknown role {role:?}"))
    })?;
    Ok(ConsoleUser {
        password_hash: row.try_get(1).map_err(classify)?,
        role,
        created_at: row.try_get(3).map_err(classify)?,
        password_changed_at: row.try_get(4).map_err(classify)?,
        last_login_at: row.try_get(5).map_err(classify)?,
        name,
    })
}

fn session_from_row<R>(row: &R) -> Result<ConsoleSession, sqlx::Error>
where
    R: Row,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    usize: ColumnIndex<R>,
{
    Ok(ConsoleSession {
        id_hash: row.try_get(0)?,
        user_name: row.try_get(1)?,
        csrf: row.try_get(2)?,
        created_at: row.try_get(3)?,
        last_seen_at: row.try_get(4)?,
        expires_at: row.try_get(5)?,
        peer: row.try_get(6)?,
    })
}

/// Stores a new user in one statement: a name already stored is [`StoreError::Duplicate`] and writes nothing.
pub(crate) async fn user_create<'c, DB, E>(
    executor: E,
    sql: &ConsoleSql,
    user: &ConsoleUser,
) -> Result<(), StoreError>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    E: Executor<'c, Database = DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB> + Type<DB>,
{
    check_name(&user.name)?;
    check_password_hash(&user.password_hash)?;
    let inserted = sqlx::query::<DB>(sql.user_insert)
        .bind(user.name.clone())
        .bind(user.password_hash.clone())
        .bind(user.role.as_str().to_string())
        .bind(user.created_at)
        .bind(user.password_changed_at)
        .bind(user.last_login_at)
        .execute(executor)
        .await;
    inserted
        .map(drop)
        .map_err(|e| classify_insert(e, &user.name))
}

/// The user named `name`, exactly.
pub(crate) async fn user_get<'c, DB, E>(
    executor: E,
    sql: &ConsoleSql,
    name: &str,
) -> Result<Option<ConsoleUser>, StoreError>
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
    let row = sqlx::query::<DB>(sql.user_get)
        .bind(name.to_string())
        .fetch_optional(executor)
        .await
        .map_err(classify)?;
    row.as_ref().map(user_from_row).transpose()
}

/// Every user, by name.
pub(crate) async fn users<'c, DB, E>(
    executor: E,
    sql: &ConsoleSql,
) -> Result<Vec<ConsoleUser>, StoreError>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    E: Executor<'c, Database = DB>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    for<'r> i64: Decode<'r, DB> + Type<DB>,
    for<'r> Option<i64>: Decode<'r, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
{
    let rows = sqlx::query::<DB>(sql.users)
        .fetch_all(executor)
        .await
        .map_err(classify)?;
    rows.iter().map(user_from_row).collect()
}

/// Sets the password hash and ends the user's sessions, in one transaction; false when there is no such user.
pub(crate) async fn user_set_password<C>(
    conn: &mut C,
    sql: &ConsoleSql,
    name: &str,
    password_hash: &str,
    at: i64,
) -> Result<bool, StoreError>
where
    C: sqlx::Connection,
    <C::Database as Database>::Arguments: IntoArguments<C::Database>,
    <C::Database as Database>::QueryResult: RowsAffected,
    for<'c> &'c mut C: Executor<'c, Database = C::Database>,
    for<'q> String: Encode<'q, C::Database> + Type<C::Database>,
    for<'q> i64: Encode<'q, C::Database> + Type<C::Database>,
{
    check_password_hash(password_hash)?;
    let mut tx = conn
        .begin_with(begin_statement(sql.begin))
        .await
        .map_err(classify)?;
    let changed = sqlx::query::<C::Database>(sql.user_set_password)
        .bind(name.to_string())
        .bind(password_hash.to_string())
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(classify)?;
    if changed.rows_affected() == 0 {
        return Ok(false);
    }
    execute_count(&mut *tx, sql.user_sessions_delete, name.to_string()).await?;
    tx.commit().await.map_err(classify)?;
    Ok(true)
}

/// Sets the role; false when there is no such user.
pub(crate) async fn user_set_role<'c, DB, E>(
    executor: E,
    sql: &ConsoleSql,
    name: &str,
    role: Role,
) -> Result<bool, StoreError>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    DB::QueryResult: RowsAffected,
    E: Executor<'c, Database = DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
{
    let changed = execute_count2(
        executor,
        sql.user_set_role,
        name.to_string(),
        role.as_str().to_string(),
    )
    .await?;
    Ok(changed > 0)
}

/// Sets `last_login_at` (nothing when there is no such user).
pub(crate) async fn user_logged_in<'c, DB, E>(
    executor: E,
    sql: &ConsoleSql,
    name: &str,
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
    execute_count2(executor, sql.user_logged_in, name.to_string(), at)
        .await
        .map(drop)
}

/// Deletes the user, and by the cascade its sessions, in one statement; false when there is no such user.
pub(crate) async fn user_delete<'c, DB, E>(
    executor: E,
    sql: &ConsoleSql,
    name: &str,
) -> Result<bool, StoreError>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    DB::QueryResult: RowsAffected,
    E: Executor<'c, Database = DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
{
    Ok(execute_count(executor, sql.user_delete, name.to_string()).await? > 0)
}

/// Stores a new session: an id hash already stored is [`StoreError::Duplicate`] (`session`), a user that does
/// not exist is refused (the foreign key); either writes nothing.
pub(crate) async fn session_create<'c, DB, E>(
    executor: E,
    sql: &ConsoleSql,
    session: &ConsoleSession,
) -> Result<(), StoreError>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    E: Executor<'c, Database = DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
{
    check_session(session)?;
    let inserted = sqlx::query::<DB>(sql.session_insert)
        .bind(session.id_hash.clone())
        .bind(session.user_name.clone())
        .bind(session.csrf.clone())
        .bind(session.created_at)
        .bind(session.last_seen_at)
        .bind(session.expires_at)
        .bind(session.peer.clone())
        .execute(executor)
        .await;
    match inserted {
        Ok(_) => Ok(()),
        Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => Err(StoreError::Database(
            format!("console session: no user {:?}", session.user_name),
        )),
        Err(e) => Err(classify_insert(e, "session")),
    }
}

/// The session with hash `id_hash` (exactly as stored: lower-case hex), expired or not.
pub(crate) async fn session_get<'c, DB, E>(
    executor: E,
    sql: &ConsoleSql,
    id_hash: &str,
) -> Result<Option<ConsoleSession>, StoreError>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    E: Executor<'c, Database = DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    for<'r> i64: Decode<'r, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
{
    let row = sqlx::query::<DB>(sql.session_get)
        .bind(id_hash.to_string())
        .fetch_optional(executor)
        .await
        .map_err(classify)?;
    row.as_ref()
        .map(session_from_row)
        .transpose()
        .map_err(classify)
}

/// Sets `last_seen_at` of a session (nothing when there is none).
pub(crate) async fn session_touch<'c, DB, E>(
    executor: E,
    sql: &ConsoleSql,
    id_hash: &str,
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
    execute_count2(executor, sql.session_touch, id_hash.to_string(), at)
        .await
        .map(drop)
}

/// Ends one session; false when there was none.
pub(crate) async fn session_delete<'c, DB, E>(
    executor: E,
    sql: &ConsoleSql,
    id_hash: &str,
) -> Result<bool, StoreError>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    DB::QueryResult: RowsAffected,
    E: Executor<'c, Database = DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
{
    Ok(execute_count(executor, sql.session_delete, id_hash.to_string()).await? > 0)
}

/// Deletes sessions idle since before `idle_before` or expired by `now`; returns how many.
pub(crate) async fn sessions_purge<'c, DB, E>(
    executor: E,
    sql: &ConsoleSql,
    idle_before: i64,
    now: i64,
) -> Result<u64, StoreError>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    DB::QueryResult: RowsAffected,
    E: Executor<'c, Database = DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
{
    execute_count2(executor, sql.sessions_purge, idle_before, now).await
}
