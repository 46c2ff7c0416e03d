//! A light reader of a ZIP's central directory (names only) for sniffing OOXML/ODF/JAR, without the zip crate.

use fumidai_core::FileKind;
use memchr::memmem;
use std::io::Read;

/// Names listed for sniffing, at most this many (enough to see the parts that matter).
const MAX_NAMES: usize = 4096;

fn u16le(d: &[u8], o: usize) -> Option<usize> {
    let b = d.get(o..o.checked_add(2)?)?;
    Some(u16::from_le_bytes([b[0], b[1]]) as usize)
}

fn u32le(d: &[u8], o: usize) -> Option<usize> {
    let b = d.get(o..o.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
}

/// One central directory record: name, method, sizes and local header offset.
pub struct CdEntry<'d> {
    pub name: &'d [u8],
    pub method: usize,
    pub compressed: usize,
    pub local_offset: usize,
}

/// The end-of-central-directory record's offset, searched in the last 64 KiB.
pub fn find_eocd(d: &[u8]) -> Option<usize> {
    let from = d.len().saturating_sub(65_557);
    memmem::rfind(d.get(from..)?, b"PK\x05\x06").map(|p| from + p)
}

/// Central directory entries (bounded). Empty when there is no usable directory.
pub fn central_entries(d: &[u8]) -> Vec<CdEntry<'_>> {
    let mut out = Vec::new();
    let Some(eocd) = find_eocd(d) else {
        return out;
    };
    let (Some(cd_size), Some(cd_off)) = (u32le(d, eocd + 12), u32le(d, eocd + 16)) else {
        return out;
    };
    // Data prepended to the ZIP (self-extractors, polyglots) shifts every offset.
    let shift = eocd.saturating_sub(cd_off.saturating_add(cd_size));
    let mut p = cd_off.saturating_add(shift);
    while out.len() < MAX_NAMES && d.get(p..p + 4) == Some(b"PK\x01\x02") {
        let (Some(method), Some(csize), Some(nlen), Some(xlen), Some(clen), Some(loff)) = (
            u16le(d, p + 10),
            u32le(d, p + 20),
            u16le(d, p + 28),
            u16le(d, p + 30),
            u16le(d, p + 32),
            u32le(d, p + 42),
        ) else {
            break;
        };
        let Some(name) = d.get(p + 46..p + 46 + nlen) else {
            break;
        };
        out.push(CdEntry {
            name,
            method,
            compressed: csize,
            local_offset: loff.saturating_add(shift),
        });
        p = p + 46 + nlen + xlen + clen;
    }
    out
}

/// Names from local headers, walking from the start (for ZIPs without a readable central directory).
fn local_names(d: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut p = memmem::find(d.get(..64).unwrap_or(d), b"PK\x03\x04").unwrap_or(0);
    while out.len() < 64 && d.get(p..p + 4) == Some(b"PK\x03\x04") {
        let (Some(csize), Some(nlen), Some(xlen)) =
            (u32le(d, p + 18), u16le(d, p + 26), u16le(d, p + 28))
        else {
            break;
        };
        let Some(name) = d.get(p + 30..p + 30 + nlen) else {
            break;
        };
        out.push(name);
        p = p + 30 + nlen + xlen + csize;
    }
    out
}

/// The bytes of an entry (stored, or deflated and inflated up to `cap`).
pub fn entry_bytes(d: &[u8], e: &CdEntry<'_>, cap: u64) -> Option<Vec<u8>> {
    let p = e.local_offset;
    if d.get(p..p + 4) != Some(b"PK\x03\x04") {
        return None;
    }
    let start = p + 30 + u16le(d, p + 26)? + u16le(d, p + 28)?;
    let raw = d.get(start..start.checked_add(e.compressed)?.min(d.len()))?;
    match e.method {
        0 => Some(raw.get(..(cap as usize).min(raw.len()))?.to_vec()),
        8 => {
            let mut out = Vec::new();
            let _ = flate2::read::DeflateDecoder::new(raw)
                .take(cap)
                .read_to_end(&mut out);
            Some(out)
        }
        _ => None,
    }
}

fn ci_contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// ZIP subtype from part names: OOXML (by content types and parts), ODF, JAR, or plain ZIP.
pub fn zip_kind(d: &[u8]) -> FileKind {
    let cd = central_entries(d);
    let names: Vec<&[u8]> = if cd.is_empty() {
        local_names(d)
    } else {
        cd.iter().map(|e| e.name).collect()
    };
    let has = |n: &[u8]| names.iter().any(|x| x.eq_ignore_ascii_case(n));
    let prefix = |p: &[u8]| {
        names
            .iter()
            .any(|x| x.len() >= p.len() && x[..p.len()].eq_ignore_ascii_case(p))
    };
    if has(b"[Content_Types].xml") {
        let ct = cd
            .iter()
            .find(|e| e.name.eq_ignore_ascii_case(b"[Content_Types].xml"))
            .and_then(|e| entry_bytes(d, e, 256 << 10))
            .unwrap_or_default();
        let macro_ct = ci_contains(&ct, b"macroEnabled");
        let vba = names
            .iter()
            .any(|n| n.len() >= 14 && n[n.len() - 14..].eq_ignore_ascii_case(b"vbaProject.bin"));
        let macros = macro_ct || vba;
        if prefix(b"word/") {
            return if macros {
                FileKind::Docm
            } else {
                FileKind::Docx
            };
        }
        if prefix(b"xl/") {
            if has(b"xl/workbook.bin") {
                return FileKind::Xlsb;
            }
            return if macros || prefix(b"xl/macrosheets/") {
                FileKind::Xlsm
            } else {
                FileKind::Xlsx
            };
        }
        if prefix(b"ppt/") {
            return if macros {
                FileKind::Pptm
            } else {
                FileKind::Pptx
            };
        }
        return FileKind::Zip;
    }
    if has(b"mimetype") {
        let mt = cd
            .iter()
            .find(|e| e.name == b"mimetype")
            .and_then(|e| entry_bytes(d, e, 256))
            .or_else(|| {
                d.get(30..38)
                    .filter(|n| *n == b"mimetype")
                    .and_then(|_| d.get(38..120))
                    .map(<[u8]>::to_vec)
            })
            .unwrap_or_default();
        if mt.starts_with(b"application/vnd.oasis.opendocument") {
            return FileKind::Odf;
        }
    }
    if has(b"META-INF/MANIFEST.MF")
        || names
            .iter()
            .any(|n| n.len() > 6 && n[n.len() - 6..].eq_ignore_ascii_case(b".class"))
    {
        return FileKind::Jar;
    }
    FileKind::Zip
}
