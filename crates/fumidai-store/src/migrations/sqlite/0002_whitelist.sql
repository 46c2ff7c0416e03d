-- Senders exempt from the history rule: an address (`user@example.jp`) or a domain (`example.jp`), normalised.
CREATE TABLE whitelist (
    pattern  TEXT    NOT NULL PRIMARY KEY,
    comment  TEXT    NOT NULL DEFAULT '',
    added_at INTEGER NOT NULL
) WITHOUT ROWID;
