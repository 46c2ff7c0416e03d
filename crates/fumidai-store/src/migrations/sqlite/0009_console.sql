-- The web console: its users and their sessions, and the dashboard's counters of handled messages by hour.
CREATE TABLE console_user (
    name                TEXT    NOT NULL PRIMARY KEY,
    -- PHC string of the password's argon2id hash; never the password.
    password_hash       TEXT    NOT NULL,
    -- viewer, operator or admin (no CHECK: a role added later must not need the table rebuilt).
    role                TEXT    NOT NULL,
    created_at          INTEGER NOT NULL,
    password_changed_at INTEGER NOT NULL,
    last_login_at       INTEGER
) WITHOUT ROWID;

CREATE TABLE console_session (
    -- Lower-case hex SHA-256 of the cookie's secret: a request's session is looked up by it.
    id_hash      TEXT    NOT NULL PRIMARY KEY,
    -- Deleting the user ends its sessions.
    user_name    TEXT    NOT NULL REFERENCES console_user (name) ON DELETE CASCADE,
    csrf         TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    peer         TEXT    NOT NULL
) WITHOUT ROWID;
-- A user's sessions are ended together (password change; the cascade of a deleted user).
CREATE INDEX console_session_by_user ON console_session (user_name);

-- Keys lead with the hour: the dashboard reads, and pruning deletes, ranges of hours.
CREATE TABLE traffic_hour (
    hour      INTEGER NOT NULL,
    direction TEXT    NOT NULL,
    verdict   TEXT    NOT NULL,
    action    TEXT    NOT NULL,
    messages  INTEGER NOT NULL,
    PRIMARY KEY (hour, direction, verdict, action)
) WITHOUT ROWID;

CREATE TABLE finding_hour (
    hour     INTEGER NOT NULL,
    finding  TEXT    NOT NULL,
    messages INTEGER NOT NULL,
    PRIMARY KEY (hour, finding)
) WITHOUT ROWID;
