-- Exchange history at two levels. Times are Unix seconds (UTC). Both directions are kept; which ones count for
-- the "no exchange in N days" rule is decided by fumidai-history.
CREATE TABLE address_exchange (
    local_address    TEXT    NOT NULL,
    external_address TEXT    NOT NULL,
    first_seen       INTEGER NOT NULL,
    last_seen        INTEGER NOT NULL,
    outbound_count   INTEGER NOT NULL DEFAULT 0,
    inbound_count    INTEGER NOT NULL DEFAULT 0,
    last_outbound    INTEGER,
    last_inbound     INTEGER,
    PRIMARY KEY (local_address, external_address)
) WITHOUT ROWID;

CREATE TABLE domain_exchange (
    local_org        TEXT    NOT NULL,
    external_domain  TEXT    NOT NULL,
    first_seen       INTEGER NOT NULL,
    last_seen        INTEGER NOT NULL,
    outbound_count   INTEGER NOT NULL DEFAULT 0,
    inbound_count    INTEGER NOT NULL DEFAULT 0,
    last_outbound    INTEGER,
    last_inbound     INTEGER,
    PRIMARY KEY (local_org, external_domain)
) WITHOUT ROWID;

-- correspondent_domains() lists external domains across organisations.
CREATE INDEX domain_exchange_external ON domain_exchange (external_domain);

-- Dedup keys of exchanges already counted (see batch.rs: 64-bit hash of local, external, direction, time).
-- The key is the rowid, so a row is 16 bytes plus overhead.
CREATE TABLE exchange_seen (
    key INTEGER PRIMARY KEY,
    at  INTEGER NOT NULL
);

-- record() inserts normalised rows into this view, many rows per statement; the trigger counts each exchange
-- whose dedup key is new (and skips the others), so a batch is one statement and one pass through SQLite.
CREATE VIEW exchange_input (key, local_address, external_address, local_org, external_domain, outbound, at) AS
    SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL WHERE 0;

-- SQLite's two-argument max() returns NULL if either side is NULL, hence the coalesce pairs.
CREATE TRIGGER exchange_input_insert INSTEAD OF INSERT ON exchange_input
WHEN NOT EXISTS (SELECT 1 FROM exchange_seen WHERE key = NEW.key)
BEGIN
    INSERT INTO exchange_seen (key, at) VALUES (NEW.key, NEW.at);

    INSERT INTO address_exchange (local_address, external_address, first_seen, last_seen,
        outbound_count, inbound_count, last_outbound, last_inbound)
    VALUES (NEW.local_address, NEW.external_address, NEW.at, NEW.at, NEW.outbound, 1 - NEW.outbound,
        CASE WHEN NEW.outbound THEN NEW.at END, CASE WHEN NEW.outbound THEN NULL ELSE NEW.at END)
    ON CONFLICT (local_address, external_address) DO UPDATE SET
        first_seen = min(first_seen, excluded.first_seen),
        last_seen = max(last_seen, excluded.last_seen),
        outbound_count = outbound_count + excluded.outbound_count,
        inbound_count = inbound_count + excluded.inbound_count,
        last_outbound = max(coalesce(last_outbound, excluded.last_outbound), coalesce(excluded.last_outbound, last_outbound)),
        last_inbound = max(coalesce(last_inbound, excluded.last_inbound), coalesce(excluded.last_inbound, last_inbound));

    INSERT INTO domain_exchange (local_org, external_domain, first_seen, last_seen,
        outbound_count, inbound_count, last_outbound, last_inbound)
    VALUES (NEW.local_org, NEW.external_domain, NEW.at, NEW.at, NEW.outbound, 1 - NEW.outbound,
        CASE WHEN NEW.outbound THEN NEW.at END, CASE WHEN NEW.outbound THEN NULL ELSE NEW.at END)
    ON CONFLICT (local_org, external_domain) DO UPDATE SET
        first_seen = min(first_seen, excluded.first_seen),
        last_seen = max(last_seen, excluded.last_seen),
        outbound_count = outbound_count + excluded.outbound_count,
        inbound_count = inbound_count + excluded.inbound_count,
        last_outbound = max(coalesce(last_outbound, excluded.last_outbound), coalesce(excluded.last_outbound, last_outbound)),
        last_inbound = max(coalesce(last_inbound, excluded.last_inbound), coalesce(excluded.last_inbound, last_inbound));
END;
