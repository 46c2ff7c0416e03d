//! Bounded, panic-proof reading of ZIP packages (OOXML and ODF).

use fumidai_core::Scan;
use std::io::{Cursor, Read};
use std::panic::{catch_unwind, AssertUnwindSafe};

pub(crate) type Archive<'d> = zip::ZipArchive<Cursor<&'d [u8]>>;

/// Opens a package; `Err` with a reason when the central directory is unreadable.
pub(crate) fn open(data: &[u8]) -> Result<Archive<'_>, String> {
    match catch_unwind(AssertUnwindSafe(|| zip::ZipArchive::new(Cursor::new(data)))) {
        Ok(Ok(a)) => Ok(a),
        Ok(Err(e)) => Err(format!("ZIP package unreadable: {e}")),
        Err(_) => Err("ZIP parser panicked".into()),
    }
}

/// Entry names (index order), at most `max`.
pub(crate) fn names(archive: &Archive<'_>, max: usize) -> Vec<String> {
    (0..archive.len().min(max))
        .map(|i| archive.name_for_index(i).unwrap_or("").to_owned())
        .collect()
}

/// Inflates entry `i`, at most `cap` bytes, charging the scan's inflated budget as it goes.
/// `None` when unreadable (encrypted, corrupt) or when the budget ran out.
pub(crate) fn read(
    scan: &mut Scan<'_>,
    part: &str,
    archive: &mut Archive<'_>,
    i: usize,
    cap: u64,
) -> Option<Vec<u8>> {
    let cap = cap.min(scan.limits().max_file_bytes);
    let got = catch_unwind(AssertUnwindSafe(|| -> Option<(Vec<u8>, bool)> {
        let f = archive.by_index(i).ok()?;
        if f.encrypted() {
            return None;
        }
        let mut out = Vec::new();
        let mut reader = f.take(cap);
        let mut buf = [0u8; 64 * 1024];
        loop {
            let n = reader.read(&mut buf).ok()?;
            if n == 0 {
                break;
            }
            out.extend_from_slice(buf.get(..n)?);
            if !scan.charge_inflated(part, n as u64) {
                return Some((out, false));
            }
        }
        Some((out, true))
    }));
    match got {
        Ok(Some((out, true))) => Some(out),
        _ => None,
    }
}

/// Index of the entry with exactly this name.
pub(crate) fn find(names: &[String], name: &str) -> Option<usize> {
    names.iter().position(|n| n == name)
}
