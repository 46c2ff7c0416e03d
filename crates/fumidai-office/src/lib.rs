//! Office documents: VBA projects in OLE2 and OOXML (wherever they sit), auto-exec and suspicious calls,
//! encrypted documents, remote templates, DDE, embedded OLE objects and ODF Basic macros.
//!
//! - [`inspect_ole`]: .doc/.xls/.ppt/.msg/.msi and encrypted OOXML. Finds every `VBA` storage with a `dir`
//!   stream, decompresses module sources (MS-OVBA, own bounded implementation), reports auto-exec
//!   procedures, ActiveX event handlers and suspicious keywords; PowerPoint's compressed ExOleObjStg
//!   objects, `\x01Ole10Native` packages, embedded `Package`/`CONTENTS` streams and Outlook attachments
//!   are handed on as children. Encrypted OOXML is decrypted with the default then the harvested
//!   passwords (fumidai-officecrypt); .xls workbooks go to fumidai-xlm.
//! - [`inspect_ooxml`]: `vbaProject.bin` anywhere in the package whatever the declared type, macro
//!   projects in macro-free packages, remote templates, external OLE links, DDE fields and links,
//!   embedded objects; spreadsheets go to fumidai-xlm.
//! - [`inspect_odf`]: StarBasic modules and open-time document events.
//!
//! Limits: VBA stomping is judged by size only (p-code present, source empty; the p-code is not
//! decompiled); embedded storages that are whole documents (ObjectPool in .doc) are inspected in place
//! rather than rebuilt as files; DDE in binary .doc/.xls is not looked for; keyword matching is on the
//! decompressed source text (obfuscated strings are not decoded).

use fumidai_core::{FileInput, FileReport, Scan};

mod odf;
mod ole;
mod ole10native;
mod ole_inspect;
mod ooxml;
mod ovba_decompress;
mod ppt;
mod vba;
mod zipread;

pub mod findings {
    fumidai_core::findings! {
        VBA_MACRO = 5.0, "The document carries a VBA macro project (mailed macro documents are held by default, as m-FILTER does).";
        VBA_AUTOEXEC = 5.0, "A VBA macro runs by itself when the document is opened or closed (AutoOpen, Workbook_Open ...).";
        VBA_SUSPICIOUS = 4.0, "VBA code runs programs, downloads, writes files, calls the Windows API or obfuscates strings.";
        VBA_ACTIVEX_EVENT = 1.0, "VBA code handles ActiveX control events (Click, Change ...), run when the user touches a control.";
        VBA_STOMPING = 6.0, "A VBA module has compiled p-code but its source was removed (VBA stomping hides the real code).";
        OOXML_MACRO_IN_MACROFREE = 4.0, "A macro project sits in a package whose declared type is macro-free.";
        REMOTE_TEMPLATE = 6.0, "The document loads its template from an external location (remote template injection).";
        EXTERNAL_OLE_LINK = 4.0, "The document links an OLE object, frame or file from an external location.";
        DDE_LINK = 6.0, "The document has a DDE field or link that can start a program.";
        OLE_PACKAGE = 3.0, "The document embeds a file as an OLE package object.";
        OLE_PACKAGE_EXECUTABLE = 10.0, "The document embeds an executable-like file (lnk, exe, script) as an OLE package object.";
        ENCRYPTED_OFFICE = 5.0, "The Office document is encrypted and could not be decrypted; its content was not inspected.";
        ENCRYPTED_OFFICE_DEFAULT_PASSWORD = 4.0, "The Office document is encrypted with a default password (VelvetSweatshop), an evasion trick.";
        ENCRYPTED_OFFICE_PASSWORD_FROM_BODY = 5.0, "The Office document is encrypted with a password given in the message: the Emotet delivery pattern, as with password ZIPs.";
        ODF_BASIC_MACRO = 4.0, "The OpenDocument file carries StarBasic macros.";
        ODF_AUTOEXEC = 4.0, "An OpenDocument event runs a macro when the document is opened.";
    }
}
pub use findings::ALL as FINDINGS;

/// An OLE2 compound file: .doc/.xls/.ppt/.msg/.msi, or an encrypted OOXML package.
/// Refines `report.detected_type` to the specific kind.
pub fn inspect_ole(scan: &mut Scan<'_>, input: &FileInput<'_>, report: &mut FileReport) {
    ole_inspect::inspect(scan, input, report);
}

/// An OOXML package (docx/docm/xlsx/xlsm/xlsb/pptx/pptm and templates).
pub fn inspect_ooxml(scan: &mut Scan<'_>, input: &FileInput<'_>, report: &mut FileReport) {
    ooxml::inspect(scan, input, report);
}

/// An OpenDocument file: Basic macros, embedded objects.
pub fn inspect_odf(scan: &mut Scan<'_>, input: &FileInput<'_>, report: &mut FileReport) {
    odf::inspect(scan, input, report);
}
