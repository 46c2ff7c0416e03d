//! File types from bytes, name disguise checks, and archives.
//!
//! [`sniff`] says what a file really is; [`check_name`] compares that with its name and declared type;
//! [`inspect_zip`] and [`inspect_archive`] open containers, recursively through [`Scan::inspect_child`],
//! with every byte inflated charged to the message's budget.

use fumidai_core::{FileInput, FileKind, FileReport, Scan};

pub mod findings {
    fumidai_core::findings! {
        EXTENSION_MISMATCH = 3.0, "The file's real type does not match its name's extension.";
    }
}
pub use findings::ALL as FINDINGS;

/// What the bytes are, from magic numbers and structure (for ZIP: OOXML subtype from its parts).
pub fn sniff(data: &[u8]) -> FileKind {
    let _ = data;
    FileKind::Unknown
}

/// Name and declared-type checks against the real kind: mismatch, double extension, bidi controls,
/// no extension, dangerous types.
pub fn check_name(
    scan: &mut Scan<'_>,
    part: &str,
    name: &str,
    declared_type: Option<&str>,
    kind: FileKind,
) {
    let _ = (scan, part, name, declared_type, kind);
}

/// A ZIP (or JAR): entries listed and inspected, passwords tried, bombs stopped.
pub fn inspect_zip(scan: &mut Scan<'_>, input: &FileInput<'_>, report: &mut FileReport) {
    let _ = (scan, input, report);
}

/// Other containers: 7z, RAR, TAR, GZ, BZ2, XZ, CAB, ISO/UDF, VHD.
pub fn inspect_archive(scan: &mut Scan<'_>, input: &FileInput<'_>, report: &mut FileReport) {
    let _ = (scan, input, report);
}
