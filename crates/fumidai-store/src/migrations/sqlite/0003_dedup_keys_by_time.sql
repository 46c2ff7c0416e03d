-- Dedup keys ordered by time: (at, key) as the primary key of a WITHOUT ROWID table. The keys are hashes, so
-- ordered by key the rows of one commit land on pages all over the table (one page written per exchange once the
-- table outgrows the cache); ordered by time they land on the last pages, and pruning old keys is a range at the
-- start of the table instead of a full scan. The trigger probes (at, key): the time is known, it is part of what
-- the key hashes.
DROP TRIGGER exchange_input_insert;

CREATE TABLE exchange_seen_by_time (
    at  INTEGER NOT NULL,
    key INTEGER NOT NULL,
    PRIMARY KEY (at, key)
) WITHOUT ROWID;

INSERT INTO exchange_seen_by_time (at, key) SELECT at, key FROM exchange_seen ORDER BY at, key;
DROP TABLE exchange_seen;
ALTER TABLE exchange_seen_by_time RENAME TO exchange_seen;

-- As in migration 1 but for the probe.
CREATE TRIGGER exchange_input_insert INSTEAD OF INSERT ON exchange_input
WHEN NOT EXISTS (SELECT 1 FROM exchange_seen WHERE at = NEW.at AND key = NEW.key)
BEGIN
    INSERT INTO exchange_seen (at, key) VALUES (NEW.at, NEW.key);

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
