//! WAL checkpoints off the commit path.
//!
//! A commit appends pages to the WAL; a checkpoint copies them back into the database file and syncs both files.
//! SQLite runs one by default inside the commit that takes the WAL past 1,000 pages, so every hundred or so
//! single-message commits one `record` call paid for two fsyncs (milliseconds on a quiet disk, hundreds on a busy
//! one): most of the time of recording one message at a time. Here the writer's connection never checkpoints by
//! itself; a task with a connection of its own copies the WAL back while the writer goes on (SQLite allows one
//! checkpoint beside one writer), at most every [`PAUSE`].
//!
//! The WAL file starts over only when a write finds it fully copied back, which a checkpoint running beside a
//! steady stream of commits never quite achieves. So once the WAL holds more than [`WAL_LIMIT`] pages the writer
//! checkpoints itself, between two commits, where nothing can be appended meanwhile; the copying was mostly done
//! in the background, so that costs little more than the syncs.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::SqliteConnection;
use tokio::sync::mpsc;

/// Shortest time between two background checkpoints: commits in between are copied (and synced) together.
const PAUSE: Duration = Duration::from_millis(100);

/// WAL length, in pages, past which the writer checkpoints itself (about 40 MB of 4 KiB pages).
const WAL_LIMIT: i64 = 10_000;

const CHECKPOINT: &str = "PRAGMA wal_checkpoint(PASSIVE)";

/// The writer's side: wakes the background task (which ends when this is dropped) and checkpoints itself when the
/// WAL has grown too long.
pub(super) struct Checkpoints {
    /// Holds at most one wake-up: commits while a pass runs are all copied by the next.
    wake: mpsc::Sender<()>,
    /// WAL length in pages as the last checkpoint saw it.
    wal_pages: Arc<AtomicI64>,
}

impl Checkpoints {
    /// Starts the background task on the current Tokio runtime; it checkpoints through `conn`.
    pub(super) fn start(conn: SqliteConnection) -> Self {
        let (wake, woken) = mpsc::channel(1);
        let wal_pages = Arc::new(AtomicI64::new(0));
        tokio::spawn(checkpoint_in_background(
            conn,
            woken,
            Arc::clone(&wal_pages),
        ));
        Checkpoints { wake, wal_pages }
    }

    /// Called by the writer after each commit, with the writer held.
    pub(super) async fn after_commit(&self, writer: &mut SqliteConnection) {
        if self.wal_pages.load(Ordering::Relaxed) > WAL_LIMIT {
            // Copied completely, the WAL starts over at the next commit; otherwise (a reader still needs old
            // pages, or the background task holds the checkpoint lock) the next commit tries again.
            if let Ok(Some(pages)) = checkpoint(writer).await {
                self.wal_pages.store(pages, Ordering::Relaxed);
            }
        }
        let _ = self.wake.try_send(());
    }
}

/// Runs a passive checkpoint; `Some(0)` when the WAL was copied back completely, else `Some(WAL length)`.
/// `None` when another checkpoint was running.
async fn checkpoint(conn: &mut SqliteConnection) -> Result<Option<i64>, sqlx::Error> {
    let (busy, wal, copied): (i64, i64, i64) =
        sqlx::query_as(CHECKPOINT).fetch_one(&mut *conn).await?;
    Ok(match busy {
        0 if copied == wal => Some(0),
        0 => Some(wal),
        _ => None,
    })
}

async fn checkpoint_in_background(
    mut conn: SqliteConnection,
    mut woken: mpsc::Receiver<()>,
    wal_pages: Arc<AtomicI64>,
) {
    while woken.recv().await.is_some() {
        // An error (the disk, say) leaves the pages in the WAL, where they are safe; the next pass and the writer's
        // own checkpoint try again.
        if let Ok(Some(pages)) = checkpoint(&mut conn).await {
            wal_pages.store(pages, Ordering::Relaxed);
        }
        tokio::time::sleep(PAUSE).await;
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
    use sqlx::Connection;

    use super::*;
    use crate::testing::TempDir;

    /// Rows of `t` as the database file holds them, without the WAL (`immutable` skips it); `None` while the file
    /// does not have the table yet.
    async fn rows_in_file(path: &str) -> Option<i64> {
        let options = SqliteConnectOptions::from_str(path)
            .unwrap()
            .immutable(true);
        let mut file = SqliteConnection::connect_with(&options).await.unwrap();
        sqlx::query_scalar("SELECT count(*) FROM t")
            .fetch_one(&mut file)
            .await
            .ok()
    }

    /// A WAL database at `path` with two rows in table `t` (all in the WAL still), a writer connection that does
    /// not checkpoint, and the checkpoints beside it.
    async fn writer_and_checkpoints(path: &str) -> (SqliteConnection, Checkpoints) {
        let options = SqliteConnectOptions::from_str(path)
            .unwrap()
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .pragma("wal_autocheckpoint", "0");
        let mut writer = SqliteConnection::connect_with(&options).await.unwrap();
        sqlx::raw_sql("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1), (2)")
            .execute(&mut writer)
            .await
            .unwrap();
        let checkpoints = Checkpoints::start(SqliteConnection::connect(path).await.unwrap());
        (writer, checkpoints)
    }

    #[tokio::test]
    async fn commits_reach_the_file_in_the_background() {
        let dir = TempDir::new();
        let path = dir.0.join("t.db").to_string_lossy().into_owned();
        let (mut writer, checkpoints) = writer_and_checkpoints(&path).await;
        assert_eq!(rows_in_file(&path).await, None, "the WAL holds it all");
        checkpoints.after_commit(&mut writer).await;
        let mut copied = None;
        for _ in 0..50 {
            copied = rows_in_file(&path).await;
            if copied.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(copied, Some(2));
    }

    #[tokio::test]
    async fn the_writer_checkpoints_a_long_wal_itself() {
        let dir = TempDir::new();
        let path = dir.0.join("t.db").to_string_lossy().into_owned();
        let (mut writer, checkpoints) = writer_and_checkpoints(&path).await;
        checkpoints
            .wal_pages
            .store(WAL_LIMIT + 1, Ordering::Relaxed);
        // The background task is woken only after this, so the copy is the writer's own.
        checkpoints.after_commit(&mut writer).await;
        assert_eq!(checkpoints.wal_pages.load(Ordering::Relaxed), 0);
        assert_eq!(rows_in_file(&path).await, Some(2));
    }
}
