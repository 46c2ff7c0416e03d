//! Containers other than ZIP: dispatch by kind, plus TAR, GZIP, CAB and the identify-only formats.

use crate::findings::*;
use crate::stream::{inspect_streamed, stream};
use crate::{iso, rar, sevenzip};
use fumidai_core::findings::UNINSPECTABLE;
use fumidai_core::{child_part, FileInput, FileKind, FileReport, Scan};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// See [`crate::inspect_archive`].
pub fn inspect_archive(scan: &mut Scan<'_>, input: &FileInput<'_>, report: &mut FileReport) {
    let kind = match report.detected_type {
        FileKind::Unknown => crate::sniff(input.data),
        k => k,
    };
    let part = input.part.as_str();
    match kind {
        FileKind::Zip | FileKind::Jar => crate::inspect_zip(scan, input, report),
        FileKind::SevenZip => sevenzip::inspect(scan, input, report),
        FileKind::Rar => rar::inspect(scan, input, report),
        FileKind::Tar => inspect_tar(scan, input, report),
        FileKind::Gzip => inspect_gzip(scan, input, report),
        FileKind::Cab => inspect_cab(scan, input, report),
        FileKind::Iso => {
            scan.add(&DISK_IMAGE, part, "ISO9660 image");
            iso::inspect(scan, input, report);
        }
        FileKind::Udf => {
            scan.add(&DISK_IMAGE, part, "UDF image");
            scan.add(
                &ARCHIVE_UNSUPPORTED_CONTENT,
                part,
                "UDF file system not listed",
            );
        }
        FileKind::Vhd => {
            let what = if input.data.starts_with(b"vhdxfile") {
                "VHDX image"
            } else {
                "VHD image"
            };
            scan.add(&DISK_IMAGE, part, what);
            scan.add(
                &ARCHIVE_UNSUPPORTED_CONTENT,
                part,
                format!("{what}: file system not listed"),
            );
        }
        FileKind::Bzip2 | FileKind::Xz | FileKind::Lzh => {
            scan.add(
                &ARCHIVE_UNSUPPORTED_CONTENT,
                part,
                format!("{kind} contents are not decompressed"),
            );
        }
        _ => {}
    }
}

fn octal(field: &[u8]) -> Option<u64> {
    // GNU base-256 for sizes of 8 GiB and more.
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        return field
            .iter()
            .skip(1)
            .try_fold(0u64, |acc, &b| acc.checked_mul(256)?.checked_add(b as u64));
    }
    let s = field
        .iter()
        .skip_while(|b| **b == b' ')
        .take_while(|b| (b'0'..=b'7').contains(b));
    let mut v = 0u64;
    for b in s {
        v = v.checked_mul(8)?.checked_add((b - b'0') as u64)?;
    }
    Some(v)
}

fn cstr(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    crate::decode_name(&field[..end], &String::from_utf8_lossy(&field[..end]))
}

/// TAR (ustar, GNU long names, pax paths): entries are slices of the input, handed on without copying.
fn inspect_tar(scan: &mut Scan<'_>, input: &FileInput<'_>, report: &mut FileReport) {
    let d = input.data;
    let mut p = 0usize;
    let mut long_name: Option<String> = None;
    while let Some(h) = d.get(p..p + 512) {
        if h.iter().all(|&b| b == 0) {
            break;
        }
        let Some(size) = octal(&h[124..136]) else {
            scan.add(
                &ARCHIVE_CORRUPT,
                &input.part,
                format!("bad size field at {p}"),
            );
            break;
        };
        let start = p + 512;
        let avail = d.len().saturating_sub(start) as u64;
        let len = size.min(avail) as usize;
        let body = d.get(start..start + len).unwrap_or_default();
        let typeflag = h[156];
        let mut name = cstr(&h[0..100]);
        if &h[257..262] == b"ustar" {
            let prefix = cstr(&h[345..500]);
            if !prefix.is_empty() {
                name = format!("{prefix}/{name}");
            }
        }
        match typeflag {
            b'L' => long_name = Some(cstr(body)),
            b'x' => {
                let text = String::from_utf8_lossy(body);
                long_name = text
                    .lines()
                    .find_map(|l| l.split_once(" path=").map(|(_, v)| v.to_owned()));
            }
            b'0' | 0 | b'7' => {
                let name = long_name.take().unwrap_or(name);
                let cpart = child_part(&input.part, &name);
                if !scan.charge_entry(&cpart) {
                    break;
                }
                if (len as u64) < size {
                    scan.add(
                        &ARCHIVE_CORRUPT,
                        &cpart,
                        format!("truncated: {len} of {size} bytes present"),
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
            _ => long_name = None,
        }
        let Some(next) = (size.div_ceil(512) * 512)
            .checked_add(start as u64)
            .and_then(|n| usize::try_from(n).ok())
        else {
            break;
        };
        p = next;
    }
}

/// GZIP: the inner file (often a TAR) inflated under the budget and handed on.
fn inspect_gzip(scan: &mut Scan<'_>, input: &FileInput<'_>, report: &mut FileReport) {
    let d = input.data;
    let flags = d.get(3).copied().unwrap_or(0);
    // FNAME, after the optional FEXTRA field.
    let mut p = 10usize;
    if flags & 4 != 0 {
        let xlen = d
            .get(10..12)
            .map_or(0, |b| u16::from_le_bytes([b[0], b[1]]) as usize);
        p += 2 + xlen;
    }
    let inner = if flags & 8 != 0 {
        let tail = d.get(p..).unwrap_or_default();
        let end = tail.iter().take(1024).position(|&b| b == 0).unwrap_or(0);
        String::from_utf8_lossy(&tail[..end]).into_owned()
    } else {
        String::new()
    };
    let name = if !inner.is_empty() {
        inner
    } else {
        let n = input.name;
        let lower = n.to_ascii_lowercase();
        if lower.ends_with(".tgz") {
            format!("{}.tar", &n[..n.len() - 4])
        } else if lower.ends_with(".gz") {
            n[..n.len() - 3].to_owned()
        } else {
            format!("{n}.out")
        }
    };
    let cpart = child_part(&input.part, &name);
    if !scan.charge_entry(&cpart) {
        return;
    }
    let mut dec = flate2::read::MultiGzDecoder::new(d);
    let s = match catch_unwind(AssertUnwindSafe(|| stream(scan, &cpart, &mut dec))) {
        Ok(s) => s,
        Err(_) => {
            scan.add(&UNINSPECTABLE, &cpart, "the gzip decoder failed");
            return;
        }
    };
    if let Some(e) = &s.error {
        scan.add(
            &ARCHIVE_CORRUPT,
            &cpart,
            format!("after {} bytes: {e}", s.size),
        );
    }
    if s.bombed {
        return;
    }
    let ratio = s.size / (d.len() as u64).max(1);
    if ratio > scan.limits().max_ratio {
        scan.add(
            &ARCHIVE_HIGH_RATIO,
            &cpart,
            format!(
                "{} bytes from {} compressed (ratio {ratio})",
                s.size,
                d.len()
            ),
        );
    }
    let child = inspect_streamed(scan, cpart, &name, &s);
    report.children.push(child);
}

/// CAB: file names listed and checked; contents (MSZIP/LZX/Quantum) are not extracted.
fn inspect_cab(scan: &mut Scan<'_>, input: &FileInput<'_>, report: &mut FileReport) {
    let d = input.data;
    let u16at = |o: usize| {
        d.get(o..o + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
    };
    let u32at = |o: usize| {
        d.get(o..o + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    let (Some(coff), Some(files)) = (u32at(16), u16at(28)) else {
        scan.add(&ARCHIVE_CORRUPT, &input.part, "truncated CAB header");
        return;
    };
    let mut p = coff;
    let mut listed = 0;
    for _ in 0..files {
        let (Some(size), Some(attribs)) = (u32at(p), u16at(p + 14)) else {
            break;
        };
        let tail = d.get(p + 16..).unwrap_or_default();
        let Some(end) = tail.iter().take(1024).position(|&b| b == 0) else {
            break;
        };
        let raw = &tail[..end];
        // Attribute 0x80: the name is UTF-8; otherwise it is in the system code page (Shift_JIS in Japan).
        let name = if attribs & 0x80 != 0 {
            String::from_utf8_lossy(raw).into_owned()
        } else {
            crate::decode_name(raw, &String::from_utf8_lossy(raw))
        };
        let cpart = child_part(&input.part, &name);
        if !scan.charge_entry(&cpart) {
            break;
        }
        crate::check_name(scan, &cpart, &name, None, FileKind::Unknown);
        let mut child = FileReport::new(&name, None, FileKind::Unknown, &[]);
        child.size = size as u64;
        child.sha256.clear();
        report.children.push(child);
        listed += 1;
        p = p + 16 + end + 1;
    }
    scan.add(
        &ARCHIVE_UNSUPPORTED_CONTENT,
        &input.part,
        format!("CAB contents not extracted ({listed} of {files} files listed)"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn octal_fields() {
        assert_eq!(octal(b"00000001750\0"), Some(1000));
        assert_eq!(octal(b"  17 \0"), Some(15));
        assert_eq!(
            octal(&[0x80, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0]),
            Some(2 << 32)
        );
    }
}
