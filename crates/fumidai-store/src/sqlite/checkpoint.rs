//! WAL checkpoints off the commit path.
//!
//! A commit appends pages to the WAL; a checkpoint copies them back into the database file and syncs both files.
//! SQLite runs one by default inside the commit that takes the WAL past 1,000 pages, so every hundred or so
//! single-message commits one `record` call paid for two fsyncs (milliseconds on a quiet disk, hundreds on a busy
//! one): most of the time of recording one message at a time. Here the writer's connection never checkpoints; a
//! task with a connection of its own copies the WAL back while the writer goes on (SQLite allows one checkpoint
//! beside one writer), at most every [`PAUSE`].
//!
//! The WAL file starts over only when a write begins with it fully copied back, which a checkpoint running beside a
//! steady stream of commits never achieves: the next commit is always under way. So once the WAL is longer than
//! [`WAL_LIMIT`] pages, the task holds the writer off for one more pass, which copies only what was appended during
//! the last one; the next write starts the WAL over, and `journal_size_limit` (set on the writer's connection) cuts
//! the file back. (Without that pass, a first version let the WAL reach 9 GB during a 10-million-pair import.)

use std::sync::Weak;
use std::time::Duration;

use sqlx::sqlite::SqliteConnection;
use tokio::sync::{mpsc, Mutex};

/// Shortest time between two background checkpoints: commits in between are copied (and synced) together.
const PAUSE: Duration = Duration::from_millis(100);

/// WAL length, in pages, past which the writer is held off for a checkpoint (about 40 MB of 4 KiB pages).
const WAL_LIMIT: i64 = 10_000;

/// Bytes the WAL file is cut back to when it starts over (SQLite's `journal_size_limit`, for the writer).
pub(super) const WAL_FILE_LIMIT: &str = "67108864";

const CHECKPOINT: &str = "PRAGMA wal_checkpoint(PASSIVE)";

/// The writer's handle on the background task, which ends when every handle is dropped.
#[derive(Clone)]
pub(super) struct Checkpoints {
    /// Holds at most one wake-up: commits while a pass runs are all copied by the next.
    wake: mpsc::Sender<()>,
}

impl Checkpoints {
    /// Starts the background task on the current Tokio runtime. It checkpoints through `conn`, and locks `writer`
    /// (the mutex every write of the store holds) to hold writes off.
    pub(super) fn start<W: Send + 'static>(conn: SqliteConnection, writer: Weak<Mutex<W>>) -> Self {
        let (wake, woken) = mpsc::channel(1);
        tokio::spawn(checkpoint_in_background(conn, woken, writer));
        Checkpoints { wake }
    }

    /// Called by the writer after each commit.
    pub(super) fn wake(&self) {
        let _ = self.wake.try_send(());
    }
}

/// Runs a passive checkpoint and returns the WAL's length in pages (-1 when another checkpoint was running).
async fn checkpoint(conn: &mut SqliteConnection) -> Result<i64, sqlx::Error> {
    let (_busy, wal, _copied): (i64, i64, i64) =
        sqlx::query_as(CHECKPOINT).fetch_one(&mut *conn).await?;
    Ok(wal)
}

async fn checkpoint_in_background<W>(
    mut conn: SqliteConnection,
    mut woken: mpsc::Receiver<()>,
    writer: Weak<Mutex<W>>,
) {
    while woken.recv().await.is_some() {
        // An error (the disk, say) leaves the pages in the WAL, where they are safe; the next pass tries again.
        if checkpoint(&mut conn).await.is_ok_and(|wal| wal > WAL_LIMIT) {
            let Some(writer) = writer.upgrade() else {
                return;
            };
            let _writes_wait = writer.lock().await;
            let _ = checkpoint(&mut conn).await;
        }
        tokio::time::sleep(PAUSE).await;
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;
    use std::sync::Arc;

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

    async fn until_file_has(path: &str, rows: i64) {
        for _ in 0..500 {
            if rows_in_file(path).await == Some(rows) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the database file never got {rows} rows");
    }

    /// A WAL database at `path` whose table `t` has `rows` rows of 4,000 bytes (a page each), all still in the
    /// WAL; a writer connection that does not checkpoint; its lock; and the checkpoints beside it.
    async fn fixture(path: &str, rows: i64) -> (SqliteConnection, Arc<Mutex<()>>, Checkpoints) {
        let options = SqliteConnectOptions::from_str(path)
            .unwrap()
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .pragma("wal_autocheckpoint", "0");
        let mut writer = SqliteConnection::connect_with(&options).await.unwrap();
        sqlx::raw_sql("CREATE TABLE t (x BLOB)")
            .execute(&mut writer)
            .await
            .unwrap();
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
             INSERT INTO t SELECT randomblob(4000) FROM n",
        )
        .bind(rows)
        .execute(&mut writer)
        .await
        .unwrap();
        let lock = Arc::new(Mutex::new(()));
        let conn = SqliteConnection::connect(path).await.unwrap();
        let checkpoints = Checkpoints::start(conn, Arc::downgrade(&lock));
        (writer, lock, checkpoints)
    }

    #[tokio::test]
    async fn commits_reach_the_file_in_the_background() {
        let dir = TempDir::new();
        let path = dir.0.join("t.db").to_string_lossy().into_owned();
        let (_writer, _lock, checkpoints) = fixture(&path, 2).await;
        assert_eq!(rows_in_file(&path).await, None, "the WAL holds it all");
        checkpoints.wake();
        until_file_has(&path, 2).await;
    }

    #[tokio::test]
    async fn a_long_wal_starts_over_although_writes_go_on() {
        let dir = TempDir::new();
        let path = dir.0.join("t.db").to_string_lossy().into_owned();
        let rows = WAL_LIMIT + 100;
        let (mut writer, lock, checkpoints) = fixture(&path, rows).await;

        // A write lands while the background pass runs (here: after it, before the writer is free again), so the
        // pass alone leaves the WAL not quite copied back.
        let held = lock.lock().await;
        checkpoints.wake();
        until_file_has(&path, rows).await;
        sqlx::query("INSERT INTO t VALUES (x'00')")
            .execute(&mut writer)
            .await
            .unwrap();
        drop(held);
        // The task's pass with writes held off copies that one too.
        until_file_has(&path, rows + 1).await;
        sqlx::query("INSERT INTO t VALUES (x'01')")
            .execute(&mut writer)
            .await
            .unwrap();
        let mut observer = SqliteConnection::connect(&path).await.unwrap();
        let (busy, wal, _): (i64, i64, i64) = sqlx::query_as(CHECKPOINT)
            .fetch_one(&mut observer)
            .await
            .unwrap();
        assert_eq!(busy, 0);
        assert!(wal < 10, "the WAL did not start over: {wal} pages");
    }
}
