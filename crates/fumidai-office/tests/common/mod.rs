//! Shared by the integration tests: a small local dispatcher and corpus paths.
#![allow(dead_code)]

use fumidai_core::{FileInput, FileKind, FileReport, Finding, Limits, Scan};
use std::path::PathBuf;

pub fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/corpus")
}

pub fn read(rel: &str) -> Vec<u8> {
    std::fs::read(corpus().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// A small dispatcher: OLE2 and ZIP packages to this crate, everything else only hashed.
pub fn dispatch(scan: &mut Scan<'_>, input: FileInput<'_>) -> FileReport {
    let d = input.data;
    let mut report = FileReport::new(input.name, input.declared_type, FileKind::Unknown, d);
    if d.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        report.detected_type = FileKind::Ole2;
        fumidai_office::inspect_ole(scan, &input, &mut report);
    } else if d.starts_with(b"PK") {
        report.detected_type = FileKind::Zip;
        if d.get(30..38) == Some(b"mimetype")
            && d.get(38..66)
                .is_some_and(|m| m.starts_with(b"application/vnd.oasis"))
        {
            report.detected_type = FileKind::Odf;
            fumidai_office::inspect_odf(scan, &input, &mut report);
        } else {
            fumidai_office::inspect_ooxml(scan, &input, &mut report);
        }
    }
    report
}

pub fn scan_file(data: &[u8], name: &str, limits: &Limits) -> (FileReport, Vec<Finding>) {
    let mut scan = Scan::new(limits, dispatch);
    let report = scan.inspect(FileInput {
        name,
        declared_type: None,
        data,
        part: name.to_owned(),
        whole: None,
    });
    (report, scan.into_findings())
}

/// Scans with passwords harvested from a message body.
pub fn scan_with_passwords(
    data: &[u8],
    name: &str,
    passwords: &[&str],
) -> (FileReport, Vec<Finding>) {
    let limits = Limits::default();
    let mut scan = Scan::new(&limits, dispatch);
    for p in passwords {
        scan.add_password(*p);
    }
    let report = scan.inspect(FileInput {
        name,
        declared_type: None,
        data,
        part: name.to_owned(),
        whole: None,
    });
    (report, scan.into_findings())
}
