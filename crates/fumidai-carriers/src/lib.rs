//! Other carriers of attack code: Windows shortcuts, OneNote, RTF, PDF, executables, scripts and EICAR.
//!
//! Every inspector here is a bounded byte scanner over hostile input: no third-party parser, no panics,
//! no allocation sized by a field that the real input length does not cap. Files embedded in a carrier
//! (OneNote attachments, RTF OLE objects, PDF embedded files) go back to the engine through
//! [`fumidai_core::Scan::inspect_child`].
//!
//! Limits: the PDF inspector scans tokens, it does not build the object graph (no decryption, only
//! FlateDecode streams are inflated); OneNote names of embedded files are matched by heuristics; scripts
//! are judged by keywords, not executed or de-obfuscated.

use fumidai_core::{FileInput, FileReport, Scan};

mod bytes;
pub mod executable;
pub mod lnk;
pub mod onenote;
pub mod pdf;
pub mod rtf;
pub mod script;
pub mod sniff;

pub mod findings {
    fumidai_core::findings! {
        LNK_FILE = 10.0, "A Windows shortcut (.lnk): runs a command when opened.";
        LNK_SUSPICIOUS_COMMAND = 5.0, "A shortcut runs a script host or system tool with download, encoded or hidden arguments.";
        ONENOTE_FILE = 5.0, "A OneNote section: the 2023 Emotet carrier that hides a script behind a fake button.";
        ONENOTE_EMBEDDED_FILE = 1.0, "A OneNote section holds an embedded file.";
        ONENOTE_EMBEDDED_SCRIPT = 10.0, "A OneNote section embeds a script, executable, shortcut, HTA or batch file.";
        RTF_OBJECT = 2.0, "An RTF document embeds an OLE object.";
        RTF_EXPLOIT_CLASS = 8.0, "An RTF object of a class used by exploits (Equation Editor, OLE2Link, auto-update).";
        RTF_OBFUSCATED = 3.0, "An RTF document uses header variants, deep nesting or binary runs that evade scanners.";
        PDF_JAVASCRIPT = 4.0, "A PDF contains JavaScript.";
        PDF_AUTO_ACTION = 3.0, "A PDF runs JavaScript or a launch action automatically (/OpenAction or /AA).";
        PDF_LAUNCH = 6.0, "A PDF has a /Launch action that starts a program.";
        PDF_EMBEDDED_FILE = 2.0, "A PDF carries an embedded file.";
        PDF_ENCRYPTED = 1.0, "A PDF is encrypted; its streams could not be inspected.";
        PDF_MALFORMED = 1.0, "A PDF is malformed (no header, no trailer or a broken stream).";
        EXECUTABLE_FILE = 10.0, "An executable program (PE, ELF, Mach-O or DOS COM).";
        EICAR_TEST_FILE = 10.0, "The EICAR anti-virus test file.";
        SCRIPT_FILE = 6.0, "A script file (JavaScript, VBScript, PowerShell, batch, HTA, WSF) runs when opened.";
        SCRIPT_DOWNLOADER = 5.0, "A script starts shells or downloads and runs code (WScript.Shell, IEX, DownloadString, certutil ...).";
        SCRIPT_OBFUSCATED = 3.0, "A script is obfuscated (long base64 runs, character-code chains, eval of decoded data).";
    }
}
pub use findings::ALL as FINDINGS;

/// A Windows shortcut: target, arguments and working directory in the detail.
pub fn inspect_lnk(scan: &mut Scan<'_>, input: &FileInput<'_>, report: &mut FileReport) {
    lnk::inspect(scan, input, report);
}

/// A OneNote section: embedded files extracted and inspected.
pub fn inspect_onenote(scan: &mut Scan<'_>, input: &FileInput<'_>, report: &mut FileReport) {
    onenote::inspect(scan, input, report);
}

/// An RTF document: embedded objects (\\object, \\objdata) extracted and inspected.
pub fn inspect_rtf(scan: &mut Scan<'_>, input: &FileInput<'_>, report: &mut FileReport) {
    rtf::inspect(scan, input, report);
}

/// A PDF: JavaScript, OpenAction, Launch, EmbeddedFile, URIs.
pub fn inspect_pdf(scan: &mut Scan<'_>, input: &FileInput<'_>, report: &mut FileReport) {
    pdf::inspect(scan, input, report);
}

/// PE, ELF, Mach-O, DOS COM and EICAR.
pub fn inspect_executable(scan: &mut Scan<'_>, input: &FileInput<'_>, report: &mut FileReport) {
    executable::inspect(scan, input, report);
}

/// Scripts (JS, VBS, PowerShell, batch, HTA, WSF): obfuscation and download-and-run patterns.
pub fn inspect_script(scan: &mut Scan<'_>, input: &FileInput<'_>, report: &mut FileReport) {
    script::inspect(scan, input, report);
}
