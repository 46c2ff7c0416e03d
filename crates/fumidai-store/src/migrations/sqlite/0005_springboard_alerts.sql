-- Springboard alerts: events (idempotent by id), one case per (organisation, kind), the notices sent, and the
-- operator's organisation directory with enterprise counts per industry. A case's evidence (distinct source IPs,
-- the newest samples, reporting sites) is bounded JSON text folded in by the store on each new event.
CREATE TABLE alert_case (
    id               INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    organisation     TEXT    NOT NULL,
    kind             TEXT    NOT NULL,
    state            TEXT    NOT NULL,
    first_seen       INTEGER NOT NULL,
    last_seen        INTEGER NOT NULL,
    event_count      INTEGER NOT NULL,
    opened_at        INTEGER NOT NULL,
    reopened         INTEGER NOT NULL,
    state_changed_at INTEGER NOT NULL,
    last_notified_at INTEGER,
    source_ips_json  TEXT    NOT NULL,
    -- [{"observed_at": ..., "sample": {...}}, ...], newest first.
    samples_json     TEXT    NOT NULL,
    sites_json       TEXT    NOT NULL,
    UNIQUE (organisation, kind)
);
-- Listing, most recent first.
CREATE INDEX alert_case_by_last_seen ON alert_case (last_seen, id);

CREATE TABLE alert_event (
    id           TEXT    NOT NULL PRIMARY KEY,
    site         TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    organisation TEXT    NOT NULL,
    observed_at  INTEGER NOT NULL,
    verdict      TEXT    NOT NULL,
    score        REAL    NOT NULL,
    sample_json  TEXT    NOT NULL,
    -- Set in the transaction that records the event.
    case_id      INTEGER REFERENCES alert_case (id),
    outbox       INTEGER NOT NULL
) WITHOUT ROWID;
-- The outbox, oldest first; forwarded events leave the index.
CREATE INDEX alert_event_outbox ON alert_event (observed_at, id) WHERE outbox;

CREATE TABLE alert_notification (
    id           INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    case_id      INTEGER NOT NULL REFERENCES alert_case (id),
    organisation TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    sent_at      INTEGER NOT NULL,
    recipient    TEXT    NOT NULL,
    language     TEXT    NOT NULL,
    reference    TEXT    NOT NULL
);
CREATE INDEX alert_notification_by_sent ON alert_notification (sent_at, id);

CREATE TABLE alert_organisation (
    domain   TEXT NOT NULL PRIMARY KEY,
    name     TEXT NOT NULL,
    industry TEXT,
    contact  TEXT
) WITHOUT ROWID;

CREATE TABLE alert_industry (
    industry    TEXT    NOT NULL PRIMARY KEY,
    enterprises INTEGER NOT NULL
) WITHOUT ROWID;
