//! The shared vocabulary of fumidai's inspection engine.
//!
//! Every inspector crate (MIME, archives, Office, carriers, text) speaks in these types:
//! a [`FindingDef`] declares a named, scored finding (like an rspamd symbol), a [`Scan`] collects
//! [`Finding`]s while files are taken apart, and a [`FileReport`] describes one file and what it contains.
//! Nested files (an entry of a ZIP, an object inside an RTF) go back through [`Scan::inspect_child`],
//! which the engine wires to its dispatcher, so each inspector only knows its own format.

mod finding;
mod kind;
mod limits;
mod report;
mod scan;
mod verdict;

pub use finding::{strongest, Finding, FindingDef};
pub use kind::{FileKind, Risk};
pub use limits::Limits;
pub use report::FileReport;
pub use scan::{child_part, hash_only, Dispatch, FileInput, Inspector, Scan, Whole};
pub use verdict::{Direction, Verdict};

/// The current time in Unix seconds (0 before 1970, saturating far in the future): the one clock every
/// stage stamps records with.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Findings raised by the scan machinery itself (limits, nesting), not by any one format.
pub mod findings {
    crate::findings! {
        NESTING_TOO_DEEP = 3.0, "Files nest deeper than the configured depth limit; the innermost were not inspected.";
        SCAN_LIMIT_REACHED = 3.0, "A per-message limit (entries, inflated bytes or time) was reached; the rest was not inspected.";
        UNINSPECTABLE = 3.0, "A file could not be inspected (corrupt, truncated or unsupported); it may hide anything.";
    }
}

/// Every finding this crate can raise (the engine collects all crates' lists for the documentation).
pub use findings::ALL as FINDINGS;
