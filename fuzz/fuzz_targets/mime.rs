//! MIME parsing alone: structure, charsets, encoded words, uuencode.
#![no_main]
use fumidai_core::{hash_only, Limits, Scan};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let mut scan = Scan::new(&limits, hash_only);
    let _ = fumidai_mime::parse(&mut scan, data);
});
