//! Excel 4.0 (XLM) macro sheets: BIFF8 and BIFF5 workbooks, OOXML macro sheets, XLSB and SYLK.

use fumidai_core::{FileInput, FileReport, Scan};

pub mod findings {
    fumidai_core::findings! {
        XLM_MACRO = 4.0, "The workbook has an Excel 4.0 (XLM) macro sheet.";
    }
}
pub use findings::ALL as FINDINGS;

/// A BIFF8/BIFF5 `Workbook`/`Book` stream from an .xls/.xlt. Returns whether XLM was found.
pub fn scan_biff(scan: &mut Scan<'_>, part: &str, workbook: &[u8]) -> bool {
    let _ = (scan, part, workbook);
    false
}

/// An OOXML or XLSB spreadsheet package (the whole ZIP). Returns whether XLM was found.
pub fn scan_ooxml(scan: &mut Scan<'_>, part: &str, package: &[u8]) -> bool {
    let _ = (scan, part, package);
    false
}

/// A SYLK file.
pub fn inspect_slk(scan: &mut Scan<'_>, input: &FileInput<'_>, report: &mut FileReport) {
    let _ = (scan, input, report);
}
