//! The PDF byte scanner, object streams and embedded files.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| fumidai_fuzz::inspect_with(fumidai_carriers::inspect_pdf, data));
