-- Outbound watch: per-account counters in one-minute buckets (nodes sharing a store add into the same rows), the
-- accounts held, and the Message-IDs of delivered outbound mail (for bounce and reply checks).
CREATE TABLE outbound_bucket (
    account        TEXT    NOT NULL,
    -- Unix seconds rounded down to the minute.
    minute         INTEGER NOT NULL,
    messages       INTEGER NOT NULL,
    recipients     INTEGER NOT NULL,
    new_recipients INTEGER NOT NULL,
    risky          INTEGER NOT NULL,
    PRIMARY KEY (account, minute)
) WITHOUT ROWID;
-- The status listing and pruning select by time across accounts.
CREATE INDEX outbound_bucket_by_minute ON outbound_bucket (minute);

CREATE TABLE outbound_account (
    account        TEXT    NOT NULL PRIMARY KEY,
    held           INTEGER NOT NULL,
    held_at        INTEGER,
    reason         TEXT    NOT NULL,
    released_at    INTEGER,
    released_by    TEXT,
    counting_since INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE sent_message (
    message_id        TEXT    NOT NULL PRIMARY KEY,
    account           TEXT    NOT NULL,
    sent_at           INTEGER NOT NULL,
    -- JSON array of registrable domains.
    recipient_domains TEXT    NOT NULL
) WITHOUT ROWID;
CREATE INDEX sent_message_by_sent ON sent_message (sent_at);
