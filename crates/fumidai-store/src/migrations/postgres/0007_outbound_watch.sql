-- Outbound watch: per-account counters in one-minute buckets (nodes sharing a store add into the same rows), the
-- accounts held, and the Message-IDs of delivered outbound mail (for bounce and reply checks).
CREATE TABLE outbound_bucket (
    account        TEXT   NOT NULL,
    -- Unix seconds rounded down to the minute.
    minute         BIGINT NOT NULL,
    messages       BIGINT NOT NULL,
    recipients     BIGINT NOT NULL,
    new_recipients BIGINT NOT NULL,
    risky          BIGINT NOT NULL,
    PRIMARY KEY (account, minute)
);
-- The status listing and pruning select by time across accounts.
CREATE INDEX outbound_bucket_by_minute ON outbound_bucket (minute);

CREATE TABLE outbound_account (
    account        TEXT    NOT NULL PRIMARY KEY,
    held           BOOLEAN NOT NULL,
    held_at        BIGINT,
    reason         TEXT    NOT NULL,
    released_at    BIGINT,
    released_by    TEXT,
    counting_since BIGINT  NOT NULL
);

CREATE TABLE sent_message (
    message_id        TEXT   NOT NULL PRIMARY KEY,
    account           TEXT   NOT NULL,
    sent_at           BIGINT NOT NULL,
    -- JSON array of registrable domains.
    recipient_domains TEXT   NOT NULL
);
CREATE INDEX sent_message_by_sent ON sent_message (sent_at);
