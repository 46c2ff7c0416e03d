//! What the gateway did, counted by hour, for the console's dashboard (step 9).
//!
//! - `traffic_hour (hour, direction, verdict, action, messages)`: messages handled per hour (Unix seconds of the
//!   hour's start, UTC), way, verdict and action. Primary key is all but `messages`.
//! - `finding_hour (hour, finding, messages)`: messages in that hour that carried each finding.
//!
//! Counters, not a log: one upsert per row a message touches, pruned by hour. Types here; the SQL text per
//! backend in `src/sqlite/traffic.rs` and `src/postgres/traffic.rs`.

use serde::{Deserialize, Serialize};

/// Seconds in an hour: counters are kept per hour.
pub const HOUR: i64 = 3600;

/// Findings of one message counted at most (the strongest first, as the report orders them).
pub const MAX_FINDINGS_COUNTED: usize = 32;

/// One message handled, to count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Traffic {
    /// When it was handled (Unix seconds); counted in the hour it falls in.
    pub at: i64,
    /// `inbound` or `outbound`.
    pub direction: String,
    /// `clean`, `suspicious`, `malicious`.
    pub verdict: String,
    /// `deliver`, `tag`, `sanitize`, `quarantine`, `tempfail`, `reject`.
    pub action: String,
    /// The names of its findings (each counted once per message, the first [`MAX_FINDINGS_COUNTED`]).
    pub findings: Vec<String>,
}

/// Messages of one hour, way, verdict and action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrafficCount {
    /// Unix seconds of the hour's start (UTC).
    pub hour: i64,
    pub direction: String,
    pub verdict: String,
    pub action: String,
    pub messages: i64,
}

/// Messages that carried one finding over a span.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingCount {
    pub finding: String,
    pub messages: i64,
}
