//! ZIP entries, passwords, streaming inflate and padding trim.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| fumidai_fuzz::inspect_with(fumidai_archive::inspect_zip, data));
