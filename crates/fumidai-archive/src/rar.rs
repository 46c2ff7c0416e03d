//! RAR4 and RAR5 block headers: file names and encryption flags. Nothing is extracted (no pure-Rust
//! decompressor), so a RAR always yields ARCHIVE_UNSUPPORTED_CONTENT: its contents were not inspected.

use crate::findings::*;
use fumidai_core::{child_part, FileInput, FileKind, FileReport, Scan};

struct Entry {
    name: String,
    size: u64,
    encrypted: bool,
}

fn vint(d: &[u8], p: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..70).step_by(7) {
        let b = *d.get(*p)?;
        *p += 1;
        v |= ((b & 0x7F) as u64).checked_shl(shift)?;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// RAR5: (entries, headers encrypted).
fn rar5(d: &[u8], max: usize) -> (Vec<Entry>, bool, bool) {
    let mut out = Vec::new();
    let mut p = 8usize;
    while out.len() < max {
        let mut q = p + 4; // CRC32
        let Some(hsize) = vint(d, &mut q) else { break };
        let hstart = q;
        let Some(hend) = usize::try_from(hsize)
            .ok()
            .and_then(|s| hstart.checked_add(s))
        else {
            break;
        };
        let (Some(htype), Some(hflags)) = (vint(d, &mut q), vint(d, &mut q)) else {
            break;
        };
        let extra = if hflags & 1 != 0 {
            vint(d, &mut q)
        } else {
            Some(0)
        };
        let data = if hflags & 2 != 0 {
            vint(d, &mut q)
        } else {
            Some(0)
        };
        let (Some(extra), Some(data)) = (extra, data) else {
            break;
        };
        match htype {
            4 => return (out, true, false), // archive encryption header: everything after is encrypted
            2 => {
                let fflags = vint(d, &mut q).unwrap_or(0);
                let size = vint(d, &mut q).unwrap_or(0);
                let _attr = vint(d, &mut q);
                if fflags & 2 != 0 {
                    q += 4;
                }
                if fflags & 4 != 0 {
                    q += 4;
                }
                let _comp = vint(d, &mut q);
                let _os = vint(d, &mut q);
                let nlen = vint(d, &mut q).unwrap_or(0) as usize;
                let name = d
                    .get(q..q.saturating_add(nlen))
                    .map(|n| String::from_utf8_lossy(n).into_owned())
                    .unwrap_or_default();
                // Extra area records: type 1 is file encryption.
                let mut encrypted = false;
                let ex_start = hend.saturating_sub(extra as usize);
                let mut e = ex_start;
                while e < hend {
                    let mut t = e;
                    let Some(rsize) = vint(d, &mut t) else { break };
                    let after_size = t;
                    let Some(rtype) = vint(d, &mut t) else { break };
                    if rtype == 1 {
                        encrypted = true;
                    }
                    let Some(next) = usize::try_from(rsize)
                        .ok()
                        .and_then(|r| after_size.checked_add(r))
                    else {
                        break;
                    };
                    if next <= e {
                        break;
                    }
                    e = next;
                }
                let dir = fflags & 1 != 0;
                if !dir {
                    out.push(Entry {
                        name,
                        size,
                        encrypted,
                    });
                }
            }
            5 => return (out, false, false),
            _ => {}
        }
        let Some(next) = usize::try_from(data)
            .ok()
            .and_then(|dl| hend.checked_add(dl))
        else {
            break;
        };
        if next <= p || next > d.len() {
            return (out, false, next > d.len());
        }
        p = next;
    }
    (out, false, false)
}

/// RAR4 (1.5-4.x): (entries, headers encrypted, truncated).
fn rar4(d: &[u8], max: usize) -> (Vec<Entry>, bool, bool) {
    let u16at = |o: usize| {
        d.get(o..o + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
    };
    let u32at = |o: usize| {
        d.get(o..o + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u64)
    };
    let mut out = Vec::new();
    let mut p = 7usize;
    while out.len() < max {
        let (Some(&htype), Some(flags), Some(hsize)) = (d.get(p + 2), u16at(p + 3), u16at(p + 5))
        else {
            break;
        };
        if hsize < 7 {
            break;
        }
        let mut add = if flags & 0x8000 != 0 {
            u32at(p + 7).unwrap_or(0)
        } else {
            0
        };
        match htype {
            0x73 if flags & 0x0080 != 0 => return (out, true, false),
            0x74 => {
                let size = u32at(p + 11).unwrap_or(0);
                let (mut high_pack, mut high_unp) = (0, 0);
                let mut name_at = p + 32;
                if flags & 0x100 != 0 {
                    high_pack = u32at(p + 32).unwrap_or(0);
                    high_unp = u32at(p + 36).unwrap_or(0);
                    name_at += 8;
                }
                add = add.saturating_add(high_pack << 32);
                let nlen = u16at(p + 26).unwrap_or(0);
                let raw = d.get(name_at..name_at + nlen).unwrap_or_default();
                // Unicode names: the OEM name, a zero, then the encoded Unicode form; the OEM part is enough here.
                let oem = raw.split(|&b| b == 0).next().unwrap_or_default();
                let name = if flags & 0x200 != 0 && raw.contains(&0) {
                    String::from_utf8_lossy(oem).into_owned()
                } else {
                    crate::decode_name(oem, &String::from_utf8_lossy(oem))
                };
                // 0xE0 in the dictionary bits marks a directory.
                if flags & 0xE0 != 0xE0 {
                    out.push(Entry {
                        name,
                        size: size | (high_unp << 32),
                        encrypted: flags & 0x04 != 0,
                    });
                }
            }
            0x7B => break,
            _ => {}
        }
        let Some(next) = usize::try_from(add)
            .ok()
            .and_then(|a| (p + hsize).checked_add(a))
        else {
            break;
        };
        if next > d.len() {
            return (out, false, true);
        }
        p = next;
    }
    (out, false, false)
}

/// Lists a RAR's entries (names checked, encryption reported); contents are not extracted.
pub fn inspect(scan: &mut Scan<'_>, input: &FileInput<'_>, report: &mut FileReport) {
    let part = input.part.as_str();
    let max = scan.limits().max_entries as usize;
    let v5 = input.data.starts_with(b"Rar!\x1a\x07\x01\x00");
    let (entries, headers_encrypted, truncated) = if v5 {
        rar5(input.data, max)
    } else {
        rar4(input.data, max)
    };
    if headers_encrypted {
        report.encrypted = true;
        scan.add(
            &ARCHIVE_ENCRYPTED_UNLISTABLE,
            part,
            "RAR with encrypted headers: file names are hidden",
        );
        return;
    }
    if truncated {
        scan.add(
            &ARCHIVE_CORRUPT,
            part,
            "RAR is truncated (or a volume of a multi-part set)",
        );
    }
    let mut encrypted = Vec::new();
    for e in &entries {
        let cpart = child_part(part, &e.name);
        if !scan.charge_entry(&cpart) {
            break;
        }
        crate::check_name(scan, &cpart, &e.name, None, FileKind::Unknown);
        let mut child = FileReport::new(&e.name, None, FileKind::Unknown, &[]);
        child.size = e.size;
        child.sha256.clear();
        child.encrypted = e.encrypted;
        if e.encrypted {
            report.encrypted = true;
            encrypted.push(e.name.clone());
        }
        report.children.push(child);
    }
    if !encrypted.is_empty() {
        scan.add(
            &ARCHIVE_ENCRYPTED,
            part,
            format!(
                "{} encrypted RAR entries, e.g. {:?}",
                encrypted.len(),
                encrypted[0]
            ),
        );
    }
    scan.add(
        &ARCHIVE_UNSUPPORTED_CONTENT,
        part,
        format!(
            "RAR{} contents not extracted ({} files listed)",
            if v5 { 5 } else { 4 },
            entries.len()
        ),
    );
}
