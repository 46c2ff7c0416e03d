//! File kind from magic bytes and a little structure. Looks at a few fixed offsets and, for ZIPs, at the
//! central directory's names (plus `[Content_Types].xml`, inflated under a small cap): never the whole file.

use crate::zipdir;
use fumidai_core::FileKind;

const OLE2: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
const ONENOTE: &[u8] = &[
    0xE4, 0x52, 0x5C, 0x7B, 0x8C, 0xD8, 0xA7, 0x4D, 0xAE, 0xB1, 0x53, 0x78, 0xD0, 0x29, 0x96, 0xD3,
];
const LNK: &[u8] = &[
    0x4C, 0, 0, 0, 0x01, 0x14, 0x02, 0, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46,
];
/// The EICAR anti-malware test string.
pub const EICAR: &[u8] = br"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

fn at(data: &[u8], off: usize, magic: &[u8]) -> bool {
    data.get(off..off.saturating_add(magic.len())) == Some(magic)
}

fn u32le(data: &[u8], off: usize) -> Option<u32> {
    let b = data.get(off..off.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// What the bytes are, from magic numbers and structure.
pub fn sniff(data: &[u8]) -> FileKind {
    if let Some(k) = sniff_binary(data) {
        return k;
    }
    sniff_text(data)
}

fn sniff_binary(d: &[u8]) -> Option<FileKind> {
    if at(d, 0, b"MZ") {
        let pe = u32le(d, 0x3c)
            .map(|o| at(d, o as usize, b"PE\0\0"))
            .unwrap_or(false);
        return Some(if pe { FileKind::Pe } else { FileKind::DosCom });
    }
    if at(d, 0, b"\x7fELF") {
        return Some(FileKind::Elf);
    }
    if let Some(m) = d.get(0..4) {
        match m {
            [0xFE, 0xED, 0xFA, 0xCE | 0xCF] | [0xCE | 0xCF, 0xFA, 0xED, 0xFE] => {
                return Some(FileKind::MachO)
            }
            // CAFEBABE is both a fat Mach-O and a Java class; fat binaries hold few architectures.
            [0xCA, 0xFE, 0xBA, 0xBE] => {
                let n = d
                    .get(4..8)
                    .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
                    .unwrap_or(0);
                return Some(if (1..30).contains(&n) {
                    FileKind::MachO
                } else {
                    FileKind::Unknown
                });
            }
            _ => {}
        }
    }
    if at(d, 0, OLE2) {
        return Some(FileKind::Ole2);
    }
    if at(d, 0, b"PK\x03\x04")
        || at(d, 0, b"PK\x05\x06")
        || at(d, 0, b"PK\x07\x08")
        || at(d, 0, b"PK00PK")
    {
        return Some(zipdir::zip_kind(d));
    }
    if at(d, 0, b"Rar!\x1a\x07\x00") || at(d, 0, b"Rar!\x1a\x07\x01\x00") {
        return Some(FileKind::Rar);
    }
    if at(d, 0, b"7z\xBC\xAF\x27\x1C") {
        return Some(FileKind::SevenZip);
    }
    if at(d, 0, &[0x1F, 0x8B, 0x08]) {
        return Some(FileKind::Gzip);
    }
    if at(d, 0, b"BZh") && at(d, 4, &[0x31, 0x41, 0x59, 0x26, 0x53, 0x59]) {
        return Some(FileKind::Bzip2);
    }
    if at(d, 0, &[0xFD, b'7', b'z', b'X', b'Z', 0]) {
        return Some(FileKind::Xz);
    }
    if at(d, 0, b"MSCF\0\0\0\0") {
        return Some(FileKind::Cab);
    }
    if at(d, 2, b"-l") && at(d, 6, b"-") && matches!(d.get(4), Some(b'h' | b'z')) {
        return Some(FileKind::Lzh);
    }
    if at(d, 0, b"%PDF") {
        return Some(FileKind::Pdf);
    }
    if at(d, 0, b"{\\rt") {
        return Some(FileKind::Rtf);
    }
    if at(d, 0, ONENOTE) {
        return Some(FileKind::OneNote);
    }
    if at(d, 0, LNK) {
        return Some(FileKind::Lnk);
    }
    if at(d, 0, b"\x89PNG\r\n\x1a\n") {
        return Some(FileKind::Png);
    }
    if at(d, 0, &[0xFF, 0xD8, 0xFF]) {
        return Some(FileKind::Jpeg);
    }
    if at(d, 0, b"GIF87a") || at(d, 0, b"GIF89a") {
        return Some(FileKind::Gif);
    }
    if at(d, 0, b"BM") && matches!(u32le(d, 14), Some(12 | 40 | 52 | 56 | 64 | 108 | 124)) {
        return Some(FileKind::Bmp);
    }
    if at(d, 0, b"II*\0") || at(d, 0, b"MM\0*") {
        return Some(FileKind::Tiff);
    }
    if at(d, 0, b"RIFF") && at(d, 8, b"WEBP") {
        return Some(FileKind::Webp);
    }
    if at(d, 0, b"vhdxfile") || at(d, 0, b"conectix") {
        return Some(FileKind::Vhd);
    }
    if d.len() >= 512 && d.len().is_multiple_of(512) && at(d, d.len() - 512, b"conectix") {
        return Some(FileKind::Vhd);
    }
    if at(d, 257, b"ustar") {
        return Some(FileKind::Tar);
    }
    if [0x8001usize, 0x8801, 0x9001]
        .iter()
        .any(|&o| at(d, o, b"CD001"))
    {
        return Some(FileKind::Iso);
    }
    if (0..8usize).any(|i| {
        let o = 0x8001 + i * 0x800;
        at(d, o, b"BEA01") || at(d, o, b"NSR02") || at(d, o, b"NSR03")
    }) {
        return Some(FileKind::Udf);
    }
    if at(d, 0, EICAR)
        && d.get(EICAR.len()..)
            .is_some_and(|rest| rest.len() <= 60 && rest.iter().all(u8::is_ascii_whitespace))
    {
        return Some(FileKind::Eicar);
    }
    // %PDF is honoured by readers anywhere in the first KiB.
    if memchr::memmem::find(d.get(..1024).unwrap_or(d), b"%PDF-").is_some() {
        return Some(FileKind::Pdf);
    }
    None
}

fn starts_ci(s: &[u8], prefix: &[u8]) -> bool {
    s.get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
}

fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

fn sniff_text(data: &[u8]) -> FileKind {
    let head = data.get(..4096).unwrap_or(data);
    // UTF-16 with a BOM: look at the low bytes only.
    let utf16: Vec<u8>;
    let (body, is_utf16) = if let Some(rest) = head.strip_prefix(&[0xFF, 0xFE]) {
        utf16 = rest
            .chunks(2)
            .map(|c| if c.get(1) == Some(&0) { c[0] } else { 0xFF })
            .collect();
        (&utf16[..], true)
    } else if let Some(rest) = head.strip_prefix(&[0xFE, 0xFF]) {
        utf16 = rest
            .chunks(2)
            .map(|c| {
                if c[0] == 0 {
                    *c.get(1).unwrap_or(&0xFF)
                } else {
                    0xFF
                }
            })
            .collect();
        (&utf16[..], true)
    } else {
        (
            head.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(head),
            false,
        )
    };
    let start = body
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(body.len());
    let t = body.get(start..).unwrap_or_default();
    if starts_ci(t, b"id;p") || starts_ci(t, b"id;") && t.len() < 4096 && data.starts_with(b"ID;") {
        return FileKind::Slk;
    }
    if starts_ci(t, b"<") {
        let near = t.get(..1024).unwrap_or(t);
        if contains_ci(head, b"<hta:application") {
            return FileKind::Hta;
        }
        if starts_ci(t, b"<job")
            || starts_ci(t, b"<package")
            || (starts_ci(t, b"<?xml")
                && (contains_ci(near, b"<job") || contains_ci(near, b"<package>")))
        {
            return FileKind::Wsf;
        }
        for tag in [
            &b"<!doctype html"[..],
            b"<html",
            b"<script",
            b"<body",
            b"<head",
            b"<meta",
            b"<iframe",
        ] {
            if starts_ci(t, tag) {
                return FileKind::Html;
            }
        }
        if starts_ci(t, b"<?xml") {
            return if contains_ci(near, b"<html") {
                FileKind::Html
            } else {
                FileKind::Xml
            };
        }
        if starts_ci(t, b"<!--") && (contains_ci(near, b"<html") || contains_ci(near, b"<script")) {
            return FileKind::Html;
        }
    }
    if starts_ci(t, b"#!") || starts_ci(t, b"@echo off") {
        return FileKind::Batch;
    }
    if looks_like_message(t) {
        return FileKind::Message;
    }
    if is_utf16 || is_text(head) {
        return FileKind::Text;
    }
    FileKind::Unknown
}

const MAIL_HEADERS: &[&[u8]] = &[
    b"received:",
    b"return-path:",
    b"from:",
    b"to:",
    b"mime-version:",
    b"message-id:",
    b"date:",
    b"subject:",
    b"delivered-to:",
    b"content-type:",
    b"reply-to:",
    b"cc:",
    b"x-",
];

/// The first lines are mail headers (`Name: value`), the first one a known header: at least two known ones,
/// or one followed by the blank line that ends the header block. An mbox `From ` line may come first.
fn looks_like_message(t: &[u8]) -> bool {
    let mut known = 0;
    let mut lines = t.split(|&b| b == b'\n').take(24).peekable();
    if lines.peek().is_some_and(|l| l.starts_with(b"From ")) {
        lines.next();
    }
    for (i, line) in lines.enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            return known >= 1;
        }
        if line.first().is_some_and(|b| *b == b' ' || *b == b'\t') && i > 0 {
            continue; // folded continuation
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return false;
        };
        let name = &line[..colon];
        if name.is_empty() || !name.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-') {
            return false;
        }
        if MAIL_HEADERS.iter().any(|h| starts_ci(line, h)) {
            known += 1;
        } else if i == 0 {
            return false;
        }
        if known >= 2 {
            return true;
        }
    }
    false
}

/// Valid UTF-8 or Shift_JIS without control characters (ESC allowed for ISO-2022-JP).
fn is_text(head: &[u8]) -> bool {
    if head.is_empty() {
        return false;
    }
    let ok_ctl = |b: &u8| *b >= 0x20 || matches!(*b, b'\t' | b'\n' | b'\r' | 0x0c | 0x1b);
    if !head.iter().all(ok_ctl) {
        return false;
    }
    match std::str::from_utf8(head) {
        Ok(_) => return true,
        // A multibyte character cut by the 4 KiB window is fine.
        Err(e) if e.error_len().is_none() => return true,
        Err(_) => {}
    }
    let sjis_ok = |b: &[u8]| !encoding_rs::SHIFT_JIS.decode_without_bom_handling(b).1;
    // A two-byte character may be cut by the 4 KiB window.
    sjis_ok(head) || (head.len() == 4096 && sjis_ok(&head[..4095]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_kinds() {
        assert_eq!(sniff(b"  <!DOCTYPE html><html>"), FileKind::Html);
        assert_eq!(
            sniff(b"\xEF\xBB\xBF<Script>alert(1)</script>"),
            FileKind::Html
        );
        assert_eq!(sniff(b"<html><HTA:APPLICATION id=x>"), FileKind::Hta);
        assert_eq!(sniff(b"<job id=a><script language=JScript>"), FileKind::Wsf);
        assert_eq!(sniff(b"<?xml version=\"1.0\"?><root/>"), FileKind::Xml);
        assert_eq!(sniff(b"@ECHO OFF\r\nstart x"), FileKind::Batch);
        assert_eq!(
            sniff(b"Received: from a\r\n by b\r\nSubject: hi\r\n\r\nbody"),
            FileKind::Message
        );
        assert_eq!(sniff(b"Hello: world\nthis is text"), FileKind::Text);
        assert_eq!(sniff("請求書を送ります".as_bytes()), FileKind::Text);
        let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode("請求書を送ります");
        assert_eq!(sniff(&sjis), FileKind::Text);
        assert_eq!(sniff(b"\x00\x01\x02binary"), FileKind::Unknown);
        assert_eq!(sniff(b"ID;PWXL;N;E\r\n"), FileKind::Slk);
    }

    #[test]
    fn binary_kinds() {
        let mut pe = vec![0u8; 256];
        pe[0..2].copy_from_slice(b"MZ");
        pe[0x3c] = 0x80;
        pe[0x80..0x84].copy_from_slice(b"PE\0\0");
        assert_eq!(sniff(&pe), FileKind::Pe);
        pe[0x80] = b'X';
        assert_eq!(sniff(&pe), FileKind::DosCom);
        let mut eicar = EICAR.to_vec();
        assert_eq!(sniff(&eicar), FileKind::Eicar);
        eicar.extend_from_slice(b"\r\n");
        assert_eq!(sniff(&eicar), FileKind::Eicar);
        eicar.extend_from_slice(b"more");
        assert_ne!(sniff(&eicar), FileKind::Eicar);
        let mut iso = vec![0u8; 0x9000];
        iso[0x8001..0x8006].copy_from_slice(b"CD001");
        assert_eq!(sniff(&iso), FileKind::Iso);
        let mut tar = vec![0u8; 1024];
        tar[257..262].copy_from_slice(b"ustar");
        assert_eq!(sniff(&tar), FileKind::Tar);
        assert_eq!(sniff(b"junk\n%PDF-1.7\n"), FileKind::Pdf);
        assert_eq!(sniff(b"{\\rtf1\\ansi"), FileKind::Rtf);
        assert_eq!(sniff(b"\x1f\x8b\x08\x00"), FileKind::Gzip);
    }
}
