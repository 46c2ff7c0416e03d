//! Scripts (JavaScript, VBScript, PowerShell, batch, HTA, WSF): download-and-run keywords and
//! obfuscation, judged on the text (never run).

use crate::bytes::utf16;
use crate::findings::{SCRIPT_DOWNLOADER, SCRIPT_FILE, SCRIPT_OBFUSCATED};
use crate::sniff::script_kind;
use fumidai_core::{FileInput, FileKind, FileReport, Scan};

/// Keywords of scripts that start shells or fetch and run code (matched lower-case).
const DOWNLOADER: &[&str] = &[
    "wscript.shell",
    "activexobject",
    "shell.application",
    "iex(",
    "iex (",
    "invoke-expression",
    "downloadstring",
    "downloadfile",
    "invoke-webrequest",
    "net.webclient",
    "start-bitstransfer",
    "bitsadmin",
    "certutil -decode",
    "certutil -urlcache",
    "certutil.exe -urlcache",
    "mshta http",
    "mshta.exe http",
    "regsvr32 /s /n /u /i:http",
    "/i:http",
    "msxml2.xmlhttp",
    "winhttp.winhttprequest",
    "adodb.stream",
    "powershell -e ",
    "powershell -enc",
    "powershell.exe -enc",
    "-encodedcommand",
    "frombase64string",
    "rundll32",
    "curl -o",
    "curl.exe",
    "start-process",
];

/// Lower-cased text of a script (UTF-16 when it has a BOM), capped.
fn lower_text(d: &[u8]) -> String {
    let d = d.get(..d.len().min(8 << 20)).unwrap_or(d);
    let s = if let Some(rest) = d.strip_prefix(&[0xFF, 0xFE]) {
        utf16(rest)
    } else {
        String::from_utf8_lossy(d.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(d)).into_owned()
    };
    s.to_lowercase()
}

/// The longest run of base64 characters.
fn longest_base64(s: &str) -> usize {
    let (mut run, mut max) = (0usize, 0usize);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=' {
            run += 1;
            max = max.max(run);
        } else {
            run = 0;
        }
    }
    max
}

/// Downloader keywords and obfuscation reasons found in a script's text.
pub fn analyse(d: &[u8]) -> (Vec<&'static str>, Vec<String>) {
    let t = lower_text(d);
    let hits: Vec<&str> = DOWNLOADER
        .iter()
        .copied()
        .filter(|k| t.contains(k))
        .collect();
    let mut obf = Vec::new();
    let b64 = longest_base64(&t);
    if b64 >= 200 {
        obf.push(format!("base64 run of {b64} characters"));
    }
    let chains =
        t.matches("fromcharcode").count() + t.matches("chr(").count() + t.matches("chrw(").count();
    if chains >= 20 {
        obf.push(format!("{chains} character-code calls"));
    }
    let evals = ["eval(", "execute(", "executeglobal", "iex"];
    let decoders = [
        "atob(",
        "unescape(",
        "frombase64string",
        "decodeuricomponent(",
        "fromcharcode",
        "strreverse(",
    ];
    if evals.iter().any(|e| t.contains(e)) && decoders.iter().any(|x| t.contains(x)) {
        obf.push("evaluates decoded data".to_owned());
    }
    (hits, obf)
}

pub fn inspect(scan: &mut Scan<'_>, input: &FileInput<'_>, report: &mut FileReport) {
    let kind = match report.detected_type {
        FileKind::JavaScript => "JavaScript",
        FileKind::VbScript => "VBScript",
        FileKind::PowerShell => "PowerShell script",
        FileKind::Batch => "batch file",
        FileKind::Hta => "HTA application",
        FileKind::Wsf => "Windows Script File",
        _ => script_kind(input.data).map_or("script", |s| s.label),
    };
    scan.add(&SCRIPT_FILE, &input.part, kind);
    let (hits, obf) = analyse(input.data);
    if !hits.is_empty() {
        scan.add(&SCRIPT_DOWNLOADER, &input.part, hits.join(", "));
    }
    if !obf.is_empty() {
        scan.add(&SCRIPT_OBFUSCATED, &input.part, obf.join("; "));
    }
}
