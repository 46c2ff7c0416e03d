//! Day-one import: what an organisation already has, turned into [`Exchange`] records.
//!
//! Every importer is a streaming iterator of `io::Result<Exchange>` with running [`ImportStats`], reads
//! through a [`Progress`] callback (bytes read so far, for a progress bar) and gives exactly the same
//! records for the same input (timestamps come from the message's `Date:` or the log line, never from the
//! clock), so feeding the same input twice changes nothing in a store that deduplicates identical rows.
//! [`record_all`] sends any of them to a [`Store`] in batches.
//!
//! Direction comes from [`HistoryConfig::local_domains`](crate::HistoryConfig): local sender to external
//! recipient is outbound, external sender to local recipient inbound; local-to-local and
//! external-to-external mail gives nothing.

mod csv;
mod mail;
mod postfix;
pub mod time;

pub use csv::CsvPairs;
pub use mail::{maildir_files, Maildir, Mbox};
pub use postfix::{PostfixLog, PostfixOptions};

use crate::address::normalise_address;
use crate::HistoryConfig;
use fumidai_store::{Direction, Exchange, Store, StoreError};
use std::io::{self, Read};

/// A progress callback: total bytes read so far.
pub type Progress<'a> = &'a (dyn Fn(u64) + Sync);

/// A progress callback that ignores progress.
pub fn no_progress(_bytes: u64) {}

/// Running counts of an import.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportStats {
    /// Bytes read.
    pub bytes: u64,
    /// Messages (mbox, Maildir), log lines (Postfix) or data rows (CSV) read.
    pub items: u64,
    /// Exchange records produced.
    pub exchanges: u64,
    /// Messages or rows that gave nothing usable (no date, no sender, malformed); for logs, delivery
    /// lines whose message was not known (its `from=` line was before the log started or was forgotten).
    pub skipped: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("read error: {0}")]
    Io(#[from] io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Sends every exchange from `source` to `store` in batches of `batch` (at least 1); returns how many
/// were sent. Stops at the first read or store error.
pub async fn record_all<I>(store: &dyn Store, source: I, batch: usize) -> Result<u64, ImportError>
where
    I: Iterator<Item = io::Result<Exchange>>,
{
    let batch = batch.max(1);
    let mut buf = Vec::with_capacity(batch.min(100_000));
    let mut sent = 0u64;
    for ex in source {
        buf.push(ex?);
        if buf.len() >= batch {
            store.record(&buf).await?;
            sent = sent.saturating_add(buf.len() as u64);
            buf.clear();
        }
    }
    if !buf.is_empty() {
        store.record(&buf).await?;
        sent = sent.saturating_add(buf.len() as u64);
    }
    Ok(sent)
}

/// A reader that reports the running byte count to a progress callback.
pub struct CountingReader<'p, R> {
    inner: R,
    bytes: u64,
    progress: Progress<'p>,
}

impl<'p, R: Read> CountingReader<'p, R> {
    pub fn new(inner: R, progress: Progress<'p>) -> Self {
        CountingReader {
            inner,
            bytes: 0,
            progress,
        }
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

impl<R: Read> Read for CountingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes = self.bytes.saturating_add(n as u64);
        (self.progress)(self.bytes);
        Ok(n)
    }
}

/// Adds to `out` the exchanges one message gives: outbound from a local sender to each external recipient,
/// inbound from an external sender to each local recipient (once per recipient). Returns how many.
pub fn push_exchanges(
    cfg: &HistoryConfig,
    from: &str,
    recipients: &[String],
    at: i64,
    out: &mut impl Extend<Exchange>,
) -> u64 {
    if cfg.local_domains.is_empty() {
        return 0;
    }
    let Some(from) = normalise_address(from) else {
        return 0;
    };
    let from_local = cfg.is_local(&from);
    let mut n = 0u64;
    let mut seen = std::collections::HashSet::new();
    for r in recipients {
        let Some(r) = normalise_address(r) else {
            continue;
        };
        if seen.contains(&r) {
            continue;
        }
        let r_local = cfg.is_local(&r);
        let ex = match (from_local, r_local) {
            (true, false) => Exchange {
                local: from.clone(),
                external: r.clone(),
                direction: Direction::Outbound,
                at,
            },
            (false, true) => Exchange {
                local: r.clone(),
                external: from.clone(),
                direction: Direction::Inbound,
                at,
            },
            _ => continue,
        };
        seen.insert(r);
        out.extend(std::iter::once(ex));
        n += 1;
    }
    n
}
