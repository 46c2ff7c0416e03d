//! Who may use the web console, and their sessions (step 9).
//!
//! - `console_user (name, password_hash, role, created_at, password_changed_at, last_login_at)`: one row per
//!   user. The password is kept only as the PHC string of its argon2id hash (the console hashes; the store never
//!   sees a password).
//! - `console_session (id_hash, user_name, csrf, created_at, last_seen_at, expires_at, peer)`: one row per
//!   signed-in browser. Like an API token, the cookie's secret is never stored: `id_hash` is its hex SHA-256.
//!   Sessions go with their user: deleting a user or changing the password ends them.
//!
//! Types here; the SQL text per backend in `src/sqlite/console.rs` and `src/postgres/console.rs`.

use serde::{Deserialize, Serialize};

/// Longest user name, in characters of `[a-z0-9._@-]`.
pub const MAX_USER_NAME_LEN: usize = 64;

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
