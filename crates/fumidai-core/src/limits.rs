use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Bounds on the work one message may cost. Every inspector honours them through [`crate::Scan`].
///
/// The defaults let a 600 MB zero-padded document through (it is inspected, and the padding flagged)
/// while a 42.zip-style bomb stops at the inflated-bytes budget with a finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// How deep files may nest (archive in archive in attachment), counting the attachment as 1.
    pub max_depth: u32,
    /// How deep MIME multiparts and attached messages may nest.
    pub max_mime_depth: u32,
    /// MIME parts inspected per message.
    pub max_parts: u32,
    /// Archive entries and embedded objects inspected per message, all levels together.
    pub max_entries: u32,
    /// Bytes inflated from archives and compressed streams per message, all levels together.
    pub max_inflated_bytes: u64,
    /// Bytes of one nested file kept in memory for inspection (after trailing padding is dropped);
    /// larger files are hashed whole but inspected on this prefix only.
    pub max_file_bytes: u64,
    /// Inflated/compressed ratio above which an entry is reported as a possible bomb.
    pub max_ratio: u64,
    /// Wall-clock time for one message, in milliseconds.
    pub max_time_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 8,
            max_mime_depth: 32,
            max_parts: 1_000,
            max_entries: 10_000,
            max_inflated_bytes: 2 << 30,
            max_file_bytes: 64 << 20,
            max_ratio: 1_000,
            max_time_ms: 20_000,
        }
    }
}

impl Limits {
    pub fn max_time(&self) -> Duration {
        Duration::from_millis(self.max_time_ms)
    }
}
