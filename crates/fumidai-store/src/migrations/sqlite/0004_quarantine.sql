-- The quarantine: each original message kept whole, with what was decided about it. The bytes are rows of at most
-- 1 MiB in quarantine_chunk (written and read one at a time: a 50 MB message is never one parameter or one value);
-- size and sha256 cover them all and are checked on every read. Recipients, findings and releases are rows of their
-- own, in the order given, so that filters are index probes. Children go with their item (ON DELETE CASCADE).
CREATE TABLE quarantine (
    id          TEXT    NOT NULL PRIMARY KEY,
    received_at INTEGER NOT NULL,
    direction   TEXT    NOT NULL,
    mail_from   TEXT,
    header_from TEXT,
    subject     TEXT,
    message_id  TEXT,
    verdict     TEXT    NOT NULL,
    score       REAL    NOT NULL,
    action      TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    report_json TEXT    NOT NULL,
    size        INTEGER NOT NULL,
    sha256      TEXT    NOT NULL
);
-- Listing (newest first), time filters and purging.
CREATE INDEX quarantine_by_received ON quarantine (received_at, id);

CREATE TABLE quarantine_recipient (
    id      TEXT    NOT NULL REFERENCES quarantine (id) ON DELETE CASCADE,
    seq     INTEGER NOT NULL,
    address TEXT    NOT NULL,
    PRIMARY KEY (id, seq)
) WITHOUT ROWID;

CREATE TABLE quarantine_finding (
    id      TEXT    NOT NULL REFERENCES quarantine (id) ON DELETE CASCADE,
    seq     INTEGER NOT NULL,
    finding TEXT    NOT NULL,
    PRIMARY KEY (id, seq)
) WITHOUT ROWID;
-- The finding filter.
CREATE INDEX quarantine_finding_by_finding ON quarantine_finding (finding, id);

CREATE TABLE quarantine_release (
    id          TEXT    NOT NULL REFERENCES quarantine (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    released_by TEXT    NOT NULL,
    target      TEXT    NOT NULL,
    PRIMARY KEY (id, seq)
) WITHOUT ROWID;

-- A rowid table: SQLite advises against WITHOUT ROWID for rows this large.
CREATE TABLE quarantine_chunk (
    id   TEXT    NOT NULL REFERENCES quarantine (id) ON DELETE CASCADE,
    seq  INTEGER NOT NULL,
    data BLOB    NOT NULL,
    UNIQUE (id, seq)
);
