//! API tokens and the audit log on SQLite: their SQL text (the bodies are in [`crate::access`]). Writes go
//! through the store's one writer connection; an audit id is the table's AUTOINCREMENT rowid.

use crate::access::AccessSql;

pub(super) const SQL: AccessSql = AccessSql {
    token_insert: "INSERT INTO api_token (id, name, token_hash, scopes, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    token_by_hash: "SELECT id, name, token_hash, scopes, created_at, last_used_at, revoked_at FROM api_token
        WHERE token_hash = ?1",
    token_used: "UPDATE api_token SET last_used_at = ?2 WHERE id = ?1",
    tokens: "SELECT id, name, token_hash, scopes, created_at, last_used_at, revoked_at FROM api_token
        ORDER BY created_at DESC, id",
    token_revoke: "UPDATE api_token SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
    audit_insert: "INSERT INTO audit_log (at, actor, action, target, detail) VALUES (?1, ?2, ?3, ?4, ?5)
        RETURNING id",
    audit_select: "SELECT id, at, actor, action, target, detail FROM audit_log",
};
