-- Threat feed indicators (URLhaus URLs, Feodo Tracker C2 IPs) imported from files, one row per (kind, value,
-- source): re-importing a list updates its rows instead of adding more. The value is normalised by the importer
-- (see fumidai-engine's feeds module), so matching is an exact lookup.
CREATE TABLE threat_indicator (
    kind        TEXT   NOT NULL,
    value       TEXT   NOT NULL,
    source      TEXT   NOT NULL,
    threat      TEXT   NOT NULL,
    first_seen  BIGINT,
    imported_at BIGINT NOT NULL,
    PRIMARY KEY (kind, value, source)
);
-- Counting and replacing one source's rows.
CREATE INDEX threat_indicator_by_source ON threat_indicator (source);

-- When each source was last imported (an import of no rows still counts).
CREATE TABLE threat_feed_import (
    source      TEXT   NOT NULL PRIMARY KEY,
    imported_at BIGINT NOT NULL
);
