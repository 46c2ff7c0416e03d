//! ZIP (and JAR) entries: listed, decrypted with the message's candidate passwords, streamed under the
//! message's budgets, and handed back to the dispatcher.

use crate::findings::*;
use crate::stream::{inspect_streamed, stream};
use crate::zipdir;
use fumidai_core::findings::UNINSPECTABLE;
use fumidai_core::{child_part, FileInput, FileKind, FileReport, Scan};
use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};
use zip::result::ZipError;
use zip::ZipArchive;

fn u16le(d: &[u8], o: usize) -> Option<u64> {
    d.get(o..o + 2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]) as u64)
}

fn u64le(d: &[u8], o: usize) -> Option<u64> {
    let b: [u8; 8] = d.get(o..o + 8)?.try_into().ok()?;
    Some(u64::from_le_bytes(b))
}

/// Entry name: UTF-8 when it is, else Shift_JIS when that decodes cleanly (Japanese Windows), else the
/// zip crate's CP437 reading.
pub fn decode_name(raw: &[u8], cp437: &str) -> String {
    if let Ok(s) = std::str::from_utf8(raw) {
        return s.to_owned();
    }
    let (s, had_errors) = encoding_rs::SHIFT_JIS.decode_without_bom_handling(raw);
    if !had_errors {
        return s.into_owned();
    }
    cp437.to_owned()
}

/// Checks the end-of-central-directory record before the zip crate sees it: split archives, and entry
/// counts no file of this size could hold (which would make the zip crate reserve memory for them).
fn precheck(scan: &mut Scan<'_>, part: &str, d: &[u8]) -> bool {
    if d.starts_with(b"PK\x07\x08") || d.starts_with(b"PK00PK") {
        scan.add(
            &ARCHIVE_SPLIT,
            part,
            "spanned-archive marker at the start: the first volume of a split ZIP",
        );
    }
    let Some(eocd) = zipdir::find_eocd(d) else {
        return true; // the zip crate reports it
    };
    let disk = u16le(d, eocd + 4).unwrap_or(0);
    let cd_disk = u16le(d, eocd + 6).unwrap_or(0);
    if disk != 0 || cd_disk != 0 {
        scan.add(
            &ARCHIVE_SPLIT,
            part,
            format!(
                "volume {} of a split ZIP; the other volumes are needed to open it",
                disk + 1
            ),
        );
        return false;
    }
    let mut count = u16le(d, eocd + 10).unwrap_or(0);
    if count == 0xFFFF && eocd >= 20 && d.get(eocd - 20..eocd - 16) == Some(b"PK\x06\x07") {
        let at = u64le(d, eocd - 12).and_then(|o| usize::try_from(o).ok());
        count = at
            .filter(|&o| d.get(o..o + 4) == Some(b"PK\x06\x06"))
            .and_then(|o| u64le(d, o + 32))
            .unwrap_or(u64::MAX);
    }
    if count > (d.len() / 46) as u64 {
        scan.add(
            &ARCHIVE_CORRUPT,
            part,
            format!(
                "central directory claims {count} entries in {} bytes",
                d.len()
            ),
        );
        return false;
    }
    true
}

/// Names from local headers of a ZIP the zip crate cannot open, so dangerous names are still seen.
fn salvage_names(scan: &mut Scan<'_>, input: &FileInput<'_>, report: &mut FileReport) {
    let d = input.data;
    let mut p = 0usize;
    let mut n = 0;
    while n < 1000 {
        let Some(off) = memchr::memmem::find(d.get(p..).unwrap_or_default(), b"PK\x03\x04") else {
            break;
        };
        let h = p + off;
        let (Some(flags), Some(nlen)) = (u16le(d, h + 6), u16le(d, h + 26)) else {
            break;
        };
        let Some(raw) = d.get(h + 30..h + 30 + nlen as usize) else {
            break;
        };
        let name = decode_name(raw, &String::from_utf8_lossy(raw));
        p = h + 4;
        n += 1;
        if name.ends_with('/') || name.is_empty() {
            continue;
        }
        let part = child_part(&input.part, &name);
        if !scan.charge_entry(&part) {
            break;
        }
        let mut child = FileReport::new(&name, None, FileKind::Unknown, &[]);
        child.sha256.clear();
        child.encrypted = flags & 1 != 0;
        report.encrypted |= child.encrypted;
        crate::check_name(scan, &part, &name, None, FileKind::Unknown);
        report.children.push(child);
    }
}

#[derive(Default)]
struct Tally {
    encrypted: Vec<String>,
    opened_with: Vec<String>,
    unopened: Vec<String>,
    high_ratio: bool,
}

/// See [`crate::inspect_zip`].
pub fn inspect_zip(scan: &mut Scan<'_>, input: &FileInput<'_>, report: &mut FileReport) {
    let part = input.part.as_str();
    if !precheck(scan, part, input.data) {
        salvage_names(scan, input, report);
        return;
    }
    let opened = catch_unwind(AssertUnwindSafe(|| {
        ZipArchive::new(Cursor::new(input.data))
    }));
    let mut za = match opened {
        Ok(Ok(za)) => za,
        Ok(Err(e)) => {
            if !scan.has(&ARCHIVE_SPLIT) {
                scan.add(&ARCHIVE_CORRUPT, part, format!("cannot open: {e}"));
            }
            salvage_names(scan, input, report);
            return;
        }
        Err(_) => {
            scan.add(
                &UNINSPECTABLE,
                part,
                "the ZIP reader failed on this archive",
            );
            salvage_names(scan, input, report);
            return;
        }
    };
    let mut tally = Tally::default();
    for i in 0..za.len() {
        if scan.exhausted() {
            break;
        }
        let meta = catch_unwind(AssertUnwindSafe(|| {
            za.by_index_raw(i).map(|f| {
                (
                    decode_name(f.name_raw(), f.name()),
                    f.encrypted(),
                    f.is_dir(),
                    f.compressed_size(),
                    f.size(),
                )
            })
        }));
        let (name, encrypted, is_dir, csize, declared) = match meta {
            Ok(Ok(m)) => m,
            Ok(Err(e)) => {
                scan.add(&ARCHIVE_CORRUPT, part, format!("entry {i}: {e}"));
                continue;
            }
            Err(_) => {
                scan.add(
                    &UNINSPECTABLE,
                    part,
                    format!("entry {i}: the ZIP reader failed"),
                );
                continue;
            }
        };
        let cpart = child_part(part, &name);
        if !scan.charge_entry(&cpart) {
            break;
        }
        if is_dir {
            continue;
        }
        if encrypted {
            report.encrypted = true;
            tally.encrypted.push(name.clone());
        }
        let child = open_entry(
            scan, &mut za, i, &name, &cpart, encrypted, csize, declared, &mut tally,
        );
        let Some(mut child) = child else { break };
        child.encrypted = encrypted;
        report.children.push(child);
    }
    if !tally.encrypted.is_empty() {
        scan.add(
            &ZIP_ENCRYPTED,
            part,
            format!(
                "{} encrypted: {}",
                tally.encrypted.len(),
                list(&tally.encrypted)
            ),
        );
    }
    if !tally.opened_with.is_empty() {
        scan.add(
            &ZIP_PASSWORD_FROM_BODY,
            part,
            format!(
                "opened with a candidate password: {}",
                list(&tally.opened_with)
            ),
        );
    }
    if !tally.unopened.is_empty() {
        scan.add(
            &ZIP_ENCRYPTED_UNOPENED,
            part,
            format!("no candidate password opens: {}", list(&tally.unopened)),
        );
    }
}

fn list(names: &[String]) -> String {
    let mut s = names
        .iter()
        .take(5)
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > 5 {
        s.push_str(&format!(" and {} more", names.len() - 5));
    }
    s
}

enum Attempt {
    Streamed(crate::stream::Streamed),
    WrongPassword,
    Unsupported(String),
    Error(String),
}

/// Opens one entry (trying passwords when encrypted) and inspects it. None: stop the archive (budget spent).
#[allow(clippy::too_many_arguments)]
fn open_entry(
    scan: &mut Scan<'_>,
    za: &mut ZipArchive<Cursor<&[u8]>>,
    i: usize,
    name: &str,
    cpart: &str,
    encrypted: bool,
    csize: u64,
    declared: u64,
    tally: &mut Tally,
) -> Option<FileReport> {
    let passwords: Vec<Option<String>> = if encrypted {
        scan.passwords().iter().cloned().map(Some).collect()
    } else {
        vec![None]
    };
    let mut last_err = String::new();
    for pw in passwords {
        let attempt = catch_unwind(AssertUnwindSafe(|| {
            let file = match &pw {
                Some(p) => za.by_index_decrypt(i, p.as_bytes()),
                None => za.by_index(i),
            };
            match file {
                Ok(mut f) => Attempt::Streamed(stream(scan, cpart, &mut f)),
                Err(ZipError::InvalidPassword) => Attempt::WrongPassword,
                Err(ZipError::UnsupportedArchive(why)) => Attempt::Unsupported(why.to_string()),
                Err(e) => Attempt::Error(e.to_string()),
            }
        }));
        let s = match attempt {
            Ok(Attempt::Streamed(s)) => s,
            Ok(Attempt::WrongPassword) => continue,
            Ok(Attempt::Unsupported(why)) => {
                let method = za.by_index_raw(i).map(|f| f.compression()).ok();
                scan.add(
                    &ARCHIVE_UNSUPPORTED_CONTENT,
                    cpart,
                    format!("{why} ({method:?})"),
                );
                return Some(unopened(scan, cpart, name, declared, encrypted));
            }
            Ok(Attempt::Error(e)) => {
                last_err = e;
                break;
            }
            Err(_) => {
                scan.add(&UNINSPECTABLE, cpart, "the ZIP reader failed on this entry");
                return Some(unopened(scan, cpart, name, declared, encrypted));
            }
        };
        if s.bombed {
            return None;
        }
        if let Some(e) = &s.error {
            if encrypted {
                // A wrong ZipCrypto password passes its one-byte check 1 time in 256; the data then fails
                // to inflate or its CRC does not match.
                last_err = e.clone();
                continue;
            }
            scan.add(
                &ARCHIVE_CORRUPT,
                cpart,
                format!("after {} bytes: {e}", s.size),
            );
        }
        if let Some(p) = &pw {
            tally.opened_with.push(format!("{name} with {p:?}"));
        }
        let ratio = s.size / csize.max(1);
        if ratio > scan.limits().max_ratio && !tally.high_ratio {
            tally.high_ratio = true;
            scan.add(
                &ARCHIVE_HIGH_RATIO,
                cpart,
                format!("{} bytes from {csize} compressed (ratio {ratio})", s.size),
            );
        }
        return Some(inspect_streamed(scan, cpart.to_owned(), name, &s));
    }
    if encrypted {
        tally.unopened.push(name.to_owned());
    } else if !last_err.is_empty() {
        scan.add(&ARCHIVE_CORRUPT, cpart, last_err);
    }
    Some(unopened(scan, cpart, name, declared, encrypted))
}

/// A report for an entry whose bytes could not be read: its name is still checked.
fn unopened(
    scan: &mut Scan<'_>,
    cpart: &str,
    name: &str,
    declared: u64,
    encrypted: bool,
) -> FileReport {
    crate::check_name(scan, cpart, name, None, FileKind::Unknown);
    let mut r = FileReport::new(name, None, FileKind::Unknown, &[]);
    r.size = declared;
    r.sha256.clear();
    r.encrypted = encrypted;
    r
}
