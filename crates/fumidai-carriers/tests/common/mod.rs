#![allow(dead_code)]
//! Helpers shared by the integration tests.

use fumidai_core::{hash_only, FileInput, FileKind, FileReport, Finding, Inspector, Limits, Scan};

pub fn corpus(rel: &str) -> Vec<u8> {
    let p = format!("{}/../../testdata/corpus/{rel}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

/// Runs one inspector over `data` with the hash-only dispatcher; returns the report and findings.
pub fn run(inspector: Inspector, name: &str, data: &[u8]) -> (FileReport, Vec<Finding>) {
    let limits = Limits::default();
    let mut scan = Scan::new(&limits, hash_only);
    let input = FileInput {
        name,
        declared_type: None,
        data,
        part: name.to_owned(),
        whole: None,
    };
    let mut report = FileReport::new(name, None, FileKind::Unknown, data);
    inspector(&mut scan, &input, &mut report);
    (report, scan.into_findings())
}

pub fn ids(findings: &[Finding]) -> Vec<&'static str> {
    findings.iter().map(|f| f.id).collect()
}

pub fn count(findings: &[Finding], id: &str) -> usize {
    findings.iter().filter(|f| f.id == id).count()
}

pub fn detail<'a>(findings: &'a [Finding], id: &str) -> &'a str {
    findings
        .iter()
        .find(|f| f.id == id)
        .map(|f| f.detail.as_str())
        .unwrap_or("")
}

pub fn sha256(d: &[u8]) -> String {
    FileReport::new("", None, FileKind::Unknown, d).sha256
}

/// Standard base64 (whitespace skipped); the LnkParse3 samples are stored this way.
pub fn base64(text: &[u8]) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let (mut out, mut acc, mut bits) = (Vec::new(), 0u32, 0u32);
    for v in text.iter().filter_map(|&c| val(c)) {
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// A LnkParse3 sample shortcut (stored base64-encoded in the corpus).
pub fn lnk_sample(name: &str) -> Vec<u8> {
    base64(&corpus(&format!("carriers/lnk/LnkParse3/samples/{name}")))
}
