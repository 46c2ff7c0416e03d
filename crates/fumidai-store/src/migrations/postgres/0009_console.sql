-- The web console: its users and their sessions, and the dashboard's counters of handled messages by hour.
CREATE TABLE console_user (
    name                TEXT   NOT NULL PRIMARY KEY,
    -- PHC string of the password's argon2id hash; never the password.
    password_hash       TEXT   NOT NULL,
    -- viewer, operator or admin (no CHECK, as on SQLite, where a changed one means rebuilding the table).
    role                TEXT   NOT NULL,
    created_at          BIGINT NOT NULL,
    password_changed_at BIGINT NOT NULL,
    last_login_at       BIGINT
);

CREATE TABLE console_session (
    -- Lower-case hex SHA-256 of the cookie's secret: a request's session is looked up by it.
    id_hash      TEXT   NOT NULL PRIMARY KEY,
    -- Deleting the user ends its sessions.
    user_name    TEXT   NOT NULL REFERENCES console_user (name) ON DELETE CASCADE,
    csrf         TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    peer         TEXT   NOT NULL
);
-- A user's sessions are ended together (password change; the cascade of a deleted user).
CREATE INDEX console_session_by_user ON console_session (user_name);

-- Keys lead with the hour: the dashboard reads, and pruning deletes, ranges of hours.
CREATE TABLE traffic_hour (
    hour      BIGINT NOT NULL,
    direction TEXT   NOT NULL,
    verdict   TEXT   NOT NULL,
    action    TEXT   NOT NULL,
    messages  BIGINT NOT NULL,
    PRIMARY KEY (hour, direction, verdict, action)
);

CREATE TABLE finding_hour (
    hour     BIGINT NOT NULL,
    finding  TEXT   NOT NULL,
    messages BIGINT NOT NULL,
    PRIMARY KEY (hour, finding)
);
