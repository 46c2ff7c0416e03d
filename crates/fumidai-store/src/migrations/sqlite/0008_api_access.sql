-- HTTP API access: tokens (the SHA-256 of each secret, never the secret) and the audit log of what was done
-- through the API.
CREATE TABLE api_token (
    id           TEXT    NOT NULL PRIMARY KEY,
    name         TEXT    NOT NULL,
    -- Lower-case hex SHA-256 of the secret: a request's token is looked up by it.
    token_hash   TEXT    NOT NULL UNIQUE,
    -- Space-separated scope words.
    scopes       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
) WITHOUT ROWID;

CREATE TABLE audit_log (
    -- AUTOINCREMENT: an id is never given twice, even after the newest entries are deleted.
    id     INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    at     INTEGER NOT NULL,
    actor  TEXT    NOT NULL,
    action TEXT    NOT NULL,
    target TEXT    NOT NULL,
    detail TEXT    NOT NULL
);
-- Read newest first, by time range.
CREATE INDEX audit_log_by_at ON audit_log (at, id);
