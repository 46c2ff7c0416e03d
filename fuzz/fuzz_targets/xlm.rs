//! BIFF8/BIFF5 workbook streams: records, formulas, FILEPASS decryption.
#![no_main]
use fumidai_core::{hash_only, Limits, Scan};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let mut scan = Scan::new(&limits, hash_only);
    fumidai_xlm::scan_biff(&mut scan, "fuzz", data);
});
