//! ISO9660 with Joliet: volume descriptors and directory records parsed here; each file's extent is a
//! slice of the image, handed on as a child without copying.

use crate::findings::ARCHIVE_CORRUPT;
use fumidai_core::{child_part, FileInput, FileReport, Scan};

const SECTOR: usize = 2048;
/// Directories walked and directory records read per image: hostile images can make extents overlap.
const MAX_DIRS: usize = 4096;
const MAX_RECORDS: usize = 200_000;

fn u32le(d: &[u8], o: usize) -> Option<usize> {
    d.get(o..o + 4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
}

/// The root directory record (extent, length) and whether names are Joliet UCS-2.
fn root(d: &[u8]) -> Option<(usize, usize, bool)> {
    let mut primary = None;
    for i in 16..64 {
        let vd = d.get(i * SECTOR..(i + 1) * SECTOR)?;
        if vd.get(1..6) != Some(b"CD001") {
            break;
        }
        let rec = vd.get(156..190)?;
        let entry = (u32le(rec, 2)?, u32le(rec, 10)?);
        match vd[0] {
            // Joliet: a supplementary descriptor with a UCS-2 escape sequence.
            2 if vd.get(88..90) == Some(b"%/")
                && matches!(vd.get(90), Some(b'@' | b'C' | b'E')) =>
            {
                return Some((entry.0, entry.1, true));
            }
            1 => primary = Some((entry.0, entry.1, false)),
            255 => break,
            _ => {}
        }
    }
    primary
}

fn decode(raw: &[u8], joliet: bool) -> String {
    let name = if joliet {
        let units: Vec<u16> = raw
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16_lossy(&units)
    } else {
        String::from_utf8_lossy(raw).into_owned()
    };
    // ";1" version suffix; a bare trailing dot means no extension.
    let name = name.split(';').next().unwrap_or("").to_owned();
    name.strip_suffix('.').map(str::to_owned).unwrap_or(name)
}

/// Walks the directory tree and inspects every file.
pub fn inspect(scan: &mut Scan<'_>, input: &FileInput<'_>, report: &mut FileReport) {
    let d = input.data;
    let Some((root_lba, root_len, joliet)) = root(d) else {
        scan.add(
            &ARCHIVE_CORRUPT,
            &input.part,
            "no readable ISO9660 volume descriptor",
        );
        return;
    };
    let mut dirs = vec![(root_lba, root_len, String::new())];
    let mut seen = std::collections::HashSet::new();
    let mut walked = 0;
    let mut records = 0usize;
    while let Some((lba, len, path)) = dirs.pop() {
        if walked >= MAX_DIRS || records >= MAX_RECORDS || !scan.within_time(&input.part) {
            scan.add(
                &ARCHIVE_CORRUPT,
                &input.part,
                "too many directories or records; the rest was not listed",
            );
            return;
        }
        if !seen.insert(lba) || scan.exhausted() {
            continue;
        }
        walked += 1;
        let start = lba.saturating_mul(SECTOR);
        let Some(dir) = d.get(start..start.saturating_add(len).min(d.len())) else {
            scan.add(
                &ARCHIVE_CORRUPT,
                &input.part,
                format!("directory {path:?} lies outside the image"),
            );
            continue;
        };
        let mut p = 0usize;
        while p < dir.len() {
            let rlen = dir[p] as usize;
            if rlen == 0 {
                // Records do not cross sectors: skip to the next one.
                p = (p / SECTOR + 1) * SECTOR;
                continue;
            }
            let Some(rec) = dir.get(p..p + rlen) else {
                break;
            };
            p += rlen;
            records += 1;
            let (Some(ext), Some(size), Some(&flags), Some(&nlen)) =
                (u32le(rec, 2), u32le(rec, 10), rec.get(25), rec.get(32))
            else {
                continue;
            };
            let Some(raw) = rec.get(33..33 + nlen as usize) else {
                continue;
            };
            if raw == [0] || raw == [1] {
                continue; // "." and ".."
            }
            let name = decode(raw, joliet);
            let full = if path.is_empty() {
                name.clone()
            } else {
                format!("{path}/{name}")
            };
            if flags & 2 != 0 {
                dirs.push((ext, size, full));
                continue;
            }
            let cpart = child_part(&input.part, &full);
            if !scan.charge_entry(&cpart) {
                return;
            }
            let fstart = ext.saturating_mul(SECTOR);
            let body = d
                .get(fstart..fstart.saturating_add(size).min(d.len()))
                .unwrap_or_default();
            if body.len() < size {
                scan.add(
                    &ARCHIVE_CORRUPT,
                    &cpart,
                    format!("extent truncated: {} of {size} bytes present", body.len()),
                );
            }
            let child = scan.inspect(FileInput {
                name: &name,
                declared_type: None,
                data: body,
                part: cpart,
                whole: None,
            });
            report.children.push(child);
        }
    }
}
