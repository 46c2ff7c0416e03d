//! File types from bytes, name disguise checks, and archives.
//!
//! [`sniff`] says what a file really is; [`check_name`] compares that with its name and declared type;
//! [`inspect_zip`] and [`inspect_archive`] open containers, recursively through [`Scan::inspect`],
//! with every byte inflated charged to the message's budget.
//!
//! Streams are inflated in chunks: every byte is hashed and charged, at most `limits.max_file_bytes` are
//! kept, and a trailing run of one byte value of 1 MiB or more (the zero padding of the 2023 Emotet .doc)
//! is dropped, so the child handed on is the real document with the real size and hash in `whole`.
//!
//! Limits: ZIP (stored/deflate/deflate64, ZipCrypto and AES), 7z (what sevenz-rust2 decodes without optional features: LZMA, LZMA2, copy and filters; AES entries are listed only),
//! TAR, GZIP and ISO9660/Joliet are opened; RAR and CAB are listed (names, encryption) but not extracted;
//! BZ2, XZ, LZH, UDF and VHD are identified only. Entry names are checked with [`check_name`] only when
//! the entry cannot be opened; opened entries go to the dispatcher, which checks their names.

use fumidai_core::{FileInput, FileKind, FileReport, Scan};

mod archive;
mod iso;
mod name;
mod rar;
mod sevenzip;
mod sniff;
mod stream;
mod zipdir;
mod zipfile;

pub use name::{extension, normalize_name, DANGEROUS_EXTENSIONS};
pub use sniff::EICAR;
pub use stream::{inspect_streamed, stream, Streamed, MIN_PADDING};
pub use zipfile::decode_name;

pub mod findings {
    fumidai_core::findings! {
        EXTENSION_MISMATCH = 3.0, "The file's real type does not match its name's extension.";
        RTF_AS_DOC = 4.0, "An RTF document named as a Word/Excel file, a known trick to reach RTF exploits.";
        DECLARED_TYPE_MISMATCH = 2.0, "The sender's declared Content-Type contradicts the file's real type.";
        DOUBLE_EXTENSION = 4.0, "A document extension followed by an executable one (invoice.pdf.exe).";
        BIDI_CONTROL_IN_NAME = 6.0, "The name holds bidi or invisible format controls that make it display differently from what runs.";
        NO_EXTENSION = 1.0, "The name has no extension.";
        DANGEROUS_TYPE = 10.0, "The file runs code when opened: an executable, script, shortcut or OneNote file by its content.";
        DANGEROUS_EXTENSION = 6.0, "The name's extension is one Windows runs, installs or mounts (exe, js, lnk, iso, one ...).";
        ZIP_ENCRYPTED = 1.0, "The ZIP holds password-protected entries.";
        ZIP_PASSWORD_FROM_BODY = 5.0, "An encrypted archive opened with a password found in the message: the Emotet delivery pattern.";
        ZIP_ENCRYPTED_UNOPENED = 5.0, "An encrypted archive that no candidate password opens: its contents could not be inspected.";
        PADDED_FILE = 4.0, "A file padded with a long run of one byte value, a trick to exceed scanners' size limits.";
        ARCHIVE_HIGH_RATIO = 3.0, "An archive entry inflates far beyond its compressed size (possible bomb or padding).";
        ARCHIVE_BOMB = 6.0, "Inflating an archive exceeded the message's budget: a decompression bomb or an oversized payload.";
        ARCHIVE_CORRUPT = 3.0, "An archive is corrupt or truncated; part of it could not be inspected.";
        ARCHIVE_SPLIT = 3.0, "Part of a split (multi-volume) archive; the other volumes are needed to open it.";
        ARCHIVE_UNSUPPORTED_CONTENT = 3.0, "An archive's contents could not be inspected (format or method not supported).";
        ARCHIVE_ENCRYPTED = 2.0, "A 7z or RAR archive holds encrypted entries.";
        ARCHIVE_ENCRYPTED_UNLISTABLE = 5.0, "An archive with encrypted headers: even its file names are hidden.";
        DISK_IMAGE = 6.0, "A disk image (ISO, IMG, UDF, VHD), which Windows mounts with a click, bypassing Mark-of-the-Web.";
    }
}
pub use findings::ALL as FINDINGS;

/// What the bytes are, from magic numbers and structure (for ZIP: OOXML subtype from its parts).
pub fn sniff(data: &[u8]) -> FileKind {
    sniff::sniff(data)
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
    name::check_name(scan, part, name, declared_type, kind)
}

/// A ZIP (or JAR): entries listed and inspected, passwords tried, bombs stopped.
pub fn inspect_zip(scan: &mut Scan<'_>, input: &FileInput<'_>, report: &mut FileReport) {
    zipfile::inspect_zip(scan, input, report)
}

/// Other containers: 7z, RAR, TAR, GZ, BZ2, XZ, CAB, ISO/UDF, VHD.
pub fn inspect_archive(scan: &mut Scan<'_>, input: &FileInput<'_>, report: &mut FileReport) {
    archive::inspect_archive(scan, input, report)
}
