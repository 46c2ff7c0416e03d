//! Excel 4.0 (XLM) macro sheets: BIFF8 and BIFF5 workbooks, OOXML macro sheets, XLSB and SYLK.
//!
//! What it finds: macro sheets (BOUNDSHEET type / substream BOF in .xls, content types, part names,
//! relationships and sheet lists in OOXML/XLSB, `O;E` or macro-only functions in SYLK), whether
//! they are hidden, `Auto_Open` names (built-in and `Auto_Open*` user names), and in macro-sheet
//! formulas the calls to EXEC/CALL/REGISTER/file writers and downloader strings.
//!
//! Limits: formulas are tokenised, not evaluated, so strings built at run time (CHAR() chains,
//! FORMULA() writing new cells) show as function calls only. BIFF shared/array formulas and the
//! shared-string table are not read. Encrypted .xls (FILEPASS) is decrypted through
//! `fumidai-officecrypt` when it can be; otherwise only the clear BOF records are used (which
//! still reveal macro-sheet substreams) and XLM_ENCRYPTED_WORKBOOK is recorded.

use fumidai_core::{FileInput, FileReport, Scan};

mod biff;
mod evidence;
mod ftab;
mod ooxml;
mod ptg;
mod slk;
mod xlsb;

pub mod findings {
    fumidai_core::findings! {
        XLM_MACRO = 5.0, "The workbook has an Excel 4.0 (XLM) macro sheet.";
        XLM_AUTO_OPEN = 5.0, "An Auto_Open name makes the XLM macro run as soon as the workbook is opened.";
        XLM_SUSPICIOUS_CALL = 4.0, "An XLM macro calls EXEC, CALL, REGISTER or file writers, or holds downloader strings (URLs, urlmon, powershell ...).";
        XLM_HIDDEN_SHEET = 2.0, "An XLM macro sheet is hidden or very hidden.";
        XLM_ENCRYPTED_WORKBOOK = 3.0, "The .xls workbook is encrypted (FILEPASS) and could not be decrypted: macro sheets in it cannot be ruled out.";
    }
}
pub use findings::ALL as FINDINGS;

/// A BIFF8/BIFF5 `Workbook`/`Book` stream from an .xls/.xlt. Returns whether XLM was found.
pub fn scan_biff(scan: &mut Scan<'_>, part: &str, workbook: &[u8]) -> bool {
    if !biff::looks_like_biff(workbook) {
        return false;
    }
    let first = biff::parse(scan, part, workbook, false);
    if !first.encrypted {
        return first.evidence.report(scan, part);
    }
    if let Some(plain) = decrypt_biff(scan, workbook) {
        let second = biff::parse(scan, part, &plain, true);
        return second.evidence.report(scan, part);
    }
    scan.add(
        &findings::XLM_ENCRYPTED_WORKBOOK,
        part,
        format!(
            "FILEPASS {}; not decrypted with the default or harvested passwords",
            filepass_scheme(workbook)
        ),
    );
    first.evidence.report(scan, part)
}

/// Decrypts an RC4/CryptoAPI BIFF8 stream with the default and harvested passwords.
fn decrypt_biff(scan: &Scan<'_>, workbook: &[u8]) -> Option<Vec<u8>> {
    let defaults = fumidai_officecrypt::DEFAULT_PASSWORDS.iter().copied();
    let harvested = scan.passwords().iter().map(String::as_str);
    for password in defaults.chain(harvested).take(32) {
        match fumidai_officecrypt::decrypt_biff(workbook, password) {
            Ok(plain) => return Some(plain),
            Err(fumidai_officecrypt::DecryptError::WrongPassword) => continue,
            // Unsupported or damaged headers: no other password will help.
            Err(_) => return None,
        }
    }
    None
}

/// The encryption scheme the FILEPASS record names, for the detail.
fn filepass_scheme(workbook: &[u8]) -> String {
    use fumidai_officecrypt::BiffEncryption as E;
    match fumidai_officecrypt::biff_encryption(workbook) {
        Some(E::Xor) => "XOR obfuscation".into(),
        Some(E::Rc4) => "RC4".into(),
        Some(E::Rc4CryptoApi { key_bits }) => format!("RC4 CryptoAPI ({key_bits}-bit)"),
        _ => "of unknown scheme".into(),
    }
}

/// An OOXML or XLSB spreadsheet package (the whole ZIP). Returns whether XLM was found.
pub fn scan_ooxml(scan: &mut Scan<'_>, part: &str, package: &[u8]) -> bool {
    // zip and quick-xml are not known to panic, but this is hostile input: contain it.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ooxml::scan_package(scan, part, package)
    }));
    match result {
        Ok(Some(ev)) => ev.report(scan, part),
        Ok(None) => false,
        Err(_) => {
            scan.add(
                &fumidai_core::findings::UNINSPECTABLE,
                part,
                "spreadsheet package parser failed (XLM check)",
            );
            false
        }
    }
}

/// A SYLK file.
pub fn inspect_slk(scan: &mut Scan<'_>, input: &FileInput<'_>, report: &mut FileReport) {
    let _ = report;
    let ev = slk::scan_text(scan, &input.part, input.data);
    ev.report(scan, &input.part);
}
