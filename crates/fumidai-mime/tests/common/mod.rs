#![allow(dead_code)]
use fumidai_core::{hash_only, Finding, Limits, Scan};
use fumidai_mime::{parse, Message};

pub fn corpus(rel: &str) -> Vec<u8> {
    let p = format!("{}/../../testdata/corpus/{rel}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

pub fn data(rel: &str) -> Vec<u8> {
    let p = format!("{}/tests/data/{rel}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

/// Parses with default limits; returns an owned summary and the findings.
pub fn with_parsed<R>(raw: &[u8], f: impl FnOnce(&Message<'_>) -> R) -> (R, Vec<Finding>) {
    let limits = Limits::default();
    let mut scan = Scan::new(&limits, hash_only);
    let msg = parse(&mut scan, raw);
    let r = f(&msg);
    drop(msg);
    (r, scan.into_findings())
}

pub fn ids(f: &[Finding]) -> Vec<&'static str> {
    f.iter().map(|f| f.id).collect()
}
