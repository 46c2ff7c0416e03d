//! Threat feed indicators on PostgreSQL: their SQL text (the bodies are in [`crate::feeds`]).

use crate::feeds::FeedSql;

pub(super) const SQL: FeedSql = FeedSql {
    insert: "INSERT INTO threat_indicator (kind, value, source, threat, first_seen, imported_at) ",
    on_conflict: " ON CONFLICT (kind, value, source) DO UPDATE SET threat = excluded.threat,
        first_seen = excluded.first_seen, imported_at = excluded.imported_at",
    delete_source: "DELETE FROM threat_indicator WHERE source = $1",
    mark_imported: "INSERT INTO threat_feed_import (source, imported_at) VALUES ($1, $2)
        ON CONFLICT (source) DO UPDATE SET imported_at = excluded.imported_at",
    list: "SELECT kind, value, source, threat, first_seen FROM threat_indicator ORDER BY source, kind, value",
    status: "SELECT f.source, (SELECT count(*) FROM threat_indicator t WHERE t.source = f.source), f.imported_at
        FROM threat_feed_import f ORDER BY f.source",
};
