//! BIFF12 (XLSB) records: `xl/workbook.bin` sheet directory and names, and the formulas of
//! binary macro sheets. Record type and size are variable-length integers (MS-XLSB 2.1.4).

use crate::evidence::{clean, is_auto_open_name, Evidence, Visibility};
use crate::ptg::{self, u32_at, utf16le, Biff};

const BRT_CELL_ST: u32 = 0x0006;
const BRT_FMLA_STRING: u32 = 0x0008;
const BRT_FMLA_NUM: u32 = 0x0009;
const BRT_FMLA_BOOL: u32 = 0x000A;
const BRT_FMLA_ERROR: u32 = 0x000B;
const BRT_NAME: u32 = 0x0027;
const BRT_BUNDLE_SH: u32 = 0x009C;

/// A sheet listed in workbook.bin.
pub(crate) struct BundleSheet {
    pub visibility: Visibility,
    pub rel_id: String,
    pub name: String,
}

/// Iterates over (type, body) records until the data ends or a record is cut short.
struct Records<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for Records<'a> {
    type Item = (u32, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let rt = self.varint(2)?;
        let len = self.varint(4)? as usize;
        let body = self.data.get(self.pos..self.pos.checked_add(len)?)?;
        self.pos += len;
        Some((rt, body))
    }
}

impl Records<'_> {
    fn varint(&mut self, max_bytes: u32) -> Option<u32> {
        let mut v = 0u32;
        for i in 0..max_bytes {
            let b = *self.data.get(self.pos)?;
            self.pos += 1;
            v |= ((b & 0x7F) as u32) << (7 * i);
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        Some(v)
    }
}

fn records(data: &[u8]) -> Records<'_> {
    Records { data, pos: 0 }
}

/// XLWideString: cch (u32) then UTF-16LE; returns the string and the bytes it took.
fn wide_string(b: &[u8]) -> Option<(String, usize)> {
    let cch = u32_at(b, 0)? as usize;
    let n = cch.checked_mul(2)?;
    let raw = b.get(4..4usize.checked_add(n)?)?;
    Some((utf16le(raw), 4 + n))
}

/// Sheets (BrtBundleSh) and Auto_Open names (BrtName) of workbook.bin.
pub(crate) fn workbook(data: &[u8], ev: &mut Evidence) -> Vec<BundleSheet> {
    let mut sheets = Vec::new();
    for (rt, body) in records(data) {
        match rt {
            BRT_BUNDLE_SH if sheets.len() < 4096 => {
                // hsState (u32), iTabID (u32), strRelID (nullable wide string), strName.
                let Some(state) = u32_at(body, 0) else {
                    continue;
                };
                let rest = body.get(8..).unwrap_or(&[]);
                let (rel_id, used) = if u32_at(rest, 0) == Some(0xFFFF_FFFF) {
                    (String::new(), 4)
                } else {
                    wide_string(rest).unwrap_or_default()
                };
                let name = rest
                    .get(used..)
                    .and_then(wide_string)
                    .map(|(s, _)| s)
                    .unwrap_or_default();
                sheets.push(BundleSheet {
                    visibility: Visibility::from_state(state),
                    rel_id,
                    name,
                });
            }
            BRT_NAME => {
                // flags (u32, bit 5 fBuiltin), chKey (u8), itab (u32), name (wide string).
                let builtin = u32_at(body, 0).is_some_and(|f| f & 0x20 != 0);
                if let Some((name, _)) = body.get(9..).and_then(wide_string) {
                    if is_auto_open_name(&name) {
                        let kind = if builtin {
                            "built-in name"
                        } else {
                            "defined name"
                        };
                        ev.add_auto_open(format!("{kind} '{}' in workbook.bin", clean(&name)));
                    }
                }
            }
            _ => {}
        }
    }
    sheets
}

/// Formulas and string cells of a binary macro sheet.
pub(crate) fn macro_sheet(data: &[u8], ev: &mut Evidence) {
    for (rt, body) in records(data) {
        // Every cell record starts with column (u32) and style/flags (u32).
        let rgce_at = match rt {
            BRT_FMLA_STRING => {
                let Some((s, used)) = body.get(8..).and_then(wide_string) else {
                    continue;
                };
                ev.add_string(&s);
                8 + used + 2
            }
            BRT_FMLA_NUM => 8 + 8 + 2,
            BRT_FMLA_BOOL | BRT_FMLA_ERROR => 8 + 1 + 2,
            BRT_CELL_ST => {
                if let Some((s, _)) = body.get(8..).and_then(wide_string) {
                    ev.add_string(&s);
                }
                continue;
            }
            _ => continue,
        };
        let Some(cce) = u32_at(body, rgce_at) else {
            continue;
        };
        let rgce = body.get(rgce_at + 4..).unwrap_or(&[]);
        let rgce = rgce.get(..cce as usize).unwrap_or(rgce);
        ptg::walk(rgce, Biff::V12, encoding_rs::UTF_16LE, ev);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wide(s: &str) -> Vec<u8> {
        let mut v = (s.len() as u32).to_le_bytes().to_vec();
        v.extend(s.encode_utf16().flat_map(|c| c.to_le_bytes()));
        v
    }

    fn record(rt: u8, body: &[u8]) -> Vec<u8> {
        // Types below 0x80 fit one varint byte; so do sizes below 0x80 here.
        let mut v = if rt < 0x80 { vec![rt] } else { vec![rt, 0x01] };
        v.push(body.len() as u8);
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn very_hidden_bundle_sheet_and_call_formula() {
        let mut sh = 2u32.to_le_bytes().to_vec();
        sh.extend(1u32.to_le_bytes());
        sh.extend(wide("rId1"));
        sh.extend(wide("Sheet9"));
        let mut name = 0u32.to_le_bytes().to_vec();
        name.extend([0, 0xFF, 0xFF, 0xFF, 0xFF]);
        name.extend(wide("Auto_Open_x"));
        let mut wb = record(0x9C, &sh);
        wb.extend(record(0x27, &name));
        let mut ev = Evidence::default();
        let sheets = workbook(&wb, &mut ev);
        assert_eq!(sheets.len(), 1);
        assert_eq!(sheets[0].visibility, Visibility::VeryHidden);
        assert_eq!(
            (sheets[0].rel_id.as_str(), sheets[0].name.as_str()),
            ("rId1", "Sheet9")
        );
        assert_eq!(
            ev.auto_open,
            vec!["defined name 'Auto_Open_x' in workbook.bin"]
        );

        // BrtFmlaBool: cell (8), value (1), flags (2), cce (4), rgce: "kernel32" CALL(1 arg).
        let mut rgce = vec![0x17];
        rgce.extend(8u16.to_le_bytes());
        rgce.extend("kernel32".encode_utf16().flat_map(|c| c.to_le_bytes()));
        rgce.extend([0x42, 0x01, 0x96, 0x00]);
        let mut body = vec![0u8; 11];
        body.extend((rgce.len() as u32).to_le_bytes());
        body.extend(&rgce);
        body.extend(0u32.to_le_bytes());
        let mut ev = Evidence::default();
        macro_sheet(&record(0x0A, &body), &mut ev);
        assert_eq!(ev.functions, vec!["CALL"]);
        assert_eq!(ev.strings, vec!["kernel32"]);
    }

    #[test]
    fn varints_and_cut_records() {
        // Type 0x9C encoded on two bytes, size 0, then a record cut short.
        let data = [0x9C, 0x01, 0x00, 0x27, 0x10, 0x00];
        let got: Vec<u32> = records(&data).map(|(t, _)| t).collect();
        assert_eq!(got, vec![0x9C]);
    }
}
