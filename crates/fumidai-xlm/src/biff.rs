//! BIFF5/BIFF8 `Workbook`/`Book` streams: sheet directory (BOUNDSHEET), defined names (NAME/Lbl),
//! macro-sheet substreams and their formulas, and FILEPASS encryption.
//!
//! The stream is walked once, record by record (u16 type, u16 length). Substreams start with BOF,
//! whose `dt` says what they are (0x0040 = macro sheet); BOF records are never encrypted, so a
//! macro sheet is seen even in an encrypted workbook whose other record bodies are not readable.

use crate::evidence::{is_auto_open_name, Evidence, Visibility};
use crate::ptg::{self, decode_biff8_chars, u16_at, u32_at, Biff};
use encoding_rs::Encoding;
use fumidai_core::Scan;
use std::collections::HashSet;

const BOF: u16 = 0x0809;
const EOF: u16 = 0x000A;
const FORMULA: u16 = 0x0006;
const NAME: u16 = 0x0018;
const FILEPASS: u16 = 0x002F;
const CODEPAGE: u16 = 0x0042;
const BOUNDSHEET: u16 = 0x0085;
const LABEL: u16 = 0x0204;
const STRING: u16 = 0x0207;

const DT_MACRO_SHEET: u16 = 0x0040;
const SHEET_TYPE_MACRO: u8 = 0x01;
/// BOUNDSHEET read from an encrypted workbook: only the offset is known.
const SHEET_TYPE_UNKNOWN: u8 = 0xFF;

const MAX_SHEETS: usize = 4096;
const MAX_SUBSTREAMS: usize = 4096;

/// One BOUNDSHEET entry.
struct SheetEntry {
    offset: u32,
    visibility: Visibility,
    sheet_type: u8,
    name: String,
}

/// What one pass over the stream found.
pub(crate) struct Parsed {
    pub evidence: Evidence,
    /// FILEPASS was met (and not already decrypted): record bodies after it are ciphertext.
    pub encrypted: bool,
}

/// Whether `stream` starts like a BIFF5/BIFF8 stream (a BOF record).
pub(crate) fn looks_like_biff(stream: &[u8]) -> bool {
    u16_at(stream, 0) == Some(BOF)
}

/// Walks the stream once. `decrypted` says FILEPASS is a leftover of decryption, not a barrier.
pub(crate) fn parse(scan: &mut Scan<'_>, part: &str, stream: &[u8], decrypted: bool) -> Parsed {
    let mut ev = Evidence::default();
    let mut encrypted = false;
    let version = match (u16_at(stream, 0), u16_at(stream, 4)) {
        (Some(BOF), Some(0x0600)) => Biff::V8,
        (Some(BOF), Some(_)) => Biff::V5,
        _ => {
            return Parsed {
                evidence: ev,
                encrypted,
            };
        }
    };
    let mut codepage: &'static Encoding = encoding_rs::WINDOWS_1252;
    let mut sheets: Vec<SheetEntry> = Vec::new();
    // Offsets of sheets listed as macro sheets: every BOF looks itself up here (a scan of `sheets` per
    // BOF was quadratic on streams of empty BOF records).
    let mut macro_offsets: HashSet<u32> = HashSet::new();
    // (offset, dt) of every substream BOF after the first.
    let mut substreams: Vec<(u32, u16)> = Vec::new();
    let mut in_macro = false;
    let mut depth = 0u32;
    let mut pos = 0usize;
    let mut records = 0u32;

    while let (Some(rt), Some(len)) = (u16_at(stream, pos), u16_at(stream, pos + 2)) {
        let start = pos + 4;
        let end = start + len as usize;
        let Some(data) = stream.get(start..end) else {
            break;
        };
        records = records.wrapping_add(1);
        if records.is_multiple_of(4096) && !scan.within_time(part) {
            break;
        }
        match rt {
            BOF => {
                depth = depth.saturating_add(1);
                let dt = u16_at(data, 2).unwrap_or(0);
                if pos > 0 && substreams.len() < MAX_SUBSTREAMS {
                    substreams.push((pos as u32, dt));
                }
                let listed_macro =
                    !encrypted && u32::try_from(pos).is_ok_and(|p| macro_offsets.contains(&p));
                in_macro = pos > 0 && (dt == DT_MACRO_SHEET || listed_macro);
            }
            EOF => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    in_macro = false;
                }
            }
            // Every body past FILEPASS is ciphertext except BOUNDSHEET's lbPlyPos.
            BOUNDSHEET if encrypted && sheets.len() < MAX_SHEETS => {
                if let Some(offset) = u32_at(data, 0) {
                    let visibility = Visibility::Visible;
                    sheets.push(SheetEntry {
                        offset,
                        visibility,
                        sheet_type: SHEET_TYPE_UNKNOWN,
                        name: String::new(),
                    });
                }
            }
            _ if encrypted => {}
            FILEPASS if !decrypted => encrypted = true,
            CODEPAGE => {
                if let Some(cp) = u16_at(data, 0) {
                    codepage = encoding_for_codepage(cp);
                }
            }
            BOUNDSHEET if sheets.len() < MAX_SHEETS => {
                if let Some(s) = boundsheet(data, version, codepage) {
                    if s.sheet_type == SHEET_TYPE_MACRO {
                        macro_offsets.insert(s.offset);
                    }
                    sheets.push(s);
                }
            }
            NAME => defined_name(data, version, codepage, &mut ev),
            FORMULA if in_macro => {
                // Cell (6), value (8), flags (2), chn (4), then cce and rgce.
                if let Some(cce) = u16_at(data, 20) {
                    let rgce = data.get(22..).unwrap_or(&[]);
                    let rgce = rgce.get(..cce as usize).unwrap_or(rgce);
                    ptg::walk(rgce, version, codepage, &mut ev);
                }
            }
            STRING if in_macro => {
                if let Some(s) = unicode_string(data, version, codepage) {
                    ev.add_string(&s);
                }
            }
            LABEL if in_macro => {
                if let Some(s) = unicode_string(data.get(6..).unwrap_or(&[]), version, codepage) {
                    ev.add_string(&s);
                }
            }
            _ => {}
        }
        pos = end;
    }

    let macro_bofs: HashSet<u32> = substreams
        .iter()
        .filter(|&&(_, dt)| dt == DT_MACRO_SHEET)
        .map(|&(o, _)| o)
        .collect();
    let sheet_offsets: HashSet<u32> = sheets.iter().map(|s| s.offset).collect();
    for s in &sheets {
        let bof_macro = macro_bofs.contains(&s.offset);
        let listed_macro = s.sheet_type == SHEET_TYPE_MACRO && !encrypted;
        if bof_macro || listed_macro {
            if encrypted {
                // Name and state are ciphertext; only the offset is clear.
                ev.add_marker(format!(
                    "macro-sheet substream at offset {} (encrypted workbook)",
                    s.offset
                ));
            } else {
                ev.add_sheet(s.name.clone(), s.visibility);
            }
        }
    }
    for &(o, dt) in &substreams {
        if dt == DT_MACRO_SHEET && !sheet_offsets.contains(&o) {
            let note = if encrypted {
                " (encrypted workbook)"
            } else {
                ""
            };
            ev.add_marker(format!("macro-sheet substream at offset {o}{note}"));
        }
    }
    Parsed {
        evidence: ev,
        encrypted,
    }
}

/// BOUNDSHEET: lbPlyPos (u32), hsState (u8), dt (u8), name.
fn boundsheet(data: &[u8], v: Biff, codepage: &'static Encoding) -> Option<SheetEntry> {
    let offset = u32_at(data, 0)?;
    let state = *data.get(4)?;
    let sheet_type = *data.get(5)?;
    let name = short_string(data.get(6..)?, v, codepage).unwrap_or_default();
    Some(SheetEntry {
        offset,
        visibility: Visibility::from_state(state as u32),
        sheet_type,
        name,
    })
}

/// NAME (BIFF5) / Lbl (BIFF8): flags (u16), chKey, cch, cce, 8 more bytes, then the name.
fn defined_name(data: &[u8], v: Biff, codepage: &'static Encoding, ev: &mut Evidence) {
    let (Some(flags), Some(&cch)) = (u16_at(data, 0), data.get(3)) else {
        return;
    };
    let builtin = flags & 0x0020 != 0;
    let name = match v {
        Biff::V8 => {
            let Some(&high) = data.get(14) else { return };
            let high = high & 1 != 0;
            let n = cch as usize * if high { 2 } else { 1 };
            match data.get(15..15 + n) {
                Some(raw) => decode_biff8_chars(raw, high),
                None => return,
            }
        }
        _ => match data.get(14..14 + cch as usize) {
            Some(raw) => codepage.decode_without_bom_handling(raw).0.into_owned(),
            None => return,
        },
    };
    if builtin {
        if name.starts_with('\u{1}') {
            ev.add_auto_open("built-in name Auto_Open".to_owned());
        }
    } else if is_auto_open_name(&name) {
        ev.add_auto_open(format!("defined name '{}'", crate::evidence::clean(&name)));
    }
}

/// BIFF8 ShortXLUnicodeString (cch u8, flags, chars) or BIFF5 byte string (cch u8, bytes).
fn short_string(b: &[u8], v: Biff, codepage: &'static Encoding) -> Option<String> {
    let cch = *b.first()? as usize;
    match v {
        Biff::V8 => {
            let high = *b.get(1)? & 1 != 0;
            let raw = b.get(2..2 + cch * if high { 2 } else { 1 })?;
            Some(decode_biff8_chars(raw, high))
        }
        _ => Some(
            codepage
                .decode_without_bom_handling(b.get(1..1 + cch)?)
                .0
                .into_owned(),
        ),
    }
}

/// BIFF8 XLUnicodeString (cch u16, flags, chars) or BIFF5 (cch u16, bytes). A string cut by
/// CONTINUE is read as far as this record goes, which is enough for keyword checks.
fn unicode_string(b: &[u8], v: Biff, codepage: &'static Encoding) -> Option<String> {
    let cch = u16_at(b, 0)? as usize;
    match v {
        Biff::V8 => {
            let high = *b.get(2)? & 1 != 0;
            let rest = b.get(3..)?;
            let n = (cch * if high { 2 } else { 1 }).min(rest.len());
            Some(decode_biff8_chars(rest.get(..n)?, high))
        }
        _ => {
            let rest = b.get(2..)?;
            let n = cch.min(rest.len());
            Some(
                codepage
                    .decode_without_bom_handling(rest.get(..n)?)
                    .0
                    .into_owned(),
            )
        }
    }
}

/// The encoding of a Windows code page from a CODEPAGE record (BIFF5 strings).
fn encoding_for_codepage(cp: u16) -> &'static Encoding {
    match cp {
        874 => encoding_rs::WINDOWS_874,
        932 => encoding_rs::SHIFT_JIS,
        936 => encoding_rs::GBK,
        949 => encoding_rs::EUC_KR,
        950 => encoding_rs::BIG5,
        1200 => encoding_rs::UTF_16LE,
        1250 => encoding_rs::WINDOWS_1250,
        1251 => encoding_rs::WINDOWS_1251,
        1253 => encoding_rs::WINDOWS_1253,
        1254 => encoding_rs::WINDOWS_1254,
        1255 => encoding_rs::WINDOWS_1255,
        1256 => encoding_rs::WINDOWS_1256,
        1257 => encoding_rs::WINDOWS_1257,
        1258 => encoding_rs::WINDOWS_1258,
        10000 => encoding_rs::MACINTOSH,
        _ => encoding_rs::WINDOWS_1252,
    }
}
