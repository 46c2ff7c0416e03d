//! A small magic-number sniffer used to name embedded files and judge whether they run code.
//! (The engine has its own detector for dispatch; this one only needs a name and a risk.)

use crate::bytes::contains_ci;

/// What an embedded blob looks like: a label for details, an extension for its name, and whether it runs code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sniffed {
    pub label: &'static str,
    pub ext: &'static str,
    pub runs_code: bool,
}

const fn s(label: &'static str, ext: &'static str, runs_code: bool) -> Sniffed {
    Sniffed {
        label,
        ext,
        runs_code,
    }
}

/// The MS-SHLLINK header: size 0x4C then the shell-link CLSID.
pub const LNK_MAGIC: [u8; 20] = [
    0x4C, 0, 0, 0, 0x01, 0x14, 0x02, 0, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46,
];

/// Sniffs `d` by its first bytes, then by script keywords for text.
pub fn sniff(d: &[u8]) -> Sniffed {
    let starts = |m: &[u8]| d.starts_with(m);
    if starts(b"MZ") {
        return s("PE executable", "exe", true);
    }
    if starts(b"\x7fELF") {
        return s("ELF executable", "elf", true);
    }
    if starts(&[0xCF, 0xFA, 0xED, 0xFE])
        || starts(&[0xCE, 0xFA, 0xED, 0xFE])
        || starts(&[0xCA, 0xFE, 0xBA, 0xBE])
    {
        return s("Mach-O executable", "macho", true);
    }
    if starts(&LNK_MAGIC) {
        return s("Windows shortcut", "lnk", true);
    }
    if starts(b"PK\x03\x04") {
        let head = d.get(..d.len().min(4096)).unwrap_or(d);
        return if contains_ci(head, b"word/") {
            s("Word document", "docx", false)
        } else if contains_ci(head, b"xl/") {
            s("Excel workbook", "xlsx", false)
        } else if contains_ci(head, b"ppt/") {
            s("PowerPoint presentation", "pptx", false)
        } else if contains_ci(head, b"[Content_Types].xml") {
            s("OOXML document", "docx", false)
        } else {
            s("ZIP archive", "zip", false)
        };
    }
    if starts(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        return s("OLE2 compound file", "doc", false);
    }
    if starts(b"%PDF") {
        return s("PDF", "pdf", false);
    }
    if starts(b"{\\rt") {
        return s("RTF", "rtf", false);
    }
    if starts(b"\x89PNG") {
        return s("PNG image", "png", false);
    }
    if starts(&[0xFF, 0xD8, 0xFF]) {
        return s("JPEG image", "jpg", false);
    }
    if starts(b"GIF8") {
        return s("GIF image", "gif", false);
    }
    if starts(b"BM") && d.len() > 26 {
        return s("BMP image", "bmp", false);
    }
    if starts(b"7z\xBC\xAF\x27\x1C") {
        return s("7z archive", "7z", false);
    }
    if starts(b"Rar!") {
        return s("RAR archive", "rar", false);
    }
    if starts(&[0xE4, 0x52, 0x5C, 0x7B, 0x8C, 0xD8, 0xA7, 0x4D]) {
        return s("OneNote section", "one", true);
    }
    if d.get(0x8001..0x8006) == Some(b"CD001") {
        return s("ISO image", "iso", true);
    }
    if let Some(k) = script_kind(d) {
        return k;
    }
    if looks_text(d) {
        return s("text", "txt", false);
    }
    s("data", "bin", false)
}

/// Whether the first KB is mostly printable (text, not binary).
pub fn looks_text(d: &[u8]) -> bool {
    let head = d.get(..d.len().min(1024)).unwrap_or(d);
    if head.is_empty() {
        return false;
    }
    let bad = head
        .iter()
        .filter(|&&b| b < 0x09 || (0x0E..0x20).contains(&b))
        .count();
    bad * 20 < head.len()
}

/// The script kind of a text blob, from its keywords (HTA, WSF, VBScript, PowerShell, batch, JavaScript).
pub fn script_kind(d: &[u8]) -> Option<Sniffed> {
    if !looks_text(d) {
        return None;
    }
    let head = d.get(..d.len().min(64 * 1024)).unwrap_or(d);
    let has = |k: &[u8]| contains_ci(head, k);
    if has(b"<hta:application")
        || (has(b"<script") && (has(b"vbscript") || has(b"activexobject") || has(b"wscript")))
    {
        return Some(s("HTA application", "hta", true));
    }
    if has(b"<job") && has(b"<script") {
        return Some(s("Windows Script File", "wsf", true));
    }
    if has(b"createobject(") || has(b"wscript.createobject") || (has(b"dim ") && has(b"end sub")) {
        return Some(s("VBScript", "vbs", true));
    }
    if has(b"invoke-expression")
        || has(b"-encodedcommand")
        || has(b"new-object")
        || has(b"$env:")
        || has(b"iex(")
    {
        return Some(s("PowerShell script", "ps1", true));
    }
    if head.starts_with(b"@echo")
        || head.starts_with(b"@ECHO")
        || has(b"\n@echo off")
        || has(b"%~dp0")
        || has(b"\nstart /")
    {
        return Some(s("batch file", "bat", true));
    }
    if has(b"new activexobject") || has(b"wscript.shell") || has(b"wscript.echo") || has(b"eval(") {
        return Some(s("JavaScript", "js", true));
    }
    None
}

/// Whether a file name's extension is one that runs code on Windows.
pub fn risky_extension(name: &str) -> bool {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    matches!(
        ext.as_str(),
        "exe"
            | "dll"
            | "scr"
            | "com"
            | "pif"
            | "cpl"
            | "msi"
            | "bat"
            | "cmd"
            | "js"
            | "jse"
            | "vbs"
            | "vbe"
            | "wsf"
            | "wsh"
            | "wsc"
            | "hta"
            | "ps1"
            | "lnk"
            | "url"
            | "jar"
            | "iso"
            | "img"
            | "vhd"
            | "chm"
            | "reg"
            | "sct"
            | "inf"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_common_magics() {
        assert_eq!(sniff(b"MZ\x90\0").ext, "exe");
        assert_eq!(sniff(b"%PDF-1.7\n").ext, "pdf");
        assert_eq!(sniff(b"@echo off\r\npowershell -enc AAA").ext, "bat");
        assert_eq!(
            sniff(b"<html><HTA:APPLICATION id=x><script language=VBScript>").ext,
            "hta"
        );
        assert_eq!(sniff(b"hello world\n").ext, "txt");
        assert!(!sniff(b"hello").runs_code);
        assert!(risky_extension("Invoice.HTA"));
        assert!(!risky_extension("report.docx"));
    }
}
