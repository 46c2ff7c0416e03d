//! Walks a parsed-formula token stream (Rgce) far enough to see the functions it calls and
//! the string constants it holds. BIFF5, BIFF8 and BIFF12 (XLSB) differ in operand sizes only.
//! An unknown token ends the walk: what came before is kept.

use crate::evidence::Evidence;
use crate::ftab;
use encoding_rs::Encoding;

/// Which record format the formula comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Biff {
    V5,
    V8,
    V12,
}

/// Operand size after the token byte for fixed-size tokens, or None when the token is variable
/// (handled by the caller) or unknown.
fn operand_size(base: u8, v: Biff) -> Option<usize> {
    let (b5, b8, b12) = match base {
        0x01 | 0x02 => (4, 4, 4),         // PtgExp, PtgTbl
        0x03..=0x16 => (0, 0, 0),         // operators, paren, missing arg
        0x1C | 0x1D => (1, 1, 1),         // PtgErr, PtgBool
        0x1E => (2, 2, 2),                // PtgInt
        0x1F => (8, 8, 8),                // PtgNum
        0x20 => (7, 7, 14),               // PtgArray (data lives in rgcb)
        0x21 => (2, 2, 2),                // PtgFunc
        0x22 => (3, 3, 3),                // PtgFuncVar
        0x23 => (14, 4, 4),               // PtgName
        0x24 | 0x2A | 0x2C => (3, 4, 6),  // PtgRef, PtgRefErr, PtgRefN
        0x25 | 0x2B | 0x2D => (6, 8, 12), // PtgArea, PtgAreaErr, PtgAreaN
        0x26..=0x28 => (6, 6, 6),         // PtgMemArea, PtgMemErr, PtgMemNoMem
        0x29 => (2, 2, 2),                // PtgMemFunc
        0x2E | 0x2F => (2, 2, 2),         // PtgMemAreaN, PtgMemNoMemN
        0x39 => (24, 6, 6),               // PtgNameX
        0x3A | 0x3C => (17, 6, 8),        // PtgRef3d, PtgRefErr3d
        0x3B | 0x3D => (20, 10, 14),      // PtgArea3d, PtgAreaErr3d
        _ => return None,
    };
    Some(match v {
        Biff::V5 => b5,
        Biff::V8 => b8,
        Biff::V12 => b12,
    })
}

/// Walks `rgce`, recording called functions and suspicious string constants in `ev`.
pub(crate) fn walk(rgce: &[u8], v: Biff, codepage: &'static Encoding, ev: &mut Evidence) {
    ev.formulas = ev.formulas.saturating_add(1);
    let mut i = 0usize;
    while let Some(&ptg) = rgce.get(i) {
        i += 1;
        // Classed tokens 0x20..0x7F share a layout per base token.
        let base = match ptg {
            0x00..=0x1F => ptg,
            0x20..=0x7F => (ptg & 0x1F) | 0x20,
            _ => return,
        };
        match base {
            0x17 => {
                // PtgStr
                let Some((s, used)) = read_str(rgce.get(i..).unwrap_or(&[]), v, codepage) else {
                    return;
                };
                ev.add_string(&s);
                i += used;
            }
            0x19 => {
                // PtgAttr: grbit, u16, and a jump table after tAttrChoose.
                let Some(&grbit) = rgce.get(i) else { return };
                let w = u16_at(rgce, i + 1).unwrap_or(0) as usize;
                i += 3;
                if grbit & 0x04 != 0 {
                    i += (w + 1) * 2;
                }
            }
            0x21 => {
                let Some(id) = u16_at(rgce, i) else { return };
                if let Some(n) = ftab::name(id & 0x7FFF, false) {
                    ev.add_function(n);
                }
                i += 2;
            }
            0x22 => {
                let Some(tab) = u16_at(rgce, i + 1) else {
                    return;
                };
                if let Some(n) = ftab::name(tab & 0x7FFF, tab & 0x8000 != 0) {
                    ev.add_function(n);
                }
                i += 3;
            }
            _ => match operand_size(base, v) {
                Some(n) => i += n,
                None => return,
            },
        }
    }
}

/// A PtgStr operand: the string and the bytes it took.
fn read_str(b: &[u8], v: Biff, codepage: &'static Encoding) -> Option<(String, usize)> {
    match v {
        Biff::V5 => {
            let cch = *b.first()? as usize;
            let raw = b.get(1..1 + cch)?;
            Some((
                codepage.decode_without_bom_handling(raw).0.into_owned(),
                1 + cch,
            ))
        }
        Biff::V8 => {
            let cch = *b.first()? as usize;
            let high = *b.get(1)? & 1 != 0;
            let n = if high { cch * 2 } else { cch };
            let raw = b.get(2..2 + n)?;
            Some((decode_biff8_chars(raw, high), 2 + n))
        }
        Biff::V12 => {
            let cch = u16_at(b, 0)? as usize;
            let raw = b.get(2..2 + cch * 2)?;
            Some((utf16le(raw), 2 + cch * 2))
        }
    }
}

/// BIFF8 characters: Latin-1 bytes when compressed, UTF-16LE otherwise.
pub(crate) fn decode_biff8_chars(raw: &[u8], high: bool) -> String {
    if high {
        utf16le(raw)
    } else {
        raw.iter().map(|&c| c as char).collect()
    }
}

pub(crate) fn utf16le(raw: &[u8]) -> String {
    char::decode_utf16(
        raw.chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]])),
    )
    .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
    .collect()
}

pub(crate) fn u16_at(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_le_bytes([*b.get(i)?, *b.get(i + 1)?]))
}

pub(crate) fn u32_at(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_le_bytes([
        *b.get(i)?,
        *b.get(i + 1)?,
        *b.get(i + 2)?,
        *b.get(i + 3)?,
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn biff8_call_with_strings() {
        // ="urlmon" "URLDownloadToFileA" 0 CALL(3 args), then ALERT(1 arg) as a command.
        let mut rgce = vec![0x17, 6, 0];
        rgce.extend_from_slice(b"urlmon");
        rgce.extend_from_slice(&[0x17, 18, 0]);
        rgce.extend_from_slice(b"URLDownloadToFileA");
        rgce.extend_from_slice(&[0x1E, 0, 0, 0x42, 3, 0x96, 0x00, 0x42, 1, 0x76, 0x80]);
        let mut ev = Evidence::default();
        walk(&rgce, Biff::V8, encoding_rs::WINDOWS_1252, &mut ev);
        assert_eq!(ev.functions, vec!["CALL", "ALERT"]);
        assert_eq!(ev.strings, vec!["urlmon", "urldownloadtofile"]);
    }

    #[test]
    fn truncated_and_unknown_tokens_stop_quietly() {
        let mut ev = Evidence::default();
        walk(
            &[0x17, 200, 0, b'a'],
            Biff::V8,
            encoding_rs::WINDOWS_1252,
            &mut ev,
        );
        walk(
            &[0x19, 0x04, 0xFF, 0xFF],
            Biff::V8,
            encoding_rs::WINDOWS_1252,
            &mut ev,
        );
        walk(
            &[0xFF, 0x21, 0x6E, 0x00],
            Biff::V8,
            encoding_rs::WINDOWS_1252,
            &mut ev,
        );
        walk(&[0x22, 1], Biff::V12, encoding_rs::WINDOWS_1252, &mut ev);
        assert!(ev.functions.is_empty());
        assert!(ev.strings.is_empty());
    }
}
