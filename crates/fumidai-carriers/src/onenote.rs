//! OneNote sections (.one): embedded files are stored in FileDataStoreObject blocks, found here by their
//! GUID rather than by walking the revision store (which hostile files break easily).

use crate::bytes::{clip, u64le, utf16};
use crate::findings::{ONENOTE_EMBEDDED_FILE, ONENOTE_EMBEDDED_SCRIPT, ONENOTE_FILE};
use crate::sniff::{risky_extension, sniff, Sniffed};
use fumidai_core::{FileInput, FileKind, FileReport, Scan};

/// {7B5C52E4-D88C-4DA7-AEB1-5378D02996D3}, the .one file format GUID, as stored (little-endian fields).
pub const ONE_GUID: [u8; 16] = [
    0xE4, 0x52, 0x5C, 0x7B, 0x8C, 0xD8, 0xA7, 0x4D, 0xAE, 0xB1, 0x53, 0x78, 0xD0, 0x29, 0x96, 0xD3,
];
/// {BDE316E7-2665-4511-A4C4-8D4D0B7A9EAC}, the FileDataStoreObject header GUID.
pub const FILE_DATA_GUID: [u8; 16] = [
    0xE7, 0x16, 0xE3, 0xBD, 0x65, 0x26, 0x11, 0x45, 0xA4, 0xC4, 0x8D, 0x4D, 0x0B, 0x7A, 0x9E, 0xAC,
];
/// GUID, cbLength (8), unused (4), reserved (8), then the file data.
const HEADER_LEN: usize = 36;
/// Names gathered from the property sets: more than this is noise.
const MAX_NAMES: usize = 256;

/// One file embedded in a section: where its data lies in the section.
#[derive(Debug, Clone, PartialEq)]
pub struct Embedded {
    pub offset: usize,
    pub len: usize,
    /// cbLength said more than the section holds.
    pub truncated: bool,
}

/// Every FileDataStoreObject of `d`, data capped by the input and by `max_len`.
pub fn embedded_files(d: &[u8], max_len: usize) -> Vec<Embedded> {
    let mut out = Vec::new();
    let mut from = 0usize;
    while let Some(rel) = d
        .get(from..)
        .and_then(|r| memchr::memmem::find(r, &FILE_DATA_GUID))
    {
        let at = from + rel;
        let Some(declared) = u64le(d, at + 16) else {
            break;
        };
        let offset = at + HEADER_LEN;
        let avail = d.len().saturating_sub(offset);
        let len = usize::try_from(declared)
            .unwrap_or(usize::MAX)
            .min(avail)
            .min(max_len);
        out.push(Embedded {
            offset,
            len,
            truncated: declared > avail as u64,
        });
        // Skip the data itself: an embedded .one must not be split up here; it is inspected as a child.
        from = offset.saturating_add(len).max(at + 16);
    }
    out
}

/// File names written in the section's property sets (UTF-16 runs that end in an extension), outside
/// the embedded data; the basename only.
pub fn file_names(d: &[u8], skip: &[Embedded]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut i = 0usize;
    while i + 1 < d.len() && names.len() < MAX_NAMES {
        if let Some(e) = skip.iter().find(|e| i >= e.offset && i < e.offset + e.len) {
            i = e.offset + e.len;
            continue;
        }
        let start = i;
        // ASCII, Latin and Japanese units; a unit whose low byte is 0 is misaligned ASCII and ends the run.
        while let Some(u) = crate::bytes::u16le(d, i) {
            let ok = (0x20..0x7F).contains(&u)
                || ((0xA0..0x3000).contains(&u)
                    || (0x3000..0xA000).contains(&u)
                    || (0xFF00..0xFFF0).contains(&u))
                    && u & 0xFF != 0;
            if !ok {
                break;
            }
            i += 2;
        }
        if i - start >= 10 {
            let s = utf16(d.get(start..i).unwrap_or(&[]));
            if let Some(n) = as_file_name(&s) {
                if !names.contains(&n) {
                    names.push(n);
                }
            }
        }
        i = if i == start { i + 1 } else { i };
    }
    names
}

fn as_file_name(s: &str) -> Option<String> {
    if s.starts_with('<') || s.contains(['<', '>', '"', '|', '*', '?']) {
        return None;
    }
    let base = s.rsplit(['\\', '/']).next()?.trim();
    let (stem, ext) = base.rsplit_once('.')?;
    let ok_ext = (1..=5).contains(&ext.len()) && ext.bytes().all(|b| b.is_ascii_alphanumeric());
    (ok_ext && !stem.trim().is_empty() && base.chars().count() <= 200).then(|| base.to_owned())
}

fn family(ext: &str) -> u8 {
    match ext {
        "docx" | "docm" | "dotx" | "dotm" | "xlsx" | "xlsm" | "xlsb" | "pptx" | "pptm" | "ppsx"
        | "zip" | "jar" => 1,
        "doc" | "xls" | "ppt" | "msg" | "msi" | "dot" | "xlt" | "pps" => 2,
        "png" | "jpg" | "jpeg" | "gif" | "bmp" | "tif" | "tiff" | "emf" | "wmf" => 3,
        "exe" | "dll" | "scr" | "com" | "pif" | "cpl" => 4,
        "txt" | "bat" | "cmd" | "hta" | "js" | "jse" | "vbs" | "vbe" | "wsf" | "ps1" | "htm"
        | "html" | "csv" | "bin" => 5,
        _ => 0,
    }
}

/// Whether a name's extension could belong to data sniffed as `s`.
fn fits(name: &str, s: &Sniffed) -> bool {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    ext == s.ext || (family(&ext) != 0 && family(&ext) == family(s.ext))
}

pub fn inspect(scan: &mut Scan<'_>, input: &FileInput<'_>, report: &mut FileReport) {
    let d = input.data;
    report.detected_type = FileKind::OneNote;
    let max = usize::try_from(scan.limits().max_file_bytes).unwrap_or(usize::MAX);
    let files = embedded_files(d, max);
    let names = file_names(d, &files);
    let mut used = vec![false; names.len()];
    let mut summary = Vec::new();
    for (n, e) in files.iter().enumerate() {
        if scan.exhausted() || !scan.charge_entry(&input.part) {
            break;
        }
        let data = d.get(e.offset..e.offset + e.len).unwrap_or(&[]);
        let sniffed = sniff(data);
        let pick = names
            .iter()
            .enumerate()
            .position(|(k, nm)| !used[k] && fits(nm, &sniffed));
        let name = match pick {
            Some(k) => {
                used[k] = true;
                names[k].clone()
            }
            None => format!("embedded_{}.{}", n + 1, sniffed.ext),
        };
        let child = scan.inspect_child(&input.part, &name, data);
        let part = child_part(&input.part, &name);
        let mut detail = format!("{name}: {} bytes, {}", e.len, sniffed.label);
        if e.truncated {
            detail.push_str(" (truncated)");
        }
        scan.add(&ONENOTE_EMBEDDED_FILE, &part, detail);
        if sniffed.runs_code || risky_extension(&name) {
            scan.add(
                &ONENOTE_EMBEDDED_SCRIPT,
                &part,
                format!("{name} ({})", sniffed.label),
            );
        }
        summary.push(name);
        report.children.push(child);
    }
    // A risky name left over was not matched to data here (compressed or split storage): still telling.
    for (k, nm) in names.iter().enumerate() {
        if !used[k] && risky_extension(nm) {
            scan.add(
                &ONENOTE_EMBEDDED_SCRIPT,
                &input.part,
                format!("names an embedded {nm}"),
            );
        }
    }
    let mut detail = if d.starts_with(&ONE_GUID) {
        format!("{} embedded file(s)", files.len())
    } else {
        format!("no OneNote header; {} embedded file(s)", files.len())
    };
    if !summary.is_empty() {
        detail.push_str(&format!(": {}", clip(&summary.join(", "), 300)));
    }
    scan.add(&ONENOTE_FILE, &input.part, detail);
}

fn child_part(parent: &str, name: &str) -> String {
    fumidai_core::child_part(parent, name)
}
