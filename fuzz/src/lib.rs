//! Shared harness for the fuzz targets: one inspector over arbitrary bytes, children only hashed,
//! so each target stays on its own format.

use fumidai_core::{hash_only, FileInput, FileKind, FileReport, Inspector, Limits, Scan};

pub fn inspect_with(inspector: Inspector, data: &[u8]) {
    let limits = Limits::default();
    let mut scan = Scan::new(&limits, hash_only);
    let input = FileInput { name: "fuzz", declared_type: None, data, part: "fuzz".into(), whole: None };
    let mut report = FileReport::new("fuzz", None, FileKind::Unknown, data);
    inspector(&mut scan, &input, &mut report);
}
