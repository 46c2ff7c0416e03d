//! The quarantine on PostgreSQL: its SQL text, and the durable transaction of [`crate::Store::quarantine_put`].
//!
//! The store's connections run with `synchronous_commit=off` (history may lose its last fraction of a second in a
//! server crash). A quarantined original must not be lost once `quarantine_put` has returned, so its transaction
//! sets `synchronous_commit = on` locally: COMMIT returns once the WAL is flushed (and, where the server is set up
//! for it, replicated).

use bytes::Bytes;
use sqlx::{Connection, PgConnection};

use crate::quarantine::{self, QuarantineMeta, QuarantineSql};
use crate::sql::classify;
use crate::StoreError;

pub(super) const SQL: QuarantineSql = QuarantineSql {
    insert_item: "INSERT INTO quarantine (id, received_at, direction, mail_from, header_from, subject, message_id,
        verdict, score, action, reason, report_json, size, sha256)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 0, '')",
    insert_recipient: "INSERT INTO quarantine_recipient (id, seq, address) VALUES ($1, $2, $3)",
    insert_finding: "INSERT INTO quarantine_finding (id, seq, finding) VALUES ($1, $2, $3)",
    insert_chunk: "INSERT INTO quarantine_chunk (id, seq, data) VALUES ($1, $2, $3)",
    set_digest: "UPDATE quarantine SET size = $2, sha256 = $3 WHERE id = $1",
    select: "SELECT q.id, q.received_at, q.direction, q.mail_from, q.header_from, q.subject, q.message_id,
        q.verdict, q.score, q.action, q.reason, q.report_json, q.size, q.sha256,
        (SELECT coalesce(json_agg(r.address ORDER BY r.seq), '[]')::text
            FROM quarantine_recipient r WHERE r.id = q.id),
        (SELECT coalesce(json_agg(f.finding ORDER BY f.seq), '[]')::text
            FROM quarantine_finding f WHERE f.id = q.id),
        (SELECT coalesce(json_agg(json_build_array(l.at, l.released_by, l.target) ORDER BY l.seq), '[]')::text
            FROM quarantine_release l WHERE l.id = q.id)
        FROM quarantine q",
    position: "strpos",
    digest: "SELECT size, sha256 FROM quarantine WHERE id = $1",
    chunk: "SELECT data FROM quarantine_chunk WHERE id = $1 AND seq = $2",
    release: "INSERT INTO quarantine_release (id, seq, at, released_by, target)
        SELECT q.id, (SELECT coalesce(max(seq) + 1, 0) FROM quarantine_release WHERE id = q.id), $2, $3, $4
        FROM quarantine q WHERE q.id = $1",
    delete: "DELETE FROM quarantine WHERE id = $1",
    purge: "DELETE FROM quarantine WHERE received_at < $1",
};

/// Stores one item in a transaction whose commit waits for the WAL flush.
pub(super) async fn put_durably(
    conn: &mut PgConnection,
    meta: &QuarantineMeta,
    original: Bytes,
) -> Result<(), StoreError> {
    let mut tx = conn.begin().await.map_err(classify)?;
    sqlx::raw_sql("SET LOCAL synchronous_commit = on")
        .execute(&mut *tx)
        .await
        .map_err(classify)?;
    quarantine::put(&mut *tx, &SQL, meta, original).await?;
    tx.commit().await.map_err(classify)
}
