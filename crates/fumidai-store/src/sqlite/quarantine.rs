//! The quarantine on SQLite: its SQL text, and the durable commit of [`crate::Store::quarantine_put`].
//!
//! The store runs with `synchronous=NORMAL` (a commit reaches the WAL but is synced only at the next checkpoint),
//! the right trade-off for history. A quarantined original must not be lost once `quarantine_put` has returned
//! (the delivered copy no longer holds it), so the writer switches its connection to `synchronous=FULL` for that
//! one commit, which syncs the WAL before COMMIT returns, and back to NORMAL after: history commits keep their cost.

use bytes::Bytes;
use sqlx::sqlite::SqliteConnection;
use sqlx::Connection;

use super::{set_synchronous, Synchronous};
use crate::quarantine::{self, QuarantineMeta, QuarantineSql};
use crate::sql::classify;
use crate::StoreError;

pub(super) const SQL: QuarantineSql = QuarantineSql {
    insert_item: "INSERT INTO quarantine (id, received_at, direction, mail_from, header_from, subject, message_id,
        verdict, score, action, reason, report_json, size, sha256)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 0, '')",
    insert_recipient: "INSERT INTO quarantine_recipient (id, seq, address) VALUES (?1, ?2, ?3)",
    insert_finding: "INSERT INTO quarantine_finding (id, seq, finding) VALUES (?1, ?2, ?3)",
    insert_chunk: "INSERT INTO quarantine_chunk (id, seq, data) VALUES (?1, ?2, ?3)",
    set_digest: "UPDATE quarantine SET size = ?2, sha256 = ?3 WHERE id = ?1",
    select: "SELECT q.id, q.received_at, q.direction, q.mail_from, q.header_from, q.subject, q.message_id,
        q.verdict, q.score, q.action, q.reason, q.report_json, q.size, q.sha256,
        (SELECT json_group_array(r.address ORDER BY r.seq) FROM quarantine_recipient r WHERE r.id = q.id),
        (SELECT json_group_array(f.finding ORDER BY f.seq) FROM quarantine_finding f WHERE f.id = q.id),
        (SELECT json_group_array(json_array(l.at, l.released_by, l.target) ORDER BY l.seq)
            FROM quarantine_release l WHERE l.id = q.id)
        FROM quarantine q",
    position: "instr",
    digest: "SELECT size, sha256 FROM quarantine WHERE id = ?1",
    chunk: "SELECT data FROM quarantine_chunk WHERE id = ?1 AND seq = ?2",
    release: "INSERT INTO quarantine_release (id, seq, at, released_by, target)
        SELECT q.id, (SELECT coalesce(max(seq) + 1, 0) FROM quarantine_release WHERE id = q.id), ?2, ?3, ?4
        FROM quarantine q WHERE q.id = ?1",
    delete: "DELETE FROM quarantine WHERE id = ?1",
    purge: "DELETE FROM quarantine WHERE received_at < ?1",
};

/// Stores one item in a transaction committed with `synchronous=FULL`; the connection is back at NORMAL
/// afterwards, whether the put succeeded or not.
pub(super) async fn put_durably(
    conn: &mut SqliteConnection,
    meta: &QuarantineMeta,
    original: Bytes,
) -> Result<(), StoreError> {
    set_synchronous(conn, Synchronous::Full).await?;
    let stored = async {
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await.map_err(classify)?;
        quarantine::put(&mut *tx, &SQL, meta, original).await?;
        tx.commit().await.map_err(classify)
    }
    .await;
    let restored = set_synchronous(conn, Synchronous::Normal).await;
    stored.and(restored)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TempDir;
    use crate::{
        CaseRules, Direction, EventKind, Notification, Sample, SpringboardEvent, SqliteStore, Store,
    };

    async fn writer_sync(store: &SqliteStore) -> i64 {
        let mut writer = store.writer.lock().await;
        let level = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&mut *writer.connection().await)
            .await
            .unwrap();
        level
    }

    /// FULL for the quarantine's commit and a notice's record only: the writer is back at NORMAL (1) for history,
    /// after each, whether it was stored or refused.
    #[tokio::test]
    async fn the_writer_returns_to_normal_sync() {
        let dir = TempDir::new();
        let store = SqliteStore::connect(&dir.db()).await.unwrap();
        store.migrate().await.unwrap();
        let meta = QuarantineMeta {
            id: "SYNC-1".into(),
            received_at: 1,
            direction: Direction::Inbound,
            mail_from: None,
            rcpt_to: Vec::new(),
            from: None,
            subject: None,
            message_id: None,
            verdict: "malicious".into(),
            score: 1.0,
            action: "quarantine".into(),
            reason: String::new(),
            findings: Vec::new(),
            report_json: "{}".into(),
        };
        for _ in 0..2 {
            let _ = store.quarantine_put(&meta, Bytes::from_static(b"x")).await;
            assert_eq!(writer_sync(&store).await, 1);
        }
        let event = SpringboardEvent {
            id: "ab".into(),
            site: "mx1".into(),
            kind: EventKind::Springboard,
            organisation: "partner.co.jp".into(),
            observed_at: 1,
            verdict: "malicious".into(),
            score: 10.0,
            sample: Sample::default(),
        };
        let rules = CaseRules {
            quiet_period: 86_400,
            max_samples: 5,
            max_source_ips: 5,
        };
        let case = store
            .event_record(&event, &rules, false)
            .await
            .unwrap()
            .case_id;
        for (case_id, stored) in [(case, true), (case + 100, false)] {
            let notice = Notification {
                case_id,
                organisation: "partner.co.jp".into(),
                kind: EventKind::Springboard,
                sent_at: 2,
                recipient: "abuse@partner.co.jp".into(),
                language: "ja".into(),
                reference: "<n@corp.example.jp>".into(),
            };
            assert_eq!(store.notification_record(&notice).await.unwrap(), stored);
            assert_eq!(writer_sync(&store).await, 1);
        }
    }
}
