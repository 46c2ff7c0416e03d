-- HTTP API access: tokens (the SHA-256 of each secret, never the secret) and the audit log of what was done
-- through the API.
CREATE TABLE api_token (
    id           TEXT   NOT NULL PRIMARY KEY,
    name         TEXT   NOT NULL,
    -- Lower-case hex SHA-256 of the secret: a request's token is looked up by it.
    token_hash   TEXT   NOT NULL UNIQUE,
    -- Space-separated scope words.
    scopes       TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);

CREATE TABLE audit_log (
    id     BIGSERIAL NOT NULL PRIMARY KEY,
    at     BIGINT    NOT NULL,
    actor  TEXT      NOT NULL,
    action TEXT      NOT NULL,
    target TEXT      NOT NULL,
    detail TEXT      NOT NULL
);
-- Read newest first, by time range.
CREATE INDEX audit_log_by_at ON audit_log (at, id);
