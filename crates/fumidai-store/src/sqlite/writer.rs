//! The one writer of a SQLite store, and group commit for `record`.
//!
//! Every write in this process goes through one connection behind one mutex, so writers queue instead of spinning
//! on SQLITE_BUSY, and that connection's page cache (the B-tree pages inserts walk) survives from one commit to the
//! next (a reader's is dropped whenever another connection has written).
//!
//! A milter records each message as it is accepted, many at once, and every transaction pays for its commit (WAL
//! append, locks, round trips to the connection's thread) whatever its size. So a `record` call that finds the
//! writer free commits at once, itself; one that finds it busy hands its rows to the group-commit task, which, as
//! soon as the writer is free, takes every request waiting and commits them in one transaction (one INSERT per
//! 4,000 rows). Each caller waits for
//! the outcome of the commit that holds its rows, so `record` returns only once they are committed, and an error
//! reaches every caller of the group. Nobody waits for company: a group is whatever queued during the last commit.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use sqlx::sqlite::SqliteConnection;
use sqlx::Connection;
use tokio::sync::{mpsc, oneshot, Mutex, MutexGuard};

use super::checkpoint::Checkpoints;
use super::history::{insert_rows, CHUNK};
use crate::batch::{prepare, Row};
use crate::sql::classify;
use crate::{Exchange, StoreError};

/// Requests that may wait for the group-commit task; beyond that, callers wait to hand theirs in.
const QUEUE: usize = 1_024;

/// Where writes go.
pub(super) enum WriteTo {
    /// A connection of the writer's own (a file), which leaves checkpoints to [`Checkpoints`].
    Own(SqliteConnection),
    /// The store's only connection (`:memory:`, where every connection is a database of its own).
    Shared(Arc<Mutex<SqliteConnection>>),
}

/// A connection to write with, for as long as the writer is held.
pub(super) enum Held<'a> {
    Own(&'a mut SqliteConnection),
    Shared(MutexGuard<'a, SqliteConnection>),
}

impl Deref for Held<'_> {
    type Target = SqliteConnection;

    fn deref(&self) -> &SqliteConnection {
        match self {
            Held::Own(conn) => conn,
            Held::Shared(conn) => conn,
        }
    }
}

impl DerefMut for Held<'_> {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        match self {
            Held::Own(conn) => conn,
            Held::Shared(conn) => conn,
        }
    }
}

impl WriteTo {
    pub(super) async fn connection(&mut self) -> Held<'_> {
        match self {
            WriteTo::Own(conn) => Held::Own(conn),
            WriteTo::Shared(conn) => Held::Shared(conn.lock().await),
        }
    }
}

struct Request {
    rows: Vec<Row>,
    done: oneshot::Sender<Result<(), StoreError>>,
}

/// The writer: its connection behind the mutex, and the queue of the group-commit task, which ends when this is
/// dropped (after the requests already queued).
pub(super) struct Writer {
    target: Arc<Mutex<WriteTo>>,
    requests: mpsc::Sender<Request>,
    /// None in memory, where there is no WAL.
    checkpoints: Option<Checkpoints>,
}

impl Writer {
    /// Starts the group-commit task, and the checkpoints through `checkpointer` if any, on the current Tokio
    /// runtime.
    pub(super) fn start(target: WriteTo, checkpointer: Option<SqliteConnection>) -> Self {
        let target = Arc::new(Mutex::new(target));
        let checkpoints =
            checkpointer.map(|conn| Checkpoints::start(conn, Arc::downgrade(&target)));
        let (requests, queue) = mpsc::channel(QUEUE);
        tokio::spawn(commit_groups(
            Arc::clone(&target),
            queue,
            checkpoints.clone(),
        ));
        Writer {
            target,
            requests,
            checkpoints,
        }
    }

    /// Waits for the writer, for writes other than `record` (migrations, whitelist, pruning).
    pub(super) async fn lock(&self) -> MutexGuard<'_, WriteTo> {
        self.target.lock().await
    }

    /// Tells the checkpoints that a write other than `record` committed (a quarantined message: megabytes of WAL).
    pub(super) fn wake_checkpoints(&self) {
        if let Some(checkpoints) = &self.checkpoints {
            checkpoints.wake();
        }
    }

    /// Normalises and keys `exchanges` here, in the caller, and returns once they are committed.
    pub(super) async fn record(&self, exchanges: &[Exchange]) -> Result<(), StoreError> {
        let rows = prepare(exchanges);
        if rows.is_empty() {
            return Ok(());
        }
        if let Ok(mut target) = self.target.try_lock() {
            // Nobody is writing: no group to join, and no hop through the task.
            return commit(&mut *target.connection().await, rows, &self.checkpoints).await;
        }
        let (done, outcome) = oneshot::channel();
        self.requests
            .send(Request { rows, done })
            .await
            .map_err(|_| stopped())?;
        outcome.await.map_err(|_| stopped())?
    }
}

fn stopped() -> StoreError {
    StoreError::Unavailable("the SQLite group-commit task has stopped".to_string())
}

/// The group-commit task: waits for a request and for the writer, then commits the requests queued by then
/// together, taking more until they hold 4,000 rows (one INSERT; the rest wait for the next group).
async fn commit_groups(
    target: Arc<Mutex<WriteTo>>,
    mut queue: mpsc::Receiver<Request>,
    checkpoints: Option<Checkpoints>,
) {
    while let Some(first) = queue.recv().await {
        let mut target = target.lock().await;
        let mut rows = first.rows;
        let mut waiters = vec![first.done];
        while rows.len() < CHUNK {
            let Ok(next) = queue.try_recv() else {
                break;
            };
            rows.extend(next.rows);
            waiters.push(next.done);
        }
        let outcome = commit(&mut *target.connection().await, rows, &checkpoints).await;
        drop(target);
        for done in waiters {
            // A caller that stopped waiting still had its rows committed; nobody is left to tell.
            let _ = done.send(outcome.clone());
        }
    }
}

/// Commits `rows` and wakes the checkpoints. Rows from several callers may repeat a dedup key: the view's trigger
/// sees the rows before it in the same statement and transaction, so each exchange still counts once.
async fn commit(
    conn: &mut SqliteConnection,
    rows: Vec<Row>,
    checkpoints: &Option<Checkpoints>,
) -> Result<(), StoreError> {
    let outcome = insert_in_transaction(conn, rows).await;
    if let Some(checkpoints) = checkpoints {
        checkpoints.wake();
    }
    outcome
}

/// One INSERT (a transaction by itself) or, past [`CHUNK`] rows, several in one transaction.
async fn insert_in_transaction(
    conn: &mut SqliteConnection,
    rows: Vec<Row>,
) -> Result<(), StoreError> {
    if rows.len() <= CHUNK {
        return insert_rows(conn, rows).await;
    }
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await.map_err(classify)?;
    let mut rows = rows.into_iter();
    loop {
        let chunk: Vec<Row> = rows.by_ref().take(CHUNK).collect();
        if chunk.is_empty() {
            break;
        }
        insert_rows(&mut *tx, chunk).await?;
    }
    tx.commit().await.map_err(classify)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Direction, Store};

    #[tokio::test]
    async fn a_key_repeated_in_one_statement_counts_once() {
        let store = super::super::SqliteStore::connect(":memory:")
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let exchange = Exchange {
            local: "a@x.jp".into(),
            external: "b@y.jp".into(),
            direction: Direction::Outbound,
            at: 100,
        };
        // Two callers' rows holding the same exchange, merged as the group-commit task merges them.
        let mut rows = prepare(std::slice::from_ref(&exchange));
        rows.extend(prepare(std::slice::from_ref(&exchange)));
        let mut target = store.writer.lock().await;
        commit(&mut *target.connection().await, rows, &None)
            .await
            .unwrap();
        drop(target);
        let found = store.lookup("a@x.jp", "b@y.jp").await.unwrap();
        assert_eq!(found.address.map(|h| h.outbound_count), Some(1));
    }
}
