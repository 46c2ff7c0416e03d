//! Office documents: VBA projects in OLE2 and OOXML (wherever they sit), auto-exec and suspicious calls,
//! encrypted documents, remote templates, DDE, embedded OLE objects and ODF Basic macros.

use fumidai_core::{FileInput, FileReport, Scan};

pub mod findings {
    fumidai_core::findings! {
        VBA_MACRO = 3.0, "The document carries a VBA macro project.";
    }
}
pub use findings::ALL as FINDINGS;

/// An OLE2 compound file: .doc/.xls/.ppt/.msg/.msi, or an encrypted OOXML package.
/// Refines `report.detected_type` to the specific kind.
pub fn inspect_ole(scan: &mut Scan<'_>, input: &FileInput<'_>, report: &mut FileReport) {
    let _ = (scan, input, report);
}

/// An OOXML package (docx/docm/xlsx/xlsm/xlsb/pptx/pptm and templates).
pub fn inspect_ooxml(scan: &mut Scan<'_>, input: &FileInput<'_>, report: &mut FileReport) {
    let _ = (scan, input, report);
}

/// An OpenDocument file: Basic macros, embedded objects.
pub fn inspect_odf(scan: &mut Scan<'_>, input: &FileInput<'_>, report: &mut FileReport) {
    let _ = (scan, input, report);
}
