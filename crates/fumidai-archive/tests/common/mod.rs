//! A small dispatcher like the engine's: sniff, check the name, open ZIPs and archives recursively.
//! It records what each input's kept bytes hash to, so tests can see exactly what was handed on.
#![allow(dead_code)]

use fumidai_archive::{check_name, inspect_archive, inspect_zip, sniff};
use fumidai_core::{FileInput, FileKind, FileReport, Limits, Scan};
use sha2::{Digest, Sha256};
use std::sync::Mutex;

/// (part, sha256 of the bytes handed on, whole size if given)
pub static SEEN: Mutex<Vec<(String, String, Option<u64>)>> = Mutex::new(Vec::new());

pub fn dispatch(scan: &mut Scan<'_>, input: FileInput<'_>) -> FileReport {
    let kind = sniff(input.data);
    let mut r = FileReport::new(input.name, input.declared_type, kind, input.data);
    SEEN.lock().unwrap().push((
        input.part.clone(),
        r.sha256.clone(),
        input.whole.as_ref().map(|w| w.size),
    ));
    if let Some(w) = &input.whole {
        r.size = w.size;
        r.sha256 = w.sha256.clone();
    }
    check_name(scan, &input.part, input.name, input.declared_type, kind);
    match kind {
        FileKind::Zip | FileKind::Jar => inspect_zip(scan, &input, &mut r),
        FileKind::SevenZip
        | FileKind::Rar
        | FileKind::Tar
        | FileKind::Gzip
        | FileKind::Bzip2
        | FileKind::Xz
        | FileKind::Cab
        | FileKind::Iso
        | FileKind::Udf
        | FileKind::Vhd
        | FileKind::Lzh => inspect_archive(scan, &input, &mut r),
        _ => {}
    }
    r
}

pub fn corpus(rel: &str) -> Vec<u8> {
    let p = format!("{}/../../testdata/corpus/{rel}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

pub fn local(rel: &str) -> Vec<u8> {
    let p = format!("{}/tests/data/{rel}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

/// Scans `data` as an attachment named `name` with these passwords; returns the report and finding ids.
pub fn scan_with(
    limits: &Limits,
    name: &str,
    data: &[u8],
    passwords: &[&str],
) -> (FileReport, Vec<(String, String)>) {
    let mut scan = Scan::new(limits, dispatch);
    for p in passwords {
        scan.add_password(*p);
    }
    let r = scan.inspect(FileInput {
        name,
        declared_type: None,
        data,
        part: name.to_owned(),
        whole: None,
    });
    let f = scan
        .into_findings()
        .into_iter()
        .map(|f| (f.id.to_owned(), f.detail))
        .collect();
    (r, f)
}

pub fn ids(f: &[(String, String)]) -> Vec<&str> {
    f.iter().map(|(i, _)| i.as_str()).collect()
}

pub fn sha256(d: &[u8]) -> String {
    hex::encode(Sha256::digest(d))
}

/// VmHWM (peak resident set) of this process, in KiB.
pub fn peak_rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}
