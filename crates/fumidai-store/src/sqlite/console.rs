//! Console users and sessions on SQLite: their SQL text (the bodies are in [`crate::console`]). Writes go through
//! the store's one writer connection; the cascade from a user to its sessions needs foreign keys enforced, which
//! every connection of the store turns on.

use crate::console::ConsoleSql;

pub(super) const SQL: ConsoleSql = ConsoleSql {
    begin: "BEGIN IMMEDIATE",
    user_insert: "INSERT INTO console_user (name, password_hash, role, created_at, password_changed_at,
        last_login_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    user_get: "SELECT name, password_hash, role, created_at, password_changed_at, last_login_at FROM console_user
        WHERE name = ?1",
    users: "SELECT name, password_hash, role, created_at, password_changed_at, last_login_at FROM console_user
        ORDER BY name",
    user_set_password: "UPDATE console_user SET password_hash = ?2, password_changed_at = ?3 WHERE name = ?1",
    user_sessions_delete: "DELETE FROM console_session WHERE user_name = ?1",
    user_set_role: "UPDATE console_user SET role = ?2 WHERE name = ?1",
    user_logged_in: "UPDATE console_user SET last_login_at = ?2 WHERE name = ?1",
    user_delete: "DELETE FROM console_user WHERE name = ?1",
    session_insert: "INSERT INTO console_session (id_hash, user_name, csrf, created_at, last_seen_at, expires_at,
        peer) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    session_get: "SELECT id_hash, user_name, csrf, created_at, last_seen_at, expires_at, peer FROM console_session
        WHERE id_hash = ?1",
    session_touch: "UPDATE console_session SET last_seen_at = ?2 WHERE id_hash = ?1",
    session_delete: "DELETE FROM console_session WHERE id_hash = ?1",
    sessions_purge: "DELETE FROM console_session WHERE last_seen_at < ?1 OR expires_at <= ?2",
};
