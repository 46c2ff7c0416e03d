-- Springboard alerts: events (idempotent by id), one case per (organisation, kind), the notices sent, and the
-- operator's organisation directory with enterprise counts per industry. A case's evidence (distinct source IPs,
-- the newest samples, reporting sites) is bounded JSON text folded in by the store on each new event.
CREATE TABLE alert_case (
    id               BIGSERIAL NOT NULL PRIMARY KEY,
    organisation     TEXT      NOT NULL,
    kind             TEXT      NOT NULL,
    state            TEXT      NOT NULL,
    first_seen       BIGINT    NOT NULL,
    last_seen        BIGINT    NOT NULL,
    event_count      BIGINT    NOT NULL,
    opened_at        BIGINT    NOT NULL,
    reopened         BIGINT    NOT NULL,
    state_changed_at BIGINT    NOT NULL,
    last_notified_at BIGINT,
    source_ips_json  TEXT      NOT NULL,
    -- [{"observed_at": ..., "sample": {...}}, ...], newest first.
    samples_json     TEXT      NOT NULL,
    sites_json       TEXT      NOT NULL,
    UNIQUE (organisation, kind)
);
-- Listing, most recent first.
CREATE INDEX alert_case_by_last_seen ON alert_case (last_seen, id);

CREATE TABLE alert_event (
    id           TEXT             NOT NULL PRIMARY KEY,
    site         TEXT             NOT NULL,
    kind         TEXT             NOT NULL,
    organisation TEXT             NOT NULL,
    observed_at  BIGINT           NOT NULL,
    verdict      TEXT             NOT NULL,
    score        DOUBLE PRECISION NOT NULL,
    sample_json  TEXT             NOT NULL,
    -- Set in the transaction that records the event.
    case_id      BIGINT           REFERENCES alert_case (id),
    outbox       BOOLEAN          NOT NULL
);
-- The outbox, oldest first; forwarded events leave the index.
CREATE INDEX alert_event_outbox ON alert_event (observed_at, id) WHERE outbox;

CREATE TABLE alert_notification (
    id           BIGSERIAL NOT NULL PRIMARY KEY,
    case_id      BIGINT    NOT NULL REFERENCES alert_case (id),
    organisation TEXT      NOT NULL,
    kind         TEXT      NOT NULL,
    sent_at      BIGINT    NOT NULL,
    recipient    TEXT      NOT NULL,
    language     TEXT      NOT NULL,
    reference    TEXT      NOT NULL
);
CREATE INDEX alert_notification_by_sent ON alert_notification (sent_at, id);

CREATE TABLE alert_organisation (
    domain   TEXT NOT NULL PRIMARY KEY,
    name     TEXT NOT NULL,
    industry TEXT,
    contact  TEXT
);

CREATE TABLE alert_industry (
    industry    TEXT   NOT NULL PRIMARY KEY,
    enterprises BIGINT NOT NULL
);
